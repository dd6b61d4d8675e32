// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - who serves a guest IPv6 packet
 *
 * LWIP_HOOK_IP6_INPUT runs at the top of ip6_input(), before lwIP has
 * validated anything. With cfg.no_ipv6 every packet is dropped here (so no
 * router advertisement ever starts). Else sn_hook_ip6_input() checks the
 * header (version, payload length, source is the guest: its configured address, an
 * address it configured itself in the advertised prefix (SLAAC), a
 * link-local address, or the unspecified address for duplicate address
 * detection), walks the extension headers (hop-by-hop and destination
 * options skipped, routing headers dropped, fragments reassembled with
 * ip6_reass(), bounded by IPV6_REASS_MAXAGE and IP_REASS_MAX_PBUFS, a set
 * with overlapping fragments abandoned whole; a reassembled datagram then
 * enters ip6_input() again, as if the guest had sent it whole), then
 * decides:
 *
 * - ICMPv6 for the gateway's own addresses (echo, neighbour discovery),
 *   and multicast ICMPv6 (neighbour solicitations to solicited-node
 *   groups): lwIP serves it (return 0), once its checksum and, for
 *   solicitations and advertisements, RFC 4861 7.1's checks (hop limit
 *   255, code 0, every option non-empty and inside the message) passed
 *   here: lwIP would drop a bad one uncounted, or read an empty option
 *   as a link-layer address;
 * - a neighbour solicitation for any other address: answered here with
 *   the gateway's MAC (proxy NDP), except during the guest's duplicate
 *   address detection (unspecified source) and for the guest's own
 *   addresses, so DAD succeeds;
 * - a router solicitation: answered by netif/ra.c, which starts sending
 *   unsolicited router advertisements once the guest speaks IPv6 at all;
 *   router advertisements and redirects from the guest are dropped;
 * - UDP to port 547 (DHCPv6, ff02::1:2 or the gateway): netif/dhcp6.c;
 * - TCP to any address: the TCP relay (relay/tcp.c), which feeds lwIP
 *   through sn_ip_tcp_deliver() once the host connect() succeeded;
 * - UDP to port 53 of any unicast address: the DNS forwarder (relay/dns.c),
 *   but for a reply to a published UDP port's client (relay/publish.c);
 * - other unicast UDP: the UDP relay (relay/udp.c), the gateway included
 *   (host access to ::1 or 127.0.0.1);
 * - ICMPv6 echo requests to any other unicast address: the ICMP relay
 *   (relay/icmp.c, ICMPv6 ping sockets);
 * - everything else is counted and dropped.
 *
 * An IPv4-mapped or -compatible address is never a way around the IPv4
 * rules: such sources are spoofing, such destinations are dialled as the
 * IPv4 address they carry (relay/tcp.c, relay/udp.c, relay/dns.c; echo
 * to them is dropped: no ICMPv6 ping socket reaches an IPv4 host).
 */
#include <string.h>

#include "lwip/icmp6.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/ip6.h"
#include "lwip/ip6_frag.h"
#include "lwip/nd6.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/icmp6.h"
#include "lwip/prot/ip6.h"
#include "lwip/prot/nd6.h"
#include "netif/dhcp6.h"
#include "core/engine.h"
#include "netif/hook.h"
#include "netif/ra.h"
#include "relay/relay.h"

/* Extension headers walked before giving up on a packet. */
#define SN_IP6_MAX_EXTHDRS	8

/* Most bytes before a fragment header (IPv6 header, hop-by-hop and
 * destination options), so that every reassembled datagram fits a pbuf. */
#define SN_IP6_UNFRAG_MAX	(IP6_HLEN + 64)

/**
 * hook6_drop() - free a packet and count it
 * @p:		packet
 * @counter:	counter to bump
 *
 * Return: 1 (consumed)
 */
static int hook6_drop(struct pbuf *p, uint64_t *counter)
{
	(*counter)++;
	pbuf_free(p);
	return 1;
}

/**
 * hook6_src_ok() - may the guest use this source address
 * @e:		engine
 * @src:	source address
 *
 * Return: non-zero if it is the guest's address, one it made itself in the
 *	   advertised prefix (SLAAC: netif/ra.c), link-local, or unspecified
 */
