#!/bin/sh
# ABI gate (docs/abi.md): compare the built libfpo.so with the committed
# baseline abi/libfpo.abi using libabigail's abidiff.
#
#   check_abi.sh LIBFPO_SO HEADERS_DIR BASELINE
#
# Passes when the ABI is unchanged or only grew (new functions/variables).
# Fails on any other change: abidiff exit bit 4 (ABIDIFF_ABI_CHANGE: a type
# layout or signature changed; libabigail cannot tell whether that is
# compatible, so a human must decide and regenerate the baseline with
# tools/update-abi-baseline.sh) or bit 8 (ABIDIFF_ABI_INCOMPATIBLE_CHANGE:
# a symbol was removed). A crash or usage error of abidiff is an ERROR (99),
# never a pass.
#
# Exit 77 (SKIP) when the check cannot run here: abidiff missing, library
# built without debug info (-Ddebug=false), or a different architecture than
# the baseline. Set FPO_ABI_REQUIRED=1 (CI) to turn those skips into errors.
set -u

lib=${1:?usage: check_abi.sh LIBFPO_SO HEADERS_DIR BASELINE}
hdrs=${2:?headers dir}
base=${3:?baseline}

skip() {
    echo "SKIP: $*"
    if [ "${FPO_ABI_REQUIRED:-0}" = 1 ]; then
        echo "FPO_ABI_REQUIRED=1: a skipped ABI gate is an error" >&2
        exit 99
    fi
    exit 77
}

command -v abidiff >/dev/null 2>&1 || skip "abidiff not found (install abigail-tools)"
command -v abidw >/dev/null 2>&1 || skip "abidw not found (install abigail-tools)"
[ -f "$lib" ] || { echo "ERROR: no library at $lib" >&2; exit 99; }
[ -d "$hdrs" ] || { echo "ERROR: no headers dir $hdrs" >&2; exit 99; }
if [ ! -f "$base" ]; then
    echo "FAIL: baseline $base is missing; create it with tools/update-abi-baseline.sh" >&2
    exit 1
fi

# Without DWARF abidiff sees only symbols and would pass any layout change.
if command -v readelf >/dev/null 2>&1; then
    readelf -S "$lib" 2>/dev/null | grep -q '\.debug_info' ||
        skip "$lib has no debug info; configure with -Ddebug=true (the project default)"
fi

# The baseline describes one architecture (type sizes differ elsewhere).
arch_of() { sed -n "1s/.*architecture='\([^']*\)'.*/\1/p"; }
base_arch=$(head -n 1 "$base" | arch_of)
lib_arch=$(abidw --no-corpus-path "$lib" 2>/dev/null | head -n 1 | arch_of)
if [ -n "$base_arch" ] && [ "$base_arch" != "$lib_arch" ]; then
    skip "baseline is for $base_arch, library is $lib_arch"
fi

out=$(mktemp "${TMPDIR:-/tmp}/fpo-abidiff.XXXXXX") || exit 99
trap 'rm -f "$out"' EXIT INT TERM

echo "abidiff --no-added-syms --headers-dir2 $hdrs $base $lib"
# --no-added-syms: new exported functions/variables are compatible and do not
# set the exit bits. --headers-dir2: only types declared in the public
# headers count (internal structs may change freely).
abidiff --no-added-syms --headers-dir2 "$hdrs" "$base" "$lib" >"$out" 2>&1
rc=$?
cat "$out"

if [ "$rc" -ge 16 ] || [ $((rc & 3)) -ne 0 ]; then
    echo "ERROR: abidiff failed (exit $rc): the gate could not run" >&2
    exit 99
fi
if [ $((rc & 8)) -ne 0 ]; then
    echo "FAIL: ABI gate: exported symbols were removed (abidiff exit $rc)." >&2
    echo "This breaks every program linked against libfpo.so.N; see docs/abi.md." >&2
    exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
    echo "FAIL: ABI gate: public types or signatures changed (abidiff exit $rc)." >&2
    echo "If the change is intended, follow docs/abi.md (bump FPO_ABI_MAJOR unless it is" >&2
    echo "provably compatible) and regenerate the baseline: tools/update-abi-baseline.sh BUILDDIR" >&2
    exit 1
fi

# Informational: list what was added (allowed).
abidiff --headers-dir2 "$hdrs" --added-fns --added-vars "$base" "$lib" 2>/dev/null |
    grep '^  \[A\]' | sed 's/^/added (OK): /'
echo "ABI gate: compatible with $base"
exit 0
