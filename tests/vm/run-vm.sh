#!/bin/bash
# Boot the cached Debian 12 guest under QEMU (TCG) and run one guest script.
#
#   run-vm.sh SCRIPT [--disk SERIAL:SIZE]... [--timeout SECS] [--qmp SOCKPATH]
#             [--args A,B,...] [--out DIR] [--mem MiB] [--systemd [--boots N]]
#             [--hotplug] [--power-cut] [--disk-cache MODE]
#   run-vm.sh SCRIPT --cluster [--shared-disk SERIAL:SIZE]... [--timeout SECS] [--out DIR]
#             [--mem MiB]
#
# SCRIPT is a path inside this git checkout; the guest runs it with bash from
# /work (the checkout, shared over 9p). Each --disk adds a sparse raw
# virtio-blk disk that the guest sees as /dev/disk/by-id/virtio-SERIAL.
# --args is passed as the script's arguments (comma separated).
# --out keeps the results folder (guest /out: console.log, rc, ...) at DIR;
# otherwise a temporary one is removed on success and kept on failure.
# --systemd boots systemd as PID 1 (tm-vm-test.service runs SCRIPT once the
# system is up) with targetmgr installed by `meson install` (build-vm/root);
# --boots N lets the guest reboot N-1 times (QEMU keeps running, the disk
# overlay survives). --hotplug serves the guest's hot-add/remove requests
# (hotplug.py) over a QMP socket. --power-cut (implies --hotplug) serves the
# guest's power_cut request (guest/lib.sh) with a QMP `quit` at once, no
# shutdown, then boots the guest again with the same --disk files (the root
# overlay is new). --disk-cache is QEMU's cache mode of the --disk files:
# unsafe by default (QEMU ignores the guest's flushes), none with --power-cut
# (O_DIRECT, flushes become fdatasync; writeback where O_DIRECT fails).
# Exit status: the guest script's, 124 on timeout, 125 if the guest left none.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/common.sh
. "$here/common.sh"
for a in "$@"; do
	[[ $a == --cluster ]] && exec bash "$here/run-cluster.sh" "$@"
done

log() { printf 'run-vm: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 2
}
usage() {
	sed -n '2,/^set /s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" | grep -v '^set ' >&2
	exit 2
}

script='' timeout=900 qmp='' args='' out='' mem=2048 systemd=0 boots=1 hotplug=0 power_cut=0 disk_cache=''
disks=()
while (($#)); do
	case $1 in
	--disk) disks+=("${2:?--disk needs SERIAL:SIZE}") && shift 2 ;;
	--timeout) timeout=${2:?} && shift 2 ;;
	--qmp) qmp=${2:?} && shift 2 ;;
	--args) args=${2:?} && shift 2 ;;
	--out) out=${2:?} && shift 2 ;;
	--mem) mem=${2:?} && shift 2 ;;
	--systemd) systemd=1 && shift ;;
	--boots) boots=${2:?} && shift 2 ;;
	--hotplug) hotplug=1 && shift ;;
	--power-cut) power_cut=1 hotplug=1 && shift ;;
	--disk-cache) disk_cache=${2:?} && shift 2 ;;
	-h | --help) usage ;;
	-*) die "unknown option $1" ;;
	*)
		[[ -z $script ]] || die "only one SCRIPT"
		script=$1 && shift
		;;
	esac
done
[[ -n $script ]] || usage
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout needs seconds"
[[ $boots =~ ^[1-9]$ ]] || die "--boots needs 1 to 9"
((boots == 1 || systemd)) || die "--boots needs --systemd"
[[ $args =~ ^[^[:space:]]*$ ]] || die "--args must not contain white space (kernel command line)"

vm_script "$script"
img=$(vm_image)
((systemd)) && bash "$here/install-root.sh" "$repo"

if [[ -n $out ]]; then
	mkdir -p "$out"
	res=$(realpath "$out")
	rm -rf "$res/rc" "$res/console.log" "$res/boot-seconds" "$res/reboot-requested" "$res/hotplug"
	keep=1
else
	res=$(mktemp -d "${TMPDIR:-/tmp}/targetmgr-vm.XXXXXX")
	keep=${TARGETMGR_VM_KEEP:-0}
fi
diskdir=$(mktemp -d "${TMPDIR:-/tmp}/targetmgr-vm-disks.XXXXXX")
trap 'rm -rf "$diskdir"' EXIT

