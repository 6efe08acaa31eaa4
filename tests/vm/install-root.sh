#!/bin/bash
# Installs targetmgr for the systemd-mode guest the way a package would: `meson install`
# of a build configured for /usr, into REPO/build-vm/root. The guest copies that tree onto
# its / (guest/lib.sh install_targetmgr), so the binaries, the units and the udev rule land
# where meson put them from the systemd and udev pkg-config files.
#
#   install-root.sh REPO
#
# Two VM runs may start at once: a lock makes the second wait and then reuse the tree.
set -euo pipefail

repo=${1:?usage: install-root.sh REPO}
build=$repo/build-vm
mkdir -p "$build"
exec 8>"$build/.lock"
flock 8

if [[ ! -f $build/build.ninja ]]; then
	meson setup "$build" "$repo" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
		-Dman=disabled >/dev/null
fi
meson compile -C "$build" >/dev/null
rm -rf "$build/root"
meson install -C "$build" --destdir "$build/root" --quiet >/dev/null
echo "install-root: $(find "$build/root" \( -type f -o -type l \) | wc -l) files in $build/root" >&2
