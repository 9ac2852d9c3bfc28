#!/usr/bin/env bash
# PostgreSQL's server programs for the suite's second pass: prints the path of initdb and exits 0.
# Installs Debian's postgresql with apt when it is missing and this is root on a Debian-like machine
# (as browser-packages.sh does for Chromium); otherwise exits 1 and the caller says so loudly.
# CONVENE_INITDB names initdb exactly (a PostgreSQL built elsewhere, or to try the missing case).
set -u

find_initdb() {
  if [ -n "${CONVENE_INITDB:-}" ]; then
    [ -x "$CONVENE_INITDB" ] && echo "$CONVENE_INITDB"
    return 0
  fi
  command -v initdb 2>/dev/null && return 0
  ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}

initdb=$(find_initdb)
if [ -z "$initdb" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's postgresql for the suite's PostgreSQL pass" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1; } \
    || echo "apt-get could not install postgresql" >&2
  initdb=$(find_initdb)
fi
[ -n "$initdb" ] || exit 1
echo "$initdb"
