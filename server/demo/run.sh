#!/usr/bin/env bash
# `make run`: a complete LabShare demo on this machine, on loopback only.
# Starts a mosquitto broker, simulated instruments of the demo platform (platform.json beside
# this script) serving Modbus TCP, an edge gateway reading them, and the central server; prints
# where to look; stops everything on Ctrl-C.
#
# Ports (override with the environment): LABSHARE_HTTP_PORT (8080), LABSHARE_MQTT_PORT (18830;
# the central broker, configured by `labshare-server broker-config`: nobody anonymous, the
# gateway with its own account), LABSHARE_EDGE_PORT (18831; the lab's own broker the MQTT-native
# LC-MS publishes to), LABSHARE_MODBUS_BASE (15020; one port per instrument from there). Files go
# to LABSHARE_DEMO_DIR (build/demo).
# LABSHARE_DEMO_CHECK=1 exits 0 as soon as readings have arrived through the API (used by the
# tests), and 1 if they do not within 60 s.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/build/bin
DIR=${LABSHARE_DEMO_DIR:-$ROOT/build/demo}
HTTP_PORT=${LABSHARE_HTTP_PORT:-8080}
MQTT_PORT=${LABSHARE_MQTT_PORT:-18830}
EDGE_PORT=${LABSHARE_EDGE_PORT:-$((MQTT_PORT + 1))}
MODBUS_BASE=${LABSHARE_MODBUS_BASE:-15020}
PIDS=()

die() { echo "make run: $*" >&2; exit 1; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
stop_all() {
    trap - EXIT INT TERM
    echo
    echo "Stopping the demo..."
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null; done
    wait 2>/dev/null
    case ${BROKER_DIR:-} in /tmp/labshare-demo-broker.*) rm -rf "$BROKER_DIR" ;; esac
    echo "Stopped. Logs and databases stay in $DIR."
}
# Ports first: a second `make run` beside a running demo says so and touches nothing.
for p in "$HTTP_PORT" "$MQTT_PORT" "$EDGE_PORT" "$MODBUS_BASE" $((MODBUS_BASE + 1)); do
    port_busy "$p" && die "port $p is in use: is a demo running already? (or set LABSHARE_HTTP_PORT / LABSHARE_MQTT_PORT / LABSHARE_EDGE_PORT / LABSHARE_MODBUS_BASE)"
done
trap stop_all EXIT INT TERM
mkdir -p "$DIR"
# A platform that has lived a year (LABSHARE_DEMO_DAYS, 365): built the first time (about a
# minute), then kept in $DIR and reused; LABSHARE_DEMO_FRESH=1 builds it anew.
DAYS=${LABSHARE_DEMO_DAYS:-365}
# a changed demo (its scripts or data) builds its year anew
DEMO_HASH=$(cat "$ROOT/server/demo/seed.py" "$ROOT/server/demo/history.py" \
    "$ROOT/server/demo/platform.json" | sha256sum | cut -c1-12)
STAMP=$DIR/year-$DAYS-$DEMO_HASH.done
CACHED=0
if [ -z "${LABSHARE_DEMO_FRESH:-}" ] && [ -e "$STAMP" ] && [ -e "$DIR/server.db" ] &&
    [ -e "$DIR/broker-dynsec.json" ] && [ -e "$DIR/server-mqtt.secret" ]; then
    CACHED=1
