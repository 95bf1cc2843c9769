# Orchestration of a run's steps: retry, timeout, catch (and when/outputs in
# t_steps.sh), against the fake API (tests/fakes/api_server.js) and SQLite.

API_KEY=e2e-orch-key-7d1e

orch_api_start() { # [ARGS...]: the fake with the key; sets API_URL
    serve_start api 7 300 node "$ROOT/tests/fakes/api_server.js" --key "$API_KEY" "$@"
    API_URL="http://127.0.0.1:$READY"
}

orch_stat() { # JS expression over the fake's /_stats object s
    curl -sf "$API_URL/_stats" | node -e \
        "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{const s=JSON.parse(d);console.log($1)})"
}

# summary FIELD_EXPR: a JS expression over the run summary s and its steps
# by name (by), from err.txt (--log-format json)
summary() {
    node -e '
const lines = require("fs").readFileSync("err.txt", "utf8").split("\n").filter(Boolean)
  .map(l => { try { return JSON.parse(l); } catch (e) { return {}; } });
const s = lines.find(o => o.msg === "run summary");
const by = Object.fromEntries(s.steps.map(x => [x.step, x]));
console.log(JSON.stringify('"$1"'));'
}

api_step_pipeline() { # STEP_KEYS (indented 4): one http step with its source retries off
    pipeline <<YAML
name: orch
steps:
  - name: pull
    source:
      type: http
      url: "$API_URL/payments"
      auth: {type: api_key, header: x-api-key, value: "$API_KEY"}
      records: data.items
      pagination: {type: cursor, cursor_path: meta.next_cursor, param: cursor}
      retry: {max: 0}
    sink: {type: file, url: "out/payments.jsonl"}
$1
YAML
}

test_orch_step_retry_after_transient_failures() {
    # two 500s: the source gives up at once (retry max 0), the step tries again
    FAKE_API_FAULTS='{"faults":[{"type":"500","times":2}]}' orch_api_start --payments 30 --page-size 10
    api_step_pipeline "    retry: {max_attempts: 3, interval: 10ms, on: [transient]}"
    sl run p.yaml --state st.db --log-format json
    assert_rc 0
    assert_eq 30 "$(wc -l < out/payments.jsonl | tr -d ' ')"
    assert_eq '"2 3"' "$(orch_stat '[s.by_status[500], s.by_status[200]].join(" ")' | sed 's/.*/"&"/')"
    assert_eq '3' "$(summary 'by.pull.attempts')"
    assert_contains err.txt "pull: attempt 1 of 3 failed (transient"
    assert_contains err.txt "pull: attempt 2 of 3 failed (transient"
    # the run history keeps the attempts and the step's output
    id=$(summary 's.run' | tr -d '"')
    sl runs show "$id" --state st.db
    assert_rc 0
    assert_contains out.txt "    attempts: 3"
    assert_contains out.txt '    output: {"files":["out/payments.jsonl"],"records_in":30,"records_out":30'
}

test_orch_step_retry_gives_up_and_names_the_class() {
    FAKE_API_FAULTS='{"faults":[{"type":"500","times":5}]}' orch_api_start --payments 30 --page-size 10
    api_step_pipeline "    retry: {max_attempts: 2, interval: 10ms}"
    sl run p.yaml --state st.db --log-format json
    assert_rc 1
    assert_eq '"failed transient 2"' "$(summary '[by.pull.status, by.pull.error_class, by.pull.attempts].join(" ")')"
    id=$(summary 's.run' | tr -d '"')
    sl runs show "$id" --state st.db
    assert_contains out.txt "    error: transient: "
    assert_eq 2 "$(orch_stat 's.by_status[500]')"
    # a class not in `on` is not retried
    FAKE_API_FAULTS='{"faults":[{"type":"500","times":5}]}' orch_api_start --payments 30 --page-size 10
    api_step_pipeline "    retry: {max_attempts: 4, interval: 10ms, on: [timeout]}"
    sl run p.yaml --state st2.db --log-format json
    assert_rc 1
    assert_eq 1 "$(orch_stat 's.by_status[500]')"
}

