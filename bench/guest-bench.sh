#!/bin/bash
# The benchmark, inside the real-kernel VM (bench/run boots it with
# `tests/vm/run-vm.sh bench/guest-bench.sh --args 64,256`).  For each size (number of
# targets, each with 4 RAM-disk LUNs and 4 initiator ACLs, every LUN mapped in every ACL):
#
#   timed, one process per command:
#     targetctl restore -> counts -> targetctl clear -> counts
#     targetmgr apply (from empty) -> counts -> apply again ("No changes.") -> edit the files
#     (-1 ACL, +1 LUN) -> apply -> counts -> targetmgr clear -> counts
#   then the same again under `strace -f -y`, counting the configfs operations each issues.
#
# Results go to /out/results.tsv (size, step, tool, metric, value), one line per fact, as
# they are measured; bench/run turns them into the table.  A failing step is recorded (exit
# status, output) and the run goes on: leftovers are removed before the next step.
set -uo pipefail
shopt -s nullglob

TM=${TM:-/work/build/targetmgr}
GEN=/work/bench/gen-config
CFS=/sys/kernel/config
OUT=${BENCH_OUT:-/out}
RES=$OUT/results.tsv
LOGS=$OUT/logs
WORK=/tmp/bench
# Each traced command and every targetctl command is stopped after this long.  The timed
# targetmgr commands run bare: a `timeout` process would add a process start to the time.
CMD_TIMEOUT=${BENCH_CMD_TIMEOUT:-1500}
# The calls that change configfs; for targetmgr also openat, to see that a no-op apply did read
# configfs (targetctl opens thousands of files, and tracing them would only slow it down).
TRACE=mkdir,mkdirat,rmdir,unlink,unlinkat,symlink,symlinkat,rename,renameat,renameat2,write,pwrite64,writev

