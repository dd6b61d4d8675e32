/* SPDX-License-Identifier: MIT */
/**
 * DOC: netif/output.c - packets the relays send to the guest, ICMP errors
 *
 * Packets from any source address (the address the guest talked to), with
 * lwIP's header and checksum helpers; ICMP and ICMPv6 errors about the
 * guest's packets, all through one rate limit (struct sn_icmp_bucket,
 * kept in the engine).
 */
#ifndef SANDNET_NETIF_OUTPUT_H
#define SANDNET_NETIF_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"

struct sn_engine;
struct eth_addr;

/**
 * struct sn_icmp_bucket - the one token bucket of ICMP errors to the guest
 * @credit_ms:	saved-up time, capped at the burst
 * @last_ms:	when the credit was last topped up
 * @started:	the bucket holds a real time
 * @own:	an error that took its token already is being sent (the link
 *		output does not charge it again)
 */
struct sn_icmp_bucket {
	uint32_t credit_ms;
	uint32_t last_ms;
	int started;
	int own;
};

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
 * sn_udp_pbuf() - a UDP datagram in a pbuf, checksum set, IP header room left
 * @src:	source address (IPv4 or IPv6)
 * @sport:	source port, host order
 * @dst:	destination address, same family
 * @dport:	destination port, host order
 * @data:	payload
 * @len:	its length
 *
 * Return: the pbuf (payload at the UDP header), or NULL
 */
struct pbuf *sn_udp_pbuf(const ip_addr_t *src, u16_t sport, const ip_addr_t *dst,
			 u16_t dport, const void *data, size_t len);

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
 * sn_icmp_err_allowed() - take a token from the one bucket every ICMP error to
 *			   the guest shares (a refusal counts icmp_errors_ratelimited)
 * @e:		engine
 *
 * Return: non-zero if an error may be sent now
 */
int sn_icmp_err_allowed(struct sn_engine *e);

/**
 * sn_icmp4_error() - send the guest an ICMP error about one of its packets
 * @e:		engine
 * @src:	source of the error: the router or host that reports it
 * @type:	ICMP_DUR, ICMP_TE or ICMP_PP
 * @code:	ICMP code
 * @info:	the 32 bits after the checksum, host order: next-hop MTU for
 *		ICMP_DUR/ICMP_DUR_FRAG, pointer << 24 for ICMP_PP, else 0
 * @quote:	the guest's packet from its IP header on, any alignment
 * @len:	bytes at @quote (at least its IP header and 8 more; up to 548
 *		are quoted)
 *
 * Never answers an ICMP error or a non-first fragment (RFC 1122 3.2.2).
 * Rate limited: every ICMP error to the guest takes a token from one
 * bucket; refused ones are counted in icmp_errors_ratelimited, sent ones
 * in icmp_errors_sent.
 *
 * Return: ERR_OK; ERR_VAL (not to be answered), ERR_WOULDBLOCK (rate
 *	   limited), ERR_MEM or lwIP's output error
 */
err_t sn_icmp4_error(struct sn_engine *e, const ip4_addr_t *src, u8_t type, u8_t code,
		     u32_t info, const void *quote, size_t len);

/**
 * sn_icmp4_error_pbuf() - sn_icmp4_error() quoting a packet held in a pbuf
 * @e:		engine
 * @src:	source of the error
 * @type:	ICMP type
 * @code:	ICMP code
 * @info:	as for sn_icmp4_error()
 * @orig:	the guest's packet, payload at its IP header; not freed
 *
 * Return: as sn_icmp4_error()
 */
err_t sn_icmp4_error_pbuf(struct sn_engine *e, const ip4_addr_t *src, u8_t type, u8_t code,
			  u32_t info, const struct pbuf *orig);

