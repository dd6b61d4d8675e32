// SPDX-License-Identifier: MIT
/**
 * DOC: test_enforce - every relay asks the policy, and obeys it
 *
 * One test per relay shows a deny rule stopping a flow that the same
 * engine otherwise carries (so the rule, not a missing service, stopped
 * it): TCP gets an RST and the host listener sees no connection; UDP gets
 * ICMP administratively prohibited and the host socket no datagram; ICMP
 * echo is refused before any ping socket exists; DNS to a denied address
 * opens no upstream socket while the gateway's forwarder keeps working.
 * Destinations that are never dialled (the unspecified addresses, which
 * Linux would connect to its loopback) are dropped silently. A policy
 * replaced at run time governs new flows only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static uint8_t fb[FR_MAX];

static const uint8_t guest6[16] = { 0xfd, 0, 0, 2, [15] = 0x15 };
static const uint8_t any6[16];
static const uint8_t mapped_any6[16] = { [10] = 0xff, [11] = 0xff };

/**
 * policy_set() - give the engine a policy made of rules
 * @rules:	NULL-terminated "+RULE" (allow) / "-RULE" (deny), in order
 */
static void policy_set(const char *const *rules)
{
	struct sn_policy *pol = sn_policy_new();
	char err[256];

	ck_assert_ptr_nonnull(pol);
	for (; *rules; rules++)
		ck_assert_msg(!sn_policy_add(pol, SN_POLICY_EGRESS, **rules == '+' ?
					     SN_POLICY_ALLOW : SN_POLICY_DENY, *rules + 1, NULL,
					     err, sizeof(err)), "%s: %s", *rules, err);
	sn_engine_set_policy(H.e, pol);
}

/**
 * syn_to_gw() - a guest SYN to the gateway's @port
 * @gport:	guest port
 * @port:	destination port
 */
static void syn_to_gw(uint16_t gport, uint16_t port)
{
	size_t n = fr_tcp_frame(fb, &(struct fr_tcp){ .src = FR_GUEST_IP, .dst = FR_GW_IP,
		.sport = gport, .dport = port, .seq = 1000, .flags = FR_SYN, .mss = 1460 });

	h_send(fb, n);
}

/**
 * readable() - is a host socket readable within @ms, running the engine
 * @fd:		socket
 * @ms:		bound
 *
 * Return: non-zero if it is
 */
static int readable(int fd, int ms)
{
	return h_run_until_ready(fd, ms);
}

/**
 * counts_check() - the policy's counts after one denial by rule 1 and one
 *		    allow by rule 2 (a rule set from policy_set())
 * @rule1:	rule 1's text as given to policy_set() (after its sign)
 * @denied1:	flows rule 1 denied
 * @allowed2:	flows rule 2 allowed
 *
 * Also: the parts come in evaluation order, and their denials add up to
 * the engine's policy_denied.
 */
static void counts_check(const char *rule1, uint64_t denied1, uint64_t allowed2)
{
	static const char *const order[] = { "never", "builtin-dns", "builtin-bypass", "rule",
					     "rule", "default-egress", "default-ingress" };
	struct sn_policy_count c;
	uint64_t denied = 0;
	unsigned i;

	for (i = 0; !sn_engine_policy_count(H.e, i, &c); i++) {
		ck_assert_uint_lt(i, sizeof(order) / sizeof(order[0]));
		ck_assert_str_eq(c.what, order[i]);
		denied += c.denied;
		if (i == 3) {
			ck_assert_uint_eq(c.n, 1);
			ck_assert_int_eq(c.action, SN_POLICY_DENY);
			ck_assert_str_eq(c.rule, rule1 + 1);
			ck_assert_str_eq(c.origin, rule1 + 1);	/* no origin given: the text */
			ck_assert_uint_eq(c.denied, denied1);
			ck_assert_uint_eq(c.allowed, 0);
		}
		if (i == 4) {
			ck_assert_uint_eq(c.n, 2);
			ck_assert_str_eq(c.rule, "group:host");
			ck_assert_uint_eq(c.allowed, allowed2);
		}
	}
	ck_assert_uint_eq(i, sizeof(order) / sizeof(order[0]));
	ck_assert_uint_eq(denied, h_stats().policy_denied);
}

static const struct h_match prohibited4 = { .type = FR_ETH_IP4, .proto = FR_PROTO_ICMP,
					    .icmp_type = 3 + 1 };

