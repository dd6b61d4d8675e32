// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation
 *
 * The UDP relay carries the guest's UDP datagrams to arbitrary destinations
 * through ordinary host sockets, and the replies back.
 *
 * Session
 *   One session per (guest address:port, destination address:port) as the
 *   guest wrote it. A session owns exactly one host socket: AF_INET,
 *   SOCK_DGRAM, non-blocking, bound to the wildcard (the kernel picks the
 *   port) and connect()ed to the destination, so the kernel accepts replies
 *   from that peer only. Destination 53 never arrives here (dns.c has it).
 *
 * Destinations
 *   - the gateway (cfg.gw_ip4) stands for the host: with
 *     cfg.allow_host_loopback the socket connects to 127.0.0.1 on the same
 *     port, otherwise the guest gets ICMP port unreachable (host_denied);
 *   - 127.0.0.0/8 written directly is never dialled (host_denied, silent
 *     drop): host access only goes through the gateway address;
 *   - 0.0.0.0/8, broadcast, multicast, the guest's own address, port 0:
 *     dropped (drop_unsupported);
 *   - anything else is dialled as is, unless the datagram's TTL is 1 (or
 *     0): then the gateway is the hop where it expires, and the guest gets
 *     ICMP time exceeded from the gateway address instead (ttl_expired;
 *     no session, nothing sent). connect() failing with ENETUNREACH or
 *     EHOSTUNREACH answers the guest with ICMP net/host unreachable.
 *
 * Guest to host
 *   sn_udp_input4() validates the UDP header (length, checksum), finds or
 *   opens the session and send()s the payload. If the socket is full
 *   (EAGAIN) the datagram (the pbuf itself, no copy) waits in a per-session
 *   queue bounded by SN_UDP_QUEUE_DGRAMS and SN_UDP_QUEUE_BYTES; the socket
 *   is then polled for POLLOUT until the queue drains. Beyond the bound new
 *   datagrams are dropped (udp_drop_queue).
 *
 *   The engine is a router, so a datagram leaves the host with the guest's
 *   TTL minus one: the socket's IP_TTL is set before a datagram whose TTL
 *   differs from the last one's (one setsockopt() per change, the value is
 *   cached per session). Sessions to the host's loopback keep the default.
 *   Each datagram sent leaves its first SN_UDP_QUOTE bytes (guest IP
 *   header, UDP header, the start of the payload) in the session, for the
 *   ICMP errors below.
 *
 * Host to guest
 *   On POLLIN up to SN_UDP_RECV_BATCH datagrams are recv()ed into the
 *   relay's 64 KiB buffer and sent to the guest with sn_udp4_output() from
 *   the address and port the guest talked to (the gateway, not 127.0.0.1,
 *   for mapped sessions). Any socket error other than those below ends the
 *   session.
 *
 * ICMP errors
 *   Session sockets have IP_RECVERR on: an ICMP error about a datagram
 *   (from the destination or a router on the way) is queued on the
 *   socket's error queue with its type, code, info and the offender's
 *   address, and the socket polls POLLERR. sn_udp_errqueue() reads the
 *   queue (recvmsg(MSG_ERRQUEUE)) and sends the guest the same ICMP error
 *   (destination unreachable with its code, fragmentation needed with the
 *   next-hop MTU, time exceeded, parameter problem) from the offender's
 *   address, quoting the session's last datagram as the guest sent it, so
 *   that the guest's kernel finds the socket it belongs to (a connected
 *   socket then sees ECONNREFUSED, traceroute sees its hop). The host's
 *   loopback as offender becomes the gateway address. Fragmentation
 *   needed is passed on only for a datagram the guest sent with DF (no
 *   router would send it otherwise; the host fragments the rest itself).
 *   Errors the host finds itself (SO_EE_ORIGIN_LOCAL, or send() failing
 *   with ENETUNREACH, EHOSTUNREACH, EACCES/EPERM, EMSGSIZE) come from the
 *   gateway address: sn_udp_errno_icmp() maps an errno to its ICMP error
 *   for these, for connect() failures and for the error queue alike.
 *   Every error read is counted (host_errors); the session stays.
 *   The kernel also reports an error once as the return value of the next
 *   send() or recv(): the queue is then read, and send() tried again.
 *   An error about an earlier datagram of a session quotes the last one
 *   (same addresses and ports, which is what the guest matches on; IP ID
 *   and length may differ). Host sockets keep the kernel's path MTU
 *   default (IP_PMTUDISC_WANT): DF on the wire, and datagrams bigger than
 *   a path MTU the host has learnt are fragmented by the host rather than
 *   refused. All ICMP errors to the guest share one rate limit
 *   (netif/output.c). Only IPv4 for now.
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
#include "lwip/pbuf.h"
#include "lwip/prot/ip.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/udp.h"
#include "netif/guestif.h"
#include "relay/relay.h"

