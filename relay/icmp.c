// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation
 *
 * The ICMP relay carries the guest's echo requests ("ping") to addresses
 * other than the gateway, through the host's unprivileged ping sockets,
 * and the echo replies back. The gateway's own echo is answered by lwIP.
 *
 * Flow
 *   One flow per (destination, guest echo identifier), IPv4 or IPv6 in one
 *   table. A flow owns one ping socket: socket(AF_INET, SOCK_DGRAM,
 *   IPPROTO_ICMP), or socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6) for
 *   ICMPv6 echo (same permission: net.ipv4.ping_group_range), non-blocking,
 *   connect()ed to the destination. The kernel gives the socket its own
 *   identifier, rewrites the one in every request we send and fills the
 *   checksum; it delivers to the socket only replies carrying that
 *   identifier. Sequence numbers and payload pass through unchanged.
 *
 * Guest to host
 *   sn_icmp_input() checks the ICMP message (at least 8 bytes, checksum
 *   over the whole message, with the pseudo header for ICMPv6; echo
 *   request with code 0), finds or opens the
 *   flow and send()s the message. Echo is best effort: a full socket or a
 *   send error drops the request (icmp_drop), nothing is queued.
 *   As in the UDP relay, the gateway is a hop: a request with TTL 1 (or 0)
 *   is answered with ICMP time exceeded from the gateway (ttl_expired),
 *   others leave with the guest's TTL minus one (IP_TTL, set when it
 *   changes), and the flow keeps the IP header of its last request.
 *
 * Host to guest
 *   On POLLIN up to SN_ICMP_RECV_BATCH replies are recv()ed (ICMP header
 *   and payload, with the kernel's identifier). The guest's identifier is
 *   put back, the checksum recomputed with lwIP's inet_chksum(), and the
 *   reply goes to the guest with sn_ip4_output() (sn_ip6_output(), to the
 *   guest address the request came from) from the destination address.
 *   The policy decides each new flow (sn_decide(), policy/): a refused
 *   request gets ICMP administratively prohibited from the gateway (none
 *   for destinations never dialled: unspecified, broadcast, the guest's
 *   own). IPv4-mapped or -compatible IPv6 destinations are dropped
 *   (drop_unsupported: no ICMPv6 ping socket reaches an IPv4 host;
 *   dialling them over ICMPv4 would need echo translation).
 *
 * ICMP errors
 *   Ping sockets have IP_RECVERR (IPV6_RECVERR) on. An ICMP error about a
 *   request (destination unreachable, packet too big, time exceeded,
 *   parameter problem) lands in the socket's error queue with the
 *   offender's address and the request as it left the host;
 *   echo_errqueue() reads it through relay/sockerr.c, which decides
 *   which error the guest gets and from where (as for UDP), and this file
 *   quotes the flow's last guest IP header and that request with the
 *   guest's identifier put back (checksum adjusted, RFC 1624), so ping and
 *   traceroute -I match it by identifier and sequence. Every entry read
 *   counts in host_errors; the flow stays.
 *
 * Permission
 *   Ping sockets need the process's group in net.ipv4.ping_group_range.
 *   When socket() fails with EACCES or EPERM the relay logs one warning
 *   for the engine's lifetime and drops the request (icmp_drop); it tries
 *   again on the next request, so widening the range later takes effect.
 *
 * Bounds and lifetime
 *   At most cfg.max_icmp_flows flows, one array allocated at init and
 *   scanned linearly (64 by default; echo is rare next to UDP). A new flow
 *   when the table is full evicts the least recently used one. Flows idle
 *   for cfg.udp_idle_ms (both ICMP echo and UDP are connectionless
 *   sessions with the same 60 s default; one knob keeps tests simple) are
 *   closed by sn_icmp_tick(). Closing a flow deregisters and closes its
 *   socket; sn_icmp_fini() closes them all.
 */

#include <errno.h>
#include <time.h>		/* struct timespec, for linux/errqueue.h */
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/engine.h"
#include "lwip/def.h"
#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip4_addr.h"
#include "lwip/ip6_addr.h"
#include "lwip/pbuf.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/icmp6.h"
#include "lwip/prot/ip.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"
#include "netif/output.h"
#include "relay/relay.h"

/* Replies read from one socket per POLLIN callback (fairness). */
#define SN_ICMP_RECV_BATCH	64
/* Largest ICMP message in an IPv4 packet; one buffer holds any. */
#define SN_ICMP_MSG_MAX		(0xffff - IP_HLEN)
#define SN_ICMP_BUF_SIZE	65536
/* ICMP echo header: type, code, checksum, identifier, sequence number. */
#define SN_ICMP_ECHO_HLEN	8
/* Longest IP header kept per flow for ICMP errors about its requests: an
 * IPv4 header with options, or an IPv6 header and 40 bytes of extension
 * headers (longer ones are not relayed). */
#define SN_ICMP_IPH_MAX		80
/* Most of a request quoted back to the guest (RFC 1812: 576 bytes in all). */
#define SN_ICMP_QUOTE_MAX	(576 - IP_HLEN - 8)
/* Error queue entries read from one socket per callback. */
#define SN_ICMP_ERRQ_BATCH	16

/**
 * struct sn_icmp_flow - one relayed echo flow
 * @ic:		the relay, for socket callbacks
 * @fd:		connected ping socket, -1 when the entry is free
 * @slot:	engine fd slot of @fd
 * @dst:	destination address (replies' source), IPv4 or IPv6
 * @gaddr:	the guest's address (IPv6 replies' destination)
 * @id:		guest's echo identifier, network order
 * @last_ms:	time of the last request or reply
 * @gen:	bumped when the flow closes, so a loop that hands control
 *		away (sn_ip4_output()) notices its flow went
 * @ttl:	the socket's IP_TTL as last set, -1 while it is the default
 * @iphlen:	bytes in @iph, 0 before the first request is sent
 * @born_ms:	when the flow opened
 * @bytes_up:	echo messages' bytes sent to the host, ICMP header included
 * @bytes_down:	replies' bytes passed to the guest, ICMP header included
 * @iph:	the guest's IP header of the last request sent
 */
struct sn_icmp_flow {
	struct sn_icmp *ic;
	int fd;
	int slot;
	ip_addr_t dst;
	ip_addr_t gaddr;
	u16_t id;
	uint32_t last_ms;
	uint32_t gen;
	int ttl;
	u8_t iphlen;
	uint32_t born_ms;
	uint64_t bytes_up;
	uint64_t bytes_down;
	u8_t iph[SN_ICMP_IPH_MAX];
};

/**
 * struct sn_icmp - the ICMP relay's state (e->icmp)
 * @e:		engine
 * @flows:	flow table, @n_flows entries
 * @n_flows:	cfg.max_icmp_flows
 * @n_active:	flows in use
 * @warned:	the "ping sockets not permitted" warning was logged
 * @n_evicted:	flows closed to make room
 * @n_expired:	flows closed for idleness
 * @n_async_err: asynchronous socket errors seen (EHOSTUNREACH, ...)
 * @quote:	scratch for the quote of an ICMP error to the guest
 * @buf:	scratch buffer for one ICMP message
 */
struct sn_icmp {
	struct sn_engine *e;
	struct sn_icmp_flow *flows;
	unsigned n_flows;
	unsigned n_active;
	int warned;
	uint64_t n_evicted;
	uint64_t n_expired;
	uint64_t n_async_err;
	u8_t quote[SN_ICMP_IPH_MAX + SN_ICMP_QUOTE_MAX];
	unsigned char buf[SN_ICMP_BUF_SIZE];
};

/**
 * echo_close() - end a flow: deregister and close its socket
 * @ic:		relay
 * @f:		flow in use
 */
static void echo_close(struct sn_icmp *ic, struct sn_icmp_flow *f)
{
	sn_fd_del(ic->e, f->slot);
	close(f->fd);
	f->fd = -1;
	f->slot = -1;
	f->gen++;
	ic->n_active--;
}

/**
 * cksum_adjust() - update a checksum for one changed 16-bit word
 * @sum:	the checksum, as in the packet
 * @old:	the word before, as in the packet
 * @new:	the word after, as in the packet
 *
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
 *
 * Return: the new checksum, as in the packet
 */
static u16_t cksum_adjust(u16_t sum, u16_t old, u16_t new)
{
	u32_t acc = (u32_t)(u16_t)~lwip_ntohs(sum) + (u16_t)~lwip_ntohs(old) + lwip_ntohs(new);

	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return lwip_htons((u16_t)~acc);
}

/**
 * echo_report() - pass one error queue entry on to the guest as ICMP
 * @ctx:	the flow the entry was read from
 * @ee:		the entry
 * @off:	its offender, NULL for a local error
 * @data:	the request it is about, as the host sent it (from its ICMP
 *		header on, as much as the reporter quoted)
 * @len:	bytes at @data
 *
 * The quote is the flow's last guest IP header followed by the request
 * with the guest's identifier back in it, so ping and traceroute -I match
 * it; what to send and from where is relay/sockerr.c's decision.
 *
 * Return: 0, or -1 if the flow was closed meanwhile
 */
static int echo_report(void *ctx, const struct sock_extended_err *ee,
			  const struct sockaddr_storage *off, const void *data, size_t len)
{
	struct sn_icmp_flow *f = ctx;
	struct sn_icmp *ic = f->ic;
	struct icmp_echo_hdr *h = (struct icmp_echo_hdr *)ic->quote;
	int v6 = IP_IS_V6(&f->dst);
	uint32_t gen = f->gen;
	u8_t type, code;
	u32_t info;
	ip_addr_t src;
	u16_t sum;

	if (!f->iphlen || len < SN_ICMP_ECHO_HLEN ||
	    !sn_sockerr_icmp(ee, v6, !v6 && (f->iph[6] & (IP_DF >> 8)), &type, &code, &info))
		return 0;
	if (len > SN_ICMP_QUOTE_MAX)
		len = SN_ICMP_QUOTE_MAX;

	/* the request with the guest's identifier, in a copy whose ICMP
	 * header is aligned: quote = [IP header][request] */
	memcpy(ic->quote, data, len);
	sum = cksum_adjust(h->chksum, h->id, f->id);
	h->id = f->id;
	h->chksum = sum;
	memmove(ic->quote + f->iphlen, ic->quote, len);
	memcpy(ic->quote, f->iph, f->iphlen);

	sn_sockerr_source(ic->e, &f->dst, off, sn_sockerr_port_err(v6, type, code), &src);
	sn_sockerr_send(ic->e, &src, type, code, info, ic->quote, f->iphlen + len);
	return f->gen != gen ? -1 : 0;
}

/**
 * echo_errqueue() - read a ping socket's error queue into ICMP errors
 * @ic:		relay
 * @f:		flow
 *
 * Return: entries read, or -1 if the flow was closed meanwhile (an output
 *	   callback fed the engine)
 */
static int echo_errqueue(struct sn_icmp *ic, struct sn_icmp_flow *f)
{
	return sn_sockerr_drain(ic->e, f->fd, ic->buf, SN_ICMP_QUOTE_MAX, SN_ICMP_ERRQ_BATCH,
				echo_report, f);
}

/**
 * echo_recv() - relay echo replies from a flow's socket to the guest
 * @ic:		relay
 * @f:		flow
 */
static void echo_recv(struct sn_icmp *ic, struct sn_icmp_flow *f)
{
	struct sn_engine *e = ic->e;
	struct icmp_echo_hdr *h = (struct icmp_echo_hdr *)ic->buf;
	int v6 = IP_IS_V6(&f->dst);
	uint32_t gen = f->gen;
	struct sockaddr_storage from;
	socklen_t fromlen;
	struct pbuf *p;
	ssize_t n;
	err_t err;
	int i;

	for (i = 0; i < SN_ICMP_RECV_BATCH; i++) {
		memset(&from, 0, sizeof(from));
		fromlen = sizeof(from);
		n = recvfrom(f->fd, ic->buf, sizeof(ic->buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* An ICMP error about a request (EHOSTUNREACH, ...): it
			 * is in the error queue too and goes to the guest from
			 * there. Or a signal. */
			if (errno != EINTR) {
				ic->n_async_err++;
				if (echo_errqueue(ic, f) < 0)
					return;
			}
			continue;
		}
		if (n < SN_ICMP_ECHO_HLEN || n > SN_ICMP_MSG_MAX ||
		    (v6 ? h->type != ICMP6_TYPE_EREP ||
			  memcmp(&((struct sockaddr_in6 *)&from)->sin6_addr,
				 ip_2_ip6(&f->dst)->addr, 16) :
			  h->type != ICMP_ER ||
			  ((struct sockaddr_in *)&from)->sin_addr.s_addr !=
				  ip4_addr_get_u32(ip_2_ip4(&f->dst)))) {
			e->st.icmp_drop++;
			continue;
		}

		f->last_ms = sn_now_ms();
		h->id = f->id;
		h->chksum = 0;
		if (!v6)
			h->chksum = inet_chksum(ic->buf, (u16_t)n);

		p = pbuf_alloc(PBUF_IP, (u16_t)n, PBUF_RAM);
		if (!p || pbuf_take(p, ic->buf, (u16_t)n) != ERR_OK) {
			if (p)
				pbuf_free(p);
			e->st.icmp_drop++;
			continue;
		}
		if (v6) {
			((struct icmp_echo_hdr *)p->payload)->chksum =
				ip6_chksum_pseudo(p, IP6_NEXTH_ICMP6, p->tot_len,
						  ip_2_ip6(&f->dst), ip_2_ip6(&f->gaddr));
			err = sn_ip6_output(e, p, ip_2_ip6(&f->dst), ip_2_ip6(&f->gaddr),
					    IP6_NEXTH_ICMP6);
		} else {
			err = sn_ip4_output(e, p, ip_2_ip4(&f->dst), IP_PROTO_ICMP);
		}
		pbuf_free(p);
		if (err != ERR_OK) {
			e->st.icmp_drop++;
		} else {
			e->st.icmp_replies++;
			f->bytes_down += (uint64_t)n;
		}
		/* An output callback that feeds the engine re-entrantly may
		 * have evicted this flow. */
		if (f->gen != gen)
			return;
	}
}

/**
 * echo_ready() - engine callback: a flow's socket is ready
 * @ctx:	the flow
 * @fd:		its socket
 * @revents:	poll() revents
 */
static void echo_ready(void *ctx, int fd, short revents)
{
	struct sn_icmp_flow *f = ctx;
	int soerr, queued;
	socklen_t sl = sizeof(soerr);

	if (f->fd != fd)
		return;
	if (revents & POLLNVAL) {
		echo_close(f->ic, f);
		return;
	}
	if (revents & POLLERR) {
		/* the error queue; or only the socket error, when the queue
		 * had no room: SO_ERROR clears it so poll() stops reporting */
		queued = echo_errqueue(f->ic, f);
		if (queued < 0)
			return;
		if (queued == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
			f->ic->n_async_err++;
	}
	if (revents & POLLIN)
		echo_recv(f->ic, f);
}

/**
 * echo_lookup() - find a flow, or the entry a new one should take
 * @ic:		relay
 * @dst:	destination
 * @id:		guest's identifier, network order
 * @victim:	set to a free entry, else to the least recently used flow
 *
 * Return: the flow of (@dst, @id), or NULL
 */
static struct sn_icmp_flow *echo_lookup(struct sn_icmp *ic, const ip_addr_t *dst,
					   u16_t id, struct sn_icmp_flow **victim)
{
	uint32_t now = sn_now_ms();
	struct sn_icmp_flow *f;
	unsigned i;

	*victim = NULL;
	for (i = 0; i < ic->n_flows; i++) {
		f = &ic->flows[i];
		if (f->fd < 0) {
			if (!*victim || (*victim)->fd >= 0)
				*victim = f;
			continue;
		}
		if (f->id == id && ip_addr_eq(&f->dst, dst))
			return f;
		if (!*victim || ((*victim)->fd >= 0 &&
				 now - f->last_ms > now - (*victim)->last_ms))
			*victim = f;
	}
	return NULL;
}

/**
 * echo_open() - open a flow in a table entry
 * @ic:		relay
 * @f:		entry: free, or the least recently used flow (evicted)
 * @dst:	destination
 * @id:		guest's identifier, network order
 *
 * Return: 0, or -1 (counted by the caller; EACCES/EPERM logged once)
 */
static int echo_open(struct sn_icmp *ic, struct sn_icmp_flow *f,
			const ip_addr_t *dst, const ip_addr_t *gaddr, u16_t id)
{
	struct sockaddr_storage to;
	int v6 = IP_IS_V6(dst);
	socklen_t tl = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd, slot, on = 1;

	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0) {
		if ((errno == EACCES || errno == EPERM) && !ic->warned) {
			ic->warned = 1;
			sn_log(ic->e, SN_LOG_WARN, "ICMP echo relay disabled: ping sockets "
			       "not permitted (sysctl net.ipv4.ping_group_range)");
		}
		return -1;
	}
	/* ICMP errors about our requests, with type, code and offender */
	if ((v6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on)) :
		  setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on))) < 0)
		sn_log(ic->e, SN_LOG_DEBUG, "icmp: RECVERR: %s", strerror(errno));
	memset(&to, 0, sizeof(to));
	if (v6) {
		((struct sockaddr_in6 *)&to)->sin6_family = AF_INET6;
		memcpy(&((struct sockaddr_in6 *)&to)->sin6_addr, ip_2_ip6(dst)->addr, 16);
	} else {
		((struct sockaddr_in *)&to)->sin_family = AF_INET;
		((struct sockaddr_in *)&to)->sin_addr.s_addr = ip4_addr_get_u32(ip_2_ip4(dst));
	}
	if (sn_sock_bind_out(ic->e, fd, (const struct sockaddr *)&to) < 0 ||
	    connect(fd, (const struct sockaddr *)&to, tl) < 0) {
		close(fd);
		return -1;
	}

	if (f->fd >= 0) {
		echo_close(ic, f);
		ic->n_evicted++;
	}
	slot = sn_fd_add(ic->e, fd, POLLIN, echo_ready, f);
	if (slot < 0) {
		close(fd);
		return -1;
	}
	f->fd = fd;
	f->slot = slot;
	f->dst = *dst;
	f->gaddr = *gaddr;
	f->id = id;
	f->last_ms = f->born_ms = sn_now_ms();
	f->bytes_up = f->bytes_down = 0;
	sn_timer_arm(ic->e, f->last_ms + ic->e->cfg.udp_idle_ms);
	f->ttl = -1;
	f->iphlen = 0;
	ic->n_active++;
	return 0;
}

