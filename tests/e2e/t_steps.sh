# Step kinds and step options: `sql` steps (statements or a .sql file, in
# one transaction, on SQLite and PostgreSQL), on_failure: continue (the run
# goes on and ends partial, exit 3), and full_refresh from an expression
# over params (-p load_type=FULL).

test_sql_step_sqlite_statements_then_flow() {
    printf '{"id":1,"name":"a"}\n{"id":2,"name":"b"}\n' > in.jsonl
    pipeline <<'YAML'
name: steps
steps:
  - name: schema
    sql:
      url: "sqlite:///db/out.db"
      statements:
        - "CREATE TABLE IF NOT EXISTS people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT DEFAULT 'x')"
        - "CREATE INDEX IF NOT EXISTS people_name ON people (name)"
  - name: load
    source: {type: file, url: in.jsonl}
    sink: {type: sql, url: "sqlite:///db/out.db", table: people, mode: upsert, key: [id]}
  - name: count
    sql: {url: "sqlite:///db/out.db", statements: ["SELECT count(*) AS n, max(name) AS last, 1.5 AS f, NULL AS z FROM people"]}
  - name: report
    when: "steps.count.output.row.n == 2"
    sql: {url: "sqlite:///db/out.db", statements: ["CREATE TABLE IF NOT EXISTS reported (n int)"]}
YAML
    sl run p.yaml --state st.db --log-format json
    assert_rc 0
    assert_eq "1|a|x
2|b|x" "$(q db/out.db 'SELECT id, name, note FROM people ORDER BY id')"
    # a query's first row is the step's output
    assert_contains err.txt '"output":{"row":{"n":2,"last":"b","f":1.5,"z":null}}'
    assert_eq "reported" "$(q db/out.db "SELECT name FROM sqlite_master WHERE name = 'reported'")"
    assert_eq "people_name" "$(q db/out.db "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'people_name'")"
    assert_contains err.txt "Completed: schema"
    assert_not_contains err.txt "Processing schema"
    # the statements run again on every run: IF NOT EXISTS keeps them idempotent
    sl run p.yaml --state st.db
    assert_rc 0
}

test_sql_step_file_error_names_line_and_rolls_back() {
    mkdir -p sql
    printf -- '-- schema\nCREATE TABLE a (id INTEGER);\n\nINSERT INTO a VALUES (1);\nINSERT INTO nope VALUES (2);\n' > sql/schema.sql
    pipeline <<'YAML'
name: steps
steps:
  - name: schema
    sql: {url: "sqlite:///out.db", file: sql/schema.sql}
  - name: never
    sql: {url: "sqlite:///out.db", statements: ["CREATE TABLE b (id INTEGER)"]}
YAML
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "step 'schema': sql: sql/schema.sql:5: no such table: nope"
    # one transaction: table a is gone with the failure; the next step was skipped
    assert_eq "" "$(q out.db "SELECT name FROM sqlite_master WHERE type = 'table'")"
    sl runs --state st.db
    assert_contains out.txt "failed"
}

test_sql_step_config_errors() {
    pipeline <<'YAML'
name: steps
steps:
  - name: schema
    sql: {url: "sqlite:///out.db", statements: ["SELECT 1"], file: x.sql}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:4:10: step 'schema': sql: give statements or file (one of the two)"
    pipeline <<'YAML'
name: steps
steps:
  - name: schema
    sql: {url: "sqlite:///out.db", statements: ["SELECT 1"]}
    sink: {type: stdout}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:5: step 'schema': a step is of one kind: 'sql' makes it a step that runs statements, but 'sink' belongs to a step that moves records from a source through transforms into a sink"
    pipeline <<'YAML'
name: steps
steps:
  - name: s
    source: {type: file, url: in.jsonl}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "step 's': missing required key 'sink' (or give 'sql' for a step that runs statements, 'map' for a step"
}

