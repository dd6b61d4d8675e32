// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - packets the relays send to the guest
 *
 * Relays answer from the address the guest talked to, which is not an
 * address of the netif. lwIP's ip4_output_if_src() accepts any source, but
 * writes no DF bit; replies that fit the guest MTU get their header here
 * instead (DF, TTL 64, lwIP's inet_chksum) and go to the netif's output,
 * while larger ones go through ip4_output_if_src() so lwIP fragments them.
 *
 * ICMP errors about the guest's own packets (destination unreachable,
 * fragmentation needed, time exceeded, parameter problem) are built by one
 * function, sn_icmp4_error(): type, code, the 32-bit field after the
 * checksum (next-hop MTU), the source (the router or host reporting it)
 * and the quote (the guest's IP header and as much after it as is kept, up
 * to 576 bytes in all). RFC 1122 3.2.2 applies: no error about an ICMP
 * error or a non-first fragment. All of them share one token bucket
 * (SN_ICMP_ERR_RATE, SN_ICMP_ERR_BURST), so a guest cannot make the engine
 * flood it.
 *
 * IPv6: sn_ip6_output() sends from any source to the guest address the
 * relay talked to (ip6_output_if(), hop limit 64; lwIP fragments what does
 * not fit the MTU), sn_udp6_output() adds the mandatory UDP checksum
 * (ip6_chksum_pseudo(); 0 is sent as 0xffff, RFC 8200 8.1), and
 * sn_icmp6_error() builds ICMPv6 errors the same way as the IPv4 ones,
 * quoting as much of the guest's packet as fits in 1280 bytes (RFC 4443
 * 2.4(c)), from the same token bucket.
 */
#include <string.h>

#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/ip6.h"
#include "lwip/pbuf.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/icmp6.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"
#include "lwip/prot/udp.h"
#include "netif/ethernet.h"
#include "core/engine.h"
#include "netif/output.h"

#define SN_TTL		64
/* RFC 1812 4.3.2.3: quote as much of the packet as fits in 576 bytes. */
#define SN_ICMP_QUOTE	(576 - IP_HLEN - 8)
/* ICMP errors to the guest: at most SN_ICMP_ERR_RATE a second on average,
 * SN_ICMP_ERR_BURST at once (RFC 1812 4.3.2.8; Linux's icmp_msgs_per_sec
 * bucket is of the same kind). Errors over the limit are counted in
 * icmp_errors_ratelimited and not sent. */
#define SN_ICMP_ERR_RATE	100
#define SN_ICMP_ERR_BURST	50

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
	if ((unsigned)p->tot_len + IP_HLEN > e->cfg.mtu)
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
 * sn_udp_pbuf() - a UDP datagram in a pbuf, checksum set, IP header room left
 * @src:	source address (IPv4 or IPv6)
 * @sport:	source port, host order
 * @dst:	destination address, same family
 * @dport:	destination port, host order
 * @data:	payload
 * @len:	its length
 *
 * The checksum is always computed (mandatory over IPv6); a computed 0 is
 * sent as 0xffff, since 0 means "none".
 *
 * Return: the pbuf (payload at the UDP header), or NULL on ERR_MEM or a
 *	   length beyond UDP's
 */
struct pbuf *sn_udp_pbuf(const ip_addr_t *src, u16_t sport, const ip_addr_t *dst,
			 u16_t dport, const void *data, size_t len)
{
	struct udp_hdr *uh;
	struct pbuf *p;
	u16_t sum;

	if (len > 0xffff - UDP_HLEN)
		return NULL;
	p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (!p)
		return NULL;
	pbuf_take(p, data, (u16_t)len);
	if (pbuf_add_header(p, UDP_HLEN)) {
		pbuf_free(p);
		return NULL;
	}
	uh = p->payload;
	uh->src = lwip_htons(sport);
	uh->dest = lwip_htons(dport);
	uh->len = lwip_htons(p->tot_len);
	uh->chksum = 0;
	sum = ip_chksum_pseudo(p, IP_PROTO_UDP, p->tot_len, src, dst);
	uh->chksum = sum ? sum : 0xffff;
	return p;
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
	ip_addr_t s, d;
	struct pbuf *p;
	err_t err;

	if (len > 0xffff - IP_HLEN - UDP_HLEN)
		return ERR_VAL;
	ip_addr_copy_from_ip4(s, *src);
	ip_addr_set_ip4_u32_val(d, e->cfg.guest_ip4.s_addr);
	p = sn_udp_pbuf(&s, sport, &d, dport, data, len);
	if (!p)
		return ERR_MEM;
	err = sn_ip4_output(e, p, src, IP_PROTO_UDP);
	pbuf_free(p);
	return err;
}

