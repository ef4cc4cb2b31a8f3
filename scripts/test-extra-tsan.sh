#!/usr/bin/env bash
# ThreadSanitizer pass (issue 15). scripts/test.sh runs this after ctest; it also runs alone.
# Builds build/tsan with clang -fsanitize=thread (-DENLARGER_TSAN=ON) and runs the tests
# labelled concurrency (tests/CMakeLists.txt): the job gate, single-flight, the server alone
# and with every route under concurrent requests (with and without image work), metrics,
# the AWS client's shared connection pool, the credentials refresh while requests sign, and
# ORC's guard. Any report fails the run; tests/tsan.supp holds only libraries' internals.
#   ENLARGER_TEST_QUICK=1   skip (as for the other sanitizer passes)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -n "${ENLARGER_TEST_QUICK:-}" ]; then
  echo "tsan: skipped (ENLARGER_TEST_QUICK)"
  exit 0
fi

bdir=$root/build/tsan
CC=clang cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENLARGER_WERROR=ON \
  -DENLARGER_TSAN=ON >/dev/null
# Only the executables the concurrency tests run (tests/CMakeLists.txt): ctest cannot
# name a test's executable before it is built.
cmake --build "$bdir" -j"$(nproc)" --target concurrency_tests

# halt_on_error: the first report fails its test; second_deadlock_stack: both stacks of a
# lock-order inversion.
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp" \
  ctest --test-dir "$bdir" -L concurrency --output-on-failure -j"$(nproc)"
