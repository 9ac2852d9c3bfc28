#!/usr/bin/env bash
# One clear sentence for each missing prerequisite, then a non-zero exit.
set -u
ok=1
if ! command -v python3 >/dev/null 2>&1; then
  echo "Convene needs Python 3.11 or newer: install python3 (e.g. 'apt-get install python3 python3-venv')." >&2; ok=0
elif ! python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "Convene needs Python 3.11 or newer, but python3 is $(python3 -V 2>&1 | cut -d' ' -f2): install a newer Python." >&2; ok=0
elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "Convene needs Python's venv module: install it (e.g. 'apt-get install python3-venv')." >&2; ok=0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "Convene needs Node.js and npm to install the NHS.UK design system: install them (e.g. 'apt-get install nodejs npm')." >&2; ok=0
fi
[ "$ok" = 1 ]
