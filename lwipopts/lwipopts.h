/* SPDX-License-Identifier: MIT */
/**
 * DOC: lwIP options for sandnet
 *
 * Every option that differs from lwIP 2.2.1's default (src/include/lwip/opt.h)
 * is here with the reason; defaults are not repeated, except the
 * reassembly timeouts, stated on purpose (lwIP's defaults: TCP,
 * UDP, ICMP, ARP, IPv4 reassembly and fragmentation on; DHCP client, DNS
 * client, raw API, IGMP, AutoIP, keepalive off). lwIP runs bare (NO_SYS, raw API) inside one
 * engine per process; the engine bounds every table itself (see the
 * max_* fields of struct sn_config), so lwIP's own pools are plain malloc.
 */
#ifndef SANDNET_LWIPOPTS_H
#define SANDNET_LWIPOPTS_H

/* ---- system ---- */
/* No OS layer: the engine's poll loop drives lwIP from one thread, so no
 * locking, no netconn/socket API. */
#define NO_SYS				1
#define SYS_LIGHTWEIGHT_PROT		0
#define LWIP_NETCONN			0
#define LWIP_SOCKET			0
/* Host-side code uses the libc's errno; lwIP's own errno.h would clash. */
#define LWIP_PROVIDE_ERRNO		0

/* ---- memory ---- */
/* malloc for heap and pools: sizes follow demand, the engine enforces the
 * limits (LWIP-NOTES pitfall 9), and ASan/valgrind see every allocation;
 * through port/mem.c, which keeps freed blocks of ~64 KiB for reuse
 * rather than let the libc give them back and fault them in again. */
#define MEM_CUSTOM_ALLOCATOR		1
#define MEM_CUSTOM_MALLOC		sn_port_malloc
#define MEM_CUSTOM_CALLOC		sn_port_calloc
#define MEM_CUSTOM_FREE			sn_port_free
#define MEMP_MEM_MALLOC			1
/* 64-bit hosts: malloc's own alignment. */
#define MEM_ALIGNMENT			8
/* Guest frames arrive in PBUF_RAM; pool pbufs are lwIP-internal only. The
 * default buffer size follows TCP_MSS (64 KiB each): keep them small. */
#define PBUF_POOL_SIZE			64
#define PBUF_POOL_BUFSIZE		2048

/* ---- link ---- */
/* One guest: its MAC is pinned as a static entry once learned
 * (netif/guestif.c); a few spare slots, and queueing for the packets
 * sent before that, never after. */
#define ETHARP_SUPPORT_STATIC_ENTRIES	1
#define ARP_TABLE_SIZE			4
#define ARP_QUEUEING			1
/* One guest link per engine: lwIP skips its netif list walks. */
#define LWIP_SINGLE_NETIF		1

/* ---- IPv4 ---- */
/* Guest fragments held for reassembly, all sets together; IPv6 keeps its
 * own count against the same bound (ip6_frag.c). A guest frame is one
 * pbuf, so this is also the most fragments per set and the most sets
 * (lwIP's pools are malloc, MEMP_NUM_REASSDATA bounds nothing); beyond it
 * the oldest sets are dropped (IP_REASS_FREE_OLDEST). 64 holds one 64 KiB
 * datagram at MTU 1500 (the default 10 does not); at most 64 frames of
 * up to the MTU each, per family. */
#define IP_REASS_MAX_PBUFS		64
/* An incomplete IPv4 set is dropped after this many seconds (lwIP's
 * default, the initial timer RFC 791 suggests; Linux waits 30). */
#define IP_REASS_MAXAGE			15
/* What Linux sends with; lwIP's default is 255. */
#define IP_DEFAULT_TTL			64
/* The pre-input hook classifies every packet (netif/hook.c). */
#define LWIP_HOOK_IP4_INPUT(p, inp)	sn_hook_ip4_input((p), (inp))

/* ---- IPv6 ---- */
#define LWIP_IPV6			1
/* The gateway is a router with static addresses: it configures the guest
 * (netif/ra.c, netif/dhcp6.c), it does not configure itself, and owns the
 * link, so there is nothing to detect duplicates against and no group to
 * report. */
#define LWIP_IPV6_AUTOCONFIG		0
#define LWIP_IPV6_MLD			0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT	0
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS	0
/* Required on 64-bit hosts or ip6_reass_tmr asserts (LWIP-NOTES pitfall 2). */
#define IPV6_FRAG_COPYHEADER		1
/* An incomplete IPv6 set is dropped after this many seconds: RFC 8200
 * 4.5's 60 (lwIP's default too); the pbuf bound is IP_REASS_MAX_PBUFS.
 * Replies larger than the MTU are fragmented (LWIP_IPV6_FRAG, default on):
 * sandnet is the source of those datagrams as the guest sees them, not a
 * router on their way, so fragmenting is right where a router would send
 * packet too big. */
#define IPV6_REASS_MAXAGE		60
#define LWIP_HOOK_IP6_INPUT(p, inp)	sn_hook_ip6_input((p), (inp))

/* ---- UDP ---- */
/* Several pcbs may share a port (the gateway's and the any-address). */
#define SO_REUSE			1

/* ---- TCP ---- */
/* MSS for the largest guest MTU (65520 - 40); lwIP lowers the MSS it
 * announces to fit the netif's MTU (TCP_CALCULATE_EFF_SEND_MSS). */
#define TCP_MSS				65480
/* Checks in tcp_in.c/tcp.c date from 16-bit windows (pitfall 3). */
#define LWIP_DISABLE_TCP_SANITY_CHECKS	1
/* Large windows: guests and hosts both do window scaling; 1 MiB keeps
 * per-flow memory bounded (receive data is held until the host takes it)
 * and stays below the point where tcp_output()'s walk of the unacked list
 * dominates at MSS 1460 (LWIP-NOTES, Speed). */
