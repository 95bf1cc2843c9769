# Formats: JSON Lines, CSV, JSON arrays and gzip in; JSON Lines and CSV out,
# value by value.

test_jsonl_to_csv_exact() {
    mkdir -p in
    printf '%s\n' \
      '{"id":1,"name":"plain","amount":1.50,"ok":true,"note":null,"big":123456789012345678901234567890}' \
      '{"id":2,"name":"with, comma","amount":-2e3,"ok":false,"note":"say \"hi\"","big":1}' \
      '{"id":3,"name":"line\nbreak","amount":0,"ok":true,"note":"Zürich \ud83d\ude00","big":-5}' \
      > in/a.jsonl
    pipeline <<'YAML'
name: fmt
steps:
  - name: s
    source: {type: file, url: "in/a.jsonl"}
    sink: {type: file, url: "out.csv"}
YAML
    sl run p.yaml --state st.db
    assert_rc 0
    printf 'id,name,amount,ok,note,big\n1,plain,1.50,true,,123456789012345678901234567890\n2,"with, comma",-2e3,false,"say ""hi""",1\n3,"line\nbreak",0,true,Zürich 😀,-5\n' > want.csv
    cmp want.csv out.csv || fail "csv differs: $(cat out.csv)"
}

test_csv_gzip_to_jsonl() {
    mkdir -p in
    printf 'id;city;when\n1;Zürich;2026-11-21T10:00:00Z\n2;"Semi;colon";\n' | gzip > in/a.csv.gz
    pipeline <<'YAML'
name: fmt
steps:
  - name: s
    source: {type: file, url: "in/*.csv.gz", delimiter: ";"}
    transforms:
      - {type: cast, fields: {when: timestamp}}
    sink: {type: file, url: "out.jsonl"}
YAML
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq '{"id":1,"city":"Zürich","when":"2026-11-21T10:00:00Z"}
{"id":2,"city":"Semi;colon","when":null}' "$(cat out.jsonl)"
}

test_json_array_input() {
    mkdir -p in
    printf '[\n {"a": 1, "b": [1, {"c": "x"}]},\n {"a": 2},\n 3\n]\n' > in/a.json
    pipeline <<'YAML'
name: fmt
steps:
  - name: s
    source: {type: file, url: "in/a.json"}
    sink: {type: file, url: "out.jsonl"}
    rejects: rej.jsonl
    max_rejects: 1
YAML
    sl run p.yaml --state st.db
    assert_rc 3
    assert_eq '{"a":1,"b":[1,{"c":"x"}]}
{"a":2}' "$(cat out.jsonl)"
    assert_contains rej.jsonl '"line":3'
}

test_select_rename_set_filter() {
    mkdir -p in
    printf '%s\n' '{"id":1,"first":"Ada","last":"L","age":36,"x":1}' \
        '{"id":2,"first":"Bob","last":"M","age":17,"x":2}' \
        '{"id":3,"first":"Cy","last":null,"age":50,"x":3}' > in/a.jsonl
    pipeline <<'YAML'
name: tx
params:
  adult: {type: int, default: 18}
steps:
  - name: s
    source: {type: file, url: "in/a.jsonl"}
    transforms:
      - {type: filter, where: "age >= {{ params.adult }} and last is not null"}
      - {type: rename, fields: {first: given}}
      - {type: set, fields: {name: "{{ record.given | upper }} {{ record.last }}", src: "{{ run.pipeline }}"}}
      - {type: select, fields: [id, name, src]}
    sink: {type: file, url: "out.jsonl"}
YAML
    sl run p.yaml --state st.db
    assert_rc 0
    assert_eq '{"id":1,"name":"ADA L","src":"tx"}' "$(cat out.jsonl)"
}

test_stdout_sink_and_json_logs() {
    mkdir -p in
    echo '{"a":1}' > in/a.jsonl
    pipeline <<'YAML'
name: out
steps:
  - name: s
    source: {type: file, url: "in/a.jsonl"}
    sink: {type: stdout}
YAML
    sl run p.yaml --state st.db --log-format json
    assert_rc 0
    assert_eq '{"a":1}' "$(cat out.txt)"
    # every line on stderr is a JSON object, the summary included
    node -e '
let n = 0, summary = null;
for (const l of require("fs").readFileSync("err.txt", "utf8").trim().split("\n")) {
  const o = JSON.parse(l);
  if (!o.ts || !o.level || !o.msg) process.exit(1);
  if (o.msg === "run summary") summary = o;
  n++;
}
if (n < 3 || !summary || summary.status !== "ok" || summary.steps[0].records_out !== 1)
  process.exit(1);' || fail "log lines are not JSON: $(cat err.txt)"
}

