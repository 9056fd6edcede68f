#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the tap-clientd guest tests (tests/guest/client_*.sh); setup.sh
# sources it after lib_tap.sh. Sourcing it only defines; clientd_prepare
# makes the daemon's user and directory. Everything lives under /tmp in the
# guest.

CD_DIR=/tmp/clientd
CD_USER=tap-clientd
# CD_PID[NS]: the pid of the tap-clientd that clientd_start started in NS
declare -gA CD_PID=()

# clientd_prepare: $CD_DIR, which the daemon must reach (it reads its files
# as its own user), and that user, made as tap-clientd(8) says
clientd_prepare() {
	mkdir -p "$CD_DIR" && chmod 711 "$CD_DIR"
	id -u "$CD_USER" >/dev/null 2>&1 ||
		adduser --system --group --no-create-home "$CD_USER" >/dev/null 2>&1 ||
		fail "adduser $CD_USER"
}

# clientd_key ID: a copy of the server's key $TAP_KEYS/ID.key for the
# client, owned by the daemon's user, mode 0600
clientd_key() {
	local src
	src=$(tap_genkey "$1") || fail "genkey $1"
	install -o "$CD_USER" -g "$CD_USER" -m 600 "$src" "$CD_DIR/k$1.key" || fail "copy key $1"
	echo "$CD_DIR/k$1.key"
}

# clientd_start NS CONF [OPTIONS...]: starts tap-clientd in NS (through the
# command in $CD_WRAP, if set) and waits for its table; its pid is in
# CD_PID[NS], its log in $CD_DIR/NS.log
clientd_start() {
	local ns=$1 conf=$2 pid i
	shift 2
	# shellcheck disable=SC2086 # CD_WRAP is a command with its arguments
	ip netns exec "$ns" ${CD_WRAP:-} tap-clientd -c "$conf" "$@" 2>>"$CD_DIR/$ns.log" &
	pid=$!
	CD_PID[$ns]=$pid
	for ((i = 0; i < 100; i++)); do
		in_ns "$ns" nft list tables 2>/dev/null | grep -q tap_clientd && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$CD_DIR/$ns.log"
	fail "tap-clientd did not start in $ns"
}

# clientd_stop NS [SIGNAL]: stops it, expects exit status 0 and no rules left
clientd_stop() {
	local ns=$1 pid st
	pid=${CD_PID[$ns]:-}
	[ -n "$pid" ] || fail "no tap-clientd running in $ns"
	kill "-${2:-TERM}" "$pid"
	wait "$pid"
	st=$?
	CD_PID[$ns]=
	[ "$st" = 0 ] || { tail -20 "$CD_DIR/$ns.log"; fail "tap-clientd in $ns exited with $st"; }
	no_rules_left "$ns"
}

# clientd_check_privs PID WHAT [CAPBND]: the daemon runs as $CD_USER (every
# uid and gid), with exactly CAP_NET_ADMIN and CAP_NET_RAW (bit 12 and 13)
# effective and permitted, nothing inheritable or ambient, the bounding set
# CAPBND (default: empty) and no_new_privs
clientd_check_privs() {
	local st=/proc/$1/status uid gid f bnd=${3:-0000000000000000}
	uid=$(id -u "$CD_USER") gid=$(id -g "$CD_USER")
	[ "$uid" != 0 ] && [ "$gid" != 0 ] || fail "$CD_USER has uid $uid, gid $gid"
	[ "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")" = "$uid $uid $uid $uid" ] ||
		fail "$2: uids $(grep ^Uid: "$st"), want $uid ($CD_USER)"
	[ "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")" = "$gid $gid $gid $gid" ] ||
		fail "$2: gids $(grep ^Gid: "$st"), want $gid"
	[ -z "$(awk '/^Groups:/ { $1 = ""; print }' "$st" | tr -d ' ')" ] ||
		fail "$2: supplementary groups left: $(grep ^Groups: "$st")"
	for f in CapEff:0000000000003000 CapPrm:0000000000003000 CapInh:0000000000000000 \
		CapAmb:0000000000000000 "CapBnd:$bnd" NoNewPrivs:1; do
		[ "$(awk -v k="${f%%:*}:" '$1 == k { print $2 }' "$st")" = "${f#*:}" ] ||
			fail "$2: $(grep "^${f%%:*}:" "$st"), want ${f#*:}"
	done
	pass "$2: runs as $CD_USER (uid $uid), CapEff 3000 (NET_ADMIN+NET_RAW) = CapPrm, CapBnd $bnd, no_new_privs"
}

# no_rules_left NS: no table of the daemon, and no queue rule anywhere
no_rules_left() {
	in_ns "$1" nft list tables 2>/dev/null | grep -q tap_clientd &&
		fail "a tap_clientd table is left in $1"
	in_ns "$1" nft list ruleset 2>/dev/null | grep -q "queue" &&
		fail "a queue rule is left in $1"
	return 0
}

