#!/usr/bin/env bash
# Bad input changes nothing and gets a clear 4xx: malformed JSON, wrong types, unknown fields,
# bodies over the limit, huge or negative numbers, invalid dates, path tricks. Security:
# argon2id password hashes, hashed tokens, HttpOnly SameSite=Strict cookies, CSRF on cookie
# writes, login throttling; and the audit log detects a record edited in the SQLite file.
. "$(dirname "$0")/lib.sh"

start_broker
start_server
export API TOKEN T
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "bad input"
import json
from api import admin, seed, user, Api, PASSWORD
import os

a = admin()
ids = seed(a)
li = user("dr.li")

def snapshot():
    return (a.expect(200, "GET", "/api/v1/audit-log?limit=1")["total"],
            json.dumps(a.expect(200, "GET", "/api/v1/instruments?limit=1000")),
            json.dumps(a.expect(200, "GET", "/api/v1/bookings?limit=1000")),
            json.dumps(a.expect(200, "GET", "/api/v1/users?limit=1000")))

before = snapshot()
B = "/api/v1/bookings"
cases = [
    ("POST", B, b"{not json", 400),
    ("POST", B, b"[1, 2]", 400),
    ("POST", B, b"", 400),
    ("POST", B, b'{"instrument": "icp-ms-01", "instrument": "x"}', 400),
    ("POST", B, json.dumps({"instrument": 5, "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"}).encode(), 400),
    ("POST", B, json.dumps({"instrument": "icp-ms-01", "start": "2030-02-30T00:00:00Z", "end": "2030-03-01T01:00:00Z"}).encode(), 400),
    ("POST", B, json.dumps({"instrument": "icp-ms-01", "start": "tomorrow", "end": "later"}).encode(), 400),
    ("POST", B, json.dumps({"instrument": "icp-ms-01", "start": "2030-01-01T02:00:00Z", "end": "2030-01-01T01:00:00Z"}).encode(), 400),
    ("POST", B, json.dumps({"instrument": "icp-ms-01", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z", "colour": "red"}).encode(), 400),
    ("POST", B, json.dumps({"instrument": "../etc/passwd", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"}).encode(), 400),
    ("POST", B, json.dumps({"instrument": "nope", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"}).encode(), 404),
    ("POST", B, json.dumps({"instrument": "icp-ms-01", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z", "user_id": -4}).encode(), 400),
    ("POST", B, json.dumps({"instrument": "icp-ms-01", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z", "project": "x" * 5000}).encode(), 400),
    ("POST", "/api/v1/instruments", json.dumps({"id": "big", "name": "Big", "org_id": ids["ECUT"], "value_yuan": 10**30}).encode(), 400),
    ("POST", "/api/v1/instruments", json.dumps({"id": "neg", "name": "Neg", "org_id": ids["ECUT"], "rated_hours": -5}).encode(), 400),
    ("POST", "/api/v1/instruments", json.dumps({"id": "r", "name": "R", "org_id": ids["ECUT"], "booking": {"min_minutes": "ten"}}).encode(), 400),
    ("POST", "/api/v1/instruments", json.dumps({"id": "s", "name": "S", "org_id": ids["ECUT"], "service_hours": {"mon": [["18:00", "08:00"]]}}).encode(), 400),
    ("POST", "/api/v1/instruments", json.dumps({"id": "b", "name": "B", "org_id": ids["ECUT"], "billing": {"basis": "free"}}).encode(), 400),
    ("POST", "/api/v1/instruments", json.dumps({"id": "o", "name": "O", "org_id": 999999}).encode(), 400),
    ("POST", "/api/v1/users", json.dumps({"username": "short.pw", "org_id": ids["ECUT"], "role": "researcher", "password": "tooshort"}).encode(), 400),
    ("POST", "/api/v1/users", json.dumps({"username": "bad role", "org_id": ids["ECUT"], "role": "researcher", "password": PASSWORD}).encode(), 400),
    ("POST", "/api/v1/users", json.dumps({"username": "dr.li", "org_id": ids["ECUT"], "role": "researcher", "password": PASSWORD}).encode(), 409),
    ("POST", "/api/v1/users", json.dumps({"username": "god", "org_id": ids["ECUT"], "role": "emperor", "password": PASSWORD}).encode(), 400),
    ("PATCH", "/api/v1/orgs/1", json.dumps({"type": "spaceship"}).encode(), 400),
    ("PATCH", "/api/v1/orgs/99999", json.dumps({"name": "ghost"}).encode(), 404),
    ("GET", "/api/v1/bookings/abc", None, 404),
    ("GET", "/api/v1/bookings/99999999999999999999999", None, 404),
    ("GET", "/api/v1/bookings?limit=100000", None, 400),
    ("GET", "/api/v1/bookings?from=2030-13-01", None, 400),
    ("GET", "/api/v1/instruments/icp-ms-01/availability?from=2030-01-01&to=2031-01-01", None, 400),
    ("GET", "/api/v1/audit-log?format=xml", None, 400),
    ("GET", "/api/v1/purchase-review?value_yuan=1000000&expected_hours=100", None, 400),
    ("GET", "/api/v1/purchase-review?category=icp&value_yuan=-5&expected_hours=100", None, 400),
    ("GET", "/api/v1/purchase-review?category=icp&value_yuan=99999999999999999999&expected_hours=100", None, 400),
    ("GET", "/api/v1/purchase-review?category=icp&value_yuan=1000000&expected_hours=9000", None, 400),
    ("GET", "/api/v1/purchase-review?category=icp&value_yuan=1000000", None, 400),
    ("GET", "/api/v1/purchase-review?category=" + "x" * 100 + "&value_yuan=1000000&expected_hours=100", None, 400),
    ("GET", "/api/v1/purchase-review?category=icp&value_yuan=1000000&expected_hours=100&month=2030-01", None, 400),
    ("GET", "/api/v1/purchase-review?category=icp&value_yuan=1000000&expected_hours=100&colour=red", None, 400),
    ("POST", "/api/v1/instruments/icp-ms-01/outages", json.dumps({"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z", "kind": "holiday"}).encode(), 400),
    # the body is checked before the booking is looked up: a bad one is a 400 whether or not the
    # booking exists (which tells nothing about it)
    ("POST", "/api/v1/bookings/1/rating", json.dumps({"score": 9}).encode(), 400),
    ("POST", "/api/v1/bookings/999999/rating", json.dumps({"score": 5}).encode(), 404),
]
bad = 0
for method, path, raw, want in cases:
    got, answer = a.call(method, path, raw=raw)
    ok = got == want and isinstance(answer, dict) and answer.get("error") and answer.get("message")
    if not ok:
        bad += 1
        print("WRONG: %s %s %r -> %s %s (wanted %s)" % (method, path, (raw or b"")[:60], got, answer, want))
got, answer = a.call("POST", B, raw=b"x" * (300 * 1024))
if got != 413:
    bad += 1
    print("WRONG: a 300 KiB body ->", got)
assert bad == 0, bad
assert snapshot() == before, "bad input changed something"
print(len(cases) + 1, "bad requests refused, nothing changed")

# CSV against formula injection (OWASP): text cells starting with = + - @ tab CR are prefixed
# with an apostrophe in every CSV; numbers keep their sign
import csv, io
a.expect(201, "POST", "/api/v1/instruments", {
    "id": "csv-inj", "name": '=HYPERLINK("http://evil.example","click")', "org_id": ids["ECUT"],
    "category": "@SUM(A1:A9)", "location": "+1+2", "description": "-3+4"})
st, text = a.call("GET", "/api/v1/catalog?format=csv")
assert st == 200, st
rows = list(csv.DictReader(io.StringIO(text)))
r = [x for x in rows if x["id"] == "csv-inj"][0]
assert r["name"] == "\'=HYPERLINK(\"http://evil.example\",\"click\")", r["name"]
assert r["category"] == "'@SUM(A1:A9)" and r["location"] == "'+1+2" and r["description"] == "'-3+4", r
assert r["value_yuan"] in ("0", "0.0"), r["value_yuan"]
st, text = a.call("GET", "/api/v1/instruments?format=csv")
assert "'=HYPERLINK" in text and '\n=HYPERLINK' not in text and ',=' not in text, text[:300]
# JSON answers keep the text as it is
assert a.expect(200, "GET", "/api/v1/instruments/csv-inj")["name"].startswith("=HYPERLINK")
print("CSV: formula-leading cells neutralised")

# CSRF: a cookie session must send the token for writes
s = Api(os.environ["API"])
assert s.login("dr.li", PASSWORD)[0] == 200
cookie = s.last_headers.get("Set-Cookie")
assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie, cookie
csrf, s.csrf = s.csrf, None
st, ans = s.post("/api/v1/feeds", {"kind": "user"})
assert st == 403 and "CSRF" in ans["message"], (st, ans)
s.csrf = "lst_" + "1" * 64
assert s.post("/api/v1/feeds", {"kind": "user"})[0] == 403
s.csrf = csrf
assert s.post("/api/v1/feeds", {"kind": "user"})[0] == 201
assert s.get("/api/v1/me")[0] == 200             # reads need no CSRF token
assert s.post("/api/v1/logout")[0] == 200
assert s.get("/api/v1/me")[0] == 401             # the session is gone
print("CSRF and logout: ok")

# login throttling: after 5 failures for a user name, a short wait (Retry-After), then the right
# password works (tests/integration/63-http-accounts.sh goes further)
import time
t = Api(os.environ["API"])
for i in range(5):
    assert t.login("eng.xu", "wrong password %d" % i)[0] == 401
st, ans = t.login("eng.xu", PASSWORD)
assert st == 429 and ans["error"] == "too_many_requests", (st, ans)
wait = int(t.last_headers["Retry-After"])
assert 1 <= wait <= 2, wait
time.sleep(wait)
assert t.login("eng.xu", PASSWORD)[0] == 200
print("throttling: ok")
PY
pass "bad input refused with clear errors and no change; CSRF, logout and throttling"

n=$(sdb "SELECT count(*) FROM users WHERE password_hash LIKE '\$argon2id\$v=19\$m=19456,t=2,p=1\$%'")
all=$(sdb "SELECT count(*) FROM users WHERE password_hash IS NOT NULL")
[ "$n" -ge 6 ] && [ "$n" = "$all" ] || fail "passwords are not all argon2id (m=19456, t=2, p=1): $n of $all"
hex="hex(hash)"
[ -z "${LABSHARE_TEST_PG:-}" ] || hex="encode(hash, 'hex')"
! sdb "SELECT $hex FROM tokens" | grep -qi "$(printf %s "${TOKEN#lst_}" | tr a-f A-F)" || fail "a token is stored in clear"
pass "passwords hashed with argon2id m=19456 t=2 p=1; tokens stored only as hashes"

[ "$(api /api/v1/audit-log/verify | json 'j["ok"]')" = True ] || fail "audit log not intact before tampering"
sdb "UPDATE audit SET actor = 'mallory' WHERE seq = 3"
verdict=$(api /api/v1/audit-log/verify)
[ "$(json 'j["ok"], j["first_bad"]' <<<"$verdict")" = "False 3" ] || fail "tampering not detected: $verdict"
pass "the audit log reports record 3 after it was edited in the database"
stop server
echo "$CHECKS checks passed"
