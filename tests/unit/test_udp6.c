// SPDX-License-Identifier: MIT
/**
 * DOC: test_udp6 - the UDP, DNS and ICMP relays over IPv6
 *
 * The guest (fd00:2::15) sends UDP to the gateway fd00:2::2: with host
 * access it reaches a socket on the host's [::1]:P, or on 127.0.0.1:P when
 * only an IPv4 socket listens there (and an IPv4 guest reaches [::1] when
 * only an IPv6 socket listens), and the reply comes back from
 * fd00:2::2:P with the mandatory UDP checksum. DNS to [fd00:2::2]:53 goes
 * to the fake upstream on 127.0.0.1 and is answered from fd00:2::2:53. A
 * closed port is answered with ICMPv6 port unreachable (type 1 code 4); a
 * datagram or echo request with hop limit 1 past the gateway with ICMPv6
 * time exceeded from the gateway, nothing sent; an IPv4-mapped loopback
 * destination is denied, not relayed, and so is echo to ::1 or
 * ::ffff:127.0.0.1.
 *
 * lwIP asks for the guest's MAC with a neighbour solicitation before its
 * first unicast packet: the harness answers it as a guest would
 * (H.answer_ns).
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

#define T_DUR		1
#define T_TE		3
#define T_EREQ		128

static uint8_t fb[FR_MAX];

/* 2001:db8::1, a documentation address nobody is asked about */
static const uint8_t doc_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
/* ::ffff:127.0.0.1 */
static const uint8_t mapped_lo[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };

/**
 * struct m6 - what m6_match() compares
 * @nexth:	transport protocol
 * @icmp_type:	ICMPv6 type (with @nexth FR_PROTO_ICMP6)
 * @sport:	UDP source port (0: any)
 * @dport:	UDP destination port (0: any)
 * @from_gw:	IPv6 source must be fd00:2::2
 */
struct m6 {
	uint8_t nexth, icmp_type;
	uint16_t sport, dport;
	int from_gw;
};

static int m6_match(const struct fr_parsed *p, const void *arg)
{
	const struct m6 *m = arg;

	if (p->type != FR_ETH_IP6 || !p->l4 || p->ip6_nexth != m->nexth)
		return 0;
	if (m->nexth == FR_PROTO_ICMP6 && p->icmp_type != m->icmp_type)
		return 0;
	if (m->sport && p->sport != m->sport)
		return 0;
	if (m->dport && p->dport != m->dport)
		return 0;
	if (m->from_gw && memcmp(p->ip6_src, fr_gw_ip6, 16))
		return 0;
	return 1;
}

/**
 * udp6_frame() - a guest UDP datagram over IPv6 with a chosen hop limit
 * @dst:	destination
 * @sport:	guest port
 * @dport:	destination port
 * @hoplim:	hop limit (0: 64)
 * @data:	payload
 * @len:	its length
 *
 * Return: frame length, in fb
 */
static size_t udp6_frame(const uint8_t dst[16], uint16_t sport, uint16_t dport, uint8_t hoplim,
			 const void *data, size_t len)
{
	uint8_t l4[512];
	uint16_t sum;

	ck_assert_uint_le(len + 8, sizeof(l4));
	l4[0] = (uint8_t)(sport >> 8);
	l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8);
	l4[3] = (uint8_t)dport;
	l4[4] = (uint8_t)((len + 8) >> 8);
	l4[5] = (uint8_t)(len + 8);
	l4[6] = l4[7] = 0;
	memcpy(l4 + 8, data, len);
	sum = fr_l4_cksum6(fr_guest_ip6, dst, FR_PROTO_UDP, l4, len + 8);
	if (!sum)
		sum = 0xffff;
	l4[6] = (uint8_t)(sum >> 8);
	l4[7] = (uint8_t)sum;
	return fr_ip6_frame(fb, NULL, fr_guest_ip6, dst, FR_PROTO_UDP, hoplim, l4, len + 8);
}

/**
 * udp6_bind_lo() - a UDP socket on [::1] (IPv6 only), tracked by the harness
 * @port:	port to bind (0: any), filled with the port bound
 *
 * Return: the socket
 */
