#!/bin/sh
# The header test compiles a fixed list of headers (meson does not glob):
# fail if include/fpo has a header the list lacks, or the list names one
# that is gone, so a new public header cannot skip the check.
#   check_list.sh INCLUDE_FPO_DIR NAME...   (names without .h)
set -u
dir=${1:?usage: check_list.sh INCLUDE_FPO_DIR NAME...}
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fpo-hdrs.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
for n in "$@"; do echo "$n.h"; done | sort >"$tmp/listed"
(cd "$dir" && ls -1 -- *.h) | sort >"$tmp/present"
if ! cmp -s "$tmp/listed" "$tmp/present"; then
    echo "FAIL: fpo_public_headers in tests/headers/meson.build is out of date"
    echo "in include/fpo but not in the list:"; comm -13 "$tmp/listed" "$tmp/present" | sed 's/^/  /'
    echo "in the list but not in include/fpo:"; comm -23 "$tmp/listed" "$tmp/present" | sed 's/^/  /'
    exit 1
fi
echo "all $# public headers are compiled alone as C99 and C++11"
