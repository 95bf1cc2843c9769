# The test runners themselves: they cannot pass having checked nothing.

test_runner_unit_fork_failure_is_a_failure() {
    [ -x "$ROOT/build/unit-tests" ] || skip "build/unit-tests is not built (make unit)"
    cat > nofork.c <<'C'
#include <errno.h>
#include <sys/types.h>
pid_t fork(void)
{
    errno = EAGAIN;
    return -1;
}
C
    cc -shared -fPIC -o nofork.so nofork.c || fail "cannot build the fork shim"
    RC=0
    LD_PRELOAD="$T/nofork.so" "$ROOT/build/unit-tests" pq_rle_exact_runs > out.txt 2> err.txt || RC=$?
    assert_rc 1
    assert_contains out.txt "FAIL pq_rle_exact_runs"
    assert_contains out.txt "unit: 0 passed, 1 failed, 0 skipped"
    assert_contains err.txt "fork: Resource temporarily unavailable"
}

test_runner_selection_of_nothing_is_a_failure() {
    [ -x "$ROOT/build/unit-tests" ] || skip "build/unit-tests is not built (make unit)"
    RC=0
    "$ROOT/build/unit-tests" no_such_test > out.txt 2>&1 || RC=$?
    assert_rc 1
    assert_contains out.txt "FAIL no test matches 'no_such_test'"
    RC=0
    sh "$ROOT/tests/e2e/run.sh" no_such_test > out.txt 2>&1 || RC=$?
    assert_rc 1
    assert_contains out.txt "FAIL no test matches 'no_such_test'"
    assert_contains out.txt "e2e: 0 passed, 1 failed, 0 skipped"
}
