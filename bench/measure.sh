#!/bin/sh
# Runs one command and measures it: wall time and peak resident memory.
#
# usage: sh bench/measure.sh RESULT_FILE TIMEOUT_SECONDS CMD [ARGS...]
#
# Writes "WALL_SECONDS PEAK_RSS_KB EXIT_CODE" to RESULT_FILE; the command's
# own output goes where this script's goes. A command still running after
# TIMEOUT_SECONDS is killed (exit code 124, or 137 when it ignored TERM).
# GNU time gives the exact peak RSS (ru_maxrss from wait4, which includes
# the waited-for `timeout` child's descendants); without it, measure.js
# polls /proc for the child's VmHWM (BENCH_MEASURE=node forces that).
set -u
out=$1
tmo=$2
shift 2
here=$(dirname "$0")

now_ns() {
    t=$(date +%s%N 2>/dev/null)
    case "$t" in
        *N|'') node -e 'process.stdout.write(String(process.hrtime.bigint()))' ;;
        *) printf '%s' "$t" ;;
    esac
}

if [ "${BENCH_MEASURE:-}" != node ] && [ -x /usr/bin/time ] && /usr/bin/time -f '%M' -o /dev/null true 2>/dev/null; then
    rss_file="$out.rss"
    t0=$(now_ns)
    /usr/bin/time -f '%M' -o "$rss_file" timeout -k 5 "$tmo" "$@"
    rc=$?
    t1=$(now_ns)
    # GNU time prefixes "Command exited with non-zero status N" lines.
    rss=$(tail -n 1 "$rss_file" 2>/dev/null)
    rm -f "$rss_file"
    case "$rss" in ''|*[!0-9]*) rss=0 ;; esac
    awk -v a="$t0" -v b="$t1" -v r="$rss" -v c="$rc" \
        'BEGIN { printf "%.3f %d %d\n", (b - a) / 1e9, r, c }' > "$out"
    exit 0
fi
exec node "$here/measure.js" "$out" "$tmo" "$@"
