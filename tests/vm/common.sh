# shellcheck shell=bash
# What run-vm.sh and run-cluster.sh share: the guest script's path, QEMU and the image, and
# the end of a run.  Sourced; the caller defines log() and die() and sets `here`, and for
# vm_finish `timeout`, `keep` and `res`.
# shellcheck disable=SC2154 # those variables

# vm_script SCRIPT: sets repo (this checkout, which the guests see at /work) and rel (SCRIPT's
# path inside it, as the guest runs it).
vm_script() {
	local abs
	repo=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
	abs=$(realpath -e "$1" 2>/dev/null || realpath -e "$repo/$1" 2>/dev/null) ||
		die "no such script: $1"
	[[ $abs == "$repo"/* ]] || die "$1 is not inside $repo"
	rel=${abs#"$repo"/}
	[[ $rel =~ ^[^[:space:]]+$ ]] || die "script path must not contain white space"
}

# vm_image: prints the cached image's folder (tests/vm/image.sh builds it on first use).
# CI starts from a clean machine: QEMU is installed if it is missing.
vm_image() {
	if ! command -v qemu-system-x86_64 >/dev/null; then
		log "installing qemu-system-x86"
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >&2
	fi
	bash "$here/image.sh"
}

# vm_finish QEMU_STATUS RC_FILE WHAT: the run's exit status from the guest's RC_FILE (124 when
# QEMU_STATUS says the timeout killed it, 125 when the guest left none), logged with WHAT;
# the results folder $res is kept on failure or with --out, else removed.
vm_finish() {
	local rc
	if (($1 == 124)); then
		log "timeout after ${timeout}s: QEMU killed"
		rc=124
	elif [[ -s $2 ]]; then
		rc=$(<"$2")
	else
		log "the guest left no exit status (QEMU exit $1)"
		rc=125
	fi
	log "guest script exit $rc$3"
	if ((rc != 0 || keep)); then
		log "results kept in $res"
	else
		rm -rf "$res"
	fi
	exit "$rc"
}
