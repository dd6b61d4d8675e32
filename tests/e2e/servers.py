#!/usr/bin/env python3
"""Servers for the sandnet end-to-end tests (standard library only).

  servers.py inet   --addr A [--addr6 A6] --root DIR --token T --ready FILE
      HTTP on A:80  GET /big, /medium (files in DIR), GET /n/<i> (a short
                    line naming <i> and T), GET /who (the client's address
                    and port), PUT/POST anything (replies
                    "<sha256 hex> <bytes>\n" of the body, streamed, plain or
                    chunked); threaded, deep accept queue.
      UDP  on A:7   echo, each datagram back unchanged.
      TCP  on A:9000 reads until EOF, then writes "<sha256 hex> <bytes>\n"
                    and closes (half-close test).
      UDP  on A:9009 answers every datagram with BIG_REPLY (9000 bytes,
                    byte i = (i * 7 + (i >> 8)) & 255): bigger than a guest MTU.
      With --addr6: HTTP on [A6]:80, UDP echo on [A6]:7 and the 9009
                    responder on [A6]:9009 as well.
      With --sink FILE: TCP on A:9001 (and [A6]:9001) reads each connection
                    until EOF, appends "<sha256 hex> <bytes>" to FILE, then
                    closes; a connection that fails appends "error:<what>
                    <bytes>" instead (the fire-and-forget upload cases).
  servers.py hostlo --addr A --port P --token T --ready FILE
      HTTP on A:P   GET / answers T (the host-loopback service).

Servers run inside the guest, behind a published port (one client each,
then they exit; IPv4 and IPv6 on a dual-stack [::]:P):
  servers.py pub-sink --port P --down FILE --ready FILE
      TCP: read until the client's EOF, then write "<sha256 hex> <bytes>\n"
      of what came, then FILE, then close (data after the client's
      half-close, then the guest's FIN).
  servers.py pub-udp --port P --count N --ready FILE
      UDP: echo N datagrams unchanged, then exit.
  servers.py pub-who --port P --count N --ready FILE
      TCP: write "<peer address> <peer port>\n" to each of N clients and
      close; an IPv4 peer is shown as IPv4, not ::ffff:a.b.c.d.
Each prints what it saw on stdout. With --done FILE a server exits only
once FILE exists (at most 60 s): `sandnet run` ends when its command does,
so a server that left right after its last write could take its last
bytes, still in flight, with it.

FILE is written once every socket is bound; the harness waits for it.
"""
import argparse
import hashlib
import http.server
import os
import signal
import socket
import socketserver
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # so that "Expect: 100-continue" is answered
    root = None
    token = ""

    def log_message(self, fmt, *args):
        pass

    def _reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_GET(self):
        if self.path == "/":
            return self._reply(200, (self.token + "\n").encode())
        if self.path.startswith("/n/"):
            return self._reply(200, f"conn {self.path[3:]} {self.token}\n".encode())
        if self.path == "/who":
            return self._reply(200, f"{peer_str(self.client_address)}\n".encode())
        name = self.path.lstrip("/")
        if self.root is None or name not in ("big", "medium"):
            return self._reply(404, b"not found\n")
        path = os.path.join(self.root, name)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(os.path.getsize(path)))
        self.send_header("Connection", "close")
        self.end_headers()
        with open(path, "rb") as f:
            while True:
                chunk = f.read(1 << 18)
                if not chunk:
                    break
                self.wfile.write(chunk)
        self.close_connection = True

    def _read_chunked(self, h):
        n = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ConnectionError("EOF in chunk header")
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return n
            left = size
            while left:
                data = self.rfile.read(min(left, 1 << 18))
                if not data:
                    raise ConnectionError("EOF in chunk")
                h.update(data)
                n += len(data)
                left -= len(data)
            self.rfile.readline(16)

    def do_PUT(self):
        h = hashlib.sha256()
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            n = self._read_chunked(h)
        else:
            left = int(self.headers.get("Content-Length", "0"))
            n = 0
            while left:
                data = self.rfile.read(min(left, 1 << 18))
                if not data:
                    return self._reply(400, b"short body\n")
                h.update(data)
                n += len(data)
                left -= len(data)
        self._reply(200, f"{h.hexdigest()} {n}\n".encode())

    do_POST = do_PUT


