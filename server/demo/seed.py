"""Seed the demo server from platform.json through the HTTP API (standard library only).

    python3 seed.py API_URL ADMIN_TOKEN PLATFORM_JSON PASSWORD GATEWAY_CREDENTIALS

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

api, token, platform_path, password, credentials_path = sys.argv[1:6]
METERED = ("icp-ms-01", "sem-01", "xrd-01", "nmr-600", "lcms-01")
platform = json.load(open(platform_path, encoding="utf-8"))


def call(method, path, body):
    req = urllib.request.Request(api + path, data=json.dumps(body).encode(), method=method)
    req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        sys.exit("seed: %s %s -> %s %s" % (method, path, e.code, e.read().decode()))


orgs = {}
for o in platform["orgs"]:
    orgs[o["key"]] = call("POST", "/api/v1/orgs", {"name": o["name"], "type": o["type"]})["id"]
users = {}
for u in platform["users"]:
    if u["username"] == "admin":
        continue
    body = {"username": u["username"], "org_id": orgs[u["org"]], "role": u["role"],
            "password": password}
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
        "booking": {"min_notice_minutes": 0},
        **({"gateway": "gw-ecut"} if i["id"] in METERED else {})})

gw = call("POST", "/api/v1/gateways", {"id": "gw-ecut", "name": "ECUT instrument hall",
                                       "org_id": orgs["ecut"]})
fd = os.open(credentials_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    f.write("username = %s\npassword = %s\n" % (gw["username"], gw["password"]))

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
            call("POST", "/api/v1/bookings", {
                "instrument": inst, "user_id": users[who], "project": "demo project",
                "start": s.isoformat(), "end": (s + datetime.timedelta(hours=2)).isoformat()})
            booked += 1
    if booked >= 30:
        break
