#!/usr/bin/env bats
# targetmgr save against stand-in configfs trees (plain directories and files, laid out and
# worded like LIO's): usage, what is written where, file modes, and that the output passes
# `targetmgr check`.  The save -> clear -> apply round trip on a real kernel is in tests/vm.
load helpers
bats_require_minimum_version 1.5.0

SECRET=tcl1S3cretPw
OPEN=iqn.2003-01.org.example:open
ACL=iqn.2003-01.org.example:acl
HOSTA=iqn.1994-05.com.redhat:host-a

# put PATH VALUE: an attribute file below the stand-in configfs root.
put() {
	mkdir -p "$(dirname "$T/configfs/$1")"
	printf '%s\n' "$2" >"$T/configfs/$1"
}

# tpg DIR GENERATE_NODE_ACLS AUTHENTICATION: a portal group's always-read attributes.
tpg() {
	put "$1/enable" 1
	put "$1/attrib/generate_node_acls" "$2"
	put "$1/attrib/authentication" "$3"
	put "$1/attrib/cache_dynamic_acls" "$2"
	put "$1/attrib/demo_mode_write_protect" 0
	for a in userid password userid_mutual password_mutual; do put "$1/auth/$a" ""; done
	mkdir -p "$T/configfs/$1/np" "$T/configfs/$1/lun" "$T/configfs/$1/acls"
}

# A host set up with targetcli: HBA index 0, UUID serials, random link names.
#  - an open target serving a RAM disk (core/rd_mcp_0/x) as LUN 0;
#  - a target with one ACL and CHAP, serving a file as LUN 1, which host-a sees as LUN 4;
#  - a backstore serving no LUN.
targetcli_host() {
	local core=target/core tpg
	truncate -s 1M "$T/disk.img"

	put $core/rd_mcp_0/hba_info "HBA Index: 1 plugin: rd_mcp version: v4.0"
	put $core/rd_mcp_0/x/enable 1
	put $core/rd_mcp_0/x/udev_path ""
	put $core/rd_mcp_0/x/info "$(printf '%s\n%s\n%s' \
		'Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 1024' \
		'        TCM RamDisk ID: 0  RamDisk Makeup: rd_mcp' \
		'        PAGES/PAGE_SIZE: 2048*4096  SG_table_count: 1  nullio: 0 dummy: 0')"
	put $core/rd_mcp_0/x/wwn/vpd_unit_serial \
		"T10 VPD Unit Serial Number: 9bc6e907-6015-4267-be4f-5a0617cb3d71"

	put $core/fileio_0/disk/enable 1
	put $core/fileio_0/disk/udev_path "$T/disk.img"
	put $core/fileio_0/disk/info "$(printf '%s\n%s' \
		'Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 16384' \
		"        TCM FILEIO ID: 0        File: $T/disk.img  Size: 1048576  Mode: Buffered-WCE Async: 0")"
	put $core/fileio_0/disk/wwn/vpd_unit_serial \
		"T10 VPD Unit Serial Number: 4a1d0c57-2f3e-4b8a-9c6d-7e8f9a0b1c2d"

	put $core/fileio_0/spare/enable 1
	put $core/fileio_0/spare/udev_path "$T/spare.img"
	put $core/fileio_0/spare/wwn/vpd_unit_serial "T10 VPD Unit Serial Number: spare"

	tpg=target/iscsi/$OPEN/tpgt_1
	tpg $tpg 1 0
	mkdir -p "$T/configfs/$tpg/np/0.0.0.0:3260" "$T/configfs/$tpg/lun/lun_0"
	ln -s ../../../../../../target/core/rd_mcp_0/x "$T/configfs/$tpg/lun/lun_0/7947ded962"

	tpg=target/iscsi/$ACL/tpgt_1
	tpg $tpg 0 1
	mkdir -p "$T/configfs/$tpg/np/192.168.10.1:3260" "$T/configfs/$tpg/lun/lun_1"
	ln -s ../../../../../../target/core/fileio_0/disk "$T/configfs/$tpg/lun/lun_1/f00dcafe01"
	put "$tpg/acls/$HOSTA/info" "No active iSCSI Session for Initiator Endpoint: $HOSTA"
	put "$tpg/acls/$HOSTA/auth/userid" tcli
	put "$tpg/acls/$HOSTA/auth/password" $SECRET
	put "$tpg/acls/$HOSTA/auth/userid_mutual" ""
	put "$tpg/acls/$HOSTA/auth/password_mutual" ""
	put "$tpg/acls/$HOSTA/lun_4/write_protect" 0
	ln -s ../../../../../../../target/iscsi/$ACL/tpgt_1/lun/lun_1 \
		"$T/configfs/$tpg/acls/$HOSTA/lun_4/0a1b2c3d4e"
}

