#!/usr/bin/env bash
# HTTP errors: no token, a wrong token, unknown paths, wrong methods, bad list arguments and
# oversized bodies each get the right status and a JSON error body.
. "$(dirname "$0")/lib.sh"

start_broker
start_server
expect() { # CODE ERROR METHOD PATH [curl args...]
    local code=$1 err=$2; shift 2
    local got; got=$(status "$@")
    [ "$got" = "$code" ] || fail "$* answered $got, not $code: $(cat "$T/last-body")"
    [ "$(json 'j["error"]' <"$T/last-body")" = "$err" ] || fail "$*: body $(cat "$T/last-body")"
    json 'j["message"]' <"$T/last-body" >/dev/null || fail "$*: no message"
}
auth=(-H "Authorization: Bearer $TOKEN")
expect 401 unauthorized GET /api/v1/readings
expect 401 unauthorized GET /api/v1/readings -H "Authorization: Bearer lst_0000000000000000000000000000000000000000000000000000000000000000"
expect 401 unauthorized GET /api/v1/readings -H "Authorization: Basic YWRtaW46YWRtaW4="
pass "401 without a valid bearer token"
expect 404 not_found GET /api/v1/nothing-here "${auth[@]}"
expect 404 not_found GET /../../etc/passwd "${auth[@]}" --path-as-is
expect 405 method_not_allowed DELETE /api/v1/readings "${auth[@]}"
pass "404 and 405"
expect 400 invalid GET '/api/v1/readings?limit=0' "${auth[@]}"
expect 400 invalid GET '/api/v1/readings?limit=abc' "${auth[@]}"
expect 400 invalid GET '/api/v1/readings?limit=10001' "${auth[@]}"
expect 400 invalid GET '/api/v1/readings?offset=-1' "${auth[@]}"
expect 400 invalid GET '/api/v1/readings?from=yesterday' "${auth[@]}"
expect 400 invalid GET '/api/v1/readings?from=2026-02-30' "${auth[@]}"
expect 400 invalid GET '/api/v1/readings?from=2026-02-02&to=2026-02-01' "${auth[@]}"
expect 400 invalid GET '/api/v1/readings?instrument=../x' "${auth[@]}"
pass "400 for bad list arguments"
head -c 300000 /dev/zero | tr '\0' 'a' >"$T/big"
expect 413 too_big POST /api/v1/readings "${auth[@]}" --data-binary @"$T/big"
pass "413 for a body over the limit"
code=$(status GET '/api/v1/readings?from=2026-01-01&to=2026-01-02T00:00:00%2B08:00' "${auth[@]}")
[ "$code" = 200 ] || fail "good arguments answered $code"
grep -q '"items":\[\]' "$T/last-body" || fail "empty list body: $(cat "$T/last-body")"
pass "good arguments still answer 200"
curl -sf "$API/healthz" | grep -q '"status":"ok"' || fail "healthz"
stop server
echo "$CHECKS checks passed"
