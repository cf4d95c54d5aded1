#!/usr/bin/env bash
# Notifications through real peers: e-mails to a real SMTP server (Debian's aiosmtpd, a Maildir
# sink started here) in each user's language, with .ics invitations and cancellations, reminders,
# opt-outs and the managers' digest; an organisation's webhook, each delivery's HMAC checked here
# and the first one refused so that it is retried. The SMTP server is then down while mail is
# queued, the server is killed (SIGKILL) and restarted, the SMTP server comes back: every mail
# arrives exactly once.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3   # Debian's, with python3-aiosmtpd and python3-icalendar
SMTP_PORT=$(free_port)
HOOK_PORT=$(free_port)
while [ "$HOOK_PORT" = "$SMTP_PORT" ]; do HOOK_PORT=$(free_port); done
# (aiosmtpd's Mailbox makes the Maildir: an empty folder there would not be one)
start smtp "$PY" -m aiosmtpd -n -c aiosmtpd.handlers.Mailbox "$T/maildir" -l "127.0.0.1:$SMTP_PORT"
wait_for 10 port_open "$SMTP_PORT" || fail "SMTP sink did not start: $(cat "$T/smtp.log")"
# the webhook's receiver: keeps each delivery (headers and body), refuses the very first with 500
cat >"$T/hook.py" <<'PY'
import http.server, json, os, sys
out = sys.argv[2]
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        n[0] += 1
        with open(os.path.join(out, "%04d.json" % n[0]), "w") as f:
            json.dump({"headers": dict(self.headers), "body": body.decode()}, f)
        self.send_response(500 if n[0] == 1 else 204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
mkdir -p "$T/hooks"
start hook "$PY" "$T/hook.py" "$HOOK_PORT" "$T/hooks"
wait_for 10 port_open "$HOOK_PORT" || fail "webhook receiver did not start"

start_broker
SERVER_EXTRA_INI="[server]
platform_name = Jiangxi Sharing Platform
[mail]
host = 127.0.0.1
port = $SMTP_PORT
from = LabShare <noreply@labshare.test>
[notify]
remind_minutes = 60
digest_hour = 0
retry_min_s = 1
retry_max_s = 2
webhook_private = 1"
start_server
export API TOKEN HOOK_PORT T
cd "$ROOT/tests/integration"
"$PY" - <<'PY' || fail "events"
import datetime, os
from api import admin, seed, user
a = admin()
ids = seed(a)
# addresses, languages, opt-outs; bad ones change nothing
for name, mail, lang in (("dr.li", "li@ecut.test", "en"), ("dr.zhang", "zhang@ncu.test", "zh"),
                         ("eng.xu", "xu@jiangzhong.test", "en"), ("mgr.chen", "chen@ecut.test", "en"),
                         ("mgr.wang", "wang@ncu.test", "zh")):
    u = a.expect(200, "PATCH", "/api/v1/users/%d" % ids[name], {"email": mail, "lang": lang})
    assert (u["email"], u["lang"], u["mail_opt_out"]) == (mail, lang, []), u
li = user("dr.li")
u = li.expect(200, "PATCH", "/api/v1/users/%d" % ids["dr.li"], {"mail_opt_out": ["booking.reminder"]})
assert u["mail_opt_out"] == ["booking.reminder"], u
for bad in ({"email": "li at ecut"}, {"email": "li@ecut.test\r\nBcc: x@y"}, {"email": "<li@ecut.test>"},
            {"lang": "fr"}, {"mail_opt_out": ["nope"]}, {"mail_opt_out": "booking.reminder"}):
    li.expect(400, "PATCH", "/api/v1/users/%d" % ids["dr.li"], bad)
assert a.expect(200, "GET", "/api/v1/users/%d" % ids["dr.li"])["email"] == "li@ecut.test"
# ECUT's webhook: its manager sets it; nobody else
chen = user("mgr.chen")
hook = {"url": "http://127.0.0.1:%s/labshare" % os.environ["HOOK_PORT"], "secret": "s3cret-of-ecut-0123456789"}
user("dr.li").expect(403, "PUT", "/api/v1/orgs/%d/webhook" % ids["ECUT"], hook)
user("mgr.wang").expect(403, "PUT", "/api/v1/orgs/%d/webhook" % ids["ECUT"], hook)
chen.expect(400, "PUT", "/api/v1/orgs/%d/webhook" % ids["ECUT"], {"url": "ftp://x.test/y", "secret": hook["secret"]})
chen.expect(400, "PUT", "/api/v1/orgs/%d/webhook" % ids["ECUT"], {"url": hook["url"], "secret": "short"})
w = chen.expect(200, "PUT", "/api/v1/orgs/%d/webhook" % ids["ECUT"], hook)
assert w == {"url": hook["url"], "secret_set": True}, w
log = a.expect(200, "GET", "/api/v1/audit-log?action=org.webhook")["items"]
assert log and hook["secret"] not in str(log), log
chen.expect(403, "GET", "/api/v1/notifications")
# the events
now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
now = now.replace(minute=now.minute // 15 * 15)                           # the 15-minute grid
iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
soon = now + datetime.timedelta(minutes=30)                              # 15 to 30 minutes ahead
b1 = li.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": iso(soon),
               "end": iso(soon + datetime.timedelta(minutes=15))})           # confirmed; no reminder (opted out)
