#!/bin/bash
# fpo-train --config FILE (issue 19): every run writes OUT/config.ini, the
# full resolved settings; --config reads it back (libinih), so a run repeats
# from its folder; flags override the file; bad files get clear messages.
# Without libinih, --config must say so.
set -u
FT=${1:?usage: fpo_train_config.sh path/to/fpo-train HAVE_INIH}
HAVE_INIH=${2:-1}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fpo-config-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
rows() { cut -d, -f1,2,6-17,19- "$1"; } # log.csv without its timing columns

printf 'task = pendulum\n' >"$TMP/min.ini"
if [ "$HAVE_INIH" != 1 ]; then
    "$FT" --config "$TMP/min.ini" 2>"$TMP/err" && fail "--config without libinih succeeded"
    grep -q "without INI support" "$TMP/err" || fail "unclear message: $(cat "$TMP/err")"
    echo "ok: built without libinih, --config says so"
    exit 0
fi

# 1. A run with flags, repeated from its config.ini: same policy, same log.
"$FT" --task pendulum --num-envs 2 --horizon 200 --actor 1:16 --critic 2:8 --epochs 1 \
    --minibatches 2 --eval-episodes 1 --seed 7 --lr 0.0007 --no-aspo --sampler heun \
    --steps 1600 --quiet --out "$TMP/a" >/dev/null || fail "run a"
[ -f "$TMP/a/config.ini" ] || fail "no config.ini in the run's folder"
grep -q '^lr = 0.0007$' "$TMP/a/config.ini" || fail "config.ini lacks lr = 0.0007"
grep -q '^aspo = false$' "$TMP/a/config.ini" || fail "config.ini lacks aspo = false"
"$FT" --config "$TMP/a/config.ini" --out "$TMP/b" --quiet >/dev/null || fail "rerun from config.ini"
cmp "$TMP/a/policy.fpo" "$TMP/b/policy.fpo" || fail "the rerun's policy differs"
diff <(rows "$TMP/a/log.csv") <(rows "$TMP/b/log.csv") >&2 || fail "the rerun's log differs"
diff <(grep -v '^#' "$TMP/a/config.ini") <(grep -v '^#' "$TMP/b/config.ini") >&2 ||
    fail "the rerun resolved other settings"

# 2. Flags override the file.
"$FT" --config "$TMP/a/config.ini" --seed 8 --steps 400 --out "$TMP/c" --quiet >/dev/null ||
    fail "override run"
grep -q '^seed = 8$' "$TMP/c/config.ini" || fail "--seed did not override the file"
grep -q '^lr = 0.0007$' "$TMP/c/config.ini" || fail "the file's lr was lost"

# 2b. The policy's flags (--squash, --activation, --init-std, --no-obs-norm) and
# --no-adv-norm reach config.ini and repeat from it; the task's own values (the
# library's, for the advantages) are written when not given.
grep -q '^activation = relu$' "$TMP/a/config.ini" || fail "config.ini lacks the task's activation"
grep -q '^squash = tanh$' "$TMP/a/config.ini" || fail "config.ini lacks squash = tanh"
grep -q '^init-std' "$TMP/a/config.ini" && fail "an FPO run wrote init-std"
grep -q '^no-adv-norm = false$' "$TMP/a/config.ini" || fail "config.ini lacks no-adv-norm = false"
PFLAGS="--task pendulum --algo ppo --num-envs 2 --horizon 200 --actor 1:16 --critic 1:16
    --epochs 1 --minibatches 2 --eval-episodes 1 --steps 800 --squash clip --activation silu
    --init-std 0.7 --no-obs-norm --quiet"