test_orch_step_timeout_stops_between_batches() {
    # every page takes 1.5 s to answer; the step may take 1 s: it stops
    # after the first page, which stays written and checkpointed
    FAKE_API_FAULTS='{"faults":[{"type":"slow","ms":1500,"times":10}]}' orch_api_start --payments 30 --page-size 10
    api_step_pipeline "    timeout: 1s
    batch_size: 10"
    sl run p.yaml --state st.db --log-format json
    assert_rc 1
    assert_eq '"timed_out timeout"' "$(summary '[by.pull.status, by.pull.error_class].join(" ")')"
    assert_contains err.txt "step 'pull': timed out (its timeout); stopped at a batch boundary, its checkpoint kept"
    assert_eq 1 "$(orch_stat 's.requests')"
    [ ! -f out/payments.jsonl ] || fail "a file sink publishes only when its step succeeds"
    # the run's own timeout, for a step without one
    FAKE_API_FAULTS='{"faults":[{"type":"slow","ms":1500,"times":10}]}' orch_api_start --payments 30 --page-size 10
    api_step_pipeline "    batch_size: 10"
    printf 'timeout: 1s\n' >> p.yaml
    sl run p.yaml --state st2.db --log-format json
    assert_rc 1
    assert_contains err.txt "timed out (the run's timeout)"
}

test_orch_catch_goes_on_at_a_later_step() {
    pipeline <<'YAML'
name: catchy
steps:
  - name: broken
    sql: {url: "sqlite:///out.db", statements: ["CREATE TABLE t (x INT)", "INSERT INTO nope VALUES (1)"]}
    catch: [{on: [data], next: never}, {on: [all], next: report}]
  - name: never
    sql: {url: "sqlite:///out.db", statements: ["CREATE TABLE never (x INT)"]}
  - name: report
    sql: {url: "sqlite:///out.db", statements: ["CREATE TABLE report (x INT)"]}
    output: {cause: "{{ error.step }}: {{ error.class }}"}
YAML
    sl run p.yaml --state st.db --log-format json
    assert_rc 3
    assert_eq '"failed skipped ok"' "$(summary '[by.broken.status, by.never.status, by.report.status].join(" ")')"
    assert_eq '"broken: config"' "$(summary 'by.report.output.cause')"
    assert_eq 0 "$(q out.db "SELECT count(*) FROM sqlite_master WHERE name IN ('t', 'never')")"
    assert_eq 1 "$(q out.db "SELECT count(*) FROM sqlite_master WHERE name = 'report'")"
    assert_contains err.txt "broken failed (config); caught: going on at report"
}

test_orch_config_errors() {
    pipeline <<'YAML'
name: bad
steps:
  - name: a
    sql: {url: "sqlite:///out.db", statements: ["SELECT 1"]}
    catch: [{on: [transint], next: b}]
  - name: b
    sql: {url: "sqlite:///out.db", statements: ["SELECT 1"]}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:19: step 'a': catch: on: unknown error class 'transint'"
    sed -i 's/transint/all/; s/next: b/next: a/' p.yaml
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "step 'a': catch: next: 'a' is not a later step of this list"
    sed -i 's/next: a/next: b/; s/    catch:.*/    timeout: soon/' p.yaml
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:14: step 'a': timeout: expected a duration such as 30s, 5m or 1h, got 'soon'"
    sed -i 's/    timeout: soon/    retry: {max_attempts: 0}/' p.yaml
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:27: step 'a': retry: key 'max_attempts' must be at least 1, got 0"
}

test_orch_sql_step_error_classes() {
    pipeline <<'YAML'
name: classes
steps:
  - name: dup
    sql: {url: "sqlite:///out.db", statements: ["CREATE TABLE u (x INT PRIMARY KEY)", "INSERT INTO u VALUES (1)", "INSERT INTO u VALUES (1)"]}
    on_failure: continue
  - name: syntax
    sql: {url: "sqlite:///out.db", statements: ["SELEC 1"]}
YAML
    sl run p.yaml --state st.db --log-format json
    assert_rc 1
    assert_eq '"data config"' "$(summary '[by.dup.error_class, by.syntax.error_class].join(" ")')"
}
