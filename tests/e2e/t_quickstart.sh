# The quickstart pipeline end to end: values in SQLite checked against an
# independent computation (node) over the same input files.

setup_quickstart() {
    cp -r "$ROOT/examples/quickstart/pipeline.yaml" "$ROOT/examples/quickstart/data" "$T/"
}

# Expected rows (id|customer|amount|created_at|day) computed by node.
expected_rows() { # min_amount
    node -e '
const fs = require("fs");
const min = Number(process.argv[1]);
const out = [];
for (const f of fs.readdirSync("data/orders").sort()) {
  for (const line of fs.readFileSync("data/orders/" + f, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    const amount = Number(r.amt);
    if (!(amount >= min)) continue;
    const ts = new Date(r.created_at.replace(" ", "T")).toISOString().replace(".000Z", "Z");
    const amt = Number.isInteger(amount) ? amount.toFixed(1) : String(amount);
    out.push([r.id, r.customer, amt, ts, ts.slice(0, 10)].join("|"));
  }
}
out.sort();
console.log(out.join("\n"));' "$1"
}

test_quickstart_values() {
    setup_quickstart
    sl run pipeline.yaml -p min_amount=10 --state st.db
    assert_rc 0
    expected_rows 10 > want.txt
    q out/shop.db "SELECT id, customer, amount, created_at, day FROM orders ORDER BY id" \
        > got.txt
    [ -s want.txt ] || fail "oracle produced nothing"
    diff want.txt got.txt > diff.txt || fail "rows differ: $(head -20 diff.txt)"
    n=$(wc -l < want.txt)
    assert_eq "$n" "$(q out/shop.db 'SELECT count(*) FROM orders')" "row count"
    # types as stored
    assert_eq "real|text|text|integer" \
        "$(q out/shop.db "SELECT DISTINCT typeof(amount), typeof(created_at), typeof(day), typeof(id) FROM orders")"
    # lineage columns
    assert_eq "files" "$(q out/shop.db 'SELECT DISTINCT _source_system FROM orders')"
    assert_eq 1 "$(q out/shop.db 'SELECT count(DISTINCT _ingestion_id) FROM orders')"
    run_id=$(q st.db 'SELECT id FROM runs')
    assert_eq "$run_id" "$(q out/shop.db 'SELECT DISTINCT _ingestion_id FROM orders')"
    # the summary names the step with its counts
    assert_contains err.txt "orders"
    assert_contains err.txt "Completed: orders"
}

test_quickstart_record_hash() {
    setup_quickstart
    printf '%s\n' '{"id":7,"amt":"12.50","customer":"z","created_at":"2026-11-21 23:30:00-02:00","tags":["b","a"],"n":{"y":1,"x":null}}' \
        > data/orders/x.jsonl
    rm data/orders/2026-*.jsonl
    sl run pipeline.yaml --state st.db
    assert_rc 0
    # canonical JSON of the record before lineage: keys sorted, compact
    canon='{"amount":12.5,"created_at":"2026-11-22T01:30:00Z","customer":"z","day":"2026-11-22","id":7,"n":{"x":null,"y":1},"tags":["b","a"]}'
    want=$(printf '%s' "$canon" | md5sum | cut -c1-32)
    assert_eq "$want" "$(q out/shop.db 'SELECT _record_hash FROM orders WHERE id = 7')" "hash"
    ts=$(q out/shop.db 'SELECT _ingestion_ts FROM orders WHERE id = 7')
    case "$ts" in 20[0-9][0-9]-[01][0-9]-[0-3][0-9]T*Z) ;; *) fail "bad _ingestion_ts $ts" ;; esac
}

test_quickstart_rerun_skips_ingested_files() {
    setup_quickstart
    sl run pipeline.yaml --state st.db
    assert_rc 0
    before=$(q out/shop.db 'SELECT count(*) FROM orders')
    assert_eq 120 "$before"
    sl run pipeline.yaml --state st.db
    assert_rc 0
    assert_eq 0 "$(q st.db "SELECT records_in FROM step_runs s JOIN runs r ON r.id = s.run_id ORDER BY r.started_at DESC LIMIT 1")" "records read on rerun"
    # a touched file with the same content is not read again
    touch data/orders/2026-11-19.jsonl
    sl run pipeline.yaml --state st.db
    assert_eq 0 "$(q st.db "SELECT records_in FROM step_runs s JOIN runs r ON r.id = s.run_id ORDER BY r.started_at DESC LIMIT 1")" "records after touch"
    # a new file is read, alone
    printf '%s\n' '{"id":5001,"amt":99,"customer":"new","created_at":"2026-11-21T00:00:00Z"}' \
        > data/orders/2026-11-21.jsonl
    sl run pipeline.yaml --state st.db
    assert_rc 0
    assert_eq 1 "$(q st.db "SELECT records_in FROM step_runs s JOIN runs r ON r.id = s.run_id ORDER BY r.started_at DESC LIMIT 1")" "records of the new file"
    assert_eq 121 "$(q out/shop.db 'SELECT count(*) FROM orders')"
    # a changed file is read again; upsert keeps one row per id
    printf '%s\n' '{"id":5001,"amt":100,"customer":"new","created_at":"2026-11-21T00:00:00Z"}' \
        > data/orders/2026-11-21.jsonl
    sl run pipeline.yaml --state st.db
    assert_eq 121 "$(q out/shop.db 'SELECT count(*) FROM orders')"
    assert_eq 100.0 "$(q out/shop.db 'SELECT amount FROM orders WHERE id = 5001')"
    # full refresh reads everything again
    sl run pipeline.yaml --state st.db --full-refresh
    assert_eq 121 "$(q st.db "SELECT records_in FROM step_runs s JOIN runs r ON r.id = s.run_id ORDER BY r.started_at DESC LIMIT 1")"
}

test_quickstart_validate_and_runs() {
    setup_quickstart
    sl validate pipeline.yaml
    assert_rc 0
    assert_contains out.txt "ok"
    sl run pipeline.yaml --state st.db -p min_amount=50
    assert_rc 0
    sl runs --state st.db
    assert_rc 0
    assert_contains out.txt "quickstart"
    id=$(q st.db 'SELECT id FROM runs')
    sl runs show "$(echo "$id" | cut -c1-8)" --state st.db
    assert_rc 0
    assert_contains out.txt "$id"
    assert_contains out.txt '"min_amount":50'
    assert_contains out.txt "orders"
    sl state get quickstart --state st.db
    assert_rc 0
    assert_contains out.txt "step:orders"
    sl state reset quickstart nosuch --state st.db
    assert_rc 2
    assert_contains err.txt "no step 'nosuch'"
    sl state reset pipeline.yaml nosuch --state st.db
    assert_rc 2
    sl state reset quickstart --state st.db
    assert_rc 0
    sl run pipeline.yaml --state st.db -p min_amount=50
    assert_eq 120 "$(q st.db "SELECT records_in FROM step_runs s JOIN runs r ON r.id = s.run_id ORDER BY r.started_at DESC LIMIT 1")" "records after reset"
}
