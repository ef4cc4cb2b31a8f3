#!/usr/bin/env bash
# The brief fuzzing pass CI runs (issue 15): scripts/fuzz.sh with a short time per target
# (clang, libFuzzer, ASan, UBSan), failing on any crash, leak or timeout. Unlike a campaign
# it leaves the committed corpus alone unless ENLARGER_FUZZ_MERGE=1.
#   ENLARGER_FUZZ_SECONDS   seconds per target (default 20)
#   ENLARGER_TEST_QUICK=1   skip (as for the other sanitizer passes)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -n "${ENLARGER_TEST_QUICK:-}" ]; then
  echo "fuzz: skipped (ENLARGER_TEST_QUICK)"
  exit 0
fi
ENLARGER_FUZZ_MERGE=${ENLARGER_FUZZ_MERGE:-0} exec scripts/fuzz.sh "${ENLARGER_FUZZ_SECONDS:-20}"
