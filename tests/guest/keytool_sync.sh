#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tap-keytool sync DIR (what tap-keys.service runs at boot and on reload):
#  - loads new key files, leaves unchanged keys alone (their counters stay),
#    replaces a key whose file got a new secret, removes keys whose file is
#    gone; tokens follow at once (old secret bad_mac, removed key
#    unknown_key);
#  - removes before it loads, so it works at the max_keys limit;
#  - --dry-run changes nothing;
#  - a bad file, two files with one key id, an empty or group-writable
#    directory, a missing directory, no privilege: a clear error, exit 1,
#    and the loaded keys are exactly as before.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
S() { in_ns server "$@"; }
tap_load_module max_keys=2
protect server iptables raw PREROUTING 3-5

D=/tmp/sync-keys
install -d -m 700 "$D" "$D.spare" || fail "mkdir"
# keygen ID FILE: keys made elsewhere share the realm of $D's keys
keygen() {
	tap-keytool genkey --id "$1" -o "$2" ${REALM:+--realm-from "$REALM"} >/dev/null ||
		fail "genkey $1"
}
keygen 3 "$D/alice.key"
keygen 4 "$D/bob.key"
REALM=$D/bob.key
keygen 4 "$D.spare/bob-new.key"
keygen 5 "$D.spare/carol.key"

# loaded: "id fingerprint accepted" per key
loaded() { S tap-keytool list | awk 'NR > 1 { print $1, $2, $4 }'; }
fpr() { tap-keytool fingerprint "$1" | awk '{ print $4 }'; }
# sync_ok SUMMARY ARGS...: sync succeeds and prints the summary line
sync_ok() {
	local want=$1 out
	shift
	out=$(S tap-keytool sync "$@" "$D" 2>&1) || fail "sync $*: $out"
	sed 's/^/    /' <<<"$out"
	grep -qx "$D: $want" <<<"$out" || fail "sync $*: expected '$D: $want' in: $out"
}
# token KEYFILE STAT: token + real SYN with that key counts under STAT
token() {
	snapshot server
	auth_and_syn client "$1" "$SERVER4" "$(rand32)" "$(rand_port)"
	expect_stat server "$2" "${SNAP[$2]}" 1
}

sync_ok "2 loaded, 0 replaced, 0 unchanged, 0 removed"
[ "$(loaded | awk '{ print $1, $2 }' | xargs)" = "3 $(fpr "$D/alice.key") 4 $(fpr "$D/bob.key")" ] ||
	fail "loaded keys: $(loaded)"
token "$D/alice.key" accepted
pass "sync loads the key files; the kernel's fingerprints are the files'; a token is accepted"

sync_ok "0 loaded, 0 replaced, 2 unchanged, 0 removed"
[ "$(loaded | awk '$1 == 3 { print $3 }')" = 1 ] || fail "key 3 lost its counter: $(loaded)"
pass "sync again changes nothing: key 3 keeps its accepted counter"

mv "$D.spare/bob-new.key" "$D/bob.key"
sync_ok "0 loaded, 1 replaced, 1 unchanged, 0 removed"
[ "$(loaded | awk '$1 == 4 { print $2 }')" = "$(fpr "$D/bob.key")" ] || fail "key 4 not replaced"
token "$D/bob.key" accepted
keygen 4 /tmp/bob-old-lookalike.key
token /tmp/bob-old-lookalike.key bad_mac
pass "a new secret in bob.key replaces key 4; another secret for id 4 is bad_mac"

# at max_keys=2: alice (3) goes, carol (5) comes
rm "$D/alice.key"
cp -p "$D.spare/carol.key" "$D/carol.key"
before=$(loaded)
out=$(S tap-keytool sync --dry-run "$D") || fail "dry run: $out"
grep -q "^would remove key 3" <<<"$out" && grep -q "^would load key 5" <<<"$out" ||
	fail "dry run output: $out"
