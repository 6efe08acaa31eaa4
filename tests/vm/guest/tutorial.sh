#!/bin/bash
# The tutorial on a real kernel: target files -> targetmgr apply -> LIO -> real initiators
# (open-iscsi for login/mkfs/mount, libiscsi for CHAP, ACL and VPD checks).
# Needs run-vm.sh --disk TMDISK1:256M --disk TMDISK2:64M.  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

T1=iqn.2021-02.com.example:target1
T2=iqn.2021-02.com.example:target2
T3=iqn.2021-02.com.example:target3
CONF=/etc/targetmgr/targets.d
mkdir -p "$CONF" /srv/iscsi /mnt/t1

echo "# kernel $(uname -r), initiator $INITIATOR"
start_iscsid

# --- 1. The tutorial's first target: a disk named by /dev/disk/by-id -----------------------
cat >"$CONF/target1.conf" <<CONF
[target $T1]
    lun 1 = /dev/disk/by-id/virtio-TMDISK1
CONF
check "by-id link of the VM disk exists" test -b /dev/disk/by-id/virtio-TMDISK1
check "targetmgr check accepts the tutorial's first target" "$TM" check
check "targetmgr apply creates it (modules loaded, configfs mounted by targetmgr)" "$TM" apply
check "configfs is mounted" grep -q ' /sys/kernel/config configfs ' /proc/mounts
check "iscsi_target_mod is loaded" test -d /sys/module/iscsi_target_mod
check "discovery lists target1" bash -c "iscsiadm -m discovery -t sendtargets -p $PORTAL | grep -q '$T1'"
check "login to target1" login "$T1"
dev=$(lun_dev "$T1" 1) && ok "LUN 1 appears as $dev" || not_ok "LUN 1 appears"
check "mkfs.ext4 on the iSCSI disk" mkfs.ext4 -q -F "$dev"
check "mount it" mount "$dev" /mnt/t1
echo "written through LIO $(date +%s)" >/mnt/t1/hello.txt
want=$(cat /mnt/t1/hello.txt)
check "umount" umount /mnt/t1
check "logout" logout "$T1"
check "login again" login "$T1"
dev=$(lun_dev "$T1" 1) || true
check "mount again" mount "$dev" /mnt/t1
is "the file written before logout is there" "$(cat /mnt/t1/hello.txt 2>&1)" "$want"
umount /mnt/t1
logout "$T1" >/dev/null

# --- 2. The second target: two LUNs, CHAP, an initiator ACL --------------------------------
OTHER=iqn.2026-11.test.targetmgr:intruder
cat >"$CONF/target2.conf" <<CONF
; tgt's incominguser + initiator-name, the targetmgr way
[target $T2]
	lun 1 = /dev/disk/by-id/virtio-TMDISK2
	lun 2 = /srv/iscsi/disk2.img size=32M   ; created sparse
	chap = iscsiuser pruebaiscsi2021
	initiator = $INITIATOR
CONF
check "apply adds target2" "$TM" apply
check "fileio backing file was created sparse" test "$(stat -c %s /srv/iscsi/disk2.img)" = 33554432
discover >/dev/null
node_chap "$T2" iscsiuser wrongsecret1234 >/dev/null
refuse "login with a wrong CHAP secret is refused" login "$T2"
node_no_auth "$T2" >/dev/null
refuse "login without CHAP is refused" login "$T2"
node_chap "$T2" iscsiuser pruebaiscsi2021 >/dev/null
check "login with the right user and secret" login "$T2"
d1=$(lun_dev "$T2" 1) && ok "target2 LUN 1 visible ($d1)" || not_ok "target2 LUN 1 visible"
d2=$(lun_dev "$T2" 2) && ok "target2 LUN 2 visible ($d2)" || not_ok "target2 LUN 2 visible"
# The LUN numbers the initiator sees, to compare with `show` below.
seen_luns=$(ls /dev/disk/by-path/ | sed -n "s/.*-iscsi-$T2-lun-\([0-9]*\)\$/\1/p" | sort -n | tr '\n' ' ')
is "open-iscsi sees exactly LUNs 1 and 2 of target2" "$seen_luns" "1 2 "
check "write to target2 LUN 2" dd if=/dev/urandom of="$d2" bs=64k count=4 oflag=direct status=none
check "logout of target2" logout "$T2"
URL="iscsi://iscsiuser%pruebaiscsi2021@$PORTAL/$T2/1"
check "the listed initiator is let in (libiscsi, -i $INITIATOR)" iscsi-inq -i "$INITIATOR" "$URL"
refuse "another initiator name is refused by the ACL" iscsi-inq -i "$OTHER" "$URL"

# --- 3. Mutual CHAP and discovery authentication -------------------------------------------
cat >"$CONF/target3.conf" <<CONF
[discovery]
chap = discuser discsecret1234

