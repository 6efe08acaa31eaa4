#!/bin/bash
# The data-path benchmark, inside the real-kernel VM (bench/datapath boots it with
# `tests/vm/run-vm.sh bench/guest-datapath.sh --disk BENCHFS:1G --disk BENCHBLK:512M
# --disk-cache none --args "RUNTIME ROUNDS"`).
#
# The same 512 MiB file (on ext4 on the BENCHFS disk) and the same block device (the
# BENCHBLK disk) are served, one after the other, by:
#   targetmgr      targetmgr apply of a plain `lun 1 = PATH` line: its defaults
#   targetmgr-aio  (file only) the same, with LIO's fd_async_io=1 set by hand (see below)
#   targetmgr-tpu0 targetmgr with attribute.emulate_tpu=0 attribute.emulate_tpws=0: exactly
#                  targetcli's LIO configuration, so that targetmgr-tpu0 against targetcli
#                  measures nothing but noise and the order of the tools
#   targetcli      targetcli-fb's defaults: the rtslib-fb calls its create commands make
#                  (targetcli itself needs a system D-Bus, which the guest does not run):
#                  fileio write_back=True, block as the device says, portal 0.0.0.0:3260
#   tgt            tgtd's defaults (rdwr backing store, write cache on)
# Each is logged in with open-iscsi over 127.0.0.1 and measured with fio on the raw iSCSI
# disk (direct=1), RUNTIME seconds per profile after 1 s of ramp:
#   randread  4k random read, iodepth 16      randwrite  4k random write, iodepth 16
#   seqread   1M sequential read, iodepth 4   seqwrite   1M sequential write, iodepth 4
#   flush     4k random write with fsync=1 (an fsync, i.e. SYNCHRONIZE CACHE when the disk
#             reports a write cache, after every write), iodepth 1
# A host shared with other work makes single figures noisy, so the whole comparison runs
# ROUNDS times, the order of the tools rotated each round (A B C, B C A, C A B, ...) so that
# a slow minute of the host does not always fall on the same tool; bench/datapath reports the
# median of the rounds and their spread.  Arguments: RUNTIME ROUNDS [TOOLS [BACKINGS]], the
# lists separated by ':' (default targetmgr:targetcli:tgt:targetmgr-aio and file:block;
# file-only tools are left out on the block device).
# Results: /out/datapath.tsv (backing, tool, profile, metric, value, round); bench/datapath
# prints the table.  logs/attrib-BACKING-TOOL.txt: every attribute of the LIO backstore.
set -uo pipefail
. /work/tests/vm/guest/lib.sh # TM, CFS, INITIATOR, start_iscsid, lun_dev, lun_backstore

RES=/out/datapath.tsv
LOGS=/out/logs
RUNTIME=${1:-5}
ROUNDS=${2:-3}
IFS=: read -r -a FILE_TOOLS <<<"${3:-targetmgr:targetcli:tgt:targetmgr-aio}"
IFS=: read -r -a BACKINGS <<<"${4:-file:block}"
TOOLS=()
for tool in "${FILE_TOOLS[@]}"; do
	[[ $tool == targetmgr-aio ]] || TOOLS+=("$tool")
done
FS=/dev/disk/by-id/virtio-BENCHFS
BLK=/dev/disk/by-id/virtio-BENCHBLK
MNT=/srv/bench
FILE=$MNT/bench.img
IQN=iqn.2026-12.test.targetmgr:bench
PROFILES=(randread randwrite seqread seqwrite flush)

say() { printf 'bench: %s\n' "$*"; }
record() { printf '%s\t%s\t%s\t%s\t%s\t-\n' "$@" >>"$RES"; } # BACKING TOOL PROFILE METRIC VALUE

fio_args() { # PROFILE
	case $1 in
	randread) echo --rw=randread --bs=4k --iodepth=16 --ioengine=libaio ;;
	randwrite) echo --rw=randwrite --bs=4k --iodepth=16 --ioengine=libaio ;;
	seqread) echo --rw=read --bs=1M --iodepth=4 --ioengine=libaio ;;
	seqwrite) echo --rw=write --bs=1M --iodepth=4 --ioengine=libaio ;;
	flush) echo --rw=randwrite --bs=4k --iodepth=1 --ioengine=psync --fsync=1 ;;
	esac
}

# --- serving: each tool's defaults -----------------------------------------------------------

serve_targetmgr() { # PATH [LUN OPTIONS]
	mkdir -p /etc/targetmgr/targets.d
	printf '[target %s]\nlun 1 = %s%s\ninitiator = %s\n' "$IQN" "$1" "${2:+ $2}" "$INITIATOR" \
		>/etc/targetmgr/targets.d/bench.conf
	"$TM" apply
}
stop_targetmgr() {
	"$TM" clear && rm -f /etc/targetmgr/targets.d/bench.conf
}
serve_targetmgr-tpu0() { serve_targetmgr "$1" "attribute.emulate_tpu=0 attribute.emulate_tpws=0"; }
stop_targetmgr-tpu0() { stop_targetmgr; }

