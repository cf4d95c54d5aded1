/*
 * netguard.h - where the server's outgoing requests may go. An organisation's managers point
 * its webhook at a URL; unchecked, the server would POST from inside the platform's network to
 * whatever they name (its database, a metadata service, a router's admin page: server-side
 * request forgery). Unless [notify] webhook_private allows it, a webhook may reach only public
 * unicast addresses: the check is made on each address libcurl connects to (so a name that
 * resolves to an internal address is caught too), and early, on the URL given, for a clear error.
 * Pure functions; any thread.
 */
#ifndef LS_SRV_NETGUARD_H
#define LS_SRV_NETGUARD_H

#include <stddef.h>
#include <sys/socket.h>

/* Whether sa (AF_INET or AF_INET6) is not a public unicast address: unspecified, loopback,
 * private (10/8, 172.16/12, 192.168/16, fc00::/7), shared (100.64/10), link-local (169.254/16,
 * fe80::/10), benchmarking, documentation, reserved, multicast or broadcast; an IPv4 address
 * mapped into IPv6 (::ffff:0:0/96) or NAT64 (64:ff9b::/96) is judged as the IPv4 one. Any
 * other family is internal. */
int netguard_addr_internal(const struct sockaddr *sa);

/* Whether url's host is visibly internal: "localhost" (or a name under it) or a numeric address
 * netguard_addr_internal refuses. -1 when url does not parse as a URL with a host. A name is
 * not resolved here (0): the connection's check sees what it resolves to. */
int netguard_url_internal(const char *url);

/* The numeric form of sa into out (at least 46 bytes), "?" for another family. */
void netguard_addr_text(const struct sockaddr *sa, char *out, size_t len);

#endif /* LS_SRV_NETGUARD_H */
