/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internet checksums (RFC 1071) of the SYNs that tap-send and tap-clientd
 * write to raw sockets. Both return host byte order; a header or segment
 * that already carries its correct checksum sums to 0.
 */
#ifndef TAP_TCP_CSUM_H
#define TAP_TCP_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Checksum of an IPv4 header of len bytes, its check field zeroed. */
uint16_t ip4_header_csum(const uint8_t *hdr, size_t len);

/*
 * TCP checksum of a segment of len bytes (check field zeroed) from saddr
 * to daddr, 4 bytes each or 16 if v6, with the pseudo-header of RFC 793
 * or RFC 8200 section 8.1.
 */
uint16_t tcp_csum(bool v6, const uint8_t *saddr, const uint8_t *daddr,
		  const uint8_t *seg, size_t len);

#endif
