/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TAP key files: the one reader and writer, shared by tap-keytool, the
 * test sender and the client daemon. The format is documented in
 * keytool/tap-keytool.8 (KEY FILE FORMAT):
 *
 *	# comment
 *	version = 2
 *	id = 3
 *	secret = <16 bytes, standard base64 with padding>
 *	realm = <16 bytes, the server's realm, the same encoding>
 *
 * Each function returns 0 on success, else -1 with a one-line human
 * reason (no trailing newline) in err.
 */
#ifndef _TAP_KEYFILE_H
#define _TAP_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "xt_tap.h"

#define TAP_KEYFILE_VERSION	2	/* version 1 had no realm */
#define TAP_KEYFILE_MAX		4096	/* bytes; larger files are refused */

struct tap_keyfile {
	uint16_t id;
	uint8_t secret[TAP_KEY_LEN];
	uint8_t realm[TAP_KEY_LEN];	/* shared by all keys of a server */
};

/*
 * Reads and checks a key file. Refuses non-regular files, files that
 * group or others may read or write, files owned by neither root nor the
 * reading user (tap_file_check_owner), files over TAP_KEYFILE_MAX bytes,
 * unknown, duplicate or missing keys and malformed values.
 */
int tap_keyfile_read(const char *path, struct tap_keyfile *kf,
		     char *err, size_t errlen);

/*
 * Checks and parses the text of a key file, len bytes (not NUL-terminated),
 * into kf; name stands for the file in messages. What tap_keyfile_read
 * does once it has read the file.
 */
int tap_keyfile_parse(const char *name, const char *buf, size_t len,
		      struct tap_keyfile *kf, char *err, size_t errlen);

/*
 * Creates path with mode 0600 (whatever the umask) and writes kf to it.
 * Never overwrites or follows a symlink; fsyncs; on failure removes what
 * it created.
 */
int tap_keyfile_write(const char *path, const struct tap_keyfile *kf,
		      char *err, size_t errlen);

/* Wipes kf (the secret) from memory. */
void tap_keyfile_wipe(struct tap_keyfile *kf);

struct stat;
/*
 * Refuses a file (st from fstat of path) that someone other than root and
 * the caller (the effective uid) could have changed, as sshd refuses such
 * keys: owned by another user, or writable by group or others. The error
 * names the file and the command that fixes it.
 */
int tap_file_check_owner(const char *path, const struct stat *st,
			 char *err, size_t errlen);

#endif /* _TAP_KEYFILE_H */
