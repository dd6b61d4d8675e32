// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the TCP proxy
 *
 * A flow is one guest TCP connection spliced to one host socket. lwIP
 * terminates the guest's side; the host side is an ordinary non-blocking
 * socket. A flow lives through three states:
 *
 * CONNECTING	the guest's SYN arrived (sn_tcp_input()); a host socket is
 *		connect()ing to the destination and the SYN pbuf is held.
 *		Retransmitted SYNs are dropped. Refused, unreachable, or past
 *		cfg.tcp_connect_ms: the next address of the flow's short list
 *		is tried (the host's other loopback after a refusal; the DNS
 *		forwarder's next upstream after any failure or
 *		cfg.dns_timeout_ms), and when none is left the guest gets an
 *		RST from the destination address, and the flow ends. The
 *		guest never sees a SYN-ACK for a connection the host could
 *		not make.
 * SYN_FED	the host connect() succeeded: the held SYN is fed to
 *		tcp_input() (sn_ip_tcp_deliver()) where a listener bound to the
 *		any-address on the destination port accepts it, and lwIP answers
 *		SYN-ACK from the original destination address. The listener's
 *		callback_arg is the flow while the SYN is fed, so the new pcb
 *		inherits it. A listener exists per destination port while some
 *		flow is in this state (bounded, refcounted).
 * OPEN		lwIP accepted the connection: bytes are spliced both ways.
 *
 * A flow of a published port (relay/publish.c) starts the other way round,
 * from a host connection already accepted (sn_tcp_flow_inbound()):
 *
 * SYN_SENT	lwIP connects to the guest from the client's address and port
 *		(a pcb bound to that address: lwIP does not check that it is
 *		its own, and with one netif everything leaves through the
 *		guest's); the host socket is not read yet. The guest's SYN-ACK
 *		makes the flow OPEN; its RST, lwIP giving up, or
 *		cfg.tcp_connect_ms passing resets the host connection. A
 *		4-tuple that a guest flow or lwIP already has is refused.
 *
 * Splicing and backpressure: guest data stays in lwIP's receive window
 * until the host socket takes it (tcp_recved() only after send()), so a
 * slow host reader closes the guest's window. Host data is read only while
 * lwIP's send buffer has room; the sent callback resumes reading. Memory
 * per flow is bounded by TCP_WND + TCP_SND_BUF.
 *
 * DNS: a flow to port 53 carries a filter (relay/dnstcp.c) on both
 * directions: guest bytes go to the host only once the filter has cleared
 * the query frame they belong to (queries it answers itself are consumed
 * from the queue), host bytes go to the filter instead of lwIP, and
 * lwIP gets what the filter gives back, whole frames (flow_dns_write()).
 * The window and send-buffer backpressure above holds as for any flow.
 *
 * Half-close: guest FIN -> shutdown(SHUT_WR) once queued data is written;
 * host EOF -> tcp_shutdown(tx) (FIN after queued data). When both sides are
 * done, tcp_close() and close(): lwIP finishes sending on its own. A host
 * error, or sn_engine_free() with the flow still open, aborts the flow with
 * an RST to the guest and to the host peer (SO_LINGER 0); a guest RST or lwIP
 * timeout (err callback) resets the host socket too. No path keeps an fd.
 *
 * Limits: cfg.max_tcp_flows flows (RST beyond, st.tcp_limit_rst); of
 * them at most cfg.max_tcp_pending connecting at once, and
 * cfg.max_tcp_pending_per_dest to one address (SYNs beyond are dropped,
 * st.tcp_pending_limit; the guest retransmits), so a black-holed
 * destination cannot hold every slot for the connect timeout; and
 * SN_TCP_MAX_LISTENERS ports with SYNs being accepted at once.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>	/* TCP_KEEPIDLE...; its TCP_MSS (a socket option) is not lwIP's */
#undef TCP_MSS
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/dns.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"
#include "core/engine.h"
#include "netif/hook.h"
#include "relay/relay.h"

#define SN_TCP_MAX_LISTENERS	256
/* Host reads per readiness callback: bounds the time one flow holds the loop. */
#define SN_TCP_READ_BURST	16
/* Largest tcp_write(): u16 length (LWIP-NOTES pitfall 4). */
#define SN_TCP_CHUNK		65535
#define SN_TCP_IOV		64

enum tcp_flow_state { FLOW_CONNECTING, FLOW_SYN_FED, FLOW_SYN_SENT, FLOW_OPEN };

struct tcp_listener {
	struct tcp_pcb *pcb;
	u16_t port;
	unsigned refs;
};

struct tcp_flow {
	struct tcp_flow *prev, *next;
	enum tcp_flow_state state;
	int fd, slot;
	struct tcp_pcb *pcb;
	struct pbuf *syn;		/* CONNECTING: the held SYN */
	uint32_t deadline;		/* CONNECTING, SYN_SENT: give up after this */
	struct tcp_listener *lst;	/* SYN_FED: the listener held */
	ip_addr_t gaddr, daddr;		/* guest and destination */
	u16_t gport, dport;		/* host order */
	u16_t syn_hlen;			/* IP header length of the held SYN */
	u32_t syn_seq;
	struct sockaddr_storage alt[SN_MAX_DNS_UPSTREAMS]; /* CONNECTING: where to try next */
	u8_t n_alt, next_alt;		/* entries in alt, the next one to try */
	u8_t alt_any;			/* any failure or timeout moves on, not only a refusal */
	struct sn_dnstcp *dns;		/* port 53: the DNS stream filter (relay/dnstcp.c) */
	struct pbuf *up;		/* guest data not yet taken by the host */
	uint64_t bytes_up, bytes_down;	/* spliced each way (sn_engine_flows()) */
	uint32_t born_ms, last_ms;	/* flow_new(), the last bytes spliced */
	unsigned guest_eof:1, host_eof:1, host_shut:1, down_blocked:1;
	unsigned inbound:1;		/* from a published port (sn_tcp_flow_inbound()) */
};

struct sn_tcp {
	struct tcp_flow *flows;
	unsigned n_flows;
	struct tcp_listener lst[SN_TCP_MAX_LISTENERS];
	uint64_t isn_key[2];
	uint64_t segs_in;		/* valid guest segments: drain progress */
};

static void flow_host_ready(void *ctx, int fd, short revents);
static int flow_retry_alt(struct sn_engine *e, struct tcp_flow *f, int err);

/* ---- initial sequence numbers (RFC 6528) ---- */

#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND							\
	do {								\
		v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32); \
		v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;		\
		v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;		\
		v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32); \
	} while (0)

