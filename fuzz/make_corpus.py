#!/usr/bin/env python3
"""Write fuzz/corpus/: seed inputs for fuzz_input.

An input is a sequence of records (fuzz/fuzz_input.c): a clock step byte
(the low six bits count units, the top two pick the unit: 1, 16, 256 or
4096 ms), a 2-byte big-endian frame length, the frame. A record with an
empty frame is a pause. Frames here go in at once (step 0); pauses let
timers run: reassembly, neighbour discovery, connect, idle and RA expiry.

Guest MAC 52:73:00:00:00:01 is the harness's; addresses are the defaults
(guest 10.0.2.15, gateway 10.0.2.2) and documentation ranges.
Usage: make_corpus.py [DIR] (default: fuzz/corpus next to this script).
"""
import os
import struct
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
GM = bytes.fromhex("527300000001")
GWM = bytes.fromhex("02736e000001")
G, GW = bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2])


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip(proto, dst, payload, flags=0x4000):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, flags, 64, proto, 0, G, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def l4sum(proto, dst, seg):
    return csum(G + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg)


def eth(ethertype, payload):
    return GWM + GM + struct.pack("!H", ethertype) + payload


def tcp(dst, dport, flags, seq=1000, ack=0, data=b""):
    t = struct.pack("!HHIIBBHHH", 40000, dport, seq, ack, 0x50, flags, 65535, 0, 0) + data
    t = t[:16] + struct.pack("!H", l4sum(6, dst, t)) + t[18:]
    return eth(0x800, ip(6, dst, t))


def udp(dst, dport, data):
    u = struct.pack("!HHHH", 40001, dport, 8 + len(data), 0) + data
    u = u[:6] + struct.pack("!H", l4sum(17, dst, u) or 0xFFFF) + u[8:]
    return eth(0x800, ip(17, dst, u))


def dhcp(mtype, dst, ciaddr=b"\0" * 4):
    """A DHCP client message (RFC 2131) from the guest's port 68 to port 67 of @dst."""
    m = struct.pack("!BBBBIHH4s4s4s4s16s", 1, 1, 6, 0, 0x1234, 0, 0, ciaddr, b"\0" * 4,
                    b"\0" * 4, b"\0" * 4, GM) + b"\0" * 192 + struct.pack("!I", 0x63825363)
    m += bytes([53, 1, mtype, 61, 7, 1]) + GM + bytes([50, 4]) + G + bytes([55, 3, 1, 3, 26, 255])
    u = struct.pack("!HHHH", 68, 67, 8 + len(m), 0) + m
    u = u[:6] + struct.pack("!H", l4sum(17, dst, u) or 0xFFFF) + u[8:]
    return eth(0x800, ip(17, dst, u))


G6 = bytes.fromhex("fd000002000000000000000000000015")
GW6 = bytes.fromhex("fd000002000000000000000000000002")
LL6 = bytes.fromhex("fe800000000000005073fffe00000001")


def ip6(nexth, src, dst, payload, hop=64):
    return struct.pack("!IHBB", 0x60000000, len(payload), nexth, hop) + src + dst + payload


def l6sum(nexth, src, dst, seg):
    return csum(src + dst + struct.pack("!IxxxB", len(seg), nexth) + seg)


def icmp6(src, dst, typ, body, hop=64):
    m = struct.pack("!BBH", typ, 0, 0) + body
    m = m[:2] + struct.pack("!H", l6sum(58, src, dst, m)) + m[4:]
    return eth(0x86DD, ip6(58, src, dst, m, hop))


def tcp6(dst, dport, flags, seq=1000):
    t = struct.pack("!HHIIBBHHH", 40002, dport, seq, 0, 0x50, flags, 65535, 0, 0)
    t = t[:16] + struct.pack("!H", l6sum(6, G6, dst, t)) + t[18:]
    return eth(0x86DD, ip6(6, G6, dst, t))


def udp6(src, dst, sport, dport, data):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    u = u[:6] + struct.pack("!H", l6sum(17, src, dst, u) or 0xFFFF) + u[8:]
    return eth(0x86DD, ip6(17, src, dst, u))


def frag6(dst, nexth, payload, size, ident):
    """@payload (a transport header and data) as IPv6 fragments of @size bytes."""
    out = []
    for off in range(0, len(payload), size):
        more = 1 if off + size < len(payload) else 0
        fh = struct.pack("!BBHI", nexth, 0, off | more, ident)
        out.append(eth(0x86DD, ip6(44, G6, dst, fh + payload[off:off + size])))
    return out


