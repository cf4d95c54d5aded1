#!/usr/bin/env bash
# The API as a lab's people use it in a working day (issue 10): a manager works the queue of
# pending requests knowing who asks and what it will cost, sees the revenue of the organisation's
# instruments, and the platform says its time zone and currency; figures take month= in the
# platform time zone, come rounded, and count an instrument from the day it joined; lists take
# the filters people use and refuse unknown ones; CSV has one plain value per cell, readings
# included; reads write no audit record; the small things people hit at once.
# postgresql (tests/run.sh runs it again with the server on PostgreSQL)
. "$(dirname "$0")/lib.sh"

start_broker
start_server
export API TOKEN
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "working day"
import datetime, json, os, re, time, urllib.request
from api import admin, seed, user, Api, PASSWORD

a = admin()
ids = seed(a)
iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
utc = datetime.timezone.utc
now = datetime.datetime.now(utc).replace(microsecond=0)
chen, li, xu, liu = user("mgr.chen"), user("dr.li"), user("eng.xu"), user("auditor.liu")

# --- the platform says how to read it ---------------------------------------------------------
p = Api(os.environ["API"]).expect(200, "GET", "/api/v1/platform")
assert p["timezone"] == "Asia/Shanghai" and p["currency"]["code"] == "CNY", p
assert p["currency"]["minor_unit"] == "fen" and p["currency"]["per_major"] == 100, p
assert p["grades"]["excellent"] == 90 and p["grade_labels"]["excellent"] == "优秀", p
print("platform: ok")

# --- the manager's queue ------------------------------------------------------------------
a.expect(200, "PATCH", "/api/v1/users/%d" % ids["eng.xu"], {"display_name": "徐工"})
day = (now + datetime.timedelta(days=2)).replace(hour=2, minute=0, second=0)
req = xu.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": iso(day),
                "end": iso(day + datetime.timedelta(hours=1)), "project": "锂电池正极材料"})
assert req["status"] == "pending", req
mine = li.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01",
                 "start": iso(day + datetime.timedelta(hours=2)), "end": iso(day + datetime.timedelta(hours=3))})
q = chen.expect(200, "GET", "/api/v1/bookings?status=pending")["items"]
assert [b["id"] for b in q] == [req["id"]], q
b = q[0]
assert b["requester"]["display_name"] == "徐工" and b["requester"]["org"] == "Jiangzhong", b
assert b["requester"]["org_type"] == "enterprise" and b["category"] == "industry", b
assert b["project"] == "锂电池正极材料" and b["expected_charge"] == 60000 and b["currency"] == "CNY", b
chen.expect(400, "GET", "/api/v1/bookings?status=maybe")
chen.expect(400, "GET", "/api/v1/bookings?colour=red")
for path in ("/api/v1/users?colour=red", "/api/v1/instruments?sort=name", "/api/v1/usage?user=3",
             "/api/v1/readings?gateway=x", "/api/v1/catalog?cat=x", "/api/v1/orgs?x=1"):
    st_, ans = a.call("GET", path)
    assert st_ == 400 and "unknown query parameter" in ans["message"], (path, st_, ans)
assert [x["id"] for x in chen.expect(200, "GET", "/api/v1/bookings?org=%d" % ids["ECUT"])["items"]] == [mine["id"]]
st, raw = chen.call("POST", "/api/v1/bookings/%d/reject" % req["id"], {"reason": "ICP-MS 检修中，请改约"})
assert st == 200 and raw["reason"] == "rejected: ICP-MS 检修中，请改约", raw
# JSON comes as UTF-8, not \u escapes
r = urllib.request.urlopen(urllib.request.Request(os.environ["API"] + "/api/v1/bookings/%d" % req["id"],
    headers={"Authorization": "Bearer " + os.environ["TOKEN"]}))
body = r.read()
assert "检修中".encode() in body and b"\\u" not in body, body[:300]
assert "charset=utf-8" in r.headers["Content-Type"], r.headers["Content-Type"]
print("queue: ok")

