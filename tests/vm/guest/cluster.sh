#!/bin/bash
# Issue 12's proof: an iSCSI target under Pacemaker fails over under load. Three guests
# (tests/vm/run-cluster.sh, or run-vm.sh --cluster), this script on each with its name:
#   a, b  cluster nodes (node-a, node-b): corosync (knet over the guests' network, two_node)
#         and pacemaker; both see the shared disk virtio-HASHARED (LUN 0, the file system) and
#         virtio-HASHARED2 (LUN 1); they run what c asks them to (serve_requests below) until
#         the host stops them;
#   c     the initiator, which drives the scenario and prints the TAP:
#   1. the cluster (stonith off, see docs/ha.md) starts the target, then the floating
#      address, on node-a; c logs in to the floating address, makes ext4 and writes
#      checksummed files without pause from then on;
#   2. drift: LUN 1 removed by hand on node-a comes back by the agent's monitor, which
#      re-applies the target in place (repair=true): within one monitor interval plus the
#      apply, with no restart of the resource and no failed write;
#   3. planned moves: crm_resource --move to node-b, --clear, and back to node-a;
#   4. failover: the host kills node-a's QEMU (QMP quit, no shutdown); Pacemaker starts the
#      target and the address on node-b; c's session recovers with no command (its
#      replacement_timeout outlasts the failover) and the writes go on. The failover time is
#      from the kill to the first write completed after it;
#   5. every file written before, during and after verifies (unmounted, fsck'ed, remounted).
# shellcheck disable=SC2317 # functions that c runs on the nodes through `on` look unused
set -uo pipefail
. "$(dirname "$0")/lib.sh"

ROLE=${1:?usage: cluster.sh a|b|c [start|drift|move|failover]}
# The initiator runs the steps up to this one (run-cluster.sh --args): 1 and 5 are always run.
LAST_STEP=${2:-failover}
STEPS=(start drift move failover)
[[ " ${STEPS[*]} " == *" $LAST_STEP "* ]] || { echo "not ok 1 - unknown step $LAST_STEP"; exit 1; }
T=iqn.2026-12.test.targetmgr:ha
CLIENT_IQN=iqn.2026-12.test.targetmgr:client
NET=192.168.77
VIP=$NET.100
PORTAL=$VIP
CONF=/etc/targetmgr/ha.conf # not in targets.d: only the cluster starts this target
CTL=/cluster
MNT=/mnt/ha
MONITOR_INTERVAL=10
dev='' # the initiator's disk of LUN 0
TPG=$CFS/target/iscsi/$T/tpgt_1
declare -A NODE_NAME=([a]=node-a [b]=node-b [c]=client) NODE_NUM=([a]=1 [b]=2 [c]=3)

# nap SECS: sleep without a process (a read that times out on a pipe no one writes): under TCG
# a fork costs milliseconds of a starved CPU that Pacemaker's daemons need.
exec {NAP_FD}<> <(:)
nap() { read -rt "$1" -u "$NAP_FD" || :; }

# --- every guest: name, address, the shared folder -------------------------------------------

guest_setup() {
	local n=${NODE_NUM[$ROLE]} name=${NODE_NAME[$ROLE]} nic
	mkdir -p "$CTL"
	mountpoint -q "$CTL" || mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 cluster "$CTL" ||
		return 1
	# The image has one hostname and machine id for every guest.
	hostname "$name" && echo "$name" >/etc/hostname
	printf '%s\n' "$(printf '%s' "$name" | sha256sum | cut -c1-32)" >/etc/machine-id
	{
		printf '127.0.0.1\tlocalhost\n'
		printf '%s\tnode-a\n%s\tnode-b\n%s\tclient\n' "$NET.11" "$NET.12" "$NET.13"
	} >/etc/hosts
	nic=$(ip -o link | awk -v mac="52:54:00:77:00:0$n" '$0 ~ mac { sub(/:$/, "", $2); print $2 }')
	[[ -n $nic ]] || return 1
	ip addr add "$NET.1$n/24" dev "$nic" && ip link set "$nic" up
}

# --- requests from c to a node ----------------------------------------------------------------
# c writes $CTL/req/NODE/N.req (shell code, run in this script's shell, so its functions are
# there); the node answers with N.out and then N.rc.

