#!/bin/bash
# Reconcile on a real kernel: `targetmgr apply` makes LIO match the target files exactly, while
# initiators are logged in and writing.
#   1. online change: other targets gain a LUN, lose an ACL, change TPG settings while fio writes
#      to target A through open-iscsi; A's session and I/O are not disturbed, A gets no write;
#   2. prune: a target removed from the files is deleted with its backstores; objects another
#      tool made by hand are never touched (apply, clear) and show marks them;
#   3. sessions: deleting a target, LUN or ACL with a logged-in session is refused (exit 1,
#      nothing changed) unless --force;
#   4. lock: two applies at once both succeed;
#   5. SIGKILL at random moments of apply and clear: the next apply converges, nothing left over;
#   6. save -> clear -> apply of the saved file reproduces what LIO served;
#   7. the kernel refusing an operation midway: exit 3 (partial), then the next apply converges.
# Needs run-vm.sh --disk TMA:128M.  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

CONF=/etc/targetmgr/targets.d
P=iqn.2026-11.test.reconcile
A=$P:a B=$P:b C=$P:c D=$P:d S=$P:saved
OTHER=$P:other-initiator
OTHER2=$P:third-initiator
FOREIGN=iqn.2026-11.test:foreign
FOREIGN_BS=$CFS/target/core/fileio_0/foreign
FOREIGN_TPG=$CFS/target/iscsi/$FOREIGN/tpgt_1
TMA=/dev/disk/by-id/virtio-TMA
ART=/out # kept by run-vm.sh after a failure
rm -rf "$CONF" && mkdir -p "$CONF" /srv/iscsi

# tm ARGS...: targetmgr with a time limit, so that a hang (a lock never released) fails a test
# instead of the whole VM run.
tm() { timeout 120 "$TM" "$@"; }
# tmo NAME ARGS...: tm with its output (stdout and stderr) in /tmp/NAME.out; status in $rc.
tmo() {
	local name=$1
	shift
	tm "$@" >"/tmp/$name.out" 2>&1
	rc=$?
}
# tm_strace NAME ARGS...: tmo under `strace -f -y`; the trace is /tmp/NAME.strace.
tm_strace() {
	local name=$1
	shift
	timeout 180 strace -f -y -o "/tmp/$name.strace" -e trace=%file,write,pwrite64 \
		"$TM" "$@" >"/tmp/$name.out" 2>&1
	rc=$?
}

t_start=$(date +%s.%N) sec_name='' sec_start=$t_start
elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }
section() {
	[[ -n $sec_name ]] && echo "# time: $sec_name took $(elapsed "$sec_start") s"
	sec_name=$1 sec_start=$(date +%s.%N)
	[[ -n $1 ]] && echo "# --- $1"
}

# show_json FILE: `targetmgr show --json` into FILE.
show_json() { tm show --json >"$1" 2>/tmp/show.err; }
# jt FILE IQN FILTER: a jq filter applied to one target of a show --json file.
jt() { jq -r --arg t "$2" ".targets[] | select(.iqn == \$t) | $3" "$1"; }
# The parts of show --json that a round trip must keep, in a stable order; objects another
# tool made are left out.
normalize() {
	jq -S '{
	    targets: ([.targets[] | select(.managed) | {iqn, tpgt, enabled, open, auth,
		portals: (.portals | sort),
		luns: ([.luns[] | {lun, backstore: (.backstore | del(.managed))}] | sort_by(.lun)),
		acls: ([.acls[] | {initiator, auth, mapped_luns: (.mapped_luns | sort_by(.mapped_lun))}]
		    | sort_by(.initiator))}] | sort_by(.iqn)),
	    backstores: ([.backstores[] | select(.managed) | del(.managed)] | sort_by(.hba + "/" + .name))
	}' "$1"
}
# summary FILE: "iqn open luns=0,1 acls=x,y" per managed target, sorted: what the files declare.
summary() {
	jq -r '.targets[] | select(.managed) |
	    "\(.iqn) open=\(.open) luns=\([.luns[].lun] | sort | map(tostring) | join(","))" +
	    " acls=\([.acls[].initiator] | sort | join(","))"' "$1" | sort
}

echo "# kernel $(uname -r), initiator $INITIATOR, $("$TM" --version 2>&1)"
start_iscsid

