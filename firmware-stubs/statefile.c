#include "statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

static int get_u32(json_t *o, const char *key, uint32_t *out)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > (json_int_t)UINT32_MAX)
        return LS_ERR_INVAL;
    *out = (uint32_t)json_integer_value(v);
    return LS_OK;
}

int statefile_load(const char *path, struct meter *const *meters, size_t n, char *err,
                   size_t errlen)
{
    json_error_t jerr;
    json_t *root;
    int rc = LS_OK;

    if (access(path, F_OK) != 0)
        return LS_OK;
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "%s:%d: not a meter state file: %s", path, jerr.line,
                 root ? "not an object" : jerr.text);
        json_decref(root);
        return LS_ERR_INVAL;
    }
    for (size_t i = 0; i < n && rc == LS_OK; i++) {
        struct meter *m = meters[i];
        json_t *o = json_object_get(root, m->id), *v;
        uint32_t run, wh, samples;

        if (!o)
            continue;
        if (!json_is_object(o) || get_u32(o, "run_seconds", &run) || get_u32(o, "energy_wh", &wh) ||
            get_u32(o, "samples", &samples)) {
            snprintf(err, errlen, "%s: bad counters for instrument '%s'", path, m->id);
            rc = LS_ERR_INVAL;
            break;
        }
        m->run_seconds = run;
        m->energy_wh = wh;
        m->samples = samples;
        v = json_object_get(o, "run_ms_frac");
        if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 1000)
            m->run_ms_frac = json_integer_value(v);
        v = json_object_get(o, "energy_frac");
        if (json_is_number(v) && json_number_value(v) >= 0 && json_number_value(v) < 1)
            m->energy_frac = json_number_value(v);
        ls_info("%s: counters restored from %s: run_seconds %u, energy_wh %u, samples %u", m->id,
                path, run, wh, samples);
    }
    json_decref(root);
    return rc;
}

int statefile_save(const char *path, struct meter *const *meters, size_t n)
{
    json_t *root = json_object();
    char tmp[512];
    char *text = NULL;
    int fd = -1, rc = LS_ERR_IO;
    size_t len;

    if (!root)
        return LS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct meter *m = meters[i];
        json_object_set_new(
            root, m->id,
            json_pack("{s:I, s:I, s:I, s:I, s:f}", "run_seconds", (json_int_t)m->run_seconds,
                      "energy_wh", (json_int_t)m->energy_wh, "samples", (json_int_t)m->samples,
                      "run_ms_frac", (json_int_t)m->run_ms_frac, "energy_frac", m->energy_frac));
    }
    text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text)
        return LS_ERR_NOMEM;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto fail;
    len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
        goto fail;
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    rc = LS_OK;
    goto out;
fail:
    ls_error("cannot save meter state to %s: %s", path, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    free(text);
    return rc;
}
