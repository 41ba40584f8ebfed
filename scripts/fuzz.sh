#!/usr/bin/env bash
# A fuzzing campaign over every harness in fuzz/ (libFuzzer, ASan + UBSan), then one table:
# harness, executions, executions/s, coverage (edges), features, corpus size, findings.
#
#   scripts/fuzz.sh [HARNESS...]            (`make fuzz`: all harnesses)
#   FUZZ_SECONDS=600 scripts/fuzz.sh        seconds per harness (default 60)
#   FUZZ_SECONDS_http=1800                  one harness's own (the slow ones need more)
#   FUZZ_JOBS=2                             harnesses fuzzed at once (default: the cores)
#   FUZZ_BUILD_DIR=build-fuzz               the clang build (configured with preset "fuzz")
#   FUZZ_SEED=1 FUZZ_RUNS=20000             libFuzzer's -seed and -runs: CI's short run makes
#                                           the same inputs on every machine (not flaky)
#
# The corpus grows in $FUZZ_BUILD_DIR/corpus/<harness> from run to run, seeded by
# fuzz/make_seeds.py and the checked-in inputs of tests/fuzz/<harness>. A finding (crash,
# sanitizer report, leak, timeout over 10 s, out of memory over 4 GB) is kept under
# $FUZZ_BUILD_DIR/findings/<harness>/ and makes the script exit 1; minimise it with
#   $FUZZ_BUILD_DIR/mura_fuzz_<harness> -minimize_crash=1 -runs=10000 FILE
# and check it in under tests/fuzz/<harness>/ as regression-<what>.bin (CTest replays it).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${FUZZ_SECONDS:-60}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${FUZZ_JOBS:-$(nproc)}
PY=${MURA_PYTHON:-/usr/bin/python3}
ALL=$(sed -n 's/^set(MURA_FUZZ_HARNESSES \(.*\))$/\1/p' fuzz/harnesses.cmake)
HARNESSES=${*:-$ALL}

# Without the precompiled header: this build is also the check that every library source
# compiles without it (`make check-no-pch` then needs only the CLI's sources: .ci/run).
if [ ! -f "$BUILD/build.ninja" ]; then
  mkdir -p "$BUILD"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DMURA_FUZZ=ON \
    -DMURA_USE_PCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$BUILD/configure.log" 2>&1 ||
    { cat "$BUILD/configure.log"; exit 1; }
fi
cmake --build "$BUILD" --target fuzzers -j "$(nproc)"

seeds="$BUILD/seeds"
rm -rf "$seeds"
"$PY" fuzz/make_seeds.py "$seeds" > /dev/null
mkdir -p "$seeds/checkpoint"
MURA_FUZZ_WRITE_SEED="$seeds/checkpoint/seed-small.ckpt" "$BUILD/mura_fuzz_checkpoint"

dict_for() {
  case "$1" in
    dicom) echo fuzz/dict/dicom.dict ;;
    pth | checkpoint) echo fuzz/dict/pickle.dict ;;
    http | kserve) echo fuzz/dict/http.dict ;;
    csv | csv_line | report_inputs) echo fuzz/dict/json_csv.dict ;;
    *) echo "" ;;
  esac
}

# The short run keeps its findings apart, emptied each time (a campaign's stay until handled).
FINDINGS="$BUILD/findings"
[ -n "${FUZZ_RUNS:-}" ] && FINDINGS="$BUILD/smoke-findings" && rm -rf "$FINDINGS"

run_one() {
  local h=$1 corpus="$BUILD/corpus/$1" findings="$FINDINGS/$1" log="$BUILD/logs/$1.log"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  local dict
  dict=$(dict_for "$h")
  local var="FUZZ_SECONDS_$h" secs
  secs=${!var:-$SECONDS_PER}
  local args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1
    -artifact_prefix="$findings/" -close_fd_mask=1)
  [ -n "$dict" ] && args+=(-dict="$dict")
  [ -n "${FUZZ_SEED:-}" ] && args+=(-seed="$FUZZ_SEED")
  [ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
  # larger inputs only make GDCM, OpenCV and the model slower, not deeper (DICOM: 4 KB
  # holds every header and small images of every transfer syntax)
  case "$h" in dicom) args+=(-max_len=4096) ;; http | image) args+=(-max_len=65536) ;; esac
  local inputs=("$corpus" "$seeds/$h")
  if [ -n "${FUZZ_RUNS:-}" ]; then
    # the short run starts from the checked-in inputs only, in an empty corpus: the same
    # inputs on every machine and every run
    corpus="$BUILD/smoke-corpus/$h"
    rm -rf "$corpus" && mkdir -p "$corpus"
    inputs=("$corpus")
  fi
  [ -d "tests/fuzz/$h" ] && inputs+=("tests/fuzz/$h")
  local supp=fuzz/lsan.supp
  [ -f "fuzz/lsan_$h.supp" ] && supp="fuzz/lsan_$h.supp"
  LSAN_OPTIONS=suppressions="$PWD/$supp":print_suppressions=0 \
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$BUILD/mura_fuzz_$h" "${args[@]}" "${inputs[@]}" > "$log" 2>&1 || true
}
export -f run_one dict_for
export BUILD FINDINGS SECONDS_PER seeds FUZZ_SEED FUZZ_RUNS ${!FUZZ_SECONDS_*}

echo "fuzz: $(echo $HARNESSES | wc -w) harnesses x ${FUZZ_RUNS:+$FUZZ_RUNS runs, at most }${SECONDS_PER} s, ${JOBS} at a time"
printf '%s\n' $HARNESSES | xargs -P "$JOBS" -I{} bash -c 'run_one {}'

status=0
total=0
printf '%-14s %12s %9s %7s %8s %7s %9s\n' harness execs "exec/s" cov features corpus findings
for h in $HARNESSES; do
  log="$BUILD/logs/$h.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  line=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(echo "$line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$line" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  found=$(find "$FINDINGS/$h" -type f | wc -l)
  rate=$([ -n "$execs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ] && echo $((execs / secs)) || echo "-")
  printf '%-14s %12s %9s %7s %8s %7s %9s\n' "$h" "${execs:-?}" "$rate" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$found"
  if [ -z "$execs" ] || [ "$found" -gt 0 ]; then
    status=1
    echo "fuzz: $h: $( [ -z "$execs" ] && echo "did not finish its run" || echo "$found finding(s) in $FINDINGS/$h")"
    grep -E "ERROR: |FINDING|runtime error|==ERROR|SUMMARY" "$log" | head -5 | sed 's/^/    /'
  fi
  total=$((total + ${execs:-0}))
done
echo "fuzz: $total executions in all; logs in $BUILD/logs/"
exit $status
