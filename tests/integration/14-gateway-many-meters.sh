#!/usr/bin/env bash
# serial
# One gateway polls 1,100 Modbus TCP meters, each at its own endpoint, from one event loop
# (issue 15): more descriptors than select() allows (libmodbus aborts at 1024), started under
# a soft limit of 1024 descriptors that the gateway raises itself. Every meter gives its boot
# reading and the change its scenario makes; a meter that answers too late and one that is not
# there are reported and give nothing, and hold up none of the others.
. "$(dirname "$0")/lib.sh"

N=1100
# the simulator's own: a listener and a connection per meter
NEED=$((2 * N + 200))
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge $NEED ] ||
    fail "this test needs a hard descriptor limit of $NEED, not $(ulimit -Hn)"
ulimit -Sn $NEED
# N + 2 consecutive ports that can be bound, below the ephemeral range
BASE=$(free_ports $((N + 2)))
[ -n "$BASE" ] || fail "no $((N + 2)) consecutive free ports"
P_SLOW=$((BASE + N)); P_GONE=$((BASE + N + 1))
printf '0 state=idle\n3 state=running\n' >"$T/run.txt"
for i in $(seq 0 $((N - 1))); do
    echo "m$i tcp 127.0.0.1:$((BASE + i)) scenario=$T/run.txt seed=$i"
done >"$T/fleet.txt"
start fleet "$BIN/labshare-meter-sim" --fleet "$T/fleet.txt" --log-level warn
start slow "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$P_SLOW" --instrument slow \
    --scenario "$T/run.txt" --delay-ms 3000
wait_for 30 port_open $((BASE + N - 1)) && wait_for 10 port_open "$P_SLOW" ||
    fail "the simulators did not listen"

# no broker: the readings stay in the gateway's outbox, where the test counts them
MQTT_PORT=1 gateway_ini "$T/gw.ini" gw-many "heartbeat_s = 600"
for i in $(seq 0 $((N - 1))); do
    printf '[modbus:m%s]\ntcp = 127.0.0.1:%s\npoll_ms = 1000\ntimeout_ms = 500\n' "$i" $((BASE + i))
done >>"$T/gw.ini"
printf '[modbus:slow]\ntcp = 127.0.0.1:%s\ntimeout_ms = 500\n[modbus:gone]\ntcp = 127.0.0.1:%s\ntimeout_ms = 500\n' \
    "$P_SLOW" "$P_GONE" >>"$T/gw.ini"
start gateway bash -c 'ulimit -Sn 1024 && exec "$@"' gw "$BIN/labshare-gateway" -c "$T/gw.ini"
outbox() { sqlite3 "$T/gw-many.db" "$1" 2>/dev/null; }
all_booted() { [ "$(outbox "SELECT count(DISTINCT instrument) FROM readings")" = "$N" ]; }
wait_for 60 all_booted || fail "not every meter gave its boot reading: $(outbox "SELECT count(DISTINCT instrument) FROM readings")"
all_ran() { [ "$(outbox "SELECT count(DISTINCT instrument) FROM readings WHERE state = 2")" = "$N" ]; }
wait_for 60 all_ran || fail "not every meter's change was read: $(outbox "SELECT count(DISTINCT instrument) FROM readings WHERE state = 2")"
pass "$N meters at $N endpoints polled by one gateway: each one's boot reading and change"

fds=$(ls "/proc/$PID_gateway/fd" | wc -l)
top=$(ls "/proc/$PID_gateway/fd" | sort -n | tail -1)
threads=$(awk '/^Threads:/ {print $2}' "/proc/$PID_gateway/status")
soft=$(awk '/^Max open files/ {print $4}' "/proc/$PID_gateway/limits")
echo "  $fds descriptors open (highest $top), $threads threads, soft limit $soft"
[ "$top" -ge 1024 ] || fail "no descriptor beyond 1023 in use: $top"
[ "$soft" -gt 1024 ] || fail "the gateway did not raise its soft limit: $soft"
[ "$threads" -le 8 ] || fail "$threads threads: not one loop"
pass "descriptors beyond select()'s 1024 in use (highest $top), the soft limit raised to $soft, $threads threads"

per=$(outbox "SELECT max(c) FROM (SELECT count(*) c FROM readings GROUP BY instrument)")
[ "$per" = 2 ] || fail "a meter gave $per readings, not its boot and change (heartbeat 600 s)"
[ "$(outbox "SELECT count(*) FROM readings WHERE instrument IN ('slow', 'gone')")" = 0 ] ||
    fail "the faulty meters gave readings"
grep -q "slow: read of hr 0..10 failed: Connection timed out" "$T/gateway.log" || fail "slow not reported"
grep -q "gone: cannot connect: Connection refused" "$T/gateway.log" || fail "gone not reported"
pass "one reading per boot and per change, none doubled; the late and the missing meter reported"

stop gateway
[ "$(outbox "SELECT count(*) FROM readings")" = $((2 * N)) ] || fail "readings changed at stop"
kill9 slow
kill9 fleet
echo "$CHECKS checks passed"
