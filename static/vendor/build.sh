#!/usr/bin/env bash
# Rebuild the vendored front-end assets in this directory from npm.
#
#   bash static/vendor/build.sh
#
# Needs: bash, node (>= 18) and npm, with access to the npm registry.
# Everything is downloaded and compiled in a throw-away temp dir; the outputs
# are checked there, and only then copied into this directory (replacing the
# previously vendored versions). See README.md for what and why.
set -euo pipefail

# --- Pinned versions (change these to upgrade, then update README.md and the
# --- templates that reference the versioned file names). ----------------------
HTMX_VERSION="2.0.11"
GOVUK_VERSION="6.6.0"
SASS_VERSION="1.108.2"   # build tool only, nothing from it is vendored

# npm "dist.integrity" of each tarball (`npm view PKG@VER dist.integrity`).
# npm already verifies downloads against these; checking them here as well
# makes sure nobody rebuilds from a different tarball without noticing.
HTMX_INTEGRITY="sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA=="
GOVUK_INTEGRITY="sha512-xctkWrQvLnvQt7fyjQ3MGX9S0wz0x0RQuLxCeoXF+s8EjGICG81/DYQGKN5qgO+0KVT12UAaRwUsGY6fulRcRg=="
SASS_INTEGRITY="sha512-kugK8djotnG9HQRPTOf36asKYlxg8rWWsNLYHOgWDIVOiZQqlRfKBgF4XXM6kfw146kIDMvm57B4GIkvDSyTzA=="

# Font stack used instead of "GDS Transport" (which is licensed for gov.uk only).
FONT_STACK='arial, sans-serif'
# URL under which Flask serves static/vendor/govuk-frontend/assets/.
ASSETS_URL='/static/vendor/govuk-frontend/assets/'
# ------------------------------------------------------------------------------

DEST="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
OUT="$WORK/out"
mkdir -p "$OUT/govuk-frontend"

die() { echo "build.sh: ERROR: $*" >&2; exit 1; }
log() { echo "build.sh: $*"; }

# 1. Install the pinned packages into the temp dir (no install scripts run).
log "installing htmx.org@$HTMX_VERSION govuk-frontend@$GOVUK_VERSION sass@$SASS_VERSION in $WORK"
cd "$WORK"
printf '{ "name": "surveyapp-vendor-build", "private": true }\n' > package.json
npm install --ignore-scripts --no-audit --no-fund --save-exact --loglevel=error \
  "htmx.org@$HTMX_VERSION" "govuk-frontend@$GOVUK_VERSION" "sass@$SASS_VERSION" >/dev/null

check_pkg() { # name version integrity
  node -e '
    const [name, version, integrity] = process.argv.slice(1);
    const p = require("./package-lock.json").packages["node_modules/" + name];
    if (!p) throw new Error(name + " not installed");
    if (p.version !== version) throw new Error(`${name}: got ${p.version}, want ${version}`);
    if (p.integrity !== integrity) throw new Error(`${name}: integrity mismatch: ${p.integrity}`);
  ' "$@" || die "package check failed for $1"
}
check_pkg htmx.org "$HTMX_VERSION" "$HTMX_INTEGRITY"
check_pkg govuk-frontend "$GOVUK_VERSION" "$GOVUK_INTEGRITY"
check_pkg sass "$SASS_VERSION" "$SASS_INTEGRITY"

# 2. htmx: copy the minified build and its licence unchanged.
HTMX_PKG="$WORK/node_modules/htmx.org"
grep -q "version:\"$HTMX_VERSION\"" "$HTMX_PKG/dist/htmx.min.js" \
  || die "htmx.min.js does not report version $HTMX_VERSION"
cp "$HTMX_PKG/dist/htmx.min.js" "$OUT/htmx-$HTMX_VERSION.min.js"
cp "$HTMX_PKG/LICENSE" "$OUT/htmx-LICENSE.txt"

# 3. GOV.UK Frontend: compile the Sass without the GOV.UK brand font.
GOVUK_PKG="$WORK/node_modules/govuk-frontend"
GOVUK_DIST="$GOVUK_PKG/dist/govuk"
CSS="$OUT/govuk-frontend/govuk-frontend-$GOVUK_VERSION.min.css"

# Configuration goes through `@use ... with (...)`, so Sass fails loudly if a
# setting is renamed or removed in a future version.
#  - $govuk-new-link-styles: gone since v5 (new link styles are always on).
#  - rebrand / $govuk-new-typography-scale: gone in v6 (defaults are the new
#    ones), so nothing to set for this version.
cat > "$WORK/surveyapp-govuk.scss" <<SCSS
@use "govuk-frontend/dist/govuk" with (
  \$govuk-font-family: ($FONT_STACK),
  \$govuk-include-default-font-face: false,
  \$govuk-assets-path: "$ASSETS_URL"
);

// Not a gov.uk service: never show the Royal Coat of Arms (crest) that the
// footer's "© Crown copyright" link draws. The image is not vendored.
.govuk-footer__copyright-logo::before {
  display: none;
}
SCSS

