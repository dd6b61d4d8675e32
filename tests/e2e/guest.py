#!/usr/bin/env python3
"""Clients run inside the guest by the sandnet end-to-end tests.

  guest.py halfclose  ADDR PORT NBYTES
      Connect, send NBYTES random bytes, shutdown(SHUT_WR), then read the
      server's reply until EOF; it must be "<sha256> <NBYTES>" of what was
      sent.
  guest.py concurrent ADDR PORT N TOKEN
      Open N connections, wait until all N are established at once (a
      barrier), then send one HTTP/1.0 GET /n/<i> on each; every reply must
      be 200 with body "conn <i> TOKEN".

Prints one line (OK ... / an error) and exits 0 only on success.
"""
import hashlib
import os
import socket
import sys
import threading
import time


def recv_all(s):
    chunks = []
    while True:
        data = s.recv(1 << 16)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def halfclose(addr, port, nbytes):
    payload = os.urandom(nbytes)
    want = f"{hashlib.sha256(payload).hexdigest()} {nbytes}\n".encode()
    s = socket.create_connection((addr, port), timeout=10)
    s.settimeout(20)
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    got = recv_all(s)
    s.close()
    if got != want:
        print(f"reply after SHUT_WR was {got[:100]!r}, want {want!r}")
        return 1
    print(f"OK {nbytes} bytes sent, digest returned after half-close")
    return 0


def concurrent(addr, port, n, token):
    barrier = threading.Barrier(n, timeout=30)
    errors = [None] * n
    ok = [False] * n

    def worker(i):
        s = None
        try:
            s = socket.create_connection((addr, port), timeout=20)
        except OSError as e:
            errors[i] = f"connect: {e!r}"
            barrier.abort()
            return
        try:
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                errors[i] = "not all connections were up at once"
                return
            s.settimeout(30)
            s.sendall(f"GET /n/{i} HTTP/1.0\r\nHost: {addr}\r\n\r\n".encode())
            resp = recv_all(s)
            head, _, body = resp.partition(b"\r\n\r\n")
            want = f"conn {i} {token}\n".encode()
            if not head.startswith(b"HTTP/1.1 200") or body != want:
                errors[i] = f"bad reply {resp[:80]!r}"
                return
            ok[i] = True
        except OSError as e:
            errors[i] = f"{e!r}"
        finally:
            s.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    good = sum(ok)
    errs = [f"#{i}: {e}" for i, e in enumerate(errors) if e]
    dt = time.monotonic() - t0
    if good != n:
        print(f"{good}/{n} succeeded in {dt:.1f}s; first errors: " + "; ".join(errs[:3]))
        return 1
    print(f"OK {good}/{n} concurrent connections in {dt:.1f}s")
    return 0


def main(argv):
    if len(argv) == 4 and argv[0] == "halfclose":
        return halfclose(argv[1], int(argv[2]), int(argv[3]))
    if len(argv) == 5 and argv[0] == "concurrent":
        return concurrent(argv[1], int(argv[2]), int(argv[3]), argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # one line for the harness, not a traceback
        print(f"{type(e).__name__}: {e}")
        sys.exit(1)
