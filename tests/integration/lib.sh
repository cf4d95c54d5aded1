#!/usr/bin/env bash
# Shared helpers of the integration tests: each test sources this, starts the real programs it
# needs (mosquitto on a random loopback port, the simulator, the gateway, the server) in its
# own temporary folder, and everything is stopped and removed on exit, also on failure.
set -u
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/build/bin
T=$(mktemp -d /tmp/labshare-test.XXXXXX)
chmod 755 "$T" # mosquitto, started as root, runs as the user mosquitto and reads its files here
PIDS=()
CHECKS=0

# The server's database: a SQLite file, or, when LABSHARE_TEST_PG names a cluster (bash
# tests/pg.sh run ...), a database of this test's own in it, dropped at exit. sdb SQL runs one
# statement on it and prints the rows with columns separated by a space.
if [ -n "${LABSHARE_TEST_PG:-}" ]; then
    SERVER_DB_NAME=t_$(basename "$T" | tr -dc 'A-Za-z0-9' | tr 'A-Z' 'a-z')
    psql -q "$LABSHARE_TEST_PG" -c "CREATE DATABASE $SERVER_DB_NAME" >/dev/null ||
        { echo "FAIL: cannot create the test database"; exit 1; }
    SERVER_DB="postgresql:///$SERVER_DB_NAME?${LABSHARE_TEST_PG#*\?}"
    sdb() { psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "$SERVER_DB" -c "$1"; }
else
    SERVER_DB=$T/server.db
    sdb() { sqlite3 -cmd '.timeout 10000' -separator ' ' "$SERVER_DB" "$1"; }
fi
export SERVER_DB # for api.sdb

cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ $rc -ne 0 ]; then
        echo "--- test failed; last lines of the logs in $T:"
        for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 15 "$f"; }; done
    fi
    ! declare -F at_exit >/dev/null || at_exit # a test's own clean-up, when it has one
    rm -rf "$T"
    [ -z "${SERVER_DB_NAME:-}" ] ||
        psql -q "$LABSHARE_TEST_PG" -c "DROP DATABASE IF EXISTS $SERVER_DB_NAME WITH (FORCE)" >/dev/null 2>&1
    exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