/**
 * sn_icmp_input() - an ICMP or ICMPv6 echo request from the guest to relay
 * @e:		engine
 * @p:		packet (payload at the IP header, validated and reassembled
 *		by the hook); consumed
 * @iphlen:	offset of the ICMP header (after IPv6 extension headers)
 * @src:	the guest's address
 * @dst:	the destination
 */
void sn_icmp_input(struct sn_engine *e, struct pbuf *p, u16_t iphlen, const ip_addr_t *src,
		   const ip_addr_t *dst)
{
	struct sn_icmp *ic = e->icmp;
	struct sn_icmp_flow *f, *victim;
	struct icmp_echo_hdr h;
	int v6 = IP_IS_V6(dst);
	struct sn_verdict v;
	ip_addr_t gw;
	u16_t len;
	int ttl;

	if (!ic) {
		e->st.drop_unsupported++;
		pbuf_free(p);
		return;
	}
	if (iphlen > SN_ICMP_IPH_MAX || p->tot_len < iphlen + SN_ICMP_ECHO_HLEN)
		goto malformed;
	ttl = pbuf_get_at(p, v6 ? 7 : 8);
	/* keep the guest's IP header for ICMP errors (copied into the flow
	 * once the request is sent) */
	if (pbuf_copy_partial(p, ic->quote, iphlen, 0) != iphlen || pbuf_remove_header(p, iphlen))
		goto malformed;
	len = p->tot_len;

	if (v6) {
		/* the ICMPv6 checksum covers a pseudo header: always checked */
		if (ip6_chksum_pseudo(p, IP6_NEXTH_ICMP6, len, ip_2_ip6(src), ip_2_ip6(dst)) != 0)
			goto malformed;
	} else {
		IF__NETIF_CHECKSUM_ENABLED(&e->netif, NETIF_CHECKSUM_CHECK_ICMP) {
			if (inet_chksum_pbuf(p) != 0)
				goto malformed;
		}
	}
	if (pbuf_copy_partial(p, &h, sizeof(h), 0) != sizeof(h))
		goto malformed;

	/* Echo requests to a unicast address that is not ours only. */
	if (h.type != (v6 ? ICMP6_TYPE_EREQ : ICMP_ECHO) || h.code != 0) {
		e->st.drop_unsupported++;
		pbuf_free(p);
		return;
	}
	/* The policy decides (core/decide.c); refused: ICMP administratively
	 * prohibited, except for destinations never dialled */
	if (sn_decide(e, SN_POLICY_EGRESS, SN_PROTO_ICMP, dst, 0, &v) != SN_POLICY_ALLOW) {
		if (v.by != SN_BY_NEVER && !pbuf_add_header_force(p, iphlen))
			sn_deny_icmp(e, p);
		pbuf_free(p);
		return;
	}
	/* no ICMPv6 ping socket reaches an IPv4 host (that would need echo
	 * translation); the gateway's own echo never comes here (lwIP's) */
	if ((v6 && v.v4) || v.cls == SN_CLASS_GATEWAY) {
		e->st.drop_unsupported++;
		pbuf_free(p);
		return;
	}

	/* The gateway is the first hop: the request expires here. */
	if (ttl <= 1) {
		e->st.ttl_expired++;
		if (!pbuf_add_header_force(p, iphlen)) {
			if (v6) {
				ip_addr_set_zero_ip6(&gw);
				memcpy(ip_2_ip6(&gw)->addr, &e->cfg.gw_ip6, 16);
				sn_icmp6_error_pbuf(e, ip_2_ip6(&gw), ICMP6_TYPE_TE, ICMP6_TE_HL, 0,
						    p);
			} else {
				ip_addr_set_ip4_u32_val(gw, e->cfg.gw_ip4.s_addr);
				sn_icmp4_error_pbuf(e, ip_2_ip4(&gw), ICMP_TE, ICMP_TE_TTL, 0, p);
			}
		}
		pbuf_free(p);
		return;
	}

	f = echo_lookup(ic, dst, h.id, &victim);
	if (!f) {
		if (!victim || echo_open(ic, victim, dst, src, h.id) < 0) {
			e->st.icmp_drop++;
			pbuf_free(p);
			return;
		}
		f = victim;
	}
	f->last_ms = sn_now_ms();
	f->gaddr = *src;

	/* it leaves the host one hop further on */
	if (f->ttl != ttl - 1) {
		int r = v6 ? setsockopt(f->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &(int){ ttl - 1 },
					sizeof(int)) :
			     setsockopt(f->fd, IPPROTO_IP, IP_TTL, &(int){ ttl - 1 }, sizeof(int));

		if (r == 0)
			f->ttl = ttl - 1;
		else
			sn_log(e, SN_LOG_DEBUG, "icmp: TTL %d: %s", ttl - 1, strerror(errno));
	}
	memcpy(f->iph, ic->quote, iphlen);
	if (pbuf_copy_partial(p, ic->buf, len, 0) != len)
		goto drop;
	if (send(f->fd, ic->buf, len, MSG_NOSIGNAL) < 0) {
		/* An error about an earlier request (time exceeded, ...) is
		 * reported once, by this send(), instead of sending: pass it
		 * on from the error queue, then try once more. */
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
		    echo_errqueue(ic, f) < 0)
			goto drop;
		ic->n_async_err++;
		if (pbuf_copy_partial(p, ic->buf, len, 0) != len ||
		    send(f->fd, ic->buf, len, MSG_NOSIGNAL) < 0)
			goto drop;
	}
	f->iphlen = (u8_t)iphlen;
	f->bytes_up += len;
	e->st.icmp_echo_relayed++;
	pbuf_free(p);
	return;

