#!/bin/sh
# Old and new binaries on old and new libraries (docs/abi.md):
#  1. old_client, built against release 0.1.0's headers (abi/v1/include),
#     binds only LIBFPO_1 symbols and runs on the current library: its structs
#     are never written past (canaries), training works.
#  2. new_client, built against the current headers, binds LIBFPO_1.1 (the
#     sized inits) and runs on the current library.
#  3. new_client on a library of the first ABI (node LIBFPO_1 only) is
#     refused by the dynamic loader with a message naming LIBFPO_1.1: it
#     never runs with structs the library does not know.
#  4. the current library exports both version nodes.
#
#   check_compat.sh OLD_CLIENT NEW_CLIENT LIBFPO_SO LIBFPO_V1_SO
set -u
old=${1:?usage: check_compat.sh OLD_CLIENT NEW_CLIENT LIBFPO_SO LIBFPO_V1_SO}
new=${2:?}
lib=${3:?}
v1lib=${4:?}
command -v objdump >/dev/null 2>&1 || { echo "SKIP: objdump not found"; exit 77; }
status=0
fail() { echo "FAIL: $*"; status=1; }

# The version nodes each binary requires.
refs() { objdump -T "$1" | awk '/\*UND\*/ && / fpo_/ { v = $(NF-1); gsub(/[()]/, "", v); print v }' | sort -u | tr '\n' ' '; }
old_refs=$(refs "$old")
new_refs=$(refs "$new")
echo "old_client requires: $old_refs"
echo "new_client requires: $new_refs"
[ "$old_refs" = "LIBFPO_1 " ] || fail "old_client should bind only LIBFPO_1 symbols"
case $new_refs in *LIBFPO_1.1*) ;; *) fail "new_client should bind LIBFPO_1.1 (the sized inits)" ;; esac

# Each run gets a directory holding just one libfpo.so.1.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fpo-compat.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/new" "$tmp/v1"
cp "$lib" "$tmp/new/libfpo.so.1"
cp "$v1lib" "$tmp/v1/libfpo.so.1"

LD_LIBRARY_PATH="$tmp/new" "$old" || fail "old_client on the current library"
LD_LIBRARY_PATH="$tmp/new" "$new" || fail "new_client on the current library"

out=$(LD_LIBRARY_PATH="$tmp/v1" "$new" 2>&1)
rc=$?
echo "new_client on the first-ABI library: exit $rc: $out"
[ $rc -ne 0 ] || fail "new_client ran on a library without LIBFPO_1.1"
case $out in *"LIBFPO_1.1"*"not found"*) ;; *) fail "the loader's message does not name LIBFPO_1.1" ;; esac
# and the old binary runs on that library too (it is what it was built for)
LD_LIBRARY_PATH="$tmp/v1" "$old" || fail "old_client on the first-ABI library"

nodes=$(nm -D --defined-only "$lib" | awk '$2 == "A" { print $3 }' | sort | tr '\n' ' ')
echo "version nodes of $lib: $nodes"
[ "$nodes" = "LIBFPO_1 LIBFPO_1.1 " ] || fail "expected the version nodes LIBFPO_1 and LIBFPO_1.1"
[ $status -eq 0 ] && echo "abi_compat OK"
exit $status
