#!/bin/sh
# Runs the end-to-end tests: every test_* function in tests/e2e/t_*.sh, each
# in a subshell with a fresh temp folder. Optional arguments select tests by
# name (prefix match); one that selects nothing is a failure. A test that
# calls skip (lib.sh) exits 77 and is counted as skipped, not passed. Ends
# with "e2e: N passed, N failed, N skipped".
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SLUICE=${SLUICE:-$ROOT/build/sluice}
case "$SLUICE" in /*) ;; *) SLUICE=$ROOT/$SLUICE ;; esac
export SLUICE ROOT
pass=0
fail=0
skipped=0
matched=""
for file in tests/e2e/t_*.sh; do
    for t in $(grep -oE '^test_[a-z0-9_]+' "$file"); do
        if [ $# -gt 0 ]; then
            want=0
            for sel in "$@"; do
                case "$t" in "$sel"* | "test_$sel"*) want=1 ;; esac
            done
            [ $want = 1 ] || continue
            matched="$matched $t"
        fi
        T=$(mktemp -d /tmp/sluice-e2e-XXXXXX)
        (
            set -e
            export T
            cd "$T"
            . "$ROOT/tests/e2e/lib.sh"
            . "$ROOT/$file"
            $t
        ) > "$T.log" 2>&1
        rc=$?
        if [ $rc = 0 ]; then
            echo "ok   $t"
            pass=$((pass + 1))
        elif [ $rc = 77 ] && grep -q '^SKIP: ' "$T.log"; then
            echo "skip $t ($(sed -n 's/^SKIP: //p' "$T.log" | head -n 1))"
            skipped=$((skipped + 1))
        else
            echo "FAIL $t ($file)"
            sed 's/^/  /' "$T.log"
            fail=$((fail + 1))
        fi
        rm -rf "$T" "$T.log"
    done
done
for sel in "$@"; do
    case "$matched " in *" $sel"* | *" test_$sel"*) ;; *)
        echo "FAIL no test matches '$sel'"
        fail=$((fail + 1))
        ;;
    esac
done
if [ $((pass + fail + skipped)) = 0 ]; then
    echo "FAIL no test ran"
    fail=1
fi
echo "e2e: $pass passed, $fail failed, $skipped skipped"
[ $fail = 0 ]
