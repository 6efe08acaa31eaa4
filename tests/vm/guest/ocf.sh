#!/bin/bash
# The OCF resource agent ocf:targetmgr:target on the real kernel, one guest (issue 12; the
# cluster itself is tests/vm/guest/ha*.sh).  Runs under systemd (run-vm.sh --systemd) with
# --disk OCFB1:64M:
#   - targetmgr installed by `meson install`: the agent is where Pacemaker looks for it;
#   - target B (outside the resource) serves the virtio disk; the initiator logs in to it
#     and fio writes and verifies on it for the whole run;
#   - ocf-tester (resource-agents) runs clean against the agent for target A;
#   - start, monitor, stop of A by hand, with an initiator logged in to A: B's session is the
#     same session throughout (no new login on B, no error in dmesg), fio verifies;
#   - a LUN of A removed by hand: a recurring monitor puts it back in place (repair=true, the
#     default) and A's session is the same session; with repair=false the monitor fails
#     (OCF_ERR_GENERIC), and stop and start, as Pacemaker recovers, bring it back;
#   - a backstore of A that another tool's target exports too (the kernel counts 2 ports)
#     survives A's stop, and the other target keeps it;
#   - the cost of one monitor call.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

A=iqn.2026-12.test.targetmgr:ocf-a
B=iqn.2026-12.test.targetmgr:ocf-b
F=iqn.2026-12.test.othertool:f
CONF=/etc/targetmgr/targets.d
AGENT=/usr/lib/ocf/resource.d/targetmgr/target
DISK=/dev/disk/by-id/virtio-OCFB1
OCF_SUCCESS=0 OCF_ERR_GENERIC=1 OCF_NOT_RUNNING=7

elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }'; }

