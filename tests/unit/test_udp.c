// SPDX-License-Identifier: MIT
/**
 * DOC: test_udp - the UDP relay, guest 10.0.2.15 to the host's 127.0.0.1
 *
 * Datagrams to 10.0.2.2:P reach a UDP socket on 127.0.0.1:P when host
 * access is allowed; replies come back from 10.0.2.2:P (DF, TTL 64, valid
 * checksum; fragmented when larger than the MTU). Session expiry runs on
 * the fake clock; eviction is LRU; denied host access answers ICMP port
 * unreachable quoting the guest's datagram.
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

static int readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) > 0;
}

/**
 * host_recv() - run the engine until the host socket has a datagram, read it
 * @fd:		host socket
 * @buf:	output
 * @size:	its size
 * @from:	filled with the sender
 *
 * Return: datagram length (asserts one arrived)
 */
static size_t host_recv(int fd, void *buf, size_t size, struct sockaddr_in *from)
{
	socklen_t sl = sizeof(*from);
	ssize_t n;

	ck_assert_msg(h_run_until_ready(fd, H_WAIT_MS), "nothing reached the host socket");
	n = recvfrom(fd, buf, size, MSG_DONTWAIT, (struct sockaddr *)from, &sl);
	ck_assert_int_ge(n, 0);
	return (size_t)n;
}

static void guest_send(uint16_t gport, uint32_t dst, uint16_t dport, const void *d, size_t l)
{
	h_send(fb, fr_udp_frame(fb, FR_GUEST_IP, gport, dst, dport, d, l));
}

static const struct fr_parsed *wait_udp(uint16_t sport, uint16_t dport, int ms)
{
	struct h_match m = { .proto = FR_PROTO_UDP, .src = FR_GW_IP, .sport = sport,
			     .dport = dport };

	return h_wait(h_match, &m, ms);
}

