# The bronze-lake example (examples/bronze-lake, seed 002) end to end:
# on embedded defaults (SQLite shop database, local lake) and on a real
# PostgreSQL and the S3 server, with the fake payments/shipments APIs
# (tests/fakes/api_server.js). Checked with DuckDB over the lake.

EX="$ROOT/examples/bronze-lake"

duck() { # GLOB SQL: DuckDB rows as JSON lines ($F is the glob)
    node "$ROOT/tests/harness/pq_read_duckdb.js" "$@" 2> "$T/duck.err" ||
        fail "DuckDB: $(cat "$T/duck.err")"
}

# A copy of the example in $T, so its outputs stay in the test folder.
bronze_setup() {
    cp -r "$EX/pipeline.yaml" "$EX/seed.yaml" "$EX/seed" "$EX/sql" "$T/"
    API_KEY=test-key-$$-0123456789abcdef
    export API_KEY
}

# fake_start [FAULTS_JSON] DAY...: the fake APIs serving the given days.
fake_start() {
    faults=$1
    shift
    : > api_payments.jsonl
    : > api_shipments.jsonl
    for d in "$@"; do
        cat "seed/$d/payments.jsonl" >> api_payments.jsonl
        cat "seed/$d/shipments.jsonl" >> api_shipments.jsonl
    done
    serve_start fake 7 100 env FAKE_API_FAULTS="$faults" node "$ROOT/tests/fakes/api_server.js" \
        --key "$API_KEY" --data payments=api_payments.jsonl --data shipments=api_shipments.jsonl
    API="http://127.0.0.1:$READY"
}

fake_stop() {
    serve_stop fake 7
}

fake_stats() { # PATH STATUS: requests to PATH that got STATUS
    node -e '
const http = require("http");
http.get(process.argv[1] + "/_stats", (r) => { let b = ""; r.on("data", (c) => b += c);
  r.on("end", () => { const s = JSON.parse(b);
    console.log(s.log.filter((l) => l.path === process.argv[2] && String(l.status) === process.argv[3]).length); }); });
' "$API" "$1" "$2"
}

bronze_run() { # ARGS...: the bronze pipeline against the fake APIs
    sl run pipeline.yaml --state st.db --log-format json -p "payments_url=$API" \
        -p "shipments_url=$API" "$@"
}

# ids ENTITY LOAD_TYPE: sorted distinct ids in the lake (local folder $LAKE)
lake_ids() {
    key=id
    case "$1" in payments) key=payment_id ;; shipments) key=shipment_id ;; esac
    duck "${LAKE:-lake}/bronze/$1/**/*.parquet" "SELECT string_agg(DISTINCT $key::VARCHAR, ',' ORDER BY $key::VARCHAR) AS ids FROM read_parquet(\$F, hive_partitioning = true) WHERE load_type = '$2'" |
        sed 's/.*"ids":"\{0,1\}\([^"]*\)"\{0,1\}}/\1/; s/^null$//'
}

file_ids() { # FILE KEY: sorted distinct ids of a JSONL file
    node -e '
const ids = new Set(require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")
  .filter(Boolean).map((l) => String(JSON.parse(l)[process.argv[2]])));
console.log([...ids].sort().join(","));' "$1" "$2"
}

run_id() { # the run id from the JSON summary in err.txt
    node -e 'for (const l of require("fs").readFileSync("err.txt", "utf8").split("\n"))
  { try { const o = JSON.parse(l); if (o.msg === "run summary") console.log(o.run); } catch (e) {} }'
}

# The whole lake must hold each entity's rows of load_type exactly once.
assert_counts() { # LOAD_TYPE customers products orders payments shipments
    lt=$1
    shift
    for e in customers products orders payments shipments; do
        want=$1
        shift
        key=id
        case "$e" in payments) key=payment_id ;; shipments) key=shipment_id ;; esac
        assert_eq "{\"n\":\"$want\",\"d\":\"$want\"}" \
            "$(duck "${LAKE:-lake}/bronze/$e/**/*.parquet" "SELECT count(*) AS n, count(DISTINCT $key) AS d FROM read_parquet(\$F, hive_partitioning = true) WHERE load_type = '$lt'")" \
            "$e rows with load_type=$lt"
    done
}

