#!/bin/sh
# sluice benchmarks against peers, in one go (`make bench`, or sh bench/run.sh).
#
# Generates N order records (bench/gen_orders.js; kept in bench/work/ and
# reused while N and the generator are unchanged), then times, each RUNS
# times keeping the best (lowest) time:
#   sluice_csv      sluice JSONL -> CSV, --threads 1 (bench/pipelines/jsonl_to_csv.yaml)
#   sluice_csv_mt   the same with the default threads (two stages)
#   duckdb_t1       DuckDB JSONL -> CSV, threads=1
#   duckdb_default  DuckDB JSONL -> CSV, default threads (one per core)
#   sluice_sqlite   sluice JSONL -> SQLite, --threads 1 (bench/pipelines/jsonl_to_sqlite.yaml)
#   sluice_sqlite_mt the same with the default threads
#   sluice_parquet  sluice JSONL -> snappy Parquet (lake sink), --threads 1
#   sluice_parquet_mt the same with the default threads
#   duckdb_pq_t1    DuckDB JSONL -> snappy Parquet, threads=1
#   duckdb_pq_default the same with DuckDB's default threads
#   sqlite3_import  sqlite3 CLI .import of the same data as CSV
# checks that every output holds N rows, and prints rows/s, peak RSS and
# the ratios against the goals. See bench/README.md.
#
# Environment: BENCH_ROWS (default 1000000), BENCH_RUNS (3), BENCH_TIMEOUT
# (seconds per run, default 60 + N/10000), SLUICE (default build/sluice),
# BENCH_KEEP=1 keeps the outputs, BENCH_STRICT=1 exits 1 when a goal is missed.
# Exit: 0 done, 1 a run failed or an output had the wrong row count,
# 2 setup problem (missing tool, bad settings).
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
BENCH=$ROOT/bench
WORK=$BENCH/work
N=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-3}
SLUICE=${SLUICE:-$ROOT/build/sluice}

case "$N" in ''|*[!0-9]*|0) echo "bench: BENCH_ROWS must be a positive integer, got '$N'" >&2
    exit 2 ;; esac
case "$RUNS" in ''|*[!0-9]*|0) echo "bench: BENCH_RUNS must be a positive integer, got '$RUNS'" >&2
    exit 2 ;; esac
TMO=${BENCH_TIMEOUT:-$((60 + N / 10000))}
case "$TMO" in ''|*[!0-9]*|0) echo "bench: BENCH_TIMEOUT must be a positive integer" >&2
    exit 2 ;; esac

for tool in node npm sqlite3 timeout awk; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench: '$tool' not found (make deps installs what the benchmark needs)" >&2
        exit 2
    fi
done

mkdir -p "$WORK" || exit 2
T=$(mktemp -d "$WORK/run.XXXXXX") || exit 2
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench: outputs kept in $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

# ---- input data ------------------------------------------------------------
JSONL=$WORK/orders.jsonl
CSV=$WORK/orders.csv
MARKER=$WORK/orders.marker
want="rows=$N gen=$(cksum < "$BENCH/gen_orders.js" | cut -d' ' -f1)"
if [ "$(cat "$MARKER" 2>/dev/null)" != "$want" ] || [ ! -s "$JSONL" ] || [ ! -s "$CSV" ]; then
    rm -f "$MARKER"
    echo "bench: generating $N rows into bench/work/"
    if ! timeout "$TMO" node "$BENCH/gen_orders.js" "$N" "$JSONL" "$CSV"; then
        echo "bench: data generation failed" >&2
        exit 2
    fi
    echo "$want" > "$MARKER"
fi

# ---- DuckDB (npm, into bench/node_modules) ---------------------------------
pinned=$(node -p "require('$BENCH/package.json').dependencies['@duckdb/node-api']")
installed=$(node -p "require('$BENCH/node_modules/@duckdb/node-api/package.json').version" \
    2>/dev/null)