fi
rm -rf "$DIR"/*.log "$DIR"/broker
if [ $CACHED = 0 ]; then
    rm -rf "$DIR"/*.db "$DIR"/*.db-wal "$DIR"/*.db-shm "$DIR"/year-*.done "$DIR"/history.* \
        "$DIR"/gateway-credentials.ini "$DIR"/broker-dynsec.json "$DIR"/server-mqtt.secret
fi

# Simulated meters for five instruments of the demo platform, as a lab has them: two behind one
# Modbus TCP converter (units 1 and 2), a plain power meter clamped onto the XRD (float32
# registers, state derived from power), the NMR on an RS-485 line (a socat pseudo-terminal
# here), and an MQTT-native LC-MS.
socat pty,raw,echo=0,link="$DIR/rs485-a" pty,raw,echo=0,link="$DIR/rs485-b" >"$DIR/socat.log" 2>&1 &
PIDS+=($!)
cat >"$DIR/fleet.txt" <<FLEET
icp-ms-01  tcp   127.0.0.1:$MODBUS_BASE        unit=1 seed=1
sem-01     tcp   127.0.0.1:$MODBUS_BASE        unit=2 seed=2
xrd-01     tcp   127.0.0.1:$((MODBUS_BASE + 1))  profile=power-meter seed=3
nmr-600    rtu   $DIR/rs485-a                 unit=5 baud=19200 seed=4
lcms-01    mqtt  127.0.0.1:$EDGE_PORT          seed=5 interval=10
FLEET
INSTRUMENTS=(icp-ms-01 sem-01 xrd-01 nmr-600 lcms-01)

# The lab's own edge broker for the MQTT-native LC-MS: on loopback, anonymous.
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$EDGE_PORT" >"$DIR/edge.conf"
mosquitto -c "$DIR/edge.conf" >"$DIR/edge.log" 2>&1 &
PIDS+=($!)

# The server's MQTT password: random, only in server.ini and server-mqtt.secret (mode 600; the
# broker's accounts, kept with the year, know it).
if [ $CACHED = 1 ]; then
    SERVER_MQTT_PASSWORD=$(cat "$DIR/server-mqtt.secret")
else
    SERVER_MQTT_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
    ( umask 077; printf '%s' "$SERVER_MQTT_PASSWORD" >"$DIR/server-mqtt.secret" )
fi
( umask 077; cat >"$DIR/server.ini" <<CONF
[server]
listen = 127.0.0.1:$HTTP_PORT
db = $DIR/server.db
timezone = Asia/Shanghai
currency = CNY
[mqtt]
host = 127.0.0.1
port = $MQTT_PORT
client_id = labshare-server-demo
username = labshare-server
password = $SERVER_MQTT_PASSWORD
CONF
)
# The broker's files go to $DIR/broker, unless the user mosquitto (whom the broker runs as when
# started as root) cannot reach $DIR: then to a folder of their own under /tmp.
BROKER_DIR=$DIR/broker
restore_accounts() { # the broker's accounts of the kept year (the gateway's among them)
    [ $CACHED = 1 ] || return 0
    mkdir -p "$1" && install -m 600 "$DIR/broker-dynsec.json" "$1/dynamic-security.json" &&
        { ! id mosquitto >/dev/null 2>&1 || [ "$(id -u)" != 0 ] || chown -R mosquitto: "$1"; }
}
restore_accounts "$BROKER_DIR"
if ! "$BIN/labshare-server" -c "$DIR/server.ini" broker-config "$BROKER_DIR" >"$DIR/broker-config.log" 2>&1; then
    grep -q "closed to the user mosquitto" "$DIR/broker-config.log" || die "broker-config failed: $(cat "$DIR/broker-config.log")"
    BROKER_DIR=$(mktemp -d /tmp/labshare-demo-broker.XXXXXX) && chmod 755 "$BROKER_DIR" || die "no folder for the broker"
    restore_accounts "$BROKER_DIR"
    "$BIN/labshare-server" -c "$DIR/server.ini" broker-config "$BROKER_DIR" >"$DIR/broker-config.log" 2>&1 ||
        die "broker-config failed: $(cat "$DIR/broker-config.log")"
fi
mosquitto -c "$BROKER_DIR/mosquitto.conf" >"$DIR/mosquitto.log" 2>&1 &
PIDS+=($!)

gateway_ini() { # the gateway's config, with the credentials the server issued
    ( umask 077; cat >"$DIR/gateway.ini" <<CONF
; The demo gateway of East China University of Technology's instrument hall.
[gateway]
id = gw-ecut
outbox = $DIR/outbox.db
heartbeat_s = 10
[uplink]
host = 127.0.0.1
port = $MQTT_PORT
$(cat "$DIR/gateway-credentials.ini")
[modbus:icp-ms-01]
tcp = 127.0.0.1:$MODBUS_BASE
unit = 1
poll_ms = 500
[modbus:sem-01]
tcp = 127.0.0.1:$MODBUS_BASE
unit = 2
poll_ms = 500
[modbus:xrd-01]
tcp = 127.0.0.1:$((MODBUS_BASE + 1))
word_order = little
power_w = ir:12:f32
energy_wh = ir:342:f32*1000
start_w = 500
stop_w = 300
min_on_s = 1
min_off_s = 1
poll_ms = 500
[modbus:nmr-600]
rtu = $DIR/rs485-b
baud = 19200
unit = 5
poll_ms = 500
[mqtt:lcms-01]
host = 127.0.0.1
port = $EDGE_PORT
CONF
    )
}

for _ in $(seq 50); do port_busy "$MQTT_PORT" && break; sleep 0.1; done
port_busy "$MQTT_PORT" || die "mosquitto did not start (see $DIR/mosquitto.log)"
"$BIN/labshare-server" -c "$DIR/server.ini" >"$DIR/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -e "$DIR/rs485-b" ] && break; sleep 0.1; done
"$BIN/labshare-meter-sim" --fleet "$DIR/fleet.txt" >"$DIR/meters.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null || die "server did not start (see $DIR/server.log)"
TOKEN=$("$BIN/labshare-server" -c "$DIR/server.ini" admin-token) || die "could not issue a token"
DEMO_PASSWORD=labshare-demo-2026
count() { curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/api/v1/$1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])' 2>/dev/null; }
if [ $CACHED = 0 ]; then
    echo "Building a year of platform life ($DAYS days; about a minute the first time)..."
    # 1. the meters' own logs of the year, and the runs in them
    python3 "$ROOT/server/demo/history.py" "$DAYS" "$DIR/history.log" "$DIR/history.json" ||
        die "history failed"
    # 2. the platform: organisations, people, instruments (joined before the year), the gateway,
    #    vouchers, outages, and the bookings of the year, recorded after the fact
    python3 "$ROOT/server/demo/seed.py" "http://127.0.0.1:$HTTP_PORT" "$TOKEN" \
        "$ROOT/server/demo/platform.json" "$DEMO_PASSWORD" "$DIR/gateway-credentials.ini" \
        "$DIR/history.json" || die "seeding the demo failed"
    # 3. the gateway reads the meters' logs into its outbox, as polling would have ...
    gateway_ini
    "$BIN/labshare-gateway" -c "$DIR/gateway.ini" --import "$DIR/history.log" >"$DIR/import.log" 2>&1 ||
        die "importing the meter logs failed: $(cat "$DIR/import.log")"
    TAKEN=$(sed -n 's/.* \([0-9]*\) readings in the outbox.*/\1/p' "$DIR/import.log")
