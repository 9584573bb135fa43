#!/bin/bash
# docs/finetune.md's demonstration: record a mediocre policy, pretrain on its
# episodes, fine-tune with FPO, and compare with FPO from scratch at the same
# number of RL environment steps. Runs one training at a time.
#
#   bench/finetune_demo.sh [BUILD_DIR]   (env: TASK, TEACHER_STEPS, EPISODES,
#                                         STEPS, SEEDS, OUT)
# Prints a Markdown table of the final deterministic evaluations (20 episodes).
set -eu
B=${1:-build}
FT=$B/examples/fpo-train
TASK=${TASK:-pendulum}
TEACHER_STEPS=${TEACHER_STEPS:-200000}
EPISODES=${EPISODES:-20}
STEPS=${STEPS:-100000}
SEEDS=${SEEDS:-"1 2 3"}
OUT=${OUT:-out/finetune-demo-$TASK}
mkdir -p "$OUT"
det() { sed -n 's/.*deterministic return \([-0-9.]*\).*/\1/p' | tail -n 1; }
sam() { sed -n 's/.*sampled return \([-0-9.]*\).*/\1/p' | tail -n 1; }

[ -f "$OUT/teacher/policy.fpo" ] ||
    "$FT" --task "$TASK" --steps "$TEACHER_STEPS" --seed 11 --out "$OUT/teacher" --quiet \
        >"$OUT/teacher.txt"
[ -f "$OUT/data/act.npy" ] ||
    "$FT" --task "$TASK" --eval "$OUT/teacher/policy.fpo" --record "$EPISODES" \
        --out "$OUT/data" >"$OUT/record.txt"
echo "teacher ($TEACHER_STEPS steps): deterministic $(det <"$OUT/teacher.txt"), sampled $(sam <"$OUT/teacher.txt")"
cat "$OUT/record.txt"

printf '| seed | pretrained, before RL | fine-tuned (--finetune) | pretrained + task defaults | from scratch |\n'
printf '|---|---|---|---|---|\n'
for s in $SEEDS; do
    "$FT" --task "$TASK" --steps "$STEPS" --seed "$s" --pretrain "$OUT/data" --finetune \
        --out "$OUT/ft-$s" --quiet >"$OUT/ft-$s.txt"
    "$FT" --task "$TASK" --eval "$OUT/ft-$s/pretrained.fpo" --seed "$s" >"$OUT/pre-$s.txt"
    "$FT" --task "$TASK" --steps "$STEPS" --seed "$s" --pretrain "$OUT/data" \
        --out "$OUT/pd-$s" --quiet >"$OUT/pd-$s.txt"
    "$FT" --task "$TASK" --steps "$STEPS" --seed "$s" --out "$OUT/scratch-$s" --quiet \
        >"$OUT/scratch-$s.txt"
    printf '| %s | %s | %s | %s | %s |\n' "$s" "$(det <"$OUT/pre-$s.txt")" \
        "$(det <"$OUT/ft-$s.txt")" "$(det <"$OUT/pd-$s.txt")" "$(det <"$OUT/scratch-$s.txt")"
done
