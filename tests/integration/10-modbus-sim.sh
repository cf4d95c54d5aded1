#!/usr/bin/env bash
# The meter simulator read by a third-party client (mbpoll) over Modbus TCP and over RTU on a
# socat pseudo-terminal: the values are those the scenario implies; the interlock coil can be
# written and blocks runs; counters persist in the state file and --reset-counters zeroes them.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario.txt" <<'SC'
# one measurement: 2 s running at 3600 W, then 12 samples done
0   state=idle
1   state=running badge=1042 power_w=3600
3   state=idle badge=0 samples+=12
4.5 state=running badge=7
SC
PORT=$(free_port)
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$PORT" --instrument icp \
    --scenario "$T/scenario.txt" --state-file "$T/state.json"
wait_for 10 port_open "$PORT" || fail "simulator did not listen"
tcp() { mbpoll_regs -m tcp -p "$PORT" -a 1 -r 1 -c 13 127.0.0.1; }

# Hold a second client connection open the whole time: the slave serves several at once.
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
is_running() { [ "$(tcp | cut -d' ' -f1)" = 2 ]; }
wait_for 5 is_running || fail "never running: $(tcp)"
read -r st r_hi r_lo e_hi e_lo p_hi p_lo s_hi s_lo b_hi b_lo fault lock <<<"$(tcp)"
[ "$b_lo" = 1042 ] && [ "$p_lo" = 36000 ] && [ "$lock" = 1 ] || fail "while running: $(tcp)"
pass "TCP: running with badge 1042 at 3600.0 W (36000 dW), interlock closed"

after_run() { read -r st _ _ _ _ _ _ _ s _ _ _ _ <<<"$(tcp)"; [ "$st" = 1 ] && [ "$s" = 12 ]; }
wait_for 5 after_run || fail "never idle with 12 samples: $(tcp)"
read -r st r_hi run e_hi energy p_hi power s_hi samples b_hi badge fault lock <<<"$(tcp)"
[ "$run" = 2 ] || fail "run_seconds $run, not 2 (1 s to 3 s)"
[ "$energy" = 2 ] || fail "energy_wh $energy, not 2 (2 s at 3600 W plus a little idle power)"
[ "$badge" = 0 ] && [ "$power" = 1200 ] || fail "after the run: $(tcp)"
pass "TCP: exactly 2 s of run time, 2 Wh, 12 samples, badge logged out"

# Open the interlock relay (coil 0 = 0) before the second run at 4.5 s: the run is refused.
mbpoll -1 -m tcp -p "$PORT" -a 1 -t 0 -r 1 127.0.0.1 0 >/dev/null || fail "coil write failed"
[ "$(tcp | cut -d' ' -f13)" = 0 ] || fail "register 12 does not mirror the coil: $(tcp)"
wait_for 5 grep -q "interlock open: ignoring state=running" "$T/sim.log" || fail "run not refused"
[ "$(tcp | cut -d' ' -f1)" = 1 ] || fail "started running with the interlock open: $(tcp)"
[ "$(tcp | cut -d' ' -f11)" = 7 ] || fail "the rest of the step (badge=7) was not applied"
pass "interlock coil written by a client blocks the scenario's run"
# the relay through register 12 (for gateways configured with relay = hr:12); any other register
# stays read-only
mbpoll -1 -m tcp -p "$PORT" -a 1 -t 4 -r 13 127.0.0.1 1 >/dev/null || fail "register 12 write failed"
[ "$(mbpoll_regs -m tcp -p "$PORT" -a 1 -t 0 -r 1 -c 1 127.0.0.1)" = 1 ] ||
    fail "the coil does not follow register 12"