serve_requests() {
	local dir=$CTL/req/$ROLE n=1
	mkdir -p "$dir"
	while :; do
		if [[ -f $dir/$n.req ]]; then
			(eval "$(<"$dir/$n.req")") </dev/null >"$dir/.$n.out" 2>&1
			echo $? >"$dir/.$n.rc"
			mv "$dir/.$n.out" "$dir/$n.out" && mv "$dir/.$n.rc" "$dir/$n.rc"
			n=$((n + 1))
		else
			nap 0.2
		fi
	done
}

# on NODE [--timeout SECS] WORD...: runs the words (quoted as given) on NODE; prints its
# output, returns its status (124 when it gave none in time, 60 s by default).
on() {
	local node=$1 secs=60 dir n i cmd
	shift
	[[ $1 == --timeout ]] && secs=$2 && shift 2
	dir=$CTL/req/$node
	mkdir -p "$dir"
	n=$(($(find "$dir" -maxdepth 1 -name '*.req' | wc -l) + 1))
	printf -v cmd '%q ' "$@"
	printf '%s\n' "$cmd" >"$dir/.$n.req" && mv "$dir/.$n.req" "$dir/$n.req" || return 1
	for ((i = 0; i < secs * 10; i++)); do
		if [[ -f $dir/$n.rc ]]; then
			cat "$dir/$n.out"
			return "$(<"$dir/$n.rc")"
		fi
		nap 0.1
	done
	echo "no answer from $node in ${secs}s to: $cmd"
	return 124
}

# host_kill GUEST: the host quits GUEST's QEMU (tests/vm/cluster-host.py).
host_kill() {
	local dir=$CTL/host n answer i
	mkdir -p "$dir"
	n=$(($(find "$dir" -maxdepth 1 -name '*.req' | wc -l) + 1))
	echo "kill $1" >"$dir/.$n.req" && mv "$dir/.$n.req" "$dir/$n.req" || return 1
	for ((i = 0; i < 300; i++)); do
		[[ -f $dir/$n.done ]] && break
		nap 0.1
	done
	answer=$(cat "$dir/$n.done" 2>/dev/null) || answer="no answer from the host in 30 s"
	[[ $answer == ok ]] || { echo "kill $1: $answer"; return 1; }
}

# --- the cluster nodes --------------------------------------------------------------------------

corosync_conf() {
	cat <<EOF
totem {
	version: 2
	cluster_name: tmha
	transport: knet
	crypto_cipher: aes256
	crypto_hash: sha256
	# TCG guests on a loaded host stall for seconds: a short token would split the cluster.
	token: 10000
}
nodelist {
	node {
		ring0_addr: $NET.11
		name: node-a
		nodeid: 1
	}
	node {
		ring0_addr: $NET.12
		name: node-b
		nodeid: 2
	}
}
quorum {
	provider: corosync_votequorum
	two_node: 1
}
logging {
	to_syslog: yes
	to_stderr: no
	timestamp: on
}
EOF
}

node_main() {
	local i
	install_targetmgr || { echo "cannot install targetmgr"; return 1; }
	# The agent comes with targetmgr's meson install, where Pacemaker looks for provider
	# targetmgr's agents.
	[[ -x /usr/lib/ocf/resource.d/targetmgr/target ]] || { echo "no ocf:targetmgr:target"; return 1; }
	mkdir -p "${CONF%/*}"
	cat >"$CONF" <<EOF
[target $T]
lun 0 = /dev/disk/by-id/virtio-HASHARED
lun 1 = /dev/disk/by-id/virtio-HASHARED2
initiator = $CLIENT_IQN
EOF
	# One key for both nodes: node a makes it in the shared folder.
	if [[ $ROLE == a ]]; then
		head -c 256 /dev/urandom >"$CTL/.authkey" && mv "$CTL/.authkey" "$CTL/authkey"
	fi
	for ((i = 0; i < 600; i++)); do [[ -s $CTL/authkey ]] && break; nap 0.1; done
	install -m 0400 "$CTL/authkey" /etc/corosync/authkey || return 1
	corosync_conf >/etc/corosync/corosync.conf
	systemctl start corosync.service pacemaker.service || return 1
	touch "$CTL/ready.$ROLE"
	echo "# ${NODE_NAME[$ROLE]}: corosync and pacemaker started at $(uptime_now) s"
	serve_requests
}

