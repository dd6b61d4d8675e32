// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - packets the relays send to the guest
 *
 * Relays answer from the address the guest talked to, which is not an
 * address of the netif. lwIP's ip4_output_if_src() accepts any source, but
 * writes no DF bit; replies that fit the guest MTU get their header here
 * instead (DF, TTL 64, lwIP's inet_chksum) and go to the netif's output,
 * while larger ones go through ip4_output_if_src() so lwIP fragments them.
 */
#include <string.h>

#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/pbuf.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/udp.h"
#include "netif/guestif.h"

#define SN_TTL		64
/* RFC 1812 4.3.2.3: quote as much of the packet as fits in 576 bytes. */
#define SN_ICMP_QUOTE	(576 - IP_HLEN - 8)

/**
 * sn_ip4_output() - send a transport payload to the guest from any address
 * @e:		engine
 * @p:		transport header and data, with PBUF_IP headroom; not freed
 * @src:	source address
 * @proto:	IP protocol
 *
 * Return: ERR_OK or lwIP's error
 */
err_t sn_ip4_output(struct sn_engine *e, struct pbuf *p, const ip4_addr_t *src, u8_t proto)
{
	static u16_t ip_id;
	ip4_addr_t dst;
	struct ip_hdr *iph;
	err_t err;

	ip4_addr_set_u32(&dst, e->cfg.guest_ip4.s_addr);
	if (p->tot_len + IP_HLEN > e->netif.mtu)
		return ip4_output_if_src(p, src, &dst, SN_TTL, 0, proto, &e->netif);

	if (pbuf_add_header(p, IP_HLEN))
		return ERR_BUF;
	iph = p->payload;
	IPH_VHL_SET(iph, 4, IP_HLEN / 4);
	IPH_TOS_SET(iph, 0);
	IPH_LEN_SET(iph, lwip_htons(p->tot_len));
	IPH_ID_SET(iph, lwip_htons(ip_id++));
	IPH_OFFSET_SET(iph, PP_HTONS(IP_DF));
	IPH_TTL_SET(iph, SN_TTL);
	IPH_PROTO_SET(iph, proto);
	ip4_addr_copy(iph->src, *src);
	ip4_addr_copy(iph->dest, dst);
	IPH_CHKSUM_SET(iph, 0);
	IPH_CHKSUM_SET(iph, inet_chksum(iph, IP_HLEN));
	err = e->netif.output(&e->netif, p, &dst);
	pbuf_remove_header(p, IP_HLEN);
	return err;
}

/**
 * sn_udp4_output() - send a UDP datagram to the guest
 * @e:		engine
 * @src:	source address
 * @sport:	source port, host order
 * @dport:	guest port, host order
 * @data:	payload
 * @len:	its length
 *
 * Return: ERR_OK or lwIP's error
 */
err_t sn_udp4_output(struct sn_engine *e, const ip4_addr_t *src, u16_t sport,
		     u16_t dport, const void *data, size_t len)
{
	ip4_addr_t dst;
	struct udp_hdr *uh;
	struct pbuf *p;
	u16_t sum;
	err_t err;

	if (len > 0xffff - IP_HLEN - UDP_HLEN)
		return ERR_VAL;
	p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (!p)
		return ERR_MEM;
	pbuf_take(p, data, (u16_t)len);
	if (pbuf_add_header(p, UDP_HLEN)) {
		pbuf_free(p);
		return ERR_BUF;
	}
	ip4_addr_set_u32(&dst, e->cfg.guest_ip4.s_addr);
	uh = p->payload;
	uh->src = lwip_htons(sport);
	uh->dest = lwip_htons(dport);
	uh->len = lwip_htons(p->tot_len);
	uh->chksum = 0;
	sum = inet_chksum_pseudo(p, IP_PROTO_UDP, p->tot_len, src, &dst);
	uh->chksum = sum ? sum : 0xffff;
	err = sn_ip4_output(e, p, src, IP_PROTO_UDP);
	pbuf_free(p);
	return err;
}

/**
 * sn_icmp4_unreach() - answer a guest packet with destination unreachable
 * @e:		engine
 * @orig:	the guest's packet, payload at its IP header; not freed
 * @code:	ICMP_DUR_* code, or 13 (administratively prohibited)
 */
void sn_icmp4_unreach(struct sn_engine *e, struct pbuf *orig, u8_t code)
{
	const struct ip_hdr *oh = orig->payload;
	u16_t quote = orig->tot_len < SN_ICMP_QUOTE ? orig->tot_len : SN_ICMP_QUOTE;
	struct icmp_echo_hdr *ih;
	ip4_addr_t src;
	struct pbuf *p;

	/* The destination itself refuses a port or protocol; a router (the
	 * gateway) reports the rest. */
	if (code == ICMP_DUR_PORT || code == ICMP_DUR_PROTO)
		ip4_addr_copy(src, oh->dest);
	else
		ip4_addr_set_u32(&src, e->cfg.gw_ip4.s_addr);

	p = pbuf_alloc(PBUF_IP, (u16_t)(sizeof(*ih) + quote), PBUF_RAM);
	if (!p)
		return;
	ih = p->payload;
	memset(ih, 0, sizeof(*ih));
	ICMPH_TYPE_SET(ih, ICMP_DUR);
	ICMPH_CODE_SET(ih, code);
	pbuf_copy_partial(orig, (u8_t *)p->payload + sizeof(*ih), quote, 0);
	ih->chksum = inet_chksum(p->payload, p->tot_len);
	sn_ip4_output(e, p, &src, IP_PROTO_ICMP);
	pbuf_free(p);
}