/* Per-session queue of guest datagrams waiting for the host socket. */
#define SN_UDP_QUEUE_DGRAMS	16
#define SN_UDP_QUEUE_BYTES	(64 * 1024)
/* Datagrams read from one socket per POLLIN callback (fairness). */
#define SN_UDP_RECV_BATCH	64
/* Largest IPv4 UDP payload is 65507; one buffer holds any datagram. */
#define SN_UDP_BUF_SIZE		65536
/* Bytes of the last datagram sent kept for ICMP errors about it: the
 * longest IP header, the UDP header and 28 bytes of payload (RFC 792 asks
 * for the header and 8 bytes; Linux matches on the IP and UDP headers). */
#define SN_UDP_QUOTE		96
/* Error queue entries read from one socket per callback. */
#define SN_UDP_ERRQ_BATCH	16
/* ICMP unreachable code 13: communication administratively prohibited
 * (RFC 1812 5.2.7.1), for a local firewall's EPERM/EACCES. */
#define SN_ICMP_DUR_ADMIN	13
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
 * @ttl:	the socket's IP_TTL as last set, -1 while it is the default
 * @quote_len:	bytes in @quote, 0 before the first datagram is sent
 * @quote:	start of the last datagram sent, from the guest's IP header
 */
struct sn_udp_sess {
	struct sn_udp *u;
	int fd;
	int slot;
	ip4_addr_t gaddr;
	ip4_addr_t daddr;
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
	u16_t quote_len;
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
 * enum sn_udp_verdict - what to do with a destination
 * @SN_UDP_RELAY:	dial it (possibly mapped, see sn_udp_classify())
 * @SN_UDP_DROP:	not a unicast peer: drop (drop_unsupported)
 * @SN_UDP_DENY:	host access denied: ICMP port unreachable (host_denied)
 * @SN_UDP_DENY_SILENT:	loopback written directly: drop (host_denied)
 */
enum sn_udp_verdict {
	SN_UDP_RELAY,
	SN_UDP_DROP,
	SN_UDP_DENY,
	SN_UDP_DENY_SILENT,
};

/**
 * sn_udp_err_async() - is this a socket error the kernel reports later
 * @err:	errno from recv() or send()
 *
 * These come from ICMP errors (or local route changes) about an earlier
 * datagram; the socket itself stays usable.
 *
 * Return: non-zero for an asynchronous error
 */
static int sn_udp_err_async(int err)
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
 * sn_udp_hash() - hash bucket of a session key
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
static unsigned sn_udp_hash(const struct sn_udp *u, const ip4_addr_t *gaddr,
			    u16_t gport, const ip4_addr_t *daddr, u16_t dport)
{
	uint32_t h = gaddr->addr * 0x9e3779b1U;

	h = (h ^ daddr->addr) * 0x85ebca6bU;
	h = (h ^ (((uint32_t)gport << 16) | dport)) * 0xc2b2ae35U;
	h ^= h >> 16;
	return h & u->bucket_mask;
}

/**
 * sn_udp_lookup() - find the session of a 4-tuple
 * @u:		relay
 * @gaddr:	guest address
 * @gport:	guest port
 * @daddr:	destination address as the guest wrote it
 * @dport:	destination port
 *
 * Return: the session, or NULL
 */
static struct sn_udp_sess *sn_udp_lookup(struct sn_udp *u, const ip4_addr_t *gaddr,
					 u16_t gport, const ip4_addr_t *daddr, u16_t dport)
{
	struct sn_udp_sess *s = u->bucket[sn_udp_hash(u, gaddr, gport, daddr, dport)];

	for (; s; s = s->hnext) {
		if (s->gport == gport && s->dport == dport &&
		    ip4_addr_eq(&s->gaddr, gaddr) && ip4_addr_eq(&s->daddr, daddr))
			return s;
	}
	return NULL;
}

/**
 * sn_udp_lru_unlink() - take a session off the LRU list
 * @u:		relay
 * @s:		session on the list
 */
static void sn_udp_lru_unlink(struct sn_udp *u, struct sn_udp_sess *s)
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
 * sn_udp_lru_push() - put a session at the front of the LRU list
 * @u:		relay
 * @s:		session not on the list
 */
static void sn_udp_lru_push(struct sn_udp *u, struct sn_udp_sess *s)
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
 * sn_udp_touch() - note traffic on a session: refresh its idle timer
 * @u:		relay
 * @s:		session in use
 */
static void sn_udp_touch(struct sn_udp *u, struct sn_udp_sess *s)
{
	s->last_ms = sn_now_ms();
	if (u->lru_head == s)
		return;
	sn_udp_lru_unlink(u, s);
	sn_udp_lru_push(u, s);
}

/**
 * sn_udp_close() - end a session: socket, queue, table entry
 * @u:		relay
 * @s:		session in use
 */
static void sn_udp_close(struct sn_udp *u, struct sn_udp_sess *s)
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

