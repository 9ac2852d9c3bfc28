#!/usr/bin/env bash
# Run the whole suite on SQLite (measuring coverage of app/, floor in .coveragerc), then the browser
# journeys (tests/browser, SQLite only, in Debian's Chromium), then the suite again on a throwaway
# PostgreSQL. The PostgreSQL server listens on a free loopback port, runs as user postgres when we are
# root (via runuser), and is stopped on exit even when the tests fail.
#
# PostgreSQL is never skipped quietly: scripts/postgres-packages.sh installs it with apt where it can.
# Where it still cannot be had, CI (CI set) fails at once; elsewhere the SQLite passes run, a banner says
# PostgreSQL was not tested, and the exit is non-zero unless CONVENE_SKIP_POSTGRES=1 says that is meant
# (which also skips a PostgreSQL that is there). CI ignores CONVENE_SKIP_POSTGRES: it tests both.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST=(.venv/bin/pytest -q -p no:cacheprovider "$@")

banner() {
  local line="!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  printf '\n%s\n' "$line"
  printf '!!!!! %s\n' "$@"
  printf '%s\n\n' "$line"
}
is_ci() { case "${CI:-}" in ""|0|false|False|FALSE|no) return 1 ;; *) return 0 ;; esac; }

skip_postgres=0
if [ "${CONVENE_SKIP_POSTGRES:-0}" = 1 ]; then
  if is_ci; then
    echo "CONVENE_SKIP_POSTGRES is ignored under CI: CI always tests on PostgreSQL too."
  else
    skip_postgres=1
  fi
fi

INITDB=""
if [ $skip_postgres = 0 ]; then
  INITDB=$(scripts/postgres-packages.sh)
  if [ -z "$INITDB" ]; then
    why="initdb was not found (CONVENE_INITDB=${CONVENE_INITDB:-unset}) and PostgreSQL could not be installed"
    fix="install it ('apt-get install postgresql', or run 'make test' as root with apt)"
    if is_ci; then
      banner "POSTGRESQL IS MISSING, SO CI FAILS: $why." \
             "The suite must pass on PostgreSQL as well as SQLite: $fix."
      exit 1
    fi
    banner "POSTGRESQL IS MISSING: $why." \
           "The suite runs on SQLite only and 'make test' will FAIL at the end: $fix," \
           "or set CONVENE_SKIP_POSTGRES=1 to test on SQLite only on purpose."
  fi
fi

echo "== Test suite on SQLite, with coverage of app/ =="
"${PYTEST[@]}" --ignore=tests/browser --cov=app --cov-report=term-missing:skip-covered
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

if [ -z "$INITDB" ]; then
  if [ $skip_postgres = 1 ]; then
    banner "POSTGRESQL PASS SKIPPED (CONVENE_SKIP_POSTGRES=1): the suite ran on SQLite only." \
           "Production runs on PostgreSQL: run 'make test' without it before you push."
    [ $sqlite_status -eq 0 ] && echo "Test suite passed on SQLite (with the browser journeys); PostgreSQL not tested."
    exit $sqlite_status
  fi
  banner "POSTGRESQL NOT TESTED: the suite ran on SQLite only (SQLite and browser exit $sqlite_status)." \
         "Install PostgreSQL ('apt-get install postgresql'), or set CONVENE_SKIP_POSTGRES=1 to mean it."
  exit 1
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
  cat "$PGDATA/initdb.log"; banner "Could not create a PostgreSQL cluster with $PGBIN/initdb (log above)."; exit 1
fi
if ! "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDATA/data" -l "$PGDATA/server.log" -w -t 30 \
     -o "-p $PORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null; then
  cat "$PGDATA/server.log"; banner "Could not start PostgreSQL (server log above)."; exit 1
fi
"${as_pg[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U convene convene_test || exit 1

# No coverage here: the same code as the SQLite pass, and measuring it again would only slow it down.
TEST_DATABASE_URL="postgresql+psycopg://convene@127.0.0.1:$PORT/convene_test" "${PYTEST[@]}" --ignore=tests/browser
pg_status=$?

if [ $sqlite_status -ne 0 ] || [ $pg_status -ne 0 ]; then
  echo "Test suite failed (SQLite and browser exit $sqlite_status, PostgreSQL exit $pg_status)."
  exit 1
fi
echo "Test suite passed on SQLite (with the browser journeys) and PostgreSQL."