/**
 * siphash24() - SipHash-2-4 of whole 64-bit words
 * @key:	128-bit key
 * @m:		message words
 * @n:		number of words
 *
 * Return: the 64-bit hash
 */
static uint64_t siphash24(const uint64_t key[2], const uint64_t *m, size_t n)
{
	uint64_t v0 = key[0] ^ 0x736f6d6570736575ULL, v1 = key[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = key[0] ^ 0x6c7967656e657261ULL, v3 = key[1] ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)(n * 8) << 56;
	size_t i;

	for (i = 0; i < n; i++) {
		v3 ^= m[i];
		SIPROUND;
		SIPROUND;
		v0 ^= m[i];
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/**
 * sn_tcp_isn() - LWIP_HOOK_TCP_ISN: keyed hash of the 4-tuple plus a 4 us clock
 * @local_ip:	local address
 * @local_port:	local port
 * @remote_ip:	remote address
 * @remote_port: remote port
 *
 * Return: the initial sequence number
 */
u32_t sn_tcp_isn(const ip_addr_t *local_ip, u16_t local_port,
		 const ip_addr_t *remote_ip, u16_t remote_port)
{
	uint64_t m[5] = { 0 };

	if (IP_IS_V6(local_ip)) {
		memcpy(&m[0], ip_2_ip6(local_ip)->addr, 16);
		memcpy(&m[2], ip_2_ip6(remote_ip)->addr, 16);
	} else {
		m[0] = ip4_addr_get_u32(ip_2_ip4(local_ip));
		m[2] = ip4_addr_get_u32(ip_2_ip4(remote_ip));
	}
	m[4] = ((uint64_t)local_port << 16) | remote_port;
	return (u32_t)siphash24(sn_eng->tcp->isn_key, m, 5) + sn_now_ms() * 250;
}

/* ---- flows ---- */

/**
 * flow_find() - the flow of a guest 4-tuple
 * @t:		relay
 * @g:		guest address
 * @gport:	guest port
 * @d:		destination address
 * @dport:	destination port
 *
 * Return: the flow or NULL
 */
static struct tcp_flow *flow_find(struct sn_tcp *t, const ip_addr_t *g, u16_t gport,
				  const ip_addr_t *d, u16_t dport)
{
	struct tcp_flow *f;

	for (f = t->flows; f; f = f->next)
		if (f->gport == gport && f->dport == dport && ip_addr_eq(&f->gaddr, g) &&
		    ip_addr_eq(&f->daddr, d))
			return f;
	return NULL;
}

/**
 * listener_put() - drop a flow's hold on its listener, closing it when unused
 * @f:		flow
 */
static void listener_put(struct tcp_flow *f)
{
	struct tcp_listener *l = f->lst;

	f->lst = NULL;
	if (!l || --l->refs)
		return;
	tcp_close(l->pcb);
	l->pcb = NULL;
}

/**
 * listener_get() - a listener on @port for the any-address, created if needed
 * @t:		relay
 * @port:	destination port
 *
 * Return: the listener with one more reference, or NULL when all are taken
 */
static struct tcp_listener *listener_get(struct sn_tcp *t, u16_t port)
{
	struct tcp_listener *free_l = NULL;
	struct tcp_pcb *pcb, *lpcb;
	unsigned i;

	for (i = 0; i < SN_TCP_MAX_LISTENERS; i++) {
		if (t->lst[i].pcb && t->lst[i].port == port) {
			t->lst[i].refs++;
			return &t->lst[i];
		}
		if (!t->lst[i].pcb && !free_l)
			free_l = &t->lst[i];
	}
	if (!free_l)
		return NULL;
	pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
	if (!pcb)
		return NULL;
	ip_set_option(pcb, SOF_REUSEADDR);
	if (tcp_bind(pcb, IP_ANY_TYPE, port) != ERR_OK) {
		tcp_abort(pcb);
		return NULL;
	}
	lpcb = tcp_listen(pcb);
	if (!lpcb) {
		tcp_abort(pcb);
		return NULL;
	}
	free_l->pcb = lpcb;
	free_l->port = port;
	free_l->refs = 1;
	return free_l;
}

/**
 * flow_new() - allocate a flow
 * @e:		engine
 * @g:		guest address
 * @gport:	guest port
 * @d:		the other end's address, as the guest sees it
 * @dport:	its port
 *
 * Return: the flow, linked, or NULL on ENOMEM
 */
static struct tcp_flow *flow_new(struct sn_engine *e, const ip_addr_t *g, u16_t gport,
				 const ip_addr_t *d, u16_t dport)
{
	struct sn_tcp *t = e->tcp;
	struct tcp_flow *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fd = -1;
	f->slot = -1;
	ip_addr_copy(f->gaddr, *g);
	ip_addr_copy(f->daddr, *d);
	f->gport = gport;
	f->dport = dport;
	f->born_ms = f->last_ms = sn_now_ms();
	f->next = t->flows;
	if (t->flows)
		t->flows->prev = f;
	t->flows = f;
	t->n_flows++;
	e->st.tcp_flows++;
	return f;
}

/**
 * flow_count() - note bytes spliced on a flow, for sn_engine_flows()
 * @f:		flow
 * @up:		bytes the host took from the guest
 * @down:	bytes lwIP took for the guest
 */
static void flow_count(struct tcp_flow *f, uint64_t up, uint64_t down)
{
	f->bytes_up += up;
	f->bytes_down += down;
	f->last_ms = sn_now_ms();
}

/**
 * flow_free() - unlink a flow and release its fd, pbufs and listener hold
 * @e:		engine
 * @f:		flow; its pcb must already be gone or detached
 */
static void flow_free(struct sn_engine *e, struct tcp_flow *f)
{
	struct sn_tcp *t = e->tcp;

	if (f->state == FLOW_OPEN)
		e->st.tcp_flows_active--;
	listener_put(f);
	sn_fd_del(e, f->slot);
	if (f->fd >= 0)
		close(f->fd);
	if (f->syn)
		pbuf_free(f->syn);
	if (f->up)
		pbuf_free(f->up);
	sn_dnstcp_free(f->dns);
	if (f->prev)
		f->prev->next = f->next;
	else
		t->flows = f->next;
	if (f->next)
		f->next->prev = f->prev;
	t->n_flows--;
	free(f);
}

/**
 * flow_rst_syn() - refuse a guest SYN with an RST from its destination
 * @e:		engine
 * @f:		flow of the SYN
 */
static void flow_rst_syn(struct sn_engine *e, struct tcp_flow *f)
{
	tcp_rst_netif(&e->netif, 0, f->syn_seq + 1, &f->daddr, &f->gaddr, f->dport, f->gport);
}

/**
 * sn_tcp_sock_reset() - make close() of a TCP socket send an RST, not a FIN
 * @fd:		socket
 */
void sn_tcp_sock_reset(int fd)
{
	static const struct linger rst = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
}

/**
 * flow_abort() - end a flow at once: RST to the guest and to the host
 * @e:		engine
 * @f:		flow
 */
static void flow_abort(struct sn_engine *e, struct tcp_flow *f)
{
	if (f->fd >= 0 && f->state != FLOW_CONNECTING)
		sn_tcp_sock_reset(f->fd);
	if (f->pcb) {
		tcp_arg(f->pcb, NULL);
		tcp_err(f->pcb, NULL);
		tcp_recv(f->pcb, NULL);
		tcp_sent(f->pcb, NULL);
		tcp_abort(f->pcb);
		f->pcb = NULL;
	} else if (f->state == FLOW_CONNECTING) {
		flow_rst_syn(e, f);
	}
	flow_free(e, f);
}

/**
 * flow_update_events() - poll the host fd for what the flow can take now
 * @e:		engine
 * @f:		flow
 */
static void flow_update_events(struct sn_engine *e, struct tcp_flow *f)
{
	short ev = 0;

	if (f->state == FLOW_CONNECTING)
		ev = POLLOUT;
	if (f->state == FLOW_OPEN && !f->host_eof && !f->down_blocked)
		ev |= POLLIN;
	if (f->up && (!f->dns || sn_dnstcp_passing(f->dns)))
		ev |= POLLOUT;
	sn_fd_events(e, f->slot, ev);
}

/**
 * flow_maybe_close() - close a flow whose both directions are finished
 * @e:		engine
 * @f:		flow
 *
 * Return: 1 if the flow is gone, 0 if it lives on
 */
static int flow_maybe_close(struct sn_engine *e, struct tcp_flow *f)
{
	if (f->state != FLOW_OPEN || !f->guest_eof || !f->host_shut || !f->host_eof)
		return 0;
	tcp_arg(f->pcb, NULL);
	tcp_err(f->pcb, NULL);
	tcp_recv(f->pcb, NULL);
	tcp_sent(f->pcb, NULL);
	if (tcp_close(f->pcb) != ERR_OK)
		tcp_abort(f->pcb);
	f->pcb = NULL;
	flow_free(e, f);
	return 1;
}

/**
 * flow_up_consume() - drop @n bytes from the head of the guest's data and
 *		       open the guest's window by as much
 * @f:		flow
 * @n:		bytes, at most what f->up holds
 */
static void flow_up_consume(struct tcp_flow *f, size_t n)
{
	while (n > 0) {
		u16_t chunk = n > 0xffff ? 0xffff : (u16_t)n;

		f->up = pbuf_free_header(f->up, chunk);
		tcp_recved(f->pcb, chunk);
		n -= chunk;
	}
}

static int flow_dns_write(struct sn_engine *e, struct tcp_flow *f);

/**
 * flow_flush_up() - write queued guest data to the host socket
 * @e:		engine
 * @f:		flow
 *
 * A DNS flow sends only what its filter has cleared; queries answered
 * here are consumed, and the replies written to the guest.
 *
 * Return: 0, or -1 if the flow was aborted (host socket error)
 */
static int flow_flush_up(struct sn_engine *e, struct tcp_flow *f)
{
	while (f->up) {
		struct iovec iov[SN_TCP_IOV];
		struct msghdr mh = { .msg_iov = iov };
		size_t lim = SIZE_MAX, room;
		struct pbuf *q;
		ssize_t n;

		if (f->dns) {
			int act = sn_dnstcp_up(e, f->dns, f->up, f->guest_eof, &lim);

			if (act == SN_DNSTCP_FULL) {
				int r = flow_dns_write(e, f);

				if (r < 0)
					return -1;
				if (r)
					continue;
			}
			if (act == SN_DNSTCP_WAIT || act == SN_DNSTCP_FULL)
				break;
			if (act == SN_DNSTCP_BROKEN) {
				flow_abort(e, f);
				return -1;
			}
			if (act == SN_DNSTCP_DROP) {
				flow_up_consume(f, lim);
				continue;
			}
		}
		for (q = f->up, room = lim; q && room && mh.msg_iovlen < SN_TCP_IOV; q = q->next) {
			iov[mh.msg_iovlen].iov_base = q->payload;
			iov[mh.msg_iovlen++].iov_len = q->len < room ? q->len : room;
			room -= iov[mh.msg_iovlen - 1].iov_len;
		}
		n = sendmsg(f->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			sn_log(e, SN_LOG_DEBUG, "tcp: send to host: %s", strerror(errno));
			flow_abort(e, f);
			return -1;
		}
		e->st.tcp_bytes_up += (uint64_t)n;
		flow_count(f, (uint64_t)n, 0);
		if (f->dns)
			sn_dnstcp_up_sent(f->dns, (size_t)n);
		flow_up_consume(f, (size_t)n);
	}
	if (!f->up && f->guest_eof && !f->host_shut) {
		shutdown(f->fd, SHUT_WR);
		f->host_shut = 1;
	}
	if (f->dns && flow_dns_write(e, f) < 0)
		return -1;
	flow_update_events(e, f);
	return 0;
}

/**
 * flow_room() - bytes lwIP's send buffer takes for the guest now
 * @pcb:	the guest connection
 *
 * Return: the count, within the buffer's bytes and segments
 */
static size_t flow_room(struct tcp_pcb *pcb)
{
	u16_t mss = tcp_mss(pcb) ? tcp_mss(pcb) : 536;
	size_t want = tcp_sndbuf(pcb), segs;

	segs = TCP_SND_QUEUELEN > tcp_sndqueuelen(pcb) + 2 ?
		       TCP_SND_QUEUELEN - tcp_sndqueuelen(pcb) - 2 : 0;
	return want > segs * mss ? segs * mss : want;
}

/**
 * flow_want() - bytes to read from the host for lwIP's send buffer now
 * @pcb:	the guest connection
 *
 * Return: flow_room(), at most SN_TCP_CHUNK, in whole segments
 */
static ssize_t flow_want(struct tcp_pcb *pcb)
{
	u16_t mss = tcp_mss(pcb) ? tcp_mss(pcb) : 536;
	size_t want = flow_room(pcb);

	if (want > SN_TCP_CHUNK)
		want = SN_TCP_CHUNK;
	if (want > mss)
		want -= want % mss;	/* no runt segments */
	return (ssize_t)want;
}

/**
 * flow_dns_write() - give the guest what a DNS flow's filter has for it
 * @e:		engine
 * @f:		flow with a filter, OPEN
 *
 * Whole frames as far as lwIP takes them; the rest waits for the guest's
 * acknowledgements (down_blocked: the sent callback comes back here
 * through flow_read_down()). After the host's EOF the guest's stream is
 * finished and replies are dropped.
 *
 * Return: 1 if nothing is left, 0 if some waits, -1 if the flow was aborted
 */
static int flow_dns_write(struct sn_engine *e, struct tcp_flow *f)
{
	const uint8_t *p;
	size_t len;
	int wrote = 0;

	while ((len = sn_dnstcp_pending(f->dns, &p))) {
		size_t room;

		if (f->host_eof) {	/* the guest's stream is finished */
			sn_dnstcp_written(f->dns, len);
			continue;
		}
		room = flow_room(f->pcb);
		if (!room) {
			f->down_blocked = 1;
			break;
		}
		if (len > room)
			len = room;
		if (len > SN_TCP_CHUNK)
			len = SN_TCP_CHUNK;
		if (tcp_write(f->pcb, p, (u16_t)len, TCP_WRITE_FLAG_COPY) != ERR_OK) {
			sn_log(e, SN_LOG_WARN, "tcp: lwIP refused %zu bytes, aborting flow", len);
			flow_abort(e, f);
			return -1;
		}
		e->st.tcp_bytes_down += (uint64_t)len;
		flow_count(f, 0, len);
		sn_dnstcp_written(f->dns, len);
		wrote = 1;
	}
	if (wrote)
		tcp_output(f->pcb);
	return !len;
}

/**
 * flow_dns_want() - bytes a DNS flow takes from the host now
 * @e:		engine
 * @f:		flow with a filter, OPEN
 *
 * What the filter has for the guest goes first; guest queries waiting for
 * room for the filter's replies go on; then the rest of the frame being
 * assembled.
 *
 * Return: the count (0: the guest has to read first), or -1 if the flow
 *	   was aborted
 */
static ssize_t flow_dns_want(struct sn_engine *e, struct tcp_flow *f)
{
	size_t room;
	int r = flow_dns_write(e, f);

	if (r <= 0)
		return r;
	if (f->up && flow_flush_up(e, f))
		return -1;
	room = sn_dnstcp_room(f->dns);
	return (ssize_t)(room > SN_TCP_CHUNK ? SN_TCP_CHUNK : room);
}

/**
 * flow_read_down() - move host data into lwIP's send buffer while it has room
 * @e:		engine
 * @f:		flow
 *
 * Return: 0, or -1 if the flow was aborted
 */
static int flow_read_down(struct sn_engine *e, struct tcp_flow *f)
{
	static uint8_t buf[SN_TCP_CHUNK];
	int i;

	for (i = 0; i < SN_TCP_READ_BURST && !f->host_eof; i++) {
		ssize_t want = f->dns ? flow_dns_want(e, f) : flow_want(f->pcb), n;

		if (want < 0)
			return -1;
		if (!want) {
			f->down_blocked = 1;
			break;
		}
		n = recv(f->fd, buf, (size_t)want, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			sn_log(e, SN_LOG_DEBUG, "tcp: recv from host: %s", strerror(errno));
			flow_abort(e, f);
			return -1;
		}
		if (n == 0) {
			f->host_eof = 1;
			tcp_shutdown(f->pcb, 0, 1);
			break;
		}
		if (f->dns) {
			if (sn_dnstcp_down(e, f->dns, buf, (size_t)n)) {
				flow_abort(e, f);
				return -1;
			}
		} else if (tcp_write(f->pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK) {
			/* Cannot happen with the room checked above; never lose data. */
			sn_log(e, SN_LOG_WARN, "tcp: lwIP refused %zd bytes, aborting flow", n);
			flow_abort(e, f);
			return -1;
		} else {
			e->st.tcp_bytes_down += (uint64_t)n;
			flow_count(f, 0, (uint64_t)n);
		}
		/* A short read emptied the socket's queue: asking again would
		 * only return EAGAIN (a syscall per request/response); poll()
		 * reports what arrives later, and the EOF after the data. A DNS
		 * flow goes round once more: its filter's output leaves then. */
		if (n < want && !f->dns)
			break;
	}
	tcp_output(f->pcb);
	if (flow_maybe_close(e, f))
		return -1;
	flow_update_events(e, f);
	return 0;
}

/* ---- lwIP callbacks ---- */

/**
 * flow_lwip_err() - lwIP freed the pcb (guest RST, timeout): end the flow
 * @arg:	flow
 * @err:	why
 */
static void flow_lwip_err(void *arg, err_t err)
{
	struct tcp_flow *f = arg;

	if (!f)
		return;
	sn_log(sn_eng, SN_LOG_DEBUG, "tcp: flow %u-%u ended by lwIP (%d)", f->gport, f->dport,
	       err);
	if (f->state == FLOW_SYN_SENT)
		sn_eng->st.publish_reset++;	/* the guest refused, or never answered */
	f->pcb = NULL;
	if (f->fd >= 0)
		sn_tcp_sock_reset(f->fd);
	flow_free(sn_eng, f);
}

/**
 * flow_lwip_recv() - data or FIN from the guest
 * @arg:	flow
 * @pcb:	its pcb
 * @p:		data, or NULL for FIN
 * @err:	ERR_OK
 *
 * Return: ERR_OK, or ERR_ABRT if the flow was aborted
 */
static err_t flow_lwip_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct tcp_flow *f = arg;

	(void)pcb;
	(void)err;
	if (!p) {
		f->guest_eof = 1;
	} else if (f->up) {
		pbuf_cat(f->up, p);
	} else {
		f->up = p;
	}
	if (flow_flush_up(sn_eng, f))
		return ERR_ABRT;
	flow_maybe_close(sn_eng, f);
	return ERR_OK;
}

/**
 * flow_lwip_sent() - the guest acknowledged data: room in the send buffer
 * @arg:	flow
 * @pcb:	its pcb
 * @len:	bytes acknowledged
 *
 * Return: ERR_OK, or ERR_ABRT if the flow was aborted
 */
static err_t flow_lwip_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct tcp_flow *f = arg;

	(void)pcb;
	(void)len;
	if (!f->down_blocked)
		return ERR_OK;
	f->down_blocked = 0;
	return flow_read_down(sn_eng, f) ? ERR_ABRT : ERR_OK;
}

/**
 * flow_open() - the handshake with the guest is done: start splicing
 * @e:		engine
 * @f:		flow
 * @pcb:	its connection
 */
static void flow_open(struct sn_engine *e, struct tcp_flow *f, struct tcp_pcb *pcb)
{
	f->state = FLOW_OPEN;
	e->st.tcp_flows_active++;
	tcp_nagle_disable(pcb);
	/* a guest that vanished stops answering: lwIP's keepalive ends the
	 * flow (TCP_KEEP*_DEFAULT in lwipopts.h), the host fd with it */
	ip_set_option(pcb, SOF_KEEPALIVE);
	tcp_recv(pcb, flow_lwip_recv);
	tcp_sent(pcb, flow_lwip_sent);
	flow_update_events(e, f);
}

/**
 * flow_lwip_accept() - the guest completed the handshake
 * @arg:	flow (inherited from the listener while its SYN was fed)
 * @pcb:	the new connection
 * @err:	ERR_OK
 *
 * Return: ERR_OK, or ERR_ABRT if refused
 */
static err_t flow_lwip_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct tcp_flow *f = arg;

	if (!f || err != ERR_OK || f->pcb != pcb) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	listener_put(f);
	flow_open(sn_eng, f, pcb);
	return ERR_OK;
}

