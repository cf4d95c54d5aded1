#!/usr/bin/env bash
# Junk on MQTT: malformed JSON, wrong types, a batch claiming another gateway, oversized
# batches and stray topics are refused, counted and logged; nothing is stored or acked, and
# good batches are still ingested afterwards.
. "$(dirname "$0")/lib.sh"

start_broker
SERVER_ARGS="--log-level debug" # each refusal's reason; at info only the first per cause and minute
start_server
# The junk comes from a registered gateway's own account: the only one the broker lets publish
# on its topics (tests/integration/23-mqtt-trust.sh covers everyone else).
register_gateway junk
bind_instruments junk i
pub() { gw_pub junk -q 1 -t "$1" -m "$2"; }

# Listen for acks of gateway "junk" during the junk.
start acks mosquitto_sub -p "$MQTT_PORT" -u "$OBS_USER" -P "$OBS_PASS" -q 1 -t 'labshare/v1/gw/junk/ack' -t test/ready -v
sub_ready "$T/acks.log" test/ready || fail "the ack listener did not subscribe"
pub labshare/v1/gw/junk/readings 'not json at all'
pub labshare/v1/gw/junk/readings '{"gateway":"junk","epoch":1,"readings":"nope"}'
pub labshare/v1/gw/junk/readings '{"gateway":"other","epoch":1,"readings":[]}'
pub labshare/v1/gw/junk/readings '{"gateway":"junk","epoch":1,"readings":[{"seq":1,"instrument":"i","ts":1,"state":"exploded","cause":"boot"}]}'
pub labshare/v1/gw/junk/readings '{"gateway":"junk","epoch":1,"readings":[{"seq":"1","instrument":"i","ts":1,"state":"idle","cause":"boot"}]}'
pub labshare/v1/gw/junk/readings '{"gateway":"junk","epoch":-5,"readings":[]}'
pub labshare/v1/gw/junk/status '{"online":"yes"}'
pub 'labshare/v1/gw/bad id/readings' '{}'
python3 -c '
import json
r = [{"seq": i, "instrument": "i", "ts": 1, "state": "idle", "cause": "heartbeat"} for i in range(1, 1002)]
print(json.dumps({"gateway": "junk", "epoch": 1, "readings": r}))' >"$T/big.json"
gw_pub junk -q 1 -t labshare/v1/gw/junk/readings -f "$T/big.json"
# Over the wire limit: the broker (max_packet_size from broker-config) refuses it before anyone
# copies it; the server never sees it.
head -c 2000000 /dev/zero | tr '\0' 'x' >"$T/huge.bin"
gw_pub junk -q 1 -t labshare/v1/gw/junk/readings -f "$T/huge.bin" 2>/dev/null
wait_for 10 grep -q "disconnected due to oversize packet\|oversize" "$T/broker.log" \
    || fail "the broker did not refuse a 2 MB payload: $(tail -5 "$T/broker.log")"
pass "a payload over the wire limit is refused by the broker"

for why in "malformed JSON" "field 'readings' must be an array" "claims gateway 'other'" \
    "field 'state' must be off, idle, running or fault" "field 'seq' must be an integer" \
    "field 'epoch' out of range" "field 'online' must be true or false" "batch of 1001 readings exceeds"; do
    # the big batch may still be parsed (slowly, under the sanitizers) when the broker is done
    wait_for 10 grep -q "$why" "$T/server.log" || fail "server did not log: $why"
done
pass "every kind of junk is refused with a reason in the log"
[ "$(api '/api/v1/readings' | json 'j["total"]')" -eq 0 ] || fail "junk was stored"
pass "nothing stored"

# A good batch still goes through and is acked.
now=$(date +%s%3N)
pub labshare/v1/gw/junk/readings '{"gateway":"junk","epoch":1,"readings":[{"seq":1,"instrument":"i","ts":'"$now"',"state":"idle","cause":"boot"}]}'
wait_for 10 grep -q '"upto":1' "$T/acks.log" || fail "no ack for the good batch"
[ "$(grep -c '^labshare/' "$T/acks.log")" -eq 1 ] || fail "junk was acked: $(cat "$T/acks.log")"
prom=$(curl -s "$API/metrics/prometheus")
grep -q 'labshare_ingest_refused_total{cause="malformed"} 7$' <<<"$prom" || fail "malformed not counted: $prom"
[ "$(grep -c 'warn: ingest: refused 1 (malformed)' "$T/server.log")" -eq 1 ] \
    || fail "malformed junk logged as a warning more than once a minute"
grep -q 'labshare_ingest_refused_total{cause="unknown_gateway"} 1$' <<<"$prom" || fail "the claim of another gateway not counted"
[ "$(api '/api/v1/readings' | json 'j["total"]')" -eq 1 ] || fail "good batch not stored"
pass "a good batch after the junk is stored and acked; the junk got no ack"
stop server
echo "$CHECKS checks passed"
