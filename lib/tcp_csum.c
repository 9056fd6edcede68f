// SPDX-License-Identifier: GPL-2.0
/* The one checksum implementation of the userspace SYN builders. */
#include "tcp_csum.h"

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t ip4_header_csum(const uint8_t *hdr, size_t len)
{
	return csum_fold(csum_add(0, hdr, len));
}

uint16_t tcp_csum(bool v6, const uint8_t *saddr, const uint8_t *daddr,
		  const uint8_t *seg, size_t len)
{
	size_t alen = v6 ? 16 : 4;
	/* the pseudo-header's length and protocol words, as summed */
	uint32_t sum = (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + 6;

	sum = csum_add(sum, saddr, alen);
	sum = csum_add(sum, daddr, alen);
	return csum_fold(csum_add(sum, seg, len));
}
