// SPDX-License-Identifier: MIT
/**
 * DOC: test_frag - fragments both ways, IPv4 and IPv6
 *
 * Guest to host: a UDP datagram to the gateway (host access: a socket on
 * 127.0.0.1 or [::1]) sent as three fragments, in order and out of order,
 * reaches the host socket whole; a set with overlapping fragments is
 * abandoned whole (frag_overlap), even when the fragments that do not
 * overlap would complete it; an incomplete set expires after
 * IP_REASS_MAXAGE (IPv4, 15 s) or IPV6_REASS_MAXAGE (60 s) on the fake
 * clock, with ICMP time exceeded (code 1: reassembly) to the guest, and
 * its fragments are gone (the rest sent afterwards completes nothing);
 * more sets than IP_REASS_MAX_PBUFS fragments can hold push out the
 * oldest; an IPv6 set whose datagram would not fit 65535 bytes is
 * dropped (lwIP would assert); sn_engine_free() drops the fragments of
 * unfinished sets, so they complete nothing for the next engine. A
 * fragmented echo request to the gateway, which the hook reassembles and
 * lwIP answers, gets its reply, in whatever order the fragments come.
 *
 * Host to guest: a 4000-byte reply to a guest with MTU 1500 arrives in
 * fragments of at most 1500 bytes at the IP level, which the tests' own
 * reassembler (frames.c) puts back together with a valid UDP checksum.
 *
 * lwIP's reassembly timers tick once a second and a clock jump runs them
 * once, so frag_age() advances the clock a second at a time. Every test
 * ends by ageing out whatever it left, since lwIP's reassembly state is
 * global (CK_FORK=no runs every test in one process).
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "harness.h"

#define T_TE6		3
#define T_TE4		11
#define T_EREQ6		128
#define T_EREP6		129

/* lwIP's reassembly timeouts (lwipopts.h), in seconds */
#define MAXAGE4		15
#define MAXAGE6		60
#define MAX_PBUFS	64
/* netif/output.c: the burst of the ICMP error bucket */
#define ERR_BURST	50

static uint8_t fb[FR_MAX];
static uint8_t dgram[65536];
static struct fr_reass R;

static void pattern(uint8_t *d, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		d[i] = (uint8_t)(i * 7 + (i >> 8) + seed);
}

/**
 * frag_age() - move the clock a second at a time, as lwIP's timers need
 * @s:		seconds
 */
static void frag_age(unsigned s)
{
	while (s--)
		h_clock_advance(1000);
}

/**
 * engine_renew() - free the engine and make a new one, keeping the host fds
 *
 * The fragments lwIP held for the old engine's guest must not complete
 * sets for the new one's (sn_engine_free() drops them).
 */
static void engine_renew(void)
{
	sn_engine_free(H.e);
	H.e = sn_engine_new(&H.cfg);
	ck_assert_msg(H.e != NULL, "sn_engine_new: %s", sn_strerror());
}

/* ---- IPv4 ---- */

/**
 * udp4_dgram() - a UDP datagram (header and payload) from the guest to the gateway
 * @dport:	port
 * @sport:	guest port
 * @data:	payload
 * @len:	its length
 *
 * Return: its length, in dgram
 */
static size_t udp4_dgram(uint16_t sport, uint16_t dport, const void *data, size_t len)
{
	size_t n = fr_udp_frame(fb, FR_GUEST_IP, sport, FR_GW_IP, dport, data, len);

	memcpy(dgram, fb + FR_L4_OFF, n - FR_L4_OFF);
	return n - FR_L4_OFF;
}

/**
 * frag4() - send bytes [@off, @off + @len) of dgram as one IPv4 fragment
 * @id:		identification
 * @off:	offset (a multiple of 8)
 * @len:	length
 * @more:	MF
 */
static void frag4(uint16_t id, size_t off, size_t len, int more)
{
	struct fr_ip4 ip = { .src = FR_GUEST_IP, .dst = FR_GW_IP, .proto = FR_PROTO_UDP,
			     .id = id,
			     .frag = (uint16_t)((more ? FR_IP_MF : 0) | (off / 8)) };

	ck_assert_int_eq(h_send(fb, fr_ip4_frame(fb, &ip, dgram + off, len)), 0);
}

