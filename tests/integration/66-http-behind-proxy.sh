#!/usr/bin/env bash
# Behind a reverse proxy (issue 14's deployment: nginx in front of several servers). Without
# [server] trusted_proxies, X-Forwarded-For and X-Forwarded-Proto are a client's words and are
# ignored: the login's audit record names the real peer and the cookie has no Secure. With
# trusted_proxies = 127.0.0.1, a request from 127.0.0.1 is taken to come from the rightmost address
# of X-Forwarded-For (not from what a client put to its left), over HTTPS when X-Forwarded-Proto
# says so (Secure cookies); a request from 127.0.0.2, not a trusted proxy, still counts as its
# own address whatever it claims; login throttling follows the forwarded address. A malformed
# trusted_proxies stops the server with a clear message.
. "$(dirname "$0")/lib.sh"

start_broker
start_server
export API TOKEN
(cd "$ROOT/tests/integration" && python3 -c 'from api import admin, seed; seed(admin())') >/dev/null ||
    fail "seeding failed"
PASSWORD="correct horse battery staple"
login() { # SOURCE XFF [PROTO]: log dr.li in from SOURCE claiming XFF; headers to $T/h, body to $T/b
    local extra=()
    [ -z "${3:-}" ] || extra=(-H "X-Forwarded-Proto: $3")
    curl -s --interface "$1" -D "$T/h" -o "$T/b" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "X-Forwarded-For: $2" "${extra[@]}" \
        -d "{\"username\":\"dr.li\",\"password\":\"$PASSWORD\"}" "$API/api/v1/login"
}
last_login_address() {
    api "/api/v1/audit-log?action=login&limit=1000" | json 'j["items"][-1]["after"]["address"]'
}

[ "$(login 127.0.0.1 198.51.100.7 https)" = 200 ] || fail "login: $(cat "$T/b")"
[ "$(last_login_address)" = 127.0.0.1 ] || fail "an untrusted X-Forwarded-For was believed: $(last_login_address)"
! grep -qi '^set-cookie:.*secure' "$T/h" || fail "an untrusted X-Forwarded-Proto made the cookie Secure"
pass "no trusted proxy: X-Forwarded-For and -Proto are ignored"

stop server
sed -i "s|^\[server\]|[server]\ntrusted_proxies = 127.0.0.1, ::1|" "$T/server.ini"
restart_server
[ "$(login 127.0.0.1 "6.6.6.6, 198.51.100.7")" = 200 ] || fail "login via the proxy: $(cat "$T/b")"
[ "$(last_login_address)" = 198.51.100.7 ] || fail "the forwarded client is not the rightmost hop: $(last_login_address)"
! grep -qi '^set-cookie:.*secure' "$T/h" || fail "Secure without X-Forwarded-Proto: https"
[ "$(login 127.0.0.1 198.51.100.8 https)" = 200 ] || fail "login via the proxy over https"
grep -qi '^set-cookie: ls_session=.*; secure' "$T/h" || fail "no Secure cookie behind an HTTPS proxy: $(grep -i set-cookie "$T/h")"
[ "$(login 127.0.0.2 198.51.100.9 https)" = 200 ] || fail "login from 127.0.0.2"
[ "$(last_login_address)" = 127.0.0.2 ] || fail "a client that is not a proxy was believed: $(last_login_address)"
! grep -qi '^set-cookie:.*secure' "$T/h" || fail "a client that is not a proxy got a Secure cookie"
pass "trusted proxy: the client is the rightmost forwarded hop, Secure under X-Forwarded-Proto https; others are themselves"

# throttling follows the forwarded address: one attacker behind the proxy does not lock out
# another client of the same proxy
bad() { curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H "X-Forwarded-For: $1" \
    -d '{"username":"dr.li","password":"wrong"}' "$API/api/v1/login"; }
for i in $(seq 1 12); do last=$(bad 203.0.113.66); done
[ "$last" = 429 ] || [ "$last" = 401 ] || fail "wrong passwords: $last"
codes=""
for i in $(seq 1 12); do codes+="$(bad 203.0.113.66) "; done
grep -q 429 <<<"$codes" || fail "the attacker's address was never throttled: $codes"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'X-Forwarded-For: 198.51.100.20' \
    -d "{\"username\":\"dr.zhang\",\"password\":\"$PASSWORD\"}" "$API/api/v1/login")" = 200 ] ||
    fail "another client of the same proxy was throttled with the attacker"
pass "throttling counts the forwarded address, not the proxy's"

stop server
sed -i "s|^trusted_proxies = .*|trusted_proxies = 10.0.0.0/8|" "$T/server.ini"
! "$BIN/labshare-server" -c "$T/server.ini" >"$T/bad.out" 2>&1 || fail "a bad trusted_proxies was accepted"
grep -q "trusted_proxies: numeric IPv4 or IPv6 addresses" "$T/bad.out" || fail "unclear error: $(cat "$T/bad.out")"
pass "a malformed trusted_proxies is refused: $(cat "$T/bad.out")"
echo "$CHECKS checks passed"
