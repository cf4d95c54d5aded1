#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http/forwarded.h"
#include "notify.h"
#include "labshare/conf.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

static int parse_listen(const struct ls_conf_key *k, void *base, const char *value, char *err,
                        size_t errlen)
{
    struct srv_config *cfg = base;

    (void)k;
    if (ls_parse_hostport(value, cfg->listen_host, sizeof(cfg->listen_host), &cfg->listen_port)) {
        snprintf(err, errlen, "'%s' is not host:port", value);
        return LS_ERR_INVAL;
    }
    return LS_OK;
}

/* The UI beside the program: <folder of the running program>/../web. */
static void default_web_root(char *buf, size_t len)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (n <= 0) {
        snprintf(buf, len, "web");
        return;
    }
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(buf, len, "%.*s/../web", (int)(len > 8 ? len - 8 : 0), exe);
}

#define M(m) LS_CONF_AT(struct srv_config, m)

static const struct ls_conf_key keys[] = {
    {"server", "listen", LS_CONF_CUSTOM, 0, 0, 0, 0, "127.0.0.1:8080", parse_listen},
    {"server", "db", LS_CONF_STR, M(db), 0, 0, "labshare.db", NULL},
    {"server", "timezone", LS_CONF_STR, M(timezone), 0, 0, "Asia/Shanghai", NULL},
    {"server", "currency", LS_CONF_STR, M(currency), 0, 0, "CNY", NULL},
    {"server", "platform_name", LS_CONF_STR, M(platform_name), 0, 0, "LabShare", NULL},
    /* "" = http://<listen> */
    {"server", "public_url", LS_CONF_STR, M(public_url), 0, 0, "", NULL},
    /* HTTPS (libmicrohttpd with GnuTLS) when both are given: PEM files */
    {"server", "certfile", LS_CONF_STR, M(certfile), 0, 0, "", NULL},
    {"server", "keyfile", LS_CONF_STR, M(keyfile), 0, 0, "", NULL},
    /* "" = the web folder beside the program's (build/web for build/bin/labshare-server) */
    {"server", "web_root", LS_CONF_STR, M(web_root), 0, 0, "", NULL},
    /* Four HTTP threads keep two cores busy while some wait on SQLite's fsync. */
    {"server", "http_threads", LS_CONF_INT, M(http_threads), 1, 64, "4", NULL},
    /* descriptors: 1000 leaves room below the usual limit of 1024 for the rest */
    {"server", "max_connections", LS_CONF_INT, M(max_connections), 4, 100000, "1000", NULL},
    {"server", "max_connections_per_address", LS_CONF_INT, M(max_per_address), 1, 100000, "256",
     NULL},
    /* reverse proxies (numeric addresses, comma-separated) whose X-Forwarded-For and
     * X-Forwarded-Proto are believed: the client's address for throttling and the audit log,
     * HTTPS for cookies; "" = none, the headers are ignored */
    {"server", "trusted_proxies", LS_CONF_STR, M(trusted_proxies), 0, 0, "", NULL},
    {"mqtt", "host", LS_CONF_STR, M(mqtt_host), 0, 0, "127.0.0.1", NULL},
    {"mqtt", "port", LS_CONF_INT, M(mqtt_port), 1, 65535, "1883", NULL},
    {"mqtt", "username", LS_CONF_STR, M(mqtt_username), 0, 0, "", NULL},
    {"mqtt", "password", LS_CONF_STR, M(mqtt_password), 0, 0, "", NULL},
    {"mqtt", "cafile", LS_CONF_STR, M(mqtt_cafile), 0, 0, "", NULL},
    {"mqtt", "certfile", LS_CONF_STR, M(mqtt_certfile), 0, 0, "", NULL},
    {"mqtt", "keyfile", LS_CONF_STR, M(mqtt_keyfile), 0, 0, "", NULL},
    {"mqtt", "client_id", LS_CONF_STR, M(mqtt_client_id), 0, 0, "labshare-server", NULL},
    {"mqtt", "dynsec_plugin", LS_CONF_STR, M(mqtt_dynsec_plugin), 0, 0, "", NULL},
    /* Servers with the same group share the ingest: each batch goes to one of them ("" = every
     * server gets every batch, for a single server only). */
    {"mqtt", "share_group", LS_CONF_STR, M(mqtt_share_group), 0, 0, "labshare", NULL},
    /* Five minutes covers a meter clock that drifts; more would let a reading book the future. */
    {"ingest", "max_future_s", LS_CONF_INT, M(max_future_s), 0, 86400, "300", NULL},
    /* A gateway may carry a year of readings taken before its instrument was registered. */
    {"ingest", "max_past_days", LS_CONF_INT, M(max_past_days), 0, 36500, "365", NULL},
    /* A full outbox of the default outbox_max_rows can thin at most that many heartbeats. */
    {"ingest", "max_thinned", LS_CONF_I64, M(max_thinned), 0, 1e9, "10000000", NULL},
    {"ingest", "queue_max_mb", LS_CONF_I64, M(queue_max_mb), 1, 4096, "64", NULL},
    /* five seconds: a relay follows a booking's edge within a poll or two of the gateway */
    {"interlock", "period_s", LS_CONF_INT, M(interlock_period_s), 1, 3600, "5", NULL},
    /* an API token lives 90 days unless its owner asks for less (or, up to ten years, more) */
    {"auth", "token_days", LS_CONF_INT, M(token_days), 1, 3650, "90", NULL},
    {"evidence", "compact_readings", LS_CONF_INT, M(compact_readings), 0, 1, "0", NULL},
    {"metrics", "merge_gap_s", LS_CONF_INT, M(merge_gap_s), 0, 86400, "120", NULL},
    {"metrics", "no_show_min_run_s", LS_CONF_INT, M(no_show_min_run_s), 0, 86400, "300", NULL},
    {"metrics", "idle_utilization", LS_CONF_DOUBLE, M(idle_utilization), 0, 10, "0.1", NULL},
    {"evaluation", "weight_operation", LS_CONF_DOUBLE, M(weight_operation), 0, 100, "40", NULL},
    {"evaluation", "weight_sharing", LS_CONF_DOUBLE, M(weight_sharing), 0, 100, "40", NULL},
    {"evaluation", "weight_service", LS_CONF_DOUBLE, M(weight_service), 0, 100, "20", NULL},
    {"evaluation", "target_utilization", LS_CONF_DOUBLE, M(target_utilization), 0.001, 10, "1.0",
     NULL},
    {"evaluation", "target_sharing", LS_CONF_DOUBLE, M(target_sharing), 0.001, 1, "0.20", NULL},
    {"evaluation", "review_value_band", LS_CONF_DOUBLE, M(review_value_band), 0, 10, "0.5", NULL},
    {"evaluation", "review_spare_share", LS_CONF_DOUBLE, M(review_spare_share), 0.01, 1, "0.8",
     NULL},
    {"evaluation", "grade_excellent", LS_CONF_DOUBLE, M(grade_excellent), 0, 100, "90", NULL},
    {"evaluation", "grade_good", LS_CONF_DOUBLE, M(grade_good), 0, 100, "75", NULL},
    {"evaluation", "grade_pass", LS_CONF_DOUBLE, M(grade_pass), 0, 100, "60", NULL},
    /* a sample-testing order's results file (a report, a few spectra) */
    {"orders", "results_max_kb", LS_CONF_INT, M(results_max_kb), 1, 102400, "10240", NULL},
    {"mail", "host", LS_CONF_STR, M(mail_host), 0, 0, "", NULL},
    {"mail", "port", LS_CONF_INT, M(mail_port), 1, 65535, "25", NULL},
    {"mail", "tls", LS_CONF_STR, M(mail_tls), 0, 0, "none", NULL},
    {"mail", "cafile", LS_CONF_STR, M(mail_cafile), 0, 0, "", NULL},
    {"mail", "username", LS_CONF_STR, M(mail_username), 0, 0, "", NULL},
    {"mail", "password", LS_CONF_STR, M(mail_password), 0, 0, "", NULL},
    {"mail", "from", LS_CONF_STR, M(mail_from), 0, 0, "LabShare <labshare@localhost>", NULL},
    {"notify", "remind_minutes", LS_CONF_INT, M(remind_minutes), 0, 10080, "60", NULL},
    {"notify", "digest_hour", LS_CONF_INT, M(digest_hour), -1, 23, "8", NULL},
    /* an SMTP server down for a day loses nothing: retried for three days */
    {"notify", "retry_min_s", LS_CONF_INT, M(retry_min_s), 1, 3600, "30", NULL},
    {"notify", "retry_max_s", LS_CONF_INT, M(retry_max_s), 1, 86400, "3600", NULL},
    {"notify", "give_up_hours", LS_CONF_INT, M(give_up_hours), 1, 8760, "72", NULL},
    {"notify", "send_timeout_s", LS_CONF_INT, M(send_timeout_s), 1, 600, "30", NULL},
    /* 1: webhooks may reach loopback, private and link-local addresses (a messaging bridge
     * inside the platform's own network); 0: public addresses only (netguard.h) */
    {"notify", "webhook_private", LS_CONF_INT, M(webhook_private), 0, 1, "0", NULL},
    {"evaluation", "reward_excellent", LS_CONF_I64, M(reward_excellent), 0, 1e12, "0", NULL},
    {"evaluation", "reward_good", LS_CONF_I64, M(reward_good), 0, 1e12, "0", NULL},
    {"evaluation", "reward_pass", LS_CONF_I64, M(reward_pass), 0, 1e12, "0", NULL},
    {"evaluation", "reward_poor", LS_CONF_I64, M(reward_poor), 0, 1e12, "0", NULL},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct parse_state {
    struct srv_config *cfg;
    char err[400];
};

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *ps = user;
    const struct ls_conf_key *k;
    char why[300];
    size_t i;
    int known;

    if (ps->err[0])
        return 0; /* keep only the first error: inih reports its line */
    k = ls_conf_find(keys, NKEYS, section, name, &known);
    if (!k) {
        if (!known)
            snprintf(ps->err, sizeof(ps->err),
                     "unknown section [%.64s] (server, mqtt, ingest, interlock, auth, evidence,"
                     " metrics, evaluation, orders, mail, notify)",
                     section);
        else
            snprintf(ps->err, sizeof(ps->err), "[%s] unknown key '%.64s'", section, name);
        return 0;
    }
    i = (size_t)(k - keys);
    if (ps->cfg->seen[i / 64] & (1ull << (i % 64))) {
        snprintf(ps->err, sizeof(ps->err), "[%s] %s given twice", section, name);
        return 0;
    }
    ps->cfg->seen[i / 64] |= 1ull << (i % 64);
    if (ls_conf_set(k, ps->cfg, value, why, sizeof(why))) {
        snprintf(ps->err, sizeof(ps->err), "[%s] %s", section, why);
        return 0;
    }
    return 1;
}

