// SPDX-License-Identifier: MIT
/**
 * DOC: test_dhcp - the DHCPv4 server on the guest link
 *
 * The guest (fr_guest_mac) runs through a client's life: DISCOVER from
 * 0.0.0.0 to the broadcast address gets an OFFER of 10.0.2.15 with the
 * mask, router, DNS server, MTU, lease time and server identifier;
 * REQUEST (selecting, init-reboot) gets an ACK, or a NAK for another
 * address; renewal (unicast to the gateway, ciaddr set) and rebinding
 * (broadcast, ciaddr set) get an ACK unicast to ciaddr; INFORM gets the
 * parameters without a lease. Replies go where RFC 2131 4.1 says: broadcast
 * for a NAK or when the client sets the broadcast flag, else unicast to the
 * guest's MAC and address. Malformed messages are counted and unanswered.
 *
 * Messages are built and replies taken apart here, byte by byte from RFC
 * 2131/2132, carried in frames from frames.c; nothing is shared with the
 * server.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define D_BCAST		0xffffffffu
#define D_ANY		0u
#define D_XID		0x5a17c0deu
#define D_COOKIE	0x63825363u
#define D_OPTS		240		/* options start: 236-byte header + cookie */

enum { DISCOVER = 1, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM };

static uint8_t fb[FR_MAX];

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

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/**
 * struct d_msg - a client message to build
 * @type:	option 53 (0: left out)
 * @ciaddr:	client address
 * @flags:	flags (0x8000: broadcast)
 * @req_ip:	option 50 (0: left out)
 * @server_id:	option 54 (0: left out)
 * @giaddr:	relay agent address
 * @chaddr:	client MAC (NULL: fr_guest_mac)
 */
struct d_msg {
	uint8_t type;
	uint32_t ciaddr;
	uint16_t flags;
	uint32_t req_ip, server_id, giaddr;
	const uint8_t *chaddr;
};

/**
 * d_build() - a BOOTREQUEST with DHCP options (RFC 2131 2, RFC 2132)
 * @m:		output, at least 300 bytes
 * @d:		fields
 *
 * Options: message type, client identifier (type 1 + MAC), requested IP,
 * server identifier, parameter request list, END; padded to 300 bytes.
 *
 * Return: message length
 */
static size_t d_build(uint8_t *m, const struct d_msg *d)
{
	static const uint8_t prl[] = { 1, 3, 6, 15, 26, 28, 51, 54 };
	const uint8_t *mac = d->chaddr ? d->chaddr : fr_guest_mac;
	size_t n = D_OPTS;

	memset(m, 0, 300);
	m[0] = 1;			/* BOOTREQUEST */
	m[1] = 1;			/* Ethernet */
	m[2] = 6;
	put32(m + 4, D_XID);
	put16(m + 10, d->flags);
	put32(m + 12, d->ciaddr);
	put32(m + 24, d->giaddr);
	memcpy(m + 28, mac, 6);
	put32(m + 236, D_COOKIE);
	if (d->type) {
		m[n++] = 53;
		m[n++] = 1;
		m[n++] = d->type;
	}
	m[n++] = 61;
	m[n++] = 7;
	m[n++] = 1;
	memcpy(m + n, mac, 6);
	n += 6;
	if (d->req_ip) {
		m[n++] = 50;
		m[n++] = 4;
		put32(m + n, d->req_ip);
		n += 4;
	}
	if (d->server_id) {
		m[n++] = 54;
		m[n++] = 4;
		put32(m + n, d->server_id);
		n += 4;
	}
	m[n++] = 55;
	m[n++] = sizeof(prl);
	memcpy(m + n, prl, sizeof(prl));
	n += sizeof(prl);
	m[n++] = 255;
	return n < 300 ? 300 : n;
}

/**
 * d_send() - send a client message in a UDP datagram 68 -> 67
 * @src:	IP source (0.0.0.0 or the guest)
 * @dst:	IP destination (255.255.255.255 or the gateway)
 * @m:		message
 * @len:	its length
 *
 * The Ethernet destination is the broadcast MAC for the broadcast
 * address, else the gateway's.
 */
static void d_send(uint32_t src, uint32_t dst, const uint8_t *m, size_t len)
{
	size_t n = fr_udp_frame(fb, src, 68, dst, 67, m, len);

	if (dst == D_BCAST)
		memcpy(fb, fr_bcast_mac, 6);
	h_send(fb, n);
}

