/* SPDX-License-Identifier: MIT */
/**
 * DOC: the stateless DHCPv6 server on the guest link (dhcp6.c)
 *
 * netif/hook6.c hands the server every UDP datagram from the guest to port
 * 547; the server answers INFORMATION-REQUEST (RFC 8415 18.2.6) with the
 * DNS server, from the configuration alone, and keeps no state.
 */
#ifndef SANDNET_NETIF_DHCP6_H
#define SANDNET_NETIF_DHCP6_H

#include "core/engine.h"
#include "lwip/ip6_addr.h"
#include "lwip/pbuf.h"

/* DHCPv6 ports (RFC 8415 7.2) */
#define SN_DHCP6_CLIENT_PORT	546
#define SN_DHCP6_SERVER_PORT	547
/* INFORMATION_REFRESH_TIME sent (s): a day, RFC 8415 21.23's default. */
#define SN_DHCP6_REFRESH_S	86400

/**
 * sn_dhcp6_input() - serve one DHCPv6 message from the guest
 * @e:		engine
 * @p:		packet, payload at the IPv6 header, tot_len the IPv6 packet's
 *		length; consumed
 * @hlen:	offset of the UDP header
 * @src:	IPv6 source
 * @dst:	IPv6 destination
 */
void sn_dhcp6_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip6_addr_t *src,
		    const ip6_addr_t *dst);

#endif /* SANDNET_NETIF_DHCP6_H */