/**
 * flow_lwip_connected() - the guest answered a published port's SYN
 * @arg:	flow in SYN_SENT
 * @pcb:	its connection
 * @err:	ERR_OK (lwIP 2.2.1 passes nothing else)
 *
 * Return: ERR_OK
 */
static err_t flow_lwip_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)err;
	flow_open(sn_eng, arg, pcb);
	return ERR_OK;
}

/* ---- host side ---- */

/**
 * flow_connected() - the host connect() succeeded: feed the held SYN to lwIP
 * @e:		engine
 * @f:		flow in CONNECTING
 */
static void flow_connected(struct sn_engine *e, struct tcp_flow *f)
{
	struct tcp_pcb *pcb;
	struct pbuf *syn = f->syn;

	f->lst = listener_get(e->tcp, f->dport);
	if (!f->lst) {
		e->st.tcp_limit_rst++;
		flow_abort(e, f);
		return;
	}
	tcp_accept(f->lst->pcb, flow_lwip_accept);
	f->syn = NULL;
	f->state = FLOW_SYN_FED;
	tcp_arg(f->lst->pcb, f);
	sn_ip_tcp_deliver(e, syn, f->syn_hlen);
	tcp_arg(f->lst->pcb, NULL);

	/* tcp_listen_input() put the new pcb at the head of the active list */
	for (pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		if (pcb->callback_arg == f && pcb->state == SYN_RCVD)
			break;
	if (!pcb) {
		/* lwIP could not take it (memory): refuse rather than hang */
		flow_rst_syn(e, f);
		flow_free(e, f);
		return;
	}
	f->pcb = pcb;
	tcp_err(pcb, flow_lwip_err);
	flow_update_events(e, f);
}

/**
 * flow_host_ready() - the host socket is ready
 * @ctx:	flow
 * @fd:		its socket
 * @revents:	poll() result
 */
static void flow_host_ready(void *ctx, int fd, short revents)
{
	struct tcp_flow *f = ctx;
	struct sn_engine *e = sn_eng;
	int err = 0;
	socklen_t len = sizeof(err);

	if (f->state == FLOW_CONNECTING) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			sn_log(e, SN_LOG_DEBUG, "tcp: connect to port %u: %s", f->dport,
			       strerror(err ? err : errno));
			if (flow_retry_alt(e, f, err ? err : errno))
				return;
			e->st.tcp_refused++;
			flow_abort(e, f);
			return;
		}
		flow_connected(e, f);
		return;
	}
	if (f->state != FLOW_OPEN)
		return;
	if ((revents & POLLOUT) && flow_flush_up(e, f))
		return;
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && !f->host_eof && !f->down_blocked)
		flow_read_down(e, f);
}

