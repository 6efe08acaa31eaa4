# Shared by the bats files: a scratch directory per test and the binary under test.
TM=${TARGETMGR:?set TARGETMGR to the targetmgr binary}

setup() {
	T=$(mktemp -d)
	mkdir -p "$T/conf" "$T/configfs" "$T/state"
	export TARGETMGR_CONFIGFS_ROOT=$T/configfs TARGETMGR_STATE_DIR=$T/state
	FAKE_KERNEL=
}

teardown() {
	rm -rf "$T"
}

# conf NAME: writes standard input to a target file in the scratch config directory.
conf() {
	cat >"$T/conf/$1"
}

# fake_kernel: from now on `tm` runs with the fakecfs shim (tests/fakecfs.c) preloaded, which
# makes the stand-in configfs act like LIO's (default groups and attributes, rmdir taking a
# group's attributes along), with target_core_mod "loaded".  TM_FAKECFS_FAIL=CALL:N:ERRNO
# makes the Nth such call fail, TM_FAKECFS_LOG=FILE lists every change made.
fake_kernel() {
	: "${FAKECFS:?set FAKECFS to the fakecfs shim (build/tests/fakecfs.so)}"
	mkdir -p "$T/configfs/target/core"
	FAKE_KERNEL=1
}

tm() {
	if [[ -n ${FAKE_KERNEL:-} ]]; then
		LD_PRELOAD=$FAKECFS "$TM" -c "$T/conf" "$@"
	else
		"$TM" -c "$T/conf" "$@"
	fi
}
