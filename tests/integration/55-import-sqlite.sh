#!/usr/bin/env bash
# Moving a platform (issue 14): the demo's 120 days on SQLite (real readings through the gateway,
# bookings, charges, a closed month) copied into PostgreSQL by `labshare-server import-sqlite`.
# The server on the imported database answers as the one on the SQLite file: the same JSON for
# instruments, bookings, usage, every instrument's readings, charges, every organisation's
# statements as payer and as owner, metrics, evaluation, the platform and the audit log; the audit
# chain verifies there; usage-check finds the stored usage equal to a recomputation from the
# readings; new rows continue the ids. A second import into the same database, and an import from
# a file that is not there, are refused and change nothing.
# Runs in the PostgreSQL pass of tests/run.sh, on its cluster; alone, it starts one of its own.
# postgresql only
if [ -z "${LABSHARE_TEST_PG:-}" ]; then
    . "$(dirname "$0")/../pg.sh"
    pg_start || { echo "FAIL: no PostgreSQL cluster"; exit 1; }
    export LABSHARE_TEST_PG=$PG_URL
    at_exit() { pg_stop; }
fi
. "$(dirname "$0")/lib.sh"

export LABSHARE_HTTP_PORT=$(free_port) LABSHARE_MQTT_PORT=$(free_port) LABSHARE_EDGE_PORT=$(free_port)
export LABSHARE_MODBUS_BASE=$((20000 + RANDOM % 20000)) LABSHARE_DEMO_CHECK=1
# the demo's 120 days, built once into build/ and reused (77 and 80 start from it too)
export LABSHARE_DEMO_DIR=$ROOT/build/demo-cache-120 LABSHARE_DEMO_DAYS=120
out=$(bash "$ROOT/server/demo/run.sh" 2>&1) || fail "demo failed: $(tail -20 <<<"$out")"
sqlite3 "$LABSHARE_DEMO_DIR/server.db" ".backup '$T/old.db'" || fail "copy"
closed=$(sqlite3 "$T/old.db" "SELECT month FROM closed_months ORDER BY month DESC LIMIT 1")
[ -n "$closed" ] || fail "the demo closed no month"
pass "a 120-day platform built by the demo (closed month $closed)"

start_broker
server_ini # db = this test's PostgreSQL database
"$BIN/labshare-server" -c "$T/server.ini" import-sqlite "$T/old.db" >"$T/import.out" 2>"$T/import.err" ||
    fail "import-sqlite failed: $(cat "$T/import.err")"
cat "$T/import.out"
grep -q "the audit chain verifies" "$T/import.out" || fail "no verified audit chain"
for t in readings bookings usage charges audit closed_months instruments users orgs; do
    [ "$(sqlite3 "$T/old.db" "SELECT count(*) FROM $t")" = "$(sdb "SELECT count(*) FROM $t")" ] ||
        fail "$t: $(sqlite3 "$T/old.db" "SELECT count(*) FROM $t") rows on SQLite, $(sdb "SELECT count(*) FROM $t") imported"
done
pass "import-sqlite copied every table (row counts equal) and the audit chain verifies"

