#!/usr/bin/env bash
# The broker loses its memory (issue 13): while the server is down and the gateway holds a
# backlog — in its outbox and queued at the broker for the server's session — the broker is
# stopped and restarted with its persistence file deleted, so every queued message,
# retained status and command and the server's session are gone. Nothing is lost: the gateway
# deletes a reading only on the server's ack, resends what was not acked, and afterwards the
# server holds every seq 1..N exactly once, the outbox is empty and the interlock command is
# published again.
. "$(dirname "$0")/lib.sh"

SERVER_EXTRA_INI=$'[interlock]\nperiod_s = 1'
start_broker
start_server
register_gateway gw-am
bind_instruments gw-am m1
port=$(free_port)
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$port" --instrument m1 --seed 11
wait_for 10 port_open "$port" || fail "simulator did not start"
gateway_ini "$T/gw.ini" gw-am "heartbeat_s = 1" "batch_max = 5" "ack_timeout_s = 2"
cat >>"$T/gw.ini" <<CONF
[modbus:m1]
tcp = 127.0.0.1:$port
poll_ms = 100
timeout_ms = 100
CONF
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
curl -sS -X PATCH -H "Authorization: Bearer $TOKEN" -d '{"interlock": {"mode": "monitor"}}' \
    "$API/api/v1/instruments/m1" >/dev/null
wait_for 15 have_readings m1 5 || fail "no readings at first"
wait_for 10 grep -q "interlock command version" "$T/gateway.log" || fail "no command reached the gateway"

# the server goes; the gateway keeps publishing into the broker's queue for the server's session
kill9 server
backlog_built() { [ "$(outbox_rows "$T/gw-am.db")" -gt 3 ]; }
wait_for 20 backlog_built || fail "no backlog built up ($(outbox_rows "$T/gw-am.db"))"
backlog=$(outbox_rows "$T/gw-am.db")
# the broker stops (saving its queue, retained messages and sessions) and comes back with that
# file deleted
stop broker
ls "$T/broker/"*.db >/dev/null 2>&1 || fail "the broker kept no persistence file to lose: $(ls "$T/broker")"
rm -f "$T/broker/"*.db
restart_broker
pass "broker stopped with a backlog of $backlog readings at the gateway, restarted with its persistence deleted"
n_cmd=$(grep -c "interlock command version" "$T/gateway.log")
restart_server
more_cmd() { [ "$(grep -c "interlock command version" "$T/gateway.log")" -gt "$n_cmd" ]; }
wait_for 20 more_cmd || fail "the command was not published again after the broker forgot it"
pass "the server publishes the interlock command again to a broker that forgot it"

kill9 sim
drain "$T/gw-am.db"
stop gateway
exactly_once gw-am "$T/gw-am.db"
pass "every seq 1..$LAST stored exactly once although the broker forgot its queue; outbox empty"
echo "$CHECKS checks passed"
