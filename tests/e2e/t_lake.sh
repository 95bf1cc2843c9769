# The lake sink: JSON Lines into Hive-partitioned Parquet, on a local folder
# and on S3 (s3rver), checked with DuckDB value by value; SIGKILL at several
# moments and rerun: every record exactly once, no temp file left.

duck() { # FILE_OR_GLOB SQL: DuckDB rows as JSON lines ($F is the file)
    node "$ROOT/tests/harness/pq_read_duckdb.js" "$@" 2> "$T/duck.err" ||
        fail "DuckDB: $(cat "$T/duck.err")"
}

# make_events FILES LINES_PER_FILE [PAD]: ids 0..N-1, 9 event days, some
# nulls and missing fields; PAD adds a 128-character field per record.
make_events() {
    mkdir -p in
    i=0
    while [ $i -lt "$1" ]; do
        awk -v f=$i -v n="$2" -v pad="${3:-}" 'BEGIN { for (k = 0; k < n; k++) {
            id = f * n + k
            p = ""
            if (pad != "") {
                for (j = 0; j < 16; j++) { p = p sprintf("%08x", (id * 2654435761 + j * 40503) % 4294967296) }
                p = ",\"pad\":\"" p "\""
            }
            name = (id % 10 == 3) ? "null" : sprintf("\"n%d \\\"q\\\" é\"", id)
            tags = (id % 7 == 0) ? "" : sprintf(",\"tags\":[\"a\",\"b%d\"]", id % 3)
            printf "{\"id\":%d,\"name\":%s,\"amount\":\"%d.25\",\"ts\":\"2026-11-2%dT1%d:00:00Z\"%s,\"o\":{\"x\":%d,\"y\":null}%s}\n",
                id, name, id % 1000, id % 9, id % 10, tags, id, p } }' > "in/part-$i.jsonl"
        i=$((i + 1))
    done
}

lake_pipeline() { # URL [extra sink keys] [extra top-level yaml] [partition_by]
    pipeline <<YAML
name: lake
params:
  where: {type: string, default: "$1"}
$3
steps:
  - name: events
    source: {type: file, url: "in/*.jsonl"}
    transforms:
      - {type: cast, fields: {ts: timestamp, amount: float}}
      - type: set
        fields: {ingestion_date: "{{ run.started_at | date }}", event_date: "{{ record.ts | date }}"}
    sink: {type: lake, url: "{{ params.where }}", partition_by: ${4:-[ingestion_date, event_date]} $2}
    batch_size: 5000
YAML
}

# The rows of the input as DuckDB reads the JSON itself, against the lake.
INPUT_SQL="SELECT id, name, amount::DOUBLE AS amount, ts::TIMESTAMPTZ AS ts, tags, o.x AS ox,
  o.y AS oy, (ts::TIMESTAMPTZ)::DATE AS event_date FROM read_json('in/*.jsonl', columns={id:
  'BIGINT', name: 'VARCHAR', amount: 'VARCHAR', ts: 'VARCHAR', tags: 'VARCHAR[]', o:
  'STRUCT(x BIGINT, y VARCHAR)'})"
LAKE_SQL="SELECT id, name, amount, ts, tags, o.x AS ox, o.y AS oy, event_date
  FROM read_parquet(\$F, hive_partitioning=true)"

# Every input record is in the lake once, with the same values.
assert_lake_equals_input() { # GLOB N
    assert_eq "{\"n\":\"$2\",\"d\":\"$2\"}" \
        "$(duck "$1" "SELECT count(*) AS n, count(DISTINCT id) AS d FROM read_parquet(\$F)")" \
        "rows and distinct ids"
    assert_eq '{"missing":"0","extra":"0"}' "$(duck "$1" "SELECT
        (SELECT count(*) FROM ($INPUT_SQL EXCEPT $LAKE_SQL)) AS missing,
        (SELECT count(*) FROM ($LAKE_SQL EXCEPT $INPUT_SQL)) AS extra")" "value differences"
}

