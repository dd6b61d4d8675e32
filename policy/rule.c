// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the rule syntax
 *
 * One rule, as the CLI's --allow/--deny take it and the policy file's
 * fields spell it:
 *
 *	RULE	:= [PROTO ":"] DEST [":" PORTS]
 *	PROTO	:= "tcp" | "udp" | "icmp"
 *	DEST	:= "any" | "group:" GROUP | IPV4 ["/" N] | IPV6 ["/" N]
 *		 | "[" IPV6 "]" ["/" N] | "[" IPV6 "/" N "]" | NAME | "*." NAME
 *	PORTS	:= RANGE ("," RANGE)*,  RANGE := N | N "-" M
 *
 * An IPv6 destination followed by ports must be bracketed; a bare IPv6
 * address (it has colons) takes no ports. Names are checked and put in
 * canonical form (lower case, no trailing dot) here, so matching is a byte
 * comparison. Every error message names the part that is wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

/**
 * struct sn_group_name - a group a rule can name
 * @name:	as written after "group:"
 * @bit:	SN_GROUP_*
 */
struct sn_group_name {
	const char *name;
	uint8_t bit;
};

static const struct sn_group_name sn_groups[] = {
	{ "host", SN_GROUP_HOST },
	{ "metadata", SN_GROUP_METADATA },
	{ "loopback", SN_GROUP_LOOPBACK },
	{ "multicast", SN_GROUP_MULTICAST },
	{ "link-local", SN_GROUP_LINK_LOCAL },
	{ "private", SN_GROUP_PRIVATE },
	{ "public", SN_GROUP_PUBLIC },
};

#define N_GROUPS	(sizeof(sn_groups) / sizeof(sn_groups[0]))

/**
 * lower() - ASCII lower case
 * @c:		character
 *
 * Return: @c in lower case
 */
static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/**
 * is_digit() - ASCII decimal digit
 * @c:		character
 *
 * Return: non-zero if it is one
 */
