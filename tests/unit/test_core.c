// SPDX-License-Identifier: MIT
/**
 * DOC: test_core - link layer, gateway ICMP, input validation, engine API
 *
 * ARP (gateway, proxy, the guest's own address), echo to the gateway,
 * anti-spoofing, every kind of malformed frame, IPv4 and IPv6 (counted in
 * drop_malformed, or drop_unsupported for what is well formed but not
 * served; never answered, and a ping still works after each table), one
 * engine per process, configuration defaults and validation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static uint8_t fb[FR_MAX];

/* ---- the generator itself (RFC 1071 section 3 example) ---- */

START_TEST(frames_selftest)
{
	static const uint8_t v[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	struct fr_parsed p;
	char why[128];
	size_t n;

	ck_assert_uint_eq(fr_fold(fr_sum(0, v, sizeof(v))), (uint16_t)~0xddf2);
	/* odd length: last byte padded with zero */
	ck_assert_uint_eq(fr_cksum(v, 3), (uint16_t)~(0x0001 + 0xf200));

	n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 2, "abc", 3);
	ck_assert_int_eq(fr_parse(fb, n, &p, why, sizeof(why)), 0);
	ck_assert_uint_eq(p.icmp_type, 8);
	ck_assert_uint_eq(p.plen, 3);
	n = fr_udp_frame(fb, FR_GUEST_IP, 1000, FR_GW_IP, 2000, "hello", 5);
	ck_assert_int_eq(fr_parse(fb, n, &p, why, sizeof(why)), 0);
	ck_assert_uint_ne(p.udp_csum, 0);
	n = fr_tcp_frame(fb, &(struct fr_tcp){ .src = FR_GUEST_IP, .dst = FR_GW_IP, .sport = 1,
					       .dport = 2, .seq = 7, .flags = FR_SYN, .mss = 1460 });
	ck_assert_int_eq(fr_parse(fb, n, &p, why, sizeof(why)), 0);
	ck_assert_uint_eq(p.mss, 1460);
	fb[FR_L4_OFF + 4] ^= 1;
	ck_assert_int_eq(fr_parse(fb, n, &p, why, sizeof(why)), -1);
}
END_TEST

/* ---- ARP ---- */

static const struct fr_parsed *wait_arp_reply(void)
{
	static const struct h_match m = { .type = FR_ETH_ARP };

	return h_wait(h_match, &m, 500);
}

static void check_arp_reply(const struct fr_parsed *p, uint32_t asked)
{
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->arp_op, 2);
	ck_assert_mem_eq(p->arp_sha, fr_gw_mac, 6);
	ck_assert_uint_eq(p->arp_spa, asked);
	ck_assert_mem_eq(p->arp_tha, fr_guest_mac, 6);
	ck_assert_uint_eq(p->arp_tpa, FR_GUEST_IP);
}

START_TEST(arp_gateway)
{
	h_send(fb, fr_arp_request(fb, FR_GUEST_IP, FR_GW_IP));
	check_arp_reply(wait_arp_reply(), FR_GW_IP);
	ck_assert_uint_eq(h_stats().arp_replies, 1);
	ck_assert_uint_eq(h_untaken(), 0);
}
END_TEST

START_TEST(arp_proxy)
{
	static const uint32_t asked[] = { FR_IP(10, 0, 2, 77), FR_IP(192, 0, 2, 1),
					  FR_IP(10, 0, 2, 255) - 1 };
	size_t i;

	for (i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
		h_send(fb, fr_arp_request(fb, FR_GUEST_IP, asked[i]));
		check_arp_reply(wait_arp_reply(), asked[i]);
	}
	ck_assert_uint_eq(h_stats().arp_replies, i);
}
END_TEST

START_TEST(arp_own_address_unanswered)
{
	/* ordinary request, then a duplicate-address probe (sender 0.0.0.0) */
	h_send(fb, fr_arp_request(fb, FR_GUEST_IP, FR_GUEST_IP));
	h_send(fb, fr_arp_request(fb, 0, FR_GUEST_IP));
	h_run(100);
	ck_assert_uint_eq(h_untaken(), 0);
	ck_assert_uint_eq(h_stats().arp_replies, 0);
	ck_assert_uint_eq(h_frames_out(), 0);
}
END_TEST

START_TEST(arp_probe_answered)
{
	/* RFC 5227 probe for another address: sender 0.0.0.0, reply to it */
	static const struct h_match m = { .type = FR_ETH_ARP };
	const struct fr_parsed *p;

	h_send(fb, fr_arp_request(fb, 0, FR_GW_IP));
	p = h_wait(h_match, &m, 500);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->arp_op, 2);
	ck_assert_uint_eq(p->arp_spa, FR_GW_IP);
	ck_assert_uint_eq(p->arp_tpa, 0);
}
END_TEST

START_TEST(arp_spoofed_sender_ip)
{
	h_send(fb, fr_arp_request(fb, FR_IP(10, 0, 2, 99), FR_GW_IP));
	h_run(50);
	ck_assert_uint_eq(h_untaken(), 0);
	ck_assert_uint_eq(h_stats().drop_spoofed, 1);
	ck_assert_uint_eq(h_stats().arp_replies, 0);
}
END_TEST

START_TEST(arp_reply_from_guest_ignored)
{
	static const uint8_t zero[6];

	h_send(fb, fr_arp(fb, fr_guest_mac, fr_gw_mac, 2, fr_guest_mac, FR_GUEST_IP, zero,
			  FR_GW_IP));
	h_run(50);
	ck_assert_uint_eq(h_untaken(), 0);
	ck_assert_uint_eq(h_stats().drop_malformed, 0);
}
END_TEST

/* ---- echo to the gateway ---- */

static const struct h_match echo_reply = { .proto = FR_PROTO_ICMP, .icmp_type = 0 + 1 };

