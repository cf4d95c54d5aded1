#include "labshare/cli.h"

#include <pthread.h>
#include <string.h>

#include "labshare/log.h"
#include "labshare/version.h"
#include "labshare/banned.h"

volatile sig_atomic_t ls_stop_requested;

int ls_cli_common(int c, const char *optarg_, const char *program, void (*usage)(FILE *))
{
    enum ls_log_level level;

    switch (c) {
    case LS_CLI_OPT_LOG_LEVEL:
        if (ls_log_level_parse(optarg_, &level)) {
            fprintf(stderr, "%s: unknown log level '%s' (debug, info, warn, error)\n", program,
                    optarg_);
            return 2;
        }
        ls_log_init(program, level);
        return LS_CLI_CONTINUE;
    case LS_CLI_OPT_HELP:
        usage(stdout);
        return 0;
    case LS_CLI_OPT_VERSION:
        printf("%s %s\n", program, LS_VERSION);
        return 0;
    case '?':
        usage(stderr);
        return 2;
    default:
        return LS_CLI_CONTINUE;
    }
}

static void on_stop(int sig)
{
    (void)sig;
    ls_stop_requested = 1;
}

void ls_cli_install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void ls_cli_block_stop(sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

void ls_cli_unblock_stop(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}
