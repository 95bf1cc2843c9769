# Helpers for end-to-end tests: each test runs in its own temp folder
# ($T) with its own state store, runs the real binary and checks outputs
# value by value.

# sl ARGS...: runs sluice; stdout in $T/out.txt, stderr in $T/err.txt,
# exit code in $RC. Never fails by itself.
sl() {
    "$SLUICE" "$@" > "$T/out.txt" 2> "$T/err.txt"
    RC=$?
    return 0
}

fail() {
    echo "    $*" >&2
    echo "    --- stderr of the last sluice call:" >&2
    tail -n 15 "$T/err.txt" 2>/dev/null | sed 's/^/    | /' >&2
    exit 1
}

assert_eq() { # expected actual [what]
    [ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

assert_rc() {
    [ "$RC" = "$1" ] || fail "exit code: expected $1, got $RC"
}

assert_contains() { # file text
    grep -qF -- "$2" "$1" || fail "$1 does not contain '$2': $(head -c 600 "$1")"
}

assert_not_contains() {
    if grep -qF -- "$2" "$1"; then fail "$1 contains '$2'"; fi
}

# q DB SQL: one query result from SQLite (| separated).
q() {
    sqlite3 "$1" "$2"
}

# Writes a pipeline file $T/p.yaml from stdin.
pipeline() {
    cat > "$T/${1:-p.yaml}"
}