START_TEST(ping_gateway)
{
	static const size_t sizes[] = { 0, 56, 1472 };
	static uint8_t data[1472];
	size_t i, k;

	for (k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(k * 7 + 3);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const struct fr_parsed *p;
		uint16_t id = (uint16_t)(0x1234 + i), seq = (uint16_t)(7 + i);

		h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, id, seq, data, sizes[i]));
		p = h_wait(h_match, &echo_reply, 500);
		ck_assert_msg(p != NULL, "no echo reply for %zu bytes", sizes[i]);
		ck_assert_uint_eq(p->ip_src, FR_GW_IP);
		ck_assert_uint_eq(p->ip_dst, FR_GUEST_IP);
		ck_assert_uint_eq(p->icmp_code, 0);
		ck_assert_uint_eq(p->icmp_id, id);
		ck_assert_uint_eq(p->icmp_seq, seq);
		ck_assert_uint_eq(p->plen, sizes[i]);
		if (sizes[i])
			ck_assert_mem_eq(p->payload, data, sizes[i]);
		ck_assert_uint_gt(p->ip_ttl, 0);
	}
	ck_assert_uint_eq(h_stats().icmp_echo_local, i);
	ck_assert_uint_eq(h_untaken(), 0);
}
END_TEST

/* ---- the checksum lwIP uses (port/chksum.c) ---- */

/* Declared by port/include/arch/cc.h; not in a public header on purpose. */
unsigned short sn_port_chksum(const void *data, int len);

/**
 * ref_sum() - RFC 1071 by the book: big-endian 16-bit words, one at a time
 * @p:		bytes
 * @len:	count
 *
 * Return: the folded sum in memory order (as LWIP_CHKSUM returns it)
 */
static uint16_t ref_sum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)s);
}

START_TEST(checksum_matches_rfc1071)
{
	static uint8_t buf[2048 + 8];
	uint32_t x = 12345;
	size_t i, len, off;

	for (i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	/* every alignment, every length up to 300, then long ones; all ones
	 * and all zeros (the carries) */
	for (off = 0; off < 8; off++)
		for (len = 0; len <= 2048; len += len < 300 ? 1 : 331)
			ck_assert_msg(sn_port_chksum(buf + off, (int)len) == ref_sum(buf + off, len),
				      "offset %zu length %zu", off, len);
	memset(buf, 0xff, sizeof(buf));
	for (len = 0; len <= 2048; len += 97)
		ck_assert_uint_eq(sn_port_chksum(buf + 1, (int)len), ref_sum(buf + 1, len));
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(sn_port_chksum(buf, 2048), 0);
}
END_TEST

/* ---- lwIP's heap (port/mem.c) ---- */

/* Declared by port/include/arch/cc.h; not in a public header on purpose. */
void *sn_port_malloc(size_t size);
void *sn_port_calloc(size_t count, size_t size);
void sn_port_free(void *p);
unsigned sn_port_mem_drain(void);

/* port/mem.c's class of kept blocks and its bound */
#define BIG_MIN		(16 * 1024)
#define BIG		(64 * 1024 + 512)
#define KEPT		32

START_TEST(heap_big_blocks_reused)
{
	uint8_t *p, *q;
	size_t i;

	sn_port_mem_drain();
	p = sn_port_malloc(65535 + 200);
	ck_assert_ptr_nonnull(p);
	memset(p, 0xa5, 65535 + 200);
	sn_port_free(p);
	/* any size of the class gets the kept block back, zeroed by calloc */
	q = sn_port_calloc(1, BIG_MIN);
	ck_assert_ptr_eq(q, p);
	for (i = 0; i < BIG_MIN; i++)
		ck_assert_uint_eq(q[i], 0);
	sn_port_free(q);
	ck_assert_uint_eq(sn_port_mem_drain(), 1);
	ck_assert_uint_eq(sn_port_mem_drain(), 0);
}
END_TEST

START_TEST(heap_class_edges)
{
	static const struct {
		size_t size;
		unsigned kept;
	} c[] = {
		{ 1, 0 }, { 2048, 0 }, { BIG_MIN - 1, 0 }, { BIG_MIN, 1 },
		{ 65535, 1 }, { BIG, 1 }, { BIG + 1, 0 }, { 256 * 1024, 0 },
	};
	size_t i;

	sn_port_mem_drain();
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t *p = sn_port_malloc(c[i].size);

		ck_assert_ptr_nonnull(p);
		p[0] = 1;
		p[c[i].size - 1] = 2;	/* the whole request is usable */
		sn_port_free(p);
		ck_assert_msg(sn_port_mem_drain() == c[i].kept, "size %zu", c[i].size);
	}
	sn_port_free(NULL);
	ck_assert_ptr_null(sn_port_calloc(SIZE_MAX / 2, 4));
	ck_assert_ptr_null(sn_port_malloc(SIZE_MAX - 4));
}
END_TEST

START_TEST(heap_kept_bounded)
{
	void *p[KEPT + 8];
	size_t i;

	sn_port_mem_drain();
	for (i = 0; i < KEPT + 8; i++) {
		p[i] = sn_port_malloc(BIG);
		ck_assert_ptr_nonnull(p[i]);
	}
	for (i = 0; i < KEPT + 8; i++)
		sn_port_free(p[i]);
	ck_assert_uint_eq(sn_port_mem_drain(), KEPT);
}
END_TEST

/* ---- timers ---- */

START_TEST(idle_engine_no_timer)
{
	/* nothing has a deadline: a fresh engine may sleep until a fd is ready */
	ck_assert_int_eq(sn_engine_timeout_ms(H.e), -1);
	/* the guest's ARP and a ping of the gateway leave nothing behind: the
	 * guest's MAC is a static ARP entry, lwIP's ARP, reassembly and ND
	 * timers have nothing to do */
	h_send(fb, fr_arp_request(fb, FR_GUEST_IP, FR_GW_IP));
	h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1));
	ck_assert_ptr_nonnull(h_wait(h_match, &echo_reply, 500));
	ck_assert_int_eq(sn_engine_timeout_ms(H.e), -1);
	h_clock_advance(3600 * 1000);
	ck_assert_int_eq(sn_engine_timeout_ms(H.e), -1);
	/* and the gateway still answers after the hour asleep */
	h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 2, "y", 1));
	ck_assert_ptr_nonnull(h_wait(h_match, &echo_reply, 500));
	ck_assert_int_eq(sn_engine_timeout_ms(H.e), -1);
}
END_TEST