test_on_failure_continue_runs_the_rest_and_exits_3() {
    printf '{"id":1}\n' > good.jsonl
    printf '{"id":2}\n{"id":\n' > bad.jsonl
    pipeline <<'YAML'
name: entities
steps:
  - name: first
    on_failure: continue
    source: {type: file, url: missing.jsonl}
    sink: {type: file, url: first.jsonl}
  - name: second
    on_failure: continue
    source: {type: file, url: bad.jsonl}
    sink: {type: file, url: second.jsonl}
  - name: third
    source: {type: file, url: good.jsonl}
    sink: {type: file, url: third.jsonl}
YAML
    sl run p.yaml --state st.db --log-format json
    assert_rc 3
    assert_eq '{"id":1}' "$(cat third.jsonl)"
    [ ! -e second.jsonl ] || fail "a failed step must not publish its file"
    node -e '
const lines = require("fs").readFileSync("err.txt", "utf8").trim().split("\n").map(l => JSON.parse(l));
const s = lines.find(o => o.msg === "run summary");
if (!s || s.status !== "partial" || s.exit_code !== 3) process.exit(1);
const st = Object.fromEntries(s.steps.map(x => [x.step, x.status]));
if (st.first !== "failed" || st.second !== "failed" || st.third !== "ok") process.exit(2);
if (!s.steps[1].error.includes("bad.jsonl")) process.exit(3);
' || fail "summary: $(grep 'run summary' err.txt)"
    # without on_failure the first failure stops the run
    sed -i 's/on_failure: continue/on_failure: stop/' p.yaml
    sl run p.yaml --state st2.db
    assert_rc 1
    assert_contains err.txt "skipped"
}

test_full_refresh_from_a_param_expression() {
    printf '{"id":1}\n{"id":2}\n' > in.jsonl
    pipeline <<'YAML'
name: loads
params:
  load_type: {type: string, default: INCREMENTAL}
steps:
  - name: load
    full_refresh: "params.load_type | upper == 'FULL'"
    source: {type: file, url: in.jsonl}
    sink: {type: sql, url: "sqlite:///out.db", table: t}
YAML
    sl run p.yaml --state st.db
    assert_rc 0
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq 2 "$(q out.db 'SELECT count(*) FROM t')" "incremental rerun skips the file"
    sl run p.yaml --state st.db -p load_type=full
    assert_rc 0
    assert_contains err.txt "load: full refresh"
    assert_eq 4 "$(q out.db 'SELECT count(*) FROM t')" "full load reads the file again"
    pipeline <<'YAML'
name: loads
steps:
  - name: load
    full_refresh: "params.load_type = 'FULL'"
    source: {type: file, url: in.jsonl}
    sink: {type: sql, url: "sqlite:///out.db", table: t}
YAML
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "p.yaml:4:19: step 'load': full_refresh:"
}

test_sql_step_postgres() {
    pg_start
    pipeline <<'YAML'
name: pgsteps
params:
  db: {type: string}
steps:
  - name: schema
    sql:
      url: "{{ params.db }}"
      statements:
        - "CREATE SCHEMA IF NOT EXISTS shop"
        - "CREATE TABLE IF NOT EXISTS shop.customers (id bigint PRIMARY KEY, name text)"
        - "INSERT INTO shop.customers VALUES (1, 'Ann') ON CONFLICT DO NOTHING"
        - "SELECT count(*) AS n, max(name) AS last, true AS yes, 2.50::numeric AS amount FROM shop.customers"
YAML
    sl run p.yaml --state st.db -p "db=$PG_URL" --log-format json
    assert_rc 0
    assert_eq "1|Ann" "$(psql_q 'SELECT id, name FROM shop.customers')"
    # the first row, typed: count is an int, numeric stays exact text
    assert_contains err.txt '"output":{"row":{"n":1,"last":"Ann","yes":true,"amount":"2.50"}}'
    pipeline <<'YAML'
name: pgsteps
params:
  db: {type: string}
steps:
  - name: broken
    sql:
      url: "{{ params.db }}"
      statements:
        - "CREATE TABLE shop.more (id int)"
        - "INSERT INTO shop.more VALUES ('x')"
YAML
    sl run p.yaml --state st.db -p "db=$PG_URL"
    assert_rc 1
    assert_contains err.txt "step 'broken': sql: statement 2: ERROR:  invalid input syntax for type integer"
    assert_eq "" "$(psql_q "SELECT to_regclass('shop.more')")" "rolled back"
}

test_export_checkpoints_keeps_failed_entries() {
    printf '{"id":1}\n{"id":2}\n' > a.jsonl
    printf '{"id":3}\n' > b.jsonl
    pipeline <<'YAML'
name: exp
params:
  lake: {type: string, default: lake}
export_checkpoints:
  url: "{{ params.lake }}/logs/pipeline/ingestion/checkpoints.json"
steps:
  - name: alpha
    on_failure: continue
    source: {type: file, url: a.jsonl}
    sink: {type: file, url: alpha.jsonl}
  - name: beta
    on_failure: continue
    source: {type: file, url: b.jsonl}
    sink: {type: file, url: beta.jsonl}
YAML
    sl run p.yaml --state st.db
    assert_rc 0
    F=lake/logs/pipeline/ingestion/checkpoints.json
    node -e '
const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const ks = Object.keys(c).sort().join(",");
if (ks !== "alpha,beta") { console.error("keys " + ks); process.exit(1); }
if (c.alpha.record_count !== 2 || c.beta.record_count !== 1) process.exit(2);
for (const k of ["alpha", "beta"])
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(c[k].last_sync_timestamp) ||
      !/Z$/.test(c[k].updated_at)) process.exit(3);
