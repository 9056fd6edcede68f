// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the userspace SYN builders: the shared checksums
 * (tcp_csum.c) against vectors computed independently, and tap-clientd's
 * parse of a real SYN and the auth SYNs it builds from it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "clientd.h"
#include "tcp_csum.h"
#include "unit_files.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A Linux SYN: 10.77.1.2:40000 -> 10.77.2.1:22, ISN 0x12345678, MSS 1460,
 * SACK permitted, timestamps 0x01020304, NOP, window scale 7. */
static const uint8_t tcp_syn[40] = {
	0x9c, 0x40, 0x00, 0x16, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0,
	0xa0, 0x02, 0xfa, 0xf0, 0, 0, 0, 0,
	2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7,
};
static const uint8_t v4_src[4] = { 10, 77, 1, 2 }, v4_dst[4] = { 10, 77, 2, 1 };
static const uint8_t v6_src[16] = { 0xfd, 0, 0, 0x77, 0, 1, [15] = 2 };
static const uint8_t v6_dst[16] = { 0xfd, 0, 0, 0x77, 0, 2, [15] = 1 };

/* the real SYN as tap-clientd gets it from the queue */
static size_t real_v4(uint8_t *pkt)
{
	static const uint8_t ip[20] = {
		0x45, 0x10, 0, 60, 0xab, 0xcd, 0x40, 0, 64, 6, 0, 0,
	};

	memcpy(pkt, ip, 20);
	memcpy(pkt + 12, v4_src, 4);
	memcpy(pkt + 16, v4_dst, 4);
	pkt[10] = (uint8_t)(ip4_header_csum(pkt, 20) >> 8);
	pkt[11] = (uint8_t)ip4_header_csum(pkt, 20);
	memcpy(pkt + 20, tcp_syn, sizeof(tcp_syn));
	return 60;
}

static size_t real_v6(uint8_t *pkt, uint32_t flow_label)
{
	memset(pkt, 0, 40);
	pkt[0] = 0x60;
	pkt[1] = (uint8_t)(flow_label >> 16);
	pkt[2] = (uint8_t)(flow_label >> 8);
	pkt[3] = (uint8_t)flow_label;
	pkt[5] = sizeof(tcp_syn);
	pkt[6] = 6;
	pkt[7] = 64;
	memcpy(pkt + 8, v6_src, 16);
	memcpy(pkt + 24, v6_dst, 16);
	memcpy(pkt + 40, tcp_syn, sizeof(tcp_syn));
	return 80;
}

static void test_checksum_vectors(void)
{
	/* the IPv4 header of RFC 1071's usual worked example (Wikipedia) */
	static const uint8_t hdr[20] = {
		0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0,
		0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7,
	};
	/* computed with Python's own one's complement sum */
	CHECK(ip4_header_csum(hdr, sizeof(hdr)) == 0xb861, "ip4 0x%04x",
	      ip4_header_csum(hdr, sizeof(hdr)));
	CHECK(tcp_csum(false, v4_src, v4_dst, tcp_syn, sizeof(tcp_syn)) == 0x2c6a,
	      "tcp v4 0x%04x", tcp_csum(false, v4_src, v4_dst, tcp_syn, sizeof(tcp_syn)));
	CHECK(tcp_csum(true, v6_src, v6_dst, tcp_syn, sizeof(tcp_syn)) == 0x4911,
	      "tcp v6 0x%04x", tcp_csum(true, v6_src, v6_dst, tcp_syn, sizeof(tcp_syn)));
	/* odd length: the last byte is the high half of a word */
	CHECK(ip4_header_csum((const uint8_t[]){ 0x12 }, 1) == (uint16_t)~0x1200,
	      "odd length");
}

/* The auth SYN differs from the real one only where it must. */
static void check_auth(const uint8_t *real, size_t len, const uint8_t *auth,
		       size_t alen, size_t ihl, uint32_t seq, uint16_t sport)
{
	const uint8_t *t = auth + ihl, *rt = real + ihl;
	bool v6 = ihl == 40;
	struct cd_syn parsed;
	const char *why = NULL;

	CHECK(alen == len, "length %zu, real %zu", alen, len);
	CHECK(cd_parse_syn(auth, alen, v6 ? 6 : 4, &parsed, &why) == 0,
	      "auth SYN does not parse: %s", why ? why : "");
	CHECK(get16(t) == sport && get32(t + 4) == seq, "port/seq");
	CHECK(!memcmp(t + 2, rt + 2, 2) && !memcmp(t + 8, rt + 8, 8),
	      "dport, ack, offset, flags, window");
	CHECK(!memcmp(t + 20, rt + 20, len - ihl - 20), "options differ");
	CHECK(tcp_csum(v6, auth + (v6 ? 8 : 12), auth + (v6 ? 24 : 16), t,
		       len - ihl) == 0, "TCP checksum does not verify");
	if (!v6) {
		CHECK(ip4_header_csum(auth, ihl) == 0, "IPv4 checksum does not verify");
		CHECK(get16(auth + 4) == 0x4242, "IPv4 ID 0x%04x", get16(auth + 4));
		CHECK(auth[1] == real[1] && auth[8] == real[8] &&
		      get16(auth + 6) == get16(real + 6), "TOS, TTL, DF");
	} else {
		CHECK(!memcmp(auth + 4, real + 4, 36), "IPv6 header past the flow label");
	}
}

