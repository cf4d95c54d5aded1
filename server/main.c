/*
 * labshare-server - the central server: MQTT ingest, SQLite store, HTTP API (SPEC 4-5).
 */
#include <getopt.h>
#include <pthread.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "broker.h"
#include "commands.h"
#include "config.h"
#include "http/http.h"
#include "ingest.h"
#include "mailer.h"
#include "store.h"
#include "trust.h"
#include "labshare/cli.h"
#include "labshare/json_guard.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/version.h"
#include "labshare/banned.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: labshare-server -c server.ini [--log-level LEVEL] [COMMAND]\n"
               "\n"
               "Central server: ingests gateway readings over MQTT into SQLite and serves the\n"
               "HTTP API.\n"
               "\n"
               "Commands:\n"
               "  (none)        run the server until SIGTERM or SIGINT\n"
               "  admin-token   create the admin user if absent and print a new bearer token\n"
               "  broker-config DIR\n"
               "                write DIR/mosquitto.conf (and, the first time,\n"
               "                DIR/dynamic-security.json) for the mosquitto 2.0 broker this\n"
               "                server needs: no anonymous access, the server's account from\n"
               "                [mqtt] username/password, gateways admitted at run time\n"
               "  usage-check   recompute usage from all readings and compare with the stored\n"
               "                (incremental) usage, then each instrument's usage per day\n"
               "                from the sessions with the stored day sums; exit 1 when\n"
               "                either differs\n"
               "  usage-rebuild recompute usage and its day sums and store them\n"
               "  compact-readings YYYY-MM\n"
               "                remove the heartbeats of a closed month between the readings\n"
               "                that stay (boot, change, the first and last of each hour),\n"
               "                where the sessions stay the same; SHA-256 digests of what stays\n"
               "                and what goes go into the audit log ([evidence]\n"
               "                compact_readings = 1 opts in)\n"
               "  readings-verify YYYY-MM\n"
               "                check a month's readings against its compaction records\n"
               "  import-sqlite OLD.db\n"
               "                copy the SQLite platform OLD.db (stop its server first) into\n"
               "                the empty PostgreSQL database of [server] db, every row as\n"
               "                stored, in one transaction; then verify the audit chain there\n"
               "\n"
               "Options:\n"
               "  -c, --config FILE   the INI configuration (required)\n"
               "  --log-level LEVEL   debug, info, warn or error (default info)\n"
               "  -h, --help          show this help and exit\n"
               "  -V, --version       show the version and exit\n");
}

/* Ingest counters for /metrics/prometheus. */
/* What /metrics/prometheus adds to the HTTP figures: ingest's and the interlock service's. */
struct services {
    struct ingest *in;
    struct commands *cmds;
    struct mailer *mailer;
};

static void interlock_metrics(struct commands *c, struct ls_buf *b)
{
    struct commands_stats s;

    commands_get_stats(c, &s);
    ls_buf_printf(b,
                  "# HELP labshare_interlock_commands_total Interlock commands published.\n"
                  "# TYPE labshare_interlock_commands_total counter\n"
                  "labshare_interlock_commands_total %llu\n"
                  "# HELP labshare_interlock_command_failures_total Publishes the broker did not "
                  "take (sent again).\n"
                  "# TYPE labshare_interlock_command_failures_total counter\n"
                  "labshare_interlock_command_failures_total %llu\n"
                  "# HELP labshare_interlock_instruments Instruments by interlock policy.\n"
                  "# TYPE labshare_interlock_instruments gauge\n"
                  "labshare_interlock_instruments{mode=\"enforce\"} %llu\n"
                  "labshare_interlock_instruments{mode=\"monitor\"} %llu\n"
                  "# HELP labshare_interlock_disagreements Instruments whose reported relay "
                  "differs from the desired state.\n"
                  "# TYPE labshare_interlock_disagreements gauge\n"
                  "labshare_interlock_disagreements %llu\n"
                  "# HELP labshare_interlock_faults Instruments whose gateway reports it cannot "
                  "put the relay in the desired state (meter unreachable, write refused).\n"
                  "# TYPE labshare_interlock_faults gauge\n"
                  "labshare_interlock_faults %llu\n",
                  (unsigned long long)s.sent, (unsigned long long)s.failed,
                  (unsigned long long)s.enforced, (unsigned long long)s.monitored,
                  (unsigned long long)s.disagreeing, (unsigned long long)s.faulty);
}