/* ---- anti-spoofing ---- */

START_TEST(spoofed_source_ip)
{
	h_send(fb, fr_icmp_echo(fb, FR_IP(10, 0, 2, 99), FR_GW_IP, 1, 1, "x", 1));
	h_run(50);
	ck_assert_uint_eq(h_untaken(), 0);
	ck_assert_uint_eq(h_stats().drop_spoofed, 1);
	ck_assert_uint_eq(h_stats().icmp_echo_local, 0);
}
END_TEST

START_TEST(spoofed_source_mac)
{
	static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
	size_t n;

	/* the first frame teaches the engine the guest's MAC */
	h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1));
	ck_assert_ptr_nonnull(h_wait(h_match, &echo_reply, 500));

	n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 2, "x", 1);
	memcpy(fb + 6, other, 6);
	ck_assert_int_eq(h_send(fb, n), -1);
	/* ARP from the other MAC too */
	n = fr_arp_request(fb, FR_GUEST_IP, FR_GW_IP);
	memcpy(fb + 6, other, 6);
	memcpy(fb + FR_ETH_HLEN + 8, other, 6);
	ck_assert_int_eq(h_send(fb, n), -1);
	/* a multicast source MAC is never a guest */
	n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 3, "x", 1);
	fb[6] |= 1;
	ck_assert_int_eq(h_send(fb, n), -1);
	h_run(50);
	ck_assert_uint_eq(h_untaken(), 0);
	ck_assert_uint_eq(h_stats().drop_spoofed, 3);
	ck_assert_uint_eq(h_stats().icmp_echo_local, 1);
	ck_assert_uint_eq(h_stats().arp_replies, 0);
}
END_TEST

START_TEST(configured_guest_mac)
{
	static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
	struct sn_config cfg;
	size_t n;

	h_stop();
	h_config(&cfg);
	memcpy(cfg.guest_mac, fr_guest_mac, 6);
	h_start(&cfg);
	/* the very first frame, from another MAC, is already a spoof */
	n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1);
	memcpy(fb + 6, other, 6);
	h_send(fb, n);
	h_run(50);
	ck_assert_uint_eq(h_untaken(), 0);
	ck_assert_uint_eq(h_stats().drop_spoofed, 1);
	h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 2, "x", 1));
	ck_assert_ptr_nonnull(h_wait(h_match, &echo_reply, 500));
}
END_TEST

/* ---- malformed frames: counted in drop_malformed, never answered ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Each case builds a frame into fb and returns its length. */
static size_t bad_eth_10(void)
{
	fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1);
	return 10;
}

static size_t bad_eth_only(void)
{
	fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1);
	return FR_ETH_HLEN;
}

static size_t bad_arp_short(void)
{
	fr_arp_request(fb, FR_GUEST_IP, FR_GW_IP);
	return FR_ETH_HLEN + 20;
}

static size_t bad_arp_hwlen(void)
{
	size_t n = fr_arp_request(fb, FR_GUEST_IP, FR_GW_IP);

	fb[FR_ETH_HLEN + 4] = 8;	/* hardware address length */
	return n;
}

static size_t bad_ip_truncated(void)
{
	fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1);
	return FR_ETH_HLEN + 12;
}

static size_t bad_ip_ihl4(void)
{
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "abcdefgh", 8);

	fb[FR_IP_OFF] = 0x44;
	put16(fb + FR_IP_OFF + 10, 0);
	put16(fb + FR_IP_OFF + 10, fr_cksum(fb + FR_IP_OFF, 16));
	return n;
}

static size_t bad_ip_ihl_beyond(void)
{
	/* IHL 15 (60 bytes) in a 29-byte packet */
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1);

	fb[FR_IP_OFF] = 0x4f;
	fr_fix_ip_csum(fb);
	return n;
}

static size_t bad_ip_totlen_long(void)
{
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "abcd", 4);

	put16(fb + FR_IP_OFF + 2, (uint16_t)(n - FR_ETH_HLEN + 20));
	fr_fix_ip_csum(fb);
	return n;
}

static size_t bad_ip_totlen_short(void)
{
	/* total length shorter than the header */
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "abcd", 4);

	put16(fb + FR_IP_OFF + 2, 16);
	fr_fix_ip_csum(fb);
	return n;
}

static size_t bad_ip_csum(void)
{
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1);

	fb[FR_IP_OFF + 10] ^= 0x5a;
	return n;
}

static size_t bad_tcp_truncated(void)
{
	fr_tcp_frame(fb, &(struct fr_tcp){ .src = FR_GUEST_IP, .dst = FR_GW_IP, .sport = 40000,
					   .dport = 8, .seq = 1, .flags = FR_SYN });
	put16(fb + FR_IP_OFF + 2, 20 + 10);
	fr_fix_ip_csum(fb);
	return FR_L4_OFF + 10;
}

static size_t bad_tcp_doff_small(void)
{
	size_t n = fr_tcp_frame(fb, &(struct fr_tcp){ .src = FR_GUEST_IP, .dst = FR_GW_IP,
						      .sport = 40000, .dport = 8, .seq = 1,
						      .flags = FR_SYN });

	fb[FR_L4_OFF + 12] = 4 << 4;
	fr_fix_l4_csum(fb);
	return n;
}

static size_t bad_tcp_doff_beyond(void)
{
	size_t n = fr_tcp_frame(fb, &(struct fr_tcp){ .src = FR_GUEST_IP, .dst = FR_GW_IP,
						      .sport = 40000, .dport = 8, .seq = 1,
						      .flags = FR_SYN });

	fb[FR_L4_OFF + 12] = 15 << 4;	/* 60 bytes of header in a 20-byte segment */
	fr_fix_l4_csum(fb);
	return n;
}

static size_t bad_udp_len_long(void)
{
	size_t n = fr_udp_frame(fb, FR_GUEST_IP, 40000, FR_GW_IP, 9, "hello", 5);

	put16(fb + FR_L4_OFF + 4, 200);
	fr_fix_l4_csum(fb);
	return n;
}

