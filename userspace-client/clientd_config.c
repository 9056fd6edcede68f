// SPDX-License-Identifier: GPL-2.0
/*
 * tap-clientd: the configuration file (format in tap-clientd(8)).
 *
 *	queue 5441
 *	mark 0x54415031
 *	server 192.0.2.10 port 22 key /etc/tap/keys/office.key
 *	server 2001:db8::/64 port 22,8000-8100 key lab.key no-dst-bind
 *
 * Every problem is reported with its file and line, and parsing goes on so
 * that one run shows them all.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clientd.h"
#include "tap_keyfile.h"
#include "tap_num.h"

#define CD_LINE_MAX	4096
#define CD_TOKENS_MAX	32

struct parser {
	struct cd_config *cfg;
	const char *path;
	char *dir;		/* of the config file, for relative key paths */
	int line;
	int errors;
	bool seen_queue, seen_mark, seen_priority, seen_reuse, seen_copies;
	bool private_file;	/* group and others cannot read it: may hold a key */
};

static void __attribute__((format(printf, 3, 4)))
perr(struct parser *p, int prio, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->line > 0)
		cd_log(prio, "%s:%d: %s", p->path, p->line, msg);
	else
		cd_log(prio, "%s: %s", p->path, msg);
	if (prio <= LOG_ERR)
		p->errors++;
}

/* "22", "8000-8100", "22,80,8000-8100" */
static bool parse_ports(struct parser *p, struct cd_server *srv, const char *s)
{
	char buf[256], *save = NULL, *item;
	unsigned long long lo, hi;

	if (strlen(s) >= sizeof(buf)) {
		perr(p, LOG_ERR, "port list too long");
		return false;
	}
	strcpy(buf, s);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(item, '-');

		if (dash)
			*dash = '\0';
		if (!tap_parse_num(item, 65535, &lo) || lo == 0 ||
		    (dash && (!tap_parse_num(dash + 1, 65535, &hi) || hi == 0))) {
			if (dash)
				*dash = '-';
			perr(p, LOG_ERR, "bad port \"%.40s\": expected a port (1-65535) or a "
			     "range LOW-HIGH", item);
			return false;
		}
		if (!dash)
			hi = lo;
		if (lo > hi) {
			perr(p, LOG_ERR, "bad port range %llu-%llu: the first port is higher", lo, hi);
			return false;
		}
		if (srv->nports == CD_MAX_PORTS) {
			perr(p, LOG_ERR, "more than %d ports or ranges in one server entry",
			     CD_MAX_PORTS);
			return false;
		}
		srv->ports[srv->nports].lo = (uint16_t)lo;
		srv->ports[srv->nports].hi = (uint16_t)hi;
		srv->nports++;
	}
	if (!srv->nports) {
		perr(p, LOG_ERR, "empty port list");
		return false;
	}
	return true;
}

/* Letters, digits, '-' and '.', as in DNS names; at least one letter. */
static bool is_host_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253 || s[0] == '-' || s[0] == '.')
		return false;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != n)
		return false;
	return strpbrk(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL;
}

/*
 * A host name, resolved now (at start and on each SIGHUP) with
 * getaddrinfo: its first address, in the resolver's order of preference.
 */
int cd_resolve(const char *name, int ai_flags, uint8_t *family,
	       struct tap_addr *addr)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = ai_flags };
	struct addrinfo *res = NULL;
	int r;

	r = getaddrinfo(name, NULL, &hints, &res);
	if (!r && !res)
		r = EAI_NONAME;
	if (!r) {
		memset(addr, 0, sizeof(*addr));
		if (res->ai_family == AF_INET) {
			*family = 4;
			memcpy(addr->b, &((struct sockaddr_in *)res->ai_addr)->sin_addr, 4);
		} else if (res->ai_family == AF_INET6) {
			*family = 6;
			memcpy(addr->b, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, 16);
		} else {
			r = EAI_FAMILY;
		}
	}
	if (res)
		freeaddrinfo(res);
	return r;
}

const char *cd_resolve_error(int r)
{
	if (r == EAI_FAMILY)
		return "no IPv4 or IPv6 address";
	return r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r);
}

