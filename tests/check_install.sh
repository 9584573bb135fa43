#!/bin/sh
# Install test: stage `meson install` into a temporary DESTDIR, then build a
# consumer against the staged tree with nothing but pkg-config, once against
# the shared library and once statically (which exercises Libs.private),
# run both, and check that fpo.pc's version is the one in version.h.
#
#   check_install.sh MESON BUILDDIR INCLUDE_FPO_DIR [mpi|nompi]
# CC (environment) is the C compiler to use, default cc. With mpi, fpo/mpi.h
# and fpo-mpi.pc must be installed and an MPI consumer built with
# pkg-config fpo-mpi must link and run (as a singleton); with nompi (the
# default) neither may be installed.
set -u

meson=${1:?usage: check_install.sh MESON BUILDDIR INCLUDE_FPO_DIR}
builddir=${2:?builddir}
hdrs=${3:?include/fpo dir}
with_mpi=${4:-nompi}
cc=${CC:-cc}

command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: pkg-config not found"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fpo-install.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
stage=$tmp/stage

fail() { echo "FAIL: $*" >&2; exit 1; }

# --no-rebuild: meson test has already built everything.
if ! $meson install -C "$builddir" --no-rebuild --destdir "$stage" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    fail "meson install --destdir failed"
fi

pc=$(find "$stage" -name fpo.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || fail "no fpo.pc installed (pkgconfig.generate)"
echo "staged $(find "$stage" -type f | wc -l) files; fpo.pc at ${pc#$stage}"
for f in fpo.h common.h version.h policy.h sampler.h buffer.h optimizer.h env.h trainer.h collective.h; do
    find "$stage" -path "*/include/fpo/$f" | grep -q . || fail "include/fpo/$f not installed"
done

# Only the staged tree: PKG_CONFIG_LIBDIR replaces the default search path,
# PKG_CONFIG_SYSROOT_DIR prefixes -I/-L with the staging directory.
PKG_CONFIG_LIBDIR=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
unset PKG_CONFIG_PATH

want=$(sed -n 's/^#define FPO_VERSION_STRING "\(.*\)"/\1/p' "$hdrs/version.h")
parts=$(for k in MAJOR MINOR PATCH; do
            sed -n "s/^#define FPO_VERSION_$k[[:space:]]\{1,\}\([0-9]\{1,\}\).*/\1/p" "$hdrs/version.h"
        done | paste -sd. -)
[ "$want" = "$parts" ] || fail "version.h: FPO_VERSION_STRING \"$want\" != MAJOR.MINOR.PATCH $parts"
got=$(pkg-config --modversion fpo) || fail "pkg-config cannot read fpo.pc"
[ "$got" = "$want" ] || fail "pkg-config --modversion fpo is '$got', version.h says '$want'"
echo "pkg-config --modversion fpo: $got"

cat >"$tmp/consumer.c" <<'CEOF'
#include <fpo/fpo.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    fpo_policy_config cfg;
    fpo_policy *p = NULL;
    int rc;
    if (fpo_version() != FPO_VERSION || strcmp(fpo_version_string(), FPO_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s, library %s\n", FPO_VERSION_STRING, fpo_version_string());
        return 1;
    }
    fpo_policy_config_init(&cfg);
    cfg.obs_dim = 2;
    cfg.act_dim = 1;
    rc = fpo_policy_create(&p, &cfg);
    if (rc != FPO_OK) {
        fprintf(stderr, "fpo_policy_create: %s\n", fpo_strerror(rc));
        return 1;
    }
    fpo_policy_destroy(p);
    printf("consumer: libfpo %s\n", fpo_version_string());
    return 0;
}
CEOF

cflags=$(pkg-config --cflags fpo) && libs=$(pkg-config --libs fpo) || fail "pkg-config --cflags/--libs fpo"
echo "shared: $cc consumer.c $cflags $libs"
# shellcheck disable=SC2086
$cc -std=c99 -Wall -Wextra -Werror -o "$tmp/consumer" "$tmp/consumer.c" $cflags $libs ||
    fail "consumer does not compile/link against the staged tree"
libdir=$(dirname "$(dirname "$pc")")
LD_LIBRARY_PATH=$libdir "$tmp/consumer" ||
    fail "consumer linked against the staged libfpo.so does not run"
if command -v ldd >/dev/null 2>&1; then
    LD_LIBRARY_PATH=$libdir ldd "$tmp/consumer" | grep -q "$libdir/libfpo.so" ||
        fail "consumer did not resolve libfpo.so from the staged tree"
fi

# Static: libfpo.a plus what Libs.private says it needs (BLIS, libm, threads).
if [ -f "$libdir/libfpo.a" ]; then
    slibs=$(pkg-config --static --libs fpo | sed 's/\(^\|[[:space:]]\)-lfpo\([[:space:]]\|$\)/ /')
    echo "static: $cc consumer.c $cflags $libdir/libfpo.a $slibs"
    # shellcheck disable=SC2086
    $cc -std=c99 -o "$tmp/consumer_static" "$tmp/consumer.c" $cflags "$libdir/libfpo.a" $slibs ||
        fail "static link with pkg-config --static --libs fpo fails (Libs.private incomplete?)"
    "$tmp/consumer_static" || fail "statically linked consumer does not run"
else
    echo "no libfpo.a installed (default_library=shared): static consumer skipped"
fi
# libfpo_mpi: installed only with -Dmpi=enabled.
mpc=$(find "$stage" -name fpo-mpi.pc -path '*/pkgconfig/*' | head -n 1)
mph=$(find "$stage" -path '*/include/fpo/mpi.h' | head -n 1)
if [ "$with_mpi" = mpi ]; then
    [ -n "$mpc" ] && [ -n "$mph" ] || fail "MPI build: fpo-mpi.pc or fpo/mpi.h not installed"
    cat >"$tmp/mpi_consumer.c" <<'CEOF'
#include <fpo/mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    fpo_collective c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    int rc = fpo_mpi_collective_create(&c, MPI_COMM_WORLD);
    if (rc == 0)
        printf("mpi consumer: rank %d of %d\n", c.rank, c.size);
    else
        fprintf(stderr, "%s\n", fpo_mpi_last_errmsg());
    fpo_mpi_collective_destroy(&c);
    MPI_Finalize();
    return rc != 0;
}
CEOF
    # fpo-mpi.pc requires the system's MPI .pc, which a sysroot would
    # relocate too: use copies of the staged fpo.pc and fpo-mpi.pc with their
    # prefix moved into the stage, searched before the system's directories.
    mkdir -p "$tmp/pc"
    for f in fpo fpo-mpi; do
        sed "s|^prefix=|prefix=$stage|" "$(dirname "$mpc")/$f.pc" >"$tmp/pc/$f.pc"
    done
    sys=$(env -u PKG_CONFIG_LIBDIR -u PKG_CONFIG_SYSROOT_DIR pkg-config --variable pc_path pkg-config)
    mflags=$(env -u PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR="$tmp/pc:$sys" \
             pkg-config --cflags --libs fpo-mpi) || fail "pkg-config --cflags --libs fpo-mpi"
    echo "mpi: $cc mpi_consumer.c $mflags"
    # shellcheck disable=SC2086
    $cc -std=c99 -Wall -Wextra -Werror -o "$tmp/mpi_consumer" "$tmp/mpi_consumer.c" $mflags ||
        fail "MPI consumer does not compile/link with pkg-config fpo-mpi"
    LD_LIBRARY_PATH=$libdir OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        "$tmp/mpi_consumer" || fail "MPI consumer does not run"
else
    [ -z "$mpc" ] && [ -z "$mph" ] || fail "built without MPI but fpo-mpi.pc or fpo/mpi.h installed"
fi
echo "install OK"