# Run on a node (through `on`): both nodes online.
both_online() {
	crm_mon -1 2>/dev/null | grep -q 'Online: \[ node-a node-b \]'
}

# Run on a node: the cluster's configuration, as cibadmin and crm_attribute write it.
cib_configure() {
	set -e
	crm_attribute --type crm_config --name stonith-enabled --update false
	crm_attribute --type rsc_defaults --name resource-stickiness --update 100
	# Every operation's timeout: a starved TCG guest takes over 20 s (the default) to stop
	# IPaddr2, and a failed stop with fencing off blocks the resource for good.
	crm_attribute --type op_defaults --name timeout --update 120s
	cibadmin --create -o resources --xml-text "
<primitive id='ha-target' class='ocf' provider='targetmgr' type='target'>
  <instance_attributes id='ha-target-ia'>
    <nvpair id='ha-target-config' name='config' value='$CONF'/>
    <nvpair id='ha-target-iqns' name='iqns' value='$T'/>
  </instance_attributes>
  <operations>
    <op id='ha-target-monitor' name='monitor' interval='${MONITOR_INTERVAL}s'/>
  </operations>
</primitive>"
	cibadmin --create -o resources --xml-text "
<primitive id='ha-ip' class='ocf' provider='heartbeat' type='IPaddr2'>
  <instance_attributes id='ha-ip-ia'>
    <nvpair id='ha-ip-ip' name='ip' value='$VIP'/>
    <nvpair id='ha-ip-cidr' name='cidr_netmask' value='24'/>
  </instance_attributes>
  <operations>
    <op id='ha-ip-monitor' name='monitor' interval='10s'/>
  </operations>
</primitive>"
	# The address follows the target and comes up only once the target serves: an initiator
	# that reaches the address always finds the target (the portal is 0.0.0.0:3260).
	cibadmin --create -o constraints --xml-text \
		"<rsc_colocation id='ip-with-target' rsc='ha-ip' with-rsc='ha-target' score='INFINITY'/>"
	cibadmin --create -o constraints --xml-text \
		"<rsc_order id='target-then-ip' first='ha-target' then='ha-ip' kind='Mandatory'/>"
	# node-a first; stickiness (100) above this keeps the target where it runs after a move.
	cibadmin --create -o constraints --xml-text \
		"<rsc_location id='target-prefers-a' rsc='ha-target' node='node-a' score='50'/>"
}

# Run on a node: NODE runs the target and the address, both started.
runs_on() {
	local st
	st=$(crm_mon -1 2>/dev/null) || return 1
	grep -Eq "ha-target[[:space:]].*Started $1\$" <<<"$st" &&
		grep -Eq "ha-ip[[:space:]].*Started $1\$" <<<"$st"
}

# Run on a node: waits until NODE runs both (SECS at most).
wait_runs_on() {
	local i
	for ((i = 0; i < $2 / 2; i++)); do
		runs_on "$1" && return 0
		nap 2
	done
	crm_mon -1
	return 1
}

# lun1_back: LUN 1 of the target is in LIO with its backstore link and a mapped LUN link.
lun1_back() {
	local l m
	for l in "$TPG"/lun/lun_1/*; do
		[[ -L $l ]] || continue
		for m in "$TPG"/acls/*/lun_1/*; do [[ -L $m ]] && return 0; done
	done
	return 1
}

# Run on the active node: LUN 1 taken out of LIO by hand (its mapped LUNs first), then the
# seconds until it is back with its links (Pacemaker's monitor and restart); fails after 240 s.
remove_lun1_and_time_repair() {
	local l t0 t1 i
	for l in "$TPG"/acls/*/lun_1/* "$TPG"/lun/lun_1/*; do [[ -L $l ]] && rm "$l"; done
	rmdir "$TPG"/acls/*/lun_1 "$TPG/lun/lun_1" || return 1
	t0=$(uptime_now)
	echo "# LUN 1 removed at $t0 s"
	for ((i = 0; i < 1200; i++)); do
		if lun1_back; then
			t1=$(uptime_now)
			secs_between "$t0" "$t1"
			return 0
		fi
		nap 0.2
	done
	return 1
}