static bool resolve_host(struct parser *p, struct cd_server *srv, const char *name)
{
	int r = cd_resolve(name, AI_ADDRCONFIG, &srv->family, &srv->net);

	if (r) {
		perr(p, LOG_ERR, "cannot resolve host name \"%.60s\": %s", name,
		     cd_resolve_error(r));
		return false;
	}
	srv->prefix = srv->family == 4 ? 32 : 128;
	snprintf(srv->name, sizeof(srv->name), "%s", name);
	inet_ntop(srv->family == 4 ? AF_INET : AF_INET6, srv->net.b, srv->addr,
		  sizeof(srv->addr));
	perr(p, LOG_NOTICE, "server %s resolves to %s", name, srv->addr);
	return true;
}

static bool parse_addr(struct parser *p, struct cd_server *srv, const char *s)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	unsigned long long prefix;
	uint8_t host[16];
	int i, max;

	if (strlen(s) >= sizeof(buf)) {
		perr(p, LOG_ERR, "bad address \"%.60s\": too long", s);
		return false;
	}
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	memset(&srv->net, 0, sizeof(srv->net));
	if (inet_pton(AF_INET, buf, srv->net.b) == 1) {
		srv->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, srv->net.b) == 1) {
		srv->family = 6;
		max = 128;
	} else if (!slash && is_host_name(buf)) {
		return resolve_host(p, srv, buf);
	} else {
		perr(p, LOG_ERR, "bad address \"%.60s\": expected an IPv4 or IPv6 address, "
		     "a CIDR prefix or a host name", buf);
		return false;
	}
	if (slash) {
		if (strspn(slash, "0123456789") != strlen(slash) ||
		    !tap_parse_num(slash, (unsigned long long)max, &prefix)) {
			perr(p, LOG_ERR, "bad prefix length \"/%.10s\" for an IPv%d address "
			     "(0-%d)", slash, srv->family, max);
			return false;
		}
	} else {
		prefix = (unsigned long long)max;
	}
	srv->prefix = (uint8_t)prefix;
	memcpy(host, srv->net.b, 16);
	for (i = 0; i < 16; i++) {
		int bits = (int)prefix - 8 * i;
		uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));

		srv->net.b[i] &= m;
	}
	if (memcmp(host, srv->net.b, 16)) {
		char net[INET6_ADDRSTRLEN];

		inet_ntop(srv->family == 4 ? AF_INET : AF_INET6, srv->net.b, net, sizeof(net));
		perr(p, LOG_WARNING, "%s has host bits set; using %s/%d", s, net, srv->prefix);
	}
	snprintf(srv->name, sizeof(srv->name), "%s", s);
	return true;
}

/* The user the files are read as, for the advice in errors. */
static void reader_name(char *buf, size_t len)
{
	const struct passwd *pw = getpwuid(geteuid());

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned int)geteuid());
}

/* Reads the key file once per path; returns its index or -1. */
static int add_key(struct parser *p, const char *path, struct tap_keyfile *kf);

static int load_key(struct parser *p, const char *file)
{
	struct cd_config *cfg = p->cfg;
	struct tap_keyfile kf;
	char given[PATH_MAX], path[PATH_MAX], err[512], user[64];
	int i;

	if (file[0] == '/' || !p->dir)
		snprintf(given, sizeof(given), "%s", file);
	else
		snprintf(given, sizeof(given), "%s/%s", p->dir, file);
	/* one entry per file, however it is named */
	if (!realpath(given, path))
		snprintf(path, sizeof(path), "%s", given);
	for (i = 0; i < cfg->nkeys; i++)
		if (!strcmp(cfg->keys[i].path, path))
			return i;
	if (tap_keyfile_read(path, &kf, err, sizeof(err)) < 0) {
		char hint[320] = "";

		/* run as the daemon's user: say who must be able to read it */
		if (geteuid() != 0 && access(path, R_OK) < 0 && errno == EACCES) {
			reader_name(user, sizeof(user));
			snprintf(hint, sizeof(hint), "; the daemon reads its key files as %s: make "
				 "the file owned by %s, mode 0600, in directories %s can search",
				 user, user, user);
		}
		/* the reason names the file already */
		if (!strncmp(err, path, strlen(path)))
			perr(p, LOG_ERR, "key file %s%s", err, hint);
		else
			perr(p, LOG_ERR, "key file %s: %s%s", path, err, hint);
		return -1;
	}
	return add_key(p, path, &kf);
}

