/* SPDX-License-Identifier: MIT */
/**
 * DOC: router advertisements on the guest link (ra.c)
 *
 * netif/hook6.c hands over every router solicitation from the guest and
 * tells ra.c when the guest first speaks IPv6; core/engine.c calls
 * sn_ra_tick() when the deadline ra.c armed (sn_timer_arm()) comes. The gateway then advertises
 * itself as the default router with the prefix of cfg.gw_ip6 for SLAAC, the
 * link MTU and itself as DNS server (RDNSS).
 */
#ifndef SANDNET_NETIF_RA_H
#define SANDNET_NETIF_RA_H

#include <stdint.h>

#include "lwip/ip6_addr.h"
#include "lwip/pbuf.h"

struct sn_engine;

/**
 * struct sn_ra_state - what ra.c keeps in the engine
 * @armed:	the guest has spoken IPv6
 * @unsolicited: unsolicited RAs sent so far
 * @next_ms:	when the next unsolicited RA is due
 * @last_ms:	when the last RA went out
 * @sent_once:	@last_ms holds a real time
 */
struct sn_ra_state {
	int armed;
	unsigned unsolicited;
	uint32_t next_ms;
	uint32_t last_ms;
	int sent_once;
};

/* Router lifetime (s): three times the longest interval between
 * unsolicited RAs, as RFC 4861 6.2.1 recommends. */
#define SN_RA_ROUTER_LIFETIME_S		1800
/* Prefix lifetimes (s): radvd's defaults (a day valid, four hours preferred). */
#define SN_RA_VALID_LIFETIME_S		86400
#define SN_RA_PREFERRED_LIFETIME_S	14400
/* RDNSS lifetime (s): as long as the router's (RFC 8106 5.1: >= 3 intervals). */
#define SN_RA_RDNSS_LIFETIME_S		1800
/* Unsolicited RAs: SN_RA_INITIAL_COUNT of them SN_RA_INITIAL_MS apart once
 * the guest speaks IPv6 (RFC 4861 6.2.4 allows 3 at <= 16 s), then one
 * every SN_RA_INTERVAL_MS (MaxRtrAdvInterval's default, 600 s). */
#define SN_RA_INITIAL_COUNT		3
#define SN_RA_INITIAL_MS		10000
#define SN_RA_INTERVAL_MS		600000
/* Multicast RAs are at least this far apart (MIN_DELAY_BETWEEN_RAS, RFC
 * 4861 10): a solicitation inside it is answered when it ends. */
#define SN_RA_MIN_DELAY_MS		3000

/**
 * sn_ra_guest_seen() - the guest sent an IPv6 packet: start advertising
 * @e:		engine
 *
 * The first call schedules the unsolicited RAs; later calls do nothing. An
 * engine whose guest never speaks IPv6 sends no RA at all.
 */
void sn_ra_guest_seen(struct sn_engine *e);

/**
 * sn_ra_input() - serve a router solicitation from the guest
 * @e:		engine
 * @p:		packet, payload at the IPv6 header; consumed
 * @hlen:	offset of the ICMPv6 header
 * @src:	IPv6 source (the guest's link-local or global address, or ::)
 * @dst:	IPv6 destination
 */
void sn_ra_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip6_addr_t *src,
		 const ip6_addr_t *dst);

/**
 * sn_ra_in_prefix() - is an address within the advertised prefix
 * @e:		engine
 * @addr:	16 bytes, network order
 *
 * A guest configured by SLAAC takes any address in the prefix (from its
 * MAC, a stable secret, or at random): all of them are the guest's.
 *
 * Return: non-zero if @addr is within cfg.gw_ip6/cfg.prefix_len6
 */
int sn_ra_in_prefix(const struct sn_engine *e, const void *addr);

/**
 * sn_ra_tick() - send an unsolicited RA when one is due, arm the next
 * @e:		engine
 */
void sn_ra_tick(struct sn_engine *e);

#endif /* SANDNET_NETIF_RA_H */
