// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation
 *
 * The UDP relay carries the guest's UDP datagrams to arbitrary destinations
 * through ordinary host sockets, and the replies back.
 *
 * Session
 *   One session per (guest address:port, destination address:port) as the
 *   guest wrote it, IPv4 or IPv6: one table for both families, keyed by
 *   lwIP's ip_addr_t. A session owns exactly one host socket: AF_INET or
 *   AF_INET6 (the family of the address dialled, which for IPv4-mapped
 *   destinations and host access may differ from the guest's), SOCK_DGRAM,
 *   non-blocking, bound to the wildcard (the kernel picks the port) and
 *   connect()ed to the destination, so the kernel accepts replies from
 *   that peer only. Destination 53 never arrives here (dns.c has it).
 *
 * Destinations
 *   The policy decides each new session (sn_decide(), policy/): refused
 *   datagrams get ICMP administratively prohibited from the gateway,
 *   except those to addresses never dialled (unspecified, broadcast, the
 *   guest's own), which are dropped. An allowed destination is dialled at
 *   the address the verdict gives: every IPv6 spelling of an IPv4 address
 *   (mapped, compatible, translated) over AF_INET, while replies and
 *   errors still come from the address the guest wrote. The gateway (its
 *   IPv4, IPv6 and link-local addresses) stands for the host: the socket
 *   connects to the host's loopback of the guest's family (127.0.0.1 or
 *   ::1) on the same port, or to the other one when only that one has a
 *   socket bound to the port (host_target(): a bind() probe, as UDP
 *   has no handshake to fail over on). Port 0 is dropped (drop_unsupported)
 *   and destination 53 never arrives here (dns.c has it).
 *
 *   A datagram whose TTL (hop limit) is 1 (or 0) to anything but the
 *   gateway expires at the gateway: the guest gets ICMP (ICMPv6) time
 *   exceeded from the gateway address instead (ttl_expired; no session,
 *   nothing sent). connect() failing with ENETUNREACH or EHOSTUNREACH
 *   answers the guest with ICMP net/host unreachable.
 *
 * Guest to host
 *   sn_udp_input() validates the UDP header (length, checksum; a zero
 *   checksum is accepted over IPv4 only, RFC 8200 8.1), finds or
 *   opens the session and send()s the payload. If the socket is full
 *   (EAGAIN) the datagram (the pbuf itself, no copy) waits in a per-session
 *   queue bounded by SN_UDP_QUEUE_DGRAMS and SN_UDP_QUEUE_BYTES; the socket
 *   is then polled for POLLOUT until the queue drains. Beyond the bound new
 *   datagrams are dropped (udp_drop_queue).
 *
 *   The engine is a router, so a datagram leaves the host with the guest's
 *   TTL minus one: the socket's IP_TTL (IPV6_UNICAST_HOPS for an AF_INET6
 *   socket) is set before a datagram whose TTL
 *   differs from the last one's (one setsockopt() per change, the value is
 *   cached per session). Sessions to the host's loopback keep the default.
 *   Each datagram sent leaves its first SN_UDP_QUOTE bytes (guest IP
 *   header, UDP header, the start of the payload) in the session, for the
 *   ICMP errors below.
 *
 * Host to guest
 *   On POLLIN up to SN_UDP_RECV_BATCH datagrams are recv()ed into the
 *   relay's 64 KiB buffer and sent to the guest with sn_udp_output()
 *   (sn_udp4_output() or sn_udp6_output(), which always fills in the UDP
 *   checksum) from the address and port the guest talked to (the gateway,
 *   not 127.0.0.1 or ::1, for host sessions), to the guest address the
 *   session came from. Any socket error other than those below ends the
 *   session.
 *
 * ICMP errors
 *   Session sockets have IP_RECVERR (IPV6_RECVERR) on: an ICMP error about
 *   a datagram (from the destination or a router on the way) is queued on
 *   the socket's error queue, and the socket polls POLLERR.
 *   sess_errqueue() reads the queue through relay/sockerr.c, which
 *   decides which ICMP error the guest gets and from where (the same
 *   error, from the offender; the host's loopback as the gateway; across
 *   families translated; fragmentation needed only about a datagram sent
 *   with DF); this file quotes the session's last datagram as the guest
 *   sent it, so that the guest's kernel finds the socket it belongs to (a
 *   connected socket then sees ECONNREFUSED, traceroute sees its hop). An
 *   error about an earlier datagram of a session quotes the last one (same
 *   addresses and ports, which is what the guest matches on). Errors the
 *   host finds itself (send() or connect() failing with ENETUNREACH,
 *   EHOSTUNREACH, EACCES/EPERM, EMSGSIZE) answer the datagram at hand from
 *   the gateway (dgram_local_error()). The kernel also reports an error
 *   once as the return value of the next send() or recv(): the queue is
 *   then read, and send() tried again. Every error read is counted
 *   (host_errors); the session stays. Host sockets keep the kernel's path
 *   MTU default (IP_PMTUDISC_WANT): DF on the wire, and datagrams bigger
 *   than a path MTU the host has learnt are fragmented by the host rather
 *   than refused. All ICMP errors to the guest share one rate limit
 *   (netif/output.c).
 *
 * Bounds and lifetime
 *   The session table is one array of cfg.max_udp_sessions entries
 *   allocated at init, indexed by a chained hash on the 4-tuple; entries
 *   not in use sit on a free list. In-use sessions are on an LRU list,
 *   most recently used first; traffic in either direction moves a session
 *   to the front. A new session when none is free evicts the least
 *   recently used one (udp_evicted). sn_udp_tick() closes sessions idle
 *   for cfg.udp_idle_ms (udp_expired) by walking the LRU list from its
 *   tail. Closing a session deregisters and closes its socket and frees its
 *   queued pbufs; sn_udp_fini() closes every session, so no fd outlives the
 *   relay.
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
#include "lwip/prot/ip.h"
#include "lwip/prot/icmp6.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"
#include "lwip/prot/udp.h"
#include "netif/output.h"
#include "relay/relay.h"

