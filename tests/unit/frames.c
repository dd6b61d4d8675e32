// SPDX-License-Identifier: MIT
/**
 * DOC: frames - the tests' own frame generator and parser
 *
 * Byte by byte from the RFCs; shares no code with lwIP or the engine. All
 * multi-byte fields are written and read with put16/put32/get16/get32, so
 * nothing depends on host byte order or alignment.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>

#include "frames.h"

const uint8_t fr_gw_mac[6] = { 0x02, 0x73, 0x6e, 0x00, 0x00, 0x01 };
const uint8_t fr_guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
const uint8_t fr_bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- checksum ---- */

uint32_t fr_sum(uint32_t acc, const void *data, size_t len)
{
	const uint8_t *b = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		acc += (uint32_t)(b[i] << 8 | b[i + 1]);
		acc = (acc & 0xffff) + (acc >> 16);	/* end-around carry */
	}
	if (len & 1) {
		acc += (uint32_t)b[len - 1] << 8;
		acc = (acc & 0xffff) + (acc >> 16);
	}
	return acc;
}

uint16_t fr_fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

uint16_t fr_cksum(const void *data, size_t len)
{
	return fr_fold(fr_sum(0, data, len));
}

uint16_t fr_l4_cksum(uint32_t src, uint32_t dst, uint8_t proto, const void *l4, size_t len)
{
	uint8_t ph[12];

	put32(ph, src);
	put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = proto;
	put16(ph + 10, (uint16_t)len);
	return fr_fold(fr_sum(fr_sum(0, ph, sizeof(ph)), l4, len));
}

/* ---- builders ---- */

size_t fr_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	put16(buf + 12, type);
	return FR_ETH_HLEN;
}

