/*
 * labshare-meter-sim - simulated instrument meter firmware (SPEC sections 2 and 3.1).
 *
 * Serves the LabShare register map (or a plain power meter's) over Modbus TCP or RTU, or
 * publishes the MQTT meter payload, following a scenario file or a seeded duty cycle, with
 * counters that persist across restarts and fault injection for tests. One process can run a
 * whole fleet of instruments.
 */
#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "mb_server.h"
#include "mqtt_meter.h"
#include "sim.h"
#include "statefile.h"
#include "labshare/cli.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

#define PROG "labshare-meter-sim"
/* The loop wakes at least this often, so duty-cycle changes land within a tenth of a second. */
#define TICK_MS 100
/* Counters are saved this often when they changed (and at exit). */
#define SAVE_MS 1000

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " (--modbus-tcp HOST:PORT | --modbus-rtu DEVICE | --mqtt HOST:PORT)\n"
            "                          --instrument ID [options]\n"
            "       " PROG " --fleet FILE [options]\n"
            "\n"
            "Simulated instrument meter firmware for LabShare.\n"
            "\n"
            "Transports (one, or a fleet):\n"
            "  --modbus-tcp HOST:PORT  Modbus TCP slave, several clients at once\n"
            "  --modbus-rtu DEVICE     Modbus RTU slave on a serial device (a pty works)\n"
            "    --baud N              (9600)    --parity N|E|O (N)\n"
            "  --mqtt HOST:PORT        MQTT-native instrument: publishes the meter payload on\n"
            "                          every change and every --interval seconds\n"
            "    --topic T             (instruments/<id>/meter)   --interval S (60)\n"
            "  --fleet FILE            many instruments, one per line:\n"
            "                          <id> <tcp|rtu|mqtt> <address> [key=value ...]\n"
            "\n"
            "Instrument:\n"
            "  --instrument ID         instrument id (letters, digits, . _ -)\n"
            "  --unit N                Modbus unit id (1)\n"
            "  --profile P             labshare (register map of SPEC 2) or power-meter (float32\n"
            "                          input registers: 12 = power W, 342 = energy kWh)\n"
            "  --word-order O          big or little (labshare: big; power-meter: little)\n"
            "  --scenario FILE         timed steps '<seconds> <field>=<value> ...'\n"
            "  --loop                  repeat the scenario\n"
            "  --seed N                seed of the random duty cycle without a scenario (1)\n"
            "  --state-file F          keep counters in F across restarts\n"
            "  --reset-counters        factory reset: counters start at 0\n"
            "\n"
            "Fault injection (seeded by --seed):\n"
            "  --fail-rate P           answer a share P of requests with a Modbus exception\n"
            "  --garbage-rate P        answer a share P of requests with corrupt bytes\n"
            "  --delay-ms N            answer every request N ms late\n"
            "  --drop[=P]              close the connection on a share P (0.05) of requests\n"
            "  --relay-fault F         refuse: a write of the interlock relay gets exception 4;\n"
            "                          stuck: it is acknowledged but the relay does not move\n"
            "\n"
            "  --log-level LEVEL       debug, info, warn or error (info)\n"
            "  --help, --version\n");
}

enum {
    OPT_TCP = 0x100,
    OPT_RTU,
    OPT_MQTT,
    OPT_FLEET,
    OPT_INSTRUMENT,
    OPT_UNIT,
    OPT_PROFILE,
    OPT_ORDER,
    OPT_SCENARIO,
    OPT_LOOP,
    OPT_SEED,
    OPT_STATE,
    OPT_RESET,
    OPT_BAUD,
    OPT_PARITY,
    OPT_TOPIC,
    OPT_INTERVAL,
    OPT_FAIL,
    OPT_RELAY_FAULT,
    OPT_GARBAGE,
    OPT_DELAY,
    OPT_DROP
};

struct options {
    struct sim_spec spec;
    int transport_given;
    int instrument_options; /* single-instrument options given (refused with --fleet) */
    const char *fleet, *state_file;
    int reset_counters;
    struct mb_faults faults;
};