test_bronze_embedded_full_then_incremental() {
    bronze_setup
    sl run seed.yaml --state seed.db
    assert_rc 0
    fake_start "" day1
    bronze_run -p load_type=FULL
    assert_rc 0
    for e in customers products orders payments shipments; do
        assert_contains err.txt "\"msg\":\"Starting: $e\""
        assert_contains err.txt "\"msg\":\"Completed: $e\""
    done
    assert_contains err.txt '"msg":"Processing customers: Extracted 200 records"'
    assert_counts full 200 40 1000 1000 498
    run1=$(run_id)
    today=$(date -u +%Y-%m-%d)
    # layout, partitions and lineage
    one=$(find lake/bronze/orders -name '*.parquet' | sort | head -n 1)
    case "$one" in
        lake/bronze/orders/ingestion_date=$today/load_type=full/event_date=2026-11-1[0-9]/part-00000-*.parquet) ;;
        *) fail "unexpected layout: $one" ;;
    esac
    assert_eq '{"bad":"0"}' "$(duck "lake/bronze/orders/**/*.parquet" "SELECT count(*) AS bad FROM read_parquet(\$F, hive_partitioning = true) WHERE event_date::VARCHAR <> order_date::VARCHAR OR ingestion_date::VARCHAR <> '$today' OR _source_system <> 'rds' OR length(_record_hash) <> 32 OR _ingestion_id <> '$run1' OR _ingestion_ts IS NULL")" "orders lineage"
    assert_eq '{"s":"api","n":"1000"}' "$(duck "lake/bronze/payments/**/*.parquet" "SELECT any_value(_source_system) AS s, count(*) AS n FROM read_parquet(\$F) WHERE _ingestion_id = '$run1' AND regexp_matches(_record_hash, '^[0-9a-f]{32}\$')")"
    # the record hash is MD5 over the original record: same row, same hash
    assert_eq '{"h":"1"}' "$(duck "lake/bronze/customers/**/*.parquet" "SELECT count(DISTINCT _record_hash) AS h FROM read_parquet(\$F) WHERE id = 7")"
    # checkpoints.json as the seed keeps it
    node -e '
const c = JSON.parse(require("fs").readFileSync("lake/logs/pipeline/ingestion/checkpoints.json", "utf8"));
const want = {customers: 200, products: 40, orders: 1000, payments: 1000, shipments: 498};
for (const [k, n] of Object.entries(want))
  if (!c[k] || c[k].record_count !== n || !/^2026-11-\d\dT/.test(c[k].last_sync_timestamp)) process.exit(1);
if (c.customers.last_sync_timestamp > "2026-11-21") process.exit(2);
' || fail "checkpoints.json: $(cat lake/logs/pipeline/ingestion/checkpoints.json)"
    # the run's log lines beside them, by date, queryable as the seed's
    # monitoring does
    log="lake/logs/pipeline/ingestion/date=$today/run-$run1.jsonl"
    [ -f "$log" ] || fail "no run log at $log: $(find lake/logs)"
    assert_eq '{"n":"5"}' "$(duck "lake/logs/pipeline/ingestion/date=*/run-*.jsonl" "SELECT count(*) AS n FROM read_json(\$F, format = 'newline_delimited', hive_partitioning = true) WHERE msg LIKE 'Completed: %' AND step LIKE 'entities/%' AND run = '$run1' AND date::VARCHAR = '$today'")"

    # day 2: changed and new rows land once, under load_type=incremental
    sl run seed.yaml --state seed.db -p day=day2
    assert_rc 0
    fake_stop
    fake_start "" day1 day2
    bronze_run
    assert_rc 0
    assert_eq "$(file_ids seed/day2/customers.jsonl id)" "$(lake_ids customers incremental)" "customers"
    assert_eq "$(file_ids seed/day2/products.jsonl id)" "$(lake_ids products incremental)" "products"
    assert_eq "$(file_ids seed/day2/orders.jsonl id)" "$(lake_ids orders incremental)" "orders"
    assert_eq "$(file_ids seed/day2/payments.jsonl payment_id)" "$(lake_ids payments incremental)" "payments"
    assert_eq "$(file_ids seed/day2/shipments.jsonl shipment_id)" "$(lake_ids shipments incremental)" "shipments"
    assert_counts full 200 40 1000 1000 498
    # a third run finds nothing new
    bronze_run
    assert_rc 0
    assert_contains err.txt '"msg":"Processing customers: Extracted 0 records"'
    fake_stop
}