static int hook6_src_ok(struct sn_engine *e, const ip6_addr_t *src)
{
	if (ip6_addr_isipv4mappedipv6(src) || ip6_addr_isipv4compat(src) ||
	    ip6_addr_ismulticast(src) || ip6_addr_isloopback(src))
		return 0;
	return !memcmp(src->addr, &e->cfg.guest_ip6, 16) || ip6_addr_islinklocal(src) ||
	       ip6_addr_isany(src) ||
	       (sn_ra_in_prefix(e, src->addr) && memcmp(src->addr, &e->cfg.gw_ip6, 16) &&
		memcmp(src->addr, &e->cfg.dns_ip6, 16));
}

/**
 * hook6_transport() - find the transport header, reassembling fragments
 * @e:		engine
 * @pp:		packet, payload at the IPv6 header; replaced on reassembly
 * @inp:	guest netif
 * @hlen:	set to the offset of the transport header
 * @proto:	set to the transport protocol
 *
 * Return: NULL when the transport header was found, else the counter a drop
 *	   belongs to; *pp is NULL when a fragment was taken (kept for
 *	   reassembly, or its datagram completed and passed to ip6_input())
 */
static uint64_t *hook6_transport(struct sn_engine *e, struct pbuf **pp, struct netif *inp,
				 u16_t *hlen, u8_t *proto)
{
	struct pbuf *p = *pp;
	u16_t off = IP6_HLEN;
	u8_t nexth = IP6H_NEXTH((struct ip6_hdr *)p->payload);
	int i;

	/* one more round than headers: the last finds the transport */
	for (i = 0; i <= SN_IP6_MAX_EXTHDRS; i++) {
		u8_t ext[2], key[40] = { 0 };
		u16_t frag_off;

		switch (nexth) {
		case IP6_NEXTH_HOPBYHOP:
		case IP6_NEXTH_DESTOPTS:
			if (pbuf_copy_partial(p, ext, 2, off) != 2)
				return &e->st.drop_malformed;
			nexth = ext[0];
			off = (u16_t)(off + 8 * (1 + ext[1]));
			continue;
		case IP6_NEXTH_ROUTING:
			return &e->st.drop_unsupported;
		case IP6_NEXTH_FRAGMENT:
			/* the whole fragment header, in the first pbuf (ip6_reass()
			 * asserts it is) */
			if (p->len < off + 8 ||
			    pbuf_copy_partial(p, &frag_off, 2, off + 2) != 2 ||
			    pbuf_copy_partial(p, ext, 1, off) != 1)
				return &e->st.drop_malformed;
			if (!(frag_off & PP_HTONS(IP6_FRAG_OFFSET_MASK | IP6_FRAG_MORE_FLAG))) {
				nexth = ext[0];		/* atomic fragment */
				off = (u16_t)(off + 8);
				continue;
			}
			/* The datagram must fit a pbuf (65535 bytes with the
			 * headers before the fragment header, which come from
			 * whichever fragment has offset 0). lwIP 2.2.1's
			 * ip6_reass() checks the fragment's end alone: past
			 * that, the chain's length wraps or lwIP asserts. Both
			 * bounds per fragment bound the whole set. */
			if (off > SN_IP6_UNFRAG_MAX ||
			    (u32_t)(lwip_ntohs(frag_off) & IP6_FRAG_OFFSET_MASK) +
			    (p->tot_len - off - 8) > 0xffff - SN_IP6_UNFRAG_MAX)
				return &e->st.drop_unsupported;
			/* ip6_reass() wants the payload at the fragment header;
			 * a set with overlapping fragments is abandoned whole
			 * (RFC 5722, netif/hook.c) */
			key[0] = 6;
			memcpy(key + 1, ((struct ip6_hdr *)p->payload)->src.addr, 16);
			memcpy(key + 17, ((struct ip6_hdr *)p->payload)->dest.addr, 16);
			if (pbuf_copy_partial(p, key + 33, 4, off + 4) != 4)
				return &e->st.drop_malformed;
			ip_data.current_netif = inp;
			ip_data.current_input_netif = inp;
			ip_data.current_ip6_header = p->payload;
			ip_data.current_ip_header_tot_len = (u16_t)(off + 8);
			/* ip6_reass() matches sets on these, not on the header */
			ip_addr_copy_from_ip6_packed(ip_data.current_iphdr_src,
						     ((struct ip6_hdr *)p->payload)->src);
			ip_addr_copy_from_ip6_packed(ip_data.current_iphdr_dest,
						     ((struct ip6_hdr *)p->payload)->dest);
			ip6_addr_assign_zone(ip_2_ip6(&ip_data.current_iphdr_src), IP6_UNKNOWN,
					     inp);
			ip6_addr_assign_zone(ip_2_ip6(&ip_data.current_iphdr_dest), IP6_UNKNOWN,
					     inp);
			pbuf_remove_header(p, off);
			p = sn_frag_reass(e, p, key, IPV6_REASS_MAXAGE * IP6_REASS_TMR_INTERVAL,
					  ip6_reass);
			ip_data.current_netif = NULL;
			ip_data.current_input_netif = NULL;
			ip_data.current_ip6_header = NULL;
			ip_data.current_ip_header_tot_len = 0;
			ip_addr_set_zero_ip6(&ip_data.current_iphdr_src);
			ip_addr_set_zero_ip6(&ip_data.current_iphdr_dest);
			/* A whole datagram goes through ip6_input() afresh: the
			 * ip6_input() that called the hook holds the fragment it
			 * was given, which ip6_reass() has since moved into the
			 * datagram's chain, so it must not serve the datagram
			 * itself (lwIP's ICMPv6 would get the fragment and leak
			 * the rest). Nesting is bounded: each level needs a set
			 * of its own completed in lwIP's reassembly queue. */
			*pp = NULL;
			if (!p)
				return NULL;
			/* lwIP 2.2.1's ip6_reass() writes a payload length 8
			 * bytes short (the fragment header it took out is
			 * subtracted twice); the chain holds exactly the datagram */
			IP6H_PLEN_SET((struct ip6_hdr *)p->payload, (u16_t)(p->tot_len - IP6_HLEN));
			ip6_input(p, inp);
			return NULL;
		default:
			if (off > p->tot_len)
				return &e->st.drop_malformed;
			*hlen = off;
			*proto = nexth;
			return NULL;
		}
	}
	return &e->st.drop_unsupported;
}