/**
 * d_send_msg() - build and send a client message
 * @src:	IP source
 * @dst:	IP destination
 * @d:		fields
 */
static void d_send_msg(uint32_t src, uint32_t dst, const struct d_msg *d)
{
	uint8_t m[600];

	d_send(src, dst, m, d_build(m, d));
}

/**
 * struct d_reply - a server reply taken apart
 * @p:		the frame
 * @yiaddr:	yiaddr
 * @ciaddr:	ciaddr
 * @opt:	value of each option present (NULL if absent)
 * @olen:	its length
 */
struct d_reply {
	const struct fr_parsed *p;
	uint32_t yiaddr, ciaddr;
	const uint8_t *opt[256];
	uint8_t olen[256];
};

/**
 * is_dhcp_reply() - h_pred: a UDP datagram from port 67 to port 68
 * @p:		captured frame
 * @arg:	unused
 *
 * Return: 1 if it is one
 */
static int is_dhcp_reply(const struct fr_parsed *p, const void *arg)
{
	(void)arg;
	return p->type == FR_ETH_IP4 && p->ip_proto == FR_PROTO_UDP && p->sport == 67 &&
	       p->dport == 68;
}

/**
 * d_wait() - wait for the server's reply and check its fixed part
 * @r:		filled
 *
 * Checks: from the gateway's 10.0.2.2:67, a BOOTREPLY of at least 300 and
 * at most 548 bytes, Ethernet/6, our xid and chaddr, the cookie, options
 * well formed up to END.
 */
static void d_wait(struct d_reply *r)
{
	const uint8_t *m;
	size_t i, len;

	memset(r, 0, sizeof(*r));
	r->p = h_wait(is_dhcp_reply, NULL, H_WAIT_MS);
	ck_assert_msg(r->p != NULL, "no DHCP reply");
	m = r->p->payload;
	len = r->p->plen;
	ck_assert_uint_eq(r->p->ip_src, FR_GW_IP);
	ck_assert_uint_ge(len, 300);
	ck_assert_uint_le(len, 548);
	ck_assert_uint_eq(m[0], 2);
	ck_assert_uint_eq(m[1], 1);
	ck_assert_uint_eq(m[2], 6);
	ck_assert_uint_eq(get32(m + 4), D_XID);
	ck_assert_mem_eq(m + 28, fr_guest_mac, 6);
	ck_assert_uint_eq(get32(m + 236), D_COOKIE);
	r->ciaddr = get32(m + 12);
	r->yiaddr = get32(m + 16);
	ck_assert_uint_eq(get32(m + 24), 0);		/* giaddr */
	for (i = D_OPTS; i < len && m[i] != 255;) {
		if (m[i] == 0) {
			i++;
			continue;
		}
		ck_assert_msg(i + 2 <= len && i + 2 + m[i + 1] <= len, "option %u overruns", m[i]);
		ck_assert_msg(r->opt[m[i]] == NULL, "option %u twice", m[i]);
		r->opt[m[i]] = m + i + 2;
		r->olen[m[i]] = m[i + 1];
		i += 2 + (size_t)m[i + 1];
	}
	ck_assert_msg(i < len, "no END option");
}

/**
 * d_opt32() - a 4-byte option's value, asserting it is present and 4 bytes
 * @r:		reply
 * @code:	option
 *
 * Return: the value
 */
static uint32_t d_opt32(const struct d_reply *r, uint8_t code)
{
	ck_assert_msg(r->opt[code] != NULL, "option %u missing", code);
	ck_assert_uint_eq(r->olen[code], 4);
	return get32(r->opt[code]);
}

/**
 * d_type() - the reply's message type (option 53), asserting it is there
 * @r:		reply
 *
 * Return: the type
 */
static uint8_t d_type(const struct d_reply *r)
{
	ck_assert_msg(r->opt[53] != NULL, "no message type");
	ck_assert_uint_eq(r->olen[53], 1);
	return r->opt[53][0];
}

/**
 * d_check_params() - the configuration every OFFER and ACK carries
 * @r:		reply
 * @mask:	expected subnet mask
 * @bcast:	expected broadcast address
 * @mtu:	expected MTU
 * @dns:	expected DNS server
 */
