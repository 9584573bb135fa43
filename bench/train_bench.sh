#!/usr/bin/env bash
# End-to-end training benchmarks of issue 5: wall time, env steps/s split into
# rollout and update, and the learning reached. Usage:
#   bash bench/train_bench.sh [BUILD_DIR] [REPEATS]
# Prints one line per run and the median wall time per configuration.
set -euo pipefail
build=${1:-build}
reps=${2:-3}
train=$build/examples/fpo-train
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# summarize LOG: total rollout and update seconds, final running return, and
# the env steps at which the running return first reached THRESH.
summarize() {
    awk -F, -v th="$2" 'NR > 1 { r += $4; u += $5; ret = $8; steps = $2
        if (first == "" && $8 != "nan" && $8 + 0 >= th) first = $2 }
        END { if (first == "") first = "never"
              printf "rollout %.2f s, update %.2f s, final return %.2f, return %s first reached at %s steps",
                     r, u, ret, th, first }' "$1"
}

run() { # name threshold args...
    local name=$1 th=$2
    shift 2
    local times=()
    for i in $(seq 1 "$reps"); do
        local s e
        s=$(date +%s.%N)
        "$train" "$@" --quiet --out "$out/$name" > "$out/$name.txt"
        e=$(date +%s.%N)
        local t
        t=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }')
        times+=("$t")
        printf '%-28s %6.2f s  %s; %s\n' "$name" "$t" "$(summarize "$out/$name/log.csv" "$th")" \
            "$(tail -1 "$out/$name.txt")"
    done
    printf '%-28s median %.2f s over %d runs\n' "$name" \
        "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" "$reps"
}

# GridWorld at the reference schedule (2048 steps per batch, N_mc 50, 10 epochs,
# 64-64 nets), 273k env steps, both cores.
run gridworld-fpo-2threads 19.9 --task gridworld --algo fpo --steps 273000 --threads 2
# The same with the reference's own network input [obs, x_t, t] (t itself, not 8 sinusoids).
run gridworld-fpo-2threads-raw-t 19.9 --task gridworld --algo fpo --steps 273000 --threads 2 \
    --time-emb raw
# Pendulum, Gaussian PPO at the task's defaults (4 envs x 1024 steps, 2 epochs of 16
# minibatches, 64-64 ReLU nets), 300k steps, one core;
# then FPO on the same schedule.
run pendulum-ppo-1thread -200 --task pendulum --algo ppo --steps 300000 --threads 1
run pendulum-fpo-1thread -200 --task pendulum --algo fpo --steps 300000 --threads 1
