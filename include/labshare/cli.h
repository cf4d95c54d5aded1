/*
 * cli.h - what every LabShare program does the same way on its command line: the options
 * --log-level, --help and --version, and stopping cleanly on SIGTERM/SIGINT.
 */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <signal.h>
#include <stdio.h>

/* Long options every program takes; getopt_long returns these values for them. */
#define LS_CLI_OPT_LOG_LEVEL 0x1001
#define LS_CLI_OPT_HELP 'h'
#define LS_CLI_OPT_VERSION 'V'
#define LS_CLI_COMMON_OPTIONS                                                                      \
    {"log-level", required_argument, NULL, LS_CLI_OPT_LOG_LEVEL},                                  \
        {"help", no_argument, NULL, LS_CLI_OPT_HELP},                                              \
    {                                                                                              \
        "version", no_argument, NULL, LS_CLI_OPT_VERSION                                           \
    }

/* Returned by ls_cli_common() when the program should go on. */
#define LS_CLI_CONTINUE (-1)

/* Handle option c (from getopt_long) if it is a common one: --log-level sets the level,
 * --help prints usage to stdout, --version prints "<program> <version>". Returns the exit status
 * to end with now (0 after help or version, 2 for a bad level or an unknown option '?'), or
 * LS_CLI_CONTINUE. Main thread only. */
int ls_cli_common(int c, const char *optarg_, const char *program, void (*usage)(FILE *));

/* Set by SIGTERM and SIGINT once ls_cli_install_signals() ran; SIGPIPE is ignored. */
extern volatile sig_atomic_t ls_stop_requested;
void ls_cli_install_signals(void);

/* Block SIGTERM and SIGINT in the calling thread (and so in every thread it starts next),
 * saving the previous mask in *old: call before starting threads, then ls_cli_unblock_stop()
 * in the main thread, so that the stop signals reach the main thread only. */
void ls_cli_block_stop(sigset_t *old);
void ls_cli_unblock_stop(const sigset_t *old);

#endif /* LS_CLI_H */