static size_t bad_udp_len_short(void)
{
	size_t n = fr_udp_frame(fb, FR_GUEST_IP, 40000, FR_GW_IP, 9, "hello", 5);

	put16(fb + FR_L4_OFF + 4, 4);
	fr_fix_l4_csum(fb);
	return n;
}

static size_t bad_udp_truncated(void)
{
	fr_udp_frame(fb, FR_GUEST_IP, 40000, FR_GW_IP, 9, "hello", 5);
	put16(fb + FR_IP_OFF + 2, 20 + 6);
	fr_fix_ip_csum(fb);
	return FR_L4_OFF + 6;
}

/**
 * udp_csum_broken() - a datagram from the guest to the gateway, checksum wrong
 * @v6:		IPv6 (fd00:2::15 to fd00:2::2), else IPv4
 * @dns:	a query to port 53 (the DNS forwarder), else "hello" to port 9
 *		(without host access an intact one would get port unreachable)
 *
 * Return: frame length, in fb
 */
static size_t udp_csum_broken(int v6, int dns)
{
	uint8_t d[64] = "hello";
	size_t dl = dns ? fr_dns_query(d, 1, "example.com", v6 ? 28 : 1, 1) : 5, n;
	uint16_t dport = dns ? 53 : 9;

	n = v6 ? fr_udp6_frame(fb, fr_guest_ip6, 40000, fr_gw_ip6, dport, d, dl) :
		 fr_udp_frame(fb, FR_GUEST_IP, 40000, FR_GW_IP, dport, d, dl);
	fb[(v6 ? FR_L4_OFF6 : FR_L4_OFF) + 6] ^= 0x21;
	return n;
}

static size_t bad_udp_csum(void) { return udp_csum_broken(0, 0); }
static size_t bad_udp_csum_dns(void) { return udp_csum_broken(0, 1); }

static size_t bad_icmp_csum_gw(void)
{
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "hello", 5);

	fb[FR_L4_OFF + 2] ^= 0x42;
	return n;
}

static size_t bad_icmp_csum_relay(void)
{
	/* to the host's loopback: never leaves the machine even if relayed */
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_IP(127, 0, 0, 1), 1, 1, "hello", 5);

	fb[FR_L4_OFF + 2] ^= 0x42;
	return n;
}

static size_t bad_icmp_truncated_relay(void)
{
	fr_icmp_echo(fb, FR_GUEST_IP, FR_IP(127, 0, 0, 1), 1, 1, "", 0);
	put16(fb + FR_IP_OFF + 2, 20 + 4);
	fr_fix_ip_csum(fb);
	return FR_L4_OFF + 4;
}

static size_t bad_ip_version6(void)
{
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1);

	fb[FR_IP_OFF] = 0x65;
	fr_fix_ip_csum(fb);
	return n;
}

/* ---- IPv6 ---- */

/* ::1: what is relayed to it never leaves the machine */
static const uint8_t lo6[16] = { [15] = 1 };

static size_t echo6(const uint8_t dst[16])
{
	uint8_t m[16] = { 128, 0, 0, 0, 0x12, 0x34, 0, 1, 'm', 'a', 'l', 'f', 'o', 'r', 'm', 'd' };

	return fr_icmp6_frame(fb, fr_guest_ip6, dst, 64, m, sizeof(m));
}

static size_t bad6_truncated(void)
{
	echo6(fr_gw_ip6);
	return FR_ETH_HLEN + 30;
}

static size_t bad6_version4(void)
{
	size_t n = echo6(fr_gw_ip6);

	fb[FR_IP_OFF] = 0x40;
	return n;
}

static size_t bad6_plen_long(void)
{
	size_t n = echo6(fr_gw_ip6);

	put16(fb + FR_IP_OFF + 4, (uint16_t)(n - FR_L4_OFF6 + 8));
	return n;
}

static size_t bad6_frag_truncated(void)
{
	static const uint8_t half[4] = { FR_PROTO_UDP, 0, 0, 8 };

	return fr_ip6_frame(fb, NULL, fr_guest_ip6, fr_gw_ip6, 44, 64, half, sizeof(half));
}

static size_t bad6_exthdr_beyond(void)
{
	/* a destination options header of 40 bytes in an 8-byte payload */
	static const uint8_t opts[8] = { FR_PROTO_UDP, 4, 1, 4 };

	return fr_ip6_frame(fb, NULL, fr_guest_ip6, fr_gw_ip6, 60, 64, opts, sizeof(opts));
}

/**
 * udp6_behind() - a UDP datagram to the gateway behind @n destination options headers
 * @n:		how many (each 8 bytes: PadN)
 * @dport:	UDP destination port
 *
 * Return: frame length, in fb
 */
static size_t udp6_behind(unsigned n, uint16_t dport)
{
	uint8_t l4[16 * 8 + 16];
	size_t len = fr_udp6_frame(fb, fr_guest_ip6, 40000, fr_gw_ip6, dport, "extension", 9) -
		     FR_L4_OFF6;
	unsigned k;

	ck_assert_uint_le(n * 8 + len, sizeof(l4));
	memcpy(l4 + n * 8, fb + FR_L4_OFF6, len);
	for (k = 0; k < n; k++) {
		uint8_t *h = l4 + k * 8;

		h[0] = k + 1 < n ? 60 : FR_PROTO_UDP;
		h[1] = 0;
		h[2] = 1;			/* PadN, 4 bytes */
		h[3] = 4;
		memset(h + 4, 0, 4);
	}
	return fr_ip6_frame(fb, NULL, fr_guest_ip6, fr_gw_ip6, n ? 60 : FR_PROTO_UDP, 64, l4,
			    n * 8 + len);
}

static size_t bad6_nine_exthdrs(void)
{
	return udp6_behind(9, 9);
}

static size_t bad6_routing(void)
{
	static const uint8_t rh[8] = { FR_PROTO_UDP, 0, 0, 0 };	/* type 0, no segments */

	return fr_ip6_frame(fb, NULL, fr_guest_ip6, fr_gw_ip6, 43, 64, rh, sizeof(rh));
}

