/* SPDX-License-Identifier: MIT */
/**
 * DOC: lwIP options for the simulator's guest (tests/sim/guest.c)
 *
 * The guest is a small embedded-style lwIP: NO_SYS, raw API, IPv4 and
 * IPv6 (a static address, no SLAAC, MLD or duplicate address detection,
 * as `sandnet run` configures its namespace), static heap and pools, a
 * modest TCP window. It is compiled from the same
 * lwIP tree as the engine but with these options, into its own program, so
 * it checks the engine as an independent TCP/IP implementation would.
 *
 * The receive window is 8 segments: the socketpair carrying the frames
 * holds only what the sender's SO_SNDBUF allows (about 90 full-size frames
 * with Linux defaults; net.unix.max_dgram_qlen does not apply between the
 * two ends of a socketpair), and the engine drops frames the guest's queue
 * cannot take, as a NIC would. A window well below that keeps the test
 * about the engine, not about loss recovery.
 */
#ifndef SIM_GUEST_LWIPOPTS_H
#define SIM_GUEST_LWIPOPTS_H

/* ---- system: no OS, one poll loop ---- */
#define NO_SYS				1
#define SYS_LIGHTWEIGHT_PROT		0
#define LWIP_NETCONN			0
#define LWIP_SOCKET			0
#define LWIP_TIMERS			1

/* ---- memory: static, small ---- */
#define MEM_LIBC_MALLOC			0
#define MEMP_MEM_MALLOC			0
#define MEM_ALIGNMENT			8
#define MEM_SIZE			(256 * 1024)
#define MEMP_NUM_PBUF			32
#define MEMP_NUM_UDP_PCB		4
/* the clients' connections, then the published ports' listeners (4) and
 * connections, with earlier ones still in TIME_WAIT */
#define MEMP_NUM_TCP_PCB		8
#define MEMP_NUM_TCP_PCB_LISTEN		6
#define MEMP_NUM_TCP_SEG		(TCP_SND_QUEUELEN + 16)
#define MEMP_NUM_REASSDATA		4
#define MEMP_NUM_FRAG_PBUF		16
#define PBUF_POOL_SIZE			96

/* ---- link and IPv4 ---- */
#define LWIP_ARP			1
#define ARP_QUEUEING			1
#define ETHARP_SUPPORT_STATIC_ENTRIES	0
#define LWIP_ETHERNET			1
#define LWIP_SINGLE_NETIF		1
#define LWIP_IPV4			1
#define LWIP_IPV6			1
#define LWIP_ICMP6			1
#define LWIP_IPV6_AUTOCONFIG		0
#define LWIP_IPV6_MLD			0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT	0
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS	0
#define LWIP_IPV6_REASS			1
/* 64-bit: ip6_reass_tmr() asserts this once it first runs, a second in */
#define IPV6_FRAG_COPYHEADER		1
#define LWIP_IPV6_FRAG			1
#define IP_REASSEMBLY			1
#define IP_FRAG				1
#define LWIP_ICMP			1
#define LWIP_RAW			0
#define LWIP_DHCP			0
#define LWIP_AUTOIP			0
#define LWIP_IGMP			0
#define LWIP_DNS			0	/* queries are built by hand */
#define LWIP_NETIF_STATUS_CALLBACK	0
#define LWIP_NETIF_LINK_CALLBACK	0

/* ---- UDP and TCP ---- */
#define LWIP_UDP			1
#define LWIP_TCP			1
#define TCP_MSS				1460
#define TCP_WND				(8 * TCP_MSS)
#define TCP_SND_BUF			(16 * TCP_MSS)
#define TCP_SND_QUEUELEN		(4 * TCP_SND_BUF / TCP_MSS)
#define TCP_QUEUE_OOSEQ			1
#define LWIP_TCP_KEEPALIVE		0
#define LWIP_CALLBACK_API		1

/* ---- checksums: generated and checked in software, every one ---- */
#define CHECKSUM_GEN_IP			1
#define CHECKSUM_GEN_UDP		1
#define CHECKSUM_GEN_TCP		1
#define CHECKSUM_GEN_ICMP		1
#define CHECKSUM_CHECK_IP		1
#define CHECKSUM_CHECK_UDP		1
#define CHECKSUM_CHECK_TCP		1
#define CHECKSUM_CHECK_ICMP		1
#define CHECKSUM_GEN_ICMP6		1
#define CHECKSUM_CHECK_ICMP6		1

/* ---- statistics: the guest reports checksum errors and retransmits ---- */
#define LWIP_STATS			1
#define LWIP_STATS_DISPLAY		0
#define MIB2_STATS			1

#endif /* SIM_GUEST_LWIPOPTS_H */