size_t fr_arp(uint8_t *buf, const uint8_t eth_src[6], const uint8_t eth_dst[6], uint16_t op,
	      const uint8_t sha[6], uint32_t spa, const uint8_t tha[6], uint32_t tpa)
{
	uint8_t *a = buf + fr_eth(buf, eth_dst, eth_src, FR_ETH_ARP);

	put16(a, 1);			/* Ethernet */
	put16(a + 2, FR_ETH_IP4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	put32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return FR_ETH_HLEN + 28;
}

size_t fr_arp_request(uint8_t *buf, uint32_t spa, uint32_t tpa)
{
	static const uint8_t zero[6];

	return fr_arp(buf, fr_guest_mac, fr_bcast_mac, 1, fr_guest_mac, spa, zero, tpa);
}

size_t fr_ip4_frame(uint8_t *buf, const struct fr_ip4 *ip, const void *l4, size_t len)
{
	uint8_t *h = buf + fr_eth(buf, fr_gw_mac, fr_guest_mac, FR_ETH_IP4);

	h[0] = 0x45;
	h[1] = 0;
	put16(h + 2, (uint16_t)(20 + len));
	put16(h + 4, ip->id);
	put16(h + 6, ip->frag);
	h[8] = ip->ttl ? ip->ttl : 64;
	h[9] = ip->proto;
	put16(h + 10, 0);
	put32(h + 12, ip->src);
	put32(h + 16, ip->dst);
	put16(h + 10, fr_cksum(h, 20));
	memmove(h + 20, l4, len);
	return FR_L4_OFF + len;
}

size_t fr_icmp_echo(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t id, uint16_t seq,
		    const void *data, size_t len)
{
	struct fr_ip4 ip = { .src = src, .dst = dst, .proto = FR_PROTO_ICMP, .id = 1 };
	uint8_t *m = buf + FR_L4_OFF;

	m[0] = 8;			/* echo request */
	m[1] = 0;
	put16(m + 2, 0);
	put16(m + 4, id);
	put16(m + 6, seq);
	memcpy(m + 8, data, len);
	put16(m + 2, fr_cksum(m, 8 + len));
	return fr_ip4_frame(buf, &ip, m, 8 + len);
}

size_t fr_tcp_frame(uint8_t *buf, const struct fr_tcp *t)
{
	struct fr_ip4 ip = { .src = t->src, .dst = t->dst, .proto = FR_PROTO_TCP, .id = 2,
			     .frag = FR_IP_DF };
	int v6 = t->src6 && t->dst6;
	uint8_t *s = buf + (v6 ? FR_L4_OFF6 : FR_L4_OFF);
	size_t hlen = 20 + (t->mss ? 4 : 0) + (t->ws_on ? 4 : 0), o = 20;

	put16(s, t->sport);
	put16(s + 2, t->dport);
	put32(s + 4, t->seq);
	put32(s + 8, t->ack);
	s[12] = (uint8_t)((hlen / 4) << 4);
	s[13] = t->flags;
	put16(s + 14, t->win ? t->win : 65535);
	put16(s + 16, 0);
	put16(s + 18, 0);		/* urgent pointer */
	if (t->mss) {
		s[o] = 2;		/* kind MSS */
		s[o + 1] = 4;
		put16(s + o + 2, t->mss);
		o += 4;
	}
	if (t->ws_on) {
		s[o] = 1;		/* NOP, so the option ends on a word */
		s[o + 1] = 3;		/* kind window scale */
		s[o + 2] = 3;
		s[o + 3] = t->ws;
	}
	if (t->len)
		memcpy(s + hlen, t->data, t->len);
	if (v6) {
		put16(s + 16, fr_l4_cksum6(t->src6, t->dst6, FR_PROTO_TCP, s, hlen + t->len));
		return fr_ip6_frame(buf, NULL, t->src6, t->dst6, FR_PROTO_TCP, 64, s,
				    hlen + t->len);
	}
	put16(s + 16, fr_l4_cksum(t->src, t->dst, FR_PROTO_TCP, s, hlen + t->len));
	return fr_ip4_frame(buf, &ip, s, hlen + t->len);
}

size_t fr_udp_frame(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		    const void *data, size_t len)
{
	struct fr_ip4 ip = { .src = src, .dst = dst, .proto = FR_PROTO_UDP, .id = 3 };
	uint8_t *u = buf + FR_L4_OFF;
	uint16_t sum;

	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + len));
	put16(u + 6, 0);
	memcpy(u + 8, data, len);
	sum = fr_l4_cksum(src, dst, FR_PROTO_UDP, u, 8 + len);
	put16(u + 6, sum ? sum : 0xffff);	/* RFC 768: 0 means "none" */
	return fr_ip4_frame(buf, &ip, u, 8 + len);
}

void fr_fix_ip_csum(uint8_t *frame)
{
	uint8_t *h = frame + FR_IP_OFF;
	size_t hl = (size_t)(h[0] & 0x0f) * 4;

	put16(h + 10, 0);
	put16(h + 10, fr_cksum(h, hl));
}

/**
 * fix_l4_csum6() - recompute the transport checksum of a built IPv6 frame
 * @frame:	frame, IPv6 header without extension headers
 */
static void fix_l4_csum6(uint8_t *frame)
{
	const uint8_t *h = frame + FR_IP_OFF;
	uint8_t *l4 = frame + FR_L4_OFF6;
	size_t len = get16(h + 4), at;
	uint16_t sum;

	switch (h[6]) {
	case FR_PROTO_TCP:
		at = 16;
		break;
	case FR_PROTO_UDP:
		at = 6;
		break;
	case FR_PROTO_ICMP6:
		at = 2;
		break;
	default:
		return;
	}
	put16(l4 + at, 0);
	sum = fr_l4_cksum6(h + 8, h + 24, h[6], l4, len);
	if (!sum && h[6] == FR_PROTO_UDP)
		sum = 0xffff;		/* RFC 8200 8.1: never zero */
	put16(l4 + at, sum);
}

