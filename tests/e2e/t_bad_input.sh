# Bad input: malformed records go to rejects with file, line and reason;
# bad config and missing or unwritable locations give clear messages and
# the right exit codes.

jsonl_to_jsonl() { # max_rejects
    pipeline <<YAML
name: bad
steps:
  - name: s
    source: {type: file, url: "in/*.jsonl"}
    sink: {type: file, url: "out/all.jsonl"}
    rejects: rej/s.jsonl
    max_rejects: $1
YAML
}

write_bad_jsonl() {
    mkdir -p in
    printf '%s\n' '{"id":1,"v":"a"}' '{"id":2,"v":"b"' '{"id":3,"v":"\q"}' '[1,2]' \
        '{"id":4,"v":"\ud800"}' '' '{"id":5,"v":"e"}' > in/a.jsonl
}

test_bad_jsonl_rejected_with_line_and_reason() {
    write_bad_jsonl
    jsonl_to_jsonl 10
    sl run p.yaml --state st.db
    assert_rc 3
    assert_eq '{"id":1,"v":"a"}
{"id":5,"v":"e"}' "$(cat out/all.jsonl)" "output"
    assert_eq 4 "$(wc -l < rej/s.jsonl | tr -d ' ')" "rejects"
    node -e '
const fs = require("fs");
const rows = fs.readFileSync("rej/s.jsonl", "utf8").trim().split("\n").map(JSON.parse);
const want = [[2, "unterminated"], [3, "escape"], [4, "expected a JSON object"], [5, "surrogate"]];
want.forEach(([line, why], i) => {
  const r = rows[i];
  if (r.line !== line || !r.origin.endsWith("in/a.jsonl") || !r.reason.includes(why))
    { console.error("reject", i, JSON.stringify(r)); process.exit(1); }
});
if (rows[0].raw !== "{\"id\":2,\"v\":\"b\"") { console.error("raw", rows[0].raw); process.exit(1); }
' || fail "rejects content"
    assert_contains err.txt "in/a.jsonl:3"
    assert_contains err.txt "partial"
}

test_bad_jsonl_over_max_rejects_fails() {
    write_bad_jsonl
    jsonl_to_jsonl 0
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "more than max_rejects 0"
    assert_contains err.txt "a.jsonl:2"
    [ ! -e out/all.jsonl ] || fail "a failed step must not publish its output"
    # the reject that failed the step is on disk
    assert_contains rej/s.jsonl '"line":2'
}

test_bad_csv_rejected() {
    mkdir -p in
    printf 'id,name,qty\n1,"ok",2\n2,"bad"x,3\n3,"multi\nline",4\n4,short\n5,"q""uote",6\n' > in/a.csv
    pipeline <<'YAML'
name: badcsv
steps:
  - name: s
    source: {type: file, url: "in/a.csv"}
    sink: {type: file, url: "out.jsonl"}
    rejects: rej.jsonl
    max_rejects: 5
YAML
    sl run p.yaml --state st.db
    assert_rc 3
    assert_eq '{"id":1,"name":"ok","qty":2}
{"id":3,"name":"multi\nline","qty":4}
{"id":5,"name":"q\"uote","qty":6}' "$(cat out.jsonl)"
    assert_contains rej.jsonl '"line":3'
    assert_contains rej.jsonl 'after closing quote'
    assert_contains rej.jsonl '"line":6'
    assert_contains rej.jsonl 'record has 2 fields, the header has 3'
}

test_broken_yaml_names_position() {
    printf 'name: x\nsteps:\n  - name: s\n    source: {type: file, url: "a.jsonl"\n' > p.yaml
    sl run p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:"
    grep -qE 'p\.yaml:[0-9]+:[0-9]+:' err.txt || fail "no file:line:col in $(cat err.txt)"
}

