#!/bin/sh
# The API benchmark (part of `make bench`, or sh bench/serve.sh): wrk
# against `sluice serve`'s GET /api/v1/runs/{id} (with an API key when the
# build has them) while a run executes, side by side with nginx serving a
# static JSON file of the same size. Reports requests/s, p99 latency and
# the ratio. Goals (issue 11): at least 10,000 requests/s, p99 under 20 ms,
# no errors, at least 0.3x nginx.
#
# Environment: SERVE_SECONDS (wrk duration, default 10), SERVE_CONNECTIONS
# (64), SERVE_THREADS (wrk threads, 2), SLUICE, BENCH_STRICT=1 exits 1 when
# a goal is missed.
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
BENCH=$ROOT/bench
SLUICE=${SLUICE:-$ROOT/build/sluice}
SECS=${SERVE_SECONDS:-10}
CONNS=${SERVE_CONNECTIONS:-64}
THREADS=${SERVE_THREADS:-2}
for tool in wrk nginx curl node; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench/serve: '$tool' not found (make deps installs what the benchmark needs)" >&2
        exit 2
    fi
done
if [ ! -x "$SLUICE" ]; then
    echo "bench/serve: $SLUICE not built (make all)" >&2
    exit 2
fi
mkdir -p "$BENCH/work" || exit 2
T=$(mktemp -d "$BENCH/work/serve.XXXXXX") || exit 2
SERVE_PID=""
NGINX_PID=""
RUN_PID=""
cleanup() {
    for pid in $SERVE_PID $NGINX_PID $RUN_PID; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
  console.log(s.address().port); s.close(); });'
}

# a run in the history to read, and one running during the measurement
printf '{"v":1}\n' > "$T/one.jsonl"
cat > "$T/one.yaml" <<YAML
name: bench_api
steps:
  - name: copy
    source: {type: file, url: "$T/one.jsonl", format: jsonl}
    sink: {type: file, url: "$T/out.jsonl", format: jsonl}
YAML
cat > "$T/busy.yaml" <<YAML
name: bench_busy
steps:
  - name: per
    map:
      items: {dates: {start: "1900-01-01", days: 200000}}
      max_concurrency: 1
      steps:
        - name: one
          source: {type: file, url: "$T/one.jsonl", format: jsonl}
          sink: {type: sql, url: "sqlite:///$T/busy.db", table: t, mode: append}
YAML
if ! "$SLUICE" run "$T/one.yaml" --state "$T/st.db" --log-level warn >/dev/null 2>&1; then
    echo "bench/serve: the run to read failed" >&2
    exit 1
fi
RUN_ID=$(sqlite3 "$T/st.db" "select id from runs limit 1")
"$SLUICE" run "$T/busy.yaml" --state "$T/st.db" --log-level error --no-progress \
    >/dev/null 2>&1 &
RUN_PID=$!

KEY=""
if KEY=$("$SLUICE" keys create --name bench --scope read --state "$T/st.db" 2>/dev/null); then
    :
else
    KEY=""
fi

PORT=$(free_port)
"$SLUICE" serve --listen "127.0.0.1:$PORT" --state "$T/st.db" --log-level warn \
    "$T/one.yaml" > "$T/serve.out" 2> "$T/serve.err" &
SERVE_PID=$!
i=0
until grep -q 'listening on' "$T/serve.out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -ge 100 ]; then
        echo "bench/serve: sluice serve did not start: $(cat "$T/serve.err")" >&2
        exit 1
    fi
    sleep 0.1
done
URL="http://127.0.0.1:$PORT/api/v1/runs/$RUN_ID"
if [ -n "$KEY" ]; then
    curl -sf -H "x-api-key: $KEY" "$URL" > "$T/run.json" || exit 1
else
    curl -sf "$URL" > "$T/run.json" || exit 1
fi

# nginx serving the same bytes as a static file
NPORT=$(free_port)
mkdir -p "$T/www" "$T/nginx"
cp "$T/run.json" "$T/www/run.json"
# workers run as this user (started as root, nginx would switch them to
# one that cannot read the temp folder)
cat > "$T/nginx/nginx.conf" <<CONF
user $(id -un);
worker_processes 2;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    default_type application/json;
    client_body_temp_path $T/nginx;
    proxy_temp_path $T/nginx;
    fastcgi_temp_path $T/nginx;
    uwsgi_temp_path $T/nginx;
    scgi_temp_path $T/nginx;
    server {
        listen 127.0.0.1:$NPORT;
        root $T/www;
    }
}
CONF
nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" > "$T/nginx/out" 2>&1 &
NGINX_PID=$!
i=0
until curl -sf "http://127.0.0.1:$NPORT/run.json" > /dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -ge 100 ]; then
        echo "bench/serve: nginx did not start: $(cat "$T/nginx/out" "$T/nginx/error.log")" >&2
        exit 1
    fi
    sleep 0.1
done

# measure NAME URL [HEADER]: wrk's requests/s, p99 (ms) and errors
measure() {
    if [ -n "${3:-}" ]; then
        wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -H "$3" "$2" > "$T/$1.wrk" 2>&1
    else
        wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "$2" > "$T/$1.wrk" 2>&1
    fi
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$T/$1.wrk")
    p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
        print v }' "$T/$1.wrk")
    errs=$(awk '/Non-2xx|Socket errors/ { n++ } END { print n + 0 }' "$T/$1.wrk")
    printf 'bench/serve: %-8s %10.0f requests/s  p99 %7.2f ms  %s\n' "$1" "${rps:-0}" \
        "${p99:-0}" "$( [ "$errs" = 0 ] && echo "no errors" || grep -E 'Non-2xx|Socket' "$T/$1.wrk" | tr -s ' ')"
    eval "${1}_rps=\${rps:-0} ${1}_p99=\${p99:-0} ${1}_errs=\$errs"
}

bytes=$(wc -c < "$T/run.json" | tr -d ' ')
echo "bench/serve: $(nproc 2>/dev/null || echo '?') cores, $THREADS wrk threads, $CONNS connections," \
    "${SECS}s each, a $bytes-byte run document, a run executing meanwhile," \
    "$([ -n "$KEY" ] && echo "with an API key" || echo "without API keys (not in this build)")"
if [ -n "$KEY" ]; then
    measure sluice "$URL" "x-api-key: $KEY"
else
    measure sluice "$URL"
fi
measure nginx "http://127.0.0.1:$NPORT/run.json"

# shellcheck disable=SC2154  # set by measure through eval
awk -v s="$sluice_rps" -v n="$nginx_rps" -v p="$sluice_p99" -v e="$sluice_errs" \
    -v strict="${BENCH_STRICT:-0}" 'BEGIN {
    r = n > 0 ? s / n : 0
    printf "\nsluice vs nginx: %.2fx requests/s (goal >= 0.3x); sluice %.0f requests/s (goal >= 10000), p99 %.2f ms (goal < 20 ms), errors %d (goal 0)\n", r, s, p, e
    miss = (r < 0.3) + (s < 10000) + (p >= 20) + (e > 0)
    if (miss) printf "bench/serve: %d goal(s) missed\n", miss
    exit (strict == 1 && miss) ? 1 : 0
}'