test_lake_local_partitions_value_by_value() {
    make_events 2 1000
    lake_pipeline lake/bronze/events
    today=$(date -u +%F)
    sl run p.yaml --state st.db
    assert_rc 0
    assert_contains err.txt "lake sink: published 9 files, 2,000 rows"
    assert_eq "ingestion_date=$today" "$(ls lake/bronze/events)"
    day_dir=lake/bronze/events/ingestion_date=$today
    assert_eq "event_date=2026-11-20 event_date=2026-11-21 event_date=2026-11-22 event_date=2026-11-23 event_date=2026-11-24 event_date=2026-11-25 event_date=2026-11-26 event_date=2026-11-27 event_date=2026-11-28" \
        "$(ls "$day_dir" | paste -sd' ')"
    name=$(ls "$day_dir/event_date=2026-11-23")
    echo "$name" | grep -qE '^part-00000-[0-9a-f]{8}\.parquet$' || fail "file name $name"
    one="$day_dir/event_date=2026-11-23/$name"
    assert_lake_equals_input "lake/bronze/events/**/*.parquet" 2000
    # one row literally, and the partition columns come from the folders only
    assert_eq '{"id":"3","name":null,"amount":3.25,"ts":"2026-11-23 13:00:00+00","tags":"[a, b0]","o":"{'"'"'x'"'"': 3, '"'"'y'"'"': NULL}","event_date":"2026-11-23"}' \
        "$(duck "lake/bronze/events/**/*.parquet" "SELECT id, name, amount, ts::VARCHAR AS ts,
            tags::VARCHAR AS tags, o::VARCHAR AS o, event_date::VARCHAR AS event_date
            FROM read_parquet(\$F, hive_partitioning=true) WHERE id = 3")"
    assert_eq '{"cols":"id,name,amount,ts,tags,o"}' "$(duck "$one" "SELECT string_agg(column_name,
        ',') AS cols FROM (DESCRIBE SELECT * FROM read_parquet(\$F, hive_partitioning=false))")"
    # a rerun finds nothing new and publishes nothing
    sl run p.yaml --state st.db
    assert_rc 0
    assert_contains err.txt "lake sink: no records in this run"
    assert_eq 9 "$(find lake -type f | wc -l | tr -d ' ')"
}

test_lake_declared_schema_and_rejects() {
    mkdir -p in
    printf '%s\n' '{"id":1,"amount":12.5,"day":"2026-11-22","extra":true}' \
        '{"id":"x","amount":1,"day":"2026-11-22"}' '{"amount":2,"day":"2026-11-23"}' \
        '{"id":4,"amount":123456789.123,"day":null}' > in/a.jsonl
    pipeline <<'YAML'
name: lakeschema
steps:
  - name: s
    source: {type: file, url: "in/*.jsonl"}
    sink:
      type: lake
      url: "file://out"
      partition_by: day
      compression: gzip
      schema: {id: int64 not null, amount: "decimal(12,3)", day: date}
    rejects: rej.jsonl
    max_rejects: 10
YAML
    sl validate p.yaml
    assert_rc 0
    sl run p.yaml --state st.db
    assert_rc 3
    assert_contains err.txt "rejected $T/in/a.jsonl:2: lake: field 'id': expected required int64, got string 'x'"
    assert_contains err.txt "rejected $T/in/a.jsonl:3: lake: field 'id': expected required int64, got nothing"
    assert_eq "out/day=2026-11-22 out/day=__HIVE_DEFAULT_PARTITION__" "$(ls -d out/* | paste -sd' ')"
    assert_eq '{"id":"1","amount":"12.500","day":"2026-11-22"}
{"id":"4","amount":"123456789.123","day":null}' "$(duck "out/*/*.parquet" "SELECT id,
        amount::VARCHAR AS amount, day::VARCHAR AS day FROM read_parquet(\$F,
        hive_partitioning=true) ORDER BY id")"
}

