/* SPDX-License-Identifier: MIT */
/**
 * DOC: policy - the one place that decides where the guest may go
 *
 * A pure module: no I/O, no lwIP, no clock of its own. The engine (and the
 * CLI's "sandnet policy explain") describe a flow — direction, protocol,
 * address, port, and for a DNS query the name — and get a verdict with the
 * rule that decided it. Every relay asks here; no other file classifies a
 * destination.
 *
 * Addresses are 16 bytes: IPv6 as is, IPv4 as the IPv4-mapped ::ffff:a.b.c.d.
 * Before anything is matched the address is normalised: every IPv6 spelling
 * of an IPv4 address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d,
 * translated ::ffff:0:a.b.c.d, the NAT64 well-known prefix 64:ff9b::/96) is
 * that IPv4 address, so 10.0.0.0/8 and group:loopback hold for all of them.
 *
 * Classes, tried in this order, each address in exactly one:
 *   never	unspecified (0.0.0.0/8, ::), the guest's own address,
 *		broadcast (255.255.255.255 and the guest subnet's): never
 *		dialled, whatever the rules say (Linux connects an unspecified
 *		destination to its loopback);
 *   gateway	the gateway's addresses (IPv4, IPv6, IPv6 link-local): the host,
 *		dialled at its loopback;                          group host
 *   host	an address of one of the host's own interfaces      group host
 *   metadata	169.254.169.254, fd00:ec2::254                  group metadata
 *   loopback	127.0.0.0/8, ::1                                group loopback
 *   multicast	224.0.0.0/4, ff00::/8                           group multicast
 *   link-local	169.254.0.0/16, fe80::/10                       group link-local
 *   private	10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), 198.18/15,
 *		fc00::/7 (ULA), fec0::/10                       group private
 *   public	everything else, documentation ranges included  group public
 *
 * Evaluation, first match wins:
 *   1. class never: deny;
 *   2. builtin: TCP and UDP to the gateway's port 53 (the DNS forwarder):
 *      allow; the forwarder filters names itself;
 *   3. builtin: DNS that bypasses the forwarder — TCP/UDP 853 (DoT, DoQ),
 *      UDP 5353 (mDNS), 5355 (LLMNR), 137 (NetBIOS): deny, unless the
 *      policy relays them (sn_policy_set_dns_bypass());
 *   4. the rules, in the order they were added;
 *   5. the default of the direction: egress "allow" allows class public
 *      only (the default profile), "deny" denies all; ingress "allow" or
 *      "deny" as given.
 *
 * A rule names a direction (egress, ingress or both), protocols (tcp, udp,
 * icmp; none = all), a destination (any, an address or CIDR of one family,
 * an exact domain, a domain suffix "*.example.com" which also matches
 * example.com, or a group), ports (ranges; a rule with ports never matches
 * ICMP) and an action. For egress the destination is where the guest goes;
 * for ingress it is the peer that connects to a published port, and the
 * ports are the guest's.
 *
 * Domains: a flow to an address matches a domain rule when the pin cache
 * (struct sn_pins) ties that address to a matching name, learnt from DNS
 * answers the guest received, for as long as their TTL (bounded). A DNS
 * query is decided by its name: the block list, then the first domain rule
 * without protocols or ports that matches the name; a deny answers
 * NXDOMAIN.
 */
#ifndef SANDNET_POLICY_H
#define SANDNET_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "sandnet/sandnet.h"

/* Most rules in a policy (CLI, file and API together). */
#define SN_POLICY_MAX_RULES	1024
/* Most port ranges in one rule. */
#define SN_RULE_MAX_PORTS	16
/* Longest domain name, dots included, without the trailing dot. */
#define SN_NAME_MAX		253
/* Most names in the DNS block list. */
#define SN_POLICY_MAX_BLOCK	1024
/* Longest description of where a rule came from. */
#define SN_RULE_ORIGIN_MAX	128

/* Protocol bits of a rule and of a flow. */
#define SN_PROTO_TCP		0x1
#define SN_PROTO_UDP		0x2
#define SN_PROTO_ICMP		0x4
#define SN_PROTO_ALL		0x7

/**
 * struct sn_ip - an address: IPv6, or IPv4 as ::ffff:a.b.c.d
 * @b:		network order
 */
