#!/usr/bin/env bash
# A flood of 1 MiB payloads from a registered gateway: the server's queue is bounded in bytes
# ([ingest] queue_max_mb), so its memory stays bounded; what it cannot queue is dropped unacked
# and counted, the rest refused as malformed; nothing is stored, and the server still ingests
# honest readings afterwards.
# serial (tests/run.sh runs it alone): it floods the server on purpose
. "$(dirname "$0")/lib.sh"

# Under AddressSanitizer freed memory sits in a quarantine (256 MB by default): keep it small so
# what is measured is the server's own holding.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4
start_broker
SERVER_EXTRA_INI=$'[ingest]\nqueue_max_mb = 8'
start_server
register_gateway gw-flood
bind_instruments gw-flood fl-1
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PID_server/status"; }
prom() { curl -s "$API/metrics/prometheus" | sed -n "s/^$1 //p"; }
base=$(hwm)
N=120
python3 -c 'import sys; line = "x" * (1024 * 1024 - 64) + "\n"; sys.stdout.write(line * int(sys.argv[1]))' "$N" |
    gw_pub gw-flood -q 1 -t labshare/v1/gw/gw-flood/readings -l || fail "the flood was not sent"
seen() { [ $(($(prom 'labshare_ingest_refused_total{cause="malformed"}') + $(prom labshare_ingest_dropped_total))) -ge "$N" ]; }
wait_for 60 seen || fail "the server did not take the flood: $(curl -s "$API/metrics/prometheus" | grep -e malformed -e dropped)"
peak=$(hwm)
echo "server peak RSS: $base kB before, $peak kB after $N messages of 1 MiB ($(prom labshare_ingest_dropped_total) dropped)"
[ $((peak - base)) -lt $((64 * 1024)) ] || fail "server memory grew by $((peak - base)) kB under a flood of $N MiB"
pass "a flood of $N x 1 MiB keeps the server's memory bounded (grew $(((peak - base) / 1024)) MiB)"
[ "$(api '/api/v1/readings?limit=1' | json 'j["total"]')" = 0 ] || fail "the flood stored something"
now=$(date +%s%3N)
gw_pub gw-flood -q 1 -t labshare/v1/gw/gw-flood/readings \
    -m '{"gateway":"gw-flood","epoch":1,"readings":[{"seq":1,"instrument":"fl-1","ts":'"$now"',"state":"idle","cause":"boot"}]}'
wait_for 10 have_readings fl-1 1 || fail "an honest reading after the flood was not stored"
pass "nothing of the flood is stored; an honest reading after it is"
stop server
echo "$CHECKS checks passed"
