#!/usr/bin/env bash
# Debian's Chromium for the browser journeys (tests/browser). Installs it with apt when missing and
# this is root on a Debian-like machine; otherwise exits 1 so the caller skips the journeys. Never
# downloads a browser any other way.
set -u
chromium="${CONVENE_CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}"
[ -x "$chromium" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser journeys"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; } \
    || exit 1
  [ -x "$chromium" ] && exit 0  # installed where it was looked for (not so if CONVENE_CHROMIUM names elsewhere)
fi
exit 1