	pp = &u->bucket[sn_udp_hash(u, &s->gaddr, s->gport, &s->daddr, s->dport)];
	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	s->hnext = NULL;

	sn_udp_lru_unlink(u, s);
	s->lru_next = u->free;
	u->free = s;

	u->n_active--;
	u->e->st.udp_sessions_active--;
}

/**
 * sn_udp_plen() - UDP payload length of a guest datagram
 * @p:		the guest's packet, payload at the IP header, trimmed to the
 *		UDP length
 *
 * Return: bytes of payload
 */
static size_t sn_udp_plen(const struct pbuf *p)
{
	const u8_t *ip = p->payload;

	return (size_t)p->tot_len - (size_t)(ip[0] & 0x0f) * 4 - UDP_HLEN;
}

/**
 * sn_udp_errno_icmp() - the ICMP error that stands for a local socket error
 * @err:	errno from connect(), send() or an SO_EE_ORIGIN_LOCAL entry
 * @type:	filled with the ICMP type
 * @code:	filled with the ICMP code
 *
 * The one mapping from errno to ICMP for the relay: no route to the
 * network or host, refused, too big for the path, forbidden by a local
 * firewall (communication administratively prohibited, RFC 1812).
 *
 * Return: non-zero if @err has an ICMP error
 */
static int sn_udp_errno_icmp(int err, u8_t *type, u8_t *code)
{
	*type = ICMP_DUR;
	switch (err) {
	case ENETUNREACH:
	case ENETDOWN:
		*code = ICMP_DUR_NET;
		return 1;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		*code = ICMP_DUR_HOST;
		return 1;
	case ECONNREFUSED:
		*code = ICMP_DUR_PORT;
		return 1;
	case EMSGSIZE:
		*code = ICMP_DUR_FRAG;
		return 1;
	case EACCES:
	case EPERM:
		*code = SN_ICMP_DUR_ADMIN;
		return 1;
	default:
		return 0;
	}
}

/**
 * sn_udp_err_src() - the address an ICMP error to the guest comes from
 * @e:		engine
 * @daddr:	the destination as the guest wrote it
 * @off:	the offender the host reported (the router or host that sent
 *		the ICMP error), or NULL for a local error
 * @type:	ICMP type
 * @code:	ICMP code
 * @src:	filled with the source
 *
 * The offender as it is, except the host's loopback (a session dialled
 * to 127.0.0.1 for the gateway), which is the gateway. Without an
 * offender: the destination refuses a port or protocol itself, the
 * gateway (the router that could not deliver) reports the rest.
 */
static void sn_udp_err_src(struct sn_engine *e, const ip4_addr_t *daddr,
			   const struct sockaddr_in *off, u8_t type, u8_t code, ip4_addr_t *src)
{
	if (off && off->sin_family == AF_INET && off->sin_addr.s_addr != PP_HTONL(INADDR_ANY)) {
		ip4_addr_set_u32(src, off->sin_addr.s_addr);
		if (ip4_addr_isloopback(src))
			ip4_addr_set_u32(src, e->cfg.gw_ip4.s_addr);
		return;
	}
	if (type == ICMP_DUR && (code == ICMP_DUR_PORT || code == ICMP_DUR_PROTO))
		*src = *daddr;
	else
		ip4_addr_set_u32(src, e->cfg.gw_ip4.s_addr);
}

