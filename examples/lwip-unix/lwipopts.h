/* SPDX-License-Identifier: MIT */
/**
 * DOC: lwIP options of the example firmware's own stack (the guest)
 *
 * A small device stack as firmware builds it with lwIP's unix port: NO_SYS
 * (one loop, raw callback API, no threads), IPv4 configured by DHCP, the
 * DNS client, TCP through altcp (lwIP's HTTP client needs it), static
 * memory pools, every checksum made and checked in software. This stack is
 * compiled into the program next to libsandnet, whose own lwIP has its own
 * options and stays private to the library.
 */
#ifndef EXAMPLE_LWIPOPTS_H
#define EXAMPLE_LWIPOPTS_H

/* ---- system: no OS, one poll loop, no locking ---- */
#define NO_SYS				1
#define SYS_LIGHTWEIGHT_PROT		0
#define LWIP_NETCONN			0
#define LWIP_SOCKET			0
#define LWIP_TIMERS			1

/* ---- memory: lwIP's own heap and pools, sized for a few connections ---- */
#define MEM_LIBC_MALLOC			0
#define MEMP_MEM_MALLOC			0
#define MEM_ALIGNMENT			8
#define MEM_SIZE			(128 * 1024)
#define MEMP_NUM_PBUF			32
#define MEMP_NUM_UDP_PCB		6	/* DHCP, DNS, the UDP check */
#define MEMP_NUM_TCP_PCB		4
#define MEMP_NUM_TCP_PCB_LISTEN		1
#define MEMP_NUM_TCP_SEG		(TCP_SND_QUEUELEN + 8)
#define PBUF_POOL_SIZE			48
/* lwIP's own timers and one of the firmware's (the UDP resend) */
#define MEMP_NUM_SYS_TIMEOUT		(LWIP_NUM_SYS_TIMEOUT_INTERNAL + 1)
#define PBUF_POOL_BUFSIZE		1536	/* one Ethernet frame per pbuf */

/* ---- link and IPv4: an Ethernet NIC, address from DHCP ---- */
#define LWIP_ARP			1
/* the three checks start at once, before the gateway's MAC is known: keep
 * all their first packets, not only the last, until ARP answers */
#define ARP_QUEUEING			1
#define LWIP_ETHERNET			1
#define LWIP_SINGLE_NETIF		1
#define LWIP_IPV4			1
#define LWIP_IPV6			0	/* the checks run over IPv4 */
#define LWIP_ICMP			1
#define LWIP_RAW			0
#define LWIP_IGMP			0
#define LWIP_AUTOIP			0
#define LWIP_DHCP			1
/* sandnet's DHCP server owns the subnet: no ARP probe for the offered
 * address, which would only delay the start by seconds */
#define LWIP_DHCP_DOES_ACD_CHECK	0
#define LWIP_ACD			0
#define IP_REASSEMBLY			1
#define IP_FRAG				1
#define LWIP_NETIF_STATUS_CALLBACK	0
#define LWIP_NETIF_LINK_CALLBACK	0

/* ---- DNS client: servers from the DHCP lease ---- */
#define LWIP_DNS			1
#define DNS_MAX_SERVERS			1

/* ---- UDP and TCP ---- */
#define LWIP_UDP			1
#define LWIP_TCP			1
#define LWIP_ALTCP			1	/* lwIP's HTTP client is written on altcp */
#define LWIP_ALTCP_TLS			0
#define LWIP_CALLBACK_API		1
#define TCP_MSS				1460
/* A window of 8 segments: frames to the guest wait in a bounded queue
 * (sandnetif.c) between the engine and this stack; the window keeps what
 * is in flight below its size. */
#define TCP_WND				(8 * TCP_MSS)
#define TCP_SND_BUF			(4 * TCP_MSS)
#define TCP_SND_QUEUELEN		(4 * TCP_SND_BUF / TCP_MSS)
#define TCP_QUEUE_OOSEQ			1
#define LWIP_TCP_KEEPALIVE		0

/* ---- checksums: generated and checked in software, every one ---- */
#define CHECKSUM_GEN_IP			1
#define CHECKSUM_GEN_UDP		1
#define CHECKSUM_GEN_TCP		1
#define CHECKSUM_GEN_ICMP		1
#define CHECKSUM_CHECK_IP		1
#define CHECKSUM_CHECK_UDP		1
#define CHECKSUM_CHECK_TCP		1
#define CHECKSUM_CHECK_ICMP		1

/* ---- statistics: the firmware reports checksum and memory errors ---- */
#define LWIP_STATS			1
#define LWIP_STATS_DISPLAY		0

#endif /* EXAMPLE_LWIPOPTS_H */
