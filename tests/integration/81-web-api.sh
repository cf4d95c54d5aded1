#!/usr/bin/env bash
# What the web UI needs from the API (issue 11), tested through HTTP: the catalog's live state
# from the meter and what an instrument does, the public sharing figures (hours and ratios, no
# money), the CSRF cookie of a login, and how the server serves the UI's files.
# postgresql (tests/run.sh runs it again with the server on PostgreSQL)
. "$(dirname "$0")/lib.sh"

start_broker
start_server
register_gateway gw-web
export API TOKEN MQTT_PORT GW_USER=$(gw_user gw-web) GW_PASS=$(gw_pass gw-web)
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "web API"
import datetime, http.cookiejar, json, os, subprocess, time, urllib.request
from api import admin, seed, Api, PASSWORD

a = admin()
ids = seed(a)
anon = Api(os.environ["API"])
iso = lambda ms: datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
    "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

# --- what an instrument does ------------------------------------------------------------------
out = a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"description": "痕量元素 trace elements"})
assert out["description"] == "痕量元素 trace elements", out
row = [i for i in anon.expect(200, "GET", "/api/v1/catalog")["items"] if i["id"] == "icp-ms-01"][0]
assert row["description"] == "痕量元素 trace elements", row
assert [i["id"] for i in anon.expect(200, "GET", "/api/v1/catalog?q=trace%20elem")["items"]] == ["icp-ms-01"]
a.expect(400, "PATCH", "/api/v1/instruments/icp-ms-01", {"description": "x" * 2001})
a.expect(400, "PATCH", "/api/v1/instruments/icp-ms-01", {"description": 5})
assert a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"description": None})["description"] == ""
print("description: ok")

# --- live state from the meter -------------------------------------------------------------------
row = [i for i in anon.expect(200, "GET", "/api/v1/catalog")["items"] if i["id"] == "icp-ms-01"][0]
assert row["state"] == "offline" and row["last_reading"] is None, row
a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"gateway": "gw-web"})
def publish(seq, ts, state):
    subprocess.run(["mosquitto_pub", "-p", os.environ["MQTT_PORT"], "-u", os.environ["GW_USER"],
                    "-P", os.environ["GW_PASS"], "-q", "1", "-t", "labshare/v1/gw/gw-web/readings",
                    "-m", json.dumps({"gateway": "gw-web", "epoch": 77, "readings": [
                        {"seq": seq, "instrument": "icp-ms-01", "ts": ts, "state": state,
                         "cause": "change", "run_seconds": 0}]})], check=True)
def live():
    return [i for i in anon.expect(200, "GET", "/api/v1/catalog")["items"] if i["id"] == "icp-ms-01"][0]
now = int(time.time() * 1000)
publish(1, now - 20 * 60000, "idle")   # twenty minutes ago: the meter is offline now
for _ in range(100):
    if live()["last_reading"]:
        break
    time.sleep(0.1)
row = live()
assert row["state"] == "offline" and row["last_reading"] == iso(now - 20 * 60000), row
publish(2, now - 1000, "running")
for _ in range(100):
    if live()["state"] != "offline":
        break
    time.sleep(0.1)
row = live()
assert row["state"] == "running" and row["last_reading"] == iso(now - 1000), row
print("live state: ok")

# --- published sharing figures ---------------------------------------------------------------
f = anon.expect(200, "GET", "/api/v1/figures")
assert f["year"] == datetime.date.today().year and f["from"].endswith("Z"), f
assert "effective_hours" in f["platform"] and "sharing_rate" in f["platform"], f
for r in [f["platform"]] + f["by_owner_type"]:
    assert not ({"revenue", "voucher_amount", "currency"} & set(r)), r
assert {r["org_type"] for r in f["by_owner_type"]} <= {"university", "institute", "enterprise", "government"}, f
anon.expect(400, "GET", "/api/v1/figures?year=20x6")
anon.expect(400, "GET", "/api/v1/figures?year=2099")
anon.expect(400, "GET", "/api/v1/figures?org=1")
print("figures: ok")
PY
pass "the catalog says what an instrument does and its live state; /figures publishes hours, no money"

