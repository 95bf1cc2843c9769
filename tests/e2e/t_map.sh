# The map kind: the calendar shape of seed 001 (31 dates, at most 5 at a
# time, 10% tolerated) against a fake events site
# (tests/fakes/calendar_server.js) and SQLite. Concurrency is proven by the
# site's count of requests open at once, never by timing.

cal_start() { # [ARGS...]: the fake site; sets SITE
    serve_start cal 7 300 node "$ROOT/tests/fakes/calendar_server.js" "$@"
    SITE="http://127.0.0.1:$READY"
}

cal_stat() { # JS expression over the site's /_stats object s
    curl -sf "$SITE/_stats" | node -e \
        "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{const s=JSON.parse(d);console.log($1)})"
}

# summary EXPR: a JS expression over the run summary s and its steps by name
summary() {
    node -e '
const lines = require("fs").readFileSync("err.txt", "utf8").split("\n").filter(Boolean)
  .map(l => { try { return JSON.parse(l); } catch (e) { return {}; } });
const s = lines.find(o => o.msg === "run summary");
const by = Object.fromEntries(s.steps.map(x => [x.step, x]));
console.log(JSON.stringify('"$1"'));'
}

# calendar_pipeline MAP_KEYS (indented 6): the issue's calendar pipeline,
# 31 dates from 2026-12-01, each extracted to a file and upserted into
# SQLite; a last step runs only when some date failed.
calendar_pipeline() {
    pipeline <<YAML
name: calendar
params:
  site: {type: string, default: "$SITE"}
  db: {type: string, default: "sqlite:///events.db"}
steps:
  - name: per_date
    map:
      items: {dates: {start: "2026-12-01", days: 31, tz: America/Chicago}}
$1
      steps:
        - name: extract
          source: {type: http, url: "{{ params.site }}/calendar?date={{ item }}", records: events,
                   retry: {max: 0}}
          sink: {type: file, url: "raw/{{ item }}.jsonl", format: jsonl}
        - name: load
          source: {type: file, url: "{{ steps.extract.output.files[0] }}", format: jsonl}
          sink: {type: sql, url: "{{ params.db }}", table: events, ${LOAD_MODE:-mode: upsert, key: [id]}}
  - name: notify_failures
    when: "steps.per_date.output.failed > 0"
    source: {type: sql, url: "{{ params.db }}", query: "select count(*) as n from events"}
    sink: {type: file, url: "notify.jsonl", format: jsonl}
YAML
}

# the 2026-12-DD date of day DD
d() { printf '2026-12-%02d' "$1"; }

test_map_calendar_every_date_at_most_five_at_once() {
    cal_start --gate 5
    calendar_pipeline "      max_concurrency: 5"
    sl run p.yaml --state st.db --log-format json
    assert_rc 0
    assert_eq 93 "$(q events.db 'select count(*) from events')"
    assert_eq 31 "$(q events.db 'select count(distinct date) from events')"
    assert_eq 31 "$(ls raw | wc -l | tr -d ' ')"
    # five requests were open at once, never more
    assert_eq 5 "$(cal_stat 's.max_in_flight')"
    assert_eq 31 "$(cal_stat 's.requests')"
    assert_eq '"ok 31 31 0"' "$(summary '[by.per_date.status, by.per_date.output.total, by.per_date.output.ok, by.per_date.output.failed].join(" ")' )"
    assert_eq '"skipped"' "$(summary 'by.notify_failures.status')"
    # each item's output holds its steps' outputs
    assert_eq '"raw/2026-12-07.jsonl"' "$(summary 'by.per_date.output.items[6].output.extract.output.files[0]')"
    assert_eq 3 "$(summary 'by.per_date.output.items[6].output.load.output.records_out')"
}

test_map_max_concurrency_one_is_sequential() {
    cal_start
    calendar_pipeline "      max_concurrency: 1"
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq 1 "$(cal_stat 's.max_in_flight')"
    assert_eq 93 "$(q events.db 'select count(*) from events')"
}