static void ingest_metrics(void *arg, struct ls_buf *b)
{
    struct services *sv = arg;
    struct ingest_stats s;

    interlock_metrics(sv->cmds, b);
    mailer_metrics(sv->mailer, b);
    ingest_get_stats(sv->in, &s);
    ls_buf_printf(
        b,
        "# HELP labshare_ingest_batches_total Reading batches stored.\n"
        "# TYPE labshare_ingest_batches_total counter\n"
        "labshare_ingest_batches_total %llu\n"
        "# HELP labshare_ingest_readings_total Readings stored (each once).\n"
        "# TYPE labshare_ingest_readings_total counter\n"
        "labshare_ingest_readings_total %llu\n"
        "# HELP labshare_ingest_duplicates_total Readings received again and skipped.\n"
        "# TYPE labshare_ingest_duplicates_total counter\n"
        "labshare_ingest_duplicates_total %llu\n"
        "# HELP labshare_ingest_rejected_total Messages refused as malformed.\n"
        "# TYPE labshare_ingest_rejected_total counter\n"
        "labshare_ingest_rejected_total %llu\n"
        "# HELP labshare_ingest_db_errors_total Batches not stored for a database error.\n"
        "# TYPE labshare_ingest_db_errors_total counter\n"
        "labshare_ingest_db_errors_total %llu\n"
        "# HELP labshare_ingest_dropped_total Messages dropped unacked: the queue was full.\n"
        "# TYPE labshare_ingest_dropped_total counter\n"
        "labshare_ingest_dropped_total %llu\n"
        "# HELP labshare_ingest_queued_bytes Bytes of messages waiting to be stored (batches as "
        "decoded).\n"
        "# TYPE labshare_ingest_queued_bytes gauge\n"
        "labshare_ingest_queued_bytes %llu\n"
        "# HELP labshare_mqtt_connected 1 while connected to the broker.\n"
        "# TYPE labshare_mqtt_connected gauge\n"
        "labshare_mqtt_connected %d\n",
        (unsigned long long)s.batches, (unsigned long long)s.readings,
        (unsigned long long)s.duplicates, (unsigned long long)s.rejected,
        (unsigned long long)s.db_errors, (unsigned long long)s.dropped,
        (unsigned long long)s.queued_bytes, s.connected);
    ls_buf_printf(b, "# HELP labshare_ingest_refused_total Readings, messages and range claims "
                     "refused, by cause.\n"
                     "# TYPE labshare_ingest_refused_total counter\n");
    for (int c = 0; c < TRUST_CAUSE_COUNT; c++)
        ls_buf_printf(b, "labshare_ingest_refused_total{cause=\"%s\"} %llu\n",
                      trust_cause_name((enum trust_cause)c), (unsigned long long)s.refused[c]);
}

static int cmd_broker_config(const struct srv_config *cfg, const char *dir)
{
    char err[600];
    int kept = 0;

    if (broker_config_write(cfg, dir, &kept, err, sizeof(err))) {
        fprintf(stderr, "labshare-server: broker-config: %s\n", err);
        return 1;
    }
    printf("wrote %s/mosquitto.conf%s\nstart the broker with: mosquitto -c %s/mosquitto.conf\n",
           dir,
           kept ? " (kept the existing dynamic-security.json and its gateways)"
                : " and dynamic-security.json",
           dir);
    return 0;
}

/* The broker's control client asks on each (re)connect which gateways to lock out again. */
static char **disabled_gateways(void *arg, size_t *n)
{
    char **ids = NULL;

    if (store_gateway_disabled(arg, &ids, n))
        *n = 0;
    return ids;
}

/* usage-check: recompute all usage from the readings and compare with the stored (incremental)
 * result; usage-rebuild: and store the recomputed one. */