def step_byte(ms):
    """The smallest step byte whose step covers @ms (at most 258048 ms)."""
    for unit in range(4):
        n = -(-ms // (1 << (4 * unit)))
        if n < 64:
            return (unit << 6) | n
    raise ValueError("step too long: %d ms" % ms)


def pause(ms):
    """A record with no frame: only the clock moves (by at least @ms)."""
    return (ms, b"")


def record(x):
    """One record: a frame sent at once, or a (ms, frame) pair."""
    ms, frame = x if isinstance(x, tuple) else (0, x)
    return struct.pack("!BH", step_byte(ms), len(frame)) + frame


def main():
    arp = eth(0x806, struct.pack("!HHBBH", 1, 0x800, 6, 4, 1) + GM + G + b"\0" * 6 + GW)
    icmp = struct.pack("!BBHHH", 8, 0, 0, 7, 1) + b"ping" * 8
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    query = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + \
        b"\x03www\x07example\x04test\x00" + struct.pack("!HH", 1, 1)
    pub = bytes([192, 0, 2, 10])
    pub6 = bytes.fromhex("20010db8000200000000000000000010")
    sol = bytes.fromhex("ff0200000000000000000001ff000099")
    seeds6 = {
        "ndp_ns": [icmp6(LL6, sol, 135, b"\0" * 4 + bytes.fromhex("fd000002000000000000000000000099")
                         + b"\x01\x01" + GM, hop=255)],
        "ndp_rs": [icmp6(LL6, bytes.fromhex("ff020000000000000000000000000002"), 133,
                         b"\0" * 4 + b"\x01\x01" + GM, hop=255)],
        "ping6_gw": [icmp6(G6, GW6, 128, struct.pack("!HH", 7, 1) + b"ping" * 8)],
        "ping6_pub": [icmp6(G6, pub6, 128, struct.pack("!HH", 7, 1) + b"ping" * 8)],
        "tcp6_syn": [tcp6(GW6, 8080, 0x02), tcp6(pub6, 80, 0x02)],
        "udp6": [udp6(G6, pub6, 40003, 7, b"hello"), udp6(G6, GW6, 40004, 53, b"\x12\x34" + b"\0" * 10)],
        "dhcp6": [udp6(LL6, bytes.fromhex("ff020000000000000000000000010002"), 546, 547,
                       bytes([11, 1, 2, 3]) + struct.pack("!HH", 6, 2) + struct.pack("!H", 23))],
    }
    seeds = {
        "arp": [arp],
        "ping": [arp, eth(0x800, ip(1, GW, icmp))],
        "icmp_pub": [eth(0x800, ip(1, pub, icmp))],
        "tcp_syn_gw": [arp, tcp(GW, 8080, 0x02)],
        "tcp_syn_pub": [tcp(pub, 80, 0x02), tcp(pub, 80, 0x10, 1001, 1, b"GET /")],
        "udp_gw": [udp(GW, 7, b"hello")],
        "udp_pub": [udp(bytes([198, 51, 100, 9]), 9999, b"x" * 100)],
        "dns_gw": [udp(GW, 53, query)],
        "dns_other": [udp(bytes([203, 0, 113, 7]), 53, query)],
        "dhcp": [dhcp(1, b"\xff" * 4), dhcp(3, b"\xff" * 4), dhcp(3, GW, G), dhcp(8, GW, G)],
        "frag": [eth(0x800, ip(17, pub, b"\0" * 16, flags=0x2000)),
                 eth(0x800, ip(17, pub, b"\1" * 16, flags=0x0002))],
    }
    echo6 = icmp6(G6, GW6, 128, struct.pack("!HH", 7, 2) + b"ping" * 8)[14 + 40:]
    dgram6 = udp6(G6, pub6, 40005, 7, b"frag" * 8)[14 + 40:]
    seeds6.update({
        # reassembled, then served by lwIP (echo to the gateway) or a relay
        "frag6_ping_gw": frag6(GW6, 58, echo6, 16, 0x5501),
        "frag6_udp": frag6(pub6, 17, dgram6, 24, 0x5502)[::-1],
    })
    timed = {
        # an incomplete set expires: time exceeded (IPv4 after 15 s, IPv6 60 s)
        "frag_expire": [seeds["frag"][0], pause(16000)],
        "frag6_expire": frag6(pub6, 17, dgram6, 24, 0x5503)[:1] + [pause(61000)],
        # proxy NA queued while lwIP solicits the guest's MAC, then given up
        "ndp_ns_wait": seeds6["ndp_ns"] + [pause(1000)] * 4,
        # host connect() past its deadline, then the relays' ticks
        "tcp_syn_wait": [tcp(pub, 80, 0x02), pause(300), pause(1000)],
        # a UDP session and a DNS query idle out
        "udp_idle": seeds["udp_pub"] + seeds["dns_other"] + [pause(61000)],
        # unsolicited router advertisements, 10 s apart, then every 600 s
        "ra_timer": seeds6["ndp_rs"] + [pause(10000)] * 3 + [pause(258000)] * 3,
    }
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    os.makedirs(out, exist_ok=True)
    seeds.update(seeds6)
    seeds.update(timed)
    for name, recs in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"".join(record(x) for x in recs))


if __name__ == "__main__":
    main()
