#!/usr/bin/env bash
# A full outbox with the server away: redundant heartbeats are thinned first, then new readings
# are refused, loudly, and the retained status says so. When the server returns the outbox
# drains: the server acks across the thinned seqs, and stored + thinned = every seq taken.
. "$(dirname "$0")/lib.sh"

start_broker
# Registered while the server is up; then it goes away and the outbox fills.
start_server
register_gateway gw-full
bind_instruments gw-full $(seq -f 'idle-%g' 1 10) toggler
stop server
PORT=$(free_port)
printf '0 state=idle\n' >"$T/idle.txt"
printf '0 state=running\n0.15 state=idle\n0.3\n' >"$T/toggle.txt"
{
    for u in $(seq 1 10); do echo "idle-$u tcp 127.0.0.1:$PORT unit=$u scenario=idle.txt"; done
    echo "toggler tcp 127.0.0.1:$PORT unit=11 scenario=toggle.txt loop=yes"
} >"$T/fleet.txt"
start sims "$BIN/labshare-meter-sim" --fleet "$T/fleet.txt"
wait_for 10 port_open "$PORT" || fail "fleet did not listen"
gateway_ini "$T/gw.ini" gw-full "heartbeat_s = 1" "outbox_max_rows = 100" "ack_timeout_s = 2"
for u in $(seq 1 10); do
    printf '[modbus:idle-%s]\ntcp = 127.0.0.1:%s\nunit = %s\npoll_ms = 250\ntimeout_ms = 200\n' "$u" "$PORT" "$u" >>"$T/gw.ini"
done
printf '[modbus:toggler]\ntcp = 127.0.0.1:%s\nunit = 11\npoll_ms = 50\ntimeout_ms = 40\n' "$PORT" >>"$T/gw.ini"
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"

wait_for 30 grep -q "thinned [0-9]* redundant heartbeats" "$T/gateway.log" || fail "no thinning"
pass "heartbeats thinned when the outbox filled"
wait_for 60 grep -q "outbox: FULL at 100 readings" "$T/gateway.log" || fail "never full"
pass "outbox full of state changes: new readings refused, logged"
status_full() { mqtt_sub -t labshare/v1/gw/gw-full/status -C 1 -W 3 | json 'j["outbox_full"] and j["outbox"] == 100' | grep -q True; }
wait_for 10 status_full || fail "status does not report the full outbox"
pass "retained status reports outbox_full and outbox 100"

kill9 sims # readings stop; let the server take the backlog
# A new MQTT session: the broker held what was published meanwhile for the old one (persistent),
# thinned heartbeats included; this server sees only what the outbox still has.
sed -i 's/^client_id = .*/client_id = labshare-server-test-2/' "$T/server.ini"
restart_server
drained() { [ "$(sqlite3 "$T/gw-full.db" 'SELECT count(*) FROM readings')" = 0 ]; }
wait_for 30 drained || fail "outbox did not drain: $(sqlite3 "$T/gw-full.db" 'SELECT count(*) FROM readings')"
status_ok() { mqtt_sub -t labshare/v1/gw/gw-full/status -C 1 -W 3 | json 'not j["outbox_full"] and j["outbox"] == 0' | grep -q True; }
wait_for 10 status_ok || fail "status still full"
stop gateway
last=$(sqlite3 "$T/gw-full.db" "SELECT seq FROM sqlite_sequence WHERE name='readings'")
thinned=$(grep -o "thinned [0-9]* redundant" "$T/gateway.log" | awk '{s += $2} END {print s}')
stored=$(sdb "SELECT count(*) FROM readings WHERE gateway='gw-full'")
upto=$(sdb "SELECT upto FROM gateway_acks WHERE gateway='gw-full'")
echo "taken $last, stored $stored, thinned $thinned, acked up to $upto"
[ "$upto" = "$last" ] || fail "server acked up to $upto of $last"
[ $((stored + thinned)) = "$last" ] || fail "stored $stored + thinned $thinned != $last taken"
# boots and changes are never thinned: every instrument's boot reading is there, and the
# toggler's changes alternate running/idle without a hole
[ "$(sdb "SELECT count(*) FROM readings WHERE gateway='gw-full' AND cause=2")" = 11 ] \
    || fail "boot readings missing at the server"
sdb "SELECT state FROM readings WHERE instrument='toggler' AND cause=0 ORDER BY seq" |
    python3 -c 'import sys; s=[int(x) for x in sys.stdin]; assert len(s) > 20 and all(a != b for a, b in zip(s, s[1:])), s' \
    || fail "toggler changes do not alternate"
pass "server acked across thinned seqs: stored $stored + thinned $thinned = $last taken"
stop server
echo "$CHECKS checks passed"