static void d_check_params(const struct d_reply *r, uint32_t mask, uint32_t bcast, unsigned mtu,
			   uint32_t dns)
{
	ck_assert_uint_eq(d_opt32(r, 1), mask);
	ck_assert_uint_eq(d_opt32(r, 3), FR_GW_IP);
	ck_assert_uint_eq(d_opt32(r, 6), dns);
	ck_assert_uint_eq(d_opt32(r, 28), bcast);
	ck_assert_uint_eq(d_opt32(r, 54), FR_GW_IP);
	ck_assert_msg(r->opt[26] != NULL, "no MTU option");
	ck_assert_uint_eq(r->olen[26], 2);
	ck_assert_uint_eq((unsigned)(r->opt[26][0] << 8 | r->opt[26][1]), mtu);
	/* client identifier echoed (RFC 6842) */
	ck_assert_msg(r->opt[61] != NULL, "client identifier not echoed");
	ck_assert_uint_eq(r->olen[61], 7);
	ck_assert_uint_eq(r->opt[61][0], 1);
	ck_assert_mem_eq(r->opt[61] + 1, fr_guest_mac, 6);
}

/**
 * d_check_lease() - lease time 3600 s, T1 and T2 in order below it
 * @r:		reply
 */
static void d_check_lease(const struct d_reply *r)
{
	uint32_t lease = d_opt32(r, 51), t1 = d_opt32(r, 58), t2 = d_opt32(r, 59);

	ck_assert_uint_eq(lease, 3600);
	ck_assert_uint_gt(t1, 0);
	ck_assert_uint_lt(t1, t2);
	ck_assert_uint_lt(t2, lease);
}

/* unicast: to the guest's MAC and the given address */
static void d_check_unicast(const struct d_reply *r, uint32_t to)
{
	ck_assert_mem_eq(r->p->dst_mac, fr_guest_mac, 6);
	ck_assert_uint_eq(r->p->ip_dst, to);
}

static void d_check_broadcast(const struct d_reply *r)
{
	ck_assert_mem_eq(r->p->dst_mac, fr_bcast_mac, 6);
	ck_assert_uint_eq(r->p->ip_dst, D_BCAST);
}

/* no DHCP reply comes, within a short run of the loop */
static void d_no_reply(void)
{
	h_run(30);
	ck_assert_msg(h_find(is_dhcp_reply, NULL) == NULL, "unexpected DHCP reply");
}

START_TEST(discover_offer)
{
	struct d_msg d = { .type = DISCOVER };
	struct d_reply r;

	d_send_msg(D_ANY, D_BCAST, &d);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), OFFER);
	ck_assert_uint_eq(r.yiaddr, FR_GUEST_IP);
	ck_assert_uint_eq(r.ciaddr, 0);
	/* broadcast flag clear: unicast to yiaddr at chaddr (RFC 2131 4.1) */
	d_check_unicast(&r, FR_GUEST_IP);
	d_check_params(&r, FR_IP(255, 255, 255, 0), FR_IP(10, 0, 2, 255), 1500, FR_GW_IP);
	d_check_lease(&r);
	ck_assert_uint_eq(h_stats().dhcp_offers, 1);
	ck_assert_uint_eq(h_stats().drop_malformed, 0);
	ck_assert_uint_eq(h_stats().drop_spoofed, 0);
}
END_TEST

START_TEST(discover_broadcast_flag)
{
	struct d_msg d = { .type = DISCOVER, .flags = 0x8000, .req_ip = FR_IP(10, 0, 2, 77) };
	struct d_reply r;

	d_send_msg(D_ANY, D_BCAST, &d);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), OFFER);
	/* whatever it asks for, the guest address is offered */
	ck_assert_uint_eq(r.yiaddr, FR_GUEST_IP);
	d_check_broadcast(&r);
	ck_assert_uint_eq(r.p->payload[10], 0x80);	/* flags echoed */
}
END_TEST

START_TEST(request_selecting_ack)
{
	struct d_msg d = { .type = REQUEST, .req_ip = FR_GUEST_IP, .server_id = FR_GW_IP };
	struct d_reply r;

	d_send_msg(D_ANY, D_BCAST, &d);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), ACK);
	ck_assert_uint_eq(r.yiaddr, FR_GUEST_IP);
	d_check_unicast(&r, FR_GUEST_IP);
	d_check_params(&r, FR_IP(255, 255, 255, 0), FR_IP(10, 0, 2, 255), 1500, FR_GW_IP);
	d_check_lease(&r);
	ck_assert_uint_eq(h_stats().dhcp_acks, 1);
	ck_assert_uint_eq(h_stats().dhcp_naks, 0);
}
END_TEST

