#!/usr/bin/env bash
# The interlock relay (issue 12) through real components: the server's desired state, its command
# on the broker, the gateway writing coil 0 of a simulated meter over Modbus TCP — read back with
# mbpoll from the simulator, not through LabShare. A booking enables the instrument at its lead
# time and disables it at its end; an outage disables it; a replayed old command (published as
# the server's own account) enables nothing; the gateway killed with SIGKILL mid-booking comes
# back to the right state; with the server down across the end, the gateway still disables on
# time; monitor mode computes and sends nothing.
. "$(dirname "$0")/lib.sh"

SERVER_EXTRA_INI=$'[interlock]\nperiod_s = 1'
start_broker
start_server
register_gateway gw-il
bind_instruments gw-il icp-il nmr-ov
cat >"$T/idle.txt" <<'SC'
0 state=idle
SC
SIM_PORT=$(free_port)
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$SIM_PORT" --instrument icp-il \
    --scenario "$T/idle.txt"
wait_for 10 port_open "$SIM_PORT" || fail "simulator did not start"
# a second meter whose user starts a long measurement 25 s from now, inside a booking that ends
# at 30 s: it must not be cut; the run ends at 45 s, and then the relay opens
cat >"$T/overrun.txt" <<'SC'
0 state=idle
25 state=running badge=5
45 state=idle badge=0
SC
OV_PORT=$(free_port)
start sim-ov "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$OV_PORT" --instrument nmr-ov \
    --scenario "$T/overrun.txt"
OV_T0=$(date +%s.%N)
wait_for 10 port_open "$OV_PORT" || fail "second simulator did not start"
cat >"$T/gw.ini" <<CONF
[gateway]
id = gw-il
outbox = $T/outbox.db
heartbeat_s = 5
[uplink]
host = 127.0.0.1
port = $MQTT_PORT
username = $(gw_user gw-il)
password = $(gw_pass gw-il)
[modbus:icp-il]
tcp = 127.0.0.1:$SIM_PORT
poll_ms = 200
timeout_ms = 200
[modbus:nmr-ov]
tcp = 127.0.0.1:$OV_PORT
poll_ms = 200
timeout_ms = 200
CONF
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
# the relay as the meter has it (register 12), read by a third party
relay() { mbpoll_regs -m tcp -p "$SIM_PORT" -a 1 -r 13 -c 1 127.0.0.1; }
relay_is() { [ "$(relay)" = "$1" ]; }
wait_for 10 relay_is 1 || fail "the meter's relay does not start closed: $(relay)"
pass "without a policy the relay is left as the meter starts it (enabled)"

api_patch() { curl -sS -X PATCH -H "Authorization: Bearer $TOKEN" -d "$2" "$API/api/v1/instruments/$1"; }
out=$(api_patch icp-il '{"interlock": {"mode": "enforce", "lead_min": 0, "overrun_grace_min": 1}}')
grep -q '"mode": *"enforce"' <<<"$out" || fail "policy not taken: $out"
[ "$(status PATCH /api/v1/instruments/icp-il -H "Authorization: Bearer $TOKEN" -d '{"interlock": {"mode": "strict"}}')" = 400 ] ||
    fail "a bad policy was taken"
wait_for 10 relay_is 0 || fail "enforce without a booking did not open the relay: $(relay)"
state() { api /api/v1/instruments/icp-il | json "j['interlock_state']$1"; }
agrees() { [ "$(state "['agrees']")" = True ] && [ "$(state "['desired']")" = "$1" ]; }
wait_for 10 agrees disable || fail "API: $(api /api/v1/instruments/icp-il)"
pass "enforce: no booking, relay disabled; the API shows desired and reported states agreeing"