test_unknown_key_and_type_errors() {
    pipeline <<'YAML'
name: x
steps:
  - name: s
    source: {type: file, url: "a.jsonl"}
    sink: {type: sql, url: "sqlite:///o.db", tabel: t}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:"
    assert_contains err.txt "tabel"
    assert_contains err.txt "did you mean 'table'"
    pipeline <<'YAML'
name: x
steps:
  - name: s
    source: {type: fiel, url: "a.jsonl"}
    sink: {type: stdout}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:4:"
    assert_contains err.txt "fiel"
    pipeline <<'YAML'
name: x
steps:
  - name: s
    source: {type: file, url: "a.jsonl"}
    sink: {type: stdout}
    max_rejects: lots
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:6:"
    assert_contains err.txt "max_rejects"
    pipeline <<'YAML'
name: x
steps:
  - name: s
    sink: {type: stdout}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "source"
}

test_bad_params() {
    pipeline <<'YAML'
name: x
params:
  n: {type: int, default: 1}
steps:
  - name: s
    source: {type: file, url: "a.jsonl"}
    sink: {type: stdout}
YAML
    sl validate p.yaml -p n=abc
    assert_rc 2
    assert_contains err.txt "abc"
    sl validate p.yaml -p m=1
    assert_rc 2
    assert_contains err.txt "'m'"
}

test_missing_input_file() {
    pipeline <<'YAML'
name: x
steps:
  - name: s
    source: {type: file, url: "nope/missing.jsonl"}
    sink: {type: stdout}
YAML
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "missing.jsonl"
    assert_contains err.txt "No such file"
}

test_unwritable_output() {
    mkdir -p in
    echo '{"a":1}' > in/a.jsonl
    echo "not a folder" > blocker
    pipeline <<'YAML'
name: x
steps:
  - name: s
    source: {type: file, url: "in/a.jsonl"}
    sink: {type: file, url: "blocker/out.jsonl"}
YAML
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "blocker/out.jsonl"
    pipeline <<'YAML'
name: x
steps:
  - name: s
    source: {type: file, url: "in/a.jsonl"}
    sink: {type: sql, url: "sqlite:///blocker/x.db", table: t}
YAML
    sl run p.yaml --state st.db
    assert_rc 1
    assert_contains err.txt "blocker/x.db"
}

test_validate_checks_transforms_and_sink_rules() {
    for tx in '{type: cast, fields: {a: flot}}~flot' \
              '{type: filter, where: "a >>= 3"}~expected a value' \
              '{type: set, fields: {x: "{{ record.a | lowr }}"}}~unknown filter'; do
        pipeline <<YAML
name: v
steps:
  - name: s
    source: {type: file, url: "a.jsonl"}
    transforms:
      - ${tx%%~*}
    sink: {type: stdout}
YAML
        sl validate p.yaml
        assert_rc 2
        assert_contains err.txt "p.yaml:6:"
        assert_contains err.txt "${tx#*~}"
    done
    pipeline <<'YAML'
name: v
steps:
  - name: s
    source: {type: file, url: "a.jsonl"}
    sink: {type: sql, url: "sqlite:///o.db", table: t, mode: upsert}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_contains err.txt "p.yaml:5:"
    assert_contains err.txt "upsert needs key"
    [ ! -e o.db ] || fail "validate must not create the database"
}

test_sink_rejects_reach_the_rejects_file() {
    mkdir -p in
    printf '%s\n' '{"id":1,"v":"a"}' '{"id":null,"v":"b"}' '{"v":"c"}' > in/a.jsonl
    pipeline <<'YAML'
name: sinkrej
steps:
  - name: s
    source: {type: file, url: "in/a.jsonl"}
    sink: {type: sql, url: "sqlite:///o.db", table: t, mode: upsert, key: [id]}
    rejects: rej.jsonl
    max_rejects: 5
YAML
    sl run p.yaml --state st.db
    assert_rc 3
    assert_eq 1 "$(q o.db 'SELECT count(*) FROM t')"
    assert_eq 2 "$(wc -l < rej.jsonl | tr -d ' ')"
    assert_contains rej.jsonl '"line":2'
    assert_contains rej.jsonl "key field 'id'"
}
