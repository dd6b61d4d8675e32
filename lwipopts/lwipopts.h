/* SPDX-License-Identifier: MIT */
/**
 * DOC: lwIP options for sandnet
 *
 * Every option that differs from lwIP 2.2.1's default (src/include/lwip/opt.h)
 * is here with the reason. lwIP runs bare (NO_SYS, raw API) inside one
 * engine per process; the engine bounds every table itself (see the
 * max_* fields of struct sn_config), so lwIP's own pools are plain malloc.
 */
#ifndef SANDNET_LWIPOPTS_H
#define SANDNET_LWIPOPTS_H

/* ---- system ---- */
/* No OS layer: the engine's poll loop drives lwIP; no threads. */
#define NO_SYS				1
#define SYS_LIGHTWEIGHT_PROT		0
#define LWIP_NETCONN			0
#define LWIP_SOCKET			0
/* Host-side fds use the libc's errno; lwIP's own errno.h would clash. */
#define LWIP_PROVIDE_ERRNO		0

/* ---- memory ---- */
/* malloc for heap and pools: sizes follow demand, the engine enforces the
 * limits (LWIP-NOTES pitfall 9), and ASan/valgrind see every allocation. */
#define MEM_LIBC_MALLOC			1
#define MEMP_MEM_MALLOC			1
#define MEM_ALIGNMENT			8
/* Guest frames are copied into PBUF_RAM; pool pbufs are only lwIP-internal. */
#define PBUF_POOL_SIZE			64
#define PBUF_POOL_BUFSIZE		2048
/* Frame headroom: Ethernet header only (no VLAN). */
#define PBUF_LINK_HLEN			14

/* ---- link ---- */
#define LWIP_ARP			1
#define ETHARP_SUPPORT_STATIC_ENTRIES	1	/* guest MAC is pinned once learned */
#define ARP_TABLE_SIZE			4
#define ARP_QUEUEING			1
#define LWIP_ETHERNET			1
#define LWIP_SINGLE_NETIF		1	/* one guest link per engine */
#define LWIP_NETIF_LINK_CALLBACK	0
#define LWIP_NETIF_STATUS_CALLBACK	0

/* ---- IPv4 ---- */
#define LWIP_IPV4			1
/* Relayed packets are not routed by lwIP: sandnet is the router. */
#define IP_FORWARD			0
/* Guest fragments are reassembled (bounded by IP_REASS_*); replies bigger
 * than the guest MTU are fragmented. */
#define IP_REASSEMBLY			1
#define IP_FRAG				1
#define IP_REASS_MAXAGE			15	/* seconds: RFC 791 minimum */
#define IP_REASS_MAX_PBUFS		64	/* bound on buffered fragments */
#define IP_DEFAULT_TTL			64
/* The pre-input hook classifies every packet (netif/hook.c). */
#define LWIP_HOOK_IP4_INPUT(p, inp)	sn_hook_ip4_input((p), (inp))

/* ---- IPv6 (addressing and relays come with the dual-stack issue) ---- */
#define LWIP_IPV6			1
#define LWIP_IPV6_AUTOCONFIG		0
#define LWIP_IPV6_DHCP6			0
#define LWIP_IPV6_MLD			0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT	0
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS	0
/* Required on 64-bit hosts or ip6_reass_tmr asserts (LWIP-NOTES pitfall 2). */
#define IPV6_FRAG_COPYHEADER		1
#define LWIP_HOOK_IP6_INPUT(p, inp)	sn_hook_ip6_input((p), (inp))

/* ---- ICMP, UDP, DHCP, DNS ---- */
#define LWIP_ICMP			1	/* the gateway answers echo itself */
#define LWIP_RAW			0
#define LWIP_UDP			1
#define LWIP_DHCP			0	/* we are the server, not a client */
#define LWIP_AUTOIP			0
#define LWIP_IGMP			0
#define LWIP_DNS			0	/* sandnet forwards DNS, it never resolves */
/* Several UDP/TCP pcbs share port 53 (gateway and any-address). */
#define SO_REUSE			1

/* ---- TCP ---- */
#define LWIP_TCP			1
/* MSS for the largest guest MTU (65520 - 40); lwIP lowers the MSS it
 * announces to fit the netif's MTU (TCP_CALCULATE_EFF_SEND_MSS). */
#define TCP_MSS				65480
/* Checks in tcp_in.c/tcp.c date from 16-bit windows (pitfall 3). */
#define LWIP_DISABLE_TCP_SANITY_CHECKS	1
/* Large windows: guests and hosts both do window scaling; 1 MiB keeps
 * per-flow memory bounded (receive data is held until the host takes it). */
#define LWIP_WND_SCALE			1
#define TCP_RCV_SCALE			5
#define TCP_WND				(1024 * 1024)
#define TCP_SND_BUF			(1024 * 1024)
#define TCP_SND_QUEUELEN		(4 * TCP_SND_BUF / 1460 + 16)
#define TCP_SNDLOWAT			(TCP_SND_BUF / 4)
#define TCP_SNDQUEUELOWAT		(TCP_SND_QUEUELEN / 2)
#define TCP_QUEUE_OOSEQ			1
#define TCP_OOSEQ_MAX_BYTES		TCP_WND
#define LWIP_TCP_SACK_OUT		1
/* Off: lwIP 2.2.1's timestamp parsing (tcp_parseopt) shifts a promoted u8
 * left by 24, undefined behaviour UBSan reports on every guest SYN; without
 * timestamps each segment also carries 12 more payload bytes. */
#define LWIP_TCP_TIMESTAMPS		0
/* No per-listener backlog: SYNs reach lwIP only after the host connect(),
 * and max_tcp_flows bounds them. */
#define TCP_LISTEN_BACKLOG		0
/* Unpredictable ISNs (RFC 6528), pitfall 8. */
#define LWIP_HOOK_TCP_ISN(lip, lport, rip, rport) sn_tcp_isn((lip), (lport), (rip), (rport))
/* Host side already keeps connections alive; lwIP's keepalive stays off. */
#define LWIP_TCP_KEEPALIVE		0

/* ---- checksums ---- */
/* Fastest portable algorithm on x86_64 (measured, LWIP-NOTES). */
#define LWIP_CHKSUM_ALGORITHM		3
/* Per-netif control so a guest with checksum offload can be served later. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF	1

/* ---- callbacks and misc ---- */
#define LWIP_CALLBACK_API		1
#define LWIP_NETIF_API			0
#define LWIP_STATS			0
#define LWIP_STATS_DISPLAY		0
#define LWIP_TIMERS			1
/* lwIP's own asserts stay on: they guard invariants, not input. */
#define LWIP_NOASSERT_ON_ERROR		0

#ifndef __ASSEMBLER__
#include "lwip/arch.h"
struct pbuf;
struct netif;
struct ip_addr;
int sn_hook_ip4_input(struct pbuf *p, struct netif *inp);
int sn_hook_ip6_input(struct pbuf *p, struct netif *inp);
u32_t sn_tcp_isn(const struct ip_addr *local_ip, u16_t local_port,
		 const struct ip_addr *remote_ip, u16_t remote_port);
#endif

#endif /* SANDNET_LWIPOPTS_H */