@test "save --help shows its options" {
	run "$TM" save --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"save [--all] [-o PATH]"* ]]
}

@test "save refuses options it does not take, stray arguments and --json (exit 64)" {
	run "$TM" save --adopt
	[ "$status" -eq 64 ]
	run "$TM" save --force
	[ "$status" -eq 64 ]
	run "$TM" save extra
	[ "$status" -eq 64 ]
	[[ "$output" == *"unexpected argument 'extra'"* ]]
	run "$TM" save --json
	[ "$status" -eq 64 ]
	run "$TM" --json save
	[ "$status" -eq 64 ]
	run "$TM" save -o
	[ "$status" -eq 64 ]
	run "$TM" save -o ''
	[ "$status" -eq 64 ]
}

@test "save on an empty kernel writes only the header" {
	run --separate-stderr tm save --all
	[ "$status" -eq 0 ]
	[[ "$output" == "# Target files for targetmgr(8)"* ]]
	[[ "$output" != *"[target"* ]]
	[ -z "$stderr" ]
}

@test "save --all --with-secrets -o FILE writes a 0600 file that passes check" {
	targetcli_host
	run --separate-stderr tm save --all --with-secrets -o "$T/saved.conf"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(stat -c %a "$T/saved.conf")" = 600 ]
	# No temporary file left next to it.
	[ "$(find "$T" -maxdepth 1 -name '.saved.conf.*' | wc -l)" -eq 0 ]

	grep -qxF "[target $OPEN]" "$T/saved.conf"
	grep -qxF "lun 0 = ramdisk size=8M name=x serial=9bc6e907-6015-4267-be4f-5a0617cb3d71" \
		"$T/saved.conf"
	grep -qxF "[target $ACL]" "$T/saved.conf"
	grep -qxF "portal = 192.168.10.1:3260" "$T/saved.conf"
	grep -qxF "lun 1 = $T/disk.img size=1M name=disk serial=4a1d0c57-2f3e-4b8a-9c6d-7e8f9a0b1c2d" \
		"$T/saved.conf"
	grep -qxF "chap = tcli $SECRET" "$T/saved.conf"
	grep -qxF "[initiator $HOSTA]" "$T/saved.conf"
	grep -qF "sees LUN 1 as LUN 4" "$T/saved.conf"
	grep -qxF "; backstore fileio_0/spare serves no LUN: not saved" "$T/saved.conf"
	# The default portal is left out.
	[ "$(grep -cF "0.0.0.0:3260" "$T/saved.conf")" -eq 0 ]

	# What cannot be said is warned about, without the secret.
	[[ "$stderr" == *"warning: $ACL: initiator $HOSTA sees LUN 1 as LUN 4"* ]]
	[[ "$stderr" == *"warning: backstore fileio_0/spare serves no LUN: not saved"* ]]
	[[ "$stderr" != *$SECRET* ]]

	run "$TM" -c "$T/saved.conf" check
	[ "$status" -eq 0 ]
	[[ "$output" == *"OK: 2 target(s), 2 LUN(s)"* ]]
}

