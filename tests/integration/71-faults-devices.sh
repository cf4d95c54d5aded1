#!/usr/bin/env bash
# Faulty meters: one answers too late, one answers garbage, one is not there at all. The good
# meter beside them keeps its heartbeat cadence; each faulty one is reported, and each recovers
# once it behaves again.
. "$(dirname "$0")/lib.sh"

start_broker
start_server
register_gateway gw-faults
bind_instruments gw-faults good slow junk gone
printf '0 state=idle\n' >"$T/idle.txt"
P_GOOD=$(free_port); P_SLOW=$(free_port); P_JUNK=$(free_port); P_GONE=$(free_port)
sim() { # NAME PORT ARGS...
    local name=$1 port=$2; shift 2
    start "$name" "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$port" --instrument "$name" \
        --scenario "$T/idle.txt" "$@"
    wait_for 10 port_open "$port" || fail "$name did not listen"
}
sim good "$P_GOOD"
sim slow "$P_SLOW" --delay-ms 2000
sim junk "$P_JUNK" --garbage-rate 1
gateway_ini "$T/gw.ini" gw-faults "heartbeat_s = 1"
for d in good:$P_GOOD slow:$P_SLOW junk:$P_JUNK gone:$P_GONE; do
    printf '[modbus:%s]\ntcp = 127.0.0.1:%s\npoll_ms = 200\ntimeout_ms = 150\n' "${d%%:*}" "${d##*:}" >>"$T/gw.ini"
done
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
# Seven 1 s heartbeats of the good meter give the faulty ones several poll rounds to go wrong in.
wait_for 30 have_readings good 7 || fail "the good meter gave no heartbeats: $(readings_json good)"
for d in slow junk gone; do
    wait_for 10 grep -q "$d: " "$T/gateway.log" || fail "$d never reported"
done
for d in slow junk gone; do
    [ "$(count_readings $d)" = 0 ] || fail "$d produced readings: $(readings_json $d)"
done
grep -q "slow: read of hr 0..10 failed: Connection timed out" "$T/gateway.log" || fail "slow not reported"
# the gateway's own framing (gateway/mbap.c) says what is wrong with the answer
grep -Eq "junk: read of hr 0..10 failed: (.* data bytes in a frame of|not a Modbus TCP frame|the answer to transaction|an answer (from unit|of function)|bytes after the answer|exception)" "$T/gateway.log" \
    || fail "junk not reported: $(grep junk "$T/gateway.log")"
grep -q "gone: cannot connect: Connection refused" "$T/gateway.log" || fail "gone not reported"
pass "each faulty meter is reported and gives no reading"

readings_json good >"$T/good.json"
python3 - "$T/good.json" <<'PY' || fail "the good meter was held up"
import json, sys, datetime
items = sorted(json.load(open(sys.argv[1]))["items"], key=lambda r: r["seq"])
t = [datetime.datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp() for r in items]
gaps = [b - a for a, b in zip(t, t[1:])]
print(len(items), "readings, largest gap %.2f s" % max(gaps))
assert len(items) >= 6, len(items)
# heartbeat every 1 s, polled every 0.2 s; a meter sharing a worker with the 2 s late one would
# show gaps of 2 s and more
assert max(gaps) < 1.9, gaps
PY
pass "the good meter kept its 1 s heartbeat beside three faulty ones"

# Fix them: the slow and junk meters behave, the missing one appears.
stop slow
stop junk
sim slow "$P_SLOW"
sim junk "$P_JUNK"
sim gone "$P_GONE"
for d in slow junk gone; do
    wait_for 40 have_readings $d 1 || fail "$d did not recover"
done
grep -q "slow: answering again" "$T/gateway.log" || fail "recovery not logged"
pass "all three recover once they behave (backoff capped at 30 s)"
stop gateway
stop server
echo "$CHECKS checks passed"
