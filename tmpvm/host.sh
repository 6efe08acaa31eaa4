#!/bin/bash
# Drives QMP from the host when the guest prints its markers.
cd /work/wt-daemon
sock=/tmp/tm-qmp.sock
img=/tmp/hot1.img
truncate -s 64M $img
rm -f $sock
qmp() { python3 - "$sock" "$1" <<'P'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')
f.readline(); f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n"); f.flush(); f.readline()
for cmd in json.loads(sys.argv[2]):
    f.write(json.dumps(cmd) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            print("qmp:", cmd["execute"], r); break
P
}
CYCLES=${CYCLES:-3}
bash tests/vm/run-vm.sh tmpvm/hotplug.sh --qmp $sock --timeout 600 --out /tmp/tmvm-out 2>&1 | while IFS= read -r line; do
	echo "$line"
	case $line in
	*HOTPLUG-ADD*) qmp '[{"execute":"blockdev-add","arguments":{"node-name":"hp0","driver":"raw","file":{"driver":"file","filename":"'$img'"}}},{"execute":"device_add","arguments":{"driver":"virtio-blk-pci","drive":"hp0","serial":"HOT1","id":"hp"}}]' ;;
	*HOTPLUG-DEL*) qmp '[{"execute":"device_del","arguments":{"id":"hp"}}]'; sleep 4; qmp '[{"execute":"blockdev-del","arguments":{"node-name":"hp0"}}]' ;;
	esac
done