static int bad(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, PROG ": %s wants %s, not '%s'\n", opt, want, val);
    return 2;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option opts[] = {{"modbus-tcp", required_argument, NULL, OPT_TCP},
                                         {"modbus-rtu", required_argument, NULL, OPT_RTU},
                                         {"mqtt", required_argument, NULL, OPT_MQTT},
                                         {"fleet", required_argument, NULL, OPT_FLEET},
                                         {"instrument", required_argument, NULL, OPT_INSTRUMENT},
                                         {"unit", required_argument, NULL, OPT_UNIT},
                                         {"profile", required_argument, NULL, OPT_PROFILE},
                                         {"word-order", required_argument, NULL, OPT_ORDER},
                                         {"scenario", required_argument, NULL, OPT_SCENARIO},
                                         {"loop", no_argument, NULL, OPT_LOOP},
                                         {"seed", required_argument, NULL, OPT_SEED},
                                         {"state-file", required_argument, NULL, OPT_STATE},
                                         {"reset-counters", no_argument, NULL, OPT_RESET},
                                         {"baud", required_argument, NULL, OPT_BAUD},
                                         {"parity", required_argument, NULL, OPT_PARITY},
                                         {"topic", required_argument, NULL, OPT_TOPIC},
                                         {"interval", required_argument, NULL, OPT_INTERVAL},
                                         {"fail-rate", required_argument, NULL, OPT_FAIL},
                                         {"garbage-rate", required_argument, NULL, OPT_GARBAGE},
                                         {"delay-ms", required_argument, NULL, OPT_DELAY},
                                         {"drop", optional_argument, NULL, OPT_DROP},
                                         {"relay-fault", required_argument, NULL, OPT_RELAY_FAULT},
                                         LS_CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct sim_spec *s = &o->spec;
    char host[256];
    int c, port, rc;

    memset(o, 0, sizeof(*o));
    sim_spec_init(s);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_TCP:
        case OPT_MQTT:
            if (ls_parse_hostport(optarg, host, sizeof(host), &port))
                return bad(c == OPT_TCP ? "--modbus-tcp" : "--mqtt", optarg, "HOST:PORT");
            /* fall through */
        case OPT_RTU:
            if (o->transport_given++)
                return bad("a second transport", optarg,
                           "only one of --modbus-tcp, "
                           "--modbus-rtu, --mqtt");
            s->transport = c == OPT_TCP ? SIM_TCP : c == OPT_RTU ? SIM_RTU : SIM_MQTT;
            if (strlen(optarg) >= sizeof(s->address))
                return bad("the address", optarg, "at most 255 characters");
            snprintf(s->address, sizeof(s->address), "%s", optarg);
            break;
        case OPT_FLEET:
            o->fleet = optarg;
            break;
        case OPT_INSTRUMENT:
            if (!ls_id_valid(optarg))
                return bad("--instrument", optarg, "an id of 1-63 of A-Z a-z 0-9 . _ -");
            snprintf(s->id, sizeof(s->id), "%s", optarg);
            o->instrument_options = 1;
            break;
        case OPT_UNIT:
            if (ls_parse_int(optarg, 1, 247, &s->unit))
                return bad("--unit", optarg, "1 to 247");
            o->instrument_options = 1;
            break;
        case OPT_PROFILE:
            if (strcmp(optarg, "labshare") == 0)
                s->profile = METER_LABSHARE;
            else if (strcmp(optarg, "power-meter") == 0)
                s->profile = METER_POWER;
            else
                return bad("--profile", optarg, "labshare or power-meter");
            o->instrument_options = 1;
            break;
        case OPT_ORDER:
            if (ls_word_order_parse(optarg, &s->word_order))
                return bad("--word-order", optarg, "big or little");
            s->word_order_set = 1;
            o->instrument_options = 1;
            break;
        case OPT_SCENARIO:
            if (strlen(optarg) >= sizeof(s->scenario))
                return bad("--scenario", optarg, "a shorter path");
            snprintf(s->scenario, sizeof(s->scenario), "%s", optarg);
            o->instrument_options = 1;
            break;
        case OPT_LOOP:
            s->loop = 1;
            break;
        case OPT_SEED:
            if (ls_parse_u64(optarg, 0, UINT64_MAX, &s->seed))
                return bad("--seed", optarg, "a whole number");
            break;
        case OPT_STATE:
            o->state_file = optarg;
            break;
        case OPT_RESET:
            o->reset_counters = 1;
            break;
        case OPT_BAUD:
            if (ls_parse_int(optarg, 300, 4000000, &s->baud))
                return bad("--baud", optarg, "300 to 4000000");
            break;
        case OPT_PARITY:
            if (strcmp(optarg, "N") && strcmp(optarg, "E") && strcmp(optarg, "O"))
                return bad("--parity", optarg, "N, E or O");
            s->parity = optarg[0];
            break;
        case OPT_TOPIC:
            if (strlen(optarg) >= sizeof(s->topic) || strpbrk(optarg, "+#") || !*optarg)
                return bad("--topic", optarg, "an MQTT topic without wildcards");
            snprintf(s->topic, sizeof(s->topic), "%s", optarg);
            o->instrument_options = 1;
            break;
        case OPT_INTERVAL:
            if (ls_parse_int(optarg, 1, 86400, &s->interval_s))
                return bad("--interval", optarg, "1 to 86400 seconds");
            break;
        case OPT_FAIL:
        case OPT_GARBAGE:
        case OPT_DROP: {
            double p = 0.05, *dst = c == OPT_FAIL      ? &o->faults.fail_rate
                                    : c == OPT_GARBAGE ? &o->faults.garbage_rate
                                                       : &o->faults.drop_rate;
            if (optarg && ls_parse_double(optarg, 0, 1, &p))
                return bad("a fault rate", optarg, "a share from 0 to 1");
            *dst = p;
            break;
        }
        case OPT_RELAY_FAULT:
            if (strcmp(optarg, "refuse") == 0)
                o->faults.relay_fault = MB_RELAY_REFUSE;
            else if (strcmp(optarg, "stuck") == 0)
                o->faults.relay_fault = MB_RELAY_STUCK;
            else
                return bad("--relay-fault", optarg, "refuse or stuck");
            break;
        case OPT_DELAY:
            if (ls_parse_int(optarg, 0, 600000, &o->faults.delay_ms))
                return bad("--delay-ms", optarg, "0 to 600000");
            break;
        default:
            rc = ls_cli_common(c, optarg, PROG, usage);
            if (rc != LS_CLI_CONTINUE)
                return rc;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    o->faults.seed = s->seed;
    if (o->fleet) {
        if (o->transport_given || o->instrument_options) {
            fprintf(stderr, PROG ": --fleet takes the instruments from its file: drop the "
                                 "transport and instrument options\n");
            return 2;
        }
        return LS_CLI_CONTINUE;
    }
    if (!o->transport_given || !s->id[0]) {
        fprintf(stderr, PROG ": give a transport (--modbus-tcp, --modbus-rtu or --mqtt) and "
                             "--instrument, or --fleet (see --help)\n");
        return 2;
    }
    if (s->transport == SIM_MQTT && s->profile == METER_POWER) {
        fprintf(stderr, PROG ": the power-meter profile is a Modbus meter; it has no MQTT "
                             "payload\n");
        return 2;
    }
    return LS_CLI_CONTINUE;
}

