#!/usr/bin/env bash
# Disk full (issue 13): the gateway's outbox and the server's database each live on a small tmpfs
# made by the test, which is then filled to the last byte. The gateway reports a full outbox (in
# its status, so GET /gateways shows it) and keeps what it has; the server answers writes with a
# JSON 5xx and acks nothing it could not commit; once room is made, both recover, every seq 1..N
# is stored exactly once, and both databases pass PRAGMA integrity_check.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/gwdisk" "$T/srvdisk"
mount -t tmpfs -o size=4m tmpfs "$T/gwdisk" || fail "cannot mount a tmpfs (the test needs root)"
mount -t tmpfs -o size=8m tmpfs "$T/srvdisk" || { umount "$T/gwdisk"; fail "cannot mount a tmpfs"; }
unmount() { umount -l "$T/gwdisk" "$T/srvdisk" 2>/dev/null; }
trap 'unmount; cleanup' EXIT
fill() { dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null; sync; } # until ENOSPC
room() { rm -f "$1/filler"; }

start_broker
HTTP_PORT=$(free_port)
server_ini
sed -i "s|^db = .*|db = $T/srvdisk/server.db|" "$T/server.ini"
start server "$BIN/labshare-server" -c "$T/server.ini"
API=http://127.0.0.1:$HTTP_PORT
wait_for 10 curl -sf "$API/healthz" || fail "server did not start"
TOKEN=$("$BIN/labshare-server" -c "$T/server.ini" admin-token) || fail "admin-token failed"
register_gateway gw-df
bind_instruments gw-df m1
port=$(free_port)
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$port" --instrument m1 --seed 5
wait_for 10 port_open "$port" || fail "simulator did not start"
gateway_ini "$T/gw.ini" gw-df "heartbeat_s = 1" "batch_max = 5" "ack_timeout_s = 2"
sed -i "s|^outbox = .*|outbox = $T/gwdisk/outbox.db|" "$T/gw.ini"
cat >>"$T/gw.ini" <<CONF
[modbus:m1]
tcp = 127.0.0.1:$port
poll_ms = 100
timeout_ms = 100
CONF
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
wait_for 15 have_readings m1 5 || fail "no readings before the disks filled"
acked() { sqlite3 "$T/srvdisk/server.db" "SELECT coalesce(max(upto), 0) FROM gateway_acks WHERE gateway = 'gw-df'"; }

# 1. the server's disk fills
fill "$T/srvdisk"
sleep 3
a0=$(acked)
code=$(status POST /api/v1/orgs -H "Authorization: Bearer $TOKEN" -d '{"name": "No room", "type": "university"}')
[ "${code:0:1}" = 5 ] || fail "a write on a full disk answered $code: $(cat "$T/last-body")"
json 'j["error"] and j["message"]' <"$T/last-body" >/dev/null || fail "not a JSON error"
sleep 3
[ "$(acked)" = "$a0" ] || fail "acks advanced on a full disk ($a0 -> $(acked))"
grep -q "database or disk is full" "$T/server.log" || fail "the server does not say its disk is full"
pass "server disk full: a write answers $code with a JSON error, nothing is acked, it is logged"
room "$T/srvdisk"
moved() { [ "$(acked)" -gt "$a0" ]; }
wait_for 30 moved || fail "acks did not resume once there was room"
[ "$(status POST /api/v1/orgs -H "Authorization: Bearer $TOKEN" -d '{"name": "Room again", "type": "university"}')" = 201 ] ||
    fail "writes did not recover: $(cat "$T/last-body")"
pass "the server recovers once there is room"

# 2. the gateway's disk fills: reported as a full outbox, then recovered
fill "$T/gwdisk"
full() { api /api/v1/gateways/gw-df | json 'j["outbox_full"]' | grep -qx True; }
wait_for 20 full || fail "a full disk is not reported: $(api /api/v1/gateways/gw-df)"
grep -q "the disk is FULL" "$T/gateway.log" || fail "the gateway does not say its disk is full"
pass "gateway disk full: reported as outbox_full in its status and GET /gateways"
room "$T/gwdisk"
not_full() { api /api/v1/gateways/gw-df | json 'j["outbox_full"]' | grep -qx False; }
wait_for 20 not_full || fail "outbox_full stays after room was made"
n_now=$(count_readings m1)
more() { [ "$(count_readings m1)" -ge $((n_now + 3)) ]; }
wait_for 20 more || fail "readings did not flow again"
pass "the gateway takes readings again once there is room"

# 3. exactly once, and both databases intact
kill9 sim
drain "$T/gwdisk/outbox.db"
stop gateway
exactly_once gw-df "$T/gwdisk/outbox.db" "$T/srvdisk/server.db"
stop server
[ "$(sqlite3 "$T/srvdisk/server.db" 'PRAGMA integrity_check')" = ok ] || fail "server database damaged"
[ "$(sqlite3 "$T/gwdisk/outbox.db" 'PRAGMA integrity_check')" = ok ] || fail "outbox damaged"
pass "every seq 1..$LAST stored exactly once; both databases pass integrity_check"
echo "$CHECKS checks passed"