static size_t bad6_icmp_csum_gw(void)
{
	size_t n = echo6(fr_gw_ip6);

	fb[FR_L4_OFF6 + 2] ^= 0x42;
	return n;
}

static size_t bad6_icmp_csum_relay(void)
{
	size_t n = echo6(lo6);

	fb[FR_L4_OFF6 + 2] ^= 0x42;
	return n;
}

static size_t bad6_tcp_csum(void)
{
	size_t n = fr_tcp_frame(fb, &(struct fr_tcp){ .src6 = fr_guest_ip6, .dst6 = fr_gw_ip6,
						      .sport = 40000, .dport = 8, .seq = 1,
						      .flags = FR_SYN, .mss = 1440 });

	fb[FR_L4_OFF6 + 16] ^= 0x11;
	return n;
}

static size_t bad6_tcp_truncated(void)
{
	fr_tcp_frame(fb, &(struct fr_tcp){ .src6 = fr_guest_ip6, .dst6 = fr_gw_ip6, .sport = 40000,
					   .dport = 8, .seq = 1, .flags = FR_SYN });
	put16(fb + FR_IP_OFF + 4, 10);
	fr_fix_l4_csum(fb);
	return FR_L4_OFF6 + 10;
}

static size_t bad6_udp_csum(void) { return udp_csum_broken(1, 0); }
static size_t bad6_udp_csum_dns(void) { return udp_csum_broken(1, 1); }

static size_t bad6_udp_truncated(void)
{
	fr_udp6_frame(fb, fr_guest_ip6, 40000, fr_gw_ip6, 9, "hello", 5);
	put16(fb + FR_IP_OFF + 4, 6);
	return FR_L4_OFF6 + 6;
}

static size_t bad6_udp_len_long(void)
{
	size_t n = fr_udp6_frame(fb, fr_guest_ip6, 40000, fr_gw_ip6, 9, "hello", 5);

	put16(fb + FR_L4_OFF6 + 4, 200);
	fr_fix_l4_csum(fb);
	return n;
}

/* fd00:2::99, an address the gateway answers solicitations for (proxy NDP) */
static const uint8_t proxied6[16] = { 0xfd, 0x00, 0x00, 0x02, [15] = 0x99 };

/**
 * nd6() - a neighbour solicitation (for fd00:2::99) or advertisement (of the
 *	   guest, to the gateway) with one link-layer address option
 * @type:	135 (NS) or 136 (NA)
 * @olen:	the option's length field, in units of 8 bytes
 * @have:	option bytes present in the message (2..8)
 * @hoplim:	hop limit
 *
 * Return: frame length, in fb
 */
static size_t nd6(uint8_t type, uint8_t olen, size_t have, uint8_t hoplim)
{
	uint8_t m[32] = { type }, group[16];

	memcpy(m + 8, type == 135 ? proxied6 : fr_guest_ip6, 16);
	if (type == 136)
		m[4] = 0x20;			/* override */
	m[24] = type == 135 ? 1 : 2;		/* source / target link-layer address */
	m[25] = olen;
	memcpy(m + 26, fr_guest_mac, 6);
	fr_ip6_solnode(proxied6, group);
	return fr_icmp6_frame(fb, fr_guest_ip6, type == 135 ? group : fr_gw_ip6, hoplim, m,
			      24 + have);
}

static size_t bad6_ns_csum(void) { size_t n = nd6(135, 1, 8, 255); fb[FR_L4_OFF6 + 2] ^= 1; return n; }
static size_t bad6_ns_opt0(void) { return nd6(135, 0, 8, 255); }
static size_t bad6_ns_opt1(void) { return nd6(135, 1, 4, 255); }
static size_t bad6_ns_opt255(void) { return nd6(135, 255, 8, 255); }
static size_t bad6_ns_hoplim(void) { return nd6(135, 1, 8, 64); }
static size_t bad6_na_opt0(void) { return nd6(136, 0, 8, 255); }
static size_t bad6_na_opt1(void) { return nd6(136, 1, 4, 255); }
static size_t bad6_na_opt255(void) { return nd6(136, 255, 8, 255); }

struct bad_case {
	const char *name;
	size_t (*build)(void);
};

static const struct bad_case bad_cases[] = {
	{ "truncated Ethernet (10 bytes)", bad_eth_10 },
	{ "Ethernet header only", bad_eth_only },
	{ "truncated ARP", bad_arp_short },
	{ "ARP hardware length 8", bad_arp_hwlen },
	{ "truncated IPv4 header", bad_ip_truncated },
	{ "IHL 4", bad_ip_ihl4 },
	{ "IHL beyond the packet", bad_ip_ihl_beyond },
	{ "IP total length > frame", bad_ip_totlen_long },
	{ "IP total length < header", bad_ip_totlen_short },
	{ "bad IP header checksum", bad_ip_csum },
	{ "truncated TCP header", bad_tcp_truncated },
	{ "TCP data offset 4", bad_tcp_doff_small },
	{ "TCP data offset beyond segment", bad_tcp_doff_beyond },
	{ "UDP length > IP payload", bad_udp_len_long },
	{ "UDP length < 8", bad_udp_len_short },
	{ "truncated UDP header", bad_udp_truncated },
	{ "bad UDP checksum", bad_udp_csum },
	{ "bad UDP checksum (DNS)", bad_udp_csum_dns },
	{ "bad ICMP checksum (relay)", bad_icmp_csum_relay },
	{ "truncated ICMP (relay)", bad_icmp_truncated_relay },
};

/* Cases lwIP alone would drop without counting: the hook counts them. */
static const struct bad_case bad_cases_lwip[] = {
	{ "bad ICMP checksum (gateway echo)", bad_icmp_csum_gw },
	{ "IP version 6 in an IPv4 EtherType", bad_ip_version6 },
};

