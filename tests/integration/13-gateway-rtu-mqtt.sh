#!/usr/bin/env bash
# One gateway reading two meters on one RTU bus (a socat pseudo-terminal, units 1 and 2, one
# request at a time) and an MQTT-native instrument on an edge broker: readings of all three
# arrive with the values their scenarios imply; junk on the instrument's topic is refused.
. "$(dirname "$0")/lib.sh"

start_broker
start_server
register_gateway gw-bus
bind_instruments gw-bus nmr-600 tem-01 lcms-01 ms-02
start_edge_broker
start_pty bus
cat >"$T/run.txt" <<'SC'
0 state=idle
1 state=running badge=1001
3 state=idle badge=0 samples+=5
SC
cat >"$T/fleet.txt" <<FLEET
nmr-600  rtu   $T/bus-a  unit=1 baud=19200 scenario=run.txt
tem-01   rtu   $T/bus-a  unit=2 baud=19200 seed=4
lcms-01  mqtt  127.0.0.1:$EDGE_PORT  scenario=run.txt interval=1
FLEET
start sims "$BIN/labshare-meter-sim" --fleet "$T/fleet.txt"
# A second edge broker that wants a password: the gateway's [mqtt:ms-02] gives it.
EDGE2_PORT=$(free_port)
printf 'gw-bus-edge:edge-secret-2026\nmeter-ms-02:meter-secret-2026\n' >"$T/edge2.passwd"
mosquitto_passwd -U "$T/edge2.passwd"
chmod 644 "$T/edge2.passwd"
printf 'listener %s 127.0.0.1\nallow_anonymous false\npassword_file %s\npersistence false\n' \
    "$EDGE2_PORT" "$T/edge2.passwd" >"$T/edge2.conf"
start edge2 mosquitto -c "$T/edge2.conf"
wait_for 10 port_open "$EDGE2_PORT" || fail "edge broker 2 did not start"
gateway_ini "$T/gw.ini" gw-bus "heartbeat_s = 2"
cat >>"$T/gw.ini" <<CONF
[modbus:nmr-600]
rtu = $T/bus-b
baud = 19200
unit = 1
poll_ms = 200
timeout_ms = 150
[modbus:tem-01]
rtu = $T/bus-b
baud = 19200
unit = 2
poll_ms = 200
timeout_ms = 150
[mqtt:lcms-01]
host = 127.0.0.1
port = $EDGE_PORT
[mqtt:ms-02]
host = 127.0.0.1
port = $EDGE2_PORT
username = gw-bus-edge
password = edge-secret-2026
CONF
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
wait_for 10 grep -Eq "polling 0 Modbus TCP endpoints from one loop, 1 RTU bus$" "$T/gateway.log" || fail "the two RTU meters do not share one bus worker"

done_run() { readings_json "$1" | json 'any(r["samples"] == 5 and r["state"] == "idle" for r in j["items"])' | grep -q True; }
wait_for 15 done_run nmr-600 || fail "nmr-600 over RTU: $(readings_json nmr-600)"
wait_for 15 done_run lcms-01 || fail "lcms-01 over MQTT: $(readings_json lcms-01)"
wait_for 15 have_readings tem-01 2 || fail "tem-01 over RTU: $(readings_json tem-01)"
for i in nmr-600 lcms-01; do
    readings_json "$i" | python3 -c '
import json, sys
items = sorted(json.load(sys.stdin)["items"], key=lambda r: r["seq"])
run = [r for r in items if r["state"] == "running"]
assert run and all(r["badge"] == 1001 for r in run), items
last = [r for r in items if r["samples"] == 5][0]
assert last["run_seconds"] == 2 and last["badge"] == 0, last
print(sys.argv[1], len(items), "readings")' "$i" || fail "values of $i"
done
pass "RTU units 1 and 2 on one bus and an MQTT-native instrument, values as scripted"

ms02_arrived() { readings_json ms-02 | json 'any(r["samples"] == 9 for r in j["items"])' | grep -q True; }
pub_ms02() { mosquitto_pub -p "$EDGE2_PORT" -u meter-ms-02 -P meter-secret-2026 -t instruments/ms-02/meter \
    -m '{"state": "idle", "samples": 9, "run_seconds": 7}'; }
pub_and_check() { pub_ms02 && ms02_arrived; }
wait_for 15 pub_and_check \
    || fail "ms-02 through a password-protected edge broker: $(readings_json ms-02); $(tail -3 "$T/gateway.log")"
! mosquitto_pub -p "$EDGE2_PORT" -t instruments/ms-02/meter -m '{"state":"idle"}' 2>/dev/null \
    || fail "the protected edge broker took an anonymous publish"
pass "[mqtt:ms-02] username/password: read from an edge broker that refuses anonymous clients"

mosquitto_pub -p "$EDGE_PORT" -t instruments/lcms-01/meter -m '{"state":"exploded"}'
mosquitto_pub -p "$EDGE_PORT" -t instruments/lcms-01/meter -m 'not json'
wait_for 5 grep -q "lcms-01: refusing a payload on instruments/lcms-01/meter: field 'state'" "$T/gateway.log" \
    || fail "junk on the meter topic not refused"
! readings_json lcms-01 | grep -q exploded || fail "junk stored"
pass "junk on an instrument's topic is refused and logged"
stop gateway
stop sims
stop server
echo "$CHECKS checks passed"