assert b1["status"] == "confirmed", b1
mine = chen.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01",
               "start": iso(soon + datetime.timedelta(minutes=15)), "end": iso(soon + datetime.timedelta(minutes=30))})
tomorrow = now + datetime.timedelta(days=1)
xu = user("eng.xu")
b2 = xu.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": iso(tomorrow),
               "end": iso(tomorrow + datetime.timedelta(hours=1))})
assert b2["status"] == "pending", b2                                      # approval.waiting to mgr.chen
chen.expect(200, "POST", "/api/v1/bookings/%d/reject" % b2["id"], {"reason": "the lamp is being replaced"})
zhang = user("dr.zhang")
b3 = zhang.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01",
               "start": iso(tomorrow + datetime.timedelta(hours=2)), "end": iso(tomorrow + datetime.timedelta(hours=3))})
chen.expect(200, "POST", "/api/v1/bookings/%d/approve" % b3["id"])        # confirmed, in Chinese
o = chen.expect(201, "POST", "/api/v1/instruments/icp-ms-01/outages", {"kind": "breakdown",
               "start": iso(tomorrow + datetime.timedelta(hours=2)), "end": iso(tomorrow + datetime.timedelta(hours=4))})
assert o["cancelled_bookings"] == [b3["id"]], o                         # cancelled by the outage
b4 = xu.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01",
               "start": iso(tomorrow + datetime.timedelta(hours=5)), "end": iso(tomorrow + datetime.timedelta(hours=6))})
assert b4["status"] == "pending"                                        # waits: in the digest
od = xu.expect(201, "POST", "/api/v1/orders", {"instrument": "icp-ms-01", "samples": 3, "analysis": "Pb, Cd"})
chen.expect(200, "POST", "/api/v1/orders/%d/accept" % od["id"])
with open(os.environ["T"] + "/ids", "w") as f:
    f.write("%d %d %d %d %d %d" % (b1["id"], mine["id"], b2["id"], b3["id"], b4["id"], od["id"]))
PY
pass "addresses, languages, opt-outs and the webhook set (bad ones refused); bookings, outage, order"

# the expected mails: li confirmed; chen confirmed + reminder (his own, soon) + approval.waiting x3
# (xu's two bookings and zhang's: external ones wait) + order.placed + digest; xu rejected +
# order.accepted; zhang confirmed + cancelled
mails() { "$PY" -c 'import mailbox,os,sys; print(len(mailbox.Maildir(sys.argv[1], create=False)) if os.path.isdir(sys.argv[1] + "/cur") else 0)' "$T/maildir"; }
have_mails() { [ "$(mails)" -ge "$1" ]; }
wait_for 40 have_mails 12 || fail "12 mails expected, $(mails) arrived: $(api '/api/v1/notifications?limit=50')"
hooks() { ls "$T/hooks" | wc -l; }
have_hooks() { [ "$(hooks)" -ge "$1" ]; }
# webhook events on ECUT's instrument: 3 confirmed, 3 approval.waiting, rejected, cancelled,
# 2 reminders (the webhook has no opt-outs), order placed, accepted = 12, plus the refused first
# delivery again
wait_for 30 have_hooks 13 || fail "13 webhook deliveries expected, $(hooks) came"
sleep 2   # nothing more may come: a repeat (retried after 1-2 s) would show here
"$PY" - <<'PY' || fail "mails and webhooks"
import email, email.header, email.policy, glob, hashlib, hmac, json, mailbox, os
import icalendar
T = os.environ["T"]
b1, mine, b2, b3, b4, od = map(int, open(T + "/ids").read().split())
msgs = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in mailbox.Maildir(T + "/maildir", create=False)]
got = {}
for m in msgs:
    to = str(m["To"]).strip("<>")
    kind = str(m["X-LabShare-Kind"])
    got.setdefault((to, kind), []).append(m)