/**
 * hook6_proxy_na() - answer a neighbour solicitation with the gateway's MAC
 * @e:		engine
 * @src:	the solicitation's source (unicast)
 * @target:	the address asked about
 */
static void hook6_proxy_na(struct sn_engine *e, const ip6_addr_t *src, const ip6_addr_t *target)
{
	struct lladdr_option *lla;
	struct na_header *na;
	const ip6_addr_t *from = netif_ip6_addr(&e->netif, 0);	/* link-local */
	struct pbuf *p;

	p = pbuf_alloc(PBUF_IP, sizeof(*na) + 8, PBUF_RAM);
	if (!p)
		return;
	na = p->payload;
	memset(na, 0, sizeof(*na) + 8);
	na->type = ICMP6_TYPE_NA;
	na->flags = ND6_FLAG_ROUTER | ND6_FLAG_SOLICITED | ND6_FLAG_OVERRIDE;
	ip6_addr_copy_to_packed(na->target_address, *target);
	lla = (struct lladdr_option *)(na + 1);
	lla->type = ND6_OPTION_TYPE_TARGET_LLADDR;
	lla->length = 1;
	memcpy(lla->addr, e->cfg.gw_mac, 6);
	na->chksum = ip6_chksum_pseudo(p, IP6_NEXTH_ICMP6, p->tot_len, from, src);
	/* neighbour discovery requires hop limit 255 (RFC 4861 7.1.2) */
	ip6_output_if(p, from, src, 255, 0, IP6_NEXTH_ICMP6, &e->netif);
	pbuf_free(p);
}

/**
 * hook6_icmp6_valid() - checksum, and for NS and NA RFC 4861 7.1 validity
 * @p:		packet, payload at the IPv6 header
 * @hlen:	offset of the ICMPv6 header
 * @type:	its type
 * @src:	source address
 * @dst:	destination address
 *
 * lwIP would drop a bad message silently (and take a neighbour option of
 * length 0 as a link-layer address), and the proxy NA would answer it.
 *
 * Return: non-zero if valid
 */
