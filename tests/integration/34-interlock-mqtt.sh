#!/usr/bin/env bash
# The interlock of an MQTT-native meter (issue 12): the gateway sends the relay's state on the
# meter's command topic (instruments/<id>/cmd on the lab's edge broker) and takes the meter's next
# payload as the confirmation; the simulator logs each command it applies and refuses to run
# while disabled.
. "$(dirname "$0")/lib.sh"

SERVER_EXTRA_INI=$'[interlock]\nperiod_s = 1'
start_broker
start_server
start_edge_broker
register_gateway gw-mq
bind_instruments gw-mq lcms-il
printf '0 state=idle\n' >"$T/idle.txt"
start sim "$BIN/labshare-meter-sim" --mqtt "127.0.0.1:$EDGE_PORT" --instrument lcms-il \
    --scenario "$T/idle.txt" --interval 1
gateway_ini "$T/gw.ini" gw-mq "heartbeat_s = 5"
cat >>"$T/gw.ini" <<CONF
[mqtt:lcms-il]
host = 127.0.0.1
port = $EDGE_PORT
CONF
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
mosquitto_sub -p "$EDGE_PORT" -t 'instruments/lcms-il/#' -v >"$T/edge-wire.log" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q '"interlock":true' "$T/edge-wire.log" || fail "the meter does not report its relay: $(tail -3 "$T/edge-wire.log")"
curl -sS -X PATCH -H "Authorization: Bearer $TOKEN" \
    -d '{"interlock": {"mode": "enforce", "lead_min": 0, "overrun_grace_min": 1}}' \
    "$API/api/v1/instruments/lcms-il" >/dev/null
wait_for 10 grep -q "interlock disabled by an MQTT command" "$T/sim.log" || fail "no disable reached the meter"
grep -q '^instruments/lcms-il/cmd {"interlock":false}' "$T/edge-wire.log" || fail "no command on the edge broker"
state() { api /api/v1/instruments/lcms-il | json "j['interlock_state']$1"; }
agrees() { [ "$(state "['agrees']")" = True ] && [ "$(state "['desired']")" = "$1" ]; }
wait_for 10 agrees disable || fail "the meter's confirmation did not reach the API: $(api /api/v1/instruments/lcms-il)"
pass "MQTT-native: the relay is disabled on the meter's command topic and confirmed by its payload"

user=$(api "/api/v1/users?limit=1" | json 'j["items"][0]["id"]')
body=$(python3 -c "
import json, time
now = time.time()
iso = lambda t: time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%03dZ' % int((t % 1) * 1000)
print(json.dumps({'instrument': 'lcms-il', 'user_id': $user, 'start': iso(now + 2), 'end': iso(now + 7)}))")
[ "$(status POST /api/v1/bookings -H "Authorization: Bearer $TOKEN" -d "$body")" = 201 ] || fail "booking: $(cat "$T/last-body")"
wait_for 8 grep -q "interlock enabled by an MQTT command" "$T/sim.log" || fail "the booking did not enable the meter"
wait_for 8 agrees enable || fail "API: $(api /api/v1/instruments/lcms-il)"
pass "MQTT-native: a booking enables the meter, confirmed"
n=$(grep -c "interlock disabled by an MQTT command" "$T/sim.log")
more() { [ "$(grep -c "interlock disabled by an MQTT command" "$T/sim.log")" -gt "$n" ]; }
wait_for 10 more || fail "not disabled at the booking's end"
pass "MQTT-native: disabled at the booking's end"
il_readings() { readings_json lcms-il | json "[r.get('interlock') for r in j['items']]"; }
il_both() { il_readings | grep -q True && il_readings | grep -q False; }
wait_for 10 il_both || fail "the meter's relay state is not in the readings: $(il_readings)"
pass "MQTT-native: the relay state the meter reports is in the stored readings"

# a meter that does not confirm: the command is repeated with backoff and the fault reported
stop sim
body=$(python3 -c "
import json, time
now = time.time()
iso = lambda t: time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%03dZ' % int((t % 1) * 1000)
print(json.dumps({'instrument': 'lcms-il', 'user_id': $user, 'start': iso(now + 1), 'end': iso(now + 60)}))")
[ "$(status POST /api/v1/bookings -H "Authorization: Bearer $TOKEN" -d "$body")" = 201 ] || fail "booking: $(cat "$T/last-body")"
fault_has() { state "['fault'] or ''" | grep -q "$1"; }
wait_for 15 fault_has "the meter has not confirmed" || fail "an unconfirmed command is not reported: $(api /api/v1/instruments/lcms-il)"
sleep 6
asks=$(grep -c '^instruments/lcms-il/cmd {"interlock":true}' "$T/edge-wire.log")
[ "$asks" -ge 2 ] && [ "$asks" -le 6 ] || fail "$asks enable commands in ~8 s: not a backoff"
pass "MQTT-native: an unconfirmed command is asked again with backoff ($asks times) and reported"
start sim "$BIN/labshare-meter-sim" --mqtt "127.0.0.1:$EDGE_PORT" --instrument lcms-il \
    --scenario "$T/idle.txt" --interval 1
cleared() { [ "$(state "['fault']")" = None ] && [ "$(state "['agrees']")" = True ]; }
wait_for 20 cleared || fail "the fault is not cleared once the meter confirms: $(api /api/v1/instruments/lcms-il)"
pass "MQTT-native: the meter's confirmation clears the fault"
echo "$CHECKS checks passed"
