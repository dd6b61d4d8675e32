// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation
 *
 * The engine is the public face of libsandnet. It holds the one lwIP
 * instance of the process (lwIP's state is global), the guest netif, and a
 * fixed table of host fds. Relays register their sockets in the table with
 * a callback; sn_engine_pollfds() exports the table for the embedder's
 * poll(), sn_engine_dispatch() calls back whoever is ready, then runs lwIP's
 * timers and the relays' expiry work when due.
 *
 * Timers: an idle engine does not wake up. Each relay arms its earliest
 * deadline (UDP and ICMP idle expiry, DNS upstream timeouts, TCP connect
 * deadlines, published ports' rests and UDP clients, the next router
 * advertisement) with sn_timer_arm() when it sets one; when the deadline
 * comes every relay's tick runs and arms again what it has left. lwIP's
 * timers are its own list: TCP's runs only while connections exist (lwIP
 * stops it itself), but the cyclic ones (ARP, IPv4 and IPv6 reassembly,
 * neighbour discovery) tick every second forever. They count only while
 * they hold something: a pending ARP entry or fragments (both announced
 * through sn_lwip_hold() by whoever creates them) or a neighbour cache
 * entry with a timer running. Otherwise sn_engine_timeout_ms() ignores
 * them; lwIP runs them, once, late, on the next wake-up for another
 * reason, when they find nothing to do.
 *
 * Slots carry a generation number: a callback may close and reuse slots
 * while the embedder still holds pollfds from before, and those stale
 * entries must not reach the new owner.
 *
 * No link code lives here: frames come in through sn_engine_input() and
 * leave through cfg.output, and frontend/ carries them on fds (TAP, QEMU's
 * stream and datagram sockets) with nothing but these public calls.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "lwip/init.h"
#include "lwip/priv/nd6_priv.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"
#include "netif/guestif.h"
#include "netif/ra.h"
#include "relay/relay.h"

struct sn_engine *sn_eng;
static const char *last_error = "no error";
static int lwip_ready;

/* Fixed slots beyond the relays' own limits: DNS, spare for accept races. */
#define SN_SLOTS_EXTRA	16

/**
 * sn_config_init() - fill @cfg with safe defaults (QEMU user-net addressing)
 * @cfg:	config to fill
 */
void sn_config_init(struct sn_config *cfg)
{
	static const uint8_t gw_mac[6] = { 0x02, 0x73, 0x6e, 0x00, 0x00, 0x01 };

	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = SN_LOG_WARN;
	memcpy(cfg->gw_mac, gw_mac, sizeof(gw_mac));
	cfg->gw_ip4.s_addr = htonl(0x0a000202);		/* 10.0.2.2 */
	cfg->guest_ip4.s_addr = htonl(0x0a00020f);	/* 10.0.2.15 */
	cfg->prefix_len4 = 24;
	inet_pton(AF_INET6, "fd00:2::2", &cfg->gw_ip6);
	inet_pton(AF_INET6, "fd00:2::15", &cfg->guest_ip6);
	cfg->prefix_len6 = 64;
	cfg->mtu = 1500;
	cfg->resolv_conf = "/etc/resolv.conf";
	cfg->max_tcp_flows = 1024;
	cfg->max_tcp_pending = 256;
	cfg->max_tcp_pending_per_dest = 128;
	cfg->max_udp_sessions = 256;
	cfg->max_icmp_flows = 64;
	cfg->max_dns_queries = 256;
	cfg->udp_idle_ms = 60000;
	cfg->tcp_connect_ms = 30000;
	cfg->dns_timeout_ms = 2000;
}

/**
 * sn_strerror() - why the last sn_engine_new() failed
 *
 * Return: a static message
 */
const char *sn_strerror(void)
{
	return last_error;
}

/**
 * fail() - record why sn_engine_new() fails
 * @err:	errno value
 * @msg:	static message
 *
 * Return: NULL, for the caller to return
 */
static struct sn_engine *fail(int err, const char *msg)
{
	last_error = msg;
	errno = err;
	return NULL;
}

/**
 * config_check() - validate a configuration
 * @cfg:	config
 *
 * Return: NULL if usable, else a static message
 */
