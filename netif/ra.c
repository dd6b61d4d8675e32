// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - router advertisements
 *
 * A guest that does not take static configuration learns its IPv6 setup
 * from router advertisements (RFC 4861 6, RFC 4862 SLAAC, RFC 8106 RDNSS).
 * The gateway is the only router on the guest link, so every RA says the
 * same thing, from the configuration alone:
 *
 * - sent from the gateway's link-local address (netif address 0), to the
 *   all-nodes group ff02::1, hop limit 255;
 * - cur hop limit 64, router lifetime SN_RA_ROUTER_LIFETIME_S (the gateway
 *   is the default router), M=0 (no stateful DHCPv6 addresses), O=1 (other
 *   configuration, DNS, from stateless DHCPv6: netif/dhcp6.c);
 * - source link-layer address: the gateway's MAC, so the guest needs no
 *   neighbour solicitation to reach it;
 * - MTU: cfg.mtu;
 * - prefix information: cfg.gw_ip6 masked to cfg.prefix_len6, on-link, and
 *   autonomous (SLAAC) when the prefix is a /64, the only length SLAAC on
 *   Ethernet works with (RFC 4862 5.5.3, RFC 4291 2.5.1);
 * - RDNSS: the DNS forwarder's address (cfg.dns_ip6: the gateway's unless
 *   configured).
 *
 * When RAs go out
 *   A router solicitation from the guest (type 133, to ff02::2 or a gateway
 *   address, hop limit 255, checksum, code and options valid, RFC 4861
 *   6.1.1) is answered at once by a multicast RA, unless one went out less
 *   than SN_RA_MIN_DELAY_MS ago: then the next unsolicited RA is moved to
 *   the end of that delay, so a guest sending solicitations in a loop gets
 *   at most one RA per delay. Unsolicited RAs start when the guest first
 *   sends an IPv6 packet (sn_ra_guest_seen(), from netif/hook6.c):
 *   SN_RA_INITIAL_COUNT of them SN_RA_INITIAL_MS apart, then one every
 *   SN_RA_INTERVAL_MS, from sn_ra_tick() (the engine's timers, armed for
 *   each).
 *   An engine whose guest never speaks IPv6 stays silent.
 *
 * Multicast RAs need no neighbour resolution (ff02::1 maps to
 * 33:33:00:00:00:01), so every RA leaves through ip6_output_if() at once.
 *
 * State and bounds
 *   A few fields in struct sn_engine (ra_*): whether RAs started, how many
 *   unsolicited ones went out, when the next is due and when the last left.
 *   Nothing is allocated but the RA's pbuf; the option walk of a
 *   solicitation advances at least 8 bytes per step within the message.
 *   RAs sent are counted in ra_sent; invalid solicitations in
 *   drop_malformed, solicitations to other addresses in drop_unsupported.
 */
#include <string.h>

#include "lwip/def.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip6.h"
#include "lwip/ip6_addr.h"
#include "lwip/pbuf.h"
#include "lwip/prot/icmp6.h"
#include "lwip/prot/ip6.h"
#include "lwip/prot/nd6.h"
#include "core/engine.h"
#include "netif/ra.h"

/* ND messages leave and must arrive with this hop limit (RFC 4861 6.1). */
#define RA_HOP_LIMIT		255
/* The hop limit the guest should use for its own packets. */
#define RA_CUR_HOP_LIMIT	64
#define RA_LEN	(sizeof(struct ra_header) + sizeof(struct lladdr_option) + \
		 sizeof(struct mtu_option) + sizeof(struct prefix_option) + \
		 sizeof(struct rdnss_option))

/**
 * ra_prefix() - the advertised prefix: cfg.gw_ip6 masked to cfg.prefix_len6
 * @e:		engine
 * @out:	16 bytes, filled
 */
static void ra_prefix(const struct sn_engine *e, u8_t out[16])
{
	unsigned len = e->cfg.prefix_len6, i;

	memcpy(out, &e->cfg.gw_ip6, 16);
	for (i = 0; i < 16; i++) {
		if (len >= 8) {
			len -= 8;
			continue;
		}
		out[i] &= (u8_t)(0xff00u >> len);
		len = 0;
	}
}