# --- the initiator --------------------------------------------------------------------------

# writer: checksummed 64 KiB files, each synced, until /run/ha-stop exists. WRITES gets
# "N UPTIME SHA256" for each one written, "N FAILED" for one that failed.
WRITES=/root/writes.log
writer() {
	local i=0 up _
	while [[ ! -e /run/ha-stop ]]; do
		i=$((i + 1))
		head -c 65536 /dev/urandom >/dev/shm/block
		if dd if=/dev/shm/block of="$MNT/f.$i" bs=64k conv=fsync status=none 2>/dev/null; then
			read -r up _ </proc/uptime
			echo "$i $up $(sha256sum </dev/shm/block | cut -d' ' -f1)" >>"$WRITES"
		else
			echo "$i FAILED" >>"$WRITES"
		fi
		nap 0.2
	done
}

writes_done() { grep -vc FAILED "$WRITES" 2>/dev/null || echo 0; }

# first_write_after UPTIME SECS: waits for a write completed after UPTIME and prints its
# uptime; fails after SECS.
first_write_after() {
	local i up
	for ((i = 0; i < $2 * 5; i++)); do
		up=$(awk -v t="$1" '$2 != "FAILED" && $2 > t { print $2; exit }' "$WRITES")
		[[ -n $up ]] && { echo "$up"; return 0; }
		nap 0.2
	done
	return 1
}

# planned_move NODE: crm_resource --move to NODE, wait, --clear; prints the seconds from the
# move to the first write completed after it.
planned_move() {
	local t0 t1
	t0=$(uptime_now)
	on a crm_resource --move --resource ha-target --node "$1" >/dev/null 2>&1 ||
		on b crm_resource --move --resource ha-target --node "$1" >/dev/null 2>&1 || return 1
	on "${1#node-}" --timeout 200 wait_runs_on "$1" 180 || return 1
	t1=$(first_write_after "$t0" 180) || return 1
	on "${1#node-}" crm_resource --clear --resource ha-target >/dev/null || return 1
	secs_between "$t0" "$t1"
}

client_main() {
	local i
	# The image's InitiatorName is the same in every guest: c takes its own before iscsid reads it.
	echo "InitiatorName=$CLIENT_IQN" >/etc/iscsi/initiatorname.iscsi
	start_iscsid

	for ((i = 0; i < 3000; i++)); do [[ -e $CTL/ready.a && -e $CTL/ready.b ]] && break; nap 0.2; done
	check "both nodes started corosync and pacemaker" test -e "$CTL/ready.a" -a -e "$CTL/ready.b"
	check "node-a and node-b are online in one cluster" on a --timeout 620 wait_until both_online 600
	check "cluster configured (stonith off, stickiness, target, address, constraints)" \
		on a cib_configure
	check "the target and the floating address start on node-a" \
		on a --timeout 420 wait_runs_on node-a 400

	# --- 1. login, file system, continuous writes ("start")
	check "discovery through the floating address $VIP" \
		retry 30 iscsiadm -m discovery -t sendtargets -p "$VIP"
	# The session must outlast a failover: commands are queued, not failed, this long.
	check "replacement_timeout = 180 s" node_set "$T" node.session.timeo.replacement_timeout 180
	check "login" login "$T"
	if dev=$(lun_dev "$T" 0); then ok "LUN 0 visible ($dev)"; else not_ok "LUN 0 visible"; fi
	check "LUN 1 visible" lun_dev "$T" 1
	check "mkfs.ext4 on LUN 0" mkfs.ext4 -q -F "$dev"
	mkdir -p "$MNT"
	check "mount" mount "$dev" "$MNT"
	: >"$WRITES"
	writer </dev/null >/dev/null 2>&1 &
	check "writes complete on node-a" wait_until "writes_at_least 10" 120

	step drift && drift_step
	step move && move_step
	step failover && failover_step
	verify_step
	tap_done
}

# step NAME: NAME is one of the steps to run.
step() {
	local s
	for s in "${STEPS[@]}"; do
		[[ $s == "$1" ]] && return 0
		[[ $s == "$LAST_STEP" ]] && return 1
	done
	return 1
}

