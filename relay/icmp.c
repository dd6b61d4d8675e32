// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation
 *
 * The ICMP relay carries the guest's echo requests ("ping") to addresses
 * other than the gateway, through the host's unprivileged ping sockets,
 * and the echo replies back. The gateway's own echo is answered by lwIP.
 *
 * Flow
 *   One flow per (destination, guest echo identifier). A flow owns one
 *   ping socket: socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), non-blocking,
 *   connect()ed to the destination. The kernel gives the socket its own
 *   identifier, rewrites the one in every request we send and fills the
 *   checksum; it delivers to the socket only replies carrying that
 *   identifier. Sequence numbers and payload pass through unchanged.
 *
 * Guest to host
 *   sn_icmp_input4() checks the ICMP message (at least 8 bytes, checksum
 *   over the whole message, echo request with code 0), finds or opens the
 *   flow and send()s the message. Echo is best effort: a full socket or a
 *   send error drops the request (icmp_drop), nothing is queued.
 *
 * Host to guest
 *   On POLLIN up to SN_ICMP_RECV_BATCH replies are recv()ed (ICMP header
 *   and payload, with the kernel's identifier). The guest's identifier is
 *   put back, the checksum recomputed with lwIP's inet_chksum(), and the
 *   reply goes to the guest with sn_ip4_output() from the destination
 *   address. Asynchronous errors the kernel reports on the socket
 *   (EHOSTUNREACH, ...) are counted and the flow stays: relaying them as
 *   ICMP errors to the guest is a later issue.
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
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/engine.h"
#include "lwip/def.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/ip.h"
#include "lwip/prot/ip4.h"
#include "netif/guestif.h"
#include "relay/relay.h"

/* Replies read from one socket per POLLIN callback (fairness). */
#define SN_ICMP_RECV_BATCH	64
/* Largest ICMP message in an IPv4 packet; one buffer holds any. */
#define SN_ICMP_MSG_MAX		(0xffff - IP_HLEN)
#define SN_ICMP_BUF_SIZE	65536
/* ICMP echo header: type, code, checksum, identifier, sequence number. */
#define SN_ICMP_ECHO_HLEN	8

/**
 * struct sn_icmp_flow - one relayed echo flow
 * @ic:		the relay, for socket callbacks
 * @fd:		connected ping socket, -1 when the entry is free
 * @slot:	engine fd slot of @fd
 * @dst:	destination address (replies' source)
 * @id:		guest's echo identifier, network order
 * @last_ms:	time of the last request or reply
 * @gen:	bumped when the flow closes, so a loop that hands control
 *		away (sn_ip4_output()) notices its flow went
 */
struct sn_icmp_flow {
	struct sn_icmp *ic;
	int fd;
	int slot;
	ip4_addr_t dst;
	u16_t id;
	uint32_t last_ms;
	uint32_t gen;
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
	unsigned char buf[SN_ICMP_BUF_SIZE];
};

/**
 * sn_icmp_close() - end a flow: deregister and close its socket
 * @ic:		relay
 * @f:		flow in use
 */
static void sn_icmp_close(struct sn_icmp *ic, struct sn_icmp_flow *f)
{
	sn_fd_del(ic->e, f->slot);
	close(f->fd);
	f->fd = -1;
	f->slot = -1;
	f->gen++;
	ic->n_active--;
}

/**
 * sn_icmp_recv() - relay echo replies from a flow's socket to the guest
 * @ic:		relay
 * @f:		flow
 */
static void sn_icmp_recv(struct sn_icmp *ic, struct sn_icmp_flow *f)
{
	struct sn_engine *e = ic->e;
	struct icmp_echo_hdr *h = (struct icmp_echo_hdr *)ic->buf;
	uint32_t gen = f->gen;
	struct sockaddr_in from;
	socklen_t fromlen;
	struct pbuf *p;
	ssize_t n;
	err_t err;
	int i;

	for (i = 0; i < SN_ICMP_RECV_BATCH; i++) {
		fromlen = sizeof(from);
		n = recvfrom(f->fd, ic->buf, sizeof(ic->buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* An ICMP error about a request (EHOSTUNREACH, ...), or
			 * a signal. Relaying errors to the guest is a later
			 * issue: count and keep the flow. */
			if (errno != EINTR)
				ic->n_async_err++;
			continue;
		}
		if (n < SN_ICMP_ECHO_HLEN || n > SN_ICMP_MSG_MAX ||
		    h->type != ICMP_ER || from.sin_addr.s_addr != f->dst.addr) {
			e->st.icmp_drop++;
			continue;
		}

		f->last_ms = sn_now_ms();
		h->id = f->id;
		h->chksum = 0;
		h->chksum = inet_chksum(ic->buf, (u16_t)n);

		p = pbuf_alloc(PBUF_IP, (u16_t)n, PBUF_RAM);
		if (!p || pbuf_take(p, ic->buf, (u16_t)n) != ERR_OK) {
			if (p)
				pbuf_free(p);
			e->st.icmp_drop++;
			continue;
		}
		err = sn_ip4_output(e, p, &f->dst, IP_PROTO_ICMP);
		pbuf_free(p);
		if (err != ERR_OK)
			e->st.icmp_drop++;
		else
			e->st.icmp_replies++;
		/* An output callback that feeds the engine re-entrantly may
		 * have evicted this flow. */
		if (f->gen != gen)
			return;
	}
}

/**
 * sn_icmp_sock_ready() - engine callback: a flow's socket is ready
 * @ctx:	the flow
 * @fd:		its socket
 * @revents:	poll() revents
 */
static void sn_icmp_sock_ready(void *ctx, int fd, short revents)
{
	struct sn_icmp_flow *f = ctx;

	if (f->fd != fd)
		return;
	if (revents & POLLNVAL) {
		sn_icmp_close(f->ic, f);
		return;
	}
	if (revents & (POLLIN | POLLERR))
		sn_icmp_recv(f->ic, f);
}

/**
 * sn_icmp_lookup() - find a flow, or the entry a new one should take
 * @ic:		relay
 * @dst:	destination
 * @id:		guest's identifier, network order
 * @victim:	set to a free entry, else to the least recently used flow
 *
 * Return: the flow of (@dst, @id), or NULL
 */
static struct sn_icmp_flow *sn_icmp_lookup(struct sn_icmp *ic, const ip4_addr_t *dst,
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
		if (f->id == id && ip4_addr_eq(&f->dst, dst))
			return f;
		if (!*victim || ((*victim)->fd >= 0 &&
				 now - f->last_ms > now - (*victim)->last_ms))
			*victim = f;
	}
	return NULL;
}

/**
 * sn_icmp_open() - open a flow in a table entry
 * @ic:		relay
 * @f:		entry: free, or the least recently used flow (evicted)
 * @dst:	destination
 * @id:		guest's identifier, network order
 *
 * Return: 0, or -1 (counted by the caller; EACCES/EPERM logged once)
 */
static int sn_icmp_open(struct sn_icmp *ic, struct sn_icmp_flow *f,
			const ip4_addr_t *dst, u16_t id)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	int fd, slot;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd < 0) {
		if ((errno == EACCES || errno == EPERM) && !ic->warned) {
			ic->warned = 1;
			sn_log(ic->e, SN_LOG_WARN, "ICMP echo relay disabled: ping sockets "
			       "not permitted (sysctl net.ipv4.ping_group_range)");
		}
		return -1;
	}
	to.sin_addr.s_addr = dst->addr;
	if (connect(fd, (const struct sockaddr *)&to, sizeof(to)) < 0) {
		close(fd);
		return -1;
	}

	if (f->fd >= 0) {
		sn_icmp_close(ic, f);
		ic->n_evicted++;
	}
	slot = sn_fd_add(ic->e, fd, POLLIN, sn_icmp_sock_ready, f);
	if (slot < 0) {
		close(fd);
		return -1;
	}
	f->fd = fd;
	f->slot = slot;
	f->dst = *dst;
	f->id = id;
	f->last_ms = sn_now_ms();
	ic->n_active++;
	return 0;
}

