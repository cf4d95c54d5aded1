/* compact.c - which readings stay when a closed month is compacted: see compact.h. */
#include "compact.h"

#include "labshare/wire.h"
#include "labshare/banned.h"

static int64_t hour_of(int64_t ts)
{
    int64_t h = ts / 3600000;
    return ts < 0 && ts % 3600000 ? h - 1 : h;
}

size_t compact_select(const struct compact_reading *r, size_t n, unsigned char *keep)
{
    size_t gone = 0;

    for (size_t i = 0; i < n; i++) {
        const struct compact_reading *a = i ? &r[i - 1] : NULL, *b = &r[i];
        int edge = !a || hour_of(a->ts) != hour_of(b->ts) || i + 1 == n ||
                   hour_of(r[i + 1].ts) != hour_of(b->ts);
        int differs = a && (a->state != b->state || a->has_badge != b->has_badge ||
                            (b->has_badge && a->badge != b->badge));
        keep[i] = b->cause != LS_CAUSE_HEARTBEAT || edge || differs;
        gone += !keep[i];
    }
    return gone;
}
