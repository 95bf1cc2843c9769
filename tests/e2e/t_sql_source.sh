# The sql source on a real PostgreSQL: to JSON Lines and to a Parquet lake
# (checked with DuckDB against psql value by value), incremental runs
# across inserts, updates and delete-and-reinsert, and SIGKILL at several
# moments then rerun into SQLite: every row exactly once.

duck() { # FILE_OR_GLOB SQL: DuckDB rows as JSON lines ($F is the file)
    node "$ROOT/tests/harness/pq_read_duckdb.js" "$@" 2> "$T/duck.err" ||
        fail "DuckDB: $(cat "$T/duck.err")"
}

make_customers() {
    psql_q "CREATE TABLE customers (id int PRIMARY KEY, name text, score numeric(10,2),
        tags text[], updated_at timestamptz NOT NULL)"
    psql_q "INSERT INTO customers VALUES
        (1, 'Ana', 10.50, '{a,b}', '2026-11-20 10:00:00+00'),
        (2, 'Bo \"q\" é', NULL, NULL, '2026-11-20 11:00:00+00'),
        (3, 'Cy', 3.00, '{}', '2026-11-20 11:00:00+00')"
}

test_sql_source_pg_to_jsonl_incremental() {
    pg_start
    make_customers
    pipeline <<YAML
name: crm
connections:
  shop: {url: "$PG_URL"}
steps:
  - name: customers
    source:
      type: sql
      connection: shop
      table: customers
      incremental: {cursor_field: updated_at, initial: "1970-01-01T00:00:00Z"}
    sink: {type: file, url: "out/run-{{ run.id }}.jsonl"}
YAML
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq '{"id":1,"name":"Ana","score":10.50,"tags":["a","b"],"updated_at":"2026-11-20T10:00:00Z"}
{"id":2,"name":"Bo \"q\" é","score":null,"tags":null,"updated_at":"2026-11-20T11:00:00Z"}
{"id":3,"name":"Cy","score":3.00,"tags":[],"updated_at":"2026-11-20T11:00:00Z"}' "$(cat out/run-*.jsonl)"
    rm out/run-*.jsonl
    # nothing changed: nothing read
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq "" "$(cat out/run-*.jsonl 2> /dev/null)"
    rm -f out/run-*.jsonl
    # insert (one at the boundary's time), update, delete and reinsert
    psql_q "INSERT INTO customers VALUES (4, 'Di', 1, NULL, '2026-11-20 11:00:00+00'),
        (5, 'Ed', 2, NULL, '2026-11-21 09:00:00+00')"
    psql_q "UPDATE customers SET name = 'Ana 2', updated_at = '2026-11-21 08:00:00+00' WHERE id = 1"
    psql_q "DELETE FROM customers WHERE id = 3"
    psql_q "INSERT INTO customers VALUES (3, 'Cy again', 4, NULL, '2026-11-21 10:00:00+00')"
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq '{"id":4,"name":"Di","score":1.00,"tags":null,"updated_at":"2026-11-20T11:00:00Z"}
{"id":1,"name":"Ana 2","score":10.50,"tags":["a","b"],"updated_at":"2026-11-21T08:00:00Z"}
{"id":5,"name":"Ed","score":2.00,"tags":null,"updated_at":"2026-11-21T09:00:00Z"}
{"id":3,"name":"Cy again","score":4.00,"tags":null,"updated_at":"2026-11-21T10:00:00Z"}' \
        "$(cat out/run-*.jsonl)"
    rm out/run-*.jsonl
    # --full-refresh reads everything again
    sl run p.yaml --state st.db --full-refresh
    assert_rc 0
    assert_eq 5 "$(cat out/run-*.jsonl | wc -l | tr -d ' ')"
}

test_sql_source_pg_to_lake_value_by_value() {
    pg_start
    psql_q "CREATE TABLE orders (id int8 PRIMARY KEY, customer text, amount numeric(12,2),
        qty int, paid bool, created_at timestamptz, day date, note text, score float8)"
    psql_q "INSERT INTO orders SELECT g, 'c' || (g % 97) || ' ü', (g * 7 % 100000) / 100.0,
        g % 13, g % 3 = 0, '2026-01-01'::timestamptz + g * interval '17 seconds',
        '2026-01-01'::date + (g % 30), CASE WHEN g % 10 = 0 THEN NULL ELSE E'n\\t' || g END,
        g / 7.0 FROM generate_series(1, 30000) g"
    pipeline <<YAML
name: pglake
steps:
  - name: orders
    source: {type: sql, url: "$PG_URL", query: "SELECT * FROM orders WHERE id > 0"}
    sink: {type: lake, url: lake, format: parquet, compression: snappy}
