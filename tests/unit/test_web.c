/* Unit tests of the web UI's file table (server/http/web.c): what is loaded and what is not, gzip
 * siblings, ETags that follow the content, and that no request path reaches outside it. */
// LINK: server/http/web.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../server/http/web.h"
#include "labshare/rc.h"

static char root[64];

static void put(const char *rel, const char *content)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s%s", root, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static int setup(void **state)
{
    char path[256];

    (void)state;
    snprintf(root, sizeof(root), "/tmp/labshare-web-XXXXXX");
    assert_non_null(mkdtemp(root));
    snprintf(path, sizeof(path), "%s/app", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/vendor", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/vendor/pkg-1.0.0", root);
    mkdir(path, 0755);
    put("/index.html", "<!doctype html><title>x</title>");
    put("/index.html.gz", "GZ");
    put("/app/main.js", "console.log(1);");
    put("/app/main.js.map", "{}");
    put("/app/.hidden.js", "secret");
    put("/vendor/pkg-1.0.0/lib.js", "lib");
    put("/README", "no extension");
    snprintf(path, sizeof(path), "%s/app/link.js", root);
    symlink("/etc/passwd", path);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    return system(cmd);
}

static void loads_what_the_ui_is_made_of(void **state)
{
    struct web *w = NULL;
    const struct web_file *f;

    (void)state;
    assert_int_equal(web_load(root, &w), LS_OK);
    assert_int_equal(web_count(w), 3); /* index.html, app/main.js, vendor/.../lib.js */
    f = web_find(w, "/");
    assert_non_null(f);
    assert_string_equal(f->path, "/index.html");
    assert_string_equal(f->content_type, "text/html; charset=utf-8");
    assert_int_equal(f->len, strlen("<!doctype html><title>x</title>"));
    assert_non_null(f->gz);
    assert_memory_equal(f->gz, "GZ", 2);
    assert_false(f->long_lived);
    f = web_find(w, "/app/main.js");
    assert_non_null(f);
    assert_string_equal(f->content_type, "text/javascript; charset=utf-8");
    assert_null(f->gz);
    f = web_find(w, "/vendor/pkg-1.0.0/lib.js");
    assert_non_null(f);
    assert_true(f->long_lived);
    web_free(w);
}

static void serves_nothing_else(void **state)
{
    struct web *w = NULL;

    (void)state;
    assert_int_equal(web_load(root, &w), LS_OK);
    assert_null(web_find(w, "/app/main.js.map")); /* not a type the UI serves */
    assert_null(web_find(w, "/app/.hidden.js"));  /* dot files */
    assert_null(web_find(w, "/app/link.js"));     /* a symlink out of the folder */
    assert_null(web_find(w, "/index.html.gz"));   /* a gzip only as a sibling */
    assert_null(web_find(w, "/README"));
    assert_null(web_find(w, "/../index.html")); /* only exact table paths */
    assert_null(web_find(w, "/app/../index.html"));
    assert_null(web_find(w, "index.html"));
    assert_null(web_find(w, ""));
    assert_null(web_find(w, NULL));
    web_free(w);
}

static void etag_follows_the_content(void **state)
{
    struct web *w = NULL;
    char before[48];

    (void)state;
    assert_int_equal(web_load(root, &w), LS_OK);
    snprintf(before, sizeof(before), "%s", web_find(w, "/app/main.js")->etag);
    assert_int_equal(before[0], '"');
    assert_int_equal(strlen(before), 22);
    web_free(w);
    put("/app/main.js", "console.log(2);");
    assert_int_equal(web_load(root, &w), LS_OK);
    assert_string_not_equal(web_find(w, "/app/main.js")->etag, before);
    web_free(w);
}

static void a_missing_folder_serves_the_api_only(void **state)
{
    struct web *w = NULL;

    (void)state;
    assert_int_equal(web_load("/nonexistent/labshare/web", &w), LS_OK);
    assert_non_null(w);
    assert_int_equal(web_count(w), 0);
    assert_null(web_find(w, "/"));
    web_free(w);
    assert_null(web_find(NULL, "/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_what_the_ui_is_made_of),
        cmocka_unit_test(serves_nothing_else),
        cmocka_unit_test(etag_follows_the_content),
        cmocka_unit_test(a_missing_folder_serves_the_api_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
