#!/bin/bash
# Issue 11: a RAM disk (rd_mcp) keeps APTPL reservations like a file or a block device.
# Kernel 6.1 writes <dbroot>/pr/aptpl_<serial> for any backend without pass-through PGR
# (core_scsi3_update_and_write_aptpl; rd_mcp_ops sets no transport flags) and takes them
# back through pr/res_aptpl_metadata, so targetmgr's `+ aptpl` op applies to a new rd_mcp
# object too: register and reserve with APTPL, clear, apply, and the reservation is back.
# run-vm.sh tests/vm/guest/rd-aptpl.sh (no disk); prints TAP.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
IQN=iqn.2026-12.test.targetmgr:rd
modprobe -a configfs target_core_mod iscsi_target_mod iscsi_tcp sd_mod
mountpoint -q "$CFS" || mount -t configfs none "$CFS"
mkdir -p /etc/target /etc/targetmgr/targets.d
start_iscsid
printf '[target %s]\nlun 0 = ramdisk size=16M\ninitiator = %s\n' "$IQN" "$INITIATOR" >/etc/targetmgr/targets.d/rd.conf
"$TM" plan | grep -E 'dbroot|aptpl' | sed 's/^/# plan: /'
check "apply" "$TM" apply
db=$(cat "$CFS/target/dbroot")
echo "# dbroot: $db; kernel $(uname -r)"
check discover discover
check login login "$IQN"
dev=$(lun_dev "$IQN" 0)
so=$(lun_backstore "$IQN" 0)
serial=$(sed 's/^.*: //' "$so/wwn/vpd_unit_serial")
echo "# backstore $so, serial $serial, device $dev"
check "register with APTPL on rd_mcp" sg_persist --out --register --param-sark=0xa1 --param-aptpl "$dev"
check "reserve (Write Exclusive) with APTPL" sg_persist --out --reserve --param-rk=0xa1 --prout-type=1 --param-aptpl "$dev"
echo "# $(cat "$so/pr/res_aptpl_active")"
check "LIO wrote $db/pr/aptpl_$serial" grep -q "sa_res_key=161" "$db/pr/aptpl_$serial"
sed 's/^/#   /' "$db/pr/aptpl_$serial"
check logout logout "$IQN"
check clear "$TM" clear
check "the plan after clear restores the registrations (+ aptpl)" grep -q '^+ aptpl core/rd_mcp_' <<<"$("$TM" plan)"
check "apply after clear" "$TM" apply
so=$(lun_backstore "$IQN" 0)
echo "# after apply: $(cat "$so/pr/res_aptpl_active"); holder: $(cat "$so/pr/res_holder")"
check login login "$IQN"
dev=$(lun_dev "$IQN" 0)
sg_turs "$dev" >/dev/null 2>&1
out=$(sg_persist --in -k "$dev" 2>&1; sg_persist --in -r "$dev" 2>&1)
echo "$out" | sed 's/^/#   /'
if grep -q 0xa1 <<<"$out"; then ok "registration restored on the new rd_mcp object"; else not_ok "registration restored on the new rd_mcp object"; fi
logout "$IQN" >/dev/null 2>&1
"$TM" clear >/dev/null
tap_done
