// SPDX-License-Identifier: MIT
/*
 * policy/: address normalisation and classes, rule syntax, first-match
 * evaluation, defaults, directions, builtins, domain rules through the pin
 * cache (fake clock), DNS names and rebind protection. The module is pure,
 * so every case is a row of a table: rules, a flow, the verdict wanted.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "policy/policy.h"

/* The world the cases live in: the default addressing, and a host whose
 * interfaces have 198.51.100.2, 192.168.1.5 and 2001:db8:1::2. */
static struct sn_ip host_addrs[3];
static struct sn_policy_env env;
static struct sn_pins pins;

/**
 * ip() - parse an address the test wrote
 * @s:		address
 *
 * Return: it
 */
static struct sn_ip ip(const char *s)
{
	struct sn_ip a;

	ck_assert_msg(!sn_ip_parse(s, strlen(s), &a), "test address '%s'", s);
	return a;
}

static void env_setup(void)
{
	struct sn_ip www;

	memset(&env, 0, sizeof(env));
	env.gw[0] = ip("10.0.2.2");
	env.gw[1] = ip("fd00:2::2");
	env.gw[2] = ip("fe80::73:6eff:fe00:1");
	env.n_gw = 3;
	env.guest[0] = ip("10.0.2.15");
	env.guest[1] = ip("fd00:2::15");
	env.n_guest = 2;
	env.bcast4 = ip("10.0.2.255");
	host_addrs[0] = ip("198.51.100.2");
	host_addrs[1] = ip("192.168.1.5");
	host_addrs[2] = ip("2001:db8:1::2");
	env.host = host_addrs;
	env.n_host = 3;
	sn_pins_init(&pins);
	/* the guest resolved www.example.test (TTL 300 s at time 1000) */
	www = ip("192.0.2.10");
	sn_pins_add(&pins, &www, "www.example.test", 300, 1000);
}

/**
 * policy_build() - a policy from a compact description
 * @spec:	';'-separated items: "+RULE" allow, "-RULE" deny (egress),
 *		"<+RULE"/"<-RULE" ingress, "*+RULE" both directions,
 *		"E=deny"/"I=deny" defaults, "bypass" relays DNS bypass ports,
 *		"norebind", "block=NAME"
 *
 * Return: the policy
 */
static struct sn_policy *policy_build(const char *spec)
{
	struct sn_policy *pol = sn_policy_new();
	char buf[1024], err[256], *item, *save = NULL;

	ck_assert_ptr_nonnull(pol);
	snprintf(buf, sizeof(buf), "%s", spec ? spec : "");
	for (item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		int dirs = SN_POLICY_EGRESS;

		if (!strcmp(item, "E=deny")) {
			sn_policy_set_default(pol, SN_POLICY_EGRESS, SN_POLICY_DENY);
			continue;
		}
		if (!strcmp(item, "I=deny")) {
			sn_policy_set_default(pol, SN_POLICY_INGRESS, SN_POLICY_DENY);
			continue;
		}
		if (!strcmp(item, "bypass")) {
			sn_policy_set_dns_bypass(pol, 1);
			continue;
		}
		if (!strcmp(item, "norebind")) {
			sn_policy_set_rebind_protection(pol, 0);
			continue;
		}
		if (!strncmp(item, "block=", 6)) {
			ck_assert_msg(!sn_policy_block_name(pol, item + 6, NULL, err, sizeof(err)),
				      "block %s: %s", item + 6, err);
			continue;
		}
		if (item[0] == '<') {
			dirs = SN_POLICY_INGRESS;
			item++;
		} else if (item[0] == '*') {
			dirs = SN_POLICY_EGRESS | SN_POLICY_INGRESS;
			item++;
		}
		ck_assert_msg(item[0] == '+' || item[0] == '-', "bad spec item '%s'", item);
		ck_assert_msg(!sn_policy_add(pol, dirs, item[0] == '+' ? SN_POLICY_ALLOW :
					     SN_POLICY_DENY, item + 1, NULL, err, sizeof(err)),
			      "rule '%s': %s", item + 1, err);
	}
	return pol;
}

/**
 * struct fcase - one flow decision
 * @rules:	policy_build() spec
 * @flow:	"[in ]PROTO ADDR[:PORT]", IPv6 in brackets with a port
 * @want:	"allow"/"deny" then " rule N", " default", " never", " dns"
 *		(builtin gateway DNS) or " bypass"
 * @cls:	the class wanted
 */
struct fcase {
	const char *rules;
	const char *flow;
	const char *want;
	enum sn_class cls;
};

#define U SN_CLASS_UNSPECIFIED
#define G SN_CLASS_GUEST
#define B SN_CLASS_BROADCAST
#define GW SN_CLASS_GATEWAY
#define H SN_CLASS_HOST
#define M SN_CLASS_METADATA
#define L SN_CLASS_LOOPBACK
#define MC SN_CLASS_MULTICAST
#define LL SN_CLASS_LINK_LOCAL
#define P SN_CLASS_PRIVATE
#define PUB SN_CLASS_PUBLIC

