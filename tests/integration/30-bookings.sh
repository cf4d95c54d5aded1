#!/usr/bin/env bash
# Bookings over HTTP against the real server: touching bookings are fine and one second of
# overlap is a 409 naming the other booking; rules answer 422; external users wait for
# approval; the status machine and its permissions; outages cancel what they cover and block
# booking; availability; iCalendar feeds parsed by a real iCalendar library; and hundreds of
# concurrent overlapping requests of which exactly one wins.
# serial (tests/run.sh runs it alone): its 32 concurrent clients load both cores
# postgresql (tests/run.sh runs it again with the server on PostgreSQL)
. "$(dirname "$0")/lib.sh"

start_broker
start_server
export API TOKEN
export T
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "booking flow"
import concurrent.futures, datetime, json, os, sys
from api import admin, seed, user, Api

a = admin()
ids = seed(a)
li, xu, chen, wang, aud = user("dr.li"), user("eng.xu"), user("mgr.chen"), user("mgr.wang"), user("auditor.liu")
day = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)).replace(
    hour=2, minute=0, second=0, microsecond=0)
def t(h, m=0, s=0):
    return (day + datetime.timedelta(hours=h, minutes=m, seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")
def book(who, start, end, status, **kw):
    body = {"instrument": kw.pop("instrument", "icp-ms-01"), "start": start, "end": end}
    body.update(kw)
    got, answer = who.call("POST", "/api/v1/bookings", body)
    assert got == status, (start, end, got, answer)
    return answer

b1 = book(li, t(0), t(1), 201, project="calibration")
assert b1["status"] == "confirmed", b1                 # internal user: confirmed at once
b2 = book(li, t(1), t(2), 201)                         # touches b1's end: fine
c = book(chen, t(1, 59, 59), t(3), 409)                # one second of overlap (a manager: no rules)
assert c["conflict"] == b2["id"], c
c = book(li, t(0, 30), t(0, 45), 409)
assert c["conflict"] == b1["id"], c
c = book(chen, t(0, 59, 59), t(1, 0, 1), 409)         # straddles the touching point
assert c["conflict"] in (b1["id"], b2["id"]), c
b0 = book(chen, t(-1), t(0), 201)                     # touches b1's start: fine
assert chen.expect(200, "POST", "/api/v1/bookings/%d/cancel" % b0["id"])["status"] == "cancelled"
r = book(li, t(3), t(3, 5), 422)
assert (r["rule"], r["limit"]) == ("min_duration", 15), r      # the figure, for a client's own words
r = book(li, t(3, 5), t(3, 35), 422)
assert (r["rule"], r["limit"]) == ("slot", 15), r
r = book(li, t(3), t(12), 422)
assert (r["rule"], r["limit"]) == ("max_duration", 480), r
print("overlap and rules: ok")

ext = book(xu, t(4), t(5), 201)                        # an enterprise user: external
assert ext["status"] == "pending", ext
xu.expect(403, "POST", "/api/v1/bookings/%d/approve" % ext["id"])
wang.expect(404, "POST", "/api/v1/bookings/%d/approve" % ext["id"])   # not NCU's: not even visible
aud.expect(403, "POST", "/api/v1/bookings/%d/approve" % ext["id"])
ok = chen.expect(200, "POST", "/api/v1/bookings/%d/approve" % ext["id"])
assert ok["status"] == "confirmed", ok
r = chen.expect(422, "POST", "/api/v1/bookings/%d/approve" % ext["id"])
assert r["rule"] == "status" and "limit" not in r, r
xu.expect(404, "GET", "/api/v1/bookings/%d" % b1["id"])             # not theirs
assert li.expect(200, "GET", "/api/v1/bookings/%d" % b1["id"])["id"] == b1["id"]
mine = xu.expect(200, "GET", "/api/v1/bookings")
assert [b["id"] for b in mine["items"]] == [ext["id"]], mine
rej = book(xu, t(6), t(7), 201)
assert chen.expect(200, "POST", "/api/v1/bookings/%d/reject" % rej["id"])["reason"] == "rejected"
print("approval: ok")

# cancellation: the user may cancel only until 24 h before (past the 15-minute grace after
# booking, switched off here); the manager any time
a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"booking": {"cancel_grace_minutes": 0}})
late = book(li, (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
            (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"), 201)
r = li.expect(422, "POST", "/api/v1/bookings/%d/cancel" % late["id"])
assert (r["rule"], r["limit"]) == ("cancel_notice", 1440), r
assert chen.expect(200, "POST", "/api/v1/bookings/%d/cancel" % late["id"])["status"] == "cancelled"
assert li.expect(200, "POST", "/api/v1/bookings/%d/cancel" % b2["id"])["status"] == "cancelled"
book(li, t(1), t(2), 201)                              # the cancelled slot is free again
r = li.expect(422, "POST", "/api/v1/bookings/%d/rating" % b1["id"], {"score": 5})
assert r["rule"] == "status", r                        # not completed yet
print("cancel: ok")

# a manager records a walk-in in the past for a user; researchers cannot book for others
past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)).replace(minute=7, second=0, microsecond=0)
walk = chen.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "user_id": ids["dr.zhang"],
    "start": past.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": (past + datetime.timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ")})