# targetmgr-aio (file only): targetmgr's fileio backstore made again by hand with LIO's
# fd_async_io=1 as well (a creation-time control targetmgr has no syntax for) and adopted.
# LIO then submits each command as an asynchronous direct kiocb (fd_execute_rw_aio) instead
# of a synchronous buffered read or write in the iSCSI receive thread: measured to see
# whether it would make a better default.
serve_targetmgr-aio() { # PATH
	local so serial
	serve_targetmgr "$1" && so=$(lun_backstore "$IQN" 1) && [[ -n $so ]] || return 1
	serial=$(sed -n 's/^T10 VPD Unit Serial Number: //p' "$so/wwn/vpd_unit_serial")
	"$TM" clear && mkdir -p "$so" &&
		printf 'fd_dev_name=%s,fd_dev_size=%s,fd_buffered_io=1,fd_async_io=1' "$1" \
			"$(stat -c %s "$1")" >"$so/control" &&
		printf '%s' "$1" >"$so/udev_path" && printf '%s' "$serial" >"$so/wwn/vpd_unit_serial" &&
		printf 1 >"$so/enable" && "$TM" apply --adopt && grep -H . "$so/info"
}
stop_targetmgr-aio() { stop_targetmgr; }

serve_targetcli() { # PATH
	python3 - "$1" "$IQN" "$INITIATOR" <<'PY'
# What targetcli-fb's `/backstores/{fileio,block} create`, `/iscsi create`, `luns create` and
# `acls create` do with its default preferences (ui_backstore.py, ui_target.py).
import os, sys
from rtslib_fb import (FileIOStorageObject, BlockStorageObject, FabricModule, Target, TPG,
                       LUN, NetworkPortal, NodeACL, MappedLUN)
path, iqn, initiator = sys.argv[1:4]
if path.startswith("/dev/"):
    so = BlockStorageObject("bench", path)
else:
    so = FileIOStorageObject("bench", path, size=os.path.getsize(path), write_back=True)
tpg = TPG(Target(FabricModule("iscsi"), iqn), 1)
tpg.enable = True  # auto_enable_tpgt
tpg.set_attribute("authentication", 0)  # ui_target.py: ACLs without CHAP may log in
NetworkPortal(tpg, "0.0.0.0", 3260)  # auto_add_default_portal
lun = LUN(tpg, 1, so)
acl = NodeACL(tpg, initiator)
MappedLUN(acl, 1, lun)  # auto_add_mapped_luns
PY
}
stop_targetcli() { python3 -c 'from rtslib_fb import RTSRoot; RTSRoot().clear_existing(confirm=True)'; }

serve_tgt() { # PATH
	tgtd >>"$LOGS/tgtd.log" 2>&1 || return 1
	for _ in $(seq 1 50); do
		tgtadm --op show --mode system >/dev/null 2>&1 && break
		sleep 0.2
	done
	tgtadm --lld iscsi --op new --mode target --tid 1 -T "$IQN" &&
		tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$1" &&
		tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL
}
stop_tgt() {
	# tgtd refuses to stop (`invalid request`) while it still has a target.
	tgtadm --lld iscsi --op delete --mode target --tid 1 --force
	tgtadm --op delete --mode system
	for _ in $(seq 1 100); do
		pgrep -x tgtd >/dev/null || return 0
		sleep 0.2
	done
	kill $(pgrep -x tgtd) # the one we started: nothing else in the guest runs tgtd
	return 1
}

