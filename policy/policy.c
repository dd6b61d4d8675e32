// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - addresses, classes and verdicts
 *
 * This file holds the address side of the policy (normalisation and
 * classification, see policy.h for the table) and the evaluation:
 * sn_policy_decide() for flows, sn_policy_decide_name() for DNS query
 * names, sn_policy_rebind_ok() for DNS answers. It does no I/O and keeps
 * no clock: the engine passes the time and the facts (struct
 * sn_policy_env) with every call, so the unit tests drive it with tables.
 *
 * A policy is a growable array of rules (bounded by SN_POLICY_MAX_RULES)
 * and a few settings; the engine owns one and replaces it whole on reload,
 * so a flow is decided by exactly one policy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

/**
 * struct sn_range - a range of addresses that makes a class
 * @net:	first 16 bytes, as sn_ip (IPv4 mapped)
 * @plen:	prefix length over the 16 bytes
 * @cls:	class of the addresses in it
 */
struct sn_range {
	uint8_t net[16];
	uint8_t plen;
	enum sn_class cls;
};

#define V4(a, b, c, d)	{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d }

/* Checked in order after the never, gateway and host classes. */
static const struct sn_range sn_ranges[] = {
	{ V4(169, 254, 169, 254), 128, SN_CLASS_METADATA },
	{ { 0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54 }, 128,
	  SN_CLASS_METADATA },
	{ V4(127, 0, 0, 0), 104, SN_CLASS_LOOPBACK },
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 128, SN_CLASS_LOOPBACK },
	{ V4(224, 0, 0, 0), 100, SN_CLASS_MULTICAST },
	{ { 0xff }, 8, SN_CLASS_MULTICAST },
	{ V4(169, 254, 0, 0), 112, SN_CLASS_LINK_LOCAL },
	{ { 0xfe, 0x80 }, 10, SN_CLASS_LINK_LOCAL },
	{ V4(10, 0, 0, 0), 104, SN_CLASS_PRIVATE },
	{ V4(172, 16, 0, 0), 108, SN_CLASS_PRIVATE },
	{ V4(192, 168, 0, 0), 112, SN_CLASS_PRIVATE },
	{ V4(100, 64, 0, 0), 106, SN_CLASS_PRIVATE },	/* CGNAT, RFC 6598 */
	{ V4(198, 18, 0, 0), 111, SN_CLASS_PRIVATE },	/* benchmarking, RFC 2544 */
	{ { 0xfc }, 7, SN_CLASS_PRIVATE },		/* ULA, RFC 4193 */
	{ { 0xfe, 0xc0 }, 10, SN_CLASS_PRIVATE },	/* site-local, RFC 3879 */
};

static const char *const sn_class_names[SN_CLASS_COUNT] = {
	[SN_CLASS_UNSPECIFIED] = "unspecified",
	[SN_CLASS_GUEST] = "the guest's own",
	[SN_CLASS_BROADCAST] = "broadcast",
	[SN_CLASS_GATEWAY] = "host (gateway)",
	[SN_CLASS_HOST] = "host (interface address)",
	[SN_CLASS_METADATA] = "metadata",
	[SN_CLASS_LOOPBACK] = "loopback",
	[SN_CLASS_MULTICAST] = "multicast",
	[SN_CLASS_LINK_LOCAL] = "link-local",
	[SN_CLASS_PRIVATE] = "private",
	[SN_CLASS_PUBLIC] = "public",
};

/* The group each class belongs to (0: none, the never classes). */
static const uint8_t sn_class_group[SN_CLASS_COUNT] = {
	[SN_CLASS_GATEWAY] = SN_GROUP_HOST,
	[SN_CLASS_HOST] = SN_GROUP_HOST,
	[SN_CLASS_METADATA] = SN_GROUP_METADATA,
	[SN_CLASS_LOOPBACK] = SN_GROUP_LOOPBACK,
	[SN_CLASS_MULTICAST] = SN_GROUP_MULTICAST,
	[SN_CLASS_LINK_LOCAL] = SN_GROUP_LINK_LOCAL,
	[SN_CLASS_PRIVATE] = SN_GROUP_PRIVATE,
	[SN_CLASS_PUBLIC] = SN_GROUP_PUBLIC,
};