/**
 * sn_udp_reject() - answer a guest datagram with an ICMP error, free it
 * @e:		engine
 * @p:		the guest's packet, payload at the IP header; consumed
 * @type:	ICMP type
 * @code:	ICMP code
 * @src:	source of the error
 */
static void sn_udp_reject(struct sn_engine *e, struct pbuf *p, u8_t type, u8_t code,
			  const ip4_addr_t *src)
{
	sn_icmp4_error_pbuf(e, src, type, code, 0, p);
	pbuf_free(p);
}

/**
 * sn_udp_local_error() - answer a guest datagram the host could not send
 * @e:		engine
 * @daddr:	its destination as the guest wrote it
 * @p:		the guest's packet, payload at the IP header; not freed
 * @err:	errno of connect() or send()
 * @mtu:	the path MTU, for EMSGSIZE
 *
 * Return: non-zero if an ICMP error was due (and tried)
 */
static int sn_udp_local_error(struct sn_engine *e, const ip4_addr_t *daddr,
			      const struct pbuf *p, int err, u32_t mtu)
{
	u8_t type, code;
	ip4_addr_t src;

	if (!sn_udp_errno_icmp(err, &type, &code))
		return 0;
	if (code == ICMP_DUR_FRAG && !(pbuf_get_at(p, 6) & (IP_DF >> 8)))
		return 0;
	sn_udp_err_src(e, daddr, NULL, type, code, &src);
	sn_icmp4_error_pbuf(e, &src, type, code, code == ICMP_DUR_FRAG ? mtu : 0, p);
	return 1;
}

/**
 * sn_udp_report() - pass one error queue entry on to the guest as ICMP
 * @u:		relay
 * @s:		session the entry was read from
 * @ee:		the entry
 * @off:	its offender (AF_UNSPEC when there is none)
 *
 * Quotes the session's last datagram. ICMP from the network: destination
 * unreachable (fragmentation needed with the next-hop MTU, and only about
 * a datagram sent with DF), time exceeded and parameter problem are
 * passed on with their type and code; local errors go through
 * sn_udp_errno_icmp(). Anything else is dropped.
 */
static void sn_udp_report(struct sn_udp *u, struct sn_udp_sess *s,
			  const struct sock_extended_err *ee, const struct sockaddr_in *off)
{
	struct sn_engine *e = u->e;
	u8_t type, code;
	u32_t info = 0;
	ip4_addr_t src;

	if (s->quote_len < IP_HLEN)
		return;
	switch (ee->ee_origin) {
	case SO_EE_ORIGIN_ICMP:
		type = ee->ee_type;
		code = ee->ee_code;
		if (type == ICMP_PP)
			info = ee->ee_info << 24;
		else if (type != ICMP_DUR && type != ICMP_TE)
			return;
		break;
	case SO_EE_ORIGIN_LOCAL:
		if (!sn_udp_errno_icmp((int)ee->ee_errno, &type, &code))
			return;
		off = NULL;
		break;
	default:
		return;
	}
	if (type == ICMP_DUR && code == ICMP_DUR_FRAG) {
		if (!(s->quote[6] & (IP_DF >> 8)))
			return;
		info = ee->ee_info & 0xffff;
	}
	sn_udp_err_src(e, &s->daddr, off, type, code, &src);
	sn_icmp4_error(e, &src, type, code, info, s->quote, s->quote_len);
}

/**
 * sn_udp_errqueue() - read a session socket's error queue (IP_RECVERR)
 * @u:		relay
 * @s:		session
 *
 * Every entry is counted (host_errors) and passed on to the guest by
 * sn_udp_report(). Reading the last ICMP entry also clears the error the
 * socket would report on the next send() or recv().
 *
 * Return: entries read (at most SN_UDP_ERRQ_BATCH), or -1 if the session
 *	   was closed meanwhile (an output callback fed the engine)
 */
