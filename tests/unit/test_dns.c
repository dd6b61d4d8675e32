// SPDX-License-Identifier: MIT
/**
 * DOC: test_dns - the DNS forwarder on the gateway's port 53
 *
 * Fake upstream resolvers are UDP sockets on 127.0.0.1 in this process,
 * configured as cfg.dns_upstreams. The guest's query must reach them byte
 * for byte and their answer must come back unchanged from 10.0.2.2:53;
 * silence and refusal lead to the next upstream, then SERVFAIL;
 * multi-question queries are answered FORMERR at once. A DNS address of
 * its own (cfg.dns_ip4, slirp's 10.0.2.3) forwards and answers ping the
 * same way; without it that address is no forwarder.
 *
 * The policy (sn_engine_set_policy()): a denied name, in every spelling a
 * resolver might take for it, is NXDOMAIN and never reaches the upstream;
 * an answer pointing a public name at a private, loopback or host address
 * becomes NXDOMAIN; the addresses of an allowed answer are pinned, so a
 * domain rule lets a connection to them through (tried with the gateway's
 * address, the only one a test may dial) until the TTL ends (fake clock).
 *
 * DNS over TCP: the test plays the guest's TCP by hand and a TCP resolver
 * on the upstream's port: queries and answers pass whole and filtered the
 * same way, pipelined ones too; the upstreams are tried in order (refused,
 * silent); malformed frames reset or are dropped, never hang.
 *
 * Without configured upstreams the host's resolv.conf is read: its
 * nameservers have no port (always 53, which a test cannot bind without
 * root), so that parse is checked through sn_dns_upstreams(), the list
 * both UDP queries and TCP connections to port 53 try in order.
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

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
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
/* the engine of the next fixture logs denials (SN_LOG_INFO) */
static int log_denials;

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
	if (log_denials && cfg.log_level < SN_LOG_INFO)
		cfg.log_level = SN_LOG_INFO;
	for (i = 0; i < n; i++) {
		up_port[i] = 0;
		up_fd[i] = h_udp_bind(&up_port[i]);
		ck_assert_int_ge(up_fd[i], 0);
		set_upstream(&cfg, i, dead_port && i == 0 ? dead_port : up_port[i]);
	}
	h_start(&cfg);
}

/**
 * tcp_upstream() - a TCP resolver on the port of UDP upstream @i
 * @i:		upstream index
 * @backlog:	listen() backlog
 *
 * Return: the listener (tracked)
 */
