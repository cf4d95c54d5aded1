#!/usr/bin/env bash
# `make bench`: LabShare's benchmarks. Each prints its figures beside a raw baseline measured
# in the same run, as a ratio; nothing here asserts a speed (machines are shared and noisy).
set -eu
cd "$(dirname "$0")/../.."
echo "== server ingest path (build/bench/bench_ingest)"
build/bench/bench_ingest "${BENCH_BATCHES:-500}"
echo
bash tests/bench/bench_gateway.sh
echo
bash tests/bench/bench_http.sh
echo
build/bench/bench_metrics "${BENCH_INSTRUMENTS:-1000}" "${BENCH_SESSIONS:-1000000}"
echo
bash tests/bench/bench_web.sh