YAML
    sl run p.yaml --state st.db
    assert_rc 0
    assert_contains err.txt "30,000 rows"
    psql -X -q "$PG_URL" -c "\\copy (SELECT id, customer, amount, qty, paid,
        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), day, note, score
        FROM orders) TO '$T/pg.csv' CSV HEADER"
    assert_eq '{"missing":"0","extra":"0","n":"30000"}' "$(duck "lake/*.parquet" "
        WITH pq AS (SELECT id, customer, amount::DECIMAL(12,2) AS amount, qty, paid,
                strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') AS created_at,
                day::VARCHAR AS day, note, score FROM read_parquet(\$F)),
             pg AS (SELECT id, customer, amount::DECIMAL(12,2) AS amount, qty, paid,
                \"to_char\" AS created_at, day::VARCHAR AS day, note, score
                FROM read_csv('$T/pg.csv', header=true, all_varchar=false))
        SELECT (SELECT count(*) FROM (SELECT * FROM pg EXCEPT SELECT * FROM pq)) AS missing,
               (SELECT count(*) FROM (SELECT * FROM pq EXCEPT SELECT * FROM pg)) AS extra,
               (SELECT count(*) FROM pq) AS n")"
    assert_eq '{"id":"10","note":null,"created_at":"2026-01-01 00:02:50+00","paid":false}' \
        "$(duck "lake/*.parquet" "SELECT id, note, created_at::VARCHAR AS created_at, paid
            FROM read_parquet(\$F) WHERE id = 10")"
}

test_sql_source_kill_and_rerun_exactly_once() {
    pg_start
    # many rows share each updated_at value, so batches end inside ties
    psql_q "CREATE TABLE ev (id int PRIMARY KEY, v text, updated_at timestamp NOT NULL)"
    psql_q "INSERT INTO ev SELECT g, md5(g::text), '2026-01-01'::timestamp + (g / 1500) *
        interval '1 minute' FROM generate_series(1, 300000) g"
    pipeline <<YAML
name: killsql
steps:
  - name: ev
    source:
      type: sql
      url: "$PG_URL"
      table: ev
      incremental: {cursor_field: updated_at}
    sink: {type: sql, url: "sqlite:///out.db", table: ev, mode: append}
    batch_size: 4000
YAML
    # each killed run has work left: more rows arrive between the kills,
    # with later cursor values (100 rows per value)
    n=300000
    day=2
    for delay in 0.3 0.15 0.45 0.2 0.35 0.25; do
        psql_q "INSERT INTO ev SELECT g, md5(g::text), '2026-01-0$day'::timestamp + (g % 400) *
            interval '1 minute' FROM generate_series($n + 1, $n + 40000) g"
        n=$((n + 40000))
        day=$((day + 1))
        "$SLUICE" run p.yaml --no-progress --state st.db > /dev/null 2>> kills.log &
        pid=$!
        sleep $delay
        kill -9 $pid 2> /dev/null || true
        wait $pid 2> /dev/null || true
    done
    sl run p.yaml --state st.db
    assert_rc 0
    [ "$(q st.db "SELECT count(*) FROM runs WHERE status = 'interrupted'")" -ge 2 ] ||
        fail "fewer than 2 runs were killed mid-run: $(q st.db 'SELECT status FROM runs')"
    expect=$(psql_q "SELECT count(*) FROM ev")
    got=$(q out.db 'SELECT count(*), count(DISTINCT id) FROM ev')
    assert_eq "$expect|$expect" "$got" "rows in SQLite vs rows PostgreSQL"
    # rows added later at the last cursor value, and nothing else
    psql_q "INSERT INTO ev SELECT 0, 'late', max(updated_at) FROM ev"
    psql_q "INSERT INTO ev VALUES (900001, 'new', '2026-02-01')"
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq "$((expect + 2))|$((expect + 2))" "$(q out.db 'SELECT count(*), count(DISTINCT id) FROM ev')"
    assert_eq "late" "$(q out.db 'SELECT v FROM ev WHERE id = 0')"
}

test_sql_source_errors() {
    pg_start
    psql_q "CREATE TABLE t (id int PRIMARY KEY, up timestamptz)"
    pipeline <<YAML
name: bad
steps:
  - name: s
    source: {type: sql, url: "$PG_URL", table: nope}
    sink: {type: stdout}
YAML
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "source 'sql': $PG_URL: table \"nope\": ERROR:  relation \"nope\" does not exist"
    pipeline <<YAML
name: bad
steps:
  - name: s
    source: {type: sql, url: "sqlite:///none.db", query: "SELECT 1"}
    sink: {type: stdout}
YAML
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "none.db: cannot open the database"
}
