# Shared by the guest scenario scripts: TAP output and the open-iscsi steps.
# shellcheck shell=bash

TM=${TM:-/work/build/targetmgr}
PORTAL=127.0.0.1
INITIATOR=$(sed -n 's/^InitiatorName=//p' /etc/iscsi/initiatorname.iscsi)
tap_n=0
tap_failed=0

ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}

# check DESCRIPTION COMMAND...: one TAP line for a command's success; its output is shown as
# TAP diagnostics when it fails.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		printf '%s\n' "$out" | sed 's/^/# /' | tail -n 25
	fi
}

# refuse DESCRIPTION COMMAND...: passes when the command fails.
refuse() {
	local desc=$1
	shift
	if "$@" >/dev/null 2>&1; then
		not_ok "$desc (it succeeded)"
	else
		ok "$desc"
	fi
}

# is DESCRIPTION GOT WANT: an empty WANT fails, so that two broken sides never agree.
is() {
	if [[ -n $3 && $2 == "$3" ]]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   got:  '$2'"
		echo "#   want: '$3'"
	fi
}

tap_done() {
	echo "1..$tap_n"
	[[ $tap_failed -eq 0 ]]
}

start_iscsid() {
	mkdir -p /run/lock /var/lock /etc/iscsi/nodes /etc/iscsi/send_targets
	modprobe -a iscsi_tcp sd_mod
	pgrep -x iscsid >/dev/null || iscsid
	sleep 1
}

# node_set IQN NAME VALUE: one open-iscsi node record setting.
node_set() {
	iscsiadm -m node -T "$1" -p "$PORTAL" -o update -n "$2" -v "$3"
}

node_chap() { # IQN USER SECRET [IN_USER IN_SECRET]
	node_set "$1" node.session.auth.authmethod CHAP
	node_set "$1" node.session.auth.username "$2"
	node_set "$1" node.session.auth.password "$3"
	node_set "$1" node.session.auth.username_in "${4:-}"
	node_set "$1" node.session.auth.password_in "${5:-}"
}

node_no_auth() {
	node_set "$1" node.session.auth.authmethod None
}

login() {
	iscsiadm -m node -T "$1" -p "$PORTAL" --login
}

logout() {
	iscsiadm -m node -T "$1" -p "$PORTAL" --logout
}

# lun_dev IQN LUN: waits for udev's by-path link of a logged-in LUN and prints it.
lun_dev() {
	local link="/dev/disk/by-path/ip-$PORTAL:3260-iscsi-$1-lun-$2" i
	for i in $(seq 1 100); do
		udevadm settle -t 5 2>/dev/null || true
		[[ -b $link ]] && { readlink -f "$link"; return 0; }
		sleep 0.2
	done
	return 1
}

# session_dev ATTR VALUE LUN: the disk (sdX) of LUN in the iSCSI session whose sysfs ATTR
# (initiatorname, targetname) is VALUE; waits up to 20 s for it.  One by-path link serves
# every session of a portal, so the sessions' sysfs is read instead.
session_dev() {
	local s d i
	for i in $(seq 1 100); do
		for s in /sys/class/iscsi_session/session*; do
			[[ $(cat "$s/$1" 2>/dev/null) == "$2" ]] || continue
			for d in "$s"/device/target*/*:*:*:"$3"/block/*; do
				[[ -b /dev/${d##*/} ]] && { echo "${d##*/}"; return 0; }
			done
		done
		udevadm settle -t 2 2>/dev/null || true
		sleep 0.2
	done
	return 1
}

discover() {
	iscsiadm -m discovery -t sendtargets -p "$PORTAL"
}

# configfs_writes LOG: the configfs-changing calls in an `strace -f -y` log.  targetmgr works
# relative to a directory fd on /sys/kernel/config, so -y (fd paths) is what shows them.
configfs_writes() {
	grep -E '(mkdir|mkdirat|rmdir|symlink|symlinkat|unlink|unlinkat|rename|renameat2)\(.*/sys/kernel/config|openat\(.*/sys/kernel/config.*O_(WRONLY|RDWR)|write\([0-9]+</sys/kernel/config' "$1" || true
}

# --- Added for reconcile.sh -----------------------------------------------------------------

CFS=/sys/kernel/config

# is_rc DESCRIPTION GOT WANT OUTFILE: like `is` for an exit status; shows the tail of the
# command's output file as diagnostics when the status is not the wanted one.
is_rc() {
	is "$1" "$2" "$3"
	if [[ $2 != "$3" && -f $4 ]]; then
		tail -n 20 "$4" | sed 's/^/#   | /'
	fi
}

# diag FILE [LINES]: a file's first lines as TAP diagnostics, for people reading the log.
diag() {
	head -n "${2:-30}" "$1" | sed 's/^/#   | /'
}