# a booking a few seconds ahead (an admin records it outside the grid)
user=$(api "/api/v1/users?limit=1" | json 'j["items"][0]["id"]')
book() { # START_S END_S [INSTRUMENT [T0]]: a confirmed booking from T0+START to T0+END seconds
    python3 - "$1" "$2" "${3:-icp-il}" "${4:-}" <<PY
import json, sys, time, urllib.request
now = float(sys.argv[4]) if sys.argv[4] else time.time()
iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)
body = {"instrument": sys.argv[3], "user_id": $user, "start": iso(now + float(sys.argv[1])), "end": iso(now + float(sys.argv[2]))}
req = urllib.request.Request("$API/api/v1/bookings", data=json.dumps(body).encode(), method="POST",
                             headers={"Authorization": "Bearer $TOKEN"})
print(json.load(urllib.request.urlopen(req))["id"])
PY
}
# the overrun meter: enforce with a minute's grace, booked from 20 s to 30 s after its start;
# its relay sampled every 0.3 s from now on
api_patch nmr-ov '{"interlock": {"mode": "enforce", "lead_min": 0, "overrun_grace_min": 1}}' >/dev/null
book 20 30 nmr-ov "$OV_T0" >/dev/null || fail "overrun booking failed"
( while :; do echo "$(date +%s.%N) $(mbpoll_regs -m tcp -p "$OV_PORT" -a 1 -r 1 -c 13 127.0.0.1 | cut -d' ' -f1,13)"; sleep 0.3; done ) >"$T/overrun.log" 2>/dev/null &
PIDS+=($!)
# mosquitto_sub itself, not the mqtt_sub function: a function's subshell dies at exit, its child
# would not
start cmd mosquitto_sub -p "$MQTT_PORT" -u "$OBS_USER" -P "$OBS_PASS" ${MQTT_TLS_ARGS:-} \
    -t 'labshare/v1/gw/gw-il/cmd' -v
b1=$(book 4 12) || fail "booking failed"
sleep 2
relay_is 0 || fail "enabled before the booking's start"
wait_for 6 relay_is 1 || fail "not enabled at the booking's start: $(relay)"
pass "a booking enables the relay at its start (lead 0), not before"
grep -q "\"interlock\":\"enable\",\"until\"" "$T/cmd.log" || grep -q '"interlock":"enable"' "$T/cmd.log" ||
    fail "no enable command on the wire: $(cat "$T/cmd.log")"
old_enable=$(grep '"enable"' "$T/cmd.log" | head -1 | cut -d' ' -f2-)
wait_for 12 relay_is 0 || fail "not disabled at the booking's end: $(relay)"
pass "the relay is disabled at the booking's end (the meter idle)"

# replay the old enable command as the server's own account: older than what was applied
mosquitto_pub -p "$MQTT_PORT" -u "$MQTT_USER" -P "$MQTT_PASS" -q 1 -t labshare/v1/gw/gw-il/cmd -m "$old_enable"
wait_for 5 grep -q "interlock command refused: version .* is not newer" "$T/gateway.log" ||
    fail "the replay was not refused: $(tail -5 "$T/gateway.log")"
sleep 1
relay_is 0 || fail "a replayed command enabled the relay"
pass "a replayed old command is refused and enables nothing"

# the gateway killed mid-booking comes back and holds the state
b2=$(book 2 40) || fail "booking failed"
wait_for 6 relay_is 1 || fail "second booking not enabled"
kill9 gateway
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
wait_for 10 grep -q "interlock command version .* applied\|restored from" "$T/gateway.log" || fail "gateway did not take the command again"
sleep 1
relay_is 1 || fail "after a SIGKILL and restart mid-booking the relay is not enabled"
pass "gateway killed with SIGKILL mid-booking: back with the relay enabled"

# an outage inside the booking disables it; its deletion enables it again
now_iso() { python3 -c "import time,sys; t=time.time()+float(sys.argv[1]); print(time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t))+'Z')" "$1"; }
out=$(curl -sS -X POST -H "Authorization: Bearer $TOKEN" -d "{\"start\": \"$(now_iso -1)\", \"end\": \"$(now_iso 600)\", \"kind\": \"breakdown\"}" "$API/api/v1/instruments/icp-il/outages")
oid=$(json 'j["id"]' <<<"$out") || fail "outage: $out"
wait_for 6 relay_is 0 || fail "an outage did not disable the relay"
pass "an outage disables the relay"
# (the outage cancelled the booking; a new one after it)
[ "$(status DELETE "/api/v1/instruments/icp-il/outages/$oid" -H "Authorization: Bearer $TOKEN")" = 200 ] || fail "outage delete"