drop:
	e->st.icmp_drop++;
	pbuf_free(p);
	return;

malformed:
	e->st.drop_malformed++;
	pbuf_free(p);
}

/**
 * sn_icmp_walk() - report every echo flow to sn_engine_flows()
 * @e:		engine
 * @fn:		called for each flow
 * @ctx:	passed to @fn
 * @n:		incremented for each flow reported
 *
 * The guest's "port" is its echo identifier; the remote's is 0.
 *
 * Return: non-zero if @fn asked to stop
 */
int sn_icmp_walk(struct sn_engine *e, sn_flow_fn fn, void *ctx, unsigned *n)
{
	const struct sn_icmp *ic = e->icmp;
	uint32_t now = sn_now_ms();
	struct sn_flow_info fi;
	unsigned i;

	for (i = 0; i < ic->n_flows; i++) {
		const struct sn_icmp_flow *f = &ic->flows[i];

		if (f->fd < 0)
			continue;
		memset(&fi, 0, sizeof(fi));
		fi.proto = IPPROTO_ICMP;
		fi.state = "open";
		sn_flow_addr(&fi.guest, &f->gaddr, lwip_ntohs(f->id));
		sn_flow_addr(&fi.remote, &f->dst, 0);
		fi.bytes_up = f->bytes_up;
		fi.bytes_down = f->bytes_down;
		fi.age_ms = (uint32_t)(now - f->born_ms);
		fi.idle_ms = (uint32_t)(now - f->last_ms);
		(*n)++;
		if (fn(ctx, &fi))
			return 1;
	}
	return 0;
}