# --- 1. Online change without disturbance ---------------------------------------------------
section "1. online change while fio writes to A"
write_a() {
	cat >"$CONF/a.conf" <<CONF
[target $A]
lun 0 = $TMA
CONF
}
write_b() { # [second LUN]
	{
		echo "[target $B]"
		echo "lun 0 = ramdisk size=16M"
		[[ -z ${1:-} ]] || echo "lun 1 = ramdisk size=16M"
	} >"$CONF/b.conf"
}
write_c() { # INITIATORS LUNS
	{
		echo "[target $C]"
		for l in $2; do echo "lun $l = ramdisk size=16M nullio"; done
		echo "initiator = $1"
	} >"$CONF/c.conf"
}
write_d() { # [changed settings] [extra LUN]
	{
		echo "[target $D]"
		echo "lun 0 = ramdisk size=${D_SIZE:-16M} nullio"
		[[ -z ${2:-} ]] || echo "lun 1 = ramdisk size=16M nullio"
		if [[ -n ${1:-} ]]; then
			echo "attribute.default_cmdsn_depth = 32"
			echo "parameter.MaxRecvDataSegmentLength = 65536"
		fi
	} >"$CONF/d.conf"
}
write_a
write_b
write_c "$INITIATOR $OTHER" "0 1"
write_d
check "targetmgr check accepts the four targets" tm check
tmo apply0 apply
is_rc "apply creates A (iblock on a disk), B (ramdisk), C (two ACLs), D (open)" "$rc" 0 /tmp/apply0.out
tmo plan0 plan
is_rc "plan right after it exits 0" "$rc" 0 /tmp/plan0.out
show_json /tmp/show0.json
A_BS=$(jt /tmp/show0.json "$A" '.luns[] | select(.lun == 0) | .backstore | "\(.hba)/\(.name)"')
echo "# A's backstore: core/$A_BS"
cdef=$(cat "$CFS/target/iscsi/$D/tpgt_1/attrib/default_cmdsn_depth" 2>/dev/null)
mrdsl=$(cat "$CFS/target/iscsi/$D/tpgt_1/param/MaxRecvDataSegmentLength" 2>/dev/null)
echo "# D before: default_cmdsn_depth=$cdef MaxRecvDataSegmentLength=$mrdsl"

discover >/dev/null 2>&1
check "open-iscsi logs in to A" timeout 60 iscsiadm -m node -T "$A" -p "$PORTAL" --login
dev=$(lun_dev "$A" 0) && ok "A's LUN 0 appears as $dev" || not_ok "A's LUN 0 appears"
sid_before=$(session_sid "$A")
accepts=$CFS/target/iscsi/$A/fabric_statistics/iscsi_login_stats/accepts
logins_before=$(cat "$accepts" 2>/dev/null)
dmesg_lines=$(dmesg | wc -l)
echo "# A: session [$sid_before], target-side login accepts $logins_before"

fio --name=w --filename="${dev:-/dev/null}" --rw=randwrite --bs=4k --iodepth=8 --ioengine=libaio \
	--direct=1 --time_based --runtime=30 --output-format=json --output=/tmp/fio.json \
	>/tmp/fio.log 2>&1 &
fio_pid=$!
sleep 4 # fio is writing

write_b 2
write_c "$INITIATOR" "0 1"
write_d changed
t0=$(date +%s.%N)
tm_strace online apply
echo "# online apply (under strace): $(elapsed "$t0") s"
is_rc "online apply exits 0" "$rc" 0 /tmp/online.out
diag /tmp/online.out 20
if kill -0 "$fio_pid" 2>/dev/null; then
	ok "fio was still writing to A when apply finished"
else
	not_ok "fio was still writing to A when apply finished (the test would prove nothing)"
fi
wait "$fio_pid"
fio_rc=$?
is "fio exits 0" "$fio_rc" 0
is "fio reports zero errors (jobs[0].error)" "$(jq -r '.jobs[0].error' /tmp/fio.json 2>&1)" 0
fio_bytes=$(jq -r '.jobs[0].write.io_bytes' /tmp/fio.json 2>/dev/null)
check "fio wrote data ($fio_bytes bytes, $(jq -r '.jobs[0].write.iops | floor' /tmp/fio.json 2>/dev/null) IOPS)" \
	test "${fio_bytes:-0}" -gt 0
[[ $fio_rc == 0 ]] || diag /tmp/fio.log
is "the session to A is the same session (iscsiadm SID)" "$(session_sid "$A")" "$sid_before"
if [[ -n $logins_before ]]; then
	is "A accepted no new login (target-side login statistics)" "$(cat "$accepts")" "$logins_before"
fi
dmesg | tail -n +$((dmesg_lines + 1)) >/tmp/dmesg1.txt
is "no connection error, recovery or relogin in dmesg while apply ran" \
	"$(grep -ciE 'conn error|connection recovery|reinstatement|login negotiation failed|session recovery timed out' /tmp/dmesg1.txt)" 0
tmo plan1 plan
is_rc "plan after the online apply exits 0 (nothing to do)" "$rc" 0 /tmp/plan1.out