# unlink_rmdir DIR: a LUN or mapped LUN directory goes as targetcli takes it away: its link,
# then the directory (its attributes go with it).
unlink_rmdir() {
	local e
	for e in "$1"/*; do
		[[ -L $e ]] && { rm "$e" || return; }
	done
	rmdir "$1"
}

# link_in DIR: the symbolic link in a LUN directory (among its attributes), or nothing.
link_in() {
	local e
	for e in "$1"/*; do
		[[ -L $e ]] && echo "$e"
	done
}

# agent ACTION [VAR=VALUE...]: the agent as Pacemaker runs it, for target A.
agent() {
	env OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=tgt-a OCF_RESKEY_iqns="$A" \
		OCF_RESKEY_config="$CONF" "${@:2}" "$AGENT" "$1" >/tmp/agent.out 2>&1
	echo $?
}

# agent_is DESCRIPTION ACTION WANT [VAR=VALUE...]
agent_is() {
	is_rc "$1" "$(agent "$2" "${@:4}")" "$3" /tmp/agent.out
}

# remove_lun1_of_a: LUN 1 of A taken away by hand, as with targetcli.
remove_lun1_of_a() {
	unlink_rmdir "$CFS/target/iscsi/$A/tpgt_1/acls/$INITIATOR/lun_1" &&
		unlink_rmdir "$CFS/target/iscsi/$A/tpgt_1/lun/lun_1"
	check "LUN 1 of A removed by hand" test ! -e "$CFS/target/iscsi/$A/tpgt_1/lun/lun_1"
}

check "meson-installed tree copied onto /" install_targetmgr
check "the agent is installed where Pacemaker looks for provider targetmgr" test -x "$AGENT"
is "crm_resource lists it" "$(crm_resource --list-agents ocf:targetmgr 2>&1)" target

mkdir -p "$CONF" /srv/iscsi
cat >"$CONF/a.conf" <<EOF
[target $A]
lun 0 = /srv/iscsi/a0.img size=32M
lun 1 = ramdisk size=16M
initiator = $INITIATOR
EOF
cat >"$CONF/b.conf" <<EOF
[target $B]
lun 0 = $DISK
initiator = $INITIATOR
EOF

check "targetmgr apply --target B (B is not the resource's)" targetmgr apply --target "$B"
start_iscsid
discover >/dev/null 2>&1
check "open-iscsi logs in to B" timeout 60 iscsiadm -m node -T "$B" -p "$PORTAL" --login
dev=$(lun_dev "$B" 0) && ok "B's LUN 0 appears as $dev" || not_ok "B's LUN 0 appears"
sid_before=$(session_sid "$B")
accepts=$CFS/target/iscsi/$B/fabric_statistics/iscsi_login_stats/accepts
logins_before=$(cat "$accepts" 2>/dev/null)
dmesg_lines=$(dmesg | wc -l)
echo "# B: session [$sid_before], target-side login accepts $logins_before"

# fio writes and verifies on B until the end of the run (SIGINT), whatever the agent does to A.
fio --name=b --filename="${dev:-/dev/null}" --rw=randwrite --bs=4k --iodepth=4 --ioengine=libaio \
	--direct=1 --size=32M --verify_state_save=0 --verify=crc32c --verify_backlog=256 --verify_fatal=1 \
	--time_based --runtime=900 --exitall_on_error=1 --output-format=json --output=/tmp/fio.json \
	>/tmp/fio.log 2>&1 &
fio_pid=$!
sleep 3

# 1. ocf-tester, as resource-agents' own agents are tested.
t0=$(date +%s.%N)
ocf-tester -n tgt-a -o iqns="$A" -o config="$CONF" "$AGENT" >/tmp/ocf-tester.out 2>&1
rc=$?
is_rc "ocf-tester passes against the agent (real kernel, meta-data linted with xmllint)" \
	"$rc" 0 /tmp/ocf-tester.out
grep -q 'passed all tests' /tmp/ocf-tester.out && ok "ocf-tester: passed all tests" ||
	not_ok "ocf-tester: passed all tests"
echo "# ocf-tester took $(elapsed "$t0") s"

# 2. start, monitor and stop by hand, with an initiator logged in to A.
agent_is "monitor before start: OCF_NOT_RUNNING" monitor "$OCF_NOT_RUNNING"
agent_is "start: OCF_SUCCESS" start "$OCF_SUCCESS"
agent_is "monitor after start: OCF_SUCCESS" monitor "$OCF_SUCCESS"
discover >/dev/null 2>&1
check "open-iscsi logs in to A" timeout 60 iscsiadm -m node -T "$A" -p "$PORTAL" --login
a0=$(lun_dev "$A" 0) && ok "A's LUN 0 appears as $a0" || not_ok "A's LUN 0 appears"
check "A's LUN 0 reads" dd if="${a0:-/nonexistent}" of=/dev/null bs=1M count=4 iflag=direct status=none

# 3. drift: LUN 1 of A removed by hand.  A recurring monitor repairs it in place; a probe and
# repair=false only report it.
sid_a=$(session_sid "$A")
accepts_a=$(cat "$CFS/target/iscsi/$A/fabric_statistics/iscsi_login_stats/accepts" 2>&1)
remove_lun1_of_a
agent_is "a probe finds the drift and writes nothing: OCF_ERR_GENERIC" monitor "$OCF_ERR_GENERIC" \
	OCF_RESKEY_CRM_meta_interval=0
check "the probe left LUN 1 out" test ! -e "$CFS/target/iscsi/$A/tpgt_1/lun/lun_1"
agent_is "a recurring monitor repairs the drift: OCF_SUCCESS" monitor "$OCF_SUCCESS" \
	OCF_RESKEY_CRM_meta_interval=10000
grep -q 'drift, repaired in place' /tmp/agent.out && ok "the monitor logs the repair" ||
	{ not_ok "the monitor logs the repair"; diag /tmp/agent.out; }
check "LUN 1 of A is back" test -L "$(link_in "$CFS/target/iscsi/$A/tpgt_1/lun/lun_1")"
check "the mapped LUN 1 of A's initiator is back" \
	test -L "$(link_in "$CFS/target/iscsi/$A/tpgt_1/acls/$INITIATOR/lun_1")"
is "A's session is the same session after the repair" "$(session_sid "$A")" "$sid_a"
is "no new login on A (target-side login accepts)" \
	"$(cat "$CFS/target/iscsi/$A/fabric_statistics/iscsi_login_stats/accepts" 2>&1)" "$accepts_a"
remove_lun1_of_a
agent_is "with repair=false the monitor fails: OCF_ERR_GENERIC" monitor "$OCF_ERR_GENERIC" \
	OCF_RESKEY_CRM_meta_interval=10000 OCF_RESKEY_repair=false
grep -q 'differ from the target files' /tmp/agent.out && ok "the monitor says why" ||
	{ not_ok "the monitor says why"; diag /tmp/agent.out; }
# Pacemaker's recovery (on-fail=restart): stop, then start.
agent_is "stop with the initiator logged in to A: OCF_SUCCESS" stop "$OCF_SUCCESS"
check "A is gone from configfs" test ! -e "$CFS/target/iscsi/$A"
agent_is "monitor after stop: OCF_NOT_RUNNING" monitor "$OCF_NOT_RUNNING"
agent_is "start again: OCF_SUCCESS" start "$OCF_SUCCESS"
check "LUN 1 of A is back" test -L "$(link_in "$CFS/target/iscsi/$A/tpgt_1/lun/lun_1")"
agent_is "monitor: OCF_SUCCESS" monitor "$OCF_SUCCESS"

# 4. a backstore of A that another tool's target exports too.
bs=$(readlink -f "$(link_in "$CFS/target/iscsi/$A/tpgt_1/lun/lun_0")")
echo "# A's LUN 0 backstore: ${bs#"$CFS"/}"
mkdir -p "$CFS/target/iscsi/$F/tpgt_1/lun/lun_0" &&
	ln -s "$bs" "$CFS/target/iscsi/$F/tpgt_1/lun/lun_0/shared"
is "the kernel counts 2 LUNs on A's LUN 0 backstore" "$(cat "$bs/statistics/scsi_dev/ports" 2>&1)" 2
agent_is "monitor with the other tool's LUN on it: OCF_SUCCESS" monitor "$OCF_SUCCESS"
agent_is "stop: OCF_SUCCESS" stop "$OCF_SUCCESS"
check "A is gone" test ! -e "$CFS/target/iscsi/$A"
check "the shared backstore stays" test -d "$bs"
check "the other tool's LUN still links it" test -L "$CFS/target/iscsi/$F/tpgt_1/lun/lun_0/shared"
is "the kernel counts 1 LUN on it" "$(cat "$bs/statistics/scsi_dev/ports" 2>&1)" 1
unlink_rmdir "$CFS/target/iscsi/$F/tpgt_1/lun/lun_0"
rmdir "$CFS/target/iscsi/$F/tpgt_1" "$CFS/target/iscsi/$F" "$bs"

# 5. the cost of one monitor call (what Pacemaker runs every interval).
agent_is "start for the cost measurement" start "$OCF_SUCCESS"
t0=$(date +%s.%N)
for _ in $(seq 1 10); do agent monitor >/dev/null; done
echo "# monitor: $(awk -v s="$(elapsed "$t0")" 'BEGIN { printf "%.3f", s / 10 }') s per call" \
	"(mean of 10, 2 targets with 3 LUNs in LIO, under TCG)"
agent_is "stop" stop "$OCF_SUCCESS"
timeout 60 iscsiadm -m node -T "$A" -p "$PORTAL" --logout >/dev/null 2>&1

# B, all along.
if kill -0 "$fio_pid" 2>/dev/null; then
	ok "fio was still writing to B when the agent was done"
else
	not_ok "fio was still writing to B when the agent was done (the test would prove nothing)"
fi
kill -INT "$fio_pid" 2>/dev/null
wait "$fio_pid"
# Stopped by a signal, fio puts a line before its JSON report.
sed -n '/^{/,$p' /tmp/fio.json >/tmp/fio-report.json
cp /tmp/fio.json /tmp/fio.log /out/ 2>/dev/null
is "fio reports zero errors (jobs[0].error), with verify" \
	"$(jq -r '.jobs[0].error' /tmp/fio-report.json 2>&1)" 0
fio_bytes=$(jq -r '.jobs[0].write.io_bytes' /tmp/fio-report.json 2>/dev/null)
check "fio wrote data to B ($fio_bytes bytes)" test "${fio_bytes:-0}" -gt 0
[[ $(jq -r '.jobs[0].error' /tmp/fio-report.json 2>/dev/null) == 0 ]] || diag /tmp/fio.log
is "B's session is the same session (iscsiadm SID)" "$(session_sid "$B")" "$sid_before"
[[ -n $logins_before ]] && is "B accepted no new login (target-side login statistics)" \
	"$(cat "$accepts")" "$logins_before"
dmesg | tail -n +$((dmesg_lines + 1)) >/tmp/dmesg.txt
# A's session does go through recovery when A stops: only B's connection and disk count.
is "no I/O error or connection recovery on B in dmesg" \
	"$(grep -ciE "connection${sid_before:-X}:0|session${sid_before:-X}[^0-9]|I/O error, dev ${dev#/dev/}[^0-9]" /tmp/dmesg.txt)" 0
grep -iE 'conn error|recovery' /tmp/dmesg.txt | head -n 5 | sed 's/^/#   dmesg: /'
check "targetmgr plan --target B: no changes" targetmgr plan --target "$B"
tap_done
