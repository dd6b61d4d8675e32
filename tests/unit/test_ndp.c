// SPDX-License-Identifier: MIT
/**
 * DOC: test_ndp - neighbour discovery, router advertisements, DHCPv6, ping6
 *
 * The guest (fr_guest_mac, fd00:2::15, fe80::5054:ff:fe12:3456) asks the
 * gateway about its neighbours: a solicitation for any address is answered
 * with the gateway's MAC (proxy NDP), the guest's duplicate address
 * detection gets no answer, the gateway's own address is answered by lwIP.
 * A router solicitation gets a router advertisement with the prefix for
 * SLAAC, the MTU, the gateway as DNS server (RDNSS) and its MAC; RAs
 * repeat on their own once the guest speaks IPv6, and never before. A
 * DHCPv6 INFORMATION-REQUEST gets a REPLY naming the DNS server. Echo
 * requests to the gateway are answered. A DNS address of its own
 * (cfg.dns_ip6, slirp's fd00::3) is named by both, answered for with the
 * gateway's MAC and pinged like the gateway; with cfg.no_ipv6 the guest's
 * IPv6 gets no answer at all.
 *
 * When the engine needs the guest's MAC for a unicast reply, lwIP asks with
 * a neighbour solicitation: the test answers it as a guest would
 * (n_wait()).
 *
 * Messages are built and replies taken apart here, byte by byte from RFC
 * 4861, 4443, 8106 and 8415, carried in frames from frames.c; nothing is
 * shared with the engine.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define T_NS		135
#define T_NA		136
#define T_RS		133
#define T_RA		134
#define T_EREQ		128
#define T_EREP		129

#define D6_XID		0x5a17c0u

static uint8_t fb[FR_MAX];

/* fd00:2::3: the DNS forwarder's own address in setup_mtu() (slirp's fd00::3) */
static const uint8_t fr_dns_ip6[16] = { 0xfd, 0x00, 0x00, 0x02, [15] = 0x03 };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void ip6(const uint8_t a[16], int last, uint8_t out[16])
{
	memcpy(out, a, 16);
	out[15] = (uint8_t)last;
}

/* ---- matching ---- */

/**
 * struct m6 - what m6_match() compares
 * @nexth:	transport protocol
 * @icmp_type:	ICMPv6 type (with @nexth FR_PROTO_ICMP6)
 * @dport:	UDP destination port
 * @from_gw:	IPv6 source must be one of the gateway's addresses
 */
struct m6 {
	uint8_t nexth, icmp_type;
	uint16_t dport;
	int from_gw;
};

static int m6_match(const struct fr_parsed *p, const void *arg)
{
	const struct m6 *m = arg;

	if (p->type != FR_ETH_IP6 || !p->l4 || p->ip6_nexth != m->nexth)
		return 0;
	if (m->nexth == FR_PROTO_ICMP6 && p->icmp_type != m->icmp_type)
		return 0;
	if (m->dport && p->dport != m->dport)
		return 0;
	if (m->from_gw && memcmp(p->ip6_src, fr_gw_ll6, 16) && memcmp(p->ip6_src, fr_gw_ip6, 16))
		return 0;
	return 1;
}

/**
 * n_opt() - find an ND option in a message
 * @msg:	the ICMPv6 message
 * @len:	its length
 * @off:	where options start
 * @type:	option type
 *
 * Return: the option, or NULL; fails the test on a malformed option
 */
static const uint8_t *n_opt(const uint8_t *msg, size_t len, size_t off, uint8_t type)
{
	while (off < len) {
		ck_assert_msg(off + 2 <= len && msg[off + 1] && off + msg[off + 1] * 8u <= len,
			      "malformed ND option at %zu", off);
		if (msg[off] == type)
			return msg + off;
		off += msg[off + 1] * 8u;
	}
	return NULL;
}

/**
 * n_ns() - a neighbour solicitation
 * @m:		output, 32 bytes
 * @target:	address asked about
 * @sllao:	add the guest's source link-layer address option
 *
 * Return: message length
 */