show_json /tmp/show1.json
want=$(printf '%s\n' "$A open=true luns=0 acls=" "$B open=true luns=0,1 acls=" \
	"$C open=false luns=0,1 acls=$INITIATOR" "$D open=true luns=0 acls=" | sort)
is "show --json matches the files (targets, LUNs, ACLs, open)" "$(summary /tmp/show1.json)" "$want"
is "B has two LUNs, each on its own backstore" \
	"$(jt /tmp/show1.json "$B" '[.luns[].backstore.name] | unique | length')" 2
is "C's one ACL is ours and maps LUNs 0 and 1" \
	"$(jt /tmp/show1.json "$C" '.acls[] | "\(.initiator) \([.mapped_luns[].lun] | sort | map(tostring) | join(","))"')" \
	"$INITIATOR 0,1"
check "C's dropped ACL is gone from configfs" test ! -e "$CFS/target/iscsi/$C/tpgt_1/acls/$OTHER"
is "D's attribute.default_cmdsn_depth reads back from configfs" \
	"$(cat "$CFS/target/iscsi/$D/tpgt_1/attrib/default_cmdsn_depth")" 32
is "D's parameter.MaxRecvDataSegmentLength reads back from configfs" \
	"$(cat "$CFS/target/iscsi/$D/tpgt_1/param/MaxRecvDataSegmentLength")" 65536
configfs_writes /tmp/online.strace >/tmp/online.writes
nw=$(wc -l </tmp/online.writes)
check "the online apply wrote to configfs ($nw writes: the next check is not vacuous)" test "$nw" -gt 0
grep -F -e "$A/" -e "$A\"" -e "$A>" -e "${A_BS#*/}" /tmp/online.writes >/tmp/online.a-writes
is "apply wrote nothing under target/iscsi/$A or core/$A_BS (strace -f -y)" \
	"$(wc -l </tmp/online.a-writes)" 0
diag /tmp/online.a-writes 10

# --- 2. Prune, and objects another tool made --------------------------------------------------
section "2. prune and foreign objects"
# A backstore and a target made by hand, the way targetcli would: targetmgr must never touch them.
truncate -s 16M /tmp/foreign.img
mkdir -p "$FOREIGN_BS" &&
	printf '%s' "fd_dev_name=/tmp/foreign.img,fd_dev_size=16777216" >"$FOREIGN_BS/control" &&
	printf '%s' 1 >"$FOREIGN_BS/enable" &&
	mkdir -p "$FOREIGN_TPG" && mkdir "$FOREIGN_TPG/lun/lun_0" &&
	ln -s "$FOREIGN_BS" "$FOREIGN_TPG/lun/lun_0/handmade" &&
	ok "made core/fileio_0/foreign and $FOREIGN by hand" ||
	not_ok "made core/fileio_0/foreign and $FOREIGN by hand"
foreign_state() {
	echo "bs enable=$(cat "$FOREIGN_BS/enable" 2>&1) info=$(head -c 60 "$FOREIGN_BS/info" 2>&1 | tr '\n' ' ')"
	echo "tpg enable=$(cat "$FOREIGN_TPG/enable" 2>&1) luns=$(ls "$FOREIGN_TPG/lun" 2>&1 | tr '\n' ' ')"
	echo "link=$(readlink "$FOREIGN_TPG/lun/lun_0/handmade" 2>&1)"
}
foreign_before=$(foreign_state)
echo "# hand-made: ${foreign_before//$'\n'/; }"
foreign_live() { [[ $foreign_before == "bs enable=1 "*"luns=lun_0"*"link="*"fileio_0/foreign"* ]]; }
check "the hand-made objects are live (the comparisons below are not vacuous)" foreign_live
tmo plan2a plan
is_rc "plan ignores the hand-made objects (exit 0)" "$rc" 0 /tmp/plan2a.out

show_json /tmp/show2.json
B_BS=$(jt /tmp/show2.json "$B" '.luns[].backstore | "\(.hba)/\(.name)"')
echo "# B's backstores: ${B_BS//$'\n'/ }"
rm "$CONF/b.conf"
tmo plan2 plan
is_rc "B removed from the files: plan exits 2" "$rc" 2 /tmp/plan2.out
diag /tmp/plan2.out
check "plan lists '- ' for B's target" grep -qE "^- .*$B(/|\$| )" /tmp/plan2.out
for bs in $B_BS; do
	check "plan lists '- ' for B's backstore $bs" grep -qF -- "- backstore core/$bs" /tmp/plan2.out
