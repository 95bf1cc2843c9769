# Helpers for end-to-end tests: each test runs in its own temp folder
# ($T) with its own state store, runs the real binary and checks outputs
# value by value.

# sl ARGS...: runs sluice; stdout in $T/out.txt, stderr in $T/err.txt,
# exit code in $RC. Never fails by itself.
sl() {
    RC=0
    "$SLUICE" "$@" > "$T/out.txt" 2> "$T/err.txt" || RC=$?
}

fail() {
    echo "    $*" >&2
    echo "    --- stderr of the last sluice call:" >&2
    tail -n 15 "$T/err.txt" 2>/dev/null | sed 's/^/    | /' >&2
    exit 1
}

# skip REASON: ends the test as skipped (run.sh reports it, never as a
# pass); for a test that cannot measure anything in this environment.
skip() {
    echo "SKIP: $*"
    exit 77
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

# serve_start NAME FD TRIES CMD...: runs a test server CMD in the
# background, its stdin a FIFO held open on fd FD (so it ends with the
# test's shell, or at serve_stop), and waits up to TRIES tenths of a second
# for its "READY <value>" line; sets READY to <value> and NAME_PID. Output
# goes to $T/NAME.out and $T/NAME.err.
serve_start() {
    _name=$1
    _fd=$2
    _tries=$3
    shift 3
    # the old output goes first: a restarted server's READY line must not
    # be read from the previous server's output before the new one
    # truncates it
    rm -f "$T/$_name.in" "$T/$_name.out"
    mkfifo "$T/$_name.in"
    "$@" < "$T/$_name.in" > "$T/$_name.out" 2> "$T/$_name.err" &
    eval "${_name}_PID=\$!"
    eval "exec $_fd> \"\$T/$_name.in\""
    _i=0
    until grep -q '^READY ' "$T/$_name.out" 2>/dev/null; do
        _i=$((_i + 1))
        [ $_i -lt "$_tries" ] || fail "$_name did not start: $(cat "$T/$_name.err")"
        sleep 0.1
    done
    READY=$(awk '/^READY /{print $2}' "$T/$_name.out")
}

# serve_stop NAME FD: closes the server's stdin and waits for it.
serve_stop() {
    eval "exec $2>&-"
    eval "kill \"\$${1}_PID\"" 2> /dev/null || true
    eval "wait \"\$${1}_PID\"" 2> /dev/null || true
}

# Starts a PostgreSQL server for this test (tests/harness/pg_server.sh) and
# sets PG_URL to its database "sluice" (fd 8; stops with the test's shell,
# and its folder goes).
pg_start() {
    serve_start pg 8 600 sh "$ROOT/tests/harness/pg_server.sh"
    PG_URL=$READY
}

# psql_q SQL: runs SQL on PG_URL, prints unaligned tuples (| separated).
psql_q() {
    psql -X -q -At -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"
}