void fr_fix_l4_csum(uint8_t *frame)
{
	uint8_t *h = frame + FR_IP_OFF;
	size_t hl = (size_t)(h[0] & 0x0f) * 4, len = get16(h + 2) - hl;
	uint8_t *l4 = h + hl;
	uint16_t sum;

	if (get16(frame + 12) == FR_ETH_IP6) {
		fix_l4_csum6(frame);
		return;
	}
	switch (h[9]) {
	case FR_PROTO_ICMP:
		put16(l4 + 2, 0);
		put16(l4 + 2, fr_cksum(l4, len));
		break;
	case FR_PROTO_TCP:
		put16(l4 + 16, 0);
		put16(l4 + 16, fr_l4_cksum(get32(h + 12), get32(h + 16), FR_PROTO_TCP, l4, len));
		break;
	case FR_PROTO_UDP:
		put16(l4 + 6, 0);
		sum = fr_l4_cksum(get32(h + 12), get32(h + 16), FR_PROTO_UDP, l4, len);
		put16(l4 + 6, sum ? sum : 0xffff);
		break;
	}
}

/* ---- DNS ---- */

/**
 * dns_put_name() - write a name as labels
 * @p:		output
 * @name:	dotted name
 *
 * Return: bytes written
 */
static size_t dns_put_name(uint8_t *p, const char *name)
{
	size_t n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l;
		if (*name == '.')
			name++;
	}
	p[n++] = 0;
	return n;
}

size_t fr_dns_query(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype,
		    unsigned qdcount)
{
	size_t n = 12;
	unsigned i;

	put16(buf, id);
	buf[2] = 0x01;			/* RD */
	buf[3] = 0;
	put16(buf + 4, (uint16_t)qdcount);
	put16(buf + 6, 0);
	put16(buf + 8, 0);
	put16(buf + 10, 0);
	for (i = 0; i < (qdcount ? qdcount : 1); i++) {
		n += dns_put_name(buf + n, name);
		put16(buf + n, qtype);
		put16(buf + n + 2, 1);	/* IN */
		n += 4;
	}
	return n;
}

size_t fr_dns_answer_a(uint8_t *buf, const uint8_t *query, size_t qlen, uint32_t addr)
{
	size_t n = qlen;

	memcpy(buf, query, qlen);
	buf[2] = (uint8_t)(0x80 | (query[2] & 0x79));	/* QR, opcode, RD */
	buf[3] = 0x80;					/* RA, NOERROR */
	put16(buf + 6, 1);
	put16(buf + n, 0xc00c);				/* name: the question's */
	put16(buf + n + 2, 1);				/* A */
	put16(buf + n + 4, 1);				/* IN */
	put32(buf + n + 6, 300);
	put16(buf + n + 10, 4);
	put32(buf + n + 12, addr);
	return n + 16;
}

/* ---- parser ---- */

/**
 * bad() - record why a frame is malformed
 * @why:	buffer
 * @whylen:	its size
 * @fmt:	printf format
 *
 * Return: -1
 */
__attribute__((format(printf, 3, 4)))
static int bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/**
 * l4_sum() - the transport checksum of a parsed packet, IPv4 or IPv6 pseudo-header
 * @o:		parse state, IP fields filled
 * @proto:	transport protocol
 * @l4:		transport header and data
 * @len:	their length
 *
 * Return: the checksum (0 if correct)
 */
static uint16_t l4_sum(const struct fr_parsed *o, uint8_t proto, const uint8_t *l4, size_t len)
{
	if (o->type == FR_ETH_IP6)
		return fr_l4_cksum6(o->ip6_src, o->ip6_dst, proto, l4, len);
	return fr_l4_cksum(o->ip_src, o->ip_dst, proto, l4, len);
}

/**
 * parse_l4() - take apart and check the transport part of an IPv4 or IPv6 packet
 * @o:		parse state, IP fields filled
 * @why:	failure reason
 * @whylen:	its size
 *
 * Return: 0 or -1
 */