/**
 * host_got() - run the engine until @fd has a datagram, or @ms pass
 * @fd:		host socket
 * @buf:	output
 * @size:	its size
 * @ms:		bound
 *
 * Return: its length, or -1 when none came
 */
static ssize_t host_got(int fd, void *buf, size_t size, int ms)
{
	if (!h_run_until_ready(fd, ms))
		return -1;
	return recv(fd, buf, size, MSG_DONTWAIT);
}

static uint8_t data[8192], got[8192];

/* 3000 bytes of payload in three fragments: 1000, 1000, 1008 bytes */
static void v4_three(int order[3], uint16_t id)
{
	static const size_t off[3] = { 0, 1000, 2000 }, len[3] = { 1000, 1000, 1008 };
	uint16_t port = 0;
	int fd = h_udp_bind(&port), i;
	size_t n;

	pattern(data, 3000, id);
	n = udp4_dgram(44000, port, data, 3000);
	ck_assert_uint_eq(n, 3008);
	for (i = 0; i < 3; i++)
		frag4(id, off[order[i]], len[order[i]], order[i] != 2);
	ck_assert_int_eq(host_got(fd, got, sizeof(got), H_WAIT_MS), 3000);
	ck_assert_mem_eq(got, data, 3000);
	ck_assert_uint_eq(h_stats().frag_overlap, 0);
	frag_age(MAXAGE6 + 2);
}

START_TEST(v4_in_order)
{
	int order[3] = { 0, 1, 2 };

	v4_three(order, 0x1001);
}
END_TEST

START_TEST(v4_out_of_order)
{
	int order[3] = { 2, 0, 1 };

	v4_three(order, 0x1002);
}
END_TEST

START_TEST(v4_overlap_abandons_set)
{
	uint16_t port = 0;
	int fd = h_udp_bind(&port);

	pattern(data, 3000, 3);
	udp4_dgram(44001, port, data, 3000);
	frag4(0x1003, 0, 1000, 1);
	frag4(0x1003, 504, 1000, 1);		/* overlaps the first */
	frag4(0x1003, 1000, 2008, 0);		/* would complete it without the overlap */
	ck_assert_int_eq(host_got(fd, got, sizeof(got), 200), -1);
	ck_assert_uint_eq(h_stats().frag_overlap, 1);

	/* another set is not affected */
	frag4(0x1004, 0, 1000, 1);
	frag4(0x1004, 1000, 2008, 0);
	ck_assert_int_eq(host_got(fd, got, sizeof(got), H_WAIT_MS), 3000);
	ck_assert_mem_eq(got, data, 3000);

	/* once the abandoned set has expired, its identification is free again */
	frag_age(MAXAGE4 + 4);
	frag4(0x1003, 0, 1000, 1);
	frag4(0x1003, 1000, 2008, 0);
	ck_assert_int_eq(host_got(fd, got, sizeof(got), H_WAIT_MS), 3000);
	frag_age(MAXAGE6 + 2);
}
END_TEST

