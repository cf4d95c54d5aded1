#!/usr/bin/env bash
# MQTT over TLS, with a test CA made here by openssl: broker-config writes a TLS listener from
# [mqtt] certfile/keyfile/cafile, the server and the gateway verify the broker against the CA,
# readings flow; a plain-text client and a client that does not trust the CA are refused.
. "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=LabShare test CA" \
    -keyout "$T/ca.key" -out "$T/ca.pem" 2>"$T/openssl.log" || fail "CA: $(cat "$T/openssl.log")"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$T/broker.key" \
    -out "$T/broker.csr" 2>>"$T/openssl.log" || fail "broker key"
printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >"$T/san.ext"
openssl x509 -req -in "$T/broker.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
    -extfile "$T/san.ext" -out "$T/broker.pem" 2>>"$T/openssl.log" || fail "broker certificate"
chmod 644 "$T/broker.key" # read by the broker's user (mosquitto) in this throwaway folder
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Someone else" \
    -keyout "$T/other.key" -out "$T/other.pem" 2>>"$T/openssl.log" || fail "other CA"

SERVER_MQTT_EXTRA_INI="cafile = $T/ca.pem
certfile = $T/broker.pem
keyfile = $T/broker.key"
MQTT_TLS_ARGS="--cafile $T/ca.pem"
start_broker
grep -q "^certfile $T/broker.pem" "$T/broker/mosquitto.conf" && grep -q "^keyfile $T/broker.key" "$T/broker/mosquitto.conf" \
    || fail "broker-config wrote no TLS listener: $(cat "$T/broker/mosquitto.conf")"
start_server
wait_for 10 grep -q "ingest: connected" "$T/server.log" || fail "the server did not connect over TLS"
pass "broker-config writes a TLS listener; the server connects to it verifying the CA"

register_gateway gw-tls
bind_instruments gw-tls tls-1
SIM_PORT=$(free_port)
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$SIM_PORT" --instrument tls-1 --seed 5
wait_for 10 port_open "$SIM_PORT" || fail "simulator"
gateway_ini "$T/gw.ini" gw-tls "heartbeat_s = 1"
printf 'cafile = %s\n[modbus:tls-1]\ntcp = 127.0.0.1:%s\npoll_ms = 100\ntimeout_ms = 100\n' \
    "$T/ca.pem" "$SIM_PORT" >>"$T/gw.ini"
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
wait_for 20 have_readings tls-1 3 || fail "no readings over TLS: $(tail -3 "$T/gateway.log")"
pass "a gateway with [uplink] cafile delivers its readings over TLS"

! mosquitto_pub -p "$MQTT_PORT" -u "$(gw_user gw-tls)" -P "$(gw_pass gw-tls)" -t labshare/v1/gw/gw-tls/status \
    -m x 2>/dev/null || fail "a plain-text client was served"
! mosquitto_pub -p "$MQTT_PORT" --cafile "$T/other.pem" -u "$(gw_user gw-tls)" -P "$(gw_pass gw-tls)" \
    -t labshare/v1/gw/gw-tls/status -m x 2>/dev/null || fail "a client trusting another CA connected"
pass "plain text and a broker certificate from another CA are refused"
stop gateway
stop server
echo "$CHECKS checks passed"
