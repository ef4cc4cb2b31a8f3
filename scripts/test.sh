#!/usr/bin/env bash
# Sets up and runs every test: the README's test command, and what CI runs.
#   scripts/test.sh            install deps, format check, build (-Werror), ctest, the
#                              scripts/test-extra-*.sh passes (deployment checks, a brief
#                              fuzzing pass, ThreadSanitizer), then the whole suite again
#                              under ASan + UBSan, without the tests
#                              labelled slow (docs/testing.md)
#   ENLARGER_TEST_QUICK=1      skip the sanitizer passes (local iteration)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/install-deps.sh dev

echo "== format (.clang-format)"
scripts/check-format.sh

jobs=$(nproc)
echo "== build (-Wall -Wextra -Werror)"
cmake -S . -B build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENLARGER_WERROR=ON >/dev/null
cmake --build build/ci -j"$jobs"
echo "== tests"
ctest --test-dir build/ci --output-on-failure -j"$jobs"

for extra in scripts/test-extra-*.sh; do
  [ -x "$extra" ] || continue
  echo "== $extra"
  "$extra"
done

if [ -z "${ENLARGER_TEST_QUICK:-}" ]; then
  echo "== build (ASan + UBSan)"
  cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DENLARGER_WERROR=ON -DENLARGER_SANITIZE=ON >/dev/null
  cmake --build build/asan -j"$jobs"
  echo "== tests (ASan + UBSan)"
  # libvips' own one-off allocations (type system, thread pools) are not ours to leak-check.
  # Tests labelled slow (the soak, the bulk upload: minutes of real traffic, timed) run in
  # the pass above only; under the sanitizers they would take CI past its time.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan --output-on-failure -j"$jobs" -LE slow
fi