print(sorted((k, len(v)) for k, v in got.items()))
want = {("li@ecut.test", "booking.confirmed"), ("chen@ecut.test", "booking.confirmed"),
        ("chen@ecut.test", "booking.reminder"), ("chen@ecut.test", "approval.waiting"),
        ("chen@ecut.test", "order.placed"), ("chen@ecut.test", "digest"),
        ("xu@jiangzhong.test", "booking.rejected"), ("xu@jiangzhong.test", "order.accepted"),
        ("zhang@ncu.test", "booking.confirmed"), ("zhang@ncu.test", "booking.cancelled")}
assert set(got) == want, set(got) ^ want
assert len(got[("chen@ecut.test", "approval.waiting")]) == 3          # xu's two bookings, zhang's
assert all(len(v) == 1 for k, v in got.items() if k[1] != "approval.waiting"), got
assert len({m["Message-ID"] for m in msgs}) == len(msgs) == 12
# dr.li opted out of reminders: none for b1 although it starts within the hour
assert ("li@ecut.test", "booking.reminder") not in got
def text(m):
    return m.get_body(preferencelist=("plain",)).get_content()
def ics(m):
    parts = [p for p in m.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in m.iter_attachments()]
    return icalendar.Calendar.from_ical(parts[0].get_content())
c = got[("li@ecut.test", "booking.confirmed")][0]
assert str(c["Subject"]).startswith("Booking confirmed: ICP-MS"), c["Subject"]
assert str(c["From"]) == "LabShare <noreply@labshare.test>", c["From"]
assert "booking %d is confirmed" % b1 in text(c) and "Jiangxi Sharing Platform" in text(c), text(c)
cal = ics(c)
ev = [e for e in cal.walk("VEVENT")][0]
assert str(cal["METHOD"]) == "REQUEST" and str(ev["UID"]) == "booking-%d@labshare" % b1, cal.to_ical()
z = got[("zhang@ncu.test", "booking.confirmed")][0]
assert str(z["Subject"]).startswith("预约已确认：ICP-MS"), z["Subject"]   # RFC 2047, decoded
assert "您的预约 %d 已确认" % b3 in text(z), text(z)
zc = got[("zhang@ncu.test", "booking.cancelled")][0]
assert "out of service" in text(zc) and str(ics(zc)["METHOD"]) == "CANCEL", text(zc)
r = got[("xu@jiangzhong.test", "booking.rejected")][0]
assert "the lamp is being replaced" in text(r), text(r)
assert "order %d" % od in str(got[("xu@jiangzhong.test", "order.accepted")][0]["Subject"])
d = got[("chen@ecut.test", "digest")][0]
assert "1 bookings" in str(d["Subject"]) or "1 bookings to approve" in str(d["Subject"]), d["Subject"]
# the webhook: every delivery signed with ECUT's secret over "<t>.<body>"
secret = b"s3cret-of-ecut-0123456789"
deliveries = [json.load(open(f)) for f in sorted(glob.glob(T + "/hooks/*.json"))]
events = []
for dv in deliveries:
    sig = dict(kv.split("=", 1) for kv in dv["headers"]["X-LabShare-Signature"].split(","))
    mac = hmac.new(secret, (sig["t"] + "." + dv["body"]).encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, sig["v1"]), dv
    body = json.loads(dv["body"])
    assert body["event"] == dv["headers"]["X-LabShare-Event"], dv
    events.append((dv["headers"]["X-LabShare-Delivery"], body["event"]))
first = events[0][0]
assert [e for e in events if e[0] == first][0:2] and sum(1 for e in events if e[0] == first) == 2, events  # refused, then retried
assert len({e[0] for e in events}) == len(events) - 1, events                                                 # no other repeat
kinds = sorted(e[1] for e in {e[0]: e for e in events}.values())
assert kinds == sorted(["booking.confirmed"] * 3 + ["approval.waiting"] * 3 + ["booking.reminder"] * 2 +
                       ["booking.rejected", "booking.cancelled", "order.placed", "order.accepted"]), kinds
