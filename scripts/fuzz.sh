#!/usr/bin/env bash
# Fuzzing campaigns: builds every tests/fuzz target with clang (libFuzzer, ASan, UBSan) in
# build/fuzz, runs each for the given seconds over its committed corpus, merges the inputs
# that reached new coverage into tests/fuzz/corpus/<name>/, and fails on any crash, leak,
# timeout or out-of-memory. A finding is left in build/fuzz/findings/<name>/: keep it as
# tests/fuzz/regress/<name>/<what> once fixed (ctest replays that folder too).
#   scripts/fuzz.sh [seconds-per-target] [target...]   (default 20 s, every target)
#   ENLARGER_FUZZ_MERGE=0   leave the committed corpus alone
#   ENLARGER_FUZZ_JOBS=N    build jobs (default: nproc)
#   ENLARGER_FUZZ_BUILD_DIR build tree (default build/fuzz)
#   ENLARGER_FUZZ_TIMEOUT   seconds one input may take before it counts as a hang
#                           (default 30; wall-clock, so raise it for a campaign at nice 19
#                           on a loaded machine)
# A summary table (executions per second, coverage, corpus, result) is printed at the end
# and kept in build/fuzz/summary.md; docs/testing.md records the long campaigns.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

secs=${1:-20}
shift || true
case "$secs" in '' | *[!0-9]*) echo "usage: $0 [seconds-per-target] [target...]" >&2; exit 2 ;; esac

bdir=${ENLARGER_FUZZ_BUILD_DIR:-$root/build/fuzz}
timeout=${ENLARGER_FUZZ_TIMEOUT:-30}
CC=clang cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENLARGER_WERROR=ON \
  -DENLARGER_FUZZ=ON -DENLARGER_SANITIZE=ON >/dev/null
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cd tests/fuzz && ls fuzz_*.c | sed -n 's/^fuzz_\(.*\)\.c$/\1/p' | grep -vx main)
fi
cmake --build "$bdir" -j"${ENLARGER_FUZZ_JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"

# Leaks are findings; libvips' and GLib's one-off start-up allocations are not ours.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# One libvips worker thread: the render target stays deterministic and cheap.
export VIPS_CONCURRENCY=1

summary=$bdir/summary.md
printf '| target | seconds | exec/s | runs | cov | ft | corpus (new) | result |\n' >"$summary"
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n' >>"$summary"
failed=()
for t in "${targets[@]}"; do
  exe=$bdir/tests/fuzz_$t
  corpus=tests/fuzz/corpus/$t
  work=$bdir/campaign/$t
  findings=$bdir/findings/$t
  rm -rf "$work"
  mkdir -p "$work" "$findings" "$corpus"
  dict=()
  [ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
  before=$(find "$corpus" -type f | wc -l)
  echo "== fuzz_$t: ${secs} s"
  # The scratch corpus first: libFuzzer writes what it finds into the first folder.
  set +e
  "$exe" -max_total_time="$secs" -timeout="$timeout" -rss_limit_mb=2560 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" "$work" "$corpus" \
    >"$bdir/campaign/$t.log" 2>&1
  rc=$?
  set -e
  result=ok
  if [ $rc -ne 0 ]; then
    result="FAILED (rc $rc, see $bdir/campaign/$t.log and $findings/)"
    grep -E 'ERROR: |SUMMARY: |check failed' "$bdir/campaign/$t.log" | head -5 || true
    failed+=("$t")
  elif [ "${ENLARGER_FUZZ_MERGE:-1}" != 0 ]; then
    "$exe" -merge=1 -timeout="$timeout" -rss_limit_mb=2560 "$corpus" "$work" >>"$bdir/campaign/$t.log" 2>&1 ||
      { result="FAILED (merge)"; failed+=("$t"); }
  fi
  after=$(find "$corpus" -type f | wc -l)
  log=$bdir/campaign/$t.log
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  last=$(grep -E '^#[0-9]+.*(cov|DONE)' "$log" | grep -v 'MERGE' | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  printf '| fuzz_%s | %s | %s | %s | %s | %s | %s (+%s) | %s |\n' "$t" "$secs" \
    "$(stat average_exec_per_sec)" "$(stat number_of_executed_units)" "${cov:--}" "${ft:--}" \
    "$after" "$((after - before))" "$result" >>"$summary"
  tail -1 "$summary"
done

echo
cat "$summary"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets clean"
