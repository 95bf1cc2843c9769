#!/bin/sh
# Runs the end-to-end tests: every test_* function in tests/e2e/t_*.sh, each
# in a subshell with a fresh temp folder. Optional arguments select tests by
# name (prefix match). Ends with "e2e: N passed, N failed".
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SLUICE=${SLUICE:-$ROOT/build/sluice}
case "$SLUICE" in /*) ;; *) SLUICE=$ROOT/$SLUICE ;; esac
export SLUICE ROOT
pass=0
fail=0
for file in tests/e2e/t_*.sh; do
    for t in $(grep -oE '^test_[a-z0-9_]+' "$file"); do
        if [ $# -gt 0 ]; then
            want=0
            for sel in "$@"; do
                case "$t" in "$sel"* | "test_$sel"*) want=1 ;; esac
            done
            [ $want = 1 ] || continue
        fi
        T=$(mktemp -d /tmp/sluice-e2e-XXXXXX)
        if (
            set -e
            export T
            cd "$T"
            . "$ROOT/tests/e2e/lib.sh"
            . "$ROOT/$file"
            $t
        ) > "$T.log" 2>&1; then
            echo "ok   $t"
            pass=$((pass + 1))
        else
            echo "FAIL $t ($file)"
            sed 's/^/  /' "$T.log"
            fail=$((fail + 1))
        fi
        rm -rf "$T" "$T.log"
    done
done
echo "e2e: $pass passed, $fail failed"
[ $fail = 0 ]
