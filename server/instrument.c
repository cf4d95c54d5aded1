/* instrument.c - an instrument of the registry (instrument.h). */
#include "instrument.h"

#include <stdlib.h>
#include <string.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

int instrument_init(struct instrument *in)
{
    char why[200];

    memset(in, 0, sizeof(*in));
    in->rated_hours = 1400;
    in->is_public = 1;
    /* the parsers' defaults are what NULL gives */
    if (booking_rules_parse(NULL, &in->booking, why, sizeof(why)) ||
        service_hours_parse(NULL, &in->hours, why, sizeof(why)) ||
        interlock_policy_parse(NULL, &in->interlock, why, sizeof(why)))
        return LS_ERR_INVAL;
    billing_terms_default(&in->billing);
    return instrument_set_description(in, "");
}

int instrument_set_description(struct instrument *in, const char *text)
{
    char *copy = strdup(text ? text : "");

    if (!copy)
        return LS_ERR_NOMEM;
    free(in->description);
    in->description = copy;
    return LS_OK;
}

void instrument_clear(struct instrument *in)
{
    free(in->description);
    in->description = NULL;
}

void instruments_free(struct instrument *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        instrument_clear(&v[i]);
    free(v);
}
