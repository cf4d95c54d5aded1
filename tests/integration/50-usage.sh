#!/usr/bin/env bash
# From readings to usage through the real chain (simulator -> gateway -> broker -> server):
# sessions with their metered run time, attributed to the badge's user outside bookings and to
# the booking's user inside one (a booking recorded after the fact takes its part over), the
# booking's metered seconds and completion; the incremental result equals a full recomputation.
. "$(dirname "$0")/lib.sh"

start_broker
SERVER_EXTRA_INI=$'[metrics]\nmerge_gap_s = 1\nno_show_min_run_s = 1'
start_server
export API TOKEN
( cd "$ROOT/tests/integration" && python3 -c '
from api import admin, seed
a = admin(); ids = seed(a)
a.expect(200, "PATCH", "/api/v1/users/%d" % ids["dr.li"], {"badge": 1001})
a.expect(200, "PATCH", "/api/v1/users/%d" % ids["eng.xu"], {"badge": 2001})' ) || fail "seeding"
register_gateway gw-usage
bind_instruments gw-usage icp-ms-01
cat >"$T/scenario.txt" <<'SC'
0  state=idle
2  state=running badge=1001 power_w=2000
6  state=idle badge=0 samples+=3
8  state=running badge=2001
11 state=idle badge=0 samples+=2
SC
PORT=$(free_port)
t0=$(date +%s%3N)
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$PORT" --instrument icp-ms-01 --scenario "$T/scenario.txt"
wait_for 10 port_open "$PORT" || fail "simulator"
gateway_ini "$T/gw.ini" gw-usage "heartbeat_s = 1"
printf '[modbus:icp-ms-01]\ntcp = 127.0.0.1:%s\npoll_ms = 100\ntimeout_ms = 100\n' "$PORT" >>"$T/gw.ini"
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
two_sessions() { api "/api/v1/usage?instrument=icp-ms-01" | json 'len({u["session_start"] for u in j["items"] if not u["open"]})' | grep -qx 2; }
wait_for 25 two_sessions || fail "two closed sessions expected: $(api '/api/v1/usage?instrument=icp-ms-01')"
export T0=$t0
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "usage"
import datetime, os
from api import admin, user
a = admin()
t0 = int(os.environ["T0"])
iso = lambda ms: datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
u = a.expect(200, "GET", "/api/v1/usage?instrument=icp-ms-01")["items"]
print([(x["attribution"], x["user_id"], x["run_seconds"]) for x in u])
users = {x["username"]: x["id"] for x in a.expect(200, "GET", "/api/v1/users?limit=100")["items"]}
assert len(u) == 2, u
assert u[0]["attribution"] == "badge" and u[0]["user_id"] == users["dr.li"] and u[0]["run_seconds"] == 4, u[0]
assert u[1]["attribution"] == "badge" and u[1]["user_id"] == users["eng.xu"] and u[1]["run_seconds"] == 3, u[1]
assert u[0]["samples"] == 3 and u[1]["samples"] == 2, u
# a manager records eng.xu's booking after the fact, from 7 s to 10 s: 2 s of the second run
# become the booking's
b = a.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "user_id": users["eng.xu"],
    "start": iso(t0 + 7000), "end": iso(t0 + 10000), "project": "recorded after the fact"})
u = a.expect(200, "GET", "/api/v1/usage?instrument=icp-ms-01")["items"]
print([(x["attribution"], x["user_id"], x["run_seconds"], x["start"][17:23], x["end"][17:23]) for x in u])
parts = [(x["attribution"], x["user_id"]) for x in u]
assert parts == [("badge", users["dr.li"]), ("booking", users["eng.xu"]), ("badge", users["eng.xu"])], parts
assert u[1]["booking_id"] == b["id"]
assert sum(x["run_seconds"] for x in u) in (6, 7), u  # 7 s metered; parts share it by time
b = a.expect(200, "GET", "/api/v1/bookings/%d" % b["id"])
assert b["status"] == "completed" and 1 <= b["metered_seconds"] <= 2, b
# researchers see only their own usage
li = user("dr.li")
mine = li.expect(200, "GET", "/api/v1/usage")["items"]
assert [x["user_id"] for x in mine] == [users["dr.li"]], mine
print("usage: ok")

