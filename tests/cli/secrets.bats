#!/usr/bin/env bats
# CHAP secrets (issue 10): never printed by any command, in any format, nor kept in the state
# directory; `save` refers to the secret files the target files read (USER @FILE) instead of
# writing secrets; the process cannot be made to dump them in a core file.  On fakecfs; the
# real-kernel counterpart is tests/vm/guest/secrets.sh.
load helpers
bats_require_minimum_version 1.5.0

IQN=iqn.2021-02.com.example:vault
OPEN=iqn.2021-02.com.example:inline
HOST=iqn.1993-08.org.debian:01:aaaa
FILE_SECRET=F1leSecretXyz42
MUTUAL_SECRET=MutualSecretQ77
INLINE_SECRET=InlineSecretK93
DISC_SECRET=DiscSecretW1234

# Secret files (0600, as the parser demands) and target files that use them and an inline one.
secrets_conf() {
	printf '%s\n' "$FILE_SECRET" >"$T/chap.secret"
	printf '%s\n' "$MUTUAL_SECRET" >"$T/mutual.secret"
	printf '%s\n' "$DISC_SECRET" >"$T/disc.secret"
	chmod 600 "$T"/*.secret
	conf vault.conf <<-EOF2
		[target $IQN]
		lun 0 = ramdisk size=4M nullio
		chap = alice @$T/chap.secret
		mutual-chap = vault @$T/mutual.secret
		initiator = $HOST
	EOF2
	conf inline.conf <<-EOF2
		[target $OPEN]
		lun 0 = ramdisk size=4M nullio
		chap = bob $INLINE_SECRET
		initiator = $HOST

		[discovery]
		chap = disco @$T/disc.secret
	EOF2
}

# no_secret TEXT WHAT: fails naming WHAT when TEXT holds any of the secrets.
no_secret() {
	local s
	for s in "$FILE_SECRET" "$MUTUAL_SECRET" "$INLINE_SECRET" "$DISC_SECRET"; do
		if [[ "$1" == *"$s"* ]]; then
			echo "secret $s found in $2" >&2
			return 1
		fi
	done
}

@test "no command prints a secret: check, plan, apply, show, save, status, text and JSON" {
	fake_kernel
	secrets_conf
	local all=""
	for cmd in check plan apply show save "save --all" "--json check" "--json plan" \
		"--json show" status; do
		# shellcheck disable=SC2086
		run tm $cmd
		no_secret "$output" "targetmgr $cmd"
		all+=$output
	done
	# The secrets did reach the (stand-in) kernel: the test looks in the right place.
	grep -qxF "$FILE_SECRET" "$T/configfs/target/iscsi/$IQN/tpgt_1/acls/$HOST/auth/password"
	grep -qxF "$DISC_SECRET" "$T/configfs/target/iscsi/discovery_auth/password"
	# Nor in the state directory (the ledger).
	run cat "$T"/state/*
	no_secret "$output" "the state directory"
	[[ "$all" == *"chap = alice @$T/chap.secret"* ]]
}

@test "error messages never echo a secret: mistyped CHAP lines and secrets LIO refuses" {
	conf bad.conf <<-EOF
		[target $IQN]
		lun 0 = ramdisk size=4M
		chap = alice $INLINE_SECRET extra
		mutual-chap $MUTUAL_SECRET
		initiator = $HOST

		[target $OPEN]
		lun 0 = ramdisk size=4M
		chap = bob @$T/missing.secret
		initiator = $HOST
	EOF
	run -1 tm check
	no_secret "$output" "check's errors"
	[[ "$output" == *"bad.conf:3:"* ]]
	run -1 tm --json check
	no_secret "$output" "check --json"
}

@test "save writes USER @FILE for secrets read from files, <withheld> for the inline one" {
	fake_kernel
	secrets_conf
	run -0 tm apply
	run --separate-stderr tm save -o "$T/saved.conf"
	[ "$status" -eq 0 ]
	no_secret "$(cat "$T/saved.conf")$stderr" "the saved file"
	grep -qxF "chap = alice @$T/chap.secret" "$T/saved.conf"
	grep -qxF "mutual-chap = vault @$T/mutual.secret" "$T/saved.conf"
	grep -qxF "chap = disco @$T/disc.secret" "$T/saved.conf"
	grep -qxF "chap = bob <withheld>" "$T/saved.conf"
	[[ "$stderr" == *"warning: $OPEN: the chap secret of user bob is withheld"* ]]

	# A changed secret file no longer holds the running secret: withheld, not misquoted.
	printf 'AnotherSecret99\n' >"$T/chap.secret"
	run -0 tm save -o "$T/saved.conf"
	grep -qxF "chap = alice <withheld>" "$T/saved.conf"
	printf '%s\n' "$FILE_SECRET" >"$T/chap.secret"

	# With the inline secret in a file too, the saved file alone rebuilds the same targets.
	printf '%s\n' "$INLINE_SECRET" >"$T/inline.secret"
	chmod 600 "$T/inline.secret"
	sed -i "s|chap = bob $INLINE_SECRET|chap = bob @$T/inline.secret|" "$T/conf/inline.conf"
	run -0 tm save -o "$T/saved.conf"
	grep -qxF "chap = bob @$T/inline.secret" "$T/saved.conf"
	run -0 tm clear
	run -0 env LD_PRELOAD="$FAKECFS" "$TM" -c "$T/saved.conf" apply
	grep -qxF "$INLINE_SECRET" "$T/configfs/target/iscsi/$OPEN/tpgt_1/acls/$HOST/auth/password"
	grep -qxF "$MUTUAL_SECRET" \
		"$T/configfs/target/iscsi/$IQN/tpgt_1/acls/$HOST/auth/password_mutual"
}

@test "save --with-secrets -o FILE: the secrets in clear, mode 0600 whatever the umask" {
	fake_kernel
	secrets_conf
	run -0 tm apply
	run --separate-stderr bash -c 'umask 000; exec "$@"' _ env LD_PRELOAD="$FAKECFS" \
		"$TM" -c "$T/conf" save --with-secrets -o "$T/full.conf"
	[ "$status" -eq 0 ]
	no_secret "$output$stderr" "save's messages"
	[ "$(stat -c %a "$T/full.conf")" = 600 ]
	grep -qxF "chap = alice $FILE_SECRET" "$T/full.conf"
	grep -qxF "chap = bob $INLINE_SECRET" "$T/full.conf"
	run -0 "$TM" -c "$T/full.conf" check
}

# A core of a targetmgr holding secrets: it waits for the apply lock (after reading the target
# files) when SIGSEGV hits it.  A dumpable `sleep` beside it proves the host writes cores.
@test "targetmgr is not dumpable: a crash while it holds secrets leaves no core" {
	pattern=$(cat /proc/sys/kernel/core_pattern)
	[[ $pattern != \|* && $pattern != /* ]] ||
		skip "core_pattern '$pattern' does not write cores in the working directory"
	fake_kernel
	secrets_conf
	mkdir -p "$T/cores/tm" "$T/cores/control"
	exec {lock}>"$T/state/lock"
	flock "$lock"
	(
		cd "$T/cores/tm" && ulimit -c unlimited &&
			exec env LD_PRELOAD="$FAKECFS" "$TM" -c "$T/conf" apply {lock}>&-
	) &
	pid=$!
	(cd "$T/cores/control" && ulimit -c unlimited && exec sleep 60 {lock}>&-) &
	control=$!
	# Wait until apply blocks in flock (it has read the target files by then).
	for _ in $(seq 100); do
		[[ "$(cat "/proc/$pid/wchan" 2>/dev/null)" == *lock* ]] && break
		sleep 0.1
	done
	[[ "$(cat "/proc/$pid/wchan")" == *lock* ]]
	kill -SEGV "$pid" "$control"
	wait "$pid" || true
	wait "$control" || true
	exec {lock}>&-
	[ "$(find "$T/cores/control" -name 'core*' | wc -l)" -eq 1 ] ||
		skip "this host wrote no core for a dumpable process either"
	[ "$(find "$T/cores/tm" -name 'core*' | wc -l)" -eq 0 ]
}