struct sn_ip {
	uint8_t b[16];
};

/**
 * enum sn_class - what an address is, each address exactly one
 */
enum sn_class {
	SN_CLASS_UNSPECIFIED,
	SN_CLASS_GUEST,
	SN_CLASS_BROADCAST,
	SN_CLASS_GATEWAY,
	SN_CLASS_HOST,
	SN_CLASS_METADATA,
	SN_CLASS_LOOPBACK,
	SN_CLASS_MULTICAST,
	SN_CLASS_LINK_LOCAL,
	SN_CLASS_PRIVATE,
	SN_CLASS_PUBLIC,
	SN_CLASS_COUNT
};

/* Groups a rule can name: one bit per group. */
#define SN_GROUP_HOST		0x01
#define SN_GROUP_METADATA	0x02
#define SN_GROUP_LOOPBACK	0x04
#define SN_GROUP_MULTICAST	0x08
#define SN_GROUP_LINK_LOCAL	0x10
#define SN_GROUP_PRIVATE	0x20
#define SN_GROUP_PUBLIC		0x40

/**
 * enum sn_dest_kind - what a rule's destination is
 */
enum sn_dest_kind {
	SN_DEST_ANY,
	SN_DEST_CIDR,
	SN_DEST_DOMAIN,
	SN_DEST_SUFFIX,
	SN_DEST_GROUP,
};

/**
 * struct sn_port_range - ports @lo..@hi, inclusive, host order
 * @lo:		first
 * @hi:		last
 */
struct sn_port_range {
	uint16_t lo, hi;
};

/**
 * struct sn_rule - one rule
 * @dirs:	SN_POLICY_EGRESS and/or SN_POLICY_INGRESS
 * @protos:	SN_PROTO_* bits, SN_PROTO_ALL when the rule names none
 * @action:	SN_POLICY_ALLOW or SN_POLICY_DENY
 * @kind:	enum sn_dest_kind
 * @groups:	SN_GROUP_* bit (SN_DEST_GROUP)
 * @v4:		the CIDR is IPv4 (SN_DEST_CIDR)
 * @plen:	prefix length over the 16 bytes of @net (IPv4: 96 + its own)
 * @net:	the CIDR's address, host bits cleared
 * @name:	lower case, no trailing dot (SN_DEST_DOMAIN, SN_DEST_SUFFIX)
 * @n_ports:	entries in @ports; 0 means any port
 * @ports:	port ranges
 * @origin:	where it came from, for logs and explain ("--deny 10.0.0.0/8",
 *		"policy.json rules[2]")
 * @hits:	flows and queries this rule decided (updated by sn_policy_decide())
 */
struct sn_rule {
	uint8_t dirs;
	uint8_t protos;
	uint8_t action;
	uint8_t kind;
	uint8_t groups;
	uint8_t v4;
	uint8_t plen;
	struct sn_ip net;
	char name[SN_NAME_MAX + 1];
	unsigned n_ports;
	struct sn_port_range ports[SN_RULE_MAX_PORTS];
	char origin[SN_RULE_ORIGIN_MAX];
	uint64_t hits;
};

/**
 * struct sn_policy - rules, defaults and DNS settings (opaque in sandnet.h)
 * @rules:		in evaluation order
 * @n_rules:		how many
 * @default_egress:	SN_POLICY_ALLOW (public only) or SN_POLICY_DENY
 * @default_ingress:	SN_POLICY_ALLOW or SN_POLICY_DENY
 * @rebind_protection:	answers pointing a name at a non-public address
 *			become NXDOMAIN
 * @dns_bypass:		relay DoT/DoQ/mDNS/LLMNR/NetBIOS ports (builtin 3 off)
 * @block:		names (and "*.suffix" patterns) always NXDOMAIN
 * @n_block:		how many
 * @default_hits:	flows decided by the defaults, [0] egress, [1] ingress
 * @default_denied:	of them, those denied
 * @builtin_hits:	flows decided by builtin 2 (DNS) and 3 (bypass)
 * @never_hits:		flows to addresses never dialled (evaluation step 1)
 */
