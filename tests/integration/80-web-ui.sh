#!/usr/bin/env bash
# The web UI in a real browser: the demo (a few months of platform life) on free ports, and
# tests/browser/ui.test.mjs driving Debian's chromium through playwright-core (npm, from the
# committed lock file) as each role would. Screenshots go to build/screenshots/.
# serial (tests/run.sh runs it alone): Chromium loads both cores
. "$(dirname "$0")/lib.sh"

[ -x /usr/bin/chromium ] || fail "Debian's chromium is not installed (make deps installs it)"
NPM_DIR=$ROOT/build/npm/browser
mkdir -p "$NPM_DIR"
if ! cmp -s "$ROOT/tests/browser/package-lock.json" "$NPM_DIR/package-lock.json" ||
    [ ! -d "$NPM_DIR/node_modules/playwright-core" ]; then
    cp "$ROOT/tests/browser/package.json" "$ROOT/tests/browser/package-lock.json" "$NPM_DIR/"
    (cd "$NPM_DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ||
        fail "npm ci of the browser tests' packages failed"
fi
cp "$ROOT/tests/browser/ui.test.mjs" "$NPM_DIR/"
pass "playwright-core and axe-core installed from the lock file"

export LABSHARE_HTTP_PORT=$(free_port) LABSHARE_MQTT_PORT=$(free_port)
export LABSHARE_MODBUS_BASE=$((20000 + RANDOM % 20000)) LABSHARE_DEMO_DIR=$T/demo
export LABSHARE_DEMO_DAYS=${LABSHARE_DEMO_DAYS:-120}
# the 120 days 77-faults-month-close.sh had the demo build, when they are there: the demo reuses
# them (its stamp says which scripts built them) instead of building them again
if [ "$LABSHARE_DEMO_DAYS" = 120 ] && [ -d "$ROOT/build/demo-cache-120" ]; then
    mkdir -p "$T/demo"
    cp -a "$ROOT/build/demo-cache-120/." "$T/demo/"
fi
start demo bash "$ROOT/server/demo/run.sh"
# the demo script stops what it started on SIGTERM; a SIGKILL (lib.sh's cleanup) would not
trap 'rc=$?; kill -TERM "$PID_demo" 2>/dev/null; wait "$PID_demo" 2>/dev/null; (exit $rc); cleanup' EXIT
wait_for 300 grep -q "Press Ctrl-C to stop" "$T/demo.log" || fail "the demo did not start: $(tail -20 "$T/demo.log")"
grep -q "Web UI  *http://127.0.0.1:$LABSHARE_HTTP_PORT/" "$T/demo.log" || fail "the banner does not give the UI's URL"
pass "the demo runs and its banner gives the web UI's URL"
TOKEN=$(grep -o 'lst_[0-9a-f]*' "$T/demo.log" | head -1)

SHOTS=$ROOT/build/screenshots
rm -rf "$SHOTS"
(cd "$NPM_DIR" && LABSHARE_URL="http://127.0.0.1:$LABSHARE_HTTP_PORT" LABSHARE_ADMIN_TOKEN="$TOKEN" \
    LABSHARE_SHOTS="$SHOTS" node --test --test-reporter=spec --test-timeout=240000 ui.test.mjs) ||
    fail "browser tests failed"
pass "browser tests: every role's pages, booking by dragging, conflict, approvals, charts, evidence, CSV, languages, axe-core"
n=$(ls "$SHOTS"/*-en.png 2>/dev/null | wc -l)
z=$(ls "$SHOTS"/*-zh.png 2>/dev/null | wc -l)
[ "$n" -ge 20 ] && [ "$z" -ge 20 ] || fail "screenshots missing: $n English, $z Chinese in $SHOTS"
pass "screenshots of every main page in both languages in build/screenshots ($n + $z)"
echo "$CHECKS checks passed"
