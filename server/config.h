/*
 * config.h - the server's INI configuration (SPEC section 4), parsed with libinih.
 * Every key's type, bounds and default live in one table in config.c; unknown keys and bad
 * values stop the program with "file:line: message".
 */
#ifndef LS_SRV_CONFIG_H
#define LS_SRV_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define SRV_STR_MAX 256

struct srv_config {
    /* [server] */
    char listen_host[SRV_STR_MAX];
    int listen_port;
    char db[SRV_STR_MAX];
    char timezone[64];
    char currency[8];
    char platform_name[SRV_STR_MAX];
    char public_url[SRV_STR_MAX]; /* how people reach the server, for absolute links */
    char web_root[SRV_STR_MAX];   /* the UI's files (web.h) */
    int max_connections;          /* HTTP connections at once */
    int max_per_address;          /* ... from one address (IPv6: a /64) */
    char certfile[SRV_STR_MAX];   /* HTTPS when given (PEM), with keyfile */
    char keyfile[SRV_STR_MAX];
    int http_threads;
    char trusted_proxies[SRV_STR_MAX]; /* reverse proxies whose X-Forwarded-* are believed */
    /* [mqtt] */
    char mqtt_host[SRV_STR_MAX];
    int mqtt_port;
    char mqtt_username[SRV_STR_MAX];
    char mqtt_password[SRV_STR_MAX];
    char mqtt_cafile[SRV_STR_MAX];
    char mqtt_certfile[SRV_STR_MAX]; /* the broker's certificate, for broker-config's listener */
    char mqtt_keyfile[SRV_STR_MAX];
    char mqtt_client_id[64];
    char mqtt_share_group[64];            /* "$share/<group>/..." for the ingest; "" = plain */
    char mqtt_dynsec_plugin[SRV_STR_MAX]; /* "" = look in the usual places */
    /* [ingest] */
    int max_future_s;     /* a reading further ahead of its arrival is refused */
    int max_past_days;    /* a reading older than its instrument's creation minus this: refused */
    int64_t max_thinned;  /* seqs a batch's range claim may declare thinned, at most */
    int64_t queue_max_mb; /* bytes waiting for the store worker, at most */
    /* [interlock] */
    int interlock_period_s; /* how often desired relay states are computed and sent */
    /* [auth] */
    int token_days; /* an API token lasts this long unless it says otherwise */
    /* [metrics] */
    int compact_readings; /* [evidence]: 1 lets compact-readings remove closed months' heartbeats */
    int merge_gap_s;
    int no_show_min_run_s;
    double idle_utilization;
    /* [evaluation] */
    double weight_operation, weight_sharing, weight_service;
    double target_utilization, target_sharing;
    double review_value_band, review_spare_share; /* new-purchase review (review.h) */
    double grade_excellent, grade_good, grade_pass;
    int64_t reward_excellent, reward_good, reward_pass, reward_poor;
    /* [orders] */
    int results_max_kb; /* the largest results file of an order */
    /* [mail]: SMTP for notifications ("" host: no e-mail is queued) */
    char mail_host[SRV_STR_MAX];
    int mail_port;
    char mail_tls[16];             /* none, starttls, tls */
    char mail_cafile[SRV_STR_MAX]; /* the CAs the SMTP server's certificate is checked against;
                                      "": the system's */
    char mail_username[SRV_STR_MAX];
    char mail_password[SRV_STR_MAX];
    char mail_from[SRV_STR_MAX]; /* "Name <address>" or an address */
    /* [notify] */
    int remind_minutes;           /* a reminder this long before a confirmed booking; 0: none */
    int digest_hour;              /* local hour of the managers' daily digest; -1: none */
    int retry_min_s, retry_max_s; /* a failed delivery is retried after min doubling to max */
    int give_up_hours;            /* and given up this long after it was queued */
    int send_timeout_s;           /* one SMTP or webhook delivery at most */
    int webhook_private;          /* 1: webhooks may reach internal addresses (netguard.h) */
    uint64_t seen[2];
};

/* Load path into *cfg (defaults first). On error returns LS_ERR_INVAL or LS_ERR_IO and writes
 * "path:line: message" into err. */
int srv_config_load(const char *path, struct srv_config *cfg, char *err, size_t errlen);

/* For tests: every default parses within its bounds. Returns the number of bad entries. */
int srv_config_check_table(void);

#endif /* LS_SRV_CONFIG_H */
