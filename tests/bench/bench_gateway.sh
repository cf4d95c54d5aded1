#!/usr/bin/env bash
# Gateway benchmarks (issue 4), each beside a raw baseline measured in the same run:
#  1. one gateway polling DEVICES simulated meters at 1 s (10 Modbus TCP endpoints, as behind
#     RS-485 gateways), its CPU % and private memory (RssAnon), beside a minimal raw
#     libmodbus + libmosquitto loop doing the same polls; then the same at 5,000 meters behind
#     100 endpoints (issue 15), both sides' polls counted by the simulator;
#  2. replay of a BACKLOG-reading outbox to the server, readings/s stored and acked, beside the
#     raw mosquitto QoS 1 rate of the same batches.
. "$(dirname "$0")/../integration/lib.sh"

DEVICES=${BENCH_DEVICES:-500}
# A second polling run at BENCH_DEVICES_MANY (5,000) meters behind 100 endpoints.
WINDOW=${BENCH_WINDOW_S:-20}
BACKLOG=${BENCH_BACKLOG:-500000}
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
# bind_many GATEWAY FLEET: the fleet file's instruments created and bound to GATEWAY, over one
# keep-alive connection (thousands of them: a curl each took minutes)
bind_many() {
    bind_instruments "$1" # the test organisation
    python3 - "$1" "$2" "$API" "$TOKEN" <<'PY' || fail "cannot bind the fleet"
import http.client, json, sys, urllib.parse
gw, path, api, token = sys.argv[1:]
u = urllib.parse.urlparse(api)
c = http.client.HTTPConnection(u.hostname, u.port)
h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
def call(method, url, body=None):
    c.request(method, url, json.dumps(body) if body is not None else None, h)
    r = c.getresponse()
    return r.status, r.read()
orgs = json.loads(call("GET", "/api/v1/orgs?limit=1000")[1])
org = [o["id"] for o in orgs["items"] if o["name"] == "Test Lab"][0]
for line in open(path):
    i = line.split()[0]
    st, body = call("POST", "/api/v1/instruments", {"id": i, "name": i, "org_id": org, "gateway": gw})
    if st == 409:
        st, body = call("PATCH", "/api/v1/instruments/" + i, {"gateway": gw})
    if st not in (200, 201):
        sys.exit("cannot bind %s: %d %s" % (i, st, body))
PY
}

# bench_polling DEVICES ENDPOINTS: one gateway polling DEVICES meters at 1 s behind ENDPOINTS
# TCP endpoints, then the raw loop polling the same; each phase with a fresh simulator fleet,
# whose count of answered requests says how many polls were made.
bench_polling() {
local devices=$1 endpoints=$2 units=$(($1 / $2)) t0 t1 gw_cpu gw_rss raw_cpu raw_rss readings
echo "== gateway polling $devices meters at 1 s ($endpoints TCP endpoints x $units units), ${WINDOW} s window"
BASE=$(free_ports "$endpoints")
[ -n "$BASE" ] || fail "no $endpoints consecutive free ports"
for e in $(seq 0 $((endpoints - 1))); do
    for u in $(seq 1 "$units"); do
        echo "m$e-$u tcp 127.0.0.1:$((BASE + e)) unit=$u seed=$((e * 1000 + u))"
    done
done >"$T/fleet.txt"
bind_many gw-bench "$T/fleet.txt"
fleet() { # NAME: the fleet on its ports, its log in $T/NAME.log
    start "$1" "$BIN/labshare-meter-sim" --fleet "$T/fleet.txt" --log-level info
    wait_for 30 port_open $((BASE + endpoints - 1)) || fail "fleet did not start"
}
# polls per meter and second: requests the fleet answered over the seconds it served them
rate() { python3 -c "print('%.2f' % ($(sed -n 's/.*answered \([0-9]*\) Modbus requests/\1/p' "$T/$1.log" | tail -1) / $devices / ($3 - $2)))"; }
fleet sims-gw
gateway_ini "$T/gw.ini" gw-bench
for e in $(seq 0 $((endpoints - 1))); do
    for u in $(seq 1 "$units"); do
        printf '[modbus:m%s-%s]\ntcp = 127.0.0.1:%s\nunit = %s\npoll_ms = 1000\n' "$e" "$u" $((BASE + e)) "$u"
    done
done >>"$T/gw.ini"
sqlite3 "$T/server.db" "DELETE FROM readings WHERE gateway = 'gw-bench'" 2>/dev/null || true
t0=$(date +%s.%N)
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini" --log-level warn
sleep 5
read -r gw_cpu gw_rss <<<"$(measure "$PID_gateway" "$WINDOW")"
gw_threads=$(awk '/^Threads:/ {print $2}' "/proc/$PID_gateway/status")
stop gateway
stop sims-gw
t1=$(date +%s.%N)
gw_rate=$(rate sims-gw "$t0" "$t1")
readings=$(sqlite3 "$T/server.db" "SELECT count(*) FROM readings WHERE gateway = 'gw-bench'")
meters=$(sqlite3 "$T/server.db" "SELECT count(DISTINCT instrument) FROM readings WHERE gateway = 'gw-bench'")
[ "$meters" = "$devices" ] || fail "readings of $meters meters, not $devices"
fleet sims-raw
t0=$(date +%s.%N)
start raw "$BBIN/bench_raw_poll" "$MQTT_PORT" $((WINDOW + 8)) 127.0.0.1 "$BASE" "$endpoints" "$units"
sleep 5
read -r raw_cpu raw_rss <<<"$(measure "$PID_raw" "$WINDOW")"
wait "$PID_raw" || fail "raw loop failed"
stop sims-raw
t1=$(date +%s.%N)
raw_rate=$(rate sims-raw "$t0" "$t1")
printf '  %-34s %6s %% CPU  %8s KiB RssAnon  %s polls/meter/s  %s threads\n' "labshare-gateway" "$gw_cpu" "$gw_rss" "$gw_rate" "$gw_threads"
printf '  %-34s %6s %% CPU  %8s KiB RssAnon  %s polls/meter/s\n' "raw libmodbus+libmosquitto loop" "$raw_cpu" "$raw_rss" "$raw_rate"
python3 -c "print('  ratio gateway/raw: CPU %.2f, memory %.2f' % ($gw_cpu / max($raw_cpu, 0.01), $gw_rss / max($raw_rss, 1)))"
echo "  ($readings readings of $meters meters stored by the server during the gateway's run: changes and heartbeats only)"
grep -h "polls" "$T/raw.log" | tail -1 | sed 's/^/  /'
}
if [ -z "${BENCH_SKIP_POLL:-}" ]; then
    bench_polling "$DEVICES" 10
    bench_polling "${BENCH_DEVICES_MANY:-5000}" 100
fi

[ -n "${BENCH_SKIP_REPLAY:-}" ] && { stop server; exit 0; }
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