done
b_pats=(-e "$B")
for bs in $B_BS; do b_pats+=(-e "$bs"); done
# targetmgr's own HBA directories that only B's backstores used go with them.
for bs in $B_BS; do b_pats+=(-e "- hba core/${bs%%/*}"); done
grep -E '^- ' /tmp/plan2.out | grep -vF "${b_pats[@]}" >/tmp/plan2.other
is "plan deletes nothing but B's objects (and HBAs only they used)" "$(wc -l </tmp/plan2.other)" 0
diag /tmp/plan2.other 5
check "plan has no +, - or ~ line about the hand-made objects" bash -c "! grep -qE '^[-+~] .*foreign' /tmp/plan2.out"
check "plan says it leaves the hand-made target alone" grep -qE "^= .*$FOREIGN.*left alone" /tmp/plan2.out
tmo apply2 apply
is_rc "apply prunes B" "$rc" 0 /tmp/apply2.out
check "B's target is gone from configfs" test ! -e "$CFS/target/iscsi/$B"
for bs in $B_BS; do
	check "B's backstore core/$bs is gone from configfs" test ! -e "$CFS/target/core/$bs"
done
tmo plan2b plan
is_rc "plan after the prune exits 0" "$rc" 0 /tmp/plan2b.out
is "the hand-made objects are untouched by apply" "$(foreign_state)" "$foreign_before"
is "A's session survived the prune" "$(session_sid "$A")" "$sid_before"
show_json /tmp/show2b.json
is "show --json: the hand-made target is marked not managed" \
	"$(jt /tmp/show2b.json "$FOREIGN" '.managed')" false
is "show --json: the hand-made backstore is marked not managed" \
	"$(jq -r '.backstores[] | select(.hba == "fileio_0" and .name == "foreign") | .managed' /tmp/show2b.json)" false
is "show --json: the hand-made backstore is not managed in its target's LUN list either" \
	"$(jt /tmp/show2b.json "$FOREIGN" '.luns[0].backstore.managed')" false
tm show >/tmp/show2.txt 2>&1
check "show (text) marks $FOREIGN not managed" grep -qF "$FOREIGN (not managed by targetmgr)" /tmp/show2.txt

# What the kernel cannot change in place: a RAM disk's size.  apply recreates the backstore.
D_SIZE=32M
write_d changed
D_BS=$(jt /tmp/show2b.json "$D" '.luns[] | select(.lun == 0) | .backstore | "\(.hba)/\(.name)"')
tmo plan2c plan
is_rc "D's LUN 0 grows from 16M to 32M: plan exits 2" "$rc" 2 /tmp/plan2c.out
diag /tmp/plan2c.out 12
tmo apply2c apply
is_rc "apply recreates D's RAM disk with the new size" "$rc" 0 /tmp/apply2c.out
show_json /tmp/show2c.json
is "show --json: D's LUN 0 is 32 MiB now" "$(jt /tmp/show2c.json "$D" '.luns[] | select(.lun == 0) | .backstore.size')" 33554432
is "D's LUN 0 still serves its own backstore" \
	"$(jt /tmp/show2c.json "$D" '.luns[] | select(.lun == 0) | .backstore | "\(.hba)/\(.name)"')" "$D_BS"
tmo plan2d plan
is_rc "plan after the recreate exits 0" "$rc" 0 /tmp/plan2d.out
is "A's session survived the recreate" "$(session_sid "$A")" "$sid_before"

# --- 3. Sessions: no deletion under a logged-in initiator without --force -----------------------
section "3. sessions"
check "open-iscsi logs in to C (through its ACL)" timeout 60 iscsiadm -m node -T "$C" -p "$PORTAL" --login
check "C's LUN 1 appears" lun_dev "$C" 1
sid_c=$(session_sid "$C")
show_json /tmp/show3.json
is "show --json reports the sessions of A and C" \
	"$(jt /tmp/show3.json "$A" '.sessions | join(",")') $(jt /tmp/show3.json "$C" '.acls[0].session')" \
	"$INITIATOR true"
# refused DESCRIPTION NAME_ERE: apply must exit 1, name the object, write nothing to configfs.
# Every edit below also adds LUN 1 to D, so "nothing changed" covers unrelated changes too.
refused() { # DESCRIPTION NAME_ERE [COMMAND]
	local desc=$1 name=$2 cmd=${3:-apply}
	show_json /tmp/refuse-before.json
	cfs_tree >/tmp/refuse-before.tree
	tm_strace refuse "$cmd"
	is_rc "$desc: $cmd exits 1" "$rc" 1 /tmp/refuse.out
	check "$desc: the message names the object" grep -qE -- "$name" /tmp/refuse.out
	diag /tmp/refuse.out 5
	is "$desc: no configfs write (strace)" "$(configfs_writes /tmp/refuse.strace | wc -l)" 0
	show_json /tmp/refuse-after.json
	check "$desc: show --json is unchanged" diff <(normalize /tmp/refuse-before.json) \
		<(normalize /tmp/refuse-after.json)
	check "$desc: the configfs tree is unchanged" diff /tmp/refuse-before.tree <(cfs_tree)
}
write_d changed extra
rm "$CONF/a.conf"
refused "target A removed while logged in" "$A"
write_a
write_c "$INITIATOR" "0"
refused "LUN 1 of C removed while C is logged in" "$C.*(lun_?1|LUN 1)|(lun_?1|LUN 1).*$C"
write_c "$OTHER2" "0 1"
refused "C's ACL for $INITIATOR replaced while it is logged in" "$INITIATOR"
refused "clear while A and C are logged in" "$A|$C" clear
is "A's session survived the refusals" "$(session_sid "$A")" "$sid_before"
is "C's session survived the refusals" "$(session_sid "$C")" "$sid_c"

