# `sluice serve`: real HTTP requests against a running server.

# serve_up [ARGS...]: starts sluice serve on a free port (fd 6); sets URL
serve_up() {
    rm -f serve.out serve.err
    mkfifo serve.in
    "$SLUICE" serve --listen 127.0.0.1:0 "$@" < serve.in > serve.out 2> serve.err &
    SERVE_PID=$!
    exec 6> serve.in
    i=0
    until grep -q 'listening on http://' serve.out 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "serve did not start: $(cat serve.err)"
        kill -0 $SERVE_PID 2>/dev/null || fail "serve exited: $(cat serve.err)"
        sleep 0.1
    done
    URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' serve.out)
}

serve_down() {
    kill -TERM $SERVE_PID 2>/dev/null || true
    wait $SERVE_PID 2>/dev/null || true
    exec 6>&-
}

# get PATH [CURL ARGS...]: the body in body.json, the status in $STATUS,
# the headers in headers.txt
get() {
    p=$1
    shift
    STATUS=$(curl -s -o body.json -D headers.txt -w '%{http_code}' "$@" "$URL$p")
}

json() { # EXPR over the body b
    node -e "const b = JSON.parse(require('fs').readFileSync('body.json', 'utf8')); console.log(JSON.stringify($1))"
}

demo_pipeline() {
    printf '{"id":1}\n{"id":2}\n' > in.jsonl
    pipeline <<'YAML'
name: demo
description: two records into a file
steps:
  - name: copy
    source: {type: file, url: in.jsonl}
    sink: {type: file, url: out.jsonl}
YAML
}

test_serve_api_reads_runs_and_pipelines() {
    demo_pipeline
    sl run p.yaml --state st.db --log-format json
    assert_rc 0
    id=$(sqlite3 st.db 'select id from runs')
    serve_up --state st.db p.yaml
    get /healthz
    assert_eq 200 "$STATUS"
    assert_eq '"ok"' "$(json b.status)"
    grep -qi '^X-Request-Id: [0-9a-f]\{16\}' headers.txt || fail "no request id: $(cat headers.txt)"
    get /readyz
    assert_eq 200 "$STATUS"
    get /api/v1/pipelines
    assert_eq '[{"name":"demo","description":"two records into a file","steps":1}]' "$(json b.pipelines)"
    get /api/v1/runs
    assert_eq 200 "$STATUS"
    assert_eq "\"$id\"" "$(json b.runs[0].id)"
    get "/api/v1/runs?status=failed"
    assert_eq 0 "$(json b.runs.length)"
    get "/api/v1/runs/$id"
    assert_eq '"ok copy ok 2"' "$(json '[b.status, b.steps[0].step, b.steps[0].status, b.steps[0].output.records_out].join(" ")')"
    # a unique prefix finds the run too
    get "/api/v1/runs/${id%%-*}"
    assert_eq 200 "$STATUS"
    # errors are JSON with a code
    get /api/v1/runs/00000000-0000-0000-0000-000000000000
    assert_eq 404 "$STATUS"
    assert_eq '"not_found"' "$(json b.error.code)"
    get /nope
    assert_eq 404 "$STATUS"
    get "/api/v1/runs?limit=0"
    assert_eq 400 "$STATUS"
    assert_eq '"limit: expected 1 to 1000, got '"'"'0'"'"'"' "$(json b.error.message)"
    get "/api/v1/runs?status=happy"
    assert_eq 400 "$STATUS"
    get /api/v1/runs -X DELETE
    assert_eq 405 "$STATUS"
    # a body over the limit is refused with 413, and the server goes on
    head -c 2000000 /dev/zero > big.bin
    get /api/v1/runs -X POST --data-binary @big.bin
    assert_eq 413 "$STATUS"
    get /healthz
    assert_eq 200 "$STATUS"
    # one access log line per request, with its request id
    rid=$(sed -n 's/^X-Request-Id: \([0-9a-f]*\).*/\1/Ip' headers.txt | tr -d '\r')
    assert_contains serve.err "request_id=$rid method=GET path=/healthz status=200"
    serve_down
    assert_contains serve.err "SIGTERM: stopping"
}

test_serve_refuses_what_it_cannot_serve() {
    demo_pipeline
    sl serve --listen localhost:80 --state st.db p.yaml
    assert_rc 2
    assert_contains err.txt "'localhost' is not an IPv4 address"
    sl serve --listen 127.0.0.1 --state st.db p.yaml
    assert_rc 2
    assert_contains err.txt "expected HOST:PORT"
    cp p.yaml q.yaml
    sl serve --listen 127.0.0.1:0 --state st.db p.yaml q.yaml
    assert_rc 2
    assert_contains err.txt "both hold pipeline 'demo'"
    # a port in use
    serve_up --state st.db p.yaml
    port=${URL##*:}
    sl serve --listen "127.0.0.1:$port" --state st.db p.yaml
    assert_rc 1
    assert_contains err.txt "cannot listen on 127.0.0.1:$port"
    serve_down
}
