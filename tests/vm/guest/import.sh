#!/bin/bash
# Moving in, on a real kernel (docs/migrating.md):
#  1. tgt: tgtd serves tgt's own files (targets.conf + conf.d, as the tgt package runs it);
#     open-iscsi logs in and records targets, LUN numbers, sizes and unit serials; tgt is
#     stopped as its unit stops it; `targetmgr import tgt -o` + `apply`; the same node records
#     log in again and must see the same.
#  2. targetcli: rtslib-fb, targetcli's library, builds a target (fileio + block, an ACL with
#     CHAP, a LUN number of its own, a write-protected mapped LUN, attributes) and saves
#     /etc/rtslib-fb-target/saveconfig.json as targetcli's saveconfig does; `targetctl clear`;
#     `targetmgr import saveconfig` + `apply`; `targetctl save` must list the same objects,
#     serials and attributes, and the initiator must see the same LUNs and serials.
# Needs run-vm.sh --disk TMIMP1:64M --disk TMIMP2:32M.  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

CONF=/etc/targetmgr/targets.d
T1=iqn.2021-02.com.example:imp1
T2=iqn.2021-02.com.example:imp2
SC=iqn.2003-01.org.example:saveconfig
mkdir -p /etc/tgt/conf.d /srv/iscsi /etc/rtslib-fb-target "$CONF"
export HOME=${HOME:-/root}
echo "# kernel $(uname -r), initiator $INITIATOR"
start_iscsid

