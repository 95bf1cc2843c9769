# The PostgreSQL state store (--state postgres://...): run history, ingested
# files, exactly-once after SIGKILL, state reset and the run lock, with a
# real server (pg_start).

pg_pipeline() { # glob
    pipeline <<YAML
name: pgst
steps:
  - name: load
    source: {type: file, url: "$1", format: jsonl}
    sink: {type: sql, url: "sqlite:///out.db", table: t, mode: append}
    batch_size: 5000
YAML
}

make_jsonl() { # files lines_per_file
    mkdir -p in
    i=0
    while [ $i -lt "$1" ]; do
        awk -v f=$i -v n="$2" 'BEGIN { for (k = 0; k < n; k++) {
            printf "{\"id\":%d,\"name\":\"n%d\"}\n", f * n + k, k } }' > "in/part-$i.jsonl"
        i=$((i + 1))
    done
}

test_pg_state_second_run_skips_ingested_files() {
    pg_start
    make_jsonl 1 3
    pg_pipeline "in/*.jsonl"
    sl run p.yaml --state "$PG_URL"
    assert_rc 0
    assert_eq 3 "$(q out.db 'SELECT count(*) FROM t')"
    sl run p.yaml --state "$PG_URL"
    assert_rc 0
    assert_eq 3 "$(q out.db 'SELECT count(*) FROM t')" "rows after the second run"
    assert_eq "$T/in/part-0.jsonl|3" \
        "$(psql_q "SELECT path, records FROM sluice_ingested_files WHERE pipeline = 'pgst'")"
    # both runs in the history, newest first: the second read nothing new
    assert_eq "ok|0
ok|3" "$(psql_q "SELECT r.status, s.records_in FROM sluice_runs r
        JOIN sluice_step_runs s ON s.run_id = r.id ORDER BY r.started_at DESC")"
    sl runs --state "$PG_URL"
    assert_rc 0
    assert_eq 2 "$(grep -c ' pgst ' out.txt)" "runs listed"
    first=$(psql_q "SELECT id FROM sluice_runs ORDER BY started_at LIMIT 1")
    sl runs show "$(echo "$first" | cut -c1-8)" --state "$PG_URL"
    assert_rc 0
    assert_contains out.txt "run:      $first"
    assert_contains out.txt "status:   ok"
    # the same state URL spelled postgres:// works too
    sl runs --state "postgres://${PG_URL#postgresql://}"
    assert_rc 0
    assert_eq 2 "$(grep -c ' pgst ' out.txt)"
}

test_pg_state_sigkill_then_rerun_is_exactly_once() {
    pg_start
    make_jsonl 6 60000
    pg_pipeline "in/*.jsonl"
    for delay in 0.05 0.2 0.35 0.1 0.5 0.8 0.25; do
        "$SLUICE" run p.yaml --no-progress --state "$PG_URL" > /dev/null 2>> kills.log &
        pid=$!
        sleep $delay
        kill -9 $pid 2> /dev/null || true
        wait $pid 2> /dev/null || true
    done
    sl run p.yaml --state "$PG_URL"
    assert_rc 0
    assert_eq "360000|360000|0|359999" \
        "$(q out.db 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM t')"
    # the killed runs are not left "running": the server dropped their locks
    assert_eq 0 "$(psql_q "SELECT count(*) FROM sluice_runs WHERE status = 'running'")"
    [ "$(psql_q "SELECT count(*) FROM sluice_runs WHERE status = 'interrupted'")" -ge 1 ] ||
        fail "no run marked interrupted: $(psql_q 'SELECT status FROM sluice_runs')"
    assert_eq 6 "$(psql_q "SELECT count(*) FROM sluice_ingested_files")"
    # no killed run ever saw the lock of a dead one still held
    assert_not_contains kills.log "already running"
}

test_pg_state_reset() {
    pg_start
    make_jsonl 2 2
    pg_pipeline "in/*.jsonl"
    sl run p.yaml --state "$PG_URL"
    assert_rc 0
    assert_eq 2 "$(psql_q "SELECT count(*) FROM sluice_ingested_files")"
    # one step: its files are forgotten and read again, the generation stays
    sl state reset pgst load --state "$PG_URL"
    assert_rc 0
    assert_eq 0 "$(psql_q "SELECT count(*) FROM sluice_ingested_files")"
    assert_eq "" "$(psql_q "SELECT generation FROM sluice_pipelines WHERE pipeline = 'pgst'")"
    sl run p.yaml --state "$PG_URL"
    assert_rc 0
    assert_eq "8|4" "$(q out.db 'SELECT count(*), count(DISTINCT id) FROM t')"
    # the whole pipeline: checkpoints and files go, the generation is bumped
    sl state reset pgst --state "$PG_URL"
    assert_rc 0
    assert_eq "0|0|2" "$(psql_q "SELECT (SELECT count(*) FROM sluice_checkpoints),
        (SELECT count(*) FROM sluice_ingested_files),
        (SELECT generation FROM sluice_pipelines WHERE pipeline = 'pgst')")"
    sl state get pgst --state "$PG_URL"
    sl run p.yaml --state "$PG_URL"
    assert_rc 0
    assert_eq "12|4" "$(q out.db 'SELECT count(*), count(DISTINCT id) FROM t')"
    assert_eq "step:load|2" "$(psql_q "SELECT key, gen FROM sluice_checkpoints")"
}

test_pg_state_run_lock_held_elsewhere() {
    pg_start
    make_jsonl 1 3
    pg_pipeline "in/*.jsonl"
    # another session holds the pipeline's lock (its key: the first 64 bits
    # of the MD5 of the pipeline name)
    key="('x' || left(md5('pgst'), 16))::bit(64)::bigint"
    psql -X -q "$PG_URL" -c "SELECT pg_advisory_lock($key); SELECT pg_sleep(30)" \
        > /dev/null 2>&1 &
    holder=$!
    i=0
    held="SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    until [ "$(psql_q "$held")" = 1 ]; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "the lock holder did not start"
        sleep 0.1
    done
    sl run p.yaml --state "$PG_URL"
    assert_rc 1
    assert_contains err.txt "pipeline 'pgst' is already running with the state store $PG_URL"
    kill $holder 2> /dev/null || true
    wait $holder 2> /dev/null || true
    psql_q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%'
        AND pid <> pg_backend_pid()" > /dev/null
    i=0
    until [ "$(psql_q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ]; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "the lock was not released"
        sleep 0.1
    done
    sl run p.yaml --state "$PG_URL"
    assert_rc 0
    assert_eq 3 "$(q out.db 'SELECT count(*) FROM t')"
}

test_pg_state_unreachable_server() {
    make_jsonl 1 3
    pg_pipeline "in/*.jsonl"
    sl run p.yaml --state "postgresql://etl:hunter2@127.0.0.1:1/state"
    assert_rc 1
    assert_contains err.txt "state store postgresql://etl@127.0.0.1:1/state: connection to server"
    assert_not_contains err.txt hunter2
}