static int parse_l4(struct fr_parsed *o, char *why, size_t whylen)
{
	const uint8_t *l4 = o->l4;
	size_t len = o->l4_len;
	uint16_t sum;

	switch (o->ip_proto) {
	case FR_PROTO_ICMP6:
		if (o->type != FR_ETH_IP6)
			break;
		if (len < 4)
			return bad(why, whylen, "ICMPv6 message truncated (%zu)", len);
		o->icmp_type = l4[0];
		o->icmp_code = l4[1];
		if (len >= 8) {
			o->icmp_id = get16(l4 + 4);
			o->icmp_seq = get16(l4 + 6);
		}
		if ((sum = l4_sum(o, FR_PROTO_ICMP6, l4, len)))
			return bad(why, whylen, "ICMPv6 checksum wrong (residue %#x)", sum);
		o->payload = l4 + (len >= 8 ? 8 : len);
		o->plen = len >= 8 ? len - 8 : 0;
		return 0;
	case FR_PROTO_TCP:
		if (len < 20)
			return bad(why, whylen, "TCP header truncated (%zu)", len);
		o->sport = get16(l4);
		o->dport = get16(l4 + 2);
		o->seq = get32(l4 + 4);
		o->ack = get32(l4 + 8);
		o->tcp_hlen = (uint8_t)((l4[12] >> 4) * 4);
		o->flags = l4[13];
		o->win = get16(l4 + 14);
		if (o->tcp_hlen < 20 || o->tcp_hlen > len)
			return bad(why, whylen, "TCP data offset %u", o->tcp_hlen);
		for (size_t i = 20; i < o->tcp_hlen;) {
			uint8_t kind = l4[i];

			if (kind == 0)
				break;
			if (kind == 1) {
				i++;
				continue;
			}
			if (i + 1 >= o->tcp_hlen || l4[i + 1] < 2 || i + l4[i + 1] > o->tcp_hlen)
				return bad(why, whylen, "TCP option %u malformed", kind);
			if (kind == 2 && l4[i + 1] == 4)
				o->mss = get16(l4 + i + 2);
			if (kind == 3 && l4[i + 1] == 3) {
				o->ws_on = 1;
				o->ws = l4[i + 2];
			}
			i += l4[i + 1];
		}
		sum = l4_sum(o, FR_PROTO_TCP, l4, len);
		if (sum)
			return bad(why, whylen, "TCP checksum wrong (residue %#x)", sum);
		o->payload = l4 + o->tcp_hlen;
		o->plen = len - o->tcp_hlen;
		return 0;
	case FR_PROTO_UDP:
		if (len < 8)
			return bad(why, whylen, "UDP header truncated (%zu)", len);
		o->sport = get16(l4);
		o->dport = get16(l4 + 2);
		o->udp_len = get16(l4 + 4);
		o->udp_csum = get16(l4 + 6);
		if (o->udp_len != len)
			return bad(why, whylen, "UDP length %u, IP payload %zu", o->udp_len, len);
		if (!o->udp_csum && o->type == FR_ETH_IP6)
			return bad(why, whylen, "UDP checksum zero in IPv6");
		if (o->udp_csum && (sum = l4_sum(o, FR_PROTO_UDP, l4, len)))
			return bad(why, whylen, "UDP checksum wrong (residue %#x)", sum);
		o->payload = l4 + 8;
		o->plen = len - 8;
		return 0;
	case FR_PROTO_ICMP:
		if (o->type != FR_ETH_IP4)
			break;
		if (len < 8)
			return bad(why, whylen, "ICMP message truncated (%zu)", len);
		o->icmp_type = l4[0];
		o->icmp_code = l4[1];
		o->icmp_id = get16(l4 + 4);
		o->icmp_seq = get16(l4 + 6);
		if ((sum = fr_cksum(l4, len)))
			return bad(why, whylen, "ICMP checksum wrong (residue %#x)", sum);
		o->payload = l4 + 8;
		o->plen = len - 8;
		return 0;
	default:
		break;
	}
	o->payload = l4;
	o->plen = len;
	return 0;
}

