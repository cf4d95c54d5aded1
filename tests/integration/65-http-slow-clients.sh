#!/usr/bin/env bash
# Slow and greedy HTTP clients (issue 13), real sockets from several 127.0.0.x addresses against
# the real server: 64 connections trickling their headers a byte a second are cut after the
# header deadline (libmicrohttpd's idle timeout alone restarts at each byte and never would); a
# body trickled below the minimum rate is cut; an address holding its share gets no more
# connections, and near the limit an address gets only a fair share, while others are served
# throughout.
# serial (tests/run.sh runs it alone): it measures how the server copes with load
. "$(dirname "$0")/lib.sh"

start_broker
HTTP_PORT=$(free_port)
server_ini
# a small server: 120 connections, 70 from one address
sed -i "/^\[server\]/a max_connections = 120\nmax_connections_per_address = 70" "$T/server.ini"
start server "$BIN/labshare-server" -c "$T/server.ini"
API=http://127.0.0.1:$HTTP_PORT
wait_for 10 curl -sf "$API/healthz" || fail "server did not start"
export HTTP_PORT
python3 - <<'PY' || fail "slow clients"
import os, socket, threading, time, urllib.request

PORT = int(os.environ["HTTP_PORT"])

def conn(src):
    s = socket.create_connection(("127.0.0.1", PORT), source_address=(src, 0), timeout=30)
    return s

def alive(s):
    """False once the server has closed its side."""
    s.setblocking(False)
    try:
        data = s.recv(4096)
        return data != b"" and not data.startswith(b"HTTP/1.1 4")
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)

def served(src="127.0.0.9"):
    s = conn(src)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = s.recv(4096)
    s.close()
    return data.startswith(b"HTTP/1.1 200")

body_cut = {"at": None}

def body_trickle():
    s = conn("127.0.0.3")
    s.sendall(b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100000\r\n\r\n")
    t0 = time.time()
    while time.time() - t0 < 30:
        try:
            s.sendall(b"{" * 50)
        except OSError:
            body_cut["at"] = time.time() - t0
            break
        if not alive(s):
            body_cut["at"] = time.time() - t0
            break
        time.sleep(1)
    s.close()

body_thread = threading.Thread(target=body_trickle)
body_thread.start()
# 1. 64 connections from one address trickle their headers, a byte a second
tricklers = [conn("127.0.0.2") for _ in range(64)]
head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
t0 = time.time()
cut_at = [None] * len(tricklers)
i = 0
while time.time() - t0 < 16 and any(c is None for c in cut_at):
    for k, s in enumerate(tricklers):
        if cut_at[k] is not None:
            continue
        try:
            s.sendall(head[i:i + 1] if i < len(head) else b"a")
        except OSError:
            cut_at[k] = time.time() - t0
            continue
        if not alive(s):
            cut_at[k] = time.time() - t0
    if i % 3 == 0:
        assert served(), "another address was not served while the tricklers held theirs"
    i += 1
    time.sleep(1)
assert all(c is not None for c in cut_at), "trickling connections were not cut: %s" % cut_at
assert all(9 <= c <= 13 for c in cut_at), cut_at
print("64 trickling connections cut after %.0f..%.0f s; others served meanwhile" % (min(cut_at), max(cut_at)))
for s in tricklers:
    s.close()

# 2. (meanwhile, in its own thread) a body trickled below the minimum rate is cut
body_thread.join()
cut = body_cut["at"]
assert cut is not None and 9 <= cut <= 20, cut
print("a body at 50 bytes/s cut after %.0f s" % cut)

# 3. an address holding its share (70) gets no more; near the limit (120) one holding 4 gets no
#    more either, and an address holding few still gets in
greedy = []
for _ in range(75):
    c = conn("127.0.0.4")
    greedy.append(c)
time.sleep(1)
refused = sum(1 for c in greedy if not alive(c))
assert refused >= 5, "an address took more than its share: %d refused of 75" % refused
held = [c for c in greedy if alive(c)]
# a second address fills the server to three quarters (90), then is held to its fair share (4)
more = [conn("127.0.0.5") for _ in range(30)]
time.sleep(1)
over = sum(1 for c in more if not alive(c))
assert 8 <= over <= 12, "past three quarters an address holding many got more: %d of 30 refused" % over
# the last quarter stays for addresses that hold few: each gets up to its fair share
few = [conn("127.0.0.6") for _ in range(6)]
time.sleep(1)
ok = sum(1 for c in few if alive(c))
assert ok == 4, "an address holding few got %d of 6 near the limit" % ok
assert served("127.0.0.7"), "a new address was not served near the limit"
print("share per address: %d of 75 refused; past 3/4 full: %d of 30 refused, a new address got %d of 6" % (refused, over, ok))
for c in greedy + more + few:
    c.close()
m = urllib.request.urlopen("http://127.0.0.1:%d/metrics/prometheus" % PORT).read().decode()
def metric(name):
    return int(float([l for l in m.splitlines() if l.startswith(name)][0].split()[-1]))
assert metric('labshare_http_connections_cut_total{slow="headers"}') >= 64, m
assert metric('labshare_http_connections_cut_total{slow="body"}') >= 1
assert metric('labshare_http_connections_refused_total{limit="address"}') >= 5
assert metric('labshare_http_connections_refused_total{limit="fair_share"}') >= 10
print("counted in /metrics/prometheus")
PY
pass "slow and greedy clients are cut or refused, others keep being served"
echo "$CHECKS checks passed"