[target $T3]
lun 0 = ramdisk size=16M
chap = user3 secret3secret3
mutual-chap = target3 mutualsecret33
CONF
check "apply adds target3 and discovery auth" strace -f -y -o /tmp/apply1.strace -e trace=%file,write "$TM" apply
n=$(configfs_writes /tmp/apply1.strace | wc -l)
check "strace counts that apply's configfs writes ($n)" test "$n" -gt 20
iscsiadm -m discoverydb -t sendtargets -p "$PORTAL" -o delete >/dev/null 2>&1
refuse "discovery without credentials is refused" discover
iscsiadm -m discoverydb -t sendtargets -p "$PORTAL" -o new >/dev/null 2>&1
for kv in authmethod=CHAP username=discuser password=discsecret1234; do
	iscsiadm -m discoverydb -t sendtargets -p "$PORTAL" -o update \
		-n "discovery.sendtargets.auth.${kv%%=*}" -v "${kv#*=}" >/dev/null
done
check "discovery with the discovery credentials lists target3" \
	bash -c "iscsiadm -m discoverydb -t sendtargets -p $PORTAL --discover | grep -q '$T3'"
node_chap "$T3" user3 secret3secret3 target3 wrongmutual999 >/dev/null
refuse "mutual CHAP: the initiator refuses a target that does not know the mutual secret" login "$T3"
node_chap "$T3" user3 secret3secret3 target3 mutualsecret33 >/dev/null
check "mutual CHAP login succeeds with both secrets" login "$T3"
check "target3 LUN 0 visible" lun_dev "$T3" 0
check "logout of target3" logout "$T3"

# --- 4. Idempotence and show ---------------------------------------------------------------
strace -f -y -o /tmp/apply2.strace -e trace=%file,write "$TM" apply >/tmp/apply2.out 2>&1
rc=$?
is "a second apply succeeds" "$rc" 0
is "a second apply says nothing changed" "$(cat /tmp/apply2.out)" "No changes."
is "a second apply makes no configfs write (strace)" "$(configfs_writes /tmp/apply2.strace | wc -l)" 0
check "strace saw the second apply read configfs (the count above is not vacuous)" \
	grep -q 'openat([0-9]*</sys/kernel/config>, "target/iscsi/' /tmp/apply2.strace
echo "# second apply: $(grep -c 'openat(' /tmp/apply2.strace) openat calls, $(configfs_writes /tmp/apply2.strace | wc -l) writes"
check "targetmgr plan exits 0 with nothing to do" "$TM" plan

"$TM" show --json >/tmp/show.json
check "show --json lists the three targets" jq -e '.targets | length == 3' /tmp/show.json
"$TM" show >/tmp/show.txt
check "show prints the CHAP user" grep -q 'user iscsiuser' /tmp/show.txt
refuse "show never prints a secret" grep -rqE 'pruebaiscsi2021|secret3secret3|mutualsecret33|discsecret1234' /tmp/show.txt /tmp/show.json
lun_field() { jq -r --arg t "$1" --argjson l "$2" ".targets[] | select(.iqn == \$t) | .luns[] | select(.lun == \$l) | .backstore.$3" /tmp/show.json; }
for spec in "$T1 1" "$T2 1" "$T2 2" "$T3 0"; do
	set -- $spec
	url="iscsi://$PORTAL/$1/$2"
	[[ $1 == "$T2" ]] && url="iscsi://iscsiuser%pruebaiscsi2021@$PORTAL/$1/$2"
	[[ $1 == "$T3" ]] && url="iscsi://user3%secret3secret3@$PORTAL/$1/$2"
	size=$(iscsi-readcapacity16 -s -i "$INITIATOR" "$url" 2>&1)
	is "show: size of $1 LUN $2 is what READ CAPACITY reports" "$(lun_field "$1" "$2" size)" "$size"
	serial=$(iscsi-inq -i "$INITIATOR" -e 1 -c 128 "$url" 2>&1 | sed -n 's/^Unit Serial Number:\[\(.*\)\]$/\1/p')
	is "show: serial of $1 LUN $2 is what INQUIRY VPD 0x80 returns" "$(lun_field "$1" "$2" serial)" "$serial"
done
is "show: the LUN numbers of target2 are the ones open-iscsi saw" \
	"$(jq -r --arg t "$T2" '.targets[] | select(.iqn == $t) | .luns[].lun' /tmp/show.json | sort -n | tr '\n' ' ')" "$seen_luns"

# Stable identity: the serial is derived from the configuration, not random.
serial_before=$(lun_field "$T2" 2 serial)
is "serial is 32 hex digits" "$(grep -cE '^[0-9a-f]{32}$' <<<"$serial_before")" 1

# What the initiator saw and what targetmgr reports, for people reading the log.
echo "# --- initiator view (libiscsi REPORT LUNS / READ CAPACITY / INQUIRY) ---"
for spec in "$T1 1" "$T2 1" "$T2 2"; do
	set -- $spec
	url="iscsi://iscsiuser%pruebaiscsi2021@$PORTAL/$1/$2"
	echo "# $1 LUN $2: $(iscsi-readcapacity16 -s -i "$INITIATOR" "$url" 2>&1) bytes," \
		"$(iscsi-inq -i "$INITIATOR" -e 1 -c 128 "$url" 2>&1 | grep Serial)"
done
echo "# --- targetmgr show ---"
sed 's/^/# /' /tmp/show.txt

tap_done
