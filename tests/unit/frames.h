/* SPDX-License-Identifier: MIT */
/**
 * DOC: frames - an independent frame generator and parser for unit tests
 *
 * Everything here is written from the RFCs (791, 792, 793, 768, 826, 1071,
 * 1035; for IPv6 8200, 4291, 4443, 4861, 8415), not from lwIP: the tests
 * must not share a bug with the code they test. Frames are built into caller buffers; every builder returns the
 * frame length. Addresses and ports are given in host byte order.
 *
 * The IPv4 header is always 20 bytes (no options), so in a built frame the
 * IP header starts at FR_IP_OFF and the transport header at FR_L4_OFF;
 * tests corrupt fields at those offsets and, when they mean to keep the
 * other checks passing, repair the checksums with fr_fix_ip_csum() and
 * fr_fix_l4_csum().
 */
#ifndef SANDNET_TEST_FRAMES_H
#define SANDNET_TEST_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define FR_ETH_HLEN	14
#define FR_IP_OFF	FR_ETH_HLEN
#define FR_L4_OFF	(FR_ETH_HLEN + 20)
#define FR_MAX		(FR_ETH_HLEN + 65535)

#define FR_ETH_IP4	0x0800
#define FR_ETH_ARP	0x0806
#define FR_ETH_IP6	0x86dd

#define FR_PROTO_ICMP	1
#define FR_PROTO_TCP	6
#define FR_PROTO_UDP	17

#define FR_FIN		0x01
#define FR_SYN		0x02
#define FR_RST		0x04
#define FR_PSH		0x08
#define FR_ACK		0x10

#define FR_IP_DF	0x4000
#define FR_IP_MF	0x2000

#define FR_IP(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define FR_GW_IP	FR_IP(10, 0, 2, 2)
#define FR_GUEST_IP	FR_IP(10, 0, 2, 15)

extern const uint8_t fr_gw_mac[6];	/* 02:73:6e:00:00:01 */
extern const uint8_t fr_guest_mac[6];	/* 52:54:00:12:34:56 */
extern const uint8_t fr_bcast_mac[6];

/* ---- Internet checksum (RFC 1071) ---- */

/**
 * fr_sum() - add @len bytes to a one's complement sum of 16-bit words
 * @acc:	running sum (0 to start)
 * @data:	bytes, big-endian words; an odd last byte is padded with zero
 * @len:	number of bytes
 *
 * Return: the unfolded 32-bit running sum
 */
uint32_t fr_sum(uint32_t acc, const void *data, size_t len);

/**
 * fr_fold() - fold a running sum and complement it
 * @acc:	running sum from fr_sum()
 *
 * Return: the checksum; 0 when the summed data included a correct checksum
 */
uint16_t fr_fold(uint32_t acc);

/**
 * fr_cksum() - the Internet checksum of a buffer
 * @data:	bytes
 * @len:	length
 *
 * Return: the checksum (0 if @data carries a correct one)
 */
uint16_t fr_cksum(const void *data, size_t len);

/**
 * fr_l4_cksum() - TCP/UDP checksum with the IPv4 pseudo-header
 * @src:	source address
 * @dst:	destination address
 * @proto:	FR_PROTO_TCP or FR_PROTO_UDP
 * @l4:		transport header and data
 * @len:	their length
 *
 * Return: the checksum (0 if @l4 carries a correct one)
 */
uint16_t fr_l4_cksum(uint32_t src, uint32_t dst, uint8_t proto, const void *l4, size_t len);

/* ---- builders ---- */

/**
 * struct fr_ip4 - an IPv4 header to build (20 bytes, no options)
 * @src:	source address
 * @dst:	destination address
 * @proto:	protocol
 * @ttl:	TTL (0 means 64)
 * @id:		identification
 * @frag:	flags and fragment offset (FR_IP_DF, FR_IP_MF, offset/8)
 */
struct fr_ip4 {
	uint32_t src, dst;
	uint8_t proto, ttl;
	uint16_t id, frag;
};

