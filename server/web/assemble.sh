#!/usr/bin/env bash
# Assemble the web UI into OUT (default build/web): our pages from server/web, the files we use
# from the npm packages of package-lock.json (installed with `npm ci` into build/npm/web, never
# into the repository), under versioned folders, and a gzip beside every text file so the
# server can send it precompressed. Called by `make`; idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-build/web}"
npmdir="${2:-build/npm/web}"

mkdir -p "$npmdir"
if ! cmp -s "$here/package-lock.json" "$npmdir/package-lock.json" ||
    [ ! -d "$npmdir/node_modules" ]; then
    command -v npm >/dev/null || { echo "assemble: npm is needed (Node.js 20)" >&2; exit 1; }
    cp "$here/package.json" "$here/package-lock.json" "$npmdir/"
    (cd "$npmdir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
fi
nm="$npmdir/node_modules"
ver() { node -p "require('$(cd "$nm/$1" && pwd)/package.json').version"; }
fc="vendor/fullcalendar-$(ver fullcalendar)"
ec="vendor/echarts-$(ver echarts)"

tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/app" "$tmp/$fc/themes/classic" "$tmp/$fc/locales/zh-cn" "$tmp/$ec"
cp "$here/index.html" "$tmp/"
cp -r "$here/app/." "$tmp/app/"
cp "$nm/fullcalendar/all/global.js" "$nm/fullcalendar/skeleton.css" "$tmp/$fc/"
cp "$nm/fullcalendar/themes/classic/global.js" "$nm/fullcalendar/themes/classic/theme.css" \
    "$nm/fullcalendar/themes/classic/palette.css" "$tmp/$fc/themes/classic/"
cp "$nm/fullcalendar/locales/zh-cn/global.js" "$tmp/$fc/locales/zh-cn/"
cp "$nm/echarts/dist/echarts.min.js" "$tmp/$ec/"
cat > "$tmp/app/vendor.js" <<JS
// Written by server/web/assemble.sh from package-lock.json: where the packages are served.
export const FULLCALENDAR = '/$fc';
export const ECHARTS = '/$ec';
JS
find "$tmp" -type f \( -name '*.html' -o -name '*.js' -o -name '*.css' -o -name '*.svg' \) \
    -exec gzip -9 -k -n {} +
rm -rf "$out"
mv "$tmp" "$out"