static const struct fcase fcases[] = {
	/* every class under the default profile, IPv4 */
	{ NULL, "tcp 0.0.0.0:80", "deny never", U },
	{ NULL, "udp 0.1.2.3:9", "deny never", U },
	{ NULL, "tcp 10.0.2.15:80", "deny never", G },
	{ NULL, "udp 10.0.2.255:9", "deny never", B },
	{ NULL, "udp 255.255.255.255:9", "deny never", B },
	{ NULL, "tcp 10.0.2.2:80", "deny default", GW },
	{ NULL, "udp 10.0.2.2:53", "allow dns", GW },
	{ NULL, "tcp 10.0.2.2:53", "allow dns", GW },
	{ NULL, "icmp 10.0.2.2", "deny default", GW },
	{ NULL, "tcp 198.51.100.2:22", "deny default", H },
	{ NULL, "tcp 192.168.1.5:22", "deny default", H },
	{ NULL, "tcp 169.254.169.254:80", "deny default", M },
	{ NULL, "tcp 127.0.0.1:80", "deny default", L },
	{ NULL, "udp 127.255.255.254:9", "deny default", L },
	{ NULL, "udp 224.0.0.1:9", "deny default", MC },
	{ NULL, "udp 239.255.255.250:1900", "deny default", MC },
	{ NULL, "tcp 169.254.1.1:80", "deny default", LL },
	{ NULL, "tcp 10.1.2.3:80", "deny default", P },
	{ NULL, "tcp 10.0.0.0:80", "deny default", P },
	{ NULL, "tcp 10.255.255.255:80", "deny default", P },
	{ NULL, "tcp 172.16.0.1:80", "deny default", P },
	{ NULL, "tcp 172.31.255.255:80", "deny default", P },
	{ NULL, "tcp 172.32.0.1:80", "allow default", PUB },
	{ NULL, "tcp 172.15.255.255:80", "allow default", PUB },
	{ NULL, "tcp 192.168.0.1:80", "deny default", P },
	{ NULL, "tcp 192.169.0.1:80", "allow default", PUB },
	{ NULL, "tcp 100.64.0.1:80", "deny default", P },
	{ NULL, "tcp 100.127.255.255:80", "deny default", P },
	{ NULL, "tcp 100.128.0.1:80", "allow default", PUB },
	{ NULL, "tcp 100.63.255.255:80", "allow default", PUB },
	{ NULL, "tcp 198.18.0.1:80", "deny default", P },
	{ NULL, "tcp 198.19.255.255:80", "deny default", P },
	{ NULL, "tcp 198.20.0.1:80", "allow default", PUB },
	{ NULL, "tcp 192.0.2.10:80", "allow default", PUB },
	{ NULL, "tcp 198.51.100.7:80", "allow default", PUB },
	{ NULL, "tcp 203.0.113.5:80", "allow default", PUB },
	{ NULL, "tcp 8.8.8.8:443", "allow default", PUB },
	{ NULL, "tcp 11.0.0.1:80", "allow default", PUB },
	{ NULL, "tcp 9.255.255.255:80", "allow default", PUB },
	{ NULL, "icmp 192.0.2.10", "allow default", PUB },
	{ NULL, "icmp 127.0.0.1", "deny default", L },
	{ NULL, "icmp 0.0.0.0", "deny never", U },
	/* every class, IPv6, and every spelling of an IPv4 address */
	{ NULL, "tcp [::]:80", "deny never", U },
	{ NULL, "udp [::]:53", "deny never", U },
	{ NULL, "udp [::ffff:0.0.0.0]:53", "deny never", U },
	{ NULL, "tcp [::ffff:0.0.0.0]:80", "deny never", U },
	{ NULL, "udp [::0.0.0.2]:53", "deny never", U },
	{ NULL, "udp [64:ff9b::]:53", "deny never", U },
	{ NULL, "tcp [::1]:80", "deny default", L },
	{ NULL, "tcp [::ffff:127.0.0.1]:80", "deny default", L },
	{ NULL, "tcp [::127.0.0.1]:80", "deny default", L },
	{ NULL, "tcp [::ffff:0:127.0.0.1]:80", "deny default", L },
	{ NULL, "tcp [64:ff9b::7f00:1]:80", "deny default", L },
	{ NULL, "tcp [::ffff:127.1.2.3]:80", "deny default", L },
	{ NULL, "udp [::ffff:10.0.2.2]:9", "deny default", GW },
	{ NULL, "udp [::10.0.2.2]:9", "deny default", GW },
	{ NULL, "udp [::ffff:10.0.2.2]:53", "allow dns", GW },
	{ NULL, "tcp [::ffff:169.254.169.254]:80", "deny default", M },
	{ NULL, "tcp [64:ff9b::a9fe:a9fe]:80", "deny default", M },
	{ NULL, "tcp [::169.254.169.254]:80", "deny default", M },
	{ NULL, "tcp [fd00:2::2]:80", "deny default", GW },
	{ NULL, "udp [fd00:2::2]:53", "allow dns", GW },
	{ NULL, "tcp [fe80::73:6eff:fe00:1]:80", "deny default", GW },
	{ NULL, "udp [fe80::73:6eff:fe00:1]:53", "allow dns", GW },
	{ NULL, "tcp [fd00:2::15]:80", "deny never", G },
	{ NULL, "tcp [::ffff:10.0.2.15]:80", "deny never", G },
	{ NULL, "udp [::ffff:10.0.2.255]:9", "deny never", B },
	{ NULL, "udp [::ffff:255.255.255.255]:9", "deny never", B },
	{ NULL, "tcp [fd00:ec2::254]:80", "deny default", M },
	{ NULL, "tcp [fe80::1]:80", "deny default", LL },
	{ NULL, "udp [ff02::1]:9", "deny default", MC },
	{ NULL, "udp [ff05::1:3]:547", "deny default", MC },
	{ NULL, "udp [::ffff:224.0.0.251]:9", "deny default", MC },
	{ NULL, "tcp [fd12:3456::1]:80", "deny default", P },
	{ NULL, "tcp [fc00::1]:80", "deny default", P },
	{ NULL, "tcp [fec0::1]:80", "deny default", P },
	{ NULL, "tcp [fd00:2::99]:80", "deny default", P },
	{ NULL, "tcp [::ffff:10.9.8.7]:80", "deny default", P },
	{ NULL, "tcp [::ffff:192.168.1.5]:80", "deny default", H },
	{ NULL, "tcp [2001:db8:1::2]:22", "deny default", H },
	{ NULL, "tcp [2001:db8::1]:80", "allow default", PUB },
	{ NULL, "tcp [2606:4700::1111]:443", "allow default", PUB },
	{ NULL, "tcp [::ffff:8.8.8.8]:443", "allow default", PUB },
	{ NULL, "tcp [::8.8.8.8]:443", "allow default", PUB },
	{ NULL, "tcp [64:ff9b::808:808]:443", "allow default", PUB },
	{ NULL, "tcp [2002:7f00:1::1]:80", "allow default", PUB },
	{ NULL, "icmp [2001:db8::1]", "allow default", PUB },
	{ NULL, "icmp [::1]", "deny default", L },
	/* group rules */
	{ "+group:host", "tcp 10.0.2.2:80", "allow rule 1", GW },
	{ "+group:host", "tcp [fd00:2::2]:80", "allow rule 1", GW },
	{ "+group:host", "tcp [::ffff:10.0.2.2]:80", "allow rule 1", GW },
	{ "+group:host", "tcp 198.51.100.2:22", "allow rule 1", H },
	{ "+group:host", "tcp 127.0.0.1:22", "deny default", L },
	{ "+group:host", "tcp 10.0.2.15:22", "deny never", G },
	{ "+group:loopback", "tcp 127.0.0.1:22", "allow rule 1", L },
	{ "+group:loopback", "tcp [::127.0.0.1]:22", "allow rule 1", L },
	{ "+group:private", "tcp 10.1.1.1:22", "allow rule 1", P },
	{ "+group:private", "tcp 100.64.9.9:22", "allow rule 1", P },
	{ "+group:private", "tcp 192.168.1.5:22", "deny default", H },
	{ "+group:link-local", "tcp 169.254.1.1:22", "allow rule 1", LL },
	{ "+group:link-local", "tcp 169.254.169.254:80", "deny default", M },
	{ "+group:metadata", "tcp 169.254.169.254:80", "allow rule 1", M },
	{ "+group:multicast", "udp 224.0.0.1:9", "allow rule 1", MC },
	{ "-group:public", "tcp 8.8.8.8:443", "deny rule 1", PUB },
	{ "E=deny;+group:public", "tcp 8.8.8.8:443", "allow rule 1", PUB },
	{ "E=deny;+group:public", "tcp 10.0.0.1:443", "deny default", P },
	/* any */
	{ "+any", "tcp 127.0.0.1:80", "allow rule 1", L },
	{ "+any", "tcp 0.0.0.0:80", "deny never", U },
	{ "+any", "udp [::]:53", "deny never", U },
	{ "+any", "tcp 10.0.2.15:80", "deny never", G },
	{ "-any", "tcp 8.8.8.8:80", "deny rule 1", PUB },
	{ "-any", "udp 10.0.2.2:53", "allow dns", GW },
	/* CIDR edges */
	{ "-10.0.0.0/8", "tcp 10.0.0.0:80", "deny rule 1", P },
	{ "+10.0.0.0/8", "tcp 10.255.255.255:80", "allow rule 1", P },
	{ "+10.0.0.0/8", "tcp 11.0.0.0:80", "allow default", PUB },
	{ "+10.0.0.0/8", "tcp 9.255.255.255:80", "allow default", PUB },
	{ "+10.0.0.0/8", "tcp [::ffff:10.1.2.3]:80", "allow rule 1", P },
	{ "+10.0.0.0/8", "tcp [::10.1.2.3]:80", "allow rule 1", P },
	{ "-192.0.2.10", "tcp 192.0.2.10:80", "deny rule 1", PUB },
	{ "-192.0.2.10", "tcp 192.0.2.11:80", "allow default", PUB },
	{ "-192.0.2.10/32", "tcp [::ffff:192.0.2.10]:80", "deny rule 1", PUB },
	{ "-192.0.2.128/25", "tcp 192.0.2.127:80", "allow default", PUB },
	{ "-192.0.2.128/25", "tcp 192.0.2.128:80", "deny rule 1", PUB },
	{ "-192.0.2.129/25", "tcp 192.0.2.200:80", "deny rule 1", PUB },
	{ "-0.0.0.0/0", "tcp 8.8.8.8:80", "deny rule 1", PUB },
	{ "-0.0.0.0/0", "tcp [2001:db8::1]:80", "allow default", PUB },
	{ "-::/0", "tcp [2001:db8::1]:80", "deny rule 1", PUB },
	{ "-::/0", "tcp 8.8.8.8:80", "allow default", PUB },
	{ "-::/0", "tcp [::ffff:8.8.8.8]:80", "allow default", PUB },
	{ "-2001:db8::/32", "tcp [2001:db8:ffff::1]:80", "deny rule 1", PUB },
	{ "-2001:db8::/32", "tcp [2001:db9::1]:80", "allow default", PUB },
	{ "-[2001:db8::]/33", "tcp [2001:db8:7fff::1]:80", "deny rule 1", PUB },
	{ "-[2001:db8::/33]", "tcp [2001:db8:8000::1]:80", "allow default", PUB },
	{ "-::ffff:192.0.2.0/120", "tcp 192.0.2.77:80", "deny rule 1", PUB },
	{ "-::ffff:192.0.2.0/120", "tcp 192.0.3.77:80", "allow default", PUB },
	{ "+127.0.0.1", "tcp [::ffff:127.0.0.1]:80", "allow rule 1", L },
	{ "+127.0.0.1", "tcp 127.0.0.2:80", "deny default", L },
	{ "+::1", "tcp [::1]:80", "allow rule 1", L },
	{ "+::1", "tcp 127.0.0.1:80", "deny default", L },
	/* ports */
	{ "-tcp:any:22", "tcp 8.8.8.8:22", "deny rule 1", PUB },
	{ "-tcp:any:22", "tcp 8.8.8.8:23", "allow default", PUB },
	{ "-tcp:any:22", "udp 8.8.8.8:22", "allow default", PUB },
	{ "-any:8000-8100", "tcp 8.8.8.8:7999", "allow default", PUB },
	{ "-any:8000-8100", "tcp 8.8.8.8:8000", "deny rule 1", PUB },
	{ "-any:8000-8100", "udp 8.8.8.8:8100", "deny rule 1", PUB },
	{ "-any:8000-8100", "tcp 8.8.8.8:8101", "allow default", PUB },
	{ "-any:80,443", "tcp 8.8.8.8:443", "deny rule 1", PUB },
	{ "-any:80,443", "tcp 8.8.8.8:444", "allow default", PUB },
	{ "-any:80,443", "icmp 8.8.8.8", "allow default", PUB },
	{ "-any:1-65535", "tcp 8.8.8.8:65535", "deny rule 1", PUB },
	{ "+udp:[2001:db8::1]:53", "udp [2001:db8::1]:53", "allow rule 1", PUB },
	{ "E=deny;+udp:[2001:db8::1]:53", "tcp [2001:db8::1]:53", "deny default", PUB },
	{ "E=deny;+group:host:8080", "tcp 10.0.2.2:8080", "allow rule 1", GW },
	{ "E=deny;+group:host:8080", "tcp 10.0.2.2:8081", "deny default", GW },
	{ "+tcp:group:host:8080", "udp 10.0.2.2:8080", "deny default", GW },
	/* protocols */
	{ "-udp:8.8.8.8", "udp 8.8.8.8:123", "deny rule 1", PUB },
	{ "-udp:8.8.8.8", "tcp 8.8.8.8:123", "allow default", PUB },
	{ "-udp:8.8.8.8", "icmp 8.8.8.8", "allow default", PUB },
	{ "-icmp:any", "icmp 8.8.8.8", "deny rule 1", PUB },
	{ "-icmp:any", "icmp [2001:db8::1]", "deny rule 1", PUB },
	{ "-icmp:any", "tcp 8.8.8.8:80", "allow default", PUB },
	/* first match wins */
	{ "+tcp:10.0.0.1:80;-10.0.0.0/8", "tcp 10.0.0.1:80", "allow rule 1", P },
	{ "+tcp:10.0.0.1:80;-10.0.0.0/8", "tcp 10.0.0.1:81", "deny rule 2", P },
	{ "+tcp:10.0.0.1:80;-10.0.0.0/8", "tcp 10.0.0.2:80", "deny rule 2", P },
	{ "-10.0.0.0/8;+tcp:10.0.0.1:80", "tcp 10.0.0.1:80", "deny rule 1", P },
	{ "+192.0.2.0/24;-192.0.2.10", "tcp 192.0.2.10:80", "allow rule 1", PUB },
	{ "-tcp:any:25;+group:private;-any", "tcp 10.0.0.1:25", "deny rule 1", P },
	{ "-tcp:any:25;+group:private;-any", "tcp 10.0.0.1:26", "allow rule 2", P },
	{ "-tcp:any:25;+group:private;-any", "tcp 8.8.8.8:26", "deny rule 3", PUB },
	/* defaults */
	{ "E=deny", "tcp 8.8.8.8:443", "deny default", PUB },
	{ "E=deny", "udp 10.0.2.2:53", "allow dns", GW },
	{ "E=deny", "tcp [fd00:2::2]:53", "allow dns", GW },
	{ "E=deny", "icmp 8.8.8.8", "deny default", PUB },
	/* DNS bypass ports */
	{ NULL, "tcp 1.1.1.1:853", "deny bypass", PUB },
	{ NULL, "udp 1.1.1.1:853", "deny bypass", PUB },
	{ NULL, "udp 192.0.2.1:5353", "deny bypass", PUB },
	{ NULL, "udp 192.0.2.1:5355", "deny bypass", PUB },
	{ NULL, "udp 192.0.2.1:137", "deny bypass", PUB },
	{ NULL, "tcp 192.0.2.1:5353", "allow default", PUB },
	{ NULL, "tcp 192.0.2.1:137", "allow default", PUB },
	{ "+tcp:1.1.1.1:853", "tcp 1.1.1.1:853", "deny bypass", PUB },
	{ "bypass", "tcp 1.1.1.1:853", "allow default", PUB },
	{ "bypass;-tcp:any:853", "tcp 1.1.1.1:853", "deny rule 1", PUB },
	/* directions */
	{ NULL, "in tcp 198.51.100.1:8080", "allow default", PUB },
	{ NULL, "in tcp 127.0.0.1:8080", "allow default", L },
	{ "I=deny", "in tcp 198.51.100.1:8080", "deny default", PUB },
	{ "-198.51.100.1", "in tcp 198.51.100.1:8080", "allow default", PUB },
	{ "<-198.51.100.1", "in tcp 198.51.100.1:8080", "deny rule 1", PUB },
	{ "<-198.51.100.1", "tcp 198.51.100.1:8080", "allow default", PUB },
	{ "*-198.51.100.1", "tcp 198.51.100.1:80", "deny rule 1", PUB },
	{ "*-198.51.100.1", "in udp 198.51.100.1:80", "deny rule 1", PUB },
	{ "I=deny;<+tcp:any:80", "in tcp 198.51.100.1:80", "allow rule 1", PUB },
	{ "I=deny;<+tcp:any:80", "in tcp 198.51.100.1:81", "deny default", PUB },
	{ "I=deny;<+group:loopback", "in udp 127.0.0.1:5000", "allow rule 1", L },
	{ "E=deny", "in tcp 198.51.100.1:8080", "allow default", PUB },
	/* domains, through the pins of env_setup(): 192.0.2.10 is www.example.test */
	{ "E=deny;+*.example.test", "tcp 192.0.2.10:80", "allow rule 1", PUB },
	{ "E=deny;+*.example.test", "tcp [::ffff:192.0.2.10]:80", "allow rule 1", PUB },
	{ "E=deny;+*.example.test", "tcp 192.0.2.77:80", "deny default", PUB },
	{ "E=deny;+www.example.test", "tcp 192.0.2.10:443", "allow rule 1", PUB },
	{ "E=deny;+example.test", "tcp 192.0.2.10:443", "deny default", PUB },
	{ "E=deny;+*.www.example.test", "tcp 192.0.2.10:443", "allow rule 1", PUB },
	{ "E=deny;+*.ample.test", "tcp 192.0.2.10:443", "deny default", PUB },
	{ "E=deny;+tcp:*.example.test:443", "tcp 192.0.2.10:80", "deny default", PUB },
	{ "E=deny;+tcp:*.example.test:443", "tcp 192.0.2.10:443", "allow rule 1", PUB },
	{ "-www.example.test", "tcp 192.0.2.10:80", "deny rule 1", PUB },
	{ "-WWW.Example.Test.", "tcp 192.0.2.10:80", "deny rule 1", PUB },
	{ "-other.test;-www.example.test", "tcp 192.0.2.10:80", "deny rule 2", PUB },
};

