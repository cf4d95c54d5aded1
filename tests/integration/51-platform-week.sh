#!/usr/bin/env bash
# A scripted stretch of platform life through simulator -> gateway -> broker -> server, with
# organisations of every type, three instruments on the three billing bases (one a plain power
# meter), bookings recorded after the fact, a no-show, badge use without a booking, an outage
# and an innovation voucher. Every metric, charge, statement and grade is then computed again
# here, independently, from the usage, bookings and instrument settings, and must agree.
# postgresql (tests/run.sh runs it again with the server on PostgreSQL)
. "$(dirname "$0")/lib.sh"

start_broker
SERVER_EXTRA_INI=$'[metrics]\nmerge_gap_s = 1\nno_show_min_run_s = 1\n[evaluation]\nreward_excellent = 3000\nreward_good = 2000\nreward_pass = 1000'
start_server
export API TOKEN
cat >"$T/icp.txt" <<'SC'
0  state=idle
2  state=running badge=1001
5  state=idle badge=0 samples+=4
7  state=running badge=2001
10 state=idle badge=0 samples+=2
SC
cat >"$T/sem.txt" <<'SC'
0 state=idle
3 state=running badge=1003
6 state=idle badge=0 samples+=1
SC
cat >"$T/xrd.txt" <<'SC'
0 state=idle power_w=40
1 state=running power_w=1500
5 state=idle power_w=40
SC
PORT=$(free_port)
cat >"$T/fleet.txt" <<FLEET
icp-ms-01 tcp 127.0.0.1:$PORT unit=1 scenario=icp.txt
sem-01    tcp 127.0.0.1:$PORT unit=2 scenario=sem.txt
xrd-01    tcp 127.0.0.1:$PORT unit=3 scenario=xrd.txt profile=power-meter
FLEET
( cd "$ROOT/tests/integration" && python3 - <<'PY' ) || fail "seeding"
from api import admin, PASSWORD
a = admin()
orgs = {}
for name, typ in (("ECUT", "university"), ("JXAS", "institute"), ("Jiangzhong", "enterprise"), ("STDEPT", "government")):
    orgs[name] = a.expect(201, "POST", "/api/v1/orgs", {"name": name, "type": typ})["id"]
for user, org, badge in (("dr.li", "ECUT", 1001), ("dr.huang", "JXAS", 1003), ("eng.xu", "Jiangzhong", 2001), ("gov.wu", "STDEPT", None)):
    body = {"username": user, "org_id": orgs[org], "role": "researcher", "password": PASSWORD}
    if badge:
        body["badge"] = badge
    a.expect(201, "POST", "/api/v1/users", body)
rates = {"internal": 20000, "academic": 40000, "industry": 60000}
import datetime
joined = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
a.expect(201, "POST", "/api/v1/instruments", {"id": "icp-ms-01", "name": "ICP-MS", "org_id": orgs["ECUT"], "joined": joined,
    "billing": {"basis": "metered", "increment_min": 1, "rates": rates, "per_sample": 500}})
a.expect(201, "POST", "/api/v1/instruments", {"id": "sem-01", "name": "SEM", "org_id": orgs["ECUT"], "joined": joined,
    "billing": {"basis": "booked", "increment_min": 1, "rates": rates, "no_show_fraction": 0.5}})
a.expect(201, "POST", "/api/v1/instruments", {"id": "xrd-01", "name": "XRD", "org_id": orgs["JXAS"], "rated_hours": 800, "joined": joined,
    "billing": {"basis": "max", "increment_min": 15, "minimum_min": 30, "rates": rates}})
