#!/usr/bin/env python3
"""Bulk TCP transfers for bench/loss.sh (standard library only).

  lossxfer.py serve --addr A [--addr A...] --file F --port P --ready FILE
      TCP on A:P: the first byte a client sends picks the direction.
        'D' (down): the server sends F, then closes.
        'U' (up):   the server reads until EOF, then writes
                    "<sha256 hex> <bytes>\\n" and closes.
  lossxfer.py down|up --addr A --port P --file F [--timeout S]
      One transfer of F (up) or into a hash (down), checked against F's
      sha256. Prints "<seconds> <bytes> ok|bad" (seconds from connect() to
      the last byte or the server's verdict); exits 0 only if complete and
      equal. A timeout prints the bytes moved so far with "timeout".
"""
import argparse
import hashlib
import os
import socket
import sys
import threading
import time

CHUNK = 1 << 18


def file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                return h.hexdigest(), f.tell()
            h.update(b)


def serve_one(conn, path):
    with conn:
        conn.settimeout(300)
        try:
            what = conn.recv(1)
            if what == b"D":
                with open(path, "rb") as f:
                    conn.sendfile(f)
                conn.shutdown(socket.SHUT_WR)
                while conn.recv(CHUNK):
                    pass
            elif what == b"U":
                h, n = hashlib.sha256(), 0
                while True:
                    b = conn.recv(CHUNK)
                    if not b:
                        break
                    h.update(b)
                    n += len(b)
                conn.sendall(f"{h.hexdigest()} {n}\n".encode())
        except OSError:
            pass


def serve(args):
    socks = []
    for a in args.addr:
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a, args.port))
        s.listen(16)
        socks.append(s)
    with open(args.ready, "w"):
        pass

    def loop(s):
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve_one, args=(c, args.file), daemon=True).start()

    for s in socks[1:]:
        threading.Thread(target=loop, args=(s,), daemon=True).start()
    loop(socks[0])


def client(args):
    want_sha, size = file_sha(args.file)
    fam = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    deadline = time.monotonic() + args.timeout
    moved = 0
    verdict = "bad"
    t0 = time.monotonic()
    try:
        s = socket.create_connection((args.addr, args.port), timeout=10)
        s.settimeout(max(0.1, deadline - time.monotonic()))
        if args.cmd == "down":
            s.sendall(b"D")
            h = hashlib.sha256()
            buf = bytearray(CHUNK)
            while True:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                n = s.recv_into(buf)
                if not n:
                    break
                h.update(memoryview(buf)[:n])
                moved += n
            verdict = "ok" if (h.hexdigest(), moved) == (want_sha, size) else "bad"
        else:
            s.sendall(b"U")
            with open(args.file, "rb") as f:
                while True:
                    b = f.read(CHUNK)
                    if not b:
                        break
                    s.settimeout(max(0.01, deadline - time.monotonic()))
                    s.sendall(b)
                    moved += len(b)
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while not reply.endswith(b"\n"):
                s.settimeout(max(0.01, deadline - time.monotonic()))
                b = s.recv(256)
                if not b:
                    break
                reply += b
            verdict = "ok" if reply.decode().split() == [want_sha, str(size)] else "bad"
        s.close()
    except socket.timeout:
        verdict = "timeout"
    except OSError as e:
        verdict = "error:" + e.__class__.__name__
    print(f"{time.monotonic() - t0:.2f} {moved} {verdict}")
    return 0 if verdict == "ok" else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=("serve", "down", "up"))
    ap.add_argument("--addr", action="append", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--ready")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    if args.cmd == "serve":
        return serve(args)
    args.addr = args.addr[0]
    return client(args)


if __name__ == "__main__":
    sys.exit(main())