/**
 * parse_ip6() - take apart and check an IPv6 packet
 * @f:		frame
 * @len:	its length
 * @o:		parse state, Ethernet fields filled
 * @why:	failure reason
 * @whylen:	its size
 *
 * The transport protocol goes in ip_proto too, so parse_l4() serves both.
 *
 * Return: 0 or -1
 */
static int parse_ip6(const uint8_t *f, size_t len, struct fr_parsed *o, char *why, size_t whylen)
{
	const uint8_t *h = f + FR_ETH_HLEN;
	size_t off = 40;

	if (len < FR_ETH_HLEN + 40)
		return bad(why, whylen, "IPv6 header truncated (%zu)", len);
	if (h[0] >> 4 != 6)
		return bad(why, whylen, "IPv6 version %u", h[0] >> 4);
	o->ip6 = h;
	o->ip6_plen = get16(h + 4);
	o->ip6_nexth = h[6];
	o->ip6_hoplim = h[7];
	memcpy(o->ip6_src, h + 8, 16);
	memcpy(o->ip6_dst, h + 24, 16);
	if (FR_ETH_HLEN + 40 + (size_t)o->ip6_plen > len)
		return bad(why, whylen, "IPv6 payload length %u > frame %zu", o->ip6_plen, len);
	if (o->ip6_nexth == 44) {		/* fragment header */
		uint16_t fo;

		if (o->ip6_plen < 8)
			return bad(why, whylen, "IPv6 fragment header truncated");
		o->ip6_frag = 1;
		o->ip6_nexth = h[40];
		fo = get16(h + 42);
		off += 8;
		if (fo & 0xfff9) {		/* offset or M: a real fragment */
			o->ip_proto = o->ip6_nexth;
			o->l4 = (fo & 0xfff8) ? NULL : h + off;
			o->l4_len = (size_t)o->ip6_plen + 40 - off;
			o->payload = h + off;
			o->plen = o->l4_len;
			return 0;
		}
	}
	o->ip_proto = o->ip6_nexth;
	o->l4 = h + off;
	o->l4_len = (size_t)o->ip6_plen + 40 - off;
	return parse_l4(o, why, whylen);
}

int fr_parse(const uint8_t *f, size_t len, struct fr_parsed *o, char *why, size_t whylen)
{
	const uint8_t *h;

	memset(o, 0, sizeof(*o));
	o->len = len;
	if (len < FR_ETH_HLEN)
		return bad(why, whylen, "frame of %zu bytes", len);
	memcpy(o->dst_mac, f, 6);
	memcpy(o->src_mac, f + 6, 6);
	o->type = get16(f + 12);

	if (o->type == FR_ETH_ARP) {
		const uint8_t *a = f + FR_ETH_HLEN;

		if (len < FR_ETH_HLEN + 28)
			return bad(why, whylen, "ARP truncated (%zu)", len);
		o->arp_htype = get16(a);
		o->arp_ptype = get16(a + 2);
		o->arp_hlen = a[4];
		o->arp_plen = a[5];
		o->arp_op = get16(a + 6);
		memcpy(o->arp_sha, a + 8, 6);
		o->arp_spa = get32(a + 14);
		memcpy(o->arp_tha, a + 18, 6);
		o->arp_tpa = get32(a + 24);
		if (o->arp_htype != 1 || o->arp_ptype != FR_ETH_IP4 || o->arp_hlen != 6 ||
		    o->arp_plen != 4)
			return bad(why, whylen, "ARP not IPv4 over Ethernet");
		return 0;
	}
	if (o->type == FR_ETH_IP6)
		return parse_ip6(f, len, o, why, whylen);
	if (o->type != FR_ETH_IP4)
		return 0;		/* not checked further */

	h = f + FR_ETH_HLEN;
	if (len < FR_ETH_HLEN + 20)
		return bad(why, whylen, "IPv4 header truncated (%zu)", len);
	if (h[0] >> 4 != 4)
		return bad(why, whylen, "IP version %u", h[0] >> 4);
	o->ip = h;
	o->ip_hl = (uint8_t)((h[0] & 0x0f) * 4);
	o->ip_tos = h[1];
	o->ip_len = get16(h + 2);
	o->ip_id = get16(h + 4);
	o->ip_frag = get16(h + 6);
	o->ip_ttl = h[8];
	o->ip_proto = h[9];
	o->ip_src = get32(h + 12);
	o->ip_dst = get32(h + 16);
	if (o->ip_hl < 20 || o->ip_hl > o->ip_len)
		return bad(why, whylen, "IHL %u, total length %u", o->ip_hl, o->ip_len);
	if (FR_ETH_HLEN + (size_t)o->ip_len > len)
		return bad(why, whylen, "IP total length %u > frame %zu", o->ip_len, len);
	if (fr_cksum(h, o->ip_hl))
		return bad(why, whylen, "IP header checksum wrong");
	o->l4_len = o->ip_len - o->ip_hl;
	if (o->ip_frag & (FR_IP_MF | 0x1fff)) {
		/* a fragment: the transport checksum covers the whole datagram */
		o->l4 = (o->ip_frag & 0x1fff) ? NULL : h + o->ip_hl;
		o->payload = h + o->ip_hl;
		o->plen = o->l4_len;
		return 0;
	}
	o->l4 = h + o->ip_hl;
	return parse_l4(o, why, whylen);
}

