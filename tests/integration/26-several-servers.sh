#!/usr/bin/env bash
# Several servers, one platform (issue 14): two labshare-server processes share one database and
# the ingest, through the MQTT shared subscription of [mqtt] share_group ("labshare"), each with
# its own client id and HTTP port.
# * Racing bookings: for each of 40 slots one researcher asks server A and another server B at
#   the same moment: exactly one of them gets it (201), the other a 409, and no two bookings that
#   hold a slot overlap.
# * Ingest: a gateway streams two meters while server A is killed with SIGKILL mid-stream and
#   started again, then B: every seq is stored exactly once, the outbox drains, and both servers
#   stored batches (the broker shared them out).
# * A broker configured before share_group gets the server role's shared filters from the
#   server itself (the first subscription is refused and tried again).
# * Month close started on both at once: exactly one closes it (200), the other is told it is
#   closed (409); one audit record; the audit chain verifies.
# On SQLite the servers share one file; in the PostgreSQL pass one database.
# serial (tests/run.sh runs it alone): two servers and a booking race load both cores
# postgresql (tests/run.sh runs it again with the server on PostgreSQL)
. "$(dirname "$0")/lib.sh"

start_broker
# a broker configured before share_group: the server's role lacks the shared filters; the server
# grants them through its control connection and subscribes again
for k in readings status; do
    mqtt_ctrl removeRoleACL labshare-server subscribeLiteral "\$share/labshare/labshare/v1/gw/+/$k" >/dev/null ||
        fail "cannot remove the shared ACL of $k"
done
mqtt_ctrl getRole labshare-server | grep -q '\$share/' && fail "the shared ACLs are still there"
start_server
has_share_acls() { [ "$(mqtt_ctrl getRole labshare-server | grep -c '\$share/labshare/')" = 2 ]; }
wait_for 10 has_share_acls || fail "the server did not grant its role the shared filters: $(mqtt_ctrl getRole labshare-server)"
pass "a broker configured before share_group: the server granted its role the shared filters"
API_A=$API
# server B: the same platform, its own HTTP port and MQTT client id
PORT_B=$(free_port)
sed -e "s|^listen = .*|listen = 127.0.0.1:$PORT_B|" -e "s|^client_id = .*|client_id = labshare-server-b|" \
    "$T/server.ini" >"$T/server-b.ini"
start server-b "$BIN/labshare-server" -c "$T/server-b.ini"
API_B=http://127.0.0.1:$PORT_B
wait_for 10 curl -sf "$API_B/healthz" || fail "server B did not start"
grep -q "sharing the ingest as group labshare" "$T/server.log" || fail "A does not share the ingest"
wait_for 10 grep -q "sharing the ingest as group labshare" "$T/server-b.log" || fail "B does not share the ingest"
pass "two servers on one platform, both in share group labshare"

export API TOKEN T API_A API_B
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "seed"
from api import admin, seed
seed(admin())
PY

# ---- racing bookings: one slot, two servers, one winner ------------------------------------
python3 - >"$T/race.out" 2>&1 <<'PY' || { cat "$T/race.out"; fail "booking race"; }
import datetime, os, threading
import api

SLOTS = 40
base = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)).replace(
    minute=0, second=0, microsecond=0)
iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
clients = []
for name, url in (("dr.li", os.environ["API_A"]), ("dr.zhang", os.environ["API_B"])):
    os.environ["API"] = url
    clients.append(api.user(name))
results = [[None, None] for _ in range(SLOTS)]
gate = threading.Barrier(2)

def racer(k):
    c = clients[k]
    for i in range(SLOTS):
        start = base + datetime.timedelta(hours=i)
        # a half-hour offset for B: overlapping, not equal, slots
        if k:
            start += datetime.timedelta(minutes=30)
        gate.wait()
        st, ans = c.call("POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": iso(start),
                         "end": iso(start + datetime.timedelta(minutes=45)), "project": "race"})
        results[i][k] = st

threads = [threading.Thread(target=racer, args=(k,)) for k in (0, 1)]
for t in threads:
    t.start()
for t in threads:
    t.join()
wins = [0, 0]
for i, (a, b) in enumerate(results):
    assert sorted((a, b)) == [201, 409], "slot %d: A %s, B %s" % (i, a, b)
    wins[0 if a == 201 else 1] += 1
print("slots", SLOTS, "won by A", wins[0], "by B", wins[1])
PY
cat "$T/race.out"
read -r held overlaps <<<"$(sdb "SELECT
    (SELECT count(*) FROM bookings WHERE project = 'race' AND status IN ('pending','confirmed')),
    (SELECT count(*) FROM bookings x JOIN bookings y ON x.instrument = y.instrument AND x.id < y.id
      AND x.start_ms < y.end_ms AND y.start_ms < x.end_ms
      WHERE x.status IN ('pending','confirmed') AND y.status IN ('pending','confirmed'))")"