static int cmd_usage(const struct srv_config *cfg, int replace)
{
    struct store *st = NULL;
    int64_t rows = 0, diffs = 0, days = 0, day_diffs = 0, months = 0, month_diffs = 0;
    int rc;

    if (store_open(cfg->db, &st))
        return 1;
    rc = store_begin(st);
    if (rc == LS_OK)
        rc = store_usage_rebuild(st, (int64_t)cfg->merge_gap_s * 1000, cfg->no_show_min_run_s,
                                 replace, &rows, &diffs);
    /* then the day sums against the sessions (after a rebuild: the rebuilt sessions), and the
     * month sums of bookings and charges against their rows */
    if (rc == LS_OK)
        rc = store_usage_days_check(st, replace, &days, &day_diffs);
    if (rc == LS_OK)
        rc = store_month_sums_check(st, replace, &months, &month_diffs);
    if (rc == LS_OK)
        rc = replace ? store_commit(st) : (store_rollback(st), LS_OK);
    store_close(st);
    if (rc) {
        fprintf(stderr, "labshare-server: cannot recompute usage: %s\n",
                ls_strerror((enum ls_rc)rc));
        return 1;
    }
    printf("%lld usage rows recomputed from the readings, %lld differ from the stored ones%s\n"
           "%lld days of usage per instrument recomputed from the sessions, %lld differ from the"
           " stored sums%s\n"
           "%lld months of bookings and charges per instrument recomputed from their rows, %lld"
           " differ from the stored sums%s\n",
           (long long)rows, (long long)diffs, replace ? " (replaced)" : "", (long long)days,
           (long long)day_diffs, replace ? " (replaced)" : "", (long long)months,
           (long long)month_diffs, replace ? " (replaced)" : "");
    return (diffs || day_diffs || month_diffs) && !replace ? 1 : 0;
}

/* import-sqlite OLD.db: the SQLite platform into the PostgreSQL database of [server] db. */
static int cmd_import_sqlite(const struct srv_config *cfg, const char *old)
{
    struct import_report rep;
    struct store *st = NULL;
    int64_t checked = 0, first_bad = 0, total = 0;
    char why[256] = "";
    int rc;

    if (store_open(cfg->db, &st))
        return 1;
    rc = store_import_sqlite(st, old, &rep);
    if (rc) {
        store_close(st);
        fprintf(stderr, "labshare-server: import-sqlite %s: %s; nothing was imported\n", old,
                ls_strerror((enum ls_rc)rc));
        return 1;
    }
    for (size_t i = 0; i < rep.ntables; i++) {
        printf("%-18s %lld rows\n", rep.table[i].name, (long long)rep.table[i].rows);
        total += rep.table[i].rows;
    }
    rc = store_audit_verify(st, &checked, &first_bad, why, sizeof(why));
    store_close(st);
    if (rc == LS_OK && first_bad == 0) {
        printf("imported %lld rows from %s; the audit chain verifies (%lld records)\n",
               (long long)total, old, (long long)checked);
        return 0;
    }
    fprintf(stderr, "labshare-server: imported, but the audit chain does not verify: %s\n",
            rc ? ls_strerror((enum ls_rc)rc) : why);
    return 1;
}

static int cmd_admin_token(const struct srv_config *cfg, const char *arg)
{
    struct store *st = NULL;
    char token[AUTH_TOKEN_LEN];
    int64_t uid;
    int rc;

    (void)arg;
    if (store_open(cfg->db, &st))
        return 1;
    rc = store_admin_ensure(st, &uid);
    if (!rc)
        rc = auth_token_issue(st, uid, "admin-token",
                              ls_now_ms() + (int64_t)cfg->token_days * 86400 * 1000, token, NULL);
    store_close(st);
    if (rc) {
        fprintf(stderr, "labshare-server: cannot issue a token: %s\n", ls_strerror((enum ls_rc)rc));
        return 1;
    }
    printf("%s\n", token);
    return 0;
}

static int cmd_usage_check(const struct srv_config *cfg, const char *arg)
{
    (void)arg;
    return cmd_usage(cfg, 0);
}

static int cmd_usage_rebuild(const struct srv_config *cfg, const char *arg)
{
    (void)arg;
    return cmd_usage(cfg, 1);
}

