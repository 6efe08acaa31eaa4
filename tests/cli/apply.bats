#!/usr/bin/env bats
# targetmgr apply on a stand-in configfs that the fakecfs shim makes act like LIO's: what it
# creates, that a second run changes nothing, and its exit statuses (targetmgr(8)): 0 done,
# 1 refused before any change, 2 plan with changes pending, 3 partially applied, 64 usage.
# The real kernel is exercised in tests/vm.
load helpers

IQN=iqn.2021-02.com.example:t
TPG=target/iscsi/$IQN/tpgt_1

seed() {
	conf t.conf <<-EOF
	[target $IQN]
	lun 0 = ramdisk size=4M nullio
	chap = iscsiuser pruebaiscsi2021
	initiator = iqn.1993-08.org.debian:01:aaaa
	EOF
}

@test "apply on an empty kernel creates the declared objects and exits 0" {
	fake_kernel
	seed
	run tm apply
	[ "$status" -eq 0 ]
	[[ "$output" == *"Applied 14 of 14 operations: 9 created, 5 changed, 0 deleted."* ]]
	[[ "$output" != *pruebaiscsi2021* ]]
	local bs=("$T"/configfs/target/core/rd_mcp_*/iqn.2021-02.com.example.t-lun0)
	[ "$(cat "${bs[0]}/control")" = "rd_pages=1024,rd_nullio=1" ]
	[ "$(readlink "$T/configfs/$TPG/lun/lun_0/iqn.2021-02.com.example.t-lun0")" = "${bs[0]}" ]
	[ "$(cat "$T/configfs/$TPG/acls/iqn.1993-08.org.debian:01:aaaa/auth/password")" = pruebaiscsi2021 ]
	[ "$(cat "$T/configfs/$TPG/enable")" = 1 ]
	[ -d "$T/configfs/$TPG/np/0.0.0.0:3260" ]
	grep -q "$IQN" "$T/state/owned"
}

@test "a second apply makes no configfs change" {
	fake_kernel
	seed
	run tm apply
	[ "$status" -eq 0 ]
	TM_FAKECFS_LOG=$T/changes run tm apply
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
	[ ! -s "$T/changes" ]
}

@test "plan exits 2 while changes are pending and 0 once applied" {
	fake_kernel
	seed
	run tm plan
	[ "$status" -eq 2 ]
	run tm apply
	[ "$status" -eq 0 ]
	run tm plan
	[ "$status" -eq 0 ]
	# a changed declaration is pending again, changed in place
	sed -i 's/^chap = .*/chap = otheruser pruebaiscsi2022/' "$T/conf/t.conf"
	run tm plan
	[ "$status" -eq 2 ]
	[[ "$output" == *'auth/userid: "iscsiuser" -> "otheruser"'* ]]
	[[ "$output" != *pruebaiscsi2022* ]]
}

@test "apply exits 1 when the kernel refuses the first change, having changed nothing" {
	fake_kernel
	# The fabric exists already, so that the first phase holds one change (the RAM disk's
	# HBA): the fabric and the HBAs are made at once, in no fixed order.
	mkdir -p "$T/configfs/target/iscsi"
	seed
	TM_FAKECFS_FAIL=mkdir:1:ENOSPC TM_FAKECFS_LOG=$T/changes run tm apply
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot create core/rd_mcp_10"*" (target/core/rd_mcp_10"*"): No space left on device (ENOSPC)"* ]]
	[[ "$output" != *"partially applied"* ]]
	[[ "$(cat "$T/changes")" == "mkdir target/core/rd_mcp_10"* ]]
	[ "$(wc -l <"$T/changes")" -eq 1 ]
}

@test "apply exits 3 when partially applied, and the next run converges" {
	fake_kernel
	seed
	TM_FAKECFS_FAIL=symlink:1:EPERM TM_FAKECFS_LOG=$T/changes run tm apply
	[ "$status" -eq 3 ]
	[[ "$output" == *"cannot create iscsi/$IQN/tpgt_1/lun/lun_0 ($TPG/lun/lun_0/iqn.2021-02.com.example.t-lun0): Operation not permitted (EPERM)"* ]]
	[[ "$output" == *"partially applied: "*" of 14 operations done"* ]]
	# nothing after the failed link was started: one worker per target tree
	[ "$(tail -n 1 "$T/changes")" = "symlink $TPG/lun/lun_0/iqn.2021-02.com.example.t-lun0" ]
	run tm apply
	[ "$status" -eq 0 ]
	run tm plan
	[ "$status" -eq 0 ]
}

@test "bad target files make apply exit 1 before any change" {
	fake_kernel
	conf t.conf <<-EOF
	[target $IQN]
	lun x = ramdisk size=1M
	EOF
	TM_FAKECFS_LOG=$T/changes run tm apply
	[ "$status" -eq 1 ]
	[[ "$output" == *"t.conf:2: error:"* ]]
	[ ! -e "$T/changes" ]
}

@test "apply leaves a target another tool made alone and exits 1" {
	fake_kernel
	seed
	# with the groups the kernel makes along
	mkdir -p "$T/configfs/target/iscsi/discovery_auth" "$T/configfs/$TPG"/{np,lun,acls,attrib,auth,param}
	TM_FAKECFS_LOG=$T/changes run tm apply
	[ "$status" -eq 1 ]
	[[ "$output" == *"not created by targetmgr"* ]]
	[ ! -e "$T/changes" ]
	run tm apply --adopt
	[ "$status" -eq 0 ]
	[[ "$output" == *"target $IQN: adopted (made by another tool)"* ]]
	[ -L "$T/configfs/$TPG/lun/lun_0/iqn.2021-02.com.example.t-lun0" ]
}

