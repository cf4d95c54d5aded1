#!/usr/bin/env bash
# Every endpoint with every role: anonymous, admin, auditor, the owner's manager, another
# organisation's manager, an internal researcher and an external one. The expected status of
# each cell is written out below; a write that is refused leaves the audit log unchanged.
# postgresql (tests/run.sh runs it again with the server on PostgreSQL)
. "$(dirname "$0")/lib.sh"

start_broker
start_server
export API TOKEN
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "permission table"
import datetime, itertools
from api import admin, seed, user, Api
import os

a = admin()
ids = seed(a)
who = {"anon": Api(os.environ["API"]), "admin": a, "auditor": user("auditor.liu"),
       "owner_mgr": user("mgr.chen"), "other_mgr": user("mgr.wang"),
       "researcher": user("dr.li"), "external": user("eng.xu")}
roles = list(who)
n = itertools.count()
day = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
def slot():
    s = day + datetime.timedelta(hours=next(n))
    return {"instrument": "icp-ms-01", "start": s.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (s + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")}
li_booking = who["researcher"].expect(201, "POST", "/api/v1/bookings", slot())["id"]
def pending():
    return who["external"].expect(201, "POST", "/api/v1/bookings", slot())["id"]
uniq = itertools.count()
def outage():
    k = next(uniq)
    o = a.expect(201, "POST", "/api/v1/instruments/icp-ms-01/outages", {"kind": "maintenance",
        "start": "2031-%02d-%02dT00:00:00Z" % (k % 12 + 1, k % 28 + 1), "end": "2031-%02d-%02dT00:30:00Z" % (k % 12 + 1, k % 28 + 1)})
    return "/api/v1/instruments/icp-ms-01/outages/%d" % o["id"]
def gateway():
    g = "gw-own-%d" % next(uniq)
    a.expect(201, "POST", "/api/v1/gateways", {"id": g, "org_id": ids["ECUT"]})
    return g
def order(step=None, results=False):
    """A new order of the external user's on icp-ms-01, taken by the admin to step."""
    o = who["external"].expect(201, "POST", "/api/v1/orders", {"instrument": "icp-ms-01", "samples": 2, "analysis": "Zn"})["id"]
    for st in {"accepted": ["accept"], "received": ["accept", "receive"]}.get(step, []):
        a.expect(200, "POST", "/api/v1/orders/%d/%s" % (o, st))
    if results:
        assert a.call("PUT", "/api/v1/orders/%d/results?name=r.txt" % o, raw=b"report",
                      headers={"Content-Type": "text/plain"})[0] == 200
    return o
done_order = order("received", results=True)
a.expect(200, "POST", "/api/v1/orders/%d/complete" % done_order)
staff = {"anon": 401, "admin": 200, "owner_mgr": 200, "other_mgr": 404, "researcher": 404}
hook = {"url": "https://hooks.example.test/labshare", "secret": "0123456789abcdef"}

# (method, path or function giving (path, body), {role: status}); absent roles: the default.
A, R = "anon", None
table = [
    ("GET", "/api/v1/me", {"anon": 401}, 200),
    ("GET", "/api/v1/orgs", {"anon": 401}, 200),
    ("POST", lambda: ("/api/v1/orgs", {"name": "Org %d" % next(uniq), "type": "institute"}),
     {"anon": 401, "admin": 201}, 403),
    ("PATCH", lambda: ("/api/v1/orgs/%d" % ids["NCU"], {"name": "NCU %d" % next(uniq)}),
     {"anon": 401, "admin": 200}, 403),
    ("GET", "/api/v1/users", {"anon": 401}, 200),
    ("GET", "/api/v1/users/%d" % ids["dr.li"],
     {"anon": 401, "admin": 200, "auditor": 200, "owner_mgr": 200, "researcher": 200}, 404),
    ("POST", lambda: ("/api/v1/users", {"username": "u%d" % next(uniq), "org_id": ids["ECUT"],
                                         "role": "researcher", "password": "x" * 12}),
     {"anon": 401, "admin": 201, "owner_mgr": 201}, 403),
    ("PATCH", lambda: ("/api/v1/users/%d" % ids["dr.li"], {"display_name": "Dr Li %d" % next(uniq)}),
     {"anon": 401, "admin": 200, "owner_mgr": 200, "researcher": 200}, 403),
    ("GET", "/api/v1/instruments", {"anon": 401}, 200),
    ("GET", "/api/v1/instruments/tem-01", {"anon": 401, "researcher": 404, "external": 404}, 200),
    ("POST", lambda: ("/api/v1/instruments", {"id": "x-%d" % next(uniq), "name": "X", "org_id": ids["ECUT"]}),
     {"anon": 401, "admin": 201, "owner_mgr": 201}, 403),
    ("PATCH", lambda: ("/api/v1/instruments/icp-ms-01", {"location": "room %d" % next(uniq)}),
     {"anon": 401, "admin": 200, "owner_mgr": 200}, 403),
    ("GET", "/api/v1/instruments/icp-ms-01/availability", {"anon": 401}, 200),
    ("GET", "/api/v1/instruments/icp-ms-01/outages", {"anon": 401}, 200),
    ("POST", lambda: ("/api/v1/instruments/icp-ms-01/outages", {"kind": "maintenance",
        "start": "2030-01-%02dT00:00:00Z" % (next(uniq) % 28 + 1), "end": "2030-01-%02dT01:00:00Z" % (next(uniq) % 28 + 1)}),
     {"anon": 401, "admin": 201, "owner_mgr": 201}, 403),
    ("GET", "/api/v1/bookings", {"anon": 401}, 200),
    ("POST", lambda: ("/api/v1/bookings", slot()), {"anon": 401, "auditor": 403}, 201),
    ("GET", "/api/v1/bookings/%d" % li_booking, {"anon": 401, "other_mgr": 404, "external": 404}, 200),
    ("POST", lambda: ("/api/v1/bookings/%d/approve" % pending(), None),
     {"anon": 401, "admin": 200, "owner_mgr": 200, "other_mgr": 404, "researcher": 404}, 403),
    ("POST", lambda: ("/api/v1/bookings/%d/reject" % pending(), None),
     {"anon": 401, "admin": 200, "owner_mgr": 200, "other_mgr": 404, "researcher": 404}, 403),
    ("POST", lambda: ("/api/v1/bookings/%d/cancel" % pending(), None),
     {"anon": 401, "admin": 200, "owner_mgr": 200, "other_mgr": 404, "researcher": 404,
      "external": 200, "auditor": 403}, 403),
    ("GET", "/api/v1/readings?instrument=icp-ms-01",
     {"anon": 401, "admin": 200, "auditor": 200, "owner_mgr": 200}, 403),
    ("GET", "/api/v1/gateways", {"anon": 401, "researcher": 403, "external": 403}, 200),
    ("GET", "/api/v1/usage", {"anon": 401}, 200),
    ("GET", "/api/v1/metrics?from=2026-01-01&to=2027-01-01",
     {"anon": 401, "researcher": 403, "external": 403}, 200),
    ("GET", "/api/v1/evaluation?year=2026", {"anon": 401, "researcher": 403, "external": 403}, 200),
    ("GET", "/api/v1/collaboration", {"anon": 401, "admin": 200, "auditor": 200}, 403),
    ("GET", "/api/v1/purchase-review?category=icp&value_yuan=1000000&expected_hours=100",
     {"anon": 401, "admin": 200, "auditor": 200}, 403),
    ("GET", "/api/v1/audit-log", {"anon": 401, "admin": 200, "auditor": 200}, 403),
    ("GET", "/api/v1/audit-log/verify", {"anon": 401, "admin": 200, "auditor": 200}, 403),
    ("POST", lambda: ("/api/v1/feeds", {"kind": "user"}), {"anon": 401}, 201),
    ("POST", lambda: ("/api/v1/tokens", {}), {"anon": 401}, 201),
    ("GET", "/healthz", {}, 200),
    ("GET", "/api/v1/catalog", {}, 200),
    ("GET", "/api/v1/catalog/capacity", {}, 200),
    ("GET", "/api/v1/charges", {"anon": 401}, 200),
    ("GET", "/api/v1/statements?org=%d&month=2026-11" % ids["ECUT"],
     {"anon": 401, "admin": 200, "auditor": 200, "owner_mgr": 200}, 403),
    ("GET", "/api/v1/vouchers", {"anon": 401, "researcher": 403, "external": 403}, 200),
    ("POST", lambda: ("/api/v1/vouchers", {"org_id": ids["Jiangzhong"], "percent": 50,
                      "annual_cap": 1000, "valid_from": "2026-01-01", "valid_to": "2026-12-31"}),
     {"anon": 401, "admin": 201}, 403),
    ("GET", "/metrics/prometheus", {}, 200),
    ("GET", "/api/v1/platform", {}, 200),
    ("GET", "/api/v1/tokens", {"anon": 401}, 200),
    ("GET", "/api/v1/feeds", {"anon": 401}, 200),
    ("DELETE", "/api/v1/tokens/999999", {"anon": 401}, 404),
    ("DELETE", "/api/v1/feeds/999999", {"anon": 401}, 404),
    ("GET", "/api/v1/charges?owner_org=%d" % ids["ECUT"],
     {"anon": 401, "admin": 200, "auditor": 200, "owner_mgr": 200}, 403),
    ("GET", "/api/v1/charges?instrument=icp-ms-01",
     {"anon": 401, "admin": 200, "auditor": 200, "owner_mgr": 200}, 403),
    ("GET", "/api/v1/statements?owner_org=%d&month=2026-11" % ids["ECUT"],
     {"anon": 401, "admin": 200, "auditor": 200, "owner_mgr": 200}, 403),
    ("PATCH", lambda: (outage(), {"note": "n%d" % next(uniq)}),
     {"anon": 401, "admin": 200, "owner_mgr": 200}, 403),
    ("DELETE", lambda: (outage(), None), {"anon": 401, "admin": 200, "owner_mgr": 200}, 403),
    ("POST", lambda: ("/api/v1/gateways", {"id": "gw-perm-%d" % next(uniq)}),
     {"anon": 401, "admin": 201, "owner_mgr": 201, "other_mgr": 201}, 403),
    ("GET", lambda: ("/api/v1/gateways/%s" % gateway(), None),
     {"anon": 401, "admin": 200, "auditor": 200, "owner_mgr": 200}, 404),
    ("POST", lambda: ("/api/v1/gateways/%s/rotate" % gateway(), None),
     {"anon": 401, "admin": 200, "owner_mgr": 200, "auditor": 403}, 404),
    ("DELETE", lambda: ("/api/v1/gateways/%s" % gateway(), None),
     {"anon": 401, "admin": 200, "owner_mgr": 200, "auditor": 403}, 404),
    # sample-testing orders: the orderer reads and cancels theirs; the owner's staff take the steps
    ("GET", "/api/v1/orders", {"anon": 401}, 200),
    ("POST", lambda: ("/api/v1/orders", {"instrument": "icp-ms-01", "samples": 1, "analysis": "x"}),
     {"anon": 401, "auditor": 403}, 201),
    ("GET", "/api/v1/orders/%d" % done_order, {"anon": 401, "other_mgr": 404, "researcher": 404}, 200),
    ("GET", "/api/v1/orders/%d/results" % done_order, {"anon": 401, "other_mgr": 404, "researcher": 404}, 200),
    ("POST", lambda: ("/api/v1/orders/%d/accept" % order(), None), staff, 403),
    ("POST", lambda: ("/api/v1/orders/%d/decline" % order(), None), staff, 403),
    ("POST", lambda: ("/api/v1/orders/%d/receive" % order("accepted"), None), staff, 403),
    ("POST", lambda: ("/api/v1/orders/%d/schedule" % order("received"),
                      {k: v for k, v in slot().items() if k != "instrument"}), staff, 403),
    ("PUT", lambda: ("/api/v1/orders/%d/results?name=r.txt" % order("received"), {}), staff, 403),
    ("POST", lambda: ("/api/v1/orders/%d/complete" % order("received", results=True), None), staff, 403),
    ("POST", lambda: ("/api/v1/orders/%d/cancel" % order(), None), dict(staff, external=200), 403),
    # notifications: the queue is the admins'; an organisation's webhook its managers'
    ("GET", "/api/v1/notifications", {"anon": 401, "admin": 200}, 403),
    ("GET", "/api/v1/orgs/%d/webhook" % ids["ECUT"], {"anon": 401, "admin": 200, "owner_mgr": 200}, 403),
    ("PUT", lambda: ("/api/v1/orgs/%d/webhook" % ids["ECUT"], hook), {"anon": 401, "admin": 200, "owner_mgr": 200}, 403),
    ("DELETE", "/api/v1/orgs/%d/webhook" % ids["ECUT"], {"anon": 401, "admin": 200, "owner_mgr": 200}, 403),
]

def audit_count():
    return a.expect(200, "GET", "/api/v1/audit-log?limit=1")["total"]

cells = wrong = 0
for method, target, special, default in table:
    for role in roles:
        want = special.get(role, default)
        path, body = target() if callable(target) else (target, None)
        before = audit_count()
        got, answer = who[role].call(method, path, body if body is not None else ({} if method != "GET" else None))
        cells += 1
        if got != want:
            wrong += 1
            print("WRONG: %-5s %-45s as %-10s -> %s, wanted %s: %s" % (method, path, role, got, want, str(answer)[:120]))
        if got >= 400 and method != "GET" and audit_count() != before:
            wrong += 1
            print("WRONG: a refused %s %s as %s left an audit record" % (method, path, role))
print("%d cells, %d wrong" % (cells, wrong))
assert wrong == 0
PY
pass "every endpoint with every role answers as the permission table says"
stop server
echo "$CHECKS checks passed"