class HTTPServer(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
    allow_reuse_address = True
    daemon_threads = True


class HTTPServer6(HTTPServer):
    address_family = socket.AF_INET6


def sha_to_eof(sock, done):
    """Read sock until EOF; done["n"] counts the bytes as they come.
    Returns "<sha256 hex> <bytes>"."""
    h = hashlib.sha256()
    sock.settimeout(60)
    while True:
        data = sock.recv(1 << 18)
        if not data:
            return f"{h.hexdigest()} {done['n']}"
        h.update(data)
        done["n"] += len(data)


class ShaHandler(socketserver.BaseRequestHandler):
    def handle(self):
        line = sha_to_eof(self.request, {"n": 0})
        self.request.sendall(f"{line}\n".encode())


class SinkHandler(socketserver.BaseRequestHandler):
    """Read to EOF, record "<sha256> <bytes>" (or the error), then close:
    the line is in the file before the client side sees the close."""

    path = None
    lock = threading.Lock()

    def handle(self):
        done = {"n": 0}
        try:
            line = sha_to_eof(self.request, done)
        except OSError as e:
            line = f"error:{type(e).__name__} {done['n']}"
        with self.lock, open(self.path, "a") as f:
            f.write(line + "\n")


class TCPServer(socketserver.ThreadingTCPServer):
    request_queue_size = 256
    allow_reuse_address = True
    daemon_threads = True


class TCPServer6(TCPServer):
    address_family = socket.AF_INET6


def udp_echo(sock):
    while True:
        data, peer = sock.recvfrom(65535)
        sock.sendto(data, peer)


BIG_REPLY = bytes((i * 7 + (i >> 8)) & 255 for i in range(9000))


def udp_big(sock):
    while True:
        _, peer = sock.recvfrom(65535)
        sock.sendto(BIG_REPLY, peer)


def udp_thread(family, addr, port, fn):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((addr, port))
    threading.Thread(target=fn, args=(s,), daemon=True).start()


def serve(server):
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()


def pub_socket(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    return s


def peer_str(peer):
    addr = peer[0][7:] if peer[0].startswith("::ffff:") else peer[0]
    return f"{addr} {peer[1]}"


def wait_file(path):
    for _ in range(600):
        if not path or os.path.exists(path):
            return
        time.sleep(0.1)


def pub_serve(a, ready):
    try:
        return pub_serve_one(a, ready)
    finally:
        wait_file(a.done)


def pub_serve_one(a, ready):
    if a.what == "pub-udp":
        s = pub_socket(socket.SOCK_DGRAM, a.port)
        ready()
        for _ in range(a.count):
            data, peer = s.recvfrom(65535)
            s.sendto(data, peer)
            print(f"udp {len(data)} bytes from {peer_str(peer)}", flush=True)
        return 0
    s = pub_socket(socket.SOCK_STREAM, a.port)
    ready()
    for _ in range(a.count if a.what == "pub-who" else 1):
        c, peer = s.accept()
        c.settimeout(120)
        if a.what == "pub-who":
            c.sendall(f"{peer_str(peer)}\n".encode())
            c.close()
            print(f"who {peer_str(peer)}", flush=True)
            continue
        h, n = hashlib.sha256(), 0
        while True:
            data = c.recv(1 << 18)
            if not data:
                break
            h.update(data)
            n += len(data)
        c.sendall(f"{h.hexdigest()} {n}\n".encode())
        with open(a.down, "rb") as f:
            while True:
                chunk = f.read(1 << 18)
                if not chunk:
                    break
                c.sendall(chunk)
        c.close()
        print(f"sink {n} bytes from {peer_str(peer)}, sent {a.down}", flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("inet", "hostlo", "pub-sink", "pub-udp", "pub-who"))
    ap.add_argument("--addr")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--down", help="pub-sink: the file to send after the client's EOF")
    ap.add_argument("--done", help="pub-*: exit only once this file exists")
    ap.add_argument("--addr6", help="inet: also serve HTTP :80 and UDP echo :7 here")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--root")
    ap.add_argument("--token", default="")
    ap.add_argument("--sink", help="inet: TCP :9001 records each connection's sha256 here")
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    def ready():
        with open(a.ready + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.rename(a.ready + ".tmp", a.ready)

    if a.what.startswith("pub-"):
        return pub_serve(a, ready)
    if not a.addr:
        ap.error(f"{a.what} needs --addr")
    Handler.root = a.root
    Handler.token = a.token
    if a.what == "inet":
        serve(HTTPServer((a.addr, 80), Handler))
        serve(TCPServer((a.addr, 9000), ShaHandler))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((a.addr, 7))
        threading.Thread(target=udp_echo, args=(u,), daemon=True).start()
        udp_thread(socket.AF_INET, a.addr, 9009, udp_big)
        if a.addr6:
            serve(HTTPServer6((a.addr6, 80), Handler))
            u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            u6.bind((a.addr6, 7))
            threading.Thread(target=udp_echo, args=(u6,), daemon=True).start()
            udp_thread(socket.AF_INET6, a.addr6, 9009, udp_big)
        if a.sink:
            SinkHandler.path = a.sink
            serve(TCPServer((a.addr, 9001), SinkHandler))
            if a.addr6:
                serve(TCPServer6((a.addr6, 9001), SinkHandler))
    else:
        serve(HTTPServer((a.addr, a.port), Handler))

    ready()
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
