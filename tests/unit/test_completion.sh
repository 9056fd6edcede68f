#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The bash completions of completions/ complete what the tools take: each
# case sets a command line as bash would, runs the tool's completion
# function (with bash-completion's helpers, as installed) and compares
# COMPREPLY.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
bc=/usr/share/bash-completion/bash_completion
[ -r "$bc" ] || { echo "FAIL: $bc missing (apt-get install bash-completion)"; exit 1; }
set +u	# bash-completion reads unset variables
# shellcheck source=/dev/null
. "$bc"
for f in completions/tap-keytool completions/tap-nft completions/tap-clientd; do
	# shellcheck source=/dev/null
	. "$f" || { echo "FAIL: sourcing $f"; exit 1; }
done
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/a.key" "$tmp/b.key" "$tmp/notes.txt"
mkdir "$tmp/keys"

# expect "COMMAND LINE" "WANT" (the completions, sorted, space-separated);
# the word being completed is the last one (empty after a trailing space)
expect() {
	local line=$1 want=$2 fn got
	read -ra COMP_WORDS <<<"$line"
	[[ $line == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line COMP_POINT=${#line}
	fn=$(complete -p "${COMP_WORDS[0]}" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
	COMPREPLY=()
	"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | paste -sd' ')
	if [ "$got" = "$want" ]; then
		echo "ok: '$line' -> $got"
	else
		echo "FAIL: '$line' -> '$got', want '$want'"
		fails=$((fails + 1))
	fi
}

expect "tap-keytool ex" "export"
expect "tap-keytool f" "fingerprint flush"
expect "tap-keytool export 3 --s" "--server --src-bind"
expect "tap-keytool export 3 --key-dir $tmp/k" "$tmp/keys"
expect "tap-keytool load $tmp/" "$tmp/a.key $tmp/b.key $tmp/keys"
expect "tap-keytool genkey --id " ""
expect "tap-nft pro" "protect"
expect "tap-nft protect --family " "inet ip ip,ip6 ip6"
expect "tap-nft protect --hook f" "forward"
expect "tap-nft apply --c" "--check --config"
expect "tap-nft add " "inet ip ip6"
expect "tap-clientd --p" "--probe"
expect "tap-clientd --ch" "--check-config"
expect "tap-clientd -u roo" "root"
[ $fails = 0 ] || exit 1
echo "PASS: bash completions"
