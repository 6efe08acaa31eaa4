#!/usr/bin/env bats
# targetmgr check: validation with file:line messages, no kernel access.
load helpers

@test "the tutorial's files check clean" {
	truncate -s 1M "$T/disk1.img" "$T/disk2.img"
	conf target1.conf <<-EOF
	[target iqn.2021-02.com.example:target1]
	lun 1 = $T/disk1.img
	EOF
	conf target2.conf <<-EOF
	[target iqn.2021-02.com.example:target2]
	    lun 2 = $T/disk2.img
	    chap = iscsiuser pruebaiscsi2021
	    initiator = iqn.1993-08.org.debian:01:6c92b3891490
	EOF
	run tm check
	[ "$status" -eq 0 ]
	[[ "$output" == *"OK: 2 target(s), 2 LUN(s)"* ]]
}

@test "a malformed IQN names file and line, exits 1" {
	conf target2.conf <<-EOF
	; a comment
	[target iqn.2021-02.com.example:t2]
	lun 1 = ramdisk size=1M

	[target iqn.21-02.com.example:bad]
	lun 1 = ramdisk size=1M
	EOF
	run tm check
	[ "$status" -eq 1 ]
	[[ "$output" == *"target2.conf:5: error:"* ]]
}

@test "duplicate LUN numbers are reported at the second line" {
	conf t.conf <<-EOF
	[target iqn.2021-02.com.example:t]
	lun 1 = ramdisk size=1M
	lun 1 = ramdisk size=2M
	EOF
	run tm check
	[ "$status" -eq 1 ]
	[[ "$output" == *"t.conf:3: error:"* ]]
}

@test "an indented LUN line is its own key, not a continuation" {
	conf t.conf <<-EOF
	[target iqn.2021-02.com.example:t]
	    lun 1 = ramdisk size=1M
	        lun 2 = ramdisk size=1M
	EOF
	run tm --json check
	[ "$status" -eq 0 ]
	run tm plan
	[ "$status" -eq 2 ]
	[[ "$output" == *"lun iscsi/iqn.2021-02.com.example:t/tpgt_1/lun/lun_2"* ]]
}

@test "a missing backing file is an error" {
	conf t.conf <<-EOF
	[target iqn.2021-02.com.example:t]
	lun 1 = $T/nope.img
	EOF
	run tm check
	[ "$status" -eq 1 ]
	[[ "$output" == *"t.conf:2: error:"* ]]
}

@test "a short CHAP secret warns (Windows refuses it) without failing, and is never printed" {
	conf t.conf <<-EOF
	[target iqn.2021-02.com.example:t]
	lun 1 = ramdisk size=1M
	chap = user short1
	EOF
	run tm check
	[ "$status" -eq 0 ]
	[[ "$output" == *"t.conf:3: warning:"* ]]
	[[ "$output" != *short1* ]]
}

@test "check --json reports diagnostics for programs" {
	conf t.conf <<-EOF
	[target iqn.2021-02.com.example:t]
	lun 1 = ramdisk
	EOF
	run tm --json check
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '.valid == false and .diagnostics[0].line == 2 and .diagnostics[0].severity == "error"'
}

@test "unknown command and option are usage errors" {
	run "$TM" frobnicate
	[ "$status" -eq 64 ]
	run "$TM" --bogus show
	[ "$status" -eq 64 ]
}

@test "a character device is not a backing store" {
	conf t.conf <<-EOF
	[target iqn.2021-02.com.example:t]
	lun 1 = /dev/null
	EOF
	run tm check
	[ "$status" -eq 1 ]
	[[ "$output" == *"t.conf:2: error:"* ]]
}