static const struct bad_case bad_cases6[] = {
	{ "truncated IPv6 header", bad6_truncated },
	{ "IP version 4 in an IPv6 EtherType", bad6_version4 },
	{ "IPv6 payload length > frame", bad6_plen_long },
	{ "truncated fragment header", bad6_frag_truncated },
	{ "extension header beyond the packet", bad6_exthdr_beyond },
	{ "bad ICMPv6 checksum (gateway echo)", bad6_icmp_csum_gw },
	{ "bad ICMPv6 checksum (relay)", bad6_icmp_csum_relay },
	{ "bad ICMPv6 checksum (neighbour solicitation)", bad6_ns_csum },
	{ "bad TCP checksum (IPv6)", bad6_tcp_csum },
	{ "truncated TCP header (IPv6)", bad6_tcp_truncated },
	{ "bad UDP checksum (IPv6)", bad6_udp_csum },
	{ "bad UDP checksum (IPv6 DNS)", bad6_udp_csum_dns },
	{ "truncated UDP header (IPv6)", bad6_udp_truncated },
	{ "UDP length > IPv6 payload", bad6_udp_len_long },
	{ "NS option length 0", bad6_ns_opt0 },
	{ "NS option length 1, 4 bytes present", bad6_ns_opt1 },
	{ "NS option length 255", bad6_ns_opt255 },
	{ "NS hop limit 64", bad6_ns_hoplim },
	{ "NA option length 0", bad6_na_opt0 },
	{ "NA option length 1, 4 bytes present", bad6_na_opt1 },
	{ "NA option length 255", bad6_na_opt255 },
};

/* Well formed, but not served: counted in drop_unsupported. */
static const struct bad_case unsup_cases6[] = {
	{ "9 extension headers", bad6_nine_exthdrs },
	{ "routing header", bad6_routing },
};

#define TABLE(t)	(t), sizeof(t) / sizeof((t)[0])

/**
 * struct bad_table - cases the malformed tests loop over
 * @cases:	the cases
 * @n:		how many
 * @unsup:	counted in drop_unsupported, not drop_malformed
 * @v6:		IPv6 frames
 */
static const struct bad_table {
	const struct bad_case *cases;
	size_t n;
	int unsup, v6;
} bad_tables[] = {
	{ TABLE(bad_cases), 0, 0 },
	{ TABLE(bad_cases_lwip), 0, 0 },
	{ TABLE(bad_cases6), 0, 1 },
	{ TABLE(unsup_cases6), 1, 1 },
};

static void check_bad(const struct bad_case *c, int unsup)
{
	struct sn_stats st;
	size_t n = c->build();

	h_send(fb, n);
	h_run(50);
	st = h_stats();
	ck_assert_msg(st.drop_malformed == !unsup && st.drop_unsupported == !!unsup,
		      "%s: drop_malformed %llu, drop_unsupported %llu, want %d and %d", c->name,
		      (unsigned long long)st.drop_malformed, (unsigned long long)st.drop_unsupported,
		      !unsup, !!unsup);
	ck_assert_msg(h_frames_out() == 0 && h_untaken() == 0, "%s: answered (%llu frames)",
		      c->name, (unsigned long long)h_frames_out());
	ck_assert_msg(st.icmp_echo_local == 0 && st.icmp_echo_relayed == 0 &&
			      st.udp_sessions == 0 && st.tcp_flows == 0 && st.dns_queries == 0,
		      "%s: reached a relay", c->name);
	ck_assert_uint_eq(st.frames_in, 1);
}

static int bad_cases_all(void)
{
	size_t t, n = 0;

	for (t = 0; t < sizeof(bad_tables) / sizeof(bad_tables[0]); t++)
		n += bad_tables[t].n;
	return (int)n;
}

START_TEST(malformed)
{
	const struct bad_table *t = bad_tables;
	size_t i = (size_t)_i;

	/* _i counts through all the tables, one after the other */
	for (; i >= t->n; t++)
		i -= t->n;
	check_bad(&t->cases[i], t->unsup);
}
END_TEST

/* None of the garbage of a table leaves state behind that breaks a good
 * ping (ping6 after IPv6 garbage), nor a leak or crash. */
START_TEST(malformed_then_valid)
{
	static const struct h_match reply6 = { .type = FR_ETH_IP6, .icmp_type = 129 + 1 };
	const struct bad_table *t = &bad_tables[_i];
	const struct fr_parsed *p;
	size_t i;

	H.answer_ns = 1;
	for (i = 0; i < t->n; i++)
		h_send(fb, t->cases[i].build());
	h_run(20);
	ck_assert_uint_eq(t->unsup ? h_stats().drop_unsupported : h_stats().drop_malformed, i);
	ck_assert_uint_eq(h_untaken(), 0);
	if (!t->v6) {
		h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 9, 9, "ok", 2));
		ck_assert_ptr_nonnull(h_wait(h_match, &echo_reply, 500));
		return;
	}
	h_send(fb, echo6(fr_gw_ip6));
	p = h_wait(h_match, &reply6, 500);
	ck_assert_ptr_nonnull(p);
	ck_assert_mem_eq(p->payload, "malformd", 8);
}
END_TEST

/* Eight extension headers are walked (SN_IP6_MAX_EXTHDRS): the datagram
 * behind them is served, here refused by the policy (the gateway without
 * host access: administratively prohibited, code 1). */
START_TEST(eight_exthdrs_walked)
{
	static const struct h_match unreach6 = { .type = FR_ETH_IP6, .icmp_type = 1 + 1 };
	const struct fr_parsed *p;

	H.answer_ns = 1;
	h_send(fb, udp6_behind(8, 9));
	p = h_wait(h_match, &unreach6, 500);
	ck_assert_msg(p != NULL, "a datagram behind 8 extension headers was dropped "
		      "(malformed %llu, unsupported %llu)",
		      (unsigned long long)h_stats().drop_malformed,
		      (unsigned long long)h_stats().drop_unsupported);
	ck_assert_uint_eq(p->icmp_code, 1);
	ck_assert_uint_eq(h_stats().drop_unsupported, 0);
}
END_TEST