[ "$held" = 40 ] || fail "$held race bookings hold a slot, wanted 40"
[ "$overlaps" = 0 ] || fail "$overlaps overlapping bookings"
pass "40 slots raced on two servers: one winner each, $held held, no overlap"

# ---- ingest through the shared subscription, SIGKILL mid-stream ----------------------------
cd "$ROOT"
register_gateway gw-share
bind_instruments gw-share m1 m2
start_sims 2
gateway_ini "$T/gw.ini" gw-share "heartbeat_s = 1" "batch_max = 5" "ack_timeout_s = 2"
printf '[modbus:m%s]\ntcp = 127.0.0.1:%s\npoll_ms = 100\ntimeout_ms = 100\n' 1 "$SIM1" 2 "$SIM2" >>"$T/gw.ini"
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
batches() { curl -s "$1/metrics/prometheus" | sed -n 's/^labshare_ingest_batches_total //p'; }
both_stored() { [ "$(batches "$API_A")" -gt 0 ] && [ "$(batches "$API_B")" -gt 0 ]; }
wait_for 20 both_stored || fail "the batches were not shared: A $(batches "$API_A"), B $(batches "$API_B")"
sleep 2
dups() { curl -s "$1/metrics/prometheus" | sed -n 's/^labshare_ingest_duplicates_total //p'; }
# each batch went to one of them: a plain subscription on both would make one see every reading
# again
[ "$(dups "$API_A")" = 0 ] && [ "$(dups "$API_B")" = 0 ] ||
    fail "batches came to both servers: duplicates A $(dups "$API_A"), B $(dups "$API_B")"
pass "the broker shares the batches out: A stored $(batches "$API_A"), B $(batches "$API_B"), no duplicates"
sleep 0.$((RANDOM % 9))
kill9 server
echo "kill -9 server A"
b_before=$(batches "$API_B")
b_grew() { [ "$(batches "$API_B")" -gt "$b_before" ]; }
wait_for 15 b_grew || fail "B stored nothing while A was down"
start server "$BIN/labshare-server" -c "$T/server.ini"
wait_for 10 curl -sf "$API_A/healthz" || fail "A did not restart"
sleep 1.$((RANDOM % 9))
kill9 server-b
echo "kill -9 server B"
sleep 3
start server-b "$BIN/labshare-server" -c "$T/server-b.ini"
wait_for 10 curl -sf "$API_B/healthz" || fail "B did not restart"
sleep 2
# stop taking readings (the meters go), then let the backlog drain
stop gateway
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
kill9 sim1
kill9 sim2
drain "$T/gw-share.db"
# the second start must be up (its signal handlers set) before it is stopped: the outbox may have
# been empty already
second_up() { [ "$(grep -c 'running with' "$T/gateway.log")" -ge 2 ]; }
wait_for 10 second_up || fail "the gateway did not start again"
stop gateway
exactly_once gw-share "$T/gw-share.db"
upto=$(sdb "SELECT upto FROM gateway_acks WHERE gateway='gw-share'")
[ "$upto" -eq "$LAST" ] || fail "acked up to $upto, not $LAST"
out=$("$BIN/labshare-server" -c "$T/server.ini" usage-check) || fail "usage differs: $out"
pass "A and B each killed mid-stream: all $LAST readings stored exactly once, the outbox drained"

# ---- month close on both at once -----------------------------------------------------------
month=$(TZ=Asia/Shanghai date -d "$(TZ=Asia/Shanghai date +%Y-%m-01) -1 day" +%Y-%m)
closers=()
for s in A B; do
    url=API_$s
    curl -s -o "$T/close-$s.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        "${!url}/api/v1/statements/close?month=$month" >"$T/close-$s.code" &
    closers+=($!)
done
wait "${closers[@]}"
codes=$(cat "$T/close-A.code" "$T/close-B.code" | fold -w3 | sort | tr '\n' ' ')
[ "$codes" = "200 409 " ] || fail "month close on both: $codes ($(cat "$T/close-A.out" "$T/close-B.out"))"
n=$(curl -s -H "Authorization: Bearer $TOKEN" "$API_B/api/v1/audit-log?action=statements.close&object=month/$month" | json 'j["total"]')
[ "$n" = 1 ] || fail "the close is audited $n times"
API=$API_B
[ "$(api /api/v1/audit-log/verify | json 'j["ok"]')" = True ] || fail "audit chain: $(api /api/v1/audit-log/verify)"
pass "$month closed on both at once: $codes, audited once, the audit chain verifies"

stop server-b
stop server
echo "$CHECKS checks passed"