# What the initiator and the target say about the write cache.
cache_facts() { # BACKING TOOL DEV
	local so
	record "$1" "$2" - sd_cache_type "$(cat /sys/block/"${3#/dev/}"/device/scsi_disk/*/cache_type)"
	[[ $2 == tgt ]] && return
	so=$(lun_backstore "$IQN" 1)
	record "$1" "$2" - lio_backstore "$(basename "$(dirname "$so")")"
	record "$1" "$2" - emulate_write_cache "$(cat "$so/attrib/emulate_write_cache")"
	record "$1" "$2" - fileio_mode "$(grep -o 'Mode: [A-Za-z_-]*' "$so/info" | cut -d' ' -f2)"
	# Every attribute of the backstore, the TPG and the ACL, for comparing what each tool sets
	# (bench/datapath prints the differences).
	{
		(cd "$so" && grep -H . -- attrib/*)
		(cd "$CFS/target/iscsi/$IQN/tpgt_1" && grep -H . -- attrib/* param/* acls/*/attrib/* acls/*/cmdsn_depth |
			sed "s|^acls/$INITIATOR/|acl/|")
	} >"$LOGS/attrib-$1-$2.txt" 2>/dev/null
}

run_tool() { # BACKING TOOL PATH ROUND
	local backing=$1 tool=$2 path=$3 round=$4 dev p log
	say "round $round: $backing / $tool: serving $path"
	sync && echo 3 >/proc/sys/vm/drop_caches # every tool starts with a cold page cache
	if ! "serve_$tool" "$path" >>"$LOGS/$backing-$tool.log" 2>&1; then
		record "$backing" "$tool" - error "round $round: serving failed (logs/$backing-$tool.log)"
		"stop_$tool" >>"$LOGS/$backing-$tool.log" 2>&1
		return
	fi
	if discover >>"$LOGS/$backing-$tool.log" 2>&1 &&
		login "$IQN" >>"$LOGS/$backing-$tool.log" 2>&1 &&
		dev=$(lun_dev "$IQN" 1); then
		((round > 1)) || cache_facts "$backing" "$tool" "$dev"
		for p in "${PROFILES[@]}"; do
			log=$LOGS/$backing-$tool-$p-$round.json
			# shellcheck disable=SC2046 # fio_args is a word list
			if fio --name="$p" --filename="$dev" --direct=1 --time_based --ramp_time=1 \
				--runtime="$RUNTIME" --randrepeat=0 --output-format=json $(fio_args "$p") \
				>"$log" 2>"$log.err"; then
				jq -r --arg b "$backing" --arg t "$tool" --arg p "$p" --arg r "$round" \
					'.jobs[0] as $j | ($j.read.iops + $j.write.iops) as $iops |
					(($j.read.bw_bytes + $j.write.bw_bytes) / 1e6) as $mbs |
					"\($b)\t\($t)\t\($p)\tiops\t\($iops)\t\($r)\n\($b)\t\($t)\t\($p)\tmbs\t\($mbs)\t\($r)"' \
					"$log" >>"$RES"
				say "round $round: $backing / $tool / $p: $(awk -F '\t' -v p="$p" -v t="$tool" \
					-v b="$backing" -v r="$round" \
					'$1 == b && $2 == t && $3 == p && $6 == r { printf "%s %.1f  ", $4, $5 }' "$RES")"
			else
				record "$backing" "$tool" "$p" error "round $round: fio failed: $(tail -n1 "$log.err")"
			fi
		done
	else
		record "$backing" "$tool" - error "round $round: login failed (logs/$backing-$tool.log)"
	fi
	logout "$IQN" >>"$LOGS/$backing-$tool.log" 2>&1
	iscsiadm -m node -o delete >>"$LOGS/$backing-$tool.log" 2>&1
	"stop_$tool" >>"$LOGS/$backing-$tool.log" 2>&1 ||
		record "$backing" "$tool" - error "round $round: teardown failed (logs/$backing-$tool.log)"
}

# --- main --------------------------------------------------------------------------------------

rm -rf "$RES" "$LOGS" && mkdir -p "$LOGS"
modprobe -a configfs target_core_mod iscsi_target_mod target_core_file target_core_iblock \
	iscsi_tcp sd_mod crc32c
mountpoint -q "$CFS" || mount -t configfs none "$CFS"
mkdir -p /etc/target "$MNT"
start_iscsid
record - - - kernel "$(uname -r)"
record - - - fio "$(fio --version)"
record - - - targetcli "$(dpkg-query -W -f '${Version}' targetcli-fb)"
record - - - tgt "$(dpkg-query -W -f '${Version}' tgt)"
record - - - runtime "$RUNTIME"
record - - - rounds "$ROUNDS"
record - - - tools "${FILE_TOOLS[*]}"

# The same data under every tool: the whole file and the whole disk written once (not sparse).
if ! mkfs.ext4 -q -F "$FS" || ! mount "$FS" "$MNT"; then
	say "BENCHFS not usable"
	exit 1
fi
t0=$(date +%s)
if ! dd if=/dev/zero of="$FILE" bs=1M count=512 conv=fsync status=none ||
	! dd if=/dev/zero of="$BLK" bs=1M count=512 oflag=direct conv=fsync status=none; then
	say "filling the backing stores failed"
	exit 1
fi
say "512 MiB file and 512 MiB disk written in $(($(date +%s) - t0)) s"

blk=$(readlink -f "$BLK")
for ((round = 1; round <= ROUNDS; round++)); do
	for backing in "${BACKINGS[@]}"; do
		if [[ $backing == file ]]; then
			path=$FILE tools=("${FILE_TOOLS[@]}")
		else
			path=$blk tools=("${TOOLS[@]}")
		fi
		# This round's order: the tools rotated by one place per round.
		k=$(((round - 1) % ${#tools[@]}))
		order=("${tools[@]:k}" "${tools[@]:0:k}")
		say "round $round of $ROUNDS, $backing: ${order[*]}"
		for tool in "${order[@]}"; do
			run_tool "$backing" "$tool" "$path" "$round"
		done
	done
done
say "done"
