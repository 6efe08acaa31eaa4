#!/usr/bin/env bats
# The scoped commands (--target IQN) on a stand-in configfs that the fakecfs shim makes act
# like LIO's: they read and change the named targets and the backstores only they use, and
# leave the other targets, their sessions and their ledger entries alone.
load helpers

A=iqn.2021-02.com.example:a
B=iqn.2021-02.com.example:b
FOREIGN=iqn.2003-01.org.example:foreign
HOSTA=iqn.1993-08.org.debian:01:aaaa
HOSTB=iqn.1993-08.org.debian:01:bbbb

seed() {
	conf a.conf <<-EOF
	[target $A]
	lun 0 = ramdisk size=4M
	lun 1 = ramdisk size=1M
	initiator = $HOSTA
	EOF
	conf b.conf <<-EOF
	[target $B]
	lun 0 = ramdisk size=2M
	initiator = $HOSTB
	EOF
}

tpg() {
	echo "$T/configfs/target/iscsi/$1/tpgt_1"
}

# The backstore directory LUN $2 of target $1 links, below configfs.
lun_backstore() {
	local link
	link=$(find "$(tpg "$1")/lun/lun_$2" -maxdepth 1 -type l)
	echo "$T/configfs/target/core/$(basename "$(dirname "$(readlink "$link")")")/$(basename "$(readlink "$link")")"
}

# A session of initiator $2 on target $1, as LIO's ACL info reports it.
log_in() {
	echo "InitiatorName: $2" >"$(tpg "$1")/acls/$2/info"
}

@test "apply --target makes that target only; the ledger lists only it" {
	fake_kernel
	seed
	run tm apply --target "$A"
	[ "$status" -eq 0 ]
	[ -d "$(tpg "$A")" ]
	[ ! -e "$T/configfs/target/iscsi/$B" ]
	grep -qx "target $A" "$T/state/owned"
	! grep -q "$B" "$T/state/owned"
	run tm plan --target "$A"
	[ "$status" -eq 0 ]
	[[ "$output" == *"No changes."* ]]
	run tm plan
	[ "$status" -eq 2 ]
	[[ "$output" == *"+ target iscsi/$B/tpgt_1"* ]]
	[[ "$output" != *"$A"* ]]
}