struct sim {
    struct sim_instrument *ins;
    size_t count;
    struct mb_endpoint **eps;
    size_t nep;
    struct mqtt_link **links;
    char (*link_names)[300];
    size_t nlinks;
    struct meter **meters; /* for the state file */
};

static int find_or_make_endpoint(struct sim *sim, struct sim_instrument *in,
                                 const struct sim_spec *s, const struct mb_faults *faults,
                                 char (*names)[300])
{
    char host[256];
    int port, rc;

    for (size_t k = 0; k < sim->nep; k++) {
        if (strcmp(names[k], in->address) == 0)
            return mb_endpoint_add(sim->eps[k], in) == LS_OK ? LS_OK : LS_ERR_CONFLICT;
    }
    if (s->transport == SIM_TCP) {
        ls_parse_hostport(in->address, host, sizeof(host), &port);
        rc = mb_endpoint_new_tcp(host, port, faults, &sim->eps[sim->nep]);
    } else {
        rc = mb_endpoint_new_rtu(in->address, s->baud, s->parity, faults, &sim->eps[sim->nep]);
    }
    if (rc)
        return rc;
    snprintf(names[sim->nep], 300, "%s", in->address);
    mb_endpoint_add(sim->eps[sim->nep++], in);
    return LS_OK;
}

