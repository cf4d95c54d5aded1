#!/usr/bin/env bash
# Walk-up (issue 12): under enforce with interlock.walkup, the badge of a user qualified on the
# instrument enables it outside bookings — an unqualified badge does not — and the walk-in is
# recorded as an after-the-fact booking when the badge logs out, both audited.
. "$(dirname "$0")/lib.sh"

# a walk-in of a few seconds is real use here (the platform's default no-show rule wants 5 min)
SERVER_EXTRA_INI=$'[interlock]\nperiod_s = 1\n[metrics]\nno_show_min_run_s = 1'
start_broker
start_server
register_gateway gw-wu
bind_instruments gw-wu sem-wu
org=$(api "/api/v1/orgs?limit=100" | json '[o["id"] for o in j["items"] if o["name"] == "Test Lab"][0]')
mkuser() { curl -sS -H "Authorization: Bearer $TOKEN" -X POST -d "{\"username\": \"$1\", \"org_id\": $org, \"role\": \"researcher\", \"badge\": $2, \"password\": \"walk-up-pass-2026\"}" "$API/api/v1/users" | json 'j["id"]'; }
qualified=$(mkuser dr.walk 4101) || fail "user"
mkuser dr.nowalk 4102 >/dev/null || fail "user"
[ "$(status POST /api/v1/instruments/sem-wu/qualifications -H "Authorization: Bearer $TOKEN" -d "{\"user_id\": $qualified}")" = 201 ] ||
    fail "qualification: $(cat "$T/last-body")"
# an unqualified badge at 4 s, logged out at 7 s; the qualified one from 10 s to 18 s, measuring
# from 13 s to 16 s (the relay must have followed the badge by then: a few seconds of margin)
cat >"$T/walk.txt" <<'SC'
0 state=idle
4 badge=4102
7 badge=0
10 badge=4101
13 state=running
16 state=idle
18 badge=0
SC
curl -sS -X PATCH -H "Authorization: Bearer $TOKEN" \
    -d '{"interlock": {"mode": "enforce", "lead_min": 0, "overrun_grace_min": 1, "walkup": true}}' \
    "$API/api/v1/instruments/sem-wu" >/dev/null
SIM_PORT=$(free_port)
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$SIM_PORT" --instrument sem-wu --scenario "$T/walk.txt"
T0=$(date +%s.%N)
wait_for 10 port_open "$SIM_PORT" || fail "simulator did not start"
gateway_ini "$T/gw.ini" gw-wu "heartbeat_s = 5"
cat >>"$T/gw.ini" <<CONF
[modbus:sem-wu]
tcp = 127.0.0.1:$SIM_PORT
poll_ms = 200
timeout_ms = 200
CONF
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
( while :; do echo "$(date +%s.%N) $(mbpoll_regs -m tcp -p "$SIM_PORT" -a 1 -r 1 -c 13 127.0.0.1 | cut -d' ' -f11,13)"; sleep 0.3; done ) >"$T/relay.log" 2>/dev/null &
PIDS+=($!)
wait_for 40 grep -q "walk-up by user $qualified recorded as booking" "$T/server.log" ||
    fail "the walk-up was not recorded: $(grep interlock "$T/server.log" | tail -5)"
wait_for 30 python3 -c "import time,sys; sys.exit(0 if time.time() > float(sys.argv[1]) + 22.5 else 1)" "$T0"
python3 - "$T/relay.log" "$T0" <<'PY' || fail "relay during the walk-ups: $(cat "$T/relay.log")"
import sys
t0 = float(sys.argv[2])
rows = [(float(p[0]) - t0, int(p[1]), int(p[2])) for p in (l.split() for l in open(sys.argv[1])) if len(p) == 3]
unq = [r for r in rows if 4.5 <= r[0] < 7]
assert unq and all(r[2] == 0 for r in unq), "an unqualified badge enabled it: %s" % unq
q = [r for r in rows if 13 <= r[0] < 18]
assert q and all(r[2] == 1 for r in q), "the qualified badge did not enable it: %s" % q
after = [r for r in rows if 20.5 <= r[0] < 22]
assert after and all(r[2] == 0 for r in after), "not disabled after the badge left: %s" % after
print("unqualified: off; qualified: on from ~10 s to ~18 s; off after")
PY
pass "walk-up: a qualified badge enables the instrument outside bookings, an unqualified one does not"
walkin() { api "/api/v1/bookings?instrument=sem-wu" | json '[x for x in j["items"] if x["project"] == "walk-in"]'; }
settled() { walkin | grep -q "'status': 'completed'"; }
wait_for 20 settled || fail "the walk-in was not settled as completed: $(walkin)"
b=$(walkin)
python3 - "$b" "$qualified" <<'PY' || fail "walk-in booking: $b"
import ast, sys
items = ast.literal_eval(sys.argv[1])
assert len(items) == 1, items
w = items[0]
assert w["user_id"] == int(sys.argv[2]) and w["status"] == "completed" and w["reason"] == "walk-up by badge", w
assert 2 <= w["metered_seconds"] <= 4, w  # the measurement from 13 s to 16 s
PY
audit=$(api "/api/v1/audit-log?actor=interlock" | json '[r["action"] for r in j["items"]]')
[ "$audit" = "['interlock.walkup', 'booking.walkin']" ] || fail "audit: $audit"
pass "the walk-in is recorded as an after-the-fact booking of the badge's user, audited"
echo "$CHECKS checks passed"
