#!/bin/sh
# make demo (second part): the bronze-lake pipeline on embedded defaults.
# Day 1: creates the shop database (SQLite, by seed.yaml), starts the fake
# payments/shipments APIs (tests/fakes/api_server.js) and runs a FULL load.
# Day 2: changes the database and the APIs' data, then runs an INCREMENTAL
# load: only new and changed rows land, under load_type=incremental.
# Starts from scratch each time (data/, lake/ and out/ are recreated).
set -eu
cd "$(dirname "$0")"
SLUICE=../../build/sluice
STATE=out/state.db
rm -rf data lake out
mkdir -p out

FAKE_PID=""
stop_fake() {
    if [ -n "$FAKE_PID" ]; then
        exec 9>&-
        kill "$FAKE_PID" 2> /dev/null || true
        wait "$FAKE_PID" 2> /dev/null || true
        FAKE_PID=""
    fi
}
trap stop_fake EXIT
# start_fake DAY...: serves the payments and shipments of the given days.
start_fake() {
    : > out/payments.jsonl
    : > out/shipments.jsonl
    for d in "$@"; do
        cat "seed/$d/payments.jsonl" >> out/payments.jsonl
        cat "seed/$d/shipments.jsonl" >> out/shipments.jsonl
    done
    rm -f out/fake.in
    mkfifo out/fake.in
    node ../../tests/fakes/api_server.js --key "$API_KEY" --data payments=out/payments.jsonl \
        --data shipments=out/shipments.jsonl < out/fake.in > out/fake.out 2> out/fake.err &
    FAKE_PID=$!
    exec 9> out/fake.in
    i=0
    until grep -q '^READY ' out/fake.out 2> /dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "the fake APIs did not start: $(cat out/fake.err)" >&2
            exit 1
        fi
        sleep 0.1
    done
    API="http://127.0.0.1:$(awk '/^READY /{print $2}' out/fake.out)"
}

# Secrets come from the environment (a throwaway key for the fake APIs).
API_KEY=demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export API_KEY

summary() { # what landed: rows per entity and load type, from the files' names
    for e in customers products orders payments shipments; do
        n=$(find "lake/bronze/$e" -name '*.parquet' 2> /dev/null | wc -l)
        printf '  %-10s %3s file(s)  %s\n' "$e" "$n" \
            "$(find "lake/bronze/$e" -name '*.parquet' 2> /dev/null | sed 's|.*/\(load_type=[a-z]*\)/.*|\1|' | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
    done
}

echo "== sluice validate pipeline.yaml"
$SLUICE validate pipeline.yaml
echo
echo "== day 1: create the shop database (sluice run seed.yaml)"
$SLUICE run seed.yaml --state out/seed.db --no-progress
start_fake day1
echo
echo "== day 1: FULL load (sluice run pipeline.yaml -p load_type=FULL)"
$SLUICE run pipeline.yaml --state "$STATE" --no-progress -p load_type=FULL \
    -p "payments_url=$API" -p "shipments_url=$API"
echo
echo "== the lake after day 1"
summary
find lake/bronze/orders -name '*.parquet' | sort | head -n 3 | sed 's/^/  /'
echo
echo "== day 2: the database and the APIs change"
$SLUICE run seed.yaml --state out/seed.db --no-progress -p day=day2 > /dev/null 2>&1
stop_fake
start_fake day1 day2
echo "  changed: 20 customers (5 at the same second), 5 products, 30 orders;" \
    "new: 150 orders and their payments, 30 shipments"
echo
echo "== day 2: INCREMENTAL load (the default)"
$SLUICE run pipeline.yaml --state "$STATE" --no-progress \
    -p "payments_url=$API" -p "shipments_url=$API"
echo
echo "== the lake after day 2"
summary
echo
echo "== lake/logs/pipeline/ingestion/checkpoints.json"
node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
for (const [k, v] of Object.entries(c))
  console.log("  " + k.padEnd(10) + " last_sync_timestamp " + v.last_sync_timestamp +
              "  record_count " + String(v.record_count).padStart(4) + "  updated_at " + v.updated_at);' \
    lake/logs/pipeline/ingestion/checkpoints.json
echo
echo "== run history (sluice runs)"
$SLUICE runs --state "$STATE" --limit 5
