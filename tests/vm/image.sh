#!/bin/bash
# Build (once per machine) the Debian 12 guest that tests/vm/run-vm.sh boots:
# a root ext4 image plus the kernel and initrd taken from its /boot.
#
# Output: the image directory (root.img, vmlinuz, initrd.img, kver) on stdout;
# progress and timings on stderr.
# Cache: ${TARGETMGR_VM_CACHE:-/var/cache/targetmgr-vm}/img-KEY, where KEY is the
# sha256 of this script, guest-init, tm-vm-test.service and the package list, so
# editing one of them rebuilds and nothing else does.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${TARGETMGR_VM_CACHE:-/var/cache/targetmgr-vm}
suite=bookworm
img_size=2G

# Guest packages. libkmod2/libmount1/libinih1 are targetmgr's runtime
# libraries so host-built binaries run in the guest as they are; fio drives
# I/O during online changes; python3-rtslib-fb's targetctl is the benchmark's
# reference; multipath-tools shows ALUA paths; pacemaker, corosync and
# resource-agents (ocf-tester, ocf-shellfuncs) run the HA agent's cluster;
# pacemaker-cli-utils (crm_resource, crm_mon) drives it and libxml2-utils (xmllint) lets
# ocf-tester lint the meta-data.
packages=(
	linux-image-amd64 initramfs-tools udev kmod systemd open-iscsi
	libiscsi-bin e2fsprogs util-linux iproute2 procps strace sg3-utils jq
	libkmod2 libmount1 libinih1 bash coreutils fio python3-rtslib-fb tgt targetcli-fb libjson-c5
	multipath-tools pacemaker pacemaker-cli-utils corosync resource-agents libxml2-utils
)