/**
 * sn_icmp_err_allowed() - take a token from the ICMP error bucket
 * @e:		engine
 *
 * A token bucket in milliseconds of credit: each error costs
 * 1000 / SN_ICMP_ERR_RATE ms, credit accrues with the clock up to
 * SN_ICMP_ERR_BURST errors' worth. A refusal is counted.
 *
 * Return: non-zero if an error may be sent now
 */
int sn_icmp_err_allowed(struct sn_engine *e)
{
	const uint32_t cost = 1000 / SN_ICMP_ERR_RATE;
	const uint32_t cap = cost * SN_ICMP_ERR_BURST;
	uint32_t now = sn_now_ms(), elapsed;

	if (!e->icmp_err.started) {
		e->icmp_err.started = 1;
		e->icmp_err.credit_ms = cap;
	} else {
		elapsed = now - e->icmp_err.last_ms;
		if (elapsed >= cap || e->icmp_err.credit_ms + elapsed >= cap)
			e->icmp_err.credit_ms = cap;
		else
			e->icmp_err.credit_ms += elapsed;
	}
	e->icmp_err.last_ms = now;
	if (e->icmp_err.credit_ms < cost) {
		e->st.icmp_errors_ratelimited++;
		return 0;
	}
	e->icmp_err.credit_ms -= cost;
	return 1;
}

/**
 * icmp4_err_quotable() - may this guest packet be answered with an ICMP error
 * @pkt:	the packet from its IP header on (any alignment)
 * @len:	bytes available at @pkt
 *
 * RFC 1122 3.2.2: never about an ICMP error, a non-first fragment, or a
 * packet too short to carry its IP header and 8 bytes beyond.
 *
 * Return: non-zero if it may
 */
static int icmp4_err_quotable(const u8_t *pkt, size_t len)
{
	size_t hl = (size_t)(pkt[0] & 0x0f) * 4;
	u8_t type;

	if (len < IP_HLEN || (pkt[0] >> 4) != 4 || hl < IP_HLEN || len < hl + 8)
		return 0;
	if (((pkt[6] << 8) | pkt[7]) & IP_OFFMASK)
		return 0;
	type = pkt[hl];
	if (pkt[9] == IP_PROTO_ICMP && (type == ICMP_DUR || type == ICMP_SQ ||
					type == ICMP_RD || type == ICMP_TE || type == ICMP_PP))
		return 0;
	return 1;
}

/**
 * icmp4_err_new() - an ICMP error header, with room for the quote behind it
 * @e:		engine
 * @type:	ICMP type
 * @code:	ICMP code
 * @info:	the 32 bits after the checksum, host order
 * @quote:	bytes of quote to make room for
 * @out:	the message (payload at the ICMP header) on ERR_OK
 *
 * Return: ERR_OK, ERR_WOULDBLOCK when rate limited, ERR_MEM
 */
static err_t icmp4_err_new(struct sn_engine *e, u8_t type, u8_t code, u32_t info,
			   u16_t quote, struct pbuf **out)
{
	struct icmp_echo_hdr *ih;
	struct pbuf *p;
	u32_t rest = lwip_htonl(info);

	if (!sn_icmp_err_allowed(e))
		return ERR_WOULDBLOCK;
	p = pbuf_alloc(PBUF_IP, (u16_t)(sizeof(*ih) + quote), PBUF_RAM);
	if (!p)
		return ERR_MEM;
	ih = p->payload;
	memset(ih, 0, sizeof(*ih));
	ICMPH_TYPE_SET(ih, type);
	ICMPH_CODE_SET(ih, code);
	memcpy(&ih->id, &rest, sizeof(rest));	/* id and seqno: the 32-bit field */
	*out = p;
	return ERR_OK;
}

/**
 * icmp4_err_send() - checksum an ICMP error, send it to the guest, free it
 * @e:		engine
 * @p:		from icmp4_err_new(), quote filled in; consumed
 * @src:	source address
 *
 * Return: ERR_OK or lwIP's error
 */