const char *fr_ip_str(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
	return buf;
}

/* ---- IPv6 ---- */

const uint8_t fr_gw_ip6[16] = { 0xfd, 0x00, 0x00, 0x02, [15] = 0x02 };
const uint8_t fr_guest_ip6[16] = { 0xfd, 0x00, 0x00, 0x02, [15] = 0x15 };
const uint8_t fr_gw_ll6[16] = { 0xfe, 0x80, [8] = 0x00, 0x73, 0x6e, 0xff, 0xfe, 0x00, 0x00, 0x01 };
const uint8_t fr_guest_ll6[16] = { 0xfe, 0x80, [8] = 0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34,
				   0x56 };
const uint8_t fr_ip6_unspec[16];
const uint8_t fr_ip6_allnodes[16] = { 0xff, 0x02, [15] = 0x01 };
const uint8_t fr_ip6_allrouters[16] = { 0xff, 0x02, [15] = 0x02 };
const uint8_t fr_ip6_dhcp6[16] = { 0xff, 0x02, [13] = 0x01, [15] = 0x02 };

void fr_ip6_solnode(const uint8_t addr[16], uint8_t out[16])
{
	static const uint8_t pfx[13] = { 0xff, 0x02, [11] = 0x01, 0xff };

	memcpy(out, pfx, 13);
	memcpy(out + 13, addr + 13, 3);
}

void fr_ip6_mcast_mac(const uint8_t group[16], uint8_t mac[6])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, group + 12, 4);
}

uint16_t fr_l4_cksum6(const uint8_t src[16], const uint8_t dst[16], uint8_t nexth,
		      const void *l4, size_t len)
{
	uint8_t ph[40];

	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	put32(ph + 32, (uint32_t)len);
	put32(ph + 36, nexth);		/* three zero bytes, then next header */
	return fr_fold(fr_sum(fr_sum(0, ph, sizeof(ph)), l4, len));
}

size_t fr_ip6_frame(uint8_t *buf, const uint8_t *dst_mac, const uint8_t src[16],
		    const uint8_t dst[16], uint8_t nexth, uint8_t hoplim, const void *l4,
		    size_t len)
{
	uint8_t mac[6], *h;

	if (!dst_mac && dst[0] == 0xff) {
		fr_ip6_mcast_mac(dst, mac);
		dst_mac = mac;
	}
	h = buf + fr_eth(buf, dst_mac ? dst_mac : fr_gw_mac, fr_guest_mac, FR_ETH_IP6);
	put32(h, 0x60000000u);		/* version 6, traffic class 0, flow 0 */
	put16(h + 4, (uint16_t)len);
	h[6] = nexth;
	h[7] = hoplim ? hoplim : 64;
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
	memmove(h + 40, l4, len);
	return FR_L4_OFF6 + len;
}

