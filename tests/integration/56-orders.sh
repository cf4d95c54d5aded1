#!/usr/bin/env bash
# Sample-testing orders (送样检测) through the real chain: an enterprise orders a test; the
# owner's manager accepts it, receives the samples, books the staff's work on the calendar, the
# simulator meters a run inside it (attributed to the order's booking, so external use of the
# owner's instrument), the report is attached and the order completed; it is charged per sample
# and per metered hour at the industry rate with the enterprise's voucher, on the statement with
# the order as evidence, and not a second time as a booking. Declined and cancelled orders, who
# may do what, bad input, the audit trail.
# postgresql (tests/run.sh runs it again with the server on PostgreSQL: results are bytea there)
. "$(dirname "$0")/lib.sh"

start_broker
SERVER_EXTRA_INI=$'[metrics]\nmerge_gap_s = 1\nno_show_min_run_s = 1\n[orders]\nresults_max_kb = 64'
start_server
export API TOKEN
( cd "$ROOT/tests/integration" && python3 -c '
from api import admin, seed
seed(admin())' ) || fail "seeding"
register_gateway gw-orders
bind_instruments gw-orders icp-ms-01
cd "$ROOT/tests/integration"
python3 - <<'PY' >"$T/order.env" || fail "ordering"
import datetime, json, os
from api import admin, user
a = admin()
users = {x["username"]: x["id"] for x in a.expect(200, "GET", "/api/v1/users?limit=100")["items"]}
orgs = {x["name"]: x["id"] for x in a.expect(200, "GET", "/api/v1/orgs")["items"]}
year = datetime.date.today().year
# 50 yuan a sample on top of the hourly rates (industry 600 yuan), 15-minute increments
a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"billing": {"per_sample": 5000}})
a.expect(201, "POST", "/api/v1/vouchers", {"org_id": orgs["Jiangzhong"], "percent": 50,
         "annual_cap": 10000000, "valid_from": "%d-01-01" % year, "valid_to": "%d-12-31" % year})
xu, chen, wang, zhang, liu = (user(n) for n in ("eng.xu", "mgr.chen", "mgr.wang", "dr.zhang", "auditor.liu"))
o = xu.expect(201, "POST", "/api/v1/orders", {"instrument": "icp-ms-01", "samples": 4,
              "description": "four soil digests, 10 ml each", "analysis": "trace metals (Pb, Cd, As)",
              "urgency": "urgent"})
assert (o["status"], o["samples"], o["urgency"], o["user_id"]) == ("requested", 4, "urgent", users["eng.xu"]), o
oid = o["id"]
# bad orders change nothing
for bad, word in (({"instrument": "icp-ms-01", "samples": 0, "analysis": "x"}, "samples"),
                  ({"instrument": "icp-ms-01", "samples": 10001, "analysis": "x"}, "samples"),
                  ({"instrument": "icp-ms-01", "samples": "4", "analysis": "x"}, "samples"),
                  ({"instrument": "icp-ms-01", "samples": 1}, "analysis"),
                  ({"instrument": "icp-ms-01", "samples": 1, "analysis": "x" * 2001}, "analysis"),
                  ({"instrument": "icp-ms-01", "samples": 1, "analysis": "x", "urgency": "now"}, "urgency"),
                  ({"instrument": "icp-ms-01", "samples": 1, "analysis": "x", "price": 0}, "price"),
                  ({"instrument": "../etc", "samples": 1, "analysis": "x"}, "instrument")):
    e = xu.expect(400, "POST", "/api/v1/orders", bad)
    assert word in e["message"], (bad, e)