/*
 * Appends the key of kf (wiped either way) as cfg->keys[nkeys], named
 * path; its index or -1.
 */
static int add_key(struct parser *p, const char *path, struct tap_keyfile *kf)
{
	struct cd_config *cfg = p->cfg;
	struct cd_key *keys, *k;

	/*
	 * Never realloc: it would free a copy of the keys without wiping it.
	 * A new array; the old one is wiped, then freed.
	 */
	keys = calloc((size_t)cfg->nkeys + 1, sizeof(*keys));
	k = keys ? &keys[cfg->nkeys] : NULL;
	if (k)
		k->path = strdup(path);
	if (!k || !k->path) {
		free(keys);
		tap_keyfile_wipe(kf);
		perr(p, LOG_ERR, "out of memory");
		return -1;
	}
	k->id = kf->id;
	tap_prf_key_import(&k->key, kf->secret);
	tap_prf_key_import(&k->realm, kf->realm);
	k->fpr = tap_key_fingerprint(&k->key);
	tap_keyfile_wipe(kf);
	if (cfg->nkeys) {
		memcpy(keys, cfg->keys, (size_t)cfg->nkeys * sizeof(*keys));
		tap_wipe(cfg->keys, (size_t)cfg->nkeys * sizeof(*keys));
	}
	free(cfg->keys);
	cfg->keys = keys;
	return cfg->nkeys++;
}

/* The words of an inline key: key-id N secret BASE64 realm BASE64. */
struct inline_key {
	const char *id, *secret, *realm;
};

/*
 * A key written into the configuration (tap-keytool export), read by the
 * key file reader; the file must then be as private as a key file.
 * Its index or -1. Messages never show the values.
 */
static int load_inline_key(struct parser *p, const struct inline_key *ik)
{
	struct tap_keyfile kf;
	char text[512], err[512], name[64];
	const char *why;
	int n;

	if (!p->private_file) {
		perr(p, LOG_ERR, "the entry carries a key (secret), but group or others may "
		     "read %s: chmod 600 it", p->path);
		return -1;
	}
	n = snprintf(text, sizeof(text), "version = %d\nid = %s\nsecret = %s\nrealm = %s\n",
		     TAP_KEYFILE_VERSION, ik->id, ik->secret, ik->realm);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		tap_wipe(text, sizeof(text));
		perr(p, LOG_ERR, "inline key: a value is too long");
		return -1;
	}
	if (tap_keyfile_parse("inline", text, (size_t)n, &kf, err, sizeof(err)) < 0) {
		tap_wipe(text, sizeof(text));
		/* "inline:LINE: reason": only the reason means something here */
		why = strchr(err, ' ');
		perr(p, LOG_ERR, "inline key: %s", why ? why + 1 : err);
		return -1;
	}
	tap_wipe(text, sizeof(text));
	snprintf(name, sizeof(name), "%s:%d", p->path, p->line);
	return add_key(p, name, &kf);
}

static bool ranges_overlap(const struct cd_server *a, const struct cd_server *b)
{
	int i, j;

	for (i = 0; i < a->nports; i++)
		for (j = 0; j < b->nports; j++)
			if (a->ports[i].lo <= b->ports[j].hi && b->ports[j].lo <= a->ports[i].hi)
				return true;
	return false;
}

static bool prefix_contains(const struct tap_addr *net, int prefix,
			    const struct tap_addr *a)
{
	int i;

	for (i = 0; i < 16 && prefix > 0; i++, prefix -= 8) {
		uint8_t m = prefix >= 8 ? 0xff : (uint8_t)(0xff << (8 - prefix));

		if ((a->b[i] & m) != net->b[i])
			return false;
	}
	return true;
}

/*
 * The words after "server ADDRESS" into srv and *keyfile. 1 if they are
 * fine, 0 if not (reported), -1 if the line ends where a value should be.
 */
