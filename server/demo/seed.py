"""Seed the demo server from platform.json through the HTTP API (standard library only).

    python3 seed.py API_URL ADMIN_TOKEN PLATFORM_JSON PASSWORD GATEWAY_CREDENTIALS [SESSIONS]
    python3 seed.py --after API_URL ADMIN_TOKEN PLATFORM_JSON PASSWORD SESSIONS

With SESSIONS (history.py's runs of a year of meter logs) the platform has lived that year: the
instruments joined before it, most runs were booked (recorded after the fact, so that usage is
attributed and charged as the readings come in), some were walk-ins by badge, some bookings were
no-shows or cancelled, outages were kept, the vouchers of platform.json were granted. --after,
once the gateway has delivered the year: ratings of completed bookings, a closed month with a
correction (an adjustment line), and requests of external users awaiting approval.

Creates the organisations, users (all with PASSWORD), instruments with their rates and billing
basis, registers the gateway gw-ecut (its MQTT username and password, shown once by the API,
go to the file GATEWAY_CREDENTIALS, mode 600, as an INI [uplink] fragment) and binds the five
metered instruments to it, and books a few slots for the coming days, as an admin would through
the API (so the audit log holds all of it). Prints nothing but errors.
"""
import os
import datetime
import json
import sys
import urllib.error
import urllib.request

AFTER = len(sys.argv) > 1 and sys.argv[1] == "--after"
if AFTER:
    api, token, platform_path, password, sessions_path = sys.argv[2:7]
    credentials_path = None
else:
    api, token, platform_path, password, credentials_path = sys.argv[1:6]
    sessions_path = sys.argv[6] if len(sys.argv) > 6 else None
METERED = ("icp-ms-01", "sem-01", "xrd-01", "nmr-600", "lcms-01")
HISTORY = json.load(open(sessions_path)) if sessions_path else None
NAMES = {"auditor.liu": "刘审计", "manager.chen": "陈主任", "manager.wang": "王主任",
         "manager.zhou": "周主任", "dr.li": "李博士", "dr.zhang": "张博士", "dr.huang": "黄博士",
         "eng.xu": "徐工", "eng.sun": "孙工", "dr.guo": "郭博士"}
# What each instrument does, as its lab would write it for the open catalog.
DESCRIPTIONS = {
    "icp-ms-01": "痕量与超痕量元素分析、同位素比值测定：矿石、稀土、环境水样与土壤中的金属元素。"
                 "Trace elements and isotope ratios in ores, rare earths, water and soil.",
    "sem-01": "样品表面形貌观察与微区成分分析（EDS）。Surface imaging and micro-area composition (EDS).",
    "xrd-01": "粉末与薄膜的物相鉴定与晶体结构分析。Phase identification and crystal structure of powders and films.",
    "tem-01": "材料微观结构、晶格像与电子衍射。Microstructure, lattice imaging and electron diffraction.",
    "nmr-600": "有机与生物分子结构解析，一维与二维谱。Structure of organic and biological molecules, 1D and 2D.",
    "confocal-01": "活细胞与组织的多通道荧光成像。Multi-channel fluorescence imaging of live cells and tissue.",
    "lcms-01": "小分子定量：药物、农残与代谢物。Quantitation of drugs, pesticide residues and metabolites.",
    "gcms-01": "挥发性与半挥发性有机物分析。Volatile and semi-volatile organic compounds.",
    "seq-01": "基因组、转录组与扩增子测序。Genome, transcriptome and amplicon sequencing.",
    "fcm-01": "细胞表型、周期与凋亡的多参数分析。Cell phenotype, cycle and apoptosis, multi-parameter.",
}
LOCATIONS = {"icp-ms-01": "分析测试中心 A101", "sem-01": "分析测试中心 B203", "xrd-01": "材料楼 112",
             "tem-01": "南昌大学 理科楼 305", "nmr-600": "南昌大学 核磁室", "confocal-01": "南昌大学 生命楼 210",
             "lcms-01": "江西省科学院 质谱室", "gcms-01": "江西省科学院 质谱室"}