/**
 * flow_parse() - a flow from "[in ]PROTO ADDR[:PORT]"
 * @s:		text
 * @f:		filled
 */
static void flow_parse(const char *s, struct sn_flow_desc *f)
{
	const char *sp, *a, *colon;
	size_t alen;

	memset(f, 0, sizeof(*f));
	f->dir = SN_POLICY_EGRESS;
	if (!strncmp(s, "in ", 3)) {
		f->dir = SN_POLICY_INGRESS;
		s += 3;
	}
	sp = strchr(s, ' ');
	ck_assert_ptr_nonnull(sp);
	f->proto = sn_rule_parse_proto(s, (size_t)(sp - s));
	ck_assert_uint_ne(f->proto, 0);
	a = sp + 1;
	if (a[0] == '[') {
		const char *rb = strchr(a, ']');

		ck_assert_ptr_nonnull(rb);
		alen = (size_t)(rb - a + 1);
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = strchr(a, ':');
		alen = colon ? (size_t)(colon - a) : strlen(a);
	}
	ck_assert_msg(!sn_ip_parse(a, alen, &f->ip), "flow address in '%s'", s);
	if (colon)
		f->port = (uint16_t)atoi(colon + 1);
}

/**
 * verdict_text() - a verdict in the table's words
 * @v:		verdict
 * @buf:	filled
 * @len:	size of @buf
 *
 * Return: @buf
 */
