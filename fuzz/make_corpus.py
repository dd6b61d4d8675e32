#!/usr/bin/env python3
"""Write fuzz/corpus/: seed inputs for fuzz_input (2-byte length + frame, repeated).

Guest MAC 52:73:00:00:00:01 is learned from the first frame; addresses are the
defaults (guest 10.0.2.15, gateway 10.0.2.2) and documentation ranges.
"""
import os
import struct

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


def main():
    arp = eth(0x806, struct.pack("!HHBBH", 1, 0x800, 6, 4, 1) + GM + G + b"\0" * 6 + GW)
    icmp = struct.pack("!BBHHH", 8, 0, 0, 7, 1) + b"ping" * 8
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    query = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + \
        b"\x03www\x07example\x04test\x00" + struct.pack("!HH", 1, 1)
    pub = bytes([192, 0, 2, 10])
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
    os.makedirs(HERE, exist_ok=True)
    for name, frames in seeds.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(b"".join(struct.pack("!H", len(x)) + x for x in frames))


if __name__ == "__main__":
    main()
