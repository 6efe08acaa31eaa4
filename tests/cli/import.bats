#!/usr/bin/env bats
# targetmgr import: usage, exit statuses, --strict, stdout and -o DIR (one file per target,
# modes, atomic replacement, no symbolic links followed), and that the files it writes pass
# `targetmgr check`.  What each format carries is tested on a corpus in tests/unit/test-import.c.
load helpers
bats_require_minimum_version 1.5.0

CORPUS=$BATS_TEST_DIRNAME/../unit/import
SECRET=pruebaiscsi2021

# A tgt root: targets.conf including conf.d; an open target on a file, one with CHAP on
# another (open too: tgt-admin binds ALL when no initiator-address line restricts it).
tgt_root() {
	mkdir -p "$T/root/etc/tgt/conf.d"
	truncate -s 16M "$T/open.img" "$T/chap.img"
	echo 'include /etc/tgt/conf.d/*.conf' >"$T/root/etc/tgt/targets.conf"
	cat >"$T/root/etc/tgt/conf.d/open.conf" <<-EOF2
		<target iqn.2021-02.com.example:open>
		    backing-store $T/open.img
		</target>
	EOF2
	cat >"$T/root/etc/tgt/conf.d/chap.conf" <<-EOF2
		<target iqn.2021-02.com.example:chap>
		    backing-store $T/chap.img
		    incominguser iscsiuser $SECRET
		</target>
	EOF2
}

@test "import without a format, or an unknown one, is a usage error" {
	run -64 "$TM" import
	run -64 "$TM" import cfengine /dev/null
	[[ $output == *"unknown format"* ]]
	run -64 "$TM" import tgt --bogus
}

@test "import --help says what it reads" {
	run -0 "$TM" import --help
	[[ $output == *"tgt|saveconfig|scst"* ]]
	[[ $output == *"--strict"* ]]
}

@test "a missing file is an error naming it" {
	run -1 "$TM" import tgt "$T/nonexistent.conf"
	[[ $output == *"nonexistent.conf"*"No such file"* ]]
}

@test "tgt's default path below --root: target files on stdout that pass check" {
	tgt_root
	run --separate-stderr -0 "$TM" import --root "$T/root" tgt
	[[ $output == *"[target iqn.2021-02.com.example:open]"* ]]
	[[ $output == *"lun 1 = $T/open.img"*"serial=beaf21"* ]]
	[[ $output == *"chap = iscsiuser $SECRET"* ]]
	[[ $stderr == "" ]]
	printf '%s\n' "$output" >"$T/conf/imported.conf"
	run -0 tm check
}

@test "warnings name file and line; --strict makes them errors and writes nothing" {
	cat >"$T/t.conf" <<-EOF2
		<target iqn.2021-02.com.example:t>
		    backing-store /dev/vg0/t
		    vendor_id ACME
		    initiator-address 10.0.0.1
		</target>
	EOF2
	run --separate-stderr -0 "$TM" import tgt "$T/t.conf"
	[[ $stderr == *"t.conf:3: warning: vendor_id ACME"* ]]
	[[ $stderr == *"t.conf:4: warning: initiator-address 10.0.0.1"* ]]
	[[ $output == *"[target iqn.2021-02.com.example:t]"* ]]
	run --separate-stderr -1 "$TM" import --strict tgt "$T/t.conf"
	[[ $stderr == *"t.conf:3: error: vendor_id ACME"* ]]
	[[ $stderr == *"nothing written"* ]]
	[[ $output == "" ]]
	run -1 "$TM" import --strict -o "$T/out" tgt "$T/t.conf"
	[ ! -e "$T/out" ] || [ -z "$(ls -A "$T/out")" ]
}

@test "a file with no warning passes --strict" {
	tgt_root
	run -0 "$TM" import --strict --root "$T/root" tgt
}

@test "secrets are never in a message" {
	cat >"$T/t.conf" <<-EOF2
		<target iqn.2021-02.com.example:t>
		    backing-store /dev/vg0/t
		    incominguser one $SECRET
		    incominguser two $SECRET
		    outgoinguser three $SECRET
		</target>
	EOF2
	run --separate-stderr -0 "$TM" import tgt "$T/t.conf"
	[[ $stderr == *"incominguser two"* ]]
	[[ $stderr != *"$SECRET"* ]]
}