static size_t n_ns(uint8_t *m, const uint8_t target[16], int sllao)
{
	memset(m, 0, 32);
	m[0] = T_NS;
	memcpy(m + 8, target, 16);
	if (!sllao)
		return 24;
	m[24] = 1;
	m[25] = 1;
	memcpy(m + 26, fr_guest_mac, 6);
	return 32;
}

/**
 * n_wait() - h_wait() that answers the gateway's neighbour solicitations
 * @pred:	predicate
 * @arg:	its argument
 * @ms:		bound
 *
 * Return: the frame, or NULL
 */
static const struct fr_parsed *n_wait(h_pred pred, const void *arg, int ms)
{
	const struct fr_parsed *p;

	H.answer_ns = 1;
	p = h_wait(pred, arg, ms);
	H.answer_ns = 0;
	return p;
}

/**
 * n_no_frame() - run a while and assert nothing was sent but answers to ND
 * @ms:		how long
 */
static void n_no_frame(int ms)
{
	h_run(ms);
	if (h_untaken()) {
		const struct fr_parsed *p = h_find(NULL, NULL);

		ck_abort_msg("%zu unexpected frames, first type %#x nexth %u icmp %u", h_untaken() + 1,
			     p->type, p->ip6_nexth, p->icmp_type);
	}
}

/**
 * n_guest_seen() - make the engine learn the guest MAC without any IPv6
 */
static void n_guest_seen(void)
{
	size_t len = fr_arp_request(fb, FR_GUEST_IP, FR_GW_IP);

	ck_assert_int_eq(h_send(fb, len), 0);
	ck_assert_ptr_nonnull(h_wait(NULL, NULL, H_WAIT_MS));	/* the ARP reply */
}

/* ---- neighbour discovery ---- */

