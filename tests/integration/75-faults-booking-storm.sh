#!/usr/bin/env bash
# SIGKILL in a booking storm (issue 13): eight clients book overlapping slots of one instrument
# as fast as they can while the server is killed with SIGKILL three times and restarted. Every
# booking answered 201 is in the database afterwards with its times (durable before the answer),
# no two bookings that hold the slot overlap, the audit chain verifies and PRAGMA
# integrity_check passes.
# serial (tests/run.sh runs it alone): its booking storm loads both cores
# postgresql (tests/run.sh runs it again with the server on PostgreSQL)
. "$(dirname "$0")/lib.sh"

start_broker
start_server
export API TOKEN T
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "seed"
from api import admin, seed
seed(admin())
PY
python3 - >"$T/storm.out" 2>&1 <<'PY' &
import datetime, json, os, random, threading, time
from api import user

stop = os.path.join(os.environ["T"], "stop")
base = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).replace(
    minute=0, second=0, microsecond=0)
iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
created, lock = [], threading.Lock()
counts = {"201": 0, "409": 0, "other": 0, "down": 0}

def client(name, seed):
    rng = random.Random(seed)
    u = None
    while not os.path.exists(stop):
        try:
            if u is None:
                u = user(name)
            start = base + datetime.timedelta(hours=rng.randrange(48))
            end = start + datetime.timedelta(hours=rng.choice((1, 2, 3)))
            st, ans = u.call("POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": iso(start),
                                                          "end": iso(end), "project": "storm"})
        except Exception:
            with lock:
                counts["down"] += 1
            time.sleep(0.2)
            continue
        with lock:
            if st == 201:
                counts["201"] += 1
                created.append((ans["id"], ans["start"], ans["end"]))
            elif st == 409:
                counts["409"] += 1
            else:
                counts["other"] += 1
                print("unexpected", st, ans)

names = ["dr.li", "dr.zhang", "eng.xu", "mgr.chen", "mgr.wang", "dr.li", "dr.zhang", "eng.xu"]
threads = [threading.Thread(target=client, args=(n, i)) for i, n in enumerate(names)]
for t in threads:
    t.start()
for t in threads:
    t.join()
json.dump({"created": created, "counts": counts}, open(os.path.join(os.environ["T"], "storm.json"), "w"))
print(counts)
PY
storm=$!
for round in 1 2 3; do
    sleep "1.$((RANDOM % 9))"
    echo "round $round: kill -9 server"
    kill9 server
    sleep 0.5
    restart_server
done
sleep 2
touch "$T/stop"
wait "$storm" || fail "the storm clients failed: $(cat "$T/storm.out")"
cat "$T/storm.out"
stop server
sdb "SELECT id, start_ms, end_ms FROM bookings" >"$T/stored.txt" || fail "cannot read the bookings"
overlaps=$(sdb "SELECT count(*) FROM bookings a JOIN bookings b ON a.instrument = b.instrument
    AND a.id < b.id AND a.start_ms < b.end_ms AND b.start_ms < a.end_ms
    WHERE a.status IN ('pending', 'confirmed') AND b.status IN ('pending', 'confirmed')")
[ "$overlaps" = 0 ] || fail "$overlaps overlapping bookings"
[ -n "${LABSHARE_TEST_PG:-}" ] || [ "$(sdb 'PRAGMA integrity_check')" = ok ] || fail "database damaged"
python3 - "$T/storm.json" "$T/stored.txt" <<'PY' || fail "after the storm"
import datetime, json, sys
r = json.load(open(sys.argv[1]))
c = r["counts"]
assert c["201"] >= 5 and c["down"] >= 1 and c["other"] == 0, c
def ms(t):
    return round(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000)
rows = {}
for line in open(sys.argv[2]):
    i, s, e = map(int, line.split())
    rows[i] = (s, e)
lost = [b for b in r["created"] if b[0] not in rows or rows[b[0]] != (ms(b[1]), ms(b[2]))]
assert not lost, "answered 201 but not stored: %s" % lost[:5]
print("%d bookings answered 201, all stored; %d conflicts; %d requests met a dead server; no overlap"
      % (c["201"], c["409"], c["down"]))
PY
pass "SIGKILL in a booking storm: every 201 stored, no overlap, database intact"
restart_server
[ "$(api /api/v1/audit-log/verify | json 'j["ok"]')" = True ] || fail "audit chain: $(api /api/v1/audit-log/verify)"
pass "the audit chain verifies after the kills"
echo "$CHECKS checks passed"
