#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the SYN flood benchmark; bench/run.sh runs it in the qemu
# guest (tests/qemu/run.sh --icount). Never run it on a host: it loads a
# module that forges packets.
#
# Every ruleset gets a network namespace of its own with a dummy0 device,
# set up once; the rules never change during the run (but hashlimit's: see
# add_rules). tap_inject.ko injects
# N random SYNs (spoofed sources in 10.200.0.0/16 or fd00:200::/96, random
# source ports and sequence numbers, to port 22) into dummy0 of one namespace
# at a time and times the loop. The rulesets, in raw PREROUTING:
#
#   inject     the injector alone: it builds and frees the SYNs
#   none       no rules: the SYNs reach TCP, which answers with RSTs
#   drop       iptables-legacy: -p tcp --dport 22 --syn -j DROP
#   drop_defrag     drop, with the IP defragmentation that every tap rule
#                   turns on in its netns (here xt_socket's, from a rule in
#                   a chain nothing jumps to): what is TAP's own cost
#   drop_defrag_nft the same through iptables-nft
#   tap        iptables-legacy: -p tcp --dport 22 --syn -m tap --key-id 3 -j ACCEPT, then drop
#   drop_nft   the same drop rule through iptables-nft
#   tap_nft    the same tap + drop rules through iptables-nft
#   tap1, tap1_nft  the one-rule form: -m tap --key-id 3 --drop-invalid -j ACCEPT
#   tap_protect     tap-nft protect --dport 22 --key-id 3 (its own inet table)
#   recipe     the README's three rules (nft/protect-iptables.rules) through
#              iptables-legacy: tap1, the drop, and the conntrack rule in
#              mangle that turns on connection tracking and with it
#              defragmentation
#   drop_ct    recipe without its tap rule: what the same host pays
#              without TAP
#   hashlimit       one rule, a global --hashlimit-above 100/sec
#   hashlimit_src   one rule, --hashlimit-mode srcip, 10/sec per source
#   recent          xt_recent's --update/--set pair
#   onesrc          tap1, flooded from one source address (random ports and
#                   sequence numbers): every SYN finds the earlier ones in
#                   its pending bucket, so a key-less sender costs the most
#   crafted         tap1, flooded from one source with crafted pieces
#                   planted (bench/crafted_pieces.py macs), so that every
#                   SYN spends the decode budget on hint checks, then its
#                   one MAC, and looks for its tag in a full bucket
#   crafted_ids     the same with pieces that fail the key check first
#                   (crafted_pieces.py ids), then a hint check, then the MAC
#   crafted_grace   crafted, while key 3 is in a rotation's grace (the
#                   pieces name the retiring key, whose MAC it is)
#   crafted_range   a tap1 rule for key ids 1-7 (only 3 loaded), with
#                   pieces that name ids 2 and 1 first (crafted_pieces.py
#                   range): two failed key lookups, a hint check, the MAC
#
# REPS rounds; a round runs every ruleset once per family, in a fixed order
# (ROTATE=1 rotates it from round to round). Each timed run of N SYNs comes
# right after an untimed one of PREFILL SYNs into the same namespace, so the
# tap pending table is full of live entries, as under a sustained flood.
#
# Settings, from the environment or as NAME=VALUE arguments: N (SYNs per
# timed run, 50000), PREFILL (N), REPS (5), FAMILIES ("4 6"), CONFIGS (the
# list above), ROTATE (0), PROFILE (a ruleset to profile with perf at the
# end, none by default).
# Prints "result FAMILY CONFIG ROUND NS_PER_SYN" lines, then a summary.

set -u
for a in "$@"; do
	case $a in
	N=*|REPS=*|FAMILIES=*|CONFIGS=*|ROTATE=*|PREFILL=*|PROFILE=*|ANNOTATE=*) export "$a" ;;
	*) echo "usage: $0 [N=..] [REPS=..] [FAMILIES=..] [CONFIGS=..] [ROTATE=0|1] [PREFILL=..] [PROFILE=ruleset] [ANNOTATE=symbol...]"; exit 2 ;;
	esac