static int hook6_icmp6_valid(struct pbuf *p, u16_t hlen, u8_t type, const ip6_addr_t *src,
			     const ip6_addr_t *dst)
{
	u8_t hoplim = IP6H_HOPLIM((const struct ip6_hdr *)p->payload), opt[2];
	u16_t len = (u16_t)(p->tot_len - hlen), off;
	int ok;

	if (pbuf_remove_header(p, hlen))
		return 0;
	ok = ip6_chksum_pseudo(p, IP6_NEXTH_ICMP6, len, src, dst) == 0;
	pbuf_add_header(p, hlen);
	if (!ok || (type != ICMP6_TYPE_NS && type != ICMP6_TYPE_NA))
		return ok;
	/* hop limit 255, code 0, the whole header, every option non-empty and
	 * inside the message (NS and NA headers are the same size) */
	if (hoplim != 255 || len < sizeof(struct ns_header) || pbuf_get_at(p, hlen + 1) != 0)
		return 0;
	for (off = sizeof(struct ns_header); off < len; off = (u16_t)(off + opt[1] * 8))
		if (pbuf_copy_partial(p, opt, 2, (u16_t)(hlen + off)) != 2 || !opt[1] ||
		    opt[1] * 8 > len - off)
			return 0;
	return 1;
}

/**
 * hook6_icmp6() - neighbour discovery and echo: lwIP, proxy NDP, ICMP relay
 * @e:		engine
 * @p:		packet, payload at the IPv6 header
 * @hlen:	offset of the ICMPv6 header
 * @src:	source address
 * @dst:	destination address
 *
 * Return: 0 to let lwIP serve @p, 1 if consumed here
 */
static int hook6_icmp6(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip6_addr_t *src,
		       const ip6_addr_t *dst)
{
	int local = ip6_addr_ismulticast(dst) || netif_get_ip6_addr_match(&e->netif, dst) >= 0;
	struct ns_header ns;
	ip6_addr_t target;
	u8_t type;

	if (pbuf_copy_partial(p, &type, 1, hlen) != 1)
		return hook6_drop(p, &e->st.drop_malformed);
	if (type == ICMP6_TYPE_RS) {
		sn_ra_input(e, p, hlen, src, dst);	/* netif/ra.c */
		return 1;
	}
	if (type == ICMP6_TYPE_EREQ && !local) {
		ip_addr_t s, d;

		/* echo to any other unicast address: ping sockets (which check
		 * the message themselves) */
		ip_addr_copy_from_ip6(s, *src);
		ip_addr_copy_from_ip6(d, *dst);
		sn_icmp_input(e, p, hlen, &s, &d);	/* relay/icmp.c */
		return 1;
	}
	if (!hook6_icmp6_valid(p, hlen, type, src, dst))
		return hook6_drop(p, &e->st.drop_malformed);
	/* The guest is no router: its advertisements would lower the MTU
	 * lwIP fragments replies to (LWIP_ND6_ALLOW_RA_UPDATES) and its
	 * redirects would change lwIP's next hops. */
	if (type == ICMP6_TYPE_RA || type == ICMP6_TYPE_RD)
		return hook6_drop(p, &e->st.drop_unsupported);
	if (type != ICMP6_TYPE_NS) {
		/* echo, NA, RS to the gateway or to a group: lwIP's */
		if (!local)
			return hook6_drop(p, &e->st.drop_unsupported);
		if (type == ICMP6_TYPE_EREQ)
			e->st.icmp_echo_local++;
		return 0;
	}

	if (pbuf_copy_partial(p, &ns, sizeof(ns), hlen) != sizeof(ns))
		return hook6_drop(p, &e->st.drop_malformed);
	ip6_addr_copy_from_packed(target, ns.target_address);
	if (netif_get_ip6_addr_match(&e->netif, &target) >= 0)
		return 0;		/* one of the gateway's own: lwIP answers */
	/* DAD (unspecified source) and the guest's own addresses stay unanswered. */
	if (!ip6_addr_isany(src) && !ip6_addr_eq(&target, src) &&
	    memcmp(target.addr, &e->cfg.guest_ip6, 16) && !ip6_addr_ismulticast(&target))
		hook6_proxy_na(e, src, &target);
	pbuf_free(p);
	return 1;
}