START_TEST(v4_incomplete_expires)
{
	struct h_match te = { .proto = FR_PROTO_ICMP, .src = FR_GW_IP, .icmp_type = T_TE4 + 1 };
	const struct fr_parsed *p;
	uint16_t port = 0;
	int fd = h_udp_bind(&port);

	pattern(data, 3000, 5);
	udp4_dgram(44002, port, data, 3000);
	frag4(0x1005, 0, 1000, 1);
	frag4(0x1005, 1000, 1000, 1);
	frag_age(MAXAGE4 - 1);
	ck_assert_ptr_null(h_find(h_match, &te));
	frag_age(3);
	p = h_wait(h_match, &te, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no time exceeded after IP_REASS_MAXAGE");
	ck_assert_uint_eq(p->icmp_code, 1);	/* fragment reassembly time exceeded */
	/* the first two fragments are gone: the last one completes nothing */
	frag4(0x1005, 2000, 1008, 0);
	ck_assert_int_eq(host_got(fd, got, sizeof(got), 200), -1);
	frag_age(MAXAGE6 + 2);
}
END_TEST

/*
 * An engine that sleeps as long as sn_engine_timeout_ms() says still ages
 * an incomplete set out on time: lwIP's reassembly timer wakes it while
 * the set is held, and nothing does after.
 */
START_TEST(v4_incomplete_wakes_until_expired)
{
	struct h_match te = { .proto = FR_PROTO_ICMP, .src = FR_GW_IP, .icmp_type = T_TE4 + 1 };
	uint16_t port = 0;
	uint32_t start;
	int i, t;

	h_udp_bind(&port);
	ck_assert_int_eq(sn_engine_timeout_ms(H.e), -1);
	udp4_dgram(44012, port, data, 3000);
	frag4(0x1015, 0, 1000, 1);
	t = sn_engine_timeout_ms(H.e);
	ck_assert_int_ge(t, 0);
	ck_assert_int_le(t, 1000);
	start = h_now();
	for (i = 0; i < 100 && !h_find(h_match, &te); i++) {
		t = sn_engine_timeout_ms(H.e);
		ck_assert_int_ge(t, 0);
		h_clock_advance(t > 0 ? (uint32_t)t : 1);
	}
	ck_assert_msg(h_now() - start >= (MAXAGE4 - 1) * 1000 &&
		      h_now() - start <= (MAXAGE4 + 2) * 1000,
		      "time exceeded after %u ms", h_now() - start);
	for (i = 0; i < 100 && (t = sn_engine_timeout_ms(H.e)) >= 0; i++)
		h_clock_advance(t > 0 ? (uint32_t)t : 1);
	ck_assert_int_eq(sn_engine_timeout_ms(H.e), -1);
	ck_assert_uint_le(h_now() - start, (MAXAGE4 + 3) * 1000);
}
END_TEST

START_TEST(v4_oldest_sets_dropped)
{
	enum { SETS = MAX_PBUFS + 8 };
	uint16_t port = 0, id;
	int fd = h_udp_bind(&port);

	pattern(data, 3000, 6);
	udp4_dgram(44003, port, data, 3000);
	/* first halves of more sets than the bound holds */
	for (id = 1; id <= SETS; id++)
		frag4((uint16_t)(0x2000 + id), 0, 1000, 1);
	/* the oldest were dropped: completing one delivers nothing */
	frag4(0x2000 + 1, 1000, 2008, 0);
	ck_assert_int_eq(host_got(fd, got, sizeof(got), 200), -1);
	/* the newest are still held */
	frag4(0x2000 + SETS, 1000, 2008, 0);
	ck_assert_int_eq(host_got(fd, got, sizeof(got), H_WAIT_MS), 3000);
	ck_assert_mem_eq(got, data, 3000);
	frag4(0x2000 + SETS - 10, 1000, 2008, 0);
	ck_assert_int_eq(host_got(fd, got, sizeof(got), H_WAIT_MS), 3000);
	ck_assert_uint_eq(h_stats().frag_overlap, 0);
	frag_age(MAXAGE6 + 2);
}
END_TEST

/* lwIP's own reassembly time exceeded messages take from the one bucket of
 * ICMP errors to the guest: a flood of first fragments, each evicting or
 * expiring a set, gets at most two bursts' worth of them, not one each. */
START_TEST(v4_reass_errors_rate_limited)
{
	struct h_match te = { .proto = FR_PROTO_ICMP, .icmp_type = T_TE4 + 1 };
	enum { SETS = 4 * MAX_PBUFS };
	unsigned n = 0;
	uint16_t id;

	pattern(data, 3000, 7);
	udp4_dgram(44004, 9, data, 3000);
	for (id = 1; id <= SETS; id++)
		frag4((uint16_t)(0x3000 + id), 0, 1000, 1);
	frag_age(MAXAGE4 + 2);
	while (h_wait(h_match, &te, 100))
		n++;
	ck_assert_msg(n <= 2 * ERR_BURST + 5, "%u time exceeded for %u evicted or expired sets",
		      n, SETS);
	ck_assert_uint_ge(n, ERR_BURST / 2);
	ck_assert_uint_ge(h_stats().icmp_errors_ratelimited, SETS - n);
}
END_TEST

START_TEST(v4_engine_free_drops_fragments)
{
	uint16_t port = 0;
	int fd = h_udp_bind(&port);

	pattern(data, 3000, 14);
	udp4_dgram(44005, port, data, 3000);
	frag4(0x4005, 0, 1000, 1);
	frag4(0x4005, 1000, 1000, 1);
	engine_renew();
	frag4(0x4005, 2000, 1008, 0);
	ck_assert_int_eq(host_got(fd, got, sizeof(got), 200), -1);
	frag4(0x4006, 0, 1000, 1);
	frag4(0x4006, 1000, 1000, 1);
	frag4(0x4006, 2000, 1008, 0);
	ck_assert_int_eq(host_got(fd, got, sizeof(got), H_WAIT_MS), 3000);
	ck_assert_mem_eq(got, data, 3000);
	frag_age(MAXAGE4 + 2);
}
END_TEST

START_TEST(v4_reply_fragmented)
{
	enum { LEN = 4000 };
	struct h_match m = { .proto = FR_PROTO_UDP, .src = FR_GW_IP };
	struct sockaddr_in from;
	socklen_t sl = sizeof(from);
	uint16_t port = 0;
	int fd = h_udp_bind(&port), r = 0;
	unsigned frags = 0;

	h_send(fb, fr_udp_frame(fb, FR_GUEST_IP, 44004, FR_GW_IP, port, "big?", 4));
	ck_assert(h_run_until_ready(fd, H_WAIT_MS));
	ck_assert_int_eq(recvfrom(fd, got, sizeof(got), 0, (struct sockaddr *)&from, &sl), 4);
	pattern(data, LEN, 7);
	ck_assert_int_eq(sendto(fd, data, LEN, 0, (struct sockaddr *)&from, sl), LEN);

	memset(&R, 0, sizeof(R));
	while (r == 0) {
		const struct fr_parsed *p = h_wait(h_match, &m, H_WAIT_MS);

		ck_assert_msg(p != NULL, "fragments missing after %u", frags);
		ck_assert_uint_le(p->ip_len, 1500);
		ck_assert_uint_le(p->len - FR_ETH_HLEN, 1500);
		ck_assert_uint_eq(p->ip_frag & FR_IP_DF, 0);
		r = fr_reass_add(&R, p);
		ck_assert_int_ge(r, 0);
		frags++;
	}
	ck_assert_uint_ge(frags, 3);
	ck_assert_uint_eq(R.total, 8 + LEN);
	ck_assert_uint_eq(fr_l4_cksum(FR_GW_IP, FR_GUEST_IP, FR_PROTO_UDP, R.buf, R.total), 0);
	ck_assert_uint_eq((R.buf[4] << 8) | R.buf[5], 8 + LEN);
	ck_assert_mem_eq(R.buf + 8, data, LEN);
}
END_TEST

/* ---- IPv6 ---- */

static int udp6_bind_lo(uint16_t *port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
				     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t sl = sizeof(sin6);
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin6, &sl), 0);
	*port = ntohs(sin6.sin6_port);
	return h_track_fd(fd);
}