xu.expect(404, "POST", "/api/v1/orders", {"instrument": "tem-01", "samples": 1, "analysis": "x"})  # not public
liu.expect(403, "POST", "/api/v1/orders", {"instrument": "icp-ms-01", "samples": 1, "analysis": "x"})
assert a.expect(200, "GET", "/api/v1/orders")["total"] == 1
# only the owner's staff take the steps; others do not even see the order
xu.expect(403, "POST", "/api/v1/orders/%d/accept" % oid)
liu.expect(403, "POST", "/api/v1/orders/%d/accept" % oid)
wang.expect(404, "POST", "/api/v1/orders/%d/accept" % oid)
zhang.expect(404, "GET", "/api/v1/orders/%d" % oid)
chen.expect(422, "POST", "/api/v1/orders/%d/receive" % oid)          # not accepted yet
o = chen.expect(200, "POST", "/api/v1/orders/%d/accept" % oid)
assert o["status"] == "accepted" and o["accepted_at"] and o["handled_by"] == users["mgr.chen"], o
chen.expect(422, "POST", "/api/v1/orders/%d/accept" % oid)
chen.expect(400, "POST", "/api/v1/orders/%d/receive" % oid, {"samples_received": -1})
o = chen.expect(200, "POST", "/api/v1/orders/%d/receive" % oid, {"samples_received": 4})
assert o["status"] == "received" and o["samples_received"] == 4, o
e = xu.expect(422, "POST", "/api/v1/orders/%d/cancel" % oid)         # the samples are in the lab
assert "manager" in e["message"], e
# a declined and a cancelled order; a cancelled one frees its slot on the calendar
d = zhang.expect(201, "POST", "/api/v1/orders", {"instrument": "icp-ms-01", "samples": 1, "analysis": "Hg"})
d = chen.expect(200, "POST", "/api/v1/orders/%d/decline" % d["id"], {"reason": "we do not measure mercury"})
assert d["status"] == "declined" and d["reason"] == "declined: we do not measure mercury", d
chen.expect(422, "POST", "/api/v1/orders/%d/accept" % d["id"])
c = xu.expect(201, "POST", "/api/v1/orders", {"instrument": "icp-ms-01", "samples": 2, "analysis": "Zn"})
c = xu.expect(200, "POST", "/api/v1/orders/%d/cancel" % c["id"], {"reason": "sent elsewhere"})
assert c["status"] == "cancelled" and c["reason"] == "cancelled by the orderer: sent elsewhere", c
c2 = xu.expect(201, "POST", "/api/v1/orders", {"instrument": "icp-ms-01", "samples": 2, "analysis": "Cu"})
chen.expect(200, "POST", "/api/v1/orders/%d/accept" % c2["id"])
chen.expect(200, "POST", "/api/v1/orders/%d/receive" % c2["id"])
iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
tomorrow = now + datetime.timedelta(days=1)
s = chen.expect(200, "POST", "/api/v1/orders/%d/schedule" % c2["id"],
                {"start": iso(tomorrow), "end": iso(tomorrow + datetime.timedelta(hours=2))})
assert s["status"] == "scheduled" and s["booking"], s
bk = a.expect(200, "GET", "/api/v1/bookings/%d" % s["booking"])
assert (bk["status"], bk["user_id"], bk["order_id"]) == ("confirmed", users["eng.xu"], c2["id"]), bk
e = chen.expect(409, "POST", "/api/v1/orders/%d/schedule" % c2["id"],
                {"start": iso(tomorrow + datetime.timedelta(hours=1)), "end": iso(tomorrow + datetime.timedelta(hours=3))})
assert e["conflict"] == s["booking"], e
chen.expect(400, "POST", "/api/v1/orders/%d/schedule" % c2["id"], {"start": iso(tomorrow)})
chen.expect(400, "POST", "/api/v1/orders/%d/schedule" % c2["id"],
            {"start": iso(tomorrow), "end": iso(tomorrow + datetime.timedelta(days=40))})
c2 = chen.expect(200, "POST", "/api/v1/orders/%d/cancel" % c2["id"], {"reason": "instrument needs repair"})
assert c2["status"] == "cancelled" and c2["reason"].startswith("cancelled by the lab"), c2
bk = a.expect(200, "GET", "/api/v1/bookings/%d" % s["booking"])
assert bk["status"] == "cancelled" and bk["reason"] == "order cancelled", bk
# who sees which orders
assert sorted(x["id"] for x in xu.expect(200, "GET", "/api/v1/orders")["items"]) == sorted([oid, c["id"], c2["id"]])
assert [x["id"] for x in zhang.expect(200, "GET", "/api/v1/orders")["items"]] == [d["id"]]
assert [x["id"] for x in wang.expect(200, "GET", "/api/v1/orders")["items"]] == [d["id"]]  # NCU's user's
assert chen.expect(200, "GET", "/api/v1/orders")["total"] == 4
assert liu.expect(200, "GET", "/api/v1/orders?status=cancelled")["total"] == 2
a.expect(400, "GET", "/api/v1/orders?status=lost")
# the staff's work on the calendar: a slot from a minute ago to 15 s from now (the run is 1-7 s
# after the simulator starts)
start = now - datetime.timedelta(seconds=60)
end = now + datetime.timedelta(seconds=15)
s = chen.expect(200, "POST", "/api/v1/orders/%d/schedule" % oid, {"start": iso(start), "end": iso(end)})
assert s["status"] == "scheduled", s
print("ORDER=%d BOOKING=%d END=%d DECLINED=%d CANCELLED=%d" % (oid, s["booking"], int(end.timestamp()), d["id"], c2["id"]))
PY
. "$T/order.env"
pass "orders: placed, accepted, received, declined, cancelled (with its slot), scheduled; permissions and bad input"

