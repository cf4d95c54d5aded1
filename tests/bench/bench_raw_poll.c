/*
 * bench_raw_poll - the raw baseline of the gateway polling benchmark: a minimal single-threaded
 * libmodbus + libmosquitto loop that reads every device's 13 registers once a second and
 * publishes each result (QoS 1), with no outbox, no change detection, no batching.
 *
 *   bench_raw_poll MQTT_PORT SECONDS HOST BASE_PORT PORTS UNITS_PER_PORT
 */
#include <modbus.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int mqtt_port, seconds, base, ports, units;
    struct mosquitto *mosq;
    modbus_t **ctx;
    double start, next;
    long polls = 0, failures = 0;

    if (argc != 7) {
        fprintf(stderr, "usage: bench_raw_poll MQTT_PORT SECONDS HOST BASE_PORT PORTS UNITS\n");
        return 2;
    }
    mqtt_port = (int)strtol(argv[1], NULL, 10);
    seconds = (int)strtol(argv[2], NULL, 10);
    base = (int)strtol(argv[4], NULL, 10);
    ports = (int)strtol(argv[5], NULL, 10);
    units = (int)strtol(argv[6], NULL, 10);
    mosquitto_lib_init();
    mosq = mosquitto_new(NULL, true, NULL);
    /* the broker authenticates everyone (broker-config): the benchmark's account from the
     * environment, allowed on test/# */
    if (mosq && getenv("BENCH_MQTT_USER"))
        mosquitto_username_pw_set(mosq, getenv("BENCH_MQTT_USER"), getenv("BENCH_MQTT_PASS"));
    if (!mosq || mosquitto_connect(mosq, "127.0.0.1", mqtt_port, 30) || mosquitto_loop_start(mosq))
        return 1;
    ctx = calloc((size_t)ports, sizeof(*ctx));
    for (int p = 0; p < ports; p++) {
        ctx[p] = modbus_new_tcp(argv[3], base + p);
        modbus_set_response_timeout(ctx[p], 0, 500000);
        if (modbus_connect(ctx[p]) < 0)
            return 1;
    }
    start = next = now_s();
    while (now_s() - start < seconds) {
        for (int p = 0; p < ports; p++) {
            for (int u = 1; u <= units; u++) {
                uint16_t regs[13];
                char topic[64], payload[160];
                int n;

                modbus_set_slave(ctx[p], u);
                if (modbus_read_registers(ctx[p], 0, 13, regs) != 13) {
                    failures++;
                    continue;
                }
                polls++;
                snprintf(topic, sizeof(topic), "test/raw/%d/%d", p, u);
                n = snprintf(payload, sizeof(payload),
                             "{\"state\":%u,\"run_seconds\":%u,\"energy_wh\":%u,\"badge\":%u}",
                             regs[0], (unsigned)regs[1] << 16 | regs[2],
                             (unsigned)regs[3] << 16 | regs[4], (unsigned)regs[9] << 16 | regs[10]);
                mosquitto_publish(mosq, NULL, topic, n, payload, 1, false);
            }
        }
        next += 1.0;
        while (now_s() < next) {
            struct timespec ts = {0, 10 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    printf("raw loop: %ld polls, %ld failed\n", polls, failures);
    for (int p = 0; p < ports; p++) {
        modbus_close(ctx[p]);
        modbus_free(ctx[p]);
    }
    free(ctx);
    mosquitto_disconnect(mosq);
    mosquitto_loop_stop(mosq, false);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    return 0;
}
