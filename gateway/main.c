/*
 * labshare-gateway - the edge gateway: reads instrument meters and forwards every reading,
 * through a durable outbox, to the central server (SPEC sections 2-4).
 */
#include <getopt.h>
#include <malloc.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "import.h"
#include "mqtt_in.h"
#include "outbox.h"
#include "plan.h"
#include "poller.h"
#include "relay.h"
#include "uplink.h"
#include "labshare/cli.h"
#include "labshare/json_guard.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/version.h"
#include "labshare/banned.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: labshare-gateway -c gateway.ini [--check | --import LOG] [--log-level LEVEL]\n"
            "\n"
            "Edge gateway: reads the meters of the config (Modbus TCP and RTU, MQTT-native),\n"
            "stores every reading in a SQLite outbox and forwards it to the central server\n"
            "over MQTT until the server acknowledges it.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE   the INI configuration (required)\n"
            "  --check             validate the config, print each device's read plan, exit\n"
            "  --import LOG        read a meter log (lines '<instrument> <meter payload with\n"
            "                      ts>', in time order; '-' = stdin) into the outbox as polling\n"
            "                      would have, and exit; the next start sends it\n"
            "  --import-heartbeat-s N  heartbeat interval of the log's readings (3600)\n"
            "  --log-level LEVEL   debug, info, warn or error (default info)\n"
            "  -h, --help          show this help and exit\n"
            "  -V, --version       show the version and exit\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"import", required_argument, NULL, 'i'},
        {"import-heartbeat-s", required_argument, NULL, 'H'},
        {"log-level", required_argument, NULL, LS_CLI_OPT_LOG_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    const char *path = NULL, *import = NULL;
    int check = 0, c, status = 1, import_hb = 3600;
    struct gw_config cfg;
    struct outbox *ob = NULL;
    struct pollers *pollers = NULL;
    struct mqtt_in *mqtt = NULL;
    sigset_t old_set;
    struct uplink *up = NULL;
    struct relays *relays = NULL;
    char relay_path[GW_STR_MAX + 16];
    char err[700];

    memset(&cfg, 0, sizeof(cfg));
    ls_log_init("labshare-gateway", LS_LOG_INFO);
    ls_json_guard_install(); /* before any thread parses JSON */
    while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            check = 1;
            break;
        case 'i':
            import = optarg;
            break;
        case 'H':
            if (ls_parse_int(optarg, 1, 86400, &import_hb)) {
                fprintf(stderr, "labshare-gateway: --import-heartbeat-s takes 1..86400\n");
                return 2;
            }
            break;
        default:
            c = ls_cli_common(c, optarg, "labshare-gateway", usage);
            if (c != LS_CLI_CONTINUE)
                return c;
        }
    }
    if (!path || optind < argc) {
        fprintf(stderr, "labshare-gateway: %s (see --help)\n",
                path ? "unexpected argument" : "-c FILE is required");
        return 2;
    }
    if (gw_config_load(path, &cfg, err, sizeof(err))) {
        fprintf(stderr, "labshare-gateway: %s\n", err);
        gw_config_release(&cfg);
        return 1;
    }
    if (check) {
        gw_config_print_plan(&cfg, stdout);
        printf("config OK\n");
        gw_config_release(&cfg);
        return 0;
    }
    if (import) {
        size_t lines = 0, taken = 0;
        FILE *in;
        int rc;
        err[0] = '\0';
        in = strcmp(import, "-") == 0 ? stdin : fopen(import, "r");
        if (!in) {
            fprintf(stderr, "labshare-gateway: cannot open %s\n", import);
            gw_config_release(&cfg);
            return 1;
        }
        rc = outbox_open(cfg.outbox, cfg.outbox_max_rows, cfg.outbox_max_mb * 1024 * 1024, &ob);
        if (rc == LS_OK)
            rc = import_log(&cfg, ob, in, import_hb, &lines, &taken, err, sizeof(err));
        if (in != stdin)
            fclose(in);
        if (rc)
            fprintf(stderr, "labshare-gateway: %s: %s\n", import, err[0] ? err : "cannot import");
        else
            printf("%zu lines read, %zu readings in the outbox to send\n", lines, taken);
        outbox_free(ob);
        gw_config_release(&cfg);
        return rc ? 1 : 0;
    }
    ls_cli_install_signals();
    /* the threads started below leave SIGTERM and SIGINT to this one */
    ls_cli_block_stop(&old_set);
    /* glibc gives each thread that allocates its own malloc arena; with one polling thread per
     * endpoint that multiplies the private memory for nothing: two arenas are plenty. */
    mallopt(M_ARENA_MAX, 2);
    mosquitto_lib_init();

    if (outbox_open(cfg.outbox, cfg.outbox_max_rows, cfg.outbox_max_mb * 1024 * 1024, &ob))
        goto out;
    snprintf(relay_path, sizeof(relay_path), "%s.interlock", cfg.outbox);
    if (relays_open(relay_path, &relays))
        goto out;
    if (uplink_start(&cfg, ob, relays, &up))
        goto out;
    if (pollers_start(&cfg, ob, relays, &pollers))
        goto out;
    if (mqtt_in_start(&cfg, ob, relays, &mqtt))
        goto out;
    ls_cli_unblock_stop(&old_set);
    ls_info("gateway %s running with %zu instrument%s (version %s)", cfg.id, cfg.device_count,
            cfg.device_count == 1 ? "" : "s", LS_VERSION);
    while (!ls_stop_requested) {
        uplink_tick(up);
        mqtt_in_tick(mqtt);
        /* Woken at once by a new reading or an ack; the timeout only paces the ack timeout,
         * status updates and noticing SIGTERM. */
        uplink_wait(up, 250);
    }
    ls_info("stopping: finishing the current polls");
    status = 0;
out:
    mqtt_in_stop(mqtt);
    pollers_stop(pollers);
    if (up) {
        uplink_tick(up);
        uplink_stop(up);
    }
    if (ob)
        ls_info("outbox keeps %lld readings for the next start", (long long)outbox_count(ob));
    outbox_free(ob);
    relays_free(relays);
    mosquitto_lib_cleanup();
    gw_config_release(&cfg);
    return status;
}