# the server down across a booking's end: the gateway ends it by itself
b3=$(book 1 8) || fail "booking failed"
wait_for 6 relay_is 1 || fail "third booking not enabled"
kill9 server
wait_for 12 relay_is 0 || fail "with the server down the relay stayed enabled past the end: $(relay)"
pass "the server down across the end: the gateway disables the relay at the end by itself"
start server "$BIN/labshare-server" -c "$T/server.ini"
wait_for 10 curl -sf "$API/healthz" || fail "server did not come back"

# the overrun: running at the booking's end, not cut; disabled once the run is over
wait_for 60 python3 -c "import time,sys; sys.exit(0 if time.time() > float(sys.argv[1]) + 49 else 1)" "$OV_T0"
python3 - "$T/overrun.log" "$OV_T0" <<'PY' || fail "overrun: $(cat "$T/overrun.log" | tail -40)"
import sys
t0 = float(sys.argv[2])
rows = []
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 3:
        rows.append((float(p[0]) - t0, int(p[1]), int(p[2])))  # seconds, state, relay
def during(a, b):
    return [r for r in rows if a <= r[0] < b]
assert during(15, 19) and all(r[2] == 0 for r in during(15, 19)), "enabled before the booking: %s" % during(0, 19)
assert all(r[2] == 1 for r in during(22, 44)), "relay not held from the start through the overrun: %s" % during(22, 44)
assert any(r[1] == 2 for r in during(31, 44)), "the measurement did not run past the booking's end"
assert all(r[2] == 0 for r in during(48, 49.5)), "not disabled after the run: %s" % during(44, 50)
print("overrun held from 30 s to the end of the run at 45 s, then disabled")
PY
pass "a running measurement is not cut at the booking's end; the relay opens when it goes idle"

# monitor: computed and shown, nothing sent; the gateway releases the relay
api_patch icp-il '{"interlock": {"mode": "monitor"}}' >/dev/null
wait_for 10 relay_is 1 || fail "monitor mode did not release the relay"
[ "$(state "['desired']")" = disable ] || fail "monitor: desired state not computed: $(api /api/v1/instruments/icp-il)"
# unbooked use is possible and on record: the relay, read back, disagrees with the desired state
disagrees() { [ "$(state "['agrees']")" = False ] && [ "$(state "['actual']")" = enable ]; }
wait_for 10 disagrees || fail "monitor: the disagreement is not shown: $(api /api/v1/instruments/icp-il)"
disagreement_counted() { api /metrics/prometheus | grep -q '^labshare_interlock_disagreements [1-9]'; }
wait_for 10 disagreement_counted || fail "monitor: the disagreement is not counted"
grep -q '"instrument":"icp-il","interlock":"observe"' "$T/cmd.log" || fail "monitor: no observe entry: $(tail -3 "$T/cmd.log")"
pass "monitor: computed and shown, nothing written; the relay read back disagrees and is counted"
# read whole, not piped into grep -q: grep leaving early made curl fail (SIGPIPE, pipefail)
prom=$(api /metrics/prometheus)
grep -q '^labshare_interlock_commands_total [1-9]' <<<"$prom" || fail "no command count"
grep -q '^labshare_interlock_instruments{mode="monitor"} 1' <<<"$prom" || fail "no monitor count: $(grep interlock_instruments <<<"$prom")"
grep -q '^labshare_interlock_instruments{mode="enforce"} 1' <<<"$prom" || fail "no enforce count: $(grep interlock_instruments <<<"$prom")"
pass "prometheus counts commands and policies"
echo "$CHECKS checks passed"
