#!/usr/bin/env python3
"""A canary for the policy bypass suite (runs in the HOST namespace).

  canary.py --port P --log FILE --ready FILE

Listens on every address of the host side: TCP and UDP on 0.0.0.0:P and
[::]:P, and UDP on 127.0.0.1:53 and [::1]:53 (a stand-in for a host's
loopback resolver). Every connection accepted and every datagram received
is written to FILE as one line, "tcp|udp PEER -> LOCAL", and answered
(a TCP connection is closed, a datagram is echoed) so nothing hangs. FILE
stays empty as long as no guest packet reached the host's own services.
"""
import argparse
import os
import signal
import socket
import sys
import threading

lock = threading.Lock()


def note(log, proto, peer, local):
    with lock:
        log.write(f"{proto} {peer[0]}:{peer[1]} -> {local[0]}:{local[1]}\n")
        log.flush()


def tcp_loop(sock, log):
    while True:
        c, peer = sock.accept()
        note(log, "tcp", peer, c.getsockname())
        c.close()


def udp_loop(sock, log):
    while True:
        data, peer = sock.recvfrom(65535)
        note(log, "udp", peer, sock.getsockname())
        sock.sendto(data, peer)


def bind(family, kind, addr, port):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    if kind == socket.SOCK_STREAM:
        s.listen(64)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    log = open(a.log, "a")
    socks = [
        (bind(socket.AF_INET, socket.SOCK_STREAM, "0.0.0.0", a.port), tcp_loop),
        (bind(socket.AF_INET6, socket.SOCK_STREAM, "::", a.port), tcp_loop),
        (bind(socket.AF_INET, socket.SOCK_DGRAM, "0.0.0.0", a.port), udp_loop),
        (bind(socket.AF_INET6, socket.SOCK_DGRAM, "::", a.port), udp_loop),
        (bind(socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1", 53), udp_loop),
        (bind(socket.AF_INET6, socket.SOCK_DGRAM, "::1", 53), udp_loop),
    ]
    for s, fn in socks:
        threading.Thread(target=fn, args=(s, log), daemon=True).start()
    with open(a.ready + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(a.ready + ".tmp", a.ready)
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