static void test_build_auth_v4(void)
{
	uint8_t real[60], auth[128];
	struct cd_syn syn;
	const char *why = NULL;
	size_t len = real_v4(real), alen;

	CHECK(cd_parse_syn(real, len, 4, &syn, &why) == 0, "parse: %s", why ? why : "");
	CHECK(syn.syn.family == 4 && syn.syn.sport == 40000 && syn.syn.dport == 22 &&
	      syn.syn.seq == 0x12345678 && syn.iphlen == 20 && syn.tcphlen == 40 &&
	      syn.ttl == 64 && syn.window == 0xfaf0, "parsed fields");
	alen = cd_build_auth(&syn, 0xdeadbeef, 51000, 0x4242, auth, sizeof(auth));
	check_auth(real, len, auth, alen, 20, 0xdeadbeef, 51000);
	CHECK(cd_build_auth(&syn, 1, 2, 3, auth, len - 1) == 0, "built into a short buffer");
}

static void test_build_auth_v6(void)
{
	uint8_t real[80], auth[128];
	struct cd_syn syn;
	const char *why = NULL;
	size_t len = real_v6(real, 0x5a5a5), alen;
	uint32_t fl;

	CHECK(cd_parse_syn(real, len, 6, &syn, &why) == 0, "parse: %s", why ? why : "");
	CHECK(syn.syn.family == 6 && syn.iphlen == 40 && !memcmp(syn.syn.saddr.b, v6_src, 16),
	      "parsed fields");
	alen = cd_build_auth(&syn, 7, 33000, 0, auth, sizeof(auth));
	check_auth(real, len, auth, alen, 40, 7, 33000);
	fl = get32(auth) & 0xfffff;
	CHECK(fl != 0 && get32(auth) >> 20 == get32(real) >> 20, "flow label %05x", fl);

	/* no flow label on the real SYN: none on the auth SYNs */
	len = real_v6(real, 0);
	CHECK(cd_parse_syn(real, len, 6, &syn, &why) == 0, "parse: %s", why ? why : "");
	alen = cd_build_auth(&syn, 8, 33001, 0, auth, sizeof(auth));
	check_auth(real, len, auth, alen, 40, 8, 33001);
	CHECK(get32(auth) == 0x60000000, "flow label appeared: %08x", get32(auth));
}

static void test_parse_refuses(void)
{
	static const struct {
		const char *what;
		size_t off, cut;	/* byte to change, or 0; length to cut */
		uint8_t val;
		const char *why;
	} cases[] = {
		{ "truncated IP", 0, 45, 0, "truncated IPv4 header" },
		{ "IHL 4", 0, 0, 0x44, "bad IPv4 header length" },
		{ "UDP", 9, 0, 17, "not TCP" },
		{ "fragment", 7, 0, 0x10, "IPv4 fragment" },
		{ "cut TCP", 0, 30, 0, "truncated TCP header" },
		{ "data offset 4", 32, 0, 0x40, "bad TCP header length" },
		{ "SYN/ACK", 33, 0, 0x12, "not a SYN" },
		{ "RST", 33, 0, 0x06, "not a SYN" },
	};
	uint8_t pkt[80];
	struct cd_syn syn;
	const char *why;
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = real_v4(pkt);
		if (cases[i].cut)
			len = len - cases[i].cut;
		else
			pkt[cases[i].off] = cases[i].val;
		why = NULL;
		CHECK(cd_parse_syn(pkt, len, 4, &syn, &why) < 0 && why &&
		      !strcmp(why, cases[i].why), "%s: %s", cases[i].what, why ? why : "accepted");
	}

	len = real_v6(pkt, 0);
	pkt[6] = 60;	/* destination options before TCP */
	why = NULL;
	CHECK(cd_parse_syn(pkt, len, 6, &syn, &why) < 0 && why && strstr(why, "extension"),
	      "IPv6 extension header: %s", why ? why : "accepted");
	len = real_v4(pkt);
	why = NULL;
	CHECK(cd_parse_syn(pkt, len, 6, &syn, &why) < 0, "IPv4 packet queued as IPv6");
	why = NULL;
	CHECK(cd_parse_syn(pkt, 0, 4, &syn, &why) < 0 && why && !strcmp(why, "empty packet"),
	      "empty packet");
}

int main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 2;
	}
	test_checksum_vectors();
	test_build_auth_v4();
	test_build_auth_v6();
	test_parse_refuses();
	printf("test_packet: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