START_TEST(tcp_deny_rule_resets)
{
	uint16_t denied = 0, allowed = 0;
	int ld = h_tcp_listen(AF_INET, &denied, 4, 0), la = h_tcp_listen(AF_INET, &allowed, 4, 0);
	struct h_match rst = { .proto = FR_PROTO_TCP, .src = FR_GW_IP, .flags = FR_RST };
	struct h_match synack = { .proto = FR_PROTO_TCP, .src = FR_GW_IP,
				  .flags = FR_SYN | FR_ACK };
	char rule[64];
	const char *rules[] = { rule, "+group:host", NULL };

	snprintf(rule, sizeof(rule), "-tcp:group:host:%u", denied);
	policy_set(rules);

	syn_to_gw(41000, denied);
	rst.sport = denied;
	ck_assert_msg(h_wait(h_match, &rst, H_WAIT_MS), "no RST for a denied connection");
	ck_assert_int_eq(h_accept(ld, 200), -1);
	ck_assert_uint_eq(h_stats().policy_denied, 1);
	ck_assert_uint_eq(h_stats().host_denied, 1);

	syn_to_gw(41001, allowed);
	synack.sport = allowed;
	ck_assert_msg(h_wait(h_match, &synack, H_WAIT_MS), "the allowed port got no SYN-ACK");
	ck_assert_int_ge(h_accept(la, H_WAIT_MS), 0);
	ck_assert_uint_eq(h_stats().policy_denied, 1);
	counts_check(rule, 1, 1);
}
END_TEST

