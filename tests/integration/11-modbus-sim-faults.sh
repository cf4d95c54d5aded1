#!/usr/bin/env bash
# The simulator's fault injection, seen by a third-party client: exceptions, late answers,
# garbage and dropped connections; and a fleet of instruments sharing a TCP port by unit.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
run_sim() { # NAME ARGS...
    local name=$1; shift
    start "$name" "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$PORT" --instrument f1 "$@"
    wait_for 10 port_open "$PORT" || fail "$name did not listen"
}
read1() { mbpoll -1 -m tcp -p "$PORT" -a 1 -r 1 -c 13 "$@" 127.0.0.1 2>&1; }

run_sim fail --fail-rate 1
out=$(read1) && fail "--fail-rate 1 answered: $out"
grep -q "Slave device or server failure" <<<"$out" || fail "--fail-rate 1: $out"
stop fail
pass "--fail-rate 1: every request gets exception 4"

run_sim late --delay-ms 1500
out=$(read1 -o 0.5) && fail "a 1.5 s late answer arrived within 0.5 s: $out"
grep -qi "timed out" <<<"$out" || fail "--delay-ms with a short timeout: $out"
out=$(read1 -o 3) || fail "--delay-ms 1500 with a 3 s timeout failed: $out"
stop late
pass "--delay-ms 1500: too late for 0.5 s, in time for 3 s"

run_sim junk --garbage-rate 1
out=$(read1 -o 0.5) && fail "--garbage-rate 1 answered cleanly: $out"
stop junk
pass "--garbage-rate 1: the client rejects the answer ($(tail -n 1 <<<"$out"))"

run_sim drop --drop=1
out=$(read1 -o 0.5) && fail "--drop=1 answered: $out"
stop drop
pass "--drop=1: the connection is closed"

# A seeded share: with --fail-rate 0.5, some of 20 reads fail and some succeed.
run_sim half --fail-rate 0.5 --seed 9
ok=0; bad=0
for _ in $(seq 20); do if read1 >/dev/null; then ok=$((ok + 1)); else bad=$((bad + 1)); fi; done
[ $ok -gt 0 ] && [ $bad -gt 0 ] || fail "--fail-rate 0.5 gave $ok good and $bad failed reads"
stop half
pass "--fail-rate 0.5: $ok good, $bad failed of 20"

# A fleet: two meters behind one TCP port (units 1 and 2), one on its own port.
P2=$(free_port)
cat >"$T/fleet.txt" <<FLEET
# id    transport  address            options
lab-a   tcp        127.0.0.1:$PORT    seed=1
pm-b    tcp        127.0.0.1:$PORT    unit=2 profile=power-meter scenario=pm.txt
lab-c   tcp        127.0.0.1:$P2      seed=3
FLEET
printf '0 state=running power_w=777\n' >"$T/pm.txt"
start fleet "$BIN/labshare-meter-sim" --fleet "$T/fleet.txt"
wait_for 10 port_open "$P2" || fail "fleet did not listen"
[ "$(mbpoll_regs -m tcp -p "$PORT" -a 2 -t 3:float -r 13 -c 1 127.0.0.1)" = 777 ] || fail "unit 2 power"
[ "$(mbpoll_regs -m tcp -p "$PORT" -a 1 -r 13 -c 1 127.0.0.1)" = 1 ] || fail "unit 1 interlock register"
[ "$(mbpoll_regs -m tcp -p "$P2" -a 1 -r 13 -c 1 127.0.0.1)" = 1 ] || fail "second port"
out=$(mbpoll -1 -m tcp -p "$PORT" -a 9 -r 1 127.0.0.1 2>&1) && fail "unit 9 answered"
grep -q "Target device failed to respond" <<<"$out" || fail "unit 9: $out"
stop fleet
pass "fleet: units 1 and 2 share a port; an unknown unit gets exception 11"

printf 'a tcp 127.0.0.1:%s\nb tcp 127.0.0.1:%s\n' "$PORT" "$PORT" >"$T/dup.txt"
rc=0; err=$("$BIN/labshare-meter-sim" --fleet "$T/dup.txt" 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "dup.txt:2: unit 1 at 127.0.0.1:$PORT is taken by 'a'" <<<"$err" || fail "dup units: $err"
rc=0; err=$("$BIN/labshare-meter-sim" --fleet "$T/fleet.txt" --instrument x 2>&1) || rc=$?
[ $rc -eq 2 ] || fail "--fleet with --instrument accepted"
pass "fleet errors are reported with file:line"
echo "$CHECKS checks passed"