if [ "$installed" != "$pinned" ]; then
    echo "bench: installing @duckdb/node-api $pinned into bench/node_modules"
    # The exact pin in package.json fixes the bindings too (they pin the same
    # version). No lock file: npm ci rejects the lock npm writes here (the
    # other platforms' optional bindings are missing from it).
    timeout 600 npm install --prefix "$BENCH" --no-package-lock --no-audit --no-fund \
        --loglevel=error || echo "bench: npm install failed; DuckDB rows will fail" >&2
fi

# Reading the input once puts it in the page cache, so the first timed
# run is not the only one paying for the disk.
cat "$JSONL" "$CSV" > /dev/null

# ---- measuring -------------------------------------------------------------
FAILED=0

# set_result NAME FIELD VALUE
set_result() {
    eval "R_$1_$2=\$3"
}
# get_result NAME FIELD
get_result() {
    eval "printf '%s' \"\${R_$1_$2:-}\""
}

# run_case NAME CLEAN_FILES CMD...: runs CMD RUNS times (CLEAN_FILES, a
# space-separated list, are deleted before each run), keeping the best
# time and the highest peak RSS. DuckDB cases are timed by their COPY
# statement alone (see duckdb_convert.js); the others by process wall time.
run_case() {
    name=$1
    clean=$2
    shift 2
    best=""
    bestwall=""
    peak=0
    i=1
    printf 'bench: %-15s' "$name"
    while [ "$i" -le "$RUNS" ]; do
        # shellcheck disable=SC2086
        rm -rf $clean
        sh "$BENCH/measure.sh" "$T/measure" "$TMO" "$@" > "$T/$name.out" 2> "$T/$name.err"
        read -r wall rss rc < "$T/measure"
        if [ "$rc" != 0 ]; then
            if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
                set_result "$name" status "timed out after ${TMO}s"
            else
                set_result "$name" status "failed (exit $rc)"
            fi
            echo " run $i: $(get_result "$name" status)"
            sed 's/^/    /' "$T/$name.err" | tail -n 15
            FAILED=1
            return 1
        fi
        t=$wall
        case "$name" in
            duckdb*)
                t=$(sed -n 's/.*copy_seconds=\([0-9.]*\).*/\1/p' "$T/$name.out")
                if [ -z "$t" ]; then
                    t=$wall
                fi ;;
        esac
        printf ' %.3fs' "$t"
        best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }')
        bestwall=$(awk -v a="$bestwall" -v b="$wall" \
            'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }')
        if [ "$rss" -gt "$peak" ]; then
            peak=$rss
        fi
        i=$((i + 1))
    done
    echo
    set_result "$name" time "$best"
    set_result "$name" wall "$bestwall"
    set_result "$name" rss "$peak"
    set_result "$name" status ok
    return 0
}

# check_rows NAME GOT: records the row check of a case.
check_rows() {
    if [ "$2" = "$N" ]; then
        set_result "$1" check "rows ok"
    else
        set_result "$1" check "ROWS: $2, want $N"
        set_result "$1" status "wrong row count"
        FAILED=1
        echo "bench: $1: $2 rows instead of $N; its last run said:" >&2
        tail -n 15 "$T/$1.err" 2>/dev/null | sed 's/^/    /' >&2
    fi
}

csv_rows() {
    if ! node "$BENCH/count_csv.js" "$1" > "$T/count.out" 2> "$T/count.err"; then
        sed 's/^/    /' "$T/count.err" >&2
        echo "bad"
        return 0
    fi
    cat "$T/count.out"
}

sqlite_rows() {
    sqlite3 "$1" 'SELECT count(*) FROM orders' 2>/dev/null || echo "0 (no table)"
}

echo "bench: $N rows, $(wc -c < "$JSONL" | awk -v n="$N" '{ printf "%.0f", $1 / n }') bytes/line" \
    "JSONL, best of $RUNS, timeout ${TMO}s per run, $(nproc 2>/dev/null || echo '?') cores"

