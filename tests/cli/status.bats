#!/usr/bin/env bats
# targetmgr status and targetmgrd on the host, against a stand-in configfs tree (a plain
# directory: LIO's automatic directories are missing, so applying a target fails there; the
# attach itself is proven on the real kernel in tests/vm/).  What is proven here: the control
# socket and its protocol, waiting LUNs, rejected edits, and that the daemon does not leak.
load helpers

TMD=${TARGETMGRD:?set TARGETMGRD to the targetmgrd binary}

teardown() {
	if [[ -n ${DPID:-} ]]; then
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	rm -rf "$T"
}

# Starts targetmgrd on the scratch directories and waits for its socket.
start_daemon() {
	"$TMD" -c "$T/conf" >"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 200); do
		[[ -S $T/state/targetmgrd.sock ]] && return 0
		sleep 0.1
	done
	cat "$T/daemon.log"
	return 1
}

# Runs `targetmgr status --json` and keeps the JSON in $J.
status_json() {
	J=$(tm status --json) || true
}

# waits_for JQ_FILTER: polls status until the filter is true (inotify + 200 ms settling),
# for up to 20 s: CI machines run VMs beside the host tests.
waits_for() {
	for _ in $(seq 200); do
		status_json
		[[ $(jq -r "$1" <<<"$J") == true ]] && return 0
		sleep 0.1
	done
	echo "$J"
	return 1
}

waiting_conf() {
	conf a.conf <<-EOF
		[target iqn.2024-01.org.example:a]
		lun 1 = $T/disk1 type=iblock
		lun 2 = $T/disk2 type=iblock serial=SERIAL2
	EOF
}

@test "status without a daemon: exit 69 and says targetmgrd is not running" {
	run tm status
	[ "$status" -eq 69 ]
	[[ $output == *"targetmgrd is not running"* ]]
	[[ $output == *"$T/state/targetmgrd.sock"* ]]
}

@test "status: the socket is root-only and a healthy daemon answers with exit 0" {
	echo "# nothing declared" | conf a.conf
	start_daemon
	[ "$(stat -c %a "$T/state/targetmgrd.sock")" = 600 ]
	run tm status
	[ "$status" -eq 0 ]
	[[ $output == *"last apply: "*"ok, 0 operations"* ]]
	[[ $output == *"waiting LUNs: 0"* ]]
	status_json
	[ "$(jq -r .last_apply.result <<<"$J")" = ok ]
	[ "$(jq -r .daemon.pid <<<"$J")" = "$DPID" ]
	[ "$(jq -r '.daemon.fds > 0 and .daemon.rss_kib > 0' <<<"$J")" = true ]
}

@test "status: LUNs whose device is missing are waiting, with their file:line and serial" {
	waiting_conf
	start_daemon
	status_json
	[ "$(jq -r '.waiting | length' <<<"$J")" = 2 ]
	[ "$(jq -r '.waiting[0] | "\(.target) \(.lun) \(.path) \(.line)"' <<<"$J")" = \
		"iqn.2024-01.org.example:a 1 $T/disk1 2" ]
	[ "$(jq -r '.waiting[1].serial' <<<"$J")" = SERIAL2 ]
	[ "$(jq -r '.waiting[0].file' <<<"$J")" = "$T/conf/a.conf" ]
	run tm status
	[[ $output == *"waiting LUNs: 2"* ]]
	[[ $output == *"iqn.2024-01.org.example:a LUN 1: $T/disk1 ($T/conf/a.conf:2)"* ]]
}

@test "a LUN whose device appears leaves the waiting list on SIGHUP" {
	waiting_conf
	start_daemon
	ln -s /dev/null "$T/disk1" # present (the verifier then says it is no block device)
	kill -HUP "$DPID"
	waits_for '(.waiting | length) == 1 and .waiting[0].lun == 2'
	# ... and is checked like any declared device (a stand-in: not a block device).
	[[ $(jq -r .last_apply.error <<<"$J") == *"not a block device"* ]]
}

@test "a broken edit is rejected, reported with file:line, and the last good files stay" {
	waiting_conf
	start_daemon
	echo "lun 3 = " >>"$T/conf/a.conf"
	waits_for '.target_files.result == "rejected"'
	[ "$(jq -r .target_files.serving_last_good <<<"$J")" = true ]
	[ "$(jq -r '.target_files.diagnostics[0]' <<<"$J" | grep -c "a.conf:4: error")" = 1 ]
	[ "$(jq -r '.waiting | length' <<<"$J")" = 2 ]
	run tm status
	[ "$status" -eq 1 ]
	[[ $output == *"REJECTED, the last good files keep serving"* ]]
	grep -q "rejected $T/conf" "$T/daemon.log"
	# Fixed: accepted again, and the third LUN waits too.
	sed -i 's|^lun 3 = $|lun 3 = '"$T"'/disk3 type=iblock|' "$T/conf/a.conf"
	waits_for '.target_files.result == "accepted" and (.waiting | length) == 3'
}

@test "a broken edit reverted to the last good text is accepted again" {
	waiting_conf
	start_daemon
	cp "$T/conf/a.conf" "$T/a.good"
	echo "lun 3 = " >>"$T/conf/a.conf"
	waits_for '.target_files.result == "rejected"'
	cp "$T/a.good" "$T/conf/a.conf"
	waits_for '.target_files.result == "accepted" and (.target_files.diagnostics | length) == 0'
	run tm status
	[[ $output != *"REJECTED"* ]]
}