t0=$(date +%s)
elapsed() { echo $(($(date +%s) - t0)); }
log() { printf 'image.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# CI starts from a clean machine: install host tools that are missing.
ensure_host_tools() {
	local missing=()
	command -v debootstrap >/dev/null || missing+=(debootstrap)
	command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
	command -v flock >/dev/null || missing+=(util-linux)
	[[ -e /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
	if ((${#missing[@]})); then
		log "installing host packages: ${missing[*]}"
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	fi
}

# The mirror comes from the host's apt configuration (never hard-coded):
# first the deb822 .sources stanza whose Suites has $suite, then sources.list.
# TARGETMGR_VM_MIRROR overrides.
find_mirror() {
	if [[ -n ${TARGETMGR_VM_MIRROR:-} ]]; then
		printf '%s\n' "$TARGETMGR_VM_MIRROR"
		return
	fi
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		uri=$(awk -v suite="$suite" '
			BEGIN { RS = ""; FS = "\n" }
			{
				types = uris = suites = enabled = ""
				for (i = 1; i <= NF; i++) {
					line = $i
					key = tolower(line); sub(/:.*/, "", key)
					sub(/^[^:]*:[ \t]*/, "", line)
					if (key == "types") types = line
					else if (key == "uris") uris = line
					else if (key == "suites") suites = line
					else if (key == "enabled") enabled = line
				}
				if (enabled ~ /^[Nn]o/) next
				if ((" " types " ") ~ / deb / && (" " suites " ") ~ (" " suite " ")) {
					split(uris, u, /[ \t]+/); print u[1]; exit
				}
			}' "$f")
		if [[ -n $uri ]]; then
			printf '%s\n' "$uri"
			return
		fi
	done
	if [[ -f /etc/apt/sources.list ]]; then
		uri=$(sed -E 's/\[[^]]*\]//' /etc/apt/sources.list |
			awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2; exit }')
		if [[ -n $uri ]]; then
			printf '%s\n' "$uri"
			return
		fi
	fi
	die "no 'deb' source for suite $suite in /etc/apt (set TARGETMGR_VM_MIRROR)"
}

cache_key() {
	{
		cat "$here/image.sh" "$here/guest-init" "$here/tm-vm-test.service"
		printf '%s\n' "${packages[@]}"
	} | sha256sum | cut -c1-16
}

# Make sure the initrd can find root on virtio-blk and mount ext4; if
# MODULES=most ever stops covering them, list them and regenerate.
# A driver built into the kernel (modules.builtin) needs no module.
check_initrd() {
	local rootfs=$1 kver=$2 mod missing=() listing
	listing=$(chroot "$rootfs" lsinitramfs "/boot/initrd.img-$kver"
		cat "$rootfs/lib/modules/$kver/modules.builtin")
	for mod in virtio_pci virtio_blk ext4; do
		grep -q "/$mod\.ko" <<<"$listing" || missing+=("$mod")
	done
	if ((${#missing[@]})); then
		log "initrd lacks ${missing[*]}: adding them and regenerating"
		printf '%s\n' virtio_pci virtio_blk ext4 >>"$rootfs/etc/initramfs-tools/modules"
		chroot "$rootfs" update-initramfs -u -k "$kver" >&2
		listing=$(chroot "$rootfs" lsinitramfs "/boot/initrd.img-$kver"
			cat "$rootfs/lib/modules/$kver/modules.builtin")
		for mod in "${missing[@]}"; do
			grep -q "/$mod\.ko" <<<"$listing" || die "initrd still lacks $mod"
		done
	fi
}

# Remove a build directory. debootstrap mounts /proc and /sys (and may
# bind-mount /dev nodes) inside the rootfs and leaves them when killed:
# unmount those first and never let rm cross into another file system.
scrub() {
	local dir=$1 m
	[[ -e $dir ]] || return 0
	awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do umount -l "$m" || true; done
	rm -rf --one-file-system "$dir" || log "warning: could not remove all of $dir"
}

build() {
	local out=$1 tmp rootfs mirror kver
	# Build next to the final place so the last step is an atomic rename;
	# a killed build leaves only a .build.* directory, never img-KEY.
	tmp=$(mktemp -d "$cache/.build.XXXXXX")
	trap 'scrub "$tmp"' EXIT
	# Signals end the script through exit so the EXIT trap cleans up.
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	rootfs=$tmp/rootfs
	mirror=$(find_mirror)
	log "debootstrap $suite from $mirror (log: $tmp/debootstrap.log)"
	if ! debootstrap --variant=minbase --components=main \
		--include="$(
			IFS=,
			echo "${packages[*]}"
		)" \
		"$suite" "$rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
		tail -n 40 "$tmp/debootstrap.log" >&2
		cp "$tmp/debootstrap.log" "$cache/debootstrap-failed.log" || true
		die "debootstrap failed (log kept in $cache/debootstrap-failed.log)"
	fi
	log "debootstrap done at +$(elapsed) s"

	local kernels=("$rootfs"/boot/vmlinuz-*)
	if ((${#kernels[@]} != 1)) || [[ ! -f ${kernels[0]} ]]; then
		die "expected one kernel in rootfs /boot, found: ${kernels[*]}"
	fi
	kver=${kernels[0]##*/vmlinuz-}
	check_initrd "$rootfs" "$kver"

	install -m 0755 "$here/guest-init" "$rootfs/sbin/tm-vm-init"
	# systemd boot mode (run-vm.sh --systemd): the enabled test unit, a fixed machine id
	# (an empty one would make every boot a "first boot" that applies unit presets), and no
	# login prompt on the serial console the TAP output goes to.
	install -m 0644 "$here/tm-vm-test.service" "$rootfs/etc/systemd/system/tm-vm-test.service"
	mkdir -p "$rootfs/etc/systemd/system/multi-user.target.wants"
	ln -sf ../tm-vm-test.service "$rootfs/etc/systemd/system/multi-user.target.wants/tm-vm-test.service"
	ln -sf /dev/null "$rootfs/etc/systemd/system/serial-getty@ttyS0.service"
	# No D-Bus in the image: logind would fail and restart on every boot.
	ln -sf /dev/null "$rootfs/etc/systemd/system/systemd-logind.service"
	printf '%s\n' 5e1f0c2a7d3b4e6f8a9b0c1d2e3f4a5b >"$rootfs/etc/machine-id"
	# Fixed initiator name: tests write ACLs for it.
	printf 'InitiatorName=iqn.2026-11.test.targetmgr:initiator\n' \
		>"$rootfs/etc/iscsi/initiatorname.iscsi"
	# LIO's db_root (persistent reservations, ALUA state); the kernel logs
	# "db_root: cannot open: /etc/target" when it is missing.
	mkdir -p "$rootfs/etc/target"
	# tgt and rtslib-fb ship enabled boot units: under systemd, tgtd would hold port 3260
	# (LIO's portal then fails with EINVAL, and initiators reach tgtd) and targetctl would
	# restore its own state.  The import scenario starts tgtd by hand when it needs it.
	for unit in tgt.service rtslib-fb-targetctl.service; do
		ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
	done
	# Cluster and multipath daemons start only in the scenarios that need them: enabled at
	# boot, corosync and pacemaker would fail without a cluster configuration, and multipathd
	# would claim the iSCSI disks the other scenarios mount.
	chroot "$rootfs" systemctl disable --quiet corosync.service pacemaker.service \
		multipathd.service multipathd.socket >&2
	printf 'tm-vm\n' >"$rootfs/etc/hostname"
	printf '127.0.0.1\tlocalhost tm-vm\n::1\t\tlocalhost ip6-localhost\n' >"$rootfs/etc/hosts"
	printf 'LABEL=tmroot / ext4 rw,errors=remount-ro 0 1\n' >"$rootfs/etc/fstab"
	# Downloaded .debs and apt lists are dead weight in the image.
	rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

	cp "${kernels[0]}" "$tmp/vmlinuz"
	cp "$rootfs/boot/initrd.img-$kver" "$tmp/initrd.img"
	printf '%s\n' "$kver" >"$tmp/kver"
	truncate -s "$img_size" "$tmp/root.img" # sparse
	mkfs.ext4 -q -F -L tmroot -E root_owner=0:0 -d "$rootfs" "$tmp/root.img"
	scrub "$rootfs"
	log "root.img written at +$(elapsed) s"
	mv "$tmp/debootstrap.log" "$tmp/build.log"
	chmod 0755 "$tmp"
	mv -T "$tmp" "$out"
	trap - EXIT
	log "built $out (kernel $kver, $(du -sh "$out/root.img" | cut -f1) used)"
}

main() {
	[[ $(id -u) == 0 ]] || die "must run as root (debootstrap, chroot)"
	mkdir -p "$cache"
	local key out
	key=$(cache_key)
	out=$cache/img-$key
	# One builder at a time per machine; others wait and then reuse.
	exec 9>"$cache/.lock"
	flock 9
	if [[ -f $out/root.img && -f $out/vmlinuz && -f $out/initrd.img ]]; then
		log "reusing $out"
		touch "$out" # marks it used, for the eviction below
	else
		ensure_host_tools
		local old
		for old in "$cache"/.build.*; do # leftovers of interrupted builds
			scrub "$old"
		done
		build "$out"
		# Other keys may belong to other checkouts on this machine (branches whose recipe
		# differs): evicting them would make checkouts rebuild each other's image in turn.
		# Only images unused for three days go.
		find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'img-*' ! -name "img-$key" \
			-mtime +3 -exec rm -rf {} +
	fi
	log "image ready in $(elapsed) s wall"
	printf '%s\n' "$out"
}

main "$@"
