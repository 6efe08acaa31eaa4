#!/usr/bin/env bats
# targetmgr plan against stand-in configfs trees: the planner's output and exit status.  These
# prove the command line, not LIO: the real kernel is exercised in tests/vm.
load helpers

seed() {
	conf t.conf <<-EOF
	[target iqn.2021-02.com.example:t]
	lun 0 = ramdisk size=4M nullio
	chap = iscsiuser pruebaiscsi2021
	EOF
}

@test "plan on an empty kernel creates everything and exits 2" {
	seed
	run tm plan
	[ "$status" -eq 2 ]
	[[ "$output" =~ "+ backstore core/rd_mcp_10"[01][0-9]"/iqn.2021-02.com.example.t-lun0" ]]
	[[ "$output" == *"+ target iscsi/iqn.2021-02.com.example:t/tpgt_1"* ]]
	[[ "$output" == *"+ portal iscsi/iqn.2021-02.com.example:t/tpgt_1/np/0.0.0.0:3260"* ]]
	[[ "$output" == *"auth/password: (secret)"* ]]
	[[ "$output" != *pruebaiscsi2021* ]]
}

@test "diff is plan by another name" {
	seed
	run tm plan
	local planned=$output
	run tm diff
	[ "$status" -eq 2 ]
	[ "$output" = "$planned" ]
}

@test "plan --json lists typed operations and hides secrets" {
	seed
	run tm --json plan
	[ "$status" -eq 2 ]
	echo "$output" | jq -e '.changes == true'
	echo "$output" | jq -e '[.operations[] | select(.setting == "auth/password")][0].secret == true'
	# the fabric, the HBA, the backstore, its saved reservations, the target, its portal, its LUN
	echo "$output" | jq -e '[.operations[] | select(.op == "create")] | length == 7'
	[[ "$output" != *pruebaiscsi2021* ]]
}

@test "plan refuses to touch a target another tool made" {
	seed
	mkdir -p "$T/configfs/target/iscsi/iqn.2021-02.com.example:t/tpgt_1"
	run tm plan
	[ "$status" -eq 1 ]
	[[ "$output" == *"not created by targetmgr"* ]]
}

@test "bad files make plan fail before reading the kernel" {
	conf t.conf <<-EOF
	[target iqn.2021-02.com.example:t]
	lun x = ramdisk size=1M
	EOF
	run tm plan
	[ "$status" -eq 1 ]
	[[ "$output" == *"t.conf:2: error:"* ]]
}

@test "show on an empty kernel prints nothing and --json an empty state" {
	run "$TM" --json show
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.targets == [] and .backstores == []'
}