static int sn_udp_errqueue(struct sn_udp *u, struct sn_udp_sess *s)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
				    sizeof(struct sockaddr_in))];
	} ctl;
	struct sock_extended_err ee;
	struct sockaddr_in off;
	struct cmsghdr *c;
	struct msghdr mh;
	struct iovec iov;
	uint32_t gen = s->gen;
	int i, got = 0, have;
	u8_t data[64];

	for (i = 0; i < SN_UDP_ERRQ_BATCH; i++) {
		/* The data is the payload of the offending datagram: unused,
		 * and not read into u->buf, which may hold a datagram that
		 * sn_udp_send() is about to send again. */
		iov.iov_base = data;
		iov.iov_len = sizeof(data);
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		if (recvmsg(s->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got++;
		u->e->st.host_errors++;

		have = 0;
		memset(&off, 0, sizeof(off));
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR ||
			    c->cmsg_len < CMSG_LEN(sizeof(ee)))
				continue;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			if (c->cmsg_len >= CMSG_LEN(sizeof(ee) + sizeof(off)))
				memcpy(&off, CMSG_DATA(c) + sizeof(ee), sizeof(off));
			have = 1;
		}
		if (!have)
			continue;
		sn_udp_report(u, s, &ee, &off);
		if (s->gen != gen)
			return -1;
	}
	return got;
}

/**
 * sn_udp_set_ttl() - give the session's socket the TTL a datagram leaves with
 * @u:		relay
 * @s:		session
 * @ttl:	wanted IP_TTL (the guest's TTL minus one)
 */
static void sn_udp_set_ttl(struct sn_udp *u, struct sn_udp_sess *s, int ttl)
{
	if (ttl < 1)
		ttl = 1;
	if (s->ttl == ttl)
		return;
	if (setsockopt(s->fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) < 0) {
		sn_log(u->e, SN_LOG_DEBUG, "udp: IP_TTL %d: %s", ttl, strerror(errno));
		return;
	}
	s->ttl = ttl;
}

/**
 * sn_udp_send() - send one guest datagram on its session's socket
 * @u:		relay
 * @s:		session
 * @p:		the guest's packet, payload at the IP header, tot_len = IP
 *		header + UDP length; not freed
 *
 * The socket's TTL becomes the datagram's minus one first (not for
 * sessions to the host's loopback). A pending asynchronous error (say
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
static int sn_udp_send(struct sn_udp *u, struct sn_udp_sess *s, struct pbuf *p)
{
	struct sn_engine *e = u->e;
	const u8_t *ip = p->payload;
	u16_t hl = (u16_t)((ip[0] & 0x0f) * 4);
	u16_t len = (u16_t)sn_udp_plen(p);
	const void *data = ip + hl + UDP_HLEN;
	uint32_t gen = s->gen;
	u8_t type, code;
	int err, queued, mtu = 0;
	socklen_t sl = sizeof(mtu);
	ssize_t n;

	if (s->daddr.addr != e->cfg.gw_ip4.s_addr)
		sn_udp_set_ttl(u, s, ip[8] - 1);
	if (p->len < p->tot_len) {
		pbuf_copy_partial(p, u->buf, len, (u16_t)(hl + UDP_HLEN));
		data = u->buf;
	}

	n = send(s->fd, data, len, MSG_NOSIGNAL);
	if (n < 0 && errno == EINTR)
		n = send(s->fd, data, len, MSG_NOSIGNAL);
	if (n < 0 && sn_udp_err_async(errno)) {
		err = errno;
		queued = sn_udp_errqueue(u, s);
		if (s->gen != gen)
			return -2;
		/* Nothing queued and an error with a local meaning: the host
		 * has no route (or room) for this very datagram. Otherwise
		 * the error was about an earlier one and is cleared now. */
		if (queued == 0 && err != ECONNREFUSED && sn_udp_errno_icmp(err, &type, &code)) {
			errno = err;
		} else {
			u->n_async_err++;
			n = send(s->fd, data, len, MSG_NOSIGNAL);
		}
	}
	if (n >= 0) {
		e->st.udp_dgrams_up++;
		s->quote_len = pbuf_copy_partial(p, s->quote, (u16_t)LWIP_MIN(p->tot_len,
								    SN_UDP_QUOTE), 0);
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return -1;

	err = errno;
	u->n_send_err++;
	sn_log(e, SN_LOG_DEBUG, "udp: send to port %u failed: %s", s->dport, strerror(err));
	if (err == EMSGSIZE && getsockopt(s->fd, IPPROTO_IP, IP_MTU, &mtu, &sl) < 0)
		mtu = 0;
	if (sn_udp_local_error(e, &s->daddr, p, err, (u32_t)mtu) && s->gen != gen)
		return -2;
	return 0;
}