@test "plan --target: exit 2 on drift in that target only, 0 for the other" {
	fake_kernel
	seed
	run tm apply
	[ "$status" -eq 0 ]
	# LUN 1 of A removed by hand, as an administrator would with targetcli.
	rm "$(tpg "$A")"/lun/lun_1/*
	rmdir "$(tpg "$A")/lun/lun_1"
	run tm plan --target "$A"
	[ "$status" -eq 2 ]
	[[ "$output" == *"+ lun iscsi/$A/tpgt_1/lun/lun_1"* ]]
	run tm plan --target "$B"
	[ "$status" -eq 0 ]
	run tm apply --target "$A"
	[ "$status" -eq 0 ]
	run tm plan
	[ "$status" -eq 0 ]
}

@test "plan --target reads nothing of the other targets or their backstores" {
	command -v strace >/dev/null || skip "strace is not installed"
	fake_kernel
	seed
	run tm apply
	[ "$status" -eq 0 ]
	b_store=$(basename "$(lun_backstore "$B" 0)")
	# LeakSanitizer cannot run under ptrace; the other tests check leaks in the sanitizer build.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		LD_PRELOAD=$FAKECFS strace -f -y -o "$T/trace" -e trace=openat,newfstatat,readlinkat,getdents64 \
			"$TM" -c "$T/conf/a.conf" plan --target "$A" >/dev/null
	grep -q "$A/tpgt_1/lun" "$T/trace"
	! grep -q "$B" "$T/trace"
	! grep -q "$b_store" "$T/trace"
}

@test "clear --target removes that target and its backstores; the other target, its session and ledger entries stay" {
	fake_kernel
	seed
	run tm apply
	[ "$status" -eq 0 ]
	log_in "$B" "$HOSTB"
	a0=$(lun_backstore "$A" 0) b0=$(lun_backstore "$B" 0)
	TM_FAKECFS_LOG=$T/changes run tm clear --target "$A"
	[ "$status" -eq 0 ]
	[ ! -e "$T/configfs/target/iscsi/$A" ]
	[ ! -e "$a0" ]
	[ -d "$b0" ]
	! grep -q "$B" "$T/changes"
	[ "$(cat "$(tpg "$B")/acls/$HOSTB/info")" = "InitiatorName: $HOSTB" ]
	grep -qx "target $B" "$T/state/owned"
	! grep -q "$A" "$T/state/owned"
	run tm plan --target "$B"
	[ "$status" -eq 0 ]
}

@test "clear --target cuts the target's own session only with --force (exit 1 without)" {
	fake_kernel
	seed
	run tm apply
	[ "$status" -eq 0 ]
	log_in "$A" "$HOSTA"
	run tm clear --target "$A"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$A: the target has a logged-in session"* ]]
	run tm clear --target "$A" --force
	[ "$status" -eq 0 ]
	[ ! -e "$T/configfs/target/iscsi/$A" ]
	[ -d "$(tpg "$B")" ]
}

@test "clear --target keeps a backstore that another tool's target links too" {
	fake_kernel
	seed
	run tm apply --target "$A"
	[ "$status" -eq 0 ]
	a0=$(lun_backstore "$A" 0) a1=$(lun_backstore "$A" 1)
	# targetcli maps A's LUN 0 storage into its own target: the kernel counts two exports.
	mkdir -p "$T/configfs/target/iscsi/$FOREIGN/tpgt_1/lun/lun_0"
	ln -s "$a0" "$T/configfs/target/iscsi/$FOREIGN/tpgt_1/lun/lun_0/0123abcd"
	# (fakecfs does not count exports; a backstore without the attribute counts as the
	# scope's own, as a1 here.)
	mkdir -p "$a0/statistics/scsi_dev"
	echo 2 >"$a0/statistics/scsi_dev/ports"
	run tm plan --target "$A"
	[ "$status" -eq 0 ]
	run tm clear --target "$A"
	[ "$status" -eq 0 ]
	[[ "$output" != *"- backstore core/$(basename "$(dirname "$a0")")/$(basename "$a0")"* ]]
	[ ! -e "$T/configfs/target/iscsi/$A" ]
	[ -d "$a0" ]
	[ -L "$T/configfs/target/iscsi/$FOREIGN/tpgt_1/lun/lun_0/0123abcd" ]
	[ ! -e "$a1" ]
}

@test "a node without the ledger (failover): clear --target leaves the target, --adopt removes it" {
	fake_kernel
	seed
	run tm apply --target "$A"
	[ "$status" -eq 0 ]
	rm "$T/state/owned"
	run tm clear --target "$A"
	[ "$status" -eq 0 ]
	[[ "$output" == *"target $A: left alone (made by another tool)"* ]]
	[ -d "$(tpg "$A")" ]
	run tm apply --target "$A"
	[ "$status" -eq 1 ]
	[[ "$output" == *"exists and was not created by targetmgr (adopt it with --adopt)"* ]]
	run tm apply --adopt --target "$A"
	[ "$status" -eq 0 ]
	rm "$T/state/owned"
	run tm clear --adopt --target "$A"
	[ "$status" -eq 0 ]
	[ ! -e "$T/configfs/target/iscsi/$A" ]
	[ -z "$(find "$T/configfs/target/core" -mindepth 2)" ]
}

@test "unknown and invalid IQNs: not declared exits 1, not served exits 1 for show and 0 for clear, bad syntax 64" {
	fake_kernel
	seed
	for cmd in apply plan check; do
		run tm "$cmd" --target iqn.2021-02.com.example:nope
		[ "$status" -eq 1 ]
		[[ "$output" == *"target iqn.2021-02.com.example:nope is not declared in $T/conf"* ]]
	done
	[ ! -e "$T/configfs/target/iscsi" ]
	run tm show --target "$A"
	[ "$status" -eq 1 ]
	[[ "$output" == *"show: target $A does not exist"* ]]
	run tm clear --target "$A"
	[ "$status" -eq 0 ]
	[[ "$output" == *"No changes."* ]]
	run tm plan --target "not an iqn"
	[ "$status" -eq 64 ]
	run tm clear --adopt
	[ "$status" -eq 64 ]
	run tm save --target "$A"
	[ "$status" -eq 64 ]
}

@test "show and check --target: that target only" {
	fake_kernel
	seed
	run tm apply
	[ "$status" -eq 0 ]
	run tm show --target "$B"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$B"* ]]
	[[ "$output" != *"$A"* ]]
	run tm --json check --target "$A"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.targets, .luns, .mapped_luns]' <<<"$output")" = "[1,2,2]" ]
}

@test "plan --target keeps the dbroot while another tool's storage object exists" {
	fake_kernel
	seed
	echo /var/target >"$T/configfs/target/dbroot"
	run tm plan --target "$A"
	[ "$status" -eq 2 ]
	[[ "$output" == *"~ target dbroot: \"/var/target\" -> \"/etc/target\""* ]]
	mkdir -p "$T/configfs/target/core/rd_mcp_0/other"
	run tm plan --target "$A"
	[ "$status" -eq 2 ]
	[[ "$output" == *"+ target iscsi/$A/tpgt_1"* ]]
	[[ "$output" != *"~ target dbroot"* ]]
}
