// SPDX-License-Identifier: MIT
/**
 * DOC: test_dns - the DNS forwarder on the gateway's port 53
 *
 * Fake upstream resolvers are UDP sockets on 127.0.0.1 in this process,
 * configured as cfg.dns_upstreams. The guest's query must reach them byte
 * for byte and their answer must come back unchanged from 10.0.2.2:53;
 * silence and refusal lead to the next upstream, then SERVFAIL;
 * multi-question queries are answered FORMERR at once.
 *
 * Without configured upstreams the host's resolv.conf is read: its
 * nameservers have no port (always 53, which a test cannot bind without
 * root), so that parse is checked through sn_dns_upstream(), the first
 * upstream, which the engine also proxies TCP port 53 to.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <unistd.h>

#include "harness.h"

static uint8_t fb[FR_MAX];

#define DNS_TIMEOUT_MS	500

static int readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) > 0;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void set_upstream(struct sn_config *cfg, unsigned i, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg->dns_upstreams[i];

	memset(&cfg->dns_upstreams[i], 0, sizeof(cfg->dns_upstreams[i]));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (cfg->n_dns_upstreams < i + 1)
		cfg->n_dns_upstreams = i + 1;
}

/* upstream sockets of the current test */
static int up_fd[2];
static uint16_t up_port[2];

/**
 * start_with_upstreams() - engine with @n fake upstreams on 127.0.0.1
 * @n:		1 or 2
 * @dead_port:	if non-zero, upstream 0 is this port with nobody bound
 */
static void start_with_upstreams(unsigned n, uint16_t dead_port)
{
	struct sn_config cfg;
	unsigned i;

	h_prepare();
	h_config(&cfg);
	cfg.dns_timeout_ms = DNS_TIMEOUT_MS;
	for (i = 0; i < n; i++) {
		up_port[i] = 0;
		up_fd[i] = h_udp_bind(&up_port[i]);
		ck_assert_int_ge(up_fd[i], 0);
		set_upstream(&cfg, i, dead_port && i == 0 ? dead_port : up_port[i]);
	}
	h_start(&cfg);
}

static void setup_one(void)
{
	start_with_upstreams(1, 0);
}

static void setup_two(void)
{
	start_with_upstreams(2, 0);
}

/**
 * upstream_recv() - the query as an upstream got it
 * @i:		upstream index
 * @buf:	output
 * @size:	its size
 * @from:	filled with the sender (to answer to)
 *
 * Return: length (asserts something arrived)
 */
static size_t upstream_recv(int i, uint8_t *buf, size_t size, struct sockaddr_in *from)
{
	socklen_t sl = sizeof(*from);
	ssize_t n;

	ck_assert_msg(h_run_until_ready(up_fd[i], H_WAIT_MS), "upstream %d got no query", i);
	n = recvfrom(up_fd[i], buf, size, MSG_DONTWAIT, (struct sockaddr *)from, &sl);
	ck_assert_int_ge(n, 0);
	return (size_t)n;
}

static void upstream_send(int i, const void *m, size_t len, const struct sockaddr_in *to)
{
	ck_assert_int_eq(sendto(up_fd[i], m, len, 0, (const struct sockaddr *)to, sizeof(*to)),
			 (ssize_t)len);
}

static size_t guest_query(uint16_t gport, uint32_t dst, uint8_t *q, size_t qlen)
{
	return (size_t)h_send(fb, fr_udp_frame(fb, FR_GUEST_IP, gport, dst, 53, q, qlen));
}

static const struct fr_parsed *wait_dns(uint16_t gport, int ms)
{
	struct h_match m = { .proto = FR_PROTO_UDP, .src = FR_GW_IP, .sport = 53, .dport = gport };

	return h_wait(h_match, &m, ms);
}

