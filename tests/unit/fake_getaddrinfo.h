/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A resolver for tests that link with --wrap=getaddrinfo,--wrap=freeaddrinfo:
 * each test's __wrap_getaddrinfo picks an address for a name from its own
 * table, and fake_addrinfo builds the one-entry answer. No DNS query, ever.
 */
#ifndef TAP_FAKE_GETADDRINFO_H
#define TAP_FAKE_GETADDRINFO_H

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

int __wrap_getaddrinfo(const char *name, const char *service,
		       const struct addrinfo *hints, struct addrinfo **res);
void __wrap_freeaddrinfo(struct addrinfo *ai);

/* *res = one IPv4 or IPv6 address, given as text; an EAI_* code */
static inline int fake_addrinfo(const char *addr, struct addrinfo **res)
{
	struct {
		struct addrinfo ai;
		struct sockaddr_in6 sa;	/* room for either family */
	} *r = calloc(1, sizeof(*r));
	struct sockaddr_in *sin;

	if (!r)
		return EAI_MEMORY;
	r->ai.ai_addr = (struct sockaddr *)&r->sa;
	sin = (struct sockaddr_in *)&r->sa;
	if (inet_pton(AF_INET6, addr, &r->sa.sin6_addr) == 1) {
		r->ai.ai_family = r->sa.sin6_family = AF_INET6;
		r->ai.ai_addrlen = sizeof(struct sockaddr_in6);
	} else if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		r->ai.ai_family = sin->sin_family = AF_INET;
		r->ai.ai_addrlen = sizeof(*sin);
	} else {
		free(r);
		return EAI_FAIL;
	}
	*res = &r->ai;
	return 0;
}

void __wrap_freeaddrinfo(struct addrinfo *ai)
{
	free(ai);
}

#endif