print("mails and webhooks: ok")
PY
pass "12 mails, each once: languages, .ics request and cancel, reasons, opt-out, digest; 12 signed webhook events, the refused one retried"

# an SMTP outage: mail is queued and retried, the server is killed and restarted, the SMTP
# server comes back - each mail arrives once
kill9 smtp
"$PY" - <<'PY' || fail "events during the outage"
import datetime
from api import user
li, chen = user("dr.li"), user("mgr.chen")
day = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(days=3)
iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
for h in range(4):   # four confirmations for dr.li while the mail server is away
    li.expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01", "start": iso(day + datetime.timedelta(hours=h)),
              "end": iso(day + datetime.timedelta(hours=h, minutes=30))})
PY
failing() { api '/api/v1/notifications?state=queued' | json 'sum(1 for n in j["items"] if n["attempts"] >= 1 and n["last_error"])' | grep -qx 4; }
wait_for 20 failing || fail "4 queued mails with failed attempts expected: $(api '/api/v1/notifications?state=queued')"
prom=$(curl -sf "$API/metrics/prometheus")
grep -q '^labshare_notification_failures_total [1-9]' <<<"$prom" || fail "failures not counted"
grep -q '^labshare_notifications_sent_total{channel="mail"} 12$' <<<"$prom" || fail "mails sent not counted"
kill9 server
restart_server
start smtp "$PY" -m aiosmtpd -n -c aiosmtpd.handlers.Mailbox "$T/maildir" -l "127.0.0.1:$SMTP_PORT"
wait_for 10 port_open "$SMTP_PORT" || fail "SMTP sink did not restart"
wait_for 30 have_mails 16 || fail "16 mails expected after the outage, $(mails): $(api '/api/v1/notifications?state=queued')"
sleep 3
[ "$(mails)" = 16 ] || fail "a mail came twice: $(mails) in the maildir"
"$PY" - <<'PY' || fail "after the outage"
import email, email.policy, mailbox, os
from api import admin
msgs = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in mailbox.Maildir(os.environ["T"] + "/maildir", create=False)]
assert len({m["Message-ID"] for m in msgs}) == 16
li = [m for m in msgs if str(m["To"]).strip("<>") == "li@ecut.test" and str(m["X-LabShare-Kind"]) == "booking.confirmed"]
assert len(li) == 5, len(li)
q = admin().expect(200, "GET", "/api/v1/notifications?state=queued")
assert q["total"] == 0, q
sent = admin().expect(200, "GET", "/api/v1/notifications?state=sent&limit=100")
assert sent["total"] == 16 + 16, sent["total"]      # 16 mails, 16 webhook events (4 more confirmations)
PY
pass "SMTP down, server killed and restarted: 4 queued mails delivered once each (16 in all, no repeat)"

# STARTTLS and AUTH: a mail server that refuses anything before STARTTLS and takes mail only after
# a login, with a certificate of a test CA; the server first without that CA (the certificate is
# not believed: nothing is sent), then with it
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=LabShare test CA" \
    -keyout "$T/ca.key" -out "$T/ca.pem" 2>"$T/openssl.log" || fail "CA: $(cat "$T/openssl.log")"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$T/smtp.key" \
    -out "$T/smtp.csr" 2>>"$T/openssl.log" || fail "SMTP key"
printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >"$T/san.ext"
openssl x509 -req -in "$T/smtp.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
    -extfile "$T/san.ext" -out "$T/smtp.pem" 2>>"$T/openssl.log" || fail "SMTP certificate"
TLS_PORT=$(free_port)
cat >"$T/smtp-auth.py" <<'PY'
import signal, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
port, maildir, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def check(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"labshare" and data.password == b"mail-secret-42"
    print("AUTH", mechanism, "accepted" if ok else "refused", flush=True)
    return AuthResult(success=ok)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
c = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
               authenticator=check, auth_required=True)
