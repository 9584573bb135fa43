#!/usr/bin/env bash
# FPO vs Gaussian PPO on humanoid-root-goal (or its PD variant, TASK=...): the same env-step budget for both
# algorithms, several seeds, every saved policy evaluated with humanoid-eval
# (success rate, alive steps, goal distance, turn histogram). The runs behind
# the HumanoidRootGoal section of docs/results.md.
#
#   bash bench/humanoid.sh [BUILD_DIR] [RESULTS_DIR]
#   python3 bench/humanoid_report.py RESULTS_DIR --md docs/results.md --svg-dir docs/results
#
# Environment overrides:
#   STEPS=1000000        --steps of every training (both algorithms)
#   SEEDS="1 2 3"        training seeds
#   ALGOS="fpo ppo"      algorithms
#   JOBS=2               trainings at a time, started in the order fpo seed 1,
#                        ppo seed 1, fpo seed 2, ... (so the two algorithms run
#                        side by side and see about the same machine load)
#   THREADS=1            --threads of each training and evaluation
#   NICE=10              nice level
#   EPISODES=100         humanoid-eval --episodes
#   EVAL_SEED=1000       humanoid-eval --seed: the same episodes for every policy
#   EXTRA="..."          extra fpo-train flags (use a separate RESULTS_DIR per variant)
#   TASK=humanoid-root-goal  or humanoid-root-goal-pd (PD position targets); passed
#                        to fpo-train and to humanoid-eval (use a separate RESULTS_DIR)
#
# Every run writes RESULTS_DIR/ALGO/seedS/{command.txt,stdout.txt,stderr.txt,
# log.csv,policy.fpo,curve.svg,wall.txt} into ALGO/seedS.tmp, renamed when
# the training has finished, so an interrupted grid resumes where it stopped
# (finished runs are skipped). Then each policy is evaluated into
# eval-deterministic.json / eval-sampled.json (+ per-episode CSVs); existing
# evaluations are kept, delete them to re-evaluate.
set -euo pipefail
build=${1:-build}
results=${2:-results/humanoid}
train=$build/examples/fpo-train
evalp=$build/examples/humanoid-eval
for p in "$train" "$evalp"; do
    [ -x "$p" ] || { echo "humanoid.sh: no $p (build with MuJoCo first)" >&2; exit 1; }
done
steps=${STEPS:-1000000}
seeds=${SEEDS:-1 2 3}
algos=${ALGOS:-fpo ppo}
jobs=${JOBS:-2}
threads=${THREADS:-1}
nicelvl=${NICE:-10}
episodes=${EPISODES:-100}
eval_seed=${EVAL_SEED:-1000}
extra=${EXTRA:-}
task=${TASK:-humanoid-root-goal}
case $task in
    humanoid-root-goal|humanoid-root-goal-pd) ;;
    *) echo "humanoid.sh: TASK must be humanoid-root-goal or humanoid-root-goal-pd" >&2; exit 2 ;;
esac

train_one() { # algo seed
    local dir=$results/$1/seed$2 tmp=$results/$1/seed$2.tmp
    if [ -d "$dir" ]; then
        echo "skip  $1 seed $2 (trained)"
        return 0
    fi
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # shellcheck disable=SC2086
    local cmd=(nice -n "$nicelvl" "$train" --task "$task" --algo "$1" --steps "$steps"
               --seed "$2" --threads "$threads" --quiet --out "$tmp" $extra)
    echo "${cmd[*]}" | sed "s|--out $tmp|--out $dir|" > "$tmp/command.txt"
    local s e
    s=$(date +%s.%N)
    if ! "${cmd[@]}" > "$tmp/stdout.txt" 2> "$tmp/stderr.txt"; then
        echo "FAIL  $1 seed $2 (see $tmp/stderr.txt)" >&2
        return 1
    fi
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f\n", e - s }' > "$tmp/wall.txt"
    mv "$tmp" "$dir"
    printf 'done  %s seed %s  %s s  %s\n' "$1" "$2" "$(cat "$dir/wall.txt")" \
        "$(grep '^evaluation over' "$dir/stdout.txt" || true)"
}

eval_one() { # algo seed
    local dir=$results/$1/seed$2 mode flag
    [ -f "$dir/policy.fpo" ] || return 0
    for mode in deterministic sampled; do
        flag=
        [ "$mode" = sampled ] && flag=--sampled
        local out=$dir/eval-$mode.json
        [ -s "$out" ] && continue
        # shellcheck disable=SC2086
        local cmd=(nice -n "$nicelvl" "$evalp" --task "$task" --episodes "$episodes" --seed "$eval_seed"
                   --threads "$threads" $flag --episodes-csv "$dir/episodes-$mode.csv" --json
                   "$dir/policy.fpo")
        if "${cmd[@]}" > "$out.tmp" 2> "$dir/eval-$mode.stderr"; then
            mv "$out.tmp" "$out"
            echo "${cmd[*]}" > "$dir/eval-$mode.command.txt"
            printf 'eval  %s seed %s %-13s %s\n' "$1" "$2" "$mode" \
                "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("success", d["success_rate"], "alive", d["mean_alive_steps"], "distance", d["mean_final_distance"])' "$out")"
        else
            echo "FAIL  eval $mode of $dir (see $dir/eval-$mode.stderr)" >&2
            rm -f "$out.tmp"
        fi
    done
}

mkdir -p "$results"
# Trainings, JOBS at a time, in the order seed-major (fpo 1, ppo 1, fpo 2, ...).
pending=()
for seed in $seeds; do
    for algo in $algos; do
        pending+=("$algo $seed")
    done
done
running=0
status=0
for item in "${pending[@]}"; do
    # shellcheck disable=SC2086
    train_one $item &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || status=1
        running=$((running - 1))
    fi
done
while [ "$running" -gt 0 ]; do
    wait -n || status=1
    running=$((running - 1))
done
# Evaluations, one at a time.
for item in "${pending[@]}"; do
    # shellcheck disable=SC2086
    eval_one $item
done
exit $status
