/* libFuzzer harness: the simulator's Modbus request framing and answering
 * (firmware-stubs/mb_server.c) on arbitrary byte streams, through its real descriptors: a TCP
 * listener on loopback (one sound, one injecting exceptions, garbage, dropped connections and
 * late answers) and an RTU endpoint on a pseudo-terminal, each serving a usage meter (unit 1)
 * and a power meter (unit 2). The first byte picks the endpoint and how the stream is cut into
 * writes (frames split across reads, several in one); the answers are read and thrown away.
 * Each input starts on a fresh TCP connection, and on the bus after a silence longer than the
 * RTU frame gap, so inputs do not depend on each other. */
// LINK: firmware-stubs/mb_server.c firmware-stubs/sim.c firmware-stubs/meter.c
// LINK: firmware-stubs/scenario.c firmware-stubs/duty.c
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../firmware-stubs/mb_server.h"
#include "fuzz_common.h"
#include "labshare/rc.h"

#define T0_MS 1796054400000LL

static struct mb_endpoint *ends[3]; /* TCP sound, TCP with faults, RTU */
static int ports[2], pty_master = -1;
static struct sim_instrument units[3][2];
static int64_t now_ms = T0_MS;

static void die(const char *what)
{
    perror(what);
    abort();
}

static void serve(struct mb_endpoint *e, struct sim_instrument *in)
{
    memset(in, 0, 2 * sizeof(*in));
    meter_init(&in[0].meter, "m1", now_ms);
    meter_init(&in[1].meter, "p1", now_ms);
    in[1].meter.profile = METER_POWER;
    in[0].unit = 1;
    in[1].unit = 2;
    duty_init(&in[0].duty, 1, now_ms);
    duty_init(&in[1].duty, 2, now_ms);
    if (mb_endpoint_add(e, &in[0]) || mb_endpoint_add(e, &in[1]))
        die("mb_endpoint_add");
}

static int tcp_port(struct mb_endpoint *e)
{
    struct pollfd fds[1];
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    if (mb_endpoint_pollfds(e, fds, 1) != 1 ||
        getsockname(fds[0].fd, (struct sockaddr *)&a, &len) != 0)
        die("getsockname");
    return ntohs(a.sin_port);
}

/* Let e handle whatever is ready, until nothing is. */
static void pump(struct mb_endpoint *e)
{
    struct pollfd fds[80];

    for (int round = 0; round < 64; round++) {
        size_t n = mb_endpoint_pollfds(e, fds, 80);
        if (poll(fds, n, 0) <= 0)
            break;
        mb_endpoint_process(e, fds, n, now_ms);
    }
    mb_endpoint_process(e, fds, 0, now_ms); /* the delayed answers that are due */
}

/* Read and drop what fd has; 0 when the other side closed. */
static int drain(int fd)
{
    char buf[4096];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0)
            return 0;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EIO ? 1 : 0;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct mb_faults faults = {.fail_rate = 0.2,
                               .garbage_rate = 0.2,
                               .drop_rate = 0.1,
                               .delay_ms = 30,
                               .relay_fault = MB_RELAY_STUCK,
                               .seed = 7};
    int slave;
    char name[128];

    (void)argc;
    (void)argv;
    ls_log_init("fuzz", LS_LOG_OFF);
    signal(SIGPIPE, SIG_IGN); /* as the simulator does (ls_cli_install_signals): a closed peer
                               * is an error to handle, not the end of the process */
    if (mb_endpoint_new_tcp("127.0.0.1", 0, NULL, &ends[0]) ||
        mb_endpoint_new_tcp("127.0.0.1", 0, &faults, &ends[1]))
        die("mb_endpoint_new_tcp");
    if (openpty(&pty_master, &slave, name, NULL, NULL) != 0)
        die("openpty");
    fcntl(pty_master, F_SETFL, O_NONBLOCK);
    if (mb_endpoint_new_rtu(name, 19200, 'E', NULL, &ends[2]))
        die("mb_endpoint_new_rtu");
    close(slave); /* the endpoint opened its own */
    for (int i = 0; i < 3; i++)
        serve(ends[i], units[i]);
    ports[0] = tcp_port(ends[0]);
    ports[1] = tcp_port(ends[1]);
    return 0;
}

static int connect_to(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("connect");
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int which, chunk, fd;
    struct mb_endpoint *e;
    size_t off = 1;

    if (size < 2 || size > 1024)
        return 0;
    which = data[0] % 3;
    chunk = 1 + (data[0] >> 2) % 64; /* 1..64 bytes per write */
    e = ends[which];
    now_ms += 1000; /* a silence: the bus forgets a partial frame */
    if (which < 2) {
        fd = connect_to(ports[which]);
        pump(e); /* accept */
    } else {
        fd = pty_master;
        drain(fd);
    }
    while (off < size) {
        size_t n = size - off < (size_t)chunk ? size - off : (size_t)chunk;
        if (write(fd, data + off, n) < 0 && errno != EAGAIN)
            break;
        off += n;
        now_ms += 10;
        pump(e);
        if (!drain(fd))
            break; /* the endpoint closed the connection */
    }
    now_ms += 100; /* late answers fall due */
    pump(e);
    drain(fd);
    if (which < 2) {
        close(fd);
        pump(e); /* the endpoint sees the close and frees the slot */
    }
    return 0;
}