# no_timer_check: on a loaded host the kernel's boot-time check of the timer interrupt can miss
# its window under TCG and panic ("IO-APIC + timer doesn't work!").
cmdline="root=LABEL=tmroot rw console=ttyS0 tm.script=$rel${args:+ tm.args=$args} quiet panic=-1 no_timer_check"
if ((systemd)); then
	# The image has systemd but not systemd-sysv (no /sbin/init): name it. systemd prints
	# only failures on the console the TAP output goes to.
	cmdline+=" init=/lib/systemd/systemd tm.boots=$boots systemd.show_status=error"
else
	cmdline+=" init=/sbin/tm-vm-init"
fi
qemu=(
	qemu-system-x86_64
	-accel "tcg,thread=multi" -cpu max -smp 2 -m "$mem"
	-nographic -nic none -vga none
	-kernel "$img/vmlinuz" -initrd "$img/initrd.img"
	-append "$cmdline"
	# snapshot=on: writes go to a temporary overlay, root.img never changes. The overlay
	# lives as long as QEMU, so a guest reboot (--boots) finds what the first boot wrote.
	-drive "file=$img/root.img,format=raw,if=virtio,snapshot=on"
	-virtfs "local,path=$repo,mount_tag=work,security_model=none"
	-virtfs "local,path=$res,mount_tag=out,security_model=none"
)
[[ -n $disk_cache ]] || { ((power_cut)) && disk_cache=none || disk_cache=unsafe; }
# cache=none needs O_DIRECT; writeback passes the guest's flushes on as fdatasync too.
if [[ $disk_cache == none ]] &&
	! dd if=/dev/zero of="$diskdir/.probe" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
	log "no O_DIRECT in $diskdir: --disk files use cache=writeback"
	disk_cache=writeback
fi
rm -f "$diskdir/.probe"
i=0
for d in "${disks[@]}"; do
	serial=${d%%:*} size=${d#*:}
	# virtio-blk serials hold at most 20 bytes; udev uses them in by-id names.
	[[ $serial =~ ^[A-Za-z0-9_.-]{1,20}$ && $d == *:* ]] || die "bad --disk $d (SERIAL:SIZE, serial <= 20 chars)"
	truncate -s "$size" "$diskdir/$serial.raw" # sparse
	qemu+=(-drive "file=$diskdir/$serial.raw,format=raw,if=none,id=disk$i,cache=$disk_cache"
		-device "virtio-blk-pci,drive=disk$i,serial=$serial")
	i=$((i + 1))
done
# A reboot ends QEMU unless the guest may reboot; the guest-side runner then refuses
# a boot beyond --boots, so a reboot loop still ends.
((boots > 1)) || qemu+=(-no-reboot)
if ((hotplug)) && [[ -z $qmp ]]; then
	qmp=$diskdir/qmp.sock
fi
[[ -z $qmp ]] || qemu+=(-qmp "unix:$qmp,server=on,wait=off")

log "booting $(cat "$img/kver") for $rel (timeout ${timeout}s, results $res)"
start=$(date +%s.%N)
: >"$res/serial.log"
cuts=0
while :; do
	# The serial console streams to stdout and into serial.log; stdin is not the
	# terminal so QEMU never puts it into raw mode. --foreground keeps QEMU in
	# our process group so Ctrl-C or a CI kill of the group reaches it.
	if ((hotplug)); then
		# Serves the guest's requests in $res/hotplug until QEMU is gone.
		python3 "$here/hotplug.py" "$qmp" "$res/hotplug" "$diskdir" &
		hotplug_pid=$!
		# '|| true': hotplug.py ends by itself once QEMU is gone, and under set -e a failed
		# kill in the trap would replace the guest's exit status with 1.
		trap 'kill "$hotplug_pid" 2>/dev/null || true; rm -rf "$diskdir"' EXIT
	fi
	left=$((timeout - $(printf '%.0f' "$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')")))
	set +e
	timeout --foreground -k 10 "$((left > 1 ? left : 1))" "${qemu[@]}" </dev/null 2>&1 | tee -a "$res/serial.log"
	st=${PIPESTATUS[0]}
	((hotplug)) && wait "$hotplug_pid"
	set -e
	# A power cut (hotplug.py wrote power-cut-N): boot again on the same disks, at most 8 times.
	((power_cut && st != 124 && cuts < 8)) && [[ ! -s $res/rc && -f $res/hotplug/power-cut-$((cuts + 1)) ]] || break
	cuts=$((cuts + 1))
	[[ ! -f $res/console.log ]] || mv "$res/console.log" "$res/console-before-cut-$cuts.log"
	log "power cut $cuts (QMP quit): booting again on the same disks"
done
wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

boot=$(cat "$res/boot-seconds" 2>/dev/null || echo '?')
vm_finish "$st" "$res/rc" "; boot to script ${boot}s guest uptime; whole VM run ${wall}s wall"