use_db() { # DB: the server on that database
    server_ini
    sed -i "s|^db = .*|db = ${1//&/\\&}|" "$T/server.ini" # & is sed's "what matched"
    start server "$BIN/labshare-server" -c "$T/server.ini"
    API=http://127.0.0.1:$HTTP_PORT
    wait_for 10 curl -sf "$API/healthz" || fail "server did not start on $1"
    TOKEN=$("$BIN/labshare-server" -c "$T/server.ini" admin-token) || fail "admin-token failed"
}
year=${closed%-*}
pages() { # PATH[?QUERY]: every page of a list, 1,000 items at a time
    local off=0 total=1 page sep='?'
    [[ "$1" != *\?* ]] || sep='&'
    while [ "$off" -lt "$total" ]; do
        page=$(api "$1$sep""limit=1000&offset=$off")
        total=$(json 'j.get("total", 0)' <<<"$page") || { echo "$page"; return; }
        echo -n "$page "
        off=$((off + 1000))
    done
}
answers() { # what an auditor and a manager read, one JSON document per line
    local orgs ins o i
    orgs=$(api "/api/v1/orgs?limit=100" | json '" ".join(str(o["id"]) for o in j["items"])')
    ins=$(api "/api/v1/instruments?limit=100" | json '" ".join(i["id"] for i in j["items"])')
    for p in "/api/v1/platform" "/api/v1/metrics?from=$year-01-01&to=$((year + 1))-01-01" \
        "/api/v1/evaluation?year=$year" "/api/v1/collaboration?from=$year-01-01&to=$((year + 1))-01-01" \
        "/api/v1/gateways"; do
        echo "$p $(api "$p")"
    done
    for p in "/api/v1/instruments" "/api/v1/orgs" "/api/v1/audit-log?from=$year-01-01" \
        "/api/v1/bookings?from=$year-01-01&to=$((year + 1))-12-31" \
        "/api/v1/usage?from=$year-01-01&to=$((year + 1))-12-31" \
        "/api/v1/charges?from=$year-01-01&to=$((year + 1))-12-31"; do
        echo "$p $(pages "$p")"
    done
    for o in $orgs; do
        echo "payer $o $(api "/api/v1/statements?org=$o&month=$closed")"
        echo "owner $o $(api "/api/v1/statements?owner_org=$o&month=$closed")"
    done
    for i in $ins; do echo "readings $i $(pages "/api/v1/readings?instrument=$i")"; done
}
use_db "$T/old.db"
answers >"$T/sqlite.txt"
stop server
use_db "$SERVER_DB"
answers >"$T/pg.txt"
! grep -q '"error"' "$T/sqlite.txt" || fail "errors on SQLite: $(grep '"error"' "$T/sqlite.txt" | head -3)"
diff <(cut -c1-400 "$T/sqlite.txt") <(cut -c1-400 "$T/pg.txt") >"$T/diff.txt" || true
cmp -s "$T/sqlite.txt" "$T/pg.txt" || fail "the imported platform answers differently: $(head -20 "$T/diff.txt")"
pass "the server on PostgreSQL answers $(wc -l <"$T/pg.txt") queries exactly as on SQLite ($(wc -c <"$T/pg.txt") bytes)"

# new rows continue after the imported ids
st=$(curl -s -o "$T/org.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"Moved in later","type":"enterprise"}' "$API/api/v1/orgs")
[ "$st" = 201 ] || fail "a new organisation after the import: $st $(cat "$T/org.json")"
[ "$(json 'j["id"]' <"$T/org.json")" -gt "$(sqlite3 "$T/old.db" 'SELECT max(id) FROM orgs')" ] ||
    fail "the new organisation reuses an imported id: $(cat "$T/org.json")"
[ "$(api /api/v1/audit-log/verify | json 'j["ok"]')" = True ] || fail "audit chain after a write"
stop server
"$BIN/labshare-server" -c "$T/server.ini" usage-check >"$T/check.out" 2>&1 || fail "usage-check: $(cat "$T/check.out")"
grep -q " 0 differ" "$T/check.out" || fail "usage-check: $(cat "$T/check.out")"
pass "new rows continue the ids, the chain goes on, usage-check: $(cat "$T/check.out")"

before=$(sdb "SELECT count(*) FROM audit")
! "$BIN/labshare-server" -c "$T/server.ini" import-sqlite "$T/old.db" >"$T/again.out" 2>&1 ||
    fail "a second import was accepted"
grep -q "already holds a platform" "$T/again.out" || fail "second import: $(cat "$T/again.out")"
! "$BIN/labshare-server" -c "$T/server.ini" import-sqlite "$T/missing.db" >"$T/missing.out" 2>&1 ||
    fail "an import from a missing file was accepted"
[ ! -e "$T/missing.db" ] || fail "the import created the missing source"
[ "$(sdb "SELECT count(*) FROM audit")" = "$before" ] || fail "a refused import changed the database"
pass "a second import and a missing source are refused, nothing changed"
echo "$CHECKS checks passed"
