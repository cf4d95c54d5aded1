#!/usr/bin/env bash
# Qualifications (issue 12): a manager records who may operate an instrument themselves, with the
# date, who qualified them and an optional expiry; users see their own, managers and auditors
# everyone's; an instrument that requires it refuses an unqualified user's booking with a 422
# naming the rule, while its managers may still book for them (assisted use); all audited.
# postgresql (tests/run.sh runs it again with the server on PostgreSQL)
. "$(dirname "$0")/lib.sh"

start_broker
start_server
export API TOKEN
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "qualifications"
import datetime, os
from api import admin, seed, user

a = admin()
ids = seed(a)
chen, wang, li, zhang, xu, liu = (user(n) for n in ("mgr.chen", "mgr.wang", "dr.li", "dr.zhang", "eng.xu", "auditor.liu"))
utc = datetime.timezone.utc
hour = lambda h: (datetime.datetime.now(utc).replace(minute=0, second=0, microsecond=0)
                  + datetime.timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")
Q = "/api/v1/instruments/icp-ms-01/qualifications"

# --- the rule ---------------------------------------------------------------------------------
out = chen.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"booking": {"requires_qualification": True}})
assert out["booking"]["requires_qualification"] is True and out["booking"]["max_future_bookings"] == 1000, out
chen.expect(400, "PATCH", "/api/v1/instruments/icp-ms-01", {"booking": {"requires_qualification": "yes"}})
s, body = li.call("POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": hour(2), "end": hour(3)})
assert s == 422 and body["rule"] == "qualification" and "qualified" in body["message"], (s, body)
print("unqualified refused: ok")

# assisted use: the manager books for them
b = chen.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": hour(2), "end": hour(3),
                                                  "user_id": ids["dr.li"], "project": "assisted"})
assert b["user_id"] == ids["dr.li"] and b["status"] == "confirmed", b
print("assisted use: ok")

# --- who records them ---------------------------------------------------------------------
for who in (li, wang, liu):
    who.expect(403, "POST", Q, {"user_id": ids["dr.li"]})
chen.expect(400, "POST", Q, {"user_id": 99999})
chen.expect(400, "POST", Q, {"user_id": ids["dr.li"], "expires": "soon"})
chen.expect(400, "POST", Q, {"user_id": ids["dr.li"], "since": hour(5), "expires": hour(4)})
chen.expect(400, "POST", Q, {"user_id": ids["dr.li"], "level": 3})
chen.expect(404, "POST", "/api/v1/instruments/nope/qualifications", {"user_id": ids["dr.li"]})
q = chen.expect(201, "POST", Q, {"user_id": ids["dr.li"]})
assert q["user_id"] == ids["dr.li"] and q["by"] == ids["mgr.chen"] and q["expires"] is None and q["since"].endswith("Z"), q
# qualified until an expiry: a booking beyond it is refused
q2 = chen.expect(201, "POST", Q, {"user_id": ids["dr.zhang"], "expires": hour(10)})
assert q2["expires"] == hour(10).replace("Z", ".000Z"), q2
print("recorded: ok")

li.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": hour(4), "end": hour(5)})
zhang.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": hour(6), "end": hour(7)})
s, body = zhang.call("POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": hour(9), "end": hour(11)})
assert s == 422 and body["rule"] == "qualification", (s, body)
s, body = xu.call("POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": hour(12), "end": hour(13)})
assert s == 422 and body["rule"] == "qualification", (s, body)
print("qualified book, expiry counts: ok")

# --- who sees them ----------------------------------------------------------------------------
assert [x["user_id"] for x in chen.expect(200, "GET", Q)["items"]] == sorted([ids["dr.li"], ids["dr.zhang"]])
assert [x["user_id"] for x in liu.expect(200, "GET", Q)["items"]] == sorted([ids["dr.li"], ids["dr.zhang"]])
assert [x["user_id"] for x in li.expect(200, "GET", Q)["items"]] == [ids["dr.li"]]
assert xu.expect(200, "GET", Q)["items"] == []
csv = liu.call("GET", Q + "?format=csv")
assert csv[0] == 200 and "user_id" in csv[1].split("\n")[0], csv
print("visible to the right people: ok")

# --- withdrawn ------------------------------------------------------------------------------
li.expect(403, "DELETE", Q + "/%d" % ids["dr.li"])
chen.expect(200, "DELETE", Q + "/%d" % ids["dr.li"])
chen.expect(404, "DELETE", Q + "/%d" % ids["dr.li"])
s, body = li.call("POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": hour(14), "end": hour(15)})
assert s == 422 and body["rule"] == "qualification", (s, body)
# an instrument without the rule takes anyone
chen.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"booking": {"requires_qualification": False}})
li.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": hour(14), "end": hour(15)})
print("withdrawn: ok")

# --- audited ------------------------------------------------------------------------------------
log = a.expect(200, "GET", "/api/v1/audit-log?object=qualification/icp-ms-01/%d" % ids["dr.li"])["items"]
assert [r["action"] for r in log] == ["qualification.grant", "qualification.revoke"], log
assert log[0]["actor"] == "mgr.chen" and log[1]["before"]["user_id"] == ids["dr.li"], log
PY
pass "qualifications: recorded, expiring, seen by the right people, required for self-operation, audited"
echo "$CHECKS checks passed"