START_TEST(request_other_address_nak)
{
	struct d_msg d = { .type = REQUEST, .req_ip = FR_IP(10, 0, 2, 99), .server_id = FR_GW_IP };
	struct d_reply r;

	d_send_msg(D_ANY, D_BCAST, &d);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), NAK);
	ck_assert_uint_eq(r.yiaddr, 0);
	ck_assert_uint_eq(d_opt32(&r, 54), FR_GW_IP);
	ck_assert_ptr_null(r.opt[51]);
	ck_assert_ptr_null(r.opt[3]);
	/* a NAK is always broadcast */
	d_check_broadcast(&r);
	ck_assert_uint_eq(h_stats().dhcp_naks, 1);
	ck_assert_uint_eq(h_stats().dhcp_acks, 0);
}
END_TEST

START_TEST(request_init_reboot)
{
	struct d_msg ok = { .type = REQUEST, .req_ip = FR_GUEST_IP };
	struct d_msg other = { .type = REQUEST, .req_ip = FR_IP(192, 168, 1, 20) };
	struct d_reply r;

	d_send_msg(D_ANY, D_BCAST, &ok);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), ACK);
	ck_assert_uint_eq(r.yiaddr, FR_GUEST_IP);

	d_send_msg(D_ANY, D_BCAST, &other);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), NAK);
	d_check_broadcast(&r);
}
END_TEST

START_TEST(request_other_server_ignored)
{
	struct d_msg d = { .type = REQUEST, .req_ip = FR_GUEST_IP,
			   .server_id = FR_IP(10, 0, 2, 3) };
	struct sn_stats st;

	d_send_msg(D_ANY, D_BCAST, &d);
	d_no_reply();
	st = h_stats();
	ck_assert_uint_eq(st.dhcp_acks + st.dhcp_naks, 0);
	ck_assert_uint_eq(st.drop_malformed + st.drop_spoofed + st.drop_unsupported, 0);
}
END_TEST

START_TEST(renew_unicast)
{
	struct d_msg d = { .type = REQUEST, .ciaddr = FR_GUEST_IP };
	struct d_reply r;

	/* RENEWING: unicast to the server, from the leased address */
	d_send_msg(FR_GUEST_IP, FR_GW_IP, &d);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), ACK);
	ck_assert_uint_eq(r.yiaddr, FR_GUEST_IP);
	ck_assert_uint_eq(r.ciaddr, FR_GUEST_IP);
	d_check_unicast(&r, FR_GUEST_IP);
	d_check_lease(&r);
	ck_assert_uint_eq(h_stats().dhcp_acks, 1);
	ck_assert_uint_eq(h_stats().udp_sessions, 0);	/* not relayed to the host */
}
END_TEST

START_TEST(rebind_broadcast)
{
	struct d_msg d = { .type = REQUEST, .ciaddr = FR_GUEST_IP, .flags = 0x8000 };
	struct d_reply r;

	/* REBINDING: broadcast from the leased address; ciaddr set, so the
	 * reply is unicast to it even with the broadcast flag */
	d_send_msg(FR_GUEST_IP, D_BCAST, &d);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), ACK);
	d_check_unicast(&r, FR_GUEST_IP);
}
END_TEST

START_TEST(renew_wrong_address_nak)
{
	struct d_msg d = { .type = REQUEST, .ciaddr = FR_IP(10, 0, 2, 16) };
	struct d_reply r;

	d_send_msg(FR_GUEST_IP, FR_GW_IP, &d);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), NAK);
	d_check_broadcast(&r);
}
END_TEST

START_TEST(inform_ack_without_lease)
{
	struct d_msg d = { .type = INFORM, .ciaddr = FR_GUEST_IP };
	struct d_reply r;

	d_send_msg(FR_GUEST_IP, FR_GW_IP, &d);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), ACK);
	ck_assert_uint_eq(r.yiaddr, 0);
	ck_assert_uint_eq(r.ciaddr, FR_GUEST_IP);
	ck_assert_ptr_null(r.opt[51]);
	ck_assert_ptr_null(r.opt[58]);
	d_check_unicast(&r, FR_GUEST_IP);
	d_check_params(&r, FR_IP(255, 255, 255, 0), FR_IP(10, 0, 2, 255), 1500, FR_GW_IP);
}
END_TEST

