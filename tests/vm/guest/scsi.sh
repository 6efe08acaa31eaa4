#!/bin/bash
# Issue 11: the SCSI behaviour initiators get from targetmgr's defaults, on the real kernel,
# under systemd and across a reboot (run-vm.sh --systemd --boots 2 --disk SCSI1:64M).
#   boot 1: three initiator names (open-iscsi ifaces) on one target; persistent reservations
#           register / reserve / preempt with APTPL, the third name gets RESERVATION CONFLICT;
#           the reservation survives `apply` and `clear` + `apply`; VPD 0x80 / 0x83 ids stay;
#           thin provisioning: LBPME in READ CAPACITY(16), fstrim shrinks the sparse file;
#           write cache: WCE on a default file LUN, off on a write-through one; vendor= and
#           product=; reservations=off; then the guest reboots;
#   boot 2: targetmgr.service restored the target at boot: same reservation, same ids.
# Prints TAP; the figures (du before and after fstrim) as diagnostics.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=iqn.2026-12.test.targetmgr:scsi
T2=iqn.2026-12.test.targetmgr:scsi2 # exports T's LUN 0 too: one backstore, two LUNs
NAME=iqn.2026-12.test.targetmgr:pr # the initiators: $NAME-a, -b, -c; -d logs in to T2
CONF=/etc/targetmgr/targets.d
DISK=/dev/disk/by-id/virtio-SCSI1
MNT=/mnt/thin
KEY_A=0xa1 KEY_B=0xb1 KEY_C=0xc1

# sess_dev INITIATOR LUN: the disk of LUN in the session INITIATOR logged in with.
sess_dev() {
	local d
	d=$(session_dev initiatorname "$1" "$2") && echo "/dev/$d"
}

login_all() {
	local i
	for i in a b c; do
		iscsiadm -m node -T "$T" -p "$PORTAL" -I "pr$i" --login >/dev/null || return 1
	done
}

logout_all() {
	iscsiadm -m node -T "$T" -p "$PORTAL" --logout >/dev/null
}

# devs LUN: sets dA, dB, dC to the disks of LUN as each initiator sees it.
devs() {
	dA=$(sess_dev "$NAME-a" "$1") && dB=$(sess_dev "$NAME-b" "$1") && dC=$(sess_dev "$NAME-c" "$1")
}

# The reservation as initiator A reads it: holder key and type, and the registered keys.
# Shown on a mismatch by is_reservation.
reservation() {
	# A preempted or re-logged-in nexus gets a UNIT ATTENTION first: let it go.
	sg_turs "$dA" >/dev/null 2>&1
	sg_persist --in -r "$dA" >/tmp/prin-r 2>&1
	sg_persist --in -k "$dA" >/tmp/prin-k 2>&1
	sed -n 's/^.*Key=\(0x[0-9a-f]*\).*$/holder \1/p; s/^.*scope: .*type: *\(.*\)$/type \1/p' /tmp/prin-r | tr -s ' ' | tr '\n' ' '
	sed -n 's/^ *\(0x[0-9a-f]*\)$/key \1/p' /tmp/prin-k | tr '\n' ' '
}

# is_reservation DESCRIPTION WANT: like is, with what sg_persist printed when it differs.
is_reservation() {
	local got
	got=$(reservation)
	is "$1" "$got" "$2"
	[[ $got == "$2" ]] || sed 's/^/#   | /' /tmp/prin-r /tmp/prin-k
}

# ids DEV: VPD 0x80 serial and the logical unit's 0x83 designators (NAA, T10 vendor): what
# multipath and clusters take a disk's identity from.
ids() {
	{ sg_vpd -p sn "$1" && sg_vpd -p di_lu "$1"; } 2>&1 | sha256sum | cut -c1-16
}

# c_conflict: initiator C, not registered, cannot reserve (sg_persist exit 24:
# RESERVATION CONFLICT) nor write.
c_conflict() {
	sg_persist --out --reserve --param-rk=$KEY_C --prout-type=5 "$dC" >/dev/null 2>&1
	local rc=$?
	[[ $rc -eq 24 ]] || { echo "sg_persist --reserve from C: exit $rc, not 24"; return 1; }
	if dd if=/dev/zero of="$dC" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
		echo "C wrote through a Write Exclusive - Registrants Only reservation"
		return 1
	fi
}