static size_t udp6_dgram(uint16_t sport, uint16_t dport, const void *d, size_t len)
{
	size_t n = fr_udp6_frame(fb, fr_guest_ip6, sport, fr_gw_ip6, dport, d, len);

	memcpy(dgram, fb + FR_L4_OFF6, n - FR_L4_OFF6);
	return n - FR_L4_OFF6;
}

static void frag6(uint32_t id, size_t off, size_t len, int more)
{
	ck_assert_int_eq(h_send(fb, fr_ip6_frag_frame(fb, fr_guest_ip6, fr_gw_ip6, FR_PROTO_UDP,
						      id, off, more, dgram + off, len)), 0);
}

/**
 * host_got6() - host_got() answering neighbour solicitations meanwhile
 * @fd:		host socket
 * @ms:		bound
 *
 * Return: the datagram's length (in got), or -1
 */
static ssize_t host_got6_from(int fd, int ms, struct sockaddr_in6 *from)
{
	int i;

	for (i = 0; i < ms / 5 + 1; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		socklen_t sl = sizeof(*from);

		if (poll(&pfd, 1, 0) > 0)
			return recvfrom(fd, got, sizeof(got), MSG_DONTWAIT,
					(struct sockaddr *)from, &sl);
		h_step(5);
	}
	return -1;
}