/**
 * struct fr_tcp - a TCP segment to build
 * @src:	source address
 * @dst:	destination address
 * @src6:	with @dst6: an IPv6 segment between these (@src, @dst unused)
 * @dst6:	IPv6 destination
 * @sport:	source port
 * @dport:	destination port
 * @seq:	sequence number
 * @ack:	acknowledgement number
 * @flags:	FR_SYN | FR_ACK | ...
 * @win:	window (0 means 65535)
 * @mss:	MSS option value, 0 for none
 * @data:	payload
 * @len:	payload length
 * @ws_on:	add the window scale option (RFC 7323), shift @ws
 * @ws:		its shift count (0..14)
 */
struct fr_tcp {
	uint32_t src, dst;
	const uint8_t *src6, *dst6;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t mss;
	const void *data;
	size_t len;
	uint8_t ws_on, ws;
};

size_t fr_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type);

/**
 * fr_arp() - an Ethernet frame carrying ARP for IPv4 over Ethernet
 * @buf:	output, at least 42 bytes
 * @eth_src:	Ethernet source
 * @eth_dst:	Ethernet destination
 * @op:		1 request, 2 reply
 * @sha:	sender hardware address
 * @spa:	sender protocol address
 * @tha:	target hardware address
 * @tpa:	target protocol address
 *
 * Return: 42
 */
size_t fr_arp(uint8_t *buf, const uint8_t eth_src[6], const uint8_t eth_dst[6], uint16_t op,
	      const uint8_t sha[6], uint32_t spa, const uint8_t tha[6], uint32_t tpa);

/**
 * fr_arp_request() - the guest asks who has @tpa (broadcast, from fr_guest_mac)
 * @buf:	output
 * @spa:	sender address (normally FR_GUEST_IP)
 * @tpa:	address asked about
 *
 * Return: frame length
 */
size_t fr_arp_request(uint8_t *buf, uint32_t spa, uint32_t tpa);

/**
 * fr_ip4_frame() - Ethernet (guest -> gateway MAC) + IPv4 + @l4
 * @buf:	output
 * @ip:		header fields
 * @l4:		transport bytes, copied (checksums must already be in them)
 * @len:	their length
 *
 * Return: frame length
 */
size_t fr_ip4_frame(uint8_t *buf, const struct fr_ip4 *ip, const void *l4, size_t len);

size_t fr_icmp_echo(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t id, uint16_t seq,
		    const void *data, size_t len);
size_t fr_tcp_frame(uint8_t *buf, const struct fr_tcp *t);
size_t fr_udp_frame(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		    const void *data, size_t len);

/**
 * fr_fix_ip_csum() - recompute the IPv4 header checksum of a built frame
 * @frame:	frame from a builder above
 */
void fr_fix_ip_csum(uint8_t *frame);

/**
 * fr_fix_l4_csum() - recompute the TCP/UDP/ICMP(v6) checksum of a built frame
 * @frame:	frame from a builder here (IP total or payload length must be
 *		right; IPv6 without extension headers)
 */
void fr_fix_l4_csum(uint8_t *frame);

/* ---- DNS messages ---- */

/**
 * fr_dns_query() - a DNS query for @name
 * @buf:	output
 * @id:		message ID
 * @name:	dotted name
 * @qtype:	query type (1 = A)
 * @qdcount:	how many times the question is repeated (1 normally)
 *
 * Return: message length
 */
size_t fr_dns_query(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype,
		    unsigned qdcount);

/**
 * fr_dns_answer_a() - answer a one-question query with one A record
 * @buf:	output
 * @query:	the query
 * @qlen:	its length
 * @addr:	the address answered
 *
 * Return: message length
 */
size_t fr_dns_answer_a(uint8_t *buf, const uint8_t *query, size_t qlen, uint32_t addr);

/* ---- parser ---- */

/**
 * struct fr_parsed - a frame taken apart; pointers point into the frame
 * @len:	frame length
 * @dst_mac:	Ethernet destination
 * @src_mac:	Ethernet source
 * @type:	EtherType
 * @arp_*:	ARP fields (type == FR_ETH_ARP)
 * @ip_*:	IPv4 header fields (type == FR_ETH_IP4)
 * @ip:		IPv4 header
 * @l4:		transport header (NULL for a non-first fragment)
 * @l4_len:	IP payload length
 * @sport..:	transport fields
 * @mss:	TCP MSS option, 0 if absent
 * @ws_on:	TCP window scale option present
 * @ws:		its shift count
 * @payload:	transport payload
 * @plen:	its length
 */