int srv_config_load(const char *path, struct srv_config *cfg, char *err, size_t errlen)
{
    struct parse_state ps;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    memset(&ps, 0, sizeof(ps));
    ps.cfg = cfg;
    /* the defaults of every section of the table, each section once */
    for (size_t i = 0; i < NKEYS; i++) {
        int first = 1;
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(keys[j].section, keys[i].section) != 0;
        if (first)
            ls_conf_defaults(keys, NKEYS, keys[i].section, cfg);
    }
    rc = ls_conf_parse_file(path, handler, &ps, ps.err, err, errlen);
    if (rc)
        return rc;
    if (!cfg->web_root[0])
        default_web_root(cfg->web_root, sizeof(cfg->web_root));
    if ((cfg->certfile[0] != 0) != (cfg->keyfile[0] != 0)) {
        snprintf(err, errlen, "%s: [server] certfile and keyfile go together", path);
        return LS_ERR_INVAL;
    }
    if (!cfg->public_url[0])
        snprintf(cfg->public_url, sizeof(cfg->public_url), "%s://%.200s:%d",
                 cfg->certfile[0] ? "https" : "http",
                 strcmp(cfg->listen_host, "0.0.0.0") == 0 ? "localhost" : cfg->listen_host,
                 cfg->listen_port);
    {
        size_t n = strlen(cfg->public_url);
        if (n && cfg->public_url[n - 1] == '/')
            cfg->public_url[n - 1] = '\0';
    }
    if (!forwarded_list_valid(cfg->trusted_proxies)) {
        snprintf(err, errlen,
                 "%s: [server] trusted_proxies: numeric IPv4 or IPv6 addresses separated by"
                 " commas (at most %d), not '%s'",
                 path, FORWARDED_MAX, cfg->trusted_proxies);
        return LS_ERR_INVAL;
    }
    if ((cfg->mqtt_certfile[0] != 0) != (cfg->mqtt_keyfile[0] != 0)) {
        snprintf(err, errlen, "%s: [mqtt] certfile and keyfile go together", path);
        return LS_ERR_INVAL;
    }
    if (strcspn(cfg->mqtt_share_group, "/+#") != strlen(cfg->mqtt_share_group)) {
        snprintf(err, errlen, "%s: [mqtt] share_group is one topic level: no '/', '+' or '#'",
                 path);
        return LS_ERR_INVAL;
    }
    if (strcmp(cfg->mail_tls, "none") != 0 && strcmp(cfg->mail_tls, "starttls") != 0 &&
        strcmp(cfg->mail_tls, "tls") != 0) {
        snprintf(err, errlen, "%s: [mail] tls is none, starttls or tls, not '%.32s'", path,
                 cfg->mail_tls);
        return LS_ERR_INVAL;
    }
    if (cfg->mail_host[0] && !mail_from_address(cfg->mail_from, NULL, 0)) {
        snprintf(err, errlen, "%s: [mail] from must be an address or \"Name <address>\"", path);
        return LS_ERR_INVAL;
    }
    if (cfg->retry_max_s < cfg->retry_min_s) {
        snprintf(err, errlen, "%s: [notify] retry_max_s must not be below retry_min_s", path);
        return LS_ERR_INVAL;
    }
    if (!(cfg->grade_excellent >= cfg->grade_good && cfg->grade_good >= cfg->grade_pass)) {
        snprintf(err, errlen, "%s: [evaluation] grades must satisfy excellent >= good >= pass",
                 path);
        return LS_ERR_INVAL;
    }
    return LS_OK;
}

int srv_config_check_table(void)
{
    return ls_conf_check_table(keys, NKEYS, sizeof(struct srv_config)) + (NKEYS > 128);
}