[ "$(loaded)" = "$before" ] || fail "--dry-run changed the keys"
pass "--dry-run prints the plan and changes nothing"
sync_ok "1 loaded, 0 replaced, 1 unchanged, 1 removed"
[ "$(loaded | awk '{ print $1 }' | xargs)" = "4 5" ] || fail "keys after sync: $(loaded)"
token "$D.spare/carol.key" accepted
keygen 3 /tmp/alice-copy.key
snapshot server
auth_and_syn client /tmp/alice-copy.key "$SERVER4" "$(rand32)" "$(rand_port)"
expect_stat server unknown_key "${SNAP[unknown_key]}" 1
pass "at max_keys=2, sync removes key 3 (no file) before it loads key 5; key 3 is then unknown"

# ---- bad input: exit 1, a clear message, the keys as they were ----
before=$(loaded)
expect_bad() {
	local pat=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ $rc = 1 ] || fail "'$*' exited $rc, not 1: $out"
	grep -qi -- "$pat" <<<"$out" || fail "'$*' did not say '$pat': $out"
	[ "$(loaded)" = "$before" ] || fail "'$*' changed the keys"
	echo "    $(head -n 1 <<<"$out")"
}
keygen 5 "$D/zz-dup.key"
expect_bad "key id 5 is in both" S tap-keytool sync "$D"
rm "$D/zz-dup.key"
cp -p "$D/bob.key" "$D/open.key" && chmod 644 "$D/open.key"
expect_bad "readable\|permission\|mode" S tap-keytool sync "$D"
printf 'version = 1\nid = 6\nsecret = not-base64!\n' >"$D/open.key" && chmod 600 "$D/open.key"
expect_bad "open.key" S tap-keytool sync "$D"
rm "$D/open.key"
chmod 770 "$D"
expect_bad "writable by group or others" S tap-keytool sync "$D"
chmod 700 "$D"
install -d -m 700 /tmp/empty-keys
expect_bad "no key files" S tap-keytool sync /tmp/empty-keys
expect_bad "cannot read /tmp/nosuch" S tap-keytool sync /tmp/nosuch
cp -p "$D.spare/carol.key" /tmp/nobody.key &&
	chown 65534:65534 /tmp/nobody.key && install -d -m 700 -o 65534 /tmp/nobody-keys &&
	mv /tmp/nobody.key /tmp/nobody-keys/ || fail "nobody's dir"
expect_bad "CAP_NET_ADMIN\|permission\|not permitted" S setpriv --reuid=65534 --regid=65534 \
	--clear-groups tap-keytool sync /tmp/nobody-keys
for a in "" "$D extra" "--bogus $D"; do
	out=$(S tap-keytool sync $a 2>&1)
	[ $? = 2 ] || fail "tap-keytool sync $a: not a usage error: $out"
done
pass "bad files, duplicate ids, open or empty or missing directory, no privilege: exit 1, keys unchanged; usage errors exit 2"

# ---- a new realm: every key is reloaded --------------------------------
REALM=
install -d -m 700 /tmp/realm2 && keygen 4 /tmp/realm2/dave.key && keygen 5 /tmp/realm2/erin.key
tap-keytool genkey --id 6 --realm-from /tmp/realm2/dave.key -o "$D/zz-mixed.key" >/dev/null ||
	fail "genkey --realm-from"
expect_bad "different realms" S tap-keytool sync "$D"
rm "$D/zz-mixed.key"
out=$(S tap-keytool sync /tmp/realm2 2>&1) || fail "sync to a new realm: $out"
sed 's/^/    /' <<<"$out"
grep -q "^change the realm from [0-9a-f]\{16\} to [0-9a-f]\{16\}: remove every key, then load them all" <<<"$out" &&
	grep -qx "/tmp/realm2: 0 loaded, 2 replaced, 0 unchanged, 0 removed" <<<"$out" ||
	fail "sync to a new realm printed: $out"
[ "$(S tap-keytool stats | awk '$1 == "realm" { print $2 }')" = \
  "$(tap-keytool fingerprint /tmp/realm2/dave.key | awk '{ print $6 }')" ] || fail "realm not changed"
token /tmp/realm2/dave.key accepted
snapshot server
auth_and_syn client "$D/bob.key" "$SERVER4" "$(rand32)" "$(rand_port)"
expect_stat server incomplete "${SNAP[incomplete]}" 5
expect_stat server accepted "${SNAP[accepted]}" 0
pass "sync to a directory of another realm reloads every key; old-realm tokens no longer decode"

check_dmesg_clean
pass "keytool_sync"