START_TEST(udp_deny_rule_prohibited)
{
	uint16_t denied = 0, allowed = 0;
	int fd = h_udp_bind(&denied), fa = h_udp_bind(&allowed);
	const struct fr_parsed *p;
	char rule[64];
	const char *rules[] = { rule, "+group:host", NULL };
	size_t n;

	snprintf(rule, sizeof(rule), "-udp:group:host:%u", denied);
	policy_set(rules);

	n = fr_udp_frame(fb, FR_GUEST_IP, 42000, FR_GW_IP, denied, "no", 2);
	h_send(fb, n);
	p = h_wait(h_match, &prohibited4, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no ICMP for a denied datagram");
	ck_assert_uint_eq(p->icmp_code, 13);
	ck_assert_uint_eq(p->ip_src, FR_GW_IP);
	ck_assert(!readable(fd, 100));
	ck_assert_uint_eq(h_stats().udp_sessions, 0);

	n = fr_udp_frame(fb, FR_GUEST_IP, 42001, FR_GW_IP, allowed, "yes", 3);
	h_send(fb, n);
	ck_assert_msg(readable(fa, H_WAIT_MS), "the allowed port got nothing");
	ck_assert_uint_eq(h_stats().policy_denied, 1);
}
END_TEST

START_TEST(icmp_deny_rule_prohibited)
{
	static const char *const rules[] = { "-icmp:192.0.2.1", NULL };
	const struct fr_parsed *p;
	int fds = h_fd_count();
	size_t n;

	policy_set(rules);
	n = fr_icmp_echo(fb, FR_GUEST_IP, FR_IP(192, 0, 2, 1), 7, 1, "ping", 4);
	h_send(fb, n);
	p = h_wait(h_match, &prohibited4, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no ICMP for a denied echo request");
	ck_assert_uint_eq(p->icmp_code, 13);
	ck_assert_uint_eq(h_stats().icmp_echo_relayed, 0);
	ck_assert_uint_eq(h_stats().policy_denied, 1);
	ck_assert_int_eq(h_fd_count(), fds);	/* no ping socket was opened */
}
END_TEST

START_TEST(dns_deny_rule_prohibited)
{
	static const char *const rules[] = { "-udp:192.0.2.53:53", NULL };
	struct sn_config cfg;
	uint8_t q[512];
	uint16_t up = 0;
	int fu, fds;
	size_t ql, n;

	h_prepare();
	fu = h_udp_bind(&up);
	h_config(&cfg);
	((struct sockaddr_in *)&cfg.dns_upstreams[0])->sin_family = AF_INET;
	((struct sockaddr_in *)&cfg.dns_upstreams[0])->sin_port = htons(up);
	((struct sockaddr_in *)&cfg.dns_upstreams[0])->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfg.n_dns_upstreams = 1;
	h_start(&cfg);
	policy_set(rules);
	fds = h_fd_count();

	ql = fr_dns_query(q, 0x1234, "example.test", 1, 1);
	n = fr_udp_frame(fb, FR_GUEST_IP, 43000, FR_IP(192, 0, 2, 53), 53, q, ql);
	h_send(fb, n);
	ck_assert_msg(h_wait(h_match, &prohibited4, H_WAIT_MS), "no ICMP for a denied resolver");
	ck_assert_int_eq(h_fd_count(), fds);	/* no upstream socket */

	/* the gateway's forwarder is a builtin allow, and asks the upstream */
	n = fr_udp_frame(fb, FR_GUEST_IP, 43001, FR_GW_IP, 53, q, ql);
	h_send(fb, n);
	ck_assert_msg(readable(fu, H_WAIT_MS), "the gateway's forwarder did not forward");
	ck_assert_uint_eq(h_stats().policy_denied, 1);
	h_stop();
}
END_TEST

/* DNS to [::]:53 or [::ffff:0.0.0.0]:53 would reach the host's loopback
 * resolver: never dialled, not even answered, whatever the rules say. */
START_TEST(unspecified_never_dialled)
{
	static const char *const rules[] = { "+any", NULL };
	uint8_t q[512];
	int fds = h_fd_count();
	size_t ql = fr_dns_query(q, 0x4321, "example.test", 1, 1), n;

	policy_set(rules);
	n = fr_udp6_frame(fb, guest6, 44000, any6, 53, q, ql);
	h_send(fb, n);
	n = fr_udp6_frame(fb, guest6, 44001, mapped_any6, 53, q, ql);
	h_send(fb, n);
	n = fr_udp6_frame(fb, guest6, 44002, mapped_any6, 9999, "x", 1);
	h_send(fb, n);
	h_run(200);
	ck_assert_uint_eq(h_untaken(), 0);	/* nothing answered */
	ck_assert_int_eq(h_fd_count(), fds);	/* nothing dialled */
	ck_assert_uint_eq(h_stats().policy_denied, 3);
	ck_assert_uint_eq(h_stats().dns_queries, 0);
}
END_TEST

/* A new policy decides new flows; a connection it would deny goes on. */
START_TEST(policy_swap_keeps_established)
{
	static const char *const open_rules[] = { "+group:host", NULL };
	static const char *const closed_rules[] = { "-any", NULL };
	uint16_t port = 0;
	int l = h_tcp_listen(AF_INET, &port, 4, 0), c;
	struct h_match synack = { .proto = FR_PROTO_TCP, .src = FR_GW_IP,
				  .flags = FR_SYN | FR_ACK, .dport = 45000 };
	struct h_match data = { .proto = FR_PROTO_TCP, .src = FR_GW_IP, .dport = 45000,
				.min_plen = 5 };
	struct h_match rst = { .proto = FR_PROTO_TCP, .src = FR_GW_IP, .flags = FR_RST,
			       .dport = 45001 };
	const struct fr_parsed *p;
	uint32_t irs;
	size_t n;

	policy_set(open_rules);
	syn_to_gw(45000, port);
	p = h_wait(h_match, &synack, H_WAIT_MS);
	ck_assert_ptr_nonnull(p);
	irs = p->seq;
	n = fr_tcp_frame(fb, &(struct fr_tcp){ .src = FR_GUEST_IP, .dst = FR_GW_IP,
		.sport = 45000, .dport = port, .seq = 1001, .ack = irs + 1, .flags = FR_ACK });
	h_send(fb, n);
	c = h_accept(l, H_WAIT_MS);
	ck_assert_int_ge(c, 0);

	policy_set(closed_rules);
	ck_assert_int_eq(send(c, "hello", 5, 0), 5);
	ck_assert_msg(h_wait(h_match, &data, H_WAIT_MS), "the established flow stopped");

	syn_to_gw(45001, port);
	ck_assert_msg(h_wait(h_match, &rst, H_WAIT_MS), "a new flow was not refused");
}
END_TEST

static Suite *enforce_suite(void)
{
	Suite *s = suite_create("enforce");
	TCase *tc = tcase_create("relays");

	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_test(tc, tcp_deny_rule_resets);
	tcase_add_test(tc, udp_deny_rule_prohibited);
	tcase_add_test(tc, icmp_deny_rule_prohibited);
	tcase_add_test(tc, unspecified_never_dialled);
	tcase_add_test(tc, policy_swap_keeps_established);
	suite_add_tcase(s, tc);

	tc = tcase_create("dns");
	tcase_add_test(tc, dns_deny_rule_prohibited);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(enforce_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
