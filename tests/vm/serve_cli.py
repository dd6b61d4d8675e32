#!/usr/bin/env python3
"""sandnet serve's command line, without a VM or root (stdlib only).

  serve_cli.py SANDNET

The guest is this script: it speaks ARP to the gateway over each kind of
link and expects the gateway's answer (02:73:6e:00:00:01 is at 10.0.2.2).
  fd-stream     --fd N (a stream socketpair, QEMU's framing), --pid-file,
                --ready-fd; the guest closing its end ends serve (exit 0)
  fd-dgram      --fd N (a datagram socketpair), vfkit's greeting first
  socket-one-off --socket PATH --one-off: the path exists once --ready-fd
                has its byte; one guest, then exit 0 and the path removed
  socket-next   --socket PATH: a second guest is served after the first
                left, and a bad length closes that guest's link
  dgram-peer    --dgram PATH: the peer learnt from its first datagram
  options       run's options apply: --publish is listening once ready,
                SIGHUP re-reads --policy FILE, SIGTERM exits 0
  pcap          --pcap FILE: two guests' ARP exchanges in one file, the
                first on disk while serve still runs (the flush timer),
                nanosecond pcap, read back by tshark -r; an unwritable FILE
                exits 1 with one line
  usage         bad flags and values exit 2 naming the flag
Prints "PASS name" / "FAIL name: why", then "N passed, N failed".
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

GW_MAC = bytes.fromhex("02736e000001")
GUEST_MAC = bytes.fromhex("525400123456")
TIMEOUT = 10


def arp_request():
    """An ARP who-has 10.0.2.2 from the guest, broadcast."""
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + GUEST_MAC + socket.inet_aton("10.0.2.15") \
        + bytes(6) + socket.inet_aton("10.0.2.2")
    return b"\xff" * 6 + GUEST_MAC + b"\x08\x06" + arp


def is_arp_reply(frame):
    return (len(frame) >= 42 and frame[12:14] == b"\x08\x06" and frame[20:22] == b"\x00\x02"
            and frame[22:28] == GW_MAC and frame[28:32] == socket.inet_aton("10.0.2.2"))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("link closed")
        buf += chunk
    return buf


def stream_arp(s):
    """Send an ARP request with QEMU's framing; wait for the reply."""
    f = arp_request()
    s.sendall(struct.pack("!I", len(f)) + f)
    s.settimeout(TIMEOUT)
    for _ in range(20):
        n = struct.unpack("!I", recv_exact(s, 4))[0]
        if is_arp_reply(recv_exact(s, n)):
            return True
    return False


def dgram_arp(s, dest=None):
    f = arp_request()
    if dest:
        s.sendto(f, dest)
    else:
        s.send(f)
    s.settimeout(TIMEOUT)
    for _ in range(20):
        if is_arp_reply(s.recv(70000)):
            return True
    return False