static const char *verdict_text(const struct sn_verdict *v, char *buf, size_t len)
{
	const char *act = v->action == SN_POLICY_ALLOW ? "allow" : "deny";

	switch (v->by) {
	case SN_BY_RULE:
		snprintf(buf, len, "%s rule %u", act, v->rule_no);
		break;
	case SN_BY_NEVER:
		snprintf(buf, len, "%s never", act);
		break;
	case SN_BY_BUILTIN_DNS:
		snprintf(buf, len, "%s dns", act);
		break;
	case SN_BY_BUILTIN_BYPASS:
		snprintf(buf, len, "%s bypass", act);
		break;
	case SN_BY_BLOCKLIST:
		snprintf(buf, len, "%s block %u", act, v->rule_no);
		break;
	default:
		snprintf(buf, len, "%s default", act);
		break;
	}
	return buf;
}

START_TEST(test_flow_table)
{
	const struct fcase *c = &fcases[_i];
	struct sn_policy *pol;
	struct sn_flow_desc f;
	struct sn_verdict v;
	char got[64], why[256];

	env_setup();
	pol = policy_build(c->rules);
	flow_parse(c->flow, &f);
	sn_policy_decide(pol, &env, &pins, &f, 2000, &v);
	verdict_text(&v, got, sizeof(got));
	ck_assert_msg(!strcmp(got, c->want) && v.cls == c->cls,
		      "[%s] %s: got '%s' (%s, %s), want '%s' (%s)", c->rules ? c->rules : "",
		      c->flow, got, sn_class_name(v.cls), sn_verdict_explain(&v, why, sizeof(why)),
		      c->want, sn_class_name(c->cls));
	/* the deciding rule counted it */
	if (v.rule)
		ck_assert_uint_eq(v.rule->hits, 1);
	sn_policy_free(pol);
}
END_TEST