static ssize_t host_got6(int fd, int ms)
{
	struct sockaddr_in6 from;

	return host_got6_from(fd, ms, &from);
}

static void v6_three(int order[3], uint32_t id)
{
	static const size_t off[3] = { 0, 1000, 2000 }, len[3] = { 1000, 1000, 1008 };
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port), i;

	pattern(data, 3000, id);
	ck_assert_uint_eq(udp6_dgram(45000, port, data, 3000), 3008);
	for (i = 0; i < 3; i++)
		frag6(id, off[order[i]], len[order[i]], order[i] != 2);
	ck_assert_int_eq(host_got6(fd, H_WAIT_MS), 3000);
	ck_assert_mem_eq(got, data, 3000);
	ck_assert_uint_eq(h_stats().frag_overlap, 0);
	frag_age(MAXAGE6 + 2);
}

START_TEST(v6_in_order)
{
	int order[3] = { 0, 1, 2 };

	v6_three(order, 0x60001);
}
END_TEST

START_TEST(v6_out_of_order)
{
	int order[3] = { 1, 2, 0 };

	v6_three(order, 0x60002);
}
END_TEST

START_TEST(v6_overlap_abandons_set)
{
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port);

	pattern(data, 3000, 9);
	udp6_dgram(45001, port, data, 3000);
	frag6(0x60003, 1000, 2008, 0);
	frag6(0x60003, 504, 1000, 1);		/* overlaps the last */
	frag6(0x60003, 0, 1000, 1);		/* would complete it without the overlap */
	ck_assert_int_eq(host_got6(fd, 200), -1);
	ck_assert_uint_eq(h_stats().frag_overlap, 1);

	frag6(0x60004, 0, 1000, 1);
	frag6(0x60004, 1000, 2008, 0);
	ck_assert_int_eq(host_got6(fd, H_WAIT_MS), 3000);
	ck_assert_mem_eq(got, data, 3000);
	frag_age(MAXAGE6 + 4);
}
END_TEST

static int is_te6(const struct fr_parsed *p, const void *arg)
{
	(void)arg;
	return p->type == FR_ETH_IP6 && p->l4 && p->ip6_nexth == FR_PROTO_ICMP6 &&
	       p->icmp_type == T_TE6;
}

START_TEST(v6_incomplete_expires)
{
	const struct fr_parsed *p;
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port);

	pattern(data, 3000, 10);
	udp6_dgram(45002, port, data, 3000);
	frag6(0x60005, 0, 1000, 1);
	frag6(0x60005, 1000, 1000, 1);
	frag_age(MAXAGE6 - 1);
	h_answer_ns();
	ck_assert_ptr_null(h_find(is_te6, NULL));
	frag_age(3);
	p = h_wait(is_te6, NULL, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no time exceeded after IPV6_REASS_MAXAGE");
	ck_assert_uint_eq(p->icmp_code, 1);	/* fragment reassembly time exceeded */
	frag6(0x60005, 2000, 1008, 0);
	ck_assert_int_eq(host_got6(fd, 200), -1);
	frag_age(MAXAGE6 + 2);
}
END_TEST