/**
 * flow_target() - where a guest destination is dialled on the host
 * @e:		engine
 * @f:		flow; its list of alternatives is filled
 * @sa:		filled with the first address to try
 *
 * The policy decides (core/decide.c). The gateway stands for the host:
 * its loopback of the same family first, the other family's if that one
 * refuses. Every spelling of an IPv4 address is dialled as that address.
 * A flow to port 53 gets the DNS stream filter; the gateway's port 53 is
 * the DNS forwarder: its upstreams in order (sn_dns_upstreams()), each
 * for cfg.dns_timeout_ms, moving on at any failure, as UDP queries do.
 *
 * Return: 0, 1 when denied (RST), -1 when denied silently (a destination
 *	   that is never dialled: broadcast, unspecified, the guest's own)
 */
static int flow_target(struct sn_engine *e, struct tcp_flow *f, struct sockaddr_storage *sa)
{
	struct sockaddr_storage up[SN_MAX_DNS_UPSTREAMS];
	struct sn_verdict v;
	unsigned n;

	if (sn_decide(e, SN_POLICY_EGRESS, SN_PROTO_TCP, &f->daddr, f->dport, &v) !=
	    SN_POLICY_ALLOW)
		return v.by == SN_BY_NEVER ? -1 : 1;
	f->n_alt = (u8_t)sn_verdict_sockaddr(&v, f->dport, sa, &f->alt[0]);
	if (f->dport != DNS_SERVER_PORT)
		return 0;
	f->dns = sn_dnstcp_new();
	if (!f->dns)
		return 1;
	if (v.cls != SN_CLASS_GATEWAY)
		return 0;
	n = sn_dns_upstreams(e, up, SN_MAX_DNS_UPSTREAMS);
	if (!n)
		return 1;
	*sa = up[0];
	memcpy(f->alt, up + 1, (n - 1) * sizeof(up[0]));
	f->n_alt = (u8_t)(n - 1);
	f->alt_any = 1;
	return 0;
}