static err_t icmp4_err_send(struct sn_engine *e, struct pbuf *p, const ip4_addr_t *src)
{
	struct icmp_echo_hdr *ih = p->payload;
	err_t err;

	ih->chksum = 0;
	ih->chksum = inet_chksum(p->payload, p->len);
	e->icmp_err.own = 1;	/* paid for already: guestif_linkoutput() lets it by */
	err = sn_ip4_output(e, p, src, IP_PROTO_ICMP);
	e->icmp_err.own = 0;
	pbuf_free(p);
	if (err == ERR_OK)
		e->st.icmp_errors_sent++;
	return err;
}

/**
 * sn_icmp4_error() - send the guest an ICMP error about one of its packets
 * @e:		engine
 * @src:	source of the error: the router or host that reports it
 * @type:	ICMP_DUR, ICMP_TE or ICMP_PP
 * @code:	ICMP code
 * @info:	the 32 bits after the checksum, host order: the next-hop MTU
 *		for fragmentation needed, pointer << 24 for parameter problem,
 *		else 0
 * @quote:	the guest's packet from its IP header on (as much as is kept)
 * @len:	bytes at @quote; at most SN_ICMP_QUOTE are quoted
 *
 * Return: ERR_OK; ERR_VAL if @quote may not be answered (RFC 1122);
 *	   ERR_WOULDBLOCK when rate limited (icmp_errors_ratelimited); ERR_MEM
 */
err_t sn_icmp4_error(struct sn_engine *e, const ip4_addr_t *src, u8_t type, u8_t code,
		     u32_t info, const void *quote, size_t len)
{
	u16_t n = (u16_t)(len < SN_ICMP_QUOTE ? len : SN_ICMP_QUOTE);
	struct pbuf *p;
	err_t err;

	if (!icmp4_err_quotable(quote, len))
		return ERR_VAL;
	err = icmp4_err_new(e, type, code, info, n, &p);
	if (err != ERR_OK)
		return err;
	memcpy((u8_t *)p->payload + sizeof(struct icmp_echo_hdr), quote, n);
	return icmp4_err_send(e, p, src);
}

/**
 * sn_icmp4_error_pbuf() - sn_icmp4_error() quoting a packet held in a pbuf
 * @e:		engine
 * @src:	source of the error
 * @type:	ICMP type
 * @code:	ICMP code
 * @info:	the 32 bits after the checksum, host order
 * @orig:	the guest's packet, payload at its IP header; not freed
 *
 * Return: as sn_icmp4_error()
 */
err_t sn_icmp4_error_pbuf(struct sn_engine *e, const ip4_addr_t *src, u8_t type, u8_t code,
			  u32_t info, const struct pbuf *orig)
{
	u8_t head[60 + 8];	/* the longest IP header and 8 bytes beyond */
	u16_t n = (u16_t)(orig->tot_len < SN_ICMP_QUOTE ? orig->tot_len : SN_ICMP_QUOTE);
	u16_t h = pbuf_copy_partial(orig, head, sizeof(head), 0);
	struct pbuf *p;
	err_t err;

	if (!icmp4_err_quotable(head, h))
		return ERR_VAL;
	err = icmp4_err_new(e, type, code, info, n, &p);
	if (err != ERR_OK)
		return err;
	pbuf_copy_partial(orig, (u8_t *)p->payload + sizeof(struct icmp_echo_hdr), n, 0);
	return icmp4_err_send(e, p, src);
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
	ip4_addr_t src;

	/* The destination itself refuses a port or protocol; a router (the
	 * gateway) reports the rest. */
	if (code == ICMP_DUR_PORT || code == ICMP_DUR_PROTO)
		ip4_addr_copy(src, oh->dest);
	else
		ip4_addr_set_u32(&src, e->cfg.gw_ip4.s_addr);
	sn_icmp4_error_pbuf(e, &src, ICMP_DUR, code, 0, orig);
}

/**
 * sn_udp4_output_to() - send a UDP datagram to an explicit IP and MAC address
 * @e:		engine
 * @src:	source address
 * @sport:	source port, host order
 * @dst:	destination address: the guest's, one it does not have yet, or
 *		255.255.255.255
 * @dst_mac:	Ethernet destination: the guest's MAC or ff:ff:ff:ff:ff:ff
 * @dport:	destination port, host order
 * @data:	payload
 * @len:	its length; the datagram must fit the guest MTU
 *
 * For the DHCP server, whose replies go to a guest that may not have its
 * address yet: no ARP lookup and no fragmentation. The header is built
 * like sn_ip4_output()'s (DF, TTL 64, lwIP's checksums) and the frame
 * leaves through ethernet_output() from the gateway's MAC.
 *
 * Return: ERR_OK, ERR_VAL if the datagram does not fit the MTU, ERR_MEM,
 *	   or the netif's error
 */
