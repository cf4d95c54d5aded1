/*
 * bench_mqtt_raw - the raw baseline of the replay benchmark: how fast mosquitto carries the same
 * reading batches at QoS 1 from one client to a subscriber, with nothing stored anywhere.
 *
 *   bench_mqtt_raw MQTT_PORT READINGS BATCH
 */
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labshare/wire.h"

static volatile long received;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)m;
    (void)obj;
    (void)msg;
    received++;
}

static volatile int subscribed;

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
    (void)m;
    (void)obj;
    (void)mid;
    (void)n;
    (void)q;
    subscribed = 1;
}

int main(int argc, char **argv)
{
    int port, batch;
    long readings, messages;
    struct mosquitto *pub, *sub;
    struct ls_reading *r;
    char *payload;
    double t0, t;

    if (argc != 4) {
        fprintf(stderr, "usage: bench_mqtt_raw MQTT_PORT READINGS BATCH\n");
        return 2;
    }
    port = (int)strtol(argv[1], NULL, 10);
    readings = strtol(argv[2], NULL, 10);
    batch = (int)strtol(argv[3], NULL, 10);
    messages = readings / batch;
    r = calloc((size_t)batch, sizeof(*r));
    for (int i = 0; i < batch; i++) {
        r[i].seq = i + 1;
        snprintf(r[i].instrument, sizeof(r[i].instrument), "inst-%03d", i % 500);
        r[i].ts = 1795000000000 + i;
        r[i].state = LS_STATE_RUNNING;
        r[i].run_seconds = i;
        r[i].energy_wh = i;
        r[i].power_w = 1500.5;
        r[i].samples = i;
        r[i].badge = 1001;
        r[i].has =
            LS_HAS_RUN_SECONDS | LS_HAS_ENERGY_WH | LS_HAS_POWER_W | LS_HAS_SAMPLES | LS_HAS_BADGE;
        r[i].cause = LS_CAUSE_HEARTBEAT;
    }
    payload = ls_batch_encode("gw-bench", 1, 0, r, (size_t)batch);
    mosquitto_lib_init();
    sub = mosquitto_new(NULL, true, NULL);
    pub = mosquitto_new(NULL, true, NULL);
    mosquitto_message_callback_set(sub, on_message);
    mosquitto_subscribe_callback_set(sub, on_subscribe);
    /* the broker authenticates everyone (broker-config): the benchmark's account from the
     * environment, allowed on test/# */
    if (getenv("BENCH_MQTT_USER")) {
        mosquitto_username_pw_set(sub, getenv("BENCH_MQTT_USER"), getenv("BENCH_MQTT_PASS"));
        mosquitto_username_pw_set(pub, getenv("BENCH_MQTT_USER"), getenv("BENCH_MQTT_PASS"));
    }
    if (mosquitto_connect(sub, "127.0.0.1", port, 30) ||
        mosquitto_connect(pub, "127.0.0.1", port, 30))
        return 1;
    mosquitto_subscribe(sub, NULL, "test/bench/raw", 1);
    mosquitto_loop_start(sub);
    mosquitto_loop_start(pub);
    while (!subscribed) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    t0 = now_s();
    for (long i = 0; i < messages; i++)
        mosquitto_publish(pub, NULL, "test/bench/raw", (int)strlen(payload), payload, 1, false);
    while (received < messages && now_s() - t0 < 300) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    t = now_s() - t0;
    printf("raw mosquitto QoS 1: %ld readings in %ld messages of %zu bytes in %.2f s: %.0f "
           "readings/s\n",
           received * batch, received, strlen(payload), t, (double)(received * batch) / t);
    mosquitto_loop_stop(pub, true);
    mosquitto_loop_stop(sub, true);
    mosquitto_destroy(pub);
    mosquitto_destroy(sub);
    mosquitto_lib_cleanup();
    free(payload);
    free(r);
    return received == messages ? 0 : 1;
}
