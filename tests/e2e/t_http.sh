# The http source against the fake payments/shipments API
# (tests/fakes/api_server.js): incremental since= across runs into a file,
# shipments into the lake checked with DuckDB, 429 and 500 before success,
# malformed JSON as a clear failure, and a page budget that resumes.

API_KEY=e2e-api-key-4f9c2b7d

# api_start [ARGS...]: starts the fake with the key and ARGS; sets API_URL.
# Its stdin is a FIFO held open on fd 7: it ends with the test's shell.
api_start() {
    serve_start api 7 300 node "$ROOT/tests/fakes/api_server.js" --key "$API_KEY" "$@"
    API_URL="http://127.0.0.1:$READY"
}

api_stat() { # JS expression over the /_stats object s
    curl -sf "$API_URL/_stats" | node -e \
        "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{const s=JSON.parse(d);console.log($1)})"
}

payments_pipeline() { # extra source keys
    pipeline <<YAML
name: api
params:
  payments_url: {type: string, default: "$API_URL"}
steps:
  - name: payments
    source:
      type: http
      url: "{{ params.payments_url }}/payments"
      headers: {Accept: application/json}
      auth: {type: api_key, header: x-api-key, value: "\${env:PAYMENTS_API_KEY}"}
      records: data.items
      pagination: {type: cursor, cursor_path: meta.next_cursor, param: cursor}
      incremental: {param: since, cursor_field: updated_at, initial: "1970-01-01T00:00:00Z"}
      retry: {max: 5, backoff_ms: 10, max_backoff_ms: 2000}
$1
    sink: {type: file, url: "out/payments-{{ run.id }}.jsonl"}
YAML
}

test_http_payments_incremental_to_file() {
    api_start --payments 250 --page-size 50
    export PAYMENTS_API_KEY=$API_KEY
    payments_pipeline
    sl run p.yaml --state st.db --log-level debug
    assert_rc 0
    assert_eq 250 "$(cat out/*.jsonl | wc -l | tr -d ' ')"
    assert_eq 250 "$(cat out/*.jsonl | grep -o '"payment_id":"pay_[0-9]*"' | sort -u | wc -l | tr -d ' ')"
    assert_eq 5 "$(api_stat 's.requests')"
    # the key came from the environment: never in the logs
    assert_not_contains err.txt "$API_KEY"
    max=$(cat out/*.jsonl | grep -o '"updated_at":"[^"]*"' | cut -d'"' -f4 | sort | tail -n 1)
    assert_contains st.db "$max" # the high-water mark is the run's maximum
    # one payment changes; the next run asks since=<max> and gets it
    curl -sf -X POST "$API_URL/_upsert/payments" -d \
        '[{"payment_id":"pay_000010","order_id":"ord_1","amount":1.5,"currency":"EUR","status":"refunded","method":"card","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-02-01T00:00:00Z"}]' \
        > /dev/null
    rm -rf out
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq "$max" "$(api_stat 's.log[5].query.since')"
    assert_contains out/*.jsonl '"payment_id":"pay_000010"'
    assert_contains out/*.jsonl '"status":"refunded"'
    # since is inclusive: the record at the old mark comes again, nothing older
    assert_eq 2 "$(cat out/*.jsonl | wc -l | tr -d ' ')"
}

test_http_429_and_500_then_success() {
    FAKE_API_FAULTS='{"faults":[{"type":"429","times":2,"retry_after":"1"},{"type":"500","times":2}]}' \
        api_start --payments 20 --page-size 10
    export PAYMENTS_API_KEY=$API_KEY
    payments_pipeline
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq 20 "$(cat out/*.jsonl | wc -l | tr -d ' ')"
    assert_eq "2 2 2" "$(api_stat '[s.by_status[429], s.by_status[500], s.by_status[200]].join(" ")')"
    assert_contains err.txt "HTTP 429: {\"message\":\"Too Many Requests\"}; retrying in"
    assert_contains err.txt "HTTP 500"
}

test_http_malformed_json_fails() {
    FAKE_API_FAULTS='{"faults":[{"type":"malformed","after":1}]}' \
        api_start --payments 20 --page-size 10
    export PAYMENTS_API_KEY=$API_KEY
    payments_pipeline
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "/payments?since=1970-01-01T00%3A00%3A00Z&cursor=b2Zmc2V0OjEw: malformed JSON in the response at byte"
    assert_not_contains err.txt "$API_KEY"
    # nothing published by the failed run
    [ ! -e out ] || [ -z "$(ls out)" ] || fail "output published by a failed run"
}

test_http_wrong_key_names_status() {
    api_start --payments 5
    export PAYMENTS_API_KEY=not-the-key-1234
    payments_pipeline
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "GET $API_URL/payments?since=1970-01-01T00%3A00%3A00Z: HTTP 401"
    assert_not_contains err.txt "not-the-key-1234"
    assert_eq 1 "$(api_stat 's.requests')" # a 401 is not retried
}

test_http_budget_stops_and_resumes() {
    api_start --payments 25 --page-size 10
    export PAYMENTS_API_KEY=$API_KEY
    payments_pipeline "      budget: {max_pages: 2}"
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq 20 "$(cat out/*.jsonl | wc -l | tr -d ' ')"
    assert_contains err.txt "budget reached (max_pages 2)"
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq 25 "$(cat out/*.jsonl | wc -l | tr -d ' ')"
    assert_eq 25 "$(cat out/*.jsonl | grep -o '"payment_id":"pay_[0-9]*"' | sort -u | wc -l | tr -d ' ')"
    # the second run went on from the stored cursor with the first run's since
    assert_eq "b2Zmc2V0OjIw 1970-01-01T00:00:00Z" "$(api_stat 's.log[2].query.cursor + " " + s.log[2].query.since')"
}

duck_http() { # FILE_OR_GLOB SQL
    node "$ROOT/tests/harness/pq_read_duckdb.js" "$@" 2> "$T/duck.err" ||
        fail "DuckDB: $(cat "$T/duck.err")"
}

test_http_shipments_link_header_to_lake() {
    api_start --shipments 120
    pipeline <<YAML
name: api
steps:
  - name: shipments
    source:
      type: http
      url: "$API_URL/shipments?per_page=25"
      auth: {type: api_key, query: api_key, value: "\${env:SHIP_KEY}"}
      pagination: {type: link_header}
      rate_limit: {per_second: 50, burst: 2}
    transforms:
      - {type: cast, fields: {updated_at: timestamp}}
      - {type: set, fields: {event_date: "{{ record.updated_at | date }}"}}
    sink: {type: lake, url: lake/bronze/shipments, partition_by: event_date}
YAML
    SHIP_KEY=$API_KEY sl run p.yaml --state st.db --log-level debug
    assert_rc 0
    assert_eq 5 "$(api_stat 's.requests')"
    assert_eq '{"n":"120","d":"120"}' "$(duck_http "lake/bronze/shipments/**/*.parquet" \
        "SELECT count(*) AS n, count(DISTINCT shipment_id) AS d FROM read_parquet(\$F)")"
    # the key went as a query parameter: masked in every log line
    assert_contains err.txt "api_key=***"
    assert_not_contains err.txt "$API_KEY"
}
