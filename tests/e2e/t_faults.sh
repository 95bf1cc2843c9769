# Crash safety, proven deterministically: the run is killed (SIGKILL) at
# every named fault point in turn (SLUICE_FAULT=NAME:N, see fault.h), then
# run again: every record lands exactly once, whatever point it died at.

fault_input() { # 3 files of 2000 records, 9 event days
    mkdir -p in
    for f in 0 1 2; do
        awk -v f=$f 'BEGIN { for (k = 0; k < 2000; k++) { id = f * 2000 + k
            printf "{\"id\":%d,\"v\":\"r%d\",\"day\":\"2026-11-2%d\"}\n", id, id, id % 9 } }' > in/p$f.jsonl
    done
}

# die_then_finish NAME:N: the run dies at the point, then a run without the
# fault finishes; both checked.
die_then_finish() {
    rm -f first.err
    RC=0
    SLUICE_FAULT=$1 "$SLUICE" run p.yaml --state st.db --no-progress > /dev/null 2> first.err || RC=$?
    [ "$RC" = 137 ] || fail "SLUICE_FAULT=$1: expected a kill (137), got exit $RC: $(tail -n 3 first.err)"
    assert_contains first.err "sluice: fault point ${1%%:*} (pass ${1##*:}): killed"
    sl run p.yaml --state st.db --no-progress
    assert_rc 0
}

test_faults_sql_sink_every_point_exactly_once() {
    fault_input
    pipeline <<'YAML'
name: fsql
steps:
  - name: load
    source: {type: file, url: "in/*.jsonl"}
    sink: {type: sql, url: "sqlite:///out.db", table: t, mode: append}
    batch_size: 500
  - name: after
    sql: {url: "sqlite:///out.db", statements: ["CREATE TABLE IF NOT EXISTS done (x INT)"]}
YAML
    for point in flow.after_sink_write:3 flow.after_checkpoint:5 flow.after_checkpoint:12 \
        run.after_step_recorded:1 run.after_step_recorded:2; do
        rm -f out.db st.db
        die_then_finish "$point"
        assert_eq "6000|6000|0|5999" \
            "$(q out.db 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM t')" "$point"
    done
}

test_faults_file_sink_every_point_exactly_once() {
    fault_input
    pipeline <<'YAML'
name: ffile
steps:
  - name: copy
    source: {type: file, url: "in/*.jsonl"}
    sink: {type: file, url: "out/all.jsonl"}
    batch_size: 500
YAML
    for point in flow.after_sink_write:2 file_sink.after_rename:1 flow.after_commit:1 \
        flow.acks_mid_transaction:1; do
        rm -rf out st.db
        die_then_finish "$point"
        assert_eq 6000 "$(wc -l < out/all.jsonl | tr -d ' ')" "$point: lines"
        assert_eq 6000 "$(sort -u out/all.jsonl | wc -l | tr -d ' ')" "$point: distinct lines"
        if ls out | grep -q tmp; then fail "$point: temp files left: $(ls out)"; fi
    done
}

test_faults_lake_every_point_exactly_once() {
    fault_input
    pipeline <<'YAML'
name: flake
steps:
  - name: lake
    source: {type: file, url: "in/*.jsonl"}
    sink: {type: lake, url: lake, format: parquet, partition_by: [day]}
    batch_size: 500
YAML
    for point in lake.after_marker:1 lake.after_first_publish:1 lake.after_first_publish:4 \
        flow.after_commit:1 flow.acks_mid_transaction:1; do
        rm -rf lake st.db
        die_then_finish "$point"
        got=$(node "$ROOT/tests/harness/pq_read_duckdb.js" "lake/**/*.parquet" \
            "SELECT count(*) AS n, count(DISTINCT id) AS d FROM read_parquet(\$F)" 2> duck.err) ||
            fail "DuckDB: $(cat duck.err)"
        assert_eq '{"n":"6000","d":"6000"}' "$got" "$point"
        if find lake -name '.part-*' | grep -q .; then fail "$point: temp files left"; fi
    done
}

test_faults_bad_spec_is_a_usage_error() {
    RC=0
    SLUICE_FAULT=nocount "$SLUICE" version > out.txt 2> err.txt || RC=$?
    assert_rc 2
    assert_contains err.txt "SLUICE_FAULT='nocount': expected NAME:N (N >= 1)"
}
