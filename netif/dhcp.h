/* SPDX-License-Identifier: MIT */
/**
 * DOC: the DHCPv4 server on the guest link (dhcp.c)
 *
 * netif/hook.c hands the server every UDP datagram to port 67 that comes
 * from 0.0.0.0 or the guest address and goes to 255.255.255.255 or the
 * gateway; the server answers from the configuration alone (one guest, one
 * lease) and keeps no state.
 */
#ifndef SANDNET_NETIF_DHCP_H
#define SANDNET_NETIF_DHCP_H

#include "core/engine.h"
#include "lwip/pbuf.h"

/* Lease the server grants, in seconds; renewal (T1) at half, rebinding
 * (T2) at seven eighths of it (RFC 2131 4.4.5). */
#define SN_DHCP_LEASE_S		3600

/**
 * sn_dhcp_input4() - serve one DHCP message from the guest
 * @e:		engine
 * @p:		IPv4 packet, header validated by the hook, not a fragment,
 *		payload at the IP header, tot_len the IP total length; consumed
 */
void sn_dhcp_input4(struct sn_engine *e, struct pbuf *p);

#endif /* SANDNET_NETIF_DHCP_H */