have_sluice=0
if [ -x "$SLUICE" ]; then
    have_sluice=1
fi

# sluice_csv: one thread (--threads 1), against DuckDB at threads=1;
# sluice_csv_mt: the default (two stages on two threads), against DuckDB's
# default (one thread per core).
sluice_csv_case() { # NAME THREADS
    if run_case "$1" "$T/$1.csv $T/state_$1.db $T/state_$1.db-wal $T/state_$1.db-shm" \
        "$SLUICE" run "$BENCH/pipelines/jsonl_to_csv.yaml" --state "$T/state_$1.db" \
        --threads "$2" -p "input=$JSONL" -p "output=$T/$1.csv"; then
        check_rows "$1" "$(csv_rows "$T/$1.csv")"
        # Informative only: other quoting or number spellings are valid CSV.
        if cmp -s "$T/$1.csv" "$CSV"; then
            set_result "$1" check "$(get_result "$1" check); same bytes as orders.csv"
        else
            set_result "$1" check "$(get_result "$1" check); bytes differ from orders.csv"
        fi
    fi
}
if [ "$have_sluice" = 1 ]; then
    sluice_csv_case sluice_csv 1
    sluice_csv_case sluice_csv_mt 0
else
    set_result sluice_csv status "sluice not built"
    set_result sluice_csv_mt status "sluice not built"
fi

if run_case duckdb_t1 "$T/duckdb_t1.csv" node "$BENCH/duckdb_convert.js" "$JSONL" \
    "$T/duckdb_t1.csv" 1; then
    check_rows duckdb_t1 "$(csv_rows "$T/duckdb_t1.csv")"
fi
if run_case duckdb_default "$T/duckdb_default.csv" node "$BENCH/duckdb_convert.js" "$JSONL" \
    "$T/duckdb_default.csv" default; then
    check_rows duckdb_default "$(csv_rows "$T/duckdb_default.csv")"
    DUCK_THREADS=$(sed -n 's/.*threads=\([0-9]*\).*/\1/p' "$T/duckdb_default.out")
fi

sluice_sqlite_case() { # NAME THREADS
    if run_case "$1" \
        "$T/$1.db $T/$1.db-wal $T/$1.db-shm $T/$1.db-journal $T/state_$1.db \
$T/state_$1.db-wal $T/state_$1.db-shm" \
        "$SLUICE" run "$BENCH/pipelines/jsonl_to_sqlite.yaml" --state "$T/state_$1.db" \
        --threads "$2" -p "input=$JSONL" -p "db=$T/$1.db"; then
        check_rows "$1" "$(sqlite_rows "$T/$1.db")"
    fi
}
if [ "$have_sluice" = 1 ]; then
    sluice_sqlite_case sluice_sqlite 1
    sluice_sqlite_case sluice_sqlite_mt 0
else
    set_result sluice_sqlite status "sluice not built"
    set_result sluice_sqlite_mt status "sluice not built"
fi

# JSONL -> snappy Parquet: sluice's lake sink against DuckDB's COPY, at one
# thread and at the defaults; also compares output size and peak memory.
pq_check() { # NAME PATH
    out=$(node "$BENCH/count_parquet.js" "$2" 2> "$T/$1.count.err") || out=""
    check_rows "$1" "${out%% *}"
    set_result "$1" bytes "${out#* }"
}
sluice_pq_case() { # NAME THREADS
    if run_case "$1" "$T/$1 $T/state_$1.db $T/state_$1.db-wal $T/state_$1.db-shm" \
        "$SLUICE" run "$BENCH/pipelines/jsonl_to_parquet.yaml" --state "$T/state_$1.db" \
        --threads "$2" -p "input=$JSONL" -p "output=$T/$1"; then
        pq_check "$1" "$T/$1"
    fi
}
if [ "$have_sluice" = 1 ]; then
    sluice_pq_case sluice_parquet 1
    sluice_pq_case sluice_parquet_mt 0