static const char *config_check(const struct sn_config *cfg)
{
	if (cfg->mtu < 576 || cfg->mtu > 65520)
		return "mtu must be within 576..65520";
	if (cfg->prefix_len4 < 1 || cfg->prefix_len4 > 30)
		return "prefix_len4 must be within 1..30";
	if (cfg->gw_ip4.s_addr == cfg->guest_ip4.s_addr ||
	    !memcmp(&cfg->gw_ip6, &cfg->guest_ip6, sizeof(cfg->gw_ip6)))
		return "gateway and guest addresses must differ";
	if (cfg->dns_ip4.s_addr == cfg->guest_ip4.s_addr ||
	    !memcmp(&cfg->dns_ip6, &cfg->guest_ip6, sizeof(cfg->dns_ip6)))
		return "DNS and guest addresses must differ";
	if (cfg->prefix_len6 < 8 || cfg->prefix_len6 > 126)
		return "prefix_len6 must be within 8..126";
	if (cfg->n_dns_upstreams > SN_MAX_DNS_UPSTREAMS)
		return "too many DNS upstreams";
	if (!cfg->max_tcp_flows || !cfg->max_udp_sessions || !cfg->max_icmp_flows ||
	    !cfg->max_dns_queries)
		return "flow limits must be at least 1";
	if (cfg->max_tcp_flows > 65536 || cfg->max_udp_sessions > 65536 ||
	    cfg->max_icmp_flows > 65536 || cfg->max_dns_queries > 65536)
		return "flow limits must be at most 65536";
	if (!cfg->max_tcp_pending || !cfg->max_tcp_pending_per_dest)
		return "max_tcp_pending and max_tcp_pending_per_dest must be at least 1";
	if (!cfg->udp_idle_ms || !cfg->tcp_connect_ms || !cfg->dns_timeout_ms)
		return "timeouts must be non-zero";
	return NULL;
}

/**
 * sn_engine_new() - create the (only) engine of this process
 * @cfg:	configuration, copied
 *
 * Return: the engine, or NULL with errno and sn_strerror() set
 */
struct sn_engine *sn_engine_new(const struct sn_config *cfg)
{
	struct sn_engine *e;
	const char *bad;
	unsigned i;

	if (sn_eng)
		return fail(EBUSY, "an engine already exists in this process (one engine per process)");
	if (!cfg)
		return fail(EINVAL, "no configuration");
	bad = config_check(cfg);
	if (bad)
		return fail(EINVAL, bad);

	e = calloc(1, sizeof(*e));
	if (!e)
		return fail(ENOMEM, "out of memory");
	e->cfg = *cfg;
	/* no DNS address of its own: the gateway's is the one */
	if (!e->cfg.dns_ip4.s_addr)
		e->cfg.dns_ip4 = e->cfg.gw_ip4;
	if (IN6_IS_ADDR_UNSPECIFIED(&e->cfg.dns_ip6))
		e->cfg.dns_ip6 = e->cfg.gw_ip6;
	e->n_slots = cfg->max_tcp_flows + cfg->max_udp_sessions + cfg->max_icmp_flows +
		     cfg->max_dns_queries + SN_PUBLISH_MAX + SN_SLOTS_EXTRA;
	e->slots = calloc(e->n_slots, sizeof(*e->slots));
	e->polled_slot = calloc(e->n_slots, sizeof(*e->polled_slot));
	e->polled_gen = calloc(e->n_slots, sizeof(*e->polled_gen));
	if (!e->slots || !e->polled_slot || !e->polled_gen) {
		free(e->slots);
		free(e->polled_slot);
		free(e->polled_gen);
		free(e);
		return fail(ENOMEM, "out of memory");
	}
	for (i = 0; i < e->n_slots; i++)
		e->slots[i].fd = -1;

	sn_eng = e;
	if (!lwip_ready) {
		lwip_init();
		lwip_ready = 1;
	}
	if (sn_guestif_init(e) || sn_policy_setup(e) || sn_tcp_init(e) || sn_udp_init(e) ||
	    sn_icmp_init(e) || sn_dns_init(e)) {
		sn_engine_free(e);
		return fail(ENOMEM, "cannot set up the guest interface or relays");
	}
	return e;
}

