// SPDX-License-Identifier: MIT
/**
 * DOC: test_icmperr - ICMP errors to the guest about its UDP datagrams
 *
 * Only 127.0.0.1 is ever sent to (through the gateway address, with host
 * access allowed), or nothing at all:
 *
 * - a datagram to 10.0.2.2:P where nothing listens on 127.0.0.1:P makes the
 *   host kernel answer ICMP port unreachable; the session socket reads it
 *   from its error queue (IP_RECVERR) and the guest gets ICMP port
 *   unreachable from 10.0.2.2 (not 127.0.0.1) quoting its own IP and UDP
 *   headers byte for byte, which is what the guest's kernel matches its
 *   socket on. The session stays and the next datagram is answered too.
 * - a datagram with TTL 1 (or 0) to 192.0.2.1 expires at the gateway: ICMP
 *   time exceeded from 10.0.2.2 quoting it, and no socket is opened, no
 *   datagram leaves (udp_dgrams_up, udp_sessions stay 0, no new fd). To the
 *   gateway itself TTL 1 is fine: it is the destination.
 * - the same for an ICMP echo request with TTL 1 to 192.0.2.1: time
 *   exceeded from the gateway, no ping socket, nothing relayed.
 * - the host socket of a session to the host's loopback keeps its default
 *   TTL (only sessions past the gateway get the guest's TTL minus one).
 * - errors are rate limited: a burst of TTL-1 probes gets at most the
 *   bucket's worth of answers, the rest are counted; credit comes back
 *   with the clock.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "harness.h"

static uint8_t fb[FR_MAX];

/* the engine's bucket: SN_ICMP_ERR_BURST in netif/output.c */
#define BURST	50

static const struct h_match unreach = { .proto = FR_PROTO_ICMP, .icmp_type = 3 + 1 };
static const struct h_match expired = { .proto = FR_PROTO_ICMP, .icmp_type = 11 + 1 };

/**
 * closed_port() - a UDP port on 127.0.0.1 that nothing listens on
 *
 * Return: the port (bound once to find it, then released)
 */
static uint16_t closed_port(void)
{
	uint16_t port = 0;
	int fd = h_udp_bind(&port);

	ck_assert_int_ge(fd, 0);
	h_close_fd(fd);
	return port;
}

/**
 * guest_udp() - build a guest UDP frame with a given TTL into fb
 * @gport:	guest port
 * @dst:	destination
 * @dport:	destination port
 * @ttl:	IP TTL
 * @data:	payload
 * @len:	its length
 *
 * Return: frame length
 */
static size_t guest_udp(uint16_t gport, uint32_t dst, uint16_t dport, uint8_t ttl,
			const void *data, size_t len)
{
	size_t n = fr_udp_frame(fb, FR_GUEST_IP, gport, dst, dport, data, len);

	fb[FR_IP_OFF + 8] = ttl;
	fr_fix_ip_csum(fb);		/* the UDP checksum does not cover the TTL */
	return n;
}

/**
 * check_quote() - an ICMP error quotes the guest's packet as it was sent
 * @p:		the error
 * @orig:	the guest's packet from its IP header
 * @len:	its length
 */
static void check_quote(const struct fr_parsed *p, const uint8_t *orig, size_t len)
{
	/* the IP header and the UDP header, byte for byte, at least */
	ck_assert_uint_ge(p->plen, 28);
	ck_assert_mem_eq(p->payload, orig, 28);
	ck_assert_mem_eq(p->payload, orig, p->plen < len ? p->plen : len);
	ck_assert_uint_eq(p->ip_dst, FR_GUEST_IP);
	ck_assert_uint_eq(p->ip_ttl, 64);
	ck_assert_uint_eq(p->icmp_id, 0);	/* unused field: zero */
	ck_assert_uint_eq(p->icmp_seq, 0);
}

