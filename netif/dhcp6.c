// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the stateless DHCPv6 server
 *
 * Router advertisements (netif/ra.c) give the guest its address (SLAAC),
 * its router and, through RDNSS, its DNS server; they also set the O flag:
 * "other configuration by DHCPv6". A guest whose resolver does not read
 * RDNSS asks for it with a DHCPv6 INFORMATION-REQUEST (RFC 8415 18.2.6),
 * and this server answers with a REPLY carrying the DNS server: the DNS
 * forwarder's address (cfg.dns_ip6: the gateway's unless configured).
 * Like the DHCPv4 server it keeps no state at all: every answer follows
 * from the configuration.
 *
 * Who gets here
 *   netif/hook6.c hands over every UDP datagram from the guest to port 547.
 *   The destination must be All_DHCP_Relay_Agents_and_Servers (ff02::1:2)
 *   or a gateway address, the source the guest's link-local or global
 *   address (hook6.c checked it), else drop_unsupported.
 *
 * Messages (RFC 8415 7.3)
 *   - INFORMATION-REQUEST: REPLY with SERVERID (DUID-LL of the gateway
 *     MAC, RFC 8415 11.4), the client's CLIENTID echoed when it sent one,
 *     DNS_SERVERS (RFC 3646) and INFORMATION_REFRESH_TIME
 *     (SN_DHCP6_REFRESH_S); the transaction id is echoed. One naming
 *     another server (SERVERID not ours) is not for us: drop_unsupported.
 *     One with an IA option is invalid (RFC 8415 16.12): drop_malformed;
 *   - SOLICIT, REQUEST, RENEW, ... (stateful address assignment, which the
 *     RAs' M=0 says is not offered; RFC 8415 allows a server not to
 *     answer), server messages and relay messages: drop_unsupported.
 *
 * Replies go from the gateway's link-local address, port 547, to the
 * source address and port of the request, hop limit 64. The IPv6 header is built here and the frame sent straight
 * to the guest's MAC (the request came from it, guestif.c pinned it): the
 * client's link-local address needs no neighbour resolution, as the DHCPv4
 * server's replies need no ARP.
 *
 * Validation and bounds
 *   UDP length equal to the IPv6 payload, a non-zero and correct UDP
 *   checksum (mandatory in IPv6), a message of at least the 4-byte header
 *   and at most DHCP6_MSG_MAX bytes (longer ones: drop_unsupported), every
 *   option within the message, a CLIENTID of 2..DHCP6_DUID_MAX bytes: a
 *   failure is counted in drop_malformed and answered with nothing. The
 *   message is copied into a fixed buffer on the stack, the option walk
 *   advances at least 4 bytes per step within it, the reply is built in a
 *   fixed buffer: nothing is allocated per message but the reply's pbuf.
 *   Replies sent are counted in dhcp6_replies.
 */
#include <string.h>

#include "lwip/def.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip6.h"
#include "lwip/ip6_addr.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ethernet.h"
#include "lwip/prot/ip6.h"
#include "lwip/prot/udp.h"
#include "netif/dhcp6.h"
#include "netif/ethernet.h"
#include "core/engine.h"
#include "netif/output.h"

/* Largest client message served: an Ethernet MTU's worth of UDP payload. */
#define DHCP6_MSG_MAX		(1500 - IP6_HLEN - UDP_HLEN)
/* A DUID is at most 128 bytes after its 2-byte type (RFC 8415 11.1). */
#define DHCP6_DUID_MAX		130
/* Reply: header, SERVERID, CLIENTID, DNS_SERVERS, INFORMATION_REFRESH_TIME */
#define DHCP6_REPLY_MAX		(4 + (4 + 10) + (4 + DHCP6_DUID_MAX) + (4 + 16) + (4 + 4))
#define DHCP6_HOP_LIMIT		64

/* Message types (RFC 8415 7.3) */
#define DHCP6_REPLY		7
#define DHCP6_INFORMATION_REQUEST 11

/* Option codes (RFC 8415 21, RFC 3646) */
#define DHCP6_OPT_CLIENTID	1
#define DHCP6_OPT_SERVERID	2
#define DHCP6_OPT_IA_NA		3
#define DHCP6_OPT_IA_TA		4
#define DHCP6_OPT_DNS_SERVERS	23
#define DHCP6_OPT_IA_PD		25
#define DHCP6_OPT_INFO_REFRESH	32

/* DUID-LL (RFC 8415 11.4) over Ethernet (hardware type 1) */
#define DHCP6_DUID_LL		3
#define DHCP6_HWTYPE_ETHERNET	1

/**
 * struct dhcp6_req - what the server needs from a client message
 * @type:	message type
 * @xid:	transaction id, 3 bytes
 * @clientid:	CLIENTID option data, NULL if absent
 * @clientid_len: its length
 * @serverid:	SERVERID option data, NULL if absent
 * @serverid_len: its length
 * @has_ia:	an IA_NA, IA_TA or IA_PD option is present
 */
