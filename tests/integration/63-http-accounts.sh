#!/usr/bin/env bash
# Accounts against an attacker (issue 13), on the real server over loopback, with clients on
# several 127.0.0.x addresses: login throttling that cannot be turned against a user nor flushed
# by volume, no user enumeration by timing, tokens that expire and can be listed and revoked,
# logout that ends the credential it was called with, a password change that ends the user's
# other sessions (and, when asked, tokens), expired credentials purged.
. "$(dirname "$0")/lib.sh"

start_broker
start_server
export API TOKEN T
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "accounts"
import os, statistics, time
from api import admin, seed, sdb, Api, PASSWORD

API = os.environ["API"]
a = admin()
ids = seed(a)

def at(n, token=None):
    return Api(API, token, source="127.0.%d.%d" % (n // 250, n % 250 + 1))

# 1. five wrong passwords for a manager from five addresses: the right one from a sixth waits a
#    second at most, then works
for n in range(2, 7):
    assert at(n).login("mgr.chen", "wrong password %d" % n)[0] == 401
c = at(7)
st, ans = c.login("mgr.chen", PASSWORD)
if st == 429:
    wait = int(c.last_headers["Retry-After"])
    assert wait <= 2, wait
    time.sleep(wait)
    st, ans = c.login("mgr.chen", PASSWORD)
assert st == 200, (st, ans)
print("the right password is not locked out by someone else's failures")

# 2. an address guessing across accounts is stopped after 20 failures, with Retry-After
g = at(20)
for i in range(20):
    assert g.login("nobody-%d" % i, "guess %d" % i)[0] == 401
st, ans = g.login("dr.li", PASSWORD)
assert st == 429 and ans["error"] == "too_many_requests", (st, ans)
assert int(g.last_headers["Retry-After"]) > 60, g.last_headers["Retry-After"]
assert at(21).login("dr.li", PASSWORD)[0] == 200  # others are not
# 3. ... and failures of made-up names from 250 other addresses do not set it free (the unit test
#    test_throttle fills a small table to its end)
for i in range(250):
    at(30 + i).login("made-up-%d" % i, "x" * 12)
assert g.login("dr.li", PASSWORD)[0] == 429
print("an address budget that volume cannot flush")

# 4. a wrong password of an existing user and of a made-up one take about as long (argon2id
#    against a dummy hash), so the answer's time does not tell which names exist
def t_login(name, n):
    c = at(n)
    t0 = time.perf_counter()
    assert c.login(name, "not the password %d" % n)[0] in (401, 429)
    return time.perf_counter() - t0
real = statistics.median(t_login("auditor.liu", 40 + i) for i in range(4))
fake = statistics.median(t_login("no-such-user-%d" % i, 50 + i) for i in range(4))
assert fake > 0.4 * real, (real, fake)
print("login time: existing %.1f ms, made-up %.1f ms" % (real * 1000, fake * 1000))

# 5. tokens: 90 days by default, shorter on request, listed, audited, revoked
li = at(60)
assert li.login("dr.li", PASSWORD)[0] == 200
st, t1 = li.post("/api/v1/tokens")
assert st == 201 and t1["token"].startswith("lst_") and t1["kind"] == "api", (st, t1)
days = (time.mktime(time.strptime(t1["expires"][:19], "%Y-%m-%dT%H:%M:%S")) - time.time()) / 86400
assert 89.9 < days < 90.1, t1
st, t2 = li.post("/api/v1/tokens", {"expires_days": 1})
assert st == 201, t2
for bad in ({"expires_days": 0}, {"expires_days": 4000}, {"expires_days": "1"}, {"name": "x"}):
    assert li.post("/api/v1/tokens", bad)[0] == 400, bad
listed = li.get("/api/v1/tokens")[1]["items"]
assert {t1["id"], t2["id"]} <= {x["id"] for x in listed} and all(x["expires"] for x in listed), listed
assert "token" not in str(listed).replace("'kind'", ""), listed
audit = a.get("/api/v1/audit-log?action=token.create&limit=100")[1]["items"]
assert len(audit) >= 2 and all(t1["token"] not in str(r) for r in audit), audit
tok = Api(API, t2["token"])
assert tok.get("/api/v1/me")[0] == 200
assert li.call("DELETE", "/api/v1/tokens/%d" % t2["id"])[0] == 200
assert tok.get("/api/v1/me")[0] == 401
print("tokens expire (90 days by default), are listed without secrets, audited and revoked")

# 6. logout with a bearer token revokes that token
tok = Api(API, t1["token"])
st, ans = tok.post("/api/v1/logout")
assert st == 200 and ans["revoked"] == "token", ans
assert tok.get("/api/v1/me")[0] == 401
print("logout ends the token it was called with")

# 7. a password change ends the user's other sessions, keeps the caller's own, and asks about
#    tokens
other = at(61)
assert other.login("dr.li", PASSWORD)[0] == 200
st, t3 = li.post("/api/v1/tokens")
new_pw = "a brand new passphrase 2026"
st, ans = li.patch("/api/v1/users/%d" % ids["dr.li"], {"password": new_pw})
assert st == 200 and ans["sessions_ended"] >= 1 and ans["tokens_kept"] >= 1 and "revoke_tokens" in ans["hint"], ans
assert other.get("/api/v1/me")[0] == 401
assert li.get("/api/v1/me")[0] == 200
assert Api(API, t3["token"]).get("/api/v1/me")[0] == 200
st, ans = li.patch("/api/v1/users/%d" % ids["dr.li"], {"password": PASSWORD, "revoke_tokens": True})
assert st == 200 and ans["tokens_revoked"] >= 1 and "tokens_kept" not in ans, ans
assert Api(API, t3["token"]).get("/api/v1/me")[0] == 401
assert li.patch("/api/v1/users/%d" % ids["dr.li"], {"revoke_tokens": True})[0] == 400
print("a new password ends other sessions, and tokens when asked")

# 8. expired sessions and tokens stop working and are purged
st, t4 = li.post("/api/v1/tokens")
sdb("UPDATE tokens SET expires_at = 1 WHERE id = %d" % int(t4["id"]))
assert Api(API, t4["token"]).get("/api/v1/me")[0] == 401
assert at(62).login("dr.zhang", PASSWORD)[0] == 200
assert sdb("SELECT count(*) FROM tokens WHERE id = %d" % int(t4["id"])) == [["0"]]
assert int(sdb("SELECT max(id) FROM tokens")[0][0]) > t4["id"]  # ids are not reused
assert sdb("SELECT count(*) FROM tokens WHERE expires_at <= 1000") == [["0"]]
print("expired credentials are purged")

# 9. the audit log names principals: a session's user, a token (with its owner), and a login
#    with the failures before it; system names cannot be taken by users
logins = a.get("/api/v1/audit-log?action=login&limit=1000")[1]["items"]
chen = [r for r in logins if r["actor"] == "mgr.chen"][0]
assert chen["actor_kind"] == "user" and chen["actor_id"] == str(ids["mgr.chen"]), chen
assert chen["after"]["failures_before"] == 5 and chen["after"]["address"].startswith("127.0."), chen
created = a.get("/api/v1/audit-log?action=org.create&limit=10")[1]["items"][0]
assert created["actor_kind"] == "token" and created["actor_user"] == 1 and created["actor"] == "admin", created
tok = a.get("/api/v1/audit-log?action=token.create&limit=10")[1]["items"][0]
assert tok["actor_kind"] == "user" and tok["actor_id"] == str(ids["dr.li"]), tok
for name in ("metering", "Interlock", "SYSTEM", "gateway"):
    st, ans = a.post("/api/v1/users", {"username": name, "org_id": ids["ECUT"], "role": "researcher",
                                       "password": "a long enough password"})
    assert st == 400 and "reserved" in ans["message"], (name, st, ans)
st, feed = li.post("/api/v1/feeds", {"kind": "user"})
assert st == 201 and "/ical/lst_" in feed["url"], (st, feed)
fa = a.get("/api/v1/audit-log?action=feed.create&limit=10")[1]["items"]
assert fa and fa[-1]["after"]["kind"] == "user" and fa[-1]["actor"] == "dr.li", fa
assert feed["url"].split("/ical/")[1][:20] not in str(fa), "the feed's secret is in the audit log"
assert a.get("/api/v1/audit-log/verify")[1]["ok"] is True
print("audit records name principals; system names are reserved; the chain verifies")
PY
pass "accounts: throttling, enumeration, tokens, logout, password change, purge"
echo "$CHECKS checks passed"