static int udp6_bind_lo(uint16_t *port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(*port),
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

static size_t host_recv(int fd, void *buf, size_t size, struct sockaddr_storage *from)
{
	socklen_t sl = sizeof(*from);
	ssize_t n;

	ck_assert_msg(h_run_until_ready(fd, H_WAIT_MS), "nothing reached the host socket");
	n = recvfrom(fd, buf, size, MSG_DONTWAIT, (struct sockaddr *)from, &sl);
	ck_assert_int_ge(n, 0);
	return (size_t)n;
}

START_TEST(to_host_v6_and_back)
{
	static struct m6 m = { .nexth = FR_PROTO_UDP, .dport = 43100, .from_gw = 1 };
	struct sockaddr_storage from;
	const struct fr_parsed *p;
	uint8_t buf[128];
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port);

	ck_assert_int_eq(h_send(fb, udp6_frame(fr_gw_ip6, 43100, port, 0, "ping-udp6", 9)), 0);
	ck_assert_uint_eq(host_recv(fd, buf, sizeof(buf), &from), 9);
	ck_assert_mem_eq(buf, "ping-udp6", 9);
	ck_assert_int_eq(from.ss_family, AF_INET6);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&from)->sin6_addr));

	ck_assert_int_eq(sendto(fd, "pong-udp6!", 10, 0, (struct sockaddr *)&from,
				sizeof(struct sockaddr_in6)), 10);
	m.sport = port;
	p = h_wait(m6_match, &m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no reply reached the guest");
	ck_assert_mem_eq(p->ip6_dst, fr_guest_ip6, 16);
	ck_assert_uint_eq(p->plen, 10);
	ck_assert_mem_eq(p->payload, "pong-udp6!", 10);
	ck_assert_uint_ne(p->udp_csum, 0);	/* present, and fr_parse verified it */
	ck_assert_uint_eq(p->ip6_hoplim, 64);
	ck_assert_uint_eq(h_stats().udp_sessions, 1);
	ck_assert_uint_eq(h_stats().udp_dgrams_down, 1);
}
END_TEST

