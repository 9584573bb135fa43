#!/bin/sh
# Run a program on N ranks with this machine's mpirun (tests/mpi/meson.build).
#   run_mpi.sh MPIRUN N PROGRAM [ARGS...]
# Open MPI refuses to run as root without --allow-run-as-root, and to start
# more ranks than cores without --oversubscribe (this machine has 2 cores
# shared with other work); both flags are added when mpirun is Open MPI.
set -u
mpirun=${1:?usage: run_mpi.sh MPIRUN N PROGRAM [ARGS...]}
n=${2:?ranks}
shift 2
flags=""
if "$mpirun" --version 2>/dev/null | grep -q "Open MPI"; then
    flags="--oversubscribe"
    [ "$(id -u)" -eq 0 ] && flags="$flags --allow-run-as-root"
fi
# shellcheck disable=SC2086
exec "$mpirun" $flags -np "$n" "$@"
