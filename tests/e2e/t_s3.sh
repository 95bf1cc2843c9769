# S3 input: the file source reading s3:// globs from s3rver (a local S3
# server that checks SigV4 signatures, tests/harness/s3rver.js), through a
# named connection or the AWS environment variables.

S3_AK=AKE2ETEST
S3_SK=e2e-secret-key-0123456789abcdef

# Starts s3rver with bucket "data"; sets S3_URL. Its stdin is a FIFO held
# open on fd 9: when this test's shell ends, the server ends too.
s3_start() {
    serve_start s3 9 300 node "$ROOT/tests/harness/s3rver.js" --bucket data \
        --key "$S3_AK:$S3_SK"
    S3_URL="http://127.0.0.1:$READY"
}

s3_stop() {
    serve_stop s3 9
}

# s3_put KEY FILE: uploads as the test's setup (s3rver accepts unsigned
# requests; sluice's own requests are always signed and checked).
s3_put() {
    curl -sf -X PUT --data-binary "@$2" "$S3_URL/data/$1" > /dev/null || fail "cannot upload $1"
}

s3_pipeline() {
    pipeline <<'YAML'
name: s3in
connections:
  lake:
    url: s3://data/logs
    endpoint: "${env:S3_ENDPOINT}"
    region: us-east-1
    access_key: AKE2ETEST
    secret_key: "${env:S3_SECRET}"
    path_style: true
steps:
  - name: load
    source: {type: file, connection: lake, url: "2026/*.jsonl*"}
    sink: {type: sql, url: "sqlite:///out.db", table: t}
YAML
}

test_s3_glob_to_sqlite_and_rerun_skips() {
    s3_start
    printf '{"id":1,"v":"a"}\n{"id":2,"v":"b"}\n' > a.jsonl
    printf '{"id":3,"v":"c"}\n{"id":4,"v":"d"}\n' | gzip > b.jsonl.gz
    printf '{"id":5,"v":"space"}\n' > sp.jsonl
    printf '{"id":99}\n' > other.jsonl
    s3_put logs/2026/a.jsonl a.jsonl
    s3_put logs/2026/b.jsonl.gz b.jsonl.gz
    s3_put "logs/2026/with%20space.jsonl" sp.jsonl
    s3_put logs/2026/sub/deeper.jsonl other.jsonl   # '*' stays within one level
    s3_put logs/2026/notes.txt other.jsonl
    s3_put logs/2025/old.jsonl other.jsonl
    export S3_ENDPOINT="$S3_URL" S3_SECRET="$S3_SK"
    s3_pipeline
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq "1,2,3,4,5" "$(q out.db 'SELECT group_concat(id) FROM (SELECT id FROM t ORDER BY id)')"
    assert_eq "space" "$(q out.db 'SELECT v FROM t WHERE id = 5')"
    # ingested objects: the s3:// URL, the size, the ETag as the hash
    md5a=$(md5sum < a.jsonl | cut -c1-32)
    assert_eq "s3://data/logs/2026/a.jsonl|34|$md5a|2" \
        "$(q st.db "SELECT path, size, hash, records FROM ingested_files WHERE path LIKE '%a.jsonl'")"
    assert_eq "s3://data/logs/2026/a.jsonl s3://data/logs/2026/b.jsonl.gz s3://data/logs/2026/with space.jsonl" \
        "$(q st.db 'SELECT path FROM ingested_files ORDER BY path' | tr '\n' ' ' | sed 's/ $//')"
    # a rerun reads nothing again
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq 5 "$(q out.db 'SELECT count(*) FROM t')"
    # a new object is read; a replaced one (new ETag) is read again
    printf '{"id":6}\n' > c.jsonl
    printf '{"id":7}\n' > a2.jsonl
    s3_put logs/2026/c.jsonl c.jsonl
    s3_put logs/2026/a.jsonl a2.jsonl
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq "1,2,3,4,5,6,7" "$(q out.db 'SELECT group_concat(id) FROM (SELECT id FROM t ORDER BY id)')"
    assert_not_contains err.txt "$S3_SK"
    s3_stop
}

test_s3_wrong_secret_fails_with_403() {
    s3_start
    printf '{"id":1}\n' > a.jsonl
    s3_put logs/2026/a.jsonl a.jsonl
    export S3_ENDPOINT="$S3_URL" S3_SECRET="not-the-secret-9876543210"
    s3_pipeline
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "s3://data: 403 SignatureDoesNotMatch"
    assert_not_contains err.txt "not-the-secret-9876543210"
    s3_stop
}

test_s3_url_with_environment_credentials() {
    s3_start
    printf '{"id":1,"name":"x"}\n{"id":2,"name":"y"}\n' > a.jsonl
    s3_put in/a.jsonl a.jsonl
    export AWS_ACCESS_KEY_ID="$S3_AK" AWS_SECRET_ACCESS_KEY="$S3_SK" AWS_ENDPOINT_URL="$S3_URL"
    pipeline <<'YAML'
name: s3env
steps:
  - name: s
    source: {type: file, url: "s3://data/in/a.jsonl"}
    sink: {type: file, url: "out.jsonl"}
YAML
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq '{"id":1,"name":"x"}
{"id":2,"name":"y"}' "$(cat out.jsonl)"
    # a missing object names bucket and key
    sed -i 's|in/a.jsonl|in/none.jsonl|' p.yaml
    sl run p.yaml --state st.db
    [ "$RC" != 0 ] || fail "a missing object must fail the run"
    assert_contains err.txt "s3://data/in/none.jsonl: 404 NoSuchKey"
    s3_stop
}

test_s3_file_sink_publishes_atomically() {
    s3_start
    mkdir -p in
    printf '{"id":1,"v":"a"}\n{"id":2,"v":"b"}\n' > in/a.jsonl
    export S3_ENDPOINT="$S3_URL" S3_SECRET="$S3_SK"
    pipeline <<'YAML'
name: s3out
connections:
  lake:
    url: s3://data/exports
    endpoint: "${env:S3_ENDPOINT}"
    access_key: AKE2ETEST
    secret_key: "${env:S3_SECRET}"
steps:
  - name: out
    source: {type: file, url: "in/*.jsonl"}
    sink: {type: file, connection: lake, url: "day/{{ run.pipeline }}.csv.gz"}
YAML
    sl run p.yaml --state st.db
    assert_rc 0
    curl -sf "$S3_URL/data/exports/day/s3out.csv.gz" | gunzip > got.csv ||
        fail "object not published"
    assert_eq 'id,v
1,a
2,b' "$(cat got.csv)"
    # nothing new: the object stays as it was
    sl run p.yaml --state st.db
    assert_rc 0
    curl -sf "$S3_URL/data/exports/day/s3out.csv.gz" | gunzip | wc -l | grep -q 3 ||
        fail "the object changed on an empty run"
    # a wrong secret fails before anything is published
    printf '{"id":3,"v":"c"}\n' > in/b.jsonl
    export S3_SECRET=wrong-secret
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "403"
    assert_contains err.txt "exports/day/s3out.csv.gz"
    s3_stop
}