test_map_tolerated_failures_end_partial() {
    # 3 of 31 dates fail: 9.7%, within 10%
    cal_start --fail "$(d 3),$(d 17),$(d 29)"
    calendar_pipeline "      max_concurrency: 5
      tolerated_failure_percent: 10"
    sl run p.yaml --state st.db --log-format json
    assert_rc 3
    assert_eq 84 "$(q events.db 'select count(*) from events')"
    assert_eq '"partial 28 3"' "$(summary '[by.per_date.status, by.per_date.output.ok, by.per_date.output.failed].join(" ")')"
    # the step after the map saw the failures
    assert_eq '"ok"' "$(summary 'by.notify_failures.status')"
    assert_eq '{"n":84}' "$(cat notify.jsonl)"
    assert_contains err.txt "per_date: item $(d 17) failed"
    # runs show lists every item with its status and error
    id=$(summary 's.run' | tr -d '"')
    sl runs show "$id" --state st.db
    assert_rc 0
    assert_eq 31 "$(grep -c '^    [0-9]' out.txt)"
    assert_eq 3 "$(grep -c '^    [0-9].* failed ' out.txt)"
    assert_contains out.txt "\"$(d 3)\""
    assert_contains out.txt "HTTP 500"
}

test_map_tolerance_exceeded_starts_no_more_items() {
    # one at a time, so the items run in date order: the 4th failure
    # (day 8, 4 of 31 = 12.9% > 10%) stops the map; no later date starts
    cal_start --fail "$(d 2),$(d 4),$(d 6),$(d 8)"
    calendar_pipeline "      max_concurrency: 1
      tolerated_failure_percent: 10"
    sl run p.yaml --state st.db --log-format json
    assert_rc 1
    assert_eq '"failed tolerance_exceeded"' "$(summary '[by.per_date.status, by.per_date.error_class].join(" ")')"
    assert_eq 8 "$(cal_stat 's.requests')"
    assert_eq 'undefined' "$(cal_stat "s.by_date['$(d 9)']")"
    assert_eq '"4 4 23"' "$(summary '[by.per_date.output.ok, by.per_date.output.failed, by.per_date.output.not_run].join(" ")')"
    assert_contains err.txt "4 of 31 items failed, more than tolerated (\\\"2026-12-02\\\": transient, \\\"2026-12-04\\\": transient, \\\"2026-12-06\\\": transient, ...); 23 not run"
    # the same with a count: 3 tolerated, the 4th is one too many
    cal_start --fail "$(d 2),$(d 4),$(d 6),$(d 8)"
    calendar_pipeline "      max_concurrency: 1
      tolerated_failure_count: 3"
    sl run p.yaml --state st2.db --log-format json
    assert_rc 1
    assert_eq 8 "$(cal_stat 's.requests')"
    # nothing tolerated (the default): the first failure stops the map
    cal_start --fail "$(d 2)"
    calendar_pipeline "      max_concurrency: 1"
    sl run p.yaml --state st3.db --log-format json
    assert_rc 1
    assert_eq 2 "$(cal_stat 's.requests')"
}

test_map_item_retry_and_step_retry_inside_items() {
    # day 5 fails twice, then answers: the item's retry runs its steps again
    cal_start --flaky "$(d 5):2"
    calendar_pipeline "      max_concurrency: 3
      item_retry: {max_attempts: 3, interval: 10ms, on: [transient]}"
    sl run p.yaml --state st.db --log-format json
    assert_rc 0
    assert_eq 3 "$(cal_stat "s.by_date['$(d 5)']")"
    assert_eq 93 "$(q events.db 'select count(*) from events')"
    id=$(summary 's.run' | tr -d '"')
    sl runs show "$id" --state st.db
    assert_contains out.txt "\"$(d 5)\""
}

test_map_item_timeout_is_timed_out() {
    cal_start --hang "$(d 10)"
    calendar_pipeline "      max_concurrency: 4
      tolerated_failure_count: 1
      item_timeout: 5s"
    sl run p.yaml --state st.db --log-format json
    assert_rc 3
    assert_eq '"partial 30 1"' "$(summary '[by.per_date.status, by.per_date.output.ok, by.per_date.output.timed_out].join(" ")')"
    assert_eq '"timed_out timeout"' "$(summary 'by.per_date.output.items[9].status + " " + by.per_date.output.items[9].error_class')"
}

