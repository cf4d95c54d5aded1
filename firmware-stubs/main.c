/*
 * labshare-meter-sim - simulated instrument meter firmware (SPEC section 2).
 *
 * Serves the LabShare register map over Modbus TCP and changes state on a random but seeded
 * duty cycle, so that tests, the demo and benchmarks have instruments to read.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "duty.h"
#include "meter.h"
#include "modbus_slave.h"
#include "labshare/cli.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/version.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: labshare-meter-sim --modbus-tcp HOST:PORT --instrument ID [options]\n"
               "\n"
               "Simulated instrument meter: serves the LabShare register map (holding registers\n"
               "0-12, coil 0 = interlock) and follows a random but reproducible duty cycle.\n"
               "\n"
               "Options:\n"
               "  --modbus-tcp HOST:PORT  listen for Modbus TCP clients (several at once)\n"
               "  --instrument ID         instrument id (letters, digits, . _ -)\n"
               "  --unit N                Modbus unit id (default 1)\n"
               "  --seed N                seed of the duty cycle (default 1)\n"
               "  --log-level LEVEL       debug, info, warn or error (default info)\n"
               "  --help                  show this help and exit\n"
               "  --version               show the version and exit\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"modbus-tcp", required_argument, NULL, 't'},
                                         {"instrument", required_argument, NULL, 'i'},
                                         {"unit", required_argument, NULL, 'u'},
                                         {"seed", required_argument, NULL, 's'},
                                         LS_CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    const char *tcp = NULL, *instrument = NULL;
    char host[256], port_s[8];
    int port = 0, unit = LS_UNIT_DEFAULT, c;
    uint64_t seed = 1;
    struct mb_slave *slave = NULL;
    struct meter m;
    struct duty d;

    ls_log_init("labshare-meter-sim", LS_LOG_INFO);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            tcp = optarg;
            break;
        case 'i':
            instrument = optarg;
            break;
        case 'u':
            if (ls_parse_int(optarg, 1, 247, &unit)) {
                fprintf(stderr, "labshare-meter-sim: --unit must be 1 to 247, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 's':
            if (ls_parse_u64(optarg, 0, UINT64_MAX, &seed)) {
                fprintf(stderr, "labshare-meter-sim: --seed must be a whole number\n");
                return 2;
            }
            break;
        default:
            c = ls_cli_common(c, optarg, "labshare-meter-sim", usage);
            if (c != LS_CLI_CONTINUE)
                return c;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "labshare-meter-sim: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!tcp || !instrument) {
        fprintf(stderr, "labshare-meter-sim: --modbus-tcp and --instrument are required "
                        "(see --help)\n");
        return 2;
    }
    if (!ls_id_valid(instrument)) {
        fprintf(stderr, "labshare-meter-sim: bad instrument id '%s' (1-63 of A-Z a-z 0-9 . _ -)\n",
                instrument);
        return 2;
    }
    if (ls_parse_hostport(tcp, host, sizeof(host), &port)) {
        fprintf(stderr, "labshare-meter-sim: --modbus-tcp wants HOST:PORT, not '%s'\n", tcp);
        return 2;
    }
    snprintf(port_s, sizeof(port_s), "%d", port);

    ls_cli_install_signals();

    if (mb_slave_new_tcp(host, port_s, unit, &slave))
        return 1;
    meter_init(&m, instrument, ls_now_ms());
    duty_init(&d, seed, ls_now_ms());
    ls_info("%s: serving Modbus TCP on %s:%d unit %d (seed %llu)", instrument, host, port, unit,
            (unsigned long long)seed);

    while (!ls_stop_requested) {
        fd_set rd;
        int maxfd = -1, n;
        /* 100 ms: state changes of the duty cycle land within a tenth of a second. */
        struct timeval tv = {0, 100000};
        int64_t now;

        FD_ZERO(&rd);
        mb_slave_prepare(slave, &rd, &maxfd);
        n = select(maxfd + 1, &rd, NULL, NULL, &tv);
        if (n < 0 && errno != EINTR) {
            ls_error("select: %s", strerror(errno));
            break;
        }
        now = ls_now_ms();
        if (duty_step(&d, &m, now))
            ls_debug("%s: state %s badge %u run_seconds %u", m.id, ls_state_name(m.state), m.badge,
                     m.run_seconds);
        if (n > 0)
            mb_slave_process(slave, &rd, &m, now);
    }
    ls_info("%s: stopping", instrument);
    mb_slave_free(slave);
    return 0;
}
