#!/usr/bin/env python3
"""The host's side of the embedding tests, on 127.0.0.1 (standard library only).

  hostsrv.py --root DIR --name NAME --addr A.B.C.D --ready FILE

    HTTP  GET /<file> serves DIR/<file> (Content-Length set, then close).
    UDP   echo: each datagram back to its sender unchanged.
    DNS   (UDP) the upstream resolver: an A query for NAME is answered with
          A.B.C.D (TTL 60), any other query NXDOMAIN, ID, question and RD
          kept.

Every socket is bound to an ephemeral port of 127.0.0.1; once all are,
FILE is written with "http=P udp=P dns=P". Serves until stdin closes or
SIGTERM, at most 600 s. Prints one line per DNS query and UDP datagram.
"""
import argparse
import functools
import http.server
import os
import signal
import socket
import struct
import sys
import threading


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass


def udp_echo(sock):
    while True:
        data, peer = sock.recvfrom(65535)
        print(f"hostsrv: udp {len(data)} bytes from {peer[0]}:{peer[1]}", flush=True)
        sock.sendto(data, peer)


def dns_answer(query, name, addr):
    """The reply to one query, or None if it is not a query."""
    if len(query) < 17 or query[2] & 0x80:
        return None
    labels, i = [], 12
    while i < len(query) and query[i]:
        n = query[i]
        labels.append(query[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    if i + 5 > len(query):
        return None
    qtype, _ = struct.unpack("!HH", query[i + 1:i + 5])
    question = query[12:i + 5]
    asked = ".".join(labels).lower()
    flags = 0x8180 | (query[2] & 0x01) << 8          # QR, RD copied, RA
    if asked != name or qtype != 1:
        return query[:2] + struct.pack("!HHHHH", flags | 3, 1, 0, 0, 0) + question
    rr = struct.pack("!HHHIH", 0xc00c, 1, 1, 60, 4) + socket.inet_aton(addr)
    return query[:2] + struct.pack("!HHHHH", flags, 1, 1, 0, 0) + question + rr


def dns_serve(sock, name, addr):
    while True:
        query, peer = sock.recvfrom(4096)
        reply = dns_answer(query, name, addr)
        print(f"hostsrv: dns query from {peer[0]}:{peer[1]}, "
              f"{'answered' if reply else 'ignored'}", flush=True)
        if reply:
            sock.sendto(reply, peer)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=a.root))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.1", 0))
    for target, args in ((httpd.serve_forever, ()), (udp_echo, (udp,)),
                         (dns_serve, (dns, a.name.lower(), a.addr))):
        threading.Thread(target=target, args=args, daemon=True).start()

    tmp = a.ready + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"http={httpd.server_address[1]} udp={udp.getsockname()[1]} "
                f"dns={dns.getsockname()[1]}\n")
    os.rename(tmp, a.ready)

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.alarm(600)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
