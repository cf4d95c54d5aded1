#include "import.h"

#include <stdlib.h>
#include <string.h>

#include "derive.h"
#include "tracker.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* One device's state while its log is read. */
struct dev_state {
    const struct gw_device *dev;
    struct tracker tracker;
    struct derive derive;
    int derived; /* a meter without a state register: the state comes from power */
};

/* Flush the pending readings into the outbox (one transaction). */
static int flush(struct outbox *ob, struct ls_reading *r, int64_t *run, struct dev_state **ds,
                 size_t *n, size_t *taken)
{
    int rcs[OUTBOX_APPEND_MAX];
    int rc;

    if (!*n)
        return LS_OK;
    rc = outbox_append_many(ob, r, run, *n, rcs);
    (void)ds;
    for (size_t i = 0; rc == LS_OK && i < *n; i++) {
        if (rcs[i] != LS_OK) {
            rc = LS_ERR_FULL;
            break;
        }
        (*taken)++;
    }
    *n = 0;
    return rc;
}

int import_log(const struct gw_config *cfg, struct outbox *ob, FILE *in, int heartbeat_s,
               size_t *lines, size_t *taken, char *err, size_t errlen)
{
    struct dev_state *st = calloc(cfg->device_count ? cfg->device_count : 1, sizeof(*st));
    static struct ls_reading pend[OUTBOX_APPEND_MAX];
    struct dev_state *pend_ds[OUTBOX_APPEND_MAX];
    int64_t pend_run[OUTBOX_APPEND_MAX];
    char line[4096], why[200];
    size_t n = 0;
    int rc = LS_OK;

    *lines = *taken = 0;
    if (!st)
        return LS_ERR_NOMEM;
    for (size_t i = 0; i < cfg->device_count; i++) {
        st[i].dev = &cfg->devices[i];
        tracker_init(&st[i].tracker, heartbeat_s);
        st[i].derived = derive_wanted(st[i].dev);
        if (st[i].derived)
            derive_init(&st[i].derive, st[i].dev, outbox_derived_run_ms(ob, st[i].dev->id));
    }
    while (rc == LS_OK && fgets(line, sizeof(line), in)) {
        struct ls_reading r;
        struct dev_state *d = NULL;
        char *sp = strchr(line, ' ');
        size_t len;

        (*lines)++;
        len = strlen(line);
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        if (!len || line[0] == '#')
            continue;
        if (!sp) {
            snprintf(err, errlen, "line %zu: want '<instrument> <meter payload>'", *lines);
            rc = LS_ERR_INVAL;
            break;
        }
        *sp = '\0';
        for (size_t i = 0; i < cfg->device_count && !d; i++)
            if (strcmp(st[i].dev->id, line) == 0)
                d = &st[i];
        if (!d) {
            snprintf(err, errlen, "line %zu: '%.64s' is not an instrument of this gateway", *lines,
                     line);
            rc = LS_ERR_INVAL;
            break;
        }
        if (ls_meter_decode(sp + 1, strlen(sp + 1), &r, why, sizeof(why))) {
            snprintf(err, errlen, "line %zu: %s", *lines, why);
            rc = LS_ERR_INVAL;
            break;
        }
        if (!(r.has & LS_HAS_TS)) {
            snprintf(err, errlen, "line %zu: a logged value needs its ts", *lines);
            rc = LS_ERR_INVAL;
            break;
        }
        snprintf(r.instrument, sizeof(r.instrument), "%s", d->dev->id);
        r.has &= ~(unsigned)LS_HAS_TS;
        /* the log's time is the clock here, as the poll time is when polling */
        if (d->derived)
            derive_apply(&d->derive, &r, r.ts);
        if (!tracker_observe(&d->tracker, &r, r.ts))
            continue;
        /* taken now: the device's next value in this batch is judged against it (a failed
         * append ends the import anyway) */
        tracker_sent(&d->tracker, &r, r.ts);
        pend[n] = r;
        pend_ds[n] = d;
        pend_run[n] = d->derived ? derive_run_to_keep(&d->derive) : -1;
        if (++n == OUTBOX_APPEND_MAX)
            rc = flush(ob, pend, pend_run, pend_ds, &n, taken);
    }
    if (rc == LS_OK || rc == LS_ERR_INVAL) {
        int frc = flush(ob, pend, pend_run, pend_ds, &n, taken);
        if (rc == LS_OK)
            rc = frc;
    }
    if (rc == LS_ERR_FULL)
        snprintf(err, errlen, "the outbox is full after %zu readings", *taken);
    free(st);
    return rc;
}