err_t sn_udp4_output_to(struct sn_engine *e, const ip4_addr_t *src, u16_t sport,
			const ip4_addr_t *dst, const struct eth_addr *dst_mac, u16_t dport,
			const void *data, size_t len)
{
	struct ip_hdr *iph;
	ip_addr_t s, d;
	struct pbuf *p;
	err_t err;

	if (len + IP_HLEN + UDP_HLEN > e->cfg.mtu)
		return ERR_VAL;
	ip_addr_copy_from_ip4(s, *src);
	ip_addr_copy_from_ip4(d, *dst);
	p = sn_udp_pbuf(&s, sport, &d, dport, data, len);
	if (!p)
		return ERR_MEM;
	if (pbuf_add_header(p, IP_HLEN)) {
		pbuf_free(p);
		return ERR_BUF;
	}
	iph = p->payload;
	IPH_VHL_SET(iph, 4, IP_HLEN / 4);
	IPH_TOS_SET(iph, 0);
	IPH_LEN_SET(iph, lwip_htons(p->tot_len));
	IPH_ID_SET(iph, 0);			/* DF set: the ID is unused (RFC 6864) */
	IPH_OFFSET_SET(iph, PP_HTONS(IP_DF));
	IPH_TTL_SET(iph, SN_TTL);
	IPH_PROTO_SET(iph, IP_PROTO_UDP);
	ip4_addr_copy(iph->src, *src);
	ip4_addr_copy(iph->dest, *dst);
	IPH_CHKSUM_SET(iph, 0);
	IPH_CHKSUM_SET(iph, inet_chksum(iph, IP_HLEN));
	err = ethernet_output(&e->netif, p, (const struct eth_addr *)e->cfg.gw_mac, dst_mac,
			      ETHTYPE_IP);
	pbuf_free(p);
	return err;
}

/* RFC 4443 2.4(c): an ICMPv6 error fits the minimum MTU, 1280 bytes. */
#define SN_ICMP6_QUOTE	(1280 - IP6_HLEN - 8)

/**
 * sn_ip6_output() - send a transport payload to the guest from any address
 * @e:		engine
 * @p:		transport header and data, with PBUF_IP headroom; not freed
 * @src:	source address (the address the guest talked to)
 * @dst:	the guest's address the packet goes to
 * @nexth:	IP6_NEXTH_UDP, IP6_NEXTH_ICMP6, ...
 *
 * A packet larger than the guest MTU leaves in fragments (ip6_frag(),
 * LWIP_IPV6_FRAG): to the guest's socket sandnet is the datagram's source,
 * not a router forwarding it, and a source fragments where a router would
 * answer packet too big (RFC 8200 4.5, 5).
 *
 * Return: ERR_OK or lwIP's error
 */
err_t sn_ip6_output(struct sn_engine *e, struct pbuf *p, const ip6_addr_t *src,
		    const ip6_addr_t *dst, u8_t nexth)
{
	ip6_addr_t s = *src, d = *dst;

	ip6_addr_assign_zone(&s, IP6_UNICAST, &e->netif);
	ip6_addr_assign_zone(&d, IP6_UNICAST, &e->netif);
	return ip6_output_if(p, &s, &d, SN_TTL, 0, nexth, &e->netif);
}

/**
 * sn_udp6_output() - send a UDP datagram to the guest over IPv6
 * @e:		engine
 * @src:	source address
 * @sport:	source port, host order
 * @dst:	the guest's address
 * @dport:	guest port, host order
 * @data:	payload
 * @len:	its length
 *
 * The checksum is mandatory over IPv6: always computed, 0 sent as 0xffff.
 *
 * Return: ERR_OK or lwIP's error (ERR_VAL: too long)
 */
err_t sn_udp6_output(struct sn_engine *e, const ip6_addr_t *src, u16_t sport,
		     const ip6_addr_t *dst, u16_t dport, const void *data, size_t len)
{
	ip_addr_t s, d;
	struct pbuf *p;
	err_t err;

	if (len > 0xffff - UDP_HLEN)
		return ERR_VAL;
	ip_addr_copy_from_ip6(s, *src);
	ip_addr_copy_from_ip6(d, *dst);
	p = sn_udp_pbuf(&s, sport, &d, dport, data, len);
	if (!p)
		return ERR_MEM;
	err = sn_ip6_output(e, p, src, dst, IP6_NEXTH_UDP);
	pbuf_free(p);
	return err;
}