# --- month= in the platform time zone, at the edge -----------------------------------------
# 00:30 Beijing on the 1st of next month is 16:30 UTC on the last day of this one
first = (now.replace(day=1) + datetime.timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0)
edge = first - datetime.timedelta(hours=8) + datetime.timedelta(minutes=30)
e = a.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "user_id": ids["dr.li"],
             "start": iso(edge), "end": iso(edge + datetime.timedelta(minutes=30))})
nxt, cur = first.strftime("%Y-%m"), (first - datetime.timedelta(days=1)).strftime("%Y-%m")
assert e["id"] in [x["id"] for x in a.expect(200, "GET", "/api/v1/bookings?month=%s" % nxt)["items"]]
assert e["id"] not in [x["id"] for x in a.expect(200, "GET", "/api/v1/bookings?month=%s" % cur)["items"]]
# a date is the platform's midnight too
assert e["id"] in [x["id"] for x in a.expect(200, "GET", "/api/v1/bookings?from=%s" % first.strftime("%Y-%m-%d"))["items"]]
a.expect(400, "GET", "/api/v1/bookings?month=2026-13")
a.expect(400, "GET", "/api/v1/bookings?month=%s&from=2026-01-01" % nxt)
print("month: ok")

# --- cancel grace --------------------------------------------------------------------------
soon = (now + datetime.timedelta(hours=8)).replace(minute=0, second=0)
g = li.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": iso(soon),
              "end": iso(soon + datetime.timedelta(minutes=30))})
assert li.expect(200, "POST", "/api/v1/bookings/%d/cancel" % g["id"])["status"] == "cancelled"
a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"booking": {"cancel_grace_minutes": 0}})
g = li.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": iso(soon),
              "end": iso(soon + datetime.timedelta(minutes=30))})
assert li.expect(422, "POST", "/api/v1/bookings/%d/cancel" % g["id"])["rule"] == "cancel_notice"
print("cancel grace: ok")

# --- outages: edit and delete --------------------------------------------------------------
o = chen.expect(201, "POST", "/api/v1/instruments/icp-ms-01/outages", {"start": iso(day + datetime.timedelta(hours=5)),
                "end": iso(day + datetime.timedelta(hours=6)), "kind": "maintenance"})
o2 = chen.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01/outages/%d" % o["id"],
                 {"end": iso(day + datetime.timedelta(hours=7)), "note": "换炬管"})
assert o2["end"].startswith(iso(day + datetime.timedelta(hours=7))[:19]) and o2["kind"] == "maintenance", o2
li.expect(403, "PATCH", "/api/v1/instruments/icp-ms-01/outages/%d" % o["id"], {"note": "x"})
chen.expect(400, "PATCH", "/api/v1/instruments/icp-ms-01/outages/%d" % o["id"], {"end": iso(day)})
chen.expect(200, "DELETE", "/api/v1/instruments/icp-ms-01/outages/%d" % o["id"])
chen.expect(404, "DELETE", "/api/v1/instruments/icp-ms-01/outages/%d" % o["id"])
assert not a.expect(200, "GET", "/api/v1/instruments/icp-ms-01/outages")["items"]
acts = [x["action"] for x in a.expect(200, "GET", "/api/v1/audit-log?object=outage/%d" % o["id"])["items"]]
assert acts == ["outage.create", "outage.update", "outage.delete"], acts
print("outages: ok")

# --- tokens and feeds ----------------------------------------------------------------------
t = li.expect(201, "POST", "/api/v1/tokens")["token"]
toks = li.expect(200, "GET", "/api/v1/tokens")["items"]
api_tok = [x for x in toks if x["kind"] == "api"]
assert len(api_tok) == 1 and "token" not in api_tok[0] and "hash" not in api_tok[0], toks
assert Api(os.environ["API"], t).call("GET", "/api/v1/me")[0] == 200
xu.expect(404, "DELETE", "/api/v1/tokens/%d" % api_tok[0]["id"])     # not theirs
li.expect(200, "DELETE", "/api/v1/tokens/%d" % api_tok[0]["id"])
assert Api(os.environ["API"], t).call("GET", "/api/v1/me")[0] == 401
feed = li.expect(201, "POST", "/api/v1/feeds", {"kind": "user"})
assert feed["url"].startswith("http://127.0.0.1:") and feed["url"].endswith(".ics"), feed
ical = urllib.request.urlopen(feed["url"]).read().decode()
assert "LOCATION:ICP-MS" in ical and "STATUS:CANCELLED" in ical, ical
fl = li.expect(200, "GET", "/api/v1/feeds")["items"]
li.expect(200, "DELETE", "/api/v1/feeds/%d" % fl[0]["id"])
try:
    urllib.request.urlopen(feed["url"]); raise AssertionError("a revoked feed still answers")
