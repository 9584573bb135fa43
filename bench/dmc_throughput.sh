#!/usr/bin/env bash
# Env steps per second of FPO (the tasks' FPO++ objective) and Gaussian PPO on
# DM Control tasks at both presets, one thread per run (issue 20). FPO and
# PPO of one configuration run side by side, each pinned to its own core
# (taskset), so both see the same machine state; REPEATS such pairs.
#
#   bash bench/dmc_throughput.sh [BUILD_DIR] [REPEATS]
#
# Environment: TASKS ("cheetah-run reacher-hard"), PRESETS ("cpu paper"),
# CPU_STEPS (200000: 195 updates of the cpu preset), PAPER_STEPS (983040: one
# update of the paper preset, 2048 envs x 480 steps), PAPER_REPEATS (1).
# Per run, from log.csv: env steps/s of the training loop (env steps over the
# rollout and update seconds), the rollout alone (physics and sampler: env
# steps over rollout seconds), the update's share of the loop, and the seconds
# outside both (creating the envs and networks, the final evaluation).
# Then per configuration the medians and FPO / PPO.
set -euo pipefail
build=${1:-build}
reps=${2:-3}
train=$(realpath "$build/examples/fpo-train")
tasks=${TASKS:-cheetah-run reacher-hard}
presets=${PRESETS:-cpu paper}
cpu_steps=${CPU_STEPS:-200000}
paper_steps=${PAPER_STEPS:-983040}
paper_reps=${PAPER_REPEATS:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ncpu=$(nproc)

# stats LOG WALL -> "loop rollout update_share other" (steps/s, steps/s,
# fraction, seconds of WALL outside the rollouts and updates)
stats() {
    awk -F, -v wall="$2" 'NR > 1 { r += $4; u += $5; steps = $2 }
        END { printf "%.0f %.0f %.3f %.1f\n", steps / (r + u), steps / r, u / (r + u),
                     wall - r - u }' "$1"
}

printf '| task | preset | algo | run | env steps | env steps/s | rollout alone, steps/s | update share | seconds outside the loop |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for task in $tasks; do
    for preset in $presets; do
        steps=$cpu_steps n=$reps
        if [ "$preset" = paper ]; then steps=$paper_steps n=$paper_reps; fi
        for i in $(seq 1 "$n"); do
            pids=()
            k=0
            for algo in fpo ppo; do
                d=$out/$task-$preset-$algo-$i
                core=$((k % ncpu))
                taskset -c "$core" /usr/bin/time -f %e -o "$d.wall" "$train" --task "$task" --algo "$algo" --preset "$preset" \
                    --steps "$steps" --seed 1 --threads 1 --quiet --out "$d" >"$d.txt" 2>&1 &
                pids+=($!)
                k=$((k + 1))
            done
            for p in "${pids[@]}"; do wait "$p"; done
            for algo in fpo ppo; do
                d=$out/$task-$preset-$algo-$i
                read -r all roll share other < <(stats "$d/log.csv" "$(cat "$d.wall")")
                echo "$task $preset $algo $all $roll $share" >>"$out/all.txt"
                printf '| %s | %s | %s | %d | %s | %s | %s | %.0f%% | %s |\n' "$task" "$preset" "$algo" \
                    "$i" "$(tail -1 "$d/log.csv" | cut -d, -f2)" "$all" "$roll" \
                    "$(awk -v s="$share" 'BEGIN { print 100 * s }')" "$other"
            done
        done
    done
done
echo
printf '| task | preset | FPO steps/s (median) | PPO steps/s (median) | FPO / PPO | rollout alone FPO / PPO |\n'
printf '|---|---|---|---|---|---|\n'
python3 - "$out/all.txt" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
keys = []
for r in rows:
    if (r[0], r[1]) not in keys:
        keys.append((r[0], r[1]))
for t, p in keys:
    med = {}
    for a in ("fpo", "ppo"):
        v = [(float(r[3]), float(r[4])) for r in rows if r[:3] == [t, p, a]]
        med[a] = (statistics.median(x for x, _ in v), statistics.median(y for _, y in v))
    print("| %s | %s | %.0f | %.0f | %.2f | %.0f / %.0f |" % (
        t, p, med["fpo"][0], med["ppo"][0], med["fpo"][0] / med["ppo"][0], med["fpo"][1],
        med["ppo"][1]))
EOF