START_TEST(port_unreachable_from_gateway)
{
	static const char msg[] = "anyone home?";
	uint8_t orig[128];
	const struct fr_parsed *p;
	uint16_t port = closed_port();
	size_t n = guest_udp(45000, FR_GW_IP, port, 64, msg, sizeof(msg) - 1);
	int round;

	memcpy(orig, fb + FR_IP_OFF, n - FR_ETH_HLEN);
	for (round = 1; round <= 2; round++) {
		h_send(fb, n);
		p = h_wait(h_match, &unreach, H_WAIT_MS);
		ck_assert_msg(p != NULL, "round %d: no ICMP unreachable for a closed port", round);
		ck_assert_uint_eq(p->icmp_code, 3);
		/* from the address the guest talked to, not the host's 127.0.0.1 */
		ck_assert_uint_eq(p->ip_src, FR_GW_IP);
		check_quote(p, orig, n - FR_ETH_HLEN);
		/* the session stays: both datagrams went out on one socket */
		ck_assert_uint_eq(h_stats().udp_sessions, 1);
		ck_assert_uint_eq(h_stats().udp_sessions_active, 1);
		ck_assert_uint_eq(h_stats().udp_dgrams_up, (uint64_t)round);
		ck_assert_uint_ge(h_stats().host_errors, (uint64_t)round);
		ck_assert_uint_eq(h_stats().icmp_errors_sent, (uint64_t)round);
	}
	ck_assert_uint_eq(h_stats().icmp_errors_ratelimited, 0);
	h_run(50);
	ck_assert_ptr_null(h_find(h_match, &unreach));	/* one error per datagram */
}
END_TEST

START_TEST(port_unreachable_then_reply)
{
	const struct fr_parsed *p;
	struct sockaddr_in from;
	socklen_t sl = sizeof(from);
	uint8_t buf[16];
	uint16_t port = closed_port();
	int fd;

	/* refused first ... */
	h_send(fb, guest_udp(45001, FR_GW_IP, port, 64, "1", 1));
	ck_assert_ptr_nonnull(h_wait(h_match, &unreach, H_WAIT_MS));
	/* ... then the port opens: the same session carries traffic again */
	fd = h_udp_bind(&port);
	ck_assert_int_ge(fd, 0);
	h_send(fb, guest_udp(45001, FR_GW_IP, port, 64, "2", 1));
	ck_assert(h_run_until_ready(fd, H_WAIT_MS));
	ck_assert_int_eq(recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &sl), 1);
	ck_assert_int_eq(buf[0], '2');
	ck_assert_int_eq(sendto(fd, "ok", 2, 0, (struct sockaddr *)&from, sl), 2);
	{
		struct h_match m = { .proto = FR_PROTO_UDP, .src = FR_GW_IP, .sport = port,
				     .dport = 45001 };

		p = h_wait(h_match, &m, H_WAIT_MS);
	}
	ck_assert_ptr_nonnull(p);
	ck_assert_mem_eq(p->payload, "ok", 2);
	ck_assert_uint_eq(h_stats().udp_sessions, 1);
}
END_TEST

START_TEST(ttl1_expires_at_gateway)
{
	static const uint8_t ttls[] = { 1, 0 };
	const struct fr_parsed *p;
	uint8_t orig[128];
	int base = h_fd_count();
	unsigned i;

	for (i = 0; i < sizeof(ttls); i++) {
		size_t n = guest_udp((uint16_t)(45010 + i), FR_IP(192, 0, 2, 1), 33434, ttls[i],
				     "probe", 5);

		memcpy(orig, fb + FR_IP_OFF, n - FR_ETH_HLEN);
		h_send(fb, n);
		/* answered at once, in sn_engine_input(): no waiting on a socket */
		p = h_find(h_match, &expired);
		ck_assert_msg(p != NULL, "TTL %u: no time exceeded", ttls[i]);
		ck_assert_uint_eq(p->icmp_code, 0);
		ck_assert_uint_eq(p->ip_src, FR_GW_IP);	/* the gateway is hop 1 */
		check_quote(p, orig, n - FR_ETH_HLEN);
		ck_assert_uint_eq(p->payload[8], ttls[i]);	/* the TTL it arrived with */
	}
	/* nothing left the engine: no session, no socket, no datagram */
	ck_assert_uint_eq(h_stats().ttl_expired, 2);
	ck_assert_uint_eq(h_stats().udp_dgrams_up, 0);
	ck_assert_uint_eq(h_stats().udp_sessions, 0);
	ck_assert_int_eq(h_fd_count(), base);
	ck_assert_uint_eq(h_stats().icmp_errors_sent, 2);
}
END_TEST