struct sn_policy {
	struct sn_rule *rules;
	unsigned n_rules;
	unsigned cap_rules;
	uint8_t default_egress;
	uint8_t default_ingress;
	uint8_t rebind_protection;
	uint8_t dns_bypass;
	struct sn_rule *block;
	unsigned n_block;
	unsigned cap_block;
	uint64_t default_hits[2];
	uint64_t default_denied[2];
	uint64_t builtin_hits[2];
	uint64_t never_hits;
};

/**
 * struct sn_policy_env - the facts about this guest and host an address is
 *			  classified with
 * @gw:		gateway addresses (IPv4, IPv6, IPv6 link-local), and the DNS
 *		forwarder's own addresses when it has them (cfg.dns_ip4/6)
 * @n_gw:	how many of @gw are set
 * @guest:	the guest's own addresses (IPv4, IPv6)
 * @n_guest:	how many of @guest are set
 * @bcast4:	the guest subnet's broadcast address (IPv4, as sn_ip)
 * @host:	addresses of the host's own interfaces (not loopback ones)
 * @n_host:	how many
 */
struct sn_policy_env {
	struct sn_ip gw[5];
	unsigned n_gw;
	struct sn_ip guest[2];
	unsigned n_guest;
	struct sn_ip bcast4;
	const struct sn_ip *host;
	unsigned n_host;
};

/* Most names the pin cache ties to addresses at once. */
#define SN_PINS_MAX		1024
/* Shortest and longest time a pin is kept, whatever the TTL says. */
#define SN_PIN_MIN_MS		30000U		/* 30 s */
#define SN_PIN_MAX_MS		86400000U	/* a day */

/**
 * struct sn_pin - an address a DNS answer gave for a name
 * @ip:		the address
 * @until_ms:	forgotten after this (engine clock)
 * @used:	in use
 * @next:	next pin in the same hash bucket (index + 1; 0 ends)
 * @name:	the name the guest asked, lower case, no trailing dot
 */
struct sn_pin {
	struct sn_ip ip;
	uint32_t until_ms;
	uint8_t used;
	uint16_t next;
	char name[SN_NAME_MAX + 1];
};

#define SN_PINS_BUCKETS		256

/**
 * struct sn_pins - the pin cache: addresses to the names they were asked as
 * @pin:	entries
 * @bucket:	hash of the address to the first entry (index + 1; 0: none)
 * @n_used:	entries in use
 * @clock:	next entry to reuse when all are taken (round robin)
 */
struct sn_pins {
	struct sn_pin pin[SN_PINS_MAX];
	uint16_t bucket[SN_PINS_BUCKETS];
	unsigned n_used;
	unsigned clock;
};

/**
 * struct sn_flow_desc - what is being decided
 * @dir:	SN_POLICY_EGRESS or SN_POLICY_INGRESS
 * @proto:	one SN_PROTO_* bit
 * @ip:		egress: the destination as the guest wrote it; ingress: the
 *		peer connecting to a published port
 * @port:	egress: destination port; ingress: the guest's port; 0 for ICMP
 */
struct sn_flow_desc {
	int dir;
	unsigned proto;
	struct sn_ip ip;
	uint16_t port;
};

/* What decided a verdict besides a rule. */
enum sn_decider {
	SN_BY_RULE,		/* @rule */
	SN_BY_NEVER,		/* class never */
	SN_BY_BUILTIN_DNS,	/* builtin 2 */
	SN_BY_BUILTIN_BYPASS,	/* builtin 3 */
	SN_BY_DEFAULT,		/* the direction's default */
	SN_BY_BLOCKLIST,	/* a DNS name in the block list */
};

/**
 * struct sn_verdict - a decision and why
 * @action:	SN_POLICY_ALLOW or SN_POLICY_DENY
 * @by:		enum sn_decider
 * @rule:	the deciding rule (SN_BY_RULE, SN_BY_BLOCKLIST), else NULL
 * @rule_no:	its 1-based position (block list: in the block list)
 * @cls:	the address's class (flows only)
 * @norm:	the normalised address (IPv4 as ::ffff:a.b.c.d)
 * @v4:		@norm is an IPv4 address
 * @dial:	the address a relay connects to (the gateway aside): @norm,
 *		except that a NAT64 address stays as written (the host may
 *		reach it through a NAT64 gateway); IPv4-mapped means AF_INET
 * @pinned:	the name a domain rule matched through, or NULL
 * @dir:	the flow's direction
 * @dflt:	the direction's default action
 */
