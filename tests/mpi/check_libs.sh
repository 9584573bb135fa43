#!/bin/sh
# libfpo stays MPI-free, and libfpo_mpi exports only its API (docs/design.md):
#  - libfpo.so needs no MPI library and references no MPI symbol;
#  - libfpo_mpi.so exports exactly the functions fpo/mpi.h declares with
#    FPO_MPI_API, all @@LIBFPO_MPI_<FPO_MPI_ABI_MAJOR>, under the soname
#    libfpo_mpi.so.<FPO_MPI_ABI_MAJOR>.
#   check_libs.sh LIBFPO_SO LIBFPO_MPI_SO MPI_H
set -u
lib=${1:?usage: check_libs.sh LIBFPO_SO LIBFPO_MPI_SO MPI_H}
mlib=${2:?libfpo_mpi.so}
hdr=${3:?fpo/mpi.h}
for t in nm readelf; do
    command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not found"; exit 77; }
done
status=0
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
if echo "$needed" | grep -qi -e mpi -e open-pal -e open-rte; then
    echo "FAIL: $lib needs an MPI library:"; echo "$needed" | sed 's/^/  /'
    status=1
fi
if nm -D "$lib" | grep -q -e ' U MPI_' -e ' U PMPI_' -e ' U ompi_'; then
    echo "FAIL: $lib references MPI symbols:"; nm -D "$lib" | grep -e ' U MPI_' -e ' U ompi_' | head
    status=1
fi
abi=$(sed -n 's/^#define FPO_MPI_ABI_MAJOR[[:space:]]\{1,\}\([0-9]\{1,\}\).*/\1/p' "$hdr")
[ -n "$abi" ] || { echo "ERROR: FPO_MPI_ABI_MAJOR not found in $hdr" >&2; exit 99; }
soname=$(readelf -d "$mlib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "libfpo_mpi.so.$abi" ]; then
    echo "FAIL: soname of $mlib is '$soname', expected libfpo_mpi.so.$abi"
    status=1
fi
exported=$(nm -D --defined-only "$mlib" | awk '{print $NF}' | grep -v "^LIBFPO_MPI_$abi\$" | sort)
declared=$(awk '/^FPO_MPI_API[[:space:]]/ { sub(/\(.*/, ""); n = split($0, w, /[^A-Za-z0-9_]+/);
                for (i = n; i > 0; i--) if (w[i] != "") { print w[i] "@@LIBFPO_MPI_'"$abi"'"; break } }' "$hdr" | sort)
[ -n "$declared" ] || { echo "ERROR: no FPO_MPI_API declarations in $hdr" >&2; exit 99; }
if [ "$exported" != "$declared" ]; then
    echo "FAIL: exports of $mlib differ from the FPO_MPI_API declarations of $hdr"
    echo "exported:"; echo "$exported" | sed 's/^/  /'
    echo "declared:"; echo "$declared" | sed 's/^/  /'
    status=1
fi
[ $status -eq 0 ] && echo "libfpo.so has no MPI dependency; libfpo_mpi.so exports $(echo "$declared" | wc -l) functions @@LIBFPO_MPI_$abi"
exit $status