log "compiling GOV.UK Frontend Sass"
"$WORK/node_modules/.bin/sass" --load-path="$WORK/node_modules" --style=compressed \
  --no-source-map --quiet-deps "$WORK/surveyapp-govuk.scss" "$CSS"

# Checks on the compiled CSS.
size=$(wc -c < "$CSS")
[ "$size" -gt 51200 ] || die "CSS is suspiciously small ($size bytes)"
for sel in '.govuk-radios' '.govuk-error-summary' '.govuk-checkboxes' '.govuk-button'; do
  grep -qF -- "$sel" "$CSS" || die "CSS lacks $sel"
done
if grep -qiE 'GDS Transport|@font-face|\.woff2?|/fonts/' "$CSS"; then
  die "CSS still references the GDS Transport font or font files"
fi
# Every url() must point at an asset we vendor, except deliberately omitted
# brand images (the crest, hidden by the override above).
mkdir -p "$OUT/govuk-frontend/assets"
{ grep -oE 'url\([^)]*\)' "$CSS" || true; } | sed -E 's/^url\(["'\'']?//; s/["'\'']?\)$//' | sort -u |
while read -r url; do
  case "$url" in
    data:*) continue ;;
    "${ASSETS_URL}images/govuk-crest.svg") continue ;;   # brand, deliberately omitted
    "${ASSETS_URL}images/govuk-"*|"${ASSETS_URL}images/favicon"*|"${ASSETS_URL}fonts/"*)
      die "CSS references GOV.UK brand asset $url: hide it in the SCSS override" ;;
    "$ASSETS_URL"*) rel="${url#"$ASSETS_URL"}"
      [ -f "$GOVUK_DIST/assets/$rel" ] || die "CSS references missing asset $url"
      mkdir -p "$(dirname "$OUT/govuk-frontend/assets/$rel")"
      cp "$GOVUK_DIST/assets/$rel" "$OUT/govuk-frontend/assets/$rel" ;;
    *) die "CSS references unexpected URL $url" ;;
  esac
done
# No brand images/fonts are wanted; drop the assets dir if nothing was needed.
rmdir "$OUT/govuk-frontend/assets" 2>/dev/null || true

# 4. GOV.UK Frontend JS: the ES module bundle, renamed with its version; the
#    source map comes along and the sourceMappingURL comment is re-pointed.
JS_NAME="govuk-frontend-$GOVUK_VERSION.min.js"
grep -q '//# sourceMappingURL=govuk-frontend.min.js.map' "$GOVUK_DIST/govuk-frontend.min.js" \
  || die "unexpected sourceMappingURL in govuk-frontend.min.js"
sed "s|//# sourceMappingURL=govuk-frontend.min.js.map|//# sourceMappingURL=$JS_NAME.map|" \
  "$GOVUK_DIST/govuk-frontend.min.js" > "$OUT/govuk-frontend/$JS_NAME"
node -e '
  const fs = require("fs");
  const [src, dst, file] = process.argv.slice(1);
  const map = JSON.parse(fs.readFileSync(src, "utf8"));
  map.file = file;
  fs.writeFileSync(dst, JSON.stringify(map));
' "$GOVUK_DIST/govuk-frontend.min.js.map" "$OUT/govuk-frontend/$JS_NAME.map" "$JS_NAME"
grep -q "initAll" "$OUT/govuk-frontend/$JS_NAME" || die "JS bundle does not export initAll"

# Tiny ES module so templates need no inline <script> (CSP-friendly).
cat > "$OUT/govuk-frontend/init.js" <<JS
// Generated by static/vendor/build.sh: do not edit by hand.
// Load with: <script type="module" src="/static/vendor/govuk-frontend/init.js"></script>
import { initAll } from "./$JS_NAME";

// GOV.UK Frontend components refuse to start unless <body> carries this class
// (the upstream template sets it with an inline script; we do it here instead).
document.body.classList.add("govuk-frontend-supported");
initAll();
JS

# GOV.UK Frontend's npm tarball ships no licence file; package.json says "MIT".
# Text below is the repository's LICENSE.txt (github.com/alphagov/govuk-frontend).
[ "$(node -p 'require(process.argv[1]).license' "$GOVUK_PKG/package.json")" = "MIT" ] \
  || die "govuk-frontend is no longer declared MIT: review the licence"
cat > "$OUT/govuk-frontend/LICENSE.txt" <<'LICENSE'
The MIT License (MIT)

Copyright (C) 2017 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
LICENSE

# 5. All checks passed: replace the previously vendored files.
log "installing outputs into $DEST"
rm -f "$DEST"/htmx-*.min.js "$DEST/htmx-LICENSE.txt"
rm -rf "$DEST/govuk-frontend"
cp -R "$OUT"/. "$DEST"/

log "done:"
(cd "$DEST" && find . -type f ! -name build.sh ! -name README.md | sort | xargs ls -l)
