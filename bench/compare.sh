#!/usr/bin/env bash
# FPO vs Gaussian PPO on the ten DM Control tasks at the same env-step budget
# per task, several seeds: the grid behind docs/results.md.
#
#   bash bench/compare.sh [BUILD_DIR] [RESULTS_DIR]
#
# Environment overrides:
#   SEEDS="1 2"            seeds to run
#   TASKS="cartpole-balance point-mass ..."   tasks to run (default: all ten, in
#                          the order below)
#   ALGOS="fpo ppo"        algorithms (also dppo; bench/compare3_report.py reports
#                          a three-way grid)
#   STEPS=N                the same env-step budget for every task instead of the
#                          per-task budgets below
#   THREADS=1              --threads of each run
#   NICE=10                nice level
#   EXTRA="..."            extra fpo-train flags (e.g. --reward-scale 10); use a
#                          separate RESULTS_DIR for every variant
#   EVAL_EPISODES=20       after training, re-evaluate each run's policy.fpo over
#                          this many episodes (deterministic and sampled, eval seed
#                          as in training) into evalN.txt; 0 = off. The report
#                          prefers the largest evalN.txt over the trainer's own
#                          final (5-episode) evaluation line.
#
# One training at a time, under nice. Every run writes
#   RESULTS_DIR/TASK/ALGO/seedS/{log.csv,policy.fpo,curve.svg,stdout.txt,wall.txt}
# into a temporary directory that is renamed when the run has finished with its
# evaluation line, so an interrupted grid resumes where it stopped: runs whose
# directory exists are skipped. A run that fpo-train ended with "training
# failed" (the collapse guard gave up) is kept too, with that line in
# failed.txt: its policy (the state the guard restored) is re-evaluated, and the
# report counts it and marks it. Then: python3 bench/compare_report.py RESULTS_DIR
set -euo pipefail
build=${1:-build}
results=${2:-results/compare}
train=$build/examples/fpo-train
[ -x "$train" ] || { echo "compare.sh: no $train (build first)" >&2; exit 1; }

# Per-task env-step budgets, sized for one core of a 2-core machine (see
# docs/results.md for the measured throughput behind them).
declare -A budget=(
    [cartpole-balance]=2000000
    [point-mass]=2000000
    [cheetah-run]=1000000
    [reacher-easy]=1000000
    [reacher-hard]=1000000
    [finger-spin]=1000000
    [finger-turn-easy]=1000000
    [finger-turn-hard]=1000000
    [ball-in-cup]=1000000
    [fish-swim]=500000
)
all_tasks="cartpole-balance point-mass cheetah-run reacher-easy reacher-hard finger-spin
           finger-turn-easy finger-turn-hard ball-in-cup fish-swim"
tasks=${TASKS:-$all_tasks}
seeds=${SEEDS:-1 2}
algos=${ALGOS:-fpo ppo}
threads=${THREADS:-1}
nicelvl=${NICE:-10}
extra=${EXTRA:-}
eval_eps=${EVAL_EPISODES:-20}

reeval() { # dir task seed [episodes]
    local n=${4:-$eval_eps}
    [ "$n" -gt 0 ] || return 0
    local f=$1/eval$n.txt
    [ -s "$f" ] && return 0
    # shellcheck disable=SC2086
    if nice -n "$nicelvl" "$train" --task "$2" --eval "$1/policy.fpo" --eval-episodes "$n" \
        --seed "$3" --threads "$threads" $extra > "$f.tmp" 2>&1 &&
        grep -q '^evaluation over' "$f.tmp"; then
        mv "$f.tmp" "$f"
        printf 'eval  %-18s %s\n' "$2" "$(cat "$f")"
    else
        echo "FAIL  eval of $1 (see $f.tmp)" >&2
    fi
}

mkdir -p "$results"
for task in $tasks; do
    steps=${STEPS:-${budget[$task]:-}}
    [ -n "$steps" ] || { echo "compare.sh: no budget for $task" >&2; exit 1; }
    for seed in $seeds; do
        for algo in $algos; do
            dir=$results/$task/$algo/seed$seed
            if [ -d "$dir" ]; then
                echo "skip  $task $algo seed $seed (done)"
                reeval "$dir" "$task" "$seed"
                continue
            fi
            tmp=$dir.tmp
            rm -rf "$tmp"
            mkdir -p "$tmp"
            # shellcheck disable=SC2086
            cmd=(nice -n "$nicelvl" "$train" --task "$task" --algo "$algo" --steps "$steps"
                 --seed "$seed" --threads "$threads" --quiet --out "$tmp" $extra)
            echo "${cmd[*]}" > "$tmp/command.txt"
            s=$(date +%s.%N)
            rc=0
            "${cmd[@]}" > "$tmp/stdout.txt" 2> "$tmp/stderr.txt" || rc=$?
            e=$(date +%s.%N)
            awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f\n", e - s }' > "$tmp/wall.txt"
            if [ "$rc" -ne 0 ]; then
                # A run the trainer stopped (the collapse guard's FPO_EDIVERGED)
                # is a result, not a gap: it is kept, with its error in
                # failed.txt, and the policy it left is evaluated like any other
                # (the report counts it and marks it). Anything else is a failure
                # of the grid itself.
                if [ -s "$tmp/policy.fpo" ] &&
                    grep '^fpo-train: training failed' "$tmp/stderr.txt" > "$tmp/failed.txt"; then
                    mv "$tmp" "$dir"
                    printf 'stop  %-18s %s seed %s  %6s s  %s\n' "$task" "$algo" "$seed" \
                        "$(cat "$dir/wall.txt")" "$(cut -c1-160 "$dir/failed.txt")"
                    # its only evaluation: 5 episodes (the trainer's) when EVAL_EPISODES=0
                    reeval "$dir" "$task" "$seed" "$([ "$eval_eps" -gt 0 ] && echo "$eval_eps" || echo 5)"
                else
                    echo "FAIL  $task $algo seed $seed (see $tmp/stderr.txt)" >&2
                fi
                continue
            fi
            grep -q '^evaluation over' "$tmp/stdout.txt" || {
                echo "FAIL  $task $algo seed $seed (no evaluation line)" >&2
                continue
            }
            mv "$tmp" "$dir"
            printf 'done  %-18s %s seed %s  %6s s  %s\n' "$task" "$algo" "$seed" \
                "$(cat "$dir/wall.txt")" "$(grep '^evaluation over' "$dir/stdout.txt")"
            reeval "$dir" "$task" "$seed"
        done
    done
done
