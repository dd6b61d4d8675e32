/* SPDX-License-Identifier: MIT */
/**
 * DOC: netif/hook.c, netif/hook6.c - who serves a guest packet
 *
 * lwIP's input hooks (LWIP_HOOK_IP4_INPUT, LWIP_HOOK_IP6_INPUT, declared
 * in lwipopts.h for lwIP) validate and classify every guest IP packet;
 * this header has what the rest of the engine calls, and the fragment
 * guard's state the engine keeps.
 */
#ifndef SANDNET_NETIF_HOOK_H
#define SANDNET_NETIF_HOOK_H

#include <stdint.h>

#include "lwip/pbuf.h"

struct sn_engine;

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

/**
 * struct sn_frag_guard - the guest's fragment sets abandoned for an overlap
 * @bad:	the sets, oldest reused first
 * @next:	next slot to reuse
 */
struct sn_frag_guard {
	struct sn_frag_bad bad[SN_FRAG_BAD];
	unsigned next;
};

/**
 * sn_ip_tcp_deliver() - feed a validated TCP packet to tcp_input()
 * @e:		engine
 * @p:		packet, payload at the IPv4 or IPv6 header; consumed
 * @hlen:	offset of the TCP header (after IPv6 extension headers)
 *
 * Does what ip4_input()/ip6_input() do for a packet addressed to a local
 * address, for any destination: lwIP then serves it with a listener bound
 * to the any-address.
 */
void sn_ip_tcp_deliver(struct sn_engine *e, struct pbuf *p, u16_t hlen);

#endif /* SANDNET_NETIF_HOOK_H */
