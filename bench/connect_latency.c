// SPDX-License-Identifier: GPL-2.0
/*
 * connect() latency, for bench/connect_latency.sh.
 *
 *   connect_latency server PORT
 *	accepts and closes connections on PORT (IPv4 and IPv6) until killed
 *   connect_latency client ADDR PORT N [SPORT_BASE] [raw]
 *	N blocking connect()s to ADDR PORT, each from a source port in
 *	SPORT_BASE..SPORT_BASE+999 (default 20000), closed with a RST (no
 *	TIME_WAIT); prints "n min median p90 p99 max mean" in microseconds,
 *	or with "raw" every sample, one a line. The first 5% are a warm-up
 *	and are not counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "connect_latency: %s: %s\n", what, strerror(errno));
	return 1;
}

static int server(int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	int one = 1, zero = 0, fd, c;

	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		return die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0)
		return die("bind/listen");
	for (;;) {
		c = accept(fd, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int client(const char *addr, int port, int n, int sbase, int raw)
{
	struct sockaddr_storage dst = { 0 }, src = { 0 };
	struct sockaddr_in *d4 = (struct sockaddr_in *)&dst, *s4 = (struct sockaddr_in *)&src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&dst, *s6 = (struct sockaddr_in6 *)&src;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int af, warm = n / 20, i, k = 0, one = 1;
	socklen_t len;
	double *us, sum = 0;

	if (inet_pton(AF_INET, addr, &d4->sin_addr) == 1) {
		af = AF_INET;
		d4->sin_family = s4->sin_family = AF_INET;
		d4->sin_port = htons((uint16_t)port);
		len = sizeof(*d4);
	} else if (inet_pton(AF_INET6, addr, &d6->sin6_addr) == 1) {
		af = AF_INET6;
		d6->sin6_family = s6->sin6_family = AF_INET6;
		d6->sin6_port = htons((uint16_t)port);
		len = sizeof(*d6);
	} else {
		fprintf(stderr, "connect_latency: bad address %s\n", addr);
		return 2;
	}
	us = calloc((size_t)n, sizeof(*us));
	if (!us)
		return die("calloc");
	for (i = 0; i < n + warm; i++) {
		struct timespec t0, t1;
		uint16_t sp = (uint16_t)(sbase + i % 1000);
		int fd = socket(af, SOCK_STREAM, 0);

		if (fd < 0)
			return die("socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (af == AF_INET)
			s4->sin_port = htons(sp);
		else
			s6->sin6_port = htons(sp);
		if (bind(fd, (struct sockaddr *)&src, len) < 0)
			return die("bind");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (connect(fd, (struct sockaddr *)&dst, len) < 0)
			return die("connect");
		clock_gettime(CLOCK_MONOTONIC, &t1);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		if (i >= warm) {
			us[k] = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
			sum += us[k++];
		}
	}
	if (raw) {
		for (i = 0; i < k; i++)
			printf("%.2f\n", us[i]);
		free(us);
		return 0;
	}
	qsort(us, (size_t)k, sizeof(*us), cmp_double);
	printf("%d %.1f %.1f %.1f %.1f %.1f %.1f\n", k, us[0], us[k / 2], us[k * 9 / 10],
	       us[k * 99 / 100], us[k - 1], sum / k);
	free(us);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if (argc >= 5 && argc <= 7 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atoi(argv[4]),
			      argc >= 6 ? atoi(argv[5]) : 20000,
			      argc == 7 && !strcmp(argv[6], "raw"));
	fprintf(stderr, "usage: connect_latency server PORT\n"
			"       connect_latency client ADDR PORT N [SPORT_BASE] [raw]\n");
	return 2;
}