@test "unknown requests get an error; SIGTERM stops the daemon with status 0" {
	echo "# nothing declared" | conf a.conf
	start_daemon
	run python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"bogus\n"); print(s.recv(100).decode())' "$T/state/targetmgrd.sock"
	[[ $output == "error"*"unknown request"* ]]
	kill -TERM "$DPID"
	wait "$DPID"
	DPID=
	grep -q "exiting; LIO keeps serving" "$T/daemon.log"
}

@test "20 device come-and-go cycles leave the daemon's fds and memory where they were" {
	waiting_conf
	# glibc's per-thread cache keeps freed chunks counted as in use; without it the heap
	# figure is exact.
	GLIBC_TUNABLES=glibc.malloc.tcache_count=0 start_daemon
	cycle() {
		ln -s /dev/null "$T/disk1"
		kill -HUP "$DPID"
		waits_for ".daemon.reconciles >= $1"
		rm "$T/disk1"
		kill -HUP "$DPID"
		waits_for ".daemon.reconciles >= $(($1 + 1))"
	}
	cycle 2
	status_json
	fds=$(jq .daemon.fds <<<"$J") rss=$(jq .daemon.rss_kib <<<"$J") heap=$(jq .daemon.heap_bytes <<<"$J")
	for i in $(seq 2 20); do cycle $((2 * i)); done
	status_json
	echo "# after 1 cycle: $fds fds, $rss KiB resident, $heap heap bytes; after 20:" \
		"$(jq -r '"\(.daemon.fds) fds, \(.daemon.rss_kib) KiB, \(.daemon.heap_bytes) bytes"' <<<"$J")" >&3
	[ "$(jq .daemon.fds <<<"$J")" -eq "$fds" ]
	if ((heap > 0)); then
		# A leak of one small string per cycle would show as 20 of them.
		[ "$(jq .daemon.heap_bytes <<<"$J")" -le $((heap + 256)) ]
		[ "$(jq .daemon.rss_kib <<<"$J")" -le $((rss + 64)) ]
	fi
	# In a sanitizer build (no glibc heap figures) LeakSanitizer checks at exit.
	kill -TERM "$DPID"
	wait "$DPID"
	DPID=
}

@test "check: a missing block device is a warning at its line (the LUN waits), exit 0" {
	waiting_conf
	run tm check
	[ "$status" -eq 0 ]
	[[ $output == *"a.conf:2: warning: LUN 1 of iqn.2024-01.org.example:a waits for $T/disk1"* ]]
}

@test "show lists the declared LUNs that wait for their device, without a daemon" {
	waiting_conf
	run tm show
	[ "$status" -eq 0 ]
	[[ $output == *"Waiting for their block device"* ]]
	[[ $output == *"iqn.2024-01.org.example:a LUN 2: $T/disk2 ($T/conf/a.conf:3)"* ]]
}

# The rest runs against the fakecfs shim, which makes the stand-in tree act like LIO's.
daemon_fake_kernel() {
	fake_kernel
	LD_PRELOAD=$FAKECFS start_daemon
}

# A block device to stand for a disk that appears: a link to the host's first loop device.
loopdev() {
	local d
	for d in /dev/loop[0-9]*; do
		[[ -b $d ]] && { echo "$d"; return 0; }
	done
	skip "no loop device node on this host"
}

@test "apply with a missing block device applies the rest and exits 4" {
	waiting_conf
	fake_kernel
	run tm apply
	[ "$status" -eq 4 ]
	[[ $output == *"a.conf:2: warning: LUN 1 of iqn.2024-01.org.example:a waits for"* ]]
	[ -d "$T/configfs/target/iscsi/iqn.2024-01.org.example:a/tpgt_1" ]
	[ ! -e "$T/configfs/target/iscsi/iqn.2024-01.org.example:a/tpgt_1/lun/lun_1" ]
}

@test "targetmgrd attaches a LUN when its device appears, with its number and serial, and withdraws it when it goes" {
	dev=$(loopdev)
	waiting_conf
	daemon_fake_kernel
	lun=$T/configfs/target/iscsi/iqn.2024-01.org.example:a/tpgt_1/lun
	status_json
	[ "$(jq -r .last_apply.result <<<"$J")" = ok ]
	[ ! -e "$lun/lun_2" ]
	ln -s "$dev" "$T/disk2"
	kill -HUP "$DPID" # udev's "add" on a real host; the daemon checks the same way
	waits_for '(.waiting | length) == 1 and .last_apply.result == "ok"'
	[ -d "$lun/lun_2" ]
	[ "$(cat "$T"/configfs/target/core/iblock_*/iqn.2024-01.org.example.a-lun2/wwn/vpd_unit_serial)" = SERIAL2 ]
	grep -q "attached LUN 2 of iqn.2024-01.org.example:a" "$T/daemon.log"
	rm "$T/disk2"
	kill -HUP "$DPID"
	waits_for '(.waiting | length) == 2 and .last_apply.result == "ok"'
	[ ! -e "$lun/lun_2" ]
	grep -q "withdrew LUN 2 of iqn.2024-01.org.example:a" "$T/daemon.log"
}

@test "targetmgrd applies an edited target file without a command" {
	waiting_conf
	daemon_fake_kernel
	status_json
	n=$(jq .daemon.reconciles <<<"$J")
	echo "lun 5 = ramdisk size=1M" >>"$T/conf/a.conf"
	waits_for ".daemon.reconciles > $n"
	[ "$(jq -r .healthy <<<"$J")" = true ]
	[ -d "$T/configfs/target/iscsi/iqn.2024-01.org.example:a/tpgt_1/lun/lun_5" ]
	grep -q "create lun target/iscsi/iqn.2024-01.org.example:a/tpgt_1/lun/lun_5" "$T/daemon.log"
}
