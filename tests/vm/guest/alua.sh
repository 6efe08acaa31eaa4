#!/bin/bash
# Issue 11, ALUA: one disk served through two portals, each target port in its own ALUA
# target port group, seen by dm-multipath on the initiator side (run-vm.sh, no disk needed).
#   - a RAM disk exported by two targets (one backstore: name= on both lun lines), the first
#     on 127.0.0.1:3260 in group "near" (active/optimized), the second on 127.0.0.1:3261 in
#     group "far" (active/non-optimized);
#   - open-iscsi logs in to both, multipathd (started here) makes one map of the two paths:
#     two path groups, alua prio 50 and 10, the optimized one active; sg_rtpg (REPORT TARGET
#     PORT GROUPS) shows the two groups' states;
#   - editing "far" to standby: plan shows exactly one operation (an alua_access_state write),
#     apply makes it, sg_rtpg and multipath -ll follow (prio 1); then the roles swap (near
#     standby, far optimized: the HA switch) and multipath's active group follows;
#   - reads through the multipath device work; save writes the groups back; clear removes
#     them.
# Prints TAP.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

A=iqn.2026-12.test.targetmgr:alua-a
B=iqn.2026-12.test.targetmgr:alua-b
CONF=/etc/targetmgr/targets.d
BS=$CFS/target/core/rd_mcp_*/aluadisk # the backstore's configfs directory (a glob)

# conf NEAR_STATE FAR_STATE [PREFERRED]: the target file; PREFERRED (near by default) is the
# group reported as preferred, which multipath's alua prioritizer ranks 80 above the others'
# states (a preferred standby group would outrank an optimized one: the HA switch moves it).
conf() {
	local pref=${3:-near}
	mkdir -p "$CONF"
	cat >"$CONF/alua.conf" <<EOF
[alua near]
state = $1
preferred = $([[ $pref == near ]] && echo yes || echo no)

[alua far]
state = $2
preferred = $([[ $pref == far ]] && echo yes || echo no)

[target $A]
portal = 127.0.0.1:3260
lun 0 = ramdisk size=16M name=aluadisk alua=near

[target $B]
portal = 127.0.0.1:3261
lun 0 = ramdisk size=16M name=aluadisk alua=far
EOF
}

# rtpg DEV: "ID=STATE ..." for every target port group REPORT TARGET PORT GROUPS lists,
# e.g. "0x1=0x00 0x2=0x01" (SPC-4: 0 active/optimized, 1 active/non-optimized, 2 standby).
rtpg() {
	sg_turs "/dev/$1" >/dev/null 2>&1 # a state change is a UNIT ATTENTION first
	sg_rtpg "/dev/$1" 2>&1 | tee /tmp/rtpg.out |
		awk '/target port group id/ { id = $6 } /asymmetric access state/ { printf "%s%s=%s", sep, id, $NF; sep = " " }'
}

# mpath_groups: for the map, its path groups, each as "prio=P:status:DEV", sorted (multipath
# -ll lists them in the map's order, which a reload need not change), e.g.
# "prio=10:enabled:sdc prio=50:active:sdb".
mpath_groups() {
	timeout 20 multipath -ll "$WWID" 2>/dev/null | tee /tmp/mpath.out | awk '
		/prio=[0-9]+ status=/ { match($0, /prio=[0-9]+/); p = substr($0, RSTART, RLENGTH)
			match($0, /status=[a-z]+/); s = substr($0, RSTART + 7, RLENGTH - 7) }
		/[0-9]+:[0-9]+:[0-9]+:[0-9]+ sd[a-z]+/ { for (i = 1; i <= NF; i++) if ($i ~ /^sd[a-z]+$/) d = $i
			print p ":" s ":" d }' | sort | paste -sd' '
}

# wait_mpath WANT DESCRIPTION: waits up to 60 s for mpath_groups to print WANT (multipathd
# checks each path every 2 to 8 s and reloads the map when a priority changed), then compares.
wait_mpath() {
	local got start=$SECONDS
	while got=$(mpath_groups) && [[ $got != "$1" ]] && ((SECONDS - start < 60)); do
		sleep 2
	done
	is "$2" "$got" "$1"
	if [[ $got != "$1" ]]; then
		diag /tmp/mpath.out
		timeout 20 multipathd show paths 2>&1 | sed 's/^/#   | /'
	fi
}

# plan_ops: the operation lines of `targetmgr plan` (its summary line left out).
plan_ops() {
	"$TM" plan 2>&1 | grep -v '^Plan:\|^No changes' || true
}

conf active/optimized active/non-optimized
check "apply: one RAM disk, two targets on two portals, ALUA groups near and far" "$TM" apply
check "a second plan has nothing to do (exit 0)" "$TM" plan
check "both groups exist on the backstore" test -d $BS/alua/near -a -d $BS/alua/far
is "near's id and state (tg_pt_gp_id, alua_access_state)" \
	"$(cat $BS/alua/near/tg_pt_gp_id) $(cat $BS/alua/near/alua_access_state)" "1 0"
is "far's id and state" "$(cat $BS/alua/far/tg_pt_gp_id) $(cat $BS/alua/far/alua_access_state)" "2 1"
is "the first target's port is in near" \
	"$(sed -n 's/^TG Port Alias: //p' "$CFS/target/iscsi/$A/tpgt_1/lun/lun_0/alua_tg_pt_gp")" near
is "the second target's port is in far" \
	"$(sed -n 's/^TG Port Alias: //p' "$CFS/target/iscsi/$B/tpgt_1/lun/lun_0/alua_tg_pt_gp")" far

start_iscsid
modprobe -a dm_multipath dm_round_robin dm_service_time scsi_dh_alua 2>/dev/null || true
for p in 3260 3261; do
	iscsiadm -m discovery -t sendtargets -p "127.0.0.1:$p" >/dev/null