START_TEST(forward_and_answer)
{
	uint8_t q[512], got[512], ans[512];
	struct sockaddr_in from;
	const struct fr_parsed *p;
	size_t ql = fr_dns_query(q, 0xbeef, "www.example.com", 1, 1), al;

	guest_query(45000, FR_GW_IP, q, ql);
	ck_assert_uint_eq(upstream_recv(0, got, sizeof(got), &from), ql);
	ck_assert_mem_eq(got, q, ql);		/* exactly the guest's bytes */
	ck_assert_uint_eq(ntohl(from.sin_addr.s_addr), FR_IP(127, 0, 0, 1));

	al = fr_dns_answer_a(ans, q, ql, FR_IP(192, 0, 2, 7));
	upstream_send(0, ans, al, &from);
	p = wait_dns(45000, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no answer reached the guest");
	ck_assert_uint_eq(p->ip_src, FR_GW_IP);
	ck_assert_uint_eq(p->plen, al);
	ck_assert_mem_eq(p->payload, ans, al);	/* unchanged */
	ck_assert_uint_ne(p->udp_csum, 0);
	ck_assert_uint_eq(h_stats().dns_queries, 1);
	ck_assert_uint_eq(h_stats().dns_answers, 1);
}
END_TEST

START_TEST(answer_unusual_records_unchanged)
{
	/* an answer with a record type nobody knows and odd flags: bytes pass */
	uint8_t q[512], ans[600];
	struct sockaddr_in from;
	const struct fr_parsed *p;
	size_t ql = fr_dns_query(q, 0x0102, "odd.example", 65280, 1), al = ql;
	uint8_t got[512];

	guest_query(45001, FR_GW_IP, q, ql);
	upstream_recv(0, got, sizeof(got), &from);
	memcpy(ans, q, ql);
	ans[2] = 0x85;			/* QR, AA, RD */
	ans[3] = 0x80;
	ans[7] = 1;			/* ANCOUNT 1 */
	memcpy(ans + al, "\xc0\x0c\xff\x00\x00\x01\x00\x00\x00\x3c\x00\x05hello", 17);
	al += 17;
	upstream_send(0, ans, al, &from);
	p = wait_dns(45001, H_WAIT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->plen, al);
	ck_assert_mem_eq(p->payload, ans, al);
}
END_TEST

START_TEST(wrong_id_ignored)
{
	uint8_t q[512], got[512], ans[512];
	struct sockaddr_in from;
	const struct fr_parsed *p;
	size_t ql = fr_dns_query(q, 0x1111, "example.com", 1, 1), al;

	guest_query(45002, FR_GW_IP, q, ql);
	upstream_recv(0, got, sizeof(got), &from);
	al = fr_dns_answer_a(ans, q, ql, FR_IP(192, 0, 2, 8));
	ans[0] ^= 0xff;			/* someone else's ID */
	upstream_send(0, ans, al, &from);
	h_run(100);
	ck_assert_ptr_null(wait_dns(45002, 0));
	ans[0] ^= 0xff;
	upstream_send(0, ans, al, &from);
	p = wait_dns(45002, H_WAIT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_mem_eq(p->payload, ans, al);
	ck_assert_ptr_null(wait_dns(45002, 50));	/* exactly one answer */
}
END_TEST

START_TEST(retransmission_not_duplicated)
{
	uint8_t q[512], got[512];
	struct sockaddr_in from;
	size_t ql = fr_dns_query(q, 0x2222, "example.com", 1, 1);

	guest_query(45003, FR_GW_IP, q, ql);
	upstream_recv(0, got, sizeof(got), &from);
	guest_query(45003, FR_GW_IP, q, ql);
	h_run(100);
	ck_assert_msg(!readable(up_fd[0], 0), "a retransmitted query was forwarded twice");
}
END_TEST

START_TEST(large_answer_truncated)
{
	/* no EDNS0 in the query: an answer over 512 bytes becomes TC=1 */
	static uint8_t ans[2048];
	uint8_t q[512], got[512];
	struct sockaddr_in from;
	const struct fr_parsed *p;
	size_t ql = fr_dns_query(q, 0x3333, "many.example.com", 1, 1), al, i;

	guest_query(45004, FR_GW_IP, q, ql);
	upstream_recv(0, got, sizeof(got), &from);
	al = fr_dns_answer_a(ans, q, ql, FR_IP(192, 0, 2, 1));
	for (i = 1; i < 40; i++) {	/* 40 A records: 16 bytes each */
		memcpy(ans + al, ans + ql, 16);
		ans[al + 15] = (uint8_t)(i + 1);
		al += 16;
	}
	ans[6] = 0;
	ans[7] = 40;
	ck_assert_uint_gt(al, 512);
	upstream_send(0, ans, al, &from);
	p = wait_dns(45004, H_WAIT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_le(p->plen, 512);
	ck_assert_uint_eq(get16(p->payload), 0x3333);
	ck_assert(p->payload[2] & 0x02);		/* TC */
	ck_assert(p->payload[2] & 0x80);		/* QR */
	ck_assert_uint_eq(get16(p->payload + 4), 1);
	ck_assert_mem_eq(p->payload + 12, q + 12, ql - 12);	/* the question */
}
END_TEST

/* ---- errors ---- */

static void check_error_reply(const struct fr_parsed *p, const uint8_t *q, size_t ql,
			      unsigned rcode)
{
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(p->plen, 12);
	ck_assert_uint_eq(get16(p->payload), get16(q));		/* ID */
	ck_assert(p->payload[2] & 0x80);			/* QR */
	ck_assert_uint_eq(p->payload[2] & 0x78, q[2] & 0x78);	/* opcode */
	ck_assert_uint_eq(p->payload[2] & 0x01, q[2] & 0x01);	/* RD */
	ck_assert_uint_eq(p->payload[3] & 0x0f, rcode);
	ck_assert_uint_eq(get16(p->payload + 6), 0);		/* no answers */
	if (rcode == 2) {
		ck_assert_uint_eq(get16(p->payload + 4), 1);
		ck_assert_uint_eq(p->plen, ql);
		ck_assert_mem_eq(p->payload + 12, q + 12, ql - 12);
	}
}

START_TEST(all_silent_servfail)
{
	uint8_t q[512], got[512];
	struct sockaddr_in from;
	size_t ql = fr_dns_query(q, 0x4444, "slow.example", 1, 1);

	guest_query(45005, FR_GW_IP, q, ql);
	upstream_recv(0, got, sizeof(got), &from);	/* it got it, never answers */
	h_run(100);
	ck_assert_ptr_null(wait_dns(45005, 0));
	h_clock_advance(DNS_TIMEOUT_MS / 2);
	h_run(20);
	ck_assert_ptr_null(wait_dns(45005, 0));
	h_clock_advance(DNS_TIMEOUT_MS);
	check_error_reply(wait_dns(45005, H_WAIT_MS), q, ql, 2);
	ck_assert_uint_eq(h_stats().dns_servfail, 1);
	ck_assert_uint_eq(h_stats().dns_answers, 0);
}
END_TEST

START_TEST(refused_upstream_servfail)
{
	/* nobody on the upstream's port: ICMP port unreachable, SERVFAIL
	 * without waiting for the timeout */
	uint8_t q[512];
	uint16_t dead = 0;
	int fd;
	size_t ql = fr_dns_query(q, 0x5555, "example.com", 1, 1);

	h_stop();
	fd = h_udp_bind(&dead);
	h_close_fd(fd);
	start_with_upstreams(1, dead);
	guest_query(45006, FR_GW_IP, q, ql);
	check_error_reply(wait_dns(45006, H_WAIT_MS), q, ql, 2);
}
END_TEST

START_TEST(second_upstream_answers)
{
	uint8_t q[512], got[512], ans[512];
	struct sockaddr_in from;
	const struct fr_parsed *p;
	size_t ql = fr_dns_query(q, 0x6666, "two.example", 1, 1), al;

	guest_query(45007, FR_GW_IP, q, ql);
	upstream_recv(0, got, sizeof(got), &from);	/* first: silent */
	h_run(100);
	ck_assert_msg(!readable(up_fd[1], 0), "second upstream asked before the timeout");
	h_clock_advance(DNS_TIMEOUT_MS + 300);
	ck_assert_uint_eq(upstream_recv(1, got, sizeof(got), &from), ql);
	ck_assert_mem_eq(got, q, ql);
	al = fr_dns_answer_a(ans, q, ql, FR_IP(192, 0, 2, 9));
	upstream_send(1, ans, al, &from);
	p = wait_dns(45007, H_WAIT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->plen, al);
	ck_assert_mem_eq(p->payload, ans, al);
	ck_assert_uint_eq(h_stats().dns_servfail, 0);
}
END_TEST

START_TEST(multi_question_formerr)
{
	uint8_t q[512];
	const struct fr_parsed *p;
	size_t ql = fr_dns_query(q, 0x7777, "example.com", 1, 2);

	guest_query(45008, FR_GW_IP, q, ql);
	/* answered from sn_engine_input() itself, no waiting on anyone */
	p = h_find(NULL, NULL);
	check_error_reply(p, q, ql, 1);
	ck_assert_uint_eq(p->sport, 53);
	ck_assert_uint_eq(p->dport, 45008);
	ck_assert_uint_eq(h_stats().dns_formerr, 1);
	h_run(100);
	ck_assert_msg(!readable(up_fd[0], 0), "a FORMERR query was forwarded");
}
END_TEST

START_TEST(zero_question_formerr)
{
	uint8_t q[512];
	size_t ql = fr_dns_query(q, 0x7778, "example.com", 1, 0);

	ql = 12;			/* header only, QDCOUNT 0 */
	guest_query(45009, FR_GW_IP, q, ql);
	check_error_reply(wait_dns(45009, H_WAIT_MS), q, ql, 1);
	ck_assert(!readable(up_fd[0], 50));
}
END_TEST

START_TEST(tcp_53_to_upstream)
{
	/* TCP to the gateway's port 53 goes to the first upstream's TCP port,
	 * host access or not */
	static const struct h_match synack = { .proto = FR_PROTO_TCP, .sport = 53,
					       .flags = FR_SYN | FR_ACK };
	struct sn_config cfg = H.cfg;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int one = 1, lfd = h_track_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	const struct fr_parsed *p;

	ck_assert_int_eq(cfg.allow_host_loopback, 0);
	sin.sin_port = htons(up_port[0]);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	h_send(fb, fr_tcp_frame(fb, &(struct fr_tcp){ .src = FR_GUEST_IP, .dst = FR_GW_IP,
		.sport = 45010, .dport = 53, .seq = 100, .flags = FR_SYN, .mss = 1460 }));
	p = h_wait(h_match, &synack, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no SYN-ACK for TCP DNS");
	ck_assert_uint_eq(p->ack, 101);
	ck_assert(readable(lfd, 0));
}
END_TEST

/* Port 53 of any address is intercepted, but 127.0.0.1 written by the guest
 * is not the host: the query must not reach the host's loopback (the
 * engine answers SERVFAIL from that address). */
START_TEST(loopback_53_not_reached)
{
	uint8_t q[512];
	uint16_t port = 53;
	int fd = h_udp_bind(&port);
	size_t ql = fr_dns_query(q, 0x8888, "example.com", 1, 1);
	static const struct h_match prohibited = { .proto = FR_PROTO_ICMP, .icmp_type = 3 + 1 };
	const struct fr_parsed *p;

	if (fd < 0)	/* still checks the verdict, not the socket */
		fprintf(stderr, "loopback_53_not_reached: 127.0.0.1:53 not bound (%s)\n",
			strerror(errno));
	ck_assert_int_eq(H.cfg.allow_host_loopback, 0);
	guest_query(45011, FR_IP(127, 0, 0, 1), q, ql);
	h_run(200);
	if (fd >= 0)
		ck_assert_msg(!readable(fd, 0), "a DNS query to 127.0.0.1:53 reached the host's "
			      "loopback without host access");
	ck_assert_uint_eq(h_stats().host_denied, 1);
	/* the policy refused it: ICMP administratively prohibited, from the gateway */
	p = h_wait(h_match, &prohibited, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no ICMP administratively prohibited");
	ck_assert_uint_eq(p->icmp_code, 13);
	ck_assert_uint_eq(p->ip_src, FR_GW_IP);
	ck_assert_uint_eq(h_stats().policy_denied, 1);
}
END_TEST

/* relay/relay.h (internal; the suites otherwise use only the public API):
 * the first upstream resolver, from the config or resolv.conf. */
int sn_dns_upstream(struct sn_engine *e, struct sockaddr_storage *sa);

static char resolv_path[64];

/* write_resolv() - replace the test's resolv.conf, and let the engine see it */
static void write_resolv(const char *text)
{
	FILE *f = fopen(resolv_path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	if (H.e)
		h_clock_advance(1100);	/* past the once-a-second stat() */
}

static void setup_resolv(void)
{
	struct sn_config cfg;
	int fd;

	snprintf(resolv_path, sizeof(resolv_path), "/tmp/sn-test-resolv.XXXXXX");
	fd = mkstemp(resolv_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	write_resolv("");
	h_prepare();
	h_config(&cfg);
	cfg.n_dns_upstreams = 0;
	cfg.resolv_conf = resolv_path;
	h_start(&cfg);
}

static void teardown_resolv(void)
{
	h_stop();
	unlink(resolv_path);
}

/* first_upstream() - sn_dns_upstream()'s answer, checked for family and port 53 */
static struct sockaddr_storage first_upstream(int family)
{
	struct sockaddr_storage ss;

	memset(&ss, 0xa5, sizeof(ss));
	ck_assert_int_eq(sn_dns_upstream(H.e, &ss), 0);
	ck_assert_int_eq(ss.ss_family, family);
	if (family == AF_INET6)
		ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 53);
	else
		ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 53);
	return ss;
}

static void check_first6(const char *addr, uint32_t scope)
{
	struct sockaddr_storage ss = first_upstream(AF_INET6);
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char got[INET6_ADDRSTRLEN];

	ck_assert_ptr_nonnull(inet_ntop(AF_INET6, &sin6->sin6_addr, got, sizeof(got)));
	ck_assert_str_eq(got, addr);
	ck_assert_uint_eq(sin6->sin6_scope_id, scope);
	ck_assert_uint_eq(sin6->sin6_flowinfo, 0);
}

static void check_first4(const char *addr)
{
	struct sockaddr_storage ss = first_upstream(AF_INET);
	char got[INET_ADDRSTRLEN];

	ck_assert_ptr_nonnull(inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, got,
					sizeof(got)));
	ck_assert_str_eq(got, addr);
}

START_TEST(resolv_ipv6_nameservers)
{
	struct sockaddr_storage ss;
	unsigned lo = if_nametoindex("lo");

	ck_assert_msg(sn_dns_upstream(H.e, &ss) < 0, "an upstream from an empty resolv.conf");

	/* IPv6 first, as listed; options and comments around it */
	write_resolv("# generated\nsearch example.test\n"
		     "nameserver ::1\nnameserver 192.0.2.1\noptions edns0\n");
	check_first6("::1", 0);

	/* the file's order: IPv4 first stays first */
	write_resolv("nameserver 192.0.2.1 # first\nnameserver ::1\n");
	check_first4("192.0.2.1");

	/* a scoped link-local nameserver: a missing interface or a missing
	 * zone is skipped, the interface's name or index gives the scope */
	ck_assert_uint_ne(lo, 0);
	write_resolv("nameserver fe80::1%sn-no-such0\n"
		     "nameserver fe80::2\n"
		     "nameserver not-an-address\n"
		     "\tnameserver\tfe80::3%lo\n"
		     "nameserver 192.0.2.1\n");
	check_first6("fe80::3", lo);
	write_resolv("nameserver fe80::4%999999\nnameserver fe80::4%1\n");
	check_first6("fe80::4", 1);	/* index 1: lo, in any namespace */

	/* a global address with a zone keeps it; an IPv4-mapped one is IPv6 */
	write_resolv("nameserver 2001:db8::53%lo\n");
	check_first6("2001:db8::53", lo);
	write_resolv("nameserver ::ffff:192.0.2.9\n");
	check_first6("::ffff:192.0.2.9", 0);

	/* nothing usable: no upstream (the guest gets SERVFAIL) */
	write_resolv("nameserver fe80::5\nnameserver fe80::5%sn-no-such0\n");
	ck_assert_msg(sn_dns_upstream(H.e, &ss) < 0, "an unusable link-local upstream");
}
END_TEST

static Suite *dns_suite(void)
{
	Suite *s = suite_create("dns");
	TCase *tc;

	tc = tcase_create("one_upstream");
	tcase_add_checked_fixture(tc, setup_one, h_teardown);
	tcase_add_test(tc, forward_and_answer);
	tcase_add_test(tc, answer_unusual_records_unchanged);
	tcase_add_test(tc, wrong_id_ignored);
	tcase_add_test(tc, retransmission_not_duplicated);
	tcase_add_test(tc, large_answer_truncated);
	tcase_add_test(tc, all_silent_servfail);
	tcase_add_test(tc, refused_upstream_servfail);
	tcase_add_test(tc, multi_question_formerr);
	tcase_add_test(tc, zero_question_formerr);
	tcase_add_test(tc, tcp_53_to_upstream);
	tcase_add_test(tc, loopback_53_not_reached);
	suite_add_tcase(s, tc);

	tc = tcase_create("two_upstreams");
	tcase_add_checked_fixture(tc, setup_two, h_teardown);
	tcase_add_test(tc, second_upstream_answers);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolv_conf");
	tcase_add_checked_fixture(tc, setup_resolv, teardown_resolv);
	tcase_add_test(tc, resolv_ipv6_nameservers);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dns_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
