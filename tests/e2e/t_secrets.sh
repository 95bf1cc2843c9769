# Secrets from ${env:} and ${file:} never reach a log line or a message.

test_secrets_never_logged() {
    mkdir -p in
    echo '{"a":1}' > in/a.jsonl
    printf 's3cr3t-from-file\n' > pw.txt
    export SLUICE_TEST_TOKEN=hunter2-token-value
    pipeline <<'YAML'
name: sec
params:
  token: {type: string, default: "${env:SLUICE_TEST_TOKEN}"}
  pw: {type: string, default: "${file:pw.txt}"}
steps:
  - name: s
    source: {type: file, url: "in/a.jsonl"}
    transforms:
      - {type: set, fields: {t: "{{ params.token }}"}}
    sink: {type: file, url: "out.jsonl"}
YAML
    sl run p.yaml --state st.db --log-level debug
    assert_rc 0
    assert_not_contains err.txt hunter2-token-value
    assert_not_contains err.txt s3cr3t-from-file
    # the value itself is usable in records
    assert_contains out.jsonl hunter2-token-value
    # and not stored in the run history
    sl runs show "$(q st.db 'SELECT id FROM runs')" --state st.db
    assert_not_contains out.txt hunter2-token-value
    assert_not_contains out.txt s3cr3t-from-file
    # an error that involves the secret does not print it either
    pipeline <<'YAML'
name: sec
params:
  n: {type: int, default: "${env:SLUICE_TEST_TOKEN}"}
steps:
  - name: s
    source: {type: file, url: "in/a.jsonl"}
    sink: {type: stdout}
YAML
    sl validate p.yaml
    assert_rc 2
    assert_not_contains err.txt hunter2-token-value
    unset SLUICE_TEST_TOKEN
    sl validate p.yaml --strict
    assert_rc 2
    assert_contains err.txt "p.yaml:3:27: environment variable 'SLUICE_TEST_TOKEN' is not set"
    # without --strict a missing secret is a warning: the rest is checked
    sl validate p.yaml
    assert_rc 0
    assert_contains err.txt 'p.yaml:3:27: warning: ${env:SLUICE_TEST_TOKEN} is not set'
    sl run p.yaml --state st.db
    assert_rc 2
    assert_contains err.txt "environment variable 'SLUICE_TEST_TOKEN' is not set"
}

test_secret_in_error_not_in_summary_or_history() {
    export SLUICE_TEST_INPATH=/tmp/sluice-hidden-location-xyz
    pipeline <<'YAML'
name: sec2
steps:
  - name: s
    source: {type: file, url: "${env:SLUICE_TEST_INPATH}/a.jsonl"}
    sink: {type: stdout}
YAML
    sl run p.yaml --state st.db
    assert_rc 1
    assert_not_contains err.txt sluice-hidden-location-xyz
    assert_contains err.txt "a.jsonl"
    sl runs show "$(q st.db 'SELECT id FROM runs')" --state st.db
    assert_not_contains out.txt sluice-hidden-location-xyz
    assert_eq 0 "$(q st.db "SELECT count(*) FROM step_runs WHERE error LIKE '%hidden-location%'")"
    unset SLUICE_TEST_INPATH
}