rm "$CONF/a.conf"
write_c "$OTHER2" "0"
tmo force3 apply --force
is_rc "apply --force removes target A, C's LUN 1 and C's ACL despite the sessions" "$rc" 0 /tmp/force3.out
diag /tmp/force3.out 40
check "A is gone from configfs" test ! -e "$CFS/target/iscsi/$A"
check "A's backstore core/$A_BS is gone" test ! -e "$CFS/target/core/$A_BS"
check "C's LUN 1 is gone" test ! -e "$CFS/target/iscsi/$C/tpgt_1/lun/lun_1"
check "C's ACL for $INITIATOR is gone" test ! -e "$CFS/target/iscsi/$C/tpgt_1/acls/$INITIATOR"
check "C's ACL for $OTHER2 exists" test -d "$CFS/target/iscsi/$C/tpgt_1/acls/$OTHER2"
check "D's new LUN 1 exists" test -d "$CFS/target/iscsi/$D/tpgt_1/lun/lun_1"
tmo plan3 plan
is_rc "plan after apply --force exits 0" "$rc" 0 /tmp/plan3.out
is "the hand-made objects are untouched" "$(foreign_state)" "$foreign_before"
# The initiator side of the dropped sessions: log out, forget the nodes.
timeout 60 iscsiadm -m node -u >/dev/null 2>&1
timeout 30 iscsiadm -m node -o delete >/dev/null 2>&1
is "no session left on the initiator" "$(iscsiadm -m session 2>/dev/null | wc -l)" 0

