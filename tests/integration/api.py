"""A small HTTP client for the integration tests (standard library only).

Used by the NN-*.sh scripts as `python3 tests/integration/api.py` helpers: it talks to the
real labshare-server over HTTP on loopback, nothing is mocked.
"""
import datetime
import http.client
import json
import os
import subprocess
import urllib.error
import urllib.request


def sdb(sql):
    """Run one SQL statement on the server's database, SERVER_DB (lib.sh): a SQLite file or a
    postgresql:// URL. The rows, each a list of strings."""
    url = os.environ["SERVER_DB"]
    if url.startswith("postgresql:"):
        cmd = ["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]
    else:
        cmd = ["sqlite3", "-separator", "\t", url, sql]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


class _SourceHandler(urllib.request.HTTPHandler):
    """Connects from a chosen loopback address (127.0.0.0/8 is all ours), so a test can be many
    clients."""

    def __init__(self, source):
        super().__init__()
        self.source = source

    def http_open(self, req):
        return self.do_open(lambda host, **kw: http.client.HTTPConnection(
            host, source_address=(self.source, 0), **kw), req)


class Api:
    def __init__(self, base, token=None, source=None):
        self.base = base.rstrip("/")
        self.token = token
        self.cookie = None
        self.csrf = None
        self.opener = urllib.request.build_opener(_SourceHandler(source)) if source else None

    def call(self, method, path, body=None, raw=None, headers=None):
        """Returns (status, parsed JSON or text)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        if self.cookie:
            req.add_header("Cookie", self.cookie)
            if self.csrf:
                req.add_header("X-CSRF-Token", self.csrf)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with (self.opener.open(req, timeout=30) if self.opener
                  else urllib.request.urlopen(req, timeout=30)) as r:
                status, text, hdrs = r.status, r.read().decode(), r.headers
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read().decode(), e.headers
        self.last_headers = hdrs
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def fetch(self, path):
        """GET path as bytes: (status, body, headers) - for files, not JSON."""
        req = urllib.request.Request(self.base + path)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        if self.cookie:
            req.add_header("Cookie", self.cookie)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body=None):
        return self.call("POST", path, body if body is not None else {})

    def patch(self, path, body):
        return self.call("PATCH", path, body)

    def login(self, username, password):
        status, body = self.call("POST", "/api/v1/login", {"username": username, "password": password})
        if status == 200:
            cookie = self.last_headers.get("Set-Cookie", "")
            self.cookie = cookie.split(";")[0]
            self.csrf = body["csrf_token"]
        return status, body

    def expect(self, status, method, path, body=None):
        got, answer = self.call(method, path, body)
        assert got == status, "%s %s -> %s (wanted %s): %s" % (method, path, got, status, answer)
        return answer


def admin():
    return Api(os.environ["API"], os.environ["TOKEN"])


PASSWORD = "correct horse battery staple"


def seed(a):
    """A small platform: two universities, an enterprise, their people, two instruments."""
    ids = {}
    for name, typ in (("ECUT", "university"), ("NCU", "university"), ("Jiangzhong", "enterprise")):
        ids[name] = a.expect(201, "POST", "/api/v1/orgs", {"name": name, "type": typ})["id"]
    people = (("mgr.chen", "ECUT", "manager"), ("mgr.wang", "NCU", "manager"),
              ("dr.li", "ECUT", "researcher"), ("dr.zhang", "NCU", "researcher"),
              ("eng.xu", "Jiangzhong", "researcher"), ("auditor.liu", "ECUT", "auditor"))
    for user, org, role in people:
        ids[user] = a.expect(201, "POST", "/api/v1/users", {
            "username": user, "org_id": ids[org], "role": role, "password": PASSWORD})["id"]
    every_day = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    # on the platform for a year already (rated hours count from the day an instrument joined)
    joined = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    a.expect(201, "POST", "/api/v1/instruments", {
        "id": "icp-ms-01", "name": "ICP-MS", "org_id": ids["ECUT"], "category": "mass spectrometry", "joined": joined,
        "service_hours": every_day, "booking": {"min_notice_minutes": 0, "max_future_bookings": 1000},
        "billing": {"basis": "metered", "rates": {"internal": 20000, "academic": 40000, "industry": 60000}}})
    a.expect(201, "POST", "/api/v1/instruments", {
        "id": "tem-01", "name": "TEM", "org_id": ids["NCU"], "public": False, "service_hours": every_day, "joined": joined,
        "booking": {"min_notice_minutes": 0}})
    return ids


def user(name):
    u = Api(os.environ["API"])
    status, body = u.login(name, PASSWORD)
    assert status == 200, (name, status, body)
    return u