done
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
N=${N:-50000}
REPS=${REPS:-5}
PREFILL=${PREFILL:-$N}
PROFILE=${PROFILE:-}
ROTATE=${ROTATE:-0}
FAMILIES=${FAMILIES:-4 6}
CONFIGS=${CONFIGS:-inject none drop tap drop_nft tap_nft}
KEY_ID=3
PORT=22
CRAFTED_ISN=0x5eed1234
export PATH="$repo/build:$PATH"
export XTABLES_LIBDIR="$repo/build:/usr/lib/x86_64-linux-gnu/xtables"
param=/sys/module/tap_inject/parameters
results=/tmp/bench-results

fail() { echo "FAIL: $*"; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ns_of() { echo "b_$1"; }
uses_tap() { case $1 in tap*|crafted*|onesrc|recipe) return 0 ;; esac; return 1; }
# any_tap: some ruleset of CONFIGS loads xt_tap
any_tap() {
	local cfg
	for cfg in $CONFIGS; do uses_tap "$cfg" && return 0; done
	return 1
}

# ---- modules, from tmpfs copies --------------------------------------------

for f in "$repo/bench/inject/tap_inject.ko" "$repo/xt_tap/xt_tap.ko"; do
	case $f in */xt_tap.ko) any_tap || continue ;; esac
	[ -r "$f" ] || fail "$f missing: run bench/run.sh, which builds it"
	cp "$f" /tmp/ || fail "cp $f"
done
modprobe x_tables && modprobe ip_tables && modprobe ip6_tables || fail "modprobe x_tables"
if any_tap; then
	for m in $(modinfo -F depends /tmp/xt_tap.ko | tr , ' '); do
		modprobe "$m" || fail "modprobe $m"
	done
	insmod /tmp/xt_tap.ko || fail "insmod xt_tap"
	mkdir -p /tmp/keys && chmod 700 /tmp/keys
	tap-keytool genkey --id $KEY_ID -o /tmp/keys/$KEY_ID.key >/dev/null || fail "genkey"
fi
insmod /tmp/tap_inject.ko dport=$PORT || fail "insmod tap_inject"

# ---- one namespace per ruleset ---------------------------------------------

setup_ns() {
	local cfg=$1 ns
	ns=$(ns_of "$cfg")
	ip netns add "$ns" || fail "netns $ns"
	in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip -n "$ns" link set lo up &&
	ip -n "$ns" link add dummy0 type dummy &&
	ip -n "$ns" addr add 10.0.0.1/24 dev dummy0 &&
	ip -n "$ns" addr add fd00:be::1/64 dev dummy0 nodad &&
	ip -n "$ns" link set dummy0 up &&
	# RSTs (ruleset "none") go to one gateway: no neighbour per source
	ip -n "$ns" route add 10.200.0.0/16 via 10.0.0.2 &&
	ip -n "$ns" -6 route add fd00:200::/64 via fd00:be::2 || fail "dummy0 in $ns"
	case $cfg in inject|none) return ;; esac
	if uses_tap "$cfg"; then
		in_ns "$ns" tap-keytool load /tmp/keys/$KEY_ID.key >/dev/null || fail "key in $ns"
	fi
	if [ "$cfg" = crafted_grace ]; then
		mkdir -p "/tmp/keys-$ns"
		in_ns "$ns" tap-keytool rotate $KEY_ID --grace 1d -o "/tmp/keys-$ns/$KEY_ID.key" \
			--realm-from /tmp/keys/$KEY_ID.key >/dev/null || fail "rotate in $ns"
	fi
	# hashlimit's tables have a garbage collector that runs every second
	# and would land in other rulesets' runs: its rules live only
	# around its own runs
	case $cfg in hashlimit*) return ;; esac
	add_rules "$cfg" "4 6"
}