class Serve:
    """sandnet serve with a ready pipe; args may name fds to pass."""

    def __init__(self, sandnet, args, pass_fds=()):
        self.rfd, wfd = os.pipe()
        self.p = subprocess.Popen([sandnet, "serve", "--ready-fd", str(wfd)] + args,
                                  pass_fds=tuple(pass_fds) + (wfd,), stdin=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        os.close(wfd)

    def ready(self):
        with os.fdopen(self.rfd, "rb") as r:
            return r.read(1) == b"R"

    def wait(self):
        try:
            self.p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None, "still running"
        return self.p.returncode, self.p.stderr.read()


def terminate(s, why):
    """SIGTERM serve: (the first failure, why or serve's exit status, or None; its log)."""
    s.p.terminate()
    rc, err = s.wait()
    if not why and rc != 0:
        why = f"exit {rc}: {err}"
    return why, err


def case_fd_stream(sandnet, tmp):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid_file = os.path.join(tmp, "serve.pid")
    s = Serve(sandnet, ["--fd", str(b.fileno()), "--pid-file", pid_file], [b.fileno()])
    b.close()
    if not s.ready():
        return "no ready byte"
    with open(pid_file) as f:
        if int(f.read()) != s.p.pid:
            return "pid file does not hold serve's pid"
    if not stream_arp(a):
        return "no ARP reply"
    a.close()
    rc, err = s.wait()
    if rc != 0:
        return f"exit {rc} after the guest closed: {err}"
    if os.path.exists(pid_file):
        return "pid file left behind"
    return None


def case_fd_dgram(sandnet, tmp):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    s = Serve(sandnet, ["--fd", str(b.fileno()), "--fd-type", "dgram"], [b.fileno()])
    b.close()
    if not s.ready():
        return "no ready byte"
    a.send(b"VFKT")
    ok = dgram_arp(a)
    s.p.terminate()
    rc, err = s.wait()
    if not ok:
        return "no ARP reply"
    return None if rc == 0 else f"exit {rc} after SIGTERM: {err}"


def case_socket_one_off(sandnet, tmp):
    path = os.path.join(tmp, "one.sock")
    s = Serve(sandnet, ["--socket", path, "--one-off"])
    if not s.ready():
        return "no ready byte"
    if not os.path.exists(path):
        return "ready, but no socket at the path"
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    ok = stream_arp(c)
    c.close()
    rc, err = s.wait()
    if not ok:
        return "no ARP reply"
    if rc != 0:
        return f"exit {rc}: {err}"
    return "socket left behind" if os.path.exists(path) else None


def case_socket_next(sandnet, tmp):
    path = os.path.join(tmp, "next.sock")
    s = Serve(sandnet, ["--socket", path, "-v"])
    if not s.ready():
        return "no ready byte"
    why = None
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    c.sendall(struct.pack("!I", 0))          # bad framing: the link closes
    c.settimeout(TIMEOUT)
    try:
        if c.recv(100) != b"":
            why = "data instead of the link closed after length 0"
    except OSError as e:
        why = f"link not closed after length 0: {e}"
    c.close()
    for _ in range(2):                       # the next guests are served
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        if not stream_arp(c):
            why = why or "no ARP reply for a later guest"
        c.close()
    why, err = terminate(s, why)
    if why:
        return why
    if err.count("bad frame length 0") != 1:
        return f"not one log line for the bad length: {err}"
    if err.count("engine reset for the next guest") != 3:
        return f"not three resets: {err}"
    return None


def case_dgram_peer(sandnet, tmp):
    path = os.path.join(tmp, "d.sock")
    s = Serve(sandnet, ["--dgram", path])
    if not s.ready():
        return "no ready byte"
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    c.bind(os.path.join(tmp, "vm.sock"))
    ok = dgram_arp(c, path)
    s.p.terminate()
    rc, err = s.wait()
    if not ok:
        return "no ARP reply at the sender's address"
    return None if rc == 0 else f"exit {rc}: {err}"


def case_options(sandnet, tmp):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    policy = os.path.join(tmp, "policy.json")
    with open(policy, "w") as f:
        f.write('{"rules": [{"destination": "192.0.2.0/24", "action": "deny"}]}\n')
    s = Serve(sandnet, ["--fd", str(b.fileno()), "--publish", f"127.0.0.1:{port}:80",
                        "--policy", policy, "--mtu", "9000"], [b.fileno()])
    b.close()
    if not s.ready():
        return "no ready byte"
    c = socket.socket()
    c.settimeout(TIMEOUT)
    try:
        c.connect(("127.0.0.1", port))   # the published port listens already
    except OSError as e:
        return f"--publish port not listening once ready: {e}"
    finally:
        c.close()
    if not stream_arp(a):
        return "no ARP reply"
    s.p.send_signal(1)                   # SIGHUP
    if not stream_arp(a):                # still serving
        return "no ARP reply after SIGHUP"
    s.p.terminate()
    rc, err = s.wait()
    a.close()
    if rc != 0:
        return f"exit {rc}: {err}"
    if "policy reloaded from " + policy not in err:
        return f"SIGHUP did not reload the policy: {err}"
    return None


def pcap_frames(path):
    """The frames of a nanosecond pcap file (host byte order), or a reason."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24 or struct.unpack("=I", data[:4])[0] != 0xa1b23c4d:
        return f"not a nanosecond pcap file ({len(data)} bytes)"
    frames, off = [], 24
    while off + 16 <= len(data):
        _, nsec, caplen, wirelen = struct.unpack("=IIII", data[off:off + 16])
        if nsec >= 10**9 or caplen != wirelen:
            return f"bad record header at {off}"
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames if off == len(data) else f"{len(data) - off} bytes of a partial record"


def case_pcap(sandnet, tmp):
    if not shutil.which("tshark"):
        return "tshark not found (apt-get install tshark)"
    path, cap = os.path.join(tmp, "p.sock"), os.path.join(tmp, "cap.pcap")
    s = Serve(sandnet, ["--socket", path, "--pcap", cap])
    if not s.ready():
        return "no ready byte"
    why = None
    for guest in range(2):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        if not stream_arp(c):
            why = why or f"no ARP reply for guest {guest + 1}"
        c.close()
        if guest == 0:                       # flushed within 100 ms, serve still running
            time.sleep(0.5)
            frames = pcap_frames(cap)
            if isinstance(frames, str) or arp_request() not in frames or \
                    not any(is_arp_reply(f) for f in frames):
                why = why or f"the first guest's ARP not on disk while serving: {frames}"
    why, _ = terminate(s, why)
    if why:
        return why
    frames = pcap_frames(cap)
    if isinstance(frames, str):
        return frames
    if frames.count(arp_request()) != 2 or sum(map(is_arp_reply, frames)) < 2:
        return f"not two ARP exchanges in {len(frames)} frames"
    p = subprocess.run(["tshark", "-r", cap, "-Y", "arp.opcode == 2 && arp.src.proto_ipv4 == 10.0.2.2",
                        "-T", "fields", "-e", "frame.number"], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0 or len(p.stdout.split()) < 2:
        return f"tshark -r: exit {p.returncode}, {p.stdout!r} {p.stderr.strip()[-200:]!r}"
    bad = os.path.join(tmp, "no", "such", "dir", "cap.pcap")
    p = subprocess.run([sandnet, "serve", "--socket", path, "--pcap", bad], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=TIMEOUT)
    if p.returncode != 1 or p.stderr.count("\n") != 1 or f"--pcap {bad}: " not in p.stderr:
        return f"unwritable --pcap: exit {p.returncode}, {p.stderr.strip()!r} (want 1, one line)"
    return None


def case_usage(sandnet, tmp):
    sock = os.path.join(tmp, "u.sock")
    cases = [(["--socket"], "--socket"), (["--fd", "x"], "--fd"), (["--fd", "999"], "--fd"),
             (["--fd-type", "raw", "--fd", "0"], "--fd-type"), (["--bogus"], "--bogus"),
             (["--socket", "/x", "--dgram", "/y"], "only one"), ([], "missing one"),
             (["--socket", "x" * 200], "--socket"), (["--mtu", "1"], "--mtu"),
             (["--socket", sock, "--pcap", "x", "--pcap-max-size", "2P"], "--pcap-max-size"),
             (["--socket", sock, "--pcap-max-size", "1M"], "--pcap-max-size"),
             (["--socket", sock, "--pcap", ""], "--pcap")]
    for args, want in cases:
        p = subprocess.run([sandnet, "serve"] + args, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=TIMEOUT)
        if p.returncode != 2 or want not in p.stderr:
            return f"{args}: exit {p.returncode}, {p.stderr.strip()!r} (want 2 naming {want})"
    p = subprocess.run([sandnet, "serve", "--help"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    if p.returncode != 0 or "--socket PATH" not in p.stdout:
        return "--help"
    return None


def main():
    sandnet = os.path.abspath(sys.argv[1])
    cases = [("fd-stream", case_fd_stream), ("fd-dgram", case_fd_dgram),
             ("socket-one-off", case_socket_one_off), ("socket-next", case_socket_next),
             ("dgram-peer", case_dgram_peer), ("options", case_options), ("pcap", case_pcap),
             ("usage", case_usage)]
    passed = failed = 0
    for name, fn in cases:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                why = fn(sandnet, tmp)
            except Exception as e:  # a broken case fails, the others still run
                why = f"{type(e).__name__}: {e}"
        if why:
            print(f"FAIL {name}: {why}")
            failed += 1
        else:
            print(f"PASS {name}")
            passed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