/**
 * flow_keepalive() - end the host side of a flow whose peer vanished
 * @fd:		host socket
 *
 * The same intervals as lwIP's keepalive toward the guest (lwipopts.h),
 * so an abandoned flow ends from either side within minutes, not never.
 */
static void flow_keepalive(int fd)
{
	int on = 1, idle = TCP_KEEPIDLE_DEFAULT / 1000, intvl = TCP_KEEPINTVL_DEFAULT / 1000;
	int cnt = TCP_KEEPCNT_DEFAULT;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/**
 * flow_connect() - start a non-blocking connect() of the flow's host socket
 * @e:		engine
 * @f:		flow in CONNECTING, without a host socket
 * @sa:		where to
 *
 * Return: 0 when started, -1 when it failed at once (the flow is aborted)
 */
static int flow_connect(struct sn_engine *e, struct tcp_flow *f, const struct sockaddr_storage *sa)
{
	socklen_t salen = sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						      sizeof(struct sockaddr_in);

	f->fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0) {
		sn_log(e, SN_LOG_WARN, "tcp: socket: %s", strerror(errno));
		if (flow_retry_alt(e, f, errno))
			return 0;
		e->st.tcp_limit_rst++;
		flow_abort(e, f);
		return -1;
	}
	flow_keepalive(f->fd);
	if (sn_sock_bind_out(e, f->fd, (const struct sockaddr *)sa) < 0 ||
	    (connect(f->fd, (const struct sockaddr *)sa, salen) && errno != EINPROGRESS)) {
		int err = errno;

		sn_log(e, SN_LOG_DEBUG, "tcp: connect to port %u: %s", f->dport, strerror(err));
		if (flow_retry_alt(e, f, err))
			return 0;
		e->st.tcp_refused++;
		flow_abort(e, f);
		return -1;
	}
	f->slot = sn_fd_add(e, f->fd, POLLOUT, flow_host_ready, f);
	if (f->slot < 0) {
		e->st.tcp_limit_rst++;
		flow_abort(e, f);
		return -1;
	}
	return 0;
}