/* Per-session queue of guest datagrams waiting for the host socket. */
#define SN_UDP_QUEUE_DGRAMS	16
#define SN_UDP_QUEUE_BYTES	65536U
/* Datagrams read from one socket per POLLIN callback (fairness). */
#define SN_UDP_RECV_BATCH	64
/* Largest IPv4 UDP payload is 65507; one buffer holds any datagram. */
#define SN_UDP_BUF_SIZE		65536
/* Bytes of the last datagram sent kept for ICMP errors about it: the
 * longest IP header, the UDP header and 28 bytes of payload (RFC 792 asks
 * for the header and 8 bytes; Linux matches on the IP and UDP headers). */
#define SN_UDP_QUOTE		128
/* Error queue entries read from one socket per callback. */
#define SN_UDP_ERRQ_BATCH	16
/* Hash buckets: a power of two >= the session limit, within these bounds. */
#define SN_UDP_BUCKETS_MIN	16U
#define SN_UDP_BUCKETS_MAX	(1U << 20)

/**
 * struct sn_udp_sess - one relayed UDP session
 * @u:		the relay, for socket callbacks
 * @fd:		connected host socket, -1 when the entry is free
 * @slot:	engine fd slot of @fd
 * @gaddr:	guest source address
 * @daddr:	destination as the guest addressed it (replies' source)
 * @gport:	guest source port, host order
 * @dport:	destination port, host order
 * @last_ms:	time of the last datagram in either direction
 * @lru_prev:	more recently used neighbour (NULL at the head)
 * @lru_next:	less recently used neighbour; free list link when free
 * @hnext:	next entry in the same hash bucket
 * @q:		ring of queued guest datagrams, payload at the UDP header
 * @q_head:	index of the oldest queued datagram in @q
 * @q_len:	number of queued datagrams
 * @q_bytes:	sum of their UDP payload lengths
 * @gen:	bumped when the session closes, so a loop that hands control
 *		away (sn_udp4_output()) notices its session went
 * @ttl:	the socket's IP_TTL / IPV6_UNICAST_HOPS as last set, -1 while
 *		it is the default
 * @fam:	the host socket's family (AF_INET or AF_INET6)
 * @host:	dialled to the host's loopback (the gateway): TTL untouched
 * @q_hlen:	offset of the UDP header in each queued datagram
 * @quote_len:	bytes in @quote, 0 before the first datagram is sent
 * @born_ms:	when the session opened
 * @bytes_up:	payload bytes sent to the host
 * @bytes_down:	payload bytes received for the guest
 * @quote:	start of the last datagram sent, from the guest's IP header
 */
struct sn_udp_sess {
	struct sn_udp *u;
	int fd;
	int slot;
	ip_addr_t gaddr;
	ip_addr_t daddr;
	u16_t gport;
	u16_t dport;
	uint32_t last_ms;
	struct sn_udp_sess *lru_prev;
	struct sn_udp_sess *lru_next;
	struct sn_udp_sess *hnext;
	struct pbuf *q[SN_UDP_QUEUE_DGRAMS];
	unsigned q_head;
	unsigned q_len;
	size_t q_bytes;
	uint32_t gen;
	int ttl;
	int fam;
	int host;
	u16_t q_hlen[SN_UDP_QUEUE_DGRAMS];
	u16_t quote_len;
	uint32_t born_ms;
	uint64_t bytes_up;
	uint64_t bytes_down;
	u8_t quote[SN_UDP_QUOTE];
};

/**
 * struct sn_udp - the UDP relay's state (e->udp)
 * @e:		engine
 * @sess:	session table, @n_sess entries
 * @n_sess:	cfg.max_udp_sessions
 * @bucket:	hash buckets, @bucket_mask + 1 heads
 * @bucket_mask: number of buckets - 1
 * @lru_head:	most recently used session
 * @lru_tail:	least recently used session
 * @free:	free entries, linked by @lru_next
 * @n_active:	sessions in use
 * @n_async_err: asynchronous socket errors seen (ECONNREFUSED, ...)
 * @n_send_err:	datagrams dropped because send() failed for good
 * @n_open_err:	datagrams dropped because no session could be opened
 * @buf:	scratch buffer for one datagram (either direction)
 */
struct sn_udp {
	struct sn_engine *e;
	struct sn_udp_sess *sess;
	unsigned n_sess;
	struct sn_udp_sess **bucket;
	unsigned bucket_mask;
	struct sn_udp_sess *lru_head;
	struct sn_udp_sess *lru_tail;
	struct sn_udp_sess *free;
	unsigned n_active;
	uint64_t n_async_err;
	uint64_t n_send_err;
	uint64_t n_open_err;
	unsigned char buf[SN_UDP_BUF_SIZE];
};

/**
 * err_is_async() - is this a socket error the kernel reports later
 * @err:	errno from recv() or send()
 *
 * These come from ICMP errors (or local route changes) about an earlier
 * datagram; the socket itself stays usable.
 *
 * Return: non-zero for an asynchronous error
 */