static int find_or_make_link(struct sim *sim, struct sim_instrument *in)
{
    char host[256];
    int port, rc;

    for (size_t k = 0; k < sim->nlinks; k++)
        if (strcmp(sim->link_names[k], in->address) == 0)
            return (int)k;
    ls_parse_hostport(in->address, host, sizeof(host), &port);
    rc = mqtt_link_new(host, port, &sim->links[sim->nlinks]);
    if (rc)
        return -1;
    snprintf(sim->link_names[sim->nlinks], 300, "%s", in->address);
    return (int)sim->nlinks++;
}

int main(int argc, char **argv)
{
    struct options o;
    struct sim sim;
    struct sim_spec *specs = NULL;
    size_t nspecs = 0;
    char(*ep_names)[300] = NULL;
    int *link_of = NULL;
    struct pollfd *fds = NULL;
    size_t fds_cap = 0;
    char err[800];
    sigset_t old_set;
    int rc, status = 1, dirty = 0;
    int64_t now = ls_now_ms(), saved_ms = now;

    memset(&sim, 0, sizeof(sim));
    ls_log_init(PROG, LS_LOG_INFO);
    rc = parse_args(argc, argv, &o);
    if (rc != LS_CLI_CONTINUE)
        return rc;
    if (o.fleet) {
        if (fleet_load(o.fleet, &specs, &nspecs, err, sizeof(err))) {
            fprintf(stderr, PROG ": %s\n", err);
            return 1;
        }
    } else {
        specs = malloc(sizeof(*specs));
        if (!specs)
            return 1;
        specs[0] = o.spec;
        nspecs = 1;
    }
    sim.ins = calloc(nspecs, sizeof(*sim.ins));
    sim.meters = calloc(nspecs, sizeof(*sim.meters));
    sim.eps = calloc(nspecs, sizeof(*sim.eps));
    ep_names = calloc(nspecs, sizeof(*ep_names));
    sim.links = calloc(nspecs, sizeof(*sim.links));
    sim.link_names = calloc(nspecs, sizeof(*sim.link_names));
    link_of = calloc(nspecs, sizeof(*link_of));
    if (!sim.ins || !sim.meters || !sim.eps || !ep_names || !sim.links || !sim.link_names ||
        !link_of)
        goto out;
    ls_cli_install_signals();
    /* libmosquitto's threads started below leave SIGTERM and SIGINT to this one */
    ls_cli_block_stop(&old_set);
    mosquitto_lib_init();
    for (size_t i = 0; i < nspecs; i++) {
        struct sim_instrument *in = &sim.ins[i];
        if (sim_instrument_init(in, &specs[i], now, err, sizeof(err))) {
            fprintf(stderr, PROG ": %s\n", err);
            sim.count = i + 1;
            goto out;
        }
        sim.count = i + 1;
        sim.meters[i] = &in->meter;
    }
    if (o.state_file && !o.reset_counters &&
        statefile_load(o.state_file, sim.meters, sim.count, err, sizeof(err))) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    if (o.reset_counters)
        ls_info("factory reset: counters start at 0");
    for (size_t i = 0; i < sim.count; i++) {
        struct sim_instrument *in = &sim.ins[i];
        if (in->transport == SIM_MQTT) {
            link_of[i] = find_or_make_link(&sim, in);
            if (link_of[i] < 0 || mqtt_meter_listen(sim.links[link_of[i]], in))
                goto out;
            continue;
        }
        rc = find_or_make_endpoint(&sim, in, &specs[i], &o.faults, ep_names);
        if (rc == LS_ERR_CONFLICT)
            fprintf(stderr, PROG ": unit %d at %s is taken twice\n", in->unit, in->address);
        if (rc)
            goto out;
        if (sim_refresh_map(in, now))
            goto out;
    }
    for (size_t i = 0; i < sim.count; i++)
        ls_info("%s: %s %s, %s profile, unit %d, %s", sim.ins[i].meter.id,
                sim.ins[i].transport == SIM_TCP   ? "Modbus TCP on"
                : sim.ins[i].transport == SIM_RTU ? "Modbus RTU on"
                                                  : "MQTT to",
                sim.ins[i].address,
                sim.ins[i].meter.profile == METER_POWER ? "power-meter" : "labshare",
                sim.ins[i].unit, sim.ins[i].has_scenario ? specs[i].scenario : "duty cycle");

    ls_cli_unblock_stop(&old_set);
    while (!ls_stop_requested) {
        int64_t next = now + TICK_MS, wait_ms;
        size_t nfds = 0;
        size_t *ep_at = NULL;

        for (size_t i = 0; i < sim.count; i++) {
            if (sim.ins[i].has_scenario && scenario_next_ms(&sim.ins[i].scenario) < next)
                next = scenario_next_ms(&sim.ins[i].scenario);
        }
        for (size_t k = 0; k < sim.nep; k++)
            if (mb_endpoint_next_ms(sim.eps[k]) < next)
                next = mb_endpoint_next_ms(sim.eps[k]);
        /* every endpoint gives at most 65 descriptors */
        if (fds_cap < sim.nep * 65 + 1) {
            struct pollfd *nf = realloc(fds, (sim.nep * 65 + 1) * sizeof(*nf));
            if (!nf)
                goto out;
            fds = nf;
            fds_cap = sim.nep * 65 + 1;
        }
        ep_at = calloc(sim.nep + 1, sizeof(*ep_at));
        if (!ep_at)
            goto out;
        for (size_t k = 0; k < sim.nep; k++) {
            ep_at[k] = nfds;
            nfds += mb_endpoint_pollfds(sim.eps[k], fds + nfds, fds_cap - nfds);
        }
        ep_at[sim.nep] = nfds;
        wait_ms = next - ls_now_ms();
        if (wait_ms < 0)
            wait_ms = 0;
        if (poll(fds, nfds, (int)wait_ms) < 0 && errno != EINTR) {
            ls_error("poll: %s", strerror(errno));
            free(ep_at);
            goto out;
        }
        now = ls_now_ms();
        for (size_t i = 0; i < sim.count; i++) {
            if (sim_drive(&sim.ins[i], now))
                ls_debug("%s: state %s badge %u run_seconds %u samples %u", sim.ins[i].meter.id,
                         ls_state_name(sim.ins[i].meter.state), sim.ins[i].meter.badge,
                         sim.ins[i].meter.run_seconds, sim.ins[i].meter.samples);
            if (sim.ins[i].transport == SIM_MQTT)
                mqtt_meter_tick(sim.links[link_of[i]], &sim.ins[i], now, 0);
        }
        for (size_t k = 0; k < sim.nep; k++)
            mb_endpoint_process(sim.eps[k], fds + ep_at[k], ep_at[k + 1] - ep_at[k], now);
        free(ep_at);
        dirty = 1;
        if (o.state_file && now - saved_ms >= SAVE_MS) {
            statefile_save(o.state_file, sim.meters, sim.count);
            saved_ms = now;
            dirty = 0;
        }
    }
    ls_info("stopping");
    status = 0;
out:
    if (o.state_file && sim.count && dirty) {
        now = ls_now_ms();
        for (size_t i = 0; i < sim.count; i++)
            meter_advance(&sim.ins[i].meter, now);
        statefile_save(o.state_file, sim.meters, sim.count);
    }
    for (size_t k = 0; k < sim.nlinks; k++)
        mqtt_link_free(sim.links[k]);
    if (sim.nep) {
        uint64_t answered = 0;
        for (size_t k = 0; k < sim.nep; k++)
            answered += mb_endpoint_answered(sim.eps[k]);
        ls_info("answered %llu Modbus requests", (unsigned long long)answered);
    }
    for (size_t k = 0; k < sim.nep; k++)
        mb_endpoint_free(sim.eps[k]);
    for (size_t i = 0; i < sim.count; i++)
        sim_instrument_release(&sim.ins[i]);
    mosquitto_lib_cleanup();
    free(fds);
    free(link_of);
    free(sim.link_names);
    free(sim.links);
    free(ep_names);
    free(sim.eps);
    free(sim.meters);
    free(sim.ins);
    free(specs);
    return status;
}