START_TEST(v6_oldest_sets_dropped)
{
	enum { SETS = MAX_PBUFS + 8 };
	uint16_t port = 0;
	uint32_t id;
	int fd = udp6_bind_lo(&port);

	pattern(data, 3000, 11);
	udp6_dgram(45003, port, data, 3000);
	for (id = 1; id <= SETS; id++)
		frag6(0x70000 + id, 0, 1000, 1);
	frag6(0x70000 + 1, 1000, 2008, 0);
	ck_assert_int_eq(host_got6(fd, 200), -1);
	frag6(0x70000 + SETS, 1000, 2008, 0);
	ck_assert_int_eq(host_got6(fd, H_WAIT_MS), 3000);
	ck_assert_mem_eq(got, data, 3000);
	frag6(0x70000 + SETS - 10, 1000, 2008, 0);
	ck_assert_int_eq(host_got6(fd, H_WAIT_MS), 3000);
	ck_assert_uint_eq(h_stats().frag_overlap, 0);
	frag_age(MAXAGE6 + 2);
}
END_TEST

/* A set whose datagram would not fit 65535 bytes with its IPv6 header:
 * lwIP's ip6_reass() would assert (abort) on completing it. */
START_TEST(v6_oversized_set_dropped)
{
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port);
	uint64_t unsupported = h_stats().drop_unsupported;

	memset(dgram, 0x5a, sizeof(dgram));
	frag6(0x60008, 0, 32768, 1);
	frag6(0x60008, 32768, 65496 - 32768, 0);
	ck_assert_uint_eq(h_stats().drop_unsupported, unsupported + 1);
	ck_assert_int_eq(host_got6(fd, 200), -1);

	pattern(data, 3000, 16);
	udp6_dgram(45007, port, data, 3000);
	frag6(0x60009, 0, 1000, 1);
	frag6(0x60009, 1000, 2008, 0);
	ck_assert_int_eq(host_got6(fd, H_WAIT_MS), 3000);
	ck_assert_mem_eq(got, data, 3000);
	frag_age(MAXAGE6 + 2);
}
END_TEST

START_TEST(v6_engine_free_drops_fragments)
{
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port);

	pattern(data, 3000, 15);
	udp6_dgram(45006, port, data, 3000);
	frag6(0x60006, 0, 1000, 1);
	frag6(0x60006, 1000, 1000, 1);
	engine_renew();
	frag6(0x60006, 2000, 1008, 0);
	ck_assert_int_eq(host_got6(fd, 200), -1);
	frag6(0x60007, 0, 1000, 1);
	frag6(0x60007, 1000, 1000, 1);
	frag6(0x60007, 2000, 1008, 0);
	ck_assert_int_eq(host_got6(fd, H_WAIT_MS), 3000);
	ck_assert_mem_eq(got, data, 3000);
	frag_age(MAXAGE6 + 2);
}
END_TEST

static int is_udp6_from_gw(const struct fr_parsed *p, const void *arg)
{
	(void)arg;
	return p->type == FR_ETH_IP6 && p->ip6_nexth == FR_PROTO_UDP &&
	       !memcmp(p->ip6_src, fr_gw_ip6, 16);
}

START_TEST(v6_reply_fragmented)
{
	enum { LEN = 4000 };
	struct sockaddr_in6 from;
	socklen_t sl = sizeof(from);
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port), r = 0;
	unsigned frags = 0;

	ck_assert_int_eq(h_send(fb, fr_udp6_frame(fb, fr_guest_ip6, 45004, fr_gw_ip6, port,
						  "big?", 4)), 0);
	ck_assert_int_eq(host_got6_from(fd, H_WAIT_MS, &from), 4);
	pattern(data, LEN, 12);
	ck_assert_int_eq(sendto(fd, data, LEN, 0, (struct sockaddr *)&from, sl), LEN);

	memset(&R, 0, sizeof(R));
	while (r == 0) {
		const struct fr_parsed *p = h_wait(is_udp6_from_gw, NULL, H_WAIT_MS);

		ck_assert_msg(p != NULL, "fragments missing after %u", frags);
		ck_assert_uint_eq(p->ip6_frag, 1);	/* a fragment header */
		ck_assert_uint_le(40 + (size_t)p->ip6_plen, 1500);
		ck_assert_uint_le(p->len - FR_ETH_HLEN, 1500);
		ck_assert_mem_eq(p->ip6_dst, fr_guest_ip6, 16);
		r = fr_reass_add(&R, p);
		ck_assert_int_ge(r, 0);
		frags++;
	}
	ck_assert_uint_ge(frags, 3);
	ck_assert_uint_eq(R.total, 8 + LEN);
	ck_assert_uint_eq(fr_l4_cksum6(fr_gw_ip6, fr_guest_ip6, FR_PROTO_UDP, R.buf, R.total), 0);
	ck_assert_uint_ne((R.buf[6] << 8) | R.buf[7], 0);
	ck_assert_uint_eq((R.buf[4] << 8) | R.buf[5], 8 + LEN);
	ck_assert_mem_eq(R.buf + 8, data, LEN);
}
END_TEST

