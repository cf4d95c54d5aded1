#include "labshare/mqtt_loop.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

#define BACKOFF_MAX_S 30

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

struct ls_mqtt_loop {
    struct mosquitto *m;
    pthread_t thread;
    atomic_int stopping;
    char who[32];
};

static void *loop_main(void *arg)
{
    struct ls_mqtt_loop *l = arg;
    int backoff = 1, logged = 0;

    while (!atomic_load(&l->stopping)) {
        int rc = mosquitto_loop(l->m, 1000, 1);
        if (rc == MOSQ_ERR_SUCCESS) {
            backoff = 1;
            logged = 0;
            continue;
        }
        if (atomic_load(&l->stopping))
            break;
        if (!logged && rc != MOSQ_ERR_NO_CONN && rc != MOSQ_ERR_CONN_LOST)
            ls_warn("%s: network loop: %s; reconnecting", l->who, mosquitto_strerror(rc));
        logged = 1;
        /* wait, a second at a time so that a stop is not held up */
        for (int s = 0; s < backoff && !atomic_load(&l->stopping); s++)
            sleep_ms(1000);
        if (backoff < BACKOFF_MAX_S)
            backoff *= 2;
        if (!atomic_load(&l->stopping))
            mosquitto_reconnect(l->m);
    }
    return NULL;
}

int ls_mqtt_loop_start(struct mosquitto *m, const char *who, struct ls_mqtt_loop **out)
{
    struct ls_mqtt_loop *l = calloc(1, sizeof(*l));

    *out = NULL;
    if (!l)
        return LS_ERR_NOMEM;
    l->m = m;
    snprintf(l->who, sizeof(l->who), "%s", who);
    atomic_init(&l->stopping, 0);
    mosquitto_threaded_set(m, true);
    if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
        free(l);
        return LS_ERR_IO;
    }
    *out = l;
    return LS_OK;
}

void ls_mqtt_loop_stop(struct ls_mqtt_loop *l, int disconnect)
{
    if (!l)
        return;
    atomic_store(&l->stopping, 1);
    pthread_join(l->thread, NULL);
    if (disconnect) {
        /* send what is queued (acks, a last status), then say goodbye */
        int64_t until = ls_mono_ms() + 2000;
        while (mosquitto_want_write(l->m) && ls_mono_ms() < until)
            if (mosquitto_loop(l->m, 100, 1) != MOSQ_ERR_SUCCESS)
                break;
        mosquitto_disconnect(l->m);
        for (int i = 0; i < 3; i++)
            if (mosquitto_loop(l->m, 100, 1) != MOSQ_ERR_SUCCESS)
                break;
    }
    free(l);
}