START_TEST(to_host_and_back)
{
	struct sockaddr_in from;
	const struct fr_parsed *p;
	uint8_t buf[128];
	uint16_t port = 0;
	int fd = h_udp_bind(&port);

	guest_send(43000, FR_GW_IP, port, "ping-udp", 8);
	ck_assert_uint_eq(host_recv(fd, buf, sizeof(buf), &from), 8);
	ck_assert_mem_eq(buf, "ping-udp", 8);
	ck_assert_uint_eq(ntohl(from.sin_addr.s_addr), FR_IP(127, 0, 0, 1));

	ck_assert_int_eq(sendto(fd, "pong-udp!", 9, 0, (struct sockaddr *)&from, sizeof(from)), 9);
	p = wait_udp(port, 43000, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no reply reached the guest");
	ck_assert_uint_eq(p->ip_src, FR_GW_IP);
	ck_assert_uint_eq(p->plen, 9);
	ck_assert_mem_eq(p->payload, "pong-udp!", 9);
	ck_assert_uint_ne(p->udp_csum, 0);	/* present, and fr_parse verified it */
	ck_assert_uint_eq(p->ip_frag & FR_IP_DF, FR_IP_DF);
	ck_assert_uint_eq(p->ip_frag & (FR_IP_MF | 0x1fff), 0);
	ck_assert_uint_eq(p->ip_ttl, 64);

	/* the same 4-tuple is the same session, from the same host port */
	{
		struct sockaddr_in from2;

		guest_send(43000, FR_GW_IP, port, "again", 5);
		ck_assert_uint_eq(host_recv(fd, buf, sizeof(buf), &from2), 5);
		ck_assert_uint_eq(from2.sin_port, from.sin_port);
	}
	ck_assert_uint_eq(h_stats().udp_sessions, 1);
	ck_assert_uint_eq(h_stats().udp_sessions_active, 1);
	ck_assert_uint_eq(h_stats().udp_dgrams_up, 2);
	ck_assert_uint_eq(h_stats().udp_dgrams_down, 1);

	/* the session as sn_engine_flows() shows it */
	{
		struct sn_flow_info f;
		const struct sockaddr_in *g = (const struct sockaddr_in *)&f.guest;
		const struct sockaddr_in *r = (const struct sockaddr_in *)&f.remote;

		ck_assert_uint_eq(h_flows(&f, 1), 1);
		ck_assert_int_eq(f.proto, IPPROTO_UDP);
		ck_assert_int_eq(f.inbound, 0);
		ck_assert_str_eq(f.state, "open");
		ck_assert_int_eq(g->sin_family, AF_INET);
		ck_assert_uint_eq(ntohl(g->sin_addr.s_addr), FR_GUEST_IP);
		ck_assert_uint_eq(ntohs(g->sin_port), 43000);
		ck_assert_uint_eq(ntohl(r->sin_addr.s_addr), FR_GW_IP);
		ck_assert_uint_eq(ntohs(r->sin_port), port);
		ck_assert_uint_eq(f.bytes_up, 8 + 5);
		ck_assert_uint_eq(f.bytes_down, 9);
		ck_assert_uint_le(f.idle_ms, f.age_ms);
		h_clock_advance(1500);
		ck_assert_uint_eq(h_flows(&f, 1), 1);
		ck_assert_uint_ge(f.age_ms, 1500);
	}
}
END_TEST

START_TEST(zero_checksum_accepted)
{
	struct sockaddr_in from;
	uint8_t buf[16];
	uint16_t port = 0;
	int fd = h_udp_bind(&port);
	size_t n = fr_udp_frame(fb, FR_GUEST_IP, 43001, FR_GW_IP, port, "nosum", 5);

	fb[FR_L4_OFF + 6] = 0;		/* RFC 768: no checksum */
	fb[FR_L4_OFF + 7] = 0;
	h_send(fb, n);
	ck_assert_uint_eq(host_recv(fd, buf, sizeof(buf), &from), 5);
	ck_assert_mem_eq(buf, "nosum", 5);
	ck_assert_uint_eq(h_stats().drop_malformed, 0);
}
END_TEST

START_TEST(empty_datagram)
{
	struct sockaddr_in from;
	const struct fr_parsed *p;
	uint8_t buf[16];
	uint16_t port = 0;
	int fd = h_udp_bind(&port);

	guest_send(43002, FR_GW_IP, port, "", 0);
	ck_assert_uint_eq(host_recv(fd, buf, sizeof(buf), &from), 0);
	ck_assert_int_eq(sendto(fd, "", 0, 0, (struct sockaddr *)&from, sizeof(from)), 0);
	p = wait_udp(port, 43002, H_WAIT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->plen, 0);
	ck_assert_uint_eq(p->udp_len, 8);
}
END_TEST

START_TEST(only_the_peer_answers)
{
	struct sockaddr_in from;
	uint8_t buf[16];
	uint16_t port = 0, other_port = 0;
	int fd = h_udp_bind(&port), other = h_udp_bind(&other_port);

	guest_send(43003, FR_GW_IP, port, "hi", 2);
	host_recv(fd, buf, sizeof(buf), &from);
	/* a third party on the host writes to the session's socket */
	ck_assert_int_eq(sendto(other, "intruder", 8, 0, (struct sockaddr *)&from, sizeof(from)), 8);
	h_run(100);
	ck_assert_ptr_null(wait_udp(0, 43003, 0));
	ck_assert_uint_eq(h_stats().udp_dgrams_down, 0);
}
END_TEST

START_TEST(large_reply_fragmented)
{
	enum { LEN = 4000 };
	static uint8_t data[LEN], dgram[8 + LEN];
	struct sockaddr_in from;
	uint8_t buf[16];
	uint16_t port = 0, id = 0;
	int fd = h_udp_bind(&port), have_last = 0;
	size_t got = 0, total = 0, i;

	for (i = 0; i < LEN; i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	guest_send(43004, FR_GW_IP, port, "big?", 4);
	host_recv(fd, buf, sizeof(buf), &from);
	ck_assert_int_eq(sendto(fd, data, LEN, 0, (struct sockaddr *)&from, sizeof(from)), LEN);

	/* reassemble: every fragment fits the MTU, offsets tile the datagram */
	while (!have_last || got < total) {
		struct h_match m = { .proto = FR_PROTO_UDP, .src = FR_GW_IP };
		const struct fr_parsed *p = h_wait(h_match, &m, H_WAIT_MS);
		size_t off;

		ck_assert_msg(p != NULL, "fragments missing: %zu of %zu bytes", got, total);
		ck_assert_uint_le(p->len - FR_ETH_HLEN, 1500);
		if (!got && !have_last)
			id = p->ip_id;
		ck_assert_uint_eq(p->ip_id, id);
		off = (size_t)(p->ip_frag & 0x1fff) * 8;
		ck_assert_uint_le(off + p->plen, sizeof(dgram));
		memcpy(dgram + off, p->ip + p->ip_hl, p->l4_len);
		got += p->l4_len;
		if (!(p->ip_frag & FR_IP_MF)) {
			have_last = 1;
			total = off + p->l4_len;
		}
	}
	ck_assert_uint_eq(total, 8 + LEN);
	ck_assert_uint_eq(fr_l4_cksum(FR_GW_IP, FR_GUEST_IP, FR_PROTO_UDP, dgram, total), 0);
	ck_assert_uint_eq((dgram[4] << 8) | dgram[5], 8 + LEN);
	ck_assert_mem_eq(dgram + 8, data, LEN);
}
END_TEST

/* ---- lifetime ---- */

static void setup_idle(void)
{
	struct sn_config cfg;

	h_config(&cfg);
	cfg.allow_host_loopback = 1;
	cfg.udp_idle_ms = 1000;
	h_start(&cfg);
}

START_TEST(session_expires)
{
	struct sockaddr_in from;
	uint8_t buf[16];
	uint16_t port = 0;
	int fd = h_udp_bind(&port), base = h_fd_count();

	guest_send(43005, FR_GW_IP, port, "a", 1);
	host_recv(fd, buf, sizeof(buf), &from);
	ck_assert_int_eq(h_fd_count(), base + 1);
	/* the engine sleeps until the session's expiry, no longer */
	ck_assert_int_ge(sn_engine_timeout_ms(H.e), 0);
	ck_assert_int_le(sn_engine_timeout_ms(H.e), 1000);
	h_clock_advance(600);
	h_run(20);
	ck_assert_uint_eq(h_stats().udp_sessions_active, 1);
	/* traffic (guest to host) refreshes the idle timer */
	guest_send(43005, FR_GW_IP, port, "b", 1);
	host_recv(fd, buf, sizeof(buf), &from);
	h_clock_advance(600);
	h_run(20);
	ck_assert_uint_eq(h_stats().udp_sessions_active, 1);
	ck_assert_uint_eq(h_stats().udp_expired, 0);
	/* so does a reply (host to guest) */
	ck_assert_int_eq(sendto(fd, "r", 1, 0, (struct sockaddr *)&from, sizeof(from)), 1);
	ck_assert_ptr_nonnull(wait_udp(port, 43005, H_WAIT_MS));
	h_clock_advance(600);
	h_run(20);
	ck_assert_uint_eq(h_stats().udp_sessions_active, 1);

	/* the deadline armed at the start came early: the real one is armed */
	ck_assert_int_ge(sn_engine_timeout_ms(H.e), 0);
	ck_assert_int_le(sn_engine_timeout_ms(H.e), 400);
	h_clock_advance(1100);
	h_run(20);
	ck_assert_uint_eq(h_stats().udp_expired, 1);
	ck_assert_uint_eq(h_stats().udp_sessions_active, 0);
	ck_assert_int_eq(h_fd_count(), base);	/* its socket is closed */
	ck_assert_int_eq(sn_engine_timeout_ms(H.e), -1);	/* nothing left */

	/* a new datagram opens a new session */
	guest_send(43005, FR_GW_IP, port, "c", 1);
	host_recv(fd, buf, sizeof(buf), &from);
	ck_assert_uint_eq(h_stats().udp_sessions, 2);
}
END_TEST

START_TEST(session_expires_across_clock_wrap)
{
	struct sockaddr_in from;
	uint8_t buf[16];
	uint16_t port = 0;
	int fd = h_udp_bind(&port);

	/* to 300 ms before the 32-bit millisecond clock wraps */
	h_clock_advance((uint32_t)(0u - h_now() - 300u));
	guest_send(43006, FR_GW_IP, port, "w", 1);
	host_recv(fd, buf, sizeof(buf), &from);
	h_clock_advance(700);		/* wrapped; 700 ms idle */
	h_run(20);
	ck_assert_uint_eq(h_stats().udp_sessions_active, 1);
	ck_assert_uint_eq(h_stats().udp_expired, 0);
	h_clock_advance(500);
	h_run(20);
	ck_assert_uint_eq(h_stats().udp_expired, 1);
	ck_assert_uint_eq(h_stats().udp_sessions_active, 0);
}
END_TEST

START_TEST(lru_eviction)
{
	struct sn_config cfg;
	struct sockaddr_in from;
	uint8_t buf[16];
	uint16_t port = 0;
	int fd, base;

	h_stop();
	h_config(&cfg);
	cfg.allow_host_loopback = 1;
	cfg.max_udp_sessions = 2;
	h_start(&cfg);
	fd = h_udp_bind(&port);
	base = h_fd_count();

	guest_send(44001, FR_GW_IP, port, "A", 1);
	host_recv(fd, buf, sizeof(buf), &from);
	guest_send(44002, FR_GW_IP, port, "B", 1);
	host_recv(fd, buf, sizeof(buf), &from);
	guest_send(44001, FR_GW_IP, port, "A", 1);	/* A is now the most recent */
	host_recv(fd, buf, sizeof(buf), &from);
	guest_send(44003, FR_GW_IP, port, "C", 1);	/* evicts B */
	host_recv(fd, buf, sizeof(buf), &from);
	ck_assert_mem_eq(buf, "C", 1);
	ck_assert_uint_eq(h_stats().udp_evicted, 1);
	ck_assert_uint_eq(h_stats().udp_sessions, 3);
	ck_assert_uint_eq(h_stats().udp_sessions_active, 2);
	ck_assert_int_eq(h_fd_count(), base + 2);

	guest_send(44001, FR_GW_IP, port, "A", 1);	/* A survived */
	host_recv(fd, buf, sizeof(buf), &from);
	ck_assert_uint_eq(h_stats().udp_sessions, 3);
	guest_send(44002, FR_GW_IP, port, "B", 1);	/* B did not */
	host_recv(fd, buf, sizeof(buf), &from);
	ck_assert_uint_eq(h_stats().udp_sessions, 4);
	ck_assert_uint_eq(h_stats().udp_evicted, 2);
}
END_TEST

/* ---- denied ---- */

START_TEST(host_denied_prohibited)
{
	static const struct h_match unreach = { .proto = FR_PROTO_ICMP, .icmp_type = 3 + 1 };
	const struct fr_parsed *p;
	uint8_t orig[128];
	uint16_t port = 0;
	int fd = h_udp_bind(&port);
	size_t n = fr_udp_frame(fb, FR_GUEST_IP, 43007, FR_GW_IP, port, "denied?", 7);

	memcpy(orig, fb + FR_IP_OFF, n - FR_ETH_HLEN);
	h_send(fb, n);
	p = h_wait(h_match, &unreach, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no ICMP unreachable without host access");
	ck_assert_uint_eq(p->icmp_code, 13);	/* administratively prohibited */
	ck_assert_uint_eq(p->ip_src, FR_GW_IP);
	/* the quote: the guest's IP header and at least 8 bytes after it */
	ck_assert_uint_ge(p->plen, 28);
	ck_assert_mem_eq(p->payload, orig, p->plen < n - FR_ETH_HLEN ? p->plen : n - FR_ETH_HLEN);
	ck_assert_uint_eq(h_stats().host_denied, 1);
	h_run(100);
	ck_assert_msg(!readable(fd, 0), "the host socket got the datagram");
	ck_assert_uint_eq(h_stats().udp_sessions, 0);
}
END_TEST

START_TEST(loopback_direct_dropped)
{
	uint16_t port = 0;
	int fd = h_udp_bind(&port);

	guest_send(43008, FR_IP(127, 0, 0, 1), port, "sneaky", 6);
	h_run(100);
	ck_assert_msg(!readable(fd, 0), "guest reached 127.0.0.1 directly");
	ck_assert_uint_eq(h_stats().udp_sessions, 0);
	ck_assert_uint_eq(h_stats().host_denied, 1);
}
END_TEST

static Suite *udp_suite(void)
{
	Suite *s = suite_create("udp");
	TCase *tc;

	tc = tcase_create("relay");
	tcase_add_checked_fixture(tc, h_setup_host, h_teardown);
	tcase_add_test(tc, to_host_and_back);
	tcase_add_test(tc, zero_checksum_accepted);
	tcase_add_test(tc, empty_datagram);
	tcase_add_test(tc, only_the_peer_answers);
	tcase_add_test(tc, large_reply_fragmented);
	tcase_add_test(tc, lru_eviction);
	tcase_add_test(tc, loopback_direct_dropped);
	suite_add_tcase(s, tc);

	tc = tcase_create("idle");
	tcase_add_checked_fixture(tc, setup_idle, h_teardown);
	tcase_add_test(tc, session_expires);
	tcase_add_test(tc, session_expires_across_clock_wrap);
	suite_add_tcase(s, tc);

	tc = tcase_create("denied");
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_test(tc, host_denied_prohibited);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(udp_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