# dr.zhang is of another organisation (NCU): the walk-in waits for NCU's side to agree
assert walk["user_id"] == ids["dr.zhang"] and walk["status"] == "pending", walk
chen.expect(403, "POST", "/api/v1/bookings/%d/approve" % walk["id"])
walk = user("dr.zhang").expect(200, "POST", "/api/v1/bookings/%d/approve" % walk["id"])
assert walk["status"] == "confirmed", walk
own = chen.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "user_id": ids["dr.li"],
    "start": (past + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "end": (past + datetime.timedelta(hours=2, minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ")})
assert own["status"] == "confirmed", own   # for a user of the manager's own organisation
li.expect(403, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "user_id": ids["dr.zhang"], "start": t(8), "end": t(9)})
aud.expect(403, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": t(8), "end": t(9)})
li.expect(404, "POST", "/api/v1/bookings", {"instrument": "tem-01", "start": t(8), "end": t(9)})  # not public
print("walk-in and permissions: ok")

# an outage cancels the bookings it covers, blocks new ones, and shows in availability
out = chen.expect(201, "POST", "/api/v1/instruments/icp-ms-01/outages", {"start": t(4, 30), "end": t(6), "kind": "breakdown", "note": "plasma torch"})
assert out["cancelled_bookings"] == [ext["id"]], out
assert xu.expect(200, "GET", "/api/v1/bookings/%d" % ext["id"])["reason"] == "outage"
r = book(li, t(5), t(5, 30), 422)
assert r["rule"] == "outage", r
av = li.expect(200, "GET", "/api/v1/instruments/icp-ms-01/availability?from=%s&to=%s" % (t(0), t(8)))
free = [(i["start"][11:16], i["end"][11:16]) for i in av["items"]]
hh = lambda h, m=0: (day + datetime.timedelta(hours=h, minutes=m)).strftime("%H:%M")
assert free == [(hh(2), hh(4, 30)), (hh(6), hh(8))], free
print("outage and availability: ok", free)

# iCalendar: a feed per user, read by a real iCalendar parser
feed = li.expect(201, "POST", "/api/v1/feeds", {"kind": "user"})
assert feed["url"].startswith(os.environ["API"] + "/ical/"), feed   # absolute
st, text = Api("").get(feed["url"])
assert st == 200 and text.startswith("BEGIN:VCALENDAR"), (st, text[:100])
open(os.environ["T"] + "/feed.ics", "w").write(text)
st, _ = Api(os.environ["API"]).get("/ical/lst_" + "0" * 64 + ".ics")
assert st == 404
print("ical: ok")

# hundreds of concurrent requests for overlapping slots: exactly one wins
def attempt(i):
    who = [li, xu, chen][i % 3]
    return who.call("POST", "/api/v1/bookings", {"instrument": "icp-ms-01",
        "start": t(12, (i % 4) * 15), "end": t(13, (i % 4) * 15)})[0]
with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
    codes = list(pool.map(attempt, range(300)))
won = codes.count(201)
assert won == 1 and codes.count(409) + codes.count(422) == 299, {c: codes.count(c) for c in set(codes)}
rows = [b for b in a.expect(200, "GET", "/api/v1/bookings?instrument=icp-ms-01&limit=1000")["items"]
        if b["status"] in ("pending", "confirmed") and t(12)[:19] <= b["start"][:19] < t(14)[:19]]
assert len(rows) == 1, rows
print("concurrency: 300 requests, 1 booking, the rest 409")

# the open catalog: no login, public instruments only, searchable, with free time and rates
anon = Api(os.environ["API"])
cat = anon.expect(200, "GET", "/api/v1/catalog")
assert [c["id"] for c in cat["items"]] == ["icp-ms-01"], cat        # tem-01 is not public
c = cat["items"][0]
assert c["owner"] == "ECUT" and c["industry_rate"] == 60000 and c["academic_rate"] == 40000, c
assert c["free_hours_14d"] > 0 and c["free_slots"], c
assert anon.expect(200, "GET", "/api/v1/catalog?q=ecut")["total"] == 1
assert anon.expect(200, "GET", "/api/v1/catalog?q=nothing-like-it")["total"] == 0
assert anon.expect(200, "GET", "/api/v1/catalog?category=mass%20spectrometry")["total"] == 1
st, csv = anon.get("/api/v1/catalog?format=csv")
assert st == 200 and csv.splitlines()[0].startswith("id,name,owner") and "icp-ms-01" in csv, csv
print("catalog: ok")
PY
pass "booking rules, overlap, approval, cancellation, outages, availability, concurrency"

/usr/bin/python3 - "$T/feed.ics" <<'PY' || fail "iCalendar feed does not parse"
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1]).read())
events = [c for c in cal.walk("VEVENT")]
assert cal["VERSION"] == "2.0" and len(events) >= 2, (cal, events)
for e in events:
    assert e["DTSTART"].dt < e["DTEND"].dt and str(e["UID"]).endswith("@labshare")
print(len(events), "events parsed by python3-icalendar")
PY
pass "the iCalendar feed parses as RFC 5545"

stop server
echo "$CHECKS checks passed"