static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int sn_name_canon(const char *s, size_t len, char *out)
{
	size_t i, label = 0;
	int numeric = 1;

	if (len && s[len - 1] == '.')
		len--;
	if (!len || len > SN_NAME_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		char c = lower(s[i]);

		if (c == '.') {
			if (!label)
				return -1;
			label = 0;
			numeric = 1;
			out[i] = c;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_'))
			return -1;
		/* a label neither starts nor ends with a hyphen (RFC 1123) */
		if (c == '-' && (!label || i + 1 == len || s[i + 1] == '.'))
			return -1;
		if (!is_digit(c))
			numeric = 0;
		if (++label > 63)
			return -1;
		out[i] = c;
	}
	/* an all-numeric last label is a mistyped address, not a name */
	if (!label || numeric)
		return -1;
	out[len] = '\0';
	return 0;
}

unsigned sn_rule_parse_proto(const char *s, size_t len)
{
	if (len == 3 && !strncmp(s, "tcp", 3))
		return SN_PROTO_TCP;
	if (len == 3 && !strncmp(s, "udp", 3))
		return SN_PROTO_UDP;
	if ((len == 4 && !strncmp(s, "icmp", 4)) || (len == 6 && !strncmp(s, "icmpv6", 6)) ||
	    (len == 6 && !strncmp(s, "icmpv4", 6)))
		return SN_PROTO_ICMP;
	return 0;
}

/**
 * parse_num() - a decimal number within bounds, all of @len
 * @s:		text
 * @len:	characters
 * @max:	largest value
 * @out:	the number
 *
 * Return: 0, or -1
 */
static int parse_num(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 6)
		return -1;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int sn_rule_parse_ports(const char *s, size_t len, struct sn_rule *r, char *err, size_t errlen)
{
	const char *end = s + len;

	if (!len)
		goto bad;
	while (s < end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *stop = comma ? comma : end;
		const char *dash = memchr(s, '-', (size_t)(stop - s));
		unsigned long lo, hi;

		if (parse_num(s, (size_t)((dash ? dash : stop) - s), 65535, &lo))
			goto bad;
		hi = lo;
		if (dash && parse_num(dash + 1, (size_t)(stop - dash - 1), 65535, &hi))
			goto bad;
		if (lo > hi || lo == 0) {
			snprintf(err, errlen, "ports '%.*s': a range must be N-M with 1 <= N <= M",
				 (int)len, end - len);
			return -1;
		}
		if (r->n_ports >= SN_RULE_MAX_PORTS) {
			snprintf(err, errlen, "ports '%.*s': at most %d ranges", (int)len,
				 end - len, SN_RULE_MAX_PORTS);
			return -1;
		}
		r->ports[r->n_ports].lo = (uint16_t)lo;
		r->ports[r->n_ports].hi = (uint16_t)hi;
		r->n_ports++;
		s = comma ? comma + 1 : end;
		if (comma && s == end)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "ports '%.*s': not N, N-M or a comma list of them (1..65535)",
		 (int)len, end - len);
	return -1;
}

/**
 * parse_cidr() - an address with an optional "/N"
 * @s:		text: ADDR, ADDR/N, [V6], [V6]/N or [V6/N]
 * @len:	characters
 * @r:		CIDR fields filled
 *
 * Return: 0, or -1 if not an address or CIDR
 */
static int parse_cidr(const char *s, size_t len, struct sn_rule *r)
{
	char buf[64];
	const char *slash;
	unsigned long plen;
	size_t alen;
	int v4;
	unsigned i;

	if (len + 1 >= sizeof(buf))	/* room for the ']' moved in below */
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* "[v6/N]" is "[v6]/N" */
	if (buf[0] == '[' && len > 2 && buf[len - 1] == ']' && strchr(buf, '/')) {
		char *sl = strchr(buf, '/');

		memmove(sl + 1, sl, strlen(sl) + 1);
		*sl = ']';
		buf[strlen(buf) - 1] = '\0';
	}
	slash = strrchr(buf, '/');
	alen = slash ? (size_t)(slash - buf) : strlen(buf);
	if (sn_ip_parse(buf, alen, &r->net))
		return -1;
	v4 = sn_ip_is4(&r->net) && buf[0] != '[' && !memchr(buf, ':', alen);
	if (!slash) {
		plen = v4 ? 32 : 128;
	} else if (parse_num(slash + 1, strlen(slash + 1), v4 ? 32 : 128, &plen)) {
		return -1;
	}
	r->kind = SN_DEST_CIDR;
	r->v4 = (uint8_t)v4;
	r->plen = (uint8_t)(v4 ? plen + 96 : plen);
	/* an IPv6 spelling of IPv4 addresses is an IPv4 CIDR */
	if (!v4 && sn_ip_is4(&r->net) && r->plen >= 96)
		r->v4 = 1;
	for (i = r->plen; i < 128; i++)
		r->net.b[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	return 0;
}

int sn_rule_parse_dest(const char *s, size_t len, struct sn_rule *r, char *err, size_t errlen)
{
	unsigned i;

	if (len == 3 && !strncmp(s, "any", 3)) {
		r->kind = SN_DEST_ANY;
		return 0;
	}
	if (len > 6 && !strncmp(s, "group:", 6)) {
		for (i = 0; i < N_GROUPS; i++) {
			if (strlen(sn_groups[i].name) == len - 6 &&
			    !strncmp(s + 6, sn_groups[i].name, len - 6)) {
				r->kind = SN_DEST_GROUP;
				r->groups = sn_groups[i].bit;
				return 0;
			}
		}
		snprintf(err, errlen, "'%.*s': unknown group (host, metadata, loopback, multicast, "
			 "link-local, private, public)", (int)len, s);
		return -1;
	}
	if (!parse_cidr(s, len, r))
		return 0;
	if (len > 2 && s[0] == '*' && s[1] == '.' && !sn_name_canon(s + 2, len - 2, r->name)) {
		r->kind = SN_DEST_SUFFIX;
		return 0;
	}
	if (!memchr(s, ':', len) && !memchr(s, '/', len) && !sn_name_canon(s, len, r->name)) {
		r->kind = SN_DEST_DOMAIN;
		return 0;
	}
	snprintf(err, errlen, "'%.*s' is not an address, CIDR, domain, *.suffix, group:NAME or any",
		 (int)len, s);
	return -1;
}

/**
 * unknown_proto() - does a rule start with a word that looks like a protocol
 * @s:		text before the first colon
 * @len:	its length
 *
 * Return: non-zero for a word of letters and digits that is no protocol
 *	   (and not "group" or "any"), such as "sctp"
 */
static int unknown_proto(const char *s, size_t len)
{
	size_t i;

	if (!len || len > 8 || (len == 5 && !strncmp(s, "group", 5)) ||
	    (len == 3 && !strncmp(s, "any", 3)))
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || is_digit(s[i])))
			return 0;
	return !sn_rule_parse_proto(s, len);
}

/**
 * rule_init() - an empty egress rule: any protocol, any port
 * @r:		rule
 */
static void rule_init(struct sn_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->dirs = SN_POLICY_EGRESS;
	r->protos = SN_PROTO_ALL;
	r->action = SN_POLICY_DENY;
}

