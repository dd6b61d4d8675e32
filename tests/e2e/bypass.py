#!/usr/bin/python3
"""Crafted guest frames that try every encoding of a forbidden destination.

  bypass.py IFACE PORT [list]

Runs inside the guest namespace (root: raw frames on IFACE, with scapy,
Debian's python3-scapy). For each destination below it sends, from the
guest's own addresses to the gateway's MAC: a TCP SYN to PORT, a UDP
datagram to PORT, a DNS query to port 53, an ICMP echo request, and the
UDP datagram and the DNS query again split into fragments. None of them
may reach the host's services (the harness's canary.py) unless a rule
allows it. "list" prints the destinations instead (for the report).
"""
import sys

DESTS4 = [
    "0.0.0.0", "0.1.2.3", "127.0.0.1", "127.1.2.3", "10.0.2.2", "10.0.2.255",
    "255.255.255.255", "224.0.0.1", "198.51.100.2", "10.0.2.15",
]
DESTS6 = [
    "::", "::1", "::ffff:0.0.0.0", "::ffff:127.0.0.1", "::127.0.0.1",
    "::ffff:0:127.0.0.1", "64:ff9b::7f00:1", "::ffff:10.0.2.2", "::10.0.2.2",
    "fe80::73:6eff:fe00:1", "fd00:2::2", "2001:db8:1::2", "::ffff:198.51.100.2",
    "64:ff9b::c633:6402", "ff02::1", "fd00:2::15",
]
GW_MAC = "02:73:6e:00:00:01"
GUEST4, GUEST6 = "10.0.2.15", "fd00:2::15"


def frames(port):
    from scapy.all import DNS, DNSQR, ICMP, IP, IPv6, TCP, UDP, Ether, ICMPv6EchoRequest
    from scapy.all import IPv6ExtHdrFragment, fragment, fragment6

    out = []
    eth = Ether(dst=GW_MAC)
    q = DNS(rd=1, qd=DNSQR(qname="canary.example.test"))
    big = b"B" * 200
    for d in DESTS4:
        ip = IP(src=GUEST4, dst=d, ttl=64)
        out += [eth / ip / TCP(sport=40000, dport=port, flags="S", seq=1000),
                eth / ip / UDP(sport=40001, dport=port) / big,
                eth / ip / UDP(sport=40002, dport=53) / q,
                eth / ip / ICMP(id=7, seq=1) / b"ping"]
        out += [eth / f for f in fragment(ip / UDP(sport=40003, dport=port) / big, fragsize=64)]
        out += [eth / f for f in fragment(ip / UDP(sport=40004, dport=53) / q / big, fragsize=64)]
    for d in DESTS6:
        ip = IPv6(src=GUEST6, dst=d, hlim=64)
        out += [eth / ip / TCP(sport=40010, dport=port, flags="S", seq=1000),
                eth / ip / UDP(sport=40011, dport=port) / big,
                eth / ip / UDP(sport=40012, dport=53) / q,
                eth / ip / ICMPv6EchoRequest(id=7, seq=1, data=b"ping")]
        for payload in (UDP(sport=40013, dport=port) / big, UDP(sport=40014, dport=53) / q / big):
            pkt = ip / IPv6ExtHdrFragment(id=0x1234 + len(out)) / payload
            out += [eth / f for f in fragment6(pkt, 120)]
    return out


def main(argv):
    if len(argv) == 4 and argv[3] == "list":
        print(" ".join(DESTS4 + DESTS6))
        return 0
    from scapy.all import conf, sendp

    conf.verb = 0
    iface, port = argv[1], int(argv[2])
    fs = frames(port)
    sendp(fs, iface=iface, inter=0.002)
    print(f"sent {len(fs)} frames to {len(DESTS4) + len(DESTS6)} destinations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
