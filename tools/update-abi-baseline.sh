#!/bin/sh
# Regenerate abi/libfpo.abi, the ABI baseline tests/check_abi.sh compares
# against. Run it deliberately, when a release changes the ABI on purpose,
# and commit the new baseline together with that change (docs/abi.md).
#
#   tools/update-abi-baseline.sh [--reviewed] [--force] BUILDDIR
#
# BUILDDIR must be configured from this source tree with debug info
# (-Ddebug=true, the project default). The script builds it, dumps the ABI
# with abidw, compares it with the current baseline and refuses to write:
#  - when exported symbols were removed but FPO_ABI_MAJOR (the soname) did
#    not change (override: --force);
#  - when public types or signatures changed and FPO_ABI_MAJOR did not change,
#    unless --reviewed says a human checked the change is compatible (only
#    members appended to a struct_size struct that no public struct embeds
#    by value).
# Additions alone need no flag.
set -eu

reviewed=0 force=0
while [ $# -gt 0 ]; do
    case $1 in
        --reviewed) reviewed=1 ;;
        --force) force=1 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
    shift
done
[ $# -eq 1 ] || { echo "usage: $0 [--reviewed] [--force] BUILDDIR" >&2; exit 2; }
builddir=$1

src=$(cd "$(dirname "$0")/.." && pwd)
hdrs=$src/include/fpo
base=$src/abi/libfpo.abi

for t in abidw abidiff readelf meson; do
    command -v $t >/dev/null 2>&1 || { echo "$t not found" >&2; exit 1; }
done

meson compile -C "$builddir" >/dev/null
lib=$builddir/libfpo/libfpo.so
[ -f "$lib" ] || { echo "no $lib (default_library=static?)" >&2; exit 1; }
readelf -S "$lib" | grep -q '\.debug_info' ||
    { echo "$lib has no debug info: meson configure $builddir -Ddebug=true" >&2; exit 1; }

new=$(mktemp "${TMPDIR:-/tmp}/libfpo-abi.XXXXXX")
trap 'rm -f "$new"' EXIT INT TERM

# Options chosen so the baseline is reproducible and path independent:
#  --headers-dir + --drop-private-types + --drop-undefined-syms: only the
#    exported functions and the types of the public headers (not BLIS, libc);
#  --short-locs: keep locations (file names only). Locations must stay:
#    without them abidiff --headers-dir2 treats every type as private and
#    the gate would pass any change (checked with libabigail 2.2);
#  --type-id-style hash: stable ids, so baseline diffs stay readable.
abidw --headers-dir "$hdrs" --drop-private-types --drop-undefined-syms --short-locs \
      --no-corpus-path --no-comp-dir-path --no-elf-needed \
      --type-id-style hash --out-file "$new" "$lib"

soname_of() { sed -n "1s/.*soname='\([^']*\)'.*/\1/p" "$1"; }

if [ -f "$base" ]; then
    old_soname=$(soname_of "$base")
    new_soname=$(soname_of "$new")
    set +e
    abidiff --no-added-syms "$base" "$new" >/dev/null 2>&1
    rc=$?
    set -e
    echo "---- changes from the committed baseline ($old_soname -> $new_soname) ----"
    abidiff "$base" "$new" || true
    echo "-------------------------------------------------------------------------"
    if [ "$rc" -ge 16 ] || [ $((rc & 3)) -ne 0 ]; then
        echo "abidiff failed (exit $rc)" >&2; exit 1
    fi
    if [ "$old_soname" = "$new_soname" ]; then
        if [ $((rc & 8)) -ne 0 ] && [ $force = 0 ]; then
            echo "Symbols were removed but the soname is still $new_soname." >&2
            echo "Bump FPO_ABI_MAJOR in include/fpo/version.h and the LIBFPO_N node in" >&2
            echo "libfpo/libfpo.sym (docs/abi.md), or pass --force if you know better." >&2
            exit 1
        fi
        if [ $((rc & 4)) -ne 0 ] && [ $reviewed = 0 ] && [ $force = 0 ]; then
            echo "Public types or signatures changed under the same soname $new_soname." >&2
            echo "Compatible only if members were appended to struct_size structs that no" >&2
            echo "public struct embeds by value. If so, rerun with --reviewed; otherwise" >&2
            echo "bump FPO_ABI_MAJOR (docs/abi.md)." >&2
            exit 1
        fi
    fi
fi

mkdir -p "$(dirname "$base")"
cp "$new" "$base"
echo "wrote $base ($(wc -l <"$base") lines); commit it with the change that caused it."
