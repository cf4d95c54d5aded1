#!/usr/bin/env bash
# SIGKILL in the middle of a month close (issue 13). The demo builds 120 days of a platform (real
# readings through the gateway, bookings, charges); its database is copied twice. On the first
# copy a server closes last month undisturbed: the reference statements. On the second, the
# close is interrupted by SIGKILL at random moments until one goes through. Afterwards every
# statement of the month (each organisation as payer and as owner) equals the reference, the
# month is closed once (one audit record), the audit chain verifies and PRAGMA integrity_check
# passes: no half-written statement.
. "$(dirname "$0")/lib.sh"

RANDOM=${CHAOS_SEED:-4711}
export LABSHARE_HTTP_PORT=$(free_port) LABSHARE_MQTT_PORT=$(free_port) LABSHARE_EDGE_PORT=$(free_port)
export LABSHARE_MODBUS_BASE=$((20000 + RANDOM % 20000)) LABSHARE_DEMO_CHECK=1
# the demo's 120 days, built once into build/ and reused (80-web-ui.sh starts from it too)
export LABSHARE_DEMO_DIR=$ROOT/build/demo-cache-120 LABSHARE_DEMO_DAYS=120
out=$(bash "$ROOT/server/demo/run.sh" 2>&1) || fail "demo failed: $(tail -20 <<<"$out")"
[ -s "$LABSHARE_DEMO_DIR/server.db" ] || fail "no demo database"
sqlite3 "$LABSHARE_DEMO_DIR/server.db" ".backup '$T/ref.db'" || fail "copy"
sqlite3 "$LABSHARE_DEMO_DIR/server.db" ".backup '$T/victim.db'" || fail "copy"
# the charge lines go, in both: the close has to bring them all up to date from bookings and
# usage first, so there is work to interrupt
for db in "$T/ref.db" "$T/victim.db"; do sqlite3 "$db" "DELETE FROM charges" || fail "reset $db"; done
pass "a 120-day platform built by the demo, copied twice, its charge lines dropped"

month=$(TZ=Asia/Shanghai date -d "$(TZ=Asia/Shanghai date +%Y-%m-01) -1 day" +%Y-%m)
start_broker
use_db() { # DB: server.ini on that database, and the server started on it
    server_ini
    sed -i "s|^db = .*|db = $1|" "$T/server.ini"
    start server "$BIN/labshare-server" -c "$T/server.ini"
    API=http://127.0.0.1:$HTTP_PORT
    wait_for 10 curl -sf "$API/healthz" || fail "server did not start on $1"
    TOKEN=$("$BIN/labshare-server" -c "$T/server.ini" admin-token) || fail "admin-token failed"
}
statements() { # all of the month's statements, as one canonical JSON
    local orgs
    orgs=$(api "/api/v1/orgs?limit=100" | json '" ".join(str(o["id"]) for o in j["items"])')
    for o in $orgs; do
        api "/api/v1/statements?org=$o&month=$month"
        echo
        api "/api/v1/statements?owner_org=$o&month=$month"
        echo
    done | python3 -c '
import json, sys
out = []
for line in sys.stdin:
    if line.strip():
        s = json.loads(line)
        for l in s.get("lines", []):
            for k in ("id", "created_at", "updated_at"):
                l.pop(k, None)
        s.get("lines", []).sort(key=lambda l: json.dumps(l, sort_keys=True))
        out.append(s)
print(json.dumps(out, sort_keys=True))'
}

# the reference: closed undisturbed
use_db "$T/ref.db"
[ "$(status POST "/api/v1/statements/close?month=$month" -H "Authorization: Bearer $TOKEN")" = 200 ] ||
    fail "reference close: $(cat "$T/last-body")"
statements >"$T/ref.json"
lines=$(python3 -c 'import json,sys; print(sum(len(s.get("lines", [])) for s in json.load(open(sys.argv[1]))))' "$T/ref.json")
[ "$lines" -gt 10 ] || fail "too few statement lines for a meaningful test ($lines): $(head -c 600 "$T/ref.json")"
stop server
pass "reference: $month closed undisturbed, $lines statement lines"

# the victim: killed during the close until a close goes through
use_db "$T/victim.db"
kills=0
for round in $(seq 1 30); do
    curl -s -o "$T/close.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        "$API/api/v1/statements/close?month=$month" >"$T/close.code" &
    req=$!
    # the first kills come early (the request barely in), later ones later
    sleep "$(printf '0.%03d' $((round * 7 + RANDOM % 7)))"
    kill9 server
    wait "$req"
    kills=$((kills + 1))
    restart_server
    closed=$(sqlite3 "$T/victim.db" "SELECT count(*) FROM closed_months WHERE month = '$month'")
    [ "$closed" = 1 ] && break
done
if [ "$closed" != 1 ]; then
    code=$(status POST "/api/v1/statements/close?month=$month" -H "Authorization: Bearer $TOKEN")
    [ "$code" = 200 ] || fail "the close after $kills kills: $code $(cat "$T/last-body")"
fi
[ "$(status POST "/api/v1/statements/close?month=$month" -H "Authorization: Bearer $TOKEN")" = 409 ] ||
    fail "a closed month closed again: $(cat "$T/last-body")"
statements >"$T/victim.json"
cmp -s "$T/ref.json" "$T/victim.json" || {
    diff <(python3 -m json.tool "$T/ref.json") <(python3 -m json.tool "$T/victim.json") | head -20
    fail "the statements differ from the reference after $kills kills"
}
pass "$kills SIGKILLs during the close of $month: the statements equal the undisturbed ones"
n=$(api "/api/v1/audit-log?action=statements.close&object=month/$month" | json 'j["total"]')
[ "$n" = 1 ] || fail "the close is audited $n times"
[ "$(api /api/v1/audit-log/verify | json 'j["ok"]')" = True ] || fail "audit chain: $(api /api/v1/audit-log/verify)"
stop server
[ "$(sqlite3 "$T/victim.db" 'PRAGMA integrity_check')" = ok ] || fail "database damaged"
pass "closed once, audited once, the audit chain verifies, integrity_check ok"
echo "$CHECKS checks passed"