/**
 * sn_udp_enqueue() - keep a guest datagram until the socket takes it
 * @u:		relay
 * @s:		session
 * @p:		datagram as for sn_udp_send(); consumed
 *
 * The first queued datagram turns on POLLOUT for the session's socket.
 */
static void sn_udp_enqueue(struct sn_udp *u, struct sn_udp_sess *s, struct pbuf *p)
{
	size_t len = sn_udp_plen(p);

	if (s->q_len >= SN_UDP_QUEUE_DGRAMS || s->q_bytes + len > SN_UDP_QUEUE_BYTES) {
		u->e->st.udp_drop_queue++;
		pbuf_free(p);
		return;
	}

	s->q[(s->q_head + s->q_len) % SN_UDP_QUEUE_DGRAMS] = p;
	s->q_len++;
	s->q_bytes += len;
	if (s->q_len == 1)
		sn_fd_events(u->e, s->slot, POLLIN | POLLOUT);
}

/**
 * sn_udp_flush() - send queued datagrams until the socket is full again
 * @u:		relay
 * @s:		session
 *
 * An empty queue turns POLLOUT off again.
 *
 * Return: 0, or -1 if the session was closed meanwhile
 */
static int sn_udp_flush(struct sn_udp *u, struct sn_udp_sess *s)
{
	struct pbuf *p;
	int r;

	while (s->q_len) {
		p = s->q[s->q_head];
		r = sn_udp_send(u, s, p);
		if (r == -2)
			return -1;	/* the queue went with the session */
		if (r < 0)
			return 0;
		s->q[s->q_head] = NULL;
		s->q_head = (s->q_head + 1) % SN_UDP_QUEUE_DGRAMS;
		s->q_len--;
		s->q_bytes -= sn_udp_plen(p);
		pbuf_free(p);
	}
	sn_fd_events(u->e, s->slot, POLLIN);
	return 0;
}

/**
 * sn_udp_recv() - relay datagrams from the host socket to the guest
 * @u:		relay
 * @s:		session
 *
 * Return: 0, or -1 if the session was closed
 */
static int sn_udp_recv(struct sn_udp *u, struct sn_udp_sess *s)
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
			if (sn_udp_err_async(errno)) {
				/* The peer (or a router) answered a datagram
				 * with an ICMP error: it is in the error queue
				 * too, and goes to the guest from there. */
				u->n_async_err++;
				if (sn_udp_errqueue(u, s) < 0)
					return -1;
				continue;
			}
			sn_log(e, SN_LOG_DEBUG, "udp: session to port %u closed: %s",
			       s->dport, strerror(errno));
			sn_udp_close(u, s);
			return -1;
		}

		sn_udp_touch(u, s);
		e->st.udp_dgrams_down++;
		err = sn_udp4_output(e, &s->daddr, s->dport, s->gport, u->buf, (size_t)n);
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
 * sn_udp_sock_ready() - engine callback: a session's socket is ready
 * @ctx:	the session
 * @fd:		its socket
 * @revents:	poll() revents
 *
 * POLLERR: the error queue has entries (or, when it had no room for one,
 * only the socket error is set: SO_ERROR clears it, or poll() would keep
 * reporting it).
 */