# session_sid IQN: the open-iscsi session id (the N of "[N]" in `iscsiadm -m session`) of the
# session logged in to IQN; empty when there is none.
session_sid() {
	iscsiadm -m session 2>/dev/null | awk -v t="$1" '$4 == t { gsub(/[][]/, "", $2); print $2 }'
}

# sleep_ms MS: sleeps MS milliseconds.
sleep_ms() {
	sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

# cfs_counts [SKIP_ERE]: one line counting the LIO objects in configfs: iSCSI targets, TPGs,
# portals, LUN dirs, LUN links, ACL dirs, mapped LUN dirs, mapped LUN links, and backstore dirs
# in targetmgr's HBAs (core/*_1000/ to core/*_1015/).  Paths matching SKIP_ERE (e.g. another tool's target) are
# not counted.  Pure bash globbing: no process per object.
cfs_counts() {
	local skip=${1:-'^$'} t=$CFS/target p e
	local -A n=([targets]=0 [tpgs]=0 [portals]=0 [luns]=0 [lun_links]=0 [acls]=0 [mapped]=0
		[mapped_links]=0 [backstores]=0)
	local old_nullglob
	old_nullglob=$(shopt -p nullglob)
	shopt -s nullglob
	for p in "$t"/iscsi/*/; do
		[[ $p =~ $skip ]] && continue
		case ${p%/} in */iqn.* | */eui.* | */naa.*) n[targets]=$((n[targets] + 1)) ;; esac
	done
	for p in "$t"/iscsi/*/tpgt_*/; do [[ $p =~ $skip ]] || n[tpgs]=$((n[tpgs] + 1)); done
	for p in "$t"/iscsi/*/tpgt_*/np/*/; do [[ $p =~ $skip ]] || n[portals]=$((n[portals] + 1)); done
	for p in "$t"/iscsi/*/tpgt_*/lun/lun_*/; do
		[[ $p =~ $skip ]] && continue
		n[luns]=$((n[luns] + 1))
		for e in "$p"*; do [[ -L $e ]] && n[lun_links]=$((n[lun_links] + 1)); done
	done
	for p in "$t"/iscsi/*/tpgt_*/acls/*/; do [[ $p =~ $skip ]] || n[acls]=$((n[acls] + 1)); done
	for p in "$t"/iscsi/*/tpgt_*/acls/*/lun_*/; do
		[[ $p =~ $skip ]] && continue
		n[mapped]=$((n[mapped] + 1))
		for e in "$p"*; do [[ -L $e ]] && n[mapped_links]=$((n[mapped_links] + 1)); done
	done
	for p in "$t"/core/*_10[01][0-9]/*/; do [[ $p =~ $skip ]] || n[backstores]=$((n[backstores] + 1)); done
	eval "$old_nullglob"
	echo "targets=${n[targets]} tpgs=${n[tpgs]} portals=${n[portals]} luns=${n[luns]}" \
		"lun_links=${n[lun_links]} acls=${n[acls]} mapped=${n[mapped]}" \
		"mapped_links=${n[mapped_links]} backstores=${n[backstores]}"
}

# cfs_tree: every directory and link below configfs's target/ (statistics left out), sorted;
# two listings compare whole trees.
cfs_tree() {
	find "$CFS/target" \( -name statistics -o -name fabric_statistics \) -prune -o \
		\( -type d -o -type l \) -print | sort
}

# --- systemd mode (run-vm.sh --systemd) ----------------------------------------------------

VM_STATE=/var/lib/tm-vm # on the root disk: a guest reboot keeps it
INSTALL_ROOT=/work/build-vm/root

# TAP numbering goes on across the boots of one run (vm_reboot saves it).
if [[ ${TM_VM_BOOT:-1} -gt 1 && -f $VM_STATE/tap ]]; then
	read -r tap_n tap_failed <"$VM_STATE/tap"
fi

# vm_reboot: the script ends here (the caller exits 0 next) and the guest reboots; the
# same script runs again with TM_VM_BOOT one higher. Needs run-vm.sh --boots 2 or more.
vm_reboot() {
	mkdir -p "$VM_STATE"
	echo "$tap_n $tap_failed" >"$VM_STATE/tap"
	: >/run/tm-vm-reboot
}

# install_targetmgr: copies what `meson install --destdir` put in build-vm/root (run-vm.sh
# --systemd makes it) onto /, then makes systemd and udev read the new units and rules.
# --keep-directory-symlink: /lib is a link to usr/lib in Debian 12.
install_targetmgr() {
	[[ -x $INSTALL_ROOT/usr/sbin/targetmgr ]] || return 1
	tar -C "$INSTALL_ROOT" -cf - . |
		tar -C / -xf - --keep-directory-symlink --no-overwrite-dir --no-same-owner &&
		systemctl daemon-reload && udevadm control --reload
}