aptpl_file() {
	local serial
	serial=$(sed 's/^.*: //' "$CFS"/target/core/fileio_*/shared-pr/wwn/vpd_unit_serial)
	echo "/etc/target/pr/aptpl_$serial"
}

boot1() {
	check "meson-installed tree copied onto /" install_targetmgr
	mkdir -p "$CONF" /srv/iscsi "$MNT"
	cat >"$CONF/scsi.conf" <<CONF
[target $T]
lun 0 = /srv/iscsi/pr.img size=64M name=shared-pr
lun 1 = /srv/iscsi/thin.img size=256M
lun 2 = $DISK
lun 3 = /srv/iscsi/wt.img size=16M write-through vendor=ACME product=Vault-9 reservations=off
initiator = $NAME-a $NAME-b $NAME-c

[target $T2]
lun 5 = /srv/iscsi/pr.img size=64M name=shared-pr
initiator = $NAME-d
CONF
	echo "# dbroot at boot: $(cat "$CFS"/target/dbroot 2>/dev/null || echo '(module not loaded)'); /etc/target holds: $(ls /etc/target | tr '\n' ' ')"
	local plan
	plan=$(targetmgr plan 2>&1)
	printf '%s\n' "$plan" | grep -E 'dbroot|aptpl|emulate_tpu' | sed 's/^/#   plan: /'
	check "systemctl enable --now targetmgr.service" systemctl enable --now targetmgr.service
	is "dbroot in force" "$(cat "$CFS"/target/dbroot)" /etc/target
	check "the dbroot has pr/ and alua/ before any LUN is served" test -d /etc/target/pr -a -d /etc/target/alua
	check "a second plan has nothing to do (exit 0)" targetmgr plan

	check "iscsid" systemctl start iscsid.socket
	modprobe -a iscsi_tcp sd_mod
	local i
	for i in a b c d; do
		iscsiadm -m iface -I "pr$i" -o new >/dev/null
		iscsiadm -m iface -I "pr$i" -o update -n iface.initiatorname -v "$NAME-$i" >/dev/null
	done
	check "discovery through the four ifaces" iscsiadm -m discovery -t sendtargets -p "$PORTAL" -I pra -I prb -I prc -I prd
	check "three logins, one per initiator name" login_all
	devs 0 && ok "LUN 0 seen by A $dA, B $dB, C $dC" || not_ok "LUN 0 seen by the three initiators"

	# --- persistent reservations (SPC-3), with APTPL ---
	check "A registers key $KEY_A (APTPL)" sg_persist --out --register --param-sark=$KEY_A --param-aptpl "$dA"
	check "B registers key $KEY_B (APTPL)" sg_persist --out --register --param-sark=$KEY_B --param-aptpl "$dB"
	check "A reserves, Write Exclusive - Registrants Only" sg_persist --out --reserve --param-rk=$KEY_A --prout-type=5 --param-aptpl "$dA"
	check "C, unregistered, gets RESERVATION CONFLICT" c_conflict
	check "B writes (a registrant)" dd if=/dev/zero of="$dB" bs=4096 count=1 oflag=direct status=none
	check "B preempts A" sg_persist --out --preempt --param-rk=$KEY_B --param-sark=$KEY_A --prout-type=5 --param-aptpl "$dB"
	local want="holder $KEY_B type Write Exclusive, registrants only key $KEY_B "
	is_reservation "B holds the reservation, A's key is gone" "$want"
	check "LIO saved it in the dbroot ($(aptpl_file))" grep -q "sa_res_key=$((KEY_B))" "$(aptpl_file)"
	local ids0 ids3
	ids0=$(ids "$dA")
	echo "$ids0" >"$VM_STATE/ids0"
	echo "$want" >"$VM_STATE/reservation"
	sg_vpd -p sn "$dA" | sed 's/^/#   VPD 0x80: /'
	sg_vpd -p di_lu "$dA" | sed 's/^/#   VPD 0x83: /'

	check "apply with the LUN in use" targetmgr apply
	is_reservation "the reservation survives apply" "$want"
	is "VPD ids unchanged after apply" "$(ids "$dA")" "$ids0"
	check "D logs in to $T2" iscsiadm -m node -T "$T2" -p "$PORTAL" -I prd --login
	local dD
	dD=$(sess_dev "$NAME-d" 5) || dD=/nonexistent
	is "the same backing store through $T2 LUN 5: the same VPD ids" "$(ids "$dD")" "$ids0"
	is "... and the same reservation" "$(sg_turs "$dD" >/dev/null 2>&1; sg_persist --in -r "$dD" 2>&1 | sed -n 's/^.*Key=\(0x[0-9a-f]*\).*$/\1/p')" "$KEY_B"
	check "D logs out" iscsiadm -m node -T "$T2" -p "$PORTAL" -I prd --logout

	local saved
	saved=$(aptpl_file)
	check "logout" logout_all
	check "clear" targetmgr clear
	check "clear leaves the saved reservations ($saved)" grep -q "sa_res_key=$((KEY_B))" "$saved"
	check "apply after clear" targetmgr apply
	check "login again" login_all
	devs 0 || not_ok "LUN 0 back for the three initiators"
	is_reservation "the APTPL reservation survives clear + apply" "$want"
	check "C still conflicts" c_conflict
	is "VPD ids unchanged after clear + apply" "$(ids "$dA")" "$ids0"

	# --- thin provisioning ---
	devs 1
	is "fileio on ext4: READ CAPACITY(16) LBPME=1" "$(sg_readcap -l "$dA" | sed -n 's/.*lbpme=\([01]\).*/\1/p')" 1
	devs 2
	is "iblock on a disk with discard: LBPME=1" "$(sg_readcap -l "$dA" | sed -n 's/.*lbpme=\([01]\).*/\1/p')" 1
	devs 1
	check "mkfs.ext4 (no discard) on LUN 1" mkfs.ext4 -q -F -E nodiscard "$dA"
	check "mount LUN 1" mount "$dA" "$MNT"
	check "write 96 MiB" dd if=/dev/urandom of="$MNT/fill" bs=1M count=96 conv=fsync status=none
	local full trimmed
	sync
	full=$(du -k /srv/iscsi/thin.img | cut -f1)
	rm -f "$MNT/fill" && sync
	check "fstrim $MNT" fstrim -v "$MNT"
	sync
	trimmed=$(du -k /srv/iscsi/thin.img | cut -f1)
	echo "# thin.img allocated: ${full} KiB written, ${trimmed} KiB after rm + fstrim"
	if ((full - trimmed > 80 * 1024)); then ok "fstrim gave the 96 MiB back to the sparse file"; else not_ok "fstrim gave the 96 MiB back to the sparse file"; fi
	umount "$MNT"

	# --- write cache, identity strings, reservations off ---
	devs 0
	is "default fileio LUN: write cache on (WCE=1)" "$(cat /sys/block/${dA#/dev/}/device/scsi_disk/*/cache_type)" "write back"
	devs 3
	is "write-through LUN: WCE=0" "$(cat /sys/block/${dA#/dev/}/device/scsi_disk/*/cache_type)" "write through"
	is "vendor= and product=" "$(sg_inq "$dA" | sed -n 's/^ *Vendor identification: *\([^ ]*\) *$/\1/p; s/^ *Product identification: *\([^ ]*\) *$/\1/p' | tr '\n' ' ')" "ACME Vault-9 "
	refuse "reservations=off: PERSISTENT RESERVE OUT refused" sg_persist --out --register --param-sark=$KEY_A "$dA"

	check "logout before the reboot" logout_all
	echo "# boot 1 done: rebooting"
	vm_reboot
}

boot2() {
	is "targetmgr.service restored the targets at boot" "$(systemctl show -P Result targetmgr.service)" success
	is "dbroot in force" "$(cat "$CFS"/target/dbroot)" /etc/target
	check "iscsid" systemctl start iscsid.socket
	modprobe -a iscsi_tcp sd_mod
	check "the three initiators log in again" login_all
	devs 0 || not_ok "LUN 0 back for the three initiators"
	is_reservation "the APTPL reservation survives the reboot" "$(cat "$VM_STATE/reservation")"
	check "C still conflicts" c_conflict
	is "VPD ids unchanged after the reboot" "$(ids "$dA")" "$(cat "$VM_STATE/ids0")"
	check "logout" logout_all
	tap_done
}

case ${TM_VM_BOOT:-} in
1) boot1 ;;
2) boot2 ;;
*)
	not_ok "scsi.sh needs run-vm.sh --systemd --boots 2 (TM_VM_BOOT='${TM_VM_BOOT:-}')"
	tap_done
	;;
esac
