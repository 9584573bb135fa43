#!/bin/sh
# fpo-train under mpirun with no change but the launch command (issue 9):
# 2 ranks x 4 environments, then the same program alone with 8. Checks that
# both succeed, that only rank 0 wrote files (log.csv, policy.fpo, config.ini,
# curve.svg, nothing else, nowhere else), that the logs count global
# environment steps, and that the first iteration (same parameters, same
# keyed episodes and noise) logged the same episodes and returns.
#   fpo_train_mpi.sh RUN_MPI_SH MPIRUN FPO_TRAIN
set -u
run=${1:?usage: fpo_train_mpi.sh RUN_MPI_SH MPIRUN FPO_TRAIN}
mpirun=${2:?mpirun}
train=${3:?fpo-train}
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
run=$(abs "$run")
train=$(abs "$train")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fpo-train-mpi.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }
# Pendulum episodes last 200 steps: a horizon of 200 ends one per environment
# in every iteration.
args="--task pendulum --algo ppo --horizon 200 --epochs 2 --minibatches 4 --steps 4800 --eval-episodes 2"
cd "$tmp" || exit 99
# shellcheck disable=SC2086
sh "$run" "$mpirun" 2 "$train" $args --num-envs 4 --out two >two.txt 2>&1 || { cat two.txt; fail "2 ranks"; }
# shellcheck disable=SC2086
"$train" $args --num-envs 8 --out one >one.txt 2>&1 || { cat one.txt; fail "1 process"; }
cat two.txt
[ "$(ls two | sort | tr '\n' ' ')" = "config.ini curve.svg log.csv policy.fpo " ] || fail "files in two/: $(ls two)"
[ "$(ls | sort | tr '\n' ' ')" = "one one.txt two two.txt " ] || fail "stray files: $(ls)"
[ "$(grep -c '^training' two.txt)" = 1 ] || fail "more than one rank printed progress"
grep -q '^MPI: 2 ranks' two.txt || fail "no MPI summary line"
steps2=$(cut -d, -f2 two/log.csv | tail -n +2 | tr '\n' ' ')
steps1=$(cut -d, -f2 one/log.csv | tail -n +2 | tr '\n' ' ')
[ "$steps2" = "1600 3200 4800 " ] || fail "env_steps of the 2-rank log: $steps2"
[ "$steps1" = "$steps2" ] || fail "env_steps differ: $steps1 / $steps2"
# iteration 1: columns 6 (episodes: 8) and 7 (their mean return)
row2=$(sed -n 2p two/log.csv | cut -d, -f6,7)
row1=$(sed -n 2p one/log.csv | cut -d, -f6,7)
[ "${row2%%,*}" = 8 ] || fail "first iteration ended ${row2%%,*} episodes, expected 8"
[ "$row1" = "$row2" ] || fail "first iteration differs: '$row1' vs '$row2'"
echo "fpo-train: 2 ranks x 4 envs and 1 process x 8 envs: same steps, first iteration '$row2'"
