#include "derive.h"

#include <string.h>

#include "labshare/banned.h"

void derive_init(struct derive *dv, const struct gw_device *d, int64_t run_ms)
{
    memset(dv, 0, sizeof(*dv));
    dv->start_w = d->start_w;
    dv->stop_w = d->stop_w;
    dv->min_on_ms = (int64_t)d->min_on_s * 1000;
    dv->min_off_ms = (int64_t)d->min_off_s * 1000;
    dv->pending_since = -1;
    dv->last_ms = -1;
    dv->run_ms = run_ms;
    dv->sum_run_time = !d->field_present[GW_F_RUN_SECONDS];
}

void derive_apply(struct derive *dv, struct ls_reading *r, int64_t mono_ms)
{
    double p = (r->has & LS_HAS_POWER_W) ? r->power_w : 0.0;
    int want_other;

    /* Run time accrues for the state held since the last poll. */
    if (dv->last_ms >= 0 && dv->running && mono_ms > dv->last_ms)
        dv->run_ms += mono_ms - dv->last_ms;
    dv->last_ms = mono_ms;

    want_other = dv->running ? p < dv->stop_w : p >= dv->start_w;
    if (!want_other) {
        dv->pending_since = -1;
    } else {
        if (dv->pending_since < 0)
            dv->pending_since = mono_ms;
        if (mono_ms - dv->pending_since >= (dv->running ? dv->min_off_ms : dv->min_on_ms)) {
            /* The change happened when the power crossed, not when the debounce ended: count
             * (or stop counting) run time from then. */
            if (dv->running)
                dv->run_ms -= mono_ms - dv->pending_since;
            else
                dv->run_ms += mono_ms - dv->pending_since;
            dv->running = !dv->running;
            dv->pending_since = -1;
        }
    }
    r->state = dv->running ? LS_STATE_RUNNING : (p <= 0 ? LS_STATE_OFF : LS_STATE_IDLE);
    if (dv->sum_run_time) {
        r->run_seconds = dv->run_ms / 1000;
        r->has |= LS_HAS_RUN_SECONDS;
    }
}

int derive_wanted(const struct gw_device *d)
{
    return d->kind != GW_DEV_MQTT && !d->field_present[GW_F_STATE];
}

int64_t derive_run_to_keep(const struct derive *dv)
{
    return dv->sum_run_time ? dv->run_ms : -1;
}
