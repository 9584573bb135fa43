#!/usr/bin/env bash
# Soak test of issue 8: a long FPO training run (checkpoint save/restore every
# few iterations, 2 threads) must keep flat memory and run error-free,
#   1. in the release build, for many iterations (RSS printed);
#   2. in an AddressSanitizer + UBSan build (leaks and memory errors);
#   3. under valgrind memcheck (few iterations: BLIS runs ~100x slower there).
# Usage: bash bench/soak.sh [BUILD_DIR] [ASAN_BUILD_DIR]
set -euo pipefail
build=${1:-build}
asan=${2:-build-asan}
echo "== release build, 20000 iterations"
"$build/bench/soak" 20000 2000
echo "== ASan + UBSan build, 2000 iterations (small quarantine, so RSS means something)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=1:thread_local_quarantine_size_kb=64 \
    UBSAN_OPTIONS=halt_on_error=1 \
    "$asan/bench/soak" 2000 500
echo "== valgrind memcheck, 20 iterations (BLIS under valgrind is very slow)"
valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --quiet "$build/bench/soak" 20 10 nogrowth-check
