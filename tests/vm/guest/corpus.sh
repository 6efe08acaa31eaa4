#!/bin/bash
# The bad-input corpus (tests/bad/) against the real kernel's configfs: every refused case is
# applied with nothing between targetmgr and /sys/kernel/config (check, which touches no
# kernel, runs on the host).  The runner builds every input first, then applies all the
# refused ones from one bash under ONE strace (a trace per apply cost about a second each
# under TCG), creating $W/marks/NAME before each apply: every configfs-changing call in the
# trace (configfs_writes, lib.sh) is given to the case whose mark came last.  Proves: the
# whole corpus issues zero configfs writes, and the listing of /sys/kernel/config/target is
# the same after it as before.  Prints the corpus's TAP, the figures, and the verdicts.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

modprobe -a configfs target_core_mod iscsi_target_mod target_core_file target_core_iblock
mountpoint -q "$CFS" || mount -t configfs configfs "$CFS"
before=$(find "$CFS/target" | sort)
log=/tmp/corpus.strace
start=$SECONDS
# -y: targetmgr works relative to a directory fd on /sys/kernel/config, so fd paths are what
# show configfs.  --seccomp-bpf: only the traced calls stop the processes.  TM_BAD_TIMEOUT is
# a hang detector: in CI, beside the `load` scenario, config-50000-duplicate-luns outlasted
# 120 s under strace and TCG (it takes 1.3 s on the host).
TM_BAD_REAL_KERNEL=1 TM_BAD_TIMEOUT=300 TARGETMGR=$TM \
	TM_BAD_TRACE="strace -f -y -qq --seccomp-bpf -o $log -e trace=write,openat,mkdir,mkdirat,rmdir,unlink,unlinkat,symlink,symlinkat,rename,renameat2" \
	bash tests/bad/run
rc=$?
echo "# the corpus ran in $((SECONDS - start)) s, its applies under one strace ($(wc -l <"$log") traced calls)"

# Each configfs-changing call (numbered lines of the trace), given to the case whose mark
# came last before it.
grep -n '' "$log" >/tmp/corpus.numbered
grep -F '/marks/' /tmp/corpus.numbered >/tmp/corpus.marks
configfs_writes /tmp/corpus.numbered |
	sort -m -t: -k1,1n /tmp/corpus.marks - |
	awk 'match($0, /\/marks\/[^"]*"/) { name = substr($0, RSTART + 7, RLENGTH - 8); next }
	     { print (name == "" ? "(before the first case)" : name) "\t" $0 }' >/tmp/corpus.writes
marked=$(wc -l </tmp/corpus.marks)
writes=$(wc -l </tmp/corpus.writes)
echo "# figures: $marked refused inputs applied on the real kernel; configfs-changing calls in the trace: $writes"
if ((writes == 0)); then
	echo "ok - the whole corpus ($marked applies) issued zero configfs writes (strace)"
else
	echo "not ok - the whole corpus issued $writes configfs-changing call(s) (strace)"
	cut -f1 /tmp/corpus.writes | sort | uniq -c | head -n 20 | sed 's/^/#   case: /'
	cut -f2 /tmp/corpus.writes | head -n 10 | sed 's/^/#   call: /'
	rc=1
fi
if ((marked > 0)); then
	echo "ok - the trace holds the marks of $marked cases"
else
	echo "not ok - the trace holds no case mark (nothing was attributed)"
	rc=1
fi
if [[ $(find "$CFS/target" | sort) == "$before" ]]; then
	echo "ok - the listing of $CFS/target is the same after the corpus as before"
else
	echo "not ok - the listing of $CFS/target changed during the corpus"
	rc=1
fi
leftover=$(find "$CFS/target/iscsi" "$CFS/target/core" -mindepth 1 -maxdepth 1 -type d \
	! -name 'alua' ! -name 'discovery_auth' 2>/dev/null | wc -l)
if ((leftover == 0)); then
	echo "ok - configfs holds no target and no backstore after the corpus"
else
	echo "not ok - configfs holds $leftover object(s) after the corpus"
	rc=1
fi
exit "$rc"
