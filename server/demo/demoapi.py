"""A demo user's session on the LabShare API (standard library only), for roles.py and
review.py."""
import json
import urllib.request


class Api:
    def __init__(self, url, password):
        self.url, self.password = url, password

    def session(self, name):
        req = urllib.request.Request(self.url + "/api/v1/login", method="POST",
                                     data=json.dumps({"username": name, "password": self.password}).encode())
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.headers["Set-Cookie"].split(";")[0]

    def raw(self, cookie, path):
        req = urllib.request.Request(self.url + path)
        req.add_header("Cookie", cookie)
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.read()

    def get(self, cookie, path):
        return json.loads(self.raw(cookie, path))