test_map_items_from_list_template_and_source() {
    printf 'id,project\n1,alpha\n2,beta\n3,gamma\n' > projects.csv
    pipeline <<'YAML'
name: items
steps:
  - name: list
    map:
      items: [alpha, 7, {name: beta}]
      steps:
        - name: one
          source: {type: file, url: "projects.csv", format: csv}
          transforms: [{type: filter, where: "record.id == '1'"}, {type: set, fields: {item: "{{ item | json }}"}}]
          sink: {type: file, url: "out/list-{{ item | md5 }}.jsonl", format: jsonl}
  - name: from_text
    map:
      items: "{{ params.names }}"
      steps:
        - name: one
          source: {type: file, url: "projects.csv", format: csv}
          transforms: [{type: filter, where: "record.id == '1'"}]
          sink: {type: file, url: "out/text-{{ item }}.jsonl", format: jsonl}
  - name: from_source
    map:
      items: {source: {type: file, url: "projects.csv", format: csv}}
      key: "{{ item.project }}"
      steps:
        - name: one
          source: {type: file, url: "projects.csv", format: csv}
          transforms: [{type: filter, where: "record.id == item.id"}]
          sink: {type: file, url: "out/src-{{ item.project }}.jsonl", format: jsonl}
params:
  names: {type: string, default: "x, y ,z"}
YAML
    sl run p.yaml --state st.db --log-format json
    assert_rc 0
    assert_eq 3 "$(ls out | grep -c '^list-')"
    assert_eq "out/text-x.jsonl out/text-y.jsonl out/text-z.jsonl" "$(echo out/text-*)"
    assert_eq '{"id":2,"project":"beta"}' "$(cat out/src-beta.jsonl)"
    assert_eq '"3 3 3"' "$(summary '[by.list.output.ok, by.from_text.output.ok, by.from_source.output.ok].join(" ")')"
    # keys name the items in the log
    assert_contains err.txt '"item":"gamma"'
}

test_map_config_errors_name_the_place() {
    pipeline <<'YAML'
name: bad
steps:
  - name: m
    map:
      items: {dates: {start: today}}
      steps:
        - {name: a, sql: {url: "sqlite:///x.db", statements: ["select 1"]}}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:22: step 'm': map: items: dates: give end or days (one of the two)"
    pipeline <<'YAML'
name: bad
steps:
  - name: m
    map:
      items: [a]
      max_concurency: 3
      steps:
        - {name: a, sql: {url: "sqlite:///x.db", statements: ["select 1"]}}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "did you mean 'max_concurrency'"
    pipeline <<'YAML'
name: bad
steps:
  - name: m
    map:
      items: [a]
      steps:
        - {name: a, sql: {url: "sqlite:///x.db", statements: ["select 1"]}}
        - {name: a, sql: {url: "sqlite:///x.db", statements: ["select 1"]}}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "step name 'a' is already used"
    pipeline <<'YAML'
name: bad
steps:
  - name: m
    map:
      items: {dates: {start: today, days: 3, tz: Mars/Olympus}}
      steps:
        - {name: a, sql: {url: "sqlite:///x.db", statements: ["select 1"]}}
YAML
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "unknown time zone 'Mars/Olympus'"
}

# ---- resume ------------------------------------------------------------

run_id() { summary 's.run' | tr -d '"'; }

test_resume_runs_only_the_failed_items() {
    cal_start --fail "$(d 3),$(d 17),$(d 29)"
    calendar_pipeline "      max_concurrency: 5
      tolerated_failure_percent: 10"
    sl run p.yaml --state st.db --log-format json
    assert_rc 3
    id=$(run_id)
    curl -sf "$SITE/_heal" > /dev/null
    sl runs resume "$id" --state st.db --log-format json
    assert_rc 0
    assert_eq "\"$id\"" "$(summary 's.run')"
    assert_eq 93 "$(q events.db 'select count(*) from events')"
    # the failed dates were asked twice, the others once
    assert_eq 2 "$(cal_stat "s.by_date['$(d 17)']")"
    assert_eq 1 "$(cal_stat "s.by_date['$(d 18)']")"
    assert_eq 34 "$(cal_stat 's.requests')"
    assert_eq '"ok 31 0"' "$(summary '[by.per_date.status, by.per_date.output.ok, by.per_date.output.failed].join(" ")')"
    # the step after the map sees the map's new output: no failures left
    assert_eq '"skipped"' "$(summary 'by.notify_failures.status')"
    sl runs show "$id" --state st.db
    assert_contains out.txt "status:   ok"
    assert_contains out.txt "redrives: 1"
    assert_contains out.txt "items of per_date: 31 (31 ok)"
    # a run that succeeded has nothing to resume
    sl runs resume "$id" --state st.db
    assert_rc 2
    assert_contains err.txt "succeeded: there is nothing to resume"
}

