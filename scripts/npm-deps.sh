#!/bin/sh
# Installs the npm peers of the tests (tests/package.json) into
# tests/node_modules when missing or when package.json changed. No lock
# file: versions are pinned exactly in package.json.
set -e
cd "$(dirname "$0")/../tests"
stamp=node_modules/.sluice-stamp
if [ -f "$stamp" ] && cmp -s package.json "$stamp"; then
    exit 0
fi
echo "deps: installing test peers (npm)"
npm install --no-package-lock --no-audit --no-fund --loglevel=error > /dev/null
cp package.json "$stamp"