struct sn_verdict {
	int action;
	int by;
	const struct sn_rule *rule;
	unsigned rule_no;
	enum sn_class cls;
	struct sn_ip norm;
	int v4;
	struct sn_ip dial;
	const char *pinned;
	int dir;
	int dflt;
};

/* ---- addresses (policy.c) ---- */

/**
 * sn_ip_from4() - an IPv4 address as sn_ip
 * @out:	filled
 * @a:		network order
 */
void sn_ip_from4(struct sn_ip *out, uint32_t a);

/**
 * sn_ip_is4() - is this the IPv4-mapped form of an IPv4 address
 * @ip:		address
 *
 * Return: non-zero if it is
 */
int sn_ip_is4(const struct sn_ip *ip);

/**
 * sn_ip_to4() - the IPv4 address of a mapped sn_ip
 * @ip:		address, sn_ip_is4()
 *
 * Return: network order
 */
uint32_t sn_ip_to4(const struct sn_ip *ip);

/**
 * sn_ip_normalise() - every spelling of an IPv4 address as that address
 * @in:		address as written
 * @out:	filled with the normalised address (may be @in)
 *
 * Return: 0 if @out is an IPv6 address, 1 if @in spelt an IPv4 address,
 *	   2 if @in is a NAT64 address (RFC 6052 well-known prefix) of one
 */
int sn_ip_normalise(const struct sn_ip *in, struct sn_ip *out);

/**
 * sn_ip_parse() - parse "a.b.c.d", "v6" or "[v6]"
 * @s:		text
 * @len:	characters of @s to use
 * @out:	filled
 *
 * Return: 0, or -1 if not an address
 */
int sn_ip_parse(const char *s, size_t len, struct sn_ip *out);

/**
 * sn_ip_format() - an address as text (IPv4 dotted, IPv6 RFC 5952)
 * @ip:		address
 * @buf:	filled, NUL-terminated
 * @len:	size of @buf (46 holds any)
 *
 * Return: @buf
 */
const char *sn_ip_format(const struct sn_ip *ip, char *buf, size_t len);

/**
 * sn_classify() - the class of a normalised address
 * @env:	gateway, guest and host addresses
 * @ip:		normalised address
 *
 * Return: enum sn_class
 */
enum sn_class sn_classify(const struct sn_policy_env *env, const struct sn_ip *ip);

/**
 * sn_class_name() - a class's name for logs and explain
 * @cls:	class
 *
 * Return: static text
 */
const char *sn_class_name(enum sn_class cls);

/* ---- rules (rule.c) ---- */

/**
 * sn_rule_parse() - parse "[PROTO:]DEST[:PORTS]" into a rule
 * @text:	the rule
 * @r:		filled (direction egress, action left to the caller)
 * @err:	a message naming what is wrong, on failure
 * @errlen:	size of @err
 *
 * Return: 0, or -1
 */
int sn_rule_parse(const char *text, struct sn_rule *r, char *err, size_t errlen);

/**
 * sn_rule_parse_dest() - parse a destination: any, group:NAME, ADDR, CIDR,
 *			  [IPv6], [IPv6]/N, NAME or *.SUFFIX
 * @s:		text
 * @len:	characters of @s to use
 * @r:		its destination fields filled
 * @err:	message on failure
 * @errlen:	size of @err
 *
 * Return: 0, or -1
 */
int sn_rule_parse_dest(const char *s, size_t len, struct sn_rule *r, char *err, size_t errlen);

/**
 * sn_rule_parse_ports() - parse "N", "N-M" or a comma list of them, adding
 *			   to the rule's ranges
 * @s:		text
 * @len:	characters of @s to use
 * @r:		ranges appended
 * @err:	message on failure
 * @errlen:	size of @err
 *
 * Return: 0, or -1
 */
int sn_rule_parse_ports(const char *s, size_t len, struct sn_rule *r, char *err, size_t errlen);

/**
 * sn_rule_parse_proto() - parse "tcp", "udp" or "icmp" (also "icmpv6")
 * @s:		text
 * @len:	characters of @s to use
 *
 * Return: its SN_PROTO_* bit, or 0 if none
 */
unsigned sn_rule_parse_proto(const char *s, size_t len);