# add_rules CONFIG FAMILIES: CONFIG's rules in its namespace
add_rules() {
	local cfg=$1 fams=$2 ns fam ipt ids
	ns=$(ns_of "$cfg")
	for fam in $fams; do
		[ $fam = 4 ] && ipt=iptables || ipt=ip6tables
		case $cfg in *_nft) ipt=$ipt-nft ;; *) ipt=$ipt-legacy ;; esac
		case $cfg in
		hashlimit)	# one rule, as SYN-flood guards write it: a global rate
			in_ns "$ns" $ipt -t raw -A PREROUTING -p tcp --dport $PORT --syn \
				-m hashlimit --hashlimit-above 100/sec --hashlimit-burst 100 \
				--hashlimit-name syn$fam -j DROP || fail "$ipt hashlimit rule in $ns" ;;
		hashlimit_src)	# one rule, per source address
			in_ns "$ns" $ipt -t raw -A PREROUTING -p tcp --dport $PORT --syn \
				-m hashlimit --hashlimit-above 10/sec --hashlimit-burst 20 \
				--hashlimit-mode srcip --hashlimit-name syns$fam -j DROP ||
				fail "$ipt hashlimit rule in $ns" ;;
		recent)	# the classic pair: drop a source seen too often, else note it
			in_ns "$ns" $ipt -t raw -A PREROUTING -p tcp --dport $PORT --syn \
				-m recent --name syn$fam --update --seconds 60 --hitcount 10 -j DROP &&
			in_ns "$ns" $ipt -t raw -A PREROUTING -p tcp --dport $PORT --syn \
				-m recent --name syn$fam --set || fail "$ipt recent rules in $ns" ;;
		drop_defrag*)	# checkentry of -m socket enables defragmentation
			in_ns "$ns" $ipt -t mangle -N defrag_on &&
			in_ns "$ns" $ipt -t mangle -A defrag_on -m socket -j RETURN ||
				fail "$ipt socket rule in $ns" ;;
		recipe|drop_ct)	# the README's rules; the drop rule follows
			if [ "$cfg" = recipe ]; then
				in_ns "$ns" $ipt -t raw -A PREROUTING -p tcp --dport $PORT --syn \
					-m tap --key-id $KEY_ID --drop-invalid -j ACCEPT ||
					fail "$ipt tap rule in $ns"
			fi
			in_ns "$ns" $ipt -t mangle -A PREROUTING -p tcp --dport $PORT ! --syn \
				-m conntrack --ctstate INVALID,NEW -j DROP ||
				fail "$ipt conntrack rule in $ns" ;;
		tap1*|crafted*|onesrc)	# the one-rule form
			ids=$KEY_ID
			[ "$cfg" = crafted_range ] && ids=1-7
			in_ns "$ns" $ipt -t raw -A PREROUTING -p tcp --dport $PORT --syn \
				-m tap --key-id $ids --drop-invalid -j ACCEPT ||
				fail "$ipt tap rule in $ns"
			continue ;;
		tap_protect)	# tap-nft protect: its own inet table, both families
			in_ns "$ns" tap-nft protect --dport $PORT --key-id $KEY_ID >/dev/null ||
				fail "tap-nft protect in $ns"
			break ;;
		tap*)	in_ns "$ns" $ipt -t raw -A PREROUTING -p tcp --dport $PORT --syn \
				-m tap --key-id $KEY_ID -j ACCEPT || fail "$ipt tap rule in $ns" ;;
		esac
		in_ns "$ns" $ipt -t raw -A PREROUTING -p tcp --dport $PORT --syn -j DROP ||
			fail "$ipt drop rule in $ns"
	done
}

# del_rules CONFIG: the hashlimit rules again, and with them their tables
del_rules() {
	local ipt
	for ipt in iptables-legacy ip6tables-legacy; do
		in_ns "$(ns_of "$1")" $ipt -t raw -F PREROUTING || fail "$ipt -F in $1"
	done
}

for cfg in $CONFIGS; do setup_ns "$cfg"; done

# ---- runs -------------------------------------------------------------------

# inject runs in a subshell: the count of crafted runs lives in a file
echo 0 >/tmp/crafted_runs

tap_stat() {
	in_ns "$1" cat /proc/net/xt_tap 2>/dev/null |
		awk -v n="$2" '{ sub(":", "", $1) } $1 == n { print $2 }'
}

