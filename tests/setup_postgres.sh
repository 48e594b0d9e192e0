#!/bin/sh
# The PostgreSQL tests (tests/test_pgdb.py, tests/pgserver.py) start a real server from Debian's
# `postgresql` package in a temporary directory. Install the package when missing and
# possible (root on Debian); otherwise say so in one line: those tests are then reported as
# skipped with the reason.
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL tests will be skipped: the postgresql package is missing and cannot be installed here (needs root on Debian: apt-get install postgresql)"
    exit 0
fi
echo "installing PostgreSQL for the store's PostgreSQL tests (apt-get) …"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq postgresql; } >/tmp/merchant-bot-apt-pg.log 2>&1; then
    echo "PostgreSQL tests will be skipped: apt-get could not install postgresql (see /tmp/merchant-bot-apt-pg.log)"
fi
exit 0