# seen IQN...: what the initiator sees of each logged-in target, one line per LUN:
# "IQN lun N size BYTES serial SERIAL" (tgt's LUN 0 controller has no block device).
seen() {
	local iqn link lun dev
	for iqn in "$@"; do
		for link in /dev/disk/by-path/ip-$PORTAL:3260-iscsi-$iqn-lun-*; do
			[[ $link == *-part* || ! -e $link ]] && continue
			lun=${link##*-lun-}
			dev=$(readlink -f "$link")
			echo "$iqn lun $lun size $(blockdev --getsize64 "$dev")" \
				"serial $(sg_inq -p 0x80 "$dev" 2>/dev/null | sed -n 's/^ *Unit serial number: *//p' | sed 's/[[:space:]]*$//')"
		done
	done | sort
}

# login_all IQN...: logs in to each target and waits for its disks.
login_all() {
	local iqn
	for iqn in "$@"; do login "$iqn" >/dev/null || return 1; done
	udevadm settle -t 10 2>/dev/null
	sleep 1
}

logout_all() {
	local iqn
	for iqn in "$@"; do logout "$iqn" >/dev/null 2>&1; done
	udevadm settle -t 10 2>/dev/null
}

# ---- 1. tgt ----------------------------------------------------------------------------------
truncate -s 32M /srv/iscsi/tgt2.img
truncate -s 16M /srv/iscsi/tgt3.img
cat >/etc/tgt/targets.conf <<'EOF'
include /etc/tgt/conf.d/*.conf
EOF
cat >/etc/tgt/conf.d/imp.conf <<EOF
<target $T1>
    backing-store /dev/disk/by-id/virtio-TMIMP1
</target>

<target $T2>
    <backing-store /srv/iscsi/tgt2.img>
    </backing-store>
    <backing-store /srv/iscsi/tgt3.img>
        lun 5
        scsi_sn tgt3serial
    </backing-store>
    incominguser iscsiuser pruebaiscsi2021
    MaxRecvDataSegmentLength 65536
</target>
EOF

# As tgt.service runs it.
tgtd >/tmp/tgtd.log 2>&1
sleep 1
check "tgtd runs" pgrep -x tgtd
check "tgt-admin -e sets the targets up from targets.conf" tgt-admin -e -c /etc/tgt/targets.conf
# lists IQN...: discovery lists every one of them.
lists() {
	local out iqn
	out=$(discover) || return 1
	for iqn in "$@"; do [[ $out == *"$iqn"* ]] || return 1; done
}
check "discovery lists tgt's targets" lists "$T1" "$T2"
node_chap "$T2" iscsiuser pruebaiscsi2021 >/dev/null
check "login to tgt's targets" login_all "$T1" "$T2"
seen "$T1" "$T2" >/tmp/tgt-before.txt
diag /tmp/tgt-before.txt
is "tgt serves 3 disks" "$(wc -l </tmp/tgt-before.txt)" 3
logout_all "$T1" "$T2"

# As tgt.service stops it.
tgt-admin --offline ALL >/dev/null 2>&1
tgt-admin --update ALL -c /dev/null -f >/dev/null 2>&1
tgtadm --op delete --mode system >/dev/null 2>&1
for i in $(seq 1 50); do pgrep -x tgtd >/dev/null || break; sleep 0.2; done
refuse "tgtd has stopped" pgrep -x tgtd

"$TM" import tgt -o "$CONF" >/tmp/import-tgt.out 2>/tmp/import-tgt.err
is_rc "targetmgr import tgt -o writes the target files" "$?" 0 /tmp/import-tgt.err
diag /tmp/import-tgt.err
is "the file with CHAP is mode 0600" "$(stat -c %a "$CONF/$T2.conf" 2>&1)" 600
check "targetmgr check accepts them" "$TM" check
check "targetmgr apply serves them" "$TM" apply
check "the same node records log in again" login_all "$T1" "$T2"
seen "$T1" "$T2" >/tmp/tgt-after.txt
diag /tmp/tgt-after.txt
is "the initiator sees the same targets, LUN numbers, sizes and serials" \
	"$(cat /tmp/tgt-after.txt)" "$(cat /tmp/tgt-before.txt)"
logout_all "$T1" "$T2"
check "targetmgr clear" "$TM" clear
rm -f "$CONF"/*.conf

# ---- 2. targetcli's saveconfig.json ---------------------------------------------------------
truncate -s 24M /srv/iscsi/sc1.img
# What targetcli does, through the library it does it with (targetcli itself needs a system
# D-Bus, which the guest does not run): rtslib-fb objects, then RTSRoot.save_to_file(),
# targetcli's `saveconfig`.
cat >/tmp/build.py <<EOF
from rtslib_fb import (RTSRoot, FileIOStorageObject, BlockStorageObject, FabricModule, Target,
                       TPG, LUN, NetworkPortal, NodeACL, MappedLUN, ALUATargetPortGroup)
sc1 = FileIOStorageObject("sc1", "/srv/iscsi/sc1.img", size=25165824, write_back=False)
sc2 = BlockStorageObject("sc2", "/dev/disk/by-id/virtio-TMIMP2")
sc1.set_attribute("emulate_model_alias", 1)
sc2.set_attribute("emulate_model_alias", 1)
sc1.set_attribute("is_nonrot", 1)
tpg = TPG(Target(FabricModule("iscsi"), "$SC"), 1)
tpg.enable = True
NetworkPortal(tpg, "0.0.0.0", 3260)
tpg.set_parameter("MaxRecvDataSegmentLength", "131072")
l0 = LUN(tpg, 0, sc1)
l3 = LUN(tpg, 3, sc2)
# An ALUA group of sc1 (implicit, active/optimized, preferred) with LUN 0's port in it.
near = ALUATargetPortGroup(sc1, "near", 10)
near.alua_access_type = 1
near.preferred = 1
assert l0._set_alua_tg_pt_gp_name("near") == 0
acl = NodeACL(tpg, "$INITIATOR")
acl.chap_userid = "scuser"
acl.chap_password = "Sup3rS3cretPw"
MappedLUN(acl, 0, l0)
MappedLUN(acl, 3, l3, write_protect=True)
RTSRoot().save_to_file("/etc/rtslib-fb-target/saveconfig.json")
EOF
check "rtslib (targetcli's library) builds a target and saves saveconfig.json" python3 /tmp/build.py
check "saveconfig.json is written" test -s /etc/rtslib-fb-target/saveconfig.json

# The parts of a saveconfig that must survive, in a stable order.
summary() {
	jq -S '{
	  storage_objects: [.storage_objects[] | {name, plugin, dev, wwn, write_back,
	    is_nonrot: .attributes.is_nonrot, emulate_model_alias: .attributes.emulate_model_alias,
	    alua: [.alua_tpgs[]? | {name, tg_pt_gp_id, alua_access_type, alua_access_state,
	      preferred}] | sort_by(.name)}]
	    | sort_by(.name),
	  targets: [.targets[] | {wwn, tpgs: [.tpgs[] | {tag,
	    luns: [.luns[] | {index, storage_object, alua_tg_pt_gp_name}] | sort_by(.index),
	    portals: [.portals[] | {ip_address, port}],
	    mrdsl: .parameters.MaxRecvDataSegmentLength,
	    acls: [.node_acls[] | {node_wwn, chap_userid, chap_password_set: (.chap_password != null),
	      mapped_luns: [.mapped_luns[] | {index, tpg_lun, write_protect}] | sort_by(.index)}]}]}]
	}' "$1"
}
summary /etc/rtslib-fb-target/saveconfig.json >/tmp/sc-before.json
diag /tmp/sc-before.json 60
check "the saveconfig holds ALUA group near, with LUN 0 in it" \
	test "$(jq -c '[.storage_objects[].alua[] | select(.name == "near") | .tg_pt_gp_id], [.targets[].tpgs[].luns[] | select(.alua_tg_pt_gp_name == "near") | .index]' /tmp/sc-before.json | tr -d '\n')" = "[10][0]"
discover >/dev/null
node_chap "$SC" scuser Sup3rS3cretPw >/dev/null
check "login to the target" login_all "$SC"
seen "$SC" >/tmp/sc-seen-before.txt
diag /tmp/sc-seen-before.txt
logout_all "$SC"

check "targetctl clear" targetctl clear
"$TM" import saveconfig -o "$CONF" >/tmp/import-sc.out 2>/tmp/import-sc.err
is_rc "targetmgr import saveconfig -o (default path)" "$?" 0 /tmp/import-sc.err
diag /tmp/import-sc.err
check "the import declares [alua near]" grep -rqx '\[alua near\]' "$CONF"
check "targetmgr apply serves it" "$TM" apply
check "targetctl save lists what LIO serves now" targetctl save /tmp/sc-after-full.json
summary /tmp/sc-after-full.json >/tmp/sc-after.json
is "targetctl save: same objects, serials, write-back modes, ALUA groups, LUN numbers, ACLs, CHAP and attributes" \
	"$(cat /tmp/sc-after.json)" "$(cat /tmp/sc-before.json)"
diff /tmp/sc-before.json /tmp/sc-after.json | sed 's/^/#   | /' | head -n 30
# The secret itself, compared without printing it.
pw() { jq -r '.targets[].tpgs[].node_acls[].chap_password' "$1"; }
same_secret() {
	local a b
	a=$(pw /tmp/sc-after-full.json) b=$(pw /etc/rtslib-fb-target/saveconfig.json)
	[[ -n $b && $a == "$b" ]]
}
check "the ACL's CHAP secret is the same" same_secret
check "the same node record logs in again" login_all "$SC"
seen "$SC" >/tmp/sc-seen-after.txt
is "the initiator sees the same LUN numbers, sizes and serials" \
	"$(cat /tmp/sc-seen-after.txt)" "$(cat /tmp/sc-seen-before.txt)"
logout_all "$SC"
check "targetmgr clear" "$TM" clear

tap_done
