#!/bin/bash
# Issue 10, "Access": who gets in, proven with real open-iscsi logins. Three initiator names
# come from iscsiadm ifaces (iface.initiatorname), all on this guest:
#   alice   named by every target;
#   carol   named by the ACL target in an [initiator] section that gives her LUN 0 only;
#   mallory named nowhere.
# Proves: an initiator outside the ACL cannot log in (LIO says so in the kernel log) and
# sees no LUN; a LUN masked for one initiator is not reported to her; wrong user, wrong
# secret and missing CHAP are refused; a target that does not know the mutual secret is
# refused by the initiator, and once the file drops mutual-chap (and an attribute and a
# parameter) they go back to LIO's defaults; with discovery CHAP on, sendtargets without credentials lists
# nothing and with them lists the targets, and removing [discovery] turns it off (but not
# discovery CHAP another tool set); a read-only (`ro`) LUN refuses a WRITE sent
# straight through SG_IO with DATA PROTECT / WRITE PROTECTED, and its data stays the same.
# No disks needed. Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

TA=iqn.2026-12.test.targetmgr:acl
TC=iqn.2026-12.test.targetmgr:chap
TMU=iqn.2026-12.test.targetmgr:mutual
ALICE=iqn.2026-12.test.targetmgr:alice
CAROL=iqn.2026-12.test.targetmgr:carol
MALLORY=iqn.2026-12.test.targetmgr:mallory
CONF=/etc/targetmgr/targets.d
mkdir -p "$CONF" /srv/iscsi

echo "# kernel $(uname -r)"
modprobe sg
start_iscsid