/**
 * struct ncase - one DNS name decision
 * @rules:	policy_build() spec
 * @name:	the name asked
 * @want:	"allow default", "deny rule N", "deny block N", ...
 */
struct ncase {
	const char *rules;
	const char *name;
	const char *want;
};

static const struct ncase ncases[] = {
	{ NULL, "www.example.test", "allow default" },
	{ "E=deny", "www.example.test", "allow default" },
	{ "-*.ads.example", "x.ads.example", "deny rule 1" },
	{ "-*.ads.example", "ads.example", "deny rule 1" },
	{ "-*.ads.example", "a.b.ads.example", "deny rule 1" },
	{ "-*.ads.example", "xads.example", "allow default" },
	{ "-*.ads.example", "ads.example.com", "allow default" },
	{ "+a.ads.example;-*.ads.example", "a.ads.example", "allow rule 1" },
	{ "+a.ads.example;-*.ads.example", "b.ads.example", "deny rule 2" },
	{ "-tcp:*.ads.example:443", "x.ads.example", "allow default" },
	{ "-10.0.0.0/8;-evil.test", "evil.test", "deny rule 2" },
	{ "<-evil.test", "evil.test", "allow default" },
	{ "block=tracker.test", "tracker.test", "deny block 1" },
	{ "block=*.tracker.test", "a.tracker.test", "deny block 1" },
	{ "block=tracker.test;+tracker.test", "tracker.test", "deny block 1" },
	{ "block=tracker.test", "tracker.test.evil", "allow default" },
};

