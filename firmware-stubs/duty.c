#include "duty.h"

#include <stdlib.h>

#include "labshare/banned.h"

/* Badges of the demo platform's researchers (shared/data/demo-platform.json). */
static const uint32_t badges[] = {1001, 1002, 1003, 1004, 2001, 2002};

static long pick(struct duty *d, long lo, long hi)
{
    return lo + nrand48(d->rng) % (hi - lo + 1);
}

void duty_init(struct duty *d, uint64_t seed, int64_t now_ms)
{
    d->rng[0] = (unsigned short)(seed & 0xffff);
    d->rng[1] = (unsigned short)((seed >> 16) & 0xffff);
    d->rng[2] = (unsigned short)((seed >> 32) ^ 0x330e);
    d->idle_min_s = 2;
    d->idle_max_s = 6;
    d->run_min_s = 3;
    d->run_max_s = 8;
    d->next_ms = now_ms + 1000 * pick(d, d->idle_min_s, d->idle_max_s);
}

int duty_step(struct duty *d, struct meter *m, int64_t now_ms)
{
    int changes = 0;

    while (now_ms >= d->next_ms) {
        int64_t at = d->next_ms;
        if (m->state == LS_STATE_RUNNING) {
            meter_set_state(m, LS_STATE_IDLE, at);
            m->badge = 0;
            m->samples += (uint32_t)pick(d, 1, 5);
            d->next_ms = at + 1000 * pick(d, d->idle_min_s, d->idle_max_s);
        } else {
            m->badge = badges[pick(d, 0, (long)(sizeof(badges) / sizeof(badges[0])) - 1)];
            if (meter_set_state(m, LS_STATE_RUNNING, at) == 0)
                m->power_w = (double)pick(d, 800, 2500);
            else
                m->badge = 0; /* interlock open: the user cannot start */
            d->next_ms = at + 1000 * pick(d, d->run_min_s, d->run_max_s);
        }
        changes++;
    }
    return changes;
}
