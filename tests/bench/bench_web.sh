#!/usr/bin/env bash
# Web UI speed (issue 11): each main page's time to its data and first-load bytes in headless
# Chromium, on the year-long demo (built once into build/bench-demo and kept), beside the same
# browser's navigation to a tiny answer of the same server (tests/bench/web.mjs).
. "$(dirname "$0")/../integration/lib.sh"

NPM_DIR=$ROOT/build/npm/browser
mkdir -p "$NPM_DIR"
if ! cmp -s "$ROOT/tests/browser/package-lock.json" "$NPM_DIR/package-lock.json" ||
    [ ! -d "$NPM_DIR/node_modules/playwright-core" ]; then
    cp "$ROOT/tests/browser/package.json" "$ROOT/tests/browser/package-lock.json" "$NPM_DIR/"
    (cd "$NPM_DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) || fail "npm ci failed"
fi
cp "$ROOT/tests/bench/web.mjs" "$NPM_DIR/"
export LABSHARE_HTTP_PORT=$(free_port) LABSHARE_MQTT_PORT=$(free_port)
export LABSHARE_MODBUS_BASE=$((20000 + RANDOM % 20000)) LABSHARE_DEMO_DIR=$ROOT/build/bench-demo
start demo bash "$ROOT/server/demo/run.sh"
trap 'rc=$?; kill -TERM "$PID_demo" 2>/dev/null; wait "$PID_demo" 2>/dev/null; (exit $rc); cleanup' EXIT
wait_for 600 grep -q "Press Ctrl-C to stop" "$T/demo.log" || fail "the demo did not start"
echo "== web UI page speed (headless Chromium, year-long demo: $(grep -o 'has lived [0-9]* days' "$T/demo.log"))"
(cd "$NPM_DIR" && LABSHARE_URL="http://127.0.0.1:$LABSHARE_HTTP_PORT" node web.mjs) || fail "web bench failed"
