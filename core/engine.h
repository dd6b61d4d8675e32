/* SPDX-License-Identifier: MIT */
/**
 * DOC: engine internals shared by netif/ and relay/
 *
 * The engine owns the configuration, the guest netif, the table of host
 * file descriptors with their callbacks, the clock and the counters. There
 * is exactly one engine per process (sn_eng), because lwIP's state is
 * global and its callbacks carry no engine pointer.
 */
#ifndef SANDNET_CORE_ENGINE_H
#define SANDNET_CORE_ENGINE_H

#include <stdint.h>

#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "netif/hook.h"
#include "netif/output.h"
#include "netif/ra.h"
#include "policy/policy.h"
#include "sandnet/sandnet.h"

struct sn_tcp;
struct sn_udp;
struct sn_icmp;
struct sn_dns;
struct sn_hostwatch;
struct sn_publish;

/* Most host interface addresses the policy's host group holds. */
#define SN_HOST_ADDRS_MAX	256

/**
 * typedef sn_fd_cb - a registered host fd is ready
 * @ctx:	the context given to sn_fd_add()
 * @fd:		the fd
 * @revents:	poll() revents
 */
typedef void (*sn_fd_cb)(void *ctx, int fd, short revents);

/**
 * struct sn_fd_slot - one host fd the engine polls
 * @fd:		the fd, -1 when the slot is free
 * @events:	poll() events wanted; 0 keeps the fd but does not poll it
 * @cb:		called from sn_engine_dispatch()
 * @ctx:	passed to @cb
 * @gen:	bumped on every reuse, so stale pollfds are recognised
 */
struct sn_fd_slot {
	int fd;
	short events;
	sn_fd_cb cb;
	void *ctx;
	uint32_t gen;
};

struct sn_engine {
	struct sn_config cfg;
	struct sn_stats st;
	struct netif netif;
	int guest_mac_known;
	/* the frame being input came with SN_INPUT_CSUM_OK: the relays do not
	 * check its TCP or UDP checksum */
	int in_csum_ok;

	/* host fd table: a fixed number of slots, sized from the limits */
	struct sn_fd_slot *slots;
	unsigned n_slots;
	unsigned slots_hint;		/* lowest index that may be free */
	unsigned slots_top;		/* one past the highest index in use */
	/* which slot each entry of the last sn_engine_pollfds() came from */
	unsigned *polled_slot;
	uint32_t *polled_gen;
	int n_polled;

	/* the relays' next deadline (sn_timer_arm()), and how long lwIP's
	 * cyclic timers still have work (sn_lwip_hold()) */
	uint32_t timer_due_ms;
	int timer_armed;
	uint32_t lwip_hold_ms;
	int lwip_held;

	struct sn_tcp *tcp;
	struct sn_udp *udp;
	struct sn_icmp *icmp;
	struct sn_dns *dns;
	struct sn_publish *publish;	/* published ports, NULL until the first */

	struct sn_icmp_bucket icmp_err;	/* ICMP errors to the guest (netif/output.c) */

	struct sn_ra_state ra;		/* router advertisements (netif/ra.c) */
	struct sn_frag_guard frag;	/* abandoned fragment sets (netif/hook.c) */

	/* policy (core/decide.c, core/hostwatch.c) */
	struct sn_policy *policy;	/* the one in force */
	struct sn_pins *pins;		/* DNS pin cache for domain rules */
	struct sn_policy_env env;	/* what addresses are, for the policy */
	struct sn_hostwatch *hostwatch;	/* the host's interface addresses */
	uint32_t deny_log_credit;	/* denial log token bucket, ms of tokens */
	uint32_t deny_log_last;
	int deny_log_started;
	unsigned deny_log_dropped;	/* denials not logged since the last one */
};

/* The engine of this process, NULL when none exists. */
extern struct sn_engine *sn_eng;

/**
 * sn_fd_add() - poll a host fd
 * @e:		engine
 * @fd:		fd, owned by the caller (sn_fd_del() does not close it)
 * @events:	POLLIN/POLLOUT
 * @cb:		ready callback
 * @ctx:	passed to @cb
 *
 * Return: slot index >= 0, or -1 when every slot is taken
 */
int sn_fd_add(struct sn_engine *e, int fd, short events, sn_fd_cb cb, void *ctx);

/**
 * sn_fd_events() - change the events wanted on a slot
 * @e:		engine
 * @slot:	from sn_fd_add()
 * @events:	new events (0: keep the slot, stop polling)
 */
void sn_fd_events(struct sn_engine *e, int slot, short events);

/**
 * sn_fd_del() - stop polling a slot; the caller closes the fd
 * @e:		engine
 * @slot:	from sn_fd_add(), or -1 (ignored)
 */
void sn_fd_del(struct sn_engine *e, int slot);

/**
 * sn_sock_bind_out() - bind a new host socket to cfg.outbound_ip4/6
 * @e:		engine
 * @fd:		socket, not yet bound or connected
 * @to:		where it will connect
 *
 * Return: 1 when bound, 0 when there is nothing to bind, or -1 with errno
 *	   from bind()
 */
int sn_sock_bind_out(struct sn_engine *e, int fd, const struct sockaddr *to);

