#!/usr/bin/env python3
"""Host side of disk hotplug for the VM tests (run-vm.sh --hotplug).

    hotplug.py QMP_SOCKET REQUEST_DIR DISK_DIR

The guest (guest/lib.sh hotplug_add / hotplug_del) writes a request REQUEST_DIR/N.req,
one line:
    add SERIAL SIZE   a sparse raw disk DISK_DIR/hp-SERIAL.raw (kept across re-adds, so a
                      re-plugged disk is the same disk) as virtio-blk-pci serial=SERIAL,
                      which the guest sees as /dev/disk/by-id/virtio-SERIAL
    del SERIAL        device_del, waits for the guest to release it (DEVICE_DELETED), then
                      blockdev-del
    power-cut         (run-vm.sh --power-cut) QMP `quit` at once: the guest gets no
                      shutdown and loses what only its memory held. Answered after QEMU is
                      gone, with REQUEST_DIR/power-cut-K (the K-th cut) for run-vm.sh, which
                      boots the guest again; the next hotplug.py goes on at the next N.
and waits for REQUEST_DIR/N.done: "ok" or "error: ...". Requests are served in order.
Runs until QEMU closes the QMP socket.
"""
import json
import os
import socket
import sys
import time


class Qmp:
    def __init__(self, path):
        deadline = time.monotonic() + 120
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.buf = b""
        self.events = []
        self.read()  # greeting
        self.execute("qmp_capabilities")

    def read(self, timeout=None):
        """One JSON message; socket.timeout when none comes within timeout seconds.
        Our own buffer, not makefile(): a timed-out file object cannot be read again."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buf:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout()
                self.sock.settimeout(left)
            else:
                self.sock.settimeout(None)
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("QMP socket closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.settimeout(None)
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self.read()
            if "event" in reply:
                self.events.append(reply)
            elif "error" in reply:
                raise RuntimeError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            elif "return" in reply:
                return reply["return"]

    def wait_event(self, name, device, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e["event"] == name and e.get("data", {}).get("device") == device:
                    self.events.remove(e)
                    return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {name} for {device} within {timeout} s")
            try:
                self.events.append(self.read(left))
            except socket.timeout:
                pass


def serve(qmp, line, disk_dir):
    words = line.split()
    if len(words) == 3 and words[0] == "add":
        serial, size = words[1], words[2]
        path = os.path.join(disk_dir, f"hp-{serial}.raw")
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.truncate(int(size))
        qmp.execute("blockdev-add", **{"node-name": f"hp-{serial}", "driver": "raw",
                                       "file": {"driver": "file", "filename": path}})
        qmp.execute("device_add", driver="virtio-blk-pci", drive=f"hp-{serial}",
                    serial=serial, id=f"hp-{serial}")
    elif len(words) == 2 and words[0] == "del":
        serial = words[1]
        qmp.execute("device_del", id=f"hp-{serial}")
        qmp.wait_event("DEVICE_DELETED", f"hp-{serial}", 60)
        qmp.execute("blockdev-del", **{"node-name": f"hp-{serial}"})
    elif words == ["power-cut"]:
        try:
            qmp.execute("quit")
            while True:  # until QEMU has closed the socket: then it is gone
                qmp.read()
        except (EOFError, OSError):  # closed, or reset by a QEMU gone mid-reply
            pass
        raise PowerCut()
    else:
        raise ValueError(f"bad request {line!r}")


class PowerCut(Exception):
    pass


def answer(req_dir, n, text):
    tmp = os.path.join(req_dir, f".{n}.done")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, os.path.join(req_dir, f"{n}.done"))


def main():
    sock_path, req_dir, disk_dir = sys.argv[1:4]
    os.makedirs(req_dir, exist_ok=True)
    qmp = Qmp(sock_path)
    n = 1
    while os.path.exists(os.path.join(req_dir, f"{n}.done")):  # served before a power cut
        n += 1
    while True:
        req = os.path.join(req_dir, f"{n}.req")
        if not os.path.exists(req):
            # Notice QEMU going away between requests too.
            try:
                qmp.events.append(qmp.read(0.05))
            except socket.timeout:
                pass
            continue
        with open(req) as f:
            line = f.read().strip()
        t0 = time.monotonic()
        try:
            serve(qmp, line, disk_dir)
            result = "ok"
        except EOFError:
            raise
        except PowerCut:
            cuts = 1
            while os.path.exists(os.path.join(req_dir, f"power-cut-{cuts}")):
                cuts += 1
            open(os.path.join(req_dir, f"power-cut-{cuts}"), "w").close()
            answer(req_dir, n, "ok")
            print(f"hotplug: power cut {cuts}: QEMU quit ({time.monotonic() - t0:.2f} s)",
                  file=sys.stderr)
            return
        except Exception as e:  # reported to the guest, which fails its check
            result = f"error: {e}"
        print(f"hotplug: {line}: {result} ({time.monotonic() - t0:.2f} s)", file=sys.stderr)
        answer(req_dir, n, result)
        n += 1


if __name__ == "__main__":
    try:
        main()
    except EOFError:
        pass
