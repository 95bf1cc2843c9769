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

# Starts a PostgreSQL server for this test (tests/harness/pg_server.sh) and
# sets PG_URL to its database "sluice". Its stdin is a FIFO held open on fd
# 8: when the test's shell ends, the server stops and its folder goes.
pg_start() {
    mkfifo "$T/pg.in"
    sh "$ROOT/tests/harness/pg_server.sh" < "$T/pg.in" > "$T/pg.out" 2> "$T/pg.err" &
    PG_PID=$!
    exec 8> "$T/pg.in"
    i=0
    until grep -q '^READY ' "$T/pg.out" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 600 ] || fail "postgres did not start: $(cat "$T/pg.err")"
        sleep 0.1
    done
    PG_URL=$(awk '/^READY /{print $2}' "$T/pg.out")
}

# psql_q SQL: runs SQL on PG_URL, prints unaligned tuples (| separated).
psql_q() {
    psql -X -q -At -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"
}
