#!/bin/sh
# The one test command (make test): unit tests, end-to-end tests, the unit
# and end-to-end tests again under AddressSanitizer + UBSan, the concurrent
# code's unit tests under ThreadSanitizer, and the fuzz corpora replayed.
# Ends with one line "N passed, N failed, N skipped" summing every suite; a
# suite that exits non-zero or prints no summary counts as a failure.
set -u
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
total_pass=0
total_fail=0
total_skip=0
failed_suites=""

# Reads "...: N passed, M failed[, K skipped]" from a suite's last summary
# line.
count() {
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
    p=$(echo " $line" | sed -E 's/.*[^0-9]([0-9]+) passed.*/\1/')
    f=$(echo " $line" | sed -E 's/.*[^0-9]([0-9]+) failed.*/\1/')
    k=0
    case "$line" in *skipped*) k=$(echo " $line" | sed -E 's/.*[^0-9]([0-9]+) skipped.*/\1/') ;; esac
    if [ -z "$line" ]; then p=0; f=1; k=0; fi
    if [ "$3" != 0 ] && [ "$f" = 0 ]; then f=1; fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    total_skip=$((total_skip + k))
    if [ "$f" != 0 ]; then failed_suites="$failed_suites $1"; fi
}

run_suite() {
    name=$1
    shift
    log=build/test-$name.log
    echo "== $name"
    "$@" > "$log" 2>&1
    rc=$?
    grep -E '^(FAIL|skip)|passed, [0-9]+ failed' "$log" | tail -n 40
    if [ $rc != 0 ]; then
        echo "   ($name exited $rc; full log: $log)"
        tail -n 30 "$log" | sed 's/^/   | /'
    fi
    count "$name" "$log" $rc
}

mkdir -p build
if ! make -j"$JOBS" all build/unit-tests > build/test-build.log 2>&1; then
    cat build/test-build.log | tail -n 60
    echo "build: 0 passed, 1 failed, 0 skipped"
    exit 1
fi
run_suite unit build/unit-tests
run_suite e2e sh tests/e2e/run.sh
if make -j"$JOBS" SANITIZE=address,undefined build/san/unit-tests build/san/sluice \
        > build/test-san-build.log 2>&1; then
    # any report is a failure (the build also has -fno-sanitize-recover)
    san="ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"
    run_suite unit-asan env $san build/san/unit-tests
    run_suite e2e-asan env SLUICE=build/san/sluice $san sh tests/e2e/run.sh
else
    tail -n 40 build/test-san-build.log
    total_fail=$((total_fail + 1))
    failed_suites="$failed_suites sanitizer-build"
fi
# Concurrent code under ThreadSanitizer: the engine (two-stage flows,
# cancel tokens, log scopes, the retry module) and the state store's
# transactions across threads.
if make -j"$JOBS" SANITIZE=thread BUILD=build/tsan build/tsan/unit-tests \
        > build/test-tsan-build.log 2>&1; then
    run_suite unit-tsan env TSAN_OPTIONS=halt_on_error=1 build/tsan/unit-tests \
        'engine_*' 'cancel*' 'log_*' 'retry*' 'state_*'
else
    tail -n 40 build/test-tsan-build.log
    total_fail=$((total_fail + 1))
    failed_suites="$failed_suites tsan-build"
fi
if make -j"$JOBS" fuzz-build > build/test-fuzz-build.log 2>&1; then
    run_suite fuzz-replay sh tests/fuzz/replay.sh build/fuzz/fuzz_*
else
    tail -n 40 build/test-fuzz-build.log
    total_fail=$((total_fail + 1))
    failed_suites="$failed_suites fuzz-build"
fi
if [ -n "$failed_suites" ]; then
    echo "failed suites:$failed_suites"
fi
echo "all: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" = 0 ]
