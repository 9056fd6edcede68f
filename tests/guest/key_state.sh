#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Per-key state in tap-keytool list (issue 14): after keyed connections,
# forged, stale and replayed tokens, `list --json` (one valid JSON document)
# shows key 3's accepts and refusals by reason, its last accept's source
# (the last connection's, IPv6) and a time within the test; key 4, unused,
# shows none; `stats --json` agrees with /proc/net/xt_tap. The human list
# has the same figures, and no output holds the key.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
tap_load_module
k3=$(tap_genkey 3)
k4=$(tap_genkey 4)
# a forger's key: id 3 and the server's realm, but another secret
forged=/tmp/forged3.key
tap-keytool genkey --id 3 -o "$forged" --realm-from "$k3" >/dev/null || fail "genkey forged"
for k in "$k3" "$k4"; do
	in_ns server tap-keytool load "$k" >/dev/null || fail "load $k"
done
protect server iptables raw PREROUTING 3-4
protect server ip6tables raw PREROUTING 3-4
t_start=$(date +%s)

# keyed KEY ADDR [tap-send auth options]: a token and its real SYN
keyed() { auth_and_syn client "$1" "$2" "$(rand32)" "$(rand_port)" "${@:3}"; }

snapshot server
keyed "$k3" "$SERVER4"
keyed "$k3" "$SERVER4"
# forged (bad_mac) x2, stale x1 (100 s old, the window is 30 s)
keyed "$forged" "$SERVER4"
keyed "$forged" "$SERVER4"
keyed "$k3" "$SERVER4" --time $(( $(date +%s) - 100 ))
# a token accepted once, then replayed for another real SYN (other port)
isn=$(rand32) t=$(date +%s)
auth_and_syn client "$k3" "$SERVER4" "$isn" "$(rand_port)" --time "$t"
auth_and_syn client "$k3" "$SERVER4" "$isn" "$(rand_port)" --time "$t"
# the last accept, over IPv6
keyed "$k3" "$SERVER6"
t_end=$(date +%s)
expect_stat server accepted "${SNAP[accepted]}" 4
expect_stat server bad_mac "${SNAP[bad_mac]}" 2
expect_stat server stale "${SNAP[stale]}" 1
expect_stat server replayed "${SNAP[replayed]}" 1
pass "the server counted 4 accepts, 2 bad_mac, 1 stale, 1 replayed"

json=$(in_ns server tap-keytool list --json) || fail "list --json"
echo "$json" | sed 's/^/    /'
python3 -m json.tool <<<"$json" >/dev/null || fail "list --json is not valid JSON"
check_json=$(cat <<'EOF'
import ipaddress, json, sys
t0, t1, server6, client6 = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
doc = json.load(sys.stdin)
keys = {k["id"]: k for k in doc["keys"]}
assert sorted(keys) == [3, 4], f"keys {sorted(keys)}"
k3, k4 = keys[3], keys[4]
want = {"accepted": 4, "bad_mac": 2, "stale": 1, "replayed": 1, "limited": 0, "table_full": 0}
got = {n: k3["counters"][n] for n in want}
assert got == want, f"key 3 counters {got}, want {want}"
last = k3["last_accept"]
assert last is not None, "key 3 has no last accept"
assert ipaddress.ip_address(last["source"]) == ipaddress.ip_address(client6), f"last source {last['source']}"
assert t0 <= last["time"] <= t1, f"last accept time {last['time']} not in [{t0}, {t1}]"
assert last["utc"].endswith("Z") and len(last["utc"]) == 20, last["utc"]
assert k3["rotation"] is None and k4["rotation"] is None
assert k4["last_accept"] is None, f"key 4 was never used: {k4['last_accept']}"
assert all(v == 0 for v in k4["counters"].values()), f"key 4 counters {k4['counters']}"
print(f"    key 3: {got}, last accept {last['utc']} from {last['source']}")
EOF
)
python3 -c "$check_json" "$t_start" "$t_end" "$SERVER6" "$CLIENT6" <<<"$json" ||
	fail "list --json has wrong figures"