done
check "login through 127.0.0.1:3260" iscsiadm -m node -T "$A" -p 127.0.0.1:3260 --login
check "login through 127.0.0.1:3261" iscsiadm -m node -T "$B" -p 127.0.0.1:3261 --login
dA=$(session_dev targetname "$A" 0)
dB=$(session_dev targetname "$B" 0)
check "both paths are disks ($dA, $dB)" test -b "/dev/$dA" -a -b "/dev/$dB" -a "$dA" != "$dB"
WWID=$(/lib/udev/scsi_id -g -u "/dev/$dA")
is "one disk: both paths have the same WWID" "$(/lib/udev/scsi_id -g -u "/dev/$dB")" "$WWID"
is "INQUIRY says implicit ALUA (TPGS=1)" \
	"$(sg_inq "/dev/$dA" 2>/dev/null | sed -n 's/.*TPGS=\([0-9]\).*/\1/p')" 1

is "REPORT TARGET PORT GROUPS: near optimized, far non-optimized" "$(rtpg "$dA")" "0x1=0x00 0x2=0x01"
[[ $(rtpg "$dA") == "0x1=0x00 0x2=0x01" ]] || diag /tmp/rtpg.out
is "the same through the other path" "$(rtpg "$dB")" "0x1=0x00 0x2=0x01"
check "near is the preferred group (Pref=1)" grep -q 'group id : 0x1 , Pref=1' /tmp/rtpg.out

# multipathd: only this disk, whatever the built-in defaults for LIO-ORG say about finding it.
cat >/etc/multipath.conf <<EOF
defaults {
	find_multipaths no
	user_friendly_names no
	polling_interval 2
}
blacklist {
	wwid ".*"
}
blacklist_exceptions {
	wwid "$WWID"
}
devices {
	device {
		vendor "LIO-ORG"
		product ".*"
		path_grouping_policy group_by_prio
		prio alua
		path_checker tur
		failback immediate
		hardware_handler "1 alua"
	}
}
EOF
pgrep -x multipathd >/dev/null || multipathd
sleep 2
timeout 30 multipath -r >/dev/null 2>&1 || true
wait_mpath "prio=10:enabled:$dB prio=50:active:$dA" \
	"multipath -ll: one map, near's path in the active group (prio 50), far's at prio 10"
diag /tmp/mpath.out 12
is "the map is the disk's WWID" "$(timeout 20 multipath -ll "$WWID" 2>/dev/null | head -n1 | awk '{print $1}')" "$WWID"
check "reads through the multipath device" \
	timeout 60 dd if="/dev/mapper/$WWID" of=/dev/null bs=1M count=8 iflag=direct status=none

# The state switch an HA manager makes: one attribute write.
conf active/optimized standby
plan_ops >/tmp/plan.out
is "far -> standby: plan shows one operation" "$(wc -l </tmp/plan.out)" 1
is "... writing far's alua_access_state" \
	"$(sed -n 's/^~ \(core\/rd_mcp_[0-9]*\/aluadisk\/alua\/far alua_access_state\): "1" -> "2"$/x/p' /tmp/plan.out)" x
diag /tmp/plan.out 3
check "apply makes it" "$TM" apply
is "sg_rtpg: far standby" "$(rtpg "$dA")" "0x1=0x00 0x2=0x02"
wait_mpath "prio=1:enabled:$dB prio=50:active:$dA" "multipath -ll follows: far's path at prio 1 (standby)"

conf standby active/optimized far
plan_ops >/tmp/plan.out
is "the roles swap: plan shows two state and two preferred writes and nothing else" \
	"$(grep -c 'alua_access_state' /tmp/plan.out) $(grep -c 'preferred' /tmp/plan.out) $(wc -l </tmp/plan.out)" \
	"2 2 4"
check "apply swaps them" "$TM" apply
is "sg_rtpg: near standby, far optimized" "$(rtpg "$dB")" "0x1=0x02 0x2=0x00"
check "far is the preferred group now (Pref=1)" grep -q 'group id : 0x2 , Pref=1' /tmp/rtpg.out
wait_mpath "prio=1:enabled:$dA prio=50:active:$dB" \
	"multipath -ll follows: far's path is the active group now, near's at prio 1"
diag /tmp/mpath.out 12
check "reads go on through the multipath device" \
	timeout 60 dd if="/dev/mapper/$WWID" of=/dev/null bs=1M count=8 iflag=direct status=none
check "then nothing to do (plan exits 0)" "$TM" plan

# save writes the groups and the shared backstore back; applying that changes nothing.
"$TM" save -o /tmp/saved.conf >/dev/null 2>&1
check "save writes both groups with their ids and states" \
	grep -qzP '\[alua near\]\nid = 1\nstate = standby\n\n\[alua far\]\nid = 2\nstate = active/optimized\npreferred = yes\n' /tmp/saved.conf
is "... and both lun lines with name= and alua=" \
	"$(grep -c 'name=aluadisk .*alua=\(near\|far\)$' /tmp/saved.conf)" 2
mkdir -p /tmp/saved.d && cp /tmp/saved.conf /tmp/saved.d/
is "the saved file plans nothing" "$("$TM" -c /tmp/saved.d plan 2>&1)" "No changes."
[[ $("$TM" -c /tmp/saved.d plan 2>&1) == "No changes." ]] || diag /tmp/saved.conf 40

timeout 30 multipath -F >/dev/null 2>&1 || true
iscsiadm -m node --logoutall=all >/dev/null 2>&1 || true
check "clear" "$TM" clear
check "the backstore and its groups are gone" bash -c "! compgen -G '$BS'"
tap_done