/* ---- addresses ---- */

void sn_ip_from4(struct sn_ip *out, uint32_t a)
{
	memset(out->b, 0, 10);
	out->b[10] = 0xff;
	out->b[11] = 0xff;
	memcpy(out->b + 12, &a, 4);
}

int sn_ip_is4(const struct sn_ip *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(ip->b, mapped, sizeof(mapped));
}

uint32_t sn_ip_to4(const struct sn_ip *ip)
{
	uint32_t a;

	memcpy(&a, ip->b + 12, 4);
	return a;
}

/**
 * ip_prefix_eq() - do two addresses share their first @plen bits
 * @a:		address
 * @b:		address
 * @plen:	bits, 0..128
 *
 * Return: non-zero if they do
 */
static int ip_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned whole = plen / 8, rest = plen % 8;

	if (memcmp(a, b, whole))
		return 0;
	if (!rest)
		return 1;
	return !((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest)));
}

/**
 * sn_ip_normalise() - every spelling of an IPv4 address as that address
 * @in:		address as written
 * @out:	normalised (may be @in)
 *
 * IPv4-mapped ::ffff:a.b.c.d is the canonical form already. IPv4-compatible
 * ::a.b.c.d (all but :: and ::1), SIIT's IPv4-translated ::ffff:0:a.b.c.d
 * and the NAT64 well-known prefix 64:ff9b::a.b.c.d (RFC 6052: a host with
 * NAT64 reaches that IPv4 address through it) become ::ffff:a.b.c.d.
 *
 * Return: 0 (IPv6), 1 (an IPv4 address spelt as IPv6, or IPv4), 2 (NAT64)
 */
int sn_ip_normalise(const struct sn_ip *in, struct sn_ip *out)
{
	static const uint8_t zero[12];
	static const uint8_t translated[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	uint32_t a;

	if (sn_ip_is4(in)) {
		*out = *in;
		return 1;
	}
	memcpy(&a, in->b + 12, 4);
	if (!memcmp(in->b, nat64, 12)) {
		sn_ip_from4(out, a);
		return 2;
	}
	if ((!memcmp(in->b, zero, 12) && ntohl(a) > 1) || !memcmp(in->b, translated, 12)) {
		sn_ip_from4(out, a);
		return 1;
	}
	*out = *in;
	return 0;
}

int sn_ip_parse(const char *s, size_t len, struct sn_ip *out)
{
	char buf[INET6_ADDRSTRLEN + 2];
	struct in_addr a4;

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
		if (len >= sizeof(buf))
			return -1;
		memcpy(buf, s, len);
		buf[len] = '\0';
		return inet_pton(AF_INET6, buf, out->b) == 1 ? 0 : -1;
	}
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		sn_ip_from4(out, a4.s_addr);
		return 0;
	}
	return inet_pton(AF_INET6, buf, out->b) == 1 ? 0 : -1;
}

