/*
 * instrument.h - an instrument of the registry (SPEC 5): who owns it, what it is worth, its
 * rated hours, whether the public catalog shows it, the gateway its commands go to, and its
 * booking rules, service hours, billing terms and interlock policy, each as its domain
 * module's struct. Pure.
 */
#ifndef LS_SRV_INSTRUMENT_H
#define LS_SRV_INSTRUMENT_H

#include <stddef.h>
#include <stdint.h>

#include "billing.h"
#include "booking.h"
#include "interlock.h"
#include "labshare/wire.h"

/* Texts are complete: name <= 200 bytes, category and location <= 100. */
struct instrument {
    char id[LS_ID_MAX];
    char name[256];
    int64_t org_id; /* the owner */
    char category[128];
    char location[128];
    char
        *description; /* <= 2000 bytes; never NULL once filled ("" none); owned: instrument_clear */
    int64_t value_yuan;
    int64_t rated_hours;     /* per year */
    int is_public;           /* 1: any researcher sees and books it */
    char gateway[LS_ID_MAX]; /* "" none */
    struct booking_rules booking;
    struct service_hours hours;
    struct billing_terms billing;
    struct interlock_policy interlock;
    int64_t joined_ms; /* when it joined the platform */
};

/* An instrument with every setting at its default (1400 rated hours, public, the default rules,
 * hours, terms and policy) and an empty description. LS_ERR_NOMEM. */
int instrument_init(struct instrument *in);
/* Set the description (a copy of text). LS_ERR_NOMEM, the old one kept. */
int instrument_set_description(struct instrument *in, const char *text);
/* Free what in owns; in may be filled again with instrument_init. */
void instrument_clear(struct instrument *in);
/* Clear each of n instruments and free v. */
void instruments_free(struct instrument *v, size_t n);

#endif
