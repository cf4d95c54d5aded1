#!/usr/bin/env bash
# `make run`'s demo script brings up broker, simulators, gateway and server on free ports,
# readings arrive through the API, and everything stops when it exits.
. "$(dirname "$0")/lib.sh"

export LABSHARE_HTTP_PORT=$(free_port) LABSHARE_MQTT_PORT=$(free_port)
export LABSHARE_MODBUS_BASE=$((20000 + RANDOM % 20000)) LABSHARE_DEMO_CHECK=1 LABSHARE_DEMO_DIR=$T/demo
out=$(bash "$ROOT/server/demo/run.sh" 2>&1) || fail "demo failed: $out"
grep -q "LabShare demo is running" <<<"$out" || fail "no banner: $out"
grep -q "demo check: readings arrived from all 5 instruments" <<<"$out" || fail "no readings: $out"
pass "demo runs and readings arrive"
grep -Eq "demo check: [0-9]{3,} bookings, login of dr.li answered 200" <<<"$out" || fail "demo data: $out"
pass "demo organisations, users and bookings are seeded; the demo logins work"
grep -q "demo check: roles: every role has real work" <<<"$out" || fail "a role sees nothing: $out"
grep -q "demo check: auditor.liu: grades \[.*,.*,.*\]" <<<"$out" || fail "grades not varied: $out"
pass "a year of platform life: revenue, a queue, varied grades, a researcher's bookings and charges"
grep 'demo check: purchase review' <<<"$out" | sed 's/^/  /'
grep -q "demo check: purchase review: diffraction .*: existing capacity suffices (xrd-01; .* as recomputed" <<<"$out" ||
    fail "diffraction review: $(grep 'purchase review' <<<"$out")"
grep -q "demo check: purchase review: microscopy .*: purchase justified (confocal-01, sem-01; .* as recomputed" <<<"$out" ||
    fail "microscopy review: $(grep 'purchase review' <<<"$out")"
pass "purchase review of the demo year: diffraction has spare capacity, microscopy does not (recomputed from /metrics)"
grep -q "demo check: capacity by category: diffraction 1 instruments, 1 metered, .* as recomputed" <<<"$out" &&
    grep -q "demo check: capacity by category: microscopy 3 instruments, 1 metered, .* as recomputed" <<<"$out" ||
    fail "the catalog's capacity by category: $(grep 'capacity by category' <<<"$out")"
pass "the public capacity by category agrees with the auditor's figures"
# the second start reuses the year: no rebuilding
out2=$(bash "$ROOT/server/demo/run.sh" 2>&1) || fail "second demo failed: $out2"
! grep -q "Building a year" <<<"$out2" && grep -q "demo check: roles: every role has real work" <<<"$out2" ||
    fail "the kept year was not reused: $out2"
pass "the year is kept: a second start is ready without rebuilding"
! port_open "$LABSHARE_HTTP_PORT" || fail "server still running after the demo stopped"
! port_open "$LABSHARE_MQTT_PORT" || fail "broker still running after the demo stopped"
pass "demo stops everything it started"
echo "$CHECKS checks passed"