# protect_ports NS KEYSPEC PORT...: the xt_tap rule pair for each port, IPv4
# and IPv6, in raw PREROUTING
protect_ports() {
	local ns=$1 keys=$2 port cmd
	shift 2
	for port in "$@"; do
		for cmd in iptables ip6tables; do
			in_ns "$ns" "$cmd" -t raw -A PREROUTING -p tcp --dport "$port" --syn \
				-m tap --key-id "$keys" -j ACCEPT || fail "$cmd tap rule"
			in_ns "$ns" "$cmd" -t raw -A PREROUTING -p tcp --dport "$port" --syn \
				-j DROP || fail "$cmd drop rule"
		done
	done
}

# start_sshd NS: a real OpenSSH server on port 22 with its own host key and
# a test user key ($CD_DIR/ssh/id_ed25519) for root
start_sshd() {
	local d=$CD_DIR/ssh
	mkdir -p "$d" /run/sshd && chmod 700 "$d" && chmod 755 /run/sshd
	[ -e "$d/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/host_ed25519" ||
		fail "ssh host key"
	[ -e "$d/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/id_ed25519" ||
		fail "ssh user key"
	cp "$d/id_ed25519.pub" "$d/authorized_keys" && chmod 600 "$d/authorized_keys"
	cat >"$d/sshd_config" <<-EOF
		Port 22
		ListenAddress 0.0.0.0
		ListenAddress ::
		HostKey $d/host_ed25519
		PidFile $d/sshd-$1.pid
		AuthorizedKeysFile $d/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		UseDNS no
		LogLevel ERROR
	EOF
	ip netns exec "$1" /usr/sbin/sshd -D -e -f "$d/sshd_config" 2>>"$d/sshd-$1.log" &
	wait_for_port "$1" 22
}

# ssh_run NS ADDR CMD...: key auth, BatchMode, no host key prompts
ssh_run() {
	local ns=$1 addr=$2
	shift 2
	in_ns "$ns" ssh -i "$CD_DIR/ssh/id_ed25519" -o BatchMode=yes -o ConnectTimeout="${SSH_TIMEOUT:-20}" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		"root@$addr" "$@"
}

# get PORT ADDR [SECONDS] from NS: the page, with the OS's own TCP
url_of() {
	case $1 in *:*) echo "http://[$1]:$HTTP_PORT/" ;; *) echo "http://$1:$HTTP_PORT/" ;; esac
}

# scan_port NS ADDR TYPE PORT: the state nmap reports
scan_port() {
	local six=
	case $2 in *:*) six=-6 ;; esac
	in_ns "$1" nmap $six -Pn -n "$3" -p "$4" --max-retries 1 --host-timeout 60s "$2" -oG - |
		sed -n "s|.*Ports: $4/\([a-z|]*\)/.*|\1|p"
}

# syn_signatures PCAP: one line per SYN (not SYN/ACK) in the capture:
# "SPORT SIGNATURE", where SIGNATURE has what an observer could use to tell
# two SYNs of one host apart: TTL / hop limit, TOS / class, DF, lengths,
# window, TCP options and their order (timestamp values blanked), whether
# there is a flow label.
syn_signatures() {
	tcpdump -n -v -r "$1" 2>/dev/null | awk '
		function add(re) { if (match(rec, re)) sig = sig " " substr(rec, RSTART, RLENGTH) }
		/^[0-9]/ && !/Flags \[/ { hdr = $0; next }
		/Flags \[S\],/ {
			rec = (/^[0-9]/ ? "" : hdr " ") $0
			sig = ""
			add("ttl [0-9]+"); add("hlim [0-9]+"); add("tos 0x[0-9a-f]+")
			add("class 0x[0-9a-f]+"); add("flags \\[[A-Z+]*\\]")
			add("proto TCP \\(6\\), length [0-9]+"); add("payload length: [0-9]+")
			if (rec ~ /flowlabel/) sig = sig " flowlabel"
			add("Flags \\[[A-Z.]*\\]"); add("win [0-9]+"); add("options \\[[^]]*\\]")
			gsub(/TS val [0-9]+ ecr [0-9]+/, "TS val _ ecr _", sig)
			src = match(rec, /[0-9a-f.:]+ > /) ? substr(rec, RSTART, RLENGTH - 3) : "?"
			n = split(src, p, ".")
			print p[n] sig
		}'
}

# check_auth_syns PCAP WHAT: the capture holds 5 SYNs per connection (4 auth
# + 1 real, more if the real one was retransmitted), all with one signature,
# each auth SYN from its own source port
check_auth_syns() {
	local sigs n nsig nport
	sigs=$(syn_signatures "$1")
	n=$(printf '%s\n' "$sigs" | grep -c .)
	nsig=$(printf '%s\n' "$sigs" | cut -d' ' -f2- | sort -u | grep -c .)
	nport=$(printf '%s\n' "$sigs" | cut -d' ' -f1 | sort -u | grep -c .)
	echo "$sigs" | sed 's/^/    /'
	[ "$n" -ge 5 ] && [ $((n % 5)) = 0 ] || fail "$2: $n SYNs captured, expected 5 per connection"
	[ "$nsig" = 1 ] || fail "$2: the auth SYNs do not look like the real SYN"
	[ "$nport" -ge 5 ] || fail "$2: auth SYNs reuse source ports"
	pass "$2: $n SYNs, one signature: $(printf '%s\n' "$sigs" | head -1 | cut -d' ' -f2-)"
}