struct fr_parsed {
	size_t len;
	uint8_t dst_mac[6], src_mac[6];
	uint16_t type;

	uint16_t arp_htype, arp_ptype, arp_op;
	uint8_t arp_hlen, arp_plen;
	uint8_t arp_sha[6], arp_tha[6];
	uint32_t arp_spa, arp_tpa;

	const uint8_t *ip;
	uint8_t ip_hl, ip_tos, ip_ttl, ip_proto;
	uint16_t ip_len, ip_id, ip_frag;
	uint32_t ip_src, ip_dst;

	const uint8_t *l4;
	size_t l4_len;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags, tcp_hlen;
	uint16_t win, mss;
	uint8_t ws_on, ws;
	uint16_t udp_len, udp_csum;
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id, icmp_seq;

	const uint8_t *payload;
	size_t plen;

	/* IPv6 (type == FR_ETH_IP6); l4, sport.., payload as for IPv4 */
	const uint8_t *ip6;
	uint8_t ip6_src[16], ip6_dst[16];
	uint8_t ip6_nexth, ip6_hoplim;	/* the transport's, after a fragment header */
	uint16_t ip6_plen;
	uint8_t ip6_frag;		/* a fragment header was present */
};

/**
 * fr_parse() - parse and fully check a frame the engine sent
 * @frame:	frame
 * @len:	its length
 * @out:	filled
 * @why:	on failure, what was wrong
 * @whylen:	size of @why
 *
 * Checks: Ethernet header present; ARP well formed; IPv4 version 4, IHL >= 5,
 * total length within the frame, header checksum; TCP data offset and
 * checksum; UDP length and checksum (0 accepted); ICMP checksum. Transport
 * checks are skipped for fragments.
 *
 * Return: 0 if the frame is well formed, -1 otherwise
 */
int fr_parse(const uint8_t *frame, size_t len, struct fr_parsed *out, char *why, size_t whylen);

const char *fr_ip_str(uint32_t addr, char buf[16]);

/* ---- IPv6 (RFC 8200, 4443, 4861, 8415) ----
 *
 * The IPv6 header is always 40 bytes with no extension headers, so in a
 * built frame the transport header starts at FR_L4_OFF6. fr_parse() also
 * checks IPv6 frames: version, payload length within the frame, ICMPv6,
 * UDP (checksum mandatory) and TCP checksums with the IPv6 pseudo-header;
 * a fragment header is skipped (transport checks only for an atomic
 * fragment), other extension headers are left unparsed.
 */

#define FR_L4_OFF6	(FR_ETH_HLEN + 40)
#define FR_PROTO_ICMP6	58

extern const uint8_t fr_gw_ip6[16];	/* fd00:2::2 */
extern const uint8_t fr_guest_ip6[16];	/* fd00:2::15 */
extern const uint8_t fr_gw_ll6[16];	/* fe80::73:6eff:fe00:1 (EUI-64 of fr_gw_mac) */
extern const uint8_t fr_guest_ll6[16];	/* fe80::5054:ff:fe12:3456 (of fr_guest_mac) */
extern const uint8_t fr_ip6_unspec[16];	/* :: */
extern const uint8_t fr_ip6_allnodes[16];	/* ff02::1 */
extern const uint8_t fr_ip6_allrouters[16];	/* ff02::2 */
extern const uint8_t fr_ip6_dhcp6[16];	/* ff02::1:2, All_DHCP_Relay_Agents_and_Servers */

/**
 * fr_ip6_solnode() - the solicited-node multicast address of @addr (RFC 4291 2.7.1)
 * @addr:	unicast address
 * @out:	ff02::1:ffXX:XXXX
 */
void fr_ip6_solnode(const uint8_t addr[16], uint8_t out[16]);

/**
 * fr_ip6_mcast_mac() - the Ethernet address of an IPv6 group (RFC 2464 7)
 * @group:	multicast address
 * @mac:	33:33 and the group's last 32 bits
 */
void fr_ip6_mcast_mac(const uint8_t group[16], uint8_t mac[6]);

