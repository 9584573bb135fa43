#!/usr/bin/env bash
# The stability benchmark of docs/stability.md: FPO and Gaussian PPO trained
# to the end of a long budget, several seeds, on the tasks where FPO used to
# collapse; per run the best and final return and the peak CFM loss against
# the first iteration's.
#
#   bash bench/stability.sh [BUILD_DIR] [RESULTS_DIR]
#
# Environment overrides:
#   TASKS="reacher-hard cheetah-run finger-spin point-mass humanoid-root-goal"
#   SEEDS="1 2 3"          seeds
#   ALGOS="fpo ppo"        algorithms
#   STEPS=4000000          env steps per run (every task)
#   LANES=$(nproc)         runs side by side (one thread each)
#   PRESET=cpu             fpo-train --preset
#   EXTRA="..."            extra fpo-train flags (use another RESULTS_DIR per variant)
#
# Every run writes RESULTS_DIR/TASK/ALGO/seedS/{log.csv,policy.fpo,best.fpo,
# stdout.txt} (with --keep-best: the best policy by a deterministic evaluation
# every STEPS/20 env steps). A run's directory is renamed into place only when
# it has finished, so an interrupted benchmark resumes where it stopped. Then:
#   python3 bench/stability_report.py RESULTS_DIR [--svg-dir DIR] [--md FILE]
set -euo pipefail
build=${1:-build}
results=${2:-results/stability}
train=$(realpath "$build/examples/fpo-train")
[ -x "$train" ] || { echo "stability.sh: no $train (build first)" >&2; exit 1; }
tasks=${TASKS:-reacher-hard cheetah-run finger-spin point-mass humanoid-root-goal}
seeds=${SEEDS:-1 2 3}
algos=${ALGOS:-fpo ppo}
steps=${STEPS:-4000000}
lanes=${LANES:-$(nproc)}
preset=${PRESET:-cpu}
extra=${EXTRA:-}
mkdir -p "$results"

jobs=$(mktemp)
trap 'rm -f "$jobs"' EXIT
# Algorithm-major, so that a benchmark cut short has every task of the first
# algorithm (FPO by default).
for algo in $algos; do
    for task in $tasks; do
        for seed in $seeds; do
            d=$results/$task/$algo/seed$seed
            [ -d "$d" ] && continue
            echo "$task $algo $seed" >>"$jobs"
        done
    done
done
n=$(wc -l <"$jobs")
echo "stability.sh: $n runs of $steps env steps, $lanes at a time -> $results"

run_one() { # task algo seed
    local task=$1 algo=$2 seed=$3
    local d=$results/$task/$algo/seed$seed tmp=$results/$task/$algo/.seed$seed.tmp
    rm -rf "$tmp"
    mkdir -p "$tmp"
    local t0=$SECONDS
    # shellcheck disable=SC2086
    if "$train" --task "$task" --algo "$algo" --seed "$seed" --steps "$steps" \
        --preset "$preset" --keep-best --out "$tmp" --quiet $extra >"$tmp/stdout.txt" 2>&1; then
        echo "$((SECONDS - t0))" >"$tmp/wall.txt"
        mv "$tmp" "$d"
        echo "done: $task $algo seed $seed ($((SECONDS - t0)) s)"
    else
        echo "$((SECONDS - t0))" >"$tmp/wall.txt"
        echo "FAILED (kept in $tmp): $task $algo seed $seed; see $tmp/stdout.txt" >&2
    fi
}
export -f run_one
export results train steps preset extra
xargs -P "$lanes" -L 1 bash -c 'run_one "$@"' _ <"$jobs"
echo "stability.sh: report with: python3 bench/stability_report.py $results"
