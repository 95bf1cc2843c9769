#!/bin/sh
# Installs the Debian packages sluice needs to build, test and benchmark.
# Idempotent: checks with dpkg-query first and calls apt-get only for what
# is missing, so it is fast when everything is present.
set -e
PKGS="build-essential pkg-config libyaml-dev libsqlite3-dev sqlite3 zlib1g-dev libssl-dev
libxxhash-dev libsnappy-dev libzstd-dev libcurl4-openssl-dev libmicrohttpd-dev clang libclang-rt-14-dev nodejs npm
time gzip libpq-dev postgresql postgresql-client tzdata wrk nginx-light"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        # npm may come from outside Debian's package (its own installer)
        if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
        if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