static int err_is_async(int err)
{
	switch (err) {
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case EMSGSIZE:
	case EPROTO:
	case ETIMEDOUT:
		return 1;
	default:
		return 0;
	}
}

/**
 * sess_hash() - hash bucket of a session key
 * @u:		relay
 * @gaddr:	guest address
 * @gport:	guest port
 * @daddr:	destination address
 * @dport:	destination port
 *
 * The guest chooses keys, so chains can be made long; they stay bounded
 * by the session limit, i.e. never worse than a linear scan.
 *
 * Return: bucket index
 */
static unsigned sess_hash(const struct sn_udp *u, const ip_addr_t *gaddr,
			    u16_t gport, const ip_addr_t *daddr, u16_t dport)
{
	uint32_t h = IP_GET_TYPE(gaddr) * 0x9e3779b1U;
	int i;

	for (i = 0; i < (IP_IS_V6(gaddr) ? 4 : 1); i++) {
		h = (h ^ (IP_IS_V6(gaddr) ? ip_2_ip6(gaddr)->addr[i] :
			  ip4_addr_get_u32(ip_2_ip4(gaddr)))) * 0x9e3779b1U;
		h = (h ^ (IP_IS_V6(daddr) ? ip_2_ip6(daddr)->addr[i] :
			  ip4_addr_get_u32(ip_2_ip4(daddr)))) * 0x85ebca6bU;
	}
	h = (h ^ (((uint32_t)gport << 16) | dport)) * 0xc2b2ae35U;
	h ^= h >> 16;
	return h & u->bucket_mask;
}

/**
 * sess_lookup() - find the session of a 4-tuple
 * @u:		relay
 * @gaddr:	guest address
 * @gport:	guest port
 * @daddr:	destination address as the guest wrote it
 * @dport:	destination port
 *
 * Return: the session, or NULL
 */
static struct sn_udp_sess *sess_lookup(struct sn_udp *u, const ip_addr_t *gaddr,
					 u16_t gport, const ip_addr_t *daddr, u16_t dport)
{
	struct sn_udp_sess *s = u->bucket[sess_hash(u, gaddr, gport, daddr, dport)];

	for (; s; s = s->hnext) {
		if (s->gport == gport && s->dport == dport &&
		    ip_addr_eq(&s->gaddr, gaddr) && ip_addr_eq(&s->daddr, daddr))
			return s;
	}
	return NULL;
}

/**
 * sess_lru_unlink() - take a session off the LRU list
 * @u:		relay
 * @s:		session on the list
 */
