#!/usr/bin/env bash
# Usage and charges that stay true (SPEC 5, 6, 7), through the real server and broker, readings
# published with a registered gateway's own account as a gateway would:
#   * a session never mixes users: split where the badge changes, even within the merge gap;
#   * the badge -> user mapping is the one when the readings arrived: moving a badge later
#     rewrites neither usage nor its charge (and a full recomputation agrees);
#   * a charge keeps the rates in force when the use happened: a rate change re-prices nothing
#     made before it and prices the use after it;
#   * PATCH merges booking, billing, billing.rates and service_hours; null removes a key; the
#     result is validated whole, and the audit record shows before and after;
#   * a manager books for users of another organisation only with that side's consent.
# postgresql (tests/run.sh runs it again with the server on PostgreSQL)
. "$(dirname "$0")/lib.sh"

start_broker
start_server
register_gateway gw-ev
export API TOKEN MQTT_PORT GW_USER=$(gw_user gw-ev) GW_PASS=$(gw_pass gw-ev)
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "evidence"
import datetime, json, os, subprocess, time
from api import admin, seed, user, PASSWORD

a = admin()
ids = seed(a)
now = lambda: int(time.time() * 1000)
iso = lambda ms: datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
    "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
seq = [0]
EPOCH = 4242

def publish(*readings):
    """One batch of the gateway gw-ev: readings as (ts, state, run_seconds, badge)."""
    rs = []
    for ts, state, run, badge in readings:
        seq[0] += 1
        r = {"seq": seq[0], "instrument": "icp-ms-01", "ts": ts, "state": state, "cause": "change",
             "run_seconds": run}
        if badge is not None:
            r["badge"] = badge
        rs.append(r)
    subprocess.run(["mosquitto_pub", "-p", os.environ["MQTT_PORT"], "-u", os.environ["GW_USER"],
                    "-P", os.environ["GW_PASS"], "-q", "1", "-t", "labshare/v1/gw/gw-ev/readings",
                    "-m", json.dumps({"gateway": "gw-ev", "epoch": EPOCH, "readings": rs})], check=True)
    want = seq[0]
    for _ in range(100):
        if a.expect(200, "GET", "/api/v1/readings?instrument=icp-ms-01&limit=1")["total"] >= want:
            return
        time.sleep(0.1)
    raise AssertionError("readings not stored")

# --- PATCH merges --------------------------------------------------------------------------
a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"gateway": "gw-ev"})
before = a.expect(200, "GET", "/api/v1/instruments/icp-ms-01")
out = a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"billing": {"rates": {"academic": 45000}}})
assert out["billing"]["rates"] == {"internal": 20000, "academic": 45000, "industry": 60000}, out["billing"]
assert {k: v for k, v in out["billing"].items() if k != "rates"} == \
    {k: v for k, v in before["billing"].items() if k != "rates"}, out["billing"]
out = a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"billing": {"per_sample": 300, "increment_min": 1}})
assert out["billing"]["rates"]["academic"] == 45000 and out["billing"]["per_sample"] == 300, out["billing"]
out = a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"billing": {"per_sample": None}})
assert out["billing"]["per_sample"] == 0 and out["billing"]["increment_min"] == 1, out["billing"]
out = a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"booking": {"max_minutes": 600}})
for k, v in before["booking"].items():
    assert k == "max_minutes" or out["booking"][k] == v, (k, out["booking"], before["booking"])
