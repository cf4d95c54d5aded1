/*
 * bench_raw_http - the raw baseline of the HTTP benchmark: libmicrohttpd with the server's
 * threading (internal polling thread pool, epoll) answering every request with a fixed small
 * JSON body, with no routing, authentication or storage.
 *
 *   bench_raw_http PORT THREADS SECONDS
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char body[] = "{\"instrument\":\"icp-ms-01\",\"items\":[{\"start\":\"2030-01-01T00:00:"
                           "00.000Z\",\"end\":\"2030-01-01T08:00:00.000Z\"}],\"total\":1}";

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **ptr)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    (void)cls, (void)url, (void)method, (void)version, (void)data;
    if (!*ptr) {
        *ptr = (void *)1;
        return MHD_YES;
    }
    if (*size) {
        *size = 0;
        return MHD_YES;
    }
    r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

int main(int argc, char **argv)
{
    struct MHD_Daemon *d;

    if (argc != 4) {
        fprintf(stderr, "usage: bench_raw_http PORT THREADS SECONDS\n");
        return 2;
    }
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
                         (uint16_t)strtol(argv[1], NULL, 10), NULL, NULL, answer, NULL,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)strtol(argv[2], NULL, 10),
                         MHD_OPTION_CONNECTION_TIMEOUT, 20u, MHD_OPTION_END);
    if (!d)
        return 1;
    sleep((unsigned)strtol(argv[3], NULL, 10));
    MHD_stop_daemon(d);
    return 0;
}