/**
 * sn_engine_free() - close every host socket and free the engine
 * @e:		engine, may be NULL
 */
void sn_engine_free(struct sn_engine *e)
{
	if (!e)
		return;
	sn_publish_fini(e);
	sn_dns_fini(e);
	sn_icmp_fini(e);
	sn_udp_fini(e);
	sn_tcp_fini(e);
	sn_policy_teardown(e);
	sn_guestif_fini(e);
	sn_port_mem_drain();
	free(e->slots);
	free(e->polled_slot);
	free(e->polled_gen);
	free(e);
	if (sn_eng == e)
		sn_eng = NULL;
}

/**
 * sn_sock_bind_out() - bind a new host socket to cfg.outbound_ip4/6
 * @e:		engine
 * @fd:		socket, not yet bound or connected
 * @to:		where it will connect (AF_INET or AF_INET6)
 *
 * Sockets to the host's loopback (the gateway's services) keep the
 * kernel's source: a configured outbound address is for leaving the host.
 *
 * Return: 1 when bound, 0 when there is nothing to bind, or -1 with errno
 *	   from bind()
 */
int sn_sock_bind_out(struct sn_engine *e, int fd, const struct sockaddr *to)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	memset(&ss, 0, sizeof(ss));
	if (to->sa_family == AF_INET6) {
		const struct sockaddr_in6 *t = (const struct sockaddr_in6 *)to;
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_UNSPECIFIED(&e->cfg.outbound_ip6) ||
		    IN6_IS_ADDR_LOOPBACK(&t->sin6_addr) || IN6_IS_ADDR_V4MAPPED(&t->sin6_addr))
			return 0;
		a->sin6_family = AF_INET6;
		a->sin6_addr = e->cfg.outbound_ip6;
		sl = sizeof(*a);
	} else {
		const struct sockaddr_in *t = (const struct sockaddr_in *)to;
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		if (!e->cfg.outbound_ip4.s_addr || (ntohl(t->sin_addr.s_addr) >> 24) == 127)
			return 0;
		a->sin_family = AF_INET;
		a->sin_addr = e->cfg.outbound_ip4;
		sl = sizeof(*a);
	}
	return bind(fd, (const struct sockaddr *)&ss, sl) ? -1 : 1;
}

/**
 * sn_fd_add() - poll a host fd
 * @e:		engine
 * @fd:		fd, owned by the caller
 * @events:	POLLIN/POLLOUT
 * @cb:		ready callback
 * @ctx:	passed to @cb
 *
 * Return: slot index, or -1 when every slot is taken
 */
int sn_fd_add(struct sn_engine *e, int fd, short events, sn_fd_cb cb, void *ctx)
{
	unsigned i;

	for (i = e->slots_hint; i < e->n_slots; i++) {
		struct sn_fd_slot *s = &e->slots[i];

		if (s->fd >= 0)
			continue;
		s->fd = fd;
		s->events = events;
		s->cb = cb;
		s->ctx = ctx;
		s->gen++;
		e->slots_hint = i + 1;
		if (e->slots_top < i + 1)
			e->slots_top = i + 1;
		return (int)i;
	}
	return -1;
}

/**
 * sn_fd_events() - change the events wanted on a slot
 * @e:		engine
 * @slot:	from sn_fd_add()
 * @events:	new events
 */
void sn_fd_events(struct sn_engine *e, int slot, short events)
{
	if (slot >= 0 && (unsigned)slot < e->n_slots)
		e->slots[slot].events = events;
}

/**
 * sn_fd_del() - stop polling a slot
 * @e:		engine
 * @slot:	from sn_fd_add(), or -1
 */
void sn_fd_del(struct sn_engine *e, int slot)
{
	if (slot < 0 || (unsigned)slot >= e->n_slots)
		return;
	e->slots[slot].fd = -1;
	e->slots[slot].cb = NULL;
	e->slots[slot].ctx = NULL;
	if ((unsigned)slot < e->slots_hint)
		e->slots_hint = (unsigned)slot;
	while (e->slots_top && e->slots[e->slots_top - 1].fd < 0)
		e->slots_top--;
}