static int is_erep6(const struct fr_parsed *p, const void *arg)
{
	(void)arg;
	return p->type == FR_ETH_IP6 && p->l4 && p->ip6_nexth == FR_PROTO_ICMP6 &&
	       p->icmp_type == T_EREP6 && !memcmp(p->ip6_src, fr_gw_ip6, 16);
}

/**
 * v6_echo_gw_frags() - a fragmented echo request to the gateway gets its reply
 * @seq:	echo sequence number, also the fragment identification
 * @first_last:	send the first fragment last
 *
 * lwIP answers echo to the gateway; the hook reassembles the request, and
 * lwIP must then get the whole datagram, not the fragment its ip6_input()
 * was called with (that leaked the datagram and left the ping unanswered).
 */
static void v6_echo_gw_frags(uint16_t seq, int first_last)
{
	enum { LEN = 1400, CUT = 704 };
	uint8_t msg[8 + LEN] = { T_EREQ6, 0, 0, 0, 0x12, 0x34, seq >> 8, seq & 0xff };
	const struct fr_parsed *p;
	uint64_t local = h_stats().icmp_echo_local;
	size_t n;

	pattern(msg + 8, LEN, seq);
	n = fr_icmp6_frame(fb, fr_guest_ip6, fr_gw_ip6, 64, msg, sizeof(msg));
	memcpy(dgram, fb + FR_L4_OFF6, n - FR_L4_OFF6);
	if (!first_last)
		ck_assert_int_eq(h_send(fb, fr_ip6_frag_frame(fb, fr_guest_ip6, fr_gw_ip6,
							      FR_PROTO_ICMP6, seq, 0, 1,
							      dgram, CUT)), 0);
	ck_assert_int_eq(h_send(fb, fr_ip6_frag_frame(fb, fr_guest_ip6, fr_gw_ip6, FR_PROTO_ICMP6,
						      seq, CUT, 0, dgram + CUT,
						      sizeof(msg) - CUT)), 0);
	if (first_last)
		ck_assert_int_eq(h_send(fb, fr_ip6_frag_frame(fb, fr_guest_ip6, fr_gw_ip6,
							      FR_PROTO_ICMP6, seq, 0, 1,
							      dgram, CUT)), 0);
	p = h_wait(is_erep6, NULL, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no echo reply to a reassembled echo request");
	ck_assert_uint_eq(p->ip6_frag, 0);	/* 1448 bytes fit MTU 1500 */
	ck_assert_uint_eq(p->icmp_id, 0x1234);
	ck_assert_uint_eq(p->icmp_seq, seq);
	ck_assert_uint_eq(p->plen, LEN);
	ck_assert_mem_eq(p->payload, msg + 8, LEN);
	ck_assert_uint_eq(h_stats().icmp_echo_local, local + 1);	/* counted once */
	ck_assert_uint_eq(h_stats().frag_overlap, 0);
}

START_TEST(v6_echo_gw_in_order)
{
	v6_echo_gw_frags(0x61, 0);
}
END_TEST

START_TEST(v6_echo_gw_first_last)
{
	v6_echo_gw_frags(0x62, 1);
}
END_TEST

/* A router advertisement from the guest with an MTU option of 1280 does
 * not shrink the fragments of replies (it is dropped, not given to lwIP). */
START_TEST(v6_guest_ra_ignored)
{
	enum { LEN = 1400 };
	uint8_t ra[24] = { 134, 0, 0, 0, 64, 0, 0x07, 0x08 };
	struct sockaddr_in6 from;
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port);
	const struct fr_parsed *p;

	ra[16] = 5;			/* MTU option */
	ra[17] = 1;
	ra[22] = 1280 >> 8;
	ra[23] = 1280 & 0xff;
	ck_assert_int_eq(h_send(fb, fr_icmp6_frame(fb, fr_guest_ll6, fr_ip6_allnodes, 255, ra,
						   sizeof(ra))), 0);
	ck_assert_uint_eq(h_stats().drop_unsupported, 1);

	ck_assert_int_eq(h_send(fb, fr_udp6_frame(fb, fr_guest_ip6, 45005, fr_gw_ip6, port,
						  "mtu?", 4)), 0);
	ck_assert_int_eq(host_got6_from(fd, H_WAIT_MS, &from), 4);
	pattern(data, LEN, 13);
	ck_assert_int_eq(sendto(fd, data, LEN, 0, (struct sockaddr *)&from, sizeof(from)), LEN);
	p = h_wait(is_udp6_from_gw, NULL, H_WAIT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->ip6_frag, 0);	/* whole: 1448 bytes fit MTU 1500 */
	ck_assert_uint_eq(p->plen, LEN);
	ck_assert_mem_eq(p->payload, data, LEN);
}
END_TEST

