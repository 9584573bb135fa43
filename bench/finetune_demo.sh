#!/bin/bash
# docs/finetune.md's demonstration: record a mediocre policy, pretrain on its
# episodes, fine-tune with FPO, and compare with FPO from scratch.
#
#   bench/finetune_demo.sh [BUILD_DIR]
#
# Environment (defaults in brackets):
#   TASK [pendulum]          the task
#   PRESET []                fpo-train --preset for every run (empty: the task's defaults)
#   TEACHER_ALGO []          the teacher's --algo (empty: the task's default algorithm)
#   TEACHER_STEPS [200000]   the teacher's env steps (seed 11)
#   EPISODES [20]            episodes recorded from the teacher
#   STEPS [100000]           RL env steps of each pretrained run
#   SCRATCH_STEPS [STEPS]    env steps of each from-scratch run
#   SEEDS ["1 2 3"]          seeds
#   VARIANTS ["ft pd scratch"]  ft: --pretrain --finetune; pd: --pretrain with the
#                            task's settings; scratch: FPO from a fresh policy
#   LANES [1]                runs side by side (one thread each)
#   EXTRA []                 more fpo-train flags for the FPO runs and their evaluations
#                            (not the teacher's), e.g. "--sampler midpoint"
#   OUT [out/finetune-demo-TASK]
# Every run writes OUT/VARIANT-SEED/ (log.csv, stdout.txt). A run already done is
# kept, so an interrupted demonstration resumes. Then prints the report of
# bench/finetune_report.py (final evaluations and training returns; curves with
# --svg-prefix, see there).
set -eu
B=${1:-build}
FT=$(realpath "$B/examples/fpo-train")
[ -x "$FT" ] || { echo "finetune_demo.sh: no $FT (build first)" >&2; exit 1; }
TASK=${TASK:-pendulum}
PRESET=${PRESET:-}
TEACHER_ALGO=${TEACHER_ALGO:-}
TEACHER_STEPS=${TEACHER_STEPS:-200000}
EPISODES=${EPISODES:-20}
STEPS=${STEPS:-100000}
SCRATCH_STEPS=${SCRATCH_STEPS:-$STEPS}
SEEDS=${SEEDS:-"1 2 3"}
VARIANTS=${VARIANTS:-"ft pd scratch"}
LANES=${LANES:-1}
OUT=${OUT:-out/finetune-demo-$TASK}
mkdir -p "$OUT"
EXTRA=${EXTRA:-}
common="--task $TASK${PRESET:+ --preset $PRESET}"

# shellcheck disable=SC2086
[ -f "$OUT/teacher/policy.fpo" ] ||
    "$FT" $common ${TEACHER_ALGO:+--algo $TEACHER_ALGO} --steps "$TEACHER_STEPS" --seed 11 \
        --out "$OUT/teacher" --quiet >"$OUT/teacher.txt"
# shellcheck disable=SC2086
[ -f "$OUT/data/act.npy" ] ||
    "$FT" $common ${TEACHER_ALGO:+--algo $TEACHER_ALGO} --eval "$OUT/teacher/policy.fpo" \
        --record "$EPISODES" --out "$OUT/data" >"$OUT/record.txt"

jobs=$(mktemp)
trap 'rm -f "$jobs"' EXIT
for s in $SEEDS; do
    for v in $VARIANTS; do
        [ -f "$OUT/$v-$s/stdout.txt" ] || echo "$v $s" >>"$jobs"
    done
done
run_one() { # variant seed
    local v=$1 s=$2 d=$OUT/$1-$2 args
    case $v in
    ft) args="--steps $STEPS --pretrain $OUT/data --finetune" ;;
    pd) args="--steps $STEPS --pretrain $OUT/data" ;;
    scratch) args="--steps $SCRATCH_STEPS" ;;
    *) echo "finetune_demo.sh: unknown variant $v" >&2; return 1 ;;
    esac
    rm -rf "$d.tmp"
    # shellcheck disable=SC2086
    if "$FT" $common $EXTRA --algo fpo --seed "$s" $args --out "$d.tmp" --quiet >"$d.tmp.txt" 2>&1; then
        if [ -f "$d.tmp/pretrained.fpo" ]; then # the pretrained policy alone, before RL
            "$FT" $common $EXTRA --algo fpo --seed "$s" --eval "$d.tmp/pretrained.fpo" \
                >"$d.tmp/pretrained-eval.txt" 2>&1 || true
        fi
        mv "$d.tmp.txt" "$d.tmp/stdout.txt"
        mv "$d.tmp" "$d"
        echo "done: $v seed $s"
    else
        echo "FAILED: $v seed $s (see $d.tmp.txt)" >&2
    fi
}
export -f run_one
export FT OUT STEPS SCRATCH_STEPS common EXTRA
xargs -P "$LANES" -L 1 bash -c 'run_one "$@"' _ <"$jobs"
python3 "$(dirname "$0")/finetune_report.py" "$OUT"