static void sess_lru_unlink(struct sn_udp *u, struct sn_udp_sess *s)
{
	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		u->lru_head = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		u->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

/**
 * sess_lru_push() - put a session at the front of the LRU list
 * @u:		relay
 * @s:		session not on the list
 */
static void sess_lru_push(struct sn_udp *u, struct sn_udp_sess *s)
{
	s->lru_prev = NULL;
	s->lru_next = u->lru_head;
	if (u->lru_head)
		u->lru_head->lru_prev = s;
	else
		u->lru_tail = s;
	u->lru_head = s;
}

/**
 * sess_touch() - note traffic on a session: refresh its idle timer
 * @u:		relay
 * @s:		session in use
 */
static void sess_touch(struct sn_udp *u, struct sn_udp_sess *s)
{
	s->last_ms = sn_now_ms();
	if (u->lru_head == s)
		return;
	sess_lru_unlink(u, s);
	sess_lru_push(u, s);
}

/**
 * sess_close() - end a session: socket, queue, table entry
 * @u:		relay
 * @s:		session in use
 */
static void sess_close(struct sn_udp *u, struct sn_udp_sess *s)
{
	struct sn_udp_sess **pp;

	sn_fd_del(u->e, s->slot);
	close(s->fd);
	s->fd = -1;
	s->slot = -1;
	s->gen++;

	for (; s->q_len; s->q_len--) {
		pbuf_free(s->q[s->q_head]);
		s->q[s->q_head] = NULL;
		s->q_head = (s->q_head + 1) % SN_UDP_QUEUE_DGRAMS;
	}
	s->q_head = 0;
	s->q_bytes = 0;

	pp = &u->bucket[sess_hash(u, &s->gaddr, s->gport, &s->daddr, s->dport)];
	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	s->hnext = NULL;

	sess_lru_unlink(u, s);
	s->lru_next = u->free;
	u->free = s;

	u->n_active--;
	u->e->st.udp_sessions_active--;
}

/**
 * dgram_plen() - UDP payload length of a guest datagram
 * @p:		the guest's packet, payload at the IP header, trimmed to the
 *		UDP length
 * @hlen:	offset of the UDP header
 *
 * Return: bytes of payload
 */
static size_t dgram_plen(const struct pbuf *p, u16_t hlen)
{
	return (size_t)p->tot_len - hlen - UDP_HLEN;
}

/**
 * dgram_reject() - answer a guest datagram with an ICMP error, free it
 * @e:		engine
 * @p:		the guest's packet, payload at the IP header; consumed
 * @type:	ICMP type (ICMPv6 for an IPv6 packet)
 * @code:	ICMP code
 * @src:	source of the error, of the packet's family
 */
static void dgram_reject(struct sn_engine *e, struct pbuf *p, u8_t type, u8_t code,
			  const ip_addr_t *src)
{
	if (IP_IS_V6(src))
		sn_icmp6_error_pbuf(e, ip_2_ip6(src), type, code, 0, p);
	else
		sn_icmp4_error_pbuf(e, ip_2_ip4(src), type, code, 0, p);
	pbuf_free(p);
}

/**
 * dgram_local_error() - answer a guest datagram the host could not send
 * @e:		engine
 * @daddr:	its destination as the guest wrote it
 * @p:		the guest's packet, payload at the IP header; not freed
 * @err:	errno of connect() or send()
 * @mtu:	the path MTU, for EMSGSIZE
 *
 * Fragmentation needed only for an IPv4 datagram sent with DF (IPv6 is
 * never fragmented by routers: packet too big always).
 *
 * Return: non-zero if an ICMP error was due (and tried)
 */
static int dgram_local_error(struct sn_engine *e, const ip_addr_t *daddr,
			      const struct pbuf *p, int err, u32_t mtu)
{
	int v6 = IP_IS_V6(daddr);
	u8_t type, code;
	ip_addr_t src;
	u8_t buf[SN_UDP_QUOTE];
	u16_t n;

	if (!sn_sockerr_errno_icmp(err, v6, &type, &code))
		return 0;
	if (!v6 && code == ICMP_DUR_FRAG && type == ICMP_DUR &&
	    !(pbuf_get_at(p, 6) & (IP_DF >> 8)))
		return 0;
	sn_sockerr_source(e, daddr, NULL, err == ECONNREFUSED, &src);
	if (!sn_sockerr_toobig(v6, type, code))
		mtu = 0;
	if (v6) {
		if (mtu && mtu < 1280)
			mtu = 1280;
		n = pbuf_copy_partial(p, buf, sizeof(buf), 0);
		sn_icmp6_error(e, ip_2_ip6(&src), type, code, mtu, buf, n);
	} else {
		sn_icmp4_error_pbuf(e, ip_2_ip4(&src), type, code, mtu, p);
	}
	return 1;
}

/**
 * sess_report() - pass one error queue entry on to the guest as ICMP
 * @ctx:	the session the entry was read from
 * @ee:		the entry
 * @off:	its offender, NULL for a local error
 * @data:	the offending datagram's start (unused: the session keeps
 *		the guest's own packet, which is what the guest matches)
 * @n:		bytes at @data
 *
 * Quotes the session's last datagram as the guest sent it; what to send
 * and from where is relay/sockerr.c's decision.
 *
 * Return: 0, or -1 if the session was closed meanwhile
 */
static int sess_report(void *ctx, const struct sock_extended_err *ee,
			 const struct sockaddr_storage *off, const void *data, size_t n)
{
	struct sn_udp_sess *s = ctx;
	struct sn_engine *e = s->u->e;
	int v6 = IP_IS_V6(&s->daddr);
	uint32_t gen = s->gen;
	u8_t type, code;
	u32_t info;
	ip_addr_t src;

	(void)data;
	(void)n;
	if (s->quote_len < (v6 ? IP6_HLEN : IP_HLEN) ||
	    !sn_sockerr_icmp(ee, v6, !v6 && (s->quote[6] & (IP_DF >> 8)), &type, &code, &info))
		return 0;
	sn_sockerr_source(e, &s->daddr, off, sn_sockerr_port_err(v6, type, code), &src);
	sn_sockerr_send(e, &src, type, code, info, s->quote, s->quote_len);
	return s->gen != gen ? -1 : 0;
}

/**
 * sess_errqueue() - read a session socket's error queue into ICMP errors
 * @u:		relay
 * @s:		session
 *
 * Return: entries read (at most SN_UDP_ERRQ_BATCH), or -1 if the session
 *	   was closed meanwhile (an output callback fed the engine)
 */
static int sess_errqueue(struct sn_udp *u, struct sn_udp_sess *s)
{
	u8_t data[64];

	/* The data is the payload of the offending datagram: unused, and not
	 * read into u->buf, which may hold a datagram that sess_send() is
	 * about to send again. */
	return sn_sockerr_drain(u->e, s->fd, data, sizeof(data), SN_UDP_ERRQ_BATCH,
				sess_report, s);
}

/**
 * sess_set_ttl() - give the session's socket the TTL a datagram leaves with
 * @u:		relay
 * @s:		session
 * @ttl:	wanted IP_TTL or IPV6_UNICAST_HOPS (the guest's minus one)
 */
static void sess_set_ttl(struct sn_udp *u, struct sn_udp_sess *s, int ttl)
{
	int r;

	if (ttl < 1)
		ttl = 1;
	if (s->ttl == ttl)
		return;
	if (s->fam == AF_INET6)
		r = setsockopt(s->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl));
	else
		r = setsockopt(s->fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	if (r < 0) {
		sn_log(u->e, SN_LOG_DEBUG, "udp: TTL %d: %s", ttl, strerror(errno));
		return;
	}
	s->ttl = ttl;
}

/**
 * sess_send() - send one guest datagram on its session's socket
 * @u:		relay
 * @s:		session
 * @p:		the guest's packet, payload at the IP header, tot_len = IP
 *		header + UDP length; not freed
 * @hlen:	offset of the UDP header in @p
 *
 * The socket's TTL (hop limit) becomes the datagram's minus one first (not
 * for sessions to the host's loopback). A pending asynchronous error (say
 * ECONNREFUSED about an earlier datagram) is returned by send() instead
 * of sending: the error queue is read, which passes it on to the guest,
 * and the send is tried once more. An error about this datagram itself
 * (no route, a local firewall) answers the guest with its ICMP error,
 * from the gateway.
 *
 * Return: 0 if sent or dropped for good, -1 if the socket is full (EAGAIN),
 *	   -2 if the session was closed meanwhile (an output callback fed
 *	   the engine)
 */
static int sess_send(struct sn_udp *u, struct sn_udp_sess *s, struct pbuf *p, u16_t hlen)
{
	struct sn_engine *e = u->e;
	const u8_t *ip = p->payload;
	int v6 = IP_IS_V6(&s->daddr);
	u16_t len = (u16_t)dgram_plen(p, hlen);
	const void *data = ip + hlen + UDP_HLEN;
	uint32_t gen = s->gen;
	u8_t type, code;
	int err, queued, mtu = 0;
	socklen_t sl = sizeof(mtu);
	ssize_t n;

	if (!s->host)
		sess_set_ttl(u, s, (v6 ? ip[7] : ip[8]) - 1);
	if (p->len < p->tot_len) {
		pbuf_copy_partial(p, u->buf, len, (u16_t)(hlen + UDP_HLEN));
		data = u->buf;
	}

	n = send(s->fd, data, len, MSG_NOSIGNAL);
	if (n < 0 && errno == EINTR)
		n = send(s->fd, data, len, MSG_NOSIGNAL);
	if (n < 0 && err_is_async(errno)) {
		err = errno;
		queued = sess_errqueue(u, s);
		if (s->gen != gen)
			return -2;
		/* Nothing queued and an error with a local meaning: the host
		 * has no route (or room) for this very datagram. Otherwise
		 * the error was about an earlier one and is cleared now. */
		if (queued == 0 && err != ECONNREFUSED &&
		    sn_sockerr_errno_icmp(err, v6, &type, &code)) {
			errno = err;
		} else {
			u->n_async_err++;
			n = send(s->fd, data, len, MSG_NOSIGNAL);
		}
	}
	if (n >= 0) {
		e->st.udp_dgrams_up++;
		s->bytes_up += (uint64_t)n;
		s->quote_len = pbuf_copy_partial(p, s->quote, (u16_t)LWIP_MIN(p->tot_len,
								    SN_UDP_QUOTE), 0);
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return -1;

	err = errno;
	u->n_send_err++;
	sn_log(e, SN_LOG_DEBUG, "udp: send to port %u failed: %s", s->dport, strerror(err));
	if (err == EMSGSIZE &&
	    (s->fam == AF_INET6 ? getsockopt(s->fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &sl) :
				  getsockopt(s->fd, IPPROTO_IP, IP_MTU, &mtu, &sl)) < 0)
		mtu = 0;
	if (dgram_local_error(e, &s->daddr, p, err, (u32_t)mtu) && s->gen != gen)
		return -2;
	return 0;
}

/**
 * sess_enqueue() - keep a guest datagram until the socket takes it
 * @u:		relay
 * @s:		session
 * @p:		datagram as for sess_send(); consumed
 * @hlen:	offset of its UDP header
 *
 * The first queued datagram turns on POLLOUT for the session's socket.
 */
static void sess_enqueue(struct sn_udp *u, struct sn_udp_sess *s, struct pbuf *p, u16_t hlen)
{
	size_t len = dgram_plen(p, hlen);
	unsigned i;

	if (s->q_len >= SN_UDP_QUEUE_DGRAMS || s->q_bytes + len > SN_UDP_QUEUE_BYTES) {
		u->e->st.udp_drop_queue++;
		pbuf_free(p);
		return;
	}

	i = (s->q_head + s->q_len) % SN_UDP_QUEUE_DGRAMS;
	s->q[i] = p;
	s->q_hlen[i] = hlen;
	s->q_len++;
	s->q_bytes += len;
	if (s->q_len == 1)
		sn_fd_events(u->e, s->slot, POLLIN | POLLOUT);
}

/**
 * sess_flush() - send queued datagrams until the socket is full again
 * @u:		relay
 * @s:		session
 *
 * An empty queue turns POLLOUT off again.
 *
 * Return: 0, or -1 if the session was closed meanwhile
 */
static int sess_flush(struct sn_udp *u, struct sn_udp_sess *s)
{
	struct pbuf *p;
	u16_t hlen;
	int r;

	while (s->q_len) {
		p = s->q[s->q_head];
		hlen = s->q_hlen[s->q_head];
		r = sess_send(u, s, p, hlen);
		if (r == -2)
			return -1;	/* the queue went with the session */
		if (r < 0)
			return 0;
		s->q[s->q_head] = NULL;
		s->q_head = (s->q_head + 1) % SN_UDP_QUEUE_DGRAMS;
		s->q_len--;
		s->q_bytes -= dgram_plen(p, hlen);
		pbuf_free(p);
	}
	sn_fd_events(u->e, s->slot, POLLIN);
	return 0;
}

/**
 * sn_udp_output() - send a UDP datagram to the guest, IPv4 or IPv6
 * @e:		engine
 * @src:	source address (the address the guest talked to)
 * @sport:	source port, host order
 * @dst:	the guest's address (same family as @src)
 * @dport:	guest port, host order
 * @data:	payload
 * @len:	its length
 *
 * Return: ERR_OK or lwIP's error
 */
err_t sn_udp_output(struct sn_engine *e, const ip_addr_t *src, u16_t sport,
		    const ip_addr_t *dst, u16_t dport, const void *data, size_t len)
{
	if (IP_IS_V6(src))
		return sn_udp6_output(e, ip_2_ip6(src), sport, ip_2_ip6(dst), dport, data, len);
	return sn_udp4_output(e, ip_2_ip4(src), sport, dport, data, len);
}

/**
 * sess_recv() - relay datagrams from the host socket to the guest
 * @u:		relay
 * @s:		session
 *
 * Return: 0, or -1 if the session was closed
 */
static int sess_recv(struct sn_udp *u, struct sn_udp_sess *s)
{
	struct sn_engine *e = u->e;
	uint32_t gen = s->gen;
	ssize_t n;
	err_t err;
	int i;

	for (i = 0; i < SN_UDP_RECV_BATCH; i++) {
		n = recv(s->fd, u->buf, sizeof(u->buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			if (err_is_async(errno)) {
				/* The peer (or a router) answered a datagram
				 * with an ICMP error: it is in the error queue
				 * too, and goes to the guest from there. */
				u->n_async_err++;
				if (sess_errqueue(u, s) < 0)
					return -1;
				continue;
			}
			sn_log(e, SN_LOG_DEBUG, "udp: session to port %u closed: %s",
			       s->dport, strerror(errno));
			sess_close(u, s);
			return -1;
		}

		sess_touch(u, s);
		e->st.udp_dgrams_down++;
		s->bytes_down += (uint64_t)n;
		err = sn_udp_output(e, &s->daddr, s->dport, &s->gaddr, s->gport, u->buf,
				    (size_t)n);
		if (err != ERR_OK)
			sn_log(e, SN_LOG_DEBUG, "udp: reply of %zd bytes not sent: %d",
			       n, (int)err);
		/* An output callback that feeds the engine re-entrantly may
		 * have evicted this session. */
		if (s->gen != gen)
			return -1;
	}
	return 0;
}

/**
 * sess_ready() - engine callback: a session's socket is ready
 * @ctx:	the session
 * @fd:		its socket
 * @revents:	poll() revents
 *
 * POLLERR: the error queue has entries (or, when it had no room for one,
 * only the socket error is set: SO_ERROR clears it, or poll() would keep
 * reporting it).
 */
static void sess_ready(void *ctx, int fd, short revents)
{
	struct sn_udp_sess *s = ctx;
	struct sn_udp *u = s->u;
	int soerr, queued;
	socklen_t sl = sizeof(soerr);

	if (s->fd != fd)
		return;
	if (revents & POLLNVAL) {
		sess_close(u, s);
		return;
	}
	if (revents & POLLERR) {
		queued = sess_errqueue(u, s);
		if (queued < 0)
			return;
		if (queued == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
			u->n_async_err++;
	}
	if ((revents & POLLOUT) && sess_flush(u, s) < 0)
		return;
	if (revents & POLLIN)
		sess_recv(u, s);
}

/**
 * loopback_bound() - does a UDP socket listen on this loopback port
 * @fam:	AF_INET (127.0.0.1) or AF_INET6 (::1)
 * @port:	port, host order
 *
 * A probe: bind() a throwaway socket (IPV6_V6ONLY for ::1, no
 * SO_REUSEADDR) to the address and see whether the port is taken. A
 * service bound to the wildcard of that family, or to the loopback
 * itself, makes it fail with EADDRINUSE.
 *
 * Return: 1 if bound, 0 if free, -1 if unknown (a privileged port the
 *	   process may not bind, no socket)
 */
static int loopback_bound(int fam, u16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, r, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (fam == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = lwip_htons(port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = lwip_htons(port);
		a->sin_addr.s_addr = PP_HTONL(INADDR_LOOPBACK);
		sl = sizeof(*a);
	}
	fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	r = bind(fd, (struct sockaddr *)&ss, sl);
	if (r < 0)
		r = errno == EADDRINUSE ? 1 : -1;
	close(fd);
	return r;
}

/**
 * host_target() - where the gateway's port is dialled on the host
 * @fam:	the guest's family (AF_INET or AF_INET6)
 * @port:	port, host order
 * @to:		filled with 127.0.0.1 or ::1, port @port
 *
 * The loopback of the guest's family, unless nothing listens there and
 * something does on the other one (a service on 127.0.0.1 only, reached
 * from an IPv6 guest through fd00:2::2, and the other way round). UDP
 * has no handshake to try one and then the other, so the choice is made
 * once, when the session opens, by loopback_bound().
 */
static void host_target(int fam, u16_t port, struct sockaddr_storage *to)
{
	int other = fam == AF_INET6 ? AF_INET : AF_INET6;

	if (loopback_bound(fam, port) != 1 && loopback_bound(other, port) == 1)
		fam = other;
	memset(to, 0, sizeof(*to));
	if (fam == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)to;

		a->sin6_family = AF_INET6;
		a->sin6_port = lwip_htons(port);
		a->sin6_addr = in6addr_loopback;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)to;

		a->sin_family = AF_INET;
		a->sin_port = lwip_htons(port);
		a->sin_addr.s_addr = PP_HTONL(INADDR_LOOPBACK);
	}
}

/**
 * sess_take_entry() - a table entry for a new session
 * @u:		relay
 *
 * Evicts the least recently used session when every entry is in use.
 *
 * Return: a free entry, off the free list
 */
static struct sn_udp_sess *sess_take_entry(struct sn_udp *u)
{
	struct sn_udp_sess *s;

	if (!u->free) {
		sn_log(u->e, SN_LOG_DEBUG, "udp: session limit %u reached, evicting",
		       u->n_sess);
		sess_close(u, u->lru_tail);
		u->e->st.udp_evicted++;
	}
	s = u->free;
	u->free = s->lru_next;
	s->lru_next = NULL;
	return s;
}

/**
 * sess_open() - open the session of a new 4-tuple
 * @u:		relay
 * @gaddr:	guest address
 * @gport:	guest port, host order
 * @daddr:	destination as the guest wrote it
 * @dport:	destination port, host order
 * @to:		where the socket connects (AF_INET or AF_INET6)
 *
 * Return: the new session, or NULL with errno set (socket(), connect(), or
 *	   ENOSPC when the engine has no fd slot left)
 */
static struct sn_udp_sess *sess_open(struct sn_udp *u, const ip_addr_t *gaddr, u16_t gport,
				       const ip_addr_t *daddr, u16_t dport,
				       const struct sockaddr_storage *to)
{
	struct sockaddr_storage any;
	struct sn_udp_sess *s;
	int fam = to->ss_family;
	socklen_t sl = fam == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	unsigned b;
	int fd, slot, err, bound, on = 1;

	memset(&any, 0, sizeof(any));
	any.ss_family = (sa_family_t)fam;
	fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	/* ICMP errors about our datagrams, with type, code and offender */
	if ((fam == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on)) :
			       setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on))) < 0)
		sn_log(u->e, SN_LOG_DEBUG, "udp: RECVERR: %s", strerror(errno));
	bound = sn_sock_bind_out(u->e, fd, (const struct sockaddr *)to);
	if (bound < 0 || (!bound && bind(fd, (const struct sockaddr *)&any, sl) < 0) ||
	    connect(fd, (const struct sockaddr *)to, sl) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return NULL;
	}

	s = sess_take_entry(u);
	slot = sn_fd_add(u->e, fd, POLLIN, sess_ready, s);
	if (slot < 0) {
		close(fd);
		s->lru_next = u->free;
		u->free = s;
		errno = ENOSPC;
		return NULL;
	}

	s->fd = fd;
	s->slot = slot;
	s->gaddr = *gaddr;
	s->gport = gport;
	s->daddr = *daddr;
	s->dport = dport;
	s->last_ms = s->born_ms = sn_now_ms();
	s->bytes_up = s->bytes_down = 0;
	sn_timer_arm(u->e, s->last_ms + u->e->cfg.udp_idle_ms);
	s->ttl = -1;
	s->fam = fam;
	s->host = fam == AF_INET6 ?
		IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)to)->sin6_addr) :
		(lwip_ntohl(((const struct sockaddr_in *)to)->sin_addr.s_addr) >> 24) == 127;
	s->quote_len = 0;
	b = sess_hash(u, gaddr, gport, daddr, dport);
	s->hnext = u->bucket[b];
	u->bucket[b] = s;
	sess_lru_push(u, s);

	u->n_active++;
	u->e->st.udp_sessions++;
	u->e->st.udp_sessions_active++;
	return s;
}