if mbpoll -1 -m tcp -p "$PORT" -a 1 -t 4 -r 1 127.0.0.1 5 >/dev/null 2>&1; then fail "register 0 was writable"; fi
[ "$(tcp | cut -d' ' -f1)" = 1 ] || fail "a refused write changed the state: $(tcp)"
pass "the relay can be written through register 12; other registers are read-only"
# A request whose header says less than its function code needs: a "write register 12" (function
# 16) cut after the register count. It is not answered (the connection closes), and the relay
# keeps its state; libmodbus would have taken the value from bytes past the request.
out=$(python3 - "$PORT" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(struct.pack(">HHHB", 9, 0, 6, 1) + bytes([16, 0, 12, 0, 1]))
try:
    print("closed" if s.recv(100) == b"" else "answered")
except socket.timeout:
    print("silent")
PY
)
[ "$out" = closed ] || fail "a short write request was $out, not refused by closing"
[ "$(mbpoll_regs -m tcp -p "$PORT" -a 1 -t 0 -r 1 -c 1 127.0.0.1)" = 1 ] || fail "the relay moved"
grep -q "does not match its function code" "$T/sim.log" || fail "the simulator did not say why"
pass "a request shorter than its function code says is refused (the connection closes)"
exec 5<&-

stop sim
grep -q '"run_seconds": 2' "$T/state.json" || fail "state file: $(cat "$T/state.json")"
printf '0 state=idle\n' >"$T/idle.txt"
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$PORT" --instrument icp \
    --scenario "$T/idle.txt" --state-file "$T/state.json"
wait_for 10 port_open "$PORT" || fail "simulator did not restart"
read -r st r_hi run e_hi energy p_hi power s_hi samples rest <<<"$(tcp)"
[ "$run" = 2 ] && [ "$energy" = 2 ] && [ "$samples" = 12 ] || fail "after restart: $(tcp)"
pass "counters survive a restart through --state-file"
stop sim
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$PORT" --instrument icp \
    --scenario "$T/idle.txt" --state-file "$T/state.json" --reset-counters
wait_for 10 port_open "$PORT" || fail "simulator did not restart"
read -r st r_hi run e_hi energy p_hi power s_hi samples rest <<<"$(tcp)"
[ "$run" = 0 ] && [ "$samples" = 0 ] || fail "after --reset-counters: $(tcp)"
pass "--reset-counters starts from zero"
stop sim

# RTU over a pty: the same scenario at unit 3, 19200 baud, even parity.
start_pty bus
start rtu "$BIN/labshare-meter-sim" --modbus-rtu "$T/bus-a" --baud 19200 --parity E --unit 3 \
    --instrument nmr --scenario "$T/scenario.txt"
rtu() { mbpoll_regs -m rtu -b 19200 -P even -a 3 -r 1 -c 13 "$T/bus-b"; }
wait_for 5 rtu || fail "no answer over RTU"
rtu_after() { read -r st _ _ _ _ _ _ _ s _ _ _ _ <<<"$(rtu)"; [ "$st" = 1 ] && [ "$s" = 12 ]; }
wait_for 8 rtu_after || fail "RTU never idle with 12 samples: $(rtu)"
[ "$(rtu | cut -d' ' -f3)" = 2 ] || fail "RTU run_seconds: $(rtu)"
pass "RTU over a pty: same values at unit 3"
out=$(mbpoll -1 -o 0.3 -m rtu -b 19200 -P even -a 4 -r 1 -c 1 "$T/bus-b" 2>&1) && fail "unit 4 answered: $out"
pass "RTU: another unit on the bus gets no answer"
stop rtu

# The power-meter profile: float32 input registers, low word first.
printf '0 state=running power_w=2250.5\n' >"$T/pm.txt"
start pm "$BIN/labshare-meter-sim" --modbus-rtu "$T/bus-a" --unit 1 --instrument pm \
    --profile power-meter --scenario "$T/pm.txt"
pm() { mbpoll_regs -m rtu -b 9600 -P none -a 1 -t 3:float -r 13 -c 1 "$T/bus-b"; }
wait_for 5 pm || fail "power meter did not answer"
[ "$(pm)" = 2250.5 ] || fail "power meter reads $(pm)"
out=$(mbpoll -1 -m rtu -b 9600 -P none -a 1 -r 1 -c 1 "$T/bus-b" 2>&1) && fail "holding registers on a power meter: $out"
pass "power-meter profile: 2250.5 W as float32 in input register 12 (little word order)"
stop pm

printf '0 state=idle\n5 state=sleeping\n' >"$T/bad.txt"
rc=0; err=$("$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$PORT" --instrument x --scenario "$T/bad.txt" 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "$T/bad.txt:2: state must be off, idle, running or fault" <<<"$err" || fail "bad scenario: $rc $err"
pass "a malformed scenario stops the simulator with file:line"
echo "$CHECKS checks passed"