# PostgreSQL shop database, S3 lake, and APIs that fail first: 429 twice
# and a 500 on payments (retried), malformed JSON on shipments (that entity
# fails, the others land, exit 3).
test_bronze_postgres_s3_faults_and_changes() {
    bronze_setup
    pg_start
    . "$ROOT/tests/e2e/t_lake.sh" 2> /dev/null || true
    start_s3
    export AWS_ENDPOINT_URL="http://127.0.0.1:$S3PORT" AWS_ACCESS_KEY_ID=AKLAKE \
        AWS_SECRET_ACCESS_KEY=SKLAKE AWS_REGION=us-east-1
    sl run seed.yaml --state seed.db -p "db=$PG_URL"
    assert_rc 0
    assert_eq 1000 "$(psql_q 'SELECT count(*) FROM orders')"
    fake_start '{"faults":[{"type":"429","times":2,"retry_after":"0","path":"/payments"},{"type":"500","times":1,"path":"/payments"},{"type":"malformed","times":5,"path":"/shipments"}]}' day1
    bronze_run -p "db=$PG_URL" -p lake=s3://lake/data -p load_type=FULL
    assert_rc 3
    assert_eq 2 "$(fake_stats /payments 429)" "429s seen"
    assert_eq 1 "$(fake_stats /payments 500)" "500s seen"
    assert_contains err.txt '"msg":"Completed: payments"'
    assert_contains err.txt "/shipments"
    node -e '
for (const l of require("fs").readFileSync("err.txt", "utf8").split("\n")) {
  let o; try { o = JSON.parse(l); } catch (e) { continue; }
  if (o.msg !== "run summary") continue;
  const st = Object.fromEntries(o.steps.map((s) => [s.step, s.status]));
  if (o.exit_code !== 3 || st["entities/shipments"] !== "failed" || st["entities/payments"] !== "ok" ||
      st["entities/orders"] !== "ok" || st.entities !== "partial") process.exit(1);
  if (!/JSON/i.test(o.steps.find((s) => s.step === "entities/shipments").error)) process.exit(2);
  process.exit(0);
}
process.exit(3);' || fail "summary: $(grep 'run summary' err.txt)"
    s3_copy copy
    LAKE=copy/data
    assert_eq '{"n":"0"}' "$(duck "copy/data/bronze/customers/**/*.parquet" "SELECT count(*) - 200 AS n FROM read_parquet(\$F)")"
    [ ! -d copy/data/bronze/shipments ] || fail "a failed entity must publish nothing"
    [ -f copy/data/logs/pipeline/ingestion/checkpoints.json ] || fail "no checkpoints.json on S3"
    # the API is fixed; the database changes: 3 updates, 1 delete + reinsert,
    # 2 new rows, all after the checkpoint
    fake_stop
    fake_start "" day1
    psql_q "UPDATE customers SET country = 'XX', updated_at = '2026-11-23T08:00:00' WHERE id IN (3, 4, 9);
DELETE FROM customers WHERE id = 5;
INSERT INTO customers (id, name, email, country, created_at, updated_at) VALUES
 (5, 'Back Again', 'b@example.com', 'DE', '2026-11-23T08:00:00', '2026-11-23T08:00:00'),
 (201, 'New One', 'n1@example.com', 'FR', '2026-11-23T08:00:00', '2026-11-23T08:00:00'),
 (202, 'New Two', 'n2@example.com', 'FR', '2026-11-23T08:00:00', '2026-11-23T08:00:01');" > /dev/null
    bronze_run -p "db=$PG_URL" -p lake=s3://lake/data
    assert_rc 0
    rm -rf copy
    s3_copy copy
    assert_eq "201,202,3,4,5,9" "$(lake_ids customers incremental)" "customers changed"
    assert_eq "" "$(lake_ids orders incremental)" "orders unchanged"
    # shipments had no checkpoint: everything, once
    assert_eq '{"n":"498","d":"498"}' "$(duck "copy/data/bronze/shipments/**/*.parquet" "SELECT count(*) AS n, count(DISTINCT shipment_id) AS d FROM read_parquet(\$F)")"
    assert_eq '{"c":"XX"}' "$(duck "copy/data/bronze/customers/**/*.parquet" "SELECT country AS c FROM read_parquet(\$F, hive_partitioning = true) WHERE id = 9 AND load_type = 'incremental'")"
    fake_stop
    stop_s3
}

