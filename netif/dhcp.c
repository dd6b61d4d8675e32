// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the DHCPv4 server
 *
 * A guest that does not take static configuration asks for it with DHCP
 * (RFC 2131). The guest link has exactly one guest, so the server has
 * exactly one lease: the guest address (cfg.guest_ip4), for the guest's MAC,
 * with the gateway as router and server identifier and the DNS forwarder's
 * address (cfg.dns_ip4: the gateway unless configured) as DNS server. Because
 * every answer follows from the configuration alone, the server keeps no
 * state at all: no lease table, no timers, no sockets. A lease "expires"
 * only in the guest's mind; whenever it asks again it gets the same answer.
 *
 * Who gets here
 *   netif/hook.c, before its source address check, hands over every UDP
 *   datagram to port 67 from 0.0.0.0 or the guest address to
 *   255.255.255.255 or the gateway (and not a fragment). guestif.c has
 *   already checked that the frame came from the guest's MAC (learned from
 *   the guest's first frame), and chaddr must be that MAC too: anything else
 *   is a spoofed message (drop_spoofed).
 *
 * Messages (RFC 2131 4.3)
 *   - DISCOVER: OFFER of the guest address, whatever address it asks for;
 *   - REQUEST: naming another server (option 54): not for us, ignored.
 *     Otherwise the address it asks for is its requested address (option
 *     50; SELECTING and INIT-REBOOT) or else ciaddr (RENEWING, REBINDING):
 *     the guest address gets an ACK, any other a NAK; neither is malformed;
 *   - INFORM: ACK with the parameters and no lease (the guest configured
 *     its address itself);
 *   - DECLINE, RELEASE: logged; the lease stays, there is no other address;
 *   - any other type (a server's messages, FORCERENEW, LEASEQUERY):
 *     drop_unsupported.
 *
 * Replies
 *   OFFER and ACK carry the message type, server identifier (gateway),
 *   lease time (SN_DHCP_LEASE_S, not for INFORM) with T1/T2, subnet mask
 *   (cfg.prefix_len4), broadcast address, router (gateway), DNS server (cfg.dns_ip4)
 *   and interface MTU (option 26, cfg.mtu); NAK carries the type, server
 *   identifier and a message. A client identifier (option 61) is echoed
 *   (RFC 6842). Replies are at least 300 bytes (BOOTP, RFC 1542) and at
 *   most 548, so they fit the 576-byte datagram every client takes.
 *
 * Where a reply goes (RFC 2131 4.1; giaddr is always zero, relayed
 * messages are dropped): a NAK is broadcast; with ciaddr set, the reply is
 *   unicast to ciaddr; with the broadcast flag set (or no address to give),
 *   it is broadcast to 255.255.255.255 and ff:ff:ff:ff:ff:ff; otherwise it is
 *   unicast to yiaddr at chaddr, which the guest takes before its interface
 *   has the address (no ARP is involved: the frame is addressed directly).
 *   The source is the gateway, port 67, to port 68.
 *
 * Validation and bounds
 *   UDP length and checksum, op BOOTREQUEST, htype Ethernet, hlen 6, the
 *   magic cookie, every option within its field (options, and the file and
 *   sname fields when option 52 overloads them), fixed-size options of their
 *   size, the options field ending with END, a message type present: a
 *   failure is counted in drop_malformed and answered with nothing. The
 *   message is copied into a fixed buffer (larger ones are dropped as
 *   unsupported), the option walk advances at least one byte per step
 *   within it, and the reply is built in a fixed buffer: nothing is
 *   allocated per message but the reply's pbuf.
 */
#include <string.h>

#include "lwip/def.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip4_addr.h"
#include "lwip/prot/dhcp.h"
#include "lwip/prot/ethernet.h"
#include "lwip/prot/iana.h"
#include "lwip/prot/ip.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/udp.h"
#include "netif/dhcp.h"
#include "core/engine.h"
#include "netif/output.h"

/* Largest client message served: an Ethernet MTU's worth of UDP payload
 * (clients stay within 576 bytes unless told otherwise, RFC 2131 2). */
#define DHCP_MSG_MAX		(1500 - IP_HLEN - UDP_HLEN)
/* Replies: BOOTP's minimum (RFC 1542 2.1), and what fits the 576-byte
 * datagram every client accepts (RFC 2131 2). */
#define DHCP_REPLY_MIN		300
#define DHCP_REPLY_MAX		(576 - IP_HLEN - UDP_HLEN)
#define DHCP_FLAG_BROADCAST	0x8000
#define DHCP_OPTION_MESSAGE	56	/* RFC 2132 9.9 */

static const char dhcp_nak_text[] = "requested address is not this guest's";

/**
 * struct dhcp_req - the options of a client message the server acts on
 * @type:	DHCP message type (option 53), 0 if absent
 * @overload:	option overload (option 52): DHCP_OVERLOAD_*, 0 if absent
 * @req_ip:	requested IP address (option 50), network order, 0 if absent
 * @server_id:	server identifier (option 54), network order, 0 if absent
 * @cid:	offset of the client identifier's value (option 61), 0 if absent
 * @cid_len:	its length
 */
struct dhcp_req {
	u8_t type;
	u8_t overload;
	u32_t req_ip;
	u32_t server_id;
	size_t cid;
	u8_t cid_len;
};

/**
 * dhcp_opts_parse() - walk the options in one field of a client message
 * @m:		the message
 * @start:	offset of the field's first option
 * @end:	offset just past the field
 * @is_options:	1 for the options field proper: END required, option 52
 *		allowed; 0 for the file and sname fields it overloads
 * @r:		options the server uses, filled as they are found
 *
 * Each step consumes at least one byte and every option must end within
 * [@start, @end), so the walk is bounded by the field.
 *
 * Return: 0, or -1 if the field is malformed
 */
static int dhcp_opts_parse(const u8_t *m, size_t start, size_t end, int is_options,
			   struct dhcp_req *r)
{
	size_t i = start;

	while (i < end) {
		u8_t code = m[i], len;
		const u8_t *v;

		if (code == DHCP_OPTION_PAD) {
			i++;
			continue;
		}
		if (code == DHCP_OPTION_END)
			return 0;
		if (i + 2 > end || i + 2 + m[i + 1] > end)
			return -1;
		len = m[i + 1];
		v = m + i + 2;
		i += 2 + (size_t)len;

		switch (code) {
		case DHCP_OPTION_MESSAGE_TYPE:
			if (len != 1)
				return -1;
			r->type = v[0];
			break;
		case DHCP_OPTION_REQUESTED_IP:
			if (len != 4)
				return -1;
			memcpy(&r->req_ip, v, 4);
			break;
		case DHCP_OPTION_SERVER_ID:
			if (len != 4)
				return -1;
			memcpy(&r->server_id, v, 4);
			break;
		case DHCP_OPTION_OVERLOAD:
			if (!is_options || len != 1 || v[0] < DHCP_OVERLOAD_FILE ||
			    v[0] > DHCP_OVERLOAD_SNAME_FILE)
				return -1;
			r->overload = v[0];
			break;
		case DHCP_OPTION_CLIENT_ID:
			if (len < 2)		/* type and one byte at least */
				return -1;
			r->cid = (size_t)(v - m);
			r->cid_len = len;
			break;
		default:
			break;
		}
	}
	return is_options ? -1 : 0;	/* the options field ends with END */
}

/**
 * dhcp_parse() - take a client message out of its packet and check it
 * @e:		engine
 * @p:		the packet from the hook (payload at the IP header); trimmed
 *		to the UDP datagram, its payload moved to the UDP header
 * @m:		filled with the message, DHCP_MSG_MAX bytes
 * @len:	set to its length
 * @r:		filled with the options the server uses
 *
 * Return: NULL if the message is valid, else the counter its drop belongs to
 */
static uint64_t *dhcp_parse(struct sn_engine *e, struct pbuf *p, u8_t *m, size_t *len,
			    struct dhcp_req *r)
{
	const struct ip_hdr *iph = p->payload;
	u16_t iphlen = IPH_HL_BYTES(iph), ulen;
	const struct dhcp_msg *dm = (const void *)m;
	ip4_addr_t src, dst;
	struct udp_hdr uh;

	ip4_addr_copy(src, iph->src);
	ip4_addr_copy(dst, iph->dest);
	if (pbuf_copy_partial(p, &uh, UDP_HLEN, iphlen) != UDP_HLEN)
		return &e->st.drop_malformed;
	ulen = lwip_ntohs(uh.len);
	if (ulen < UDP_HLEN || ulen > p->tot_len - iphlen)
		return &e->st.drop_malformed;
	pbuf_realloc(p, (u16_t)(iphlen + ulen));
	if (pbuf_remove_header(p, iphlen))
		return &e->st.drop_malformed;
	if (uh.chksum && inet_chksum_pseudo(p, IP_PROTO_UDP, ulen, &src, &dst))
		return &e->st.drop_malformed;

	*len = (size_t)ulen - UDP_HLEN;
	if (*len < DHCP_OPTIONS_OFS)
		return &e->st.drop_malformed;
	if (*len > DHCP_MSG_MAX)
		return &e->st.drop_unsupported;
	pbuf_copy_partial(p, m, (u16_t)*len, UDP_HLEN);

	if (dm->op != DHCP_BOOTREQUEST || dm->htype != LWIP_IANA_HWTYPE_ETHERNET ||
	    dm->hlen != ETH_HWADDR_LEN || dm->cookie != PP_HTONL(DHCP_MAGIC_COOKIE))
		return &e->st.drop_malformed;
	memset(r, 0, sizeof(*r));
	if (dhcp_opts_parse(m, DHCP_OPTIONS_OFS, *len, 1, r))
		return &e->st.drop_malformed;
	if ((r->overload & DHCP_OVERLOAD_FILE) &&
	    dhcp_opts_parse(m, DHCP_FILE_OFS, DHCP_FILE_OFS + DHCP_FILE_LEN, 0, r))
		return &e->st.drop_malformed;
	if ((r->overload & DHCP_OVERLOAD_SNAME) &&
	    dhcp_opts_parse(m, DHCP_SNAME_OFS, DHCP_SNAME_OFS + DHCP_SNAME_LEN, 0, r))
		return &e->st.drop_malformed;
	if (!r->type)
		return &e->st.drop_malformed;

	if (!ip4_addr_isany_val(dm->giaddr))
		return &e->st.drop_unsupported;		/* relayed: not from our link */
	if (!e->guest_mac_known || memcmp(dm->chaddr, e->cfg.guest_mac, ETH_HWADDR_LEN))
		return &e->st.drop_spoofed;
	return NULL;
}

/**
 * dhcp_opt() - append one option to a reply
 * @m:		the reply, DHCP_REPLY_MAX bytes
 * @n:		offset to write at, advanced past the option
 * @code:	option code
 * @v:		value
 * @len:	its length; the caller has checked that it fits
 */
static void dhcp_opt(u8_t *m, size_t *n, u8_t code, const void *v, u8_t len)
{
	m[(*n)++] = code;
	m[(*n)++] = len;
	memcpy(m + *n, v, len);
	*n += len;
}

/**
 * dhcp_dest() - where a reply goes (RFC 2131 4.1, giaddr zero)
 * @e:		engine
 * @q:		the client's message
 * @a:		the reply
 * @type:	reply type
 * @dst:	set to the IP destination
 *
 * Return: the Ethernet destination
 */
static const struct eth_addr *dhcp_dest(struct sn_engine *e, const struct dhcp_msg *q,
					const struct dhcp_msg *a, u8_t type, ip4_addr_t *dst)
{
	static const struct eth_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

	if (type != DHCP_NAK && !ip4_addr_isany_val(q->ciaddr)) {
		ip4_addr_copy(*dst, q->ciaddr);
		return (const struct eth_addr *)e->cfg.guest_mac;
	}
	if (type == DHCP_NAK || (q->flags & PP_HTONS(DHCP_FLAG_BROADCAST)) ||
	    ip4_addr_isany_val(a->yiaddr)) {
		ip4_addr_set_u32(dst, IPADDR_BROADCAST);
		return &bcast;
	}
	ip4_addr_copy(*dst, a->yiaddr);
	return (const struct eth_addr *)e->cfg.guest_mac;
}

/**
 * dhcp_reply() - build and send an OFFER, ACK or NAK
 * @e:		engine
 * @req:	the client's message
 * @r:		its options
 * @type:	DHCP_OFFER, DHCP_ACK or DHCP_NAK
 */
static void dhcp_reply(struct sn_engine *e, const u8_t *req, const struct dhcp_req *r, u8_t type)
{
	u8_t m[DHCP_REPLY_MAX];
	const struct dhcp_msg *q = (const void *)req;
	struct dhcp_msg *a = (void *)m;
	u32_t gw = e->cfg.gw_ip4.s_addr, guest = e->cfg.guest_ip4.s_addr;
	u32_t mask = lwip_htonl(0xffffffffu << (32 - e->cfg.prefix_len4));
	u32_t bcast = guest | ~mask;
	u32_t lease = PP_HTONL(SN_DHCP_LEASE_S), t1 = PP_HTONL(SN_DHCP_LEASE_S / 2);
	u32_t t2 = PP_HTONL(SN_DHCP_LEASE_S / 8 * 7);
	u16_t mtu = lwip_htons((u16_t)e->cfg.mtu);
	const struct eth_addr *mac;
	size_t n = DHCP_OPTIONS_OFS;
	ip4_addr_t src, dst;
	err_t err;

	memset(m, 0, sizeof(m));
	a->op = DHCP_BOOTREPLY;
	a->htype = q->htype;
	a->hlen = q->hlen;
	a->xid = q->xid;
	a->flags = q->flags;
	memcpy(a->chaddr, q->chaddr, DHCP_CHADDR_LEN);
	a->cookie = PP_HTONL(DHCP_MAGIC_COOKIE);
	if (type == DHCP_ACK)
		ip4_addr_copy(a->ciaddr, q->ciaddr);
	if (type == DHCP_OFFER || (type == DHCP_ACK && r->type != DHCP_INFORM))
		a->yiaddr.addr = guest;

	dhcp_opt(m, &n, DHCP_OPTION_MESSAGE_TYPE, &type, 1);
	dhcp_opt(m, &n, DHCP_OPTION_SERVER_ID, &gw, 4);
	if (type == DHCP_NAK) {
		dhcp_opt(m, &n, DHCP_OPTION_MESSAGE, dhcp_nak_text, sizeof(dhcp_nak_text) - 1);
	} else {
		if (r->type != DHCP_INFORM) {
			dhcp_opt(m, &n, DHCP_OPTION_LEASE_TIME, &lease, 4);
			dhcp_opt(m, &n, DHCP_OPTION_T1, &t1, 4);
			dhcp_opt(m, &n, DHCP_OPTION_T2, &t2, 4);
		}
		dhcp_opt(m, &n, DHCP_OPTION_SUBNET_MASK, &mask, 4);
		dhcp_opt(m, &n, DHCP_OPTION_BROADCAST, &bcast, 4);
		dhcp_opt(m, &n, DHCP_OPTION_ROUTER, &gw, 4);
		dhcp_opt(m, &n, DHCP_OPTION_DNS_SERVER, &e->cfg.dns_ip4.s_addr, 4);
		dhcp_opt(m, &n, DHCP_OPTION_MTU, &mtu, 2);
	}
	/* RFC 6842; one too long to fit is left out rather than split */
	if (r->cid && n + 2 + r->cid_len + 1 <= sizeof(m))
		dhcp_opt(m, &n, DHCP_OPTION_CLIENT_ID, req + r->cid, r->cid_len);
	m[n++] = DHCP_OPTION_END;
	if (n < DHCP_REPLY_MIN)
		n = DHCP_REPLY_MIN;	/* zero bytes are PAD options */

	mac = dhcp_dest(e, q, a, type, &dst);
	ip4_addr_set_u32(&src, gw);
	err = sn_udp4_output_to(e, &src, LWIP_IANA_PORT_DHCP_SERVER, &dst, mac,
				LWIP_IANA_PORT_DHCP_CLIENT, m, n);
	if (err != ERR_OK) {
		sn_log(e, SN_LOG_DEBUG, "DHCP: reply type %u not sent (lwIP error %d)", type, err);
		return;
	}
	if (type == DHCP_OFFER)
		e->st.dhcp_offers++;
	else if (type == DHCP_ACK)
		e->st.dhcp_acks++;
	else
		e->st.dhcp_naks++;
}

/**
 * dhcp_request() - answer a REQUEST: ACK for the guest address, else NAK
 * @e:		engine
 * @m:		the message
 * @r:		its options
 */
static void dhcp_request(struct sn_engine *e, const u8_t *m, const struct dhcp_req *r)
{
	const struct dhcp_msg *q = (const void *)m;
	ip4_addr_t want;

	if (r->server_id && r->server_id != e->cfg.gw_ip4.s_addr)
		return;		/* SELECTING another server's offer */
	ip4_addr_set_u32(&want, r->req_ip ? r->req_ip : q->ciaddr.addr);
	if (ip4_addr_isany_val(want)) {
		e->st.drop_malformed++;		/* asks for no address at all */
		return;
	}
	if (ip4_addr_get_u32(&want) != e->cfg.guest_ip4.s_addr) {
		sn_log(e, SN_LOG_INFO, "DHCP: NAK for %s, the guest's address is another",
		       ip4addr_ntoa(&want));
		dhcp_reply(e, m, r, DHCP_NAK);
		return;
	}
	dhcp_reply(e, m, r, DHCP_ACK);
}

/**
 * sn_dhcp_input4() - serve one DHCP message from the guest
 * @e:		engine
 * @p:		IPv4 packet (payload at the IP header); consumed
 */
void sn_dhcp_input4(struct sn_engine *e, struct pbuf *p)
{
	u8_t m[DHCP_MSG_MAX];
	struct dhcp_req r;
	uint64_t *bad;
	size_t len;

	bad = dhcp_parse(e, p, m, &len, &r);
	pbuf_free(p);
	if (bad) {
		(*bad)++;
		return;
	}

	switch (r.type) {
	case DHCP_DISCOVER:
		dhcp_reply(e, m, &r, DHCP_OFFER);
		return;
	case DHCP_REQUEST:
		dhcp_request(e, m, &r);
		return;
	case DHCP_INFORM:
		dhcp_reply(e, m, &r, DHCP_ACK);
		return;
	case DHCP_DECLINE:
		if (r.server_id != e->cfg.gw_ip4.s_addr)
			return;
		sn_log(e, SN_LOG_WARN, "DHCP: the guest declined its address (in use on its link?)");
		return;
	case DHCP_RELEASE:
		sn_log(e, SN_LOG_INFO, "DHCP: the guest released its address");
		return;
	default:
		e->st.drop_unsupported++;
		return;
	}
}
