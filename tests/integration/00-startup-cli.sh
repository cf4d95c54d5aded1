#!/usr/bin/env bash
# Start-up: every program answers --help and --version, refuses bad command lines and broken
# configs with a clear message and a non-zero exit, and the gateway's --check prints its plan.
. "$(dirname "$0")/lib.sh"

for p in labshare-server labshare-gateway labshare-meter-sim; do
    out=$("$BIN/$p" --help) || fail "$p --help exited non-zero"
    grep -q "Usage: $p" <<<"$out" || fail "$p --help has no usage line"
    out=$("$BIN/$p" --version) || fail "$p --version exited non-zero"
    grep -Eq "^$p [0-9]+\.[0-9]+\.[0-9]+$" <<<"$out" || fail "$p --version: '$out'"
    rc=0; "$BIN/$p" --no-such-option >/dev/null 2>&1 || rc=$?
    [ $rc -eq 2 ] || fail "$p with an unknown option exited $rc, not 2"
done
pass "--help, --version and unknown options"

rc=0; err=$("$BIN/labshare-gateway" 2>&1) || rc=$?
[ $rc -eq 2 ] && grep -q -- "-c FILE is required" <<<"$err" || fail "gateway without -c: $rc '$err'"
rc=0; err=$("$BIN/labshare-server" -c /nonexistent.ini 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "/nonexistent.ini: cannot open" <<<"$err" || fail "server, missing file: '$err'"
pass "missing config is refused"

cat >"$T/gw.ini" <<CONF
[gateway]
id = gw-t
outbox = $T/outbox.db
[uplink]
host = 127.0.0.1
[modbus:icp-ms-01]
tcp = 127.0.0.1:1502
[modbus:power-meter]
tcp = 127.0.0.1:1503
word_order = little
power_w = ir:12:f32
energy_wh = ir:342:f32*1000
start_w = 50
stop_w = 20
CONF
out=$("$BIN/labshare-gateway" -c "$T/gw.ini" --check) || fail "--check of a good config failed"
grep -q "request 1: hr 0..10 (11 registers)" <<<"$out" || fail "--check plan of the LabShare map: $out"
grep -q "power_w      ir:12 f32" <<<"$out" || fail "--check plan of the power meter: $out"
grep -q "energy_wh    ir:342 f32 \* 1000" <<<"$out" || fail "--check scale: $out"
grep -q "state from power: start 50 W, stop 20 W" <<<"$out" || fail "--check derived state: $out"
[ ! -e "$T/outbox.db" ] || fail "--check created the outbox"
pass "gateway --check prints the resolved read plan and touches nothing"

printf '[gateway]\nid = gw-t\noutbox = %s/o.db\nheartbeat_s = 0\n' "$T" >"$T/bad.ini"
rc=0; err=$("$BIN/labshare-gateway" -c "$T/bad.ini" --check 2>&1) || rc=$?
[ $rc -eq 1 ] || fail "bad heartbeat_s exited $rc"
grep -q "$T/bad.ini:4: \[gateway\] heartbeat_s: '0' is not a whole number from 1 to 86400" <<<"$err" \
    || fail "bad heartbeat_s message: $err"
printf '[server]\nlisten = 127.0.0.1:8080\nfrobnicate = yes\n' >"$T/bad-server.ini"
rc=0; err=$("$BIN/labshare-server" -c "$T/bad-server.ini" 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "bad-server.ini:3: \[server\] unknown key 'frobnicate'" <<<"$err" \
    || fail "server unknown key: $rc $err"
pass "broken configs stop with file:line: message"

rc=0; err=$("$BIN/labshare-meter-sim" --modbus-tcp nonsense --instrument x 2>&1) || rc=$?
[ $rc -eq 2 ] && grep -q "HOST:PORT" <<<"$err" || fail "sim bad address: $rc $err"
rc=0; err=$("$BIN/labshare-meter-sim" --modbus-tcp 127.0.0.1:1502 --instrument 'a/b' 2>&1) || rc=$?
[ $rc -eq 2 ] && grep -q "wants an id of 1-63" <<<"$err" || fail "sim bad id: $rc $err"
pass "simulator refuses bad arguments"
# broker-config: needs a DIR and the server's account; writes no anonymous access
printf '[server]\nlisten = 127.0.0.1:%s\ndb = %s/bc.db\n[mqtt]\nport = %s\n' "$(free_port)" "$T" "$(free_port)" >"$T/bc.ini"
rc=0; err=$("$BIN/labshare-server" -c "$T/bc.ini" broker-config 2>&1) || rc=$?
[ $rc -eq 2 ] || fail "broker-config without DIR: $rc $err"
rc=0; err=$("$BIN/labshare-server" -c "$T/bc.ini" broker-config "$T/b" 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "username and password are required" <<<"$err" || fail "broker-config without an account: $rc $err"
printf 'username = srv\npassword = s3cret-s3cret\n' >>"$T/bc.ini"
chmod 755 "$T"
"$BIN/labshare-server" -c "$T/bc.ini" broker-config "$T/b" >/dev/null || fail "broker-config failed"
grep -qx "allow_anonymous false" "$T/b/mosquitto.conf" && grep -q "^listener [0-9]* 127.0.0.1$" "$T/b/mosquitto.conf" &&
    grep -q "^plugin .*mosquitto_dynamic_security.so" "$T/b/mosquitto.conf" || fail "mosquitto.conf: $(cat "$T/b/mosquitto.conf")"
! grep -q "s3cret-s3cret" "$T/b/dynamic-security.json" || fail "the server's password stored in clear"
cp "$T/b/dynamic-security.json" "$T/dynsec.before"
out=$("$BIN/labshare-server" -c "$T/bc.ini" broker-config "$T/b") || fail "broker-config again"
grep -q "kept the existing dynamic-security.json" <<<"$out" && cmp -s "$T/dynsec.before" "$T/b/dynamic-security.json" \
    || fail "a second broker-config touched dynamic-security.json: $out"
pass "broker-config: DIR and an account required; no anonymous access; password hashed; kept on rerun"
# --log-level is taken by the server (it was once ignored): at warn, no info lines
rc=0; out=$(timeout 2 "$BIN/labshare-server" -c "$T/bc.ini" --log-level warn 2>&1) || rc=$?
! grep -q " info: " <<<"$out" || fail "--log-level warn still printed info lines: $out"
rm -f "$T"/bc.db*
rc=0; out=$(timeout 2 "$BIN/labshare-server" -c "$T/bc.ini" 2>&1) || rc=$?
grep -q " info: " <<<"$out" || fail "the server prints no info lines by default: $out"
pass "--log-level is honoured"
# the deployment example (README, server/deploy/) is a configuration this server takes
out=$("$BIN/labshare-server" -c "$ROOT/server/deploy/labshare-a.ini" broker-config "$T/deploy-broker" 2>&1) ||
    fail "server/deploy/labshare-a.ini is refused: $out"
grep -q 'share_group\|\$share' "$T/deploy-broker/dynamic-security.json" || fail "no shared subscription for the servers"
pass "server/deploy/labshare-a.ini loads and makes a broker configuration"
# make deps: quiet when everything is installed; a clear message (and no attempt) when a package
# is missing and we are not root
out=$(make -s -C "$ROOT" deps 2>&1) || fail "make deps failed: $out"
[ -z "$out" ] || fail "make deps is not quiet when everything is there: $out"
if id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ] &&
    su nobody -s /bin/bash -c "test -r '$ROOT/Makefile' && test -x '$ROOT'" 2>/dev/null; then
    rc=0; out=$(su nobody -s /bin/bash -c "make -s -C '$ROOT' deps DEB_PKGS='bash labshare-no-such-package'" 2>&1) || rc=$?
    [ $rc -ne 0 ] && grep -q "missing Debian packages: labshare-no-such-package" <<<"$out" &&
        grep -q "run as root" <<<"$out" || fail "make deps as non-root: $rc $out"
    pass "make deps: quiet when complete, says what is missing and how when not root"
fi
echo "$CHECKS checks passed"
