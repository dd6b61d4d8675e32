#!/usr/bin/env python3
"""Servers for the sandnet VM test, in the stand-in internet (stdlib only).

  vmservers.py --addr A --file FILE --ready READY [--bench-bytes N]

  TCP A:9100  sends FILE on connect, then closes (the guest's busybox nc
              saves it; its wget crashes there)
  TCP A:9101  sends N bytes (default 64 MiB), then closes: throughput
  UDP A:69    TFTP read requests (RFC 1350, 512-byte blocks) for FILE,
              whatever name is asked; answered from port 69 itself, since
              a user-mode network's UDP session (sandnet's, passt's) is
              connected to the address and port the guest sent to
READY is written once every socket is bound. Runs until killed.
"""
import argparse
import socket
import struct
import threading


def tcp_server(addr, port, payload_fn):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)

    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=send_close, args=(c, payload_fn), daemon=True).start()
    return loop


def send_close(c, payload_fn):
    try:
        for chunk in payload_fn():
            c.sendall(chunk)
        c.shutdown(socket.SHUT_WR)
        c.settimeout(10)
        while c.recv(4096):  # until the guest closes too
            pass
    except OSError:
        pass
    finally:
        c.close()


def tftp_server(addr, data):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 69))

    def serve_one(peer):
        blocks = [data[i:i + 512] for i in range(0, len(data) + 1, 512)]
        s.settimeout(2)
        for n, blk in enumerate(blocks, 1):
            pkt = struct.pack("!HH", 3, n & 0xFFFF) + blk
            for _ in range(5):
                s.sendto(pkt, peer)
                try:
                    ack, frm = s.recvfrom(1024)
                except socket.timeout:
                    continue
                if frm == peer and ack[:4] == struct.pack("!HH", 4, n & 0xFFFF):
                    break
            else:
                break
        s.settimeout(None)

    def loop():
        while True:
            pkt, peer = s.recvfrom(1024)
            if pkt[:2] == b"\x00\x01":  # RRQ
                serve_one(peer)
    return loop


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--bench-bytes", type=int, default=64 << 20)
    a = ap.parse_args()
    with open(a.file, "rb") as f:
        data = f.read()
    zeros = bytes(1 << 16)

    def bench():
        left = a.bench_bytes
        while left > 0:
            yield zeros[:min(left, len(zeros))]
            left -= len(zeros)

    loops = [tcp_server(a.addr, 9100, lambda: [data]),
             tcp_server(a.addr, 9101, bench),
             tftp_server(a.addr, data)]
    with open(a.ready, "w") as f:
        f.write("ready\n")
    for fn in loops[1:]:
        threading.Thread(target=fn, daemon=True).start()
    loops[0]()


if __name__ == "__main__":
    main()
