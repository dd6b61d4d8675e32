// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - who serves a guest packet
 *
 * LWIP_HOOK_IP4_INPUT runs at the top of ip4_input(), before lwIP has
 * validated anything. sn_hook_ip4_input() validates the header (version,
 * lengths, checksum, source is the guest), then decides:
 *
 * - UDP to port 67 from 0.0.0.0 or the guest address, to 255.255.255.255
 *   or the gateway: the DHCP server (netif/dhcp.c); a client without an
 *   address yet sends from 0.0.0.0, so this comes before the source check;
 * - ICMP to the gateway: lwIP answers it (return 0, ip4_input() goes on);
 *   unfragmented ICMP to the DNS forwarder's own address (cfg.dns_ip4, when
 *   it has one) too, handed to icmp_input() here: lwIP gives a netif one
 *   IPv4 address only;
 * - TCP to any address: the TCP relay (relay/tcp.c), which holds the SYN
 *   until the host connect() resolves and then feeds lwIP through
 *   sn_ip_tcp_deliver();
 * - UDP to port 53 of any address: the DNS forwarder (relay/dns.c), but
 *   for a reply to a published UDP port's client (relay/publish.c);
 * - other UDP: the UDP relay (relay/udp.c), gateway included (host access);
 * - ICMP echo to any other address: the ICMP relay (relay/icmp.c);
 * - anything else is counted and dropped.
 *
 * Fragments are reassembled (ip4_reass(), bounded by IP_REASS_*) before a
 * relay sees them, so a relay always gets a whole datagram. lwIP drops an
 * overlapping (or duplicate) fragment but keeps the rest of its set, which
 * may still complete without it; sn_frag_reass() abandons the whole set
 * instead (RFC 5722 for IPv6, what Linux does for both): the set's later
 * fragments are dropped, so lwIP expires it, and frag_overlap counts it.
 */
#include <string.h>

#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/ip4_frag.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/iana.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"
#include "lwip/prot/tcp.h"
#include "lwip/prot/udp.h"
#include "netif/dhcp.h"
#include "core/engine.h"
#include "netif/hook.h"
#include "relay/relay.h"

/**
 * hook_drop() - free a packet and count it
 * @p:		packet
 * @counter:	counter to bump
 *
 * Return: 1 (the packet is consumed), for the hook to return
 */
static int hook_drop(struct pbuf *p, uint64_t *counter)
{
	(*counter)++;
	pbuf_free(p);
	return 1;
}

/**
 * hook_ip4_dhcp() - is this a message for the DHCP server
 * @e:		engine
 * @p:		packet, payload at a valid IPv4 header
 *
 * Return: non-zero for an unfragmented UDP datagram to port 67 from 0.0.0.0
 *	   or the guest, to 255.255.255.255 or the gateway
 */
static int hook_ip4_dhcp(struct sn_engine *e, struct pbuf *p)
{
	const struct ip_hdr *iph = p->payload;
	struct udp_hdr uh;

	if (IPH_PROTO(iph) != IP_PROTO_UDP || (IPH_OFFSET(iph) & PP_HTONS(IP_OFFMASK | IP_MF)))
		return 0;
	if (!ip4_addr_isany_val(iph->src) && iph->src.addr != e->cfg.guest_ip4.s_addr)
		return 0;
	if (iph->dest.addr != IPADDR_BROADCAST && iph->dest.addr != e->cfg.gw_ip4.s_addr)
		return 0;
	if (pbuf_copy_partial(p, &uh, sizeof(uh), IPH_HL_BYTES(iph)) != sizeof(uh))
		return 0;
	return uh.dest == PP_HTONS(LWIP_IANA_PORT_DHCP_SERVER);
}

/**
 * hook_ip4_valid() - checks ip4_input() would make, before we act on a packet
 * @e:		engine
 * @p:		packet, payload at the IPv4 header
 * @dhcp:	set if @p is for the DHCP server (hook_ip4_dhcp()), which is
 *		valid from 0.0.0.0 and to the broadcast address
 *
 * Trims link padding off @p.
 *
 * Return: NULL if valid, else the counter the drop belongs to
 */
static uint64_t *hook_ip4_valid(struct sn_engine *e, struct pbuf *p, int *dhcp)
{
	const struct ip_hdr *iph = p->payload;
	u16_t hlen, tot;

	if (p->len < IP_HLEN || IPH_V(iph) != 4)
		return &e->st.drop_malformed;
	hlen = (u16_t)(IPH_HL(iph) * 4);
	tot = lwip_ntohs(IPH_LEN(iph));
	if (hlen < IP_HLEN || hlen > p->len || tot < hlen || tot > p->tot_len)
		return &e->st.drop_malformed;
	if (inet_chksum((void *)iph, hlen) != 0)
		return &e->st.drop_malformed;
	pbuf_realloc(p, tot);
	*dhcp = hook_ip4_dhcp(e, p);
	if (*dhcp)
		return NULL;
	if (iph->src.addr != e->cfg.guest_ip4.s_addr)
		return &e->st.drop_spoofed;
	if (ip4_addr_isbroadcast_u32(iph->dest.addr, &e->netif) ||
	    ip4_addr_ismulticast(&iph->dest) || ip4_addr_isany_val(iph->dest))
		return &e->st.drop_unsupported;
	return NULL;
}

