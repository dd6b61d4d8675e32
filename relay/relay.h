/* SPDX-License-Identifier: MIT */
/**
 * DOC: relay entry points, called by the engine and by the netif hook
 *
 * Each relay (tcp.c, udp.c, icmp.c, dns.c, publish.c) owns its host sockets and its
 * bounded flow table. The hooks (netif/hook.c, netif/hook6.c) hand a relay
 * an IPv4 or IPv6 packet they have already validated (header checksum,
 * lengths, source is the guest) and reassembled: @p->payload points at the
 * IP header, @hlen is the offset of the transport header (after IPv6
 * extension headers), @src and @dst are the packet's addresses. A relay's
 * sn_*_input() always takes ownership of @p.
 */
#ifndef SANDNET_RELAY_H
#define SANDNET_RELAY_H

#include "core/engine.h"
#include "lwip/pbuf.h"

/* tcp.c */
void sn_tcp_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip_addr_t *src,
		  const ip_addr_t *dst);
int sn_tcp_init(struct sn_engine *e);
void sn_tcp_fini(struct sn_engine *e);
void sn_tcp_tick(struct sn_engine *e);
int sn_tcp_flow_inbound(struct sn_engine *e, int fd, const ip_addr_t *src, u16_t sport,
			const ip_addr_t *dst, u16_t dport);
void sn_tcp_sock_reset(int fd);

/* udp.c */
int sn_udp_init(struct sn_engine *e);
void sn_udp_fini(struct sn_engine *e);
void sn_udp_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip_addr_t *src,
		  const ip_addr_t *dst);
err_t sn_udp_output(struct sn_engine *e, const ip_addr_t *src, u16_t sport,
		    const ip_addr_t *dst, u16_t dport, const void *data, size_t len);
void sn_udp_tick(struct sn_engine *e);

/* icmp.c */
int sn_icmp_init(struct sn_engine *e);
void sn_icmp_fini(struct sn_engine *e);
void sn_icmp_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip_addr_t *src,
		   const ip_addr_t *dst);
void sn_icmp_tick(struct sn_engine *e);

/* publish.c */
void sn_publish_fini(struct sn_engine *e);
void sn_publish_tick(struct sn_engine *e);
int sn_publish_udp_reply(struct sn_engine *e, struct pbuf *p, u16_t off, const ip_addr_t *dst,
			 u16_t sport, u16_t dport);
int sn_publish_udp_owns(struct sn_engine *e, const ip_addr_t *dst, u16_t sport, u16_t dport);

/* sockerr.c */
struct sock_extended_err;
int sn_sock_err_read(int fd, void *buf, size_t len, struct sock_extended_err *ee,
		     struct sockaddr_storage *off, size_t *n);

/* dns.c */
int sn_dns_init(struct sn_engine *e);
void sn_dns_fini(struct sn_engine *e);
void sn_dns_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip_addr_t *src,
		  const ip_addr_t *dst);
void sn_dns_tick(struct sn_engine *e);
/**
 * sn_dns_upstream() - the upstream resolver the gateway forwards to first
 * @e:		engine
 * @sa:		filled with its address
 *
 * Return: 0, or -1 if there is none
 */
int sn_dns_upstream(struct sn_engine *e, struct sockaddr_storage *sa);

#endif /* SANDNET_RELAY_H */
