#!/usr/bin/env bash
# Trust on the wire (SPEC 3.3), tried as an attacker on the same network would, against the real
# broker configured by `labshare-server broker-config`: nobody anonymous, a gateway only on its
# own topics, only the server acks; rotated and disabled gateways locked out while the broker
# runs; and what a gateway's own account sends is still checked: forged, future-dated,
# out-of-range and unbound readings, range claims far ahead, seqs ahead of the gateway,
# forged and retained acks. Each attempt changes nothing.
. "$(dirname "$0")/lib.sh"

start_broker
broker_pid=$PID_broker
start_server
register_gateway gw-a
register_gateway gw-b
bind_instruments gw-a inst-a
bind_instruments gw-b inst-b
now() { date +%s%3N; }
batch() { # GATEWAY EPOCH SEQ INSTRUMENT [extra JSON fields of the reading] [after]
    printf '{"gateway":"%s","epoch":%s,%s"readings":[{"seq":%s,"instrument":"%s","ts":%s,"state":"idle","cause":"heartbeat"%s}]}' \
        "$1" "$2" "${6:+\"after\":$6,}" "$3" "$4" "${TS:-$(now)}" "${5:+,$5}"
}
stored() { api "/api/v1/readings?instrument=$1&limit=1000" | json 'j["total"]'; }
refused() { curl -s "$API/metrics/prometheus" | sed -n "s/^labshare_ingest_refused_total{cause=\"$1\"} //p"; }

# --- who may connect, publish and read ---------------------------------------------------------
! mosquitto_pub -p "$MQTT_PORT" -t labshare/v1/gw/gw-a/readings -m "$(batch gw-a 1 1 inst-a)" 2>"$T/anon.err" \
    || fail "an anonymous client published"
grep -qi "not authori" "$T/anon.err" || fail "anonymous refusal: $(cat "$T/anon.err")"
! mosquitto_pub -p "$MQTT_PORT" -u "$(gw_user gw-a)" -P wrong-password -t x -m y 2>/dev/null || fail "a wrong password connected"
pass "anonymous clients and wrong passwords cannot connect"

# gw-a publishes as gw-b (the broker drops it), then gw-b's own batch goes through
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-b/readings -m "$(batch gw-b 1 1 inst-b '"samples":666')"
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-b/status -r -m '{"online": true, "version": "forged", "outbox": 0}'
gw_pub gw-b -q 1 -t labshare/v1/gw/gw-b/readings -m "$(batch gw-b 1 1 inst-b '"samples":1')"
wait_for 10 eval '[ "$(stored inst-b)" = 1 ]' || fail "gw-b's own batch was not stored"
api "/api/v1/readings?instrument=inst-b" | json 'j["items"][0]["samples"]' | grep -qx 1 \
    || fail "a batch forged by gw-a is stored for gw-b: $(api "/api/v1/readings?instrument=inst-b")"
api /api/v1/gateways/gw-b | json 'j["version"]' | grep -qvx forged || fail "gw-a forged gw-b's status"
pass "gateway A cannot publish as gateway B (readings nor status)"

out=$(mosquitto_sub -p "$MQTT_PORT" -u "$(gw_user gw-a)" -P "$(gw_pass gw-a)" -t labshare/v1/gw/gw-b/ack -W 2 2>&1)
grep -q "denied" <<<"$out" || fail "gw-a subscribed to gw-b's acks: $out"
out=$(mosquitto_sub -p "$MQTT_PORT" -u "$(gw_user gw-a)" -P "$(gw_pass gw-a)" -t 'labshare/v1/gw/#' -W 2 2>&1)
grep -q "denied" <<<"$out" || fail "gw-a subscribed to every gateway's topics: $out"
pass "gateway A cannot read B's acks, nor anything but its own ack and cmd"

