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
  guest.py udp-refused ADDR PORT
      Connected UDP socket (IPv4 or IPv6 by ADDR): send one datagram; recv()
      must fail with ECONNREFUSED within 2 s.
  guest.py ra IFACE
      Send a router solicitation on IFACE (raw ICMPv6 socket) and print the
      first router advertisement's hop limit, MTU, prefixes and RDNSS
      servers: "RA hoplimit=255 mtu=1500 prefix=fd00:2::/64 rdnss=fd00:2::2".
  guest.py dhcp6 IFACE
      Send a DHCPv6 INFORMATION-REQUEST on IFACE (RFC 8415, from port 546 to
      ff02::1:2) and print the reply's DNS servers: "DNS fd00:2::2".

  guest.py reload ADDR PORT HTTPPORT DIR
      The SIGHUP case: connect to ADDR:PORT (the sha-after-EOF server), send
      half of 1 MiB, create DIR/ready and wait (30 s at most) for
      DIR/reloaded, which the harness makes once sandnet reloaded a policy
      that denies ADDR; then send the rest, half-close and check the digest
      (the established connection went on), and connect to ADDR:HTTPPORT
      afresh: it must be refused within 1 s (the new policy holds).

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


def ra(iface):
    idx = socket.if_nametoindex(iface)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    s.settimeout(1)
    # type 133, code 0, checksum (the kernel fills it in), reserved
    rs = bytes([133, 0, 0, 0, 0, 0, 0, 0])
    end = time.monotonic() + 10
    next_rs = 0.0
    while time.monotonic() < end:
        if time.monotonic() >= next_rs:
            s.sendto(rs, ("ff02::2", 0, 0, idx))
            next_rs = time.monotonic() + 4
        try:
            msg, anc, _, src = s.recvmsg(65535, socket.CMSG_SPACE(4))
        except socket.timeout:
            continue
        if len(msg) < 16 or msg[0] != 134:
            continue
        hop = -1
        for level, typ, data in anc:
            if level == socket.IPPROTO_IPV6 and typ == socket.IPV6_HOPLIMIT:
                hop = int.from_bytes(data[:4], sys.byteorder)
        out = [f"RA from={src[0]} hoplimit={hop} mflag={msg[5] >> 7} oflag={(msg[5] >> 6) & 1}"]
        off = 16
        while off + 2 <= len(msg) and msg[off + 1]:
            t, ln = msg[off], msg[off + 1] * 8
            o = msg[off:off + ln]
            if t == 5 and ln == 8:
                out.append(f"mtu={int.from_bytes(o[4:8], 'big')}")
            elif t == 3 and ln == 32:
                out.append(f"prefix={socket.inet_ntop(socket.AF_INET6, o[16:32])}/{o[2]}")
            elif t == 25 and ln >= 24:
                for a in range(8, ln, 16):
                    out.append(f"rdnss={socket.inet_ntop(socket.AF_INET6, o[a:a + 16])}")
            off += ln
        print(" ".join(out))
        return 0
    print("no router advertisement within 10 s")
    return 1


def dhcp6(iface):
    idx = socket.if_nametoindex(iface)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.bind(("::", 546))
    s.settimeout(2)
    xid = os.urandom(3)
    duid = bytes([0, 3, 0, 1]) + os.urandom(6)  # DUID-LL of a made-up MAC
    msg = bytes([11]) + xid  # INFORMATION-REQUEST
    msg += (1).to_bytes(2, "big") + len(duid).to_bytes(2, "big") + duid  # CLIENTID
    msg += (6).to_bytes(2, "big") + (2).to_bytes(2, "big") + (23).to_bytes(2, "big")  # ORO
    msg += (8).to_bytes(2, "big") + (2).to_bytes(2, "big") + b"\0\0"  # ELAPSED_TIME
    for _ in range(4):
        s.sendto(msg, ("ff02::1:2", 547, 0, idx))
        try:
            while True:
                rep, _ = s.recvfrom(65535)
                if len(rep) >= 4 and rep[0] == 7 and rep[1:4] == xid:
                    break
        except socket.timeout:
            continue
        off, dns, cid = 4, [], None
        while off + 4 <= len(rep):
            code = int.from_bytes(rep[off:off + 2], "big")
            ln = int.from_bytes(rep[off + 2:off + 4], "big")
            val = rep[off + 4:off + 4 + ln]
            if code == 23:
                dns += [socket.inet_ntop(socket.AF_INET6, val[a:a + 16]) for a in range(0, ln - 15, 16)]
            elif code == 1:
                cid = val
            off += 4 + ln
        if cid != duid:
            print("reply without our CLIENTID")
            return 1
        print("DNS " + " ".join(dns))
        return 0
    print("no DHCPv6 reply")
    return 1


def udp_refused(addr, port):
    """Connected UDP socket: one datagram, then recv() must fail with
    ECONNREFUSED (the ICMP port unreachable sandnet relays) within 2 s."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.settimeout(2)
    t = time.monotonic()
    s.send(b"anyone there?")
    try:
        s.recv(100)
        print("got a reply instead of ECONNREFUSED")
        return 1
    except ConnectionRefusedError:
        print("refused after %d ms" % ((time.monotonic() - t) * 1000))
        return 0
    except socket.timeout:
        print("no ECONNREFUSED within 2 s")
        return 1


def reload(addr, port, http_port, d):
    payload = os.urandom(1 << 20)
    want = f"{hashlib.sha256(payload).hexdigest()} {len(payload)}\n".encode()
    s = socket.create_connection((addr, port), timeout=10)
    s.settimeout(20)
    s.sendall(payload[: len(payload) // 2])
    open(os.path.join(d, "ready"), "w").close()
    for _ in range(300):
        if os.path.exists(os.path.join(d, "reloaded")):
            break
        time.sleep(0.1)
    else:
        print("the harness never said the policy was reloaded")
        return 1
    s.sendall(payload[len(payload) // 2:])
    s.shutdown(socket.SHUT_WR)
    got = recv_all(s)
    s.close()
    if got != want:
        print(f"the established connection broke: {got[:100]!r}")
        return 1
    t = time.monotonic()
    try:
        socket.create_connection((addr, http_port), timeout=5).close()
    except ConnectionRefusedError:
        ms = (time.monotonic() - t) * 1000
        if ms >= 1000:
            print(f"a new connection was refused after {ms:.0f} ms")
            return 1
        print(f"OK established connection went on; a new one refused in {ms:.0f} ms")
        return 0
    print("a new connection was allowed after the reload")
    return 1


def main(argv):
    if len(argv) == 4 and argv[0] == "halfclose":
        return halfclose(argv[1], int(argv[2]), int(argv[3]))
    if len(argv) == 5 and argv[0] == "concurrent":
        return concurrent(argv[1], int(argv[2]), int(argv[3]), argv[4])
    if len(argv) == 3 and argv[0] == "udp-refused":
        return udp_refused(argv[1], int(argv[2]))
    if len(argv) == 2 and argv[0] == "ra":
        return ra(argv[1])
    if len(argv) == 2 and argv[0] == "dhcp6":
        return dhcp6(argv[1])
    if len(argv) == 5 and argv[0] == "reload":
        return reload(argv[1], int(argv[2]), int(argv[3]), argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # one line for the harness, not a traceback
        print(f"{type(e).__name__}: {e}")
        sys.exit(1)
