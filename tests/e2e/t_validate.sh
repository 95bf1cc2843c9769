# `sluice validate` finds what used to fail only at run time (ranges,
# lengths, rules between keys, connection keys and names) with
# file:line:col, and works on a machine without the pipeline's secrets.

test_validate_two_character_delimiter() {
    mkdir -p in
    printf 'a;b\n1;2\n' > in/a.csv
    pipeline <<'YAML'
name: v
steps:
  - name: s
    source: {type: file, url: "in/*.csv", delimiter: ";;"}
    sink: {type: stdout}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_eq "p.yaml:4:54: source 'file': delimiter must be one character, got ';;'" \
        "$(cat err.txt)" "message"
    # a run stops at the same check, before reading anything
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "p.yaml:4:54: source 'file': delimiter must be one character, got ';;'"
    assert_eq "" "$(cat out.txt)" "stdout of the failed run"
}

test_validate_misspelled_connection_key() {
    pipeline <<'YAML'
name: v
connections:
  lake:
    url: s3://bucket/bronze
    acess_key_id: "${env:S3_KEY}"
steps:
  - name: s
    source: {type: file, url: "in/*.jsonl"}
    sink: {type: lake, connection: lake}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:5: connection 'lake': unknown key 'acess_key_id' (did you mean 'access_key'?)"
    # a plugin naming a connection that does not exist
    pipeline <<'YAML'
name: v
connections:
  lake: {url: s3://bucket/bronze}
steps:
  - name: s
    source: {type: file, url: "in/*.jsonl"}
    sink: {type: lake, connection: laek}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:7:36: sink 'lake': no connection named 'laek' in the pipeline (connections: lake)"
}

test_validate_ranges() {
    pipeline <<'YAML'
name: v
steps:
  - name: s
    source: {type: http, url: "http://127.0.0.1:1/x", timeout_ms: 0}
    sink: {type: stdout}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_eq "p.yaml:4:67: source 'http': key 'timeout_ms' must be at least 1, got 0" \
        "$(cat err.txt)" "message"
    pipeline <<'YAML'
name: v
steps:
  - name: s
    source:
      type: http
      url: "http://127.0.0.1:1/x"
      rate_limit: {per_second: 0}
      retry: {max: 1000}
    sink: {type: stdout}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:7:32: source 'http': rate_limit: key 'per_second' must be above 0, got 0"
    pipeline <<'YAML'
name: v
steps:
  - name: s
    source: {type: file, url: "in/*.jsonl"}
    sink: {type: lake, url: lake, max_file_rows: -5}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:50: sink 'lake': key 'max_file_rows' must be at least 1, got -5"
    # the help shows defaults and ranges
    sl help http
    assert_rc 0
    assert_contains out.txt "[default 30000; at least 1]"
    assert_contains out.txt "retry.max"
    assert_contains out.txt "[default 5; 0 to 100]"
    sl help file
    assert_contains out.txt "[default ',' (tab for .tsv)]"
}

test_validate_rules_between_keys() {
    for case in \
        '{type: http, url: "http://h/x", pagination: {type: cursor}}~source '"'"'http'"'"': pagination: cursor needs cursor_path' \
        '{type: http, url: "http://h/x", pagination: {type: page, size: 50}}~source '"'"'http'"'"': pagination: size is sent as size_param' \
        '{type: http, url: "http://h/x", pagination: {type: offset, size: 50}}~pagination: size does not apply to type offset (its keys: param, start, limit_param, limit)' \
        '{type: http, url: "http://h/x", auth: {type: bearer, value: x}}~auth: value does not apply to type bearer' \
        '{type: http, url: "ftp://h/x"}~url: '"'"'ftp://h/x'"'"' is not an http:// or https:// URL' \
        '{type: sql, url: "mysql://u@h/db", table: t}~source '"'"'sql'"'"': database '"'"'mysql://***@h/db'"'"' not supported' \
        '{type: sql, url: "sqlite:///x.db", query: "SELECT 1", incremental: {cursor_field: u}}~incremental reads of a query need primary_key' \
        '{type: file, url: "a.jsonl", format: jsonl, header: false}~source '"'"'file'"'"': header applies to CSV, not format jsonl'; do
        pipeline <<YAML
name: v
steps:
  - name: s
    source: ${case%%~*}
    sink: {type: stdout}
YAML
        sl validate p.yaml
        assert_rc 2
        assert_contains err.txt "p.yaml:4:"
        assert_contains err.txt "${case#*~}"
    done
    pipeline <<'YAML'
name: v
steps:
  - name: s
    source: {type: file, url: "a.jsonl"}
    sink: {type: lake, url: lake, compression_level: 3}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:54: sink 'lake': compression_level applies to zstd and gzip, not snappy"
    [ ! -e lake ] || fail "validate must not create the lake"
}

test_validate_bronze_without_secrets() {
    RC=0
    env -u API_KEY "$SLUICE" validate "$ROOT/examples/bronze-lake/pipeline.yaml" \
        > out.txt 2> err.txt || RC=$?
    assert_rc 0
    assert_contains err.txt "examples/bronze-lake/pipeline.yaml:92:70: warning: \${env:API_KEY} is not set (a run needs it)"
    assert_eq 1 "$(wc -l < err.txt | tr -d ' ')" "warnings (one node, shared by an alias)"
    assert_contains out.txt "ok (pipeline 'bronze_ingestion', 1 step; 1 warning)"
    RC=0
    env -u API_KEY "$SLUICE" validate --strict "$ROOT/examples/bronze-lake/pipeline.yaml" \
        > out.txt 2> err.txt || RC=$?
    assert_rc 2
    assert_contains err.txt "pipeline.yaml:92:70: environment variable 'API_KEY' is not set"
}

test_validate_examples_without_any_secret() {
    n=0
    for f in "$ROOT"/examples/*/pipeline.yaml; do
        RC=0
        env -i PATH="$PATH" "$SLUICE" validate "$f" > out.txt 2> err.txt || RC=$?
        [ "$RC" = 0 ] || fail "$f: exit code $RC: $(cat err.txt)"
        assert_contains out.txt ": ok (pipeline "
        n=$((n + 1))
    done
    [ "$n" -ge 2 ] || fail "expected the shipped examples, found $n"
}

test_validate_secret_value_never_printed() {
    export API_KEY=zq-distinctive-secret-8841
    env | grep -q zq-distinctive-secret-8841 || fail "the test's variable is not exported"
    sl validate "$ROOT/examples/bronze-lake/pipeline.yaml"
    assert_rc 0
    assert_eq "" "$(cat err.txt)" "stderr with every secret set"
    assert_not_contains out.txt zq-distinctive-secret-8841
    # an error about the value itself shows <secret>
    pipeline <<'YAML'
name: v
steps:
  - name: s
    source: {type: file, url: "in/*.csv", delimiter: "${env:API_KEY}"}
    sink: {type: stdout}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "delimiter must be one character, got '<secret>'"
    assert_not_contains err.txt zq-distinctive-secret-8841
    # and a run that fails at the API neither
    pipeline <<'YAML'
name: v
steps:
  - name: s
    source:
      type: http
      url: "http://127.0.0.1:1/payments"
      auth: {type: api_key, query: api_key, value: "${env:API_KEY}"}
      retry: {max: 0}
    sink: {type: stdout}
YAML
    sl run p.yaml --state st.db --log-level debug
    assert_rc 1
    assert_contains err.txt "127.0.0.1:1/payments"
    assert_not_contains err.txt zq-distinctive-secret-8841
    assert_not_contains out.txt zq-distinctive-secret-8841
}
