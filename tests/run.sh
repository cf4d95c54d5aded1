#!/usr/bin/env bash
# Runs LabShare's tests: cmocka unit tests (build/tests/test_*) and the black-box integration
# scripts (tests/integration/NN-area-what.sh), then prints "N passed, N failed".
#   bash tests/run.sh [unit|fuzz|integration|all] [PATTERN]
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
pattern=${2:-}
passed=0
failed=0
failures=()
logdir=build/test-logs
mkdir -p "$logdir"

run_one() { # name, command...
    local name=$1
    shift
    local log="$logdir/$(basename "$name").log"
    local start=$SECONDS
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1))
        printf 'ok   %-48s %3ds\n' "$name" $((SECONDS - start))
    else
        failed=$((failed + 1))
        failures+=("$name")
        printf 'FAIL %-48s %3ds  (log: %s)\n' "$name" $((SECONDS - start)) "$log"
        sed 's/^/    | /' "$log" | tail -n 40
    fi
}

if [ "$what" = unit ] || [ "$what" = all ]; then
    for src in tests/unit/test_*.c; do
        t=build/tests/$(basename "$src" .c)
        [ -z "$pattern" ] || [[ "$t" == *$pattern* ]] || continue
        # a test whose binary is missing (it did not build) fails, it is not skipped
        run_one "unit/$(basename "$t")" "$t"
    done
    # the storage tests again on PostgreSQL, in a throwaway cluster of their own
    if [ -z "$pattern" ] || [[ "build/tests/test_store" == *$pattern* ]]; then
        run_one "unit/test_store (postgresql)" bash tests/pg.sh run build/tests/test_store
    fi
    if [ -z "$pattern" ] || [[ "build/tests/test_writer" == *$pattern* ]]; then
        run_one "unit/test_writer (postgresql)" bash tests/pg.sh run build/tests/test_writer
    fi
fi
if [ "$what" = fuzz ] || [ "$what" = all ]; then
    # each libFuzzer harness for a few seconds on its seeds (make fuzz runs them longer)
    for f in build/fuzz/fuzz_*; do
        n=$(basename "$f")
        n=${n#fuzz_}
        [ -z "$pattern" ] || [[ "$n" == *$pattern* ]] || continue
        run_one "fuzz/$n" bash tests/fuzz/run.sh "${FUZZ_SECONDS:-1}" "$n"
    done
fi
# integration_pass SUFFIX JOBS [MARK]: run the integration scripts matching PATTERN (those whose
# header has a line starting with MARK when given; else all but "# postgresql only" ones),
# naming each result with SUFFIX.
integration_pass() {
    local suffix=$1 jobs_max=$2 mark=${3:-}
    # JOBS scripts at a time (default 2: most of them wait on processes, timers and sockets, not
    # on the CPU); a script whose header says "# serial" runs alone, after what runs has ended
    # (those that load the machine, or measure how it copes with load). Each result line is
    # printed as its script ends.
    local resdir running=0 t name r p f
    resdir=$(mktemp -d)
    reap() { # wait for one script to end
        wait -n 2>/dev/null || true
        running=$((running - 1))
    }
    for t in tests/integration/[0-9][0-9]-*.sh; do
        [ -z "$pattern" ] || [[ "$t" == *$pattern* ]] || continue
        if [ -n "$mark" ]; then grep -q "^$mark" "$t" || continue
        else ! grep -q '^# postgresql only' "$t" || continue; fi
        name="integration/$(basename "$t")$suffix"
        if grep -q '^# serial' "$t"; then
            while [ "$running" -gt 0 ]; do reap; done
            run_one "$name" timeout 300 bash "$t"
            continue
        fi
        while [ "$running" -ge "$jobs_max" ]; do reap; done
        (
            passed=0 failed=0 failures=()
            run_one "$name" timeout 300 bash "$t"
            echo "$passed $failed" >"$resdir/$(basename "$t").result"
        ) &
        running=$((running + 1))
    done
    while [ "$running" -gt 0 ]; do reap; done
    for r in "$resdir"/*.result; do
        [ -e "$r" ] || continue
        read -r p f <"$r"
        passed=$((passed + p))
        failed=$((failed + f))
        [ "$f" -eq 0 ] || failures+=("integration/$(basename "$r" .result)$suffix")
    done
    rm -rf "$resdir"
}

if [ "$what" = integration ] || [ "$what" = all ]; then
    integration_pass "" "${JOBS:-2}"
    # the scripts that exercise storage ("# postgresql" in the header) again with the server on
    # PostgreSQL: one throwaway cluster (tests/pg.sh), a database of its own for each script;
    # three at a time by default (they wait on the database and the broker more than on the CPU)
    any_pg=0
    for t in tests/integration/[0-9][0-9]-*.sh; do
        { [ -z "$pattern" ] || [[ "$t" == *$pattern* ]]; } && grep -q '^# postgresql' "$t" && any_pg=1
    done
    if [ "$any_pg" = 1 ]; then
        . tests/pg.sh
        if pg_start; then
            export LABSHARE_TEST_PG=$PG_URL
            integration_pass " (postgresql)" "${PG_JOBS:-3}" "# postgresql"
            unset LABSHARE_TEST_PG
            pg_stop
        else
            failed=$((failed + 1))
            failures+=("integration (postgresql): no cluster")
        fi
    fi
fi
echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