/**
 * flow_attempt_ms() - how long one host connect() may take
 * @e:		engine
 * @f:		flow
 *
 * Return: cfg.dns_timeout_ms for the DNS forwarder's upstreams (as for
 *	   UDP queries), else cfg.tcp_connect_ms
 */
static uint32_t flow_attempt_ms(const struct sn_engine *e, const struct tcp_flow *f)
{
	return f->alt_any ? e->cfg.dns_timeout_ms : e->cfg.tcp_connect_ms;
}

/**
 * flow_retry_alt() - after a failed host connect, try the next address
 * @e:		engine
 * @f:		flow in CONNECTING whose connect() failed or timed out
 * @err:	why (ETIMEDOUT for the deadline)
 *
 * The other loopback is tried when the first refuses; the DNS forwarder's
 * next upstream whatever the failure.
 *
 * Return: 1 if the next connect() took over the flow (it may have ended
 *	   it already: do not touch @f), 0 if there is none to try
 */
static int flow_retry_alt(struct sn_engine *e, struct tcp_flow *f, int err)
{
	struct sockaddr_storage sa;

	if (f->next_alt >= f->n_alt || (err != ECONNREFUSED && !f->alt_any))
		return 0;
	sa = f->alt[f->next_alt++];
	sn_fd_del(e, f->slot);
	f->slot = -1;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->deadline = sn_now_ms() + flow_attempt_ms(e, f);
	sn_timer_arm(e, f->deadline);
	flow_connect(e, f, &sa);
	return 1;
}

/**
 * flow_start() - open the host connection for a new guest SYN
 * @e:		engine
 * @f:		new flow, holding the SYN
 */
static void flow_start(struct sn_engine *e, struct tcp_flow *f)
{
	struct sockaddr_storage sa;

	int denied;

	f->state = FLOW_CONNECTING;
	denied = flow_target(e, f, &sa);
	if (denied < 0) {
		flow_free(e, f);	/* never dialled, never answered */
		return;
	}
	if (denied) {
		e->st.tcp_refused++;
		flow_abort(e, f);
		return;
	}
	f->deadline = sn_now_ms() + flow_attempt_ms(e, f);
	sn_timer_arm(e, f->deadline);
	flow_connect(e, f, &sa);
}

/**
 * pcb_reap_stale() - forget lwIP's leftover of an ended connection on a 4-tuple
 * @g:		guest address
 * @gport:	guest port
 * @d:		destination address
 * @dport:	destination port
 *
 * After a flow ends, lwIP may still hold its pcb (TIME_WAIT, LAST_ACK) for
 * a while. A guest that closed passively has no TIME_WAIT of its own and
 * may reuse the port at once; lwIP would answer that new SYN with an RST.
 * A fresh SYN from the guest means the old connection is over for it.
 */
static void pcb_reap_stale(const ip_addr_t *g, u16_t gport, const ip_addr_t *d, u16_t dport)
{
	struct tcp_pcb *lists[2] = { tcp_tw_pcbs, tcp_active_pcbs }, *pcb;
	int i;

	for (i = 0; i < 2; i++) {
		for (pcb = lists[i]; pcb; pcb = pcb->next) {
			if (pcb->remote_port != gport || pcb->local_port != dport ||
			    !ip_addr_eq(&pcb->remote_ip, g) || !ip_addr_eq(&pcb->local_ip, d))
				continue;
			if (pcb->callback_arg)	/* a live flow's: not stale */
				return;
			tcp_abort(pcb);
			return;
		}
	}
}

/**
 * flow_pending_full() - would one more host connect exceed the pending bounds
 * @e:		engine
 * @f:		the new flow (not counted)
 *
 * Connects in progress have their own bounds below the flow limit: a guest
 * dialling a black hole (each connect pending for cfg.tcp_connect_ms) fills
 * cfg.max_tcp_pending_per_dest for that address and no more, so its other
 * connections, established and new, go on. A SYN beyond a bound is
 * dropped, as by a full SYN backlog, not refused: the guest retransmits it,
 * and a burst of connects to a host that answers only waits a little. The
 * walk is bounded by the flow limit.
 *
 * Return: non-zero if the new flow must be refused
 */