int sn_rule_parse(const char *text, struct sn_rule *r, char *err, size_t errlen)
{
	size_t len = strlen(text), dlen;
	const char *dest = text, *colon, *ports = NULL;
	unsigned proto;

	rule_init(r);
	colon = memchr(text, ':', len);
	if (colon && (proto = sn_rule_parse_proto(text, (size_t)(colon - text)))) {
		r->protos = (uint8_t)proto;
		dest = colon + 1;
	}
	dlen = len - (size_t)(dest - text);
	if (!dlen) {
		snprintf(err, errlen, "'%s': no destination", text);
		return -1;
	}

	/* where do the ports start: after "]" for a bracketed IPv6, after
	 * "group:NAME", after the one colon of an IPv4 address or name; a
	 * bare IPv6 address has several colons and no ports */
	if (dest[0] == '[') {
		const char *rb = memchr(dest, ']', dlen);
		const char *after = rb ? rb + 1 : NULL;

		if (after && *after == '/')
			after += strspn(after + 1, "0123456789") + 1;
		if (after && *after == ':')
			ports = after + 1;
		else if (after && *after)
			after = NULL;
		if (!after) {
			snprintf(err, errlen, "'%.*s': a bracketed IPv6 destination is [ADDR], "
				 "[ADDR]/N or [ADDR/N], optionally followed by :PORTS",
				 (int)dlen, dest);
			return -1;
		}
	} else {
		const char *search = dest;
		const char *c;

		if (dlen > 6 && !strncmp(dest, "group:", 6))
			search = dest + 6;
		c = memchr(search, ':', len - (size_t)(search - text));
		if (c && search == dest && memchr(c + 1, ':', len - (size_t)(c + 1 - text)))
			c = NULL;	/* bare IPv6 */
		if (c)
			ports = c + 1;
	}
	if (ports)
		dlen = (size_t)(ports - 1 - dest);
	if (sn_rule_parse_dest(dest, dlen, r, err, errlen))
		goto bad;
	if (ports) {
		if (r->protos == SN_PROTO_ICMP) {
			snprintf(err, errlen, "'%s': icmp has no ports", text);
			return -1;
		}
		if (sn_rule_parse_ports(ports, len - (size_t)(ports - text), r, err, errlen))
			goto bad;
	}
	return 0;
bad:
	/* "sctp:1.2.3.4" reads as a name with ports: say what was meant */
	if (dest == text && colon && unknown_proto(text, (size_t)(colon - text)))
		snprintf(err, errlen, "'%.*s': unknown protocol (tcp, udp, icmp)",
			 (int)(colon - text), text);
	return -1;
}

/**
 * fmt_ports() - a rule's ports as "N,N-M"
 * @r:		rule
 * @buf:	filled
 * @len:	size of @buf
 */
static void fmt_ports(const struct sn_rule *r, char *buf, size_t len)
{
	size_t off = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < r->n_ports && off < len; i++) {
		int n;

		if (r->ports[i].lo == r->ports[i].hi)
			n = snprintf(buf + off, len - off, "%s%u", i ? "," : "", r->ports[i].lo);
		else
			n = snprintf(buf + off, len - off, "%s%u-%u", i ? "," : "",
				     r->ports[i].lo, r->ports[i].hi);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

const char *sn_rule_format(const struct sn_rule *r, char *buf, size_t len)
{
	static const char *const protos[8] = { "", "tcp:", "udp:", "tcp,udp:", "icmp:",
					       "tcp,icmp:", "udp,icmp:", "" };
	char dest[SN_NAME_MAX + 16], ip[48], ports[SN_RULE_MAX_PORTS * 12];
	unsigned i;
	int v6;

	switch (r->kind) {
	case SN_DEST_ANY:
		snprintf(dest, sizeof(dest), "any");
		break;
	case SN_DEST_CIDR:
		sn_ip_format(&r->net, ip, sizeof(ip));
		v6 = !r->v4;
		snprintf(dest, sizeof(dest), "%s%s%s/%u", v6 ? "[" : "", ip, v6 ? "]" : "",
			 r->v4 ? r->plen - 96U : r->plen);
		break;
	case SN_DEST_DOMAIN:
		snprintf(dest, sizeof(dest), "%s", r->name);
		break;
	case SN_DEST_SUFFIX:
		snprintf(dest, sizeof(dest), "*.%s", r->name);
		break;
	default:
		snprintf(dest, sizeof(dest), "group:?");
		for (i = 0; i < N_GROUPS; i++)
			if (r->groups == sn_groups[i].bit)
				snprintf(dest, sizeof(dest), "group:%s", sn_groups[i].name);
		break;
	}
	fmt_ports(r, ports, sizeof(ports));
	snprintf(buf, len, "%s%s%s%s", protos[r->protos & 7], dest, r->n_ports ? ":" : "", ports);
	return buf;
}