# installed_files PATTERN: the paths (on the guest's /) of the installed files whose name
# matches the glob PATTERN, e.g. '*.service'.
installed_files() {
	(cd "$INSTALL_ROOT" && find . -name "$1" \( -type f -o -type l \) | sed 's|^\.||' | sort)
}

# unit_uptime UNIT [PROPERTY]: the guest uptime in seconds (2 decimals) of a unit timestamp
# (ActiveEnterTimestampMonotonic by default); empty when it never happened.
unit_uptime() {
	local us
	us=$(systemctl show -P "${2:-ActiveEnterTimestampMonotonic}" "$1" 2>/dev/null)
	[[ $us =~ ^[1-9][0-9]*$ ]] && printf '%d.%02d\n' $((us / 1000000)) $((us % 1000000 / 10000))
}

# uptime_now: the guest uptime in seconds.
uptime_now() {
	local up _
	read -r up _ </proc/uptime
	echo "$up"
}

# wait_for TEST SECS: polls the function TEST every 10 ms until it holds and prints the
# uptime then; fails after SECS. No process per poll: /proc/uptime has two decimals.
wait_for() {
	local up _ deadline
	read -r up _ </proc/uptime
	deadline=$((10#${up/./} + $2 * 100))
	while ! "$1"; do
		read -r up _ </proc/uptime
		((10#${up/./} > deadline)) && return 1
		sleep 0.01
	done
	read -r up _ </proc/uptime
	echo "$up"
}
# secs_between A B: B - A, two decimals.
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# below LIMIT X: X is a number below LIMIT.
below() { awk -v x="$2" -v l="$1" 'BEGIN { exit !(x ~ /^-?[0-9.]+$/ && x < l) }'; }

# hotplug_add SERIAL SIZE / hotplug_del SERIAL: the host hot-adds or removes a virtio-blk
# disk through QMP (run-vm.sh --hotplug, tests/vm/hotplug.py). Returns when QEMU has done
# it (for del: when the guest has released the device); fails with the host's error.
hotplug_request() {
	local dir=/out/hotplug n answer
	mkdir -p "$dir"
	n=$(($(find "$dir" -maxdepth 1 -name '*.req' | wc -l) + 1))
	printf '%s\n' "$*" >"$dir/.$n.req" && mv "$dir/.$n.req" "$dir/$n.req" || return 1
	for _ in $(seq 1 1200); do
		[[ -f $dir/$n.done ]] && break
		sleep 0.05
	done
	answer=$(cat "$dir/$n.done" 2>/dev/null) || answer="error: no answer from the host in 60 s"
	[[ $answer == ok ]] || { echo "hotplug $*: $answer" >&2; return 1; }
}
hotplug_add() { hotplug_request add "$1" "$(numfmt --from=iec "$2")"; }
hotplug_del() { hotplug_request del "$1"; }

# power_cut: the host kills the guest at once (QMP quit, run-vm.sh --power-cut) and boots it
# again on the same disks; never returns. power_cuts: how many cuts this run has had so far.
power_cut() {
	local dir=/out/hotplug n
	mkdir -p "$dir"
	n=$(($(find "$dir" -maxdepth 1 -name '*.req' | wc -l) + 1))
	echo "# power cut requested (hotplug request $n)"
	printf 'power-cut\n' >"$dir/.$n.req" && mv "$dir/.$n.req" "$dir/$n.req"
	sleep infinity
}
power_cuts() { find /out/hotplug -maxdepth 1 -name 'power-cut-*' 2>/dev/null | wc -l; }

# lun_backstore IQN LUN: the configfs directory of the backstore behind a TPG LUN.
lun_backstore() {
	find "$CFS/target/iscsi/$1/tpgt_1/lun/lun_$2" -maxdepth 1 -type l -exec readlink -f {} \;
}
# buffered_fileio IQN LUN: turns the fileio backstore targetmgr made for the LUN into a
# write-back one (fd_buffered_io=1, a creation-time control targetmgr has no syntax for):
# `clear`, the backstore made again by hand at the same place with the same file and serial,
# and an `apply` that adopts it. Prints the fileio mode LIO reports.
buffered_fileio() {
	local so path serial
	so=$(lun_backstore "$1" "$2") && [[ -n $so ]] || return 1
	path=$(cat "$so/udev_path") serial=$(sed -n 's/^T10 VPD Unit Serial Number: //p' "$so/wwn/vpd_unit_serial")
	"$TM" clear >/dev/null || return 1
	mkdir -p "$so" &&
		printf 'fd_dev_name=%s,fd_dev_size=%s,fd_buffered_io=1' "$path" "$(stat -c %s "$path")" >"$so/control" &&
		printf '%s' "$path" >"$so/udev_path" && printf '%s' "$serial" >"$so/wwn/vpd_unit_serial" &&
		printf 1 >"$so/enable" && "$TM" apply --adopt >/dev/null || return 1
	grep -o 'Mode: [A-Za-z_-]*' "$(lun_backstore "$1" "$2")/info"
}
