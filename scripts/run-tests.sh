#!/usr/bin/env bash
# Run the whole suite on SQLite, then the browser journeys (tests/browser, SQLite only, in Debian's
# Chromium), then the suite again on a throwaway PostgreSQL when initdb is available.
# The PostgreSQL server listens on a free loopback port, runs as user postgres when we are
# root (via runuser), and is stopped on exit even when the tests fail.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST=(.venv/bin/pytest -q -p no:cacheprovider "$@")

echo "== Test suite on SQLite =="
"${PYTEST[@]}" --ignore=tests/browser
sqlite_status=$?

browser_status=0
if scripts/browser-packages.sh; then
  echo "== Browser journeys and accessibility checks (Chromium, SQLite) =="
  "${PYTEST[@]}" tests/browser
  browser_status=$?
else
  echo "!!!!! BROWSER JOURNEYS SKIPPED: chromium is not installed and could not be installed (run as root with apt, or 'apt-get install chromium') !!!!!"
fi
[ $browser_status -ne 0 ] && sqlite_status=1

find_initdb() {
  command -v initdb 2>/dev/null && return 0
  ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}
INITDB=$(find_initdb)
if [ -z "$INITDB" ]; then
  echo "== PostgreSQL: initdb not found, so the suite ran on SQLite only (install postgresql to test both) =="
  exit $sqlite_status
fi
PGBIN=$(dirname "$(readlink -f "$INITDB")")

PGDATA=$(mktemp -d /tmp/convene-pg.XXXXXX)
PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$PGDATA"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDATA/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDATA"
}
trap cleanup EXIT INT TERM

echo "== Test suite on PostgreSQL (throwaway server on 127.0.0.1:$PORT) =="
if ! "${as_pg[@]}" "$PGBIN/initdb" -D "$PGDATA/data" -U convene -A trust -E UTF8 --locale=C.UTF-8 >"$PGDATA/initdb.log" 2>&1; then
  cat "$PGDATA/initdb.log"; echo "Could not create a PostgreSQL cluster."; exit 1
fi
if ! "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDATA/data" -l "$PGDATA/server.log" -w -t 30 \
     -o "-p $PORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null; then
  cat "$PGDATA/server.log"; echo "Could not start PostgreSQL."; exit 1
fi
"${as_pg[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U convene convene_test || exit 1

TEST_DATABASE_URL="postgresql+psycopg://convene@127.0.0.1:$PORT/convene_test" "${PYTEST[@]}" --ignore=tests/browser
pg_status=$?

if [ $sqlite_status -ne 0 ] || [ $pg_status -ne 0 ]; then
  echo "Test suite failed (SQLite and browser exit $sqlite_status, PostgreSQL exit $pg_status)."
  exit 1
fi
echo "Test suite passed on SQLite (with the browser journeys) and PostgreSQL."