/**
 * sn_icmp4_unreach() - answer a guest packet with ICMP destination unreachable
 * @e:		engine
 * @orig:	the guest's packet (payload at its IP header); not freed
 * @code:	ICMP_DUR_* code (PORT, HOST, NET, PROTO; 13 = admin prohibited)
 *
 * Port and protocol unreachable come from the packet's destination (the
 * host that refuses it), the other codes from the gateway (the router that
 * cannot deliver it). Through sn_icmp4_error_pbuf().
 */
void sn_icmp4_unreach(struct sn_engine *e, struct pbuf *orig, u8_t code);

/**
 * sn_udp4_output_to() - send a UDP datagram to an explicit IP and MAC address
 * @e:		engine
 * @src:	source address
 * @sport:	source port, host order
 * @dst:	destination address (the guest's, one it does not have yet, or
 *		255.255.255.255)
 * @dst_mac:	Ethernet destination (the guest's MAC or the broadcast MAC)
 * @dport:	destination port, host order
 * @data:	payload
 * @len:	its length; the datagram must fit the guest MTU
 *
 * No ARP, no fragmentation: for the DHCP server's replies.
 *
 * Return: ERR_OK or lwIP's error (ERR_VAL: larger than the MTU)
 */
err_t sn_udp4_output_to(struct sn_engine *e, const ip4_addr_t *src, u16_t sport,
			const ip4_addr_t *dst, const struct eth_addr *dst_mac, u16_t dport,
			const void *data, size_t len);

/**
 * sn_ip6_output() - send a transport payload to the guest over IPv6
 * @e:		engine
 * @p:		transport header and data, with PBUF_IP headroom; not freed
 * @src:	source address (the address the guest talked to)
 * @dst:	the guest's address
 * @nexth:	IP6_NEXTH_UDP, IP6_NEXTH_ICMP6, ...
 *
 * Hop limit 64; lwIP fragments what is larger than the MTU.
 *
 * Return: ERR_OK or lwIP's error
 */
err_t sn_ip6_output(struct sn_engine *e, struct pbuf *p, const ip6_addr_t *src,
		    const ip6_addr_t *dst, u8_t nexth);

/**
 * sn_udp6_output() - send a UDP datagram to the guest over IPv6
 * @e:		engine
 * @src:	source address
 * @sport:	source port, host order
 * @dst:	the guest's address
 * @dport:	guest port, host order
 * @data:	payload
 * @len:	its length (<= 65527)
 *
 * The UDP checksum is always filled in (mandatory over IPv6).
 *
 * Return: ERR_OK or lwIP's error
 */
err_t sn_udp6_output(struct sn_engine *e, const ip6_addr_t *src, u16_t sport,
		     const ip6_addr_t *dst, u16_t dport, const void *data, size_t len);

/**
 * sn_icmp6_error() - send the guest an ICMPv6 error about one of its packets
 * @e:		engine
 * @src:	the router or host reporting it
 * @type:	ICMP6_TYPE_DUR, ICMP6_TYPE_PTB, ICMP6_TYPE_TE or ICMP6_TYPE_PP
 * @code:	ICMPv6 code
 * @info:	the 32 bits after the checksum, host order (MTU, pointer, or 0)
 * @quote:	the guest's packet from its IPv6 header on, any alignment
 * @len:	bytes at @quote (up to 1232 are quoted: the error fits 1280)
 *
 * Goes to the quoted packet's source. Never about an ICMPv6 error or a
 * multicast packet (RFC 4443 2.4(e)). Same rate limit and counters as
 * sn_icmp4_error().
 *
 * Return: ERR_OK; ERR_VAL (not to be answered), ERR_WOULDBLOCK (rate
 *	   limited), ERR_MEM or lwIP's output error
 */
err_t sn_icmp6_error(struct sn_engine *e, const ip6_addr_t *src, u8_t type, u8_t code,
		     u32_t info, const void *quote, size_t len);

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
			  u32_t info, const struct pbuf *orig);

#endif /* SANDNET_NETIF_OUTPUT_H */