except urllib.error.HTTPError as err:
    assert err.code == 404
print("tokens and feeds: ok")

# --- small things --------------------------------------------------------------------------
li.expect(404, "GET", "/api/v1/users/%d" % ids["eng.xu"])            # may not see: like unknown
li.expect(404, "GET", "/api/v1/users/999999")
assert Api(os.environ["API"]).login("Dr.Li", PASSWORD)[0] == 200
a.expect(409, "POST", "/api/v1/users", {"username": "DR.LI", "org_id": ids["ECUT"], "role": "researcher", "password": PASSWORD})
assert [i["id"] for i in Api(os.environ["API"]).expect(200, "GET", "/api/v1/catalog?category=MASS%20SPECTROMETRY")["items"]] == ["icp-ms-01"]
csv = a.call("GET", "/api/v1/instruments?format=csv")[1]
head = csv.splitlines()[0].split(",")
assert "billing.rates.industry" in head and "booking.min_minutes" in head and "{" not in csv, csv[:400]
print("small things: ok")

# --- revenue for the owner; reads write no audit records --------------------------------------
a.expect(200, "PATCH", "/api/v1/users/%d" % ids["eng.xu"], {"badge": 2001})
PY
pass "queue, month edge, cancel grace, outages, tokens and feeds, small things"

# Evidence and revenue: eng.xu (Jiangzhong) uses ECUT's ICP-MS by badge, through a gateway.
register_gateway gw-day
bind_instruments gw-day icp-ms-01
t=$(($(date +%s%3N) - 2400000))
r() { printf '{"seq":%s,"instrument":"icp-ms-01","ts":%s,"state":"%s","run_seconds":%s,"badge":%s,"cause":"change"}' "$@"; }
gw_pub gw-day -q 1 -t labshare/v1/gw/gw-day/readings -m "{\"gateway\":\"gw-day\",\"epoch\":5,\"readings\":[$(r 1 $t idle 0 0),$(r 2 $((t + 1000)) running 0 2001),$(r 3 $((t + 1801000)) idle 1800 0),$(r 4 $((t + 1802000)) idle 1800 0)]}"
wait_for 10 have_readings icp-ms-01 4 || fail "readings"
python3 - <<'PY' || fail "revenue and figures"
import datetime, os, re
from api import admin, user, Api
a = admin()
chen, liu, li = user("mgr.chen"), user("auditor.liu"), user("dr.li")
orgs = {o["name"]: o["id"] for o in a.expect(200, "GET", "/api/v1/orgs")["items"]}
# the paying org's view stays theirs; the owner's manager sees the revenue of its instruments
assert chen.expect(200, "GET", "/api/v1/charges")["items"] == [], "ECUT pays nothing"
rev = chen.expect(200, "GET", "/api/v1/charges?owner_org=%d" % orgs["ECUT"])["items"]
assert len(rev) == 1 and rev[0]["org_id"] == orgs["Jiangzhong"] and rev[0]["amount"] == 30000, rev
assert rev[0]["currency"] == "CNY", rev
assert chen.expect(200, "GET", "/api/v1/charges?instrument=icp-ms-01")["items"] == rev
chen.expect(403, "GET", "/api/v1/charges?owner_org=%d" % orgs["NCU"])
chen.expect(403, "GET", "/api/v1/charges?instrument=tem-01")
assert liu.expect(200, "GET", "/api/v1/charges?owner_org=%d" % orgs["ECUT"])["items"] == rev
month = rev[0]["month"]
st = chen.expect(200, "GET", "/api/v1/statements?owner_org=%d&month=%s" % (orgs["ECUT"], month))
assert st["kind"] == "revenue" and st["gross"] == 30000 and st["currency"] == "CNY", st
# reads write no audit records
n0 = a.expect(200, "GET", "/api/v1/audit-log?limit=1")["total"]
for _ in range(3):
    a.expect(200, "GET", "/api/v1/charges")
    a.expect(200, "GET", "/api/v1/statements?org=%d&month=%s" % (orgs["Jiangzhong"], month))