START_TEST(unsupported_frames)
{
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1);

	put16(fb + 12, 0x88b5);		/* local experimental EtherType */
	ck_assert_int_eq(h_send(fb, n), -1);
	/* IP protocol 47 (GRE) to the gateway */
	n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "xxxxxxxx", 8);
	fb[FR_IP_OFF + 9] = 47;
	fr_fix_ip_csum(fb);
	h_send(fb, n);
	/* ICMP timestamp request to another address: only echo is relayed */
	n = fr_icmp_echo(fb, FR_GUEST_IP, FR_IP(127, 0, 0, 1), 1, 1, "xxxxxxxxxxxx", 12);
	fb[FR_L4_OFF] = 13;
	fr_fix_l4_csum(fb);
	h_send(fb, n);
	h_run(50);
	ck_assert_uint_eq(h_stats().drop_unsupported, 3);
	ck_assert_uint_eq(h_stats().drop_malformed, 0);
	ck_assert_uint_eq(h_untaken(), 0);
}
END_TEST

START_TEST(output_failure_counted)
{
	H.output_fail = 1;
	h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1));
	h_run(20);
	ck_assert_uint_eq(h_stats().output_errors, 1);
	ck_assert_uint_eq(h_frames_out(), 0);
	H.output_fail = 0;
	h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 2, "x", 1));
	ck_assert_ptr_nonnull(h_wait(h_match, &echo_reply, 500));
	ck_assert_uint_eq(h_frames_out(), 1);
}
END_TEST

START_TEST(stats_in_out)
{
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "abcdef", 6);
	const struct fr_parsed *p;
	struct sn_stats st;

	h_send(fb, n);
	p = h_wait(h_match, &echo_reply, 500);
	ck_assert_ptr_nonnull(p);
	st = h_stats();
	ck_assert_uint_eq(st.frames_in, 1);
	ck_assert_uint_eq(st.bytes_in, n);
	ck_assert_uint_eq(h_frames_out(), 1);
	ck_assert_uint_eq(h_bytes_out(), p->len);
}
END_TEST

/* Each counter by name is the field of that name; the names cover the
 * struct; an old caller's smaller struct gets its fields and no more. */
START_TEST(stats_by_name)
{
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "abcdef", 6);
	struct sn_stats st, small;
	const char *name;
	uint64_t v, *fields = (uint64_t *)&st;
	unsigned i;

	h_send(fb, n);
	ck_assert_ptr_nonnull(h_wait(h_match, &echo_reply, 500));
	st = h_stats();
	for (i = 0; (name = sn_stat_name(i)); i++) {
		ck_assert_int_eq(sn_engine_stat(H.e, name, &v), 0);
		ck_assert_msg(v == fields[i], "%s = %llu, field %u = %llu", name,
			      (unsigned long long)v, i, (unsigned long long)fields[i]);
	}
	ck_assert_uint_eq(i * sizeof(uint64_t), sizeof(struct sn_stats));
	ck_assert_str_eq(sn_stat_name(0), "frames_in");
	ck_assert_int_eq(sn_engine_stat(H.e, "bytes_in", &v), 0);
	ck_assert_uint_eq(v, n);
	ck_assert_int_eq(sn_engine_stat(H.e, "no_such_counter", &v), -1);
	ck_assert_int_eq(errno, ENOENT);

	memset(&small, 0xa5, sizeof(small));
	ck_assert_uint_eq(sn_engine_stats_sized(H.e, &small, 2 * sizeof(uint64_t)),
			  sizeof(struct sn_stats));
	ck_assert_uint_eq(small.frames_in, 1);
	ck_assert_uint_eq(small.frames_out, st.frames_out);
	ck_assert_uint_eq(small.bytes_in, 0xa5a5a5a5a5a5a5a5ULL);	/* not touched */
}
END_TEST

/* ---- the engine API ---- */

START_TEST(second_engine_ebusy)
{
	struct sn_config cfg;
	struct sn_engine *e2;

	h_config(&cfg);
	errno = 0;
	e2 = sn_engine_new(&cfg);
	ck_assert_ptr_null(e2);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_ptr_nonnull(sn_strerror());
	ck_assert_str_ne(sn_strerror(), "");
	/* the first engine is unharmed */
	h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1));
	ck_assert_ptr_nonnull(h_wait(h_match, &echo_reply, 500));
}
END_TEST

START_TEST(engine_again_after_free)
{
	struct sn_config cfg;

	h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 1, "x", 1));
	ck_assert_ptr_nonnull(h_wait(h_match, &echo_reply, 500));
	h_stop();
	h_config(&cfg);
	h_start(&cfg);
	h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 1, 2, "x", 1));
	ck_assert_ptr_nonnull(h_wait(h_match, &echo_reply, 500));
	ck_assert_uint_eq(h_stats().frames_in, 1);	/* fresh counters */
}
END_TEST

START_TEST(config_defaults)
{
	static const uint8_t gw_mac[6] = { 0x02, 0x73, 0x6e, 0x00, 0x00, 0x01 };
	static const uint8_t zero[6];
	struct sn_config cfg;

	memset(&cfg, 0xa5, sizeof(cfg));
	sn_config_init(&cfg);
	ck_assert_uint_eq(ntohl(cfg.gw_ip4.s_addr), FR_GW_IP);
	ck_assert_uint_eq(ntohl(cfg.guest_ip4.s_addr), FR_GUEST_IP);
	ck_assert_uint_eq(cfg.prefix_len4, 24);
	ck_assert_uint_eq(cfg.mtu, 1500);
	ck_assert_mem_eq(cfg.gw_mac, gw_mac, 6);
	ck_assert_mem_eq(cfg.guest_mac, zero, 6);
	ck_assert_ptr_null(cfg.output);
	ck_assert_ptr_null(cfg.log);
	ck_assert_int_eq(cfg.log_level, SN_LOG_WARN);
	ck_assert_uint_eq(cfg.n_dns_upstreams, 0);
	ck_assert_int_eq(cfg.allow_host_loopback, 0);
	ck_assert_uint_eq(cfg.max_tcp_flows, 1024);
	ck_assert_uint_eq(cfg.max_udp_sessions, 256);
	ck_assert_uint_eq(cfg.max_icmp_flows, 64);
	ck_assert_uint_eq(cfg.max_dns_queries, 256);
	ck_assert_uint_eq(cfg.udp_idle_ms, 60000);
	ck_assert_uint_eq(cfg.tcp_connect_ms, 30000);
	ck_assert_uint_eq(cfg.dns_timeout_ms, 2000);
}
END_TEST