pass() { CHECKS=$((CHECKS + 1)); echo "ok: $*"; }
# check DESCRIPTION COMMAND...: the command must succeed.
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# free_ports N: the first of N consecutive ports that can be bound now, below the ephemeral range
# (a port there may be a client's at any moment: a fleet on such ports failed to listen, 2 runs
# in 3 on 2026-12-03); empty when none was found.
free_ports() {
    python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(1000):
    base = random.randrange(20000, 32000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    break
PY
}

# wait_for SECONDS COMMAND...: poll every 0.1 s until the command succeeds.
wait_for() {
    local limit=$1; shift
    local end=$((SECONDS + limit))
    while [ $SECONDS -lt $end ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    "$@" >/dev/null 2>&1
}

# sub_ready LOG TOPIC: wait (up to 10 s) until the mosquitto_sub -v writing LOG is subscribed,
# by publishing "ready" to TOPIC, which it must listen to, until the message shows in LOG.
sub_ready() {
    local log=$1 topic=$2
    probe() { mqtt_pub -q 1 -t "$topic" -m ready && grep -qx "$topic ready" "$log"; }
    wait_for 10 probe
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME COMMAND...: run in the background, log to $T/NAME.log, remember the pid in
# the variable PID_NAME (dashes become underscores). COMMAND must be a program, not a shell
# function (a function runs in a subshell whose children outlive the kill at exit).
start() {
    local name=$1; shift
    "$@" >>"$T/$name.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    printf -v "PID_${name//-/_}" '%s' "$pid"
}

# stop NAME: SIGTERM, wait, and require a clean exit 0 (sanitizer findings make it non-zero).
stop() {
    local var="PID_${1//-/_}"
    local pid=${!var}
    kill -TERM "$pid" 2>/dev/null || fail "$1 was not running"
    local rc=0
    wait "$pid" || rc=$?
    [ $rc -eq 0 ] || fail "$1 exited with status $rc after SIGTERM (see $T/$1.log)"
}

kill9() { local var="PID_${1//-/_}"; kill -KILL "${!var}" 2>/dev/null; wait "${!var}" 2>/dev/null; true; }

# The broker is configured as in production: `labshare-server broker-config` (mosquitto with
# dynamic security, nobody anonymous). The server's account is MQTT_USER/MQTT_PASS; tests watch
# and poke the wire as OBS_USER (mqtt_sub/mqtt_pub), an account with its own role made through
# the broker's control topic, as an operator would with mosquitto_ctrl.
MQTT_USER=labshare-server-test
MQTT_PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
OBS_USER=test-observer
OBS_PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

# server_ini: (re)write $T/server.ini (HTTP_PORT, MQTT_PORT, SERVER_EXTRA_INI).
server_ini() {
    cat >"$T/server.ini" <<CONF
[server]
listen = 127.0.0.1:$HTTP_PORT
db = $SERVER_DB
[mqtt]
host = 127.0.0.1
port = $MQTT_PORT
client_id = labshare-server-test
username = $MQTT_USER
password = $MQTT_PASS
${SERVER_MQTT_EXTRA_INI:-}
${SERVER_EXTRA_INI:-}
CONF
}

# mqtt_ctrl ARGS...: mosquitto_ctrl dynsec as the server's account.
mqtt_ctrl() {
    local out rc=0
    out=$(timeout 10 mosquitto_ctrl -p "$MQTT_PORT" -u "$MQTT_USER" -P "$MQTT_PASS" ${MQTT_TLS_ARGS:-} \
        dynsec "$@" 2>&1) || rc=$?
    grep -v -e 'without encryption' -e 'configuration changes you are making' <<<"$out"
    return $rc
}
# MQTT_TLS_ARGS (e.g. --cafile ca.pem) is given to every client when the broker speaks TLS.
mqtt_sub() { mosquitto_sub -p "$MQTT_PORT" -u "$OBS_USER" -P "$OBS_PASS" ${MQTT_TLS_ARGS:-} "$@"; }
mqtt_pub() { mosquitto_pub -p "$MQTT_PORT" -u "$OBS_USER" -P "$OBS_PASS" ${MQTT_TLS_ARGS:-} "$@"; }

start_broker() { # sets MQTT_PORT (and HTTP_PORT for the server to come)
    MQTT_PORT=${MQTT_PORT:-$(free_port)}
    HTTP_PORT=${HTTP_PORT:-$(free_port)}
    # two free_port calls in a row may give the same port (each closes it before the next):
    # the server then failed to listen where the broker was (52 on PostgreSQL, 2026-12-03)
    while [ "$HTTP_PORT" = "$MQTT_PORT" ]; do HTTP_PORT=$(free_port); done
    server_ini
    "$BIN/labshare-server" -c "$T/server.ini" broker-config "$T/broker" >"$T/broker-config.log" 2>&1 \
        || fail "broker-config failed: $(cat "$T/broker-config.log")"
    start broker mosquitto -c "$T/broker/mosquitto.conf"
    wait_for 10 port_open "$MQTT_PORT" || fail "mosquitto did not start"
    # the observer: reads every topic but $CONTROL, publishes only under test/
    wait_for 10 mqtt_ctrl listClients || fail "the broker does not take control commands"
    mqtt_ctrl createRole "$OBS_USER" >/dev/null
    mqtt_ctrl addRoleACL "$OBS_USER" subscribePattern '#' allow >/dev/null
    mqtt_ctrl addRoleACL "$OBS_USER" publishClientSend 'test/#' allow >/dev/null
    mqtt_ctrl createClient "$OBS_USER" -p "$OBS_PASS" >/dev/null
    mqtt_ctrl addClientRole "$OBS_USER" "$OBS_USER" >/dev/null
    obs_probe() { mqtt_pub -r -t test/probe -m ok && mqtt_sub -t test/probe -C 1 -W 2 | grep -q ok; }
    wait_for 10 obs_probe || { grep -v "New conn\|not author" "$T/broker.log" | tail -20; mqtt_ctrl getClient "$OBS_USER"; fail "the observer account does not work"; }
    mqtt_pub -r -t test/probe -n
}

restart_broker() {
    start broker mosquitto -c "$T/broker/mosquitto.conf"
    wait_for 10 port_open "$MQTT_PORT" || fail "mosquitto did not restart"
}

# start_edge_broker: a lab's own anonymous broker on loopback for MQTT-native meters (sets
# EDGE_PORT); the gateway reads it, the central broker never sees the meters.
start_edge_broker() {
    EDGE_PORT=$(free_port)
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$EDGE_PORT" \
        >"$T/edge.conf"
    start edge mosquitto -c "$T/edge.conf"
    wait_for 10 port_open "$EDGE_PORT" || fail "edge mosquitto did not start"
}

start_server() { # sets HTTP_PORT, API, TOKEN
    HTTP_PORT=${HTTP_PORT:-$(free_port)}
    server_ini
    start server "$BIN/labshare-server" -c "$T/server.ini" ${SERVER_ARGS:-}
    API=http://127.0.0.1:$HTTP_PORT
    wait_for 10 curl -sf "$API/healthz" || fail "server did not start"
    TOKEN=$("$BIN/labshare-server" -c "$T/server.ini" admin-token) || fail "admin-token failed"
}

# register_gateway ID [ORG_ID]: POST /gateways as admin; the credentials go to $T/ID.user and
# $T/ID.pass (gateway_ini puts them in [uplink]).
register_gateway() {
    local id=$1 org=${2:-null} out
    out=$(curl -sS -H "Authorization: Bearer $TOKEN" -X POST \
        -d "{\"id\": \"$id\", \"name\": \"test $id\", \"org_id\": $org}" "$API/api/v1/gateways") \
        || fail "POST /gateways $id"
    json 'j["username"]' <<<"$out" >"$T/$id.user" || fail "no credentials for $id: $out"
    json 'j["password"]' <<<"$out" >"$T/$id.pass"
}
gw_user() { cat "$T/$1.user"; }
gw_pass() { cat "$T/$1.pass"; }
# gw_pub ID ARGS...: mosquitto_pub with gateway ID's credentials.
gw_pub() { local id=$1; shift; mosquitto_pub -p "$MQTT_PORT" -u "$(gw_user "$id")" -P "$(gw_pass "$id")" ${MQTT_TLS_ARGS:-} "$@"; }

# bind_instruments GATEWAY ID...: create each instrument (owned by a test organisation) bound
# to GATEWAY, or bind it when it exists.
bind_instruments() {
    local gw=$1 org; shift
    org=$(api "/api/v1/orgs?limit=1000" | json '[o["id"] for o in j["items"] if o["name"] == "Test Lab"][0] if [o for o in j["items"] if o["name"] == "Test Lab"] else ""')
    if [ -z "$org" ]; then
        org=$(curl -sS -H "Authorization: Bearer $TOKEN" -X POST -d '{"name": "Test Lab", "type": "university"}' \
            "$API/api/v1/orgs" | json 'j["id"]') || fail "cannot create the test organisation"
    fi
    for id in "$@"; do
        local code
        code=$(status POST /api/v1/instruments -H "Authorization: Bearer $TOKEN" \
            -d "{\"id\": \"$id\", \"name\": \"$id\", \"org_id\": $org, \"gateway\": \"$gw\"}")
        if [ "$code" = 409 ]; then
            code=$(status PATCH "/api/v1/instruments/$id" -H "Authorization: Bearer $TOKEN" -d "{\"gateway\": \"$gw\"}")
        fi
        [ "$code" = 201 ] || [ "$code" = 200 ] || fail "cannot bind instrument $id to $gw: $code $(cat "$T/last-body")"
    done
}

restart_server() {
    start server "$BIN/labshare-server" -c "$T/server.ini" ${SERVER_ARGS:-}
    wait_for 10 curl -sf "$API/healthz" || fail "server did not restart"
}

# api PATH: GET with the admin token, body on stdout.
api() { curl -sS -H "Authorization: Bearer $TOKEN" "$API$1"; }
# status METHOD PATH [curl args...]: print the HTTP status code.
status() { local m=$1 p=$2; shift 2; curl -s -o "$T/last-body" -w '%{http_code}' -X "$m" "$@" "$API$p"; }

# json EXPR: evaluate a Python expression on the JSON from stdin (bound to j).
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# mbpoll_regs ARGS...: one mbpoll read (-1), the values printed space-separated on one line.
mbpoll_regs() {
    local out
    out=$(mbpoll -1 "$@" 2>&1) || { echo "mbpoll failed: $out" >&2; return 1; }
    sed -n 's/^\[[0-9]*\]:[[:space:]]*//p' <<<"$out" | sed 's/ (-*[0-9]*)//' | tr '\n' ' ' | sed 's/ $//'
}

# start_sims N: simulators sim1..simN of meters m1..mN (seed i) on Modbus TCP; their ports go to
# SIM1..SIMN.
start_sims() {
    local i port
    for i in $(seq 1 "$1"); do
        port=$(free_port)
        printf -v "SIM$i" '%s' "$port"
        start "sim$i" "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$port" --instrument "m$i" --seed "$i"
        wait_for 10 port_open "$port" || fail "simulator $i did not start"
    done
}

# start_pty NAME: a socat pseudo-terminal pair $T/NAME-a <-> $T/NAME-b.
start_pty() {
    start "socat-$1" socat pty,raw,echo=0,link="$T/$1-a" pty,raw,echo=0,link="$T/$1-b"
    wait_for 10 test -e "$T/$1-b" || fail "socat did not create the pty pair"
}

# readings_json INSTRUMENT: all stored readings of an instrument as JSON (items sorted by seq).
readings_json() { api "/api/v1/readings?instrument=$1&limit=10000"; }
# count_readings INSTRUMENT
count_readings() { api "/api/v1/readings?instrument=$1&limit=1" | json 'j["total"]'; }
have_readings() { [ "$(count_readings "$1")" -ge "$2" ]; }

# outbox_rows OUTBOX_DB: readings waiting in a gateway's outbox.
outbox_rows() { sqlite3 "$1" 'SELECT count(*) FROM readings'; }
# drain OUTBOX_DB: wait (60 s) until the server has acked everything in the outbox.
drain() {
    outbox_empty() { [ "$(outbox_rows "$1")" -eq 0 ]; }
    wait_for 60 outbox_empty "$1" || fail "outbox did not drain: $(outbox_rows "$1") left"
}
# exactly_once GATEWAY OUTBOX_DB [SERVER_SQLITE_FILE]: the server holds every seq 1..N the gateway took
# exactly once (N, the outbox's last seq, goes to LAST).
exactly_once() {
    local n lo hi distinct
    LAST=$(sqlite3 "$2" "SELECT seq FROM sqlite_sequence WHERE name='readings'")
    local q="SELECT count(*), min(seq), max(seq), count(DISTINCT seq) FROM readings WHERE gateway='$1'"
    if [ $# -ge 3 ]; then
        read -r n lo hi distinct <<<"$(sqlite3 -separator ' ' "$3" "$q")"
    else
        read -r n lo hi distinct <<<"$(sdb "$q")"
    fi
    echo "gateway took $LAST readings; server holds $n (seq $lo..$hi, $distinct distinct)"
    [ "$n" -eq "$LAST" ] && [ "$lo" -eq 1 ] && [ "$hi" -eq "$LAST" ] && [ "$distinct" -eq "$LAST" ] ||
        fail "not exactly once: $n rows, seq $lo..$hi, $distinct distinct, $LAST taken"
}

# gateway_ini FILE ID [extra [gateway] lines...]: the common head of a gateway config.
gateway_ini() {
    local file=$1 id=$2; shift 2
    {
        printf '[gateway]\nid = %s\noutbox = %s/%s.db\n' "$id" "$T" "$id"
        for l in "$@"; do printf '%s\n' "$l"; done
        printf '[uplink]\nhost = 127.0.0.1\nport = %s\n' "$MQTT_PORT"
        [ -f "$T/$id.user" ] && printf 'username = %s\npassword = %s\n' "$(gw_user "$id")" "$(gw_pass "$id")"
        true
    } >"$file"
}