START_TEST(release_and_decline_accepted)
{
	struct d_msg rel = { .type = RELEASE, .ciaddr = FR_GUEST_IP, .server_id = FR_GW_IP };
	struct d_msg dec = { .type = DECLINE, .req_ip = FR_GUEST_IP, .server_id = FR_GW_IP };
	struct d_msg dis = { .type = DISCOVER };
	struct d_reply r;
	struct sn_stats st;

	d_send_msg(FR_GUEST_IP, FR_GW_IP, &rel);
	d_send_msg(D_ANY, D_BCAST, &dec);
	d_no_reply();
	st = h_stats();
	ck_assert_uint_eq(st.drop_malformed + st.drop_spoofed + st.drop_unsupported, 0);
	/* and the address is offered again */
	d_send_msg(D_ANY, D_BCAST, &dis);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), OFFER);
	ck_assert_uint_eq(r.yiaddr, FR_GUEST_IP);
}
END_TEST

START_TEST(overloaded_file_field)
{
	struct d_msg d = { .type = 0 };
	uint8_t m[600];
	size_t len = d_build(m, &d);
	struct d_reply r;

	/* option 52 = 1: the message type is in the file field (RFC 2132 9.3) */
	m[D_OPTS] = 52;
	m[D_OPTS + 1] = 1;
	m[D_OPTS + 2] = 1;
	m[D_OPTS + 3] = 255;
	m[108] = 53;
	m[109] = 1;
	m[110] = DISCOVER;
	m[111] = 255;
	d_send(D_ANY, D_BCAST, m, len);
	d_wait(&r);
	ck_assert_uint_eq(d_type(&r), OFFER);
}
END_TEST

/* Config from the engine's own settings: prefix, MTU, a DNS address of its own */
static void setup_custom(void)
{
	struct sn_config cfg;

	h_config(&cfg);
	cfg.prefix_len4 = 16;
	cfg.mtu = 9000;
	cfg.dns_ip4.s_addr = htonl(FR_IP(10, 0, 2, 3));
	h_start(&cfg);
}

START_TEST(params_follow_config)
{
	struct d_msg d = { .type = DISCOVER };
	struct d_reply r;

	d_send_msg(D_ANY, D_BCAST, &d);
	d_wait(&r);
	d_check_params(&r, FR_IP(255, 255, 0, 0), FR_IP(10, 0, 255, 255), 9000, FR_IP(10, 0, 2, 3));
}
END_TEST

/* ---- malformed and unwanted messages: counted, never answered ---- */

enum bad_kind {
	BAD_COOKIE, BAD_OP, BAD_HTYPE, BAD_HLEN, BAD_SHORT, BAD_OPT_NO_LEN, BAD_OPT_PAST_END,
	BAD_NO_END, BAD_NO_TYPE, BAD_TYPE_LEN, BAD_REQ_IP_LEN, BAD_OVERLOAD_VALUE,
	BAD_UDP_CSUM, BAD_UDP_LEN, BAD_REQUEST_NO_ADDR, BAD_COUNT
};

/**
 * bad_send() - send one kind of malformed DISCOVER or REQUEST
 * @kind:	what is wrong
 */
static void bad_send(enum bad_kind kind)
{
	struct d_msg d = { .type = DISCOVER };
	uint8_t m[600];
	size_t len, n;

	if (kind == BAD_NO_TYPE)
		d.type = 0;
	if (kind == BAD_REQUEST_NO_ADDR)
		d.type = REQUEST;
	len = d_build(m, &d);
	switch (kind) {
	case BAD_COOKIE:
		m[239] ^= 1;
		break;
	case BAD_OP:
		m[0] = 2;
		break;
	case BAD_HTYPE:
		m[1] = 6;
		break;
	case BAD_HLEN:
		m[2] = 16;
		break;
	case BAD_SHORT:
		len = 239;		/* not even the cookie */
		break;
	case BAD_OPT_NO_LEN:
		/* the message ends on an option code, its length byte cut off */
		len = D_OPTS + 3 + 1;
		m[D_OPTS + 3] = 61;
		break;
	case BAD_OPT_PAST_END:
		/* message type, then an option claiming more than is left */
		len = D_OPTS + 3 + 6;
		m[D_OPTS + 3] = 12;
		m[D_OPTS + 4] = 200;
		break;
	case BAD_NO_END:
		len = D_OPTS + 3;	/* message type, then nothing */
		break;
	case BAD_TYPE_LEN:
		m[D_OPTS + 1] = 2;	/* type option of 2 bytes: eats 61's code */
		break;
	case BAD_REQ_IP_LEN:
		n = D_OPTS + 3;
		m[n] = 50;		/* requested IP of 3 bytes */
		m[n + 1] = 3;
		m[n + 2] = 10;
		m[n + 3] = 0;
		m[n + 4] = 2;
		m[n + 5] = 255;
		break;
	case BAD_OVERLOAD_VALUE:
		n = D_OPTS + 3;
		m[n] = 52;
		m[n + 1] = 1;
		m[n + 2] = 4;
		m[n + 3] = 255;
		break;
	default:
		break;
	}
	n = fr_udp_frame(fb, D_ANY, 68, D_BCAST, 67, m, len);
	memcpy(fb, fr_bcast_mac, 6);
	if (kind == BAD_UDP_CSUM)
		fb[FR_L4_OFF + 7] ^= 0x55;
	if (kind == BAD_UDP_LEN) {
		/* UDP length beyond the IP payload */
		fb[FR_L4_OFF + 4] = (uint8_t)((len + 8 + 4) >> 8);
		fb[FR_L4_OFF + 5] = (uint8_t)(len + 8 + 4);
		fr_fix_l4_csum(fb);
	}
	h_send(fb, n);
}