# --- 4. Two applies at once ---------------------------------------------------------------------
section "4. lock"
write_lock_targets() { # N: targets $P:lock1..N, 4 LUNs and 2 ACLs each
	local i l
	for ((i = 1; i <= $1; i++)); do
		echo "[target $P:lock$i]"
		for l in 0 1 2 3; do echo "lun $l = ramdisk size=16M nullio"; done
		echo "initiator = $P:li1 $P:li2"
	done >"$CONF/lock.conf"
}
pair_apply() { # DESCRIPTION WANT_COUNTS
	local t0 r1 r2
	t0=$(date +%s.%N)
	tm apply >/tmp/lock1.out 2>&1 &
	local p1=$!
	tm apply >/tmp/lock2.out 2>&1 &
	local p2=$!
	wait "$p1"
	r1=$?
	wait "$p2"
	r2=$?
	echo "# $1: both done in $(elapsed "$t0") s"
	is_rc "$1: the first apply exits 0" "$r1" 0 /tmp/lock1.out
	is_rc "$1: the second apply exits 0" "$r2" 0 /tmp/lock2.out
	tmo lockplan plan
	is_rc "$1: plan exits 0 afterwards" "$rc" 0 /tmp/lockplan.out
	is "$1: configfs holds the declared objects" "$(cfs_counts "$FOREIGN")" "$2"
}
counts_add() { # BASE DELTA: two cfs_counts lines added field by field
	local -A s=()
	local kv k
	for kv in $1 $2; do
		k=${kv%%=*}
		s[$k]=$((${s[$k]:-0} + ${kv#*=}))
	done
	echo "targets=${s[targets]} tpgs=${s[tpgs]} portals=${s[portals]} luns=${s[luns]}" \
		"lun_links=${s[lun_links]} acls=${s[acls]} mapped=${s[mapped]}" \
		"mapped_links=${s[mapped_links]} backstores=${s[backstores]}"
}
rest=$(cfs_counts "$FOREIGN") # C and D, whatever section 3 left
with6=$(counts_add "$rest" "targets=6 tpgs=6 portals=6 luns=24 lun_links=24 acls=12 mapped=48 mapped_links=48 backstores=24")
echo "# before: $rest"
write_lock_targets 6
pair_apply "create 6 targets" "$with6"
rm "$CONF/lock.conf"
pair_apply "prune them" "$rest"
write_lock_targets 6
pair_apply "create them again" "$with6"
check "the lock file /run/targetmgr/lock exists" test -e /run/targetmgr/lock
write_lock_targets 7 # a change to make, in case the lock is taken only then
timeout 60 strace -f -y -o /tmp/lock.strace -e trace=openat,flock,fcntl "$TM" apply >/dev/null 2>&1
lockcall=$(grep -E '(flock|fcntl)\([0-9]+</run/targetmgr/lock>' /tmp/lock.strace | head -n 1)
check "apply takes a lock on /run/targetmgr/lock (${lockcall:-no lock call seen})" test -n "$lockcall"
# Hold the lock from outside with the same kind of lock: apply must wait for it.
case $lockcall in
*flock\(*) holder=(flock /run/targetmgr/lock sleep 3) ;;
*) holder=(python3 -c 'import fcntl, time
f = open("/run/targetmgr/lock", "a"); fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(3)') ;;
esac
write_lock_targets 6
"${holder[@]}" &
hold_pid=$!
sleep 0.5
t0=$(date +%s.%N)
tmo held apply
waited=$(elapsed "$t0")
wait "$hold_pid"
is_rc "apply succeeds once another holder releases the lock" "$rc" 0 /tmp/held.out
check "apply waited for the lock held by another process (${waited} s)" \
	awk -v w="$waited" 'BEGIN { exit !(w >= 2.0) }'

# --- 5. SIGKILL at random moments: the next apply converges -------------------------------------
section "5. kill convergence"
rm -f "$CONF"/*.conf
write_kill() { # N: the first N of 16 targets, 4 RAM disk LUNs x 2 ACLs each
	local i l
	for ((i = 1; i <= $1; i++)); do
		printf '[target %s:k%02d]\n' "$P" "$i"
		for l in 0 1 2 3; do echo "lun $l = ramdisk size=16M nullio"; done
		echo "initiator = $P:ki1 $P:ki2"
	done >"$CONF/kill.conf"
}
FULL="targets=16 tpgs=16 portals=16 luns=64 lun_links=64 acls=32 mapped=128 mapped_links=128 backstores=64"
HALF="targets=8 tpgs=8 portals=8 luns=32 lun_links=32 acls=16 mapped=64 mapped_links=64 backstores=32"
EMPTY="targets=0 tpgs=0 portals=0 luns=0 lun_links=0 acls=0 mapped=0 mapped_links=0 backstores=0"
write_kill 16
t0=$(date +%s.%N)
tmo kfull apply
is_rc "apply of 16 targets x 4 LUNs x 2 ACLs (and pruning everything else) exits 0" "$rc" 0 /tmp/kfull.out
echo "# full apply from the previous state: $(elapsed "$t0") s"
is "configfs holds exactly the 16 targets" "$(cfs_counts "$FOREIGN")" "$FULL"
t0=$(date +%s.%N)
tmo kclear0 clear
is_rc "clear exits 0" "$rc" 0 /tmp/kclear0.out
echo "# clear of 16 targets: $(elapsed "$t0") s"
is "clear leaves no targetmgr object" "$(cfs_counts "$FOREIGN")" "$EMPTY"
is "clear leaves the hand-made objects alone" "$(foreign_state)" "$foreign_before"
t0=$(date +%s.%N)
tmo kfull2 apply
echo "# full apply from empty: $(elapsed "$t0") s"

# Under emulation, a run spends its first 100-300 ms parsing, loading and scanning before its
# first configfs write, so kills 0-300 ms after the start mostly hit nothing.  The random 0-300 ms
# delay is therefore counted from 3/4 of the time a run that has nothing to do takes.
noop_ms=()
for i in 1 2 3; do
	t0=$(date +%s%N)
	tm apply >/dev/null 2>&1
	noop_ms+=($((($(date +%s%N) - t0) / 1000000)))
done
offset=$(printf '%s\n' "${noop_ms[@]}" | sort -n | sed -n 2p)
offset=$((offset * 3 / 4))
echo "# a run with nothing to do takes ${noop_ms[*]} ms: kills come ${offset} ms + 0-300 ms after the start"
killed=0 finished=0 midway=0
# trial N WHAT FILES_N VERB WANT: start `targetmgr VERB`, SIGKILL it after 0-300 ms, then apply
# must converge to WANT.
trial() {
	local n=$1 what=$2 files=$3 verb=$4 want=$5 ms pid krc after before goal
	write_kill "$files"
	before=$(cfs_counts "$FOREIGN")
	goal=$want
	[[ $verb == clear ]] && goal=$EMPTY
	ms=$((offset + RANDOM % 301))
	"$TM" "$verb" >/tmp/killed.out 2>&1 &
	pid=$!
	sleep_ms "$ms"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null # no "Killed" job message
	krc=$?
	if ((krc == 137)); then killed=$((killed + 1)); else finished=$((finished + 1)); fi
	after=$(cfs_counts "$FOREIGN")
	[[ $after != "$before" && $after != "$goal" ]] && midway=$((midway + 1))
	tmo kreapply apply
	is_rc "trial $n ($what, $verb killed after $ms ms, status $krc): apply exits 0" "$rc" 0 /tmp/kreapply.out
	[[ $rc == 0 ]] || echo "#   state the kill left: $after"
	tmo kplan plan
	is_rc "trial $n: plan exits 0 afterwards" "$rc" 0 /tmp/kplan.out
	is "trial $n: configfs holds exactly the declared objects" "$(cfs_counts "$FOREIGN")" "$want"
	echo "#   trial $n: after the kill: $after"
}
n=0
for cycle in 1 2 3 4 5; do
	write_kill 16
	tmo kc clear
	[[ $rc == 0 ]] || { not_ok "cycle $cycle: clear before the create trial"; diag /tmp/kc.out 10; }
	trial $((++n)) "create from empty" 16 apply "$FULL"
	trial $((++n)) "prune half" 8 apply "$HALF"
	trial $((++n)) "create the other half" 16 apply "$FULL"
	trial $((++n)) "clear" 16 clear "$FULL"
done
echo "# $killed of $n runs were killed before they finished, $finished finished within the delay;" \
	"$midway kills left a state that was neither the start nor the goal"
check "at least 3 of the 20 kills landed mid-way (the trials are not vacuous)" test "$midway" -ge 3
is "the hand-made objects survived 20 kills and 5 clears" "$(foreign_state)" "$foreign_before"
echo "# ledger: $(wc -l </run/targetmgr/owned 2>/dev/null) lines in /run/targetmgr/owned"

# --- 6. save round trip -------------------------------------------------------------------------
section "6. save round trip"
write_kill 4
cat >"$CONF/saved.conf" <<CONF
[target $S]
lun 0 = $TMA
lun 1 = /srv/iscsi/s1.img size=32M serial=SAVEDSERIAL01 ro
lun 3 = ramdisk size=8M name=s-ram3
chap = suser ssecret123456
attribute.default_cmdsn_depth = 16
parameter.MaxRecvDataSegmentLength = 65536

[initiator $INITIATOR]
luns = 0 1

[initiator $OTHER]
luns = 3
CONF
tmo s-apply apply
is_rc "apply of 4 targets and a richer one (iblock, fileio ro + serial, named ramdisk, CHAP, ACL LUN subsets)" \
	"$rc" 0 /tmp/s-apply.out
show_json /tmp/before6.json
s_settings() {
	local tpg=$CFS/target/iscsi/$S/tpgt_1
	echo "cmdsn=$(cat "$tpg/attrib/default_cmdsn_depth" 2>&1) mrdsl=$(cat "$tpg/param/MaxRecvDataSegmentLength" 2>&1)"
}
s_before=$(s_settings)
rm -f /tmp/saved.conf
# The inline CHAP secret must come back: without --with-secrets save writes <withheld>.
tmo save save --with-secrets -o /tmp/saved.conf
is_rc "save --with-secrets -o /tmp/saved.conf exits 0" "$rc" 0 /tmp/save.out
check "save wrote a file" test -s /tmp/saved.conf
echo "# saved file: mode $(stat -c %a /tmp/saved.conf 2>&1), $(wc -l </tmp/saved.conf 2>/dev/null) lines"
cp /tmp/saved.conf "$ART/saved.conf" 2>/dev/null
check "targetmgr check accepts the saved file" tm -c /tmp/saved.conf check
check "the saved file leaves out the hand-made target" \
	bash -c "test -s /tmp/saved.conf && ! grep -qF '$FOREIGN' /tmp/saved.conf"
is "save -o creates the file with mode 0600 (it holds CHAP secrets)" "$(stat -c %a /tmp/saved.conf 2>&1)" 600
tmo saveall save --all -o /tmp/saved-all.conf
is_rc "save --all exits 0" "$rc" 0 /tmp/saveall.out
check "save --all includes the hand-made target" grep -qF "$FOREIGN" /tmp/saved-all.conf
tmo clear6 clear
is_rc "clear exits 0" "$rc" 0 /tmp/clear6.out
is "clear removed every targetmgr object" "$(cfs_counts "$FOREIGN")" "$EMPTY"
is "clear left the hand-made objects alone" "$(foreign_state)" "$foreign_before"
tmo plan6 plan
is_rc "plan of the original files after clear exits 2" "$rc" 2 /tmp/plan6.out
tmo reapply6 -c /tmp/saved.conf apply
is_rc "apply -c /tmp/saved.conf exits 0" "$rc" 0 /tmp/reapply6.out
show_json /tmp/after6.json
normalize /tmp/before6.json >/tmp/before6.norm
normalize /tmp/after6.json >/tmp/after6.norm
check "show --json after the round trip equals show --json before the clear (targets, LUNs, serials, sizes, ACLs)" \
	diff -u /tmp/before6.norm /tmp/after6.norm
check "... and it is not vacuous ($(jq '.targets | length' /tmp/before6.norm) targets, $(jq '[.targets[].luns[]] | length' /tmp/before6.norm) LUNs)" \
	jq -e '(.targets | length) == 5 and ([.targets[].luns[]] | length) == 19' /tmp/before6.norm
is "the TPG attribute and parameter came back" "$(s_settings)" "$s_before"
tmo plan6b -c /tmp/saved.conf plan
is_rc "plan of the saved file exits 0" "$rc" 0 /tmp/plan6b.out
tmo plan6c plan
is_rc "plan of the original files exits 0: the saved file declares the same" "$rc" 0 /tmp/plan6c.out
if iscsi-inq -i "$INITIATOR" "iscsi://suser%ssecret123456@$PORTAL/$S/0" >/tmp/inq6.out 2>&1; then
	ok "CHAP came back: libiscsi logs in to $S with the secret"
	refuse "... and not with a wrong one" iscsi-inq -i "$INITIATOR" "iscsi://suser%wrongsecret99@$PORTAL/$S/0"
else
	not_ok "CHAP came back: libiscsi logs in to $S with the secret"
	diag /tmp/inq6.out 5
fi

# --- 7. The kernel refuses an operation midway: exit 3 (or 1 if nothing was done), then converge --
section "7. kernel refusal midway"
E=$P:e
modprobe loop 2>/dev/null
truncate -s 32M /tmp/busy.img
loopdev=$(losetup -f --show /tmp/busy.img 2>&1)
mkdir -p /mnt/busy
# A mounted file system holds its block device exclusively: LIO's iblock cannot open it.
if mkfs.ext4 -q -F "$loopdev" >/dev/null 2>&1 && mount "$loopdev" /mnt/busy; then
	ok "a mounted loop device $loopdev to trip iblock"
else
	not_ok "a mounted loop device to trip iblock ($loopdev)"
fi
{
	echo "[target $E]"
	for l in 0 1 2 3; do echo "lun $l = ramdisk size=16M nullio"; done
	# allow-in-use: targetmgr itself refuses a mounted device before the kernel sees it;
	# this step is about what happens when the kernel refuses an operation midway.
	echo "lun 4 = $loopdev allow-in-use"
} >"$CONF/e.conf"
cfs_tree >/tmp/fail-before.tree
tmo fail7 apply
echo "# apply with a busy device: exit $rc"
diag /tmp/fail7.out 40
if diff -q /tmp/fail-before.tree <(cfs_tree) >/dev/null; then changed=no; else changed=yes; fi
case $rc/$changed in
3/yes) ok "apply exits 3 after doing part of the work (the RAM disks)" ;;
1/no) ok "apply exits 1 and changed nothing (the failing operation came first)" ;;
*) not_ok "apply exits 3 with changes made or 1 without (got $rc, configfs changed: $changed)" ;;
esac
check "the message names the backstore, its configfs path and the kernel's error" \
	grep -qE "iblock_10[01][0-9]/$P\.e-lun4.*(busy|Device or resource busy|EBUSY)" -i /tmp/fail7.out
umount /mnt/busy
tmo fail7b apply
is_rc "with the device free again, apply converges (exit 0)" "$rc" 0 /tmp/fail7b.out
tmo fail7c plan
is_rc "plan exits 0 afterwards" "$rc" 0 /tmp/fail7c.out
show_json /tmp/show7.json
is "E serves its five LUNs, LUN 4 on $loopdev" \
	"$(jt /tmp/show7.json "$E" '"\([.luns[].lun] | sort | map(tostring) | join(",")) \(.luns[] | select(.lun == 4) | .backstore.path)"')" \
	"0,1,2,3,4 $loopdev"
rm "$CONF/e.conf"
tmo fail7d apply
is_rc "apply prunes E again" "$rc" 0 /tmp/fail7d.out
check "E is gone" test ! -e "$CFS/target/iscsi/$E"
losetup -d "$loopdev" 2>/dev/null

section ""
echo "# time: whole scenario $(elapsed "$t_start") s"
cp /tmp/*.out /tmp/*.json /tmp/*.strace "$ART/" 2>/dev/null
tap_done
