/*
 * throttle.h - login throttling (issue 13) that an attacker can neither turn against a user nor
 * flush. Two bounded tables, no allocation after throttle_new():
 *
 * - by account (only accounts that exist): the first THROTTLE_ACCOUNT_FREE failures cost
 *   nothing; after that each try waits 1 s, 2 s, 4 s ... at most THROTTLE_ACCOUNT_DELAY_MAX_S
 *   after the last failure, from whatever address. A guesser with a thousand addresses gets one
 *   guess per that delay, and the right password from a new address waits at most as long; a
 *   success clears the account.
 * - by address (an IPv6 address counts by its /64, which one host usually holds whole): at
 *   most THROTTLE_ADDR_FAILS failures per THROTTLE_WINDOW_S, then the address waits until its
 *   window ends. Success does not clear it (one's own account would reset it).
 *
 * Entries leave a table only when their window is over, never because newer ones came: when a
 * table is full, failures of addresses (or accounts) that found no slot share one global budget
 * of THROTTLE_GLOBAL_FAILS per window, beyond which they all wait. Volume cannot push a blocked
 * address out. Thread-safe; times are passed in, so tests drive the clock.
 */
#ifndef LS_SRV_THROTTLE_H
#define LS_SRV_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_WINDOW_S 300
#define THROTTLE_ADDR_FAILS 20
#define THROTTLE_ACCOUNT_FREE 5
#define THROTTLE_ACCOUNT_DELAY_MAX_S 30
#define THROTTLE_GLOBAL_FAILS 2000

struct throttle;

/* Tables of addr_slots addresses and account_slots accounts. NULL when out of memory. */
struct throttle *throttle_new(size_t addr_slots, size_t account_slots);
void throttle_free(struct throttle *t);

/* 0 when a login for account (NULL: one that does not exist) from addr may be tried at now_ms;
 * otherwise how many seconds to wait (for Retry-After), at least 1. */
int throttle_wait(struct throttle *t, const char *account, const char *addr, int64_t now_ms);
/* A wrong password (or a made-up account: account NULL) from addr. */
void throttle_failed(struct throttle *t, const char *account, const char *addr, int64_t now_ms);
/* The right password: the account's failures are forgotten; how many there were. */
int throttle_succeeded(struct throttle *t, const char *account);

/* The key an address is counted under: IPv4 as is, IPv6 by its first 64 bits. */
void throttle_addr_key(const char *addr, char *out, size_t len);

#endif /* LS_SRV_THROTTLE_H */