/**
 * sn_name_canon() - check a domain name and put it in canonical form
 * @s:		name, optionally with one trailing dot
 * @len:	characters of @s to use
 * @out:	lower case, without the trailing dot (SN_NAME_MAX + 1 bytes)
 *
 * Return: 0, or -1 if not a domain name (empty label, label over 63
 *	   characters, a character other than letters, digits, '-' and '_',
 *	   over SN_NAME_MAX, an all-numeric last label)
 */
int sn_name_canon(const char *s, size_t len, char *out);

/**
 * sn_rule_format() - a rule in the "[PROTO:]DEST[:PORTS]" syntax
 * @r:		rule
 * @buf:	filled, NUL-terminated
 * @len:	size of @buf
 *
 * Return: @buf
 */
const char *sn_rule_format(const struct sn_rule *r, char *buf, size_t len);

/* ---- policies (policy.c) ---- */

/**
 * sn_policy_append() - add a rule after the others
 * @pol:	policy
 * @r:		rule, copied
 *
 * Return: 0, or -1 (ENOSPC: SN_POLICY_MAX_RULES reached; ENOMEM)
 */
int sn_policy_append(struct sn_policy *pol, const struct sn_rule *r);

/**
 * sn_policy_decide() - the verdict for a flow
 * @pol:	policy (rule and default hit counters are updated)
 * @env:	classification facts
 * @pins:	pin cache for domain rules, or NULL
 * @f:		the flow
 * @now_ms:	engine clock, for pin expiry
 * @v:		filled
 *
 * Return: @v->action
 */
int sn_policy_decide(struct sn_policy *pol, const struct sn_policy_env *env,
		     const struct sn_pins *pins, const struct sn_flow_desc *f, uint32_t now_ms,
		     struct sn_verdict *v);

/**
 * sn_policy_decide_name() - the verdict for a DNS query's name
 * @pol:	policy
 * @name:	canonical name (sn_name_canon())
 * @v:		filled (@v->rule is the deciding domain rule, if any)
 *
 * Return: SN_POLICY_DENY if the query is to be answered NXDOMAIN
 */
int sn_policy_decide_name(struct sn_policy *pol, const char *name, struct sn_verdict *v);

/**
 * sn_policy_rebind_ok() - may a DNS answer give @ip for @name
 * @pol:	policy
 * @env:	classification facts
 * @name:	the name asked (canonical)
 * @ip:		an address in the answer
 *
 * With rebind protection on, an answer pointing a name at loopback,
 * private, link-local, metadata, the host's or unspecified addresses is
 * refused, unless a domain rule allows that name or an address rule
 * (CIDR or group, no ports) allows that address explicitly.
 *
 * Return: non-zero if it may
 */
int sn_policy_rebind_ok(const struct sn_policy *pol, const struct sn_policy_env *env,
			const char *name, const struct sn_ip *ip);

/**
 * sn_verdict_explain() - one line saying what decided a verdict
 * @v:		verdict
 * @buf:	filled, NUL-terminated
 * @len:	size of @buf
 *
 * Return: @buf
 */
const char *sn_verdict_explain(const struct sn_verdict *v, char *buf, size_t len);

/* ---- pin cache (pins.c) ---- */

/**
 * sn_pins_init() - empty the cache
 * @pins:	cache
 */
void sn_pins_init(struct sn_pins *pins);

/**
 * sn_pins_add() - tie an address to a name until the answer's TTL ends
 * @pins:	cache
 * @ip:		address from an A or AAAA record (normalised)
 * @name:	canonical name the guest asked
 * @ttl_s:	the record's TTL, bounded to SN_PIN_MIN_MS..SN_PIN_MAX_MS
 * @now_ms:	engine clock
 */
void sn_pins_add(struct sn_pins *pins, const struct sn_ip *ip, const char *name,
		 uint32_t ttl_s, uint32_t now_ms);

/**
 * sn_pins_next() - walk the live names pinned to an address
 * @pins:	cache
 * @ip:		address (normalised)
 * @now_ms:	engine clock
 * @iter:	0 to start; updated
 *
 * Return: the next name, or NULL when there are no more
 */
const char *sn_pins_next(const struct sn_pins *pins, const struct sn_ip *ip, uint32_t now_ms,
			 unsigned *iter);

#endif /* SANDNET_POLICY_H */
