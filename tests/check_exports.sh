#!/bin/sh
# Exported symbols of libfpo.so (docs/abi.md):
#  - every defined dynamic symbol is fpo_* (or the version node itself);
#  - every fpo_* symbol carries, as its default version, the node the version
#    script assigns it (LIBFPO_<FPO_ABI_MAJOR> or LIBFPO_<FPO_ABI_MAJOR>.N),
#    every symbol the script lists is exported, and the soname is
#    libfpo.so.<FPO_ABI_MAJOR>;
#  - every function the headers declare with FPO_API is exported;
#  - nothing is exported that the headers do not declare with FPO_API, except
#    the legacy entry points whose names the headers map to newer functions
#    with a function-like macro (#define fpo_x_config_init(cfg) ...): an
#    internal helper leaked by a missing static / visibility fails.
#
#   check_exports.sh LIBFPO_SO INCLUDE_FPO_DIR LIBFPO_SYM
set -u

lib=${1:?usage: check_exports.sh LIBFPO_SO INCLUDE_FPO_DIR LIBFPO_SYM}
hdrs=${2:?headers dir}
symfile=${3:?version script}

command -v nm >/dev/null 2>&1 || { echo "SKIP: nm not found"; exit 77; }
[ -f "$lib" ] || { echo "ERROR: no library at $lib" >&2; exit 99; }

abi=$(sed -n 's/^#define FPO_ABI_MAJOR[[:space:]]\{1,\}\([0-9]\{1,\}\).*/\1/p' "$hdrs/version.h")
[ -n "$abi" ] || { echo "ERROR: FPO_ABI_MAJOR not found in $hdrs/version.h" >&2; exit 99; }
node=LIBFPO_$abi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fpo-exports.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

nm -D --defined-only "$lib" >"$tmp/nm" || { echo "ERROR: nm failed" >&2; exit 99; }
[ -s "$tmp/nm" ] || { echo "ERROR: nm listed no symbols" >&2; exit 99; }
status=0

# Name field is the last one: "ADDR TYPE name[@@VERSION]".
awk '{ print $NF }' "$tmp/nm" | sort -u >"$tmp/all"

# The version script: which node each symbol belongs to ("symbol node").
awk '
    /^[[:space:]]*LIBFPO_[0-9.]*[[:space:]]*\{/ { node = $1; sub(/\{.*/, "", node); next }
    /^[[:space:]]*fpo_[A-Za-z0-9_]*;/ { s = $1; sub(/;.*/, "", s); print s, node }
' "$symfile" | sort >"$tmp/assigned"
[ -s "$tmp/assigned" ] || { echo "ERROR: no symbols parsed from $symfile" >&2; exit 99; }
nodes=$(awk '{ print $2 }' "$tmp/assigned" | sort -u)

# 1. Nothing but fpo_* (and the version nodes, ABS symbols named after them).
bad=$(grep -v -e '^fpo_[A-Za-z0-9_]*@' -e "^$node\$" -e "^$node\.[0-9]*\$" "$tmp/all")
if [ -n "$bad" ]; then
    echo "FAIL: symbols exported outside the fpo_ namespace (or with a foreign version):"
    echo "$bad" | sed 's/^/  /'
    status=1
fi
for n in $nodes; do
    case $n in
    "$node" | "$node".[0-9]*) ;;
    *) echo "FAIL: version node $n in $symfile is not $node or $node.N (FPO_ABI_MAJOR=$abi)"
       status=1 ;;
    esac
    grep -qx "$n" "$tmp/all" || { echo "FAIL: the library has no version node $n"; status=1; }
done

# 2. Every fpo_ symbol has, as its default version, the node libfpo.sym
# assigns it, and every symbol libfpo.sym lists is exported.
grep '^fpo_' "$tmp/all" | sed 's/@@*/ /' | sort >"$tmp/actual"
if ! cmp -s "$tmp/assigned" "$tmp/actual"; then
    echo "FAIL: exported symbols and their version nodes differ from $symfile"
    echo "  (< the version script, > the library):"
    diff "$tmp/assigned" "$tmp/actual" | grep '^[<>]' | sed 's/^/  /'
    status=1
fi
if grep '^fpo_' "$tmp/all" | grep -qv '@@'; then
    echo "FAIL: fpo_ symbols without a default version:"
    grep '^fpo_' "$tmp/all" | grep -v '@@' | sed 's/^/  /'
    status=1
fi
if command -v readelf >/dev/null 2>&1; then
    soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    if [ "$soname" != "libfpo.so.$abi" ]; then
        echo "FAIL: soname is '$soname', expected libfpo.so.$abi (FPO_ABI_MAJOR)"
        status=1
    fi
fi

grep '^fpo_' "$tmp/all" | sed 's/@.*//' | sort -u >"$tmp/exported"

# 3. Functions declared FPO_API in the headers: the identifier right before
# the first '(' of every declaration that starts with FPO_API (joined over
# line breaks up to that parenthesis).
for h in "$hdrs"/*.h; do
    awk '
    /^[[:space:]]*FPO_API[[:space:]]/ {
        buf = $0
        while (index(buf, "(") == 0 && (getline line) > 0) buf = buf " " line
        sub(/\(.*/, "", buf)
        n = split(buf, w, /[^A-Za-z0-9_]+/)
        for (i = n; i > 0; i--) if (w[i] != "") { print w[i]; break }
    }' "$h"
done | sort -u >"$tmp/declared"
# Legacy names the headers keep as macros.
cat "$hdrs"/*.h | sed -n 's/^#define \(fpo_[A-Za-z0-9_]*\)(.*/\1/p' | sort -u >"$tmp/macros"

ndecl=$(wc -l <"$tmp/declared")
if [ "$ndecl" -lt 10 ]; then
    echo "ERROR: found only $ndecl FPO_API declarations in $hdrs; the parser is broken" >&2
    exit 99
fi

missing=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -n "$missing" ]; then
    echo "FAIL: declared FPO_API in the headers but not exported by $lib:"
    echo "$missing" | sed 's/^/  /'
    status=1
fi
extra=$(comm -13 "$tmp/declared" "$tmp/exported" | comm -23 - "$tmp/macros")
if [ -n "$extra" ]; then
    echo "FAIL: exported but not declared FPO_API in any public header:"
    echo "$extra" | sed 's/^/  /'
    status=1
fi

[ $status -eq 0 ] && echo "exports OK: $(wc -l <"$tmp/exported") fpo_ symbols in the nodes" $nodes "of $symfile, $ndecl FPO_API declarations"
exit $status