test_resume_after_tolerance_exceeded_runs_the_rest() {
    cal_start --fail "$(d 2),$(d 4),$(d 6),$(d 8)"
    calendar_pipeline "      max_concurrency: 1
      tolerated_failure_percent: 10"
    sl run p.yaml --state st.db --log-format json
    assert_rc 1
    id=$(run_id)
    curl -sf "$SITE/_heal" > /dev/null
    sl runs resume "${id%%-*}" --state st.db --log-format json
    assert_rc 0
    assert_eq 93 "$(q events.db 'select count(*) from events')"
    assert_eq 35 "$(cal_stat 's.requests')"
    # resumed as many times as needed: a second failure, a second resume
}

test_resume_skips_steps_that_succeeded() {
    cal_start
    pipeline <<YAML
name: two
steps:
  - name: extract
    source: {type: http, url: "$SITE/calendar?date=2026-12-01", records: events}
    sink: {type: file, url: "raw.jsonl", format: jsonl}
  - name: load
    source: {type: file, url: "{{ steps.extract.output.files[0] }}", format: jsonl}
    sink: {type: sql, url: "sqlite:///events.db", table: events, mode: append}
YAML
    # the database cannot be written: load fails after extract succeeded
    mkdir events.db
    sl run p.yaml --state st.db --log-format json
    assert_rc 1
    id=$(run_id)
    rmdir events.db
    sl runs resume "$id" --state st.db --log-format json
    assert_rc 0
    # extract was not run again; load read the file extract's output named
    assert_eq 1 "$(cal_stat 's.requests')"
    assert_eq 3 "$(q events.db 'select count(*) from events')"
    assert_contains err.txt "Skipped: extract (ok in an earlier attempt of this run)"
    assert_eq '"ok ok"' "$(summary '[by.extract.status, by.load.status].join(" ")')"
}

test_resume_after_a_crash_in_the_middle_of_a_map() {
    # the 8th item's status write aborts the process: 5 workers, so about
    # 5 items are in flight; an append table shows any record loaded twice
    cal_start --gate 5
    LOAD_MODE="mode: append" calendar_pipeline "      max_concurrency: 5"
    SLUICE_FAULT=map.after_item_status:8 sl run p.yaml --state st.db
    [ "$RC" -ne 0 ] || fail "the fault did not stop the run"
    id=$(sqlite3 st.db "select id from runs")
    assert_eq running "$(sqlite3 st.db "select status from runs")"
    # the 8th write killed the process; a worker beside it may have written
    # its item's too in the meantime
    done_before=$(sqlite3 st.db "select count(*) from items where status = 'ok'")
    [ "$done_before" -ge 8 ] && [ "$done_before" -lt 31 ] || fail "$done_before items ok before the resume"
    sl runs resume "$id" --state st.db --log-format json
    assert_rc 0
    assert_eq "93|93" "$(q events.db 'select count(*), count(distinct id) from events')"
    assert_eq 31 "$(sqlite3 st.db "select count(*) from items where status = 'ok'")"
    assert_contains err.txt "earlier run(s) stopped without finishing"
}

