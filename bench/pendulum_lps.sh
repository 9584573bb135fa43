#!/usr/bin/env bash
# Learning per second on Pendulum (issue 20): wall and user time on one core
# of Gaussian PPO and FPO at the pendulum task's defaults (300k env steps),
# of Gaussian PPO at the preset before issue 20 (ppo-old: 8 envs x 32 steps,
# 4 minibatches, tanh nets, init std 1), side by side and interleaved, and
# optionally of RLtools' Pendulum PPO benchmark binaries in the same loop;
# then the learning of both algorithms over seeds (deterministic 20-episode
# evaluation at the end of each run).
# Usage:
#   bash bench/pendulum_lps.sh [BUILD_DIR] [REPEATS] [SEEDS] [CORE]
#   RLTOOLS_BENCH="/path/a /path/b" bash bench/pendulum_lps.sh ...
# REPEATS: timed runs per program (default 5); SEEDS: e.g. "1 2 3" (default
# 1..10; "" skips the learning part); CORE: the CPU the timed runs are pinned
# to (default 1). How to build RLtools' binary: docs/benchmarks.md.
set -euo pipefail
build=${1:-build}
reps=${2:-5}
seeds=${3-$(seq 1 10)}
core=${4:-1}
train=$build/examples/fpo-train
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# time_one NAME CMD...: wall and user seconds of one run, appended to $out/NAME.t
time_one() {
    local name=$1
    shift
    local s e
    s=$(date +%s.%N)
    /usr/bin/env time -f '%U' -o "$out/user" taskset -c "$core" "$@" > /dev/null 2>&1
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" -v u="$(tail -1 "$out/user")" \
        'BEGIN { printf "%.3f %.3f\n", e - s, u }' >> "$out/$name.t"
}

# stats FILE COLUMN: min / median / max
stats() {
    sort -g -k"$2","$2" "$1" | awk -v c="$2" '{ a[NR] = $c }
        END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
              printf "%.2f / %.2f / %.2f", a[1], m, a[NR] }'
}

names=(ppo ppo-old fpo)
declare -A rlt
for b in ${RLTOOLS_BENCH:-}; do
    names=("$(basename "$b")" "${names[@]}")
    rlt[$(basename "$b")]=$b
done
for i in $(seq 1 "$reps"); do
    for n in "${names[@]}"; do
        case $n in
        ppo | fpo) time_one "$n" "$train" --task pendulum --algo "$n" --seed 1 --quiet --out "$out/run" ;;
        ppo-old) time_one "$n" "$train" --task pendulum --algo ppo --seed 1 --quiet --out "$out/run" \
            --num-envs 8 --horizon 32 --minibatches 4 --activation tanh --init-std 1 ;;
        *) time_one "$n" "${rlt[$n]}" ;;
        esac
    done
done
echo "one core (taskset -c $core), $reps runs each, seconds min / median / max:"
for n in "${names[@]}"; do
    printf '  %-16s wall %s   user %s\n' "$n" "$(stats "$out/$n.t" 1)" "$(stats "$out/$n.t" 2)"
done

[ -z "$seeds" ] && exit 0
# Learning: both cores may be used here (the returns do not depend on timing).
for n in ppo fpo; do
    : > "$out/$n.r"
    for s in $seeds; do
        "$train" --task pendulum --algo "$n" --seed "$s" --quiet --out "$out/run-$n" |
            sed -n 's/.*deterministic return \([-0-9.]*\).*/\1/p' >> "$out/$n.r"
    done
    printf '  %-8s seeds %s: deterministic return median %s, >= -200: %d / %d; sorted: %s\n' "$n" \
        "$(echo $seeds | tr ' ' ',')" \
        "$(sort -g "$out/$n.r" | awk '{ a[NR] = $1 } END { print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')" \
        "$(awk '$1 >= -200' "$out/$n.r" | wc -l)" "$(wc -l < "$out/$n.r")" \
        "$(sort -g "$out/$n.r" | tr '\n' ' ')"
done
