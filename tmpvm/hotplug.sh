#!/bin/bash
# One-off real-kernel check of targetmgrd (not committed): waiting LUN, QMP hot-add, attach.
set -u
cd /work
modprobe -a configfs target_core_mod iscsi_target_mod target_core_iblock target_core_file crc32c
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
ldd build/targetmgrd | grep -i "not found" && echo "MISSING LIBS"
cp rules/70-targetmgr.rules /etc/udev/rules.d/ && udevadm control --reload
mkdir -p /etc/targetmgr/targets.d
cat > /etc/targetmgr/targets.d/a.conf <<'C'
[target iqn.2026-12.test.targetmgr:hot]
portal = 127.0.0.1
lun 0 = ramdisk size=16M nullio
lun 1 = /dev/disk/by-id/virtio-HOT1
C
build/targetmgr apply; echo "apply rc=$?"
build/targetmgrd > /tmp/d.log 2>&1 &
dpid=$!
for _ in $(seq 100); do [[ -S /run/targetmgr/targetmgrd.sock ]] && break; sleep 0.1; done
build/targetmgr status
tpg=/sys/kernel/config/target/iscsi/iqn.2026-12.test.targetmgr:hot/tpgt_1
for cycle in $(seq 1 ${1:-20}); do
	echo "HOTPLUG-ADD $cycle"
	for _ in $(seq 300); do [[ -e $tpg/lun/lun_1 ]] && ls $tpg/lun/lun_1 | grep -qv '^\(alua\|statistics\)' && break; sleep 0.1; done
	ls $tpg/lun/lun_1 || echo "NOT ATTACHED"
	cat /sys/kernel/config/target/core/iblock_*/*/wwn/vpd_unit_serial 2>/dev/null
	iscsi-ls -s iscsi://127.0.0.1/ 2>&1 | head -5
	build/targetmgr status --json | jq -c '.daemon, .waiting'
	echo "HOTPLUG-DEL $cycle"
	for _ in $(seq 300); do [[ -e $tpg/lun/lun_1 ]] || break; sleep 0.1; done; sleep 5
	[[ -e $tpg/lun/lun_1 ]] && echo "NOT WITHDRAWN"
	build/targetmgr status --json | jq -c '.daemon, .waiting'
done
echo "DONE"
cat /tmp/d.log
kill $dpid