/**
 * hook_deliver() - feed a validated packet to an lwIP transport's input
 * @e:		engine
 * @p:		packet, payload at the IPv4 or IPv6 header; consumed
 * @hlen:	offset of the transport header (after IPv6 extension headers)
 * @input:	tcp_input() or icmp_input()
 *
 * Does what ip4_input()/ip6_input() do for a packet addressed to a local
 * address, for any destination: lwIP answers it as that address.
 */
static void hook_deliver(struct sn_engine *e, struct pbuf *p, u16_t hlen,
			 void (*input)(struct pbuf *, struct netif *))
{
	ip_data.current_netif = &e->netif;
	ip_data.current_input_netif = &e->netif;
	ip_data.current_ip_header_tot_len = hlen;
	if (IP_HDR_GET_VERSION(p->payload) == 6) {
		struct ip6_hdr *h = p->payload;

		ip_data.current_ip4_header = NULL;
		ip_data.current_ip6_header = h;
		ip_addr_copy_from_ip6_packed(ip_data.current_iphdr_src, h->src);
		ip_addr_copy_from_ip6_packed(ip_data.current_iphdr_dest, h->dest);
		ip6_addr_assign_zone(ip_2_ip6(&ip_data.current_iphdr_src), IP6_UNICAST, &e->netif);
		ip6_addr_assign_zone(ip_2_ip6(&ip_data.current_iphdr_dest), IP6_UNICAST, &e->netif);
	} else {
		const struct ip_hdr *iph = p->payload;

		ip_data.current_ip4_header = iph;
		ip_data.current_ip6_header = NULL;
		ip_addr_copy_from_ip4(ip_data.current_iphdr_src, iph->src);
		ip_addr_copy_from_ip4(ip_data.current_iphdr_dest, iph->dest);
	}

	if (pbuf_remove_header(p, hlen))
		pbuf_free(p);
	else
		input(p, &e->netif);

	ip_data.current_netif = NULL;
	ip_data.current_input_netif = NULL;
	ip_data.current_ip4_header = NULL;
	ip_data.current_ip6_header = NULL;
	ip_data.current_ip_header_tot_len = 0;
	ip_addr_set_zero(&ip_data.current_iphdr_src);
	ip_addr_set_zero(&ip_data.current_iphdr_dest);
}

/**
 * sn_hook_ip4_input() - LWIP_HOOK_IP4_INPUT: classify a guest IPv4 packet
 * @p:		packet, payload at the IPv4 header
 * @inp:	the guest netif
 *
 * Return: 0 to let ip4_input() serve @p, 1 if consumed here
 */
