// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the engine asks the policy
 *
 * policy/ is pure; this file gives it the engine's facts and acts on its
 * answers. The engine owns one policy (sn_engine_set_policy() replaces it
 * whole, so every flow is decided by one policy), the DNS pin cache, and
 * the classification environment: gateway and guest addresses from the
 * configuration (the DNS forwarder's own addresses, cfg.dns_ip4/6, count
 * as the gateway's), the gateway's IPv6 link-local address from the netif,
 * the guest subnet's broadcast address, and the host's interface
 * addresses (core/hostwatch.c keeps them current).
 *
 * sn_decide() is what every relay calls once per new flow (TCP SYN, UDP
 * session, ICMP echo flow, DNS query): it converts lwIP's address, asks
 * sn_policy_decide() with the engine's clock, counts a denial
 * (policy_denied; host_denied too when the host or its loopback was the
 * destination) and logs it with the deciding rule, rate limited. The relay
 * then refuses the flow its own way (TCP: RST; UDP, ICMP: ICMP
 * administratively prohibited through sn_deny_icmp(); class never:
 * silently) or dials the address sn_verdict_sockaddr() gives.
 *
 * DNS adds two questions, asked by relay/dns.c for every query and answer
 * over UDP and TCP: sn_decide_name() (may the guest resolve this name; a
 * denial is counted and logged like a flow's) and sn_decide_rebind() (may
 * an answer give this address for that name; a refusal is logged). All
 * denial logs share one token bucket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "core/engine.h"
#include "core/hostwatch.h"
#include "lwip/icmp.h"
#include "lwip/ip.h"
#include "lwip/prot/icmp6.h"
#include "netif/output.h"
#include "policy/policy.h"

/* Denials logged: a burst, then this many per second. */
#define SN_DENY_LOG_BURST	20
#define SN_DENY_LOG_PER_S	5
/* ICMP destination unreachable, communication administratively prohibited. */
#define SN_ICMP_DUR_ADMIN	13

/**
 * sn_ip_from_lwip() - an lwIP address as the policy's
 * @out:	filled
 * @a:		IPv4 or IPv6 address
 */
void sn_ip_from_lwip(struct sn_ip *out, const ip_addr_t *a)
{
	if (IP_IS_V6(a))
		memcpy(out->b, ip_2_ip6(a)->addr, 16);
	else
		sn_ip_from4(out, ip4_addr_get_u32(ip_2_ip4(a)));
}

/**
 * sn_policy_env_init() - the facts the policy classifies with
 * @e:		engine, its netif up (the link-local address is set)
 */
void sn_policy_env_init(struct sn_engine *e)
{
	struct sn_policy_env *env = &e->env;
	uint32_t mask = e->cfg.prefix_len4 ? ~0U << (32 - e->cfg.prefix_len4) : 0;
	uint32_t bcast = (ntohl(e->cfg.guest_ip4.s_addr) & mask) | ~mask;
	const ip6_addr_t *ll = netif_ip6_addr(&e->netif, 0);

	sn_ip_from4(&env->gw[0], e->cfg.gw_ip4.s_addr);
	memcpy(env->gw[1].b, &e->cfg.gw_ip6, 16);
	memcpy(env->gw[2].b, ll->addr, 16);
	env->n_gw = 3;
	/* the DNS forwarder's own addresses (slirp's 10.0.2.3, fd00::3) are
	 * the gateway too: its port 53 the forwarder, the rest the host's */
	if (e->cfg.dns_ip4.s_addr != e->cfg.gw_ip4.s_addr)
		sn_ip_from4(&env->gw[env->n_gw++], e->cfg.dns_ip4.s_addr);
	if (memcmp(&e->cfg.dns_ip6, &e->cfg.gw_ip6, 16))
		memcpy(env->gw[env->n_gw++].b, &e->cfg.dns_ip6, 16);
	sn_ip_from4(&env->guest[0], e->cfg.guest_ip4.s_addr);
	memcpy(env->guest[1].b, &e->cfg.guest_ip6, 16);
	env->n_guest = 2;
	sn_ip_from4(&env->bcast4, htonl(bcast));
}

/**
 * deny_log_ok() - may one more denial be logged now (token bucket)
 * @e:		engine
 *
 * Return: non-zero if it may
 */
static int deny_log_ok(struct sn_engine *e)
{
	uint32_t now = sn_now_ms(), cap = SN_DENY_LOG_BURST * 1000;

	if (!e->deny_log_started) {
		e->deny_log_started = 1;
		e->deny_log_credit = cap;
		e->deny_log_last = now;
	}
	e->deny_log_credit += (now - e->deny_log_last) * SN_DENY_LOG_PER_S;
	if (e->deny_log_credit > cap)
		e->deny_log_credit = cap;
	e->deny_log_last = now;
	if (e->deny_log_credit < 1000) {
		e->deny_log_dropped++;
		return 0;
	}
	e->deny_log_credit -= 1000;
	return 1;
}

/**
 * deny_log() - log a denial with what decided it, rate limited
 * @e:		engine
 * @what:	what was refused
 * @why:	the rule or setting that refused it
 */
static void deny_log(struct sn_engine *e, const char *what, const char *why)
{
	if (e->cfg.log_level < SN_LOG_INFO || !deny_log_ok(e))
		return;
	sn_log(e, SN_LOG_INFO, "policy: %s: %s%s", what, why,
	       e->deny_log_dropped ? " (and earlier denials not logged)" : "");
	e->deny_log_dropped = 0;
}

int sn_decide(struct sn_engine *e, int dir, unsigned proto, const ip_addr_t *addr, u16_t port,
	      struct sn_verdict *v)
{
	static const char *const pname[] = { "?", "tcp", "udp", "?", "icmp" };
	struct sn_flow_desc f = { .dir = dir, .proto = proto, .port = port };
	char a[48], what[128], why[SN_RULE_ORIGIN_MAX + 96];

	sn_ip_from_lwip(&f.ip, addr);
	if (sn_policy_decide(e->policy, &e->env, e->pins, &f, sn_now_ms(), v) == SN_POLICY_ALLOW)
		return SN_POLICY_ALLOW;

	e->st.policy_denied++;
	/* host_denied: the guest's way to the host; an ingress peer on the
	 * host's loopback is a client of a published port, not that */
	if (dir == SN_POLICY_EGRESS && (v->cls == SN_CLASS_GATEWAY || v->cls == SN_CLASS_HOST ||
					v->cls == SN_CLASS_LOOPBACK))
		e->st.host_denied++;
	if (e->cfg.log_level < SN_LOG_INFO)
		return SN_POLICY_DENY;
	sn_ip_format(&f.ip, a, sizeof(a));
	snprintf(what, sizeof(what), "%s %s %s%s%s%s%.0u (%s)",
		 dir == SN_POLICY_INGRESS ? "ingress from" : "egress", pname[proto & 7],
		 sn_ip_is4(&f.ip) ? "" : "[", a, sn_ip_is4(&f.ip) ? "" : "]",
		 proto == SN_PROTO_ICMP ? "" : ":", proto == SN_PROTO_ICMP ? 0U : port,
		 sn_class_name(v->cls));
	deny_log(e, what, sn_verdict_explain(v, why, sizeof(why)));
	return SN_POLICY_DENY;
}

int sn_decide_name(struct sn_engine *e, const char *name, struct sn_verdict *v)
{
	char what[SN_NAME_MAX + 32], why[SN_RULE_ORIGIN_MAX + 96];

	if (sn_policy_decide_name(e->policy, name, v) == SN_POLICY_ALLOW)
		return SN_POLICY_ALLOW;
	e->st.policy_denied++;
	if (e->cfg.log_level < SN_LOG_INFO)
		return SN_POLICY_DENY;
	snprintf(what, sizeof(what), "dns query %s", *name ? name : ".");
	deny_log(e, what, sn_verdict_explain(v, why, sizeof(why)));
	return SN_POLICY_DENY;
}

int sn_decide_rebind(struct sn_engine *e, const char *name, const struct sn_ip *ip)
{
	char a[48], what[SN_NAME_MAX + 96];
	struct sn_ip norm;

	if (sn_policy_rebind_ok(e->policy, &e->env, name, ip))
		return 1;
	if (e->cfg.log_level < SN_LOG_INFO)
		return 0;
	sn_ip_normalise(ip, &norm);
	snprintf(what, sizeof(what), "dns answer %s -> %s (%s)", *name ? name : ".",
		 sn_ip_format(&norm, a, sizeof(a)), sn_class_name(sn_classify(&e->env, &norm)));
	deny_log(e, what, "NXDOMAIN: rebind protection");
	return 0;
}

/**
 * sockaddr_set() - a socket address from a policy address
 * @sa:		filled: AF_INET for an IPv4-mapped address, else AF_INET6
 * @ip:		address
 * @port:	port, host order
 */
static void sockaddr_set(struct sockaddr_storage *sa, const struct sn_ip *ip, u16_t port)
{
	memset(sa, 0, sizeof(*sa));
	if (sn_ip_is4(ip)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = sn_ip_to4(ip);
		return;
	}
	((struct sockaddr_in6 *)sa)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
	memcpy(&((struct sockaddr_in6 *)sa)->sin6_addr, ip->b, 16);
}

void sn_sockaddr_loopback(struct sockaddr_storage *sa, int family, u16_t port)
{
	struct sn_ip lo = { .b = { [15] = 1 } };

	if (family == AF_INET)
		sn_ip_from4(&lo, htonl(INADDR_LOOPBACK));
	sockaddr_set(sa, &lo, port);
}

int sn_verdict_sockaddr(const struct sn_verdict *v, u16_t port, struct sockaddr_storage *sa,
			struct sockaddr_storage *alt)
{
	int family = sn_ip_is4(&v->norm) ? AF_INET : AF_INET6;

	if (alt)
		alt->ss_family = AF_UNSPEC;
	if (v->cls != SN_CLASS_GATEWAY) {
		sockaddr_set(sa, &v->dial, port);
		return 0;
	}
	/* the gateway stands for the host: its loopback of the same family,
	 * the other one if that refuses */
	sn_sockaddr_loopback(sa, family, port);
	if (alt)
		sn_sockaddr_loopback(alt, family == AF_INET ? AF_INET6 : AF_INET, port);
	return 1;
}

void sn_deny_icmp(struct sn_engine *e, const struct pbuf *p)
{
	ip_addr_t gw;

	if (IP_HDR_GET_VERSION(p->payload) == 6) {
		ip_addr_set_zero_ip6(&gw);
		memcpy(ip_2_ip6(&gw)->addr, &e->cfg.gw_ip6, 16);
		sn_icmp6_error_pbuf(e, ip_2_ip6(&gw), ICMP6_TYPE_DUR, ICMP6_DUR_PROHIBITED, 0, p);
		return;
	}
	ip_addr_set_ip4_u32_val(gw, e->cfg.gw_ip4.s_addr);
	sn_icmp4_error_pbuf(e, ip_2_ip4(&gw), ICMP_DUR, SN_ICMP_DUR_ADMIN, 0, p);
}

/**
 * sn_engine_set_policy() - decide new flows with @pol from now on
 * @e:		engine
 * @pol:	policy, owned by the engine from now on (NULL: the default profile)
 */
void sn_engine_set_policy(struct sn_engine *e, struct sn_policy *pol)
{
	if (!pol)
		pol = sn_policy_new();
	if (!pol)
		return;		/* ENOMEM: keep the one in force */
	sn_policy_free(e->policy);
	e->policy = pol;
}

int sn_policy_setup(struct sn_engine *e)
{
	char err[128];

	e->pins = calloc(1, sizeof(*e->pins));
	e->policy = sn_policy_new();
	if (!e->pins || !e->policy)
		return -1;
	/* calloc()'s zeroes are an empty cache: sn_pins_init() would write,
	 * and make resident, every page of its ~280 KiB */
	sn_policy_env_init(e);
	if (e->cfg.allow_host_loopback &&
	    sn_policy_add(e->policy, SN_POLICY_EGRESS, SN_POLICY_ALLOW, "group:host",
			  "cfg.allow_host_loopback", err, sizeof(err)))
		return -1;
	return sn_hostwatch_init(e);
}

void sn_policy_teardown(struct sn_engine *e)
{
	sn_hostwatch_fini(e);
	sn_policy_free(e->policy);
	e->policy = NULL;
	free(e->pins);
	e->pins = NULL;
}
