// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - counters by name, the policy's counts, flows
 *
 * The engine keeps its counters in one struct sn_stats (e->st), bumped
 * where things happen. This file is how they leave the engine so that an
 * embedder never depends on the struct's size: sn_engine_stats_sized()
 * copies as much of it as the caller's header knew (fields are only ever
 * appended), and a table of names with their offsets serves
 * sn_stat_name() and sn_engine_stat(). The table is checked against the
 * struct at compile time: a counter added to the struct without a name
 * does not build.
 *
 * sn_engine_policy_count() walks the parts of the policy in force, in
 * evaluation order, with how often each allowed and denied: its counters
 * live in the policy (policy/), so a new policy starts from zero.
 *
 * sn_engine_flows() asks each relay to walk its own table (TCP proxy, UDP
 * relay, published ports' UDP clients, ICMP echo); they describe each
 * flow with a struct sn_flow_info on the stack and call the embedder back.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/engine.h"
#include "core/stats.h"
#include "policy/policy.h"
#include "relay/relay.h"

#define STAT(f) { #f, offsetof(struct sn_stats, f) }

/* Every field of struct sn_stats, in its order. */
static const struct {
	const char *name;
	size_t off;
} stat_names[] = {
	STAT(frames_in), STAT(frames_out), STAT(bytes_in), STAT(bytes_out),
	STAT(output_errors), STAT(drop_malformed), STAT(drop_spoofed), STAT(drop_unsupported),
	STAT(arp_replies), STAT(tcp_flows), STAT(tcp_flows_active), STAT(tcp_refused),
	STAT(tcp_limit_rst), STAT(tcp_pending_limit), STAT(tcp_bytes_up), STAT(tcp_bytes_down),
	STAT(udp_sessions), STAT(udp_sessions_active), STAT(udp_evicted), STAT(udp_expired),
	STAT(udp_dgrams_up), STAT(udp_dgrams_down), STAT(udp_drop_queue),
	STAT(icmp_echo_local), STAT(icmp_echo_relayed), STAT(icmp_replies), STAT(icmp_drop),
	STAT(dns_queries), STAT(dns_answers), STAT(dns_servfail), STAT(dns_formerr),
	STAT(dns_drop_limit), STAT(host_denied), STAT(dhcp_offers), STAT(dhcp_acks),
	STAT(dhcp_naks), STAT(icmp_errors_sent), STAT(icmp_errors_ratelimited),
	STAT(ttl_expired), STAT(host_errors), STAT(ra_sent), STAT(dhcp6_replies),
	STAT(frag_overlap), STAT(policy_denied), STAT(dns_nxdomain), STAT(dns_rebind_blocked),
	STAT(host_addrs), STAT(publish_accepted), STAT(publish_reset),
	STAT(offload_in), STAT(offload_out),
};

#define N_STATS	(sizeof(stat_names) / sizeof(stat_names[0]))

_Static_assert(N_STATS * sizeof(uint64_t) == sizeof(struct sn_stats),
	       "every field of struct sn_stats needs its name in stat_names[]");

size_t sn_engine_stats_sized(struct sn_engine *e, struct sn_stats *st, size_t size)
{
	if (size > sizeof(e->st)) {
		memset((char *)st + sizeof(e->st), 0, size - sizeof(e->st));
		size = sizeof(e->st);
	}
	memcpy(st, &e->st, size);
	return sizeof(e->st);
}

/**
 * sn_engine_stats() - copy the counters: the function behind the macro, for
 *		       callers that take its address
 * @e:		engine
 * @st:		filled
 */
void (sn_engine_stats)(struct sn_engine *e, struct sn_stats *st)
{
	sn_engine_stats_sized(e, st, sizeof(*st));
}

const char *sn_stat_name(unsigned i)
{
	return i < N_STATS ? stat_names[i].name : NULL;
}

int sn_engine_stat(struct sn_engine *e, const char *name, uint64_t *v)
{
	unsigned i;

	for (i = 0; i < N_STATS; i++) {
		if (strcmp(stat_names[i].name, name))
			continue;
		memcpy(v, (const char *)&e->st + stat_names[i].off, sizeof(*v));
		return 0;
	}
	errno = ENOENT;
	return -1;
}

/**
 * count_rule() - describe a rule or block list entry and its hits
 * @c:		filled
 * @kind:	SN_COUNT_RULE or SN_COUNT_BLOCKLIST
 * @r:		the rule
 * @n:		its 1-based position
 */
static void count_rule(struct sn_policy_count *c, int kind, const struct sn_rule *r, unsigned n)
{
	c->kind = kind;
	c->what = kind == SN_COUNT_RULE ? "rule" : "blocklist";
	c->n = n;
	c->action = r->action;
	sn_rule_format(r, c->rule, sizeof(c->rule));
	snprintf(c->origin, sizeof(c->origin), "%s", r->origin);
	if (r->action == SN_POLICY_ALLOW)
		c->allowed = r->hits;
	else
		c->denied = r->hits;
}

int sn_engine_policy_count(struct sn_engine *e, unsigned i, struct sn_policy_count *c)
{
	const struct sn_policy *pol = e->policy;

	memset(c, 0, sizeof(*c));
	switch (i) {
	case 0:
		c->kind = SN_COUNT_NEVER;
		c->what = "never";
		c->action = SN_POLICY_DENY;
		c->denied = pol->never_hits;
		return 0;
	case 1:
		c->kind = SN_COUNT_BUILTIN_DNS;
		c->what = "builtin-dns";
		c->action = SN_POLICY_ALLOW;
		c->allowed = pol->builtin_hits[0];
		return 0;
	case 2:
		c->kind = SN_COUNT_BUILTIN_BYPASS;
		c->what = "builtin-bypass";
		c->action = pol->dns_bypass ? SN_POLICY_ALLOW : SN_POLICY_DENY;
		c->denied = pol->builtin_hits[1];
		return 0;
	default:
		break;
	}
	i -= 3;
	if (i < pol->n_rules) {
		count_rule(c, SN_COUNT_RULE, &pol->rules[i], i + 1);
		return 0;
	}
	i -= pol->n_rules;
	if (i < pol->n_block) {
		count_rule(c, SN_COUNT_BLOCKLIST, &pol->block[i], i + 1);
		return 0;
	}
	i -= pol->n_block;
	if (i > 1)
		return -1;
	c->kind = i ? SN_COUNT_DEFAULT_INGRESS : SN_COUNT_DEFAULT_EGRESS;
	c->what = i ? "default-ingress" : "default-egress";
	c->action = i ? pol->default_ingress : pol->default_egress;
	c->denied = pol->default_denied[i];
	c->allowed = pol->default_hits[i] - pol->default_denied[i];
	return 0;
}

unsigned sn_engine_flows(struct sn_engine *e, sn_flow_fn fn, void *ctx)
{
	unsigned n = 0;

	if (!sn_tcp_walk(e, fn, ctx, &n) && !sn_udp_walk(e, fn, ctx, &n) &&
	    !sn_publish_walk(e, fn, ctx, &n))
		sn_icmp_walk(e, fn, ctx, &n);
	return n;
}

void sn_flow_addr(struct sockaddr_storage *ss, const ip_addr_t *a, u16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (IP_IS_V6(a)) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = lwip_htons(port);
		memcpy(&sin6->sin6_addr, ip_2_ip6(a)->addr, 16);
		return;
	}
	((struct sockaddr_in *)ss)->sin_family = AF_INET;
	((struct sockaddr_in *)ss)->sin_port = lwip_htons(port);
	((struct sockaddr_in *)ss)->sin_addr.s_addr = ip4_addr_get_u32(ip_2_ip4(a));
}
