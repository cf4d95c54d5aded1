#!/usr/bin/env bash
# Runs each libFuzzer harness (build/fuzz/fuzz_*) for SECONDS (default 60) on its seed corpus
# (tests/fuzz/corpus/NAME, read only) and a working corpus in build/fuzz/corpus/NAME (kept between
# runs), then prints per harness the executions, coverage (cov: edges, ft: features) and corpus
# size. A crash, leak, timeout or sanitizer report fails it: the input is left in
# build/fuzz/artifacts/ (turn it into a unit test). Exit status: 0 when none failed.
#   bash tests/fuzz/run.sh [SECONDS] [NAME-PATTERN]
set -u
cd "$(dirname "$0")/../.."
seconds=${1:-60}
pattern=${2:-}
failed=0
mkdir -p build/fuzz/artifacts build/fuzz/logs
printf '%-18s %10s %8s %8s %7s  %s\n' harness execs cov ft corpus result
for bin in build/fuzz/fuzz_*; do
    name=$(basename "$bin")
    name=${name#fuzz_}
    [ -z "$pattern" ] || [[ "$name" == *$pattern* ]] || continue
    work=build/fuzz/corpus/$name
    seeds=tests/fuzz/corpus/$name
    mkdir -p "$work" "$seeds"
    log=build/fuzz/logs/$name.log
    if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="build/fuzz/artifacts/$name-" "$work" "$seeds" >"$log" 2>&1; then
        result=ok
    else
        result=FAIL
        failed=$((failed + 1))
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    printf '%-18s %10s %8s %8s %7s  %s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
        "$(ls "$work" | wc -l)" "$result"
    if [ "$result" = FAIL ]; then
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -5 | sed 's/^/    | /'
    fi
done
exit $((failed > 0))