else
    set_result sluice_parquet status "sluice not built"
    set_result sluice_parquet_mt status "sluice not built"
fi
if run_case duckdb_pq_t1 "$T/duckdb_pq_t1.parquet" node "$BENCH/duckdb_convert.js" "$JSONL" \
    "$T/duckdb_pq_t1.parquet" 1; then
    pq_check duckdb_pq_t1 "$T/duckdb_pq_t1.parquet"
fi
if run_case duckdb_pq_default "$T/duckdb_pq_default.parquet" node "$BENCH/duckdb_convert.js" \
    "$JSONL" "$T/duckdb_pq_default.parquet" default; then
    pq_check duckdb_pq_default "$T/duckdb_pq_default.parquet"
fi

# With a new database file, .import takes the header row as column names
# and creates the table (all columns TEXT).
if run_case sqlite3_import "$T/import.db $T/import.db-journal" sqlite3 "$T/import.db" \
    ".mode csv" ".import --csv $CSV orders"; then
    check_rows sqlite3_import "$(sqlite_rows "$T/import.db")"
fi

# ---- PostgreSQL: load and extract ------------------------------------------
# A throwaway server (tests/harness/pg_server.sh). Load: sluice JSONL -> table
# (sql sink, COPY) against psql's \copy of the same rows as CSV into a table
# of the same DDL; each run starts with a TRUNCATE in the same command, for
# both (and sluice's also drops the checkpoint its sink keeps in the
# database, which would otherwise make the next run resume after the end). Extract: sluice table -> snappy Parquet (sql source + lake sink)
# against psql's \copy (SELECT ...) TO a CSV file.
PG_DDL="(id bigint, customer text, amount double precision, qty bigint, paid boolean,
 created_at timestamptz, note text, score double precision)"