assert out["booking"]["max_minutes"] == 600 and out["booking"]["min_notice_minutes"] == 0, out["booking"]
out = a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"service_hours": {"sun": None, "sat": [["09:00", "12:00"]]}})
assert "sun" not in out["service_hours"] or out["service_hours"]["sun"] == [], out["service_hours"]
assert out["service_hours"]["sat"] == [["09:00", "12:00"]] and out["service_hours"]["mon"] == [["00:00", "24:00"]], out["service_hours"]
bad = a.expect(400, "PATCH", "/api/v1/instruments/icp-ms-01", {"billing": {"rates": {"academic": -1}}})
assert a.expect(200, "GET", "/api/v1/instruments/icp-ms-01")["billing"] == out["billing"], "a refused PATCH changed something"
log = a.expect(200, "GET", "/api/v1/audit-log?limit=1000")["items"]
rec = [r for r in log if r["action"] == "instrument.update" and r["object"] == "instrument/icp-ms-01"]
assert len(rec) == 6, rec
first = rec[1]   # the rates patch
b4, af = (json.loads(x) if isinstance(x, str) else x for x in (first["before"], first["after"]))
assert b4["billing"]["rates"]["academic"] == 40000 and af["billing"]["rates"]["academic"] == 45000, first
print("PATCH merge: ok")

# an instrument closed every day stays closed (it was saved as {} and read back as the default
# Monday-to-Friday hours, taking bookings; found by fuzz_requests)
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
out = a.expect(201, "POST", "/api/v1/instruments", {"id": "closed-01", "name": "Closed", "org_id": ids["NCU"],
                                                  "service_hours": {d: [] for d in days},
                                                  "booking": {"min_notice_minutes": 0}})
assert out["service_hours"] == {d: [] for d in days}, out["service_hours"]
monday = datetime.date.today() + datetime.timedelta(days=7 - datetime.date.today().weekday())
start = "%sT10:00:00+08:00" % monday.isoformat()
bad = user("dr.zhang").expect(422, "POST", "/api/v1/bookings", {"instrument": "closed-01", "start": start,
                                                                "end": start.replace("T10:", "T11:")})
assert bad["rule"] == "service_hours", bad
print("closed all week: ok")

# --- a session never mixes users; the badge's user is the one at arrival ----------------------
a.expect(200, "PATCH", "/api/v1/users/%d" % ids["dr.li"], {"badge": 1042})
a.expect(200, "PATCH", "/api/v1/users/%d" % ids["dr.zhang"], {"badge": 2002})
t = now() - 600 * 1000
# one run: dr.li's badge for 60 s, dr.zhang's for the next 60 s, nobody's pause between
publish((t, "idle", 0, 0), (t + 10000, "running", 0, 1042), (t + 70000, "running", 60, 2002),
        (t + 130000, "idle", 120, 0))
# a log-out and another's log-in within the merge gap (120 s): two sessions
publish((t + 150000, "running", 120, 1042), (t + 180000, "idle", 150, 0),
        (t + 200000, "running", 150, 2002), (t + 230000, "idle", 180, 0))
u = a.expect(200, "GET", "/api/v1/usage?instrument=icp-ms-01")["items"]
got = [(x["attribution"], x["user_id"], x["run_seconds"]) for x in u]
assert got == [("badge", ids["dr.li"], 60), ("badge", ids["dr.zhang"], 60),
               ("badge", ids["dr.li"], 30), ("badge", ids["dr.zhang"], 30)], got
print("badge split: ok", got)
charges = a.expect(200, "GET", "/api/v1/charges?limit=1000")["items"]
usage_lines = sorted((c["source"], c["user_id"], c["amount"]) for c in charges if c["source"].startswith("usage/"))
assert len(usage_lines) == 4 and {c[1] for c in usage_lines} == {ids["dr.li"], ids["dr.zhang"]}, usage_lines
# the badge 1042 goes to someone else: history stays
a.expect(200, "PATCH", "/api/v1/users/%d" % ids["dr.li"], {"badge": None})
a.expect(200, "PATCH", "/api/v1/users/%d" % ids["mgr.chen"], {"badge": 1042})
publish((t + 240000, "idle", 180, 0))   # new evidence: usage and charges are brought up to date
u2 = a.expect(200, "GET", "/api/v1/usage?instrument=icp-ms-01")["items"]
assert [(x["attribution"], x["user_id"]) for x in u2] == [(g[0], g[1]) for g in got], u2
charges2 = a.expect(200, "GET", "/api/v1/charges?limit=1000")["items"]
assert sorted((c["source"], c["user_id"], c["amount"]) for c in charges2 if c["source"].startswith("usage/")) == usage_lines
print("frozen badge mapping: ok")