static void sn_udp_sock_ready(void *ctx, int fd, short revents)
{
	struct sn_udp_sess *s = ctx;
	struct sn_udp *u = s->u;
	int soerr, queued;
	socklen_t sl = sizeof(soerr);

	if (s->fd != fd)
		return;
	if (revents & POLLNVAL) {
		sn_udp_close(u, s);
		return;
	}
	if (revents & POLLERR) {
		queued = sn_udp_errqueue(u, s);
		if (queued < 0)
			return;
		if (queued == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
			u->n_async_err++;
	}
	if ((revents & POLLOUT) && sn_udp_flush(u, s) < 0)
		return;
	if (revents & POLLIN)
		sn_udp_recv(u, s);
}

/**
 * sn_udp_classify() - decide where a guest datagram may go
 * @e:		engine
 * @daddr:	destination the guest wrote
 * @dport:	destination port, host order
 * @to:		filled with the address to connect() to for SN_UDP_RELAY
 *
 * Return: enum sn_udp_verdict
 */
static enum sn_udp_verdict sn_udp_classify(struct sn_engine *e, const ip4_addr_t *daddr,
					   u16_t dport, struct sockaddr_in *to)
{
	u32_t a = daddr->addr;

	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	to->sin_port = lwip_htons(dport);
	to->sin_addr.s_addr = a;

	if (dport == 0)
		return SN_UDP_DROP;
	if (a == e->cfg.gw_ip4.s_addr) {
		if (!e->cfg.allow_host_loopback)
			return SN_UDP_DENY;
		to->sin_addr.s_addr = PP_HTONL(INADDR_LOOPBACK);
		return SN_UDP_RELAY;
	}
	if (ip4_addr_isloopback(daddr))
		return SN_UDP_DENY_SILENT;
	if ((a & PP_HTONL(0xff000000UL)) == 0 || ip4_addr_ismulticast(daddr) ||
	    ip4_addr_isbroadcast(daddr, &e->netif) || a == PP_HTONL(0xffffffffUL) ||
	    a == e->cfg.guest_ip4.s_addr)
		return SN_UDP_DROP;
	return SN_UDP_RELAY;
}

/**
 * sn_udp_take_entry() - a table entry for a new session
 * @u:		relay
 *
 * Evicts the least recently used session when every entry is in use.
 *
 * Return: a free entry, off the free list
 */
static struct sn_udp_sess *sn_udp_take_entry(struct sn_udp *u)
{
	struct sn_udp_sess *s;

	if (!u->free) {
		sn_log(u->e, SN_LOG_DEBUG, "udp: session limit %u reached, evicting",
		       u->n_sess);
		sn_udp_close(u, u->lru_tail);
		u->e->st.udp_evicted++;
	}
	s = u->free;
	u->free = s->lru_next;
	s->lru_next = NULL;
	return s;
}

/**
 * sn_udp_open() - open the session of a new 4-tuple
 * @u:		relay
 * @gaddr:	guest address
 * @gport:	guest port, host order
 * @daddr:	destination as the guest wrote it
 * @dport:	destination port, host order
 * @to:		where the socket connects
 *
 * Return: the new session, or NULL with errno set (socket(), connect(), or
 *	   ENOSPC when the engine has no fd slot left)
 */
static struct sn_udp_sess *sn_udp_open(struct sn_udp *u, const ip4_addr_t *gaddr, u16_t gport,
				       const ip4_addr_t *daddr, u16_t dport,
				       const struct sockaddr_in *to)
{
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct sn_udp_sess *s;
	unsigned b;
	int fd, slot, err, on = 1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	/* ICMP errors about our datagrams, with type, code and offender */
	if (setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on)) < 0)
		sn_log(u->e, SN_LOG_DEBUG, "udp: IP_RECVERR: %s", strerror(errno));
	if (bind(fd, (const struct sockaddr *)&any, sizeof(any)) < 0 ||
	    connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return NULL;
	}

	s = sn_udp_take_entry(u);
	slot = sn_fd_add(u->e, fd, POLLIN, sn_udp_sock_ready, s);
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
	s->last_ms = sn_now_ms();
	s->ttl = -1;
	s->quote_len = 0;
	b = sn_udp_hash(u, gaddr, gport, daddr, dport);
	s->hnext = u->bucket[b];
	u->bucket[b] = s;
	sn_udp_lru_push(u, s);

	u->n_active++;
	u->e->st.udp_sessions++;
	u->e->st.udp_sessions_active++;
	return s;
}

/**
 * sn_udp_input4() - a UDP datagram from the guest to relay
 * @e:		engine
 * @p:		IPv4 packet (payload at the IP header, validated and
 *		reassembled by the hook); consumed
 */
