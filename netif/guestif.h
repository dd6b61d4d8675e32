/* SPDX-License-Identifier: MIT */
/**
 * DOC: the guest link: lwIP netif driver, pre-input hook, reply output
 *
 * guestif.c turns guest frames into pbufs (dropping spoofed and malformed
 * ones, answering ARP for every address) and lwIP's output into frames for
 * cfg.output. hook.c classifies every IPv4 packet before ip4_input() serves
 * it. output.c builds packets the relays send to the guest from any source
 * address, with lwIP's header and checksum helpers.
 */
#ifndef SANDNET_NETIF_GUESTIF_H
#define SANDNET_NETIF_GUESTIF_H

#include "core/engine.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"

int sn_guestif_init(struct sn_engine *e);
void sn_guestif_fini(struct sn_engine *e);
int sn_guestif_input(struct sn_engine *e, const void *frame, size_t len);

/**
 * sn_ip4_tcp_deliver() - feed a validated IPv4 TCP packet to tcp_input()
 * @e:		engine
 * @p:		packet, payload at the IP header; consumed
 *
 * Does what ip4_input() does for a packet addressed to a local address, for
 * any destination: lwIP then serves it with a listener bound to the
 * any-address.
 */
void sn_ip4_tcp_deliver(struct sn_engine *e, struct pbuf *p);

/**
 * sn_ip4_output() - send a transport payload to the guest from any address
 * @e:		engine
 * @p:		transport header and data (payload at the transport header),
 *		allocated with PBUF_IP headroom; not freed
 * @src:	source address (the address the guest talked to)
 * @proto:	IP_PROTO_UDP, IP_PROTO_ICMP, ...
 *
 * Packets that fit the guest MTU leave with DF set and TTL 64; larger ones
 * are fragmented by lwIP.
 *
 * Return: ERR_OK or lwIP's error
 */
err_t sn_ip4_output(struct sn_engine *e, struct pbuf *p, const ip4_addr_t *src, u8_t proto);

/**
 * sn_udp4_output() - send a UDP datagram to the guest
 * @e:		engine
 * @src:	source address
 * @sport:	source port, host order
 * @dport:	guest port, host order
 * @data:	payload
 * @len:	its length (<= 65507)
 *
 * Return: ERR_OK or lwIP's error (ERR_MEM, ERR_VAL)
 */
err_t sn_udp4_output(struct sn_engine *e, const ip4_addr_t *src, u16_t sport,
		     u16_t dport, const void *data, size_t len);

/**
 * sn_icmp4_unreach() - answer a guest packet with ICMP destination unreachable
 * @e:		engine
 * @orig:	the guest's packet (payload at its IP header); not freed
 * @code:	ICMP_DUR_* code (PORT, HOST, NET, PROTO; 13 = admin prohibited)
 *
 * The error comes from the packet's destination address, as a router next
 * to it would send it.
 */
void sn_icmp4_unreach(struct sn_engine *e, struct pbuf *orig, u8_t code);

#endif /* SANDNET_NETIF_GUESTIF_H */
