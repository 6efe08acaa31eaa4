#!/bin/bash
# Boot three guests of the cached image, joined by a private network, and run one guest script
# on each: the HA scenario's two cluster nodes and its initiator.
#
#   run-cluster.sh SCRIPT [--shared-disk SERIAL:SIZE]... [--args A,B] [--timeout SECS]
#                  [--out DIR] [--mem MiB]
#
# (run-vm.sh SCRIPT --cluster ... comes here, so tests/vm/scenarios can list it.)
# Guests a and b are the cluster nodes, booted with systemd as PID 1 (run-vm.sh --systemd's
# mode, targetmgr installed from build-vm/root); c is the initiator, booted with the faster
# tm-vm-init (run-vm.sh's default mode). Each boots from its own snapshot=on overlay of the one
# root image and runs SCRIPT with its name (a, b or c) as the first argument, then --args.
#   network   one virtio-net NIC each (MAC 52:54:00:77:00:0N), QEMU's `-netdev dgram` over
#             unix sockets to a hub process (cluster-host.py) that repeats frames between
#             them: no host address, tap or multicast. The guests give themselves addresses.
#   storage   each --shared-disk is one sparse raw file that a and b both open as
#             /dev/disk/by-id/virtio-SERIAL (share-rw=on, no image locking, cache=none: what a
#             wrote, b reads from the host's file, with no QEMU cache in between); c has none.
#   control   a third 9p tag, `cluster`, is the same host folder for all three: the guests
#             meet there (files), and c asks the host to kill a guest there (cluster-host.py).
# The exit status is c's script's (124 on timeout, 125 if c left none); a's and b's consoles
# are shown with "# a: " and "# b: " in front, so that only c's TAP lines count.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/common.sh
. "$here/common.sh"
log() { printf 'run-cluster: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 2
}

script='' timeout=900 out='' mem=1024 args=''
shared=()
while (($#)); do
	case $1 in
	--timeout) timeout=${2:?} && shift 2 ;;
	--out) out=${2:?} && shift 2 ;;
	--mem) mem=${2:?} && shift 2 ;;
	--args) args=${2:?} && shift 2 ;;
	--shared-disk) shared+=("${2:?--shared-disk needs SERIAL:SIZE}") && shift 2 ;;
	--cluster) shift ;; # run-vm.sh's switch to here
	-h | --help) sed -n '2,/^set /s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" | grep -v '^set ' >&2 && exit 2 ;;
	-*) die "unknown option $1" ;;
	*)
		[[ -z $script ]] || die "only one SCRIPT"
		script=$1 && shift
		;;
	esac
done
[[ -n $script ]] || die "usage: run-cluster.sh SCRIPT [--timeout SECS] [--out DIR] [--mem MiB]"
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout needs seconds"
[[ $args =~ ^[^[:space:]]*$ ]] || die "--args must not contain white space (kernel command line)"

vm_script "$script"
img=$(vm_image)
bash "$here/install-root.sh" "$repo"

if [[ -n $out ]]; then
	mkdir -p "$out"
	res=$(realpath "$out")
	rm -rf "${res:?}"/{a,b,c,cluster}
	keep=1
else
	res=$(mktemp -d "${TMPDIR:-/tmp}/targetmgr-cluster.XXXXXX")
	keep=${TARGETMGR_VM_KEEP:-0}
fi
mkdir -p "$res"/{a,b,c,cluster}
# Unix socket paths hold at most 107 bytes: a short folder of their own.
sockdir=$(mktemp -d /tmp/tmc.XXXXXX)
pids=()
declare -A pid
# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$sockdir"
}
trap cleanup EXIT
shared_opts=()
i=0
for d in "${shared[@]}"; do
	serial=${d%%:*} size=${d#*:}
	[[ $serial =~ ^[A-Za-z0-9_.-]{1,20}$ && $d == *:* ]] || die "bad --shared-disk $d (SERIAL:SIZE)"
	truncate -s "$size" "$sockdir/$serial.raw" # sparse
	shared_opts+=(-drive "file=$sockdir/$serial.raw,format=raw,if=none,id=shared$i,cache=none,file.locking=off"
		-device "virtio-blk-pci,drive=shared$i,serial=$serial,share-rw=on")
	i=$((i + 1))
done

python3 "$here/cluster-host.py" "$sockdir" "$res/cluster" a b c 2> >(tee "$res/cluster-host.log" >&2) &
pids+=($!)

# boot GUEST N: one guest's QEMU, in the background; its console goes to GUEST/serial.log.
boot() {
	local g=$1 n=$2
	# no_timer_check: on a loaded host the kernel's boot-time check of the timer interrupt can
	# miss its window under TCG and panic ("IO-APIC + timer doesn't work!"); it did for one node.
	local cmdline="root=LABEL=tmroot rw console=ttyS0 tm.script=$rel tm.args=$g${args:+,$args} quiet panic=-1 no_timer_check"
	if [[ $g == c ]]; then
		cmdline+=" init=/sbin/tm-vm-init"
	else
		cmdline+=" init=/lib/systemd/systemd tm.boots=1 systemd.show_status=error"
	fi
	local qemu=(
		qemu-system-x86_64
		-accel "tcg,thread=multi" -cpu max -smp 1 -m "$mem"
		-nographic -vga none -no-reboot
		-kernel "$img/vmlinuz" -initrd "$img/initrd.img" -append "$cmdline"
		-drive "file=$img/root.img,format=raw,if=virtio,snapshot=on"
		-virtfs "local,path=$repo,mount_tag=work,security_model=none"
		-virtfs "local,path=$res/$g,mount_tag=out,security_model=none"
		-virtfs "local,path=$res/cluster,mount_tag=cluster,security_model=none"
		-netdev "dgram,id=n0,local.type=unix,local.path=$sockdir/$g.sock,remote.type=unix,remote.path=$sockdir/hub.sock"
		-device "virtio-net-pci,netdev=n0,mac=52:54:00:77:00:0$n,romfile="
		-qmp "unix:$sockdir/$g.qmp,server=on,wait=off"
	)
	[[ $g == c ]] || qemu+=("${shared_opts[@]}")
	"${qemu[@]}" </dev/null >"$res/$g/serial.log" 2>&1 &
	pids+=($!)
	pid[$g]=$!
}

log "booting a, b and c ($(cat "$img/kver"), ${mem} MiB each) for $rel (timeout ${timeout}s, results $res)"
start=$(date +%s.%N)
boot a 1
boot b 2
boot c 3
# The consoles, as they come: c's as it is (its TAP), a's and b's as TAP comments.
tail --pid="${pid[c]}" -n +1 -F "$res/c/serial.log" 2>/dev/null &
pids+=($!)
for g in a b; do
	tail --pid="${pid[c]}" -n +1 -F "$res/$g/serial.log" 2>/dev/null | sed -u "s/^/# $g: /" &
	pids+=($!)
done

# The run ends when c's QEMU does (c powers off after its script), or at the timeout.
st=0
deadline=$((SECONDS + timeout))
while kill -0 "${pid[c]}" 2>/dev/null; do
	((SECONDS <= deadline)) || { st=124 && break; }
	sleep 1
done
sleep 1 # the tails catch up
wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
vm_finish "$st" "$res/c/rc" " (c, the initiator); whole cluster run ${wall}s wall"