/**
 * sn_timer_arm() - have the relays' timers run no later than @when
 * @e:		engine
 * @when:	a deadline, sn_now_ms() time
 *
 * Every relay arms its earliest deadline when it sets one, and again from
 * its tick for what is left; nothing armed, nothing runs.
 */
void sn_timer_arm(struct sn_engine *e, uint32_t when);

/**
 * sn_lwip_hold() - lwIP's cyclic timers have work for the next @ms
 * @e:		engine
 * @ms:		how long (a pending ARP entry, held fragments)
 *
 * Those timers (ARP, IPv4 and IPv6 reassembly, neighbour discovery) tick
 * once a second inside lwIP whatever they hold; the engine sleeps through
 * them unless something they serve exists (see sn_engine_timeout_ms()).
 */
void sn_lwip_hold(struct sn_engine *e, uint32_t ms);

/**
 * sn_now_ms() - the engine's monotonic clock (lwIP's sys_now())
 *
 * Return: milliseconds, wrapping
 */
uint32_t sn_now_ms(void);

/**
 * sn_log() - log one line through cfg.log (or stderr) if @level is enabled
 * @e:		engine
 * @level:	SN_LOG_*
 * @fmt:	printf format
 */
void sn_log(struct sn_engine *e, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- policy (core/decide.c) ---- */

/**
 * sn_policy_setup() - the default policy, pin cache, classification facts and
 *		       host address tracking
 * @e:		engine, netif up
 *
 * Return: 0, or -1 (ENOMEM)
 */
int sn_policy_setup(struct sn_engine *e);

/**
 * sn_policy_teardown() - free what sn_policy_setup() made
 * @e:		engine
 */
void sn_policy_teardown(struct sn_engine *e);

/**
 * sn_policy_env_init() - gateway, guest and broadcast addresses for the policy
 * @e:		engine, netif up
 */
void sn_policy_env_init(struct sn_engine *e);

/**
 * sn_decide() - the policy's verdict for a new flow; denials counted and logged
 * @e:		engine
 * @dir:	SN_POLICY_EGRESS or SN_POLICY_INGRESS
 * @proto:	SN_PROTO_TCP, SN_PROTO_UDP or SN_PROTO_ICMP
 * @addr:	egress: the destination as the guest wrote it; ingress: the peer
 * @port:	egress: destination port; ingress: the guest's port; 0 for ICMP
 * @v:		filled: verdict, class, address to dial
 *
 * Return: SN_POLICY_ALLOW or SN_POLICY_DENY
 */
int sn_decide(struct sn_engine *e, int dir, unsigned proto, const ip_addr_t *addr, u16_t port,
	      struct sn_verdict *v);

/**
 * sn_decide_name() - the policy's verdict for a DNS query's name; a denial
 *		      counted (policy_denied) and logged with its rule
 * @e:		engine
 * @name:	the name, lower case, no trailing dot (relay/dns.c's forms)
 * @v:		filled
 *
 * Return: SN_POLICY_ALLOW, or SN_POLICY_DENY (answer NXDOMAIN)
 */
int sn_decide_name(struct sn_engine *e, const char *name, struct sn_verdict *v);

/**
 * sn_decide_rebind() - may a DNS answer for @name give @ip (rebind
 *			protection); a refusal is logged
 * @e:		engine
 * @name:	the name asked
 * @ip:		an address of the answer
 *
 * Return: non-zero if it may
 */
int sn_decide_rebind(struct sn_engine *e, const char *name, const struct sn_ip *ip);

/**
 * sn_ip_from_lwip() - an lwIP address as the policy's
 * @out:	filled
 * @a:		IPv4 or IPv6 address
 */
void sn_ip_from_lwip(struct sn_ip *out, const ip_addr_t *a);

/**
 * sn_verdict_sockaddr() - where an allowed flow is dialled on the host
 * @v:		the allowing verdict
 * @port:	destination port, host order
 * @sa:		filled: the address to connect() to
 * @alt:	filled with the other loopback for the gateway (the host's
 *		service may listen on one family only), else AF_UNSPEC; may be NULL
 *
 * Return: 1 if the destination is the gateway (the host's loopback), else 0
 */
int sn_verdict_sockaddr(const struct sn_verdict *v, u16_t port, struct sockaddr_storage *sa,
			struct sockaddr_storage *alt);

/**
 * sn_sockaddr_loopback() - the host's loopback of a family
 * @sa:		filled
 * @family:	AF_INET (127.0.0.1) or AF_INET6 (::1)
 * @port:	port, host order
 */
void sn_sockaddr_loopback(struct sockaddr_storage *sa, int family, u16_t port);

/**
 * sn_deny_icmp() - answer a guest packet the policy refused with ICMP
 *		    administratively prohibited, from the gateway
 * @e:		engine
 * @p:		the guest's packet, payload at its IPv4 or IPv6 header; not freed
 */
void sn_deny_icmp(struct sn_engine *e, const struct pbuf *p);

/**
 * sn_time_after() - has @now reached @deadline, on a wrapping clock
 * @now:	current time
 * @deadline:	time to compare with
 *
 * Return: non-zero if @now is at or past @deadline
 */
static inline int sn_time_after(uint32_t now, uint32_t deadline)
{
	return (int32_t)(now - deadline) >= 0;
}

#endif /* SANDNET_CORE_ENGINE_H */