static int flow_pending_full(struct sn_engine *e, const struct tcp_flow *f)
{
	unsigned all = 0, same = 0;
	const struct tcp_flow *o;

	for (o = e->tcp->flows; o; o = o->next) {
		if (o == f || o->state != FLOW_CONNECTING)
			continue;
		all++;
		same += ip_addr_eq(&o->daddr, &f->daddr);
	}
	return all >= e->cfg.max_tcp_pending || same >= e->cfg.max_tcp_pending_per_dest;
}

/**
 * syn_mss_clamp() - make the MSS of a guest's SYN one lwIP can always send
 * @e:		engine
 * @p:		the guest's SYN or SYN-ACK, payload at the IP header
 * @hlen:	offset of the TCP header
 * @thlen:	length of the TCP header with its options
 * @v6:		an IPv6 segment
 *
 * lwIP fits the MSS of a new connection's SYN to the netif's MTU, but
 * takes the MSS of every later segment as it is (tcp_parseopt() in
 * tcp_process()), bounded by TCP_MSS only: a retransmitted SYN (its
 * SYN-ACK lost) would leave an IPv6 connection with segments of TCP_MSS,
 * 20 bytes more than an IPv6 packet of the MTU holds (65540 > 65535), that
 * lwIP can then never send, so the connection stalls for good. The option
 * is clamped here to the family's limit, for the first SYN and its
 * retransmissions alike. With cfg.offload it is raised to that limit: the
 * guest announces the MSS of its MTU, but its link takes larger segments
 * and splits them at that MTU (frontend/tap.c). The checksum was checked
 * already and lwIP does not check it again.
 */
static void syn_mss_clamp(struct sn_engine *e, struct pbuf *p, u16_t hlen, u16_t thlen, int v6)
{
	u16_t o = (u16_t)(hlen + TCP_HLEN), end = (u16_t)(hlen + thlen);
	u16_t limit = (u16_t)(e->netif.mtu - (v6 ? IP6_HLEN : IP_HLEN) - TCP_HLEN), mss;

	if (limit > TCP_MSS)
		limit = TCP_MSS;
	while (o < end) {
		u8_t kind = pbuf_get_at(p, o), olen;

		if (kind == 0)			/* end of options */
			return;
		if (kind == 1) {		/* no-operation */
			o++;
			continue;
		}
		if (o + 1 >= end)
			return;
		olen = pbuf_get_at(p, (u16_t)(o + 1));
		if (olen < 2 || o + olen > end)
			return;
		if (kind == 2 && olen == 4) {	/* MSS */
			mss = (u16_t)(pbuf_get_at(p, (u16_t)(o + 2)) << 8 |
				      pbuf_get_at(p, (u16_t)(o + 3)));
			if (mss > limit || e->cfg.offload) {
				pbuf_put_at(p, (u16_t)(o + 2), (u8_t)(limit >> 8));
				pbuf_put_at(p, (u16_t)(o + 3), (u8_t)limit);
			}
			return;
		}
		o = (u16_t)(o + olen);
	}
}

/**
 * sn_tcp_input() - a guest TCP segment: new SYNs start flows, the rest go to lwIP
 * @e:		engine
 * @p:		validated packet, payload at the IP header; consumed
 * @hlen:	length of the IP header and its extension headers
 * @src:	the guest's address
 * @dst:	the destination address
 */
