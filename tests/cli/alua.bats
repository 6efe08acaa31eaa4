#!/usr/bin/env bats
# ALUA target port groups through the command line, on a stand-in configfs that the fakecfs
# shim makes act like LIO's: one RAM disk served by two targets, each port in its own group.
load helpers

A=iqn.2021-02.com.example:a
B=iqn.2021-02.com.example:b

# The backstore's directory below the configfs root, once applied (its HBA index comes from
# its name).
disk() {
	(cd "$T/configfs" && echo target/core/rd_mcp_*/disk)
}

# seed FAR_STATE: the target file.
seed() {
	conf alua.conf <<-EOF
	[alua near]
	state = active/optimized

	[alua far]
	state = $1

	[target $A]
	portal = 127.0.0.1:3260
	lun 0 = ramdisk size=4M name=disk alua=near

	[target $B]
	portal = 127.0.0.1:3261
	lun 0 = ramdisk size=4M name=disk alua=far
	EOF
}

@test "apply makes both groups on the one backstore and puts each port in its group" {
	fake_kernel
	seed active/non-optimized
	run tm apply
	[ "$status" -eq 0 ]
	DISK=$(disk)
	[ "$(cat "$T/configfs/$DISK/alua/near/tg_pt_gp_id")" = 1 ]
	[ "$(cat "$T/configfs/$DISK/alua/far/tg_pt_gp_id")" = 2 ]
	[ "$(cat "$T/configfs/$DISK/alua/far/alua_access_state")" = 1 ]
	[ "$(cat "$T/configfs/target/iscsi/$A/tpgt_1/lun/lun_0/alua_tg_pt_gp")" = near ]
	[ "$(cat "$T/configfs/target/iscsi/$B/tpgt_1/lun/lun_0/alua_tg_pt_gp")" = far ]
	run tm plan
	[ "$status" -eq 0 ]
}

@test "a state switch is one write, which plan shows" {
	fake_kernel
	seed active/non-optimized
	run tm apply
	[ "$status" -eq 0 ]
	DISK=$(disk)
	seed standby
	run tm plan
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "~ ${DISK#target/}/alua/far alua_access_state: \"1\" -> \"2\"" ]
	[ "${lines[1]}" = "Plan: 0 to create, 1 to change, 0 to delete." ]
	TM_FAKECFS_LOG=$T/changes run tm apply
	[ "$status" -eq 0 ]
	[ "$(cat "$T/changes")" = "write $DISK/alua/far/alua_access_state" ]
}

@test "a group that goes takes its port back to the default group first" {
	fake_kernel
	seed active/non-optimized
	run tm apply
	[ "$status" -eq 0 ]
	DISK=$(disk)
	sed -i 's/ alua=far//; /^\[alua far\]/,+1d' "$T/conf/alua.conf"
	TM_FAKECFS_LOG=$T/changes run tm apply
	[ "$status" -eq 0 ]
	[ "$(cat "$T/changes")" = "write target/iscsi/$B/tpgt_1/lun/lun_0/alua_tg_pt_gp
rmdir $DISK/alua/far" ]
	[ "$(cat "$T/configfs/target/iscsi/$B/tpgt_1/lun/lun_0/alua_tg_pt_gp")" = default_tg_pt_gp ]
	run tm plan
	[ "$status" -eq 0 ]
}

@test "save writes the groups and both LUN lines back; applying what it wrote changes nothing" {
	fake_kernel
	seed standby
	run tm apply
	[ "$status" -eq 0 ]
	run tm save
	[ "$status" -eq 0 ]
	[[ "$output" == *"lun 0 = ramdisk size=4M name=disk serial="*" alua=near"* ]]
	[[ "$output" == *"lun 0 = ramdisk size=4M name=disk serial="*" alua=far"* ]]
	[[ "$output" == *$'[alua far]\nid = 2\nstate = standby'* ]]
	mkdir "$T/saved"
	tm save -o "$T/saved/all.conf"
	LD_PRELOAD=$FAKECFS run "$TM" -c "$T/saved" plan
	[ "$status" -eq 0 ]
}

@test "check names the line of a LUN in an undeclared group" {
	conf t.conf <<-EOF
	[target $A]
	lun 0 = ramdisk size=4M alua=nowhere
	EOF
	run tm check
	[ "$status" -eq 1 ]
	[[ "$output" == *"t.conf:2: error: LUN 0: ALUA group 'nowhere' is not declared"* ]]
}

@test "show prints each LUN's group, its state and type, in text and JSON" {
	fake_kernel
	seed standby
	run tm apply
	[ "$status" -eq 0 ]
	run tm show
	[ "$status" -eq 0 ]
	[[ "$output" == *"ALUA group: near (id 1), active/optimized, implicit"* ]]
	[[ "$output" == *"ALUA group: far (id 2), standby, implicit"* ]]
	run tm show --json
	[ "$status" -eq 0 ]
	[ "$(jq -c --arg b "$B" '.targets[] | select(.iqn == $b) | .luns[0].alua' <<<"$output")" = \
		'{"group":"far","id":2,"state":"standby","type":"implicit","preferred":false}' ]
}