START_TEST(echo_ttl1_expires_at_gateway)
{
	const struct fr_parsed *p;
	uint8_t orig[128];
	int base = h_fd_count();
	size_t n = fr_icmp_echo(fb, FR_GUEST_IP, FR_IP(192, 0, 2, 1), 0x4242, 7, "ping", 4);

	fb[FR_IP_OFF + 8] = 1;
	fr_fix_ip_csum(fb);
	memcpy(orig, fb + FR_IP_OFF, n - FR_ETH_HLEN);
	h_send(fb, n);
	p = h_find(h_match, &expired);
	ck_assert_msg(p != NULL, "no time exceeded for an echo request with TTL 1");
	ck_assert_uint_eq(p->icmp_code, 0);
	ck_assert_uint_eq(p->ip_src, FR_GW_IP);
	check_quote(p, orig, n - FR_ETH_HLEN);
	ck_assert_uint_eq(h_stats().ttl_expired, 1);
	ck_assert_uint_eq(h_stats().icmp_echo_relayed, 0);
	ck_assert_uint_eq(h_stats().icmp_drop, 0);
	ck_assert_int_eq(h_fd_count(), base);
}
END_TEST

START_TEST(ttl1_to_gateway_delivered)
{
	struct sockaddr_in from;
	uint8_t buf[16];
	socklen_t sl = sizeof(from);
	uint16_t port = 0;
	int fd = h_udp_bind(&port), ttl = 0, on = 1;
	struct msghdr mh;
	struct iovec iov = { buf, sizeof(buf) };
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct cmsghdr *c;

	/* the gateway is the destination, not a hop: TTL 1 reaches it, and
	 * the host's loopback socket sends with its default TTL */
	ck_assert_int_eq(setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof(on)), 0);
	h_send(fb, guest_udp(45020, FR_GW_IP, port, 1, "t1", 2));
	ck_assert(h_run_until_ready(fd, H_WAIT_MS));
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &from;
	mh.msg_namelen = sl;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	ck_assert_int_eq(recvmsg(fd, &mh, 0), 2);
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
			memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
	ck_assert_int_gt(ttl, 1);
	ck_assert_uint_eq(h_stats().ttl_expired, 0);
	ck_assert_ptr_null(h_find(h_match, &expired));
}
END_TEST

START_TEST(errors_rate_limited)
{
	enum { N = 3 * BURST };
	uint64_t sent, limited;
	size_t got = 0;
	unsigned i;

	for (i = 0; i < N; i++)
		h_send(fb, guest_udp((uint16_t)(46000 + i), FR_IP(192, 0, 2, 1), 33434, 1, "p", 1));
	while (h_find(h_match, &expired))
		got++;
	sent = h_stats().icmp_errors_sent;
	limited = h_stats().icmp_errors_ratelimited;
	ck_assert_uint_eq(h_stats().ttl_expired, N);
	ck_assert_uint_eq(sent + limited, N);
	ck_assert_uint_eq(got, sent);
	ck_assert_uint_ge(sent, BURST);
	/* 100 a second refill: the loop above takes far less than a second */
	ck_assert_uint_lt(sent, 2 * BURST);

	/* credit comes back with the clock */
	h_clock_advance(1000);
	h_send(fb, guest_udp(47000, FR_IP(192, 0, 2, 1), 33434, 1, "p", 1));
	ck_assert_ptr_nonnull(h_find(h_match, &expired));
	ck_assert_uint_eq(h_stats().icmp_errors_sent, sent + 1);
	ck_assert_uint_eq(h_stats().icmp_errors_ratelimited, limited);
}
END_TEST

static Suite *icmperr_suite(void)
{
	Suite *s = suite_create("icmperr");
	TCase *tc;

	tc = tcase_create("udp");
	tcase_add_checked_fixture(tc, h_setup_host, h_teardown);
	tcase_add_test(tc, port_unreachable_from_gateway);
	tcase_add_test(tc, port_unreachable_then_reply);
	tcase_add_test(tc, ttl1_expires_at_gateway);
	tcase_add_test(tc, echo_ttl1_expires_at_gateway);
	tcase_add_test(tc, ttl1_to_gateway_delivered);
	tcase_add_test(tc, errors_rate_limited);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(icmperr_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
