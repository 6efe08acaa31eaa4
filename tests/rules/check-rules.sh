#!/bin/bash
# TAP: the systemd units and the udev rule in rules/ are accepted by the installed systemd and
# udev, and `meson install` puts them where those say (or where the options say).
#   tests/rules/check-rules.sh BUILD_DIR
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# The units as shipped, with the binaries of this build in place of @sbindir@ (verify checks
# that ExecStart= names an executable).
for u in targetmgr targetmgrd; do
	sed "s|@sbindir@|$build|" "$top/rules/$u.service.in" >"$tmp/$u.service"
done
out=$(systemd-analyze verify --man=no "$tmp/targetmgr.service" "$tmp/targetmgrd.service" 2>&1)
rc=$?
[[ -z $out ]] || printf '# %s\n' "$out"
check "systemd-analyze verify accepts targetmgr.service and targetmgrd.service, silently" \
	test "$rc" -eq 0 -a -z "$out"
grep -q '^SuccessExitStatus=4$' "$top/rules/targetmgr.service.in" &&
	grep -q 'TM_EXIT_WAITING = 4' "$top/tools/cli.h"
check "targetmgr.service takes apply's 'LUNs waiting' status (4) as success" test $? -eq 0

# The rule: `udevadm verify` where udev has it (>= 254); otherwise udevadm test with only
# this rule added (private mount namespace): no message about the file, and a block device
# gets the tag targetmgrd's monitor filters on.
rule=$top/rules/70-targetmgr.rules
if udevadm verify --help >/dev/null 2>&1; then
	out=$(udevadm verify "$rule" 2>&1)
	check "udevadm verify accepts 70-targetmgr.rules" test $? -eq 0
	printf '# %s\n' "$out"
else
	dev=$(ls /sys/class/block | head -n1)
	if [[ -z $dev ]]; then
		ok "# SKIP no block device to run udevadm test on"
	else
		out=$(unshare -m sh -c 'mount -t tmpfs none /etc/udev/rules.d &&
			cp "$1" /etc/udev/rules.d/ && udevadm test --action=add "/sys/class/block/$2" 2>&1' \
			sh "$rule" "$dev")
		bad=$(grep '70-targetmgr.rules:' <<<"$out")
		[[ -z $bad ]] || printf '# %s\n' "$bad"
		check "udevadm test parses 70-targetmgr.rules without a message" test -z "$bad"
		check "the rule tags block device $dev 'targetmgr'" grep -q '^TAGS=.*:targetmgr:' <<<"$out"
	fi
fi

# meson install: pkg-config's directories by default, the options when given.
inst() { # inst DESTDIR [meson options]
	local dest=$1
	shift
	meson setup "$tmp/b" --prefix=/usr "$@" >/dev/null && meson compile -C "$tmp/b" >/dev/null &&
		DESTDIR=$dest meson install -C "$tmp/b" --quiet >/dev/null && rm -rf "$tmp/b"
}
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
udevdir=$(pkg-config --variable=udevdir udev)
if inst "$tmp/d1"; then
	check "units installed in systemd's systemdsystemunitdir ($unitdir)" \
		test -f "$tmp/d1$unitdir/targetmgr.service" -a -f "$tmp/d1$unitdir/targetmgrd.service"
	check "rule installed in udev's udevdir ($udevdir/rules.d)" \
		test -f "$tmp/d1$udevdir/rules.d/70-targetmgr.rules"
	check "targetmgr and targetmgrd installed in sbindir" \
		test -x "$tmp/d1/usr/sbin/targetmgr" -a -x "$tmp/d1/usr/sbin/targetmgrd"
	check "the units run the installed binaries" \
		grep -q '^ExecStart=/usr/sbin/targetmgrd$' "$tmp/d1$unitdir/targetmgrd.service"
else
	not_ok "meson install with the default directories"
fi
if inst "$tmp/d2" -Dsystemdsystemunitdir=/opt/units -Dudevrulesdir=/opt/rules --sbindir=bin; then
	check "-Dsystemdsystemunitdir= and -Dudevrulesdir= are honoured" \
		test -f "$tmp/d2/opt/units/targetmgrd.service" -a -f "$tmp/d2/opt/rules/70-targetmgr.rules"
	check "the units follow --sbindir" \
		grep -q '^ExecStart=/usr/bin/targetmgr apply$' "$tmp/d2/opt/units/targetmgr.service"
else
	not_ok "meson install with -Dsystemdsystemunitdir= -Dudevrulesdir="
fi
echo "1..$n"
((failed == 0))