test_resume_after_sigkill_with_five_items_running() {
    # slow answers keep items in flight; kill -9 once five are running
    cal_start --slow 400
    LOAD_MODE="mode: append" calendar_pipeline "      max_concurrency: 5"
    "$SLUICE" run p.yaml --state st.db > run.out 2> run.err &
    pid=$!
    i=0
    until [ "$(sqlite3 st.db "select count(*) from items where status = 'running'" 2>/dev/null)" = 5 ] &&
        [ "$(sqlite3 st.db "select count(*) from items where status = 'ok'" 2>/dev/null)" -ge 5 ]; do
        i=$((i + 1))
        [ $i -lt 600 ] || fail "five items never ran at once"
        sleep 0.05
    done
    kill -9 $pid
    wait $pid 2>/dev/null || true
    id=$(sqlite3 st.db "select id from runs")
    sl runs resume "$id" --state st.db --log-format json
    assert_rc 0
    assert_eq "93|93" "$(q events.db 'select count(*), count(distinct id) from events')"
    assert_eq 31 "$(sqlite3 st.db "select count(*) from items where status = 'ok'")"
}

# ---- call ----------------------------------------------------------------

child_pipeline() { # the called pipeline: one date of the calendar into SQLite
    pipeline child.yaml <<YAML
name: calendar_day
params:
  day: {type: string}
steps:
  - name: extract
    source: {type: http, url: "$SITE/calendar?date={{ params.day }}", records: events, retry: {max: 0}}
    sink: {type: sql, url: "sqlite:///events.db", table: events, mode: upsert, key: [id]}
YAML
}

test_call_waits_and_links_child_runs() {
    cal_start --fail "$(d 3)"
    child_pipeline
    pipeline <<'YAML'
name: caller
steps:
  - name: days
    map:
      items: {dates: {start: "2026-12-01", days: 2}}
      steps:
        - name: one
          call: {pipeline: child.yaml, params: {day: "{{ item }}"}}
  - name: bad_day
    on_failure: continue
    call: {pipeline: child.yaml, params: {day: "2026-12-03"}}
  - name: report
    when: "steps.bad_day.status == 'failed'"
    sql: {url: "sqlite:///events.db", statements: ["CREATE TABLE IF NOT EXISTS seen (n int)"]}
YAML
    sl run p.yaml --state st.db --log-format json
    assert_rc 3
    assert_eq 6 "$(q events.db 'select count(*) from events')"
    assert_eq '"failed transient"' "$(summary '[by.bad_day.status, by.bad_day.error_class].join(" ")')"
    assert_eq '"ok"' "$(summary 'by.report.status')"
    assert_eq 3 "$(summary 'by.days.output.items[1].output.one.output.steps.extract.output.records_out')"
    id=$(run_id)
    # three child runs of calendar_day, each linked to the caller
    assert_eq 3 "$(sqlite3 st.db "select count(*) from runs where parent_run_id = '$id' and trigger = 'call'")"
    sl runs show "$id" --state st.db
    assert_contains out.txt "children:"
    assert_eq 3 "$(grep -c '^  [0-9a-f-]\{36\}  calendar_day ' out.txt)"
    child=$(sqlite3 st.db "select id from runs where parent_run_id = '$id' and status = 'failed'")
    sl runs show "$child" --state st.db
    assert_contains out.txt "parent:   $id"
    assert_contains out.txt "trigger:  call"
}

