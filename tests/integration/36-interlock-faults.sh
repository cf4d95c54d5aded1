#!/usr/bin/env bash
# Interlock evidence and faults (issue 12) through real components over Modbus TCP: the relay's
# state is a field of every reading the gateway sends once the relay is under command, and a
# change of it is a change reading stored by the server. A relay the gateway cannot put right —
# a write refused by the meter, a relay that does not move, a meter that does not answer — is
# tried again with a growing backoff (not at every poll), reported in the gateway's status, shown
# by the server (interlock_state.fault, labshare_interlock_faults) and cleared once it is right.
. "$(dirname "$0")/lib.sh"

SERVER_EXTRA_INI=$'[interlock]\nperiod_s = 1'
start_broker
start_server
register_gateway gw-f
bind_instruments gw-f icp-f icp-h icp-n
printf '0 state=idle\n' >"$T/idle.txt"
SIM_PORT=$(free_port)
sim() { # [FAULT]: (re)start the meter on the same port, with --relay-fault FAULT if given
    start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$SIM_PORT" --instrument icp-f \
        --scenario "$T/idle.txt" ${1:+--relay-fault "$1"}
    wait_for 10 port_open "$SIM_PORT" || fail "simulator did not start"
}
sim refuse
# a meter whose relay is driven through holding register 12, and one with no relay at all
H_PORT=$(free_port)
start sim-h "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$H_PORT" --instrument icp-h \
    --scenario "$T/idle.txt"
N_PORT=$(free_port)
start sim-n "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$N_PORT" --instrument icp-n \
    --scenario "$T/idle.txt"
wait_for 10 port_open "$H_PORT" && wait_for 10 port_open "$N_PORT" || fail "simulators did not start"
gateway_ini "$T/gw.ini" gw-f "heartbeat_s = 60"
for d in "icp-f $SIM_PORT co:0" "icp-h $H_PORT hr:12" "icp-n $N_PORT none"; do
    set -- $d
    printf '[modbus:%s]\ntcp = 127.0.0.1:%s\npoll_ms = 200\ntimeout_ms = 200\nrelay = %s\n' "$1" "$2" "$3" >>"$T/gw.ini"
done
"$BIN/labshare-gateway" -c "$T/gw.ini" --check | grep -q "interlock relay: holding register 12" ||
    fail "--check does not show the relay: $("$BIN/labshare-gateway" -c "$T/gw.ini" --check)"
printf '[modbus:x]\ntcp = 127.0.0.1:1\nrelay = ir:3\n' >"$T/bad.ini"
cat "$T/gw.ini" "$T/bad.ini" >"$T/bad-gw.ini"
if "$BIN/labshare-gateway" -c "$T/bad-gw.ini" --check >"$T/bad.out" 2>&1; then fail "relay = ir:3 taken"; fi
grep -q "bad-gw.ini:[0-9]*: .*not co:N (a coil), hr:N (a holding register) or none" "$T/bad.out" ||
    fail "no clear error for a bad relay: $(cat "$T/bad.out")"
pass "the relay is configured per meter (coil, holding register or none), a bad one refused with file:line"
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
relay() { mbpoll_regs -m tcp -p "$SIM_PORT" -a 1 -r 13 -c 1 127.0.0.1; }
state() { api /api/v1/instruments/icp-f | json "j['interlock_state']$1"; }
fault_has() { state "['fault'] or ''" | grep -q "$1"; }
faults_counted() { api /metrics/prometheus | grep -q "^labshare_interlock_faults $1\$"; }
wait_for 10 have_readings icp-f 1 || fail "no reading arrived"

enforce() {
    curl -sS -X PATCH -H "Authorization: Bearer $TOKEN" \
        -d '{"interlock": {"mode": "enforce", "lead_min": 0}}' "$API/api/v1/instruments/$1" >/dev/null
}
enforce icp-f
enforce icp-h
# 1. the meter refuses the write: the relay stays enabled and the server learns why
wait_for 15 fault_has "write of coil 0 refused" ||
    fail "a refused write is not reported: $(api /api/v1/instruments/icp-f)"
[ "$(relay)" = 1 ] || fail "the relay moved although the meter refused: $(relay)"
[ "$(state "['desired']")" = disable ] || fail "desired: $(state "['desired']")"
[ -n "$(state "['fault_since']")" ] || fail "no fault_since"
wait_for 5 faults_counted 1 || fail "the fault is not counted: $(api /metrics/prometheus | grep interlock)"
pass "a refused relay write is reported: API fault and fault_since, prometheus count"
# retried with backoff: from the poll interval (0.2 s) doubling to 10 s, so within 8 s about
# 6 tries (0.2+0.4+0.8+1.6+3.2 s), where one per poll would be 40
n0=$(grep -c "refusing a write of the interlock relay" "$T/sim.log")
sleep 8
tries=$(($(grep -c "refusing a write of the interlock relay" "$T/sim.log") - n0))
[ "$tries" -ge 1 ] && [ "$tries" -le 8 ] || fail "$tries write attempts in 8 s: not a backoff"
[ "$(grep -c "interlock relay: cannot disable" "$T/gateway.log")" = 1 ] ||
    fail "the failure is not logged once: $(grep -c "interlock relay: cannot disable" "$T/gateway.log")"