# metrics over the hour around the runs, computed independently from /usage here
frm, to = iso(t0 - 1800 * 1000), iso(t0 + 1800 * 1000)
orgs = {x["id"]: x for x in a.expect(200, "GET", "/api/v1/orgs")["items"]}
uorg = {x["id"]: x["org_id"] for x in a.expect(200, "GET", "/api/v1/users?limit=100")["items"]}
owner = a.expect(200, "GET", "/api/v1/instruments/icp-ms-01")["org_id"]
eff = sum(x["run_seconds"] for x in u) / 3600
ext = sum(x["run_seconds"] for x in u if x["user_id"] and uorg[x["user_id"]] != owner) / 3600
m = a.expect(200, "GET", "/api/v1/metrics?from=%s&to=%s&by=instrument" % (frm, to))["items"]
m = [x for x in m if x["instrument"] == "icp-ms-01"][0]
print("metrics", m)
assert abs(m["effective_hours"] - eff) < 0.0006, (m, eff)   # parts share run time by ms
assert abs(m["external_hours"] - ext) < 0.0006, (m, ext)
assert abs(m["sharing_rate"] - ext / eff) < 0.1, m
assert abs(m["rated_hours"] - 1400 * (1 / 24) / 365) < 1e-4, m   # one hour of a 1400 h year
assert m["bookings_ended"] == 1 and m["no_show_count"] == 0, m
plat = a.expect(200, "GET", "/api/v1/metrics?from=%s&to=%s&by=platform" % (frm, to))["items"][0]
assert abs(plat["effective_hours"] - eff) < 0.0006 and plat["instruments"] == 2, plat
csv = a.call("GET", "/api/v1/metrics?from=%s&to=%s&by=org&format=csv" % (frm, to))[1]
assert csv.splitlines()[0].startswith("effective_hours,external_hours,sharing_rate"), csv
col = a.expect(200, "GET", "/api/v1/collaboration?from=%s&to=%s" % (frm, to))["items"]
pairs = {(c["user_org_type"], c["owner_org_type"]): c["hours"] for c in col}
assert set(pairs) == {("university", "university"), ("enterprise", "university")}, pairs
ev = a.expect(200, "GET", "/api/v1/evaluation?year=%d&by=org" % datetime.date.today().year)["items"]
ecut = [e for e in ev if e["org_id"] == owner][0]
# a few seconds in a year: operation ~0, but a sharing rate of 3/7 earns the full 40 points and
# no no-shows or ratings the full 20: 60, a pass
assert ecut["grade"] == "pass" and abs(ecut["total"] - 60) < 0.01 and ecut["sharing"] == 40, ecut
li.expect(403, "GET", "/api/v1/metrics?from=%s&to=%s" % (frm, to))
# evidence drill-down: metric row -> its usage -> each part's readings
ev_usage = a.expect(200, "GET", m["usage"])["items"]
assert sum(x["run_seconds"] for x in ev_usage) == sum(x["run_seconds"] for x in u), ev_usage
for part in ev_usage:
    rs = a.expect(200, "GET", part["readings"].replace("+", "%2B"))["items"]
    assert rs and all(r["instrument"] == "icp-ms-01" for r in rs), part
    assert any(r["state"] == "running" for r in rs), rs
print("metrics: ok")

# billing: rates of icp-ms-01 (seed): internal 200, academic 400, industry 600 yuan an hour,
# metered basis, 15-minute increment. Jiangzhong (enterprise) has a 60 % voucher capped at 100 yuan.
jz = [o for o in orgs.values() if o["name"] == "Jiangzhong"][0]["id"]
ecut = owner
year = datetime.date.today().year
a.expect(201, "POST", "/api/v1/vouchers", {"org_id": jz, "percent": 60, "annual_cap": 10000,
         "valid_from": "%d-01-01" % year, "valid_to": "%d-12-31" % year})
a.expect(400, "POST", "/api/v1/vouchers", {"org_id": ecut, "percent": 60, "annual_cap": 1,
         "valid_from": "%d-01-01" % year, "valid_to": "%d-12-31" % year})  # not an enterprise