test_lake_decimals_exact_at_every_precision_and_scale() {
    # decimal(p,s) for 1 <= p <= 38, 0 <= s <= p: the largest value, one
    # unit beyond, negatives, zero, ints, exponents, extra fraction digits;
    # DuckDB reads every written value back, every other one is rejected
    # with its reason (tests/harness/decimal_table.js has the cases)
    node "$ROOT/tests/harness/decimal_table.js" gen "$T"
    {
        echo "name: decimals"
        echo "steps:"
        echo "  - name: s"
        echo "    source: {type: file, url: in.jsonl}"
        echo "    sink: {type: lake, url: declake, format: parquet, schema: $(cat schema.txt)}"
        echo "    rejects: rejects.jsonl"
        echo "    max_rejects: 100000"
    } > p.yaml
    sl run p.yaml --state st.db
    assert_rc 3
    set -- declake/*.parquet
    [ $# = 1 ] && [ -f "$1" ] || fail "expected one Parquet file, got: $*"
    node "$ROOT/tests/harness/decimal_table.js" check "$T" "$1" rejects.jsonl > check.txt 2>&1 ||
        fail "decimal table: $(cat check.txt)"
    assert_contains check.txt "checked 11003 values, 6135 rejects"
}

test_lake_validate_reports_schema_errors() {
    pipeline <<'YAML'
name: bad
steps:
  - name: s
    source: {type: file, url: "in/*.jsonl"}
    sink: {type: lake, url: out, schema: {id: "int64", d: "decimal(50,2)"}}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:59: sink 'lake': schema: field 'd': decimal(50,2): precision must be 1..38"
    [ ! -e out ] || fail "validate created out"
}

now() { date +%s.%N; }

# Kills runs at several moments, most of them near the end of a run, where
# files are finished and published; then lets one run finish. A first
# run, into MEASURE (another url) with its own state, gives the duration.
lake_kill_and_rerun() { # MEASURE
    t0=$(now)
    sl run p.yaml --state measure.db -p "where=$1"
    assert_rc 0
    t1=$(now)
    for frac in 0.3 0.7 0.85 0.9 0.93 0.95 0.97 0.99 1.0; do
        delay=$(awk -v a="$t0" -v b="$t1" -v f="$frac" 'BEGIN { printf "%.3f", (b - a) * f }')
        "$SLUICE" run p.yaml --no-progress --state st.db > /dev/null 2>> kills.log &
        pid=$!
        sleep "$delay"
        kill -9 $pid 2> /dev/null || true
        wait $pid 2> /dev/null || true
    done
    sl run p.yaml --state st.db
    assert_rc 0
    # what the killed runs left and the next ones settled (for the log)
    grep -E 'removed|published' kills.log || true
}

test_lake_kill_and_rerun_local() {
    make_events 5 60000
    # small files: many of them to finish and publish at the end of a run
    lake_pipeline lake ", max_file_rows: 2000"
    lake_kill_and_rerun measure
    assert_lake_equals_input "lake/**/*.parquet" 300000
    left=$(find lake -name '.*' -type f)
    [ -z "$left" ] || fail "temp files left: $left"
    n=$(find lake -type f | wc -l | tr -d ' ')
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq "$n" "$(find lake -type f | wc -l | tr -d ' ')" "files after a rerun"
}

# Starts s3rver with bucket "lake" on a free port; sets S3PORT.
start_s3() {
    mkdir -p s3data
    serve_start s3 9 100 node "$ROOT/tests/harness/s3rver.js" --bucket lake \
        --key AKLAKE:SKLAKE --dir "$T/s3data"
    S3PORT=$READY
    trap stop_s3 EXIT
}

stop_s3() {
    serve_stop s3 9
}

# Copies the bucket's objects out of s3rver's folder, as plain files.
s3_copy() { # DEST
    (cd s3data/lake && find . -name '*._S3rver_object') | while read -r obj; do
        mkdir -p "$1/$(dirname "$obj")"
        cp "s3data/lake/$obj" "$1/${obj%._S3rver_object}"
    done
}

s3_connection() {
    printf 'connections:\n  lake: {url: "s3://lake", endpoint: "http://127.0.0.1:%s", region: us-east-1, access_key: AKLAKE, secret_key: SKLAKE, path_style: true}\n' "$S3PORT"
}

test_lake_s3_value_by_value() {
    start_s3
    make_events 2 1000
    lake_pipeline "s3://lake/bronze/events" ", connection: lake" "$(s3_connection)"
    sl run p.yaml --state st.db
    assert_rc 0
    assert_contains err.txt "lake sink: published 9 files, 2,000 rows"
    assert_contains err.txt "under s3://lake/bronze/events"
    s3_copy copy
    assert_eq 9 "$(find copy/bronze/events -name 'part-00000-*.parquet' | wc -l | tr -d ' ')"
    assert_lake_equals_input "copy/bronze/events/**/*.parquet" 2000
    stop_s3
}

test_lake_kill_and_rerun_s3_multipart() {
    start_s3
    # 128 hex characters a record, one partition: files of 60000 rows pass
    # the 5 MiB part size, so they are multipart uploads
    make_events 3 40000 pad
    lake_pipeline "s3://lake/raw" ", connection: lake, max_file_rows: 60000" "$(s3_connection)" \
        "[ingestion_date]"
    lake_kill_and_rerun "s3://lake/measure"
    s3_copy copy
    big=$(find copy -name '*.parquet' -size +6M | wc -l | tr -d ' ')
    [ "$big" -gt 0 ] || fail "no file above the part size: $(find copy -name '*.parquet' -exec ls -l {} +)"
    assert_lake_equals_input "copy/raw/**/*.parquet" 120000
    stop_s3
}