/* compact-readings YYYY-MM: a closed month's heartbeats removed, each instrument in a
 * transaction of its own with its audit record (store_readings_compact). */
static int cmd_compact_readings(const struct srv_config *cfg, const char *month)
{
    struct compact_report rep, total;
    char(*ids)[LS_ID_MAX] = NULL;
    struct store *st = NULL;
    int64_t from, to, unchanged = 0;
    size_t n = 0;
    int closed = 0, rc;

    if (!cfg->compact_readings) {
        fprintf(stderr, "labshare-server: compaction is off; set [evidence] compact_readings = 1"
                        " to let it remove closed months' heartbeats\n");
        return 2;
    }
    if (http_month_range(month, &from, &to)) {
        fprintf(stderr, "labshare-server: '%s' is not a month (YYYY-MM)\n", month);
        return 2;
    }
    if (store_open(cfg->db, &st))
        return 1;
    rc = store_month_closed(st, month, &closed);
    if (rc == LS_OK && !closed) {
        fprintf(stderr, "labshare-server: %s is not closed; only closed months are compacted\n",
                month);
        store_close(st);
        return 2;
    }
    memset(&total, 0, sizeof(total));
    if (rc == LS_OK)
        rc = store_readings_instruments(st, from, to, &ids, &n);
    for (size_t i = 0; rc == LS_OK && i < n; i++) {
        rc = store_begin(st);
        if (rc == LS_OK)
            rc = store_readings_compact(st, ids[i], month, from, to,
                                        (int64_t)cfg->merge_gap_s * 1000, &rep);
        rc = rc == LS_OK ? store_commit(st) : (store_rollback(st), rc);
        total.kept += rep.kept;
        total.removed += rep.removed;
        unchanged += rep.sessions_would_change;
        if (rc == LS_OK && rep.sessions_would_change)
            printf("%s: left whole (its sessions would change without the heartbeats)\n", ids[i]);
    }
    free(ids);
    store_close(st);
    if (rc) {
        fprintf(stderr, "labshare-server: cannot compact %s: %s\n", month,
                ls_strerror((enum ls_rc)rc));
        return 1;
    }
    printf("%s: %zu instruments, %lld readings kept, %lld heartbeats removed (digests in the"
           " audit log), %lld instruments left whole\n",
           month, n, (long long)total.kept, (long long)total.removed, (long long)unchanged);
    return 0;
}

/* readings-verify YYYY-MM: the month's compaction records against its readings now. */
static int cmd_readings_verify(const struct srv_config *cfg, const char *month)
{
    struct store *st = NULL;
    int64_t from, to, checked = 0, bad = 0;
    int rc;

    if (http_month_range(month, &from, &to)) {
        fprintf(stderr, "labshare-server: '%s' is not a month (YYYY-MM)\n", month);
        return 2;
    }
    if (store_open(cfg->db, &st))
        return 1;
    rc = store_compact_verify(st, month, from, to, &checked, &bad);
    store_close(st);
    if (rc) {
        fprintf(stderr, "labshare-server: cannot verify %s: %s\n", month,
                ls_strerror((enum ls_rc)rc));
        return 1;
    }
    printf("%s: %lld compaction records checked, %lld differ from the readings kept\n", month,
           (long long)checked, (long long)bad);
    return bad ? 1 : 0;
}

