#!/usr/bin/env bash
# libfpo developer entry point: installs what a fresh Debian 12 machine lacks
# (apt-get, as root), builds, and runs the main job or the tests.
#
#   bash tools/dev.sh demo    train a flow policy on GridWorld with fpo-train (about a
#                             minute): progress, evaluation, out/gridworld-fpo/curve.svg
#   bash tools/dev.sh test    build (with MPI) and run every test suite, then again
#                             under AddressSanitizer + UBSan, then 30 s of fuzzing
#   bash tools/dev.sh deps    only install the dependencies
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(meson ninja-build pkg-config gcc g++ libblis-dev check libmujoco-dev libinih-dev
          libmujoco-samples abigail-tools clang libclang-rt-14-dev python3
          libopenmpi-dev openmpi-bin libhdf5-dev)

deps() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

build() { # build DIR [meson options...]
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >/dev/null
    elif [ $# -gt 0 ]; then
        meson configure "$dir" "$@" >/dev/null # an existing directory gets them too
    fi
    ninja -C "$dir" >/dev/null
}

case "${1:-}" in
deps)
    deps
    ;;
demo)
    deps
    build build
    exec build/examples/fpo-train --task gridworld --algo fpo --steps 100000 \
        --threads "$(nproc)" --out out/gridworld-fpo "${@:2}"
    ;;
test)
    deps
    # -Dmpi=enabled: libfpo_mpi, and the suite mpi runs mpirun -np 2.
    build build -Dmpi=enabled
    meson test -C build --print-errorlogs --num-processes 2
    echo "== the same suites under AddressSanitizer + UndefinedBehaviorSanitizer"
    # Without MPI (docs/design.md, "MPI"): Open MPI 4.1 leaves allocations at
    # MPI_Finalize that LeakSanitizer reports; the collective code of libfpo
    # runs here through the in-process collective of the suite collective.
    build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false \
        -Dbuildtype=debugoptimized -Dmpi=disabled
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite release
    echo "== bounded libFuzzer runs on the checkpoint and .npy parsers (ASan + UBSan)"
    bash fuzz/run.sh 30 "$PWD/build-fuzz"
    ;;
*)
    sed -n '2,9p' "$0"
    exit 2
    ;;
esac