/**
 * sn_udp_walk() - report every session to sn_engine_flows()
 * @e:		engine
 * @fn:		called for each session, most recently used first
 * @ctx:	passed to @fn
 * @n:		incremented for each session reported
 *
 * Return: non-zero if @fn asked to stop
 */
int sn_udp_walk(struct sn_engine *e, sn_flow_fn fn, void *ctx, unsigned *n)
{
	const struct sn_udp_sess *s;
	uint32_t now = sn_now_ms();
	struct sn_flow_info fi;

	for (s = e->udp->lru_head; s; s = s->lru_next) {
		memset(&fi, 0, sizeof(fi));
		fi.proto = IPPROTO_UDP;
		fi.state = "open";
		sn_flow_addr(&fi.guest, &s->gaddr, s->gport);
		sn_flow_addr(&fi.remote, &s->daddr, s->dport);
		fi.bytes_up = s->bytes_up;
		fi.bytes_down = s->bytes_down;
		fi.age_ms = (uint32_t)(now - s->born_ms);
		fi.idle_ms = (uint32_t)(now - s->last_ms);
		(*n)++;
		if (fn(ctx, &fi))
			return 1;
	}
	return 0;
}

/**
 * sn_udp_input() - a UDP datagram from the guest to relay, IPv4 or IPv6
 * @e:		engine
 * @p:		packet (payload at the IP header, validated and reassembled by
 *		the hook); consumed
 * @hlen:	offset of the UDP header (after IPv6 extension headers)
 * @src:	the guest's address
 * @dst:	the destination address, as the guest wrote it
 */