START_TEST(test_name_table)
{
	const struct ncase *c = &ncases[_i];
	struct sn_policy *pol = policy_build(c->rules);
	struct sn_verdict v;
	char name[SN_NAME_MAX + 1], got[64];

	ck_assert_int_eq(sn_name_canon(c->name, strlen(c->name), name), 0);
	sn_policy_decide_name(pol, name, &v);
	verdict_text(&v, got, sizeof(got));
	ck_assert_msg(!strcmp(got, c->want), "[%s] %s: got '%s', want '%s'",
		      c->rules ? c->rules : "", c->name, got, c->want);
	sn_policy_free(pol);
}
END_TEST

/**
 * struct rcase - one rebind protection decision
 * @rules:	policy_build() spec
 * @name:	the name asked
 * @addr:	an address in its answer
 * @ok:		whether the answer may stand
 */
struct rcase {
	const char *rules;
	const char *name;
	const char *addr;
	int ok;
};

static const struct rcase rcases[] = {
	{ NULL, "www.example.test", "192.0.2.1", 1 },
	{ NULL, "www.example.test", "2001:db8::1", 1 },
	{ NULL, "www.example.test", "10.0.0.1", 0 },
	{ NULL, "www.example.test", "127.0.0.1", 0 },
	{ NULL, "www.example.test", "::1", 0 },
	{ NULL, "www.example.test", "::ffff:127.0.0.1", 0 },
	{ NULL, "www.example.test", "169.254.169.254", 0 },
	{ NULL, "www.example.test", "169.254.1.1", 0 },
	{ NULL, "www.example.test", "100.64.1.1", 0 },
	{ NULL, "www.example.test", "fd12::1", 0 },
	{ NULL, "www.example.test", "fe80::1", 0 },
	{ NULL, "www.example.test", "0.0.0.0", 0 },
	{ NULL, "www.example.test", "10.0.2.2", 0 },
	{ NULL, "www.example.test", "198.51.100.2", 0 },
	{ "norebind", "www.example.test", "10.0.0.1", 1 },
	{ "+10.0.0.0/8", "www.example.test", "10.0.0.1", 1 },
	{ "+group:private", "www.example.test", "10.0.0.1", 1 },
	{ "+tcp:10.0.0.0/8:80", "www.example.test", "10.0.0.1", 0 },
	{ "+*.example.test", "www.example.test", "10.0.0.1", 1 },
	{ "+*.other.test", "www.example.test", "10.0.0.1", 0 },
	{ "-*.example.test;+10.0.0.0/8", "www.example.test", "10.0.0.1", 0 },
};