/**
 * sn_ra_in_prefix() - is an address within the advertised prefix
 * @e:		engine
 * @addr:	16 bytes, network order
 *
 * Return: non-zero if @addr is within cfg.gw_ip6/cfg.prefix_len6
 */
int sn_ra_in_prefix(const struct sn_engine *e, const void *addr)
{
	u8_t prefix[16], a[16];
	unsigned len = e->cfg.prefix_len6, i;

	ra_prefix(e, prefix);
	memcpy(a, addr, 16);
	for (i = 0; i < 16 && len; i++) {
		u8_t mask = len >= 8 ? 0xff : (u8_t)(0xff00u >> len);

		if ((a[i] & mask) != prefix[i])
			return 0;
		len = len >= 8 ? len - 8 : 0;
	}
	return 1;
}

/**
 * ra_build() - fill in a router advertisement
 * @e:		engine
 * @p:		pbuf of RA_LEN bytes, one piece
 */
static void ra_build(const struct sn_engine *e, struct pbuf *p)
{
	struct ra_header *ra = p->payload;
	struct lladdr_option *lla = (struct lladdr_option *)(ra + 1);
	struct mtu_option *mtu = (struct mtu_option *)(lla + 1);
	struct prefix_option *pio = (struct prefix_option *)(mtu + 1);
	struct rdnss_option *rdnss = (struct rdnss_option *)(pio + 1);
	u8_t prefix[16];

	memset(ra, 0, RA_LEN);
	ra->type = ICMP6_TYPE_RA;
	ra->current_hop_limit = RA_CUR_HOP_LIMIT;
	ra->flags = ND6_RA_FLAG_OTHER_CONFIG;
	ra->router_lifetime = PP_HTONS(SN_RA_ROUTER_LIFETIME_S);

	lla->type = ND6_OPTION_TYPE_SOURCE_LLADDR;
	lla->length = sizeof(*lla) / 8;
	memcpy(lla->addr, e->cfg.gw_mac, 6);

	mtu->type = ND6_OPTION_TYPE_MTU;
	mtu->length = sizeof(*mtu) / 8;
	mtu->mtu = lwip_htonl(e->cfg.mtu);

	pio->type = ND6_OPTION_TYPE_PREFIX_INFO;
	pio->length = sizeof(*pio) / 8;
	pio->prefix_length = (u8_t)e->cfg.prefix_len6;
	pio->flags = ND6_PREFIX_FLAG_ON_LINK;
	if (e->cfg.prefix_len6 == 64)
		pio->flags |= ND6_PREFIX_FLAG_AUTONOMOUS;
	pio->valid_lifetime = PP_HTONL(SN_RA_VALID_LIFETIME_S);
	pio->preferred_lifetime = PP_HTONL(SN_RA_PREFERRED_LIFETIME_S);
	ra_prefix(e, prefix);
	memcpy(&pio->prefix, prefix, 16);

	rdnss->type = ND6_OPTION_TYPE_RDNSS;
	rdnss->length = sizeof(*rdnss) / 8;
	rdnss->lifetime = PP_HTONL(SN_RA_RDNSS_LIFETIME_S);
	memcpy(&rdnss->rdnss_address[0], &e->cfg.dns_ip6, 16);
}

/**
 * ra_send() - send one RA to all nodes on the guest link
 * @e:		engine
 *
 * Return: ERR_OK, ERR_MEM, or ip6_output_if()'s error
 */
static err_t ra_send(struct sn_engine *e)
{
	const ip6_addr_t *from = netif_ip6_addr(&e->netif, 0);	/* link-local */
	struct ra_header *ra;
	ip6_addr_t to;
	struct pbuf *p;
	err_t err;

	p = pbuf_alloc(PBUF_IP, (u16_t)RA_LEN, PBUF_RAM);
	if (!p)
		return ERR_MEM;
	ra_build(e, p);
	ip6_addr_set_allnodes_linklocal(&to);
	ip6_addr_assign_zone(&to, IP6_MULTICAST, &e->netif);
	ra = p->payload;
	ra->chksum = ip6_chksum_pseudo(p, IP6_NEXTH_ICMP6, p->tot_len, from, &to);
	err = ip6_output_if(p, from, &to, RA_HOP_LIMIT, 0, IP6_NEXTH_ICMP6, &e->netif);
	pbuf_free(p);
	e->ra.last_ms = sn_now_ms();
	e->ra.sent_once = 1;
	if (err == ERR_OK)
		e->st.ra_sent++;
	return err;
}

