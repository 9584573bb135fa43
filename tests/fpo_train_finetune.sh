#!/bin/bash
# fpo-train --record / --pretrain / --init / --critic-warmup / --finetune
# (docs/finetune.md): a small teacher, its episodes on disk, a fine-tuning
# run from them, and the errors of bad uses. A few seconds.
set -u
FT=${1:?usage: fpo_train_finetune.sh path/to/fpo-train [HAVE_INIH]}
INIH=${2:-1} # 0: fpo-train was built without libinih (no --config)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fpo-finetune-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
small=(--task pendulum --num-envs 2 --horizon 200 --actor 1:16 --critic 1:8 --epochs 1
       --minibatches 2 --eval-episodes 1 --quiet)

"$FT" "${small[@]}" --steps 800 --out "$TMP/teacher" >/dev/null || fail "teacher"
# --record N --eval POLICY: three files, N episodes of 200 steps.
"$FT" --task pendulum --eval "$TMP/teacher/policy.fpo" --record 3 --record-noise 0.2 \
    --out "$TMP/data" --quiet || fail "record"
for f in obs act episode_ends; do
    [ -s "$TMP/data/$f.npy" ] || fail "no $f.npy"
done
head -c 6 "$TMP/data/obs.npy" | od -c | grep -q 'N   U   M   P   Y' || fail "obs.npy is not .npy"
# The same recording twice is the same bytes.
"$FT" --task pendulum --eval "$TMP/teacher/policy.fpo" --record 3 --record-noise 0.2 \
    --out "$TMP/data2" --quiet || fail "record again"
cmp "$TMP/data/act.npy" "$TMP/data2/act.npy" || fail "recording is not deterministic"
"$FT" --task pendulum --record 3 2>"$TMP/err" && fail "--record without --eval succeeded"
grep -q "eval POLICY" "$TMP/err" || fail "unclear message: $(cat "$TMP/err")"

# --pretrain --finetune: pretrain.csv, pretrained.fpo, the fine-tuning defaults.
"$FT" "${small[@]}" --steps 1200 --pretrain "$TMP/data" --finetune --pretrain-epochs 3 \
    --out "$TMP/ft" >/dev/null || fail "pretrain + finetune"
[ -s "$TMP/ft/pretrained.fpo" ] || fail "no pretrained.fpo"
[ "$(wc -l <"$TMP/ft/pretrain.csv")" -eq 4 ] || fail "pretrain.csv should have 3 epochs"
grep -q '^finetune = true$' "$TMP/ft/config.ini" || fail "config.ini lacks finetune"
grep -q '^critic-warmup = 5$' "$TMP/ft/config.ini" || fail "config.ini lacks critic-warmup = 5"
grep -q '^pretrain-epochs = 3$' "$TMP/ft/config.ini" || fail "the flag did not override"
# the task's lr (1e-3) x 10/3 under --finetune; the flag wins over --finetune.
grep -q '^lr = 0.0033333334$' "$TMP/ft/config.ini" || fail "lr: $(grep '^lr' "$TMP/ft/config.ini")"
"$FT" "${small[@]}" --steps 400 --finetune --lr 0.002 --init "$TMP/ft/pretrained.fpo" \
    --out "$TMP/ft2" >/dev/null || fail "--init"
grep -q '^lr = 0.002$' "$TMP/ft2/config.ini" || fail "--lr did not override --finetune"
# A run repeated from its config.ini keeps that lr (not x 10/3 again).
if [ "$INIH" = 1 ]; then
    "$FT" --config "$TMP/ft/config.ini" --steps 400 --out "$TMP/ft3" >/dev/null || fail "--config"
    grep -q '^lr = 0.0033333334$' "$TMP/ft3/config.ini" || fail "lr again: $(grep '^lr' "$TMP/ft3/config.ini")"
fi
grep -q '^init = ' "$TMP/ft2/config.ini" || fail "config.ini lacks init"
# Critic warm-up: the first iterations report ratio exactly 1 (column 11).
[ "$(sed -n 2p "$TMP/ft/log.csv" | cut -d, -f11)" = 1 ] || fail "warm-up iteration moved the actor"
# --init with other networks: the trainer's message.
"$FT" "${small[@]}" --actor 2:16 --steps 400 --init "$TMP/ft/pretrained.fpo" \
    --out "$TMP/bad" 2>"$TMP/err" >/dev/null && fail "--init with other networks succeeded"
grep -q "init_policy" "$TMP/err" || fail "unclear message: $(cat "$TMP/err")"
# A data set of another task's sizes.
"$FT" "${small[@]}" --task gridworld --steps 400 --pretrain "$TMP/data" --out "$TMP/bad2" \
    2>"$TMP/err" >/dev/null && fail "--pretrain with another task's data succeeded"
grep -q "columns" "$TMP/err" || fail "unclear message: $(cat "$TMP/err")"
echo "ok"
