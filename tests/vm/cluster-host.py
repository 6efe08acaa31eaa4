#!/usr/bin/env python3
"""Host side of the three-guest cluster run (tests/vm/run-cluster.sh).

    cluster-host.py SOCKET_DIR CONTROL_DIR GUEST...

The network: each guest's NIC is `-netdev dgram` bound to SOCKET_DIR/GUEST.sock and sending to
SOCKET_DIR/hub.sock. This hub passes every Ethernet frame it receives from one guest to the
others (a repeater: three guests need no MAC learning). Frames never leave these unix
sockets: no host interface, no tap, no multicast. A guest that is gone (killed) just misses
its frames.

The guests' requests: a guest writes CONTROL_DIR/host/N.req, one line:
    kill GUEST    QMP "quit" to GUEST's QEMU (SOCKET_DIR/GUEST.qmp): a hard power cut, no
                  shutdown in the guest
and waits for CONTROL_DIR/host/N.done: "ok" or "error: ...". Runs until killed.
"""
import json
import os
import select
import socket
import sys
import time


def qmp_quit(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        f = s.makefile("rwb")
        f.readline()  # greeting
        for cmd in ("qmp_capabilities", "quit"):
            f.write(json.dumps({"execute": cmd}).encode() + b"\n")
            f.flush()
            while True:
                reply = json.loads(f.readline())
                if "error" in reply:
                    raise RuntimeError(reply["error"].get("desc", reply["error"]))
                if "return" in reply:
                    break


def serve_request(sock_dir, guests, req):
    words = req.split()
    if len(words) == 2 and words[0] == "kill" and words[1] in guests:
        qmp_quit(os.path.join(sock_dir, words[1] + ".qmp"))
        return "ok"
    return "error: unknown request " + req


def main():
    sock_dir, ctl_dir, guests = sys.argv[1], sys.argv[2], sys.argv[3:]
    req_dir = os.path.join(ctl_dir, "host")
    os.makedirs(req_dir, exist_ok=True)
    hub = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    hub.bind(os.path.join(sock_dir, "hub.sock"))
    peers = {os.path.join(sock_dir, g + ".sock") for g in guests}
    served = 0
    while True:
        ready, _, _ = select.select([hub], [], [], 0.1)
        if ready:
            frame, sender = hub.recvfrom(65536)
            for peer in peers - {sender}:
                try:
                    hub.sendto(frame, peer)
                except OSError:
                    pass  # not started yet, or killed
        # Requests are numbered from 1 and served in order.
        req_path = os.path.join(req_dir, f"{served + 1}.req")
        if os.path.exists(req_path):
            with open(req_path) as f:
                req = f.read().strip()
            try:
                answer = serve_request(sock_dir, guests, req)
            except Exception as e:  # the guest gets the reason, the hub keeps running
                answer = f"error: {e}"
            print(f"cluster-host: {time.strftime('%H:%M:%S')} {req}: {answer}", file=sys.stderr)
            tmp = os.path.join(req_dir, f".{served + 1}.done")
            with open(tmp, "w") as f:
                f.write(answer + "\n")
            os.rename(tmp, os.path.join(req_dir, f"{served + 1}.done"))
            served += 1


if __name__ == "__main__":
    main()