/**
 * sn_icmp_tick() - close flows idle for cfg.udp_idle_ms, arm the next expiry
 * @e:		engine
 */
void sn_icmp_tick(struct sn_engine *e)
{
	struct sn_icmp *ic = e->icmp;
	uint32_t now = sn_now_ms();
	struct sn_icmp_flow *f;
	unsigned i;

	if (!ic || !ic->n_active)
		return;
	for (i = 0; i < ic->n_flows; i++) {
		f = &ic->flows[i];
		if (f->fd < 0)
			continue;
		if (!sn_time_after(now, f->last_ms + e->cfg.udp_idle_ms)) {
			sn_timer_arm(e, f->last_ms + e->cfg.udp_idle_ms);
			continue;
		}
		echo_close(ic, f);
		ic->n_expired++;
	}
}

/**
 * sn_icmp_init() - allocate the ICMP relay's flow table
 * @e:		engine, cfg.max_icmp_flows > 0
 *
 * No socket is opened here: permission is found out (and reported) on the
 * first echo request.
 *
 * Return: 0, or -1 with errno (EINVAL: no flows allowed; ENOMEM)
 */
int sn_icmp_init(struct sn_engine *e)
{
	unsigned n = e->cfg.max_icmp_flows;
	struct sn_icmp *ic;
	unsigned i;

	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	ic = calloc(1, sizeof(*ic));
	if (!ic)
		return -1;
	ic->flows = calloc(n, sizeof(*ic->flows));
	if (!ic->flows) {
		free(ic);
		errno = ENOMEM;
		return -1;
	}
	ic->e = e;
	ic->n_flows = n;
	for (i = 0; i < n; i++) {
		ic->flows[i].ic = ic;
		ic->flows[i].fd = -1;
		ic->flows[i].slot = -1;
	}
	e->icmp = ic;
	return 0;
}

/**
 * sn_icmp_fini() - close every flow and free the relay
 * @e:		engine; its fd table must still exist
 */
void sn_icmp_fini(struct sn_engine *e)
{
	struct sn_icmp *ic = e->icmp;
	unsigned i;

	if (!ic)
		return;
	for (i = 0; i < ic->n_flows; i++) {
		if (ic->flows[i].fd >= 0)
			echo_close(ic, &ic->flows[i]);
	}
	free(ic->flows);
	free(ic);
	e->icmp = NULL;
}
