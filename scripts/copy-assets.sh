#!/usr/bin/env bash
# Copy the NHS.UK front-end's built CSS, JS and assets into app/static/nhsuk/ (gitignored).
set -euo pipefail
src=node_modules/nhsuk-frontend/dist/nhsuk
dest=app/static/nhsuk
rm -rf "$dest"
mkdir -p "$dest"
cp "$src/nhsuk-frontend.min.css" "$src/nhsuk-frontend.min.js" "$dest/"
# The stylesheet points at its icons from the site's root (/assets/images/...): point it at the copy beside it.
sed -i 's#url(/assets/#url(assets/#g' "$dest/nhsuk-frontend.min.css"
cp -r "$src/assets" "$dest/assets"
echo "NHS.UK frontend $(node -p "require('./node_modules/nhsuk-frontend/package.json').version") copied to $dest"