struct dhcp6_req {
	u8_t type;
	const u8_t *xid;
	const u8_t *clientid;
	u16_t clientid_len;
	const u8_t *serverid;
	u16_t serverid_len;
	int has_ia;
};

/**
 * dhcp6_get16() - a big-endian 16-bit field
 * @b:		its bytes
 *
 * Return: the value
 */
static u16_t dhcp6_get16(const u8_t *b)
{
	return (u16_t)(b[0] << 8 | b[1]);
}

/**
 * dhcp6_put_opt() - append one option to a message
 * @buf:	message
 * @n:		its length so far
 * @code:	option code
 * @data:	option data
 * @len:	its length
 *
 * Return: the new length
 */
static size_t dhcp6_put_opt(u8_t *buf, size_t n, u16_t code, const void *data, u16_t len)
{
	buf[n] = (u8_t)(code >> 8);
	buf[n + 1] = (u8_t)code;
	buf[n + 2] = (u8_t)(len >> 8);
	buf[n + 3] = (u8_t)len;
	memcpy(buf + n + 4, data, len);
	return n + 4 + len;
}

/**
 * dhcp6_duid() - the server's DUID-LL, from the gateway MAC
 * @e:		engine
 * @duid:	10 bytes, filled
 */
static void dhcp6_duid(const struct sn_engine *e, u8_t duid[10])
{
	duid[0] = 0;
	duid[1] = DHCP6_DUID_LL;
	duid[2] = 0;
	duid[3] = DHCP6_HWTYPE_ETHERNET;
	memcpy(duid + 4, e->cfg.gw_mac, 6);
}

/**
 * dhcp6_parse() - take a client message apart
 * @msg:	the message
 * @len:	its length, >= 4
 * @req:	filled
 *
 * The first CLIENTID and SERVERID count; later copies are ignored.
 *
 * Return: 0, or -1 if malformed
 */
static int dhcp6_parse(const u8_t *msg, size_t len, struct dhcp6_req *req)
{
	size_t off = 4;

	memset(req, 0, sizeof(*req));
	req->type = msg[0];
	req->xid = msg + 1;
	while (off < len) {
		u16_t code, olen;

		if (len - off < 4)
			return -1;
		code = dhcp6_get16(msg + off);
		olen = dhcp6_get16(msg + off + 2);
		if (olen > len - off - 4)
			return -1;
		switch (code) {
		case DHCP6_OPT_CLIENTID:
			if (olen < 2 || olen > DHCP6_DUID_MAX)
				return -1;
			if (!req->clientid) {
				req->clientid = msg + off + 4;
				req->clientid_len = olen;
			}
			break;
		case DHCP6_OPT_SERVERID:
			if (olen < 2 || olen > DHCP6_DUID_MAX)
				return -1;
			if (!req->serverid) {
				req->serverid = msg + off + 4;
				req->serverid_len = olen;
			}
			break;
		case DHCP6_OPT_IA_NA:
		case DHCP6_OPT_IA_TA:
		case DHCP6_OPT_IA_PD:
			req->has_ia = 1;
			break;
		}
		off += 4 + (size_t)olen;
	}
	return 0;
}

/**
 * dhcp6_send() - send a reply to the guest, UDP in IPv6, from the gateway
 * @e:		engine
 * @to:		client address
 * @dport:	client port, host order
 * @data:	DHCPv6 message
 * @len:	its length (<= DHCP6_REPLY_MAX)
 *
 * Return: ERR_OK, ERR_MEM, ERR_BUF, or ethernet_output()'s error
 */
static err_t dhcp6_send(struct sn_engine *e, const ip6_addr_t *to, u16_t dport,
			const void *data, size_t len)
{
	const ip6_addr_t *from = netif_ip6_addr(&e->netif, 0);	/* link-local */
	struct ip6_hdr *ip6h;
	ip_addr_t s, d;
	struct pbuf *p;
	err_t err;

	ip_addr_copy_from_ip6(s, *from);
	ip_addr_copy_from_ip6(d, *to);
	p = sn_udp_pbuf(&s, SN_DHCP6_SERVER_PORT, &d, dport, data, len);
	if (!p)
		return ERR_MEM;
	if (pbuf_add_header(p, IP6_HLEN)) {
		pbuf_free(p);
		return ERR_BUF;
	}
	ip6h = p->payload;
	IP6H_VTCFL_SET(ip6h, 6, 0, 0);
	IP6H_PLEN_SET(ip6h, (u16_t)(p->tot_len - IP6_HLEN));
	IP6H_NEXTH_SET(ip6h, IP6_NEXTH_UDP);
	IP6H_HOPLIM_SET(ip6h, DHCP6_HOP_LIMIT);
	ip6_addr_copy_to_packed(ip6h->src, *from);
	ip6_addr_copy_to_packed(ip6h->dest, *to);
	err = ethernet_output(&e->netif, p, (const struct eth_addr *)e->cfg.gw_mac,
			      (const struct eth_addr *)e->cfg.guest_mac, ETHTYPE_IPV6);
	pbuf_free(p);
	return err;
}