void sn_tcp_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip_addr_t *src,
		  const ip_addr_t *dst)
{
	struct tcp_hdr th;
	struct tcp_flow *f;
	u16_t sum;

	if (pbuf_copy_partial(p, &th, sizeof(th), hlen) != sizeof(th) ||
	    TCPH_HDRLEN_BYTES(&th) < TCP_HLEN || p->tot_len < hlen + TCPH_HDRLEN_BYTES(&th)) {
		e->st.drop_malformed++;
		pbuf_free(p);
		return;
	}
	/* The checksum is verified here, once, before a SYN makes the host
	 * dial out, and a bad one is counted; lwIP's own TCP check is off for
	 * the guest netif (guestif.c) so it is not computed twice. A link
	 * with offload may say it need not be (SN_INPUT_CSUM_OK). */
	if (!e->in_csum_ok) {
		pbuf_remove_header(p, hlen);
		sum = ip_chksum_pseudo(p, IP_PROTO_TCP, p->tot_len, src, dst);
		pbuf_add_header(p, hlen);
		if (sum) {
			e->st.drop_malformed++;
			pbuf_free(p);
			return;
		}
	}
	e->tcp->segs_in++;
	if (TCPH_FLAGS(&th) & TCP_SYN)
		syn_mss_clamp(e, p, hlen, TCPH_HDRLEN_BYTES(&th), IP_IS_V6(dst));

	if ((TCPH_FLAGS(&th) & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN)
		goto deliver;
	f = flow_find(e->tcp, src, lwip_ntohs(th.src), dst, lwip_ntohs(th.dest));
	if (f && f->state == FLOW_CONNECTING) {
		pbuf_free(p);		/* retransmitted SYN: still connecting */
		return;
	}
	if (f)
		goto deliver;
	pcb_reap_stale(src, lwip_ntohs(th.src), dst, lwip_ntohs(th.dest));
	f = flow_new(e, src, lwip_ntohs(th.src), dst, lwip_ntohs(th.dest));
	if (!f) {
		pbuf_free(p);
		return;
	}
	f->syn = p;
	f->syn_seq = lwip_ntohl(th.seqno);
	f->syn_hlen = hlen;
	f->state = FLOW_CONNECTING;
	if (e->tcp->n_flows > e->cfg.max_tcp_flows) {
		e->st.tcp_limit_rst++;
		flow_abort(e, f);
		return;
	}
	if (flow_pending_full(e, f)) {
		/* as a full SYN backlog does: dropped, not refused; the guest
		 * retransmits once some connect has resolved */
		e->st.tcp_pending_limit++;
		flow_free(e, f);
		return;
	}
	flow_start(e, f);
	return;

deliver:
	sn_ip_tcp_deliver(e, p, hlen);
}

/**
 * sn_tcp_flow_inbound() - a flow that starts from an accepted host connection
 * @e:		engine
 * @fd:		the accepted socket, non-blocking; the flow's on success
 * @src:	the client's address as the guest is to see it
 * @sport:	the client's port
 * @dst:	the guest's address
 * @dport:	the guest's port
 *
 * Return: 0, or -1 when the flow cannot start (flow limit, a 4-tuple the
 *	   guest or lwIP already uses, no memory): @fd stays the caller's
 */
int sn_tcp_flow_inbound(struct sn_engine *e, int fd, const ip_addr_t *src, u16_t sport,
			const ip_addr_t *dst, u16_t dport)
{
	struct sn_tcp *t = e->tcp;
	struct tcp_flow *f;
	struct tcp_pcb *pcb;

	if (t->n_flows >= e->cfg.max_tcp_flows) {
		e->st.tcp_limit_rst++;
		return -1;
	}
	if (flow_find(t, dst, dport, src, sport))
		return -1;
	pcb = tcp_new_ip_type(IP_GET_TYPE(dst));
	if (!pcb)
		return -1;
	/* beside the any-address listeners; tcp_connect() still refuses a
	 * 4-tuple lwIP has in use (ERR_USE) */
	ip_set_option(pcb, SOF_REUSEADDR);
	f = tcp_bind(pcb, src, sport) == ERR_OK ? flow_new(e, dst, dport, src, sport) : NULL;
	if (!f) {
		tcp_close(pcb);		/* never connected: freed, no callback */
		return -1;
	}
	f->state = FLOW_SYN_SENT;
	f->inbound = 1;
	f->deadline = sn_now_ms() + e->cfg.tcp_connect_ms;
	sn_timer_arm(e, f->deadline);
	f->slot = sn_fd_add(e, fd, 0, flow_host_ready, f);
	tcp_arg(pcb, f);
	tcp_err(pcb, flow_lwip_err);
	if (f->slot < 0 || tcp_connect(pcb, dst, dport, flow_lwip_connected) != ERR_OK) {
		tcp_arg(pcb, NULL);
		tcp_err(pcb, NULL);
		tcp_close(pcb);
		flow_free(e, f);
		return -1;
	}
	f->fd = fd;
	f->pcb = pcb;
	return 0;
}

/**
 * sn_tcp_tick() - give up on connects past their deadline, arm the next one
 * @e:		engine
 */
void sn_tcp_tick(struct sn_engine *e)
{
	struct tcp_flow *f, *next;
	uint32_t now = sn_now_ms();

	for (f = e->tcp->flows; f; f = next) {
		next = f->next;
		if (f->state != FLOW_CONNECTING && f->state != FLOW_SYN_SENT)
			continue;
		if (!sn_time_after(now, f->deadline)) {
			sn_timer_arm(e, f->deadline);
			continue;
		}
		sn_log(e, SN_LOG_DEBUG, "tcp: connect %u-%u timed out", f->gport, f->dport);
		if (f->state == FLOW_CONNECTING && flow_retry_alt(e, f, ETIMEDOUT))
			continue;
		if (f->state == FLOW_SYN_SENT)
			e->st.publish_reset++;
		else
			e->st.tcp_refused++;
		flow_abort(e, f);
	}
}

/**
 * sn_tcp_pending() - TCP connections not yet closed on both sides
 * @e:		engine
 * @segs_in:	set to the number of valid TCP segments the guest sent
 *
 * A flow is pending from the guest's SYN until both directions are done
 * (flow_maybe_close()); after that, lwIP still holds the connection, with
 * no callback argument, until the guest acknowledges the FIN (LAST_ACK,
 * CLOSING), whatever was queued before it included. TIME_WAIT is over for
 * the guest and not counted.
 *
 * Return: flows in the table plus connections lwIP is closing on its own
 */
unsigned sn_tcp_pending(const struct sn_engine *e, uint64_t *segs_in)
{
	const struct tcp_pcb *pcb;
	unsigned n = e->tcp->n_flows;

	for (pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		if (!pcb->callback_arg)
			n++;
	*segs_in = e->tcp->segs_in;
	return n;
}

/**
 * sn_tcp_walk() - report every flow of the proxy to sn_engine_flows()
 * @e:		engine
 * @fn:		called for each flow
 * @ctx:	passed to @fn
 * @n:		incremented for each flow reported
 *
 * Connections lwIP still closes on its own after the flow ended are not
 * flows any more.
 *
 * Return: non-zero if @fn asked to stop
 */
int sn_tcp_walk(struct sn_engine *e, sn_flow_fn fn, void *ctx, unsigned *n)
{
	static const char *const state[] = {
		[FLOW_CONNECTING] = "connecting", [FLOW_SYN_FED] = "connecting",
		[FLOW_SYN_SENT] = "connecting", [FLOW_OPEN] = "open",
	};
	const struct tcp_flow *f;
	uint32_t now = sn_now_ms();
	struct sn_flow_info fi;

	for (f = e->tcp->flows; f; f = f->next) {
		memset(&fi, 0, sizeof(fi));
		fi.proto = IPPROTO_TCP;
		fi.inbound = f->inbound;
		fi.state = f->state == FLOW_OPEN && (f->guest_eof || f->host_eof) ? "closing" :
			   state[f->state];
		sn_flow_addr(&fi.guest, &f->gaddr, f->gport);
		sn_flow_addr(&fi.remote, &f->daddr, f->dport);
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
 * sn_tcp_init() - set up the TCP proxy
 * @e:		engine
 *
 * Return: 0, or -1 on ENOMEM
 */
int sn_tcp_init(struct sn_engine *e)
{
	e->tcp = calloc(1, sizeof(*e->tcp));
	if (!e->tcp)
		return -1;
	if (getrandom(e->tcp->isn_key, sizeof(e->tcp->isn_key), 0) != sizeof(e->tcp->isn_key)) {
		free(e->tcp);
		e->tcp = NULL;
		return -1;
	}
	return 0;
}

/**
 * sn_tcp_fini() - end every flow, close every listener and lwIP TCP pcb
 * @e:		engine
 */
void sn_tcp_fini(struct sn_engine *e)
{
	unsigned i;

	if (!e->tcp)
		return;
	while (e->tcp->flows)
		flow_abort(e, e->tcp->flows);
	for (i = 0; i < SN_TCP_MAX_LISTENERS; i++)
		if (e->tcp->lst[i].pcb)
			tcp_close(e->tcp->lst[i].pcb);
	/* Connections lwIP was still closing on its own: a next engine starts clean. */
	while (tcp_active_pcbs)
		tcp_abort(tcp_active_pcbs);
	while (tcp_tw_pcbs)
		tcp_abort(tcp_tw_pcbs);
	free(e->tcp);
	e->tcp = NULL;
}