sizes=("$@")
((${#sizes[@]})) || sizes=(64 256)
size=0
phase=''

say() { printf 'bench: %s\n' "$*"; }
record() { # STEP TOOL METRIC VALUE
	printf '%s\t%s\t%s\t%s\t%s\n' "$size" "$1" "$2" "$3" "${4//$'\t'/ }" >>"$RES"
}
elapsed() { # T0 T1 -> seconds with 3 decimals
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'
}

# lio_counts: "targets luns acls mapped_luns backstores" as configfs holds them now.
lio_counts() {
	local t=0 d
	for d in "$CFS"/target/iscsi/*/; do
		[[ $d == */discovery_auth/ ]] || t=$((t + 1))
	done
	local luns=("$CFS"/target/iscsi/*/tpgt_*/lun/lun_*/)
	local acls=("$CFS"/target/iscsi/*/tpgt_*/acls/*/)
	local mapped=("$CFS"/target/iscsi/*/tpgt_*/acls/*/lun_*/)
	local bs=("$CFS"/target/core/*_*/*/)
	echo "$t ${#luns[@]} ${#acls[@]} ${#mapped[@]} ${#bs[@]}"
}

# verify STEP TOOL WANT: records whether configfs holds WANT objects; after a clear also what
# is left besides them (HBA directories, the fabric's target/iscsi).
verify() {
	local got left=()
	got=$(lio_counts)
	if [[ $3 == "0 0 0 0 0" ]]; then
		left=("$CFS"/target/core/*_*/)
		left=("${left[@]#"$CFS"/}")
		[[ -d $CFS/target/iscsi ]] && left+=(target/iscsi/)
		record "$1" "$2" "left$phase" "${left[*]}"
	fi
	if [[ $got == "$3" ]]; then
		record "$1" "$2" "verify$phase" ok
		say "  counts ok: $got (targets luns acls mapped_luns backstores)"
	else
		record "$1" "$2" "verify$phase" "got $got, want $3"
		say "  COUNTS WRONG after $1/$2: got $got, want $3"
	fi
}

# raw_clear: removes every LIO object with plain configfs calls (the last resort).
raw_clear() {
	local t=$CFS/target a
	a=("$t"/iscsi/*/tpgt_*/acls/*/lun_*/*)
	((${#a[@]})) && find "${a[@]}" -maxdepth 0 -type l -delete
	a=("$t"/iscsi/*/tpgt_*/acls/*/lun_*/)
	((${#a[@]})) && rmdir "${a[@]}"
	a=("$t"/iscsi/*/tpgt_*/acls/*/)
	((${#a[@]})) && rmdir "${a[@]}"
	a=("$t"/iscsi/*/tpgt_*/lun/lun_*/*)
	((${#a[@]})) && find "${a[@]}" -maxdepth 0 -type l -delete
	a=("$t"/iscsi/*/tpgt_*/lun/lun_*/ "$t"/iscsi/*/tpgt_*/np/*/)
	((${#a[@]})) && rmdir "${a[@]}"
	a=("$t"/iscsi/*/tpgt_*/)
	((${#a[@]})) && rmdir "${a[@]}"
	a=()
	for d in "$t"/iscsi/*/; do
		[[ $d == */discovery_auth/ ]] || a+=("$d")
	done
	((${#a[@]})) && rmdir "${a[@]}"
	a=("$t"/core/*_*/*/)
	((${#a[@]})) && rmdir "${a[@]}"
	return 0
}

# ensure_empty: the starting point of every measured step that begins from nothing: no
# target, no backstore, no HBA and no target/iscsi directory; modules stay loaded.
ensure_empty() {
	local hbas
	if [[ $(lio_counts) != "0 0 0 0 0" ]]; then
		say "  leftovers ($(lio_counts)): removing them with targetctl clear (not timed)"
		timeout "$CMD_TIMEOUT" targetctl clear >>"$LOGS/cleanup.log" 2>&1
	fi
	if [[ $(lio_counts) != "0 0 0 0 0" ]]; then
		say "  still there ($(lio_counts)): removing them with plain configfs calls"
		raw_clear >>"$LOGS/cleanup.log" 2>&1
	fi
	hbas=("$CFS"/target/core/*_*/)
	((${#hbas[@]})) && rmdir "${hbas[@]}" 2>>"$LOGS/cleanup.log"
	[[ -d $CFS/target/iscsi ]] && rmdir "$CFS/target/iscsi" 2>>"$LOGS/cleanup.log"
	[[ $(lio_counts) == "0 0 0 0 0" ]] || say "  WARNING: LIO is not empty: $(lio_counts)"
}

# timed STEP TOOL CMD...: runs CMD once in the foreground between two reads of the wall clock
# (bash's $EPOCHREALTIME: the clock `date +%s.%N` reads, without starting a process inside
# the interval); records seconds, exit status and output.
timed() {
	local step=$1 tool=$2 t0 t1 rc out
	out=$LOGS/$size-$step-$tool.out
	shift 2
	t0=$EPOCHREALTIME
	"$@" >"$out" 2>&1
	rc=$?
	t1=$EPOCHREALTIME
	record "$step" "$tool" secs "$(elapsed "$t0" "$t1")"
	record "$step" "$tool" rc "$rc"
	record "$step" "$tool" output "$(head -c 300 "$out" | tr '\n' ' ')"
	say "  $tool $step: $(elapsed "$t0" "$t1") s, exit $rc$( ((rc)) && printf ': %s' "$(head -c 200 "$out" | tr '\n' ' ')")"
	return "$rc"
}

# count_ops LOG: the configfs-changing calls in an `strace -ff -y` log (every call counts, the
# failed ones too).
ops_re='^(mkdir|mkdirat|rmdir|unlink|unlinkat|symlink|symlinkat|rename|renameat|renameat2|write|pwrite64|writev)\(.*/sys/kernel/config'
count_ops() { grep -cE "$ops_re" "$1"; }
ops_detail() {
	grep -E "$ops_re" "$1" | sed -E 's/^[0-9]+ +//; s/\(.*//' | sort | uniq -c |
		awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }'
}

# traced STEP TOOL CMD...: runs CMD under strace and records the configfs operations.
traced() {
	local step=$1 tool=$2 t0 t1 rc log out
	log=$WORK/$size-$step-$tool.strace out=$LOGS/$size-$step-$tool.strace.out
	local trace=$TRACE
	shift 2
	[[ $tool == targetmgr ]] && trace+=,openat
	t0=$EPOCHREALTIME
	# -ff: one file per thread, so that no call is split into "unfinished" and "resumed".
	timeout "$CMD_TIMEOUT" strace -ff -y --seccomp-bpf -e trace="$trace" -o "$log" "$@" >"$out" 2>&1
	rc=$?
	t1=$EPOCHREALTIME
	cat "$log".* >"$log" 2>/dev/null
	rm -f "$log".*
	local n failed reads
	n=$(count_ops "$log")
	failed=$(grep -E "$ops_re" "$log" | grep -cE '= -1 E')
	reads=$(grep -cE '^openat\(.*/sys/kernel/config.*O_RDONLY' "$log")
	record "$step" "$tool" ops "$n"
	record "$step" "$tool" ops_failed "$failed"
	record "$step" "$tool" ops_detail "$(ops_detail "$log")"
	record "$step" "$tool" configfs_reads "$reads"
	record "$step" "$tool" traced_rc "$rc"
	record "$step" "$tool" traced_secs "$(elapsed "$t0" "$t1")"
	say "  $tool $step under strace: $n configfs operations ($failed failed; $(ops_detail "$log")), $reads configfs opens for reading, exit $rc"
	gzip -1 -c "$log" >"$LOGS/$size-$step-$tool.strace.gz" && rm -f "$log"
	return "$rc"
}

# The sequence for one size; RUN is timed or traced.
sequence() {
	local run=$1 conf=$WORK/$size/conf guard=()
	# verify's metrics: verify/left for the timed run, verify_traced/left_traced for the traced.
	phase=''
	[[ $run == traced ]] && phase=_traced
	# traced already stops a command after CMD_TIMEOUT.
	[[ $run == timed ]] && guard=(timeout "$CMD_TIMEOUT")
	ensure_empty
	say "targetctl restore ($run)"
	$run create targetctl "${guard[@]}" targetctl restore "$WORK/$size/base/saveconfig.json"
	verify create targetctl "$want_full"
	say "targetctl clear ($run)"
	$run clear targetctl "${guard[@]}" targetctl clear
	verify clear targetctl "0 0 0 0 0"
	ensure_empty

	rm -rf "$conf" && cp -r "$WORK/$size/base/targets.d" "$conf"
	say "targetmgr apply from empty ($run)"
	$run create targetmgr "$TM" -c "$conf" apply
	verify create targetmgr "$want_full"
	say "targetmgr apply, nothing changed ($run)"
	$run noop targetmgr "$TM" -c "$conf" apply
	local out=$LOGS/$size-noop-targetmgr.out
	[[ $run == traced ]] && out=$LOGS/$size-noop-targetmgr.strace.out
	if [[ $(<"$out") == "No changes." ]]; then
		record noop targetmgr "nochanges$phase" yes
	else
		record noop targetmgr "nochanges$phase" no
		say "  the second apply did not print exactly 'No changes.'"
	fi
	"$GEN" change "$conf"
	say "targetmgr apply after removing one ACL and adding one LUN ($run)"
	$run change targetmgr "$TM" -c "$conf" apply
	verify change targetmgr "$want_changed"
	say "targetmgr clear ($run)"
	$run clear targetmgr "$TM" -c "$conf" clear
	verify clear targetmgr "0 0 0 0 0"
	ensure_empty
}

run_size() {
	size=$1
	local w=$WORK/$size m step from to bare design
	mkdir -p "$w"
	"$GEN" write -t "$size" "$w/base"
	"$GEN" write -t "$size" "$w/changed"
	"$GEN" change "$w/changed/targets.d"
	want_full=$("$GEN" expect "$w/base/targets.d")
	want_changed=$("$GEN" expect "$w/changed/targets.d")
	record config - expect "$want_full"
	record config - expect_changed "$want_changed"
	cp "$w/base/saveconfig.json" "$LOGS/$size-saveconfig.json"
	for m in "create - $w/base/targets.d" "noop $w/base/targets.d $w/base/targets.d" \
		"change $w/base/targets.d $w/changed/targets.d" "clear $w/changed/targets.d -" \
		"clear_base $w/base/targets.d -"; do
		read -r step from to <<<"$m"
		read -r bare design < <("$GEN" min-ops "$from" "$to")
		record "$step" - min_bare "$bare"
		record "$step" - min_design "$design"
	done
	say "=== $size targets: $want_full (targets luns acls mapped_luns backstores)"
	sequence timed
	say "=== $size targets under strace"
	sequence traced
}

main() {
	# /etc/target for targetctl; rtslib-fb 2.1.75 also points the kernel's dbroot at
	# /etc/rtslib-fb-target and fails when that directory is missing.
	mkdir -p "$OUT" "$LOGS" "$WORK" /etc/target /etc/rtslib-fb-target
	: >"$RES"
	say "kernel $(uname -r), $(nproc) CPUs, $(free -m | awk '/^Mem:/ { print $2 }') MiB"
	modprobe -a configfs target_core_mod iscsi_target_mod target_core_file target_core_iblock crc32c ||
		say "modprobe failed"
	grep -q ' /sys/kernel/config configfs ' /proc/mounts || mount -t configfs configfs "$CFS"
	record env - kernel "$(uname -r)"
	record env - nproc "$(nproc)"
	record env - mem_mib "$(free -m | awk '/^Mem:/ { print $2 }')"
	record env - cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	record env - rtslib "$(dpkg-query -W -f '${Version}' python3-rtslib-fb 2>/dev/null)"
	record env - strace "$(strace -V | head -n1)"
	record env - targetmgr "$("$TM" --version 2>&1 | head -n1)"
	record env - date "$(date -u)"
	size=0
	# Warm up: the first run of each tool reads its binary (over 9p), libraries and Python
	# modules from disk, and rtslib sets the kernel's dbroot once.  Not timed.
	"$TM" --version >/dev/null
	"$GEN" write -t 1 "$WORK/warmup"
	"$TM" -c "$WORK/warmup/targets.d" check >/dev/null 2>&1
	targetctl save "$WORK/warmup.json" >"$LOGS/warmup.log" 2>&1 || say "targetctl save failed (see logs/warmup.log)"
	# What one command costs at the least here: starting a process that does nothing (best of 3).
	local t0 t1 best=''
	for _ in 1 2 3; do
		t0=$EPOCHREALTIME
		/bin/true
		t1=$EPOCHREALTIME
		t0=$(elapsed "$t0" "$t1")
		[[ -z $best ]] || awk -v a="$t0" -v b="$best" 'BEGIN { exit !(a < b) }' && best=$t0
	done
	record floor true secs "$best"
	record floor true rc 0
	say "starting /bin/true takes $best s (best of 3)"
	local s
	for s in "${sizes[@]}"; do
		run_size "$s"
	done
	say "done"
}

main