int sn_hook_ip4_input(struct pbuf *p, struct netif *inp)
{
	struct sn_engine *e = sn_eng;
	const struct ip_hdr *iph;
	ip_addr_t src, dst;
	uint64_t *bad;
	u16_t hlen;
	int dhcp = 0;

	bad = hook_ip4_valid(e, p, &dhcp);
	if (bad)
		return hook_drop(p, bad);
	if (dhcp) {
		sn_dhcp_input4(e, p);
		return 1;
	}
	iph = p->payload;
	if (IPH_PROTO(iph) == IP_PROTO_ICMP && (iph->dest.addr == e->cfg.gw_ip4.s_addr ||
	    (iph->dest.addr == e->cfg.dns_ip4.s_addr && !(IPH_OFFSET(iph) &
							  PP_HTONS(IP_OFFMASK | IP_MF))))) {
		/* lwIP would drop a bad checksum silently: count it here
		 * (fragments are checked once reassembled, by lwIP) */
		if (!(IPH_OFFSET(iph) & PP_HTONS(IP_OFFMASK | IP_MF))) {
			u16_t hl = (u16_t)(IPH_HL(iph) * 4);
			int bad_sum;

			pbuf_remove_header(p, hl);
			bad_sum = p->tot_len < 8 || inet_chksum_pbuf(p) != 0;
			pbuf_add_header(p, hl);
			if (bad_sum)
				return hook_drop(p, &e->st.drop_malformed);
		}
		e->st.icmp_echo_local++;
		if (iph->dest.addr == e->cfg.gw_ip4.s_addr)
			return 0;
		hook_deliver(e, p, (u16_t)(IPH_HL(iph) * 4), icmp_input);
		return 1;
	}

	if (IPH_OFFSET(iph) & PP_HTONS(IP_OFFMASK | IP_MF)) {
		uint8_t key[40] = { 4 };

		/* ip4_reass() refuses options; say so in the right counter */
		if (IPH_HL(iph) != IP_HLEN / 4)
			return hook_drop(p, &e->st.drop_unsupported);
		memcpy(key + 1, &iph->src, 4);
		memcpy(key + 5, &iph->dest, 4);
		memcpy(key + 9, &iph->_id, 2);
		key[11] = IPH_PROTO(iph);
		ip_data.current_input_netif = inp;
		p = sn_frag_reass(e, p, key, IP_REASS_MAXAGE * IP_TMR_INTERVAL, ip4_reass);
		ip_data.current_input_netif = NULL;
		if (!p)
			return 1;
		iph = p->payload;
	}
	hlen = (u16_t)(IPH_HL(iph) * 4);
	ip_addr_copy_from_ip4(src, iph->src);
	ip_addr_copy_from_ip4(dst, iph->dest);

	switch (IPH_PROTO(iph)) {
	case IP_PROTO_TCP:
		sn_tcp_input(e, p, hlen, &src, &dst);
		return 1;
	case IP_PROTO_UDP: {
		struct udp_hdr uh;

		if (pbuf_copy_partial(p, &uh, sizeof(uh), hlen) != sizeof(uh))
			return hook_drop(p, &e->st.drop_malformed);
		if (uh.dest == PP_HTONS(53) &&
		    !sn_publish_udp_owns(e, &dst, lwip_ntohs(uh.src), 53))
			sn_dns_input(e, p, hlen, &src, &dst);
		else
			sn_udp_input(e, p, hlen, &src, &dst);
		return 1;
	}
	case IP_PROTO_ICMP: {
		u8_t type;

		if (pbuf_copy_partial(p, &type, 1, hlen) != 1)
			return hook_drop(p, &e->st.drop_malformed);
		if (type != ICMP_ECHO)
			return hook_drop(p, &e->st.drop_unsupported);
		sn_icmp_input(e, p, hlen, &src, &dst);
		return 1;
	}
	default:
		return hook_drop(p, &e->st.drop_unsupported);
	}
}

/**
 * sn_ip_tcp_deliver() - feed a validated TCP packet to tcp_input()
 * @e:		engine
 * @p:		packet, payload at the IPv4 or IPv6 header; consumed
 * @hlen:	offset of the TCP header (after IPv6 extension headers)
 *
 * lwIP then serves it, whatever its destination, with a listener bound to
 * the any-address.
 */
void sn_ip_tcp_deliver(struct sn_engine *e, struct pbuf *p, u16_t hlen)
{
	hook_deliver(e, p, hlen, tcp_input);
}

/**
 * frag_bad_find() - is a fragment set remembered as abandoned
 * @e:		engine
 * @key:	the set
 *
 * Return: its slot, or NULL
 */
static struct sn_frag_bad *frag_bad_find(struct sn_engine *e, const uint8_t key[40])
{
	uint32_t now = sn_now_ms();
	unsigned i;

	for (i = 0; i < SN_FRAG_BAD; i++) {
		struct sn_frag_bad *b = &e->frag.bad[i];

		if (!b->used)
			continue;
		if ((int32_t)(b->until_ms - now) <= 0)
			b->used = 0;
		else if (!memcmp(b->key, key, sizeof(b->key)))
			return b;
	}
	return NULL;
}

struct pbuf *sn_frag_reass(struct sn_engine *e, struct pbuf *p, const uint8_t key[40],
			   uint32_t maxage_ms, struct pbuf *(*reass)(struct pbuf *))
{
	struct sn_frag_bad *b;
	struct pbuf *r;

	if (frag_bad_find(e, key)) {
		pbuf_free(p);
		return NULL;
	}
	/* An extra reference tells what lwIP did with @p: kept (2 left),
	 * completed (returned), or refused (1 left: it freed its own). */
	pbuf_ref(p);
	r = reass(p);
	/* what lwIP keeps, its reassembly timer (a tick a second) drops after
	 * maxage_ms: the engine must wake for those ticks until then */
	if (!r)
		sn_lwip_hold(e, maxage_ms + 2000);
	if (!r && p->ref == 1) {
		b = &e->frag.bad[e->frag.next];
		e->frag.next = (e->frag.next + 1) % SN_FRAG_BAD;
		memcpy(b->key, key, sizeof(b->key));
		/* lwIP's timer ticks once a second: the set is gone by then */
		b->until_ms = sn_now_ms() + maxage_ms + 2000;
		b->used = 1;
		e->st.frag_overlap++;
	}
	pbuf_free(p);		/* only the extra reference, unless refused */
	return r;
}
