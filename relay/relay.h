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
#include "core/stats.h"
#include "lwip/pbuf.h"

/* tcp.c */
void sn_tcp_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip_addr_t *src,
		  const ip_addr_t *dst);
int sn_tcp_init(struct sn_engine *e);
void sn_tcp_fini(struct sn_engine *e);
void sn_tcp_tick(struct sn_engine *e);
unsigned sn_tcp_pending(const struct sn_engine *e, uint64_t *segs_in);
int sn_tcp_flow_inbound(struct sn_engine *e, int fd, const ip_addr_t *src, u16_t sport,
			const ip_addr_t *dst, u16_t dport);
void sn_tcp_sock_reset(int fd);
int sn_tcp_walk(struct sn_engine *e, sn_flow_fn fn, void *ctx, unsigned *n);

/* udp.c */
int sn_udp_init(struct sn_engine *e);
void sn_udp_fini(struct sn_engine *e);
void sn_udp_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip_addr_t *src,
		  const ip_addr_t *dst);
err_t sn_udp_output(struct sn_engine *e, const ip_addr_t *src, u16_t sport,
		    const ip_addr_t *dst, u16_t dport, const void *data, size_t len);
void sn_udp_tick(struct sn_engine *e);
int sn_udp_walk(struct sn_engine *e, sn_flow_fn fn, void *ctx, unsigned *n);

/* icmp.c */
int sn_icmp_init(struct sn_engine *e);
void sn_icmp_fini(struct sn_engine *e);
void sn_icmp_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip_addr_t *src,
		   const ip_addr_t *dst);
void sn_icmp_tick(struct sn_engine *e);
int sn_icmp_walk(struct sn_engine *e, sn_flow_fn fn, void *ctx, unsigned *n);

/* publish.c */
void sn_publish_fini(struct sn_engine *e);
void sn_publish_tick(struct sn_engine *e);
int sn_publish_udp_reply(struct sn_engine *e, struct pbuf *p, u16_t off, const ip_addr_t *dst,
			 u16_t sport, u16_t dport);
int sn_publish_walk(struct sn_engine *e, sn_flow_fn fn, void *ctx, unsigned *n);
int sn_publish_udp_owns(struct sn_engine *e, const ip_addr_t *dst, u16_t sport, u16_t dport);

/* sockerr.c: host socket errors become the guest's ICMP */
struct sock_extended_err;

/**
 * typedef sn_sockerr_report_fn - pass one error queue entry on to the guest
 * @ctx:	the relay's flow
 * @ee:		the entry
 * @off:	its offender, NULL for a local error
 * @data:	the start of the offending packet as the host sent it
 * @n:		bytes at @data
 *
 * Return: 0, or -1 if the flow was closed meanwhile (an output callback
 *	   fed the engine): stop reading
 */
typedef int (*sn_sockerr_report_fn)(void *ctx, const struct sock_extended_err *ee,
				    const struct sockaddr_storage *off, const void *data, size_t n);

/**
 * sn_sockerr_drain() - read a socket's error queue (IP_RECVERR, IPV6_RECVERR)
 * @e:		engine (host_errors counts every entry)
 * @fd:		the socket
 * @buf:	scratch for the offending packet's data
 * @len:	its size
 * @max:	most entries read in one call
 * @report:	called for every entry with an extended error
 * @ctx:	passed to @report
 *
 * Reading the last ICMP entry also clears the error the socket would
 * report on its next send() or recv().
 *
 * Return: entries read, or -1 if @report said the flow is gone
 */
int sn_sockerr_drain(struct sn_engine *e, int fd, void *buf, size_t len, unsigned max,
		     sn_sockerr_report_fn report, void *ctx);

/**
 * sn_sockerr_icmp() - the ICMP error of the guest's family an entry stands for
 * @ee:		the entry
 * @v6:		the guest's packet is IPv6
 * @df:		it is IPv4 with DF set (fragmentation needed is passed on
 *		only then)
 * @type:	filled with the ICMP (ICMPv6) type
 * @code:	filled with the code
 * @info:	filled with the 32 bits after the checksum (MTU, pointer), host order
 *
 * Return: non-zero if there is something to send
 */
int sn_sockerr_icmp(const struct sock_extended_err *ee, int v6, int df, u8_t *type, u8_t *code,
		    u32_t *info);

