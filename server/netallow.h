/* netallow: where action.http (the webhook channel) may send.
 *
 * FLOWD_HTTP_ALLOW is a comma-separated list of host[:port] patterns. A host is a name
 * ("api.example.com", any case), "*.example.com" (every name under example.com, not
 * example.com itself), an IPv4 address, an IPv6 address in brackets ("[::1]"), or "*" (any
 * host); the port is a number or "*"; without one, any port matches. Unset or empty: any
 * host. A URL whose host and port match no pattern is refused: its delivery fails at once,
 * saying so.
 *
 * Set or not, no webhook connects to a link-local address (169.254.0.0/16, fe80::/10: where
 * cloud metadata services answer) or an unspecified one (0.0.0.0, ::). That is checked on
 * the address actually connected to, so a name that resolves there is refused too. Loopback
 * and private networks stay allowed unless FLOWD_HTTP_ALLOW says otherwise: on-premises
 * CRMs and local tools live there. Providers (/api/providers) are set up by admins and are
 * not restricted. */
#ifndef FLOWD_NETALLOW_H
#define FLOWD_NETALLOW_H
#include <sys/socket.h>
#include "graph/err.h"

#define NETALLOW_MAX_PATTERNS 64

/* Replaces the allowlist with spec (NULL or "": allow any host). Returns 0, or ERR_INVAL
 * with d->msg naming the pattern that is wrong (the old list stays). */
int netallow_set(const char *spec, struct err_detail *d);

/* Reads FLOWD_HTTP_ALLOW once (later calls return the first result). Returns 0 or ERR_INVAL
 * with d->msg saying why (logged once). */
int netallow_init(struct err_detail *d);

/* 1 when an allowlist is in force. */
int netallow_active(void);

/* 1 when url's host and port match the allowlist (always, when there is none); 0 with a
 * sentence in why (len bytes) otherwise, including for a URL that does not parse. */
int netallow_url(const char *url, char *why, size_t len);

/* 1 when a connection to sa may be made (not link-local, not unspecified); 0 with the
 * address as text in addr (len bytes) otherwise. */
int netallow_address(const struct sockaddr *sa, char *addr, size_t len);

#endif