size_t fr_icmp6_frame(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16],
		      uint8_t hoplim, const void *msg, size_t len)
{
	uint8_t *m = buf + FR_L4_OFF6;

	memmove(m, msg, len);
	put16(m + 2, 0);
	put16(m + 2, fr_l4_cksum6(src, dst, FR_PROTO_ICMP6, m, len));
	return fr_ip6_frame(buf, NULL, src, dst, FR_PROTO_ICMP6, hoplim, m, len);
}

size_t fr_udp6_frame(uint8_t *buf, const uint8_t src[16], uint16_t sport, const uint8_t dst[16],
		     uint16_t dport, const void *data, size_t len)
{
	uint8_t *u = buf + FR_L4_OFF6;
	uint16_t sum;

	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + len));
	put16(u + 6, 0);
	memmove(u + 8, data, len);
	sum = fr_l4_cksum6(src, dst, FR_PROTO_UDP, u, 8 + len);
	put16(u + 6, sum ? sum : 0xffff);	/* RFC 8200 8.1: never zero */
	return fr_ip6_frame(buf, NULL, src, dst, FR_PROTO_UDP, 64, u, 8 + len);
}

const char *fr_ip6_str(const uint8_t addr[16], char buf[46])
{
	if (!inet_ntop(AF_INET6, addr, buf, 46))
		snprintf(buf, 46, "?");
	return buf;
}

/* ---- fragments ---- */

size_t fr_ip6_frag_frame(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16],
			 uint8_t nexth, uint32_t id, size_t off, int more, const void *data,
			 size_t len)
{
	uint8_t *f = buf + FR_L4_OFF6;

	memmove(f + 8, data, len);
	f[0] = nexth;
	f[1] = 0;
	put16(f + 2, (uint16_t)((off & 0xfff8) | (more ? 1 : 0)));
	put32(f + 4, id);
	return fr_ip6_frame(buf, NULL, src, dst, 44, 64, f, 8 + len);
}

int fr_reass_add(struct fr_reass *r, const struct fr_parsed *p)
{
	const uint8_t *data;
	size_t off, len, i, end;
	uint32_t id;
	int more;

	if (p->type == FR_ETH_IP4 && p->ip) {
		off = (size_t)(p->ip_frag & 0x1fff) * 8;
		more = !!(p->ip_frag & FR_IP_MF);
		id = p->ip_id;
		data = p->ip + p->ip_hl;
		len = p->l4_len;
	} else if (p->type == FR_ETH_IP6 && p->ip6 && p->ip6_frag) {
		uint16_t fo = get16(p->ip6 + 42);

		off = fo & 0xfff8;
		more = fo & 1;
		id = get32(p->ip6 + 44);
		data = p->ip6 + 48;
		len = (size_t)p->ip6_plen - 8;
	} else if (p->type == FR_ETH_IP6 && p->ip6) {
		off = 0;
		more = 0;
		id = 0;
		data = p->ip6 + 40;
		len = p->ip6_plen;
	} else {
		return -1;
	}
	if (r->started && id != r->id)
		return -1;
	if (off + len > sizeof(r->buf) || (more && (len % 8)))
		return -1;
	r->started = 1;
	r->id = id;
	r->n++;
	memcpy(r->buf + off, data, len);
	for (i = off / 8; i < (off + len + 7) / 8; i++)
		r->have[i] = 1;
	if (!more)
		r->total = off + len;
	if (!r->total)
		return 0;
	end = (r->total + 7) / 8;
	for (i = 0; i < end; i++)
		if (!r->have[i])
			return 0;
	return 1;
}