cat >"$T/scenario.txt" <<'SC'
0  state=idle
1  state=running power_w=1500
7  state=idle samples+=4
SC
PORT=$(free_port)
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$PORT" --instrument icp-ms-01 --scenario "$T/scenario.txt"
wait_for 10 port_open "$PORT" || fail "simulator"
gateway_ini "$T/gw.ini" gw-orders "heartbeat_s = 1"
printf '[modbus:icp-ms-01]\ntcp = 127.0.0.1:%s\npoll_ms = 100\ntimeout_ms = 100\n' "$PORT" >>"$T/gw.ini"
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
closed_session() { api "/api/v1/usage?instrument=icp-ms-01" | json 'len([u for u in j["items"] if not u["open"]])' | grep -qx 1; }
wait_for 25 closed_session || fail "a closed session expected: $(api '/api/v1/usage?instrument=icp-ms-01')"

# the report: every byte value, so a text conversion anywhere would show
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 16)' >"$T/report.bin"
python3 -c 'import sys; sys.stdout.buffer.write(b"x" * (65 * 1024))' >"$T/big.bin"
export ORDER BOOKING END DECLINED CANCELLED T
python3 - <<'PY' || fail "results and completion"
import hashlib, os, time
from api import admin, user
a = admin()
oid = int(os.environ["ORDER"])
xu, chen, zhang = user("eng.xu"), user("mgr.chen"), user("dr.zhang")
report = open(os.environ["T"] + "/report.bin", "rb").read()
big = open(os.environ["T"] + "/big.bin", "rb").read()
e = chen.expect(422, "POST", "/api/v1/orders/%d/complete" % oid)
assert e["rule"] == "results", e
put = lambda who, name, body, ct="application/pdf": who.call("PUT", "/api/v1/orders/%d/results?name=%s" % (oid, name), raw=body, headers={"Content-Type": ct})
assert put(xu, "report.pdf", report)[0] == 403                      # not staff
assert put(chen, "../report.pdf", report)[0] == 400
assert put(chen, ".hidden", report)[0] == 400
assert put(chen, "report.pdf", report, "not a type")[0] == 400
assert put(chen, "report.pdf", b"")[0] == 400
st, e = put(chen, "report.pdf", big)
assert st == 413 and "65536" in e["message"], (st, e)               # [orders] results_max_kb = 64
assert put(chen, "report.pdf", report, "application/PDF; charset=binary")[0] == 200
o = a.expect(200, "GET", "/api/v1/orders/%d" % oid)
assert o["result"]["name"] == "report.pdf" and o["result"]["size"] == len(report), o
assert o["result"]["sha256"] == hashlib.sha256(report).hexdigest() and o["result"]["content_type"] == "application/pdf", o
st, body, hdrs = xu.fetch("/api/v1/orders/%d/results" % oid)
assert st == 200 and body == report, (st, len(body))
assert hdrs["Content-Type"] == "application/octet-stream" and 'filename="report.pdf"' in hdrs["Content-Disposition"], dict(hdrs)
assert zhang.fetch("/api/v1/orders/%d/results" % oid)[0] == 404
assert xu.fetch("/api/v1/orders/%d/results" % int(os.environ["DECLINED"]))[0] == 404   # not theirs
assert a.fetch("/api/v1/orders/%d/results" % int(os.environ["DECLINED"]))[0] == 404    # none
# the work is on the calendar until its end: not complete before
e = chen.expect(422, "POST", "/api/v1/orders/%d/complete" % oid)
assert e["rule"] == "work_pending" and os.environ["BOOKING"] in e["message"], e
while time.time() < int(os.environ["END"]) + 1:
    time.sleep(0.5)
