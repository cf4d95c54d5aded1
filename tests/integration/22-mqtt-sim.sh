#!/usr/bin/env bash
# An MQTT-native simulated instrument: the SPEC 3.1 payload on every change and at the
# interval, with the values its scenario implies, read by mosquitto_sub.
. "$(dirname "$0")/lib.sh"

# An MQTT-native meter talks to its lab's own (edge) broker, not to the central one.
start_edge_broker
MQTT_PORT=$EDGE_PORT
cat >"$T/scenario.txt" <<'SC'
0 state=idle
1 state=running badge=2001 power_w=1800
3 state=idle badge=0 samples+=4
SC
start sub mosquitto_sub -p "$MQTT_PORT" -u "$OBS_USER" -P "$OBS_PASS" -q 1 -t 'lab/+/meter' -t test/ready -v
sub_ready "$T/sub.log" test/ready || fail "the listener did not subscribe"
start sim "$BIN/labshare-meter-sim" --mqtt "127.0.0.1:$MQTT_PORT" --instrument lc-01 \
    --topic lab/lc-01/meter --interval 1 --scenario "$T/scenario.txt"
has_samples() { grep -q '"samples":4' "$T/sub.log"; }
wait_for 10 has_samples || fail "no payload with samples 4: $(cat "$T/sub.log")"
more_samples() { [ "$(grep -c '"samples":4' "$T/sub.log")" -ge 2 ]; }
wait_for 10 more_samples || fail "no interval publish after the change: $(cat "$T/sub.log")"
stop sim
python3 - "$T/sub.log" <<'PY' || fail "payloads"
import json, sys
msgs = []
for line in open(sys.argv[1]):
    topic, payload = line.split(" ", 1)
    if topic == "test/ready":
        continue
    assert topic == "lab/lc-01/meter", topic
    msgs.append(json.loads(payload))
states = [m["state"] for m in msgs]
assert states[0] == "idle", states
assert "running" in states, states
run = [m for m in msgs if m["state"] == "running"]
assert all(m["badge"] == 2001 and m["power_w"] == 1800.0 for m in run), run
last = msgs[-1]
assert last["state"] == "idle" and last["samples"] == 4 and last["badge"] == 0, last
assert last["run_seconds"] == 2, last
ts = [m["ts"] for m in msgs]
assert ts == sorted(ts), ts
for m in msgs:
    # SPEC 3.1's fields, and the relay's state (issue 12's extension)
    assert set(m) == {"ts", "state", "run_seconds", "energy_wh", "power_w", "samples", "badge", "interlock"}, m
    assert m["interlock"] is True, m
# changes are published at once, and at least one more at the 1 s interval
assert len(msgs) >= 4, len(msgs)
print(len(msgs), "payloads", states)
PY
pass "payloads follow the scenario: run_seconds 2, samples 4, badge in and out"
echo "$CHECKS checks passed"
