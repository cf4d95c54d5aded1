#!/usr/bin/env bash
# The interlock over Modbus RTU (a socat pseudo-terminal), and the broker down across a
# booking's end (issue 12): the relay of a meter on a serial bus follows a booking — seen in the
# simulator's own log of coil writes, since the bus has room for one master only — and with the
# broker gone the gateway still disables it at the end; when the broker is back the retained
# command agrees and nothing is enabled again.
. "$(dirname "$0")/lib.sh"

SERVER_EXTRA_INI=$'[interlock]\nperiod_s = 1'
start_broker
start_server
register_gateway gw-rtu
bind_instruments gw-rtu nmr-rtu
start_pty bus
printf '0 state=idle\n' >"$T/idle.txt"
start sim "$BIN/labshare-meter-sim" --modbus-rtu "$T/bus-a" --baud 19200 --unit 1 \
    --instrument nmr-rtu --scenario "$T/idle.txt"
gateway_ini "$T/gw.ini" gw-rtu "heartbeat_s = 5"
cat >>"$T/gw.ini" <<CONF
[modbus:nmr-rtu]
rtu = $T/bus-b
baud = 19200
unit = 1
poll_ms = 200
timeout_ms = 150
CONF
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
writes() { grep -c "interlock $1 by a Modbus write" "$T/sim.log"; }
curl -sS -X PATCH -H "Authorization: Bearer $TOKEN" \
    -d '{"interlock": {"mode": "enforce", "lead_min": 0, "overrun_grace_min": 1}}' \
    "$API/api/v1/instruments/nmr-rtu" >/dev/null
wait_for 15 grep -q "interlock disabled by a Modbus write" "$T/sim.log" ||
    fail "enforce without a booking did not open the RTU meter's relay: $(tail -5 "$T/sim.log")"
pass "RTU: enforce opens the relay of a meter on a serial bus"

user=$(api "/api/v1/users?limit=1" | json 'j["items"][0]["id"]')
start_s=2 end_s=9
body=$(python3 -c "
import json, time
now = time.time()
iso = lambda t: time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%03dZ' % int((t % 1) * 1000)
print(json.dumps({'instrument': 'nmr-rtu', 'user_id': $user, 'start': iso(now + $start_s), 'end': iso(now + $end_s)}))")
end_epoch=$(python3 -c "import time; print(time.time() + $end_s)")
[ "$(status POST /api/v1/bookings -H "Authorization: Bearer $TOKEN" -d "$body")" = 201 ] || fail "booking: $(cat "$T/last-body")"
wait_for 8 grep -q "interlock enabled by a Modbus write" "$T/sim.log" || fail "the booking did not close the relay"
pass "RTU: a booking closes the relay at its start"

# the broker goes away during the booking: the gateway ends it by itself
kill9 broker
before=$(writes disabled)
more_disabled() { [ "$(writes disabled)" -gt "$before" ]; }
wait_for 12 more_disabled || fail "with the broker down the relay was not opened at the end"
at=$(grep "interlock disabled by a Modbus write" "$T/sim.log" | tail -1 | cut -d' ' -f1)
python3 - "$at" "$end_epoch" <<'PY' || fail "disabled at the wrong time"
import datetime, sys
at = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
end = float(sys.argv[2])
assert end - 0.5 <= at <= end + 2.0, "disabled %.1f s from the booking's end" % (at - end)
print("disabled %.2f s after the end" % (at - end))
PY
pass "the broker down across the end: the gateway opens the relay at the end (within a poll)"
restart_broker
wait_for 15 grep -q "interlock command version .* applied\|interlock command refused" <(tail -n +1 "$T/gateway.log") ||
    fail "no command after the broker came back"
enabled=$(writes enabled)
sleep 3
[ "$(writes enabled)" = "$enabled" ] || fail "the relay was closed again after the broker came back"
pass "the broker back: the retained command agrees, nothing is enabled again"
echo "$CHECKS checks passed"