test_memory_stays_flat() {
    # 1.2M lines (~190 MB) through JSONL -> CSV must stay far below 100 MB RSS.
    case "$SLUICE" in */san/*) skip "peak RSS means nothing under a sanitizer's shadow memory" ;; esac
    mkdir -p in
    awk 'BEGIN { for (k = 0; k < 1200000; k++)
        printf "{\"id\":%d,\"name\":\"customer number %d\",\"amount\":%d.25,\"paid\":true,\"at\":\"2026-11-21T10:00:00Z\",\"note\":null,\"tags\":[\"a\",\"b\"]}\n", k, k, k % 500 }' > in/big.jsonl
    pipeline <<'YAML'
name: mem
steps:
  - name: s
    source: {type: file, url: "in/big.jsonl"}
    sink: {type: file, url: "out.csv"}
YAML
    /usr/bin/time -f '%M' -o rss.txt "$SLUICE" run p.yaml --state st.db > /dev/null 2> err.txt
    rss_kb=$(tail -n 1 rss.txt)
    assert_eq 1200001 "$(wc -l < out.csv | tr -d ' ')" "csv lines"
    [ "$rss_kb" -lt 102400 ] || fail "peak RSS ${rss_kb} KB is not under 100 MB"
}

test_csv_per_file_delimiter_columns_and_lines() {
    mkdir -p in sub
    printf 'a\tb\n1\tx\n' > in/1.tsv
    printf 'a,b\n2,y\n\n\n3,"bad"z\n' > in/2.csv
    printf 'h1;h2\n5;v\n' > in/3.txt
    pipeline <<'YAML'
name: csvs
steps:
  - name: s
    source: {type: file, url: ["in/1.tsv", "in/2.csv"], format: csv}
    sink: {type: file, url: "out.jsonl"}
    rejects: rej.jsonl
    max_rejects: 1
  - name: renamed
    source: {type: file, url: "in/3.txt", format: csv, delimiter: ";", columns: [k, v]}
    sink: {type: file, url: "out2.jsonl"}
YAML
    sl run p.yaml --state st.db
    assert_rc 3
    assert_eq '{"a":1,"b":"x"}
{"a":2,"b":"y"}' "$(cat out.jsonl)"
    # the bad record is on line 5, after two blank lines
    assert_contains rej.jsonl '"line":5'
    assert_eq '{"k":5,"v":"v"}' "$(cat out2.jsonl)"
}

test_same_file_by_other_paths_is_one_file() {
    mkdir -p sub/in
    echo '{"id":1}' > sub/in/a.jsonl
    cat > sub/p.yaml <<'YAML'
name: canon
steps:
  - name: s
    source: {type: file, url: "in/a.jsonl"}
    sink: {type: sql, url: "sqlite:///out.db", table: t, mode: append}
YAML
    sl run sub/p.yaml --state st.db
    assert_rc 0
    sl run ./sub/p.yaml --state st.db
    (cd sub && "$SLUICE" run p.yaml --state ../st.db > /dev/null 2>&1)
    assert_eq 1 "$(q sub/out.db 'SELECT count(*) FROM t')"
}

test_records_longer_than_a_read_chunk() {
    # Reads go in chunks of 256 KiB shared by the batches: records straddling
    # chunk edges, records several chunks long, batches needing many chunks
    # and many batches in one chunk all come through
    # byte for byte, in JSONL, CSV and JSON arrays; a record over
    # max_record_bytes fails naming the file and line.
    mkdir -p in
    awk 'BEGIN { srand(7); for (k = 1; k <= 400; k++) {
        n = (k % 50 == 0) ? 300000 + k * 1000 : int(rand() * 9000);
        printf "{\"id\":%d,\"s\":\"%s\"}\n", k, rep("x", n) } }
        function rep(c, n,  s) { s = ""; while (n > 0) { if (n % 2) s = s c; c = c c; n = int(n / 2) }; return s }' > in/a.jsonl
    awk 'BEGIN { srand(7); print "id,s"; for (k = 1; k <= 400; k++) {
        n = (k % 50 == 0) ? 300000 + k * 1000 : int(rand() * 9000);
        printf "%d,%s\n", k, rep("y", n) } }
        function rep(c, n,  s) { s = ""; while (n > 0) { if (n % 2) s = s c; c = c c; n = int(n / 2) }; return s }' > in/b.csv
    { echo '['; sed '$!s/$/,/' in/a.jsonl; echo ']'; } > in/c.json
    pipeline <<'YAML'
name: long
steps:
  - name: j
    batch_size: 7
    source: {type: file, url: "in/a.jsonl"}
    sink: {type: file, url: "out.jsonl"}
  - name: c
    source: {type: file, url: "in/b.csv", infer_types: false}
    sink: {type: file, url: "out.csv"}
  - name: a
    batch_size: 3
    source: {type: file, url: "in/c.json"}
    sink: {type: file, url: "out_a.jsonl"}
YAML
    sl run p.yaml --state st.db
    assert_rc 0
    cmp in/a.jsonl out.jsonl || fail "jsonl differs"
    cmp in/b.csv out.csv || fail "csv differs"
    cmp in/a.jsonl out_a.jsonl || fail "json array differs"
    # again with batches in flight on two threads while the reader fills
    # the chunks their records point into
    rm -f out.jsonl out.csv out_a.jsonl
    sl run p.yaml --state st_threads.db --threads 2
    assert_rc 0
    cmp in/a.jsonl out.jsonl || fail "jsonl differs (2 threads)"
    cmp in/b.csv out.csv || fail "csv differs (2 threads)"
    cmp in/a.jsonl out_a.jsonl || fail "json array differs (2 threads)"
    pipeline <<'YAML'
name: long2
steps:
  - name: j
    source: {type: file, url: "in/a.jsonl", max_record_bytes: 200000}
    sink: {type: file, url: "out2.jsonl"}
YAML
    sl run p.yaml --state st2.db
    assert_rc 1
    assert_contains err.txt 'a.jsonl:50: record longer than max_record_bytes (200000)'
    [ ! -e out2.jsonl ] || fail "a failed step must not publish its file"
}