START_TEST(test_rebind_table)
{
	const struct rcase *c = &rcases[_i];
	struct sn_policy *pol;
	struct sn_ip a = ip(c->addr);

	env_setup();
	pol = policy_build(c->rules);
	ck_assert_msg(!!sn_policy_rebind_ok(pol, &env, c->name, &a) == c->ok,
		      "[%s] %s -> %s: want %s", c->rules ? c->rules : "", c->name, c->addr,
		      c->ok ? "kept" : "NXDOMAIN");
	sn_policy_free(pol);
}
END_TEST

/**
 * struct pcase - one rule syntax check
 * @rule:	the rule text
 * @canon:	sn_rule_format() of it, or NULL if it must be refused
 * @msg:	a piece of the error message wanted when refused
 */
struct pcase {
	const char *rule;
	const char *canon;
	const char *msg;
};

static const struct pcase pcases[] = {
	{ "tcp:*.example.com:443", "tcp:*.example.com:443", NULL },
	{ "10.0.0.0/8", "10.0.0.0/8", NULL },
	{ "10.1.2.3/8", "10.0.0.0/8", NULL },
	{ "*.ads.example", "*.ads.example", NULL },
	{ "group:host", "group:host", NULL },
	{ "udp:[2001:db8::1]:53", "udp:[2001:db8::1]/128:53", NULL },
	{ "2001:db8::/32", "[2001:db8::]/32", NULL },
	{ "[2001:db8::/32]:443", "[2001:db8::]/32:443", NULL },
	{ "[2001:db8::]/32:443", "[2001:db8::]/32:443", NULL },
	{ "any", "any", NULL },
	{ "tcp:any:22", "tcp:any:22", NULL },
	{ "udp:group:host:53", "udp:group:host:53", NULL },
	{ "Example.COM.", "example.com", NULL },
	{ "icmp:192.0.2.1", "icmp:192.0.2.1/32", NULL },
	{ "any:80,443,8000-8100", "any:80,443,8000-8100", NULL },
	{ "::ffff:192.0.2.0/120", "192.0.2.0/24", NULL },
	{ "tcp:", NULL, "no destination" },
	{ "", NULL, "no destination" },
	{ "foo..bar", NULL, "is not an address" },
	{ "-foo", NULL, NULL },
	{ "group:nope", NULL, "unknown group" },
	{ "tcp:1.2.3.4:0", NULL, "1 <= N <= M" },
	{ "1.2.3.4:70000", NULL, "not N, N-M" },
	{ "1.2.3.4:80-79", NULL, "1 <= N <= M" },
	{ "1.2.3.4:80,", NULL, "not N, N-M" },
	{ "1.2.3.4:x", NULL, "not N, N-M" },
	{ "icmp:1.2.3.4:80", NULL, "icmp has no ports" },
	{ "[2001:db8::1", NULL, "bracketed IPv6" },
	{ "[2001:db8::1]x", NULL, "bracketed IPv6" },
	{ "10.0.0.0/33", NULL, "is not an address" },
	{ "1.2.3", NULL, "is not an address" },
	{ "a b.test", NULL, "is not an address" },
	{ "*.", NULL, "is not an address" },
	{ "sctp:1.2.3.4", NULL, "unknown protocol" },
	{ "-foo.test", NULL, "is not an address" },
	{ "foo-.test", NULL, "is not an address" },
	{ "a-b.test", "a-b.test", NULL },
	{ "any:1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", NULL, "at most 16" },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example", NULL },
	{ "_dmarc.example.com", "_dmarc.example.com", NULL },
	{ "a.0123456789012345678901234567890123456789012345678901234567890123.test", NULL,
	  "is not an address" },
};

START_TEST(test_parse_table)
{
	const struct pcase *c = &pcases[_i];
	char err[256] = "", fmt[512];
	struct sn_rule r;
	int rc = sn_rule_parse(c->rule, &r, err, sizeof(err));

	if (c->canon) {
		ck_assert_msg(rc == 0, "'%s' refused: %s", c->rule, err);
		ck_assert_str_eq(sn_rule_format(&r, fmt, sizeof(fmt)), c->canon);
		return;
	}
	ck_assert_msg(rc == -1, "'%s' accepted", c->rule);
	ck_assert_msg(strlen(err) > 0, "'%s': no message", c->rule);
	if (c->msg)
		ck_assert_msg(strstr(err, c->msg), "'%s': message '%s' lacks '%s'", c->rule,
			      err, c->msg);
}
END_TEST

