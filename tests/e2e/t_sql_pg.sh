# The sql sink on PostgreSQL: JSONL into a server started for the test,
# checked with psql; SIGKILL mid-run then rerun lands every record once.

pg_input() { # files lines_per_file
    mkdir -p in
    i=0
    while [ $i -lt "$1" ]; do
        awk -v f=$i -v n="$2" 'BEGIN { for (k = 0; k < n; k++) {
            id = f * n + k
            printf "{\"id\":%d,\"name\":\"n%d \\\"q\\\"\\t\\\\x\",\"v\":%d.5,\"ok\":%s}\n", id, id, k % 1000, k % 2 ? "true" : "false" } }' \
            > "in/part-$i.jsonl"
        i=$((i + 1))
    done
}

pg_pipeline() { # mode
    pipeline <<YAML
name: pgload
connections:
  wh: {url: "$PG_URL"}
steps:
  - name: load
    source: {type: file, url: "in/*.jsonl", format: jsonl}
    sink: {type: sql, connection: wh, table: shop.orders, mode: $1, key: [id]}
    batch_size: 5000
YAML
}

test_sql_pg_append_and_upsert() {
    pg_start
    psql_q "CREATE SCHEMA shop"
    pg_input 2 3000
    pg_pipeline append
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq "6000|6000|0|5999" "$(psql_q 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM shop.orders')"
    assert_eq '7|n7 "q"	\x|7.5|t' "$(psql_q 'SELECT id, name, v, ok FROM shop.orders WHERE id = 7')"
    assert_eq "bigint,text,double precision,boolean" \
        "$(psql_q "SELECT string_agg(data_type, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = 'orders'")"
    assert_eq "step:load" "$(psql_q 'SELECT key FROM sluice_checkpoints')"

    # upsert into a table with a key: new values win, absent fields stay
    psql_q "CREATE TABLE shop.kv (id bigint PRIMARY KEY, name text, v double precision, ok boolean, extra text DEFAULT 'keep')"
    psql_q "INSERT INTO shop.kv (id, name) VALUES (1, 'old'), (999999, 'other')"
    # (another pipeline name: the checkpoint in this database belongs to pgload)
    sed -i 's/table: shop.orders/table: shop.kv/; s/mode: append/mode: upsert/; s/^name: pgload/name: pgkv/' p.yaml
    printf '%s\n' '{"id":1,"name":"a"}' '{"id":2,"name":"b","v":1}' '{"id":1,"v":2.5}' > in/part-9.jsonl
    sl run p.yaml --state st2.db
    assert_rc 0
    assert_eq "6001" "$(psql_q 'SELECT count(*) FROM shop.kv')"
    assert_eq "a|2.5|keep" "$(psql_q 'SELECT name, v, extra FROM shop.kv WHERE id = 1')"
    assert_eq "b|1" "$(psql_q 'SELECT name, v FROM shop.kv WHERE id = 2')"
    assert_eq "other" "$(psql_q 'SELECT name FROM shop.kv WHERE id = 999999')"

    # a value the column cannot take: the step fails naming the record, nothing of that batch lands
    printf '%s\n' '{"id":"x1"}' > in/part-9.jsonl
    sl run p.yaml --state st3.db
    assert_rc 1
    assert_contains err.txt 'part-9.jsonl:1: sql sink: postgres postgresql://sluice@127.0.0.1:'
    assert_contains err.txt 'table "shop.kv", column "id": "x1" is not an integer'
}

test_sql_pg_kill_and_rerun_exactly_once() {
    pg_start
    psql_q "CREATE SCHEMA shop"
    pg_input 6 60000
    for mode in append upsert; do
        pg_pipeline $mode
        rm -f st.db
        psql_q "DROP TABLE IF EXISTS shop.orders; DROP TABLE IF EXISTS sluice_checkpoints"
        for delay in 0.3 0.6 0.2 0.9 0.5; do
            "$SLUICE" run p.yaml --state st.db --no-progress > /dev/null 2>> kills.log &
            pid=$!
            sleep $delay
            kill -9 $pid 2> /dev/null || true
            wait $pid 2> /dev/null || true
        done
        sl run p.yaml --state st.db
        assert_rc 0
        assert_eq "360000|360000|0|359999" \
            "$(psql_q 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM shop.orders')" "$mode"
    done
    # the state store in the same database shares the checkpoint table
    pg_pipeline append
    psql_q "DROP TABLE shop.orders; DROP TABLE sluice_checkpoints"
    for delay in 0.4 0.7; do
        "$SLUICE" run p.yaml --state "$PG_URL" --no-progress > /dev/null 2>> kills.log &
        pid=$!
        sleep $delay
        kill -9 $pid 2> /dev/null || true
        wait $pid 2> /dev/null || true
    done
    sl run p.yaml --state "$PG_URL"
    assert_rc 0
    assert_eq "360000|360000" "$(psql_q 'SELECT count(*), count(DISTINCT id) FROM shop.orders')"
}
