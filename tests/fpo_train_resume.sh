#!/bin/bash
# fpo-train's checkpoints (issue 19): --checkpoint-every and --resume continue
# a run bit-identically (policy file and log rows, timing columns aside), and
# SIGINT / SIGTERM stop after the current iteration with trainer.ckpt,
# policy.fpo, curve.svg and a complete log.csv written.
#
# Pendulum's episodes last 200 steps and never end early, so with --horizon
# 200 every iteration boundary is an episode boundary: the case in which
# fpo_trainer_restore continues exactly (fpo/trainer.h).
set -u
FT=${1:?usage: fpo_train_resume.sh path/to/fpo-train}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fpo-resume-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
COMMON=(--task pendulum --num-envs 2 --horizon 200 --actor 1:16 --critic 1:16 --epochs 1
        --minibatches 2 --eval-episodes 1 --seed 5 --quiet)
STEP=400 # env steps per iteration
fail() { echo "FAIL: $*" >&2; exit 1; }

# log.csv without the timing columns (elapsed_s, rollout_s, update_s, steps_per_s)
rows() { cut -d, -f1,2,6-17,19- "$1"; }

same_run() { # DIR_A DIR_B
    cmp "$1/policy.fpo" "$2/policy.fpo" || fail "$1/policy.fpo and $2/policy.fpo differ"
    diff <(rows "$1/log.csv") <(rows "$2/log.csv") >&2 || fail "$1/log.csv and $2/log.csv differ"
}

# 1. 8 iterations straight vs 4, stop, resume to 8.
"$FT" "${COMMON[@]}" --steps $((8 * STEP)) --out "$TMP/straight" >/dev/null ||
    fail "straight run"
"$FT" "${COMMON[@]}" --steps $((4 * STEP)) --checkpoint-every 3 --out "$TMP/halves" >/dev/null ||
    fail "first half"
[ -f "$TMP/halves/trainer.ckpt" ] || fail "no trainer.ckpt after --checkpoint-every"
ls "$TMP/halves" | grep -q tmp && fail "a temporary file was left behind"
"$FT" "${COMMON[@]}" --steps $((8 * STEP)) --resume "$TMP/halves" >/dev/null || fail "resume"
same_run "$TMP/straight" "$TMP/halves"
[ "$(rows "$TMP/halves/log.csv" | wc -l)" = 9 ] || fail "log.csv of the resumed run: not 8 rows"

# 1b. The same with correlated rollout noise, whose rows' state the checkpoint
# carries (trainer format 3).
"$FT" "${COMMON[@]}" --noise-corr 0.5 --steps $((8 * STEP)) --out "$TMP/straight-nc" >/dev/null ||
    fail "straight run, --noise-corr"
"$FT" "${COMMON[@]}" --noise-corr 0.5 --steps $((4 * STEP)) --checkpoint-every 3 \
    --out "$TMP/halves-nc" >/dev/null || fail "first half, --noise-corr"
[ "$(od -An -tu4 -j8 -N4 "$TMP/halves-nc/trainer.ckpt" | tr -d ' ')" = 3 ] ||
    fail "trainer.ckpt with --noise-corr is not format 3"
"$FT" "${COMMON[@]}" --noise-corr 0.5 --steps $((8 * STEP)) --resume "$TMP/halves-nc" >/dev/null ||
    fail "resume, --noise-corr"
same_run "$TMP/straight-nc" "$TMP/halves-nc"
# and the noise matters: without it the run differs
cmp -s "$TMP/straight/policy.fpo" "$TMP/straight-nc/policy.fpo" &&
    fail "--noise-corr 0.5 gave the same policy as fresh noise"

# 2. SIGINT during a long run.
"$FT" "${COMMON[@]}" --steps 1000000000 --out "$TMP/int" >"$TMP/int.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
    [ -f "$TMP/int/log.csv" ] && [ "$(wc -l <"$TMP/int/log.csv")" -ge 4 ] && break
    sleep 0.05
done
kill -INT $pid
wait $pid
status=$?
[ $status = 130 ] || { cat "$TMP/int.out" >&2; fail "exit status $status after SIGINT, want 130"; }
for f in trainer.ckpt policy.fpo curve.svg log.csv; do
    [ -s "$TMP/int/$f" ] || fail "no $f after SIGINT"
done
[ "$(tail -c1 "$TMP/int/log.csv" | od -An -c | tr -d ' ')" = '\n' ] ||
    fail "log.csv does not end with a complete row"
n=$(tail -n1 "$TMP/int/log.csv" | cut -d, -f1)
[ "$n" -ge 3 ] || fail "only $n iterations before SIGINT"
# The interrupted run, resumed to n + 2 iterations, equals a straight run.
"$FT" "${COMMON[@]}" --steps $(((n + 2) * STEP)) --resume "$TMP/int" >/dev/null ||
    fail "resume after SIGINT"
"$FT" "${COMMON[@]}" --steps $(((n + 2) * STEP)) --out "$TMP/int-straight" >/dev/null ||
    fail "straight run of $((n + 2)) iterations"
same_run "$TMP/int-straight" "$TMP/int"

# 3. SIGTERM: the same stop, status 143.
"$FT" "${COMMON[@]}" --steps 1000000000 --out "$TMP/term" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
    [ -f "$TMP/term/log.csv" ] && [ "$(wc -l <"$TMP/term/log.csv")" -ge 3 ] && break
    sleep 0.05
done
kill -TERM $pid
wait $pid
status=$?
[ $status = 143 ] || fail "exit status $status after SIGTERM, want 143"
[ -s "$TMP/term/trainer.ckpt" ] && [ -s "$TMP/term/policy.fpo" ] || fail "no files after SIGTERM"
echo "ok: resume after --checkpoint-every and after SIGINT ($n iterations) is bit-identical"