ch = a.expect(200, "GET", "/api/v1/charges")["items"]
print([(c["source"], c["category"], c["minutes"], c["amount"], c["voucher"]) for c in ch])
by_src = {c["source"]: c for c in ch}
bk = [c for c in ch if c["source"].startswith("booking/")][0]
assert (bk["category"], bk["minutes"], bk["amount"], bk["voucher"]) == ("industry", 15, 15000, 9000), bk
badge = sorted([c for c in ch if c["source"].startswith("usage/")], key=lambda c: c["at"])
assert [(c["category"], c["amount"]) for c in badge] == [("internal", 5000), ("industry", 15000)], badge
assert badge[1]["voucher"] == 1000, badge   # the cap (100 yuan) is hit in the middle of this charge
again = a.expect(200, "GET", "/api/v1/charges")["items"]
assert again == ch, "charges changed on a second look"            # never counted twice
month = bk["month"]
st = a.expect(200, "GET", "/api/v1/statements?org=%d&month=%s" % (jz, month))
assert (st["gross"], st["voucher"], st["payable"]) == (30000, 10000, 20000), st
# lines come in pages (limit, offset); the totals are always of every line
assert st["lines_total"] == len(st["lines"]) >= 2 and st["offset"] == 0, st
page = a.expect(200, "GET", "/api/v1/statements?org=%d&month=%s&limit=1&offset=1" % (jz, month))
assert page["lines"] == st["lines"][1:2] and page["limit"] == 1, page
assert (page["gross"], page["voucher"], page["lines_total"]) == (30000, 10000, len(st["lines"])), page
past = a.expect(200, "GET", "/api/v1/statements?org=%d&month=%s&offset=%d" % (jz, month, len(st["lines"])))
assert past["lines"] == [] and past["gross"] == 30000, past
for bad in ("limit=0", "limit=10001", "limit=x", "offset=-1"):
    e = a.expect(400, "GET", "/api/v1/statements?org=%d&month=%s&%s" % (jz, month, bad))
    assert "limit" in e["message"] or "offset" in e["message"], e
owner = a.expect(200, "GET", "/api/v1/statements?owner_org=%d&month=%s" % (ecut, month))
assert owner["kind"] == "revenue" and owner["lines_total"] == len(owner["lines"]) > 0, owner
m = a.expect(200, "GET", "/api/v1/metrics?from=%s&to=%s&by=instrument" % (frm, to))["items"]
m = [x for x in m if x["instrument"] == "icp-ms-01"][0]
assert m["revenue"] == 35000 and m["voucher_amount"] == 10000, m
# close the month, then the internal rate changes: lines already made keep the rates in force
# when the use happened (SPEC 7) - nothing is re-priced, no adjustment
a.expect(200, "POST", "/api/v1/statements/close?month=%s" % month)
a.expect(409, "POST", "/api/v1/statements/close?month=%s" % month)
a.expect(200, "PATCH", "/api/v1/instruments/icp-ms-01", {"billing": {"rates": {"internal": 40000}}})
ch2 = a.expect(200, "GET", "/api/v1/charges")["items"]
assert ch2 == ch, ("a rate change re-priced past use", ch2)
# a correction that does change a closed month's line: dr.li's badge use was in fact eng.xu's
# booked slot, recorded after the fact by an admin; the closed month stays, the differences come
# as adjustment lines in the next open month
li_use = [u for u in a.expect(200, "GET", "/api/v1/usage?instrument=icp-ms-01")["items"]
          if u["attribution"] == "badge" and u["user_id"] == users["dr.li"]][0]
a.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "user_id": users["eng.xu"],
         "start": li_use["start"], "end": li_use["end"]})
ch2 = a.expect(200, "GET", "/api/v1/charges")["items"]
adj = sorted((c["org_id"], c["amount"]) for c in ch2 if c["kind"] == "adjustment")
assert len(adj) == 2 and all(c["month"] > month for c in ch2 if c["kind"] == "adjustment"), ch2
assert (ecut, -5000) in adj and any(o == jz and amt > 0 for o, amt in adj), adj
assert [c for c in ch2 if c["kind"] == "charge"] == [c for c in ch if c["kind"] == "charge"]
st_ecut = a.expect(200, "GET", "/api/v1/statements?org=%d&month=%s" % (ecut, month))
assert st_ecut["closed"] and st_ecut["gross"] == 5000, st_ecut   # the closed month did not change
total = sum(a.expect(200, "GET", "/api/v1/statements?org=%d&month=%s" % (o, mm))["gross"]
            for o in orgs for mm in {c["month"] for c in ch2})
assert total == sum(c["amount"] for c in ch2), (total, ch2)   # sum of statements = sum of charges
csv = a.call("GET", "/api/v1/charges?format=csv")[1]
assert csv.count("\r\n") == len(ch2) + 1 and csv.startswith("id,kind,source"), csv
print("billing: ok")
PY
pass "sessions, run time from counters, badge and booking attribution, booking completed"
cd "$ROOT"
out=$("$BIN/labshare-server" -c "$T/server.ini" usage-check) || fail "incremental usage differs: $out"
grep -q "usage rows recomputed from the readings, 0 differ" <<<"$out" || fail "usage-check: $out"
grep -Eq "^[1-9][0-9]* days of usage per instrument recomputed from the sessions, 0 differ" <<<"$out" \
    || fail "usage-check, the day sums: $out"
pass "usage-check: the incremental usage equals a recomputation from all readings ($out)"
stop gateway
stop server
echo "$CHECKS checks passed"
