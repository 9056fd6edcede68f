// SPDX-License-Identifier: GPL-2.0
/*
 * The parser of /etc/tap/protect.conf: one "keyword [value]" per line,
 * '#' starts a comment. Strict: an unknown keyword, a keyword given twice,
 * a missing or extra value, a bad number is an error naming the line, and
 * the caller changes nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/netfilter.h>

#include "tap-nft.h"
#include "protect_conf.h"
#include "tap_num.h"

#define CONF_LINE_MAX	512
#define CONF_TOKENS	4

struct conf_ctx {
	const char *path;
	unsigned int line;
	int errors;
	unsigned int seen;	/* bit per keyword */
	struct protect_conf *c;
};

static void conf_error(struct conf_ctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void conf_error(struct conf_ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->line)
		fprintf(stderr, "tap-nft: %s:%u: ", x->path, x->line);
	else
		fprintf(stderr, "tap-nft: %s: ", x->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	x->errors++;
}

/* P, P-Q, or a comma-separated list of them that do not overlap */
static bool set_port(struct conf_ctx *x, const char *v)
{
	struct plan *p = &x->c->p;
	char item[16];
	int k;

	for (;;) {
		size_t len = strcspn(v, ",");
		uint16_t lo, hi;

		if (!len || len >= sizeof(item) || p->nports == PLAN_PORTS_MAX)
			return false;
		memcpy(item, v, len);
		item[len] = '\0';
		if (!tap_parse_urange(item, 65535, &lo, &hi))
			return false;
		for (k = 0; k < p->nports; k++)
			if (lo <= p->port_hi[k] && p->port_lo[k] <= hi)
				return false;
		p->port_lo[p->nports] = lo;
		p->port_hi[p->nports++] = hi;
		if (!v[len])
			break;
		v += len + 1;
	}
	p->m.port_lo = p->port_lo[0];
	p->m.port_hi = p->port_hi[0];
	return true;
}

static bool set_key_id(struct conf_ctx *x, const char *v)
{
	struct xt_tap_mtinfo *mt = &x->c->p.m.mt;

	return tap_parse_urange(v, 65535, &mt->key_id_min, &mt->key_id_max);
}

static bool set_window(struct conf_ctx *x, const char *v)
{
	unsigned long w;

	if (!tap_parse_udec(v, strlen(v), XT_TAP_WINDOW_MAX, &w) || w < 1)
		return false;
	x->c->p.m.mt.window = (uint16_t)w;
	return true;
}

/* inet, ip, ip6, or ip,ip6 (either order) */
static bool set_family(struct conf_ctx *x, const char *v)
{
	struct plan *p = &x->c->p;
	const char *comma = strchr(v, ',');

	if (!strcmp(v, "inet") || !strcmp(v, "ip") || !strcmp(v, "ip6")) {
		p->n = 1;
		p->fam[0].family = (uint16_t)tn_family_parse(v);
		return true;
	}
	if (!strcmp(v, "ip,ip6") || !strcmp(v, "ip6,ip")) {
		p->n = 2;
		p->fam[0].family = (uint16_t)tn_family_parse(comma == v + 2 ? "ip" : "ip6");
		p->fam[1].family = (uint16_t)tn_family_parse(comma == v + 2 ? "ip6" : "ip");
		return true;
	}
	return false;
}

static bool set_hook(struct conf_ctx *x, const char *v)
{
	static const struct { const char *name; uint32_t hook; } hooks[] = {
		{ "prerouting", NF_INET_PRE_ROUTING },
		{ "input", NF_INET_LOCAL_IN },
		{ "forward", NF_INET_FORWARD },
	};
	size_t i;

	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		if (!strcmp(v, hooks[i].name)) {
			x->c->p.hook = hooks[i].hook;
			return true;
		}
	}
	return false;
}

static bool set_no_dst_bind(struct conf_ctx *x, const char *v)
{
	(void)v;
	x->c->p.m.mt.flags |= XT_TAP_F_NO_DST_BIND;
	return true;
}

static bool set_src_bind(struct conf_ctx *x, const char *v)
{
	(void)v;
	x->c->p.m.mt.flags |= XT_TAP_F_SRC_BIND;
	return true;
}

static bool set_key_dir(struct conf_ctx *x, const char *v)
{
	if (v[0] != '/' || strlen(v) >= sizeof(x->c->key_dir))
		return false;
	snprintf(x->c->key_dir, sizeof(x->c->key_dir), "%s", v);
	return true;
}

