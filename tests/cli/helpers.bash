# Shared by the bats files: a scratch directory per test and the binary under test.
TM=${TARGETMGR:?set TARGETMGR to the targetmgr binary}

setup() {
	T=$(mktemp -d)
	mkdir -p "$T/conf" "$T/configfs" "$T/state"
	export TARGETMGR_CONFIGFS_ROOT=$T/configfs TARGETMGR_STATE_DIR=$T/state
}

teardown() {
	rm -rf "$T"
}

# conf NAME: writes standard input to a target file in the scratch config directory.
conf() {
	cat >"$T/conf/$1"
}

tm() {
	"$TM" -c "$T/conf" "$@"
}