void sn_udp_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip_addr_t *src,
		  const ip_addr_t *dst)
{
	struct sn_udp *u = e->udp;
	int v6 = IP_IS_V6(dst);
	struct sn_udp_sess *s;
	struct sockaddr_storage to;
	struct sn_verdict v;
	struct udp_hdr uh;
	u16_t ulen, sport, dport;
	int err, r, ttl;

	if (!u) {
		e->st.drop_unsupported++;
		pbuf_free(p);
		return;
	}

	/* UDP header: present, and its length within the IP payload */
	if (p->tot_len < hlen + UDP_HLEN ||
	    pbuf_copy_partial(p, &uh, UDP_HLEN, hlen) != UDP_HLEN)
		goto malformed;
	ulen = lwip_ntohs(uh.len);
	if (ulen < UDP_HLEN || ulen > p->tot_len - hlen)
		goto malformed;
	sport = lwip_ntohs(uh.src);
	dport = lwip_ntohs(uh.dest);
	ttl = pbuf_get_at(p, v6 ? 7 : 8);

	/* From here on p is the guest's IP header and UDP datagram exactly. */
	pbuf_realloc(p, (u16_t)(hlen + ulen));
	/* the checksum is optional over IPv4 only (RFC 8200 8.1) */
	if (v6 && uh.chksum == 0)
		goto malformed;
	if (uh.chksum != 0 && !e->in_csum_ok) {
		IF__NETIF_CHECKSUM_ENABLED(&e->netif, NETIF_CHECKSUM_CHECK_UDP) {
			if (pbuf_remove_header(p, hlen))
				goto malformed;
			r = ip_chksum_pseudo(p, IP_PROTO_UDP, ulen, src, dst) != 0;
			pbuf_add_header_force(p, hlen);
			if (r)
				goto malformed;
		}
	}
	/* a published UDP port's guest answering its client (relay/publish.c) */
	if (sn_publish_udp_reply(e, p, hlen, dst, sport, dport))
		return;
	if (dport == 0) {
		e->st.drop_unsupported++;
		pbuf_free(p);
		return;
	}
	/* The policy decides (core/decide.c); refused: ICMP administratively
	 * prohibited, except for destinations never dialled (broadcast, ...) */
	if (sn_decide(e, SN_POLICY_EGRESS, SN_PROTO_UDP, dst, dport, &v) != SN_POLICY_ALLOW) {
		if (v.by != SN_BY_NEVER)
			sn_deny_icmp(e, p);
		pbuf_free(p);
		return;
	}
	if (sn_verdict_sockaddr(&v, dport, &to, NULL))
		host_target(sn_ip_is4(&v.norm) ? AF_INET : AF_INET6, dport, &to);

	/* The gateway is the first hop: a datagram that would leave it with
	 * TTL (hop limit) 0 expires here (traceroute's first probe). */
	if (v.cls != SN_CLASS_GATEWAY && ttl <= 1) {
		ip_addr_t gw;

		e->st.ttl_expired++;
		sn_gw_addr(e, v6, &gw);
		dgram_reject(e, p, v6 ? ICMP6_TYPE_TE : ICMP_TE, v6 ? ICMP6_TE_HL : ICMP_TE_TTL,
			      &gw);
		return;
	}

	s = sess_lookup(u, src, sport, dst, dport);
	if (!s) {
		s = sess_open(u, src, sport, dst, dport, &to);
		if (!s) {
			err = errno;
			u->n_open_err++;
			sn_log(e, SN_LOG_DEBUG, "udp: no session to port %u: %s",
			       dport, strerror(err));
			/* no route: ICMP net/host unreachable; no fd or
			 * slot (EMFILE, ENOSPC): dropped, the guest retries */
			dgram_local_error(e, dst, p, err, 0);
			pbuf_free(p);
			return;
		}
	}
	sess_touch(u, s);

	/* Keep the guest's order: behind queued datagrams, or queue on EAGAIN. */
	r = s->q_len ? -1 : sess_send(u, s, p, hlen);
	if (r == -1) {
		sess_enqueue(u, s, p, hlen);
		return;
	}
	pbuf_free(p);
	return;

malformed:
	e->st.drop_malformed++;
	pbuf_free(p);
}