# iface NAME INITIATOR: an open-iscsi interface that logs in under its own initiator name.
iface() {
	iscsiadm -m iface -I "$1" -o new >/dev/null &&
		iscsiadm -m iface -I "$1" -o update -n iface.transport_name -v tcp >/dev/null &&
		iscsiadm -m iface -I "$1" -o update -n iface.initiatorname -v "$2" >/dev/null
}
# node IFACE IQN [NAME VALUE]...: sets the node record of IQN through IFACE (discovery
# through all three ifaces made one record per target and iface).
node() {
	local i=$1 t=$2
	shift 2
	while (($# >= 2)); do
		iscsiadm -m node -T "$t" -p "$PORTAL" -I "$i" -o update -n "$1" -v "$2" >/dev/null || return 1
		shift 2
	done
}
# auth IFACE IQN USER SECRET [IN_USER IN_SECRET] / noauth IFACE IQN
auth() {
	node "$1" "$2" node.session.auth.authmethod CHAP node.session.auth.username "$3" \
		node.session.auth.password "$4" node.session.auth.username_in "${5:-}" \
		node.session.auth.password_in "${6:-}"
}
noauth() { node "$1" "$2" node.session.auth.authmethod None; }
login_as() { iscsiadm -m node -T "$2" -p "$PORTAL" -I "$1" --login; }
logout_as() { iscsiadm -m node -T "$2" -p "$PORTAL" -I "$1" --logout; }
# sessions_to IQN: how many sessions this host has to IQN.
# ("tcp: [1] 127.0.0.1:3260,1 IQN (non-flash)")
sessions_to() { iscsiadm -m session 2>/dev/null | grep -cF " $1 "; }
# luns_of IQN: the LUN numbers udev made by-path links for, in order.
luns_of() {
	udevadm settle -t 10 2>/dev/null
	find /dev/disk/by-path -name "*-iscsi-$1-lun-*" -printf '%f\n' 2>/dev/null |
		sed 's/.*-lun-//' | sort -n | tr '\n' ' '
}
# sg_of DEV: the SCSI generic node of a disk (/dev/sdX -> /dev/sgN).
sg_of() { echo "/dev/$(ls "/sys/block/${1#/dev/}/device/scsi_generic/")"; }
# write10 SGDEV: a WRITE(10) of 8 blocks of 512 bytes at LBA 0 through SG_IO, bypassing the
# block layer (and the read-only flag sd sets from the mode page): what the target answers.
write10() { sg_raw -v -s 4096 -i /tmp/pattern "$1" 2a 00 00 00 00 00 00 00 08 00 2>&1; }

iface ifalice "$ALICE" && iface ifcarol "$CAROL" && iface ifmallory "$MALLORY"
check "three open-iscsi ifaces with their own initiator names" \
	bash -c "iscsiadm -m iface -I ifmallory | grep -q 'iface.initiatorname = $MALLORY'"

# The read-only LUN's file holds known data before targetmgr ever sees it.
head -c 16M /dev/urandom >/srv/iscsi/ro.img
ro_sum=$(md5sum </srv/iscsi/ro.img)
head -c 4096 /dev/urandom >/tmp/pattern
cat >"$CONF/access.conf" <<CONF
[target $TA]
lun 0 = /srv/iscsi/rw.img size=16M
lun 1 = /srv/iscsi/ro.img ro
initiator = $ALICE

[initiator $CAROL]
luns = 0

[target $TC]
lun 0 = ramdisk size=8M
chap = chapuser chapsecret1234
initiator = $ALICE

[target $TMU]
lun 0 = ramdisk size=8M
chap = muser msecret123456
mutual-chap = mtarget mutualsecret99
attribute.login_timeout = 20
parameter.MaxRecvDataSegmentLength = 65536
initiator = $ALICE
CONF
check "targetmgr apply: an ACL target with a ro LUN, a CHAP target, a mutual-CHAP target" "$TM" apply
check "sendtargets through the three ifaces makes their node records" \
	iscsiadm -m discovery -t sendtargets -p "$PORTAL" -I ifalice -I ifcarol -I ifmallory

# --- the ACL -------------------------------------------------------------------------------
echo "# --- ACL"
for i in ifalice ifcarol ifmallory; do noauth "$i" "$TA"; done
dmesg -C
login_as ifmallory "$TA" >/tmp/mallory.out 2>&1
rc=$?
diag /tmp/mallory.out 3
refuse "mallory (outside the ACL) cannot log in (iscsiadm exit $rc)" test "$rc" = 0
check "the kernel says mallory is not authorized for the portal group" \
	bash -c "dmesg | grep -q 'iSCSI Initiator Node: $MALLORY is not authorized'"
is "mallory has no session and no LUN of $TA" "$(sessions_to "$TA")/$(luns_of "$TA")" "0/"
check "alice (in the ACL) logs in" login_as ifalice "$TA"
lun_dev "$TA" 1 >/dev/null
is "alice sees LUNs 0 and 1" "$(luns_of "$TA")" "0 1 "
check "carol (in the ACL, LUN 0 only) logs in" login_as ifcarol "$TA"
is "two sessions to $TA, alice's and carol's" "$(sessions_to "$TA")" 2
# carol's REPORT LUNS, through her own session's LUN 0 (by-path links do not name ifaces).
carol_dev=''
for s in /sys/class/iscsi_session/session*; do
	[[ $(cat "$s/initiatorname" 2>/dev/null) == "$CAROL" ]] || continue
	for d in "$s"/device/target*/*/block/*; do [[ -e $d ]] && carol_dev=/dev/${d##*/}; done
done
carol_luns=$(sg_luns "$carol_dev" 2>/dev/null | grep -cE '^[[:space:]]+[0-9a-f]{16}[[:space:]]*$')
is "carol's REPORT LUNS lists one LUN (LUN 1 is masked for her) ($carol_dev)" "$carol_luns" 1
logout_as ifcarol "$TA" >/dev/null

# --- the read-only LUN ---------------------------------------------------------------------
echo "# --- read-only LUN"
rw=$(lun_dev "$TA" 0) ro=$(lun_dev "$TA" 1)
check "sd reads the write-protect bit of LUN 1 from the target (ro flag on $ro)" \
	test "$(cat "/sys/block/${ro#/dev/}/ro")" = 1
is "... and not on LUN 0 ($rw)" "$(cat "/sys/block/${rw#/dev/}/ro" 2>&1)" 0
out=$(write10 "$(sg_of "$rw")")
rc=$?
is "a WRITE(10) through SG_IO to the writable LUN 0 succeeds" "$rc" 0
out=$(write10 "$(sg_of "$ro")")
rc=$?
printf '%s\n' "$out" | grep -iE 'sense|protect' | head -n 4 | sed 's/^/#   /'
refuse "a WRITE(10) through SG_IO to the ro LUN 1 fails (sg_raw exit $rc)" test "$rc" = 0
check "... with sense key DATA PROTECT" grep -qi 'data protect' <<<"$out"
check "... and additional sense WRITE PROTECTED" grep -qi 'write protected' <<<"$out"
refuse "a direct write through the block device fails too" \
	dd if=/tmp/pattern of="$ro" bs=4096 count=1 oflag=direct status=none
is "the ro LUN's backing file is unchanged" "$(md5sum </srv/iscsi/ro.img)" "$ro_sum"
is "reading the ro LUN through the initiator gives the file's data" \
	"$(dd if="$ro" bs=1M count=16 iflag=direct status=none | md5sum)" "$ro_sum"
logout_as ifalice "$TA" >/dev/null

# --- CHAP ----------------------------------------------------------------------------------
echo "# --- CHAP"
auth ifalice "$TC" chapuser wrongsecret123
refuse "wrong CHAP secret refused" login_as ifalice "$TC"
auth ifalice "$TC" wronguser chapsecret1234
refuse "wrong CHAP user refused" login_as ifalice "$TC"
noauth ifalice "$TC"
refuse "no CHAP at all refused" login_as ifalice "$TC"
auth ifmallory "$TC" chapuser chapsecret1234
refuse "the right secret from an initiator outside the ACL refused" login_as ifmallory "$TC"
is "no session to $TC after four refusals" "$(sessions_to "$TC")" 0
auth ifalice "$TC" chapuser chapsecret1234
check "the right user and secret from alice log in" login_as ifalice "$TC"
check "... and see LUN 0" lun_dev "$TC" 0
logout_as ifalice "$TC" >/dev/null

echo "# --- mutual CHAP"
auth ifalice "$TMU" muser msecret123456 mtarget wrongmutual999
refuse "the initiator refuses a target that answers with another mutual secret" login_as ifalice "$TMU"
auth ifalice "$TMU" muser msecret123456 wronguser9 mutualsecret99
refuse "the initiator refuses a target that answers under another mutual user" login_as ifalice "$TMU"
auth ifalice "$TMU" muser wrongsecret123 mtarget mutualsecret99
refuse "a wrong forward secret with the right mutual one refused" login_as ifalice "$TMU"
is "no session to $TMU after three refusals" "$(sessions_to "$TMU")" 0
auth ifalice "$TMU" muser msecret123456 mtarget mutualsecret99
check "both secrets right: login" login_as ifalice "$TMU"
check "... and LUN 0 visible" lun_dev "$TMU" 0
logout_as ifalice "$TMU" >/dev/null

# Settings the files stop declaring go back to LIO's: the ledger remembers the declared ones.
echo "# --- settings no longer declared"
TPGM=$CFS/target/iscsi/$TMU/tpgt_1
check "the ledger records the ACL's declared mutual CHAP user" \
	grep -qx "setting acl $TMU $ALICE auth/userid_mutual" /run/targetmgr/owned
sed -i '/^mutual-chap = mtarget/d; /^attribute.login_timeout/d; /^parameter.MaxRecvData/d' \
	"$CONF/access.conf"
out=$("$TM" plan 2>&1)
is "plan: the mutual user and secret, the attribute and the parameter go back" \
	"$(grep -c '(no longer declared)' <<<"$out")" 4
diag <(echo "$out")
refuse "... and the plan shows no secret" grep -q mutualsecret99 <<<"$out"
check "apply" "$TM" apply
is "... the ACL's mutual CHAP user and secret read NULL" \
	"$(cat "$TPGM/acls/$ALICE/auth/userid_mutual")/$(cat "$TPGM/acls/$ALICE/auth/password_mutual")" NULL/NULL
is "... login_timeout and MaxRecvDataSegmentLength are LIO's again" \
	"$(cat "$TPGM/attrib/login_timeout")/$(cat "$TPGM/param/MaxRecvDataSegmentLength")" 15/8192
refuse "... and the ledger no longer records the mutual CHAP user" \
	grep -qx "setting acl $TMU $ALICE auth/userid_mutual" /run/targetmgr/owned
check "plan afterwards: nothing to do" "$TM" plan
refuse "an initiator asking the target for the old mutual secret is refused" login_as ifalice "$TMU"
auth ifalice "$TMU" muser msecret123456
check "one-way CHAP logs in" login_as ifalice "$TMU"
check "... and LUN 0 visible" lun_dev "$TMU" 0
logout_as ifalice "$TMU" >/dev/null

# --- discovery CHAP ------------------------------------------------------------------------
echo "# --- discovery CHAP"
st() { iscsiadm -m discovery -t sendtargets -p "$PORTAL" -I ifalice 2>&1; }
is "before discovery auth: sendtargets lists the three targets" "$(st | grep -c 'iqn.2026-12.test.targetmgr:')" 3
cat >"$CONF/discovery.conf" <<CONF
[discovery]
chap = discuser discsecret1234
CONF
check "apply turns discovery CHAP on" "$TM" apply
iscsiadm -m discoverydb -t sendtargets -p "$PORTAL" -o delete >/dev/null 2>&1
out=$(st)
rc=$?
refuse "sendtargets without credentials fails (exit $rc)" test "$rc" = 0
is "... and lists no target" "$(grep -c 'iqn\.' <<<"$out")" 0
iscsiadm -m discoverydb -t sendtargets -p "$PORTAL" -o new >/dev/null 2>&1
dset() { iscsiadm -m discoverydb -t sendtargets -p "$PORTAL" -o update -n "discovery.sendtargets.auth.$1" -v "$2" >/dev/null; }
dset authmethod CHAP && dset username discuser && dset password wrongsecret999
out=$(iscsiadm -m discoverydb -t sendtargets -p "$PORTAL" --discover 2>&1)
is "sendtargets with a wrong discovery secret lists no target" "$(grep -c 'iqn\.' <<<"$out")" 0
dset password discsecret1234
out=$(iscsiadm -m discoverydb -t sendtargets -p "$PORTAL" --discover 2>&1)
# One line per target and iface record (the three ifaces have records): count targets.
is "sendtargets with the discovery credentials lists the three targets" \
	"$(grep -o 'iqn.2026-12.test.targetmgr:[a-z]*' <<<"$out" | sort -u | wc -l)" 3

check "plan afterwards: nothing to do" "$TM" plan
check "the ledger records discovery CHAP as targetmgr's" grep -qx discovery /run/targetmgr/owned
# Removing [discovery] turns discovery CHAP off again (enforcement 0, credentials cleared).
DA=$CFS/target/iscsi/discovery_auth
rm -f "$CONF/discovery.conf"
check "apply with [discovery] removed" "$TM" apply
is "... enforce_discovery_auth reads 0" "$(cat "$DA/enforce_discovery_auth")" 0
is "... the discovery CHAP user is cleared" "$(cat "$DA/userid")" NULL
iscsiadm -m discoverydb -t sendtargets -p "$PORTAL" -o delete >/dev/null 2>&1
out=$(st)
is "sendtargets without credentials lists the three targets again" \
	"$(grep -o 'iqn.2026-12.test.targetmgr:[a-z]*' <<<"$out" | sort -u | wc -l)" 3
check "plan afterwards: nothing to do" "$TM" plan
refuse "the ledger no longer lists discovery" grep -qx discovery /run/targetmgr/owned
# Discovery CHAP that another tool set (written by hand here) is not targetmgr's to undo.
printf %s discother >"$DA/userid" && printf %s othersecret1234 >"$DA/password" &&
	printf 1 >"$DA/enforce_discovery_auth"
check "apply with discovery CHAP set by another tool" "$TM" apply
is "... leaves it enforced" "$(cat "$DA/enforce_discovery_auth")" 1
printf 0 >"$DA/enforce_discovery_auth"
iscsiadm -m session >/dev/null 2>&1 && iscsiadm -m node --logoutall=all >/dev/null 2>&1
check "targetmgr clear" "$TM" clear
tap_done