void sn_udp_input4(struct sn_engine *e, struct pbuf *p)
{
	struct sn_udp *u = e->udp;
	const struct ip_hdr *iph = p->payload;
	struct sn_udp_sess *s;
	struct sockaddr_in to;
	struct udp_hdr uh;
	ip4_addr_t src, dst, gw;
	u16_t iphlen, ulen, sport, dport;
	int err, r;

	if (!u) {
		e->st.drop_unsupported++;
		pbuf_free(p);
		return;
	}
	if (p->len < IP_HLEN)
		goto malformed;
	iphlen = IPH_HL_BYTES(iph);
	ip4_addr_copy(src, iph->src);
	ip4_addr_copy(dst, iph->dest);

	/* UDP header: present, and its length within the IP payload */
	if (p->tot_len < iphlen + UDP_HLEN ||
	    pbuf_copy_partial(p, &uh, UDP_HLEN, iphlen) != UDP_HLEN)
		goto malformed;
	ulen = lwip_ntohs(uh.len);
	if (ulen < UDP_HLEN || ulen > p->tot_len - iphlen)
		goto malformed;
	sport = lwip_ntohs(uh.src);
	dport = lwip_ntohs(uh.dest);

	/* From here on p is the guest's IP header and UDP datagram exactly. */
	pbuf_realloc(p, (u16_t)(iphlen + ulen));
	if (uh.chksum != 0) {
		IF__NETIF_CHECKSUM_ENABLED(&e->netif, NETIF_CHECKSUM_CHECK_UDP) {
			if (pbuf_remove_header(p, iphlen))
				goto malformed;
			r = inet_chksum_pseudo(p, IP_PROTO_UDP, ulen, &src, &dst) != 0;
			pbuf_add_header_force(p, iphlen);
			if (r)
				goto malformed;
		}
	}
	ip4_addr_set_u32(&gw, e->cfg.gw_ip4.s_addr);

	switch (sn_udp_classify(e, &dst, dport, &to)) {
	case SN_UDP_RELAY:
		break;
	case SN_UDP_DROP:
		e->st.drop_unsupported++;
		pbuf_free(p);
		return;
	case SN_UDP_DENY:
		e->st.host_denied++;
		sn_udp_reject(e, p, ICMP_DUR, ICMP_DUR_PORT, &dst);
		return;
	case SN_UDP_DENY_SILENT:
		e->st.host_denied++;
		pbuf_free(p);
		return;
	}

	/* The gateway is the first hop: a datagram that would leave it with
	 * TTL 0 expires here (traceroute's first probe). */
	if (!ip4_addr_eq(&dst, &gw) && IPH_TTL(iph) <= 1) {
		e->st.ttl_expired++;
		sn_udp_reject(e, p, ICMP_TE, ICMP_TE_TTL, &gw);
		return;
	}

	s = sn_udp_lookup(u, &src, sport, &dst, dport);
	if (!s) {
		s = sn_udp_open(u, &src, sport, &dst, dport, &to);
		if (!s) {
			err = errno;
			u->n_open_err++;
			sn_log(e, SN_LOG_DEBUG, "udp: no session to port %u: %s",
			       dport, strerror(err));
			/* no route: ICMP net/host unreachable; no fd or
			 * slot (EMFILE, ENOSPC): dropped, the guest retries */
			sn_udp_local_error(e, &dst, p, err, 0);
			pbuf_free(p);
			return;
		}
	}
	sn_udp_touch(u, s);

	/* Keep the guest's order: behind queued datagrams, or queue on EAGAIN. */
	r = s->q_len ? -1 : sn_udp_send(u, s, p);
	if (r == -1) {
		sn_udp_enqueue(u, s, p);
		return;
	}
	pbuf_free(p);
	return;

malformed:
	e->st.drop_malformed++;
	pbuf_free(p);
}

/**
 * sn_udp_tick() - expire sessions idle for cfg.udp_idle_ms
 * @e:		engine
 *
 * The LRU list is ordered by last traffic, so only its idle tail is visited.
 */
void sn_udp_tick(struct sn_engine *e)
{
	struct sn_udp *u = e->udp;
	uint32_t now = sn_now_ms();
	struct sn_udp_sess *s;

	if (!u)
		return;
	while ((s = u->lru_tail) && sn_time_after(now, s->last_ms + e->cfg.udp_idle_ms)) {
		sn_udp_close(u, s);
		e->st.udp_expired++;
	}
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
	u->bucket = calloc(nb, sizeof(*u->bucket));
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
		sn_udp_close(u, u->lru_head);
	free(u->bucket);
	free(u->sess);
	free(u);
	e->udp = NULL;
}
