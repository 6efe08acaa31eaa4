#!/bin/bash
# Secrets on a real kernel (issue 10): CHAP secrets applied from secret files and inline work
# for a real initiator, yet never appear in what targetmgr prints (show, plan, save, JSON,
# errors), in the kernel log, or in any process's arguments; save refers to the secret files
# or withholds; a targetmgr killed while it holds secrets leaves no core (a dumpable process
# beside it does); save -o on a full tmpfs leaves the old file.  Needs --disk TMSEC1:32M.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

T1=iqn.2021-02.com.example:vault
T2=iqn.2021-02.com.example:inline
FILE_SECRET=F1leSecretXyz42
INLINE_SECRET=InlineSecretK93
DISC_SECRET=DiscSecretW1234
CONF=/etc/targetmgr/targets.d
OUT=/tmp/secrets-out
mkdir -p "$CONF" /etc/targetmgr/secrets "$OUT"

echo "# kernel $(uname -r), initiator $INITIATOR"
start_iscsid

printf '%s\n' "$FILE_SECRET" >/etc/targetmgr/secrets/vault
printf '%s\n' "$DISC_SECRET" >/etc/targetmgr/secrets/discovery
chmod 600 /etc/targetmgr/secrets/*
cat >"$CONF/vault.conf" <<CONF
[target $T1]
lun 0 = /dev/disk/by-id/virtio-TMSEC1
chap = alice @/etc/targetmgr/secrets/vault
initiator = $INITIATOR

[discovery]
chap = disco @/etc/targetmgr/secrets/discovery
CONF
cat >"$CONF/inline.conf" <<CONF
[target $T2]
lun 0 = ramdisk size=8M
chap = bob $INLINE_SECRET
initiator = $INITIATOR
CONF

# has_secret FILE: whether FILE holds any of the three secrets.
has_secret() {
	grep -qaF -e "$FILE_SECRET" -e "$INLINE_SECRET" -e "$DISC_SECRET" "$1"
}

check "apply with secrets from files and inline" "$TM" apply
is "the kernel holds the file's secret" \
	"$(cat "$CFS/target/iscsi/$T1/tpgt_1/acls/$INITIATOR/auth/password")" "$FILE_SECRET"
# open-iscsi takes discovery CHAP from its config.
sed -i '/^discovery.sendtargets.auth/d' /etc/iscsi/iscsid.conf
cat >>/etc/iscsi/iscsid.conf <<CONF
discovery.sendtargets.auth.authmethod = CHAP
discovery.sendtargets.auth.username = disco
discovery.sendtargets.auth.password = $DISC_SECRET
CONF
check "discovery with the discovery secret" discover
node_chap "$T1" alice "$FILE_SECRET" >/dev/null
check "login with the secret from the file" login "$T1"
logout "$T1" >/dev/null 2>&1

# Every command's output, text and JSON, and an error that involves a CHAP line.
for cmd in check plan show "--json show" "--json plan" "--json check" save "save --all" \
	"save --all -o $OUT/saved.conf"; do
	# shellcheck disable=SC2086
	"$TM" $cmd >"$OUT/out" 2>&1
	if has_secret "$OUT/out"; then
		not_ok "targetmgr $cmd prints no secret"
		grep -naF -e "$FILE_SECRET" -e "$INLINE_SECRET" -e "$DISC_SECRET" "$OUT/out" |
			sed 's/^/#   | /' | head -5
	else
		ok "targetmgr $cmd prints no secret"
	fi
done
mkdir -p /tmp/badconf
printf '[target %s]\nlun 0 = ramdisk size=8M\nchap = bob %s extra\nmutual-chap %s\n' \
	"$T2" "$INLINE_SECRET" "$FILE_SECRET" >/tmp/badconf/bad.conf
"$TM" -c /tmp/badconf check >"$OUT/out" 2>&1
refuse "a mistyped CHAP line: the error echoes no secret" has_secret "$OUT/out"
refuse "the kernel log holds no secret" bash -c "dmesg | grep -qaF -e '$FILE_SECRET' -e '$INLINE_SECRET'"
refuse "the saved file holds no secret" has_secret "$OUT/saved.conf"
check "save refers to the secret files" grep -qxF "chap = alice @/etc/targetmgr/secrets/vault" "$OUT/saved.conf"
check "save withholds the inline secret" grep -qxF "chap = bob <withheld>" "$OUT/saved.conf"
refuse "check refuses the withheld secret" "$TM" -c "$OUT/saved.conf" check
refuse "save --with-secrets refuses standard output" "$TM" save --all --with-secrets
check "save --with-secrets -o FILE" "$TM" save --all --with-secrets -o "$OUT/full.conf"
is "the full file is mode 600" "$(stat -c %a "$OUT/full.conf")" 600
check "the full file holds the secrets and passes check" \
	bash -c "grep -qxF 'chap = bob $INLINE_SECRET' '$OUT/full.conf' && '$TM' -c '$OUT/full.conf' check"

# A targetmgr waiting for the apply lock has read the target files: its arguments, and every
# other process's, hold no secret; SIGSEGV then leaves no core, where `sleep` leaves one.
echo "$OUT/core.%e.%p" >/proc/sys/kernel/core_pattern
exec {lock}>/run/targetmgr/lock
flock "$lock"
(ulimit -c unlimited && exec "$TM" apply {lock}>&-) &
pid=$!
(ulimit -c unlimited && exec sleep 60 {lock}>&-) &
control=$!
for _ in $(seq 100); do
	[[ "$(cat "/proc/$pid/wchan" 2>/dev/null)" == *lock* ]] && break
	sleep 0.1
done
is "apply waits for the lock" "$(cat "/proc/$pid/wchan" 2>/dev/null)" locks_lock_inode_wait
# The patterns come from a file, so that grep's own arguments hold no secret.
printf '%s\n' "$FILE_SECRET" "$INLINE_SECRET" "$DISC_SECRET" >"$OUT/patterns"
refuse "no process's arguments hold a secret" \
	bash -c "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | grep -qaF -f '$OUT/patterns'"
kill -SEGV "$pid" "$control"
wait "$pid" 2>/dev/null
wait "$control" 2>/dev/null
exec {lock}>&-
is "the dumpable sleep left a core (cores are written)" "$(find "$OUT" -name 'core.sleep.*' | wc -l)" 1
is "the crashed targetmgr left none" "$(find "$OUT" -name 'core.targetmgr.*' | wc -l)" 0
echo core >/proc/sys/kernel/core_pattern

# A full disk: save -o leaves the old file whole.
mkdir -p /mnt/tiny
mount -t tmpfs -o size=4k tmpfs /mnt/tiny
echo "old contents" >/mnt/tiny/saved.conf
refuse "save -o onto a full tmpfs fails" "$TM" save --all -o /mnt/tiny/saved.conf
is "the old file is intact" "$(cat /mnt/tiny/saved.conf)" "old contents"
is "no temporary file is left" "$(find /mnt/tiny -name '.saved.conf.*' | wc -l)" 0
umount /mnt/tiny

check "clear" "$TM" clear
tap_done
