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
#include "sandnet/sandnet.h"

struct sn_tcp;
struct sn_udp;
struct sn_icmp;
struct sn_dns;

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

/* Fragment sets remembered as abandoned (overlap), oldest reused first. */
#define SN_FRAG_BAD	16

/**
 * struct sn_frag_bad - a guest fragment set abandoned for an overlap
 * @key:	family, source, destination, identification (and IPv4 protocol)
 * @until_ms:	forgotten after this (the set has expired in lwIP by then)
 * @used:	slot in use
 */
struct sn_frag_bad {
	uint8_t key[40];
	uint32_t until_ms;
	int used;
};

/**
 * sn_frag_reass() - reassemble a guest fragment, abandoning sets that overlap
 * @e:		engine
 * @p:		the fragment as ip4_reass()/ip6_reass() take it; consumed
 * @key:	its set: family, addresses, identification (see struct sn_frag_bad)
 * @maxage_ms:	how long lwIP keeps an incomplete set
 * @reass:	ip4_reass or ip6_reass
 *
 * Return: the whole datagram, or NULL (kept for later, or dropped)
 */
struct pbuf *sn_frag_reass(struct sn_engine *e, struct pbuf *p, const uint8_t key[40],
			   uint32_t maxage_ms, struct pbuf *(*reass)(struct pbuf *));

struct sn_engine {
	struct sn_config cfg;
	struct sn_stats st;
	struct netif netif;
	int guest_mac_known;

	/* host fd table: a fixed number of slots, sized from the limits */
	struct sn_fd_slot *slots;
	unsigned n_slots;
	unsigned slots_hint;		/* lowest index that may be free */
	/* which slot each entry of the last sn_engine_pollfds() came from */
	unsigned *polled_slot;
	uint32_t *polled_gen;
	int n_polled;

	uint32_t next_tick_ms;		/* relays' periodic work */

	/* sn_engine_run() state */
	int link_fd;
	enum sn_link link;
	int link_dead;

	struct sn_tcp *tcp;
	struct sn_udp *udp;
	struct sn_icmp *icmp;
	struct sn_dns *dns;

	/* ICMP errors to the guest: token bucket (netif/output.c) */
	uint32_t icmp_err_credit_ms;	/* saved-up time, capped at the burst */
	uint32_t icmp_err_last_ms;	/* when the credit was last topped up */
	int icmp_err_started;		/* the bucket holds a real time */

	/* router advertisements (netif/ra.c) */
	int ra_armed;			/* the guest has spoken IPv6 */
	unsigned ra_unsolicited;	/* unsolicited RAs sent so far */
	uint32_t ra_next_ms;		/* when the next unsolicited RA is due */
	uint32_t ra_last_ms;		/* when the last RA went out */
	int ra_sent_once;		/* ra_last_ms holds a real time */

	/* guest fragment sets abandoned for an overlap (netif/hook.c) */
	struct sn_frag_bad frag_bad[SN_FRAG_BAD];
	unsigned frag_bad_next;		/* next slot to reuse */
};

/* The engine of this process, NULL when none exists. */
extern struct sn_engine *sn_eng;

/* Relays' periodic work runs this often. */
#define SN_TICK_MS	250

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