static int server_options(struct parser *p, struct cd_server *srv, char **tok, int n,
			  const char **keyfile, struct inline_key *ik, bool *have_ports)
{
	const char **slot;
	bool ok = true, have_bind = false;
	int i;

	for (i = 2; i < n; i++) {
		if (!strcmp(tok[i], "port") || !strcmp(tok[i], "ports")) {
			if (i + 1 >= n) {
				perr(p, LOG_ERR, "\"%s\" needs a value", tok[i]);
				return -1;
			}
			if (*have_ports) {
				perr(p, LOG_ERR, "\"port\" given twice (use a list: port 22,80)");
				ok = false;
			}
			*have_ports = true;
			if (!parse_ports(p, srv, tok[++i]))
				ok = false;
		} else if (!strcmp(tok[i], "key")) {
			if (i + 1 >= n) {
				perr(p, LOG_ERR, "\"key\" needs a key file");
				return -1;
			}
			if (*keyfile) {
				perr(p, LOG_ERR, "\"key\" given twice (one key per server entry; "
				     "add another entry for another key)");
				ok = false;
			}
			*keyfile = tok[++i];
		} else if (!strcmp(tok[i], "no-dst-bind") || !strcmp(tok[i], "dst-bind")) {
			if (have_bind) {
				perr(p, LOG_ERR, "dst-bind / no-dst-bind given twice");
				ok = false;
			}
			have_bind = true;
			if (strcmp(tok[i], "dst-bind"))
				srv->bind &= (uint8_t)~TAP_BIND_DADDR;
		} else if ((slot = !strcmp(tok[i], "key-id") ? &ik->id :
				   !strcmp(tok[i], "secret") ? &ik->secret :
				   !strcmp(tok[i], "realm") ? &ik->realm : NULL)) {
			if (i + 1 >= n) {
				perr(p, LOG_ERR, "\"%s\" needs a value", tok[i]);
				return -1;
			}
			if (*slot) {
				perr(p, LOG_ERR, "\"%s\" given twice", tok[i]);
				ok = false;
			}
			*slot = tok[++i];
		} else if (!strcmp(tok[i], "src-bind")) {
			srv->bind |= TAP_BIND_SADDR;
		} else {
			perr(p, LOG_ERR, "unknown server option \"%.40s\" (expected port, key, "
			     "key-id, secret, realm, no-dst-bind, dst-bind or src-bind)", tok[i]);
			ok = false;
		}
	}
	return ok;
}

/* Appends srv, warning about earlier entries it overlaps. */
static void add_server(struct parser *p, const struct cd_server *srv)
{
	struct cd_config *cfg = p->cfg;
	int i;

	if (cfg->nservers == CD_MAX_SERVERS) {
		perr(p, LOG_ERR, "more than %d server entries", CD_MAX_SERVERS);
		return;
	}
	for (i = 0; i < cfg->nservers; i++) {
		const struct cd_server *o = &cfg->servers[i];

		if (o->family == srv->family && ranges_overlap(o, srv) &&
		    (prefix_contains(&o->net, o->prefix, &srv->net) ||
		     prefix_contains(&srv->net, srv->prefix, &o->net)))
			perr(p, LOG_WARNING, "server %s overlaps the entry on line %d; for a "
			     "destination in both, the first entry wins", srv->name, o->line);
	}
	cfg->servers[cfg->nservers++] = *srv;
	if (srv->family == 4)
		cfg->has_v4 = true;
	else
		cfg->has_v6 = true;
}