assert a.expect(200, "GET", "/api/v1/audit-log?limit=1")["total"] == n0, "a read wrote the audit log"
assert not a.expect(200, "GET", "/api/v1/audit-log?action=billing")["items"]
assert all(x["actor"] == "metering" for x in a.expect(200, "GET", "/api/v1/audit-log?actor=metering")["items"])
a.expect(400, "GET", "/api/v1/audit-log?who=me")
# readings as CSV
csv = a.call("GET", "/api/v1/readings?instrument=icp-ms-01&format=csv")[1]
assert csv.splitlines()[0].startswith("gateway,epoch,seq") and len(csv.splitlines()) == 5, csv
# figures: month= in the platform zone, rounded, org rows named and linked, idle for groups
m = a.expect(200, "GET", "/api/v1/metrics?month=%s&by=org" % month)["items"]
ecut = [x for x in m if x["org_id"] == orgs["ECUT"]][0]
assert ecut["org"] == "ECUT" and ecut["instruments_detail"].startswith("/api/v1/metrics?by=instrument&org="), ecut
assert isinstance(ecut["idle"], bool) and "idle_instruments" in ecut, ecut
assert ecut["currency"] == "CNY", ecut
drill = a.expect(200, "GET", ecut["instruments_detail"])["items"]
assert {x["instrument"] for x in drill} == {"icp-ms-01"}, drill
st_, txt = a.call("GET", "/api/v1/metrics?month=%s&by=org&format=csv" % month)
assert not re.search(r"\d\.\d{5,}", txt), txt      # 4 decimals at most, never 0.0517000000003
import urllib.request
body = urllib.request.urlopen(urllib.request.Request(os.environ["API"] + "/api/v1/metrics?month=%s&by=platform" % month,
    headers={"Authorization": "Bearer " + os.environ["TOKEN"]})).read().decode()
assert not re.search(r"\d\.\d{5,}", body), body
# pro rata: an instrument that joined now is rated only from now
a.expect(201, "POST", "/api/v1/instruments", {"id": "new-01", "name": "New", "org_id": orgs["ECUT"]})
j = a.expect(200, "GET", "/api/v1/instruments/new-01")["joined"]
jms = datetime.datetime.fromisoformat(j.replace("Z", "+00:00")).timestamp() * 1000
to = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
frm = to - datetime.timedelta(days=10)
mm = [x for x in a.expect(200, "GET", "/api/v1/metrics?from=%s&to=%s" % (frm.strftime("%Y-%m-%dT%H:%M:%SZ"),
      to.strftime("%Y-%m-%dT%H:%M:%SZ")))["items"] if x["instrument"] == "new-01"][0]
want = 1400 * (to.timestamp() * 1000 - jms) / 86400000 / 365
assert abs(mm["rated_hours"] - want) < 0.01, (mm["rated_hours"], want)
# evaluation: the same default as metrics; a year before the platform is not graded
ev = a.expect(200, "GET", "/api/v1/evaluation?year=%d" % datetime.date.today().year)["items"]
assert ev and all("instrument" in x for x in ev), ev
assert a.expect(422, "GET", "/api/v1/evaluation?year=2001")["rule"] == "before_platform"
print("revenue and figures: ok")
PY
pass "owner's revenue, revenue statement, reads unaudited, readings CSV, month figures, rounding, pro rata, evaluation"
stop server
echo "$CHECKS checks passed"
