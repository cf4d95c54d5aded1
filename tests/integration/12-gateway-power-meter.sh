#!/usr/bin/env bash
# A plain power meter (the simulator's power-meter profile: float32 power and energy in input
# registers, low word first) read by the gateway with a register map from its config: the
# state comes from power with hysteresis and debounce (a short spike is ignored), run time from
# the time spent running, energy in kWh scaled to Wh; the summed run time survives a restart.
. "$(dirname "$0")/lib.sh"

start_broker
start_server
register_gateway gw-pm
bind_instruments gw-pm pm-xrd
cat >"$T/pm.txt" <<'SC'
0   state=idle power_w=40
2   power_w=1500        # a 0.4 s spike above start_w: debounced away
2.4 power_w=40
4   state=running power_w=1800
10  state=idle power_w=40
SC
PORT=$(free_port)
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$PORT" --instrument pm-xrd \
    --profile power-meter --scenario "$T/pm.txt"
wait_for 10 port_open "$PORT" || fail "simulator did not listen"
gateway_ini "$T/gw.ini" gw-pm "heartbeat_s = 30"
cat >>"$T/gw.ini" <<CONF
[modbus:pm-xrd]
tcp = 127.0.0.1:$PORT
poll_ms = 100
timeout_ms = 100
word_order = little
power_w = ir:12:f32
energy_wh = ir:342:f32*1000
start_w = 1000
stop_w = 500
min_on_s = 1
min_off_s = 1
CONF
"$BIN/labshare-gateway" -c "$T/gw.ini" --check | grep -q "state from power: start 1000 W, stop 500 W, min on 1 s, min off 1 s" \
    || fail "--check does not show the derived state"
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"

back_to_idle() { readings_json pm-xrd | json '[r["state"] for r in j["items"]][-1] == "idle" and "running" in [r["state"] for r in j["items"]]' | grep -q True; }
wait_for 20 back_to_idle || fail "no run and stop: $(readings_json pm-xrd)"
readings_json pm-xrd >"$T/r.json"
python3 - "$T/r.json" <<'PY' || fail "derived readings"
import json, sys
items = sorted(json.load(open(sys.argv[1]))["items"], key=lambda r: r["seq"])
states = [r["state"] for r in items]
print("states", states, "run", [r["run_seconds"] for r in items], "energy", [r["energy_wh"] for r in items])
# boot idle; the spike at 2 s is not a run; one run from 4 s to 10 s
assert states == ["idle", "running", "idle"], states
assert items[0]["cause"] == "boot" and items[1]["cause"] == "change", items
run = items[2]["run_seconds"]
assert 5 <= run <= 7, "run time %s, not 6 +- 1 s" % run
assert items[1]["run_seconds"] <= 1, items[1]
# 6 s at 1800 W = 3 Wh, plus 40 W idle
assert 2 <= items[2]["energy_wh"] <= 4, items[2]["energy_wh"]
assert all(r["badge"] is None and r["samples"] is None for r in items), "fields the meter lacks"
assert abs(items[1]["power_w"] - 1800) < 0.01 and abs(items[2]["power_w"] - 40) < 0.01
PY
pass "power meter: one debounced run of about 6 s, energy in Wh"

run_before=$(readings_json pm-xrd | json 'sorted(j["items"], key=lambda r: r["seq"])[-1]["run_seconds"]')
stop gateway
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
reboot_seen() { [ "$(readings_json pm-xrd | json 'sum(1 for r in j["items"] if r["cause"] == "boot")')" = 2 ]; }
wait_for 10 reboot_seen || fail "no boot reading after the restart"
run_after=$(readings_json pm-xrd | json 'sorted(j["items"], key=lambda r: r["seq"])[-1]["run_seconds"]')
[ "$run_after" = "$run_before" ] || fail "summed run time went from $run_before to $run_after"
pass "summed run time survives a gateway restart ($run_after s)"
stop gateway
stop server
echo "$CHECKS checks passed"