/**
 * sn_sockerr_errno_icmp() - the ICMP error that stands for a local socket error
 * @err:	errno from connect(), send() or an SO_EE_ORIGIN_LOCAL entry
 * @v6:		an ICMPv6 type and code
 * @type:	filled
 * @code:	filled
 *
 * No route to the network or host, refused, too big for the path,
 * forbidden by a local firewall (administratively prohibited).
 *
 * Return: non-zero if @err has an ICMP error
 */
int sn_sockerr_errno_icmp(int err, int v6, u8_t *type, u8_t *code);

/**
 * sn_sockerr_toobig() - is this "fragmentation needed" / "packet too big"
 * @v6:		ICMPv6 type and code
 * @type:	type
 * @code:	code
 *
 * Return: non-zero if it is
 */
int sn_sockerr_toobig(int v6, u8_t type, u8_t code);

/**
 * sn_sockerr_port_err() - is this port (or protocol) unreachable
 * @v6:		ICMPv6 type and code
 * @type:	type
 * @code:	code
 *
 * Return: non-zero if it is: the destination itself refused
 */
int sn_sockerr_port_err(int v6, u8_t type, u8_t code);

/**
 * sn_sockerr_source() - the address an ICMP error to the guest comes from
 * @e:		engine
 * @daddr:	the destination as the guest wrote it (its family is the guest's)
 * @off:	the offender the host reported, or NULL for a local error
 * @port_err:	the error is port (or protocol) unreachable
 * @src:	filled, in @daddr's family (an IPv4 offender for an IPv6 guest
 *		IPv4-mapped)
 */
void sn_sockerr_source(struct sn_engine *e, const ip_addr_t *daddr,
		       const struct sockaddr_storage *off, int port_err, ip_addr_t *src);

/**
 * sn_sockerr_send() - send the guest an ICMP error of its family (rate limited)
 * @e:		engine
 * @src:	source of the error, of the quote's family
 * @type:	ICMP or ICMPv6 type
 * @code:	code
 * @info:	the 32 bits after the checksum, host order
 * @quote:	the guest's packet from its IP header on
 * @len:	bytes at @quote
 */
void sn_sockerr_send(struct sn_engine *e, const ip_addr_t *src, u8_t type, u8_t code, u32_t info,
		     const void *quote, size_t len);

/**
 * sn_gw_addr() - the gateway address of a family
 * @e:		engine
 * @v6:		IPv6 (cfg.gw_ip6) or IPv4 (cfg.gw_ip4)
 * @gw:		filled
 */
void sn_gw_addr(struct sn_engine *e, int v6, ip_addr_t *gw);

/* dns.c */
int sn_dns_init(struct sn_engine *e);
void sn_dns_fini(struct sn_engine *e);
void sn_dns_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip_addr_t *src,
		  const ip_addr_t *dst);
void sn_dns_tick(struct sn_engine *e);
unsigned sn_dns_upstreams(struct sn_engine *e, struct sockaddr_storage *sa, unsigned max);
size_t sn_dns_filter_query(struct sn_engine *e, uint8_t *m, size_t len, size_t max);
size_t sn_dns_filter_answer(struct sn_engine *e, uint8_t *m, size_t len);

/* dnstcp.c: the DNS stream filter of a TCP flow to port 53 */
struct sn_dnstcp;
/* What sn_dnstcp_up() says about the guest's bytes at the head of the flow. */
enum sn_dnstcp_up {
	SN_DNSTCP_WAIT,		/* the frame at the head is not whole yet */
	SN_DNSTCP_FULL,		/* the guest has to take the filter's replies first */
	SN_DNSTCP_PASS,		/* the next *n bytes go to the host */
	SN_DNSTCP_DROP,		/* the next *n bytes are consumed here */
	SN_DNSTCP_BROKEN,	/* not DNS framing: reset the flow */
};
struct sn_dnstcp *sn_dnstcp_new(void);
void sn_dnstcp_free(struct sn_dnstcp *d);
int sn_dnstcp_up(struct sn_engine *e, struct sn_dnstcp *d, const struct pbuf *up, int eof,
		 size_t *n);
void sn_dnstcp_up_sent(struct sn_dnstcp *d, size_t n);
size_t sn_dnstcp_passing(const struct sn_dnstcp *d);
size_t sn_dnstcp_room(const struct sn_dnstcp *d);
int sn_dnstcp_down(struct sn_engine *e, struct sn_dnstcp *d, const uint8_t *buf, size_t n);
size_t sn_dnstcp_pending(const struct sn_dnstcp *d, const uint8_t **p);
void sn_dnstcp_written(struct sn_dnstcp *d, size_t n);

#endif /* SANDNET_RELAY_H */