# --- the CSRF cookie of a login --------------------------------------------------------------
hdrs=$(curl -sS -D - -o "$T/login.json" -X POST -d "{\"username\":\"dr.li\",\"password\":\"$(cd "$ROOT/tests/integration" && python3 -c 'from api import PASSWORD; print(PASSWORD)')\"}" "$API/api/v1/login")
grep -qi '^set-cookie: ls_session=.*HttpOnly; SameSite=Strict' <<<"$hdrs" || fail "no session cookie: $hdrs"
csrf_cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: ls_csrf=\([^;]*\);.*/\1/p' <<<"$hdrs" | tr -d '\r')
[ -n "$csrf_cookie" ] || fail "no ls_csrf cookie: $hdrs"
! grep -i '^set-cookie: ls_csrf=' <<<"$hdrs" | grep -qi httponly || fail "ls_csrf must be readable by the page"
grep -i '^set-cookie: ls_csrf=' <<<"$hdrs" | grep -q 'SameSite=Strict' || fail "ls_csrf must be SameSite=Strict"
[ "$csrf_cookie" = "$(json 'j["csrf_token"]' <"$T/login.json")" ] || fail "ls_csrf is not the login's CSRF token"
session=$(sed -n 's/^[Ss]et-[Cc]ookie: ls_session=\([^;]*\);.*/\1/p' <<<"$hdrs" | tr -d '\r')
code=$(status POST /api/v1/feeds -H "Cookie: ls_session=$session; ls_csrf=$csrf_cookie" -d '{"kind":"user"}')
[ "$code" = 403 ] || fail "a cookie write without the header must be refused, got $code"
code=$(status POST /api/v1/feeds -H "Cookie: ls_session=$session; ls_csrf=$csrf_cookie" -H "X-CSRF-Token: $csrf_cookie" -d '{"kind":"user"}')
[ "$code" = 201 ] || fail "the cookie's token as X-CSRF-Token must work, got $code"
out=$(curl -sS -D - -o /dev/null -X POST -H "Cookie: ls_session=$session" -H "X-CSRF-Token: $csrf_cookie" "$API/api/v1/logout")
grep -qi '^set-cookie: ls_csrf=; .*Max-Age=0' <<<"$out" || fail "logout does not clear ls_csrf: $out"
pass "login leaves the CSRF token in a SameSite=Strict cookie the page can read; the header is still required"

# --- the UI's files --------------------------------------------------------------------------
h=$(curl -sS -D - -o /dev/null -H 'Accept-Encoding: gzip' "$API/")
grep -q '^HTTP/1.1 200' <<<"$h" && grep -qi '^content-type: text/html' <<<"$h" || fail "/ is not the UI: $h"
grep -qi "^content-security-policy: default-src 'self'; script-src 'self'; style-src 'self'" <<<"$h" || fail "no strict CSP: $h"
grep -qi '^content-encoding: gzip' <<<"$h" || fail "not precompressed: $h"
grep -qi '^x-frame-options: DENY' <<<"$h" || fail "may be framed: $h"
[ "$(status HEAD /)" = 200 ] || fail "HEAD / fails"
[ "$(status GET /app/nothing.js)" = 404 ] || fail "a missing file is not a 404"
[ "$(status POST /)" = 404 ] || fail "POST / must not serve the page"
a=$(curl -sS -D - -o /dev/null "$API/api/v1/platform")
grep -qi "^content-security-policy: default-src 'none'" <<<"$a" || fail "API answers without CSP: $a"
v=$(curl -sS "$API/app/vendor.js")
fc=$(sed -n "s/.*FULLCALENDAR = '\(.*\)';/\1/p" <<<"$v")
[ -n "$fc" ] || fail "vendor.js names no FullCalendar folder"
h=$(curl -sS -D - -o /dev/null "$API$fc/global.js")
grep -qi '^cache-control: public, max-age=86400' <<<"$h" || fail "versioned packages are not cacheable: $h"
[ "$(status GET /api/v1/../../../etc/passwd --path-as-is)" = 404 ] && [ "$(status GET /app/../../server.ini --path-as-is)" = 404 ] ||
    fail "a path outside the table answered"
pass "the UI's files: strict CSP, gzip, no framing, 404 for anything else, versioned packages cached"
echo "$CHECKS checks passed"