# A real gateway A with an outbox the server cannot drain (its instrument's meter is real, the
# server is stopped): acks from anyone but the server, retained acks, and acks beyond what it
# published must not delete a row.
SIM_PORT=$(free_port)
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$SIM_PORT" --instrument inst-a --seed 3
wait_for 10 port_open "$SIM_PORT" || fail "simulator"
gateway_ini "$T/gw-a.ini" gw-a "heartbeat_s = 1" "ack_timeout_s = 1"
printf '[modbus:inst-a]\ntcp = 127.0.0.1:%s\npoll_ms = 100\ntimeout_ms = 100\n' "$SIM_PORT" >>"$T/gw-a.ini"
start gateway "$BIN/labshare-gateway" -c "$T/gw-a.ini" 
wait_for 20 eval '[ "$(stored inst-a)" -ge 3 ]' || fail "gateway A's readings do not arrive"
stop server
outbox() { sqlite3 "$T/gw-a.db" 'SELECT count(*) FROM readings'; }
wait_for 10 eval '[ "$(outbox)" -ge 3 ]' || fail "the outbox does not fill while the server is away"
epoch=$(sqlite3 "$T/gw-a.db" "SELECT value FROM meta WHERE key = 'epoch'")
ack='{"epoch":'$epoch',"upto":9007199254740991}'
before=$(outbox)
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/ack -m "$ack"
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/cmd -m '{"version": 99, "instruments": []}'
gw_pub gw-b -q 1 -t labshare/v1/gw/gw-a/ack -m "$ack"
mqtt_pub -q 1 -t labshare/v1/gw/gw-a/ack -m "$ack"
# only the server's account may publish acks: a retained one, and one beyond what was published
mosquitto_pub -p "$MQTT_PORT" -u "$MQTT_USER" -P "$MQTT_PASS" -q 1 -r -t labshare/v1/gw/gw-a/ack -m "$ack"
mosquitto_pub -p "$MQTT_PORT" -u "$MQTT_USER" -P "$MQTT_PASS" -q 1 -t labshare/v1/gw/gw-a/ack -m "$ack"
# (a retained message reaches a client already subscribed as a live one: both are far ahead)
far_twice() { [ "$(grep -c 'ignoring an ack up to 9007199254740991' "$T/gateway.log")" -ge 2 ]; }
wait_for 10 far_twice || fail "an ack far ahead was obeyed"
kill9 gateway # a restart gets the retained ack at once, flagged retained: ignored as such
start gateway "$BIN/labshare-gateway" -c "$T/gw-a.ini"
wait_for 10 grep -q "ignoring a retained ack" "$T/gateway.log" || fail "the retained ack after a restart"
[ "$(outbox)" -ge "$before" ] || fail "forged acks deleted unsent readings: $before -> $(outbox)"
pass "nobody but the server acks; retained and far-ahead acks are ignored; no unsent reading lost ($before rows kept)"
mosquitto_pub -p "$MQTT_PORT" -u "$MQTT_USER" -P "$MQTT_PASS" -q 1 -r -t labshare/v1/gw/gw-a/ack -n
restart_server
drained() { [ "$(outbox)" -eq 0 ]; }
stop sim
wait_for 30 drained || fail "the outbox did not drain once the server was back"
stop gateway
last=$(sqlite3 "$T/gw-a.db" "SELECT seq FROM sqlite_sequence WHERE name='readings'")
[ "$(stored inst-a)" -eq "$last" ] || fail "server holds $(stored inst-a) of $last readings of gateway A"
pass "back with the server, every reading of gateway A is stored exactly once ($last)"

# --- what a gateway's own account sends is still checked ----------------------------------------
E=77
n0=$(stored inst-a)
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/readings -m "$(TS=$(($(now) + 3600 * 1000)) batch gw-a $E 1 inst-a)"
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/readings -m "$(TS=32503680000000 batch gw-a $E 2 inst-a)"
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/readings -m "$(batch gw-a $E 3 inst-b)"
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/readings -m "$(batch gw-a $E 4 no-such-instrument)"
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/readings -m "$(batch gw-a $E 5 inst-a '"samples":9007199254740991')"
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/readings -m "$(batch gw-a $E 6 inst-a '"run_seconds":9007199254740991,"energy_wh":9007199254740991')"
wait_for 10 eval '[ "$(refused bad_value)" = 2 ]' || fail "2^53-1 counters: $(refused bad_value)"
[ "$(refused bad_time)" = 2 ] || fail "future-dated readings: $(refused bad_time)"
[ "$(refused unbound_instrument)" = 2 ] || fail "readings of unbound instruments: $(refused unbound_instrument)"
[ "$(stored inst-a)" = "$n0" ] && [ "$(stored inst-b)" = 1 ] || fail "refused readings were stored"
api "/api/v1/usage?instrument=inst-a&limit=1000" | json 'all(u["samples"] < 10**6 and u["energy_wh"] < 10**9 for u in j["items"])' | grep -q True \
    || fail "a huge counter reached usage: $(api "/api/v1/usage?instrument=inst-a")"
