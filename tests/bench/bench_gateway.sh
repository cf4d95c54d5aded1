#!/usr/bin/env bash
# Gateway benchmarks (issue 4), each beside a raw baseline measured in the same run:
#  1. one gateway polling DEVICES simulated meters at 1 s (10 Modbus TCP endpoints, as behind
#     RS-485 gateways), its CPU % and private memory (RssAnon), beside a minimal raw
#     libmodbus + libmosquitto loop doing the same polls;
#  2. replay of a BACKLOG-reading outbox to the server, readings/s stored and acked, beside the
#     raw mosquitto QoS 1 rate of the same batches.
. "$(dirname "$0")/../integration/lib.sh"

DEVICES=${BENCH_DEVICES:-500}
WINDOW=${BENCH_WINDOW_S:-20}
BACKLOG=${BENCH_BACKLOG:-500000}
ENDPOINTS=10
UNITS=$((DEVICES / ENDPOINTS))
BBIN=$ROOT/build/bench
TICK=$(getconf CLK_TCK)

# cpu_ticks PID: utime + stime
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }
# measure PID SECONDS: prints "cpu_percent rss_anon_kb"
measure() {
    local pid=$1 secs=$2 c0 c1 t0 t1
    c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
    sleep "$secs"
    c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
    python3 -c "print('%.2f %d' % (($c1 - $c0) / $TICK / ($t1 - $t0) * 100, $(rss_anon_kb "$pid")))"
}

start_broker
start_server
export BENCH_MQTT_USER=$OBS_USER BENCH_MQTT_PASS=$OBS_PASS # the raw loops' account (test/#)
register_gateway gw-bench
register_gateway gw-replay
bench_polling() {
echo "== gateway polling $DEVICES meters at 1 s ($ENDPOINTS TCP endpoints x $UNITS units), ${WINDOW} s window"
# ENDPOINTS consecutive ports that can be bound, below the ephemeral range (a port there may be
# a client's at any moment: the fleet then failed to listen, 2 runs in 3 on 2026-12-03)
BASE=$(free_ports "$ENDPOINTS")
[ -n "$BASE" ] || fail "no $ENDPOINTS consecutive free ports"
for e in $(seq 0 $((ENDPOINTS - 1))); do
    for u in $(seq 1 "$UNITS"); do
        echo "m$e-$u tcp 127.0.0.1:$((BASE + e)) unit=$u seed=$((e * 1000 + u))"
    done
done >"$T/fleet.txt"
bind_instruments gw-bench $(awk '{print $1}' "$T/fleet.txt")
start sims "$BIN/labshare-meter-sim" --fleet "$T/fleet.txt" --log-level warn
wait_for 20 port_open $((BASE + ENDPOINTS - 1)) || fail "fleet did not start"
gateway_ini "$T/gw.ini" gw-bench
for e in $(seq 0 $((ENDPOINTS - 1))); do
    for u in $(seq 1 "$UNITS"); do
        printf '[modbus:m%s-%s]\ntcp = 127.0.0.1:%s\nunit = %s\npoll_ms = 1000\n' "$e" "$u" $((BASE + e)) "$u"
    done
done >>"$T/gw.ini"
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini" --log-level warn
sleep 5
read -r gw_cpu gw_rss <<<"$(measure "$PID_gateway" "$WINDOW")"
readings=$(sqlite3 "$T/server.db" "SELECT count(*) FROM readings")
stop gateway
start raw "$BBIN/bench_raw_poll" "$MQTT_PORT" $((WINDOW + 8)) 127.0.0.1 "$BASE" "$ENDPOINTS" "$UNITS"
sleep 5
read -r raw_cpu raw_rss <<<"$(measure "$PID_raw" "$WINDOW")"
wait "$PID_raw" || fail "raw loop failed"
printf '  %-34s %6s %% CPU  %8s KiB RssAnon\n' "labshare-gateway" "$gw_cpu" "$gw_rss"
printf '  %-34s %6s %% CPU  %8s KiB RssAnon\n' "raw libmodbus+libmosquitto loop" "$raw_cpu" "$raw_rss"
python3 -c "print('  ratio gateway/raw: CPU %.2f, memory %.2f' % ($gw_cpu / max($raw_cpu, 0.01), $gw_rss / max($raw_rss, 1)))"
echo "  ($readings readings stored by the server during the gateway's run: changes and heartbeats only)"
grep -h "polls" "$T/raw.log" | sed 's/^/  /'
kill9 sims
}
[ -n "${BENCH_SKIP_POLL:-}" ] || bench_polling

echo "== replay of a $BACKLOG-reading backlog (batches of ${BENCH_BATCH:-100}, 64 in flight)"
# An outbox created by the gateway, filled directly with SQL (one transaction), then replayed.
printf '[gateway]\nid = gw-replay\noutbox = %s/replay.db\nbatch_max = %s\n[uplink]\nhost = 127.0.0.1\nport = 1\nusername = %s\npassword = %s\n[modbus:x]\ntcp = 127.0.0.1:1\n' \
    "$T" "${BENCH_BATCH:-100}" "$(gw_user gw-replay)" "$(gw_pass gw-replay)" >"$T/replay.ini"
# instruments registered after the fact: their readings reach back max_past_days at most
bind_instruments gw-replay $(seq -f 'inst-%g' 0 499)
start replay0 "$BIN/labshare-gateway" -c "$T/replay.ini"
wait_for 10 test -e "$T/replay.db" || fail "no outbox"
sleep 0.5
stop replay0
sqlite3 "$T/replay.db" "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $BACKLOG)
    INSERT INTO readings(instrument, ts, state, run_seconds, energy_wh, power_w, samples, badge, cause)
    SELECT 'inst-' || (x % 500), 1795000000000 + x * 1000, 1 + x % 2, x, x * 2, 1234.5, x / 10, 1001, 1 FROM c"
sed -i "s/^port = 1$/port = $MQTT_PORT/" "$T/replay.ini"
t0=$(date +%s.%N)
start replay "$BIN/labshare-gateway" -c "$T/replay.ini" --log-level warn
drained() { [ "$(sqlite3 "$T/replay.db" 'SELECT count(*) FROM readings')" = 0 ]; }
wait_for 600 drained || fail "backlog not replayed in 600 s"
t1=$(date +%s.%N)
stop replay
stored=$(sqlite3 "$T/server.db" "SELECT count(*) FROM readings WHERE gateway = 'gw-replay'")
[ "$stored" = "$BACKLOG" ] || fail "server stored $stored of $BACKLOG"
ours=$(python3 -c "print('%.0f' % ($BACKLOG / ($t1 - $t0)))")
raw_line=$("$BBIN/bench_mqtt_raw" "$MQTT_PORT" "$BACKLOG" "${BENCH_BATCH:-100}") || fail "raw mqtt bench failed"
raw=$(sed -n 's/.*: \([0-9]*\) readings\/s$/\1/p' <<<"$raw_line")
printf '  %-34s %8s readings/s  (%s s, every reading stored once and acked)\n' "gateway -> mosquitto -> server" "$ours" "$(python3 -c "print('%.1f' % ($t1 - $t0))")"
printf '  %-34s %8s readings/s\n' "raw mosquitto QoS 1, same batches" "$raw"
python3 -c "print('  ratio replay/raw: %.2f' % ($ours / $raw))"
stop server