pass "list --json: key 3's accepts and refusals by reason, last source $CLIENT6 at a time within the test; key 4 untouched"

# the human list: the same figures in their columns, key 4 without an accept
list=$(in_ns server tap-keytool list) || fail "list"
echo "$list" | sed 's/^/    /'
awk 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
     $1 == 3 { ok = $c["accepted"] == 4 && $c["bad_mac"] == 2 && $c["stale"] == 1 &&
		$c["replayed"] == 1 && $c["last_source"] == "'"$CLIENT6"'" &&
		$c["last_accept"] ~ /^20[0-9-]+T[0-9:]+Z$/ }
     $1 == 4 { four = $c["last_accept"] == "-" && $c["last_source"] == "-" }
     END { exit !(ok && four) }' <<<"$list" || fail "the human list does not show the figures"
pass "list: the same figures, last_accept in UTC and last_source; key 4 shows '-'"

sjson=$(in_ns server tap-keytool stats --json) || fail "stats --json"
python3 -m json.tool <<<"$sjson" >/dev/null || fail "stats --json is not valid JSON: $sjson"
# /proc/net/xt_tap is the server netns's: compare in it
in_ns server python3 -c 'import json, sys
d = json.loads(sys.argv[1])
proc = dict(l.split() for l in open("/proc/net/xt_tap"))
for n, v in d["counters"].items():
    assert int(proc[n]) == v, f"{n}: json {v}, proc {proc[n]}"
assert d["tables"]["keys"] == 2, d["tables"]
assert len(d["realm"]) == 16, d["realm"]' "$sjson" || fail "stats --json disagrees with /proc/net/xt_tap: $sjson"
pass "stats --json: valid, the counters of /proc/net/xt_tap, 2 keys, the realm's fingerprint"

# no key material anywhere the state is shown
secret=$(sed -n 's/^secret *= *//p' "$k3")
[ -n "$secret" ] || fail "cannot read the secret of $k3"
hex=$(base64 -d <<<"$secret" | od -An -tx1 | tr -d ' \n')
for out in "$json" "$list" "$sjson" "$(in_ns server cat /proc/net/xt_tap)" "$(dmesg)"; do
	grep -qiF -e "$secret" -e "$hex" <<<"$out" && fail "key 3's secret appears in the output"
done
pass "key 3's secret (base64 or hex) is in none of list, list --json, stats --json, /proc/net/xt_tap, dmesg"

# The packet path finds a key through slot id % 16 (struct xt_tap_key_slot):
# ids 3, 19 and 35 share one, 51 is in the rule and never loaded. Every
# loaded id gets in and the others are unknown, through loads and deletes
# of the key the slot holds and of the others.
unprotect server
protect server iptables raw PREROUTING 3-51
in_ns server tap-keytool del 4 >/dev/null || fail "del 4"
for id in 19 35; do
	in_ns server tap-keytool load "$(tap_genkey $id)" >/dev/null || fail "load $id"
done
# slot_check "LOADED IDS" "UNKNOWN IDS"
slot_check() {
	local id
	for id in $1; do
		snapshot server
		keyed "$(tap_genkey $id)" "$SERVER4"
		expect_stat server accepted "${SNAP[accepted]}" 1
	done
	for id in $2; do
		snapshot server
		keyed "$(tap_genkey $id)" "$SERVER4"
		expect_stat server unknown_key "${SNAP[unknown_key]}" 1
	done
}
slot_check "3 19 35" "51"
in_ns server tap-keytool del 3 >/dev/null || fail "del 3"
slot_check "19 35" "3 51"
in_ns server tap-keytool del 35 >/dev/null || fail "del 35"
slot_check "19" "3 35"
in_ns server tap-keytool load "$k3" >/dev/null || fail "load 3 again"
in_ns server tap-keytool del 19 >/dev/null || fail "del 19"
slot_check "3" "19 35 51"
pass "ids sharing a key slot (3, 19, 35): each loaded one gets in, each deleted or never loaded one (51) is unknown"
check_dmesg_clean
