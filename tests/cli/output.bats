#!/usr/bin/env bats
# What targetmgr writes besides target files (issue 10): JSON that is valid UTF-8 whatever
# bytes the kernel or the target files hold, and an ownership ledger that cannot hang a
# command and is never silently rewritten when damaged.
load helpers
bats_require_minimum_version 1.5.0

IQN=iqn.2021-02.com.example:t

# strict_json: standard input must be one JSON document in well-formed UTF-8.
strict_json() {
	python3 -c 'import json, sys; json.loads(sys.stdin.buffer.read().decode("utf-8", "strict"))'
}

# ram_target: the stand-in kernel, and target files declaring one target on a RAM disk.
ram_target() {
	fake_kernel
	conf t.conf <<-EOF
		[target $IQN]
		lun 0 = ramdisk size=4M nullio
	EOF
}

put() {
	mkdir -p "$(dirname "$T/configfs/$1")"
	printf '%s\n' "$2" >"$T/configfs/$1"
}

@test "show --json escapes a backing path that is not UTF-8; the output parses strictly" {
	local bad=$'/srv/disk\xff\xfe-\xc3\x28-\xed\xa0\x80.img' core=target/core/fileio_0/d
	put $core/enable 1
	put $core/udev_path "$bad"
	put $core/info "$(printf '%s\n%s' \
		'Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 16384' \
		"        TCM FILEIO ID: 0        File: $bad  Size: 1048576  Mode: O_DSYNC")"
	put $core/wwn/vpd_unit_serial "T10 VPD Unit Serial Number: abc"
	run --separate-stderr tm --json show
	[ "$status" -eq 0 ]
	strict_json <<<"$output"
	jq -e '.backstores[0].path == "/srv/disk\\xff\\xfe-\\xc3(-\\xed\\xa0\\x80.img"' <<<"$output"
}

@test "check --json escapes a key that is not UTF-8 in its messages; valid text is unchanged" {
	printf '[target %s]\nlun 0 = ramdisk size=1M\nb\xe9ta\xff = 1\n; caf\xc3\xa9 ok\n' "$IQN" >"$T/conf/t.conf"
	run --separate-stderr tm --json check
	[ "$status" -eq 1 ]
	strict_json <<<"$output"
	jq -e '[.diagnostics[].message | select(contains("b\\xe9ta\\xff"))] | length > 0' <<<"$output"
	# A valid multi-byte name passes through as it is.
	printf '[target %s]\nlun 0 = ramdisk size=1M\n\xc3\xa9t\xc3\xa9 = 1\n' "$IQN" >"$T/conf/t.conf"
	run --separate-stderr tm --json check
	strict_json <<<"$output"
	jq -e '[.diagnostics[].message | select(contains("été"))] | length > 0' <<<"$output"
}

@test "a FIFO in the ledger's place is refused at once, naming it; nothing hangs" {
	ram_target
	mkfifo "$T/state/owned"
	for cmd in apply plan show save clear; do
		run -1 timeout 20 env LD_PRELOAD="$FAKECFS" "$TM" -c "$T/conf" $cmd
		[[ "$output" == *"$T/state/owned: error: the ownership ledger is a FIFO, not a regular file; remove it (rm $T/state/owned)"* ]]
	done
	[ -p "$T/state/owned" ]
	# A symbolic link is not followed either.
	rm "$T/state/owned"
	echo "target $IQN" >"$T/elsewhere"
	ln -s "$T/elsewhere" "$T/state/owned"
	run -1 tm plan
	[[ "$output" == *"the ownership ledger is a symbolic link, which targetmgr never follows"* ]]
}

@test "a damaged ledger is reported line by line with how to repair it, and left as it was" {
	ram_target
	run -0 tm apply
	[ "$(wc -l <"$T/state/owned")" -eq 2 ] # the target and its RAM disk
	printf 'target %s\ngarbage here\nbackstore nohba\n\x01target x\n' "$IQN" >>"$T/state/owned"
	cp "$T/state/owned" "$T/owned.before"
	run -1 tm apply
	[[ "$output" == *"$T/state/owned:4: error: damaged ownership ledger: not an entry targetmgr writes (neither 'target IQN', 'backstore HBA/NAME', 'discovery' nor 'setting ...')"* ]]
	[[ "$output" == *"$T/state/owned:5: error: damaged ownership ledger: not an entry targetmgr writes (expected 'backstore HBA/NAME')"* ]]
	[[ "$output" == *"$T/state/owned:6: error: damaged ownership ledger: not an entry targetmgr writes (it holds a control character)"* ]]
	[[ "$output" == *"3 damaged line(s): the ledger lists the targets and backstores targetmgr created"*"repair it by deleting the damaged lines"* ]]
	[[ "$output" != *"--adopt to"* ]]
	cmp "$T/state/owned" "$T/owned.before"
	# Repaired as told: apply goes on, and nothing is left to do.
	sed -i '4,6d' "$T/state/owned"
	run -0 tm apply
	[ "$output" = "No changes." ]
}

# CPU time, not wall time: the test machine may be shared.
@test "reading an 80,000-line ledger takes well under a second of CPU" {
	for ((i = 0; i < 80000; i++)); do echo "target iqn.2021-02.com.example:t$i"; done >"$T/state/owned"
	echo "backstore fileio_1000/d0" >>"$T/state/owned"
	local cpu TIMEFORMAT='%3U %3S'
	cpu=$({ time tm show >/dev/null 2>&1; } 2>&1)
	echo "# show with an 80,001-line ledger: ${cpu% *} s user, ${cpu#* } s system" >&3
	awk -v u="${cpu% *}" -v s="${cpu#* }" 'BEGIN { exit !(u + s < 1.0) }'
}
