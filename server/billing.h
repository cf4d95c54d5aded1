/*
 * billing.h - what a use of an instrument costs (SPEC section 7), as pure functions (any
 * thread): the billable minutes of a basis, rounding to the increment, the minimum, the no-show
 * fraction, per-sample fees and the voucher share. Money is integer minor units (fen).
 */
#ifndef LS_SRV_BILLING_H
#define LS_SRV_BILLING_H

#include <jansson.h>
#include <stdint.h>

enum billing_basis { BASIS_BOOKED = 0, BASIS_METERED, BASIS_MAX };
enum billing_category { CAT_INTERNAL = 0, CAT_ACADEMIC, CAT_INDUSTRY };

struct billing_terms {
    enum billing_basis basis;
    int64_t increment_min, minimum_min;
    double no_show_fraction;
    int64_t rates[3]; /* per hour, by enum billing_category */
    int64_t per_sample;
};

/* The largest rate (fen per hour) or per-sample fee the API accepts. */
#define BILLING_AMOUNT_MAX 100000000
/* The largest billing increment and minimum, in minutes (a day). */
#define BILLING_MINUTES_MAX 1440
/* The terms of an instrument that says nothing: metered, 15-minute increments, no minimum, half
 * of a no-show charged, every rate 0. */
void billing_terms_default(struct billing_terms *t);
/* Parse an instrument's "billing" object (NULL or {} = the defaults; absent keys keep them).
 * LS_ERR_INVAL with a sentence in why on an unknown key, a wrong type or a value out of range
 * (ranges that keep the arithmetic below from overflowing). */
int billing_terms_parse(const json_t *b, struct billing_terms *t, char *why, size_t len);
/* booked, metered or max. */
const char *billing_basis_name(enum billing_basis b);
/* t as the API shows it, every key present (it parses back to t). */
json_t *billing_terms_json(const struct billing_terms *t);

/* The category of a user of org_type for an instrument: internal when the user's organisation
 * owns it, industry for an external enterprise, academic for other external organisations. */
enum billing_category billing_category(int same_org, const char *user_org_type);
const char *billing_category_name(enum billing_category c);

struct charge {
    int64_t minutes;  /* billable minutes after rounding and the minimum */
    int64_t rate;     /* per hour */
    int64_t time_fee; /* rate x minutes / 60, rounded half up (times the no-show fraction) */
    int64_t samples, sample_fee;
    int64_t amount; /* time_fee + sample_fee */
};

/* A booking's charge: booked_s and metered_s seconds; no_show set when it ended as a no-show
 * (then the booked charge times the no-show fraction, without sample fees). Every product and
 * sum is overflow-checked: LS_ERR_INVAL (and no charge to use) when one does not fit. */
int billing_booking(const struct billing_terms *t, enum billing_category cat, int64_t booked_s,
                    int64_t metered_s, int64_t samples, int no_show, struct charge *c);

/* Metered use without a booking (attributed by badge): always on the metered basis. LS_OK, or
 * LS_ERR_INVAL on overflow. */
int billing_unbooked(const struct billing_terms *t, enum billing_category cat, int64_t metered_s,
                     int64_t samples, struct charge *c);

/* The month ("YYYY-MM"), day ("YYYY-MM-DD", may be NULL) and year of epoch ms in the platform
 * time zone (TZ): the statement a charge belongs to. */
void billing_month(int64_t ms, char month[16], char day[24], int *year);

/* The voucher share of amount: floor(amount x percent / 100), at most left (what remains of the
 * annual cap), never negative; exact for every amount (no overflow). */
int64_t billing_voucher(int64_t amount, int64_t percent, int64_t left);

#endif /* LS_SRV_BILLING_H */