START_TEST(proxy_ns_answered)
{
	static const struct m6 na = { .nexth = FR_PROTO_ICMP6, .icmp_type = T_NA };
	uint8_t target[16], group[16], m[32];
	const struct fr_parsed *p;
	const uint8_t *o;
	size_t len;

	ip6(fr_gw_ip6, 0x99, target);
	fr_ip6_solnode(target, group);
	len = fr_icmp6_frame(fb, fr_guest_ip6, group, 255, m, n_ns(m, target, 1));
	ck_assert_int_eq(h_send(fb, len), 0);
	p = n_wait(m6_match, &na, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no neighbour advertisement for fd00:2::99");
	ck_assert_int_eq(memcmp(p->dst_mac, fr_guest_mac, 6), 0);
	ck_assert_int_eq(memcmp(p->ip6_dst, fr_guest_ip6, 16), 0);
	ck_assert_int_eq(memcmp(p->ip6_src, fr_gw_ll6, 16), 0);
	ck_assert_uint_eq(p->ip6_hoplim, 255);
	ck_assert_uint_eq(p->icmp_code, 0);
	ck_assert_uint_ge(p->l4_len, 32);
	ck_assert_uint_eq(p->l4[4] & 0xe0, 0xe0);	/* router, solicited, override */
	ck_assert_int_eq(memcmp(p->l4 + 8, target, 16), 0);
	o = n_opt(p->l4, p->l4_len, 24, 2);
	ck_assert_msg(o != NULL, "no target link-layer address option");
	ck_assert_uint_eq(o[1], 1);
	ck_assert_int_eq(memcmp(o + 2, fr_gw_mac, 6), 0);
}
END_TEST

START_TEST(dad_unanswered)
{
	uint8_t group[16], m[32];
	size_t len;

	/* the guest probes its global and link-local addresses from :: */
	fr_ip6_solnode(fr_guest_ip6, group);
	len = fr_icmp6_frame(fb, fr_ip6_unspec, group, 255, m, n_ns(m, fr_guest_ip6, 0));
	ck_assert_int_eq(h_send(fb, len), 0);
	fr_ip6_solnode(fr_guest_ll6, group);
	len = fr_icmp6_frame(fb, fr_ip6_unspec, group, 255, m, n_ns(m, fr_guest_ll6, 0));
	ck_assert_int_eq(h_send(fb, len), 0);
	n_no_frame(300);
}
END_TEST

START_TEST(ns_gateway_answered)
{
	static const struct m6 na = { .nexth = FR_PROTO_ICMP6, .icmp_type = T_NA, .from_gw = 1 };
	uint8_t group[16], m[32];
	const struct fr_parsed *p;
	const uint8_t *o;
	size_t len;

	fr_ip6_solnode(fr_gw_ip6, group);
	len = fr_icmp6_frame(fb, fr_guest_ip6, group, 255, m, n_ns(m, fr_gw_ip6, 1));
	ck_assert_int_eq(h_send(fb, len), 0);
	p = n_wait(m6_match, &na, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no neighbour advertisement for the gateway");
	ck_assert_uint_eq(p->ip6_hoplim, 255);
	ck_assert_uint_ge(p->l4_len, 32);
	ck_assert_uint_eq(p->l4[4] & 0x40, 0x40);	/* solicited */
	ck_assert_int_eq(memcmp(p->l4 + 8, fr_gw_ip6, 16), 0);
	o = n_opt(p->l4, p->l4_len, 24, 2);
	ck_assert_msg(o != NULL, "no target link-layer address option");
	ck_assert_int_eq(memcmp(o + 2, fr_gw_mac, 6), 0);
}
END_TEST

/* ---- router advertisements ---- */

/**
 * n_send_rs() - a router solicitation
 * @src:	source (fr_ip6_unspec: no link-layer option)
 * @dst:	destination
 * @hoplim:	hop limit (255 is valid)
 * @sllao:	add the source link-layer address option
 */
static void n_send_rs(const uint8_t src[16], const uint8_t dst[16], uint8_t hoplim, int sllao)
{
	uint8_t m[16] = { T_RS };
	size_t len;

	if (sllao) {
		m[8] = 1;
		m[9] = 1;
		memcpy(m + 10, fr_guest_mac, 6);
	}
	len = fr_icmp6_frame(fb, src, dst, hoplim, m, sllao ? 16 : 8);
	ck_assert_int_eq(h_send(fb, len), 0);
}

static const struct m6 ra_m = { .nexth = FR_PROTO_ICMP6, .icmp_type = T_RA, .from_gw = 1 };

/**
 * n_check_ra() - assert an RA says what the configuration says
 * @p:		the RA frame
 * @mtu:	MTU expected
 * @dns:	DNS server expected (RDNSS)
 */
static void n_check_ra(const struct fr_parsed *p, unsigned mtu, const uint8_t dns[16])
{
	static const uint8_t allnodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	const uint8_t *ra = p->l4, *o;
	uint8_t prefix[16] = { 0xfd, 0x00, 0x00, 0x02 };

	ck_assert_int_eq(memcmp(p->dst_mac, allnodes_mac, 6), 0);
	ck_assert_int_eq(memcmp(p->ip6_dst, fr_ip6_allnodes, 16), 0);
	ck_assert_int_eq(memcmp(p->ip6_src, fr_gw_ll6, 16), 0);
	ck_assert_uint_eq(p->ip6_hoplim, 255);
	ck_assert_uint_eq(p->icmp_code, 0);
	ck_assert_uint_ge(p->l4_len, 16);
	ck_assert_uint_eq(ra[4], 64);			/* cur hop limit */
	ck_assert_uint_eq(ra[5] & 0xc0, 0x40);		/* M=0, O=1 */
	ck_assert_uint_ge(get16(ra + 6), 600);		/* a default router */

	o = n_opt(ra, p->l4_len, 16, 1);
	ck_assert_msg(o != NULL, "no source link-layer address option");
	ck_assert_int_eq(memcmp(o + 2, fr_gw_mac, 6), 0);

	o = n_opt(ra, p->l4_len, 16, 5);
	ck_assert_msg(o != NULL, "no MTU option");
	ck_assert_uint_eq(o[1], 1);
	ck_assert_uint_eq(get32(o + 4), mtu);

	o = n_opt(ra, p->l4_len, 16, 3);
	ck_assert_msg(o != NULL, "no prefix information option");
	ck_assert_uint_eq(o[1], 4);
	ck_assert_uint_eq(o[2], 64);
	ck_assert_uint_eq(o[3] & 0xc0, 0xc0);		/* on-link, autonomous */
	ck_assert_uint_gt(get32(o + 8), 0);		/* preferred */
	ck_assert_uint_ge(get32(o + 4), get32(o + 8));	/* valid >= preferred */
	ck_assert_int_eq(memcmp(o + 16, prefix, 16), 0);

	o = n_opt(ra, p->l4_len, 16, 25);
	ck_assert_msg(o != NULL, "no RDNSS option");
	ck_assert_uint_eq(o[1], 3);
	ck_assert_uint_gt(get32(o + 4), 0);
	ck_assert_int_eq(memcmp(o + 8, dns, 16), 0);
}

START_TEST(rs_gets_ra)
{
	const struct fr_parsed *p;

	n_send_rs(fr_guest_ll6, fr_ip6_allrouters, 255, 1);
	p = h_wait(m6_match, &ra_m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no router advertisement");
	n_check_ra(p, 1500, fr_gw_ip6);
	ck_assert_uint_eq(h_stats().ra_sent, 1);
}
END_TEST

START_TEST(rs_unspecified_source)
{
	const struct fr_parsed *p;

	n_send_rs(fr_ip6_unspec, fr_ip6_allrouters, 255, 0);
	p = h_wait(m6_match, &ra_m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no router advertisement");
	n_check_ra(p, 1500, fr_gw_ip6);
}
END_TEST

START_TEST(rs_invalid_dropped)
{
	uint64_t bad = h_stats().drop_malformed;
	uint8_t m[8] = { T_RS };
	size_t len;

	n_send_rs(fr_guest_ll6, fr_ip6_allrouters, 64, 1);	/* hop limit not 255 */
	n_send_rs(fr_ip6_unspec, fr_ip6_allrouters, 255, 1);	/* SLLAO from :: */
	len = fr_icmp6_frame(fb, fr_guest_ll6, fr_ip6_allrouters, 255, m, sizeof(m));
	fb[FR_L4_OFF6 + 2] ^= 0x55;				/* checksum */
	ck_assert_int_eq(h_send(fb, len), 0);
	m[1] = 1;						/* code */
	len = fr_icmp6_frame(fb, fr_guest_ll6, fr_ip6_allrouters, 255, m, sizeof(m));
	ck_assert_int_eq(h_send(fb, len), 0);
	n_no_frame(200);
	ck_assert_uint_eq(h_stats().drop_malformed, bad + 4);
	ck_assert_uint_eq(h_stats().ra_sent, 0);
}
END_TEST

START_TEST(ra_unsolicited_only_after_ipv6)
{
	const struct fr_parsed *p;
	int i;

	/* a guest that speaks only IPv4 never hears an RA */
	n_guest_seen();
	h_clock_advance(700000);
	n_no_frame(50);

	/* one that solicits gets the answer, then SN_RA_INITIAL_COUNT more
	 * about 10 s apart, then one every 600 s */
	n_send_rs(fr_guest_ll6, fr_ip6_allrouters, 255, 1);
	ck_assert_ptr_nonnull(h_wait(m6_match, &ra_m, H_WAIT_MS));
	for (i = 0; i < 3; i++) {
		h_clock_advance(9000);
		ck_assert_ptr_null(h_find(m6_match, &ra_m));
		h_clock_advance(1500);
		p = h_find(m6_match, &ra_m);
		ck_assert_msg(p != NULL, "no unsolicited RA %d", i + 1);
		n_check_ra(p, 1500, fr_gw_ip6);
	}
	h_clock_advance(590000);
	ck_assert_ptr_null(h_find(m6_match, &ra_m));
	h_clock_advance(11000);
	ck_assert_ptr_nonnull(h_find(m6_match, &ra_m));
	ck_assert_uint_eq(h_stats().ra_sent, 5);
	n_no_frame(20);
}
END_TEST

START_TEST(rs_flood_rate_limited)
{
	int i;

	for (i = 0; i < 20; i++)
		n_send_rs(fr_guest_ll6, fr_ip6_allrouters, 255, 1);
	ck_assert_ptr_nonnull(h_wait(m6_match, &ra_m, H_WAIT_MS));
	h_run(50);
	ck_assert_ptr_null(h_find(m6_match, &ra_m));
	/* the solicitations inside the delay are answered when it ends */
	h_clock_advance(3500);
	ck_assert_ptr_nonnull(h_find(m6_match, &ra_m));
	ck_assert_ptr_null(h_find(m6_match, &ra_m));
	ck_assert_uint_eq(h_stats().ra_sent, 2);
}
END_TEST

static void setup_mtu(void)
{
	struct sn_config cfg;

	h_config(&cfg);
	cfg.mtu = 9000;
	memcpy(&cfg.dns_ip6, fr_dns_ip6, 16);
	h_start(&cfg);
}

static void setup_no_ipv6(void)
{
	struct sn_config cfg;

	h_config(&cfg);
	cfg.no_ipv6 = 1;
	h_start(&cfg);
}

START_TEST(ra_mtu_follows_config)
{
	const struct fr_parsed *p;

	n_send_rs(fr_guest_ll6, fr_gw_ll6, 255, 1);	/* unicast to the router */
	p = h_wait(m6_match, &ra_m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no router advertisement");
	n_check_ra(p, 9000, fr_dns_ip6);
}
END_TEST

/* ---- DHCPv6 ---- */

/**
 * struct d6 - an INFORMATION-REQUEST (or other message) to build
 * @type:	message type (11: INFORMATION-REQUEST)
 * @serverid:	add a SERVERID of this DUID-LL MAC (NULL: none)
 * @ia_na:	add an IA_NA option
 * @no_clientid: leave the CLIENTID out
 */
struct d6 {
	uint8_t type;
	const uint8_t *serverid;
	int ia_na;
	int no_clientid;
};

/**
 * d6_build() - a DHCPv6 client message (RFC 8415 8, 21)
 * @m:		output
 * @d:		what to put in
 *
 * Return: message length
 */
static size_t d6_build(uint8_t *m, const struct d6 *d)
{
	size_t n = 4;

	m[0] = d->type;
	m[1] = (uint8_t)(D6_XID >> 16);
	m[2] = (uint8_t)(D6_XID >> 8);
	m[3] = (uint8_t)D6_XID;
	if (!d->no_clientid) {
		put16(m + n, 1);		/* CLIENTID: DUID-LL, Ethernet */
		put16(m + n + 2, 10);
		put16(m + n + 4, 3);
		put16(m + n + 6, 1);
		memcpy(m + n + 8, fr_guest_mac, 6);
		n += 14;
	}
	if (d->serverid) {
		put16(m + n, 2);
		put16(m + n + 2, 10);
		put16(m + n + 4, 3);
		put16(m + n + 6, 1);
		memcpy(m + n + 8, d->serverid, 6);
		n += 14;
	}
	if (d->ia_na) {
		put16(m + n, 3);		/* IA_NA: IAID, T1, T2 */
		put16(m + n + 2, 12);
		memset(m + n + 4, 0, 12);
		n += 16;
	}
	put16(m + n, 6);			/* ORO: DNS_SERVERS, DOMAIN_LIST */
	put16(m + n + 2, 4);
	put16(m + n + 4, 23);
	put16(m + n + 6, 24);
	n += 8;
	put16(m + n, 8);			/* ELAPSED_TIME */
	put16(m + n + 2, 2);
	put16(m + n + 4, 0);
	return n + 6;
}

static void d6_send(const struct d6 *d)
{
	uint8_t m[128];
	size_t len = fr_udp6_frame(fb, fr_guest_ll6, 546, fr_ip6_dhcp6, 547, m, d6_build(m, d));

	ck_assert_int_eq(h_send(fb, len), 0);
}

/**
 * d6_opt() - find a DHCPv6 option in a message
 * @msg:	message
 * @len:	its length
 * @code:	option code
 * @olen:	set to the option's length
 *
 * Return: the option's data, or NULL; fails the test on a malformed message
 */
static const uint8_t *d6_opt(const uint8_t *msg, size_t len, uint16_t code, uint16_t *olen)
{
	size_t off = 4;

	while (off < len) {
		uint16_t c, l;

		ck_assert_msg(off + 4 <= len, "option header truncated at %zu", off);
		c = get16(msg + off);
		l = get16(msg + off + 2);
		ck_assert_msg(off + 4 + l <= len, "option %u overruns the message", c);
		if (c == code) {
			*olen = l;
			return msg + off + 4;
		}
		off += 4 + (size_t)l;
	}
	return NULL;
}

static const struct m6 d6_reply_m = { .nexth = FR_PROTO_UDP, .dport = 546, .from_gw = 1 };

START_TEST(dhcp6_information_request)
{
	static const uint8_t server_duid[10] = { 0, 3, 0, 1, 0x02, 0x73, 0x6e, 0x00, 0x00, 0x01 };
	struct d6 d = { .type = 11 };
	const struct fr_parsed *p;
	const uint8_t *o;
	uint16_t olen;

	d6_send(&d);
	p = n_wait(m6_match, &d6_reply_m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no DHCPv6 reply");
	ck_assert_int_eq(memcmp(p->dst_mac, fr_guest_mac, 6), 0);
	ck_assert_int_eq(memcmp(p->ip6_dst, fr_guest_ll6, 16), 0);
	ck_assert_int_eq(memcmp(p->ip6_src, fr_gw_ll6, 16), 0);
	ck_assert_uint_eq(p->sport, 547);
	ck_assert_uint_ne(p->udp_csum, 0);
	ck_assert_uint_ge(p->plen, 4);
	ck_assert_uint_eq(p->payload[0], 7);		/* REPLY */
	ck_assert_uint_eq((uint32_t)p->payload[1] << 16 | p->payload[2] << 8 | p->payload[3],
			  D6_XID);
	o = d6_opt(p->payload, p->plen, 23, &olen);	/* DNS_SERVERS */
	ck_assert_msg(o != NULL, "no DNS_SERVERS option");
	ck_assert_uint_eq(olen, 16);
	ck_assert_int_eq(memcmp(o, fr_gw_ip6, 16), 0);
	o = d6_opt(p->payload, p->plen, 1, &olen);	/* CLIENTID echoed */
	ck_assert_msg(o != NULL && olen == 10 && !memcmp(o + 4, fr_guest_mac, 6),
		      "CLIENTID not echoed");
	o = d6_opt(p->payload, p->plen, 2, &olen);	/* SERVERID: DUID-LL */
	ck_assert_msg(o != NULL && olen == 10 && !memcmp(o, server_duid, 10), "SERVERID wrong");
	ck_assert_uint_eq(h_stats().dhcp6_replies, 1);

	/* asking this server by its DUID gets the same answer */
	d.serverid = fr_gw_mac;
	d6_send(&d);
	ck_assert_ptr_nonnull(n_wait(m6_match, &d6_reply_m, H_WAIT_MS));
	ck_assert_uint_eq(h_stats().dhcp6_replies, 2);
}
END_TEST

START_TEST(dhcp6_not_served)
{
	static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct d6 solicit = { .type = 1, .ia_na = 1 };
	struct d6 other_server = { .type = 11, .serverid = other };
	struct d6 with_ia = { .type = 11, .ia_na = 1 };
	uint64_t unsup = h_stats().drop_unsupported, bad = h_stats().drop_malformed;
	uint8_t m[128];
	size_t len, n;

	d6_send(&solicit);
	d6_send(&other_server);
	d6_send(&with_ia);
	/* wrong UDP checksum */
	n = d6_build(m, &(struct d6){ .type = 11 });
	len = fr_udp6_frame(fb, fr_guest_ll6, 546, fr_ip6_dhcp6, 547, m, n);
	fb[FR_L4_OFF6 + 6] ^= 0x01;
	ck_assert_int_eq(h_send(fb, len), 0);
	/* an option running past the end */
	m[7] = 200;
	len = fr_udp6_frame(fb, fr_guest_ll6, 546, fr_ip6_dhcp6, 547, m, n);
	ck_assert_int_eq(h_send(fb, len), 0);
	/* shorter than the header */
	len = fr_udp6_frame(fb, fr_guest_ll6, 546, fr_ip6_dhcp6, 547, m, 3);
	ck_assert_int_eq(h_send(fb, len), 0);
	n_no_frame(200);
	ck_assert_uint_eq(h_stats().drop_unsupported, unsup + 2);
	ck_assert_uint_eq(h_stats().drop_malformed, bad + 4);
	ck_assert_uint_eq(h_stats().dhcp6_replies, 0);
}
END_TEST

/* ---- the DNS forwarder's own address (cfg.dns_ip6), no IPv6 at all ---- */

START_TEST(dns_address_is_the_gateways)
{
	static const struct m6 rep = { .nexth = FR_PROTO_ICMP6, .icmp_type = T_EREP };
	static const struct m6 na = { .nexth = FR_PROTO_ICMP6, .icmp_type = T_NA };
	struct d6 d = { .type = 11 };
	uint8_t group[16], m[32] = { T_EREQ };
	const struct fr_parsed *p;
	const uint8_t *o;
	uint64_t spoofed = h_stats().drop_spoofed;
	uint16_t olen;
	size_t len;

	/* DHCPv6 names it */
	d6_send(&d);
	p = n_wait(m6_match, &d6_reply_m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no DHCPv6 reply");
	o = d6_opt(p->payload, p->plen, 23, &olen);
	ck_assert_msg(o != NULL && olen == 16, "no DNS_SERVERS option");
	ck_assert_int_eq(memcmp(o, fr_dns_ip6, 16), 0);

	/* echo, and a solicitation for it answered with the gateway's MAC */
	put16(m + 4, 0x5151);
	len = fr_icmp6_frame(fb, fr_guest_ip6, fr_dns_ip6, 64, m, 8);
	ck_assert_int_eq(h_send(fb, len), 0);
	p = n_wait(m6_match, &rep, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no echo reply from the DNS address");
	ck_assert_int_eq(memcmp(p->ip6_src, fr_dns_ip6, 16), 0);
	ck_assert_uint_eq(p->icmp_id, 0x5151);

	fr_ip6_solnode(fr_dns_ip6, group);
	len = fr_icmp6_frame(fb, fr_guest_ip6, group, 255, m, n_ns(m, fr_dns_ip6, 1));
	ck_assert_int_eq(h_send(fb, len), 0);
	p = n_wait(m6_match, &na, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no neighbour advertisement for the DNS address");
	ck_assert_int_eq(memcmp(p->l4 + 8, fr_dns_ip6, 16), 0);
	o = n_opt(p->l4, p->l4_len, 24, 2);
	ck_assert_msg(o != NULL, "no target link-layer address option");
	ck_assert_int_eq(memcmp(o + 2, fr_gw_mac, 6), 0);

	/* a guest using it as its source: spoofed, though in the prefix */
	memset(m, 0, sizeof(m));
	m[0] = T_EREQ;
	len = fr_icmp6_frame(fb, fr_dns_ip6, fr_gw_ip6, 64, m, 8);
	h_send(fb, len);
	n_no_frame(200);
	ck_assert_uint_eq(h_stats().drop_spoofed, spoofed + 1);
}
END_TEST

START_TEST(no_ipv6_silent)
{
	uint8_t m[8] = { T_EREQ };
	uint64_t unsup = h_stats().drop_unsupported;
	size_t len;

	n_send_rs(fr_guest_ll6, fr_ip6_allrouters, 255, 1);
	len = fr_icmp6_frame(fb, fr_guest_ip6, fr_gw_ip6, 64, m, sizeof(m));
	ck_assert_int_eq(h_send(fb, len), 0);
	n_no_frame(300);
	h_clock_advance(60000);		/* no unsolicited RA either */
	n_no_frame(100);
	ck_assert_uint_eq(h_stats().drop_unsupported, unsup + 2);
	ck_assert_uint_eq(h_stats().ra_sent, 0);
}
END_TEST

/* ---- echo ---- */

START_TEST(ping6_gateway)
{
	static const struct m6 rep = { .nexth = FR_PROTO_ICMP6, .icmp_type = T_EREP, .from_gw = 1 };
	uint8_t m[8 + 32] = { T_EREQ };
	const struct fr_parsed *p;
	size_t len;

	put16(m + 4, 0x1234);
	put16(m + 6, 7);
	memset(m + 8, 0xa5, 32);
	len = fr_icmp6_frame(fb, fr_guest_ip6, fr_gw_ip6, 64, m, sizeof(m));
	ck_assert_int_eq(h_send(fb, len), 0);
	p = n_wait(m6_match, &rep, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no echo reply");
	ck_assert_int_eq(memcmp(p->ip6_src, fr_gw_ip6, 16), 0);
	ck_assert_int_eq(memcmp(p->ip6_dst, fr_guest_ip6, 16), 0);
	ck_assert_uint_eq(p->icmp_id, 0x1234);
	ck_assert_uint_eq(p->icmp_seq, 7);
	ck_assert_uint_eq(p->plen, 32);
	ck_assert_uint_eq(p->payload[31], 0xa5);
}
END_TEST

START_TEST(slaac_source_accepted)
{
	static const struct m6 rep = { .nexth = FR_PROTO_ICMP6, .icmp_type = T_EREP, .from_gw = 1 };
	/* EUI-64 of fr_guest_mac in fd00:2::/64, as SLAAC makes it */
	static const uint8_t slaac[16] = { 0xfd, 0x00, 0x00, 0x02, [8] = 0x50, 0x54, 0x00, 0xff,
					   0xfe, 0x12, 0x34, 0x56 };
	static const uint8_t outside[16] = { 0xfd, 0x00, 0x00, 0x03, [15] = 0x15 };
	uint8_t m[8] = { T_EREQ };
	const struct fr_parsed *p;
	uint64_t spoofed = h_stats().drop_spoofed;
	size_t len;

	put16(m + 4, 0x4242);
	len = fr_icmp6_frame(fb, slaac, fr_gw_ip6, 64, m, sizeof(m));
	ck_assert_int_eq(h_send(fb, len), 0);
	p = n_wait(m6_match, &rep, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no echo reply to the SLAAC address");
	ck_assert_int_eq(memcmp(p->ip6_dst, slaac, 16), 0);
	ck_assert_uint_eq(p->icmp_id, 0x4242);

	/* outside the prefix, or the gateway's own address: spoofed */
	len = fr_icmp6_frame(fb, outside, fr_gw_ip6, 64, m, sizeof(m));
	h_send(fb, len);
	len = fr_icmp6_frame(fb, fr_gw_ip6, fr_gw_ip6, 64, m, sizeof(m));
	h_send(fb, len);
	n_no_frame(200);
	ck_assert_uint_eq(h_stats().drop_spoofed, spoofed + 2);
}
END_TEST

static Suite *ndp_suite(void)
{
	Suite *s = suite_create("ndp");
	TCase *tc;

	tc = tcase_create("neighbour");
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_test(tc, proxy_ns_answered);
	tcase_add_test(tc, dad_unanswered);
	tcase_add_test(tc, ns_gateway_answered);
	tcase_add_test(tc, ping6_gateway);
	tcase_add_test(tc, slaac_source_accepted);
	suite_add_tcase(s, tc);

	tc = tcase_create("router");
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_test(tc, rs_gets_ra);
	tcase_add_test(tc, rs_unspecified_source);
	tcase_add_test(tc, rs_invalid_dropped);
	tcase_add_test(tc, ra_unsolicited_only_after_ipv6);
	tcase_add_test(tc, rs_flood_rate_limited);
	suite_add_tcase(s, tc);

	tc = tcase_create("router-config");
	tcase_add_checked_fixture(tc, setup_mtu, h_teardown);
	tcase_add_test(tc, ra_mtu_follows_config);
	tcase_add_test(tc, dns_address_is_the_gateways);
	suite_add_tcase(s, tc);

	tc = tcase_create("no-ipv6");
	tcase_add_checked_fixture(tc, setup_no_ipv6, h_teardown);
	tcase_add_test(tc, no_ipv6_silent);
	suite_add_tcase(s, tc);

	tc = tcase_create("dhcp6");
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_test(tc, dhcp6_information_request);
	tcase_add_test(tc, dhcp6_not_served);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ndp_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
