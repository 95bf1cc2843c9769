#!/bin/sh
# Replays every fuzz target's seed corpus once (no new inputs): each file
# must run without a sanitizer report. Prints "fuzz: N passed, N failed,
# 0 skipped".
# A sanitizer report is a failure, as a crash is.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}
pass=0
fail=0
mkdir -p build/fuzz/logs
for bin in "$@"; do
    case "$bin" in *.*) continue ;; esac # only the target binaries
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    name=$(basename "$bin")
    corpus=tests/fuzz/corpus/${name#fuzz_}
    if [ ! -d "$corpus" ]; then
        echo "FAIL $name: no corpus at $corpus"
        fail=$((fail + 1))
        continue
    fi
    if "$bin" -runs=0 "$corpus" > "build/fuzz/logs/$name.replay.log" 2>&1; then
        echo "ok   $name ($(ls "$corpus" | wc -l) inputs)"
        pass=$((pass + 1))
    else
        echo "FAIL $name"
        tail -n 20 "build/fuzz/logs/$name.replay.log"
        fail=$((fail + 1))
    fi
done
if [ $((pass + fail)) = 0 ]; then
    echo "FAIL no fuzz target given"
    fail=1
fi
echo "fuzz: $pass passed, $fail failed, 0 skipped"
[ "$fail" = 0 ]