static int tcp_upstream(unsigned i, int backlog)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int one = 1, fd = h_track_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));

	sin.sin_port = htons(up_port[i]);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	return fd;
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
	al = fr_dns_answer_a(ans, q, ql, FR_IP(203, 0, 113, 1));	/* not a host address */
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
	ck_assert(p->payload[3] & 0x80);			/* RA */
	if (rcode == 2 || rcode == 3) {
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
	/* the engine sleeps until the upstream's deadline (some of it passed) */
	ck_assert_int_ge(sn_engine_timeout_ms(H.e), 0);
	ck_assert_int_le(sn_engine_timeout_ms(H.e), DNS_TIMEOUT_MS);
	h_clock_advance(DNS_TIMEOUT_MS / 2);
	h_run(20);
	ck_assert_ptr_null(wait_dns(45005, 0));
	h_clock_advance(DNS_TIMEOUT_MS);
	check_error_reply(wait_dns(45005, H_WAIT_MS), q, ql, 2);
	ck_assert_uint_eq(h_stats().dns_servfail, 1);
	ck_assert_uint_eq(h_stats().dns_answers, 0);
	ck_assert_int_eq(sn_engine_timeout_ms(H.e), -1);	/* nothing pending */
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
	int lfd = tcp_upstream(0, 4);
	const struct fr_parsed *p;

	ck_assert_int_eq(cfg.allow_host_loopback, 0);
	h_send(fb, fr_tcp_frame(fb, &(struct fr_tcp){ .src = FR_GUEST_IP, .dst = FR_GW_IP,
		.sport = 45010, .dport = 53, .seq = 100, .flags = FR_SYN, .mss = 1460 }));
	p = h_wait(h_match, &synack, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no SYN-ACK for TCP DNS");
	ck_assert_uint_eq(p->ack, 101);
	ck_assert(readable(lfd, 0));
}
END_TEST

/* ---- names: the policy answers NXDOMAIN ---- */

/**
 * policy_set() - give the engine a policy
 * @spec:	';'-separated: "+RULE" allow, "-RULE" deny (egress, in order),
 *		"E=deny" default egress, "block=NAME", "norebind"
 */
static void policy_set(const char *spec)
{
	struct sn_policy *pol = sn_policy_new();
	char buf[256], err[256], *it, *save = NULL;

	ck_assert_ptr_nonnull(pol);
	snprintf(buf, sizeof(buf), "%s", spec);
	for (it = strtok_r(buf, ";", &save); it; it = strtok_r(NULL, ";", &save)) {
		int rc = 0;

		if (!strcmp(it, "E=deny"))
			sn_policy_set_default(pol, SN_POLICY_EGRESS, SN_POLICY_DENY);
		else if (!strcmp(it, "norebind"))
			sn_policy_set_rebind_protection(pol, 0);
		else if (!strncmp(it, "block=", 6))
			rc = sn_policy_block_name(pol, it + 6, NULL, err, sizeof(err));
		else
			rc = sn_policy_add(pol, SN_POLICY_EGRESS, *it == '+' ? SN_POLICY_ALLOW :
					   SN_POLICY_DENY, it + 1, NULL, err, sizeof(err));
		ck_assert_msg(!rc, "%s: %s", it, err);
	}
	sn_engine_set_policy(H.e, pol);
}

static void setup_policy(void)
{
	log_denials = 1;
	start_with_upstreams(1, 0);
	log_denials = 0;
}

/**
 * query_wire() - a query for a name given as raw labels
 * @buf:	output
 * @id:		ID
 * @wire:	the name as on the wire, root label included
 * @wlen:	its length
 *
 * Return: the query's length
 */
static size_t query_wire(uint8_t *buf, uint16_t id, const void *wire, size_t wlen)
{
	fr_dns_query(buf, id, "x", 1, 1);	/* the header */
	memcpy(buf + 12, wire, wlen);
	memcpy(buf + 12 + wlen, "\0\1\0\1", 4);	/* A, IN */
	return 12 + wlen + 4;
}

/**
 * expect_nxdomain() - the guest asks, is answered NXDOMAIN, the upstream
 *		       hears nothing
 * @gport:	guest port
 * @q:		the query
 * @ql:		its length
 */
static void expect_nxdomain(uint16_t gport, const uint8_t *q, size_t ql)
{
	uint64_t before = h_stats().dns_nxdomain;

	guest_query(gport, FR_GW_IP, (uint8_t *)q, ql);
	check_error_reply(wait_dns(gport, H_WAIT_MS), q, ql, 3);
	ck_assert_uint_eq(h_stats().dns_nxdomain, before + 1);
	ck_assert_msg(!readable(up_fd[0], 50), "a denied name reached the upstream");
}

/**
 * expect_forwarded() - the guest's query reaches the upstream unchanged
 * @gport:	guest port
 * @name:	name asked
 */
static void expect_forwarded(uint16_t gport, const char *name)
{
	uint8_t q[512], got[512];
	struct sockaddr_in from;
	size_t ql = fr_dns_query(q, gport, name, 1, 1);

	guest_query(gport, FR_GW_IP, q, ql);
	ck_assert_uint_eq(upstream_recv(0, got, sizeof(got), &from), ql);
	ck_assert_mem_eq(got, q, ql);
}

START_TEST(denied_name_nxdomain)
{
	uint8_t q[512];
	size_t ql;

	policy_set("-*.ads.example");
	ql = fr_dns_query(q, 0x0a0a, "tracker.ads.example", 1, 1);
	q[2] |= 0x10;			/* opcode 2 (STATUS): kept in the reply */
	expect_nxdomain(46000, q, ql);
	ql = fr_dns_query(q, 0x0a0b, "ADS.Example.", 28, 1);	/* the suffix itself, any case */
	expect_nxdomain(46001, q, ql);
	ck_assert_uint_eq(h_stats().policy_denied, 2);
	ck_assert_uint_eq(h_stats().dns_queries, 2);
	ck_assert_msg(H.log && strstr(H.log, "dns query tracker.ads.example: deny by rule 1 "
				       "(*.ads.example)"), "denial not logged: %s", H.log);
	expect_forwarded(46002, "badads.example");
	expect_forwarded(46003, "ads.example.org");
	ck_assert_uint_eq(h_stats().dns_nxdomain, 2);
}
END_TEST

START_TEST(crafted_names_nxdomain)
{
	/* spellings of names under ads.example that a resolver may take for
	 * one: a '.' byte inside a label, a NUL that ends a C string, bytes
	 * no rule holds, compression */
#define WIRE(s)	{ s, sizeof(s) - 1 }
	static const struct { const char *wire; size_t len; } denied[] = {
		WIRE("\7tracker\13ads.example\0"),
		WIRE("\7tracker\3ads\13example\0bad\0"),
		WIRE("\3x*y\3ads\7example\0"),
		WIRE("\3\xc3\xa9t\3ads\7example\0"),
		WIRE("\5a.ads\7example\0"),
		WIRE("\7tracker\3ads\10example.\0"),
		WIRE("\7tracker\3ads\7example\1\0\0"),
	};
	uint8_t q[512];
	size_t i, ql;

	policy_set("-*.ads.example;+*.example");
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		ql = query_wire(q, (uint16_t)(0x0b00 + i), denied[i].wire, denied[i].len);
		expect_nxdomain((uint16_t)(46010 + i), q, ql);
	}
	/* a dot in a label of an allowed name: allowed however it is read */
	ql = query_wire(q, 0x0b10, "\3a.b\7example\0", 14);
	guest_query(46020, FR_GW_IP, q, ql);
	ck_assert(h_run_until_ready(up_fd[0], H_WAIT_MS));
	ck_assert_uint_eq(h_stats().dns_nxdomain, i);
}
END_TEST

START_TEST(unreadable_names_formerr)
{
	/* compression loops (onto itself, back to the name's start, forward),
	 * a reserved label type, a name over 255 bytes */
	static const char *const wires[] = { "\xc0\x0c", "\3abc\xc0\x0c", "\3abc\xc0\x10",
					     "\101abc\0" };
	uint8_t q[512], wire[400];
	size_t i, ql;

	for (i = 0; i < sizeof(wires) / sizeof(wires[0]) + 1; i++) {
		size_t wl = i < 4 ? strlen(wires[i]) + 1 : 0;

		if (i < 4) {
			memcpy(wire, wires[i], wl);
		} else {
			memset(wire, 'a', 5 * 64);
			for (; wl < 5 * 64; wl += 64)
				wire[wl] = 63;
			wire[wl++] = 0;
		}
		ql = query_wire(q, (uint16_t)(0x0c00 + i), wire, wl);
		guest_query((uint16_t)(46030 + i), FR_GW_IP, q, ql);
		check_error_reply(wait_dns((uint16_t)(46030 + i), H_WAIT_MS), q, ql, 1);
	}
	ck_assert_uint_eq(h_stats().dns_formerr, i);
	ck_assert(!readable(up_fd[0], 50));
}
END_TEST

START_TEST(blocklist_nxdomain)
{
	uint8_t q[512];
	size_t ql;

	/* the block list goes before every rule, even one that allows the name */
	policy_set("block=*.blocked.example;+www.blocked.example");
	ql = fr_dns_query(q, 0x0d00, "www.blocked.example", 1, 1);
	expect_nxdomain(46040, q, ql);
	ck_assert_msg(strstr(H.log, "DNS block list entry 1"), "log: %s", H.log);
	expect_forwarded(46041, "blocked.example.net");
}
END_TEST

