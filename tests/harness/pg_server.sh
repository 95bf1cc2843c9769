#!/bin/sh
# A throwaway PostgreSQL server for tests, bound to 127.0.0.1 on a free port.
#
# usage: sh tests/harness/pg_server.sh [DIR]
#
# Creates a cluster in DIR (default: a new temp folder), starts postgres as
# a child, creates the database "sluice" owned by user "sluice" (trust auth,
# loopback only), then prints one line
#   READY postgresql://sluice@127.0.0.1:PORT/sluice
# and waits for its stdin to close (the test ended, or died): then it stops
# the server (fast shutdown), waits for it and removes the folder.
#
# initdb refuses root, so as root the cluster belongs to the `postgres`
# user (runuser). Binaries come from /usr/lib/postgresql/*/bin or PATH.
set -u

die() {
    echo "pg_server: $*" >&2
    exit 1
}

BIN=""
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && BIN=$d
done
if [ -z "$BIN" ]; then
    command -v postgres > /dev/null 2>&1 || die "postgres not found (make deps installs it)"
    BIN=$(dirname "$(command -v postgres)")
fi

D=${1:-}
if [ -z "$D" ]; then
    D=$(mktemp -d /tmp/sluice-pg-XXXXXX) || die "cannot make a temp folder"
fi
mkdir -p "$D" || die "cannot create $D"

AS=""
if [ "$(id -u)" = 0 ]; then
    id postgres > /dev/null 2>&1 || die "running as root needs the 'postgres' user (apt package postgresql)"
    chown postgres "$D" || die "cannot chown $D"
    AS="runuser -u postgres --"
fi

# A free port: ask the kernel for one, then give it to postgres (a tiny race
# with other processes, retried below).
free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});' 2> /dev/null ||
        echo $((20000 + $$ % 20000))
}

$AS "$BIN/initdb" -D "$D/data" -U sluice --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync \
    > "$D/initdb.log" 2>&1 || die "initdb failed: $(tail -n 5 "$D/initdb.log")"

PID=""
# Stops the server: SIGINT to the postmaster itself (runuser, our child when
# root, does not pass signals on), then waits for it and its wrapper.
stop_server() {
    [ -n "$PID" ] || return 0
    pm=$(head -n 1 "$D/data/postmaster.pid" 2> /dev/null)
    kill -INT "${pm:-$PID}" 2> /dev/null
    i=0
    while [ -n "$pm" ] && kill -0 "$pm" 2> /dev/null && [ $i -lt 200 ]; do
        i=$((i + 1))
        sleep 0.05
    done
    [ -n "$pm" ] && kill -KILL "$pm" 2> /dev/null
    kill -INT "$PID" 2> /dev/null
    wait "$PID" 2> /dev/null
    PID=""
}
cleanup() {
    stop_server
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

tries=0
while :; do
    PORT=$(free_port)
    $AS "$BIN/postgres" -D "$D/data" -c listen_addresses=127.0.0.1 -p "$PORT" -k "$D" \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        -c max_connections=100 -c shared_buffers=64MB < /dev/null > "$D/server.log" 2>&1 &
    PID=$!
    i=0
    up=0
    while [ $i -lt 200 ]; do
        if ! kill -0 "$PID" 2> /dev/null; then
            break
        fi
        if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U sluice 2> /dev/null; then
            up=1
            break
        fi
        i=$((i + 1))
        sleep 0.05
    done
    [ $up = 1 ] && break
    stop_server
    tries=$((tries + 1))
    [ $tries -lt 3 ] || die "postgres did not start: $(tail -n 5 "$D/server.log")"
done

"$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U sluice -d postgres -c "CREATE DATABASE sluice" \
    > /dev/null 2>> "$D/server.log" || die "cannot create the database: $(tail -n 3 "$D/server.log")"

echo "READY postgresql://sluice@127.0.0.1:$PORT/sluice"
# Until the test closes our stdin.
cat > /dev/null