START_TEST(to_host_falls_back_to_ipv4)
{
	static struct m6 m = { .nexth = FR_PROTO_UDP, .dport = 43101, .from_gw = 1 };
	struct sockaddr_storage from;
	const struct fr_parsed *p;
	uint8_t buf[64];
	uint16_t port = 0;
	int fd = h_udp_bind(&port);	/* 127.0.0.1 only */

	ck_assert_int_eq(h_send(fb, udp6_frame(fr_gw_ip6, 43101, port, 0, "v4-only", 7)), 0);
	ck_assert_uint_eq(host_recv(fd, buf, sizeof(buf), &from), 7);
	ck_assert_mem_eq(buf, "v4-only", 7);
	ck_assert_int_eq(from.ss_family, AF_INET);

	ck_assert_int_eq(sendto(fd, "ok", 2, 0, (struct sockaddr *)&from,
				sizeof(struct sockaddr_in)), 2);
	m.sport = port;
	p = h_wait(m6_match, &m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no reply reached the guest");
	ck_assert_uint_eq(p->plen, 2);
	ck_assert_uint_ne(p->udp_csum, 0);
}
END_TEST

START_TEST(ipv4_guest_falls_back_to_ipv6_host)
{
	/* the other way round: 10.0.2.2:P, only [::1]:P listens */
	struct h_match m = { .proto = FR_PROTO_UDP, .src = FR_GW_IP, .dport = 43108 };
	struct sockaddr_storage from;
	const struct fr_parsed *p;
	uint8_t buf[16];
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port);

	ck_assert_int_eq(h_send(fb, fr_udp_frame(fb, FR_GUEST_IP, 43108, FR_GW_IP, port, "to6", 3)),
			 0);
	ck_assert_uint_eq(host_recv(fd, buf, sizeof(buf), &from), 3);
	ck_assert_int_eq(from.ss_family, AF_INET6);
	ck_assert_int_eq(sendto(fd, "back4", 5, 0, (struct sockaddr *)&from,
				sizeof(struct sockaddr_in6)), 5);
	m.sport = port;
	p = h_wait(h_match, &m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no IPv4 reply reached the guest");
	ck_assert_uint_eq(p->plen, 5);
}
END_TEST

START_TEST(echo_to_loopback_denied)
{
	/* ::1 and ::ffff:127.0.0.1 are never pinged through the relay */
	static const uint8_t lo6[16] = { [15] = 1 };
	const uint8_t *dsts[2] = { lo6, mapped_lo };
	int i;

	for (i = 0; i < 2; i++) {
		uint8_t l4[12] = { T_EREQ, 0, 0, 0, 0x12, 0x35, 0, 1, 'p', 'i', 'n', 'g' };
		uint16_t sum = fr_l4_cksum6(fr_guest_ip6, dsts[i], FR_PROTO_ICMP6, l4, sizeof(l4));

		l4[2] = (uint8_t)(sum >> 8);
		l4[3] = (uint8_t)sum;
		ck_assert_int_eq(h_send(fb, fr_ip6_frame(fb, NULL, fr_guest_ip6, dsts[i],
							 FR_PROTO_ICMP6, 0, l4, sizeof(l4))), 0);
	}
	h_run(50);
	ck_assert_uint_eq(h_stats().host_denied, 2);
	ck_assert_uint_eq(h_stats().icmp_echo_relayed, 0);
}
END_TEST

START_TEST(closed_port_unreachable)
{
	static const struct m6 m = { .nexth = FR_PROTO_ICMP6, .icmp_type = T_DUR };
	const struct fr_parsed *p;
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port);
	int i;

	h_close_fd(fd);		/* the port is free again: nobody listens */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(h_send(fb, udp6_frame(fr_gw_ip6, 43102, port, 0, "x", 1)), 0);
	p = h_wait(m6_match, &m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no ICMPv6 destination unreachable");
	ck_assert_uint_eq(p->icmp_code, 4);
	ck_assert_mem_eq(p->ip6_src, fr_gw_ip6, 16);
	ck_assert_mem_eq(p->ip6_dst, fr_guest_ip6, 16);
	/* the quote: the guest's IPv6 header and UDP header */
	ck_assert_uint_ge(p->l4_len, 8 + 40 + 8);
	ck_assert_mem_eq(p->l4 + 8 + 8, fr_guest_ip6, 16);
	ck_assert_uint_eq(p->l4[8 + 40] << 8 | p->l4[8 + 41], 43102);
}
END_TEST

START_TEST(hop_limit_one_expires_at_gateway)
{
	static const struct m6 m = { .nexth = FR_PROTO_ICMP6, .icmp_type = T_TE, .from_gw = 1 };
	const struct fr_parsed *p;

	ck_assert_int_eq(h_send(fb, udp6_frame(doc_ip6, 43103, 33434, 1, "probe", 5)), 0);
	p = h_wait(m6_match, &m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no ICMPv6 time exceeded");
	ck_assert_uint_eq(p->icmp_code, 0);
	ck_assert_mem_eq(p->l4 + 8 + 24, doc_ip6, 16);	/* quoted destination */
	ck_assert_uint_eq(h_stats().ttl_expired, 1);
	ck_assert_uint_eq(h_stats().udp_sessions, 0);
	ck_assert_uint_eq(h_stats().udp_dgrams_up, 0);
}
END_TEST

START_TEST(echo_hop_limit_one_expires_at_gateway)
{
	static const struct m6 m = { .nexth = FR_PROTO_ICMP6, .icmp_type = T_TE, .from_gw = 1 };
	uint8_t msg[16] = { T_EREQ, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g' };
	const struct fr_parsed *p;
	uint8_t l4[16];
	uint16_t sum;

	memcpy(l4, msg, sizeof(l4));
	sum = fr_l4_cksum6(fr_guest_ip6, doc_ip6, FR_PROTO_ICMP6, l4, sizeof(l4));
	l4[2] = (uint8_t)(sum >> 8);
	l4[3] = (uint8_t)sum;
	ck_assert_int_eq(h_send(fb, fr_ip6_frame(fb, NULL, fr_guest_ip6, doc_ip6, FR_PROTO_ICMP6,
						 1, l4, sizeof(l4))), 0);
	p = h_wait(m6_match, &m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no ICMPv6 time exceeded for the echo request");
	ck_assert_uint_eq(h_stats().ttl_expired, 1);
	ck_assert_uint_eq(h_stats().icmp_echo_relayed, 0);
}
END_TEST

START_TEST(mapped_loopback_denied)
{
	uint16_t port = 0;
	int fd = h_udp_bind(&port);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	ck_assert_int_eq(h_send(fb, udp6_frame(mapped_lo, 43104, port, 0, "sneak", 5)), 0);
	h_run(100);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_uint_eq(h_stats().host_denied, 1);
	ck_assert_uint_eq(h_stats().udp_sessions, 0);
}
END_TEST

START_TEST(mapped_gateway_is_host)
{
	/* ::ffff:10.0.2.2 is the IPv4 gateway: the host, over AF_INET */
	static const uint8_t mapped_gw[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 2, 2 };
	struct sockaddr_storage from;
	uint8_t buf[16];
	uint16_t port = 0;
	int fd = h_udp_bind(&port);

	ck_assert_int_eq(h_send(fb, udp6_frame(mapped_gw, 43105, port, 0, "m", 1)), 0);
	ck_assert_uint_eq(host_recv(fd, buf, sizeof(buf), &from), 1);
	ck_assert_int_eq(from.ss_family, AF_INET);
}
END_TEST

/* The gateway's link-local address is the gateway, as fd00:2::2 is: with
 * host access its port reaches the host's ::1, and replies come from it. */
START_TEST(link_local_gateway_is_host)
{
	static struct m6 m = { .nexth = FR_PROTO_UDP, .dport = 43106 };
	struct sockaddr_storage from;
	const struct fr_parsed *p;
	uint8_t buf[16];
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port);

	ck_assert_int_eq(h_send(fb, udp6_frame(fr_gw_ll6, 43106, port, 0, "ll", 2)), 0);
	ck_assert_uint_eq(host_recv(fd, buf, sizeof(buf), &from), 2);
	ck_assert_int_eq(sendto(fd, "back", 4, 0, (struct sockaddr *)&from,
				sizeof(struct sockaddr_in6)), 4);
	m.sport = port;
	p = h_wait(m6_match, &m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no reply from the link-local gateway");
	ck_assert_mem_eq(p->ip6_src, fr_gw_ll6, 16);
}
END_TEST

START_TEST(zero_checksum_dropped)
{
	uint16_t port = 0;
	int fd = udp6_bind_lo(&port);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t n = udp6_frame(fr_gw_ip6, 43106, port, 0, "nosum", 5);

	fb[FR_L4_OFF6 + 6] = 0;		/* mandatory over IPv6 (RFC 8200 8.1) */
	fb[FR_L4_OFF6 + 7] = 0;
	h_send(fb, n);
	h_run(100);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_uint_eq(h_stats().drop_malformed, 1);
}
END_TEST

/* ---- DNS over IPv6 ---- */

static int up_fd;

static void setup_dns(void)
{
	struct sn_config cfg;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg.dns_upstreams[0];
	uint16_t port = 0;

	h_prepare();
	h_config(&cfg);
	up_fd = h_udp_bind(&port);
	ck_assert_int_ge(up_fd, 0);
	memset(&cfg.dns_upstreams[0], 0, sizeof(cfg.dns_upstreams[0]));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfg.n_dns_upstreams = 1;
	h_start(&cfg);
	H.answer_ns = 1;
}

static void setup_host6(void)
{
	h_setup_host();
	H.answer_ns = 1;
}

START_TEST(dns_over_ipv6)
{
	static const struct m6 m = { .nexth = FR_PROTO_UDP, .sport = 53, .dport = 43107,
				     .from_gw = 1 };
	struct sockaddr_storage from;
	const struct fr_parsed *p;
	uint8_t q[256], got[512], ans[512];
	size_t qlen = fr_dns_query(q, 0x6606, "www.example.test", 28, 1), n, alen;

	ck_assert_int_eq(h_send(fb, udp6_frame(fr_gw_ip6, 43107, 53, 0, q, qlen)), 0);
	n = host_recv(up_fd, got, sizeof(got), &from);
	ck_assert_uint_eq(n, qlen);
	ck_assert_mem_eq(got, q, qlen);		/* forwarded unchanged */

	alen = fr_dns_answer_a(ans, q, qlen, FR_IP(192, 0, 2, 1));
	ck_assert_int_eq(sendto(up_fd, ans, alen, 0, (struct sockaddr *)&from,
				sizeof(struct sockaddr_in)), (ssize_t)alen);
	p = h_wait(m6_match, &m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no DNS answer reached the guest");
	ck_assert_uint_eq(p->plen, alen);
	ck_assert_mem_eq(p->payload, ans, alen);
	ck_assert_uint_ne(p->udp_csum, 0);
	ck_assert_uint_eq(h_stats().dns_answers, 1);
}
END_TEST

static Suite *udp6_suite(void)
{
	Suite *s = suite_create("udp6");
	TCase *tc;

	tc = tcase_create("host");
	tcase_add_checked_fixture(tc, setup_host6, h_teardown);
	tcase_add_test(tc, to_host_v6_and_back);
	tcase_add_test(tc, to_host_falls_back_to_ipv4);
	tcase_add_test(tc, ipv4_guest_falls_back_to_ipv6_host);
	tcase_add_test(tc, echo_to_loopback_denied);
	tcase_add_test(tc, closed_port_unreachable);
	tcase_add_test(tc, hop_limit_one_expires_at_gateway);
	tcase_add_test(tc, echo_hop_limit_one_expires_at_gateway);
	tcase_add_test(tc, mapped_loopback_denied);
	tcase_add_test(tc, mapped_gateway_is_host);
	tcase_add_test(tc, link_local_gateway_is_host);
	tcase_add_test(tc, zero_checksum_dropped);
	suite_add_tcase(s, tc);

	tc = tcase_create("dns");
	tcase_add_checked_fixture(tc, setup_dns, h_teardown);
	tcase_add_test(tc, dns_over_ipv6);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(udp6_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