/**
 * sn_udp_tick() - expire sessions idle for cfg.udp_idle_ms, arm the next expiry
 * @e:		engine
 *
 * The LRU list is ordered by last traffic, so only its idle tail is visited,
 * and the tail left is the next to expire. A session's traffic only moves
 * its expiry later: the deadline armed when it opened comes early, and
 * this arms the real one.
 */
void sn_udp_tick(struct sn_engine *e)
{
	struct sn_udp *u = e->udp;
	uint32_t now = sn_now_ms();
	struct sn_udp_sess *s;

	if (!u)
		return;
	while ((s = u->lru_tail) && sn_time_after(now, s->last_ms + e->cfg.udp_idle_ms)) {
		sess_close(u, s);
		e->st.udp_expired++;
	}
	if (u->lru_tail)
		sn_timer_arm(e, u->lru_tail->last_ms + e->cfg.udp_idle_ms);
}

/**
 * sn_udp_init() - allocate the UDP relay's tables
 * @e:		engine, cfg.max_udp_sessions > 0
 *
 * Return: 0, or -1 with errno (EINVAL: no sessions allowed; ENOMEM)
 */
int sn_udp_init(struct sn_engine *e)
{
	unsigned n = e->cfg.max_udp_sessions;
	unsigned nb = SN_UDP_BUCKETS_MIN;
	struct sn_udp *u;
	unsigned i;

	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	while (nb < n && nb < SN_UDP_BUCKETS_MAX)
		nb <<= 1;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -1;
	u->sess = calloc(n, sizeof(*u->sess));
	u->bucket = calloc(nb, sizeof(u->bucket[0]));	/* NOLINT(bugprone-sizeof-expression): pointers */
	if (!u->sess || !u->bucket) {
		free(u->sess);
		free(u->bucket);
		free(u);
		errno = ENOMEM;
		return -1;
	}

	u->e = e;
	u->n_sess = n;
	u->bucket_mask = nb - 1;
	for (i = n; i-- > 0;) {
		u->sess[i].u = u;
		u->sess[i].fd = -1;
		u->sess[i].slot = -1;
		u->sess[i].lru_next = u->free;
		u->free = &u->sess[i];
	}
	e->udp = u;
	return 0;
}

/**
 * sn_udp_fini() - close every session and free the relay
 * @e:		engine; its fd table must still exist
 */
void sn_udp_fini(struct sn_engine *e)
{
	struct sn_udp *u = e->udp;

	if (!u)
		return;
	while (u->lru_head)
		sess_close(u, u->lru_head);
	free(u->bucket);
	free(u->sess);
	free(u);
	e->udp = NULL;
}