/**
 * hook6_udp() - UDP from the guest: DNS, DHCPv6 or the UDP relay
 * @e:		engine
 * @p:		packet, payload at the IPv6 header
 * @hlen:	offset of the UDP header
 * @src:	source address
 * @dst:	destination address
 *
 * Port 53 of any unicast address goes to the DNS forwarder (relay/dns.c)
 * unless it answers a published port's client, port 547 to DHCPv6, everything else unicast to the UDP relay
 * (relay/udp.c); datagrams to a group other than DHCPv6's are dropped.
 *
 * Return: 1 (consumed)
 */
static int hook6_udp(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip6_addr_t *src,
		     const ip6_addr_t *dst)
{
	ip_addr_t s, d;
	u16_t ports[2], dport;

	if (pbuf_copy_partial(p, ports, 4, hlen) != 4)
		return hook6_drop(p, &e->st.drop_malformed);
	dport = ports[1];
	if (dport == PP_HTONS(SN_DHCP6_SERVER_PORT)) {
		sn_dhcp6_input(e, p, hlen, src, dst);	/* netif/dhcp6.c */
		return 1;
	}
	if (ip6_addr_ismulticast(dst))
		return hook6_drop(p, &e->st.drop_unsupported);
	ip_addr_copy_from_ip6(s, *src);
	ip_addr_copy_from_ip6(d, *dst);
	if (dport == PP_HTONS(53) && !sn_publish_udp_owns(e, &d, lwip_ntohs(ports[0]), 53))
		sn_dns_input(e, p, hlen, &s, &d);	/* relay/dns.c */
	else
		sn_udp_input(e, p, hlen, &s, &d);	/* relay/udp.c */
	return 1;
}

/**
 * sn_hook_ip6_input() - LWIP_HOOK_IP6_INPUT: classify a guest IPv6 packet
 * @p:		packet, payload at the IPv6 header
 * @inp:	the guest netif
 *
 * Return: 0 to let ip6_input() serve @p, 1 if consumed here
 */
int sn_hook_ip6_input(struct pbuf *p, struct netif *inp)
{
	struct sn_engine *e = sn_eng;
	const struct ip6_hdr *h = p->payload;
	ip6_addr_t src, dst;
	uint64_t *bad;
	u16_t hlen, tot;
	u8_t proto;

	if (e->cfg.no_ipv6)
		return hook6_drop(p, &e->st.drop_unsupported);
	if (p->len < IP6_HLEN || IP6H_V(h) != 6)
		return hook6_drop(p, &e->st.drop_malformed);
	tot = (u16_t)(IP6_HLEN + IP6H_PLEN(h));
	if (tot < IP6_HLEN || tot > p->tot_len)
		return hook6_drop(p, &e->st.drop_malformed);
	pbuf_realloc(p, tot);
	ip6_addr_copy_from_packed(src, h->src);
	ip6_addr_copy_from_packed(dst, h->dest);
	if (!hook6_src_ok(e, &src))
		return hook6_drop(p, &e->st.drop_spoofed);
	sn_ra_guest_seen(e);		/* the guest speaks IPv6: advertise */

	if (IP6H_NEXTH(h) == IP6_NEXTH_ICMP6 &&
	    (ip6_addr_ismulticast(&dst) || netif_get_ip6_addr_match(inp, &dst) >= 0 ||
	     ip6_addr_isany(&src)))
		return hook6_icmp6(e, p, IP6_HLEN, &src, &dst);
	if (ip6_addr_isany(&src))
		return hook6_drop(p, &e->st.drop_unsupported);

	bad = hook6_transport(e, &p, inp, &hlen, &proto);
	if (bad)
		return hook6_drop(p, bad);
	if (!p)
		return 1;		/* fragment taken by reassembly */
	/* to a group: only DHCPv6 (ff02::1:2) is served */
	if (ip6_addr_ismulticast(&dst) && proto != IP6_NEXTH_UDP)
		return hook6_drop(p, &e->st.drop_unsupported);

	switch (proto) {
	case IP6_NEXTH_TCP: {
		ip_addr_t s, d;

		ip_addr_copy_from_ip6(s, src);
		ip_addr_copy_from_ip6(d, dst);
		sn_tcp_input(e, p, hlen, &s, &d);
		return 1;
	}
	case IP6_NEXTH_ICMP6:
		return hook6_icmp6(e, p, hlen, &src, &dst);
	case IP6_NEXTH_UDP:
		return hook6_udp(e, p, hlen, &src, &dst);
	default:
		return hook6_drop(p, &e->st.drop_unsupported);
	}
}
