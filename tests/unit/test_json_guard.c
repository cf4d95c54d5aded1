/* Unit tests of the JSON guard (include/labshare/json_guard.c): with the k-th allocation failing,
 * for every k that parsing makes, a guarded parse gives either the whole value or nothing (and
 * says it ran out of memory) - never a value cut short, which jansson alone can return. */
// WRAP: malloc
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/json_guard.h"

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

/* fail allocations fail_at .. fail_at + 2 (0: none): as many as the guard tries, so that the
 * failure reaches jansson */
static int fail_at, calls;

void *__wrap_malloc(size_t size)
{
    ++calls;
    if (fail_at && calls >= fail_at && calls < fail_at + 3)
        return NULL;
    return __real_malloc(size);
}

static const char batch[] =
    "{\"gateway\": \"gw-lab-1\", \"epoch\": 1796054400000, \"readings\": [{\"seq\": 41, "
    "\"instrument\": \"icp-ms-01\", \"ts\": \"2026-12-01T09:00:00.250Z\", \"state\": \"running\", "
    "\"cause\": \"change\", \"run_seconds\": 123456, \"badge\": 4242, \"power_w\": 2250.5}, "
    "{\"seq\": 42, \"instrument\": \"icp-ms-01\", \"ts\": \"2026-12-01T09:01:00.250Z\", "
    "\"state\": \"idle\", \"cause\": \"heartbeat\", \"run_seconds\": 123500}]}";

static void whole_or_nothing(void **state)
{
    json_t *whole, *v;
    int oom, refused = 0, whole_ones = 0, allocations;
    (void)state;

    ls_json_guard_install();
    whole = ls_json_loads(batch, JSON_REJECT_DUPLICATES, NULL, &oom);
    assert_non_null(whole);
    assert_int_equal(oom, 0);
    /* how many allocations a parse makes */
    fail_at = 0;
    calls = 0;
    json_decref(ls_json_loads(batch, JSON_REJECT_DUPLICATES, NULL, NULL));
    allocations = calls;
    assert_true(allocations > 10);
    for (int k = 1; k <= allocations; k++) {
        fail_at = k;
        calls = 0;
        v = ls_json_loads(batch, JSON_REJECT_DUPLICATES, NULL, &oom);
        fail_at = 0;
        if (v) {
            assert_int_equal(oom, 0);
            assert_true(json_equal(v, whole)); /* never a value cut short */
            whole_ones++;
        } else {
            assert_int_equal(oom, 1);
            refused++;
        }
        json_decref(v);
    }
    assert_int_equal(refused + whole_ones, allocations);
    assert_true(refused > 0); /* the failures were seen */
    json_decref(whole);
}

static void plain_failures_are_not_memory(void **state)
{
    json_error_t err;
    int oom = 1;
    (void)state;

    assert_null(ls_json_loads("{\"a\": ", 0, &err, &oom));
    assert_int_equal(oom, 0); /* malformed: the input's fault */
    assert_null(ls_json_loads(NULL, 0, &err, &oom));
    assert_int_equal(oom, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_or_nothing),
        cmocka_unit_test(plain_failures_are_not_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
