#!/usr/bin/env bats
# The OCF resource agent tools/ocf/target against the fakecfs stand-in, with resource-agents'
# own ocf-shellfuncs and ocf-tester: OCF exit codes, and that it acts on its targets only.
# The real kernel's run is tests/vm/guest/ocf.sh.
load helpers

AGENT=$BATS_TEST_DIRNAME/../../tools/ocf/target
A=iqn.2021-02.com.example:a
B=iqn.2021-02.com.example:b

# OCF exit codes (OCF resource agent API 1.0).
OCF_SUCCESS=0 OCF_ERR_GENERIC=1 OCF_ERR_INSTALLED=5 OCF_ERR_CONFIGURED=6 OCF_NOT_RUNNING=7

setup_file() {
	[[ -r /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs ]] ||
		skip "resource-agents is not installed (tests/install-deps installs it)"
}

# agent ACTION [NAME=VALUE...]: runs the agent as Pacemaker would, on target A by default.
agent() {
	local action=$1
	shift
	env OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=tgt OCF_RESKEY_iqns="$A" \
		OCF_RESKEY_config="$T/conf" OCF_RESKEY_targetmgr="$T/targetmgr" "$@" \
		"$AGENT" "$action"
}

setup() {
	T=$(mktemp -d)
	mkdir -p "$T/conf" "$T/configfs/target/core" "$T/state"
	export TARGETMGR_CONFIGFS_ROOT=$T/configfs TARGETMGR_STATE_DIR=$T/state
	# The agent runs targetmgr by the name it is given: this one preloads the shim.
	printf '#!/bin/sh\nLD_PRELOAD=%s exec %s "$@"\n' "$FAKECFS" "$TM" >"$T/targetmgr"
	chmod +x "$T/targetmgr"
	conf a.conf <<-EOF
	[target $A]
	lun 0 = ramdisk size=4M
	lun 1 = ramdisk size=1M
	initiator = iqn.1993-08.org.debian:01:aaaa
	EOF
	conf b.conf <<-EOF
	[target $B]
	lun 0 = ramdisk size=2M
	EOF
}

@test "meta-data is valid against resource-agents' DTD and names the agreed parameters" {
	run agent meta-data
	[ "$status" -eq "$OCF_SUCCESS" ]
	(cd /usr/share/resource-agents && xmllint --noout --valid - <<<"$output")
	for p in iqns config targetmgr; do
		[[ "$output" == *"<parameter name=\"$p\""* ]]
	done
	[[ "$output" == *"20 s + 0.1 s x (L + M)"* ]]
}

@test "ocf-tester passes" {
	run /usr/sbin/ocf-tester -n tgt -o iqns="$A" -o config="$T/conf" \
		-o targetmgr="$T/targetmgr" "$AGENT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"passed all tests"* ]]
}

@test "start, monitor, drift, stop: exit codes, and the other target untouched" {
	"$T/targetmgr" -c "$T/conf" apply --target "$B"
	b_before=$(find "$T/configfs/target/iscsi/$B" | sort)
	run agent monitor
	[ "$status" -eq "$OCF_NOT_RUNNING" ]
	# 2 LUNs and 2 mapped LUNs: 20.4 s by the meta-data's formula, a warning below it.
	run agent start OCF_RESKEY_CRM_meta_timeout=20000
	[ "$status" -eq "$OCF_SUCCESS" ]
	[[ "$output" == *"start timeout 20000 ms is below 20 s + 0.1 s x 4 LUNs and mapped LUNs = 20400 ms"* ]]
	run agent monitor
	[ "$status" -eq "$OCF_SUCCESS" ]
	# A LUN removed by hand: with repair=false the monitor fails, and the cluster recovers the
	# resource; a probe never writes.
	rm "$T/configfs/target/iscsi/$A/tpgt_1/lun/lun_1"/*
	rmdir "$T/configfs/target/iscsi/$A/tpgt_1/lun/lun_1"
	run agent monitor OCF_RESKEY_repair=false
	[ "$status" -eq "$OCF_ERR_GENERIC" ]
	[[ "$output" == *"differ from the target files"* ]]
	run agent monitor OCF_RESKEY_CRM_meta_interval=0
	[ "$status" -eq "$OCF_ERR_GENERIC" ]
	[ ! -e "$T/configfs/target/iscsi/$A/tpgt_1/lun/lun_1" ]
	# A recurring monitor (repair=true by default) puts the LUN back in place and succeeds.
	run agent monitor OCF_RESKEY_CRM_meta_interval=10000
	[ "$status" -eq "$OCF_SUCCESS" ]
	[[ "$output" == *"drift, repaired in place"* ]]
	[ -L "$(ls -d "$T/configfs/target/iscsi/$A/tpgt_1/lun/lun_1"/* | head -1)" ]
	run agent monitor
	[ "$status" -eq "$OCF_SUCCESS" ]
	run agent stop
	[ "$status" -eq "$OCF_SUCCESS" ]
	[ ! -e "$T/configfs/target/iscsi/$A" ]
	run agent monitor
	[ "$status" -eq "$OCF_NOT_RUNNING" ]
	run agent stop
	[ "$status" -eq "$OCF_SUCCESS" ]
	[ "$(find "$T/configfs/target/iscsi/$B" | sort)" = "$b_before" ]
}

@test "stop removes the targets of a node without the ledger (failover) and cuts their sessions" {
	run agent start
	[ "$status" -eq "$OCF_SUCCESS" ]
	rm "$T/state/owned"
	echo "InitiatorName: iqn.1993-08.org.debian:01:aaaa" \
		>"$T/configfs/target/iscsi/$A/tpgt_1/acls/iqn.1993-08.org.debian:01:aaaa/info"
	run agent stop
	[ "$status" -eq "$OCF_SUCCESS" ]
	[ ! -e "$T/configfs/target/iscsi/$A" ]
}

@test "a target only partly there fails the monitor; validate-all and start refuse bad parameters" {
	run agent start OCF_RESKEY_iqns="$A $B"
	[ "$status" -eq "$OCF_SUCCESS" ]
	"$T/targetmgr" -c "$T/conf" clear --target "$B"
	run agent monitor OCF_RESKEY_iqns="$A $B"
	[ "$status" -eq "$OCF_ERR_GENERIC" ]
	[[ "$output" == *"only 1 of the targets"* ]]
	run agent validate-all OCF_RESKEY_iqns=iqn.2021-02.com.example:nope
	[ "$status" -eq "$OCF_ERR_CONFIGURED" ]
	run agent start OCF_RESKEY_iqns=iqn.2021-02.com.example:nope
	[ "$status" -eq "$OCF_ERR_CONFIGURED" ]
	run agent validate-all OCF_RESKEY_iqns=
	[ "$status" -eq "$OCF_ERR_CONFIGURED" ]
	run agent validate-all OCF_RESKEY_targetmgr=/nonexistent/targetmgr
	[ "$status" -eq "$OCF_ERR_INSTALLED" ]
	run agent frobnicate
	[ "$status" -eq 3 ]
}

@test "start fails (OCF_ERR_GENERIC) when a LUN's block device is missing on this node" {
	conf a.conf <<-EOF
	[target $A]
	lun 0 = /dev/disk/by-id/targetmgr-test-missing
	EOF
	run agent start
	[ "$status" -eq "$OCF_ERR_GENERIC" ]
	[[ "$output" == *"block device is missing"* ]]
}