fi
# The gateway starts once it is registered and its instruments are bound to it.
gateway_ini
"$BIN/labshare-gateway" -c "$DIR/gateway.ini" >"$DIR/gateway.log" 2>&1 &
PIDS+=($!)
if [ $CACHED = 0 ]; then
    # 4. ... and sends the backlog through the broker to the server, which stores, attributes,
    #    settles and charges it as it arrives
    for _ in $(seq 1200); do
        [ "$(count 'readings?limit=1')" -ge "${TAKEN:-0}" ] 2>/dev/null && break
        sleep 0.25
    done
    [ "$(count 'readings?limit=1')" -ge "${TAKEN:-0}" ] || die "the year's readings did not arrive (see $DIR/server.log)"
    # 5. what came after: ratings, a closed month with a correction, requests awaiting approval
    python3 "$ROOT/server/demo/seed.py" --after "http://127.0.0.1:$HTTP_PORT" "$TOKEN" \
        "$ROOT/server/demo/platform.json" "$DEMO_PASSWORD" "$DIR/history.json" ||
        die "seeding the year's aftermath failed"
    cp "$BROKER_DIR/dynamic-security.json" "$DIR/broker-dynsec.json" && chmod 600 "$DIR/broker-dynsec.json"
    touch "$STAMP"
fi

API="http://127.0.0.1:$HTTP_PORT/api/v1"
cat <<MSG

