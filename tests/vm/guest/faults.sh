#!/bin/bash
# Issue 10, "Faults", on the real kernel (run-vm.sh --hotplug):
#   1. the kernel refuses a configfs write midway through an apply: a portal whose port
#      another process listens on (LIO's bind fails, the np mkdir returns EINVAL);
#      the apply fails (exit 3) naming the portal, and once the port is free the next
#      apply converges and `plan` has nothing to do;
#   2. a backing disk vanishes while apply runs (QMP device_del during an apply slowed down
#      by strace, so that it is still running when the disk is gone): the next apply
#      converges (the LUN waits, exit 4), `plan` has nothing to do; the disk comes back
#      and the next apply serves it again;
#   3. SIGKILL at several points of an apply (building up and tearing down): the next
#      apply converges, `plan` afterwards has nothing to do, the ledger is whole (no
#      temporary file left, every line names an object);
#   4. a full file system while `save -o` writes: save fails, the old file is intact and no
#      temporary file is left.
# Prints TAP and the figures.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

CONF=/etc/targetmgr/targets.d
STATE=/run/targetmgr
mkdir -p "$CONF" /srv/iscsi
echo "# kernel $(uname -r)"

# converges WHAT [WANT_RC]: apply exits WANT_RC (0), then plan exits 0 (nothing to do).
converges() {
	local rc
	"$TM" apply >/tmp/conv.out 2>&1
	rc=$?
	is_rc "$1: the next apply converges (exit $rc)" "$rc" "${2:-0}" /tmp/conv.out
	"$TM" plan >/tmp/plan.out 2>&1
	rc=$?
	is_rc "$1: plan afterwards has nothing to do" "$rc" 0 /tmp/plan.out
}
# ledger_whole: the ledger exists and every line of it is a whole entry ("target IQN" or
# "backstore HBA/NAME", newline-terminated). A temporary file a killed run left next to it
# is named (the next save truncates and renames it).
ledger_whole() {
	[[ -s $STATE/owned ]] || { echo "no ledger"; return 1; }
	[[ -z $(tail -c 1 "$STATE/owned") ]] || { echo "last line cut"; return 1; }
	find "$STATE" -mindepth 1 -maxdepth 1 ! -name owned ! -name lock -printf '#   left by the killed run: %f\n'
	! grep -vE '^(target|backstore) [^ ]+$' "$STATE/owned"
}
# no_temporary: nothing but the ledger and the lock in the state directory.
no_temporary() { [[ -z $(find "$STATE" -mindepth 1 -maxdepth 1 ! -name owned ! -name lock) ]]; }

# --- 1. the kernel refuses a write midway -------------------------------------------------
echo "# --- 1. a configfs write refused by the kernel"
cat >"$CONF/base.conf" <<CONF
[target iqn.2026-12.test.targetmgr:base]
lun 0 = ramdisk size=8M
CONF
check "apply of a base target" "$TM" apply
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 3261)); s.listen(1)
open("/tmp/busy.ready", "w").close(); time.sleep(3600)' &
busy=$!
for _ in $(seq 1 100); do [[ -e /tmp/busy.ready ]] && break; sleep 0.1; done
cat >"$CONF/port.conf" <<CONF
[target iqn.2026-12.test.targetmgr:port]
portal = 127.0.0.1:3261
lun 0 = ramdisk size=8M
lun 1 = /srv/iscsi/port1.img size=8M
initiator = iqn.2026-12.test.targetmgr:someone
CONF
"$TM" apply >/tmp/refused.out 2>&1
rc=$?
diag /tmp/refused.out 4
is "apply fails when the kernel refuses the portal (exit 3)" "$rc" 3
check "the message names the portal and the kernel's error" \
	grep -qE 'np/127\.0\.0\.1:3261.*EINVAL' /tmp/refused.out
check "and says why: the port is in use, by a listener on 127.0.0.1, and how to see whose" \
	grep -qF "cannot listen on 127.0.0.1:3261: the kernel refused the portal (EINVAL): port 3261 is in use, a socket listens on 127.0.0.1 port 3261 (ss -ltnp 'sport = :3261'" /tmp/refused.out
check "the refused apply had created objects before the refusal (it stopped midway)" \
	test -d "$CFS/target/iscsi/iqn.2026-12.test.targetmgr:port"
"$TM" plan >/tmp/plan.out 2>&1
is "plan shows what is left to do (exit 2)" "$?" 2
kill "$busy"
wait "$busy" 2>/dev/null
converges "refused write"
check "the portal 127.0.0.1:3261 now exists" \
	test -d "$CFS/target/iscsi/iqn.2026-12.test.targetmgr:port/tpgt_1/np/127.0.0.1:3261"
rm -f "$CONF/port.conf"
check "apply removes the port target" "$TM" apply