START_TEST(earlier_allow_rule_wins)
{
	uint8_t q[512];
	size_t ql;

	policy_set("+good.ads.example;-*.ads.example;+bad.ads.example");
	expect_forwarded(46050, "good.ads.example");
	ql = fr_dns_query(q, 0x0e00, "bad.ads.example", 1, 1);
	expect_nxdomain(46051, q, ql);
	ck_assert_uint_eq(h_stats().policy_denied, 1);
}
END_TEST

/* ---- answers: rebind protection, pins ---- */

/**
 * answer_with() - an answer to @q with a record per address
 * @a:		output
 * @q:		the query
 * @ql:		its length
 * @addrs:	NULL-terminated, IPv4 (A) or IPv6 (AAAA) text
 * @ttl:	every record's TTL
 * @cname:	answer with a CNAME "alias.<name>" first, the addresses its
 *		owner's
 *
 * Return: the answer's length
 */
static size_t answer_with(uint8_t *a, const uint8_t *q, size_t ql, const char *const *addrs,
			  uint32_t ttl, int cname)
{
	size_t n = ql, k = 0;
	uint16_t owner = 0xc00c;	/* the question's name */

	memcpy(a, q, ql);
	a[2] = (uint8_t)(0x80 | (q[2] & 0x79));
	a[3] = 0x80;
	for (; cname || *addrs; k++) {
		int v6 = !cname && strchr(*addrs, ':');
		uint16_t rdlen = cname ? 8 : v6 ? 16 : 4;

		put16(a + n, owner);
		put16(a + n + 2, cname ? 5 : v6 ? 28 : 1);
		put16(a + n + 4, 1);
		put16(a + n + 6, (uint16_t)(ttl >> 16));
		put16(a + n + 8, (uint16_t)ttl);
		put16(a + n + 10, rdlen);
		if (cname) {
			memcpy(a + n + 12, "\5alias\xc0\x0c", 8);
			owner = (uint16_t)(0xc000 | (n + 12));
			cname = 0;
		} else {
			ck_assert_int_eq(inet_pton(v6 ? AF_INET6 : AF_INET, *addrs++, a + n + 12), 1);
		}
		n += 12 + rdlen;
	}
	put16(a + 6, (uint16_t)k);
	return n;
}

/**
 * resolve() - the guest asks @name through the gateway, the upstream
 *	       answers with @addrs
 * @gport:	guest port (also the query's ID)
 * @name:	name
 * @addrs:	NULL-terminated addresses
 * @ttl:	TTL of the records
 * @cname:	through a CNAME
 * @ans:	filled with the upstream's answer
 * @al:		its length
 *
 * Return: what the guest got
 */
static const struct fr_parsed *resolve(uint16_t gport, const char *name,
				       const char *const *addrs, uint32_t ttl, int cname,
				       uint8_t *ans, size_t *al)
{
	uint8_t q[512], got[512];
	struct sockaddr_in from;
	size_t ql = fr_dns_query(q, gport, name, 1, 1);
	const struct fr_parsed *p;

	guest_query(gport, FR_GW_IP, q, ql);
	ck_assert_uint_eq(upstream_recv(0, got, sizeof(got), &from), ql);
	*al = answer_with(ans, q, ql, addrs, ttl, cname);
	upstream_send(0, ans, *al, &from);
	p = wait_dns(gport, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no answer for %s", name);
	return p;
}

/* is_unchanged() - did the guest get the upstream's answer byte for byte */
static int is_unchanged(const struct fr_parsed *p, const uint8_t *ans, size_t al)
{
	return p->plen == al && !memcmp(p->payload, ans, al);
}

START_TEST(rebind_nxdomain)
{
	static const char *const bad[][3] = {
		{ "10.0.0.1" }, { "127.0.0.1" }, { "::1" }, { "fd00::1" },
		{ "192.0.2.1", "169.254.169.254" }, { "::ffff:10.1.2.3" },
	};
	static const char *const good[] = { "192.0.2.1", "2001:db8::1", NULL };
	uint8_t ans[1024], q[512];
	const struct fr_parsed *p;
	size_t i, al, ql;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = resolve((uint16_t)(46100 + i), "public.example", bad[i], 300, 0, ans, &al);
		ql = fr_dns_query(q, (uint16_t)(46100 + i), "public.example", 1, 1);
		check_error_reply(p, q, ql, 3);
	}
	p = resolve(46110, "chain.example", (const char *const[]){ "10.0.0.1", NULL }, 300, 1,
		    ans, &al);
	ck_assert_uint_eq(p->payload[3] & 0x0f, 3);	/* an address behind a CNAME */
	ck_assert_uint_eq(h_stats().dns_rebind_blocked, i + 1);
	ck_assert_uint_eq(h_stats().dns_nxdomain, 0);	/* not a denied name */

	p = resolve(46111, "public.example", good, 300, 1, ans, &al);
	ck_assert_msg(is_unchanged(p, ans, al), "a public answer was changed");
	ck_assert_uint_eq(h_stats().dns_rebind_blocked, i + 1);
	ck_assert_uint_eq(h_stats().dns_answers, i + 2);
}
END_TEST

START_TEST(rebind_off_or_allowed_passes)
{
	static const char *const priv[] = { "10.0.0.1", "fd00::1", NULL };
	uint8_t ans[1024];
	const struct fr_parsed *p;
	size_t al;

	/* a domain rule allowing the name excuses its private addresses */
	policy_set("+*.corp.example");
	p = resolve(46120, "intranet.corp.example", priv, 300, 0, ans, &al);
	ck_assert(is_unchanged(p, ans, al));
	p = resolve(46121, "other.example", priv, 300, 0, ans, &al);
	ck_assert_uint_eq(p->payload[3] & 0x0f, 3);

	policy_set("norebind");
	p = resolve(46122, "other.example", priv, 300, 0, ans, &al);
	ck_assert(is_unchanged(p, ans, al));
	ck_assert_uint_eq(h_stats().dns_rebind_blocked, 1);
}
END_TEST