const char *sn_ip_format(const struct sn_ip *ip, char *buf, size_t len)
{
	uint32_t a = sn_ip_to4(ip);

	if (sn_ip_is4(ip) ? !inet_ntop(AF_INET, &a, buf, (socklen_t)len) :
			    !inet_ntop(AF_INET6, ip->b, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/**
 * ip_in() - is @ip one of @n addresses
 * @ip:		address
 * @set:	addresses
 * @n:		how many
 *
 * Return: non-zero if it is
 */
static int ip_in(const struct sn_ip *ip, const struct sn_ip *set, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (!memcmp(ip->b, set[i].b, 16))
			return 1;
	return 0;
}

enum sn_class sn_classify(const struct sn_policy_env *env, const struct sn_ip *ip)
{
	static const uint8_t any[16];
	static const struct sn_ip this_net = { V4(0, 0, 0, 0) };
	static const struct sn_ip all_ones = { V4(255, 255, 255, 255) };
	size_t i;

	if (!memcmp(ip->b, any, 16) || ip_prefix_eq(ip->b, this_net.b, 104))
		return SN_CLASS_UNSPECIFIED;
	if (ip_in(ip, env->guest, env->n_guest))
		return SN_CLASS_GUEST;
	if (!memcmp(ip->b, all_ones.b, 16) ||
	    (sn_ip_is4(&env->bcast4) && !memcmp(ip->b, env->bcast4.b, 16)))
		return SN_CLASS_BROADCAST;
	if (ip_in(ip, env->gw, env->n_gw))
		return SN_CLASS_GATEWAY;
	if (ip_in(ip, env->host, env->n_host))
		return SN_CLASS_HOST;
	for (i = 0; i < sizeof(sn_ranges) / sizeof(sn_ranges[0]); i++)
		if (ip_prefix_eq(ip->b, sn_ranges[i].net, sn_ranges[i].plen))
			return sn_ranges[i].cls;
	return SN_CLASS_PUBLIC;
}

const char *sn_class_name(enum sn_class cls)
{
	return cls < SN_CLASS_COUNT ? sn_class_names[cls] : "?";
}

/* ---- policy objects ---- */

/**
 * sn_policy_new() - a policy with the default profile and no rules
 *
 * Return: the policy, or NULL (ENOMEM)
 */
struct sn_policy *sn_policy_new(void)
{
	struct sn_policy *pol = calloc(1, sizeof(*pol));

	if (!pol)
		return NULL;
	pol->default_egress = SN_POLICY_ALLOW;
	pol->default_ingress = SN_POLICY_ALLOW;
	pol->rebind_protection = 1;
	return pol;
}

/**
 * sn_policy_free() - free a policy
 * @pol:	policy, may be NULL
 */
void sn_policy_free(struct sn_policy *pol)
{
	if (!pol)
		return;
	free(pol->rules);
	free(pol->block);
	free(pol);
}

/**
 * rules_grow() - room for one more rule in an array
 * @arr:	the array, reallocated
 * @n:		entries in use
 * @cap:	entries allocated, updated
 * @max:	bound
 *
 * Return: 0, or -1 with errno (ENOSPC beyond @max, ENOMEM)
 */
static int rules_grow(struct sn_rule **arr, unsigned n, unsigned *cap, unsigned max)
{
	struct sn_rule *r;
	unsigned c;

	if (n < *cap)
		return 0;
	if (n >= max) {
		errno = ENOSPC;
		return -1;
	}
	c = *cap ? *cap * 2 : 8;
	if (c > max)
		c = max;
	r = realloc(*arr, c * sizeof(*r));
	if (!r)
		return -1;
	*arr = r;
	*cap = c;
	return 0;
}

int sn_policy_append(struct sn_policy *pol, const struct sn_rule *r)
{
	if (rules_grow(&pol->rules, pol->n_rules, &pol->cap_rules, SN_POLICY_MAX_RULES))
		return -1;
	pol->rules[pol->n_rules] = *r;
	pol->rules[pol->n_rules].hits = 0;
	pol->n_rules++;
	return 0;
}

/**
 * sn_policy_add() - parse a rule and add it after the others
 * @pol:	policy
 * @dirs:	SN_POLICY_EGRESS, SN_POLICY_INGRESS or both
 * @action:	SN_POLICY_ALLOW or SN_POLICY_DENY
 * @rule:	"[PROTO:]DEST[:PORTS]"
 * @origin:	where it came from, for logs (NULL: the rule itself)
 * @err:	a message on failure
 * @errlen:	size of @err
 *
 * Return: 0, or -1
 */
int sn_policy_add(struct sn_policy *pol, int dirs, int action, const char *rule,
		  const char *origin, char *err, size_t errlen)
{
	struct sn_rule r;

	if (sn_rule_parse(rule, &r, err, errlen))
		return -1;
	r.dirs = (uint8_t)(dirs & (SN_POLICY_EGRESS | SN_POLICY_INGRESS));
	if (!r.dirs)
		r.dirs = SN_POLICY_EGRESS;
	r.action = action == SN_POLICY_ALLOW ? SN_POLICY_ALLOW : SN_POLICY_DENY;
	snprintf(r.origin, sizeof(r.origin), "%s", origin ? origin : rule);
	if (sn_policy_append(pol, &r)) {
		snprintf(err, errlen, "too many rules (at most %d)", SN_POLICY_MAX_RULES);
		return -1;
	}
	return 0;
}

/**
 * sn_policy_set_default() - the verdict when no rule matches
 * @pol:	policy
 * @dir:	SN_POLICY_EGRESS or SN_POLICY_INGRESS
 * @action:	SN_POLICY_ALLOW (egress: public addresses only) or SN_POLICY_DENY
 */
void sn_policy_set_default(struct sn_policy *pol, int dir, int action)
{
	uint8_t a = action == SN_POLICY_ALLOW ? SN_POLICY_ALLOW : SN_POLICY_DENY;

	if (dir & SN_POLICY_EGRESS)
		pol->default_egress = a;
	if (dir & SN_POLICY_INGRESS)
		pol->default_ingress = a;
}

/**
 * sn_policy_set_rebind_protection() - turn DNS rebind protection on or off
 * @pol:	policy
 * @on:		non-zero: on (the default)
 */
void sn_policy_set_rebind_protection(struct sn_policy *pol, int on)
{
	pol->rebind_protection = !!on;
}

/**
 * sn_policy_set_dns_bypass() - relay DoT, DoQ, mDNS, LLMNR and NetBIOS
 * @pol:	policy
 * @on:		non-zero: relay them under the rules; 0: refuse (the default)
 */
void sn_policy_set_dns_bypass(struct sn_policy *pol, int on)
{
	pol->dns_bypass = !!on;
}

int sn_policy_block_name(struct sn_policy *pol, const char *name, const char *origin,
			 char *err, size_t errlen)
{
	struct sn_rule r;
	size_t len = strlen(name);

	if (sn_rule_parse_dest(name, len, &r, err, errlen))
		return -1;
	if (r.kind != SN_DEST_DOMAIN && r.kind != SN_DEST_SUFFIX) {
		snprintf(err, errlen, "'%s' is not a domain name or *.suffix", name);
		return -1;
	}
	r.dirs = SN_POLICY_EGRESS;
	r.action = SN_POLICY_DENY;
	snprintf(r.origin, sizeof(r.origin), "%s", origin ? origin : name);
	if (rules_grow(&pol->block, pol->n_block, &pol->cap_block, SN_POLICY_MAX_BLOCK)) {
		snprintf(err, errlen, "too many blocked names (at most %d)", SN_POLICY_MAX_BLOCK);
		return -1;
	}
	r.hits = 0;
	pol->block[pol->n_block++] = r;
	return 0;
}

/* ---- matching ---- */

/**
 * name_matches() - does a canonical name match a domain rule
 * @r:		rule, SN_DEST_DOMAIN or SN_DEST_SUFFIX
 * @name:	canonical name
 *
 * A suffix matches the name itself and every name under it: *.example.com
 * matches example.com and a.example.com, never badexample.com.
 *
 * Return: non-zero if it matches
 */
static int name_matches(const struct sn_rule *r, const char *name)
{
	size_t n = strlen(name), s = strlen(r->name);

	if (r->kind == SN_DEST_DOMAIN)
		return !strcmp(name, r->name);
	if (n < s || strcmp(name + n - s, r->name))
		return 0;
	return n == s || name[n - s - 1] == '.';
}

/**
 * ports_match() - is a port in a rule's ranges
 * @r:		rule
 * @port:	port
 * @has_port:	the flow has ports (not ICMP)
 *
 * Return: non-zero if the rule names no ports, or @port is in one range
 */
static int ports_match(const struct sn_rule *r, uint16_t port, int has_port)
{
	unsigned i;

	if (!r->n_ports)
		return 1;
	if (!has_port)
		return 0;
	for (i = 0; i < r->n_ports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return 1;
	return 0;
}

/**
 * addr_matches() - does a rule's destination hold a normalised address
 * @r:		rule
 * @ip:		normalised address
 * @v4:		@ip is IPv4
 * @cls:	its class
 * @pins:	pin cache, or NULL
 * @now_ms:	engine clock
 * @pinned:	set to the name a domain rule matched through
 *
 * Return: non-zero if it does
 */
static int addr_matches(const struct sn_rule *r, const struct sn_ip *ip, int v4,
			enum sn_class cls, const struct sn_pins *pins, uint32_t now_ms,
			const char **pinned)
{
	const char *name;
	unsigned it = 0;

	switch (r->kind) {
	case SN_DEST_ANY:
		return 1;
	case SN_DEST_CIDR:
		return !r->v4 == !v4 && ip_prefix_eq(ip->b, r->net.b, r->plen);
	case SN_DEST_GROUP:
		return !!(r->groups & sn_class_group[cls]);
	case SN_DEST_DOMAIN:
	case SN_DEST_SUFFIX:
		if (!pins)
			return 0;
		while ((name = sn_pins_next(pins, ip, now_ms, &it)))
			if (name_matches(r, name)) {
				*pinned = name;
				return 1;
			}
		return 0;
	}
	return 0;
}

/**
 * verdict_set() - fill a verdict and count it
 * @v:		verdict
 * @action:	SN_POLICY_*
 * @by:		enum sn_decider
 * @rule:	deciding rule or NULL (its hits are bumped)
 * @rule_no:	its 1-based position
 *
 * Return: @action
 */
static int verdict_set(struct sn_verdict *v, int action, int by, struct sn_rule *rule,
		       unsigned rule_no)
{
	v->action = action;
	v->by = by;
	v->rule = rule;
	v->rule_no = rule_no;
	if (rule)
		rule->hits++;
	return action;
}

/**
 * is_bypass_port() - a port of DNS that does not go through the forwarder
 * @proto:	SN_PROTO_TCP or SN_PROTO_UDP
 * @port:	destination port
 *
 * Return: non-zero for DoT (TCP 853), DoQ (UDP 853), mDNS (UDP 5353),
 *	   LLMNR (UDP 5355) and NetBIOS name service (UDP 137)
 */
static int is_bypass_port(unsigned proto, uint16_t port)
{
	if (proto == SN_PROTO_TCP)
		return port == 853;
	if (proto == SN_PROTO_UDP)
		return port == 853 || port == 5353 || port == 5355 || port == 137;
	return 0;
}

int sn_policy_decide(struct sn_policy *pol, const struct sn_policy_env *env,
		     const struct sn_pins *pins, const struct sn_flow_desc *f, uint32_t now_ms,
		     struct sn_verdict *v)
{
	int egress = f->dir != SN_POLICY_INGRESS, has_port = f->proto != SN_PROTO_ICMP;
	uint8_t dir = egress ? SN_POLICY_EGRESS : SN_POLICY_INGRESS;
	unsigned i;
	int k;

	memset(v, 0, sizeof(*v));
	v->dir = dir;
	v->dflt = egress ? pol->default_egress : pol->default_ingress;
	k = sn_ip_normalise(&f->ip, &v->norm);
	v->v4 = k != 0;
	v->dial = k == 2 ? f->ip : v->norm;
	v->cls = sn_classify(env, &v->norm);

	if (v->cls == SN_CLASS_UNSPECIFIED || v->cls == SN_CLASS_GUEST ||
	    v->cls == SN_CLASS_BROADCAST) {
		pol->never_hits++;
		return verdict_set(v, SN_POLICY_DENY, SN_BY_NEVER, NULL, 0);
	}
	if (egress && v->cls == SN_CLASS_GATEWAY && f->port == 53 &&
	    (f->proto == SN_PROTO_TCP || f->proto == SN_PROTO_UDP)) {
		pol->builtin_hits[0]++;
		return verdict_set(v, SN_POLICY_ALLOW, SN_BY_BUILTIN_DNS, NULL, 0);
	}
	if (egress && !pol->dns_bypass && is_bypass_port(f->proto, f->port)) {
		pol->builtin_hits[1]++;
		return verdict_set(v, SN_POLICY_DENY, SN_BY_BUILTIN_BYPASS, NULL, 0);
	}

	for (i = 0; i < pol->n_rules; i++) {
		struct sn_rule *r = &pol->rules[i];

		if (!(r->dirs & dir) || !(r->protos & f->proto) ||
		    !ports_match(r, f->port, has_port) ||
		    !addr_matches(r, &v->norm, v->v4, v->cls, pins, now_ms, &v->pinned))
			continue;
		return verdict_set(v, r->action, SN_BY_RULE, r, i + 1);
	}

	pol->default_hits[egress ? 0 : 1]++;
	if (!egress) {
		pol->default_denied[1] += pol->default_ingress == SN_POLICY_DENY;
		return verdict_set(v, pol->default_ingress, SN_BY_DEFAULT, NULL, 0);
	}
	if (pol->default_egress == SN_POLICY_ALLOW && v->cls == SN_CLASS_PUBLIC)
		return verdict_set(v, SN_POLICY_ALLOW, SN_BY_DEFAULT, NULL, 0);
	pol->default_denied[0]++;
	return verdict_set(v, SN_POLICY_DENY, SN_BY_DEFAULT, NULL, 0);
}

int sn_policy_decide_name(struct sn_policy *pol, const char *name, struct sn_verdict *v)
{
	unsigned i;

	memset(v, 0, sizeof(*v));
	v->cls = SN_CLASS_PUBLIC;
	for (i = 0; i < pol->n_block; i++)
		if (name_matches(&pol->block[i], name))
			return verdict_set(v, SN_POLICY_DENY, SN_BY_BLOCKLIST, &pol->block[i],
					   i + 1);
	for (i = 0; i < pol->n_rules; i++) {
		struct sn_rule *r = &pol->rules[i];

		if (!(r->dirs & SN_POLICY_EGRESS) || r->protos != SN_PROTO_ALL || r->n_ports ||
		    (r->kind != SN_DEST_DOMAIN && r->kind != SN_DEST_SUFFIX) ||
		    !name_matches(r, name))
			continue;
		return verdict_set(v, r->action, SN_BY_RULE, r, i + 1);
	}
	return verdict_set(v, SN_POLICY_ALLOW, SN_BY_DEFAULT, NULL, 0);
}

int sn_policy_rebind_ok(const struct sn_policy *pol, const struct sn_policy_env *env,
			const char *name, const struct sn_ip *ip)
{
	struct sn_ip norm;
	enum sn_class cls;
	int v4;
	unsigned i;

	if (!pol->rebind_protection)
		return 1;
	v4 = sn_ip_normalise(ip, &norm) != 0;
	cls = sn_classify(env, &norm);
	if (cls == SN_CLASS_PUBLIC || cls == SN_CLASS_MULTICAST)
		return 1;
	for (i = 0; i < pol->n_rules; i++) {
		const struct sn_rule *r = &pol->rules[i];

		if (!(r->dirs & SN_POLICY_EGRESS) || r->n_ports || r->kind == SN_DEST_ANY)
			continue;
		if (r->kind == SN_DEST_DOMAIN || r->kind == SN_DEST_SUFFIX) {
			if (name_matches(r, name))
				return r->action == SN_POLICY_ALLOW;
			continue;
		}
		if (addr_matches(r, &norm, v4, cls, NULL, 0, NULL))
			return r->action == SN_POLICY_ALLOW;
	}
	return 0;
}

const char *sn_verdict_explain(const struct sn_verdict *v, char *buf, size_t len)
{
	const char *act = v->action == SN_POLICY_ALLOW ? "allow" : "deny";

	switch (v->by) {
	case SN_BY_RULE:
		if (v->pinned)
			snprintf(buf, len, "%s by rule %u (%s), through the name %s", act,
				 v->rule_no, v->rule->origin, v->pinned);
		else
			snprintf(buf, len, "%s by rule %u (%s)", act, v->rule_no,
				 v->rule->origin);
		break;
	case SN_BY_BLOCKLIST:
		snprintf(buf, len, "%s: DNS block list entry %u (%s)", act, v->rule_no,
			 v->rule->origin);
		break;
	case SN_BY_NEVER:
		snprintf(buf, len, "%s: %s addresses are never dialled", act,
			 sn_class_name(v->cls));
		break;
	case SN_BY_BUILTIN_DNS:
		snprintf(buf, len, "%s: builtin, DNS through the gateway's forwarder", act);
		break;
	case SN_BY_BUILTIN_BYPASS:
		snprintf(buf, len, "%s: builtin, DNS that bypasses the forwarder "
			 "(DoT/DoQ/mDNS/LLMNR/NetBIOS)", act);
		break;
	default:
		if (v->dir == SN_POLICY_EGRESS && v->dflt == SN_POLICY_ALLOW)
			snprintf(buf, len, "%s: default (egress to public addresses only)", act);
		else
			snprintf(buf, len, "%s: default", act);
		break;
	}
	return buf;
}