/**
 * fr_l4_cksum6() - TCP/UDP/ICMPv6 checksum with the IPv6 pseudo-header (RFC 8200 8.1)
 * @src:	source address
 * @dst:	destination address
 * @nexth:	FR_PROTO_TCP, FR_PROTO_UDP or FR_PROTO_ICMP6
 * @l4:		transport header and data
 * @len:	their length
 *
 * Return: the checksum (0 if @l4 carries a correct one)
 */
uint16_t fr_l4_cksum6(const uint8_t src[16], const uint8_t dst[16], uint8_t nexth,
		      const void *l4, size_t len);

/**
 * fr_ip6_frame() - Ethernet (guest MAC -> @dst_mac) + IPv6 + @l4
 * @buf:	output
 * @dst_mac:	Ethernet destination (NULL: the gateway's MAC, or the group's
 *		MAC when @dst is multicast)
 * @src:	IPv6 source
 * @dst:	IPv6 destination
 * @nexth:	next header
 * @hoplim:	hop limit (0 means 64)
 * @l4:		transport bytes, copied (checksums must already be in them)
 * @len:	their length
 *
 * Return: frame length
 */
size_t fr_ip6_frame(uint8_t *buf, const uint8_t *dst_mac, const uint8_t src[16],
		    const uint8_t dst[16], uint8_t nexth, uint8_t hoplim, const void *l4,
		    size_t len);

/**
 * fr_icmp6_frame() - an ICMPv6 message in a frame, its checksum filled in
 * @buf:	output
 * @src:	IPv6 source
 * @dst:	IPv6 destination
 * @hoplim:	hop limit (255 for neighbour discovery)
 * @msg:	the message from its type byte on; bytes 2..3 are overwritten
 * @len:	its length (>= 4)
 *
 * Return: frame length
 */
size_t fr_icmp6_frame(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16],
		      uint8_t hoplim, const void *msg, size_t len);

/**
 * fr_udp6_frame() - a UDP datagram in IPv6, with its (mandatory) checksum
 * @buf:	output
 * @src:	source address
 * @sport:	source port
 * @dst:	destination address
 * @dport:	destination port
 * @data:	payload
 * @len:	its length
 *
 * Return: frame length
 */
size_t fr_udp6_frame(uint8_t *buf, const uint8_t src[16], uint16_t sport, const uint8_t dst[16],
		     uint16_t dport, const void *data, size_t len);

/**
 * fr_ip6_str() - an IPv6 address as text
 * @addr:	address
 * @buf:	output
 *
 * Return: @buf
 */
const char *fr_ip6_str(const uint8_t addr[16], char buf[46]);

/* ---- fragments (RFC 791 3.2, RFC 8200 4.5) ---- */

/**
 * fr_ip6_frag_frame() - one IPv6 fragment: header, fragment header, @data
 * @buf:	output
 * @src:	IPv6 source
 * @dst:	IPv6 destination
 * @nexth:	the fragmented packet's next header (FR_PROTO_UDP, ...)
 * @id:		identification
 * @off:	fragment offset in bytes (a multiple of 8)
 * @more:	M flag: more fragments follow
 * @data:	this fragment's part of the fragmentable part
 * @len:	its length
 *
 * Return: frame length
 */
size_t fr_ip6_frag_frame(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16],
			 uint8_t nexth, uint32_t id, size_t off, int more, const void *data,
			 size_t len);

/**
 * struct fr_reass - a datagram put back together from parsed fragments
 * @buf:	the transport header and data, at their offsets
 * @have:	which 8-byte blocks of @buf were filled
 * @total:	length, once the last fragment was seen (0 before)
 * @id:		identification of the first fragment seen
 * @n:		fragments added
 * @started:	a fragment was added
 */
struct fr_reass {
	uint8_t buf[65536];
	uint8_t have[65536 / 8];
	size_t total;
	uint32_t id;
	unsigned n;
	int started;
};

/**
 * fr_reass_add() - add one parsed frame (IPv4 or IPv6, fragment or not)
 * @r:		state, zeroed before the first call
 * @p:		parsed frame
 *
 * Return: 1 when the datagram is complete, 0 while not, -1 if @p does not
 *	   belong (other identification, misaligned offset, too long)
 */
int fr_reass_add(struct fr_reass *r, const struct fr_parsed *p);

#endif /* SANDNET_TEST_FRAMES_H */