api "/api/v1/charges?limit=1000" | json 'all(abs(c["amount"]) < 10**9 for c in j["items"])' | grep -q True \
    || fail "a huge counter reached a charge"
causes=$(api "/api/v1/readings?refused=true&limit=100" | json 'sorted(r["refused"] for r in j["items"] if r["epoch"] == 77)')
[ "$causes" = "['bad_time', 'bad_time', 'bad_value', 'bad_value', 'unbound_instrument', 'unbound_instrument']" ] ||
    fail "refused readings as evidence: $causes"
pass "future-dated, year-3000, unbound, unknown and 2^53-1 readings are refused by cause, listed with it; usage and charges untouched"

# the refused readings are handled (acked) all the same, so the honest ones after them are too
start acks mosquitto_sub -p "$MQTT_PORT" -u "$OBS_USER" -P "$OBS_PASS" -q 1 -t labshare/v1/gw/gw-a/ack -t test/ready -v
sub_ready "$T/acks.log" test/ready || fail "ack listener"
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/readings -m "$(batch gw-a $E 7 inst-a)"
wait_for 10 grep -q '"epoch":77,"upto":7' "$T/acks.log" || fail "the honest reading after refused ones: $(cat "$T/acks.log")"
# a range claim far ahead: "after": 7 and one reading at 2^53 - 1 must not move the ack
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/readings -m "$(batch gw-a $E 9007199254740991 inst-a '' 7)"
wait_for 10 eval '[ "$(refused bad_range_claim)" = 1 ]' || fail "the range claim far ahead: $(refused bad_range_claim)"
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/readings -m "$(batch gw-a $E 8 inst-a)"
wait_for 10 grep -q '"epoch":77,"upto":8' "$T/acks.log" || fail "ack after the claim: $(cat "$T/acks.log")"
! grep -q '"upto":9007199254740991' "$T/acks.log" || fail "the server acked up to 2^53-1"
pass "a range claim far ahead is refused: the ack stays at what is stored"

# seqs ahead of the gateway: the same seq later with other content is kept out and counted
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/readings -m "$(TS=$(now) batch gw-a $E 9 inst-a '"samples":5')"
gw_pub gw-a -q 1 -t labshare/v1/gw/gw-a/readings -m "$(TS=$(now) batch gw-a $E 9 inst-a '"samples":6')"
wait_for 10 eval '[ "$(refused conflicting_repeat)" = 1 ]' || fail "conflicting repeat: $(refused conflicting_repeat)"
api "/api/v1/readings?instrument=inst-a&limit=1000" | json '[r["samples"] for r in j["items"] if r["epoch"] == 77 and r["seq"] == 9]' \
    | grep -qx '\[5\]' || fail "the first reading of seq 9 was replaced"
pass "a repeat of a stored (gateway, epoch, seq) with other content is kept out and counted"

# --- rotate and disable while the broker runs ---------------------------------------------------
old=$(gw_pass gw-b)
code=$(status POST /api/v1/gateways/gw-b/rotate -H "Authorization: Bearer $TOKEN")
[ "$code" = 200 ] || fail "rotate: $code $(cat "$T/last-body")"
json 'j["password"]' <"$T/last-body" >"$T/gw-b.pass"
[ "$(gw_pass gw-b)" != "$old" ] || fail "rotate gave the same password"
! mosquitto_pub -p "$MQTT_PORT" -u "$(gw_user gw-b)" -P "$old" -t labshare/v1/gw/gw-b/status -m x 2>/dev/null || fail "the old password still works"
gw_pub gw-b -q 1 -t labshare/v1/gw/gw-b/readings -m "$(batch gw-b 1 2 inst-b)" || fail "the new password does not work"
wait_for 10 eval '[ "$(stored inst-b)" = 2 ]' || fail "readings with the new password"
pass "rotate: the old password is refused, the new one works"

