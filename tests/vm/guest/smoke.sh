#!/bin/bash
# Guest smoke test for tests/vm: proves the harness (9p, udev disk serials)
# and the real LIO path end to end, with raw configfs operations:
# fileio backstore -> iSCSI target in demo mode on 127.0.0.1:3260 ->
# libiscsi (iscsi-ls) and open-iscsi (iscsiadm login, I/O, logout).
# Run on the host as: tests/vm/run-vm.sh tests/vm/guest/smoke.sh --disk SMOKE1:64M
# Argument: the disk serial to look for (default SMOKE1). Output is TAP.
set -euo pipefail

serial=${1:-SMOKE1}
cfs=/sys/kernel/config
tgt=$cfs/target
iqn=iqn.2026-11.test.targetmgr:smoke
bs=$tgt/core/fileio_0/smoke
tpg=$tgt/iscsi/$iqn/tpgt_1
backing=/tmp/smoke.img
size=$((64 * 1024 * 1024))
bypath=/dev/disk/by-path/ip-127.0.0.1:3260-iscsi-$iqn-lun-0
steplog=$(mktemp)

n=0 failed=0
# check DESC CMD...: one TAP line. The step runs in a subshell with -e active
# (a plain command, so errexit is not suppressed) and its output is shown
# as TAP comments only when it fails.
check() {
	local desc=$1 rc
	shift
	n=$((n + 1))
	set +e
	(
		set -e
		"$@"
	) >"$steplog" 2>&1
	rc=$?
	set -e
	if ((rc == 0)); then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		sed 's/^/# /' "$steplog"
		failed=$((failed + 1))
	fi
}

# Attribute values are written without a trailing newline: LIO stores it
# as part of the value (e.g. CHAP names).
put() { printf '%s' "$2" >"$1"; }

wait_for() { # SECONDS TEST-ARGS...
	local t=$1
	shift
	for ((i = 0; i < t * 10; i++)); do
		if test "$@"; then return 0; fi
		sleep 0.1
	done
	test "$@"
}

load_modules() {
	# crc32c: without it every iSCSI login fails in crypto_alloc_ahash().
	modprobe -a configfs target_core_mod iscsi_target_mod target_core_file crc32c
	modprobe -a iscsi_tcp libiscsi scsi_transport_iscsi sd_mod
}

mount_configfs() {
	mountpoint -q $cfs || mount -t configfs configfs $cfs
	test -d $tgt/core
	cat $tgt/version
}

create_backstore() {
	truncate -s $size $backing
	mkdir -p $bs
	put $bs/control "fd_dev_name=$backing,fd_dev_size=$size"
	put $bs/wwn/vpd_unit_serial smoke-serial-1
	put $bs/enable 1
	# info says ACTIVATED only once a LUN exports it; check enable and size.
	cat $bs/info
	test "$(cat $bs/enable)" = 1
	grep -q "Size: $size" $bs/info
}

create_target() {
	mkdir -p $tpg/lun/lun_0 "$tpg/np/127.0.0.1:3260"
	ln -s $bs $tpg/lun/lun_0/smoke_port
	# Demo mode: any initiator, no ACLs, no auth, writable.
	put $tpg/attrib/generate_node_acls 1
	put $tpg/attrib/cache_dynamic_acls 1
	put $tpg/attrib/demo_mode_write_protect 0
	put $tpg/attrib/authentication 0
	put $tpg/enable 1
	test "$(cat $tpg/enable)" = 1
}

libiscsi_lists_lun() {
	local out
	out=$(iscsi-ls -s iscsi://127.0.0.1)
	printf '%s\n' "$out"
	grep -q "Target:$iqn" <<<"$out"
	grep -Eq 'Lun:0 +Type:DIRECT_ACCESS' <<<"$out"
	# iscsi-ls rounds the size down to 63M; read the exact capacity.
	test "$(iscsi-readcapacity16 -s "iscsi://127.0.0.1/$iqn/0")" = $size
}

virtio_disk() {
	local dev=/dev/disk/by-id/virtio-$serial
	wait_for 10 -b "$dev"
	ls -l "$dev"
	blockdev --getsize64 "$dev"
}

start_iscsid() {
	mkdir -p /run/lock/iscsi /var/lock
	grep -q '^InitiatorName=iqn.2026-11.test.targetmgr:initiator$' /etc/iscsi/initiatorname.iscsi
	iscsid # forks into the background
	wait_for 10 -s /run/iscsid.pid
}

discovery() {
	local out i
	# iscsiadm reaches iscsid over a socket that may not be up yet.
	for i in 1 2 3 4 5; do
		out=$(iscsiadm -m discovery -t st -p 127.0.0.1 2>&1) && break
		sleep 1
	done
	printf '%s\n' "$out"
	grep -q "^127.0.0.1:3260,1 $iqn\$" <<<"$out"
}

login() {
	iscsiadm -m node -T $iqn -p 127.0.0.1 --login
	udevadm settle --timeout=30
	wait_for 30 -b "$bypath"
	local dev
	dev=$(readlink -f "$bypath")
	echo "LUN 0 is $dev"
	[[ $dev == /dev/sd* ]]
	test "$(blockdev --getsize64 "$dev")" = $size
}

io_reaches_backstore() {
	local dev
	dev=$(readlink -f "$bypath")
	head -c 65536 /dev/urandom >/tmp/pattern
	dd if=/tmp/pattern of="$dev" bs=64k count=1 oflag=direct conv=fsync status=none
	dd if="$dev" bs=64k count=1 iflag=direct status=none | cmp - /tmp/pattern
	# The bytes must be in LIO's fileio backing file, not just a cache.
	cmp -n 65536 $backing /tmp/pattern
}

logout() {
	iscsiadm -m node -T $iqn -p 127.0.0.1 --logout
	udevadm settle --timeout=30
	wait_for 10 ! -e "$bypath"
	iscsiadm -m node -o delete -T $iqn
	iscsiadm -k 0 || true # stop iscsid
}

teardown() {
	put $tpg/enable 0
	rm $tpg/lun/lun_0/smoke_port
	rmdir $tpg/lun/lun_0 "$tpg/np/127.0.0.1:3260" $tpg $tgt/iscsi/$iqn
	rmdir $bs $tgt/core/fileio_0
	if compgen -G "$tgt/iscsi/iqn.*"; then return 1; fi
	test ! -e $tgt/core/fileio_0
}

check "load LIO and iSCSI initiator modules" load_modules
check "configfs mounted with LIO core" mount_configfs
check "fileio backstore created and enabled" create_backstore
check "iSCSI target in demo mode on 127.0.0.1:3260" create_target
check "libiscsi: iscsi-ls lists LUN 0, readcapacity16 says 64M" libiscsi_lists_lun
check "virtio disk /dev/disk/by-id/virtio-$serial present" virtio_disk
check "iscsid started" start_iscsid
check "iscsiadm sendtargets discovery finds the target" discovery
check "iscsiadm login gives a 64M /dev/sdX" login
check "write/read through the LUN reaches the fileio file" io_reaches_backstore
check "iscsiadm logout removes the disk" logout
check "configfs objects removed" teardown

echo "1..$n"
if ((failed)); then
	echo "# $failed of $n failed; last kernel messages:"
	dmesg | tail -n 30 | sed 's/^/# /'
	exit 1
fi
echo "# all $n passed"
