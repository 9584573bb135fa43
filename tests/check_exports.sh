#!/bin/sh
# Exported symbols of libfpo.so (docs/abi.md):
#  - every defined dynamic symbol is fpo_* (or the version node itself);
#  - every fpo_* symbol carries the default version LIBFPO_<FPO_ABI_MAJOR>,
#    and the soname is libfpo.so.<FPO_ABI_MAJOR>;
#  - every function the headers declare with FPO_API is exported;
#  - nothing is exported that the headers do not declare with FPO_API
#    (an internal helper leaked by a missing static / visibility).
#
#   check_exports.sh LIBFPO_SO INCLUDE_FPO_DIR
set -u

lib=${1:?usage: check_exports.sh LIBFPO_SO INCLUDE_FPO_DIR}
hdrs=${2:?headers dir}

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

# 1. Nothing but fpo_* (and the version node, an ABS symbol named after it).
bad=$(grep -v -e '^fpo_[A-Za-z0-9_]*@' -e "^$node\$" "$tmp/all")
if [ -n "$bad" ]; then
    echo "FAIL: symbols exported outside the fpo_ namespace (or with a foreign version):"
    echo "$bad" | sed 's/^/  /'
    status=1
fi

# 2. Every fpo_ symbol has the default version node LIBFPO_<ABI major>.
badver=$(grep '^fpo_' "$tmp/all" | grep -v "@@$node\$")
if [ -n "$badver" ]; then
    echo "FAIL: fpo_ symbols not versioned @@$node (FPO_ABI_MAJOR=$abi; see libfpo/libfpo.sym):"
    echo "$badver" | sed 's/^/  /'
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
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
if [ -n "$extra" ]; then
    echo "FAIL: exported but not declared FPO_API in any public header:"
    echo "$extra" | sed 's/^/  /'
    status=1
fi

[ $status -eq 0 ] && echo "exports OK: $(wc -l <"$tmp/exported") fpo_ symbols @@$node, $ndecl FPO_API declarations"
exit $status