o = chen.expect(200, "POST", "/api/v1/orders/%d/complete" % oid)
assert o["status"] == "completed" and o["completed_at"], o
assert put(chen, "report2.pdf", report)[0] == 422                   # the report is final
chen.expect(422, "POST", "/api/v1/orders/%d/cancel" % oid)
print("completed:", o)
PY
pass "results file: limits, names, types, byte-exact download for the orderer only; completion after the work"

python3 - <<'PY' || fail "usage, charge, statement, metrics"
import datetime, os
from api import admin, user, sdb
a = admin()
oid, booking = int(os.environ["ORDER"]), int(os.environ["BOOKING"])
users = {x["username"]: x["id"] for x in a.expect(200, "GET", "/api/v1/users?limit=100")["items"]}
orgs = {x["name"]: x["id"] for x in a.expect(200, "GET", "/api/v1/orgs")["items"]}
u = a.expect(200, "GET", "/api/v1/usage?instrument=icp-ms-01")["items"]
print([(x["attribution"], x["user_id"], x["booking_id"], x["run_seconds"]) for x in u])
assert len(u) == 1 and u[0]["attribution"] == "booking" and u[0]["booking_id"] == booking, u
assert u[0]["user_id"] == users["eng.xu"] and 5 <= u[0]["run_seconds"] <= 7, u
run_s = u[0]["run_seconds"]
o = a.expect(200, "GET", "/api/v1/orders/%d" % oid)
assert o["metered_seconds"] == run_s and o["bookings"] == 1, o
ch = a.expect(200, "GET", "/api/v1/charges")["items"]
print([(c["source"], c["category"], c["minutes"], c["samples"], c["sample_fee"], c["amount"], c["voucher"]) for c in ch])
assert not [c for c in ch if c["source"] == "booking/%d" % booking], "the order's booking was charged as a booking"
oc = [c for c in ch if c["source"] == "order/%d" % oid]
assert len(oc) == 1, ch
oc = oc[0]
# 4 samples x 50 yuan + 15 minutes (the increment) x 600 yuan an hour = 200 + 150 yuan; half by voucher
assert (oc["category"], oc["minutes"], oc["samples"], oc["sample_fee"]) == ("industry", 15, 4, 20000), oc
assert (oc["amount"], oc["voucher"], oc["org_id"], oc["user_id"]) == (35000, 17500, orgs["Jiangzhong"], users["eng.xu"]), oc
assert "order %d" % oid in oc["description"], oc
assert len(ch) == 1, ch  # nothing else was charged: declined and cancelled orders cost nothing
st = a.expect(200, "GET", "/api/v1/statements?org=%d&month=%s" % (orgs["Jiangzhong"], oc["month"]))
assert (st["gross"], st["voucher"], st["payable"]) == (35000, 17500, 17500), st
assert [l["source"] for l in st["lines"]] == ["order/%d" % oid], st
assert a.expect(200, "GET", "/api/v1/charges")["items"] == ch    # never charged twice
# the owner's external hours: the staff's run for the enterprise counts as sharing
now = datetime.datetime.now(datetime.timezone.utc)
frm = (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
to = (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
m = [x for x in a.expect(200, "GET", "/api/v1/metrics?from=%s&to=%s&by=instrument" % (frm, to))["items"]
     if x["instrument"] == "icp-ms-01"][0]
assert abs(m["external_hours"] - run_s / 3600) < 0.0006 and abs(m["sharing_rate"] - 1) < 1e-9, m
# every step is in the audit chain
log = a.expect(200, "GET", "/api/v1/audit-log?object=order/%d&limit=100" % oid)["items"]
acts = [r["action"] for r in log]
print(acts)
for step in ("order.create", "order.accept", "order.receive", "order.schedule", "order.results", "order.complete"):
    assert step in acts, (step, acts)
assert [r for r in log if r["action"] == "order.results"][0]["after"]["result"]["sha256"]
v = a.expect(200, "GET", "/api/v1/audit-log/verify")
assert v["ok"], v
PY
pass "the order's metered session, its one charge (per sample and hour, voucher), statement line, external hours, audit"
stop gateway
stop server
echo "$CHECKS checks passed"