/**
 * icmp6_err_quotable() - may this guest packet be answered with an ICMPv6 error
 * @pkt:	the packet from its IPv6 header on (any alignment)
 * @len:	bytes available at @pkt
 * @type:	the error to be sent
 * @dst:	filled with the packet's source, where the error goes
 *
 * RFC 4443 2.4(e): never about an ICMPv6 error, a packet from the
 * unspecified or a multicast address, or one to a multicast address
 * (except packet too big).
 *
 * Return: non-zero if it may
 */
static int icmp6_err_quotable(const u8_t *pkt, size_t len, u8_t type, ip6_addr_t *dst)
{
	ip6_addr_t to;

	if (len < IP6_HLEN || (pkt[0] >> 4) != 6)
		return 0;
	memcpy(dst->addr, pkt + 8, 16);
	memcpy(to.addr, pkt + 24, 16);
	ip6_addr_clear_zone(dst);
	ip6_addr_clear_zone(&to);
	if (ip6_addr_isany(dst) || ip6_addr_ismulticast(dst))
		return 0;
	if (ip6_addr_ismulticast(&to) && type != ICMP6_TYPE_PTB)
		return 0;
	if (pkt[6] == IP6_NEXTH_ICMP6 && len > IP6_HLEN && pkt[IP6_HLEN] < 128)
		return 0;
	return 1;
}

/**
 * sn_icmp6_error() - send the guest an ICMPv6 error about one of its packets
 * @e:		engine
 * @src:	source of the error: the router or host that reports it
 * @type:	ICMP6_TYPE_DUR, _PTB, _TE or _PP
 * @code:	ICMPv6 code
 * @info:	the 32 bits after the checksum, host order: the MTU for packet
 *		too big, the pointer for parameter problem, else 0
 * @quote:	the guest's packet from its IPv6 header on (as much as is kept)
 * @len:	bytes at @quote; at most SN_ICMP6_QUOTE are quoted
 *
 * The error goes to the quoted packet's source address.
 *
 * Return: ERR_OK; ERR_VAL if @quote may not be answered (RFC 4443 2.4);
 *	   ERR_WOULDBLOCK when rate limited; ERR_MEM or lwIP's output error
 */
err_t sn_icmp6_error(struct sn_engine *e, const ip6_addr_t *src, u8_t type, u8_t code,
		     u32_t info, const void *quote, size_t len)
{
	u16_t n = (u16_t)(len < SN_ICMP6_QUOTE ? len : SN_ICMP6_QUOTE);
	struct icmp6_hdr *ih;
	ip6_addr_t dst;
	struct pbuf *p;
	err_t err;

	if (!icmp6_err_quotable(quote, len, type, &dst))
		return ERR_VAL;
	if (!sn_icmp_err_allowed(e))
		return ERR_WOULDBLOCK;
	p = pbuf_alloc(PBUF_IP, (u16_t)(sizeof(*ih) + n), PBUF_RAM);
	if (!p)
		return ERR_MEM;
	ih = p->payload;
	ih->type = type;
	ih->code = code;
	ih->chksum = 0;
	ih->data = lwip_htonl(info);
	memcpy((u8_t *)p->payload + sizeof(*ih), quote, n);
	ih->chksum = ip6_chksum_pseudo(p, IP6_NEXTH_ICMP6, p->tot_len, src, &dst);
	e->icmp_err.own = 1;
	err = sn_ip6_output(e, p, src, &dst, IP6_NEXTH_ICMP6);
	e->icmp_err.own = 0;
	pbuf_free(p);
	if (err == ERR_OK)
		e->st.icmp_errors_sent++;
	return err;
}

/**
 * sn_icmp6_error_pbuf() - sn_icmp6_error() quoting a packet held in a pbuf
 * @e:		engine
 * @src:	source of the error
 * @type:	ICMPv6 type
 * @code:	ICMPv6 code
 * @info:	as for sn_icmp6_error()
 * @orig:	the guest's packet, payload at its IPv6 header; not freed
 *
 * Return: as sn_icmp6_error()
 */
err_t sn_icmp6_error_pbuf(struct sn_engine *e, const ip6_addr_t *src, u8_t type, u8_t code,
			  u32_t info, const struct pbuf *orig)
{
	static u8_t buf[SN_ICMP6_QUOTE];
	u16_t n = pbuf_copy_partial(orig, buf, sizeof(buf), 0);

	return sn_icmp6_error(e, src, type, code, info, buf, n);
}