@test "apply refuses options it does not take (exit 64)" {
	run tm apply --all
	[ "$status" -eq 64 ]
	run tm apply stray
	[ "$status" -eq 64 ]
}

@test "removing [discovery] turns discovery CHAP off; discovery CHAP another tool set stays" {
	local da=$T/configfs/target/iscsi/discovery_auth
	fake_kernel
	seed
	conf discovery.conf <<-EOF
	[discovery]
	chap = discuser discsecret1234
	mutual-chap = discback discsecret5678
	EOF
	run tm apply
	[ "$status" -eq 0 ]
	[ "$(cat "$da/enforce_discovery_auth")" = 1 ]
	grep -qx discovery "$T/state/owned"
	rm "$T/conf/discovery.conf"
	run tm plan
	[ "$status" -eq 2 ]
	[[ "$output" == *'discovery_auth enforce_discovery_auth: "1" -> "0"'* ]]
	[[ "$output" != *discsecret* ]]
	run tm apply
	[ "$status" -eq 0 ]
	[ "$(cat "$da/enforce_discovery_auth")" = 0 ]
	[ "$(cat "$da/userid")" = NULL ] && [ "$(cat "$da/password")" = NULL ]
	[ "$(cat "$da/userid_mutual")" = NULL ] && [ "$(cat "$da/password_mutual")" = NULL ]
	! grep -qx discovery "$T/state/owned"
	# Another tool's: the ledger does not list discovery, so apply leaves it alone.
	printf 1 >"$da/enforce_discovery_auth" && printf other >"$da/userid"
	run tm apply
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
	[ "$(cat "$da/enforce_discovery_auth")" = 1 ]
}

@test "settings the files stop declaring go back to LIO's defaults; only targetmgr's own" {
	local acl=$T/configfs/$TPG/acls/iqn.1993-08.org.debian:01:aaaa
	fake_kernel
	conf t.conf <<-EOF
	[target $IQN]
	lun 0 = ramdisk size=4M nullio attribute.emulate_3pc=0
	chap = iscsiuser pruebaiscsi2021
	mutual-chap = targetuser mutualsecret2021
	attribute.login_timeout = 30
	parameter.MaxRecvDataSegmentLength = 262144
	[initiator iqn.1993-08.org.debian:01:aaaa]
	attribute.nopin_timeout = 20
	EOF
	run tm apply
	[ "$status" -eq 0 ]
	local bs=("$T"/configfs/target/core/rd_mcp_*/iqn.2021-02.com.example.t-lun0)
	[ "$(cat "$acl/auth/userid_mutual")" = targetuser ]
	grep -qx "setting acl $IQN iqn.1993-08.org.debian:01:aaaa auth/password_mutual" "$T/state/owned"
	grep -qx "setting target $IQN attrib/login_timeout" "$T/state/owned"
	grep -qx "setting backstore ${bs[0]#"$T"/configfs/target/core/} attrib/emulate_3pc" "$T/state/owned"
	# What targetmgr derives for every target is not recorded.
	! grep -q "attrib/authentication" "$T/state/owned"
	seed # the same, without mutual-chap, attribute. and parameter. lines
	run tm plan
	[ "$status" -eq 2 ]
	[[ "$output" == *'auth/userid_mutual: "targetuser" -> "NULL" (no longer declared)'* ]]
	[[ "$output" == *'auth/password_mutual: (secret) (no longer declared)'* ]]
	[[ "$output" == *'attrib/login_timeout: "30" -> "15" (no longer declared)'* ]]
	[[ "$output" == *'param/MaxRecvDataSegmentLength: "262144" -> "8192" (no longer declared)'* ]]
	[[ "$output" == *'attrib/nopin_timeout: "20" -> "15" (no longer declared)'* ]]
	[[ "$output" == *'attrib/emulate_3pc: "0" -> "1" (no longer declared)'* ]]
	[[ "$output" == *"Plan: 0 to create, 6 to change, 0 to delete."* ]]
	[[ "$output" != *mutualsecret2021* ]]
	run tm plan --json
	[ "$(jq '[.operations[] | select(.released)] | length' <<<"$output")" = 6 ]
	[[ "$output" != *mutualsecret2021* ]]
	run tm apply
	[ "$status" -eq 0 ]
	[ "$(cat "$acl/auth/userid_mutual")" = NULL ] && [ "$(cat "$acl/auth/password_mutual")" = NULL ]
	[ "$(cat "$acl/auth/userid")" = iscsiuser ]
	[ "$(cat "$T/configfs/$TPG/attrib/login_timeout")" = 15 ]
	[ "$(cat "$T/configfs/$TPG/param/MaxRecvDataSegmentLength")" = 8192 ]
	[ "$(cat "$acl/attrib/nopin_timeout")" = 15 ]
	[ "$(cat "${bs[0]}/attrib/emulate_3pc")" = 1 ]
	! grep -q "^setting" "$T/state/owned"
	run tm apply
	[ "$output" = "No changes." ]
	# Set by another tool, on targetmgr's target: not the files' to take back.
	printf 30 >"$T/configfs/$TPG/attrib/login_timeout"
	run tm apply
	[ "$output" = "No changes." ]
	[ "$(cat "$T/configfs/$TPG/attrib/login_timeout")" = 30 ]
}

@test "a damaged setting line in the ledger is refused, naming its line" {
	fake_kernel
	seed
	run tm apply
	[ "$status" -eq 0 ]
	printf 'setting target %s\n' "$IQN" >>"$T/state/owned"
	TM_FAKECFS_LOG=$T/changes run tm apply
	[ "$status" -eq 1 ]
	[[ "$output" == *"owned:"*": error: damaged ownership ledger: not an entry targetmgr writes (expected 'setting target IQN PATH'"* ]]
	[ ! -e "$T/changes" ]
}
