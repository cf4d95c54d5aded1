"""What each demo login sees first, in figures (standard library only): used by `make run`'s
check and its test, and a quick look for a person.

    python3 roles.py API_URL PASSWORD
"""
import datetime
import sys

import demoapi

api, password = sys.argv[1], sys.argv[2]

API = demoapi.Api(api, password)
session, get = API.session, API.get

year = datetime.date.today().year
chen, liu, li = session("manager.chen"), session("auditor.liu"), session("dr.li")
me = get(chen, "/api/v1/me")
revenue = sum(c["amount"] for c in get(chen, "/api/v1/charges?owner_org=%d&limit=10000" % me["org_id"])["items"])
queue = get(chen, "/api/v1/bookings?status=pending")["total"]
util = [m["utilization"] for m in get(chen, "/api/v1/metrics?from=%d-01-01&to=%d-01-01" % (year - 1, year + 1))["items"]]
print("manager.chen: revenue %.2f CNY from ECUT's instruments, %d requests to decide, utilization %s"
      % (revenue / 100, queue, sorted(util)))
grades = sorted({e["grade"] for e in get(liu, "/api/v1/evaluation?year=%d" % year)["items"]})
closed = [x for x in get(liu, "/api/v1/audit-log?action=statements.close&limit=100")["items"]]
print("auditor.liu: grades %s, %d audit records, %d month closings" % (
    grades, get(liu, "/api/v1/audit-log?limit=1")["total"], len(closed)))
mine = get(li, "/api/v1/bookings?limit=1")["total"]
paid = sum(c["amount"] for c in get(li, "/api/v1/charges?limit=10000")["items"])
print("dr.li: %d bookings, charges of %.2f CNY" % (mine, paid / 100))
ok = revenue > 0 and queue > 0 and len(grades) >= 3 and mine > 0 and paid > 0 and max(util) > 0.3
print("roles: %s" % ("every role has real work" if ok else "SOMETHING IS EMPTY"))
sys.exit(0 if ok else 1)