# SIGKILL while an API entity is being read (slow pages), then a rerun:
# every entity lands exactly once.
test_bronze_kill_mid_run_then_rerun() {
    bronze_setup
    sl run seed.yaml --state seed.db
    assert_rc 0
    fake_start '{"faults":[{"type":"slow","ms":400,"times":100,"path":"/payments"}]}' day1
    "$SLUICE" run pipeline.yaml --state st.db -p "payments_url=$API" -p "shipments_url=$API" \
        > /dev/null 2> kill.err &
    pid=$!
    i=0
    until grep -q "Starting: payments" kill.err 2> /dev/null; do
        i=$((i + 1))
        [ $i -lt 200 ] || fail "never reached payments: $(cat kill.err)"
        sleep 0.05
    done
    sleep 1
    kill -9 "$pid"
    wait "$pid" 2> /dev/null || true
    [ ! -d lake/bronze/payments ] || [ -z "$(find lake/bronze/payments -name '*.parquet')" ] ||
        fail "a killed step published files"
    fake_stop
    fake_start "" day1
    bronze_run
    assert_rc 0
    assert_contains err.txt "interrupted"
    assert_counts incremental 200 40 1000 1000 498
    [ -z "$(find lake -name '*.tmp*' -o -name '*.sl-tmp*')" ] || fail "temp files left: $(find lake -name '*tmp*')"
    fake_stop
}

# The entities run side by side (parallel, max_concurrency 5); one at a
# time (max_concurrency 1) the lake must hold the same rows, in the same
# partitions, and checkpoints.json the same entries.
test_bronze_parallel_equals_one_at_a_time() {
    bronze_setup
    sl run seed.yaml --state seed.db
    assert_rc 0
    fake_start "" day1
    bronze_run -p load_type=FULL -p lake=lake_par
    assert_rc 0
    sed 's/max_concurrency: 5/max_concurrency: 1/' pipeline.yaml > one.yaml
    grep -q 'max_concurrency: 1' one.yaml || fail "one.yaml has no max_concurrency: 1"
    sl run one.yaml --state st_one.db --log-format json -p "payments_url=$API" \
        -p "shipments_url=$API" -p load_type=FULL -p lake=lake_one
    assert_rc 0
    for e in customers products orders payments shipments; do
        # every row (lineage ids and times aside) in both lakes, both ways
        for pair in "lake_par lake_one" "lake_one lake_par"; do
            set -- $pair
            assert_eq '{"n":"0"}' "$(duck "$1/bronze/$e/**/*.parquet" "SELECT count(*) AS n FROM (SELECT * EXCLUDE (_ingestion_id, _ingestion_ts) FROM read_parquet(\$F, hive_partitioning = true) EXCEPT ALL SELECT * EXCLUDE (_ingestion_id, _ingestion_ts) FROM read_parquet('$2/bronze/$e/**/*.parquet', hive_partitioning = true))")" "$e: rows of $1 not in $2"
        done
        assert_eq "$(cd lake_one/bronze/$e && find . -type d | sort)" \
            "$(cd lake_par/bronze/$e && find . -type d | sort)" "$e partitions"
    done
    node -e '
const fs = require("fs");
const strip = (f) => { const c = JSON.parse(fs.readFileSync(f, "utf8"));
  for (const k of Object.keys(c)) { delete c[k].updated_at; }
  return Object.keys(c).sort().map((k) => k + "=" + JSON.stringify(c[k])).join("\n"); };
const a = strip("lake_par/logs/pipeline/ingestion/checkpoints.json");
const b = strip("lake_one/logs/pipeline/ingestion/checkpoints.json");
if (a !== b || a.split("\n").length !== 5) { console.error(a + "\n" + b); process.exit(1); }' ||
        fail "checkpoints.json differ"
    # the summary lists each entity under the parallel step
    for e in customers products orders payments shipments; do
        assert_contains err.txt "\"step\":\"entities/$e\",\"status\":\"ok\""
    done
    fake_stop
}