# inject FAMILY CONFIG COUNT: COUNT SYNs into CONFIG's namespace; prints ns/SYN
inject() {
	local fam=$1 cfg=$2 n=$3 ns r count ns_per rej want plant= pattern=
	ns=$(ns_of "$cfg")
	echo $([ "$cfg" = inject ] && echo 0 || echo 1) >$param/deliver
	echo "$fam" >$param/family
	if [ "$fam" = 4 ]; then
		echo 10.0.0.1 >$param/dst; echo 10.200.0.0 >$param/src
	else
		echo fd00:be::1 >$param/dst; echo fd00:200:: >$param/src
	fi
	# onesrc and crafted: every SYN from the one source address
	case $cfg in onesrc|crafted*) echo 0 >$param/src_bits ;; esac
	# crafted*: the pattern of bench/crafted_pieces.py
	case $cfg in crafted|crafted_grace) pattern=macs ;; crafted_*) pattern=${cfg#crafted_} ;; esac
	if [ -n "$pattern" ]; then
		# plant the pieces from a source of this run's own, then repeat
		# its "real SYN": pieces planted by an earlier run in the same
		# bucket would push this run's out of the sixteen ways
		crafted_runs=$(( $(cat /tmp/crafted_runs) + 1 ))
		echo $crafted_runs >/tmp/crafted_runs
		if [ "$fam" = 4 ]; then
			echo 10.201.$((crafted_runs / 256 % 256)).$((crafted_runs % 256)) >$param/src
		else
			echo fd00:201::$(printf %x $crafted_runs) >$param/src
		fi
		bad_before=$(tap_stat "$ns" bad_mac)
		echo 1 >$param/fixed_seqs
		# made and planted by the command that runs the SYNs, which is
		# what PROFILE records: perf starts slower than a token lives
		plant="s=\$(python3 $repo/bench/crafted_pieces.py /tmp/keys/$KEY_ID.key"
		plant+=" $CRAFTED_ISN $PORT $pattern)"
		plant+=" && echo \"\${s#*:}\" > $param/seqs &&"
		plant+=" echo \"\${s#*:}\" | tr , '\\n' | wc -l > $param/run &&"
		plant+=" echo \"\${s%%:*}\" > $param/seqs && "
	fi
	# under PROFILE, the one run that perf records (all CPUs)
	${perf_wrap:+perf record -q -a -e cpu-clock -c 20000 -o /tmp/perf.data --} \
		ip netns exec "$ns" sh -c "${plant}echo $n > $param/run" >/dev/null ||
		fail "$cfg: injection${plant:+ (or crafted pieces)} in $ns"
	case $cfg in onesrc|crafted*) echo 16 >$param/src_bits ;; esac
	if [ -n "$pattern" ]; then
		echo 0 >$param/fixed_seqs
		# every one of them must have cost the MACs, or this is not
		# the dearest SYN
		bad=$(( $(tap_stat "$ns" bad_mac) - bad_before ))
		[ "$bad" = "$n" ] || fail "$cfg IPv$fam: $bad of $n SYNs failed the MACs, wanted all;" \
			"counters:" $(in_ns "$ns" cat /proc/net/xt_tap | tr -s ' \n' ' ')
	fi
	r=$(cat $param/result)
	set -- $r
	count=$2 ns_per=$6 rej=${8}
	[ "$count" = "$n" ] || fail "$cfg: injected $count of $n"
	case $cfg in inject|none) want=0 ;; *) want=$n ;; esac
	# hashlimit lets 100/s through to the drop rule: all are dropped too
	[ "$rej" = "$want" ] || fail "$cfg IPv$fam: $rej of $n SYNs dropped, wanted $want"
	echo "$ns_per"
}

echo "bench: kernel $(uname -r), N=$N SYNs per timed run after PREFILL=$PREFILL," \
	"$REPS rounds, families: $FAMILIES"
[ -d /sys/module/xt_tap/parameters ] &&
	echo "bench: xt_tap parameters:" $(cd /sys/module/xt_tap/parameters &&
		grep -H . * 2>/dev/null | sed 's/:/=/')
: >$results
declare -A inc_before
for cfg in $CONFIGS; do
	uses_tap "$cfg" && inc_before[$cfg]=$(tap_stat "$(ns_of "$cfg")" incomplete)
