#!/bin/sh
# The map benchmark (part of `make bench`, or sh bench/map.sh): what a map
# costs per item, against the way it is done without one.
#
# Each item is a one-record flow into SQLite (file source, set transform,
# sql sink in append mode) with durable item state: claimed under a lease,
# its checkpoint and ingested file recorded, its outcome stored. Cases:
#   map_c1       a map over MAP_ITEMS items, max_concurrency 1
#   map_c4       the same, max_concurrency 4
#   loop         LOOP_ITEMS runs of the same flow, one `sluice run` each,
#                from a shell loop (how the seeds fan out: one Lambda per item)
#   map_rss      a map over RSS_ITEMS items at max_concurrency 4: peak RSS
# and checks that every output holds one row per item. Goals (issue 10):
# the map at least 20x the loop's items/s, under 2 ms per item, and under
# 100 MB of peak RSS for 100,000 items.
#
# Environment: MAP_ITEMS (default 10000), LOOP_ITEMS (1000), RSS_ITEMS
# (100000), SLUICE (default build/sluice), BENCH_TIMEOUT (seconds per case,
# default 900), BENCH_STRICT=1 exits 1 when a goal is missed.
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
BENCH=$ROOT/bench
SLUICE=${SLUICE:-$ROOT/build/sluice}
MAP_ITEMS=${MAP_ITEMS:-10000}
LOOP_ITEMS=${LOOP_ITEMS:-1000}
RSS_ITEMS=${RSS_ITEMS:-100000}
TMO=${BENCH_TIMEOUT:-900}
for v in "$MAP_ITEMS" "$LOOP_ITEMS" "$RSS_ITEMS" "$TMO"; do
    case "$v" in ''|*[!0-9]*|0) echo "bench/map: counts must be positive integers" >&2
        exit 2 ;; esac
done
if [ ! -x "$SLUICE" ]; then
    echo "bench/map: $SLUICE not built (make all)" >&2
    exit 2
fi
mkdir -p "$BENCH/work" || exit 2
T=$(mktemp -d "$BENCH/work/map.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
FAILED=0

printf '{"v":1}\n' > "$T/one.jsonl"

# map_pipeline FILE N CONCURRENCY: a map over N items (N dates from 1900-01-01)
map_pipeline() {
    cat > "$1" <<YAML
name: bench_map
params:
  db: {type: string}
steps:
  - name: per
    map:
      items: {dates: {start: "1900-01-01", days: $2}}
      max_concurrency: $3
      steps:
        - name: one
          source: {type: file, url: "$T/one.jsonl", format: jsonl}
          transforms: [{type: set, fields: {item: "{{ item }}"}}]
          sink: {type: sql, url: "sqlite:///{{ params.db }}", table: items, mode: append}
YAML
}

# the same flow as a whole pipeline, for one `sluice run` per item
cat > "$T/single.yaml" <<YAML
name: bench_single
params:
  db: {type: string}
  item: {type: int}
steps:
  - name: one
    source: {type: file, url: "$T/one.jsonl", format: jsonl}
    transforms: [{type: set, fields: {item: "{{ params.item }}"}}]
    sink: {type: sql, url: "sqlite:///{{ params.db }}", table: items, mode: append}
YAML

rows() {
    sqlite3 "$1" 'SELECT count(*), count(DISTINCT item) FROM items' 2>/dev/null || echo "0|0"
}

# run_map NAME N CONCURRENCY: times one map run; sets NAME_secs, NAME_rss
run_map() {
    map_pipeline "$T/$1.yaml" "$2" "$3"
    sh "$BENCH/measure.sh" "$T/$1.measure" "$TMO" "$SLUICE" run "$T/$1.yaml" \
        --state "$T/$1.state.db" --no-progress --log-level warn -p "db=$T/$1.db" \
        > "$T/$1.out" 2> "$T/$1.err"
    read -r wall rss rc < "$T/$1.measure"
    got=$(rows "$T/$1.db")
    if [ "$rc" != 0 ] || [ "$got" != "$2|$2" ]; then
        echo "bench/map: $1 failed (exit $rc, rows|distinct $got, want $2|$2)" >&2
        tail -n 10 "$T/$1.err" | sed 's/^/    /' >&2
        FAILED=1
    fi
    eval "${1}_secs=$wall ${1}_rss=$rss"
    printf 'bench/map: %-7s %7d items %8.3fs %9.0f items/s %7.1f MB\n' "$1" "$2" "$wall" \
        "$(awk -v n="$2" -v t="$wall" 'BEGIN { print n / t }')" \
        "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
}

echo "bench/map: $(nproc 2>/dev/null || echo '?') cores"
run_map map_c1 "$MAP_ITEMS" 1
run_map map_c4 "$MAP_ITEMS" 4

# the loop: each item its own process, state and database shared
start=$(date +%s%N)
i=0
while [ "$i" -lt "$LOOP_ITEMS" ]; do
    # --full-refresh: the one input file is read again by every run
    if ! "$SLUICE" run "$T/single.yaml" --state "$T/loop.state.db" --no-progress --full-refresh \
        --log-level warn -p "db=$T/loop.db" -p "item=$i" > /dev/null 2> "$T/loop.err"; then
        echo "bench/map: loop: run $i failed" >&2
        tail -n 5 "$T/loop.err" | sed 's/^/    /' >&2
        FAILED=1
        break
    fi
    i=$((i + 1))
done
end=$(date +%s%N)
loop_secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
got=$(rows "$T/loop.db")
if [ "$got" != "$LOOP_ITEMS|$LOOP_ITEMS" ]; then
    echo "bench/map: loop wrote $got rows, want $LOOP_ITEMS" >&2
    FAILED=1
fi
printf 'bench/map: %-7s %7d items %8.3fs %9.0f items/s\n' loop "$LOOP_ITEMS" "$loop_secs" \
    "$(awk -v n="$LOOP_ITEMS" -v t="$loop_secs" 'BEGIN { print n / t }')"

run_map map_rss "$RSS_ITEMS" 4

# ---- report ----------------------------------------------------------------
# shellcheck disable=SC2154  # set by run_map through eval
awk -v n="$MAP_ITEMS" -v l="$LOOP_ITEMS" -v c1="$map_c1_secs" -v c4="$map_c4_secs" \
    -v lp="$loop_secs" -v rss="$map_rss_rss" -v rn="$RSS_ITEMS" -v strict="${BENCH_STRICT:-0}" '
BEGIN {
    loop_rate = l / lp; r1 = (n / c1) / loop_rate; r4 = (n / c4) / loop_rate
    ms1 = c1 * 1000 / n; ms4 = c4 * 1000 / n; mb = rss / 1024
    printf "\nmap vs loop (items/s): concurrency 1 %.1fx, concurrency 4 %.1fx (goal >= 20x)\n", r1, r4
    printf "per item: %.2f ms at concurrency 1, %.2f ms at 4 (goal < 2 ms)\n", ms1, ms4
    printf "peak RSS for %d items: %.1f MB (goal < 100 MB)\n", rn, mb
    miss = (r1 < 20) + (ms1 >= 2) + (mb >= 100)
    if (miss) printf "bench/map: %d goal(s) missed\n", miss
    exit (strict == 1 && miss) ? 1 : 0
}' || FAILED=1
exit "$FAILED"