# --- 2. a backing disk vanishes mid-apply -------------------------------------------------
echo "# --- 2. a backing disk vanishing while apply runs"
VAN=/dev/disk/by-id/virtio-VANISH1
check "hot-add the disk VANISH1" hotplug_add VANISH1 64M
van_present() { [[ -b $VAN ]]; }
check "its by-id link appears" wait_for van_present 20
{
	echo "[target iqn.2026-12.test.targetmgr:vanish]"
	for l in $(seq 0 23); do echo "lun $l = ramdisk size=1M"; done
	echo "lun 30 = $VAN serial=tmvanish0001"
} >"$CONF/vanish.conf"
# Every configfs-changing call of this apply waits 200 ms (strace fault injection), so the
# 121 operations take well over the time the host needs to remove the disk.
strace -f -o /dev/null -e trace=mkdir,mkdirat,symlink,symlinkat,write \
	-e inject=mkdir,mkdirat,symlink,symlinkat,write:delay_exit=200000 \
	"$TM" apply >/tmp/vanish.out 2>&1 &
ap=$!
sleep 1
check "the host removes VANISH1 (QMP device_del) while apply runs" hotplug_del VANISH1
check "the apply was still running when the disk was gone" kill -0 "$ap"
wait "$ap"
rc=$?
echo "# the apply that lost its disk: exit $rc; $(tail -n 1 /tmp/vanish.out)"
converges "vanished disk" 4
check "the LUN on the vanished disk is not served" \
	test ! -e "$CFS/target/iscsi/iqn.2026-12.test.targetmgr:vanish/tpgt_1/lun/lun_30"
check "the 24 other LUNs are" \
	test "$(find "$CFS/target/iscsi/iqn.2026-12.test.targetmgr:vanish/tpgt_1/lun" -mindepth 1 -maxdepth 1 | wc -l)" = 24
check "hot-add VANISH1 again" hotplug_add VANISH1 64M
udevadm settle -t 20
converges "disk back"
check "LUN 30 is served again" test -d "$CFS/target/iscsi/iqn.2026-12.test.targetmgr:vanish/tpgt_1/lun/lun_30"
rm -f "$CONF/vanish.conf"
check "apply removes the vanish target" "$TM" apply

# --- 3. SIGKILL mid-apply -----------------------------------------------------------------
echo "# --- 3. SIGKILL mid-apply"
big() {
	for t in $(seq 1 6); do
		echo "[target iqn.2026-12.test.targetmgr:kill$t]"
		for l in $(seq 0 7); do echo "lun $l = ramdisk size=1M"; done
		echo "initiator = iqn.2026-12.test.targetmgr:someone"
		echo "initiator = iqn.2026-12.test.targetmgr:other"
		echo
	done
}
kills=0 killed_midway=0
for delay in 0.05 0.3 0.8 1.5 3; do
	for phase in build teardown; do
		if [[ $phase == build ]]; then big >"$CONF/kill.conf"; else rm -f "$CONF/kill.conf"; fi
		"$TM" apply >/tmp/kill.out 2>&1 &
		ap=$!
		sleep "$delay"
		kill -KILL "$ap" 2>/dev/null && killed=1 || killed=0
		wait "$ap" 2>/dev/null
		kills=$((kills + 1))
		"$TM" plan >/dev/null 2>&1
		[[ $? == 2 ]] && killed_midway=$((killed_midway + 1))
		echo "#   killed after ${delay}s ($phase, killed: $killed): $(cfs_counts)"
		check "SIGKILL after ${delay}s ($phase): the ledger is whole" ledger_whole
		converges "SIGKILL after ${delay}s ($phase)"
		check "SIGKILL after ${delay}s ($phase): after the next apply no temporary file is left" no_temporary
	done
done
echo "# SIGKILL: $kills kills, $killed_midway left work for the next apply"
check "at least 3 of the kills landed midway (plan had work left)" test "$killed_midway" -ge 3

# --- 4. a full disk while save -o writes ---------------------------------------------------
echo "# --- 4. save -o onto a full file system"
mkdir -p /mnt/full
mount -t tmpfs -o size=256k tmpfs /mnt/full
"$TM" apply >/dev/null 2>&1
check "save -o writes the running state" "$TM" save -o /mnt/full/saved.conf
old=$(md5sum </mnt/full/saved.conf)
big >"$CONF/kill.conf"
check "apply a bigger state (6 more targets)" "$TM" apply
dd if=/dev/zero of=/mnt/full/filler bs=4k status=none 2>/dev/null
echo "# /mnt/full: $(df -k --output=avail /mnt/full | tail -n 1 | tr -d ' ') KiB free"
"$TM" save -o /mnt/full/saved.conf >/tmp/full.out 2>&1
rc=$?
diag /tmp/full.out 3
refuse "save -o onto the full file system fails (exit $rc)" test "$rc" = 0
check "it says why (no space)" grep -qi 'space' /tmp/full.out
is "the old saved file is intact" "$(md5sum </mnt/full/saved.conf)" "$old"
check "no temporary file left" test -z "$(find /mnt/full -mindepth 1 ! -name saved.conf ! -name filler)"
rm -f /mnt/full/filler
check "with room again, save -o succeeds" "$TM" save -o /mnt/full/saved.conf
check "and the new file has the 6 new targets" test "$(grep -c 'kill[0-9]\]' /mnt/full/saved.conf)" = 6
umount /mnt/full
rm -f "$CONF"/*.conf
check "targetmgr apply with no files removes everything" "$TM" apply
tap_done