@test "save -o replaces an existing file atomically, with mode 0600" {
	targetcli_host
	echo old >"$T/saved.conf"
	chmod 644 "$T/saved.conf"
	run tm save --all -o "$T/saved.conf"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$T/saved.conf")" = 600 ]
	[ "$(grep -cx old "$T/saved.conf")" -eq 0 ]
	grep -qxF "[target $OPEN]" "$T/saved.conf"
}

@test "save -o - and save without -o write to standard output, the secret withheld" {
	targetcli_host
	run --separate-stderr tm save --all -o -
	[ "$status" -eq 0 ]
	[[ "$output" == *"chap = tcli <withheld>"* ]]
	[[ "$output" == *"1 CHAP secret(s) are withheld, written as <withheld>"* ]]
	[[ "$output" != *"in clear"* ]]
	[[ "$output$stderr" != *$SECRET* ]]
	[[ "$stderr" == *"warning: $ACL: the chap secret of user tcli is withheld (written as <withheld>)"* ]]
	first=$output
	run --separate-stderr tm save --all
	[ "$status" -eq 0 ]
	[ "$output" = "$first" ]
}

@test "save without --all writes only what targetmgr owns" {
	targetcli_host
	run --separate-stderr tm save
	[ "$status" -eq 0 ]
	[[ "$output" != *"[target"* ]]
	[[ "$output" != *$SECRET* ]]
	[[ "$stderr" == *"2 target(s) made by other tools left out; --all saves them too"* ]]

	echo "target $OPEN" >"$T/state/owned"
	run --separate-stderr tm save
	[ "$status" -eq 0 ]
	[[ "$output" == *"[target $OPEN]"* ]]
	[[ "$output" == *"lun 0 = ramdisk size=8M name=x "* ]]
	[[ "$output" != *"[target $ACL]"* ]]
	[[ "$stderr" == *"1 target(s) made by other tools left out"* ]]
}

@test "save into a missing directory fails (exit 1) and leaves nothing behind" {
	targetcli_host
	run tm save --all -o "$T/nope/saved.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot write $T/nope/saved.conf"* ]]
	[ ! -e "$T/nope" ]
}

@test "save warns about portal groups beyond the first, which target files cannot hold" {
	targetcli_host
	tpg "target/iscsi/$OPEN/tpgt_2" 1 0
	run --separate-stderr tm save --all -o "$T/saved.conf"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"warning: $OPEN: target has 2 portal groups; only tpgt_1 is saved"* ]]
	grep -qxF "[target $OPEN]" "$T/saved.conf"
}

@test "save reads back the attribute. and parameter. keys the target files name" {
	targetcli_host
	put "target/iscsi/$OPEN/tpgt_1/param/MaxRecvDataSegmentLength" 65536
	put "target/iscsi/$OPEN/tpgt_1/attrib/login_timeout" 20
	put "target/core/rd_mcp_0/x/attrib/emulate_write_cache" 0
	conf t.conf <<-EOF2
	[target $OPEN]
	lun 0 = ramdisk size=8M name=x
	parameter.MaxRecvDataSegmentLength = 1
	attribute.login_timeout = 1
	EOF2
	# The files name rd_mcp_10NN/x; the running one is rd_mcp_0/x: only the TPG's keys.
	run --separate-stderr tm save --all
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\nparameter.MaxRecvDataSegmentLength = 65536\n'* ]]
	[[ "$output" == *$'\nattribute.login_timeout = 20\n'* ]]
	[[ "$output" != *"emulate_write_cache"* ]]
}