/**
 * sn_ra_guest_seen() - the guest sent an IPv6 packet: start advertising
 * @e:		engine
 */
void sn_ra_guest_seen(struct sn_engine *e)
{
	if (e->ra.armed)
		return;
	e->ra.armed = 1;
	e->ra.unsolicited = 0;
	e->ra.next_ms = sn_now_ms() + SN_RA_INITIAL_MS;
	sn_timer_arm(e, e->ra.next_ms);
}

/**
 * ra_rs_valid() - RFC 4861 6.1.1 checks of a router solicitation
 * @p:		the ICMPv6 message (payload at its header), checksum verified
 * @src:	IPv6 source
 *
 * Return: non-zero if valid
 */
static int ra_rs_valid(const struct pbuf *p, const ip6_addr_t *src)
{
	u16_t off = sizeof(struct rs_header);
	u8_t code, opt[2];

	if (p->tot_len < sizeof(struct rs_header) ||
	    pbuf_copy_partial(p, &code, 1, 1) != 1 || code != 0)
		return 0;
	while (off < p->tot_len) {
		if (pbuf_copy_partial(p, opt, 2, off) != 2 || !opt[1] ||
		    opt[1] * 8 > p->tot_len - off)
			return 0;
		/* no source link-layer address from the unspecified address */
		if (opt[0] == ND6_OPTION_TYPE_SOURCE_LLADDR && ip6_addr_isany(src))
			return 0;
		off = (u16_t)(off + opt[1] * 8);
	}
	return 1;
}

/**
 * sn_ra_input() - serve a router solicitation from the guest
 * @e:		engine
 * @p:		packet, payload at the IPv6 header; consumed
 * @hlen:	offset of the ICMPv6 header
 * @src:	IPv6 source
 * @dst:	IPv6 destination
 */
void sn_ra_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip6_addr_t *src,
		 const ip6_addr_t *dst)
{
	u8_t hoplim = IP6H_HOPLIM((const struct ip6_hdr *)p->payload);
	uint32_t now;

	if (!ip6_addr_isallrouters_linklocal(dst) &&
	    netif_get_ip6_addr_match(&e->netif, dst) < 0) {
		e->st.drop_unsupported++;
		pbuf_free(p);
		return;
	}
	if (hoplim != RA_HOP_LIMIT || pbuf_remove_header(p, hlen) ||
	    ip6_chksum_pseudo(p, IP6_NEXTH_ICMP6, p->tot_len, src, dst) != 0 ||
	    !ra_rs_valid(p, src)) {
		e->st.drop_malformed++;
		pbuf_free(p);
		return;
	}
	pbuf_free(p);
	sn_ra_guest_seen(e);

	now = sn_now_ms();
	if (e->ra.sent_once && !sn_time_after(now, e->ra.last_ms + SN_RA_MIN_DELAY_MS)) {
		/* too soon after the last one: answer when the delay ends */
		if (sn_time_after(e->ra.next_ms, e->ra.last_ms + SN_RA_MIN_DELAY_MS))
			e->ra.next_ms = e->ra.last_ms + SN_RA_MIN_DELAY_MS;
		sn_timer_arm(e, e->ra.next_ms);
		return;
	}
	if (ra_send(e) != ERR_OK)
		sn_log(e, SN_LOG_DEBUG, "router advertisement not sent");
}

/**
 * sn_ra_tick() - send an unsolicited RA when one is due, arm the next
 * @e:		engine
 */
void sn_ra_tick(struct sn_engine *e)
{
	uint32_t now = sn_now_ms();

	if (!e->ra.armed || !e->guest_mac_known)
		return;
	if (sn_time_after(now, e->ra.next_ms)) {
		ra_send(e);
		if (e->ra.unsolicited < SN_RA_INITIAL_COUNT)
			e->ra.unsolicited++;
		e->ra.next_ms = now + (e->ra.unsolicited < SN_RA_INITIAL_COUNT ?
				       SN_RA_INITIAL_MS : SN_RA_INTERVAL_MS);
	}
	sn_timer_arm(e, e->ra.next_ms);
}