static void parse_server(struct parser *p, char **tok, int n)
{
	struct cd_server srv = { .line = p->line, .bind = TAP_BIND_DADDR, .key = -1 };
	struct inline_key ik = { NULL, NULL, NULL };
	const char *keyfile = NULL;
	bool ok = true, have_ports = false, inline_key;
	int ret;

	if (n < 2) {
		perr(p, LOG_ERR, "\"server\" needs an address: server ADDRESS[/PREFIX] "
		     "port PORTS key FILE [no-dst-bind]");
		return;
	}
	if (!parse_addr(p, &srv, tok[1]))
		ok = false;
	ret = server_options(p, &srv, tok, n, &keyfile, &ik, &have_ports);
	if (ret < 0)
		return;
	if (!ret)
		ok = false;
	if (!have_ports) {
		perr(p, LOG_ERR, "server %s: missing \"port PORTS\"", tok[1]);
		ok = false;
	}
	inline_key = ik.id || ik.secret || ik.realm;
	if (inline_key && keyfile) {
		perr(p, LOG_ERR, "server %s: \"key FILE\" and an inline key (key-id, secret, "
		     "realm): give one", tok[1]);
		ok = false;
	} else if (inline_key && !(ik.id && ik.secret && ik.realm)) {
		perr(p, LOG_ERR, "server %s: an inline key needs key-id, secret and realm",
		     tok[1]);
		ok = false;
	} else if (inline_key) {
		srv.key = load_inline_key(p, &ik);
		if (srv.key < 0)
			ok = false;
	} else if (!keyfile) {
		perr(p, LOG_ERR, "server %s: missing \"key FILE\" (or key-id, secret and "
		     "realm)", tok[1]);
		ok = false;
	} else {
		srv.key = load_key(p, keyfile);
		if (srv.key < 0)
			ok = false;
	}
	if (ok)
		add_server(p, &srv);
}

static void parse_global(struct parser *p, char **tok, int n, bool *seen)
{
	unsigned long long v;
	long sv;

	if (*seen)
		perr(p, LOG_ERR, "\"%s\" given twice", tok[0]);
	*seen = true;
	if (n != 2) {
		perr(p, LOG_ERR, "\"%s\" takes exactly one value", tok[0]);
		return;
	}
	if (!strcmp(tok[0], "queue")) {
		if (!tap_parse_num(tok[1], 65535, &v))
			perr(p, LOG_ERR, "bad queue number \"%.40s\" (0-65535)", tok[1]);
		else
			p->cfg->queue = (uint16_t)v;
	} else if (!strcmp(tok[0], "mark")) {
		if (!tap_parse_num(tok[1], 0xffffffffull, &v) || v == 0)
			perr(p, LOG_ERR, "bad mark \"%.40s\" (1-0xffffffff)", tok[1]);
		else
			p->cfg->mark = (uint32_t)v;
	} else if (!strcmp(tok[0], "copies")) {
		if (!tap_parse_num(tok[1], 4, &v) || v == 0)
			perr(p, LOG_ERR, "bad copies \"%.40s\" (1-4)", tok[1]);
		else
			p->cfg->copies = (uint32_t)v;
	} else if (!strcmp(tok[0], "reuse-token")) {
		if (!tap_parse_num(tok[1], 3600, &v))
			perr(p, LOG_ERR, "bad reuse-token \"%.40s\" (seconds, 0-3600)", tok[1]);
		else
			p->cfg->reuse_token = (uint32_t)v;
	} else {
		if (!tap_parse_long(tok[1], -400, 400, &sv))
			perr(p, LOG_ERR, "bad priority \"%.40s\" (-400 to 400)", tok[1]);
		else
			p->cfg->priority = (int32_t)sv;
	}
}

static int tokenize(char *s, char **tok)
{
	int n = 0;
	char *hash = strchr(s, '#');

	if (hash)
		*hash = '\0';
	for (;;) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s)
			return n;
		if (n == CD_TOKENS_MAX)
			return -1;
		tok[n++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
}

/*
 * Reads one line into buf (without its '\n'), counting the bytes that do
 * not fit; NUL bytes are kept so that the caller sees them. Returns false
 * at the end of the file.
 */
static bool read_line(FILE *f, char *buf, size_t size, size_t *len, size_t *total)
{
	int c;

	*len = *total = 0;
	while ((c = getc(f)) != EOF && c != '\n') {
		if (*len + 1 < size)
			buf[(*len)++] = (char)c;
		(*total)++;
	}
	buf[*len] = '\0';
	return c != EOF || *total > 0;
}