code=$(status DELETE /api/v1/gateways/gw-b -H "Authorization: Bearer $TOKEN")
[ "$code" = 200 ] && json 'j["enabled"]' <"$T/last-body" | grep -qx False || fail "disable: $code $(cat "$T/last-body")"
wait_for 10 sh -c "! mosquitto_pub -p $MQTT_PORT -u '$(gw_user gw-b)' -P '$(gw_pass gw-b)' -t labshare/v1/gw/gw-b/status -m x 2>/dev/null" \
    || fail "a disabled gateway still connects"
code=$(status PATCH /api/v1/gateways/gw-b -H "Authorization: Bearer $TOKEN" -d '{"disabled": false}')
[ "$code" = 200 ] || fail "enable: $code $(cat "$T/last-body")"
gw_pub gw-b -q 1 -t labshare/v1/gw/gw-b/readings -m "$(batch gw-b 1 3 inst-b)" || fail "enabled again, it cannot connect"
wait_for 10 eval '[ "$(stored inst-b)" = 3 ]' || fail "readings after enabling again"
[ "$PID_broker" = "$broker_pid" ] && kill -0 "$broker_pid" || fail "the broker was restarted"
pass "disable locks the gateway out and enable lets it back, without restarting the broker"

# a lock-out made while the broker is away takes effect when it is back
kill9 broker
code=$(status DELETE /api/v1/gateways/gw-b -H "Authorization: Bearer $TOKEN")
[ "$code" = 200 ] || fail "disable with the broker away: $code $(cat "$T/last-body")"
code=$(status POST /api/v1/gateways -H "Authorization: Bearer $TOKEN" -d '{"id": "gw-c"}')
[ "$code" = 503 ] || fail "registering with the broker away answered $code"
restart_broker
wait_for 15 grep -q "disabled gateway account(s) locked out again" "$T/server.log" || fail "no lock-out on reconnect"
sleep_until_refused() { ! mosquitto_pub -p "$MQTT_PORT" -u "$(gw_user gw-b)" -P "$(gw_pass gw-b)" -t labshare/v1/gw/gw-b/status -m x 2>/dev/null; }
wait_for 10 sleep_until_refused || fail "gw-b still connects after the broker came back"
pass "a gateway disabled while the broker was away is locked out when it returns; registering needs the broker (503)"

# a gateway named like another account on the broker (here the observer, an operator's account)
# gets an account of its own ("gateway:<id>"): registering it cannot replace that one
code=$(status POST /api/v1/gateways -H "Authorization: Bearer $TOKEN" -d "{\"id\": \"$OBS_USER\"}")
[ "$code" = 201 ] && json 'j["username"]' <"$T/last-body" | grep -qx "gateway:$OBS_USER" || fail "gateway named $OBS_USER: $code $(cat "$T/last-body")"
obs_alive() { mqtt_pub -r -t test/alive -m ok && mqtt_sub -t test/alive -C 1 -W 2 | grep -q ok; }
wait_for 10 obs_alive || fail "registering a gateway replaced the operator's account"
pass "gateway accounts are namespaced: registering one never touches another account"

# the audit log records the gateway changes, never a password
api "/api/v1/audit-log?limit=1000" >"$T/audit.json"
for a in gateway.create gateway.rotate gateway.disable gateway.enable; do
    grep -q "\"$a\"" "$T/audit.json" || fail "no audit record $a"
done
! grep -q "$(gw_pass gw-a)" "$T/audit.json" "$T/server.log" "$T/broker.log" || fail "a password in the audit log or a log"
pass "gateway changes are audited; passwords are in no log and no audit record"
stop server
echo "$CHECKS checks passed"