done
cfgs=($CONFIGS)
for ((round = 1; round <= REPS; round++)); do
	for fam in $FAMILIES; do
		for ((i = 0; i < ${#cfgs[@]}; i++)); do
			cfg=${cfgs[$(((i + round * ROTATE) % ${#cfgs[@]}))]}
			case $cfg in hashlimit*) add_rules "$cfg" "$fam" ;; esac
			if [ "$PREFILL" -gt 0 ]; then
				v=$(inject "$fam" "$cfg" "$PREFILL") || { echo "$v"; exit 1; }
			fi
			v=$(inject "$fam" "$cfg" "$N") || { echo "$v"; exit 1; }
			case $cfg in hashlimit*) del_rules "$cfg" ;; esac
			echo "result $fam $cfg $round $v" | tee -a $results
		done
	done
done

# Every SYN through a tap rule was counted (as incomplete, or evicted).
for cfg in $CONFIGS; do
	uses_tap "$cfg" || continue
	nfam=$(echo $FAMILIES | wc -w)
	after=$(tap_stat "$(ns_of "$cfg")" incomplete)
	if [ -n "$after" ] && [ -n "${inc_before[$cfg]}" ]; then
		echo "bench: $cfg: tap counted $((after - inc_before[$cfg])) SYNs as incomplete" \
			"of $(((N + PREFILL) * REPS * nfam)) injected"
	fi
done
for cfg in tap tap1 onesrc crafted crafted_ids crafted_grace crafted_range; do
	[[ " $CONFIGS " == *" $cfg "* ]] || continue
	echo "bench: /proc/net/xt_tap in $(ns_of $cfg):" $(in_ns "$(ns_of $cfg)" \
		cat /proc/net/xt_tap 2>/dev/null | awk '{ printf "%s=%s ", $1, $2 }')
	echo "bench: tap-keytool list in $(ns_of $cfg):" $(in_ns "$(ns_of $cfg)" \
		tap-keytool list 2>/dev/null | tail -n +2)
done

# PROFILE=CONFIG: where the time of CONFIG's flood goes (the first family of
# FAMILIES), set up as a timed run is: crafted plants its pieces first. perf's
# cpu-clock ticks on the guest clock, so under --icount the samples are
# proportional to instructions.
if [ -n "$PROFILE" ]; then
	echo "=== profile begin"
	pfam=${FAMILIES%% *}
	echo "perf cpu-clock profile of $N IPv$pfam SYNs through ruleset $PROFILE (after $PREFILL untimed)"
	case $PROFILE in hashlimit*) add_rules "$PROFILE" "$pfam" ;; esac
	inject "$pfam" "$PROFILE" "$PREFILL" >/dev/null
	v=$(perf_wrap=1 inject "$pfam" "$PROFILE" "$N") || { echo "$v"; exit 1; }
	echo "samples by command (the SYNs are the injecting shell's, sh):"
	perf report -i /tmp/perf.data --stdio --no-children --sort comm 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -n 5
	perf report -i /tmp/perf.data --comms sh --stdio --no-children --sort sym 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -n 40
	# ANNOTATE=SYMBOL: where in that function the samples fall
	for sym in ${ANNOTATE:-}; do
		echo "--- perf annotate $sym"
		perf annotate -i /tmp/perf.data --stdio -s "$sym" 2>/dev/null |
			grep -E '^ +[0-9]+\.[0-9]+ ' | sort -rn | head -n 60
	done
	echo "=== profile end"
fi

# ---- summary ---------------------------------------------------------------

echo "=== summary begin"
echo "kernel $(uname -r); $(nproc) cpu; $REPS rounds of N=$N timed SYNs per ruleset, each after $PREFILL untimed"
echo "ns/SYN (guest clock; under --icount 1 ns = 1 guest instruction)"
for fam in $FAMILIES; do
	awk -v fam="$fam" -v order="$CONFIGS" '
	$1 == "result" && $2 == fam && $4 >= 1 {
		v[$3, ++n[$3]] = $5; r[$3, $4] = $5
		if ($4 > maxr) maxr = $4
	}
	function median(c,   i, j, t, a, k) {
		k = n[c]
		for (i = 1; i <= k; i++) a[i] = v[c, i]
		for (i = 2; i <= k; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	function spread(c,   i, lo, hi) {
		lo = hi = v[c, 1]
		for (i = 2; i <= n[c]; i++) { if (v[c, i] < lo) lo = v[c, i]; if (v[c, i] > hi) hi = v[c, i] }
		return (hi - lo) / median(c) * 100
	}
	# ratio a/b per round, then min and max over rounds
	function ratios(a, b,   i, q, lo, hi) {
		lo = 1e9; hi = 0
		for (i = 1; i <= maxr; i++) {
			if (!((a, i) in r) || !((b, i) in r)) continue
			q = r[a, i] / r[b, i]; if (q < lo) lo = q; if (q > hi) hi = q
		}
		return sprintf("per round %.4f-%.4f", lo, hi)
	}
	function pair(a, b, label,   ma, mb, mi) {
		if (!n[a] || !n[b]) return
		ma = median(a); mb = median(b)
		printf "IPv%s %-22s %.4f  (%s)\n", fam, label, ma / mb, ratios(a, b)
		printf "IPv%s %-22s %+.1f ns/SYN\n", fam, label " extra", ma - mb
		if (n["inject"]) {
			mi = median("inject")
			printf "IPv%s %-22s %.4f  (injector share %.1f ns/SYN removed)\n",
				fam, label " net", (ma - mi) / (mb - mi), mi
		}
	}
	END {
		k = split(order, cfgs, " ")
		printf "IPv%s %-10s %12s %12s %12s %8s\n", fam, "ruleset", "median", "min", "max", "spread"
		for (i = 1; i <= k; i++) {
			c = cfgs[i]; if (!n[c]) continue
			lo = hi = v[c, 1]
			for (j = 2; j <= n[c]; j++) { if (v[c, j] < lo) lo = v[c, j]; if (v[c, j] > hi) hi = v[c, j] }
			printf "IPv%s %-10s %12.1f %12.1f %12.1f %7.3f%%\n", fam, c, median(c), lo, hi, spread(c)
		}
		pair("tap", "drop", "ratio tap/drop")
		pair("tap1", "drop", "ratio tap1/drop")
		pair("drop_defrag", "drop", "ratio drop_defrag/drop")
		pair("tap1", "drop_defrag", "ratio tap1/drop_defrag")
		pair("recipe", "drop", "ratio recipe/drop")
		pair("drop_ct", "drop", "ratio drop_ct/drop")
		pair("recipe", "drop_ct", "ratio recipe/drop_ct")
		pair("onesrc", "drop", "ratio onesrc/drop")
		pair("crafted", "drop", "ratio crafted/drop")
		pair("crafted_ids", "drop", "ratio crafted_ids/drop")
		pair("crafted_grace", "drop", "ratio crafted_grace/drop")
		pair("crafted_range", "drop", "ratio crafted_range/drop")
		pair("hashlimit", "drop", "ratio hashlimit/drop")
		pair("hashlimit_src", "drop", "ratio hashlimit_src/drop")
		pair("recent", "drop", "ratio recent/drop")
		pair("tap_nft", "drop_nft", "ratio tap_nft/drop_nft")
		pair("tap1_nft", "drop_nft", "ratio tap1_nft/drop_nft")
		pair("tap_protect", "drop_nft", "ratio tap_protect/drop_nft")
		pair("drop_defrag_nft", "drop_nft", "ratio drop_defrag_nft/drop_nft")
		pair("tap_protect", "drop_defrag_nft", "ratio tap_protect/drop_defrag_nft")
	}' $results
done
echo "=== summary end"

for cfg in $CONFIGS; do ip netns del "$(ns_of "$cfg")"; done
rmmod tap_inject || fail "rmmod tap_inject"
# netns cleanup runs in a workqueue: the rules let go of xt_tap a bit later
if any_tap; then
	for i in $(seq 50); do rmmod xt_tap 2>/dev/null && break; sleep 0.2; done
	grep -q '^xt_tap ' /proc/modules && fail "rmmod xt_tap"
fi
exit 0
