#!/usr/bin/env bats
# targetmgr clear on a stand-in configfs that the fakecfs shim makes act like LIO's: it
# removes what targetmgr made and only that, and its exit statuses.
load helpers

IQN=iqn.2021-02.com.example:t
FOREIGN=iqn.2003-01.org.example:foreign

seed() {
	conf t.conf <<-EOF
	[target $IQN]
	lun 0 = ramdisk size=4M
	lun 1 = ramdisk size=1M
	initiator = iqn.1993-08.org.debian:01:aaaa
	EOF
}

# Objects another tool (targetcli) made: a target with a LUN on its own backstore.
foreign_objects() {
	local tpg=target/iscsi/$FOREIGN/tpgt_1
	mkdir -p "$T/configfs/target/core/rd_mcp_0/disk" "$T/configfs/$tpg/lun/lun_0" \
		"$T/configfs/target/iscsi/discovery_auth" "$T/configfs/$tpg"/{np,acls,attrib,auth,param}
	ln -s "$T/configfs/target/core/rd_mcp_0/disk" "$T/configfs/$tpg/lun/lun_0/0123abcd"
	echo 1 >"$T/configfs/$tpg/enable"
}

@test "clear removes what apply made and exits 0; plan then has it all to do again" {
	fake_kernel
	seed
	run tm apply
	[ "$status" -eq 0 ]
	run tm clear
	[ "$status" -eq 0 ]
	[[ "$output" == *" 0 created, "*" deleted."* ]]
	[ "$(ls "$T/configfs/target/iscsi")" = discovery_auth ]
	[ -z "$(ls "$T/configfs/target/core")" ]
	run tm plan
	[ "$status" -eq 2 ]
}

@test "clear removes only targetmgr's objects" {
	fake_kernel
	seed
	foreign_objects
	run tm apply
	[ "$status" -eq 0 ]
	run tm clear
	[ "$status" -eq 0 ]
	[ "$(ls "$T/configfs/target/iscsi")" = "$(printf 'discovery_auth\n%s' "$FOREIGN")" ]
	[ "$(ls "$T/configfs/target/core")" = rd_mcp_0 ]
	[ -L "$T/configfs/target/iscsi/$FOREIGN/tpgt_1/lun/lun_0/0123abcd" ]
	[ "$(cat "$T/configfs/target/iscsi/$FOREIGN/tpgt_1/enable")" = 1 ]
}

@test "clear on a kernel without targetmgr's objects changes nothing" {
	fake_kernel
	foreign_objects
	TM_FAKECFS_LOG=$T/changes run tm clear
	[ "$status" -eq 0 ]
	[[ "$output" == *"target $FOREIGN: left alone (made by another tool)"* ]]
	[[ "$output" == *"No changes." ]]
	[ ! -e "$T/changes" ]
}

@test "clear will not cut off a logged-in initiator without --force (exit 1)" {
	fake_kernel
	seed
	run tm apply
	[ "$status" -eq 0 ]
	echo "InitiatorName: iqn.1993-08.org.debian:01:aaaa" \
		>"$T/configfs/target/iscsi/$IQN/tpgt_1/acls/iqn.1993-08.org.debian:01:aaaa/info"
	TM_FAKECFS_LOG=$T/changes run tm clear
	[ "$status" -eq 1 ]
	[[ "$output" == *"$IQN: the target has a logged-in session"* ]]
	[ ! -e "$T/changes" ]
	run tm clear --force
	[ "$status" -eq 0 ]
	[ "$(ls "$T/configfs/target/iscsi")" = discovery_auth ]
}

@test "clear exits 3 when the kernel refuses partway, and the next clear finishes" {
	fake_kernel
	seed
	run tm apply
	[ "$status" -eq 0 ]
	TM_FAKECFS_FAIL=rmdir:2:EBUSY run tm clear
	[ "$status" -eq 3 ]
	[[ "$output" == *"Device or resource busy (EBUSY)"* ]]
	[[ "$output" == *"partially applied: "* ]]
	[ -d "$T/configfs/target/iscsi/$IQN" ]
	run tm clear
	[ "$status" -eq 0 ]
	[ "$(ls "$T/configfs/target/iscsi")" = discovery_auth ]
}

@test "clear refuses options it does not take (exit 64)" {
	run tm clear --adopt
	[ "$status" -eq 64 ]
	run tm clear -o x
	[ "$status" -eq 64 ]
}