/**
 * sn_engine_pollfds() - host sockets the engine waits on
 * @e:		engine
 * @fds:	filled with up to @max entries
 * @max:	size of @fds
 *
 * Called before every poll(): only the slots up to the highest in use are
 * walked, not the whole table sized for the limits.
 *
 * Return: number of entries filled
 */
int sn_engine_pollfds(struct sn_engine *e, struct pollfd *fds, int max)
{
	unsigned i;
	int n = 0;

	for (i = 0; i < e->slots_top && n < max; i++) {
		const struct sn_fd_slot *s = &e->slots[i];

		if (s->fd < 0 || !s->events)
			continue;
		fds[n].fd = s->fd;
		fds[n].events = s->events;
		fds[n].revents = 0;
		e->polled_slot[n] = i;
		e->polled_gen[n] = s->gen;
		n++;
	}
	e->n_polled = n;
	return n;
}

/**
 * sn_engine_pollfds_max() - the most entries sn_engine_pollfds() fills
 * @e:		engine
 *
 * Return: the size of the fd table, fixed when the engine was made
 */
int sn_engine_pollfds_max(struct sn_engine *e)
{
	return (int)e->n_slots;
}

/**
 * sn_timer_arm() - have the relays' timers run no later than @when
 * @e:		engine
 * @when:	a deadline, sn_now_ms() time
 */
void sn_timer_arm(struct sn_engine *e, uint32_t when)
{
	if (!e->timer_armed || sn_time_after(e->timer_due_ms, when)) {
		e->timer_due_ms = when;
		e->timer_armed = 1;
	}
}

/**
 * sn_lwip_hold() - lwIP's cyclic timers have work for the next @ms
 * @e:		engine
 * @ms:		how long
 */
void sn_lwip_hold(struct sn_engine *e, uint32_t ms)
{
	uint32_t until = sn_now_ms() + ms;

	if (!e->lwip_held || sn_time_after(until, e->lwip_hold_ms)) {
		e->lwip_hold_ms = until;
		e->lwip_held = 1;
	}
}

/**
 * nd6_busy() - does lwIP's neighbour discovery timer have work
 * @e:		engine
 *
 * nd6_tmr() resolves, probes and ages REACHABLE entries to STALE; counts
 * down routers and prefixes learnt from advertisements (the guest's are
 * dropped by netif/hook6.c, so there are none) and runs duplicate address
 * detection (off). A STALE entry's only timer is an age that picks the
 * victim when the cache is full.
 *
 * Return: non-zero if a neighbour entry, router, prefix or tentative
 *	   address is counting down
 */