static bool set_table(struct conf_ctx *x, const char *v)
{
	size_t i, len = strlen(v);

	if (len == 0 || len >= sizeof(x->c->table))
		return false;
	for (i = 0; i < len; i++)
		if (!(v[i] == '_' || v[i] == '-' || (v[i] >= '0' && v[i] <= '9') ||
		      (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z')))
			return false;
	memcpy(x->c->table, v, len + 1);
	return true;
}

static const struct keyword {
	const char *name;
	bool has_value;
	bool (*set)(struct conf_ctx *x, const char *v);
	const char *expect;	/* what a good value is, for the error */
} keywords[] = {
	{ "port", true, set_port, "a TCP port P or a range P-Q, 0 to 65535, or a "
	  "list of at most 16 of them that do not overlap, separated by commas "
	  "(22,443,8000-8010)" },
	{ "key-id", true, set_key_id, "a key id N or a range N-M, 0 to 65535" },
	{ "window", true, set_window, "1 to 3600 (seconds)" },
	{ "family", true, set_family, "inet, ip, ip6 or ip,ip6" },
	{ "hook", true, set_hook, "prerouting, input or forward" },
	{ "no-dst-bind", false, set_no_dst_bind, NULL },
	{ "src-bind", false, set_src_bind, NULL },
	{ "key-dir", true, set_key_dir, "an absolute directory name" },
	{ "table", true, set_table, "a name of letters, digits, '_' and '-', "
	  "at most 63 characters" },
};
#define NKEYWORDS	(sizeof(keywords) / sizeof(keywords[0]))

static void conf_line(struct conf_ctx *x, char *line)
{
	char *tok[CONF_TOKENS], *save = NULL, *hash = strchr(line, '#');
	const struct keyword *k = NULL;
	size_t i;
	int n = 0;

	if (hash)
		*hash = '\0';
	for (char *t = strtok_r(line, " \t\r\n", &save); t;
	     t = strtok_r(NULL, " \t\r\n", &save))
		if (n < CONF_TOKENS)
			tok[n++] = t;
		else
			n = CONF_TOKENS + 1;
	if (n == 0)
		return;
	for (i = 0; i < NKEYWORDS; i++)
		if (!strcmp(tok[0], keywords[i].name))
			k = &keywords[i];
	if (!k)
		return conf_error(x, "unknown keyword '%s' (port, key-id, window, family, "
				  "hook, no-dst-bind, src-bind, key-dir, table)", tok[0]);
	if (x->seen & (1u << (k - keywords)))
		return conf_error(x, "'%s' given twice", k->name);
	x->seen |= 1u << (k - keywords);
	if (n != 1 + k->has_value) {
		if (k->has_value)
			return conf_error(x, "'%s' takes one value: %s", k->name, k->expect);
		return conf_error(x, "'%s' takes no value", k->name);
	}
	if (!k->set(x, k->has_value ? tok[1] : NULL))
		conf_error(x, "invalid %s '%s': use %s", k->name, tok[1], k->expect);
}

/* The file itself: a regular file that only root (or its owner) may change. */
static int conf_open(const char *path, FILE **out)
{
	struct stat st;
	FILE *f = fopen(path, "re");

	if (!f) {
		fprintf(stderr, "tap-nft: cannot read %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		fprintf(stderr, "tap-nft: %s: not a regular file owned by root (or "
			"you) that only its owner may write; refused\n", path);
		fclose(f);
		return EXIT_USAGE;
	}
	*out = f;
	return 0;
}

int protect_conf_read(const char *path, struct protect_conf *c)
{
	struct conf_ctx x = { .path = path, .c = c };
	char line[CONF_LINE_MAX + 2];
	FILE *f;
	int ret;

	memset(c, 0, sizeof(*c));
	c->p.hook = NF_INET_PRE_ROUTING;
	c->p.n = 1;
	c->p.fam[0].family = NFPROTO_INET;
	c->p.m.mt.window = XT_TAP_WINDOW_DEFAULT;
	snprintf(c->table, sizeof(c->table), "%s", PROTECT_TABLE);
	snprintf(c->key_dir, sizeof(c->key_dir), "%s", PROTECT_KEY_DIR_DEFAULT);
	ret = conf_open(path, &f);
	if (ret)
		return ret;
	while (fgets(line, sizeof(line), f)) {
		x.line++;
		if (!strchr(line, '\n') && !feof(f)) {
			conf_error(&x, "line longer than %d characters", CONF_LINE_MAX);
			break;
		}
		conf_line(&x, line);
	}
	if (ferror(f))
		conf_error(&x, "read error: %s", strerror(errno));
	fclose(f);
	x.line = 0;
	if (!(x.seen & 1u))
		conf_error(&x, "no 'port' line: which TCP port to protect (e.g. port 22)");
	if (!(x.seen & 2u))
		conf_error(&x, "no 'key-id' line: which key ids to accept (e.g. key-id 3)");
	if (x.errors) {
		fprintf(stderr, "tap-nft: %s: %d error%s; nothing was changed\n", path,
			x.errors, x.errors > 1 ? "s" : "");
		return EXIT_USAGE;
	}
	/* the one-rule form, as tap-nft protect */
	c->p.m.mt.flags |= XT_TAP_F_DROP_INVALID;
	c->p.table = c->table;
	return 0;
}
