#!/bin/sh
# make demo: runs the quickstart on embedded defaults (SQLite state and
# sink, local files) and shows what it produced. Safe to run again: the
# second run skips the files the first one ingested.
set -e
cd "$(dirname "$0")"
SLUICE=../../build/sluice
STATE=out/state.db

echo "== sluice validate pipeline.yaml"
$SLUICE validate pipeline.yaml
echo
echo "== sluice run pipeline.yaml -p min_amount=10"
$SLUICE run pipeline.yaml -p min_amount=10 --state "$STATE" --no-progress
echo
echo "== what landed in out/shop.db (table orders)"
sqlite3 -header -column out/shop.db \
  "SELECT count(*) AS orders, round(sum(amount), 2) AS total, min(day) AS first_day,
          max(day) AS last_day FROM orders;"
echo
sqlite3 -header -column out/shop.db \
  "SELECT id, customer, amount, status, created_at, day, _source_system,
          substr(_record_hash, 1, 8) AS hash8
   FROM orders ORDER BY id LIMIT 5;"
echo
echo "== run it again: the files are already ingested, nothing is read twice"
$SLUICE run pipeline.yaml -p min_amount=10 --state "$STATE" --no-progress
echo
echo "== run history (sluice runs)"
$SLUICE runs --state "$STATE" --limit 5
