#!/usr/bin/env bash
# Shared helpers of the integration tests: each test sources this, starts the real programs it
# needs (mosquitto on a random loopback port, the simulator, the gateway, the server) in its
# own temporary folder, and everything is stopped and removed on exit, also on failure.
set -u
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/build/bin
T=$(mktemp -d /tmp/labshare-test.XXXXXX)
PIDS=()
CHECKS=0

cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ $rc -ne 0 ]; then
        echo "--- test failed; last lines of the logs in $T:"
        for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 15 "$f"; }; done
    fi
    rm -rf "$T"
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
    probe() { mosquitto_pub -p "$MQTT_PORT" -q 1 -t "$topic" -m ready && grep -qx "$topic ready" "$log"; }
    wait_for 10 probe
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME COMMAND...: run in the background, log to $T/NAME.log, remember the pid in
# the variable PID_NAME (dashes become underscores).
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

start_broker() { # sets MQTT_PORT
    MQTT_PORT=$(free_port)
    cat >"$T/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence false
CONF
    start broker mosquitto -c "$T/mosquitto.conf"
    wait_for 10 port_open "$MQTT_PORT" || fail "mosquitto did not start"
}

start_server() { # sets HTTP_PORT, API, TOKEN
    HTTP_PORT=$(free_port)
    cat >"$T/server.ini" <<CONF
[server]
listen = 127.0.0.1:$HTTP_PORT
db = $T/server.db
[mqtt]
host = 127.0.0.1
port = $MQTT_PORT
client_id = labshare-server-test
${SERVER_EXTRA_INI:-}
CONF
    start server "$BIN/labshare-server" -c "$T/server.ini" ${SERVER_ARGS:-}
    API=http://127.0.0.1:$HTTP_PORT
    wait_for 10 curl -sf "$API/healthz" || fail "server did not start"
    TOKEN=$("$BIN/labshare-server" -c "$T/server.ini" admin-token) || fail "admin-token failed"
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

# gateway_ini FILE ID [extra [gateway] lines...]: the common head of a gateway config.
gateway_ini() {
    local file=$1 id=$2; shift 2
    {
        printf '[gateway]\nid = %s\noutbox = %s/%s.db\n' "$id" "$T" "$id"
        for l in "$@"; do printf '%s\n' "$l"; done
        printf '[uplink]\nhost = 127.0.0.1\nport = %s\n' "$MQTT_PORT"
    } >"$file"
}
