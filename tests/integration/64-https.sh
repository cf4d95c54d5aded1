#!/usr/bin/env bash
# HTTPS (issue 13): with [server] certfile and keyfile the server speaks only TLS (libmicrohttpd
# with GnuTLS), its cookies are Secure, every answer carries HSTS, and links it makes are https;
# a half or broken TLS configuration stops it with a clear message. The certificate is made here
# by openssl, from a test CA the client trusts.
. "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=LabShare test CA" \
    -keyout "$T/ca.key" -out "$T/ca.pem" 2>"$T/openssl.log" || fail "CA: $(cat "$T/openssl.log")"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$T/http.key" \
    -out "$T/http.csr" 2>>"$T/openssl.log" || fail "server key"
printf 'subjectAltName = IP:127.0.0.1\n' >"$T/san.ext"
openssl x509 -req -in "$T/http.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
    -extfile "$T/san.ext" -out "$T/http.pem" 2>>"$T/openssl.log" || fail "server certificate"

start_broker
HTTP_PORT=$(free_port)
with_tls() { # CERT KEY: server.ini with those files in [server]
    server_ini
    sed -i "/^\[server\]/a certfile = $1\nkeyfile = $2" "$T/server.ini"
}
# a half configuration, a missing file, a key that is not the certificate's: refused, clearly
server_ini
sed -i "/^\[server\]/a certfile = $T/http.pem" "$T/server.ini"
if "$BIN/labshare-server" -c "$T/server.ini" >"$T/half.log" 2>&1; then fail "certfile alone was taken"; fi
grep -q "certfile and keyfile go together" "$T/half.log" || fail "no clear error: $(cat "$T/half.log")"
with_tls "$T/http.pem" "$T/nowhere.key"
if timeout 10 "$BIN/labshare-server" -c "$T/server.ini" >"$T/missing.log" 2>&1; then fail "a missing key was taken"; fi
grep -q "cannot read $T/nowhere.key" "$T/missing.log" || fail "no clear error: $(cat "$T/missing.log")"
with_tls "$T/http.pem" "$T/ca.key"
if timeout 10 "$BIN/labshare-server" -c "$T/server.ini" >"$T/wrong.log" 2>&1; then fail "a wrong key was taken"; fi
grep -q "with TLS" "$T/wrong.log" || fail "no clear error: $(cat "$T/wrong.log")"
pass "a half, missing or mismatched TLS configuration stops the server with a clear message"

with_tls "$T/http.pem" "$T/http.key"
start server "$BIN/labshare-server" -c "$T/server.ini"
API=https://127.0.0.1:$HTTP_PORT
tls() { curl -sS --cacert "$T/ca.pem" "$@"; }
wait_for 10 tls -f -o /dev/null "$API/healthz" || fail "no HTTPS: $(tail -5 "$T/server.log")"
grep -q "listening on https://127.0.0.1:$HTTP_PORT/" "$T/server.log" || fail "the log does not say https"
TOKEN=$("$BIN/labshare-server" -c "$T/server.ini" admin-token) || fail "admin-token"
# plain HTTP on the same port gets nothing
if curl -s -m 5 -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz"; then fail "plain HTTP answered"; fi
# a client that does not trust the certificate refuses it
if curl -s -m 5 -o /dev/null "$API/healthz"; then fail "an untrusted certificate was accepted"; fi
pass "HTTPS only, with the configured certificate"

hdrs=$(tls -D - -o /dev/null "$API/")
grep -qi '^strict-transport-security: max-age=31536000' <<<"$hdrs" || fail "no HSTS on the UI: $hdrs"
hdrs=$(tls -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "$API/api/v1/me")
grep -qi '^strict-transport-security: max-age=31536000' <<<"$hdrs" || fail "no HSTS on the API: $hdrs"
org=$(tls -H "Authorization: Bearer $TOKEN" -X POST -d '{"name": "TLS Lab", "type": "university"}' "$API/api/v1/orgs" | json 'j["id"]')
tls -o /dev/null -H "Authorization: Bearer $TOKEN" -X POST \
    -d "{\"username\": \"dr.tls\", \"org_id\": $org, \"role\": \"researcher\", \"password\": \"a long test password\"}" \
    "$API/api/v1/users"
hdrs=$(tls -D - -o "$T/login.json" -X POST -d '{"username": "dr.tls", "password": "a long test password"}' "$API/api/v1/login")
grep -qi '^set-cookie: ls_session=[^;]*;.*HttpOnly.*; Secure' <<<"$hdrs" || fail "session cookie not Secure: $hdrs"
grep -qi '^set-cookie: ls_csrf=[^;]*;.*; Secure' <<<"$hdrs" || fail "CSRF cookie not Secure: $hdrs"
pass "under HTTPS every answer carries HSTS and the cookies are Secure"
url=$(tls -H "Authorization: Bearer $TOKEN" -X POST -d '{"kind": "user"}' "$API/api/v1/feeds" | json 'j["url"]')
[[ "$url" == "https://127.0.0.1:$HTTP_PORT/"* ]] || fail "a link the server makes is not https: $url"
pass "links the server makes (calendar feeds) are https"
echo "$CHECKS checks passed"