PY
register_gateway gw-hall
bind_instruments gw-hall icp-ms-01 sem-01 xrd-01
t0=$(date +%s%3N)
start sims "$BIN/labshare-meter-sim" --fleet "$T/fleet.txt"
wait_for 10 port_open "$PORT" || fail "simulators"
gateway_ini "$T/gw.ini" gw-hall "heartbeat_s = 1"
cat >>"$T/gw.ini" <<CONF
[modbus:icp-ms-01]
tcp = 127.0.0.1:$PORT
unit = 1
poll_ms = 100
timeout_ms = 90
[modbus:sem-01]
tcp = 127.0.0.1:$PORT
unit = 2
poll_ms = 100
timeout_ms = 90
[modbus:xrd-01]
tcp = 127.0.0.1:$PORT
unit = 3
poll_ms = 100
timeout_ms = 90
word_order = little
power_w = ir:12:f32
energy_wh = ir:342:f32*1000
start_w = 1000
stop_w = 500
CONF
start gateway "$BIN/labshare-gateway" -c "$T/gw.ini"
closed() { api "/api/v1/usage?limit=1000" | json 'sum(1 for u in j["items"] if not u["open"]) >= 4 and all(not u["open"] for u in j["items"])' | grep -q True; }
wait_for 30 closed || fail "sessions did not close: $(api '/api/v1/usage')"
sleep 1.5 # readings past the last booking's end settle it
export T0=$t0
cd "$ROOT/tests/integration"
python3 - <<'PY' || fail "the platform's figures"
import datetime, math, os
from api import admin
a = admin()
t0 = int(os.environ["T0"])
iso = lambda ms: datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
users = {u["username"]: u for u in a.expect(200, "GET", "/api/v1/users?limit=100")["items"]}
orgs = {o["id"]: o for o in a.expect(200, "GET", "/api/v1/orgs")["items"]}
# bookings recorded after the fact, an outage and a voucher
def book(inst, user, s, e):
    return a.expect(201, "POST", "/api/v1/bookings", {"instrument": inst, "user_id": users[user]["id"],
                    "start": iso(t0 + s), "end": iso(t0 + e)})["id"]
b_xu = book("icp-ms-01", "eng.xu", 6500, 10500)
b_huang = book("sem-01", "dr.huang", 2500, 7000)
b_wu = book("sem-01", "gov.wu", 8000, 9000)            # nobody comes: a no-show
year = datetime.date.today().year
jz = [o["id"] for o in orgs.values() if o["name"] == "Jiangzhong"][0]
a.expect(201, "POST", "/api/v1/vouchers", {"org_id": jz, "percent": 50, "annual_cap": 100000000,
    "valid_from": "%d-01-01" % year, "valid_to": "%d-12-31" % year})
frm, to = t0 - 1800000, t0 + 1800000                   # the hour around it all
a.expect(201, "POST", "/api/v1/instruments/xrd-01/outages", {"start": iso(t0 + 600000), "end": iso(t0 + 1200000), "kind": "maintenance"})
a.expect(201, "POST", "/api/v1/instruments/xrd-01/outages", {"start": iso(t0 + 900000), "end": iso(t0 + 1500000), "kind": "breakdown"})

usage = a.expect(200, "GET", "/api/v1/usage?limit=1000")["items"]
bookings = {b["id"]: b for b in a.expect(200, "GET", "/api/v1/bookings?limit=1000")["items"]}
insts = {i["id"]: i for i in a.expect(200, "GET", "/api/v1/instruments")["items"]}
uorg = {u["id"]: u["org_id"] for u in users.values()}
print("usage", [(u["instrument"], u["attribution"], u["user_id"], u["run_seconds"], u["samples"]) for u in usage])
assert bookings[b_wu]["status"] == "no_show", bookings[b_wu]
assert bookings[b_xu]["status"] == "completed" and bookings[b_huang]["status"] == "completed", bookings