static int nd6_busy(struct sn_engine *e)
{
	int i;

	for (i = 0; i < LWIP_ND6_NUM_NEIGHBORS; i++)
		if (neighbor_cache[i].state != ND6_NO_ENTRY && neighbor_cache[i].state != ND6_STALE)
			return 1;
	for (i = 0; i < LWIP_ND6_NUM_ROUTERS; i++)
		if (default_router_list[i].neighbor_entry)
			return 1;
	for (i = 0; i < LWIP_ND6_NUM_PREFIXES; i++)
		if (prefix_list[i].netif)
			return 1;
	for (i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
		if (ip6_addr_istentative(netif_ip6_addr_state(&e->netif, i)))
			return 1;
	return 0;
}

/**
 * lwip_busy() - do lwIP's timers have work
 * @e:		engine
 * @now:	sn_now_ms()
 *
 * Return: non-zero while TCP connections exist (lwIP's TCP timer runs then
 *	   and only then), a hold from sn_lwip_hold() lasts, or ND is busy
 */
static int lwip_busy(struct sn_engine *e, uint32_t now)
{
	if (tcp_active_pcbs || tcp_tw_pcbs)
		return 1;
	if (e->lwip_held) {
		if (!sn_time_after(now, e->lwip_hold_ms))
			return 1;
		e->lwip_held = 0;
	}
	return nd6_busy(e);
}

/**
 * sn_engine_timeout_ms() - longest the embedder may sleep
 * @e:		engine
 *
 * Return: milliseconds until lwIP's next timer with work or the relays'
 *	   next deadline (0: one is due), or -1 when nothing has a timer
 */
int sn_engine_timeout_ms(struct sn_engine *e)
{
	uint32_t now = sn_now_ms(), lwip_ms = SYS_TIMEOUTS_SLEEPTIME_INFINITE;
	int32_t due = -1;

	if (e->timer_armed) {
		due = (int32_t)(e->timer_due_ms - now);
		if (due < 0)
			due = 0;
	}
	if (lwip_busy(e, now))
		lwip_ms = sys_timeouts_sleeptime();
	if (lwip_ms != SYS_TIMEOUTS_SLEEPTIME_INFINITE && (due < 0 || (int32_t)lwip_ms < due))
		return (int)lwip_ms;
	return (int)due;
}

/**
 * run_timers() - lwIP timers, then the relays' when their deadline came
 * @e:		engine
 */
static void run_timers(struct sn_engine *e)
{
	sys_check_timeouts();
	if (!e->timer_armed || !sn_time_after(sn_now_ms(), e->timer_due_ms))
		return;
	e->timer_armed = 0;
	sn_tcp_tick(e);
	sn_udp_tick(e);
	sn_icmp_tick(e);
	sn_dns_tick(e);
	sn_publish_tick(e);
	sn_ra_tick(e);
}

/**
 * sn_engine_dispatch() - serve ready sockets and due timers
 * @e:		engine
 * @fds:	entries from sn_engine_pollfds() with revents set
 * @n:		number of entries
 *
 * Entries are matched to slots by the order of the last sn_engine_pollfds()
 * call, and skipped when their slot has been reused since.
 */
void sn_engine_dispatch(struct sn_engine *e, const struct pollfd *fds, int n)
{
	int i;

	if (n > e->n_polled)
		n = e->n_polled;
	for (i = 0; i < n; i++) {
		struct sn_fd_slot *s;

		if (!fds[i].revents)
			continue;
		s = &e->slots[e->polled_slot[i]];
		if (s->fd != fds[i].fd || s->gen != e->polled_gen[i] || !s->cb)
			continue;
		s->cb(s->ctx, s->fd, fds[i].revents);
	}
	run_timers(e);
}

/**
 * sn_engine_input() - one frame from the guest
 * @e:		engine
 * @frame:	Ethernet frame
 * @len:	its length
 *
 * Return: 0 if taken, -1 if dropped
 */
int sn_engine_input(struct sn_engine *e, const void *frame, size_t len)
{
	return sn_engine_input_flags(e, frame, len, 0);
}

/**
 * sn_engine_input_flags() - one frame from the guest, with what the link says
 * @e:		engine
 * @frame:	Ethernet frame
 * @len:	its length
 * @flags:	SN_INPUT_* bits
 *
 * Return: 0 if taken, -1 if dropped
 */
int sn_engine_input_flags(struct sn_engine *e, const void *frame, size_t len, unsigned flags)
{
	int rc;

	e->st.frames_in++;
	e->st.bytes_in += len;
	e->in_csum_ok = !!(flags & SN_INPUT_CSUM_OK);
	rc = sn_guestif_input(e, frame, len);
	e->in_csum_ok = 0;
	return rc;
}

/**
 * sn_engine_tcp_pending() - TCP connections still open, for a drain before exit
 * @e:		engine
 * @progress:	if not NULL, set to guest TCP segments plus TCP bytes relayed
 *
 * Return: TCP connections not yet closed on both sides
 */
unsigned sn_engine_tcp_pending(struct sn_engine *e, uint64_t *progress)
{
	uint64_t segs;
	unsigned n = sn_tcp_pending(e, &segs);

	if (progress)
		*progress = segs + e->st.tcp_bytes_up + e->st.tcp_bytes_down;
	return n;
}

/**
 * sn_log() - log one line if @level is enabled
 * @e:		engine
 * @level:	SN_LOG_*
 * @fmt:	printf format
 */
void sn_log(struct sn_engine *e, int level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[512];
	va_list ap;

	if (level > e->cfg.log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (e->cfg.log)
		e->cfg.log(e->cfg.user, level, line);
	else
		fprintf(stderr, "sandnet: %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level], line);
}

/**
 * sn_now_ms() - the engine's clock
 *
 * Return: lwIP's sys_now()
 */
uint32_t sn_now_ms(void)
{
	return sys_now();
}
