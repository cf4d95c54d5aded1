"""The new-purchase review against the demo year (standard library only): for two categories the
verdict of GET /purchase-review is computed again here from GET /metrics and GET /instruments
(rated minus metered hours of the comparable metered instruments, 80 % of the spare counted),
and the two must agree - diffraction has the capacity, microscopy does not. Used by `make run`'s
check and its test.

    python3 review.py API_URL PASSWORD
"""
import csv
import datetime
import io
import sys
import urllib.parse

import demoapi

api, password = sys.argv[1], sys.argv[2]
BAND, SHARE = 0.5, 0.8  # the [evaluation] defaults

API = demoapi.Api(api, password)
session, get = API.session, API.get

liu = session("auditor.liu")
today = datetime.date.today()
to = today.replace(day=1)
frm = to.replace(year=to.year - 1)
figures = {m["instrument"]: m for m in get(liu, "/api/v1/metrics?by=instrument&from=%s&to=%s" % (frm, to))["items"]}
instruments = get(liu, "/api/v1/instruments?limit=1000")["items"]
ok = True
for category, value, hours, want in (("diffraction", 1500000, 500, "existing capacity suffices"),
                                     ("microscopy", 3000000, 800, "purchase justified")):
    lo, hi = value / (1 + BAND), value * (1 + BAND)
    spare = 0.0
    names = []
    for i in instruments:
        if i["category"].strip().lower() != category or not lo <= i["value_yuan"] <= hi:
            continue
        names.append(i["id"])
        if i.get("gateway") and i["id"] in figures:
            f = figures[i["id"]]
            spare += max(0.0, f["rated_hours"] - f["effective_hours"])
    mine = "existing capacity suffices" if names and spare * SHARE >= hours else "purchase justified"
    r = get(liu, "/api/v1/purchase-review?" + urllib.parse.urlencode(
        {"category": category, "value_yuan": value, "expected_hours": hours}))
    theirs = r["verdict"]
    agree = (mine == theirs == want and sorted(x["instrument"] for x in r["items"]) == sorted(names)
             and abs(r["totals"]["spare_hours"] - spare) < 1)
    rows = list(csv.DictReader(io.StringIO(API.raw(liu, "/api/v1/purchase-review?" + urllib.parse.urlencode(
        {"category": category, "value_yuan": value, "expected_hours": hours, "format": "csv"})).decode())))
    agree = agree and sorted(x["instrument"] for x in rows) == sorted(names) and \
        all(x["verdict"] == want for x in rows)
    ok = ok and agree
    print("purchase review: %s at %d yuan for %d h: %s (%s; spare %.0f h, recomputed %.0f h) %s"
          % (category, value, hours, theirs, ", ".join(sorted(names)), r["totals"]["spare_hours"],
             spare, "as recomputed" if agree else "DISAGREES (recomputed: %s)" % mine))
# the public summary (no login): per category of the public instruments, the metered ones' spare
# hours over the same months, recomputed here from the auditor's figures
cap = {c["category"]: c for c in API.get("", "/api/v1/catalog/capacity")["items"]}
for category in ("diffraction", "microscopy"):
    pub = [i for i in instruments if i["category"].strip().lower() == category and i["public"]]
    metered = [i for i in pub if i.get("gateway") and i["id"] in figures]
    spare = sum(max(0.0, figures[i["id"]]["rated_hours"] - figures[i["id"]]["effective_hours"]) for i in metered)
    c = cap.get(category, {})
    agree = c.get("instruments") == len(pub) and c.get("metered") == len(metered) and \
        abs(c.get("spare_hours", -1e9) - spare) < 1
    ok = ok and agree
    print("capacity by category: %s %d instruments, %d metered, %.0f spare h %s" % (
        category, c.get("instruments", 0), c.get("metered", 0), c.get("spare_hours", 0),
        "as recomputed" if agree else "DISAGREES (recomputed %d, %d, %.0f)" % (len(pub), len(metered), spare)))
sys.exit(0 if ok else 1)