pass "the refused write is tried again with backoff ($tries tries in 8 s), logged once"
# the relay's state rides in the readings: read back enabled, under command
reading_il() { readings_json icp-f | json "[r.get('interlock') for r in j['items']]"; }
reading_il | grep -q True || fail "no reading carries the relay state: $(reading_il)"
pass "readings carry the relay state as read back"

# 2. a relay that does not move: the write is acknowledged, the read-back says otherwise
stop sim
sim stuck
wait_for 20 fault_has "reads back enabled after the write" ||
    fail "a stuck relay is not reported: $(state "['fault']")"
[ "$(relay)" = 1 ] || fail "the stuck relay moved: $(relay)"
pass "a relay that does not move is reported (read back after the write)"

# 3. the meter does not answer at all
kill9 sim
wait_for 20 fault_has "meter unreachable" || fail "an unreachable meter is not reported: $(state "['fault']")"
pass "an unreachable meter is reported as the reason the relay cannot be put right"

# 4. a sound meter again: the relay is put right, the fault is cleared, the change is a reading
sim
relay_is() { [ "$(relay)" = "$1" ]; }
wait_for 40 relay_is 0 || fail "the relay was not disabled once the meter answered: $(relay)"
cleared() { [ "$(state "['fault']")" = None ] && [ "$(state "['agrees']")" = True ]; }
wait_for 10 cleared || fail "the fault is not cleared: $(api /api/v1/instruments/icp-f)"
wait_for 5 faults_counted 0 || fail "the fault count did not drop"
pass "a sound meter: the relay is disabled, read back, the fault cleared and no longer counted"
changed_off() {
    readings_json icp-f | json "any(r['cause'] == 'change' and r.get('interlock') is False for r in j['items'])" |
        grep -q True
}
wait_for 10 changed_off || fail "the relay's change is not a change reading: $(readings_json icp-f)"
# the relay state is in the evidence the server keeps, in order: enabled before, disabled after
seq=$(readings_json icp-f | json "[r.get('interlock') for r in j['items'] if r.get('interlock') is not None]")
python3 - "$seq" <<'PY' || fail "relay states out of order in the readings: $seq"
import ast, sys
s = ast.literal_eval(sys.argv[1])
assert True in s and s[-1] is False and s.index(False) > s.index(True), s
PY
pass "the relay's change is a change reading, stored by the server with the state"

# the meter with a holding-register relay: disabled through register 12, read back by a third party
h_relay_is() { [ "$(mbpoll_regs -m tcp -p "$H_PORT" -a 1 -r 13 -c 1 127.0.0.1)" = "$1" ]; }
wait_for 10 h_relay_is 0 || fail "the register-12 relay was not disabled"
grep -q "icp-h: interlock disabled by a Modbus write" "$T/sim-h.log" || fail "no write seen by the meter"
h_agrees() { [ "$(api /api/v1/instruments/icp-h | json "j['interlock_state']['agrees']")" = True ]; }
wait_for 10 h_agrees || fail "icp-h: $(api /api/v1/instruments/icp-h)"
pass "a relay on holding register 12 is written and read back"
# a meter without a relay cannot be enforced: the server is told so
enforce icp-n
n_fault() { api /api/v1/instruments/icp-n | json "j['interlock_state']['fault'] or ''" | grep -q "no interlock relay"; }
wait_for 10 n_fault || fail "icp-n: $(api /api/v1/instruments/icp-n)"
wait_for 5 faults_counted 1 || fail "icp-n's fault is not counted"
pass "enforcing a meter configured without a relay is reported as a fault"
# the gateway's coming and going is audited with the gateway as the actor
stop gateway
gw_audit() { api "/api/v1/audit-log?action=gateway&limit=100" | json "[(r['action'], r['actor_kind'], r['actor_id']) for r in j['items']]"; }
offline_seen() { gw_audit | grep -q "'gateway.offline', 'gateway', 'gw-f'"; }
wait_for 10 offline_seen || fail "gateway status changes not audited: $(gw_audit)"
gw_audit | grep -q "'gateway.online', 'gateway', 'gw-f'" || fail "no online record: $(gw_audit)"
pass "the gateway going online and offline is audited, the gateway named as the actor"
echo "$CHECKS checks passed"
