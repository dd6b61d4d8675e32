// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the guest link
 *
 * One lwIP netif stands for the gateway on the guest's link: it owns the
 * gateway's addresses and MAC, and everything lwIP sends leaves through
 * guestif_linkoutput() to cfg.output.
 *
 * Frames from the guest are checked here before lwIP sees them: the source
 * MAC must be the guest's (learned from the first frame when not
 * configured, then pinned as a static ARP entry, so lwIP never has to ask),
 * and ARP is answered here for every address the guest asks about (proxy
 * ARP: the guest may treat its whole subnet as on-link). IPv4 and IPv6
 * packets go to ip4_input()/ip6_input(), whose pre-input hooks (hook.c)
 * decide who serves them.
 *
 * With cfg.offload the link segments and checksums TCP (a TAP with TSO,
 * see frontend/tap.c): the netif's MTU is SN_OFFLOAD_MTU, so lwIP sends
 * TCP segments of up to 64 KiB whatever the guest's MTU (cfg.mtu), and
 * takes the guest's the same size. lwIP leaves their checksum out
 * (NETIF_CHECKSUM_GEN_TCP off) and guestif_linkoutput() writes the
 * pseudo-header sum in its place, the partial checksum the link completes
 * (or, delivering locally, never needs). Everything else still leaves in
 * packets that fit cfg.mtu: guestif_output4() and guestif_output6()
 * fragment what lwIP or a relay made larger, at cfg.mtu.
 */
#include <string.h>

#include "lwip/etharp.h"
#include "lwip/icmp.h"
#include "lwip/ethip6.h"
#include "lwip/prot/iana.h"
#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/ip4_frag.h"
#include "lwip/ip6.h"
#include "lwip/ip6_frag.h"
#include "lwip/pbuf.h"
#include "lwip/prot/etharp.h"
#include "lwip/prot/ethernet.h"
#include "lwip/prot/ip6.h"
#include "lwip/prot/tcp.h"
#include "netif/ethernet.h"
#include "core/engine.h"
#include "netif/guestif.h"
#include "netif/output.h"

/* Largest frame: MTU 65520 plus the Ethernet header (pbuf lengths are u16). */
#define SN_FRAME_MAX	(65520 + SIZEOF_ETH_HDR)
/* The netif's MTU with cfg.offload: the largest TCP segment either way. */
#define SN_OFFLOAD_MTU	65520

/**
 * frame_tcp() - where a frame's TCP header is, if it carries TCP
 * @f:		Ethernet frame
 * @len:	its length
 * @v6:		set to 1 for IPv6, 0 for IPv4
 *
 * Only what lwIP sends: IPv4 with any header length, IPv6 with TCP as the
 * first next header, not fragmented.
 *
 * Return: the offset of the TCP header, or 0 if the frame is not TCP
 */
static size_t frame_tcp(const uint8_t *f, size_t len, int *v6)
{
	size_t l4;

	*v6 = f[12] == 0x86 && f[13] == 0xdd;
	if (*v6) {
		l4 = SIZEOF_ETH_HDR + IP6_HLEN;
		if (len < l4 || f[SIZEOF_ETH_HDR + 6] != IP6_NEXTH_TCP)
			return 0;
	} else {
		if (f[12] != 0x08 || f[13] != 0x00 || len < SIZEOF_ETH_HDR + IP_HLEN)
			return 0;
		l4 = SIZEOF_ETH_HDR + (size_t)(f[SIZEOF_ETH_HDR] & 0x0f) * 4;
		if (f[SIZEOF_ETH_HDR + 9] != IP_PROTO_TCP ||
		    ((f[SIZEOF_ETH_HDR + 6] << 8 | f[SIZEOF_ETH_HDR + 7]) & (IP_OFFMASK | IP_MF)))
			return 0;
	}
	return len >= l4 + TCP_HLEN ? l4 : 0;
}

/**
 * frame_tcp_partial() - write a TCP segment's pseudo-header sum as its checksum
 * @f:		Ethernet frame carrying TCP, writable
 * @len:	its length
 * @l4:		offset of the TCP header (frame_tcp())
 * @v6:		IPv6
 *
 * What a stack hands a NIC with checksum offload (CHECKSUM_PARTIAL): the
 * sum of the pseudo header, not inverted; the link adds the segment's
 * bytes from @l4 on.
 */