/* Opens the configuration file if it is one; NULL after an error. */
static FILE *open_config(struct parser *p)
{
	char err[512], user[64];
	struct stat st;
	FILE *f;
	int fd;

	if (!*p->path) {
		cd_log(LOG_ERR, "the configuration file name is empty");
		p->errors++;
		return NULL;
	}
	/* O_NONBLOCK: a FIFO must not hang the open before fstat refuses it */
	fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == EACCES && geteuid() != 0) {
			reader_name(user, sizeof(user));
			perr(p, LOG_ERR, "cannot read the configuration file: %s; the daemon reads "
			     "it as %s: make it readable by %s (for example owned by root, mode "
			     "0644)", strerror(EACCES), user, user);
		} else {
			perr(p, LOG_ERR, "cannot read the configuration file: %s", strerror(errno));
		}
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		perr(p, LOG_ERR, "cannot stat the configuration file: %s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		perr(p, LOG_ERR, "%s, not a configuration file",
		     S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
	} else if (tap_file_check_owner(p->path, &st, err, sizeof(err)) < 0) {
		/* err starts with the file name, as perr's messages do */
		cd_log(LOG_ERR, "%s", err);
		p->errors++;
	} else if ((f = fdopen(fd, "r"))) {
		p->private_file = !(st.st_mode & 077);
		return f;
	} else {
		perr(p, LOG_ERR, "cannot read the configuration file: %s", strerror(errno));
	}
	close(fd);
	return NULL;
}

/* Defaults, and the directory for relative key file names. 0 or -1. */
static int config_init(struct parser *p, struct cd_config *cfg, const char *path)
{
	char *slash;

	memset(cfg, 0, sizeof(*cfg));
	cfg->queue = CD_DEFAULT_QUEUE;
	cfg->mark = CD_DEFAULT_MARK;
	cfg->priority = CD_DEFAULT_PRIORITY;
	cfg->reuse_token = CD_DEFAULT_REUSE;
	cfg->copies = 1;
	cfg->path = strdup(path);
	cfg->servers = calloc(CD_MAX_SERVERS, sizeof(*cfg->servers));
	/* the directory, for relative key file names: "." has room */
	p->dir = malloc(strlen(path) + sizeof("."));
	if (!cfg->path || !cfg->servers || !p->dir) {
		free(p->dir);
		p->dir = NULL;
		perr(p, LOG_ERR, "out of memory");
		return -1;
	}
	strcpy(p->dir, path);
	slash = strrchr(p->dir, '/');
	if (slash)
		slash[slash == p->dir ? 1 : 0] = '\0';
	else
		strcpy(p->dir, ".");
	return 0;
}

/* One line of len bytes (total before truncation). */
static void parse_line(struct parser *p, char *line, size_t len, size_t total)
{
	char *tok[CD_TOKENS_MAX];
	int n;

	if (total > CD_LINE_MAX) {
		perr(p, LOG_ERR, "line longer than %d bytes", CD_LINE_MAX);
		return;
	}
	if (memchr(line, '\0', len)) {
		perr(p, LOG_ERR, "NUL byte in the line (at byte %zu); the file is not text",
		     (size_t)((char *)memchr(line, '\0', len) - line) + 1);
		return;
	}
	n = tokenize(line, tok);
	if (n < 0) {
		perr(p, LOG_ERR, "too many words (more than %d)", CD_TOKENS_MAX);
		return;
	}
	if (n == 0)
		return;
	if (!strcmp(tok[0], "server"))
		parse_server(p, tok, n);
	else if (!strcmp(tok[0], "queue"))
		parse_global(p, tok, n, &p->seen_queue);
	else if (!strcmp(tok[0], "mark"))
		parse_global(p, tok, n, &p->seen_mark);
	else if (!strcmp(tok[0], "priority"))
		parse_global(p, tok, n, &p->seen_priority);
	else if (!strcmp(tok[0], "reuse-token"))
		parse_global(p, tok, n, &p->seen_reuse);
	else if (!strcmp(tok[0], "copies"))
		parse_global(p, tok, n, &p->seen_copies);
	else
		perr(p, LOG_ERR, "unknown keyword \"%.40s\" (expected server, queue, "
		     "mark, priority, reuse-token or copies)", tok[0]);
}