/* lwIP resolves the guest's MAC before its first unicast IPv6 packet */
static void setup_host6(void)
{
	h_setup_host();
	H.answer_ns = 1;
}

/* cfg.offload: lwIP's netif MTU is 65520 for TCP's sake; datagrams still
 * leave in fragments of the guest's MTU (netif/guestif.c) */
static void setup_offload6(void)
{
	h_setup_offload();
	H.answer_ns = 1;
}

static Suite *frag_suite(void)
{
	Suite *s = suite_create("frag");
	TCase *tc;

	tc = tcase_create("ipv4");
	tcase_add_checked_fixture(tc, h_setup_host, h_teardown);
	tcase_add_test(tc, v4_in_order);
	tcase_add_test(tc, v4_out_of_order);
	tcase_add_test(tc, v4_overlap_abandons_set);
	tcase_add_test(tc, v4_incomplete_expires);
	tcase_add_test(tc, v4_incomplete_wakes_until_expired);
	tcase_add_test(tc, v4_oldest_sets_dropped);
	tcase_add_test(tc, v4_reass_errors_rate_limited);
	tcase_add_test(tc, v4_engine_free_drops_fragments);
	tcase_add_test(tc, v4_reply_fragmented);
	suite_add_tcase(s, tc);

	tc = tcase_create("ipv6");
	tcase_add_checked_fixture(tc, setup_host6, h_teardown);
	tcase_add_test(tc, v6_in_order);
	tcase_add_test(tc, v6_out_of_order);
	tcase_add_test(tc, v6_overlap_abandons_set);
	tcase_add_test(tc, v6_incomplete_expires);
	tcase_add_test(tc, v6_oldest_sets_dropped);
	tcase_add_test(tc, v6_engine_free_drops_fragments);
	tcase_add_test(tc, v6_oversized_set_dropped);
	tcase_add_test(tc, v6_reply_fragmented);
	tcase_add_test(tc, v6_guest_ra_ignored);
	tcase_add_test(tc, v6_echo_gw_in_order);
	tcase_add_test(tc, v6_echo_gw_first_last);
	suite_add_tcase(s, tc);

	tc = tcase_create("offload");
	tcase_add_checked_fixture(tc, setup_offload6, h_teardown);
	tcase_add_test(tc, v4_reply_fragmented);
	tcase_add_test(tc, v6_reply_fragmented);
	tcase_add_test(tc, v6_guest_ra_ignored);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(frag_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