@test "save writes back write-through, vendor=, product= and reservations=off; defaults stay out" {
	fake_kernel
	conf s.conf <<-EOF
	[target iqn.2021-02.com.example:scsi]
	lun 0 = $T/a.img size=1M write-through vendor=ACME product=Vault-9 reservations=off
	lun 1 = $T/b.img size=1M
	EOF
	run tm apply
	[ "$status" -eq 0 ]
	# the file opened O_DSYNC; the other one write-back
	! grep -q "fd_buffered_io" "$T"/configfs/target/core/fileio_*/iqn.2021-02.com.example.scsi-lun0/control
	grep -q ",fd_buffered_io=1$" "$T"/configfs/target/core/fileio_*/iqn.2021-02.com.example.scsi-lun1/control
	run --separate-stderr tm save
	[ "$status" -eq 0 ]
	[[ "$output" == *"lun 0 = $T/a.img size=1M write-through name=iqn.2021-02.com.example.scsi-lun0 serial="*" vendor=ACME product=Vault-9 reservations=off"* ]]
	[[ "$output" =~ "lun 1 = $T/b.img size=1M name=iqn.2021-02.com.example.scsi-lun1 serial="[0-9a-f]+($'\n'|$) ]]
}

@test "save without --with-secrets: check refuses the placeholder, naming the line and the fix" {
	targetcli_host
	run -0 tm save --all -o "$T/saved.conf"
	! grep -qF "$SECRET" "$T/saved.conf"
	line=$(grep -nxF "chap = tcli <withheld>" "$T/saved.conf" | cut -d: -f1)
	[ -n "$line" ]
	run -1 "$TM" -c "$T/saved.conf" check
	[[ "$output" == *"$T/saved.conf:$line: error: the secret of chap user tcli was withheld by 'targetmgr save'"* ]]
	[[ "$output" == *"--with-secrets -o FILE"* ]]
	[[ "$output" != *$SECRET* ]]
}

@test "save --with-secrets writes only to a file: never standard output, a FIFO or a device" {
	targetcli_host
	run -64 tm save --all --with-secrets
	[[ "$output" == *"--with-secrets writes CHAP secrets in clear, so only into a new private file: give -o FILE"* ]]
	[[ "$output" != *$SECRET* ]]
	run -64 tm save --all --with-secrets -o -
	[[ "$output" != *$SECRET* ]]
	mkfifo "$T/fifo"
	run -1 timeout 20 "$TM" -c "$T/conf" save --all --with-secrets -o "$T/fifo"
	[[ "$output" == *"$T/fifo exists and is not a regular file"* ]]
	[ -p "$T/fifo" ]
	run -1 tm save --all --with-secrets -o /dev/null
	[[ "$output" == *"/dev/null exists and is not a regular file"* ]]
	[ -c /dev/null ]
}

@test "save -o onto a symbolic link refuses; the link and what it points to stay as they were" {
	targetcli_host
	echo keep >"$T/victim"
	ln -s "$T/victim" "$T/link.conf"
	run -1 tm save --all --with-secrets -o "$T/link.conf"
	[[ "$output" == *"$T/link.conf is a symbolic link: targetmgr neither writes through a link nor replaces it"* ]]
	[ -L "$T/link.conf" ]
	[ "$(cat "$T/victim")" = keep ]
	[ "$(find "$T" -maxdepth 1 -name '.link.conf.*' | wc -l)" -eq 0 ]
}

@test "save -o on a full file system fails and leaves the old file intact (tiny tmpfs)" {
	mkdir "$T/small"
	mount -t tmpfs -o size=4k tmpfs "$T/small" 2>/dev/null ||
		skip "cannot mount a tmpfs (not root)"
	targetcli_host
	echo "old contents" >"$T/small/saved.conf"
	# The old file takes the only page: the new one cannot be written.
	run tm save --all -o "$T/small/saved.conf"
	local st=$status out=$output
	local old
	old=$(cat "$T/small/saved.conf")
	local left
	left=$(find "$T/small" -name '.saved.conf.*' | wc -l)
	umount "$T/small"
	[ "$st" -eq 1 ]
	[[ "$out" == *"cannot write $T/small/saved.conf: No space left on device"* ]]
	[ "$old" = "old contents" ]
	[ "$left" -eq 0 ]
}