/* Pins live for their TTL, within the bounds, on the engine's wrapping clock. */
START_TEST(test_pin_expiry)
{
	struct sn_policy *pol;
	struct sn_flow_desc f;
	struct sn_verdict v;
	struct sn_ip a = ip("192.0.2.99");
	uint32_t t0 = 0xfffff000u;	/* the clock wraps during the test */

	env_setup();
	pol = policy_build("E=deny;+*.pinned.test");
	flow_parse("tcp 192.0.2.99:80", &f);
	ck_assert_int_eq(sn_policy_decide(pol, &env, &pins, &f, t0, &v), SN_POLICY_DENY);

	sn_pins_add(&pins, &a, "x.pinned.test", 60, t0);
	ck_assert_int_eq(sn_policy_decide(pol, &env, &pins, &f, t0 + 59999, &v), SN_POLICY_ALLOW);
	ck_assert_str_eq(v.pinned, "x.pinned.test");
	ck_assert_int_eq(sn_policy_decide(pol, &env, &pins, &f, t0 + 60000, &v), SN_POLICY_DENY);

	/* TTL 0 is kept the minimum; a huge TTL only the maximum */
	sn_pins_init(&pins);
	sn_pins_add(&pins, &a, "x.pinned.test", 0, t0);
	ck_assert_int_eq(sn_policy_decide(pol, &env, &pins, &f, t0 + SN_PIN_MIN_MS - 1, &v),
			 SN_POLICY_ALLOW);
	ck_assert_int_eq(sn_policy_decide(pol, &env, &pins, &f, t0 + SN_PIN_MIN_MS, &v),
			 SN_POLICY_DENY);
	/* a pin is extended by a later answer, never shortened */
	sn_pins_add(&pins, &a, "x.pinned.test", 0x7fffffff, t0);
	sn_pins_add(&pins, &a, "x.pinned.test", 1, t0);
	ck_assert_int_eq(sn_policy_decide(pol, &env, &pins, &f, t0 + SN_PIN_MAX_MS - 1, &v),
			 SN_POLICY_ALLOW);
	ck_assert_int_eq(sn_policy_decide(pol, &env, &pins, &f, t0 + SN_PIN_MAX_MS, &v),
			 SN_POLICY_DENY);
	sn_policy_free(pol);
}
END_TEST

/* A full cache reuses entries; it never grows, and expired ones go first. */
START_TEST(test_pin_bounds)
{
	char name[64];
	struct sn_ip a;
	unsigned i, it;

	sn_pins_init(&pins);
	a = ip("192.0.2.1");
	sn_pins_add(&pins, &a, "old.test", 1, 0);	/* expires at 30 s */
	for (i = 0; i < SN_PINS_MAX + 100; i++) {
		struct sn_ip b;

		sn_ip_from4(&b, htonl(0xc6336400u + i));	/* 198.51.100.0 + i */
		snprintf(name, sizeof(name), "n%u.test", i);
		sn_pins_add(&pins, &b, name, 300, 40000);
		ck_assert_uint_le(pins.n_used, SN_PINS_MAX);
	}
	it = 0;
	ck_assert_ptr_null(sn_pins_next(&pins, &a, 40000, &it));
	/* the newest are there */
	sn_ip_from4(&a, htonl(0xc6336400u + SN_PINS_MAX + 99));
	it = 0;
	ck_assert_str_eq(sn_pins_next(&pins, &a, 40000, &it), "n1123.test");
	ck_assert_ptr_null(sn_pins_next(&pins, &a, 40000, &it));
}
END_TEST

/* Several names on one address are all seen; adding one twice keeps one entry. */
START_TEST(test_pin_names)
{
	struct sn_ip a = ip("2001:db8::7");
	unsigned it = 0, n = 0;

	sn_pins_init(&pins);
	sn_pins_add(&pins, &a, "a.test", 300, 0);
	sn_pins_add(&pins, &a, "b.test", 300, 0);
	sn_pins_add(&pins, &a, "a.test", 300, 1000);
	while (sn_pins_next(&pins, &a, 5000, &it))
		n++;
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(pins.n_used, 2);
}
END_TEST

/* Rules beyond the bound are refused with a message; nothing is lost before. */
START_TEST(test_rule_limit)
{
	struct sn_policy *pol = sn_policy_new();
	char err[128];
	unsigned i;

	for (i = 0; i < SN_POLICY_MAX_RULES; i++)
		ck_assert_int_eq(sn_policy_add(pol, SN_POLICY_EGRESS, SN_POLICY_DENY, "10.0.0.1",
					       NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(sn_policy_add(pol, SN_POLICY_EGRESS, SN_POLICY_DENY, "10.0.0.1", NULL,
				       err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too many rules"));
	ck_assert_uint_eq(pol->n_rules, SN_POLICY_MAX_RULES);
	sn_policy_free(pol);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_loop_test(tc, test_flow_table, 0, (int)(sizeof(fcases) / sizeof(fcases[0])));
	tcase_add_loop_test(tc, test_name_table, 0, (int)(sizeof(ncases) / sizeof(ncases[0])));
	tcase_add_loop_test(tc, test_rebind_table, 0, (int)(sizeof(rcases) / sizeof(rcases[0])));
	tcase_add_loop_test(tc, test_parse_table, 0, (int)(sizeof(pcases) / sizeof(pcases[0])));
	tcase_add_test(tc, test_pin_expiry);
	tcase_add_test(tc, test_pin_bounds);
	tcase_add_test(tc, test_pin_names);
	tcase_add_test(tc, test_rule_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