platform = json.load(open(platform_path, encoding="utf-8"))


def call(method, path, body, tok=None, ok=(200, 201)):
    req = urllib.request.Request(api + path, data=json.dumps(body).encode() if body is not None else None,
                                 method=method)
    req.add_header("Authorization", "Bearer " + (tok or token))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        if e.code in ok:
            return None
        sys.exit("seed: %s %s -> %s %s" % (method, path, e.code, e.read().decode()))


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_token(name):
    """A bearer token of a demo user (they log in, then ask for one)."""
    req = urllib.request.Request(api + "/api/v1/login", method="POST",
                                 data=json.dumps({"username": name, "password": password}).encode())
    with urllib.request.urlopen(req, timeout=30) as r:
        cookie = r.headers["Set-Cookie"].split(";")[0]
        csrf = json.loads(r.read())["csrf_token"]
    req = urllib.request.Request(api + "/api/v1/tokens", method="POST", data=b"{}")
    req.add_header("Cookie", cookie)
    req.add_header("X-CSRF-Token", csrf)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["token"]


if AFTER:
    import random
    rng = random.Random(11)
    users = {u["username"]: u["id"] for u in call("GET", "/api/v1/users?limit=1000", None)["items"]}
    # ratings: researchers rate about half of their completed bookings
    for name in [u["username"] for u in platform["users"] if u["role"] == "researcher"]:
        tok = user_token(name)
        done = call("GET", "/api/v1/bookings?status=completed&limit=1000&user=%d" % users[name], None, tok)
        for b in done["items"]:
            if rng.random() < 0.5:
                call("POST", "/api/v1/bookings/%d/rating" % b["id"],
                     {"score": rng.choice((3, 4, 4, 5, 5, 5)), "comment": rng.choice(("", "数据质量好", "操作培训很细致", "排队时间略长"))},
                     tok, ok=(409, 422))
    # a closed month, and a correction to it afterwards: a walk-in of that month is found to have
    # been a booked session, recorded now; the difference is an adjustment in the next open month
    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
    m = (now.replace(day=1) - datetime.timedelta(days=70)).strftime("%Y-%m")
    call("GET", "/api/v1/charges?month=%s&limit=1" % m, None)
    call("POST", "/api/v1/statements/close?month=%s" % m, {}, ok=(409,))
    walk = [u for u in call("GET", "/api/v1/usage?month=%s&limit=10000" % m, None)["items"]
            if u["attribution"] == "badge" and u["user_id"]]
    if walk:
        u = walk[len(walk) // 2]
        q15 = 15 * 60
        st = datetime.datetime.fromisoformat(u["start"].replace("Z", "+00:00"))
        en = datetime.datetime.fromisoformat(u["end"].replace("Z", "+00:00"))
        st = st - datetime.timedelta(seconds=st.timestamp() % q15)
        en = en + datetime.timedelta(seconds=(-en.timestamp()) % q15)
        call("POST", "/api/v1/bookings", {"instrument": u["instrument"], "user_id": u["user_id"],
             "project": "补录", "start": st.strftime("%Y-%m-%dT%H:%M:%SZ"),
             "end": en.strftime("%Y-%m-%dT%H:%M:%SZ")}, ok=(409, 422))
    call("GET", "/api/v1/charges?limit=1", None)
    # requests of external users for the coming days, awaiting the owners' approval
    for k, (name, inst) in enumerate((("eng.xu", "icp-ms-01"), ("eng.sun", "sem-01"),
                                      ("dr.huang", "nmr-600"), ("eng.xu", "xrd-01"))):
        tok = user_token(name)
        day = now.replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(days=2 + k)
        while day.weekday() >= 5:
            day += datetime.timedelta(days=1)
        s = day + datetime.timedelta(hours=16)
        call("POST", "/api/v1/bookings", {"instrument": inst, "project": "委托测试 %d" % (k + 1),
             "start": s.isoformat(), "end": (s + datetime.timedelta(hours=1)).isoformat()}, tok, ok=(409, 422))
    # sample-testing orders (送样检测): companies send samples to ECUT, whose staff take them through.
    # ICP-MS charges 50 yuan a sample from now on (the year before is priced as it was).
    call("PATCH", "/api/v1/instruments/icp-ms-01", {"billing": {"per_sample": 5000}})
    chen = user_token("manager.chen")

    def order(name, inst, n, analysis, description, steps=(), reason=None):
        o = call("POST", "/api/v1/orders", {"instrument": inst, "samples": n, "analysis": analysis,
                 "description": description}, user_token(name))["id"]
        for st in steps:
            call("POST", "/api/v1/orders/%d/%s" % (o, st), {"reason": reason} if reason else {}, chen)
        return o

    done = order("eng.xu", "icp-ms-01", 6, "痕量金属（铅、镉、砷）", "土壤消解液 6 份，各 10 ml",
                 ("accept", "receive"))
    req = urllib.request.Request(api + "/api/v1/orders/%d/results?name=report-%d.txt" % (done, done),
                                 method="PUT", data=("检测报告 / Test report, order %d\n"
                                                     "Pb 12.1 mg/kg, Cd 0.31 mg/kg, As 8.7 mg/kg\n" % done).encode())
    req.add_header("Authorization", "Bearer " + chen)
    req.add_header("Content-Type", "text/plain; charset=utf-8")
    urllib.request.urlopen(req, timeout=30).read()
    call("POST", "/api/v1/orders/%d/complete" % done, {}, chen)
    # one with its work on the calendar on the next working day at noon
    work = order("eng.sun", "sem-01", 3, "断口形貌与能谱分析", "金属断口 3 件", ("accept", "receive"))
    day = now.replace(hour=12, minute=0, second=0, microsecond=0) + datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    call("POST", "/api/v1/orders/%d/schedule" % work, {"start": day.isoformat(),
         "end": (day + datetime.timedelta(hours=1)).isoformat()}, chen, ok=(409, 422))
    order("eng.xu", "xrd-01", 2, "物相分析", "粉末样品 2 份")               # waits to be accepted
    order("dr.huang", "icp-ms-01", 1, "汞含量", "水样 1 份", ("decline",),
          "本实验室不测汞，请送冷原子吸收实验室")
    sys.exit(0)

orgs = {}
for o in platform["orgs"]:
    orgs[o["key"]] = call("POST", "/api/v1/orgs", {"name": o["name"], "type": o["type"]})["id"]
users = {}
for u in platform["users"]:
    if u["username"] == "admin":
        continue
    body = {"username": u["username"], "org_id": orgs[u["org"]], "role": u["role"],
            "password": password, "display_name": NAMES.get(u["username"], u["username"])}
    if "badge" in u:
        body["badge"] = u["badge"]
    users[u["username"]] = call("POST", "/api/v1/users", body)["id"]
for i in platform["instruments"]:
    billing = {"basis": i.get("basis", "metered"), "rates": i["rates"]}
    if "per_sample" in i:
        billing["per_sample"] = i["per_sample"]
    call("POST", "/api/v1/instruments", {
        "id": i["id"], "name": i["name"], "org_id": orgs[i["org"]], "category": i["category"],
        "value_yuan": i["value_yuan"], "rated_hours": i["rated_hours"], "billing": billing,
        "booking": {"min_notice_minutes": 0}, "location": LOCATIONS.get(i["id"], ""),
        "description": DESCRIPTIONS.get(i["id"], ""),
        **({"joined": iso(HISTORY["from"] - 86400000)} if HISTORY else {}),
        **({"gateway": "gw-ecut"} if i["id"] in METERED else {})})
for v in platform.get("vouchers", []):
    year = datetime.date.today().year
    for y in {year, year - 1}:
        call("POST", "/api/v1/vouchers", {"org_id": orgs[v["org"]], "percent": v["percent"],
             "annual_cap": v["annual_cap"], "valid_from": "%d-01-01" % y, "valid_to": "%d-12-31" % y})

gw = call("POST", "/api/v1/gateways", {"id": "gw-ecut", "name": "ECUT instrument hall",
                                       "org_id": orgs["ecut"]})
fd = os.open(credentials_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    f.write("username = %s\npassword = %s\n" % (gw["username"], gw["password"]))

if HISTORY:
    import random
    rng = random.Random(7)
    badge_user = {u["badge"]: users[u["username"]] for u in platform["users"] if "badge" in u}
    q15 = 15 * 60000
    last_end = {}
    for n, sess in enumerate(HISTORY["sessions"]):
        inst, r = sess["instrument"], rng.random()
        start, end = sess["start"] // q15 * q15, -(-sess["end"] // q15) * q15
        if start < last_end.get(inst, 0):
            continue
        if r < 0.78:       # booked (recorded now, after the fact: completed once metered)
            call("POST", "/api/v1/bookings", {"instrument": inst, "user_id": badge_user[sess["badge"]],
                 "project": "课题 %d" % (n % 17 + 1), "start": iso(start), "end": iso(end)}, ok=(409,))
            last_end[inst] = end
        # else: a walk-in, used by badge without a booking
    # no-shows and cancellations on working mornings the instrument stood idle
    busy = {}
    for sess in HISTORY["sessions"]:
        busy.setdefault(sess["instrument"], []).append((sess["start"] - 3600000, sess["end"] + 3600000))
    researchers_ids = [users[u["username"]] for u in platform["users"] if u["role"] == "researcher"]
    for inst in METERED:
        for k in range(8 if inst != "xrd-01" else 2):
            day = HISTORY["from"] + rng.randint(5, 340) * 86400000
            s0 = (day + 8 * 3600000) // 86400000 * 86400000 + 2 * 3600000   # 10:00 local
            if any(a < s0 + 3600000 and s0 < b for a, b in busy.get(inst, [])):
                continue
            b = call("POST", "/api/v1/bookings", {"instrument": inst, "user_id": rng.choice(researchers_ids),
                     "start": iso(s0), "end": iso(s0 + 3600000)}, ok=(409,))
            if b and k % 3 == 2:
                call("POST", "/api/v1/bookings/%d/cancel" % b["id"], {"reason": "课题组调整计划"})
            busy.setdefault(inst, []).append((s0, s0 + 3600000))
        # an outage a quarter, on a Sunday night
        for qtr in range(4):
            day = HISTORY["from"] + (qtr * 91 + 10) * 86400000
            while ((day + 8 * 3600000) // 86400000 + 3) % 7 != 6:
                day += 86400000
            s0 = (day + 8 * 3600000) // 86400000 * 86400000 - 8 * 3600000 + 3600000   # 01:00 local
            if not any(a < s0 + 4 * 3600000 and s0 < b for a, b in busy.get(inst, [])):
                call("POST", "/api/v1/instruments/%s/outages" % inst, {"start": iso(s0),
                     "end": iso(s0 + 4 * 3600000), "kind": "maintenance" if qtr % 2 else "breakdown",
                     "note": "季度维护" if qtr % 2 else "真空泵故障"})

# A few bookings on the next working days, 09:00-11:00 and 14:00-16:00 Beijing time.
day = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).replace(
    hour=0, minute=0, second=0, microsecond=0)
researchers = [u["username"] for u in platform["users"] if u["role"] == "researcher"]
booked = 0
for d in range(1, 8):
    date = day + datetime.timedelta(days=d)
    if date.weekday() >= 5:
        continue
    for k, inst in enumerate(("icp-ms-01", "sem-01", "xrd-01", "nmr-600", "lcms-01")):
        for start_h in (9, 14):
            who = researchers[(d + k + start_h) % len(researchers)]
            s = date + datetime.timedelta(hours=start_h)
            # a slot the history already booked (its future bookings fall at 10:00) stays theirs
            if call("POST", "/api/v1/bookings", {
                    "instrument": inst, "user_id": users[who], "project": "demo project",
                    "start": s.isoformat(), "end": (s + datetime.timedelta(hours=2)).isoformat()},
                    ok=(409,)) is not None:
                booked += 1
    if booked >= 30:
        break
