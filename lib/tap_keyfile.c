// SPDX-License-Identifier: GPL-2.0
/*
 * TAP key files; see tap_keyfile.h and tap-keytool(8). Everything that may
 * hold the secret (the file text, the decoded bytes, the base64 text) is
 * wiped with sodium_memzero before it goes out of scope.
 */
#include "tap_keyfile.h"
#include "tap_num.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* Longest secret value looked at: far more than 24, the right length. */
#define SECRET_B64_MAX	64

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static const char *file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	default: return "not a regular file";
	}
}

/* Copies untrusted text for an error message: printable, bounded. */
static void quote(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 4 < dstlen; i++) {
		unsigned char c = s[i];

		dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		if (i == 31 && len > 32) {
			memcpy(dst + n, "...", 3);
			n += 3;
			break;
		}
	}
	dst[n] = '\0';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

enum { K_VERSION, K_ID, K_SECRET, K_REALM, K_NR };
static const char *const key_names[K_NR] = {
	"version", "id", "secret", "realm"
};

/* A 16-byte secret in base64 (the key or the realm). Never quoted. */
static int parse_b64_key(const char *path, unsigned int lineno,
			 const char *name, const char *vs, size_t vlen,
			 uint8_t out[TAP_KEY_LEN], char *err, size_t errlen)
{
	unsigned char bin[SECRET_B64_MAX];
	const char *b64end = NULL;
	size_t binlen = 0;
	int r;

	if (vlen == 0)
		return fail(err, errlen, "%s:%u: empty %s", path, lineno, name);
	if (vlen > SECRET_B64_MAX)
		return fail(err, errlen,
			    "%s:%u: %s is too long: it is %d bytes (24 base64 characters)",
			    path, lineno, name, TAP_KEY_LEN);
	r = sodium_base642bin(bin, sizeof(bin), vs, vlen, NULL, &binlen,
			      &b64end, sodium_base64_VARIANT_ORIGINAL);
	if (r != 0 || b64end != vs + vlen) {
		sodium_memzero(bin, sizeof(bin));
		return fail(err, errlen,
			    "%s:%u: %s is not valid base64 (standard alphabet, with '=' padding)",
			    path, lineno, name);
	}
	if (binlen != TAP_KEY_LEN) {
		sodium_memzero(bin, sizeof(bin));
		return fail(err, errlen,
			    "%s:%u: %s is %zu bytes; it must be exactly %d bytes",
			    path, lineno, name, binlen, TAP_KEY_LEN);
	}
	memcpy(out, bin, TAP_KEY_LEN);
	sodium_memzero(bin, sizeof(bin));
	return 0;
}

/* The value of key k on line lineno, vs..ve, into kf. 0 or -1 (err). */
static int parse_value(const char *path, unsigned int lineno, int k,
		       const char *vs, const char *ve, struct tap_keyfile *kf,
		       char *err, size_t errlen)
{
	unsigned long v;
	char q[48];

	switch (k) {
	case K_VERSION:
		quote(q, sizeof(q), vs, (size_t)(ve - vs));
		if (!tap_parse_udec(vs, (size_t)(ve - vs), ULONG_MAX, &v))
			return fail(err, errlen,
				    "%s:%u: bad version \"%s\": expected a number",
				    path, lineno, q);
		if (v == 1)
			return fail(err, errlen,
				    "%s:%u: key file version 1 is for TAP protocol 1, which has no realm; make a new key with tap-keytool genkey",
				    path, lineno);
		if (v != TAP_KEYFILE_VERSION)
			return fail(err, errlen,
				    "%s:%u: unsupported key file version %lu (this program reads version %d)",
				    path, lineno, v, TAP_KEYFILE_VERSION);
		return 0;
	case K_ID:
		if (!tap_parse_udec(vs, (size_t)(ve - vs), 65535, &v)) {
			quote(q, sizeof(q), vs, (size_t)(ve - vs));
			return fail(err, errlen,
				    "%s:%u: bad id \"%s\": expected a number from 0 to 65535",
				    path, lineno, q);
		}
		kf->id = (uint16_t)v;
		return 0;
	case K_SECRET:
		return parse_b64_key(path, lineno, "secret", vs, (size_t)(ve - vs),
				     kf->secret, err, errlen) ? -1 : 0;
	default:
		return parse_b64_key(path, lineno, "realm", vs, (size_t)(ve - vs),
				     kf->realm, err, errlen) ? -1 : 0;
	}
}

