#!/bin/bash
# Issue 11: data the initiator flushed survives a hard power-off of the guest.
# Needs run-vm.sh --power-cut --disk DURFS:256M --disk DURBLK:64M.  Prints TAP.
#
#   boot 1: an ext4 file system on the DURFS disk holds a fileio LUN's backing file; DURBLK is
#           a block LUN; both served by targetmgr with its defaults (cache mode included).
#           open-iscsi writes 8 MiB of random data to each LUN and fsyncs the device (the
#           kernel sends SYNCHRONIZE CACHE when the disk reports a write cache), then 8 MiB
#           more without any flush, and asks the host for a power cut: QMP `quit`, no shutdown.
#   boot 2: a new root overlay (nothing of boot 1's /etc), the same two disks: the ext4
#           journal is recovered, targetmgr serves the same LUNs again, and every flushed
#           block reads back through iSCSI with the checksums boot 1 stored on the host.
#           Whether the unflushed 8 MiB survived is printed, not asserted: it MAY be lost.
#
# `--args lie` (by hand, not in CI) is the control that shows the checks can fail: boot 1
# serves LUN 1 write-back (fd_buffered_io=1) while reporting no write cache (WCE=0), so the
# initiator never sends SYNCHRONIZE CACHE and "flushed" data sits in the guest's page cache.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

T=iqn.2026-12.test.targetmgr:durable
CONF=/etc/targetmgr/targets.d
MNT=/srv/durable
FS=/dev/disk/by-id/virtio-DURFS
BLK=/dev/disk/by-id/virtio-DURBLK
KEEP=/out/durable # on the host: survives the cut
MIB=8             # each region
LUNS="1 2"        # 1: fileio on DURFS, 2: block device DURBLK
MODE=${1:-}

serve() {
	mkdir -p "$CONF"
	cat >"$CONF/durable.conf" <<CONF
[target $T]
lun 1 = $MNT/lun1.img size=64M
lun 2 = $BLK
initiator = $INITIATOR
CONF
	check "targetmgr apply" "$TM" apply
	if [[ $MODE == lie && $(power_cuts) == 0 ]]; then
		check "lie: LUN 1 made write-back by hand" buffered_fileio "$T" 1
		# The control must not depend on timing: no periodic writeback before the cut.
		sysctl -q vm.dirty_writeback_centisecs=0 vm.dirty_expire_centisecs=360000
		check "lie: LUN 1 reports no write cache" \
			bash -c "printf 0 >'$(lun_backstore "$T" 1)/attrib/emulate_write_cache'"
	fi
	discover >/dev/null
	check "login" login "$T"
}

# flushed_sum LUN: the checksum of the LUN's first MIB MiB, the flushed region.
flushed_sum() {
	local dev
	dev=$(lun_dev "$T" "$1") || return 1
	dd if="$dev" bs=1M count="$MIB" iflag=direct status=none | sha256sum | cut -d' ' -f1
}

# What each side says about the write cache: LIO's attributes and the initiator's view.
cache_report() {
	local lun dev so
	for lun in $LUNS; do
		dev=$(lun_dev "$T" "$lun") || continue
		so=$(lun_backstore "$T" "$lun")
		echo "# LUN $lun: $(basename "$(dirname "$so")")/$(basename "$so")," \
			"emulate_write_cache=$(cat "$so/attrib/emulate_write_cache" 2>/dev/null)" \
			"$(grep -o 'Mode: [A-Za-z_-]*' "$so/info" 2>/dev/null)" \
			"- the initiator's sd cache_type: $(cat /sys/block/"${dev#/dev/}"/device/scsi_disk/*/cache_type)"
	done
}

echo "# kernel $(uname -r), power cuts so far: $(power_cuts)"
start_iscsid

if (($(power_cuts) == 0)); then
	rm -rf "$KEEP" && mkdir -p "$KEEP"
	mkdir -p "$MNT"
	check "mkfs.ext4 on the DURFS disk" mkfs.ext4 -q -F "$FS"
	check "mount it" mount "$FS" "$MNT"
	serve
	cache_report
	for lun in $LUNS; do
		dev=$(lun_dev "$T" "$lun") || { not_ok "LUN $lun appears"; continue; }
		head -c "${MIB}M" /dev/urandom >"$KEEP/lun$lun-flushed"
		head -c "${MIB}M" /dev/urandom >"$KEEP/lun$lun-unflushed"
		sha256sum <"$KEEP/lun$lun-flushed" | cut -d' ' -f1 >"$KEEP/lun$lun-flushed.sha"
		sha256sum <"$KEEP/lun$lun-unflushed" | cut -d' ' -f1 >"$KEEP/lun$lun-unflushed.sha"
		# O_DIRECT bypasses the initiator's page cache; conv=fsync is fsync(2) on the disk,
		# which the sd driver turns into SYNCHRONIZE CACHE when the LUN reports WCE=1.
		check "LUN $lun: $MIB MiB written and fsynced ($dev)" \
			dd if="$KEEP/lun$lun-flushed" of="$dev" bs=1M oflag=direct conv=fsync status=none
	done
	sync "$KEEP"/* # the checksums are on the host before anything else happens
	for lun in $LUNS; do
		dev=$(lun_dev "$T" "$lun") || continue
		# Reaches LIO (O_DIRECT) but nothing asks it to flush.
		check "LUN $lun: $MIB MiB more written, not flushed" \
			dd if="$KEEP/lun$lun-unflushed" of="$dev" bs=1M seek="$MIB" oflag=direct status=none
	done
	echo "$tap_failed" >"$KEEP/boot1-failed"
	tap_done
	power_cut
fi

# --- boot 2: after the power cut ----------------------------------------------------------
is "exactly one power cut happened" "$(power_cuts)" 1
is "boot 1 had no failed check" "$(cat "$KEEP/boot1-failed" 2>/dev/null)" 0
mkdir -p "$MNT"
check "the DURFS file system mounts" mount "$FS" "$MNT"
# An ext4 that was mounted read-write and never unmounted replays its journal: proof that
# boot 1 ended with no shutdown.
check "its journal was recovered (boot 1 was not shut down cleanly)" \
	bash -c "dmesg | grep -q 'EXT4-fs ($(basename "$(readlink -f "$FS")")): recovery complete'"
check "the fileio backing file is still there" test -f "$MNT/lun1.img"
serve
cache_report
for lun in $LUNS; do
	is "LUN $lun: every block flushed before the cut reads back through targetmgr" \
		"$(flushed_sum "$lun")" "$(cat "$KEEP/lun$lun-flushed.sha")"
done
for lun in $LUNS; do
	dev=$(lun_dev "$T" "$lun") || continue
	lost=0
	for i in $(seq 0 $((MIB - 1))); do
		cmp -s <(dd if="$dev" bs=1M skip=$((MIB + i)) count=1 iflag=direct status=none) \
			<(dd if="$KEEP/lun$lun-unflushed" bs=1M skip="$i" count=1 status=none) || lost=$((lost + 1))
	done
	echo "# LUN $lun: of the $MIB MiB written without a flush, $((MIB - lost)) MiB survived the cut" \
		"and $lost MiB did not (allowed: nothing asked for them to be durable)"
done
logout "$T" >/dev/null
"$TM" clear >/dev/null
umount "$MNT"
tap_done
