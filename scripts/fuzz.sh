#!/usr/bin/env bash
# Builds the fuzz preset (clang, libFuzzer with AddressSanitizer and UBSan) and runs every target
# for SECONDS each (default 600): first over its seed corpus in fuzz/corpus, which keeps every
# input that ever found a bug (the regression tests), then mutating it. Prints executions, corpus
# size and crashes per target; exits non-zero when a target crashes, with the input kept under
# build/fuzz/run/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz: clang++-14 is missing; scripts/install-deps.sh installs it" >&2
  exit 1
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

work=build/fuzz/run
status=0
printf '%-8s %12s %8s %8s  %s\n' target executions corpus crashes result
for target in frame json decode http token; do
  corpus=$work/corpus/$target
  crashes=$work/crashes/$target
  log=$work/$target.log
  mkdir -p "$corpus" "$crashes"
  result=ok
  # New inputs go to the first folder (the run's); the seeds are only read.
  if ! "./build/fuzz/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
      -dict=fuzz/protocol.dict -artifact_prefix="$crashes/" "$corpus" "fuzz/corpus/$target" >"$log" 2>&1; then
    result=CRASH
    status=1
  fi
  executions=$(grep -oP 'stat::number_of_executed_units:\s*\K[0-9]+' "$log" || echo 0)
  printf '%-8s %12s %8s %8s  %s\n' "$target" "$executions" "$(find "$corpus" "fuzz/corpus/$target" -type f | wc -l)" \
    "$(find "$crashes" -type f | wc -l)" "$result"
  if [[ $result != ok ]]; then
    tail -n 60 "$log"
  fi
done
exit $status
