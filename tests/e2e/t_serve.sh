# `sluice serve`: real HTTP requests against a running server.

# serve_up [ARGS...]: starts sluice serve on a free port (fd 6); sets URL
serve_up() {
    rm -f serve.out serve.err serve.in
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
    if [ -n "${KEY:-}" ]; then
        set -- -H "x-api-key: $KEY" "$@"
    fi
    STATUS=$(curl -s -o body.json -D headers.txt -w '%{http_code}' "$@" "$URL$p")
}

# new_key NAME SCOPE...: prints a new key of the state store st.db
new_key() {
    n=$1
    shift
    args=""
    for sc in "$@"; do args="$args --scope $sc"; done
    # shellcheck disable=SC2086
    "$SLUICE" keys create --name "$n" $args --state st.db 2>/dev/null
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
    KEY=$(new_key reader read)
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
    # pages: a cursor after each full page, the runs newest first, each once
    sl run p.yaml --state st.db
    sl run p.yaml --state st.db
    get "/api/v1/runs?limit=2"
    assert_eq 2 "$(json b.runs.length)"
    page1=$(json 'b.runs.map(r => r.id).join()')
    cursor=$(json b.next_cursor | tr -d '"')
    get "/api/v1/runs?limit=2&cursor=$cursor"
    assert_eq 1 "$(json b.runs.length)"
    assert_eq "\"$id\"" "$(json b.runs[0].id)"
    assert_eq undefined "$(json b.next_cursor)"
    case "$page1" in *"$id"*) fail "the oldest run on both pages" ;; esac
    get "/api/v1/runs?since=2999-01-01T00:00:00Z"
    assert_eq 0 "$(json b.runs.length)"
    get "/api/v1/runs?until=2999-01-01T00:00:00Z&pipeline=demo"
    assert_eq 3 "$(json b.runs.length)"
    get "/api/v1/runs?since=yesterday"
    assert_eq 400 "$STATUS"
    get "/api/v1/runs?cursor=abc"
    assert_eq 400 "$STATUS"
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

# wait_run ID STATUS: polls the API until the run has STATUS (30 s at most)
wait_run() {
    i=0
    while :; do
        get "/api/v1/runs/$1"
        [ "$(json b.status)" = "\"$2\"" ] && return 0
        i=$((i + 1))
        [ $i -lt 300 ] || fail "run $1 never became $2: $(cat body.json)"
        sleep 0.1
    done
}

cal_site() { # a calendar site that never answers for 2026-12-24
    serve_start cal 7 300 node "$ROOT/tests/fakes/calendar_server.js" --hang 2026-12-24
    SITE="http://127.0.0.1:$READY"
}

api_pipelines() {
    printf '{"id":1}\n{"id":2}\n' > in.jsonl
    pipeline <<YAML
name: copy
params:
  n: {type: int, default: 1}
  tag: {type: string, default: "t"}
routes:
  - {method: POST, path: /copy, params_from: [body, query]}
  - {method: POST, path: "/copy/{tag}/now", wait: true, timeout: 20s}
  - method: POST
    path: /process
    wait: true
    response:
      status: 201
      body: '{"task_id": "{{ run.id }}", "tag": "{{ params.tag }}", "rows": {{ steps.copy.output.records_out }}}'
steps:
  - name: copy
    full_refresh: true   # every run reads the input again
    source: {type: file, url: in.jsonl}
    transforms: [{type: set, fields: {n: "{{ params.n }}", tag: "{{ params.tag }}"}}]
    sink: {type: file, url: "out/{{ params.tag }}-{{ params.n }}.jsonl"}
YAML
    pipeline slow.yaml <<YAML
name: slow
params:
  day: {type: string, default: "2026-12-24"}
routes:
  - {method: POST, path: /slow, wait: true, timeout: 1s}
steps:
  - name: pull
    source: {type: http, url: "$SITE/calendar?date={{ params.day }}", records: events, retry: {max: 0},
             timeout_ms: 600000}
    sink: {type: file, url: "slow.jsonl"}
YAML
}