/**
 * dhcp6_reply() - answer an INFORMATION-REQUEST
 * @e:		engine
 * @req:	the parsed request
 * @to:		client address
 * @dport:	client port, host order
 */
static void dhcp6_reply(struct sn_engine *e, const struct dhcp6_req *req, const ip6_addr_t *to,
			u16_t dport)
{
	u8_t out[DHCP6_REPLY_MAX], duid[10];
	u32_t refresh = PP_HTONL(SN_DHCP6_REFRESH_S);
	size_t n = 4;

	out[0] = DHCP6_REPLY;
	memcpy(out + 1, req->xid, 3);
	dhcp6_duid(e, duid);
	n = dhcp6_put_opt(out, n, DHCP6_OPT_SERVERID, duid, sizeof(duid));
	if (req->clientid)
		n = dhcp6_put_opt(out, n, DHCP6_OPT_CLIENTID, req->clientid, req->clientid_len);
	n = dhcp6_put_opt(out, n, DHCP6_OPT_DNS_SERVERS, &e->cfg.dns_ip6, 16);
	n = dhcp6_put_opt(out, n, DHCP6_OPT_INFO_REFRESH, &refresh, sizeof(refresh));
	if (dhcp6_send(e, to, dport, out, n) == ERR_OK)
		e->st.dhcp6_replies++;
	else
		sn_log(e, SN_LOG_DEBUG, "DHCPv6 reply not sent");
}

/**
 * dhcp6_for_us() - is this destination the server's
 * @e:		engine
 * @dst:	IPv6 destination
 *
 * Return: non-zero for ff02::1:2 and the gateway's addresses
 */
static int dhcp6_for_us(struct sn_engine *e, const ip6_addr_t *dst)
{
	return (dst->addr[0] == PP_HTONL(0xff020000UL) && dst->addr[1] == 0 &&
		dst->addr[2] == 0 && dst->addr[3] == PP_HTONL(0x00010002UL)) ||
	       netif_get_ip6_addr_match(&e->netif, dst) >= 0;
}

/**
 * sn_dhcp6_input() - serve one DHCPv6 message from the guest
 * @e:		engine
 * @p:		packet, payload at the IPv6 header; consumed
 * @hlen:	offset of the UDP header
 * @src:	IPv6 source
 * @dst:	IPv6 destination
 */
void sn_dhcp6_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip6_addr_t *src,
		    const ip6_addr_t *dst)
{
	u8_t msg[DHCP6_MSG_MAX], duid[10];
	struct dhcp6_req req;
	struct udp_hdr uh;
	u16_t ulen, sport;

	if (!dhcp6_for_us(e, dst) || ip6_addr_isany(src)) {
		e->st.drop_unsupported++;
		goto out;
	}
	if (p->tot_len < hlen + UDP_HLEN ||
	    pbuf_copy_partial(p, &uh, UDP_HLEN, hlen) != UDP_HLEN) {
		e->st.drop_malformed++;
		goto out;
	}
	ulen = (u16_t)(p->tot_len - hlen);
	if (lwip_ntohs(uh.len) != ulen || !uh.chksum || pbuf_remove_header(p, hlen) ||
	    ip6_chksum_pseudo(p, IP6_NEXTH_UDP, p->tot_len, src, dst) != 0 ||
	    ulen < UDP_HLEN + 4) {
		e->st.drop_malformed++;
		goto out;
	}
	if (ulen - UDP_HLEN > DHCP6_MSG_MAX) {
		e->st.drop_unsupported++;
		goto out;
	}
	sport = lwip_ntohs(uh.src);
	pbuf_copy_partial(p, msg, (u16_t)(ulen - UDP_HLEN), UDP_HLEN);
	if (dhcp6_parse(msg, ulen - UDP_HLEN, &req)) {
		e->st.drop_malformed++;
		goto out;
	}
	if (req.type != DHCP6_INFORMATION_REQUEST) {
		e->st.drop_unsupported++;	/* stateful, server or relay message */
		goto out;
	}
	if (req.has_ia) {
		e->st.drop_malformed++;		/* RFC 8415 16.12 */
		goto out;
	}
	dhcp6_duid(e, duid);
	if (req.serverid && (req.serverid_len != sizeof(duid) ||
			     memcmp(req.serverid, duid, sizeof(duid)))) {
		e->st.drop_unsupported++;	/* for another server */
		goto out;
	}
	dhcp6_reply(e, &req, src, sport);
out:
	pbuf_free(p);
}