static void cfg_mtu_small(struct sn_config *c) { c->mtu = 100; }
static void cfg_mtu_575(struct sn_config *c) { c->mtu = 575; }
static void cfg_mtu_big(struct sn_config *c) { c->mtu = 65521; }
static void cfg_prefix0(struct sn_config *c) { c->prefix_len4 = 0; }
static void cfg_prefix32(struct sn_config *c) { c->prefix_len4 = 32; }
static void cfg_same_ip(struct sn_config *c) { c->guest_ip4 = c->gw_ip4; }
static void cfg_no_tcp(struct sn_config *c) { c->max_tcp_flows = 0; }
static void cfg_no_udp(struct sn_config *c) { c->max_udp_sessions = 0; }
static void cfg_dns5(struct sn_config *c) { c->n_dns_upstreams = SN_MAX_DNS_UPSTREAMS + 1; }
static void cfg_idle0(struct sn_config *c) { c->udp_idle_ms = 0; }
static void cfg_dns_to0(struct sn_config *c) { c->dns_timeout_ms = 0; }

static void (*const bad_cfgs[])(struct sn_config *) = {
	cfg_mtu_small, cfg_mtu_575, cfg_mtu_big, cfg_prefix0, cfg_prefix32, cfg_same_ip,
	cfg_no_tcp, cfg_no_udp, cfg_dns5, cfg_idle0, cfg_dns_to0,
};

START_TEST(config_invalid)
{
	struct sn_config cfg;
	struct sn_engine *e;

	h_config(&cfg);
	bad_cfgs[_i](&cfg);
	errno = 0;
	ck_assert_ptr_null(sn_engine_new(&cfg));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_ne(sn_strerror(), "");
	/* a failed attempt leaves no engine behind */
	h_config(&cfg);
	e = sn_engine_new(&cfg);
	ck_assert_ptr_nonnull(e);
	sn_engine_free(e);
}
END_TEST

START_TEST(config_null)
{
	errno = 0;
	ck_assert_ptr_null(sn_engine_new(NULL));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(free_null)
{
	sn_engine_free(NULL);
}
END_TEST

/* Guest echo to 127.0.0.1 must not reach the host's loopback: only the
 * gateway stands for the host. (Where ping sockets are not permitted a
 * missing check would show as icmp_drop instead of host_denied.) */
START_TEST(ping_loopback_denied)
{
	static const struct h_match from_lo = { .proto = FR_PROTO_ICMP,
						.src = FR_IP(127, 0, 0, 1) };

	h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_IP(127, 0, 0, 1), 0x4242, 1, "lo?", 3));
	h_run(200);
	ck_assert_msg(h_find(h_match, &from_lo) == NULL, "the host's loopback answered the guest");
	ck_assert_uint_eq(h_stats().icmp_echo_relayed, 0);
	ck_assert_uint_eq(h_stats().host_denied, 1);
}
END_TEST

/* ---- cases lwIP alone would drop silently: counted by the hook ---- */

/* An engine made before its guest link (cfg.output == NULL): lwIP's
 * gratuitous ARP at netif_set_up() must not count as an output error
 * before anything happened. */
START_TEST(no_output_error_at_startup)
{
	struct sn_config cfg;
	struct sn_engine *e;
	struct sn_stats st;

	h_config(&cfg);
	cfg.output = NULL;
	e = sn_engine_new(&cfg);
	ck_assert_ptr_nonnull(e);
	sn_engine_stats(e, &st);
	sn_engine_free(e);
	ck_assert_uint_eq(st.output_errors, 0);
}
END_TEST

static Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc;

	tc = tcase_create("arp");
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_test(tc, frames_selftest);
	tcase_add_test(tc, arp_gateway);
	tcase_add_test(tc, arp_proxy);
	tcase_add_test(tc, arp_own_address_unanswered);
	tcase_add_test(tc, arp_probe_answered);
	tcase_add_test(tc, arp_spoofed_sender_ip);
	tcase_add_test(tc, arp_reply_from_guest_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("icmp_spoof");
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_test(tc, ping_gateway);
	tcase_add_test(tc, spoofed_source_ip);
	tcase_add_test(tc, spoofed_source_mac);
	tcase_add_test(tc, configured_guest_mac);
	tcase_add_test(tc, output_failure_counted);
	tcase_add_test(tc, stats_in_out);
	tcase_add_test(tc, stats_by_name);
	tcase_add_test(tc, ping_loopback_denied);
	tcase_add_test(tc, idle_engine_no_timer);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_loop_test(tc, malformed, 0, bad_cases_all());
	tcase_add_loop_test(tc, malformed_then_valid, 0,
			    (int)(sizeof(bad_tables) / sizeof(bad_tables[0])));
	tcase_add_test(tc, eight_exthdrs_walked);
	tcase_add_test(tc, unsupported_frames);
	suite_add_tcase(s, tc);

	tc = tcase_create("startup");	/* no engine running */
	tcase_add_test(tc, no_output_error_at_startup);
	suite_add_tcase(s, tc);

	tc = tcase_create("engine");
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_test(tc, second_engine_ebusy);
	tcase_add_test(tc, engine_again_after_free);
	suite_add_tcase(s, tc);

	tc = tcase_create("checksum");	/* no engine running */
	tcase_add_test(tc, checksum_matches_rfc1071);
	suite_add_tcase(s, tc);

	tc = tcase_create("heap");	/* no engine running */
	tcase_add_test(tc, heap_big_blocks_reused);
	tcase_add_test(tc, heap_class_edges);
	tcase_add_test(tc, heap_kept_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");	/* no engine running */
	tcase_add_test(tc, config_defaults);
	tcase_add_loop_test(tc, config_invalid, 0, (int)(sizeof(bad_cfgs) / sizeof(bad_cfgs[0])));
	tcase_add_test(tc, config_null);
	tcase_add_test(tc, free_null);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(core_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