/* The K_* of the key name ks..ke, or K_NR. */
static int key_index(const char *ks, const char *ke)
{
	int k;

	for (k = 0; k < K_NR; k++)
		if (strlen(key_names[k]) == (size_t)(ke - ks) &&
		    !memcmp(key_names[k], ks, (size_t)(ke - ks)))
			break;
	return k;
}

static int parse(const char *path, const char *buf, size_t len,
		 struct tap_keyfile *kf, char *err, size_t errlen)
{
	unsigned int seen[K_NR] = { 0 };
	const char *p = buf, *end = buf + len;
	unsigned int lineno = 0;
	char q[48];
	int k;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *ks, *ke, *vs, *ve, *eq;

		lineno++;
		ks = p;
		p = nl ? nl + 1 : end;
		while (ks < le && is_space(*ks))
			ks++;
		ve = le;
		while (ve > ks && is_space(ve[-1]))
			ve--;
		if (ks == ve || *ks == '#')
			continue;
		eq = memchr(ks, '=', (size_t)(ve - ks));
		if (!eq)
			return fail(err, errlen,
				    "%s:%u: expected \"key = value\"", path, lineno);
		ke = eq;
		while (ke > ks && is_space(ke[-1]))
			ke--;
		vs = eq + 1;
		while (vs < ve && is_space(*vs))
			vs++;

		k = key_index(ks, ke);
		if (k == K_NR) {
			quote(q, sizeof(q), ks, (size_t)(ke - ks));
			return fail(err, errlen,
				    "%s:%u: unknown key \"%s\" (a key file has exactly version, id, secret and realm)",
				    path, lineno, q);
		}
		if (seen[k])
			return fail(err, errlen,
				    "%s:%u: duplicate key \"%s\" (first set on line %u)",
				    path, lineno, key_names[k], seen[k]);
		seen[k] = lineno;
		if (parse_value(path, lineno, k, vs, ve, kf, err, errlen) < 0)
			return -1;
	}

	for (k = 0; k < K_NR; k++)
		if (!seen[k])
			return fail(err, errlen, "%s: missing \"%s = ...\" line",
				    path, key_names[k]);
	return 0;
}

int tap_keyfile_parse(const char *name, const char *buf, size_t len,
		      struct tap_keyfile *kf, char *err, size_t errlen)
{
	struct tap_keyfile tmp;
	int ret;

	if (len > TAP_KEYFILE_MAX)
		return fail(err, errlen, "%s: too large (more than %d bytes)", name,
			    TAP_KEYFILE_MAX);
	if (memchr(buf, '\0', len))
		return fail(err, errlen, "%s: contains a NUL byte; not a text key file",
			    name);
	memset(&tmp, 0, sizeof(tmp));
	ret = parse(name, buf, len, &tmp, err, errlen);
	if (ret == 0)
		*kf = tmp;
	sodium_memzero(&tmp, sizeof(tmp));
	return ret;
}

