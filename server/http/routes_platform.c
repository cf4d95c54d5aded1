/* routes_platform.c - GET /platform (no login): what every client needs to show figures right:
 * the platform's name, time zone, currency and its minor unit, and the grade thresholds. */
#include "routes.h"

#include <string.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

/* Minor units of the currencies a platform may run in (ISO 4217). */
static const struct {
    const char *code, *minor_name;
    int digits;
} currencies[] = {
    {"CNY", "fen", 2},  {"HKD", "cent", 2}, {"USD", "cent", 2},
    {"EUR", "cent", 2}, {"JPY", "yen", 0},  {"KRW", "won", 0},
};

int route_platform(struct http_req *req, struct http_resp *resp)
{
    const struct srv_config *c = req->cfg;
    const char *minor = "cent";
    int digits = 2;

    for (size_t i = 0; i < sizeof(currencies) / sizeof(currencies[0]); i++)
        if (strcmp(currencies[i].code, c->currency) == 0) {
            minor = currencies[i].minor_name;
            digits = currencies[i].digits;
        }
    return http_json(
        resp, 200,
        json_pack("{s:s, s:s, s:{s:s, s:s, s:i, s:I}, s:{s:f, s:f, s:f}, s:{s:s, s:s, s:s, s:s},"
                  " s:{s:i, s:i}}",
                  "name", c->platform_name, "timezone", c->timezone, "currency", "code",
                  c->currency, "minor_unit", minor, "digits", digits, "per_major",
                  (json_int_t)(digits == 2 ? 100 : 1), "grades", "excellent", c->grade_excellent,
                  "good", c->grade_good, "pass", c->grade_pass, "grade_labels", "excellent", "优秀",
                  "good", "良好", "pass", "合格", "poor", "较差", "precision", "hours", 4, "ratios",
                  4));
}