# The drift is repaired within one monitor interval, plus the monitor's plan and apply, which
# take a few seconds each in a starved TCG guest.
DRIFT_LIMIT=$((MONITOR_INTERVAL + 20))
drift_step() {
	local out secs failed
	failed=$(grep -c FAILED "$WRITES")
	out=$(on a --timeout 270 remove_lun1_and_time_repair)
	secs=$(tail -n 1 <<<"$out")
	printf '%s\n' "$out" | sed '$d; s/^/# /'
	if [[ $secs =~ ^[0-9.]+$ ]] && awk -v s="$secs" -v l="$DRIFT_LIMIT" 'BEGIN { exit !(s <= l) }'; then
		ok "LUN 1 removed by hand on node-a is back after $secs s (monitor every ${MONITOR_INTERVAL} s, limit $DRIFT_LIMIT s)"
	else
		not_ok "LUN 1 removed by hand on node-a is back within $DRIFT_LIMIT s (took: $secs)"
	fi
	check "the resource still runs on node-a" on a --timeout 420 wait_runs_on node-a 400
	is "no failure counted against the resource (repaired in place, not restarted)" \
		"$(on a crm_failcount --query --resource ha-target --node node-a 2>&1 | sed -n 's/.*value=//p')" 0
	is "no write failed during the repair" "$(grep -c FAILED "$WRITES")" "$failed"
	on a crm_resource --cleanup --resource ha-target >/dev/null 2>&1
}

move_step() {
	local secs
	if secs=$(planned_move node-b); then
		ok "planned move to node-b: writes resumed after $secs s"
	else
		not_ok "planned move to node-b"
	fi
	if secs=$(planned_move node-a); then
		ok "planned move back to node-a: writes resumed after $secs s"
	else
		not_ok "planned move back to node-a"
	fi
}

failover_step() {
	local n_before n t_kill t_first
	n_before=$(writes_done)
	check "node-a killed (QMP quit)" host_kill a
	t_kill=$(uptime_now)
	if t_first=$(first_write_after "$t_kill" 240); then
		ok "writes go on after node-a's death"
		echo "# FAILOVER TIME: $(secs_between "$t_kill" "$t_first") s from the kill to the first write completed on node-b"
	else
		not_ok "writes go on after node-a's death"
	fi
	check "node-b runs the target and the address" on b --timeout 100 wait_runs_on node-b 90
	check "the session recovered with no command (one session, same device)" \
		test "$(iscsiadm -m session | wc -l)" = 1 -a -b "$dev"
	n=$(writes_done)
	check "more writes on node-b ($((n - n_before)) since the kill)" wait_until "writes_at_least $((n + 10))" 120
}

# Every file written verifies, read back from the target after a remount.
verify_step() {
	touch /run/ha-stop
	wait
	is "no write failed" "$(grep -c FAILED "$WRITES")" 0
	check "unmount" umount "$MNT"
	check "e2fsck -fn finds the file system clean" e2fsck -fn "$dev"
	check "mount again (a fresh read from the target)" mount "$dev" "$MNT"
	check "all $(writes_done) files read back with their checksums" verify_writes
	umount "$MNT"
	logout "$T" >/dev/null 2>&1
}

writes_at_least() { (($(writes_done) >= $1)); }

verify_writes() {
	local i up sum bad=0
	while read -r i up sum; do
		[[ $up == FAILED ]] && continue
		[[ $(sha256sum <"$MNT/f.$i" | cut -d' ' -f1) == "$sum" ]] || { echo "f.$i differs"; bad=$((bad + 1)); }
	done <"$WRITES"
	((bad == 0))
}

# wait_until "COMMAND ARGS" SECS: polls every 2 s.
wait_until() {
	local i
	for ((i = 0; i < $2 / 2; i++)); do
		eval "$1" && return 0
		nap 2
	done
	return 1
}

# retry N COMMAND...: N tries, 2 s apart.
retry() {
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do
		"$@" && return 0
		sleep 2
	done
	return 1
}

# One group, parsed whole before it runs and ending in exit: bash reads a script as it goes,
# and this one is read live over 9p by guests that run it for many minutes.
{
	guest_setup || { echo "not ok 1 - guest $ROLE: network and shared folder"; exit 1; }
	case $ROLE in
	a | b) node_main ;;
	c) client_main ;;
	esac
	exit
}
