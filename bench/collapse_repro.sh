#!/usr/bin/env bash
# The minimal reproduction of docs/stability.md: FPO on point-mass at lr 3e-4
# (three times the task's own lr), 1.5M env steps, with the settings before the
# fix (the sampler's raw clamp at 3, no anchor, no spike guard, no collapse
# guard) and with today's defaults (collapse guard off too, so that
# what is shown is the update itself). About 2 x 2.5 minutes on one core each.
#
#   bash bench/collapse_repro.sh [BUILD_DIR] [OUT_DIR] [SEED]
#
# then: python3 bench/collapse_plot.py OUT_DIR/before OUT_DIR/after --svg FILE
set -euo pipefail
build=${1:-build}
out=${2:-results/collapse}
seed=${3:-2}
train=$build/examples/fpo-train
[ -x "$train" ] || { echo "collapse_repro.sh: no $train (build first)" >&2; exit 1; }
mkdir -p "$out"
common=(--task point-mass --lr 3e-4 --steps 1500000 --seed "$seed" --quiet --no-guard)
"$train" "${common[@]}" --raw-clip 3 --bound-coef 0 --spike-clip 0 --anchor 0 --out "$out/before" \
    >"$out.before.txt" 2>&1 &
"$train" "${common[@]}" --out "$out/after" >"$out.after.txt" 2>&1
wait
tail -n 1 "$out.before.txt" "$out.after.txt"
