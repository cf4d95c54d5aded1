#!/usr/bin/env bash
# Exactly once under SIGKILL: while two meters are read, the gateway, the broker and the server
# are killed with SIGKILL at seeded random moments (the server stays down for a stretch while
# the gateway keeps taking readings). Afterwards the server holds every seq 1..N of the epoch
# exactly once, N is the last seq the gateway took, and the outbox is empty.
. "$(dirname "$0")/lib.sh"

RANDOM=${CHAOS_SEED:-4242}
ROUNDS=${CHAOS_ROUNDS:-12}

start_broker
start_server
register_gateway gw-chaos
bind_instruments gw-chaos m1 m2
start_sims 2
cat >"$T/gw.ini" <<CONF
[gateway]
id = gw-chaos
outbox = $T/outbox.db
heartbeat_s = 1
batch_max = 7
ack_timeout_s = 2
[uplink]
host = 127.0.0.1
port = $MQTT_PORT
username = $(gw_user gw-chaos)
password = $(gw_pass gw-chaos)
[modbus:m1]
tcp = 127.0.0.1:$SIM1
poll_ms = 100
timeout_ms = 100
[modbus:m2]
tcp = 127.0.0.1:$SIM2
poll_ms = 100
timeout_ms = 100
CONF
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
sleep 2

for round in $(seq 1 "$ROUNDS"); do
    sleep "0.$((RANDOM % 9 + 1))"
    case $((RANDOM % 3)) in
    0)
        echo "round $round: kill -9 gateway"
        kill9 gateway
        sleep "0.$((RANDOM % 5))"
        start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
        ;;
    1)
        echo "round $round: kill -9 broker"
        kill9 broker
        sleep "0.$((RANDOM % 9 + 1))"
        restart_broker
        ;;
    2)
        down=$((RANDOM % 4 + 2))
        echo "round $round: kill -9 server, down for $down s"
        kill9 server
        sleep "$down"
        restart_server
        ;;
    esac
done
pass "$ROUNDS rounds of SIGKILL survived"

# A long outage of the server: the gateway keeps taking readings into its outbox.
echo "kill -9 server, down for ${LONG_OUTAGE_S:-12} s"
kill9 server
before=$(sqlite3 "$T/outbox.db" 'SELECT count(*) FROM readings')
sleep "${LONG_OUTAGE_S:-12}"
after=$(sqlite3 "$T/outbox.db" 'SELECT count(*) FROM readings')
[ "$after" -gt "$before" ] || fail "the outbox did not grow while the server was away ($before -> $after)"
restart_server
pass "server away for ${LONG_OUTAGE_S:-12} s: the outbox grew from $before to $after readings"

# Stop taking readings, then let the backlog drain.
stop gateway
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
kill9 sim1
kill9 sim2
drained() { [ "$(sqlite3 "$T/outbox.db" 'SELECT count(*) FROM readings')" -eq 0 ]; }
wait_for 60 drained || fail "outbox did not drain: $(sqlite3 "$T/outbox.db" 'SELECT count(*) FROM readings') left"
stop gateway
last=$(sqlite3 "$T/outbox.db" "SELECT seq FROM sqlite_sequence WHERE name='readings'")
epoch=$(sqlite3 "$T/outbox.db" "SELECT value FROM meta WHERE key='epoch'")
read -r n lo hi distinct epochs <<<"$(sdb \
    "SELECT count(*), min(seq), max(seq), count(DISTINCT seq), count(DISTINCT epoch) FROM readings WHERE gateway='gw-chaos'")"
echo "gateway took $last readings; server holds $n (seq $lo..$hi, $distinct distinct, $epochs epoch)"
[ "$last" -gt 20 ] || fail "too few readings taken ($last) for a meaningful test"
[ "$epochs" -eq 1 ] || fail "$epochs epochs"
[ "$n" -eq "$last" ] && [ "$lo" -eq 1 ] && [ "$hi" -eq "$last" ] && [ "$distinct" -eq "$last" ] \
    || fail "not exactly once: $n rows, seq $lo..$hi, $distinct distinct, $last taken"
[ "$(sdb "SELECT epoch FROM readings LIMIT 1")" = "$epoch" ] || fail "epoch differs"
upto=$(sdb "SELECT upto FROM gateway_acks WHERE gateway='gw-chaos'")
[ "$upto" -eq "$last" ] || fail "server acked up to $upto, not $last"
pass "every seq 1..$last stored exactly once; outbox empty; ack at $upto"
# usage was kept up to date through redeliveries, late and out-of-order batches: it must equal a
# recomputation from the readings
out=$("$BIN/labshare-server" -c "$T/server.ini" usage-check) || fail "usage differs after the chaos: $out"
pass "usage-check after the chaos: $out"
echo "$CHECKS checks passed"
