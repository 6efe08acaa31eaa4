#!/usr/bin/env bats
# The global options (-c/--config, --configfs-root, --state-dir, --json) before or after the
# command, as with systemctl and nvme; the commands' own options stay theirs.
load helpers

IQN=iqn.2021-02.com.example:t

good() {
	conf good.conf <<-EOF
	[target $IQN]
	lun 0 = ramdisk size=4M
	EOF
}

@test "check -c FILE: the option after the command" {
	good
	printf '[target bad]\nlun 0 = ramdisk size=4M\n' >"$T/bad.conf"
	run "$TM" check -c "$T/conf/good.conf"
	[ "$status" -eq 0 ]
	run "$TM" check -c "$T/bad.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad.conf:1: error:"* ]]
	run "$TM" check --config="$T/bad.conf"
	[ "$status" -eq 1 ]
	run "$TM" check -c"$T/conf/good.conf"
	[ "$status" -eq 0 ]
}

@test "an option after the command overrides the one before it" {
	good
	printf '[target bad]\n' >"$T/bad.conf"
	run "$TM" -c "$T/bad.conf" check --config "$T/conf"
	[ "$status" -eq 0 ]
	run "$TM" -c "$T/conf" check -c "$T/bad.conf"
	[ "$status" -eq 1 ]
}

@test "plan --configfs-root DIR --state-dir DIR after the command" {
	good
	mkdir -p "$T/other/target/iscsi/$IQN/tpgt_1" "$T/other-state"
	unset TARGETMGR_CONFIGFS_ROOT TARGETMGR_STATE_DIR
	run "$TM" plan -c "$T/conf" --configfs-root "$T/configfs" --state-dir "$T/state"
	[ "$status" -eq 2 ]
	# a root holding the target, made by another tool as far as this ledger knows
	run "$TM" plan --configfs-root="$T/other" -c "$T/conf" --state-dir="$T/other-state"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not created by targetmgr"* ]]
}

@test "--json after the command" {
	good
	run "$TM" plan --json -c "$T/conf"
	[ "$status" -eq 2 ]
	echo "$output" | jq -e '.changes == true'
	run "$TM" check -c "$T/conf" --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.valid == true'
}

@test "the commands' own options mix with the global ones" {
	good
	run "$TM" save --all -c "$T/conf" -o "$T/out.conf" --state-dir "$T/state"
	[ "$status" -eq 0 ]
	[ -f "$T/out.conf" ]
	run "$TM" clear --force --configfs-root "$T/configfs"
	[ "$status" -eq 0 ]
}

@test "a command's option stays refused before the command and by other commands" {
	good
	run "$TM" --force clear
	[ "$status" -eq 64 ]
	run "$TM" check --force -c "$T/conf"
	[ "$status" -eq 64 ]
	run "$TM" plan -c "$T/conf" -o "$T/x"
	[ "$status" -eq 64 ]
	run "$TM" check -c
	[ "$status" -eq 64 ]
}