START_TEST(truncated_answer_checked)
{
	/* TC=1 and cut in the middle of its second record: the first counts */
	uint8_t ans[1024];
	uint8_t q[512], got[512];
	struct sockaddr_in from;
	const struct fr_parsed *p;
	size_t ql = fr_dns_query(q, 46130, "tc.example", 1, 1), al;

	guest_query(46130, FR_GW_IP, q, ql);
	upstream_recv(0, got, sizeof(got), &from);
	al = answer_with(ans, q, ql, (const char *const[]){ "127.0.0.1", "192.0.2.1", NULL },
			 300, 0);
	ans[2] |= 0x02;
	upstream_send(0, ans, al - 6, &from);
	p = wait_dns(46130, H_WAIT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->payload[3] & 0x0f, 3);

	/* counts larger than the message: only what is there is read */
	guest_query(46131, FR_GW_IP, q, ql);
	upstream_recv(0, got, sizeof(got), &from);
	al = answer_with(ans, q, ql, (const char *const[]){ "192.0.2.1", NULL }, 300, 0);
	ans[6] = 0xff;
	upstream_send(0, ans, al, &from);
	p = wait_dns(46131, H_WAIT_MS);
	ck_assert(is_unchanged(p, ans, al));
}
END_TEST

/**
 * syn_to() - a guest SYN; was it accepted
 * @gport:	guest port
 * @dst:	destination
 * @dport:	port
 *
 * Return: 1 for a SYN-ACK, 0 for an RST (asserts one of them came)
 */