@test "-o DIR: one file per target, 0600 with a secret, 0644 without, passing check" {
	tgt_root
	umask 077
	run -0 "$TM" import --root "$T/root" -o "$T/out" tgt
	[ "$(stat -c %a "$T/out/iqn.2021-02.com.example:chap.conf")" = 600 ]
	[ "$(stat -c %a "$T/out/iqn.2021-02.com.example:open.conf")" = 644 ]
	[ ! -e "$T/out/discovery.conf" ]
	grep -q "chap = iscsiuser $SECRET" "$T/out/iqn.2021-02.com.example:chap.conf"
	! grep -q chap "$T/out/iqn.2021-02.com.example:open.conf"
	run -0 "$TM" -c "$T/out" check
	# No temporary file is left behind.
	[ "$(ls -A "$T/out" | grep -c '^\.')" = 0 ]
}

@test "-o DIR: discovery CHAP goes to discovery.conf, 0600" {
	truncate -s 16M "$T/t.img"
	cat >"$T/t.conf" <<-EOF2
		incomingdiscoveryuser disco $SECRET
		<target iqn.2021-02.com.example:t>
		    backing-store $T/t.img
		</target>
	EOF2
	run -0 "$TM" import -o "$T/out" tgt "$T/t.conf"
	[ "$(stat -c %a "$T/out/discovery.conf")" = 600 ]
	grep -q '^\[discovery\]' "$T/out/discovery.conf"
	! grep -q discovery "$T/out/iqn.2021-02.com.example:t.conf"
	run -0 "$TM" -c "$T/out" check
}

@test "-o DIR: targets with ALUA groups go to one file, so each group is declared once" {
	mkdir -p "$T/srv"
	# Two targets serving one file, each port in its own group (ids 10 and 10: LIO numbers
	# groups per storage object).
	sed -e "s|/srv/iscsi/shared.img|$T/srv/shared.img|" -e 's/"tg_pt_gp_id": 20/"tg_pt_gp_id": 10/' \
		"$CORPUS/saveconfig/alua.json" >"$T/alua.json"
	run -0 --separate-stderr "$TM" import -o "$T/out" saveconfig "$T/alua.json"
	[[ $stderr == *"ALUA groups are declared once for all targets: every target is written to $T/out/targets.conf"* ]]
	[ "$(ls "$T/out")" = targets.conf ]
	[ "$(grep -c '^\[alua ' "$T/out/targets.conf")" = 2 ]
	grep -q "^; id 10 is group near's too" "$T/out/targets.conf"
	run -0 "$TM" -c "$T/out" check
}

@test "-o DIR refuses a symbolic link in the way, never writes through it or replaces it" {
	tgt_root
	mkdir -p "$T/out"
	echo keep >"$T/victim"
	ln -s "$T/victim" "$T/out/iqn.2021-02.com.example:open.conf"
	run -1 "$TM" import --root "$T/root" -o "$T/out" tgt
	[[ "$output" == *"iqn.2021-02.com.example:open.conf is a symbolic link"* ]]
	[ "$(cat "$T/victim")" = keep ]
	[ -L "$T/out/iqn.2021-02.com.example:open.conf" ]
	# Nothing else was written either.
	[ "$(find "$T/out" -type f | wc -l)" -eq 0 ]
	# And a DIR that is itself a symbolic link is refused.
	ln -s "$T/out" "$T/link"
	run -1 "$TM" import --root "$T/root" -o "$T/link" tgt
}

@test "saveconfig: the default path falls back to /etc/target/saveconfig.json" {
	run --separate-stderr -0 "$TM" import --root "$CORPUS/saveconfig/root" saveconfig
	[[ $output == *"from /etc/target/saveconfig.json"* ]]
	[[ $output == *"lun 0 = /dev/sdb name=disk0 serial=d4b3a2f1-0e9d-4c8b-a7f6-e5d4c3b2a190"* ]]
}

@test "saveconfig: a file that is not JSON is an error with its line" {
	run -1 "$TM" import saveconfig "$CORPUS/saveconfig/broken.json"
	[[ $output == *"broken.json:5: error: not JSON"* ]]
}

@test "scst: warnings, and --strict refuses the documented example" {
	run --separate-stderr -0 "$TM" import scst "$CORPUS/scst/scst-docs.conf"
	[[ $output == *"[target iqn.2006-10.net.vlnb:tgt]"* ]]
	[[ $stderr == *"scst-docs.conf:66: warning: INITIATOR iqn.1993-08.org.debian:01:*"* ]]
	run -1 "$TM" import --strict scst "$CORPUS/scst/scst-docs.conf"
}

@test "--json is refused: import writes target files" {
	run -64 "$TM" --json import tgt /dev/null
}