test_serve_runs_from_the_api_and_routes() {
    cal_site
    api_pipelines
    KEY=$(new_key all read write 'route:*')
    serve_up --state st.db p.yaml slow.yaml
    # the API: queued, then ok
    get /api/v1/pipelines/copy/runs -X POST -d '{"params": {"n": 7, "tag": "api"}}'
    assert_eq 202 "$STATUS"
    assert_eq '"queued"' "$(json b.status)"
    id=$(json b.run_id | tr -d '"')
    assert_eq "\"/api/v1/runs/$id\"" "$(json b.status_url)"
    wait_run "$id" ok
    assert_eq '"api"' "$(json b.trigger)"
    assert_eq '{"id":1,"n":7,"tag":"api"}' "$(head -n 1 out/api-7.jsonl)"
    # a param that does not fit is a 400 naming it; nothing is queued
    get /api/v1/pipelines/copy/runs -X POST -d '{"params": {"n": "seven"}}'
    assert_eq 400 "$STATUS"
    assert_eq '"param '"'"'n'"'"': expected an integer, got '"'"'seven'"'"'"' "$(json b.error.message)"
    get /api/v1/pipelines/copy/runs -X POST -d '{"params": {"m": 1}}'
    assert_eq 400 "$STATUS"
    get /api/v1/pipelines/nope/runs -X POST -d '{}'
    assert_eq 404 "$STATUS"
    get /api/v1/pipelines/copy/runs -X POST -d '[1]'
    assert_eq 400 "$STATUS"
    # a retried request with the same Idempotency-Key gets the same run
    get /api/v1/pipelines/copy/runs -X POST -d '{"params": {"n": 8}}' -H "Idempotency-Key: req-42"
    assert_eq 202 "$STATUS"
    first=$(json b.run_id)
    get /api/v1/pipelines/copy/runs -X POST -d '{"params": {"n": 8}}' -H "Idempotency-Key: req-42"
    assert_eq 202 "$STATUS"
    assert_eq "$first" "$(json b.run_id)"
    assert_eq true "$(json b.replayed)"
    get /api/v1/pipelines/copy/runs -X POST -d '{"params": {"n": 8}}' -H "Idempotency-Key: req-43"
    [ "$(json b.run_id)" != "$first" ] || fail "another key, the same run"
    get /api/v1/pipelines/copy/runs -X POST -d '{}' -H "Idempotency-Key: a b"
    assert_eq 400 "$STATUS"
    # a route that does not wait: 202; params from the body, then the query
    get "/copy?tag=q" -X POST -d '{"n": 3}'
    assert_eq 202 "$STATUS"
    wait_run "$(json b.run_id | tr -d '"')" ok
    assert_eq '{"id":2,"n":3,"tag":"q"}' "$(tail -n 1 out/q-3.jsonl)"
    # a route that waits answers with the run; {tag} from the path
    get /copy/now1/now -X POST
    assert_eq 200 "$STATUS"
    assert_eq '"ok"' "$(json b.status)"
    assert_eq 2 "$(json b.steps[0].records_out)"
    [ -f out/now1-1.jsonl ] || fail "no out/now1-1.jsonl"
    get /copy/x/now -X GET
    assert_eq 405 "$STATUS"
    # a route's response template over the ended run
    get "/process?tag=pr" -X POST
    assert_eq 201 "$STATUS"
    assert_eq '"pr 2"' "$(json 'b.tag + " " + b.rows')"
    [ "$(json b.task_id | tr -d '"' | wc -c)" = 37 ] || fail "no task id: $(cat body.json)"
    # waiting longer than the route's timeout: 202, the run goes on
    get /slow -X POST
    assert_eq 202 "$STATUS"
    slow=$(json b.run_id | tr -d '"')
    wait_run "$slow" running
    # cancel: the run's process stops at once (its request is cut), cancelled
    get "/api/v1/runs/$slow/cancel" -X POST
    assert_eq 202 "$STATUS"
    wait_run "$slow" cancelled
    get "/api/v1/runs/$slow/cancel" -X POST
    assert_eq 409 "$STATUS"
    serve_down
    serve_stop cal 7
}

test_serve_survives_a_killed_run_and_stops_runs_on_sigterm() {
    cal_site
    api_pipelines
    KEY=$(new_key all read write 'route:*')
    serve_up --state st.db p.yaml slow.yaml
    get /slow -X POST
    id=$(json b.run_id | tr -d '"')
    wait_run "$id" running
    pid=$(sed -n "s/.*run $id of slow started (pid \([0-9]*\)).*/\1/p" serve.err)
    [ -n "$pid" ] || fail "no pid for run $id: $(cat serve.err)"
    kill -9 "$pid"
    wait_run "$id" failed
    assert_eq '"the run'"'"'s process was killed by signal 9 (Killed)"' "$(json b.error)"
    get /healthz
    assert_eq 200 "$STATUS"
    # SIGTERM: the running run is stopped (interrupted, for the next start
    # to resume), the server exits
    get /slow -X POST
    id2=$(json b.run_id | tr -d '"')
    wait_run "$id2" running
    serve_down
    [ "$(sqlite3 st.db "select status from runs where id = '$id2'")" = interrupted ] ||
        fail "run $id2: $(sqlite3 st.db "select status, error from runs where id = '$id2'")"
    assert_contains serve.err "SIGTERM: stopping"
    serve_stop cal 7
}

test_serve_api_keys_and_scopes() {
    demo_pipeline
    cat >> p.yaml <<'YAML'
routes:
  - {method: POST, path: /open, auth: none}
  - {method: POST, path: /shared, auth: "${env:SHARED_KEY}"}
  - {method: POST, path: /keyed}
YAML
    reader=$(new_key reader read)
    writer=$(new_key writer write)
    router=$(new_key router 'route:/keyed')
    gone=$(new_key gone read)
    "$SLUICE" keys revoke gone --state st.db 2>/dev/null
    SHARED_KEY=the-one-shared-key-0123456789 serve_up --state st.db p.yaml
    KEY=""
    get /healthz
    assert_eq 200 "$STATUS"
    get /api/v1/runs
    assert_eq 401 "$STATUS"
    assert_eq '"unauthorized"' "$(json b.error.code)"
    KEY="slk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    get /api/v1/runs
    assert_eq 401 "$STATUS"
    KEY=$gone
    get /api/v1/runs
    assert_eq 401 "$STATUS"
    KEY=$reader
    get /api/v1/runs
    assert_eq 200 "$STATUS"
    get /api/v1/runs -H "Authorization: Bearer $reader" -H "x-api-key:"
    assert_eq 200 "$STATUS"
    get /api/v1/pipelines/demo/runs -X POST -d '{}'
    assert_eq 403 "$STATUS"
    assert_eq '"the key'"'"'s scopes do not allow write"' "$(json b.error.message)"
    KEY=$writer
    get /api/v1/pipelines/demo/runs -X POST -d '{}'
    assert_eq 202 "$STATUS"
    get /keyed -X POST
    assert_eq 403 "$STATUS"
    KEY=$router
    get /keyed -X POST
    assert_eq 202 "$STATUS"
    get /api/v1/runs
    assert_eq 403 "$STATUS"
    KEY=""
    get /open -X POST
    assert_eq 202 "$STATUS"
    get /shared -X POST
    assert_eq 401 "$STATUS"
    KEY=the-one-shared-key-0123456789
    get /shared -X POST
    assert_eq 202 "$STATUS"
    KEY=wrong
    get /shared -X POST
    assert_eq 401 "$STATUS"
    serve_down
    # no key reaches the log
    for k in "$reader" "$writer" "$router" "$gone" the-one-shared-key-0123456789; do
        assert_not_contains serve.err "$k"
    done
}

test_serve_metrics_in_prometheus_format() {
    demo_pipeline
    KEY=$(new_key metrics read write)
    serve_up --state st.db p.yaml
    get /api/v1/pipelines/demo/runs -X POST -d '{}'
    id=$(json b.run_id | tr -d '"')
    wait_run "$id" ok
    get /nope
    # the worker counts the run once its process is reaped
    i=0
    until get /metrics && grep -q 'sluice_runs_total{pipeline="demo",status="ok"} 1' body.json; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "no run in /metrics: $(cat body.json)"
        sleep 0.1
    done
    grep -qi '^Content-Type: text/plain; version=0.0.4' headers.txt || fail "$(cat headers.txt)"
    # parsed by a parser of the format, values checked
    node -e '
const parse = require(process.argv[1]);
const fams = parse(require("fs").readFileSync("body.json", "utf8"));
const by = Object.fromEntries(fams.map((f) => [f.name, f]));
const val = (f, labels) => {
  const m = by[f].metrics.find((x) => x.labels &&
    Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return m ? Number(m.value) : undefined;
};
const want = [
  [val("sluice_http_requests_total", {route: "other", status: "404"}), 1],
  [val("sluice_http_requests_total", {route: "/api/v1/pipelines/{name}/runs", status: "202"}), 1],
  [val("sluice_runs_total", {pipeline: "demo", status: "ok"}), 1],
  [val("sluice_records_total", {pipeline: "demo", step: "copy", kind: "out"}), 2],
  [Number(by.sluice_runs_queued.metrics[0].value), 0],
];
for (const [got, exp] of want) if (got !== exp) { console.error(JSON.stringify(fams)); process.exit(1); }
if (by.sluice_step_duration_seconds.type !== "HISTOGRAM") process.exit(2);
' "$ROOT/tests/node_modules/parse-prometheus-text-format" || fail "metrics: $(cat body.json)"
    # (that parser keeps no labels of histograms: their lines by the format's rules)
    grep -q '^sluice_step_duration_seconds_count{pipeline="demo",step="copy"} 1$' body.json ||
        fail "no step duration count: $(grep step_duration body.json)"
    grep -q '^sluice_step_duration_seconds_bucket{pipeline="demo",step="copy",le="+Inf"} 1$' body.json ||
        fail "no +Inf bucket"
    # it needs a key, as the API does
    KEY=""
    get /metrics
    assert_eq 401 "$STATUS"
    serve_down
}

sched_pipeline() { # SCHEDULE_YAML
    pipeline sched.yaml <<YAML
name: nightly
schedule: $1
steps:
  - {name: s, sql: {url: "sqlite:///n.db", statements: ["CREATE TABLE IF NOT EXISTS t (x int)", "INSERT INTO t VALUES (1)"]}}
YAML
}

test_serve_schedule_fires_and_catches_up() {
    sched_pipeline '{cron: "0 8 * * ? *", timezone: UTC, catchup: latest}'
    KEY=$(new_key sched read)
    # a clock three seconds before the tick
    SLUICE_CLOCK=2026-03-08T07:59:57Z serve_up --state st.db sched.yaml
    i=0
    until [ "$(sqlite3 st.db "select count(*) from runs where trigger = 'schedule' and status = 'ok'" 2>/dev/null)" = 1 ]; do
        i=$((i + 1))
        [ $i -lt 150 ] || fail "the schedule did not fire: $(cat serve.err)"
        sleep 0.1
    done
    assert_contains serve.err "schedule: nightly: 0 8 * * ? * (UTC), next at 2026-03-08T08:00:00Z"
    assert_contains serve.err "schedule: nightly: tick 2026-03-08T08:00:00Z: run"
    get /metrics
    grep -q '^sluice_scheduler_lag_seconds ' body.json || fail "no scheduler lag: $(cat body.json)"
    serve_down
    # the server was down over the next tick: catchup: latest runs it at start
    SLUICE_CLOCK=2026-03-09T09:00:00Z serve_up --state st.db sched.yaml
    i=0
    until [ "$(sqlite3 st.db "select count(*) from runs where trigger = 'schedule' and status = 'ok'" 2>/dev/null)" = 2 ]; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "no catch-up run: $(cat serve.err)"
        sleep 0.1
    done
    assert_contains serve.err "tick 2026-03-09T08:00:00Z (missed while no server ran; catchup: latest)"
    serve_down
    assert_eq 2 "$(q n.db 'select count(*) from t')"
}

test_schedule_next_across_dst() {
    # America/Chicago springs forward on 2026-03-08 (02:00 -> 03:00): 02:30
    # does not exist that day, and falls back on 2026-11-01 (01:00-02:00 twice)
    sched_pipeline '{cron: "30 2 * * ? *", timezone: America/Chicago}'
    SLUICE_CLOCK=2026-03-07T12:00:00Z sl schedule next sched.yaml -n 2
    assert_rc 0
    assert_eq "nightly: 30 2 * * ? * (America/Chicago)
  2026-03-09T07:30:00Z  2026-03-09 02:30:00 CDT
  2026-03-10T07:30:00Z  2026-03-10 02:30:00 CDT" "$(cat out.txt)"
    sched_pipeline '{cron: "30 1 * * ? *", timezone: America/Chicago}'
    SLUICE_CLOCK=2026-10-31T12:00:00Z sl schedule next sched.yaml -n 2
    assert_eq "  2026-11-01T06:30:00Z  2026-11-01 01:30:00 CDT
  2026-11-02T07:30:00Z  2026-11-02 01:30:00 CST" "$(tail -n 2 out.txt)"
    sched_pipeline '"rate(5 minute)"'
    sl validate sched.yaml
    assert_rc 2
    assert_contains err.txt "sched.yaml:2:11: schedule: "
    sched_pipeline '{cron: "0 8 * * ? *", timezone: Mars/Base}'
    sl validate sched.yaml
    assert_rc 2
    assert_contains err.txt "unknown time zone 'Mars/Base'"
}

test_serve_items_resume_and_restart() {
    cal_site
    api_pipelines
    printf '{"id":1}\n' > in-a.jsonl
    printf '{"id":3}\n' > in-c.jsonl
    pipeline per.yaml <<'YAML'
name: per
steps:
  - name: per
    map:
      items: [a, b, c]
      tolerated_failure_count: 1
      steps:
        - name: load
          source: {type: file, url: "in-{{ item }}.jsonl"}
          sink: {type: sql, url: "sqlite:///per.db", table: t, mode: append}
YAML
    KEY=$(new_key all read write 'route:*')
    serve_up --state st.db p.yaml slow.yaml per.yaml
    get /api/v1/pipelines/per/runs -X POST -d '{}'
    id=$(json b.run_id | tr -d '"')
    wait_run "$id" partial
    assert_eq '{"per":{"total":3,"ok":2,"failed":1}}' "$(json b.items)"
    get "/api/v1/runs/$id/items?step=per&status=failed"
    assert_eq '"b failed"' "$(json 'b.items.map(i => i.item + " " + i.status).join()')"
    assert_contains body.json "in-b.jsonl"
    get "/api/v1/runs/$id/items?step=per&after=0&limit=1"
    assert_eq '"b"' "$(json b.items[0].item)"
    get "/api/v1/runs/$id/items"
    assert_eq 400 "$STATUS"
    # the items of the runs the worker ran are in /metrics
    i=0
    until get /metrics && grep -q '^sluice_items_total{pipeline="per",step="per",status="ok"} 2' body.json; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "no items in /metrics: $(grep item body.json)"
        sleep 0.1
    done
    grep -q '^sluice_items_total{pipeline="per",step="per",status="failed"} 1' body.json ||
        fail "no failed item: $(grep items_total body.json)"
    grep -q '^sluice_item_duration_seconds_count{pipeline="per",step="per"} 3$' body.json ||
        fail "no item durations: $(grep item_duration body.json)"
    # the missing file arrives: resume runs only the failed item
    printf '{"id":2}\n' > in-b.jsonl
    get "/api/v1/runs/$id/resume" -X POST
    assert_eq 202 "$STATUS"
    wait_run "$id" ok
    assert_eq 1 "$(json b.redrive_count)"
    assert_eq "1|2|3" "$(q per.db 'select group_concat(id, "|") from (select id from t order by id)')"
    get "/api/v1/runs/$id/resume" -X POST
    assert_eq 409 "$STATUS"
    # a run the server's stop interrupts is resumed when it starts again
    get /slow -X POST
    slow=$(json b.run_id | tr -d '"')
    wait_run "$slow" running
    serve_down
    assert_eq interrupted "$(sqlite3 st.db "select status from runs where id = '$slow'")"
    serve_up --state st.db p.yaml slow.yaml per.yaml
    wait_run "$slow" running
    assert_contains serve.err "resuming run $slow of slow, interrupted when a server stopped"
    get "/api/v1/runs/$slow/cancel" -X POST
    wait_run "$slow" cancelled
    serve_down
    serve_stop cal 7
}

test_serve_slow_client_is_cut_off() {
    demo_pipeline
    serve_up --state st.db --idle-timeout 2 p.yaml
    port=${URL##*:}
    # a client that sends half a request and then nothing: the server goes
    # on answering others, and closes that connection after the idle time
    node -e '
const net = require("net"), http = require("http");
const port = Number(process.argv[1]);
const slow = net.connect(port, "127.0.0.1", () => slow.write("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
let answered = false;
setTimeout(() => http.get({port, host: "127.0.0.1", path: "/healthz"}, (r) => {
  answered = r.statusCode === 200; r.resume(); }), 300);
slow.on("close", () => {
  if (!answered) { console.error("others were not answered meanwhile"); process.exit(1); }
  process.exit(0);
});
// a watchdog, far past the idle time: the connection must have been cut
setTimeout(() => { console.error("never closed"); process.exit(3); }, 30000);
' "$port" || fail "slow client"
    serve_down
}

test_serve_schedule_overlap_skip_and_queue() {
    cal_site
    # every minute, on a clock running 60 times as fast: a tick a second;
    # the run hangs on its request, so every later tick finds it running
    pipeline busy.yaml <<YAML
name: busy
schedule: {cron: "* * * * ? *", overlap: skip}
steps:
  - name: pull
    source: {type: http, url: "$SITE/calendar?date=2026-12-24", records: events, retry: {max: 0}}
    sink: {type: file, url: "busy.jsonl"}
YAML
    SLUICE_CLOCK=2026-03-08T07:59:58Z SLUICE_CLOCK_RATE=60 serve_up --state st.db busy.yaml
    i=0
    until [ "$(grep -c 'skipped: a run of it is queued or running (overlap: skip)' serve.err)" -ge 2 ]; do
        i=$((i + 1))
        [ $i -lt 150 ] || fail "no tick skipped: $(cat serve.err)"
        sleep 0.1
    done
    serve_down
    assert_eq 1 "$(sqlite3 st.db "select count(*) from runs where pipeline = 'busy'")"
    # overlap: queue queues a run at every tick instead
    sed -i 's/overlap: skip/overlap: queue/' busy.yaml
    SLUICE_CLOCK=2026-03-09T07:59:58Z SLUICE_CLOCK_RATE=60 serve_up --state st.db --no-resume busy.yaml
    i=0
    until [ "$(sqlite3 st.db "select count(*) from runs where pipeline = 'busy' and status = 'pending'")" -ge 2 ]; do
        i=$((i + 1))
        [ $i -lt 150 ] || fail "no runs queued: $(sqlite3 st.db 'select status, count(*) from runs group by 1')"
        sleep 0.1
    done
    serve_down
    serve_stop cal 7
}