' "$F" || fail "checkpoints.json: $(cat $F)"
    cp "$F" first.json
    # beta breaks: alpha is refreshed, beta keeps its last good entry
    printf '{"id":4}\n' > a2.jsonl
    mv a2.jsonl a.jsonl
    printf 'not json\n' > b.jsonl
    sl run p.yaml --state st.db --full-refresh
    assert_rc 3
    node -e '
const fs = require("fs");
const a = JSON.parse(fs.readFileSync("first.json", "utf8"));
const c = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
if (JSON.stringify(c.beta) !== JSON.stringify(a.beta)) process.exit(1);
if (c.alpha.record_count !== 1 || c.alpha.updated_at === a.alpha.updated_at) process.exit(2);
' "$F" || fail "checkpoints.json after a failure: $(cat $F)"
}

test_step_outputs_templates_and_when() {
    mkdir -p in
    printf '{"id":1,"v":"a"}\n{"id":2,"v":"b"}\n{"id":3,"v":"c"}\n' > in/a.jsonl
    pipeline <<'YAML'
name: outs
params:
  day: {type: string, default: "2026-12-07"}
steps:
  - name: extract
    source: {type: file, url: in/a.jsonl}
    sink: {type: file, url: "raw/{{ params.day }}.jsonl"}
    output: {day: "{{ params.day }}", kept: "{{ steps.extract.output.records_out }}"}
  - name: load
    source: {type: file, url: "{{ steps.extract.output.files[0] }}", format: jsonl}
    sink: {type: sql, url: "sqlite:///out.db", table: t, mode: upsert, key: [id]}
  - name: only_when_empty
    when: "steps.load.output.records_out == 0"
    source: {type: file, url: in/a.jsonl}
    sink: {type: sql, url: "sqlite:///out.db", table: never, mode: append}
  - name: when_loaded
    when: "steps.load.output.records_out == 3 and steps.extract.output.day == '2026-12-07'"
    sql: {url: "sqlite:///out.db", statements: ["CREATE TABLE done (x INT)"]}
YAML
    sl run p.yaml --state st.db --log-format json
    assert_rc 0
    assert_eq 3 "$(q out.db 'SELECT count(*) FROM t')"
    assert_eq 0 "$(q out.db "SELECT count(*) FROM sqlite_master WHERE name = 'never'")"
    assert_eq 1 "$(q out.db "SELECT count(*) FROM sqlite_master WHERE name = 'done'")"
    node -e '
const lines = require("fs").readFileSync("err.txt", "utf8").split("\n").filter(Boolean).map(JSON.parse);
const s = lines.find(o => o.msg === "run summary");
const by = Object.fromEntries(s.steps.map(x => [x.step, x]));
const want = (c, m) => { if (!c) { console.error(m, JSON.stringify(s)); process.exit(1); } };
want(by.extract.output.records_out === 3 && by.extract.output.kept === 3, "extract counts");
want(by.extract.output.day === "2026-12-07", "declared output");
want(by.extract.output.files.length === 1 && by.extract.output.files[0].endsWith("raw/2026-12-07.jsonl"), "files");
want(by.load.output.records_in === 3 && by.load.output.checkpoint !== undefined, "load output");
want(by.only_when_empty.status === "skipped", "skipped by when");
want(by.when_loaded.status === "ok", "ran by when");
const skipLog = lines.find(o => /Skipped: only_when_empty/.test(o.msg));
want(skipLog && skipLog.step === "only_when_empty", "log scope on the skip line");
' || fail "outputs: $(grep 'run summary' err.txt)"
}

test_step_when_and_output_errors_at_validate() {
    pipeline <<'YAML'
name: bad
steps:
  - name: a
    when: "steps.x.output.n >"
    sql: {url: "sqlite:///out.db", statements: ["SELECT 1"]}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:4:11: step 'a': when: "
    pipeline <<'YAML'
name: bad
steps:
  - name: a
    sql: {url: "sqlite:///out.db", statements: ["SELECT 1"]}
    output: {n: "{{ record.x }}"}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:17: step 'a': output 'n': an output is computed once, after the step: it cannot use record"
}