/* Every line of f, and what the whole file must have. */
static void parse_stream(struct parser *p, FILE *f)
{
	char line[CD_LINE_MAX + 1];
	size_t len, total;

	while (read_line(f, line, sizeof(line), &len, &total)) {
		p->line++;
		parse_line(p, line, len, total);
	}
	if (ferror(f)) {
		p->line = 0;
		perr(p, LOG_ERR, "read error: %s", strerror(errno));
	}
	if (!p->errors && p->cfg->nservers == 0) {
		p->line = 0;
		perr(p, LOG_ERR, "no server entries: nothing to protect "
		     "(add: server ADDRESS port PORTS key FILE)");
	}
}

int cd_config_load(const char *path, struct cd_config *cfg)
{
	struct parser p = { .cfg = cfg, .path = path };
	FILE *f;

	if (config_init(&p, cfg, path) < 0)
		return p.errors;
	f = open_config(&p);
	if (!f) {
		free(p.dir);
		return p.errors;
	}
	parse_stream(&p, f);
	fclose(f);
	free(p.dir);
	return p.errors;
}

int cd_config_parse(const char *path, FILE *f, struct cd_config *cfg)
{
	/* the caller has checked the file, as it says */
	struct parser p = { .cfg = cfg, .path = path, .private_file = true };

	if (config_init(&p, cfg, path) < 0)
		return p.errors;
	parse_stream(&p, f);
	free(p.dir);
	return p.errors;
}

void cd_config_free(struct cd_config *cfg)
{
	int i;

	for (i = 0; i < cfg->nkeys; i++)
		free(cfg->keys[i].path);
	if (cfg->keys)
		tap_wipe(cfg->keys, (size_t)cfg->nkeys * sizeof(*cfg->keys));
	free(cfg->keys);
	free(cfg->servers);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

const struct cd_server *cd_config_match(const struct cd_config *cfg,
					uint8_t family,
					const struct tap_addr *daddr,
					uint16_t dport)
{
	int i, j;

	for (i = 0; i < cfg->nservers; i++) {
		const struct cd_server *s = &cfg->servers[i];

		if (s->family != family || !prefix_contains(&s->net, s->prefix, daddr))
			continue;
		for (j = 0; j < s->nports; j++)
			if (dport >= s->ports[j].lo && dport <= s->ports[j].hi)
				return s;
	}
	return NULL;
}

void cd_config_describe(const struct cd_config *cfg, int prio)
{
	char ports[CD_MAX_PORTS * 12 + 1];
	int i, j;
	size_t off;

	cd_log(prio, "config %s: %d server entr%s, %d key%s, queue %u, mark 0x%x, "
	       "priority %d, reuse-token %u s, copies %u", cfg->path, cfg->nservers,
	       cfg->nservers == 1 ? "y" : "ies", cfg->nkeys, cfg->nkeys == 1 ? "" : "s",
	       cfg->queue, cfg->mark, cfg->priority, cfg->reuse_token, cfg->copies);
	for (i = 0; i < cfg->nservers; i++) {
		const struct cd_server *s = &cfg->servers[i];
		const struct cd_key *k = &cfg->keys[s->key];

		off = 0;
		for (j = 0; j < s->nports; j++) {
			int w;

			if (s->ports[j].lo == s->ports[j].hi)
				w = snprintf(ports + off, sizeof(ports) - off, "%s%u",
					     j ? "," : "", s->ports[j].lo);
			else
				w = snprintf(ports + off, sizeof(ports) - off, "%s%u-%u",
					     j ? "," : "", s->ports[j].lo, s->ports[j].hi);
			if (w < 0 || (size_t)w >= sizeof(ports) - off)
				break;
			off += (size_t)w;
		}
		cd_log(prio, "  line %d: server %s%s%s%s port %s key id %u (fingerprint "
		       "%016llx)%s%s", s->line, s->name, s->addr[0] ? " (" : "", s->addr,
		       s->addr[0] ? ")" : "", ports, k->id, (unsigned long long)k->fpr,
		       s->bind & TAP_BIND_DADDR ? "" : " no-dst-bind",
		       s->bind & TAP_BIND_SADDR ? " src-bind" : "");
	}
}
