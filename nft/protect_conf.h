/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /etc/tap/protect.conf, the declarative form of tap-nft protect that
 * tap-nft apply (cmd_apply.c) makes the ruleset match. See tap-nft(8),
 * PROTECT.CONF, and nft/protect.conf.example.
 */
#ifndef TAP_NFT_PROTECT_CONF_H
#define TAP_NFT_PROTECT_CONF_H

#include <limits.h>

#include "protect.h"

#define PROTECT_CONF_DEFAULT	"/etc/tap/protect.conf"
#define PROTECT_KEY_DIR_DEFAULT	"/etc/tap/keys"

struct protect_conf {
	struct plan p;		/* table, hook, match (drop-invalid), families */
	char table[64];
	char key_dir[PATH_MAX];	/* empty or unreadable: fail closed */
};

/*
 * Reads and checks the whole file into c. 0, or EXIT_USAGE with every
 * problem reported as "FILE:LINE: ..." (c is then unusable).
 */
int protect_conf_read(const char *path, struct protect_conf *c);

#endif /* TAP_NFT_PROTECT_CONF_H */