/**
 * sn_icmp_input4() - an ICMP message from the guest to relay
 * @e:		engine
 * @p:		IPv4 packet (payload at the IP header, validated and
 *		reassembled by the hook); consumed
 */
void sn_icmp_input4(struct sn_engine *e, struct pbuf *p)
{
	struct sn_icmp *ic = e->icmp;
	const struct ip_hdr *iph = p->payload;
	struct sn_icmp_flow *f, *victim;
	struct icmp_echo_hdr h;
	ip4_addr_t dst;
	u16_t iphlen, len;
	u32_t a;

	if (!ic) {
		e->st.drop_unsupported++;
		pbuf_free(p);
		return;
	}
	if (p->len < IP_HLEN)
		goto malformed;
	iphlen = IPH_HL_BYTES(iph);
	ip4_addr_copy(dst, iph->dest);
	if (p->tot_len < iphlen + SN_ICMP_ECHO_HLEN || pbuf_remove_header(p, iphlen))
		goto malformed;
	len = p->tot_len;

	IF__NETIF_CHECKSUM_ENABLED(&e->netif, NETIF_CHECKSUM_CHECK_ICMP) {
		if (inet_chksum_pbuf(p) != 0)
			goto malformed;
	}
	if (pbuf_copy_partial(p, &h, sizeof(h), 0) != sizeof(h))
		goto malformed;

	/* The host's own loopback is reached only as the gateway. */
	a = dst.addr;
	if (ip4_addr_isloopback(&dst)) {
		e->st.host_denied++;
		pbuf_free(p);
		return;
	}
	/* Echo requests to a unicast address that is not ours only. */
	if (h.type != ICMP_ECHO || h.code != 0 || (a & PP_HTONL(0xff000000UL)) == 0 ||
	    ip4_addr_ismulticast(&dst) || ip4_addr_isbroadcast(&dst, &e->netif) ||
	    a == PP_HTONL(0xffffffffUL) || a == e->cfg.gw_ip4.s_addr ||
	    a == e->cfg.guest_ip4.s_addr) {
		e->st.drop_unsupported++;
		pbuf_free(p);
		return;
	}

	f = sn_icmp_lookup(ic, &dst, h.id, &victim);
	if (!f) {
		if (sn_icmp_open(ic, victim, &dst, h.id) < 0) {
			e->st.icmp_drop++;
			pbuf_free(p);
			return;
		}
		f = victim;
	}
	f->last_ms = sn_now_ms();

	if (pbuf_copy_partial(p, ic->buf, len, 0) != len ||
	    send(f->fd, ic->buf, len, MSG_NOSIGNAL) < 0) {
		e->st.icmp_drop++;
		pbuf_free(p);
		return;
	}
	e->st.icmp_echo_relayed++;
	pbuf_free(p);
	return;

malformed:
	e->st.drop_malformed++;
	pbuf_free(p);
}

/**
 * sn_icmp_tick() - close flows idle for cfg.udp_idle_ms
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
		if (f->fd < 0 || !sn_time_after(now, f->last_ms + e->cfg.udp_idle_ms))
			continue;
		sn_icmp_close(ic, f);
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
			sn_icmp_close(ic, &ic->flows[i]);
	}
	free(ic->flows);
	free(ic);
	e->icmp = NULL;
}