static void frame_tcp_partial(uint8_t *f, size_t len, size_t l4, int v6)
{
	const uint8_t *ip = f + SIZEOF_ETH_HDR;
	size_t a = v6 ? 8 : 12, alen = v6 ? 32 : 8, i;
	uint32_t sum = IP_PROTO_TCP + (uint32_t)(len - l4);

	for (i = a; i < a + alen; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	f[l4 + 16] = (uint8_t)(sum >> 8);
	f[l4 + 17] = (uint8_t)sum;
}

/**
 * frame_is_icmp_error() - is a frame to the guest an ICMP or ICMPv6 error
 * @f:		Ethernet frame
 * @len:	its length
 *
 * Return: non-zero for ICMP destination unreachable, source quench,
 *	   redirect, time exceeded, parameter problem (a first fragment), or
 *	   ICMPv6 errors (types below 128)
 */
static int frame_is_icmp_error(const uint8_t *f, size_t len)
{
	size_t hl;

	if (len >= SIZEOF_ETH_HDR + IP_HLEN + 1 && f[12] == 0x08 && f[13] == 0x00) {
		const uint8_t *ip = f + SIZEOF_ETH_HDR;
		uint8_t t;

		hl = (size_t)(ip[0] & 0x0f) * 4;
		if (ip[9] != IP_PROTO_ICMP || ((ip[6] << 8 | ip[7]) & IP_OFFMASK) ||
		    len < SIZEOF_ETH_HDR + hl + 1)
			return 0;
		t = ip[hl];
		return t == ICMP_DUR || t == ICMP_SQ || t == ICMP_RD || t == ICMP_TE ||
		       t == ICMP_PP;
	}
	if (len >= SIZEOF_ETH_HDR + IP6_HLEN + 1 && f[12] == 0x86 && f[13] == 0xdd)
		return f[SIZEOF_ETH_HDR + 6] == IP6_NEXTH_ICMP6 && f[SIZEOF_ETH_HDR + IP6_HLEN] < 128;
	return 0;
}

/**
 * guestif_linkoutput() - lwIP's frames to the guest
 * @netif:	the guest netif
 * @p:		frame (maybe a chain)
 *
 * Return: ERR_OK, or ERR_IF when the embedder dropped the frame
 */
static err_t guestif_linkoutput(struct netif *netif, struct pbuf *p)
{
	static uint8_t flat[SN_FRAME_MAX];
	struct sn_engine *e = netif->state;
	uint8_t *frame = p->payload;

	if (p->next) {
		if (pbuf_copy_partial(p, flat, p->tot_len, 0) != p->tot_len)
			return ERR_BUF;
		frame = flat;
	}
	if (!e->cfg.output)
		return ERR_IF;		/* no guest attached yet: nothing failed */
	if (e->cfg.offload) {
		int v6;
		size_t l4 = frame_tcp(frame, p->tot_len, &v6);

		if (l4)
			frame_tcp_partial(frame, p->tot_len, l4, v6);
		if (p->tot_len > e->cfg.mtu + SIZEOF_ETH_HDR)
			e->st.offload_out++;
	}
	/* lwIP's own ICMP errors (reassembly time exceeded, ...) take from the
	 * bucket every ICMP error to the guest shares; ours paid already */
	if (!e->icmp_err.own && frame_is_icmp_error(frame, p->tot_len)) {
		if (!sn_icmp_err_allowed(e))
			return ERR_OK;	/* dropped on purpose, counted */
		e->st.icmp_errors_sent++;
	}
	if (e->cfg.output(e->cfg.user, frame, p->tot_len)) {
		e->st.output_errors++;
		return ERR_IF;
	}
	e->st.frames_out++;
	e->st.bytes_out += p->tot_len;
	return ERR_OK;
}

/* How long lwIP's ARP timer works on an entry it creates to resolve an
 * address: it asks once a tick, and drops the entry after ARP_MAXPENDING
 * ticks (etharp_tmr(); 5, private to etharp.c), two more for the phase. */
#define GUESTIF_ARP_PENDING_MS	((5 + 2) * ARP_TMR_INTERVAL)

/**
 * guestif_output4() - netif->output: etharp_output(), waking the engine for
 *		       lwIP's ARP timer while an address is being resolved
 * @netif:	the guest netif
 * @p:		IPv4 packet
 * @dst:	next hop
 *
 * The guest's MAC is a static entry once known (guest frames are answered
 * here, lwIP never learns another), so only a packet for the guest before
 * its first frame, or for an address that is not the guest's, makes lwIP
 * queue it and ask.
 *
 * Return: etharp_output()'s result
 */
static err_t guestif_output4(struct netif *netif, struct pbuf *p, const ip4_addr_t *dst)
{
	struct sn_engine *e = netif->state;
	struct eth_addr *mac;
	const ip4_addr_t *ip;

	/* only TCP goes whole past the guest's MTU (cfg.offload) */
	if (p->tot_len > e->cfg.mtu && IPH_PROTO((struct ip_hdr *)p->payload) != IP_PROTO_TCP) {
		u16_t mtu = netif->mtu;
		err_t err;

		netif->mtu = (u16_t)e->cfg.mtu;
		err = ip4_frag(p, netif, dst);	/* each fragment comes back here */
		netif->mtu = mtu;
		return err;
	}

	if ((!e->guest_mac_known || ip4_addr_get_u32(dst) != e->cfg.guest_ip4.s_addr) &&
	    !ip4_addr_isbroadcast(dst, netif) && !ip4_addr_ismulticast(dst) &&
	    etharp_find_addr(netif, dst, &mac, &ip) < 0)
		sn_lwip_hold(e, GUESTIF_ARP_PENDING_MS);
	return etharp_output(netif, p, dst);
}

/* The destination ip6_frag() is given by guestif_output6(): an address
 * with no destination cache entry (lwIP makes none for multicast), so that
 * it fragments at the netif's MTU; its fragments then go to the real one. */
static const ip6_addr_t guestif_frag6_via = {
	{ PP_HTONL(0xff020000UL), 0, 0, PP_HTONL(1UL) } IPADDR6_ZONE_INIT
};

/**
 * guestif_output6() - netif->output_ip6: ethip6_output(), fragmenting at the
 *		       guest's MTU what is not TCP (cfg.offload)
 * @netif:	the guest netif
 * @p:		IPv6 packet
 * @dst:	next hop
 *
 * lwIP fragments at the destination cache's path MTU, which with
 * cfg.offload is the netif's (SN_OFFLOAD_MTU), for TCP's sake; datagrams
 * larger than cfg.mtu are fragmented again here, at cfg.mtu.
 *
 * Return: ethip6_output()'s or ip6_frag()'s result
 */
static err_t guestif_output6(struct netif *netif, struct pbuf *p, const ip6_addr_t *dst)
{
	static ip6_addr_t frag_dst;
	struct sn_engine *e = netif->state;

	if (dst == &guestif_frag6_via)
		return ethip6_output(netif, p, &frag_dst);
	if (p->tot_len > e->cfg.mtu && IP6H_NEXTH((struct ip6_hdr *)p->payload) != IP6_NEXTH_TCP) {
		u16_t mtu6 = netif->mtu6;
		err_t err;

		frag_dst = *dst;
		netif->mtu6 = (u16_t)e->cfg.mtu;
		err = ip6_frag(p, netif, &guestif_frag6_via);
		netif->mtu6 = mtu6;
		return err;
	}
	return ethip6_output(netif, p, dst);
}

/**
 * guestif_netif_init() - netif_add() init callback
 * @netif:	the netif being added
 *
 * Return: ERR_OK
 */
static err_t guestif_netif_init(struct netif *netif)
{
	struct sn_engine *e = netif->state;

	netif->name[0] = 's';
	netif->name[1] = 'n';
	netif->output = guestif_output4;
	netif->output_ip6 = guestif_output6;
	netif->linkoutput = guestif_linkoutput;
	netif->mtu = (u16_t)(e->cfg.offload ? SN_OFFLOAD_MTU : e->cfg.mtu);
	netif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(netif->hwaddr, e->cfg.gw_mac, ETH_HWADDR_LEN);
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	/* relay/tcp.c verifies (and counts) guest TCP checksums before lwIP;
	 * with offload the link completes TCP checksums to the guest */
	NETIF_SET_CHECKSUM_CTRL(netif, NETIF_CHECKSUM_ENABLE_ALL & ~NETIF_CHECKSUM_CHECK_TCP &
			       ~(e->cfg.offload ? NETIF_CHECKSUM_GEN_TCP : 0));
	return ERR_OK;
}

/**
 * guestif_ip6_add() - give the netif one more IPv6 address, usable at once
 * @e:		engine
 * @a:		the address
 *
 * Return: 0, or -1 if lwIP refused
 */
static int guestif_ip6_add(struct sn_engine *e, const struct in6_addr *a)
{
	ip6_addr_t a6;
	s8_t idx;

	memcpy(a6.addr, a, sizeof(a6.addr));
	ip6_addr_assign_zone(&a6, IP6_UNICAST, &e->netif);
	if (netif_add_ip6_address(&e->netif, &a6, &idx) != ERR_OK)
		return -1;
	netif_ip6_addr_set_state(&e->netif, idx, IP6_ADDR_PREFERRED);
	return 0;
}

/**
 * guestif_ip6_init() - the gateway's IPv6 addresses: link-local and global
 * @e:		engine
 *
 * All are usable at once: the gateway owns its link, there is nothing to
 * detect duplicates against. The DNS forwarder's own address, when it has
 * one (cfg.dns_ip6), is the netif's too, so that lwIP answers its
 * neighbour solicitations and pings as the gateway's.
 *
 * Return: 0, or -1 if lwIP refused
 */
static int guestif_ip6_init(struct sn_engine *e)
{
	netif_create_ip6_linklocal_address(&e->netif, 1);
	netif_ip6_addr_set_state(&e->netif, 0, IP6_ADDR_PREFERRED);
	if (guestif_ip6_add(e, &e->cfg.gw_ip6))
		return -1;
	if (memcmp(&e->cfg.dns_ip6, &e->cfg.gw_ip6, sizeof(e->cfg.gw_ip6)) &&
	    guestif_ip6_add(e, &e->cfg.dns_ip6))
		return -1;
	return 0;
}

/**
 * sn_guestif_init() - add the gateway's netif
 * @e:		engine
 *
 * Return: 0, or -1 if lwIP refused
 */
int sn_guestif_init(struct sn_engine *e)
{
	ip4_addr_t addr, mask, gw;
	uint32_t m = 0xffffffffu << (32 - e->cfg.prefix_len4);

	ip4_addr_set_u32(&addr, e->cfg.gw_ip4.s_addr);
	ip4_addr_set_u32(&mask, lwip_htonl(m));
	ip4_addr_set_zero(&gw);
	if (!netif_add(&e->netif, &addr, &mask, &gw, e, guestif_netif_init, ip4_input))
		return -1;
	netif_set_default(&e->netif);
	if (guestif_ip6_init(e))
		return -1;
	netif_set_link_up(&e->netif);
	netif_set_up(&e->netif);
	if (e->cfg.guest_mac[0] | e->cfg.guest_mac[1] | e->cfg.guest_mac[2] |
	    e->cfg.guest_mac[3] | e->cfg.guest_mac[4] | e->cfg.guest_mac[5]) {
		ip4_addr_t guest;

		ip4_addr_set_u32(&guest, e->cfg.guest_ip4.s_addr);
		etharp_add_static_entry(&guest, (struct eth_addr *)e->cfg.guest_mac);
		e->guest_mac_known = 1;
	}
	return 0;
}

/**
 * sn_guestif_fini() - remove the netif and its ARP entry, drop held fragments
 * @e:		engine
 *
 * The fragments lwIP holds for reassembly are the guest's too; they go
 * with the netif rather than stay for the next engine's timers (and be
 * matched against its guest's). Expired after netif_remove(), so the time
 * exceeded errors lwIP sends for them find no route and go nowhere.
 */
void sn_guestif_fini(struct sn_engine *e)
{
	ip4_addr_t guest;
	int i;

	if (!e->netif.state)
		return;
	ip4_addr_set_u32(&guest, e->cfg.guest_ip4.s_addr);
	if (e->guest_mac_known)
		etharp_remove_static_entry(&guest);
	netif_remove(&e->netif);
	memset(&e->netif, 0, sizeof(e->netif));
	/* one tick more than the longest age: every set times out */
	for (i = 0; i <= LWIP_MAX(IP_REASS_MAXAGE, IPV6_REASS_MAXAGE); i++) {
		ip_reass_tmr();
		ip6_reass_tmr();
	}
}

/**
 * guestif_arp() - answer an ARP request for any address but the guest's
 * @e:		engine
 * @frame:	the guest's ARP frame, length already checked
 *
 * Return: 0, or -1 if dropped
 */
static int guestif_arp(struct sn_engine *e, const uint8_t *frame)
{
	const struct etharp_hdr *req = (const void *)(frame + SIZEOF_ETH_HDR);
	struct etharp_hdr *rep;
	ip4_addr_t sip, dip;
	struct pbuf *p;

	if (req->hwtype != PP_HTONS(LWIP_IANA_HWTYPE_ETHERNET) ||
	    req->proto != PP_HTONS(ETHTYPE_IP) || req->hwlen != ETH_HWADDR_LEN ||
	    req->protolen != sizeof(ip4_addr_t)) {
		e->st.drop_malformed++;
		return -1;
	}
	IPADDR_WORDALIGNED_COPY_TO_IP4_ADDR_T(&sip, &req->sipaddr);
	IPADDR_WORDALIGNED_COPY_TO_IP4_ADDR_T(&dip, &req->dipaddr);
	if (ip4_addr_get_u32(&sip) != e->cfg.guest_ip4.s_addr && !ip4_addr_isany_val(sip)) {
		e->st.drop_spoofed++;
		return -1;
	}
	/* Replies, and the guest's probes for its own address, need no answer. */
	if (req->opcode != PP_HTONS(ARP_REQUEST) ||
	    ip4_addr_get_u32(&dip) == e->cfg.guest_ip4.s_addr)
		return 0;

	p = pbuf_alloc(PBUF_LINK, SIZEOF_ETHARP_HDR, PBUF_RAM);
	if (!p)
		return -1;
	rep = p->payload;
	rep->hwtype = req->hwtype;
	rep->proto = req->proto;
	rep->hwlen = ETH_HWADDR_LEN;
	rep->protolen = sizeof(ip4_addr_t);
	rep->opcode = PP_HTONS(ARP_REPLY);
	memcpy(&rep->shwaddr, e->cfg.gw_mac, ETH_HWADDR_LEN);
	rep->sipaddr = req->dipaddr;
	rep->dhwaddr = req->shwaddr;
	rep->dipaddr = req->sipaddr;
	ethernet_output(&e->netif, p, (const struct eth_addr *)e->cfg.gw_mac,
			&req->shwaddr, ETHTYPE_ARP);
	pbuf_free(p);
	e->st.arp_replies++;
	return 0;
}

/**
 * guestif_learn_mac() - pin the guest's MAC on its first frame
 * @e:		engine
 * @mac:	source MAC of the frame
 *
 * Return: 0 if the frame may come from the guest, -1 if spoofed
 */
static int guestif_learn_mac(struct sn_engine *e, const uint8_t *mac)
{
	ip4_addr_t guest;

	if (mac[0] & 1) {			/* group address as source */
		e->st.drop_spoofed++;
		return -1;
	}
	if (e->guest_mac_known) {
		if (memcmp(mac, e->cfg.guest_mac, ETH_HWADDR_LEN)) {
			e->st.drop_spoofed++;
			return -1;
		}
		return 0;
	}
	memcpy(e->cfg.guest_mac, mac, ETH_HWADDR_LEN);
	ip4_addr_set_u32(&guest, e->cfg.guest_ip4.s_addr);
	etharp_add_static_entry(&guest, (struct eth_addr *)e->cfg.guest_mac);
	e->guest_mac_known = 1;
	sn_log(e, SN_LOG_INFO, "guest MAC %02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
	       mac[2], mac[3], mac[4], mac[5]);
	return 0;
}

/**
 * sn_guestif_input() - one frame from the guest into lwIP
 * @e:		engine
 * @frame:	Ethernet frame
 * @len:	its length
 *
 * Return: 0 if taken, -1 if dropped (counted)
 */
int sn_guestif_input(struct sn_engine *e, const void *frame, size_t len)
{
	const struct eth_hdr *eh = frame;
	struct pbuf *p;
	u16_t type;

	if (len <= SIZEOF_ETH_HDR || len > SN_FRAME_MAX) {
		e->st.drop_malformed++;
		return -1;
	}
	if (len > e->cfg.mtu + SIZEOF_ETH_HDR && e->cfg.offload)
		e->st.offload_in++;
	if (guestif_learn_mac(e, eh->src.addr))
		return -1;
	type = lwip_ntohs(eh->type);
	if (type == ETHTYPE_ARP) {
		if (len < SIZEOF_ETH_HDR + SIZEOF_ETHARP_HDR) {
			e->st.drop_malformed++;
			return -1;
		}
		return guestif_arp(e, frame);
	}
	if ((type == ETHTYPE_IP && ((const u8_t *)frame)[SIZEOF_ETH_HDR] >> 4 != 4) ||
	    (type == ETHTYPE_IPV6 && ((const u8_t *)frame)[SIZEOF_ETH_HDR] >> 4 != 6)) {
		e->st.drop_malformed++;
		return -1;
	}
	if (type != ETHTYPE_IP && type != ETHTYPE_IPV6) {
		e->st.drop_unsupported++;
		return -1;
	}

	p = pbuf_alloc(PBUF_RAW, (u16_t)(len - SIZEOF_ETH_HDR), PBUF_RAM);
	if (!p)
		return -1;
	pbuf_take(p, (const uint8_t *)frame + SIZEOF_ETH_HDR, (u16_t)(len - SIZEOF_ETH_HDR));
	p->if_idx = netif_get_index(&e->netif);
	if (type == ETHTYPE_IP)
		ip4_input(p, &e->netif);
	else
		ip6_input(p, &e->netif);
	return 0;
}