static int syn_to(uint16_t gport, uint32_t dst, uint16_t dport)
{
	struct h_match m = { .proto = FR_PROTO_TCP, .src = dst, .sport = dport, .dport = gport };
	const struct fr_parsed *p;

	h_send(fb, fr_tcp_frame(fb, &(struct fr_tcp){ .src = FR_GUEST_IP, .dst = dst,
		.sport = gport, .dport = dport, .seq = 1, .flags = FR_SYN, .mss = 1460 }));
	p = h_wait(h_match, &m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no answer to a SYN to port %u", dport);
	ck_assert_msg(p->flags & (FR_RST | FR_SYN), "flags %#x", p->flags);
	return !(p->flags & FR_RST);
}

START_TEST(pins_open_resolved_addresses)
{
	/* A domain rule lets a flow through to an address only for as long as
	 * a name it matches resolved to it. The allowed flow is dialled, so
	 * it goes to the gateway (the host's 127.0.0.1); the denied ones are
	 * refused before anything is dialled. */
	static const char *const gw[] = { "10.0.2.2", NULL };
	static const char *const www[] = { "192.0.2.10", NULL };
	int lfd = tcp_upstream(0, 4), conn;	/* any TCP listener on 127.0.0.1 */
	uint16_t port = up_port[0];
	uint8_t ans[1024];
	const struct fr_parsed *p;
	size_t al;

	policy_set("E=deny;+*.example.test");
	ck_assert_int_eq(syn_to(46200, FR_GW_IP, port), 0);	/* nothing resolved yet */

	p = resolve(46201, "svc.example.test", gw, 60, 0, ans, &al);
	ck_assert(is_unchanged(p, ans, al));	/* the rule excuses the host address */
	ck_assert_int_eq(syn_to(46202, FR_GW_IP, port), 1);
	conn = h_accept(lfd, H_WAIT_MS);
	ck_assert_int_ge(conn, 0);

	p = resolve(46203, "www.example.test", www, 300, 0, ans, &al);
	ck_assert(is_unchanged(p, ans, al));
	ck_assert_int_eq(syn_to(46204, FR_IP(192, 0, 2, 77), 80), 0);	/* never resolved */

	/* the pin ends with its TTL */
	h_clock_advance(61 * 1000);
	ck_assert_int_eq(syn_to(46205, FR_GW_IP, port), 0);
	ck_assert_int_eq(h_accept(lfd, 100), -1);

	/* a name the policy does not match pins nothing it would allow */
	p = resolve(46206, "svc.example.org", gw, 300, 0, ans, &al);
	ck_assert_uint_eq(p->payload[3] & 0x0f, 3);	/* and rebind protection holds */
	ck_assert_int_eq(syn_to(46207, FR_GW_IP, port), 0);
}
END_TEST

START_TEST(pins_short_ttl_bounded)
{
	/* a TTL of 0 still pins for SN_PIN_MIN_MS (30 s): the connection that
	 * follows the lookup gets through */
	static const char *const gw[] = { "10.0.2.2", NULL };
	int lfd = tcp_upstream(0, 4);
	uint16_t port = up_port[0];
	uint8_t ans[1024];
	size_t al;

	policy_set("E=deny;+svc.example.test");
	resolve(46210, "svc.example.test", gw, 0, 1, ans, &al);
	h_clock_advance(20 * 1000);
	ck_assert_int_eq(syn_to(46211, FR_GW_IP, port), 1);
	ck_assert_int_ge(h_accept(lfd, H_WAIT_MS), 0);
	h_clock_advance(11 * 1000);
	ck_assert_int_eq(syn_to(46212, FR_GW_IP, port), 0);
}
END_TEST

/* ---- DNS over TCP ---- */

/**
 * struct gtcp - the guest's side of a TCP connection to a DNS server
 * @gport:	guest port
 * @dst:	server address
 * @seq:	next sequence number to send
 * @ack:	next sequence number expected
 * @fin:	the engine's FIN arrived
 * @rst:	the engine reset the connection
 * @rx:		bytes received, not yet taken
 * @rx_len:	how many
 */
struct gtcp {
	uint16_t gport;
	uint32_t dst;
	uint32_t seq, ack;
	int fin, rst;
	uint8_t rx[16384];
	size_t rx_len;
};

/* gt_seg() - one segment from the guest, @len bytes of @data, its sequence counted */
static void gt_seg(struct gtcp *c, uint8_t flags, const void *data, size_t len)
{
	h_send(fb, fr_tcp_frame(fb, &(struct fr_tcp){ .src = FR_GUEST_IP, .dst = c->dst,
		.sport = c->gport, .dport = 53, .seq = c->seq, .ack = c->ack,
		.flags = flags, .mss = (flags & FR_SYN) ? 1460 : 0, .data = data, .len = len }));
	c->seq += (uint32_t)len + !!(flags & (FR_SYN | FR_FIN));
}

/* gt_pred() - is @p a segment of the connection @arg to the guest */
static int gt_pred(const struct fr_parsed *p, const void *arg)
{
	const struct gtcp *c = arg;

	return p->type == FR_ETH_IP4 && p->ip_proto == FR_PROTO_TCP && p->ip_src == c->dst &&
	       p->sport == 53 && p->dport == c->gport;
}

/**
 * gt_open() - connect the guest to @dst:53
 * @c:		filled
 * @gport:	guest port
 * @dst:	server
 *
 * Return: 1 when the engine accepted, 0 when it reset the SYN
 */
static int gt_open(struct gtcp *c, uint16_t gport, uint32_t dst)
{
	const struct fr_parsed *p;

	memset(c, 0, sizeof(*c));
	c->gport = gport;
	c->dst = dst;
	c->seq = 5000;
	gt_seg(c, FR_SYN, NULL, 0);
	p = h_wait(gt_pred, c, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no answer to the SYN");
	if (p->flags & FR_RST)
		return 0;
	ck_assert_uint_eq(p->flags & (FR_SYN | FR_ACK), FR_SYN | FR_ACK);
	c->ack = p->seq + 1;
	gt_seg(c, FR_ACK, NULL, 0);
	return 1;
}

/**
 * gt_read() - take @len bytes the engine sends the guest, in order, ACKing
 *	       the segments they come in
 * @c:		connection
 * @buf:	output (NULL: drop them)
 * @len:	bytes wanted
 * @ms:		bound for each segment
 *
 * Stops early at a FIN or RST, or when nothing comes within @ms.
 *
 * Return: bytes taken
 */
static size_t gt_read(struct gtcp *c, uint8_t *buf, size_t len, int ms)
{
	size_t n;

	while (c->rx_len < len && !c->fin && !c->rst) {
		const struct fr_parsed *p = h_wait(gt_pred, c, ms);

		if (!p)
			break;
		if (p->flags & FR_RST) {
			c->rst = 1;
			break;
		}
		if (p->seq != c->ack)
			continue;
		ck_assert_uint_le(c->rx_len + p->plen, sizeof(c->rx));
		memcpy(c->rx + c->rx_len, p->payload, p->plen);
		c->rx_len += p->plen;
		c->ack += (uint32_t)p->plen + !!(p->flags & FR_FIN);
		c->fin = !!(p->flags & FR_FIN);
		gt_seg(c, FR_ACK, NULL, 0);
	}
	n = c->rx_len < len ? c->rx_len : len;
	if (buf)
		memcpy(buf, c->rx, n);
	memmove(c->rx, c->rx + n, c->rx_len - n);
	c->rx_len -= n;
	return n;
}

/* frame_take() - @len bytes from the guest's connection @c, or else @fd */
static size_t frame_take(struct gtcp *c, int fd, uint8_t *buf, size_t len)
{
	return c ? gt_read(c, buf, len, H_WAIT_MS) : h_recv_exact(fd, buf, len, H_WAIT_MS);
}

/**
 * frame_read() - read one DNS frame: what the engine sends the guest, or
 *		  what reaches the resolver
 * @c:		the guest's connection, or NULL
 * @fd:		without @c: the resolver's connection
 * @m:		the message, without its length
 * @size:	room at @m
 *
 * Return: its length (asserts a whole one came)
 */
static size_t frame_read(struct gtcp *c, int fd, uint8_t *m, size_t size)
{
	uint8_t pfx[2];
	size_t len;

	ck_assert_uint_eq(frame_take(c, fd, pfx, 2), 2);
	len = get16(pfx);
	ck_assert_uint_le(len, size);
	ck_assert_uint_eq(frame_take(c, fd, m, len), len);
	return len;
}

/* gt_frame() - one frame the engine sends the guest */
static size_t gt_frame(struct gtcp *c, uint8_t *m, size_t size)
{
	return frame_read(c, -1, m, size);
}

/**
 * framed() - a DNS message with its TCP length prefix
 * @out:	output
 * @m:		message
 * @len:	its length
 *
 * Return: @len + 2
 */
static size_t framed(uint8_t *out, const uint8_t *m, size_t len)
{
	put16(out, (uint16_t)len);
	memcpy(out + 2, m, len);
	return len + 2;
}

/* server_frame() - one frame that reaches the resolver on @fd */
static size_t server_frame(int fd, uint8_t *m, size_t size)
{
	return frame_read(NULL, fd, m, size);
}

/* server_send() - the resolver answers @m, framed */
static void server_send(int fd, const uint8_t *m, size_t len)
{
	uint8_t buf[2048];
	size_t n = framed(buf, m, len);

	ck_assert_int_eq(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
}

/**
 * gt_done() - the guest closes; the resolver sees EOF and closes; the
 *	       engine's flow ends with no fd left over
 * @c:		connection
 * @conn:	the resolver's side (closed here)
 * @fds:	the process's fd count before the connection
 */
static void gt_done(struct gtcp *c, int conn, int fds)
{
	uint8_t b;

	gt_seg(c, FR_FIN | FR_ACK, NULL, 0);
	ck_assert_uint_eq(h_recv_exact(conn, &b, 1, H_WAIT_MS), 0);	/* EOF */
	h_close_fd(conn);
	gt_read(c, &b, 1, H_WAIT_MS);
	ck_assert_msg(c->fin, "no FIN after the resolver closed");
	h_run(50);
	ck_assert_int_eq(h_fd_count(), fds);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);
}

/**
 * tcp_ask() - the guest connects to the gateway's port 53 and sends a
 *	       query, which reaches the resolver byte for byte
 * @c:		the guest's connection, filled
 * @gport:	guest port
 * @lfd:	the resolver's listener
 * @q:		query
 * @ql:		its length
 *
 * Return: the resolver's side of the connection (tracked)
 */
static int tcp_ask(struct gtcp *c, uint16_t gport, int lfd, const uint8_t *q, size_t ql)
{
	uint8_t fr[600], got[600];
	int conn;

	ck_assert(gt_open(c, gport, FR_GW_IP));
	conn = h_accept(lfd, H_WAIT_MS);
	ck_assert_int_ge(conn, 0);
	gt_seg(c, FR_ACK, fr, framed(fr, q, ql));
	ck_assert_uint_eq(server_frame(conn, got, sizeof(got)), ql);
	ck_assert_mem_eq(got, q, ql);
	return conn;
}

START_TEST(tcp_query_through_upstream)
{
	int lfd = tcp_upstream(0, 4), conn, fds = h_fd_count();
	uint8_t q[512], got[512], ans[1024];
	struct gtcp c;
	size_t ql = fr_dns_query(q, 0x7001, "www.example.test", 1, 1), al;

	conn = tcp_ask(&c, 46300, lfd, q, ql);
	al = answer_with(ans, q, ql, (const char *const[]){ "192.0.2.10", "2001:db8::10", NULL },
			 300, 1);
	server_send(conn, ans, al);
	ck_assert_uint_eq(gt_frame(&c, got, sizeof(got)), al);
	ck_assert_mem_eq(got, ans, al);
	ck_assert_uint_eq(h_stats().dns_queries, 1);
	ck_assert_uint_eq(h_stats().dns_answers, 1);
	gt_done(&c, conn, fds);
}
END_TEST

START_TEST(tcp_filtered_in_order)
{
	/* three pipelined queries in one segment: a denied name, an allowed
	 * one, a private answer */
	int lfd = tcp_upstream(0, 4), conn;
	uint8_t q1[512], q2[512], q3[512], got[1024], ans[1024], seg[2048];
	struct gtcp c;
	size_t l1 = fr_dns_query(q1, 0x7101, "x.ads.example", 1, 1);
	size_t l2 = fr_dns_query(q2, 0x7102, "www.example.test", 1, 1);
	size_t l3 = fr_dns_query(q3, 0x7103, "rebind.example.test", 1, 1), n, al;

	policy_set("-*.ads.example");
	ck_assert(gt_open(&c, 46310, FR_GW_IP));
	conn = h_accept(lfd, H_WAIT_MS);
	ck_assert_int_ge(conn, 0);
	n = framed(seg, q1, l1);
	n += framed(seg + n, q2, l2);
	n += framed(seg + n, q3, l3);
	gt_seg(&c, FR_ACK, seg, n);

	/* the denied one is answered by the engine at once */
	n = gt_frame(&c, got, sizeof(got));
	check_error_reply(&(struct fr_parsed){ .payload = got, .plen = n }, q1, l1, 3);
	ck_assert_uint_eq(h_stats().dns_nxdomain, 1);

	/* the resolver gets the other two, whole and in order */
	ck_assert_uint_eq(server_frame(conn, got, sizeof(got)), l2);
	ck_assert_mem_eq(got, q2, l2);
	ck_assert_uint_eq(server_frame(conn, got, sizeof(got)), l3);
	ck_assert_mem_eq(got, q3, l3);

	/* answered in the other order (RFC 7766 lets it), the private one
	 * becomes NXDOMAIN */
	al = answer_with(ans, q3, l3, (const char *const[]){ "10.0.0.1", NULL }, 300, 0);
	server_send(conn, ans, al);
	n = gt_frame(&c, got, sizeof(got));
	ck_assert_uint_eq(get16(got), 0x7103);
	ck_assert_uint_eq(got[3] & 0x0f, 3);
	ck_assert_uint_eq(get16(got + 4), 1);
	ck_assert_uint_eq(n, l3);
	ck_assert_mem_eq(got + 12, q3 + 12, l3 - 12);
	al = answer_with(ans, q2, l2, (const char *const[]){ "192.0.2.10", NULL }, 300, 0);
	server_send(conn, ans, al);
	ck_assert_uint_eq(gt_frame(&c, got, sizeof(got)), al);
	ck_assert_mem_eq(got, ans, al);
	ck_assert_uint_eq(h_stats().dns_rebind_blocked, 1);
	ck_assert_uint_eq(h_stats().dns_queries, 3);
}
END_TEST

START_TEST(tcp_fallback_next_upstream)
{
	/* upstream 0 refuses (nobody on its TCP port), upstream 1 answers */
	int lfd = tcp_upstream(1, 4);
	uint8_t q[512];
	struct gtcp c;
	size_t ql = fr_dns_query(q, 0x7201, "www.example.test", 1, 1);

	tcp_ask(&c, 46320, lfd, q, ql);
	ck_assert_uint_eq(h_stats().tcp_refused, 0);
}
END_TEST

START_TEST(tcp_fallback_on_timeout)
{
	/* upstream 0 never completes the handshake (a full backlog drops the
	 * SYN): after cfg.dns_timeout_ms the next one is asked */
	int full = tcp_upstream(0, 0), lfd = tcp_upstream(1, 4), filler, conn;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const struct fr_parsed *p;
	struct gtcp c = { .gport = 46330, .dst = FR_GW_IP, .seq = 5000 };

	sin.sin_port = htons(up_port[0]);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	filler = h_track_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	ck_assert_int_eq(connect(filler, (struct sockaddr *)&sin, sizeof(sin)), 0);
	(void)full;

	gt_seg(&c, FR_SYN, NULL, 0);
	h_run(100);
	ck_assert_ptr_null(h_find(gt_pred, &c));	/* the first is still connecting */
	ck_assert_int_eq(h_accept(lfd, 0), -1);
	h_clock_advance(DNS_TIMEOUT_MS + 300);
	conn = h_accept(lfd, H_WAIT_MS);
	ck_assert_msg(conn >= 0, "the second upstream was not tried after the timeout");
	p = h_wait(gt_pred, &c, H_WAIT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->flags & (FR_SYN | FR_ACK), FR_SYN | FR_ACK);
}
END_TEST

START_TEST(tcp_all_upstreams_fail_rst)
{
	struct gtcp c;

	ck_assert(!gt_open(&c, 46340, FR_GW_IP));	/* neither listens over TCP */
	ck_assert_uint_eq(h_stats().tcp_refused, 1);
}
END_TEST

START_TEST(tcp_malformed_frames)
{
	/* never a crash, a hang or unbounded memory: a frame too short for a
	 * header resets the flow; an answer from the guest and a query of
	 * garbage are dropped or answered FORMERR; a frame cut by the guest's
	 * FIN goes nowhere; the resolver's own odd frames pass whole */
	int lfd = tcp_upstream(0, 4), conn, fds = h_fd_count();
	uint8_t q[512], got[1024], seg[1024], b;
	struct gtcp c;
	size_t ql = fr_dns_query(q, 0x7301, "www.example.test", 1, 1), n;

	ck_assert(gt_open(&c, 46350, FR_GW_IP));
	conn = h_accept(lfd, H_WAIT_MS);
	ck_assert_int_ge(conn, 0);
	gt_seg(&c, FR_ACK, "\0\0", 2);			/* length 0 */
	gt_read(&c, got, sizeof(got), H_WAIT_MS);
	ck_assert_msg(c.rst, "a zero-length frame did not reset the flow");
	ck_assert(h_run_until_ready(conn, H_WAIT_MS));	/* closed, nothing sent */
	ck_assert_int_le(recv(conn, got, sizeof(got), MSG_DONTWAIT), 0);
	h_close_fd(conn);

	ck_assert(gt_open(&c, 46351, FR_GW_IP));
	conn = h_accept(lfd, H_WAIT_MS);
	ck_assert_int_ge(conn, 0);
	memcpy(seg, "\0\14", 2);			/* 12 bytes of answer (QR=1) */
	memset(seg + 2, 0x80, 12);
	n = 14;
	memcpy(seg + n, "\0\20", 2);			/* 16 bytes of garbage: FORMERR */
	memset(seg + n + 2, 0x3f, 16);
	seg[n + 4] = 0;
	n += 18;
	n += framed(seg + n, q, ql);			/* a good one, after them */
	memcpy(seg + n, "\1\0", 2);			/* 256 bytes announced, 10 sent */
	memset(seg + n + 2, 0, 10);
	n += 12;
	gt_seg(&c, FR_ACK, seg, n);
	n = gt_frame(&c, got, sizeof(got));
	ck_assert_uint_eq(got[3] & 0x0f, 1);
	ck_assert_uint_eq(server_frame(conn, got, sizeof(got)), ql);
	ck_assert_mem_eq(got, q, ql);
	ck_assert(!readable(conn, 50));			/* the cut frame waits */

	/* the resolver: a zero-length frame, a short one, then half a frame */
	ck_assert_int_eq(send(conn, "\0\0\0\3abc\0\50partial", 16, 0), 16);
	ck_assert_uint_eq(gt_read(&c, got, 7, H_WAIT_MS), 7);
	ck_assert_mem_eq(got, "\0\0\0\3abc", 7);
	gt_seg(&c, FR_FIN | FR_ACK, NULL, 0);		/* the cut query is dropped */
	ck_assert_uint_eq(h_recv_exact(conn, &b, 1, H_WAIT_MS), 0);
	h_close_fd(conn);
	ck_assert_uint_eq(gt_read(&c, got, sizeof(got), H_WAIT_MS), 0);	/* nor the cut answer */
	ck_assert(c.fin);
	h_run(50);
	ck_assert_int_eq(h_fd_count(), fds);
	ck_assert_uint_ge(h_stats().drop_malformed, 3);
}
END_TEST

START_TEST(tcp_many_denied_pipelined)
{
	/* more denied queries at once than the engine's own replies may
	 * queue: every one is answered, in whole frames, none lost */
	int lfd = tcp_upstream(0, 4), conn;
	static uint8_t seg[1400], got[65536];
	uint8_t q[512];
	struct gtcp c;
	size_t ql = fr_dns_query(q, 0x7401, "many.ads.example", 1, 1), n = 0, total = 0, k;
	unsigned i, sent = 300;

	policy_set("-*.ads.example");
	ck_assert(gt_open(&c, 46360, FR_GW_IP));
	conn = h_accept(lfd, H_WAIT_MS);
	ck_assert_int_ge(conn, 0);
	for (i = 0; i < sent; i++) {
		if (n + ql + 2 > sizeof(seg)) {
			gt_seg(&c, FR_ACK, seg, n);
			n = 0;
		}
		n += framed(seg + n, q, ql);
	}
	gt_seg(&c, FR_ACK, seg, n);
	while (total < sent * (2 + ql) && (k = gt_read(&c, got + total, sent * (2 + ql) - total,
						       H_WAIT_MS)))
		total += k;
	ck_assert_uint_eq(total, sent * (2 + ql));
	for (k = 0; k < total; k += 2 + ql) {
		ck_assert_uint_eq(get16(got + k), ql);
		ck_assert_uint_eq(get16(got + k + 2), 0x7401);
		ck_assert_uint_eq(got[k + 5] & 0x0f, 3);
	}
	ck_assert_uint_eq(h_stats().dns_nxdomain, sent);
	ck_assert(!readable(conn, 0));
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

/* ---- the forwarder's own address (cfg.dns_ip4, slirp's 10.0.2.3) ---- */

#define DNS_OWN_IP	FR_IP(10, 0, 2, 3)

static void setup_own_address(void)
{
	struct sn_config cfg;

	h_prepare();
	h_config(&cfg);
	cfg.dns_timeout_ms = DNS_TIMEOUT_MS;
	cfg.dns_ip4.s_addr = htonl(DNS_OWN_IP);
	up_port[0] = 0;
	up_fd[0] = h_udp_bind(&up_port[0]);
	ck_assert_int_ge(up_fd[0], 0);
	set_upstream(&cfg, 0, up_port[0]);
	h_start(&cfg);
}

START_TEST(own_address_forwards_and_pings)
{
	static const struct h_match reply = { .proto = FR_PROTO_ICMP, .src = DNS_OWN_IP,
					      .icmp_type = 0 + 1 };
	struct h_match m = { .proto = FR_PROTO_UDP, .src = DNS_OWN_IP, .sport = 53, .dport = 45020 };
	uint8_t q[512], got[512], ans[512], data[24];
	size_t ql = fr_dns_query(q, 0x3333, "www.example.com", 1, 1), al;
	struct sockaddr_in from;
	const struct fr_parsed *p;

	guest_query(45020, DNS_OWN_IP, q, ql);
	ck_assert_uint_eq(upstream_recv(0, got, sizeof(got), &from), ql);
	ck_assert_mem_eq(got, q, ql);
	al = fr_dns_answer_a(ans, q, ql, FR_IP(192, 0, 2, 7));
	upstream_send(0, ans, al, &from);
	p = h_wait(h_match, &m, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no answer from the DNS address");
	ck_assert_uint_eq(p->plen, al);
	ck_assert_mem_eq(p->payload, ans, al);

	/* the gateway stays a DNS server too */
	guest_query(45021, FR_GW_IP, q, ql);
	ck_assert_uint_eq(upstream_recv(0, got, sizeof(got), &from), ql);

	/* it answers ping itself, as slirp's does */
	memset(data, 0x5c, sizeof(data));
	ck_assert_int_eq(h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, DNS_OWN_IP, 0x77, 3, data,
						 sizeof(data))), 0);
	p = h_wait(h_match, &reply, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no echo reply from the DNS address");
	ck_assert_uint_eq(p->ip_dst, FR_GUEST_IP);
	ck_assert_uint_eq(p->icmp_id, 0x77);
	ck_assert_uint_eq(p->icmp_seq, 3);
	ck_assert_uint_eq(p->plen, sizeof(data));
	ck_assert_mem_eq(p->payload, data, sizeof(data));
}
END_TEST

START_TEST(no_own_address_no_forwarder)
{
	static const struct h_match prohibited = { .proto = FR_PROTO_ICMP, .icmp_type = 3 + 1 };
	uint8_t q[512];
	size_t ql = fr_dns_query(q, 0x3334, "www.example.com", 1, 1);
	const struct fr_parsed *p;

	/* by default 10.0.2.3 is just another private address */
	guest_query(45022, DNS_OWN_IP, q, ql);
	p = h_wait(h_match, &prohibited, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no ICMP administratively prohibited");
	ck_assert_uint_eq(p->icmp_code, 13);
	ck_assert_msg(!readable(up_fd[0], 0), "a query to 10.0.2.3 reached the upstream");
}
END_TEST

/* relay/relay.h (internal; the suites otherwise use only the public API):
 * the upstream resolvers, from the config or resolv.conf, in order. */
unsigned sn_dns_upstreams(struct sn_engine *e, struct sockaddr_storage *sa, unsigned max);

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

/* first_upstream() - sn_dns_upstreams()' first, checked for family and port 53 */
static struct sockaddr_storage first_upstream(int family)
{
	struct sockaddr_storage ss;

	memset(&ss, 0xa5, sizeof(ss));
	ck_assert_uint_ge(sn_dns_upstreams(H.e, &ss, 1), 1);
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

	ck_assert_msg(!sn_dns_upstreams(H.e, &ss, 1), "an upstream from an empty resolv.conf");

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
	ck_assert_msg(!sn_dns_upstreams(H.e, &ss, 1), "an unusable link-local upstream");
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
	tcase_add_test(tc, no_own_address_no_forwarder);
	suite_add_tcase(s, tc);

	tc = tcase_create("two_upstreams");
	tcase_add_checked_fixture(tc, setup_two, h_teardown);
	tcase_add_test(tc, second_upstream_answers);
	tcase_add_test(tc, tcp_query_through_upstream);
	tcase_add_test(tc, tcp_filtered_in_order);
	tcase_add_test(tc, tcp_fallback_next_upstream);
	tcase_add_test(tc, tcp_fallback_on_timeout);
	tcase_add_test(tc, tcp_all_upstreams_fail_rst);
	tcase_add_test(tc, tcp_malformed_frames);
	tcase_add_test(tc, tcp_many_denied_pipelined);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, setup_policy, h_teardown);
	tcase_add_test(tc, denied_name_nxdomain);
	tcase_add_test(tc, crafted_names_nxdomain);
	tcase_add_test(tc, unreadable_names_formerr);
	tcase_add_test(tc, blocklist_nxdomain);
	tcase_add_test(tc, earlier_allow_rule_wins);
	tcase_add_test(tc, rebind_nxdomain);
	tcase_add_test(tc, rebind_off_or_allowed_passes);
	tcase_add_test(tc, truncated_answer_checked);
	tcase_add_test(tc, pins_open_resolved_addresses);
	tcase_add_test(tc, pins_short_ttl_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("own_address");
	tcase_add_checked_fixture(tc, setup_own_address, h_teardown);
	tcase_add_test(tc, own_address_forwards_and_pings);
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