test_call_without_waiting_returns_the_child_run_id() {
    cal_start
    child_pipeline
    pipeline <<'YAML'
name: caller
steps:
  - name: start
    call: {pipeline: child.yaml, params: {day: "2026-12-05"}, wait: false}
YAML
    sl run p.yaml --state st.db --log-format json
    assert_rc 0
    child=$(summary 'by.start.output.run_id' | tr -d '"')
    [ ${#child} = 36 ] || fail "no child run id: $child"
    i=0
    until [ "$(sqlite3 st.db "select status from runs where id = '$child'" 2>/dev/null)" = ok ]; do
        i=$((i + 1))
        [ $i -lt 300 ] || fail "the child run did not finish: $(sqlite3 st.db 'select id, status from runs')"
        sleep 0.1
    done
    assert_eq "$(run_id)" "$(sqlite3 st.db "select parent_run_id from runs where id = '$child'")"
    assert_eq 3 "$(q events.db 'select count(*) from events')"
}

# ---- chunks --------------------------------------------------------------

test_map_chunks_of_csv_and_jsonl_files() {
    # 2,500 rows; every 7th CSV row has a quoted field with a line break,
    # the JSON Lines file a blank line every 500 records
    node -e '
let s = "id,name,note\n";
for (let i = 1; i <= 2500; i++) s += i + ",n" + i + "," + (i % 7 == 0 ? "\"multi\nline, " + i + "\"" : "plain") + "\n";
require("fs").writeFileSync("big.csv", s);
let j = "";
for (let i = 1; i <= 2500; i++) { j += JSON.stringify({id: i}) + "\n"; if (i % 500 == 0) j += "\n"; }
require("fs").writeFileSync("big.jsonl", j);'
    pipeline <<'YAML'
name: chunks
steps:
  - name: csv
    map:
      items: {chunks: {url: big.csv, rows: 1000}}
      max_concurrency: 3
      steps:
        - name: load
          source: {type: file, url: big.csv, range: "{{ item }}"}
          sink: {type: sql, url: "sqlite:///out.db", table: rows, mode: append}
  - name: jsonl
    map:
      items: {chunks: {url: big.jsonl, rows: 700}}
      steps:
        - name: load
          source: {type: file, url: big.jsonl, range: "{{ item }}"}
          sink: {type: sql, url: "sqlite:///out.db", table: jrows, mode: append}
YAML
    sl run p.yaml --state st.db --log-format json
    assert_rc 0
    assert_eq "2500|2500|1|2500" "$(q out.db 'select count(*), count(distinct id), min(id), max(id) from rows')"
    assert_eq "2500|2500" "$(q out.db 'select count(*), count(distinct id) from jrows')"
    assert_eq "multi
line, 1400" "$(q out.db 'select note from rows where id = 1400')"
    # 1000 + 1000 + 500 rows; the second chunk starts on the line after the
    # first 1000 records, which span 1142 lines
    assert_eq '"3 0 1000 1000 500"' "$(summary '[by.csv.output.total, by.csv.output.failed].concat(by.csv.output.items.map(i => i.output.load.output.records_out)).join(" ")')"
    assert_eq 1144 "$(summary 'by.csv.output.items[1].item.first_line')"
    assert_eq '"700 700 700 400"' "$(summary 'by.jsonl.output.items.map(i => i.output.load.output.records_out).join(" ")')"
    # a quote left open: a malformed record, rejected by the reader naming
    # the file and line, as when the file is read whole
    printf 'id,note\n1,"open\n2,x\n' > bad.csv
    pipeline <<'YAML'
name: bad_chunks
steps:
  - name: csv
    map:
      items: {chunks: {url: bad.csv}}
      steps:
        - name: load
          source: {type: file, url: bad.csv, range: "{{ item }}"}
          sink: {type: stdout}
YAML
    sl run p.yaml --state st2.db
    assert_rc 1
    assert_contains err.txt "bad.csv:2: invalid CSV: unterminated quoted field at column 2"
}

test_resume_after_a_crash_between_an_items_load_and_its_status() {
    # one item at a time: sink writes 1-2 are item 1's extract and load,
    # 3-4 item 2's; the 4th kills the process once item 2's rows are
    # committed (with their checkpoint, in the sink's database) but before
    # its status is: the resume runs item 2 again, whose extract writes the
    # same file again, and its load must not load it twice
    cal_start
    LOAD_MODE="mode: append" calendar_pipeline "      max_concurrency: 1"
    SLUICE_FAULT=flow.after_sink_write:4 sl run p.yaml --state st.db
    [ "$RC" -ne 0 ] || fail "the fault did not stop the run"
    assert_eq 6 "$(q events.db 'select count(*) from events')"
    id=$(sqlite3 st.db "select id from runs")
    sl runs resume "$id" --state st.db --log-format json
    assert_rc 0
    assert_eq "93|93" "$(q events.db 'select count(*), count(distinct id) from events')"
    # item 2's extract had succeeded: it was kept, not run again
    assert_eq 1 "$(cal_stat "s.by_date['$(d 2)']")"
    assert_eq 31 "$(cal_stat 's.requests')"
    assert_contains err.txt "Skipped: extract (ok in an earlier attempt of this run)"
}