pg_psql() {
    psql -X -q -v ON_ERROR_STOP=1 "$PG_URL" "$@"
}
PG_URL=""
if command -v psql > /dev/null 2>&1; then
    mkfifo "$T/pg.in"
    sh "$BENCH/../tests/harness/pg_server.sh" < "$T/pg.in" > "$T/pg.out" 2> "$T/pg.err" &
    exec 7> "$T/pg.in"
    i=0
    until grep -q '^READY ' "$T/pg.out" 2> /dev/null || [ $i -ge 600 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    PG_URL=$(awk '/^READY /{print $2}' "$T/pg.out")
fi
pg_rows() {
    pg_psql -At -c "SELECT count(*) FROM $1" 2> /dev/null || echo "0 (no table)"
}
if [ -z "$PG_URL" ]; then
    echo "bench: PostgreSQL did not start: $(cat "$T/pg.err" 2> /dev/null)" >&2
    for c in sluice_pg_load sluice_pg_load_mt psql_copy_in sluice_pg_extract \
        sluice_pg_extract_mt psql_copy_out; do
        set_result "$c" status "no PostgreSQL"
    done
else
    pg_psql -c "CREATE TABLE orders_sluice $PG_DDL" -c "CREATE TABLE orders_copy $PG_DDL" \
        -c "CREATE TABLE orders_src $PG_DDL" -c "\\copy orders_src FROM '$CSV' CSV HEADER" \
        -c "VACUUM ANALYZE orders_src" > /dev/null
    sluice_pg_load_case() { # NAME THREADS
        if run_case "$1" "$T/state_$1.db $T/state_$1.db-wal $T/state_$1.db-shm" sh -c \
            'psql -X -q "$1" -c "TRUNCATE orders_sluice" -c "DROP TABLE IF EXISTS sluice_checkpoints" \
            && shift && exec "$@"' sh "$PG_URL" \
            "$SLUICE" run "$BENCH/pipelines/jsonl_to_pg.yaml" --state "$T/state_$1.db" \
            --threads "$2" -p "input=$JSONL" -p "db=$PG_URL"; then
            check_rows "$1" "$(pg_rows orders_sluice)"
        fi
    }
    sluice_pg_extract_case() { # NAME THREADS
        if run_case "$1" "$T/$1 $T/state_$1.db $T/state_$1.db-wal $T/state_$1.db-shm" \
            "$SLUICE" run "$BENCH/pipelines/pg_to_parquet.yaml" --state "$T/state_$1.db" \
            --threads "$2" -p "db=$PG_URL" -p "output=$T/$1"; then
            pq_check "$1" "$T/$1"
        fi
    }
    if [ "$have_sluice" = 1 ]; then
        sluice_pg_load_case sluice_pg_load 1
        sluice_pg_load_case sluice_pg_load_mt 0
    else
        set_result sluice_pg_load status "sluice not built"
        set_result sluice_pg_load_mt status "sluice not built"
    fi
    if run_case psql_copy_in "" psql -X -q -v ON_ERROR_STOP=1 "$PG_URL" \
        -c "TRUNCATE orders_copy" -c "\\copy orders_copy FROM '$CSV' CSV HEADER"; then
        check_rows psql_copy_in "$(pg_rows orders_copy)"
    fi
    if [ "$have_sluice" = 1 ]; then
        sluice_pg_extract_case sluice_pg_extract 1
        sluice_pg_extract_case sluice_pg_extract_mt 0
    else
        set_result sluice_pg_extract status "sluice not built"
        set_result sluice_pg_extract_mt status "sluice not built"
    fi
    if run_case psql_copy_out "$T/copy_out.csv" psql -X -q -v ON_ERROR_STOP=1 "$PG_URL" \
        -c "\\copy (SELECT * FROM orders_src) TO '$T/copy_out.csv' CSV HEADER"; then
        check_rows psql_copy_out "$(csv_rows "$T/copy_out.csv")"
    fi
    exec 7>&-
fi

# ---- report ----------------------------------------------------------------
rate() {
    t=$(get_result "$1" time)
    if [ "$(get_result "$1" status)" != ok ] || [ -z "$t" ]; then
        return 0
    fi
    awk -v n="$N" -v t="$t" 'BEGIN { if (t > 0) printf "%.0f", n / t; else printf "%.0f", n / 0.001 }'
}

echo
printf '%-15s %9s %12s %9s  %s\n' name "time s" "rows/s" "peak MB" "check / note"
printf '%-15s %9s %12s %9s  %s\n' "---------------" "---------" "------------" "---------" \
    "------------"
for name in sluice_csv sluice_csv_mt duckdb_t1 duckdb_default sluice_sqlite sluice_sqlite_mt \
    sqlite3_import sluice_parquet sluice_parquet_mt duckdb_pq_t1 duckdb_pq_default \
    sluice_pg_load sluice_pg_load_mt psql_copy_in sluice_pg_extract sluice_pg_extract_mt \
    psql_copy_out; do
    st=$(get_result "$name" status)
    if [ "$st" = ok ] || [ "$st" = "wrong row count" ]; then
        note=$(get_result "$name" check)
        if [ -n "$(get_result "$name" bytes)" ]; then
            note="$note; $(get_result "$name" bytes) bytes"
        fi
        case "$name" in
            duckdb*) note="$note; COPY only, process wall $(get_result "$name" wall) s" ;;
        esac
        if [ "$name" = duckdb_default ] && [ -n "${DUCK_THREADS:-}" ]; then
            note="$note; threads=$DUCK_THREADS"
        fi
        printf '%-15s %9.3f %12s %9s  %s\n' "$name" "$(get_result "$name" time)" \
            "$(rate "$name")" \
            "$(awk -v k="$(get_result "$name" rss)" 'BEGIN { printf "%.1f", k / 1024 }')" \
            "$note"
    else
        printf '%-15s %9s %12s %9s  %s\n' "$name" - - - "$st"
    fi
done

