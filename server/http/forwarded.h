/*
 * forwarded.h - who is asking, behind a reverse proxy. With [server] trusted_proxies (numeric
 * addresses, comma-separated), a request whose peer is one of them is taken to come from the
 * address its X-Forwarded-For names, and over HTTPS when X-Forwarded-Proto says so; from any
 * other peer both headers are ignored (a client can write them). Pure; any thread.
 */
#ifndef LS_SRV_FORWARDED_H
#define LS_SRV_FORWARDED_H

#include <stddef.h>

/* 1 when list (comma-separated, spaces allowed; "" none) holds only numeric IPv4 and IPv6
 * addresses, at most FORWARDED_MAX of them; 0 otherwise. */
#define FORWARDED_MAX 16
int forwarded_list_valid(const char *list);

/* 1 when addr (numeric text; an IPv4-mapped IPv6 address counts as its IPv4 one) is in list. */
int forwarded_trusted(const char *list, const char *addr);

/* The client of a request from peer carrying X-Forwarded-For xff (NULL: none), into out (>= 64
 * bytes): peer, unless peer is trusted and xff is well formed; then the rightmost address of
 * xff that is not itself a trusted proxy (what lies to its left was written by the client and is
 * never believed). A malformed xff gives peer. */
void forwarded_client(const char *list, const char *peer, const char *xff, char *out, size_t len);

#endif /* LS_SRV_FORWARDED_H */