#define LWIP_WND_SCALE			1
#define TCP_RCV_SCALE			5
#define TCP_WND				(1024 * 1024)
#define TCP_SND_BUF			(1024 * 1024)
/* Enough segments for a full send buffer at MSS 1460. */
#define TCP_SND_QUEUELEN		(4 * TCP_SND_BUF / 1460 + 16)
/* The sent callback resumes host reads once a quarter of the buffer is free. */
#define TCP_SNDLOWAT			(TCP_SND_BUF / 4)
#define TCP_SNDQUEUELOWAT		(TCP_SND_QUEUELEN / 2)
/* Out-of-order data held up to a window, not beyond. */
#define TCP_OOSEQ_MAX_BYTES		TCP_WND
/* Selective acknowledgements to guests that lose segments; it also makes
 * lwIP offer SACK in its SYN-ACK, so guests send the SACK blocks
 * LWIP_TCP_SACK_DUPACKS (below) reads. */
#define LWIP_TCP_SACK_OUT		1
/* Off: lwIP 2.2.1's timestamp parsing (tcp_parseopt) shifts a promoted u8
 * left by 24, undefined behaviour UBSan reports on every guest SYN; without
 * timestamps each segment also carries 12 more payload bytes. */
#define LWIP_TCP_TIMESTAMPS		0
/* No per-listener backlog: SYNs reach lwIP only after the host connect(),
 * and max_tcp_flows bounds them. */
#define TCP_LISTEN_BACKLOG		0
/* TIME_WAIT (2 * TCP_MSL) guards against old duplicates lingering in a
 * network; the guest link is a point-to-point queue with none, and every
 * pcb held costs memory: 10 s instead of lwIP's 120 s. */
#define TCP_MSL				5000UL
/* lwIP's TCP timer: every TCP_TMR_INTERVAL ms the fast one (delayed ACKs,
 * data the application refused), every second call the slow one
 * (TCP_SLOW_INTERVAL: retransmission, persist, keepalive, TIME_WAIT). The
 * RTO is counted in slow ticks with a floor of 3: at lwIP's 250 ms every
 * loss fast retransmit cannot repair (a lost retransmission, the last
 * segments of a burst, a guest that holds its ACKs) stalls the flow for
 * 1-1.5 s. At 10 ms the floor is 40-60 ms: still above Linux's 40 ms
 * delayed ACK, so a guest short of receive buffer rarely meets a spurious
 * timeout, and low enough that 1 % loss costs a download little (bench/
 * loss.sh). Timeouts lwIP keeps in milliseconds (TCP_MSL, FIN_WAIT_2 and
 * SYN_RCVD 20 s, keepalive) are converted with TCP_SLOW_INTERVAL and stay
 * what they say; the persist backoff (3..120 slow ticks: 60 ms..2.4 s),
 * TCP_OOSEQ_TIMEOUT (6 RTOs) and tcp_poll() intervals (slow ticks, unused
 * by sandnet) shrink with it, and so does the time lwIP keeps
 * retransmitting to a guest that answers nothing: TCP_MAXRTX (12, the most
 * init.c allows) retries with backoff take about 46 s from the floor (19
 * minutes at 250 ms), after which the flow ends as on a guest RST. lwIP
 * runs the timer only while some pcb is active or in TIME_WAIT: 100
 * wake-ups a second while connections exist, none when there are none. */
#define TCP_TMR_INTERVAL		10
/* RFC 6298's initial RTO (1 s) instead of lwIP's 3 s: it applies until
 * the first RTT sample, and to a lost SYN-ACK. */
#define LWIP_TCP_RTO_TIME		1000
/* Loss recovery, from third_party/patches (the reasons are there): a
 * partial ACK in fast recovery retransmits the next hole at once (NewReno,
 * RFC 6582), and an ACK reporting new SACK blocks counts as a duplicate
 * whatever its window (RFC 6675), since Linux guests grow their window in
 * every duplicate ACK while autotuning. */
#define LWIP_TCP_NEWRENO		1
#define LWIP_TCP_SACK_DUPACKS		1
/* Unpredictable ISNs (RFC 6528), pitfall 8. */
#define LWIP_HOOK_TCP_ISN(lip, lport, rip, rport) sn_tcp_isn((lip), (lport), (rip), (rport))

/* ---- checksums ---- */
/* The checksum over 64-bit words (port/chksum.c), about three times as
 * fast as lwIP's fastest portable algorithm (3), which took a third of
 * the instructions per byte relayed at MTU 1500 (tests/perf) and most of
 * the CPU at MTU 65520. */
#define LWIP_CHKSUM			sn_port_chksum
/* Per-netif control: relay/tcp.c checks guest TCP checksums itself, and a
 * guest with checksum offload can be served later. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF	1

/* ---- statistics ---- */
/* The engine keeps its own counters (struct sn_stats). */
#define LWIP_STATS			0

/* LWIP_ASSERT stays on (LWIP_NOASSERT undefined): it guards invariants,
 * never input, and reports through port/sys_arch.c. */

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

/* ---- keepalive ---- */
/* Flows get SOF_KEEPALIVE (relay/tcp.c): a guest that vanished without a
 * FIN or RST (a killed VM) is found out after 5 minutes idle and 4 probes
 * 30 s apart, and the flow and its host socket end. lwIP's defaults (2
 * hours, 9 probes 75 s apart) would hold abandoned fds far longer. The
 * host side uses the same values (SO_KEEPALIVE). */
#define TCP_KEEPIDLE_DEFAULT		300000UL
#define TCP_KEEPINTVL_DEFAULT		30000UL
#define TCP_KEEPCNT_DEFAULT		4U

#endif /* SANDNET_LWIPOPTS_H */