# --- rates in force -------------------------------------------------------------------------
a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"billing": {"basis": "booked", "increment_min": 1}})
t1 = now()
b1 = a.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "user_id": ids["dr.li"],
              "start": iso(t1 - 3 * 3600000), "end": iso(t1 - 2 * 3600000)})
publish((t1, "idle", 180, 0))
b1 = a.expect(200, "GET", "/api/v1/bookings/%d" % b1["id"])
assert b1["status"] == "no_show", b1
line1 = [c for c in a.expect(200, "GET", "/api/v1/charges?limit=1000")["items"] if c["source"] == "booking/%d" % b1["id"]]
assert len(line1) == 1 and line1[0]["amount"] == 10000 and line1[0]["rate"] == 20000, line1  # half of 200 yuan
a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"billing": {"rates": {"internal": 30000}}})
t2 = now()
b2 = a.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "user_id": ids["dr.li"],
              "start": iso(t2 + 500), "end": iso(t2 + 1500)})
while now() < t2 + 2000:
    time.sleep(0.1)
publish((now(), "idle", 180, 0))
lines = a.expect(200, "GET", "/api/v1/charges?limit=1000")["items"]
l1 = [c for c in lines if c["source"] == "booking/%d" % b1["id"]]
l2 = [c for c in lines if c["source"] == "booking/%d" % b2["id"]]
assert l1 == line1, ("the ended booking was re-priced", l1, line1)
assert len(l2) == 1 and l2[0]["rate"] == 30000 and l2[0]["amount"] == 250, l2  # 1 min x 300 yuan/h x 0.5
print("rates in force: ok")

# --- bookings for users of another organisation ---------------------------------------------
chen = user("mgr.chen")     # manager of ECUT, which owns icp-ms-01
zhang = user("dr.zhang")    # NCU
wang = user("mgr.wang")     # NCU's manager
li = user("dr.li")          # ECUT
t3 = now() + 86400000
own = chen.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "user_id": ids["dr.li"],
                  "start": iso(t3), "end": iso(t3 + 3600000)})
assert own["status"] == "confirmed", own
other = chen.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "user_id": ids["dr.zhang"],
                    "start": iso(t3 + 3600000), "end": iso(t3 + 7200000)})
assert other["status"] == "pending" and "consent" in (other["reason"] or ""), other
chen.expect(403, "POST", "/api/v1/bookings/%d/approve" % other["id"])
li.expect(404, "POST", "/api/v1/bookings/%d/approve" % other["id"])
ok = zhang.expect(200, "POST", "/api/v1/bookings/%d/approve" % other["id"])
assert ok["status"] == "confirmed", ok
# after the fact, in the past: pending, not billed, until NCU answers; its manager refuses
t4 = now() - 5 * 3600000
late = chen.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "user_id": ids["dr.zhang"],
                   "start": iso(t4), "end": iso(t4 + 3600000)})
assert late["status"] == "pending", late
publish((now(), "idle", 180, 0))
assert not [c for c in a.expect(200, "GET", "/api/v1/charges?limit=1000")["items"]
            if c["source"] == "booking/%d" % late["id"]], "billed without consent"
rej = wang.expect(200, "POST", "/api/v1/bookings/%d/reject" % late["id"])
assert rej["status"] == "cancelled", rej
publish((now(), "idle", 180, 0))
assert not [c for c in a.expect(200, "GET", "/api/v1/charges?limit=1000")["items"]
            if c["source"] == "booking/%d" % late["id"]], "billed after a refusal"
print("consent of the other organisation: ok")
PY
pass "badge split, frozen badge mapping, rates in force, PATCH merge, cross-organisation consent"
out=$("$BIN/labshare-server" -c "$T/server.ini" usage-check) || fail "usage-check: $out"
pass "usage-check agrees with a full recomputation after badges moved ($out)"
stop server
echo "$CHECKS checks passed"