/* The commands (usage()), and whether each takes an argument (a folder, a file). */
static const struct command {
    const char *name;
    int takes_arg;
    int (*run)(const struct srv_config *cfg, const char *arg);
} commands[] = {
    {"admin-token", 0, cmd_admin_token},         {"broker-config", 1, cmd_broker_config},
    {"usage-check", 0, cmd_usage_check},         {"usage-rebuild", 0, cmd_usage_rebuild},
    {"import-sqlite", 1, cmd_import_sqlite},     {"compact-readings", 1, cmd_compact_readings},
    {"readings-verify", 1, cmd_readings_verify},
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, LS_CLI_OPT_LOG_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    const char *path = NULL, *arg = NULL;
    const struct command *command = NULL;
    struct broker *broker = NULL;
    struct store *broker_st = NULL;
    struct srv_config cfg;
    struct ingest *in = NULL;
    struct http *http = NULL;
    struct commands *cmds = NULL;
    struct mailer *mailer = NULL;
    struct services services = {NULL, NULL, NULL};
    struct store *st = NULL;
    char err[600];
    sigset_t old_set;
    int c, status = 1;

    ls_log_init("labshare-server", LS_LOG_INFO);
    ls_json_guard_install(); /* before any thread parses JSON */
    while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        default:
            c = ls_cli_common(c, optarg, "labshare-server", usage);
            if (c != LS_CLI_CONTINUE)
                return c;
        }
    }
    if (optind < argc) {
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && !command; i++)
            if (strcmp(argv[optind], commands[i].name) == 0)
                command = &commands[i];
        if (!command) {
            fprintf(stderr, "labshare-server: unknown command '%s' (see --help)\n", argv[optind]);
            return 2;
        }
        optind++;
        if (command->takes_arg && optind < argc)
            arg = argv[optind++];
    }
    if (!path || optind < argc || (command && command->takes_arg && !arg)) {
        fprintf(stderr, "labshare-server: %s (see --help)\n",
                !path           ? "-c FILE is required"
                : optind < argc ? "extra argument"
                                : "the command needs its argument");
        return 2;
    }
    if (srv_config_load(path, &cfg, err, sizeof(err))) {
        fprintf(stderr, "labshare-server: %s\n", err);
        return 1;
    }
    /* Local time is the platform's (bookings, service hours, months): set it before any thread
     * starts, as localtime_r() reads TZ. */
    if (strstr(cfg.timezone, "..") || cfg.timezone[0] == '/' ||
        strspn(cfg.timezone,
               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") !=
            strlen(cfg.timezone)) {
        fprintf(stderr, "labshare-server: %s: [server] timezone '%s' is not a zone name\n", path,
                cfg.timezone);
        return 1;
    }
    if (setenv("TZ", cfg.timezone, 1) != 0) {
        fprintf(stderr, "labshare-server: cannot set the time zone\n");
        return 1;
    }
    tzset();
    {
        char zone[300];
        snprintf(zone, sizeof(zone), "/usr/share/zoneinfo/%s", cfg.timezone);
        if (access(zone, R_OK) != 0) {
            fprintf(stderr,
                    "labshare-server: %s: [server] timezone '%s' is not a known zone "
                    "(install tzdata, or use e.g. Asia/Shanghai)\n",
                    path, cfg.timezone);
            return 1;
        }
    }
    if (auth_init()) {
        fprintf(stderr, "labshare-server: cannot initialise libsodium\n");
        return 1;
    }
    if (command)
        return command->run(&cfg, arg);

    ls_cli_install_signals();
    /* SIGTERM and SIGINT go to this thread only: the threads started below inherit a mask that
     * blocks them, so the wait below cannot sleep through a signal another thread took. */
    ls_cli_block_stop(&old_set);
    mosquitto_lib_init();
    /* Open once here so migrations run (and fail loudly) before anything listens. */
    if (store_open(cfg.db, &st))
        goto out;
    if (ingest_start(&cfg, &in))
        goto out;
    if (store_open(cfg.db, &broker_st) || broker_start(&cfg, disabled_gateways, broker_st, &broker))
        goto out;
    if (commands_start(&cfg, broker, &cmds))
        goto out;
    if (mailer_start(&cfg, &mailer))
        goto out;
    services.in = in;
    services.cmds = cmds;
    services.mailer = mailer;
    if (http_start(&cfg, broker, ingest_metrics, &services, &http))
        goto out;
    ls_info("labshare-server %s ready: database %s, broker %s:%d", LS_VERSION, cfg.db,
            cfg.mqtt_host, cfg.mqtt_port);
    while (!ls_stop_requested)
        sigsuspend(&old_set); /* unblocks the two signals only while waiting */
    ls_info("stopping");
    status = 0;
out:
    http_stop(http);
    mailer_stop(mailer);
    commands_stop(cmds);
    broker_stop(broker);
    store_close(broker_st);
    ingest_stop(in);
    store_close(st);
    mosquitto_lib_cleanup();
    return status;
}