# shellcheck disable=SC2086
"$FT" $PFLAGS --no-adv-norm --out "$TMP/p" >/dev/null || fail "ppo run with policy flags"
# shellcheck disable=SC2086
"$FT" $PFLAGS --out "$TMP/p2" >/dev/null || fail "ppo run with normalized advantages"
cmp -s "$TMP/p/policy.fpo" "$TMP/p2/policy.fpo" && fail "--no-adv-norm did not change training"
# --adam-eps: written, repeated from config.ini, changes training, checked by the library.
grep -q '^adam-eps = 1e-08$' "$TMP/a/config.ini" || fail "config.ini lacks the library's adam-eps"
# shellcheck disable=SC2086
"$FT" $PFLAGS --adam-eps 0.01 --out "$TMP/e" >/dev/null || fail "ppo run with --adam-eps"
grep -q '^adam-eps = 0.01$' "$TMP/e/config.ini" || fail "config.ini lacks adam-eps = 0.01"
cmp -s "$TMP/e/policy.fpo" "$TMP/p2/policy.fpo" && fail "--adam-eps did not change training"
"$FT" --config "$TMP/e/config.ini" --out "$TMP/e2" --quiet >/dev/null || fail "rerun with adam-eps"
cmp "$TMP/e/policy.fpo" "$TMP/e2/policy.fpo" || fail "the adam-eps rerun's policy differs"
"$FT" $PFLAGS --adam-eps 0 --out "$TMP/e3" 2>"$TMP/err" >/dev/null && fail "--adam-eps 0 accepted"
grep -q "adam_eps" "$TMP/err" || fail "message for --adam-eps 0: $(cat "$TMP/err")"
for l in 'squash = clip' 'activation = silu' 'init-std = 0.7' 'no-obs-norm = true' \
    'no-adv-norm = true'; do
    grep -q "^$l\$" "$TMP/p/config.ini" || fail "config.ini lacks '$l'"
done
"$FT" --config "$TMP/p/config.ini" --out "$TMP/q" --quiet >/dev/null || fail "ppo rerun"
cmp "$TMP/p/policy.fpo" "$TMP/q/policy.fpo" || fail "the ppo rerun's policy differs"
"$FT" --task pendulum --algo ppo --steps 1 --init-std 0 --quiet --out "$TMP/r" 2>"$TMP/err" &&
    fail "--init-std 0 accepted"
grep -q "init_std" "$TMP/err" || fail "message: $(cat "$TMP/err")"

# 3. --resume DIR reads DIR/config.ini: no flags needed but the new total.
"$FT" --config "$TMP/a/config.ini" --steps 800 --checkpoint-every 1 --out "$TMP/d" --quiet \
    >/dev/null || fail "first half"
"$FT" --resume "$TMP/d" --steps 1600 --quiet >/dev/null || fail "resume from config.ini"
cmp "$TMP/a/policy.fpo" "$TMP/d/policy.fpo" || fail "resumed run's policy differs"

# 4. Bad files: unknown key, bad value, a command, a missing file; comments are fine.
printf '; a comment\n[fpo-train]\ntask = pendulum\nlearning-rate = 1\n' >"$TMP/bad1.ini"
"$FT" --config "$TMP/bad1.ini" 2>"$TMP/err" && fail "unknown key accepted"
grep -q "bad1.ini line 4: unknown key 'learning-rate'" "$TMP/err" || fail "message: $(cat "$TMP/err")"
printf 'task = pendulum\nlr = fast\n' >"$TMP/bad2.ini"
"$FT" --config "$TMP/bad2.ini" 2>"$TMP/err" && fail "lr = fast accepted"
grep -q "line 2" "$TMP/err" && grep -q "lr" "$TMP/err" || fail "message: $(cat "$TMP/err")"
printf 'task = pendulum\nresume = x\n' >"$TMP/bad3.ini"
"$FT" --config "$TMP/bad3.ini" 2>"$TMP/err" && fail "resume in a config file accepted"
grep -q "command line" "$TMP/err" || fail "message: $(cat "$TMP/err")"
"$FT" --config "$TMP/none.ini" 2>"$TMP/err" && fail "a missing file accepted"
grep -q "cannot read the config file" "$TMP/err" || fail "message: $(cat "$TMP/err")"
echo "ok: config.ini repeats the run; flags override; bad files are reported"
