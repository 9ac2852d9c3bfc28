#!/usr/bin/env bash
# Debian packages the app needs beyond Python and Node: Pango, HarfBuzz's subsetter and fonts for the PDF
# report (WeasyPrint warns, and the suite fails, without the subsetter).
# Installs them when missing and this is root on a Debian-like machine; otherwise says what to install.
set -u
missing=()
python3 - <<'PY' || missing+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
import ctypes.util, sys
sys.exit(0 if all(ctypes.util.find_library(name) for name in ("pango-1.0", "pangoft2-1.0", "harfbuzz-subset")) else 1)
PY
if ! fc-list 2>/dev/null | grep -qi -e "liberation sans" -e "dejavu sans"; then
  missing+=(fonts-liberation fonts-dejavu-core fontconfig)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages for the PDF report: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } \
    || { echo "Could not install ${missing[*]}: install them (apt-get install ${missing[*]}) for the PDF report." >&2; exit 1; }
else
  echo "The PDF report needs Pango and a font: install ${missing[*]} (e.g. 'sudo apt-get install ${missing[*]}')." >&2
  exit 1
fi