LabShare demo is running.

  Web UI              http://127.0.0.1:$HTTP_PORT/   (open it in a browser and log in below)
  HTTP API            http://127.0.0.1:$HTTP_PORT/api/v1/   (health: /healthz)
  MQTT broker         127.0.0.1:$MQTT_PORT  (no anonymous access: $BROKER_DIR/mosquitto.conf)
  Edge broker         127.0.0.1:$EDGE_PORT  (the lab's own, for the MQTT-native LC-MS)
  Gateway gw-ecut     its MQTT account, issued by POST /api/v1/gateways, is in
                      $DIR/gateway-credentials.ini (mode 600); reading ${#INSTRUMENTS[@]} simulated meters: icp-ms-01 and sem-01 (Modbus TCP,
                      units 1 and 2), xrd-01 (a float32 power meter), nmr-600 (Modbus RTU on
                      a pseudo-terminal), lcms-01 (MQTT-native)
  Logs and databases  $DIR/

  Admin bearer token  $TOKEN

Demo logins (password $DEMO_PASSWORD for all): auditor.liu (auditor), manager.chen,
manager.wang, manager.zhou (managers), dr.li, dr.zhang, dr.huang, eng.xu, eng.sun, dr.guo
(researchers). The platform has lived $DAYS days; what each of them sees first:
$(python3 "$ROOT/server/demo/roles.py" "http://127.0.0.1:$HTTP_PORT" "$DEMO_PASSWORD" 2>/dev/null | sed 's/^/  /')
Log in:
  curl -s -c cookies -X POST -d '{"username":"dr.li","password":"$DEMO_PASSWORD"}' $API/login

See the bookings and the instruments:
  curl -s -H "Authorization: Bearer $TOKEN" "$API/bookings?limit=5"
  curl -s -H "Authorization: Bearer $TOKEN" "$API/instruments/icp-ms-01/availability"

See the readings arrive (every state change, and a heartbeat every 10 s):
  curl -s -H "Authorization: Bearer $TOKEN" "$API/readings?instrument=${INSTRUMENTS[0]}&limit=20"
Watch the wire (as the server's account, whose password is in server.ini):
  mosquitto_sub -p $MQTT_PORT -u labshare-server -P "\$(sed -n 's/^password = //p' $DIR/server.ini)" \\
      -t 'labshare/v1/gw/+/readings' -t 'labshare/v1/gw/+/status' -v
See the gateway:
  curl -s -H "Authorization: Bearer $TOKEN" "$API/gateways"
Read a meter directly:
  mbpoll -m tcp -p $MODBUS_BASE -a 1 -r 1 -c 13 -1 127.0.0.1

Press Ctrl-C to stop.
MSG

if [ "${LABSHARE_DEMO_CHECK:-}" = 1 ]; then
    # Every instrument's first reading must arrive through the API.
    for _ in $(seq 600); do
        missing=""
        for id in "${INSTRUMENTS[@]}"; do
            n=$(curl -s -H "Authorization: Bearer $TOKEN" "$API/readings?instrument=$id&limit=1" |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])' 2>/dev/null)
            [ "${n:-0}" -ge 1 ] || missing="$missing $id"
        done
        if [ -z "$missing" ]; then
            echo "demo check: readings arrived from all ${#INSTRUMENTS[@]} instruments"
            nb=$(curl -s -H "Authorization: Bearer $TOKEN" "$API/bookings?limit=1" |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
            login=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
                -d "{\"username\":\"dr.li\",\"password\":\"$DEMO_PASSWORD\"}" "$API/login")
            echo "demo check: $nb bookings, login of dr.li answered $login"
            python3 "$ROOT/server/demo/roles.py" "http://127.0.0.1:$HTTP_PORT" "$DEMO_PASSWORD" |
                sed 's/^/demo check: /' || exit 1
            python3 "$ROOT/server/demo/review.py" "http://127.0.0.1:$HTTP_PORT" "$DEMO_PASSWORD" |
                sed 's/^/demo check: /' || exit 1
            exit 0
        fi
        sleep 0.2
    done
    echo "demo check: no readings within 120 s from:$missing" >&2
    exit 1
fi
wait