# --- metrics, computed here -----------------------------------------------------------------
def ms(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000
expect = {}
for iid, inst in insts.items():
    parts = [u for u in usage if u["instrument"] == iid]
    eff = sum(u["run_seconds"] for u in parts) / 3600
    ext = sum(u["run_seconds"] for u in parts if u["user_id"] and uorg[u["user_id"]] != inst["org_id"]) / 3600
    outage_h = 15 / 60 if iid == "xrd-01" else 0        # 10:00-20:00 and 15:00-25:00: a 15-minute union
    rated = inst["rated_hours"] * (1 / 24 - outage_h / 24) / 365
    bk = [b for b in bookings.values() if b["instrument"] == iid and b["status"] in ("confirmed", "completed", "no_show")]
    expect[iid] = dict(effective_hours=eff, external_hours=ext, rated_hours=rated,
                       sharing_rate=ext / eff if eff else 0, utilization=eff / rated,
                       bookings_ended=len(bk), no_show_count=sum(b["status"] == "no_show" for b in bk))
got = {m["instrument"]: m for m in a.expect(200, "GET", "/api/v1/metrics?from=%s&to=%s&by=instrument" % (iso(frm), iso(to)))["items"]}
for iid, e in expect.items():
    for k, v in e.items():
        tol = 0.0006 if k.endswith("hours") else 0.02 * max(1, abs(v))
        assert abs(got[iid][k] - v) <= tol, (iid, k, got[iid][k], v)
print("metrics agree:", {i: round(got[i]["effective_hours"] * 3600, 1) for i in got})
# the same use over whole local days is read from the day sums (rollup.h), not the sessions: the
# same effective and external hours
import zoneinfo
tz = zoneinfo.ZoneInfo("Asia/Shanghai")
d0 = datetime.datetime.fromtimestamp(frm / 1000, tz).replace(hour=0, minute=0, second=0, microsecond=0)
d1 = datetime.datetime.fromtimestamp(to / 1000, tz).replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(days=1)
days = {m["instrument"]: m for m in a.expect(200, "GET", "/api/v1/metrics?from=%s&to=%s&by=instrument" % (d0.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), d1.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")))["items"]}
for iid, e in expect.items():
    for k in ("effective_hours", "external_hours"):
        assert abs(days[iid][k] - e[k]) <= 0.0006, (iid, k, days[iid][k], e[k])
print("over whole days too:", {i: round(days[i]["effective_hours"] * 3600, 1) for i in days})
# and over whole months, from the month sums
z = lambda d: d.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
m0 = d0.replace(day=1)
m1 = ((d1 - datetime.timedelta(days=1)).replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
months = {m["instrument"]: m for m in a.expect(200, "GET", "/api/v1/metrics?from=%s&to=%s&by=instrument" % (z(m0), z(m1)))["items"]}
for iid, e in expect.items():
    for k in ("effective_hours", "external_hours"):
        assert abs(months[iid][k] - e[k]) <= 0.0006, (iid, k, months[iid][k], e[k])
    # bookings, no-shows and money too, from their month sums: as the hour's (all of it is there)
    for k in ("booked_hours", "bookings_ended", "no_show_count", "revenue", "voucher_amount"):
        assert abs(months[iid][k] - got[iid][k]) <= 0.0006, (iid, k, months[iid][k], got[iid][k])
# org totals are sums, rates from sums
ecut = [o for o in orgs if orgs[o]["name"] == "ECUT"][0]
org_m = [m for m in a.expect(200, "GET", "/api/v1/metrics?from=%s&to=%s&by=org" % (iso(frm), iso(to)))["items"] if m["org_id"] == ecut][0]
e_eff = expect["icp-ms-01"]["effective_hours"] + expect["sem-01"]["effective_hours"]
e_ext = expect["icp-ms-01"]["external_hours"] + expect["sem-01"]["external_hours"]
assert abs(org_m["effective_hours"] - e_eff) < 0.0006 and abs(org_m["sharing_rate"] - e_ext / e_eff) < 0.05, org_m

# --- charges, computed here -----------------------------------------------------------------
def category(user_id, owner):
    if uorg[user_id] == owner: return "internal"
    return "industry" if orgs[uorg[user_id]]["type"] == "enterprise" else "academic"
def minutes(sec, inc, minimum):
    m = math.ceil(sec / (inc * 60)) * inc if sec > 0 else 0
    return max(m, minimum)
want = {}
for b in bookings.values():
    if b["status"] not in ("completed", "no_show"): continue
    inst = insts[b["instrument"]]; bill = inst["billing"]
    cat = category(b["user_id"], inst["org_id"]); rate = bill["rates"][cat]
    booked_s = (ms(b["end"]) - ms(b["start"])) / 1000
    booked = minutes(booked_s, bill["increment_min"], bill["minimum_min"])
    metered = minutes(b["metered_seconds"], bill["increment_min"], bill["minimum_min"])
    samples = sum(u["samples"] for u in usage if u["booking_id"] == b["id"])
    if b["status"] == "no_show":
        amount = math.floor(rate * booked * bill["no_show_fraction"] / 60 + 0.5)
    else:
        m = {"booked": booked, "metered": metered, "max": max(booked, metered)}[bill["basis"]]
        amount = math.floor(rate * m / 60 + 0.5) + samples * bill["per_sample"]
    want["booking/%d" % b["id"]] = (cat, amount)
for u in usage:   # use without a booking, attributed by badge: the metered basis
    if u["attribution"] != "badge": continue
    inst = insts[u["instrument"]]; bill = inst["billing"]
    cat = category(u["user_id"], inst["org_id"])
    m = minutes(u["run_seconds"], bill["increment_min"], bill["minimum_min"])
    want["usage/%s/%d" % (u["instrument"], round(ms(u["start"])))] = (
        cat, math.floor(bill["rates"][cat] * m / 60 + 0.5) + u["samples"] * bill["per_sample"])
charges = a.expect(200, "GET", "/api/v1/charges?limit=1000")["items"]
got_c = {c["source"]: (c["category"], c["amount"]) for c in charges}
assert got_c == want, (got_c, want)
assert len([s for s in want if s.startswith("usage/")]) == 1, want   # dr.li's run without a booking
print("charges agree:", sorted((c["source"], c["category"], c["amount"], c["voucher"]) for c in charges))
# vouchers: Jiangzhong's lines on other organisations' instruments carry 50 %, rounded down
for c in charges:
    exp_v = c["amount"] * 50 // 100 if c["org_id"] == jz else 0
    assert c["voucher"] == exp_v, c
# statements: per organisation and month, totals are the sums of the lines; all statements = all charges
months = {c["month"] for c in charges}
total = 0
for o in orgs:
    for mth in months:
        st = a.expect(200, "GET", "/api/v1/statements?org=%d&month=%s" % (o, mth))
        lines = [c for c in charges if c["org_id"] == o and c["month"] == mth]
        assert st["gross"] == sum(c["amount"] for c in lines) and st["voucher"] == sum(c["voucher"] for c in lines), st
        assert st["payable"] == st["gross"] - st["voucher"]
        total += st["gross"]
assert total == sum(c["amount"] for c in charges)

# --- grades: a year of a few seconds -------------------------------------------------------------
ev = {e["instrument"]: e for e in a.expect(200, "GET", "/api/v1/evaluation?year=%d&by=instrument" % year)["items"]}
for iid, e in ev.items():
    share = e["sharing_rate"]
    total_pts = 40 * min(1, e["utilization"] / 1.0) + 40 * min(1, share / 0.2) + \
        10 * (1 - e["no_show_rate"]) + 10 * ((e["avg_rating"] or 5) / 5)
    grade = "excellent" if total_pts >= 90 else "good" if total_pts >= 75 else "pass" if total_pts >= 60 else "poor"
    assert abs(e["total"] - total_pts) < 0.01 and e["grade"] == grade, (iid, e, total_pts)
    reward = {"excellent": 3000, "good": 2000, "pass": 1000, "poor": 0}[grade]
    assert e["reward"] == math.floor(reward * e["external_hours"] + 0.5), e
print("grades agree:", {i: (e["total"], e["grade"]) for i, e in ev.items()})
PY
pass "metrics, charges, vouchers, statements and grades agree with an independent computation"
cd "$ROOT"
"$BIN/labshare-server" -c "$T/server.ini" usage-check >/dev/null || fail "usage-check"
stop gateway
stop sims
stop server
echo "$CHECKS checks passed"