int tap_keyfile_read(const char *path, struct tap_keyfile *kf,
		     char *err, size_t errlen)
{
	char buf[TAP_KEYFILE_MAX + 1];
	size_t len = 0;
	struct stat st;
	mode_t perm;
	int fd, ret = -1;

	/* O_NONBLOCK: opening a FIFO must not hang before fstat refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		fail(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errlen, "%s: %s, not a key file", path, file_type(st.st_mode));
		goto out_close;
	}
	perm = st.st_mode & 07777;
	if (perm & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) {
		fail(err, errlen,
		     "%s: mode %04o lets group/others %s the key; run chmod 600 %s",
		     path, (unsigned int)perm,
		     (perm & (S_IRGRP | S_IROTH)) ? "read" : "modify", path);
		goto out_close;
	}
	if (tap_file_check_owner(path, &st, err, errlen) < 0)
		goto out_close;
	if (st.st_size > TAP_KEYFILE_MAX) {
		fail(err, errlen, "%s: too large (%lld bytes; a key file has at most %d)",
		     path, (long long)st.st_size, TAP_KEYFILE_MAX);
		goto out_close;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(err, errlen, "%s: read error: %s", path, strerror(errno));
			goto out_wipe;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	ret = tap_keyfile_parse(path, buf, len, kf, err, errlen);
out_wipe:
	sodium_memzero(buf, sizeof(buf));
out_close:
	close(fd);
	return ret;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Best effort: makes the new directory entry durable. */
static void sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int tap_keyfile_write(const char *path, const struct tap_keyfile *kf,
		      char *err, size_t errlen)
{
	char b64[sodium_base64_ENCODED_LEN(TAP_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	char realm64[sizeof(b64)];
	char text[320];
	int fd, n, ret = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		  0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return fail(err, errlen,
				    "%s already exists; refusing to overwrite it (remove it or choose another file)",
				    path);
		return fail(err, errlen, "%s: cannot create: %s", path, strerror(errno));
	}

	sodium_bin2base64(b64, sizeof(b64), kf->secret, TAP_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(realm64, sizeof(realm64), kf->realm, TAP_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(text, sizeof(text),
		     "# TAP key file (see tap-keytool(8)). Keep it secret: mode 0600.\n"
		     "version = %d\n"
		     "id = %u\n"
		     "secret = %s\n"
		     "realm = %s\n",
		     TAP_KEYFILE_VERSION, (unsigned int)kf->id, b64, realm64);

	/* 0600 whatever the umask was. */
	if (fchmod(fd, 0600) < 0) {
		fail(err, errlen, "%s: cannot chmod 600: %s", path, strerror(errno));
		goto out_unlink;
	}
	if (n < 0 || (size_t)n >= sizeof(text)) {
		fail(err, errlen, "%s: internal error formatting the key file", path);
		goto out_unlink;
	}
	if (write_all(fd, text, (size_t)n) < 0) {
		fail(err, errlen, "%s: write error: %s", path, strerror(errno));
		goto out_unlink;
	}
	if (fsync(fd) < 0) {
		fail(err, errlen, "%s: fsync failed: %s", path, strerror(errno));
		goto out_unlink;
	}
	ret = close(fd);
	fd = -1;
	if (ret < 0) {
		fail(err, errlen, "%s: close failed: %s", path, strerror(errno));
		goto out_unlink;
	}
	sync_dir(path);
	ret = 0;
	goto out;

out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(path);
	ret = -1;
out:
	sodium_memzero(text, sizeof(text));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(realm64, sizeof(realm64));
	return ret;
}

void tap_keyfile_wipe(struct tap_keyfile *kf)
{
	sodium_memzero(kf, sizeof(*kf));
}

int tap_file_check_owner(const char *path, const struct stat *st,
			 char *err, size_t errlen)
{
	uid_t me = geteuid();
	mode_t perm = st->st_mode & 07777;
	const struct passwd *pw;
	char name[64];

	if (st->st_uid != 0 && st->st_uid != me) {
		if (me == 0)
			return fail(err, errlen,
				    "%s: owned by uid %u, not by root: that user could change it; run chown root %s",
				    path, (unsigned int)st->st_uid, path);
		pw = getpwuid(me);
		if (pw)
			snprintf(name, sizeof(name), "%s", pw->pw_name);
		else
			snprintf(name, sizeof(name), "%u", (unsigned int)me);
		return fail(err, errlen,
			    "%s: owned by uid %u, not by root or %s (the user reading it): that user could change it; run chown root %s, or chown %s %s",
			    path, (unsigned int)st->st_uid, name, path, name, path);
	}
	if (perm & (S_IWGRP | S_IWOTH))
		return fail(err, errlen,
			    "%s: mode %04o lets group/others modify it; run chmod go-w %s",
			    path, (unsigned int)perm, path);
	return 0;
}