START_TEST(malformed_counted_no_reply)
{
	uint64_t before = h_stats().drop_malformed;
	struct sn_stats st;

	bad_send((enum bad_kind)_i);
	d_no_reply();
	st = h_stats();
	ck_assert_msg(st.drop_malformed == before + 1, "kind %d: drop_malformed %llu, want %llu",
		      _i, (unsigned long long)st.drop_malformed, (unsigned long long)before + 1);
	ck_assert_uint_eq(st.dhcp_offers + st.dhcp_acks + st.dhcp_naks, 0);
}
END_TEST

START_TEST(foreign_chaddr_spoofed)
{
	static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0xde, 0xad, 0x01 };
	struct d_msg d = { .type = DISCOVER, .chaddr = other };

	d_send_msg(D_ANY, D_BCAST, &d);
	d_no_reply();
	ck_assert_uint_eq(h_stats().drop_spoofed, 1);
}
END_TEST

START_TEST(foreign_source_not_served)
{
	struct d_msg d = { .type = DISCOVER };

	/* from an address that is neither 0.0.0.0 nor the guest's */
	d_send_msg(FR_IP(10, 0, 2, 77), D_BCAST, &d);
	d_no_reply();
	ck_assert_uint_eq(h_stats().drop_spoofed, 1);
	ck_assert_uint_eq(h_stats().dhcp_offers, 0);
}
END_TEST

START_TEST(relayed_and_server_types_unsupported)
{
	struct d_msg relayed = { .type = DISCOVER, .giaddr = FR_IP(10, 0, 2, 1) };
	struct d_msg offer = { .type = OFFER };
	struct d_msg unknown = { .type = 10 };	/* DHCPLEASEQUERY */

	d_send_msg(D_ANY, D_BCAST, &relayed);
	d_send_msg(D_ANY, D_BCAST, &offer);
	d_send_msg(D_ANY, D_BCAST, &unknown);
	d_no_reply();
	ck_assert_uint_eq(h_stats().drop_unsupported, 3);
	ck_assert_uint_eq(h_stats().drop_malformed, 0);
}
END_TEST

static Suite *dhcp_suite(void)
{
	Suite *s = suite_create("dhcp");
	TCase *tc;

	tc = tcase_create("exchange");
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_test(tc, discover_offer);
	tcase_add_test(tc, discover_broadcast_flag);
	tcase_add_test(tc, request_selecting_ack);
	tcase_add_test(tc, request_other_address_nak);
	tcase_add_test(tc, request_init_reboot);
	tcase_add_test(tc, request_other_server_ignored);
	tcase_add_test(tc, renew_unicast);
	tcase_add_test(tc, rebind_broadcast);
	tcase_add_test(tc, renew_wrong_address_nak);
	tcase_add_test(tc, inform_ack_without_lease);
	tcase_add_test(tc, release_and_decline_accepted);
	tcase_add_test(tc, overloaded_file_field);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup_custom, h_teardown);
	tcase_add_test(tc, params_follow_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalid");
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_loop_test(tc, malformed_counted_no_reply, 0, BAD_COUNT);
	tcase_add_test(tc, foreign_chaddr_spoofed);
	tcase_add_test(tc, foreign_source_not_served);
	tcase_add_test(tc, relayed_and_server_types_unsupported);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dhcp_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
