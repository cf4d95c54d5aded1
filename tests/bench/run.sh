#!/usr/bin/env bash
# `make bench`: LabShare's benchmarks. Each prints its figures beside a raw baseline measured
# in the same run, as a ratio; nothing here asserts a speed (machines are shared and noisy).
set -eu
cd "$(dirname "$0")/../.."
# the storage benchmarks run on SQLite and, side by side, on a throwaway PostgreSQL cluster
. tests/pg.sh
trap pg_stop EXIT
pg_start
for d in bench_ingest bench_usage; do psql -q "$PG_URL" -c "CREATE DATABASE $d"; done
echo "== server ingest path (build/bench/bench_ingest), SQLite and PostgreSQL"
BENCH_PG_INGEST="postgresql:///bench_ingest?${PG_URL#*\?}" BENCH_PG_USAGE="postgresql:///bench_usage?${PG_URL#*\?}" \
    build/bench/bench_ingest "${BENCH_BATCHES:-500}"
echo
bash tests/bench/bench_gateway.sh
echo
bash tests/bench/bench_http.sh
echo
LABSHARE_TEST_PG=$PG_URL bash tests/bench/bench_http.sh
echo
build/bench/bench_metrics "${BENCH_INSTRUMENTS:-1000}" "${BENCH_SESSIONS:-1000000}"
echo
build/bench/bench_national ${BENCH_NATIONAL:-530 5300}
echo
bash tests/bench/bench_web.sh
