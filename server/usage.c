#include "usage.h"

#include <stdlib.h>
#include <string.h>

#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* A counter step may exceed the wall time by this much (rounding of whole-second counters). */
#define SLACK_MS 2000
/* Energy a step may add: 1 MW over its time (no laboratory instrument draws more). */
#define ENERGY_W_MAX 1000000
/* Samples a step may add: 10 a second plus 100 (an autosampler's tray counted at once). */
#define SAMPLES_PER_S_MAX 10
#define SAMPLES_STEP_BASE 100

/* The share len/dur of v, exactly: v x len fits in 128 bits, and the result is at most v. */
__extension__ typedef __int128 wide;
static int64_t share(int64_t v, int64_t len, int64_t dur)
{
    return dur ? (int64_t)((wide)v * len / dur) : 0;
}

int64_t usage_counter_delta(int64_t a, int64_t b, int64_t max)
{
    int64_t d = b >= a ? b - a : b;

    if (d < 0)
        d = 0;
    return d > max ? max : d;
}

static int push(struct usage_session **v, size_t *n, size_t *cap, const struct usage_session *s)
{
    if (ls_grow(v, cap, *n + 1, sizeof(**v)))
        return LS_ERR_NOMEM;
    (*v)[(*n)++] = *s;
    return LS_OK;
}

/* Whether reading b, running, tells of another user than session s: it reports a badge and s
 * has reported a different one. */
static int badge_differs(const struct usage_session *s, const struct usage_reading *b)
{
    return s->badge_seen && (b->has & LS_HAS_BADGE) && b->badge != s->badge;
}

int usage_sessions(const struct usage_reading *r, size_t n, int64_t merge_gap_ms,
                   struct usage_session **out, size_t *nout)
{
    struct usage_session cur, *v = NULL;
    size_t cnt = 0, cap = 0;
    int in = 0;

    *out = NULL;
    *nout = 0;
    memset(&cur, 0, sizeof(cur));
    for (size_t i = 0; i < n; i++) {
        const struct usage_reading *a = i ? &r[i - 1] : NULL, *b = &r[i];
        int64_t dt = a ? b->ts - a->ts : 0;

        /* the step a -> b belongs to the session when a was running, or when the session is
         * open and merging over a short pause */
        if (in && a) {
            int64_t max_s = (dt + SLACK_MS) / 1000;
            if (a->state == LS_STATE_RUNNING) {
                if (a->has & b->has & LS_HAS_RUN_SECONDS)
                    cur.run_ms += 1000 * usage_counter_delta(a->run_seconds, b->run_seconds, max_s);
                else
                    cur.run_ms += dt;
            }
            /* Like run time, energy and samples are capped per step: the counters are in range
             * (trust.h), and no step adds more than the time allows, so sums stay far from
             * overflow. */
            if (a->has & b->has & LS_HAS_ENERGY_WH)
                cur.energy_wh += usage_counter_delta(a->energy_wh, b->energy_wh,
                                                     (dt + SLACK_MS) / 1000 * ENERGY_W_MAX / 3600);
            if (a->has & b->has & LS_HAS_SAMPLES)
                cur.samples += usage_counter_delta(a->samples, b->samples,
                                                   SAMPLES_STEP_BASE +
                                                       (dt + SLACK_MS) / 1000 * SAMPLES_PER_S_MAX);
        }
        if (b->state == LS_STATE_RUNNING) {
            if (!in) {
                /* a new run: merge with the last session when the pause was short and nobody
                 * else logged in */
                if (cnt > 0 && b->ts - v[cnt - 1].end_ms < merge_gap_ms &&
                    !badge_differs(&v[cnt - 1], b)) {
                    cur = v[--cnt];
                } else {
                    memset(&cur, 0, sizeof(cur));
                    cur.start_ms = b->ts;
                }
                in = 1;
            } else if (badge_differs(&cur, b)) {
                /* another badge (or none) while running: the session ends here, the next
                 * user's starts */
                cur.end_ms = b->ts;
                cur.open = 0;
                if (push(&v, &cnt, &cap, &cur)) {
                    free(v);
                    return LS_ERR_NOMEM;
                }
                memset(&cur, 0, sizeof(cur));
                cur.start_ms = b->ts;
            }
            if (!cur.badge_seen && (b->has & LS_HAS_BADGE)) {
                cur.badge_seen = 1;
                cur.badge = b->badge > 0 ? b->badge : 0;
                cur.badge_user = b->badge_user;
            }
            cur.end_ms = b->ts;
            cur.open = 1;
        } else if (in) {
            cur.end_ms = b->ts;
            cur.open = 0;
            if (push(&v, &cnt, &cap, &cur)) {
                free(v);
                return LS_ERR_NOMEM;
            }
            in = 0;
        }
    }
    if (in && push(&v, &cnt, &cap, &cur)) {
        free(v);
        return LS_ERR_NOMEM;
    }
    *out = v;
    *nout = cnt;
    return LS_OK;
}

const char *usage_attribution_name(enum usage_attribution a)
{
    static const char *const names[] = {"booking", "badge", "none"};

    return (unsigned)a <= USAGE_NONE ? names[a] : "none";
}

int usage_split(const struct usage_session *s, const struct usage_booking *b, size_t nb,
                int64_t badge_user, struct usage_part **out, size_t *nout)
{
    struct usage_part *v = calloc(2 * nb + 1, sizeof(*v));
    int64_t t = s->start_ms, dur = s->end_ms - s->start_ms;
    int64_t given_run = 0, given_e = 0, given_s = 0;
    size_t n = 0;

    *out = NULL;
    *nout = 0;
    if (!v)
        return LS_ERR_NOMEM;
    for (size_t i = 0; i <= nb && t < s->end_ms; i++) {
        int64_t bs = i < nb ? b[i].start_ms : s->end_ms, be = i < nb ? b[i].end_ms : s->end_ms;
        if (i < nb && be <= t)
            continue;
        if (bs > t) { /* outside bookings up to the next one */
            v[n].start_ms = t;
            v[n].end_ms = bs < s->end_ms ? bs : s->end_ms;
            v[n].attribution = badge_user ? USAGE_BADGE : USAGE_NONE;
            v[n].user_id = badge_user;
            t = v[n++].end_ms;
        }
        if (i < nb && t < s->end_ms && bs < s->end_ms) {
            v[n].start_ms = t;
            v[n].end_ms = be < s->end_ms ? be : s->end_ms;
            v[n].attribution = USAGE_BOOKING;
            v[n].booking_id = b[i].id;
            v[n].user_id = b[i].user_id;
            t = v[n++].end_ms;
        }
    }
    if (n == 0) { /* a session of no length (started and ended on one reading) */
        v[0].start_ms = s->start_ms;
        v[0].end_ms = s->end_ms;
        v[0].attribution = badge_user ? USAGE_BADGE : USAGE_NONE;
        v[0].user_id = badge_user;
        n = 1;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t len = v[i].end_ms - v[i].start_ms;
        if (i + 1 == n) {
            v[i].run_ms = s->run_ms - given_run;
            v[i].energy_wh = s->energy_wh - given_e;
            v[i].samples = s->samples - given_s;
        } else {
            v[i].run_ms = share(s->run_ms, len, dur);
            v[i].energy_wh = share(s->energy_wh, len, dur);
            v[i].samples = share(s->samples, len, dur);
        }
        given_run += v[i].run_ms;
        given_e += v[i].energy_wh;
        given_s += v[i].samples;
    }
    *out = v;
    *nout = n;
    return LS_OK;
}