c.start()
signal.sigwait({signal.SIGTERM, signal.SIGINT})
c.stop()
PY
start smtps "$PY" "$T/smtp-auth.py" "$TLS_PORT" "$T/maildir-tls" "$T/smtp.pem" "$T/smtp.key"
wait_for 10 port_open "$TLS_PORT" || fail "the STARTTLS sink did not start: $(cat "$T/smtps.log")"
SERVER_EXTRA_INI=${SERVER_EXTRA_INI/port = $SMTP_PORT/port = $TLS_PORT
tls = starttls
username = labshare
password = mail-secret-42}
server_ini
stop server
restart_server
"$PY" - <<'PY' || fail "a booking mailed over STARTTLS"
import datetime
from api import user
day = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(days=4)
user("dr.li").expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01",
    "start": day.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": (day + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")})
PY
untrusted() { api '/api/v1/notifications?state=queued' | json 'sum(1 for n in j["items"] if n["attempts"] >= 1 and any(w in (n["last_error"] or "") for w in ("SSL", "certificate")))' | grep -qx 1; }
wait_for 20 untrusted || fail "a certificate of an unknown CA must not be believed: $(api '/api/v1/notifications?state=queued')"
tls_mails() { "$PY" -c 'import mailbox,os,sys; print(len(mailbox.Maildir(sys.argv[1], create=False)) if os.path.isdir(sys.argv[1] + "/cur") else 0)' "$T/maildir-tls"; }
[ "$(tls_mails)" = 0 ] || fail "mail went to a server whose certificate was not checked"
SERVER_EXTRA_INI=${SERVER_EXTRA_INI/tls = starttls/tls = starttls
cafile = $T/ca.pem}
server_ini
stop server
restart_server
tls_arrived() { [ "$(tls_mails)" = 1 ]; }
wait_for 20 tls_arrived || fail "no mail over STARTTLS: $(api '/api/v1/notifications?state=queued') $(cat "$T/smtps.log")"
grep -q "^AUTH .* accepted" "$T/smtps.log" || fail "the mail was not sent after a login: $(cat "$T/smtps.log")"
! grep -q "refused" "$T/smtps.log" || fail "a login was refused: $(cat "$T/smtps.log")"
pass "STARTTLS and AUTH: refused while the certificate's CA is unknown, delivered after a login once it is given ([mail] cafile, username, password)"

# the default: webhooks go to public addresses only (netguard.h). A manager cannot point one at
# an internal address, however it is written; the one set while the operator allowed it is
# refused where the connection is made, and nothing reaches the receiver
SERVER_EXTRA_INI=${SERVER_EXTRA_INI/webhook_private = 1/}
server_ini
stop server
restart_server
before=$(hooks)
"$PY" - <<'PY' || fail "internal webhook addresses"
import datetime, os
from api import admin, user
chen, orgs = user("mgr.chen"), admin().expect(200, "GET", "/api/v1/orgs")
org = [o["id"] for o in orgs["items"] if o["name"] == "ECUT"][0]
port = os.environ["HOOK_PORT"]
for url in ("http://127.0.0.1:%s/hook" % port, "http://localhost:%s/" % port, "http://LOCALHOST./",
            "http://a.b.localhost/", "http://[::1]:%s/" % port, "http://[::ffff:127.0.0.1]/",
            "http://[fe80::1%%25eth0]/", "http://2130706433/", "http://0x7f.1/", "http://10.1.2.3/",
            "http://172.31.0.1/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/", "http://0.0.0.0:%s/" % port, "http://[fd00::1]/", "http://user@/x"):
    r = chen.expect(400, "PUT", "/api/v1/orgs/%d/webhook" % org, {"url": url, "secret": "0123456789abcdef"})
    assert "internal" in r["message"], (url, r)
w = chen.expect(200, "GET", "/api/v1/orgs/%d/webhook" % org)
assert w["url"].startswith("http://127.0.0.1:%s/" % port), w
day = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(days=5)
user("dr.li").expect(201, "POST", "/api/v1/bookings", {"instrument": "icp-ms-01",
    "start": day.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": (day + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")})
PY
guarded() { api '/api/v1/notifications?state=queued' | json 'sum(1 for n in j["items"] if n["channel"] == "webhook" and "127.0.0.1 is internal" in (n["last_error"] or ""))' | grep -qx 1; }
wait_for 20 guarded || fail "the delivery to an internal address must be refused: $(api '/api/v1/notifications?state=queued')"
sleep 2
[ "$(hooks)" = "$before" ] || fail "a webhook reached an internal address: $(hooks) deliveries, $before before"
pass "webhooks to internal addresses refused: 17 spellings when set, and at the connection for one set earlier"
stop server
echo "$CHECKS checks passed"