MISSED=0
# ratio LABEL NUM DEN GOAL: prints NUM's rows/s over DEN's, with PASS/MISS
# when GOAL is not "-".
ratio() {
    a=$(rate "$2")
    b=$(rate "$3")
    if [ -z "$a" ] || [ -z "$b" ]; then
        printf '%-40s %8s\n' "$1" "n/a"
        return 0
    fi
    if [ "$4" = - ]; then
        awk -v a="$a" -v b="$b" -v l="$1" 'BEGIN { printf "%-40s %7.2fx\n", l, a / b }'
        return 0
    fi
    verdict=$(awk -v a="$a" -v b="$b" -v g="$4" 'BEGIN { print (a / b >= g) ? "PASS" : "MISS" }')
    if [ "$verdict" = MISS ]; then
        MISSED=1
    fi
    awk -v a="$a" -v b="$b" -v l="$1" -v g="$4" -v v="$verdict" \
        'BEGIN { printf "%-40s %7.2fx  goal >= %sx  %s\n", l, a / b, g, v }'
}

echo
ratio "sluice_csv / duckdb_t1 (rows/s)" sluice_csv duckdb_t1 1.5
ratio "sluice_csv_mt / duckdb_default (rows/s)" sluice_csv_mt duckdb_default -
ratio "sluice_sqlite / sqlite3_import (rows/s)" sluice_sqlite sqlite3_import 0.8
ratio "sluice_sqlite_mt / sqlite3_import (rows/s)" sluice_sqlite_mt sqlite3_import -
ratio "sluice_parquet / duckdb_pq_t1 (rows/s)" sluice_parquet duckdb_pq_t1 1.5
ratio "sluice_parquet_mt / duckdb_pq_default (rows/s)" sluice_parquet_mt duckdb_pq_default 1.0
# at_most LABEL NAME_A NAME_B FIELD GOAL: A's FIELD over B's, which should
# not exceed GOAL (peak memory, output size).
at_most() {
    a=$(get_result "$2" "$4")
    b=$(get_result "$3" "$4")
    if [ -z "$a" ] || [ -z "$b" ] || [ "$(get_result "$2" status)" != ok ] ||
        [ "$(get_result "$3" status)" != ok ]; then
        printf '%-40s %8s\n' "$1" "n/a"
        return 0
    fi
    if [ "$5" = - ]; then
        awk -v a="$a" -v b="$b" -v l="$1" 'BEGIN { printf "%-40s %7.2fx\n", l, a / b }'
        return 0
    fi
    verdict=$(awk -v a="$a" -v b="$b" -v g="$5" 'BEGIN { print (a / b <= g) ? "PASS" : "MISS" }')
    if [ "$verdict" = MISS ]; then
        MISSED=1
    fi
    awk -v a="$a" -v b="$b" -v l="$1" -v g="$5" -v v="$verdict" \
        'BEGIN { printf "%-40s %7.2fx  goal <= %sx  %s\n", l, a / b, g, v }'
}
at_most "sluice_parquet / duckdb_pq_t1 (peak RSS)" sluice_parquet duckdb_pq_t1 rss 0.334
at_most "sluice_parquet / duckdb_pq_t1 (bytes)" sluice_parquet duckdb_pq_t1 bytes 1.2
ratio "sluice_pg_load / psql_copy_in (rows/s)" sluice_pg_load psql_copy_in -
ratio "sluice_pg_load_mt / psql_copy_in (rows/s)" sluice_pg_load_mt psql_copy_in 0.9
at_most "sluice_pg_extract_mt / psql_copy_out (time)" sluice_pg_extract_mt psql_copy_out time 1.3
at_most "sluice_pg_extract / psql_copy_out (time)" sluice_pg_extract psql_copy_out time -

if [ "$have_sluice" = 0 ]; then
    echo
    echo "bench: sluice not built ($SLUICE missing): run make, or make bench"
fi
if [ "$FAILED" = 1 ]; then
    exit 1
fi
if [ "$MISSED" = 1 ] && [ "${BENCH_STRICT:-0}" = 1 ]; then
    exit 1
fi
exit 0
