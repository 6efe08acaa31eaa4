#!/bin/bash
# The bad-input corpus (tests/bad/) against the real kernel's configfs: every case is checked
# applied with nothing between targetmgr and /sys/kernel/config (check, which touches no
# kernel, runs on the host); each refused apply runs under `strace -f -y` and its trace may
# hold no configfs-changing call (configfs_writes, lib.sh), and the listing of
# /sys/kernel/config/target must be the same after the whole corpus as before.  Prints the corpus's TAP and its figures, then a
# last test that configfs holds no target at the end.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

modprobe -a configfs target_core_mod iscsi_target_mod target_core_file target_core_iblock
mountpoint -q "$CFS" || mount -t configfs configfs "$CFS"
export -f configfs_writes
before=$(find "$CFS/target" | sort)
# The runner's own TAP counts (it prints its plan first); TCG is slow: more room per command.
TM_BAD_REAL_KERNEL=1 TM_BAD_TIMEOUT=120 TARGETMGR=$TM bash tests/bad/run
rc=$?
if [[ $(find "$CFS/target" | sort) == "$before" ]]; then
	echo "# the listing of $CFS/target is the same after the corpus as before"
else
	echo "not ok - the listing of $CFS/target changed during the corpus"
	rc=1
fi
leftover=$(find "$CFS/target/iscsi" "$CFS/target/core" -mindepth 1 -maxdepth 1 -type d \
	! -name 'alua' ! -name 'discovery_auth' 2>/dev/null | wc -l)
if ((leftover == 0)); then
	echo "# configfs holds no target and no backstore after the corpus"
else
	echo "not ok - configfs holds $leftover object(s) after the corpus"
	rc=1
fi
exit "$rc"
