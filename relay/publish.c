// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - published ports
 *
 * A published port is a host socket the engine opens on HOST_IP:HOST_PORT
 * (sn_engine_publish()) whose connections (TCP) or datagrams (UDP) reach
 * one port of the guest: `podman -p` for a sandbox. At most SN_PUBLISH_MAX
 * at once, each polled by the engine like any relay socket, each closed by
 * sn_engine_unpublish() or when the engine goes.
 *
 * Who the guest sees
 *   The real client: its address and its port. A client on the host's
 *   loopback (127.0.0.0/8, ::1: on the guest's side those mean the guest
 *   itself) and an IPv6 link-local client (an address that means nothing
 *   on the guest's link) appear as the gateway address of their family
 *   (cfg.gw_ip4, cfg.gw_ip6), with their own port. The policy's class of
 *   the address says which is which; an IPv4-mapped client of a
 *   dual-stack listener is an IPv4 client. IPv4 clients reach the guest's
 *   IPv4 address, IPv6 clients its IPv6 address, on the published port.
 *
 * Policy
 *   Each new connection and each new UDP client is decided once, as
 *   ingress from the real client address to the guest port
 *   (sn_decide(SN_POLICY_INGRESS)). A denied TCP client is reset at once
 *   (SO_LINGER 0); a denied UDP client's datagrams are dropped for as long
 *   as its session lasts. Denials count in policy_denied.
 *
 * TCP
 *   A listener (SO_REUSEADDR, backlog SOMAXCONN) accepts up to
 *   SN_PUB_ACCEPT_BURST connections per wake-up and hands each allowed one
 *   to the TCP proxy (sn_tcp_flow_inbound(), relay/tcp.c): lwIP connects to
 *   the guest from the client's address and port, and from the guest's
 *   SYN-ACK on the flow is spliced exactly as a guest-initiated one
 *   (backpressure both ways, half-close, no fd kept). The guest port
 *   closed (RST), the guest silent for cfg.tcp_connect_ms, a 4-tuple the
 *   guest already uses (two loopback clients on the same port number are
 *   both the gateway to the guest), or no room: the client is reset
 *   (publish_reset). The proxy owns the connection from then on, so
 *   unpublishing closes only the listener and established connections go
 *   on. When accept() runs out of descriptors (EMFILE, ENFILE) the
 *   listener rests until the next tick rather than spin on a backlog it
 *   cannot take.
 *
 * UDP
 *   One socket bound to HOST_IP:HOST_PORT per published port. Each client
 *   (socket, address, port) is a session in one table of
 *   SN_PUB_UDP_SESSIONS entries shared by the UDP ports: opened on its
 *   first datagram and decided then, refreshed by traffic both ways,
 *   closed after cfg.udp_idle_ms of silence (sn_publish_tick()); when the
 *   table is full the least recently used session is reused. Datagrams go
 *   to the guest with sn_udp_output() from the client as the guest sees it
 *   (those larger than the MTU are fragmented by the output path). The
 *   guest's replies, UDP from the published guest port to a session's
 *   address and port, are taken by the UDP relay's input before it would
 *   open a session of its own (sn_publish_udp_reply(), after the relay
 *   has validated the datagram) and sent to the client with sendto() on
 *   the published socket, so they come from HOST_IP:HOST_PORT. A reply to
 *   a client's port 53 is steered past the DNS forwarder by the hooks
 *   (sn_publish_udp_owns()). Since the guest answers what it sees, the
 *   4-tuple it sees names one session: a new client that would look the
 *   same to the guest (another loopback address on the same port)
 *   replaces the old session.
 *
 * Lifetime
 *   The table is allocated on the first sn_engine_publish(); until then
 *   e->publish is NULL and every entry point returns at once.
 *   sn_publish_fini() closes every published socket and forgets every UDP
 *   session; the TCP proxy ends the connections it owns. No fd outlives
 *   the engine.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/engine.h"
#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/prot/udp.h"
#include "relay/relay.h"

/* Connections accepted per listener wake-up: bounds one port's hold on the loop. */
#define SN_PUB_ACCEPT_BURST	16
/* Datagrams read per UDP wake-up (fairness). */
#define SN_PUB_RECV_BATCH	64
/* UDP clients of published ports remembered at once. */
#define SN_PUB_UDP_SESSIONS	256
/* A port whose accept() ran out of fds rests this long before it is polled
 * again. */
#define SN_PUB_REST_MS		250

/**
 * struct pub_port - one published port
 * @fd:		the host socket, -1 when the entry is free
 * @slot:	its engine fd slot
 * @proto:	IPPROTO_TCP or IPPROTO_UDP
 * @gport:	the guest's port
 * @resting:	accept() ran out of fds: not polled for SN_PUB_REST_MS
 */
struct pub_port {
	int fd;
	int slot;
	int proto;
	u16_t gport;
	int resting;
};

/**
 * struct pub_sess - one UDP client of a published port
 * @port:	its published port, NULL when the entry is free
 * @peer:	the client's real address, to sendto()
 * @peerlen:	its length
 * @seen:	the client's address as the guest sees it
 * @cport:	the client's port
 * @guest:	the guest address its datagrams go to
 * @denied:	the policy refused it: its datagrams are dropped
 * @last_ms:	time of the last datagram either way
 * @born_ms:	when the session opened
 * @bytes_up:	payload bytes of the guest's replies sent to the client
 * @bytes_down:	payload bytes from the client passed to the guest
 */
struct pub_sess {
	struct pub_port *port;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	ip_addr_t seen;
	u16_t cport;
	ip_addr_t guest;
	int denied;
	uint32_t last_ms;
	uint32_t born_ms;
	uint64_t bytes_up;
	uint64_t bytes_down;
};

/**
 * struct sn_publish - published ports and their UDP clients
 * @port:	published ports; the id is the index
 * @n_udp:	published UDP ports (no reply lookups while 0)
 * @sess:	UDP sessions
 */
struct sn_publish {
	struct pub_port port[SN_PUBLISH_MAX];
	unsigned n_udp;
	struct pub_sess sess[SN_PUB_UDP_SESSIONS];
};

/* One datagram, either way (one engine per process). */
static uint8_t pub_buf[65536];

/**
 * pub_err() - fill the caller's error buffer and errno
 * @err:	buffer, may be NULL
 * @errlen:	its size
 * @errnum:	errno to set
 * @fmt:	message
 *
 * Return: -1, for the caller to return
 */
static int pub_err(char *err, size_t errlen, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int pub_err(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = errnum;
	return -1;
}

/**
 * pub_client() - a client's address for the policy, and as the guest sees it
 * @e:		engine
 * @sa:		the client, from accept() or recvfrom()
 * @proto:	SN_PROTO_TCP or SN_PROTO_UDP
 * @gport:	the guest port it is for
 * @seen:	filled: the address the guest sees
 * @cport:	filled: the client's port
 * @guest:	filled: the guest address of the same family
 *
 * Return: SN_POLICY_ALLOW or SN_POLICY_DENY (sn_decide(), counted and logged)
 */
static int pub_client(struct sn_engine *e, const struct sockaddr_storage *sa, unsigned proto,
		      u16_t gport, ip_addr_t *seen, u16_t *cport, ip_addr_t *guest)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	struct sn_verdict v;
	int action;

	if (sa->ss_family == AF_INET) {
		ip_addr_set_ip4_u32_val(*seen, sin->sin_addr.s_addr);
		*cport = lwip_ntohs(sin->sin_port);
	} else if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		u32_t a4;

		memcpy(&a4, &sin6->sin6_addr.s6_addr[12], 4);
		ip_addr_set_ip4_u32_val(*seen, a4);
		*cport = lwip_ntohs(sin6->sin6_port);
	} else {
		ip_addr_set_zero_ip6(seen);
		memcpy(ip_2_ip6(seen)->addr, &sin6->sin6_addr, 16);
		*cport = lwip_ntohs(sin6->sin6_port);
	}
	action = sn_decide(e, SN_POLICY_INGRESS, proto, seen, gport, &v);
	if (IP_IS_V6(seen)) {
		if (v.cls == SN_CLASS_LOOPBACK || v.cls == SN_CLASS_LINK_LOCAL)
			memcpy(ip_2_ip6(seen)->addr, &e->cfg.gw_ip6, 16);
		ip_addr_set_zero_ip6(guest);
		memcpy(ip_2_ip6(guest)->addr, &e->cfg.guest_ip6, 16);
	} else {
		if (v.cls == SN_CLASS_LOOPBACK)
			ip_addr_set_ip4_u32_val(*seen, e->cfg.gw_ip4.s_addr);
		ip_addr_set_ip4_u32_val(*guest, e->cfg.guest_ip4.s_addr);
	}
	return action;
}

/* ---- TCP ---- */

/**
 * pub_tcp_start() - hand one accepted connection to the TCP proxy, or reset it
 * @e:		engine
 * @pp:		its published port
 * @fd:		the accepted socket, non-blocking
 * @peer:	the client
 */
static void pub_tcp_start(struct sn_engine *e, struct pub_port *pp, int fd,
			  const struct sockaddr_storage *peer)
{
	ip_addr_t seen, guest;
	u16_t cport;

	if (pub_client(e, peer, SN_PROTO_TCP, pp->gport, &seen, &cport, &guest) !=
	    SN_POLICY_ALLOW) {
		sn_tcp_sock_reset(fd);
		close(fd);
		return;
	}
	if (sn_tcp_flow_inbound(e, fd, &seen, cport, &guest, pp->gport)) {
		e->st.publish_reset++;
		sn_tcp_sock_reset(fd);
		close(fd);
		return;
	}
	e->st.publish_accepted++;
}

/**
 * pub_tcp_ready() - a published TCP port has connections to accept
 * @ctx:	the published port
 * @fd:		its listener
 * @revents:	poll() result
 */
static void pub_tcp_ready(void *ctx, int fd, short revents)
{
	struct pub_port *pp = ctx;
	struct sn_engine *e = sn_eng;
	int i;

	(void)revents;
	for (i = 0; i < SN_PUB_ACCEPT_BURST && pp->fd == fd; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int c;

		memset(&peer, 0, sizeof(peer));
		c = accept4(fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c >= 0) {
			pub_tcp_start(e, pp, c, &peer);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			sn_log(e, SN_LOG_WARN, "publish: accept: %s; pausing port %u",
			       strerror(errno), pp->gport);
			pp->resting = 1;
			sn_fd_events(e, pp->slot, 0);
			sn_timer_arm(e, sn_now_ms() + SN_PUB_REST_MS);
		}
		return;
	}
}

/* ---- UDP ---- */

/**
 * pub_sess_free() - forget a UDP session
 * @s:		session
 */
static void pub_sess_free(struct pub_sess *s)
{
	memset(s, 0, sizeof(*s));
}

/**
 * pub_sess_seen() - the live session the guest knows by a 4-tuple
 * @P:		published ports
 * @seen:	the client as the guest sees it
 * @cport:	the client's port
 * @gport:	the guest's port
 *
 * Return: the session, or NULL
 */
static struct pub_sess *pub_sess_seen(struct sn_publish *P, const ip_addr_t *seen, u16_t cport,
				      u16_t gport)
{
	unsigned i;

	for (i = 0; i < SN_PUB_UDP_SESSIONS; i++) {
		struct pub_sess *s = &P->sess[i];

		if (s->port && s->cport == cport && s->port->gport == gport &&
		    ip_addr_eq(&s->seen, seen))
			return s;
	}
	return NULL;
}

/**
 * pub_sess_get() - the session of a client of a published UDP port, opened if new
 * @e:		engine
 * @pp:		the published port
 * @peer:	the client
 * @pl:		its length
 *
 * Return: the session (maybe a denied one), or NULL if the client cannot
 *	   be a session (not IPv4 or IPv6)
 */
static struct pub_sess *pub_sess_get(struct sn_engine *e, struct pub_port *pp,
				     const struct sockaddr_storage *peer, socklen_t pl)
{
	struct sn_publish *P = e->publish;
	struct pub_sess *s, *lru = NULL;
	ip_addr_t seen, guest;
	u16_t cport;
	unsigned i;
	int action;

	for (i = 0; i < SN_PUB_UDP_SESSIONS; i++) {
		s = &P->sess[i];
		if (s->port == pp && s->peerlen == pl && !memcmp(&s->peer, peer, pl))
			return s;
		if (!lru || (lru->port && (!s->port || sn_time_after(lru->last_ms, s->last_ms))))
			lru = s;
	}
	if (peer->ss_family != AF_INET && peer->ss_family != AF_INET6)
		return NULL;
	action = pub_client(e, peer, SN_PROTO_UDP, pp->gport, &seen, &cport, &guest);
	s = pub_sess_seen(P, &seen, cport, pp->gport);
	if (!s) {
		s = lru;
		if (s->port)
			e->st.udp_evicted++;
	}
	pub_sess_free(s);
	s->port = pp;
	memcpy(&s->peer, peer, pl);
	s->peerlen = pl;
	s->seen = seen;
	s->cport = cport;
	s->guest = guest;
	s->last_ms = sn_now_ms();
	sn_timer_arm(e, s->last_ms + e->cfg.udp_idle_ms);
	s->denied = action != SN_POLICY_ALLOW;
	s->born_ms = sn_now_ms();
	if (!s->denied)
		e->st.publish_accepted++;
	return s;
}

/**
 * pub_udp_ready() - datagrams from clients of a published UDP port
 * @ctx:	the published port
 * @fd:		its socket
 * @revents:	poll() result
 */
static void pub_udp_ready(void *ctx, int fd, short revents)
{
	struct pub_port *pp = ctx;
	struct sn_engine *e = sn_eng;
	int i;

	(void)revents;
	for (i = 0; i < SN_PUB_RECV_BATCH && pp->fd == fd; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		struct pub_sess *s;
		ssize_t n;
		err_t err;

		memset(&peer, 0, sizeof(peer));
		n = recvfrom(fd, pub_buf, sizeof(pub_buf), MSG_DONTWAIT, (struct sockaddr *)&peer,
			     &pl);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		s = pub_sess_get(e, pp, &peer, pl);
		if (!s)
			continue;
		s->last_ms = sn_now_ms();
		if (s->denied)
			continue;
		e->st.udp_dgrams_down++;
		s->bytes_down += (uint64_t)n;
		err = sn_udp_output(e, &s->seen, s->cport, &s->guest, pp->gport, pub_buf,
				    (size_t)n);
		if (err != ERR_OK)
			sn_log(e, SN_LOG_DEBUG, "publish: %zd bytes to guest port %u not sent: %d",
			       n, pp->gport, (int)err);
	}
}

/**
 * sn_publish_udp_owns() - is this guest datagram a reply to a published UDP port's client
 * @e:		engine
 * @dst:	its destination address
 * @sport:	its source port (the guest's), host order
 * @dport:	its destination port, host order
 *
 * Return: non-zero if a session of a published port is addressed
 */
int sn_publish_udp_owns(struct sn_engine *e, const ip_addr_t *dst, u16_t sport, u16_t dport)
{
	struct pub_sess *s;

	if (!e->publish || !e->publish->n_udp)
		return 0;
	s = pub_sess_seen(e->publish, dst, dport, sport);
	return s && !s->denied;
}

/**
 * sn_publish_udp_reply() - send a guest's reply to a published UDP port's client
 * @e:		engine
 * @p:		the guest's datagram, validated (payload at the IP header,
 *		trimmed to the UDP length); consumed if taken
 * @off:	offset of the UDP header
 * @dst:	its destination address
 * @sport:	its source port, host order
 * @dport:	its destination port, host order
 *
 * Return: 1 if it was a reply (sent or dropped, @p freed), 0 if not (@p untouched)
 */
int sn_publish_udp_reply(struct sn_engine *e, struct pbuf *p, u16_t off, const ip_addr_t *dst,
			 u16_t sport, u16_t dport)
{
	struct pub_sess *s;
	u16_t len;

	if (!sn_publish_udp_owns(e, dst, sport, dport))
		return 0;
	s = pub_sess_seen(e->publish, dst, dport, sport);
	len = (u16_t)(p->tot_len - off - UDP_HLEN);
	if (pbuf_copy_partial(p, pub_buf, len, (u16_t)(off + UDP_HLEN)) == len &&
	    sendto(s->port->fd, pub_buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
		   (const struct sockaddr *)&s->peer, s->peerlen) >= 0) {
		s->last_ms = sn_now_ms();
		s->bytes_up += len;
		e->st.udp_dgrams_up++;
	} else {
		e->st.udp_drop_queue++;		/* the host socket is full: UDP loses it */
	}
	pbuf_free(p);
	return 1;
}

/* ---- publishing ---- */

/**
 * pub_table() - the published ports, allocated on first use
 * @e:		engine
 *
 * Return: the table, or NULL (ENOMEM)
 */
static struct sn_publish *pub_table(struct sn_engine *e)
{
	unsigned i;

	if (e->publish)
		return e->publish;
	e->publish = calloc(1, sizeof(*e->publish));
	if (!e->publish)
		return NULL;
	for (i = 0; i < SN_PUBLISH_MAX; i++)
		e->publish->port[i].fd = -1;
	return e->publish;
}

/**
 * pub_open() - open, bind and (TCP) listen on a published port's socket
 * @proto:	IPPROTO_TCP or IPPROTO_UDP
 * @host:	address
 * @len:	its length
 *
 * Return: the socket, or -1 with errno set
 */
static int pub_open(int proto, const struct sockaddr *host, socklen_t len)
{
	int type = proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM, one = 1, zero = 0, fd, err;

	fd = socket(host->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* a listener comes back at once after a restart (TIME_WAIT); UDP keeps
	 * the default: two sockets on one port would split its datagrams */
	if (proto == IPPROTO_TCP)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] takes IPv4 clients too, whatever net.ipv6.bindv6only says */
	if (host->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, host, len) || (proto == IPPROTO_TCP && listen(fd, SOMAXCONN))) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/**
 * pub_addr_str() - a socket address as "a.b.c.d:port" or "[v6]:port"
 * @sa:		address (AF_INET or AF_INET6)
 * @buf:	filled
 * @len:	its size
 *
 * Return: @buf
 */
static const char *pub_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	struct sn_ip ip;
	char a[48];
	u16_t port;

	if (sa->sa_family == AF_INET) {
		sn_ip_from4(&ip, ((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		port = lwip_ntohs(((const struct sockaddr_in *)sa)->sin_port);
	} else {
		memcpy(ip.b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		port = lwip_ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	sn_ip_format(&ip, a, sizeof(a));
	snprintf(buf, len, sa->sa_family == AF_INET ? "%s:%u" : "[%s]:%u", a, port);
	return buf;
}

/**
 * sn_engine_publish() - open a published port (see sandnet.h)
 * @e:		engine
 * @proto:	IPPROTO_TCP or IPPROTO_UDP
 * @host:	address and port to listen on
 * @len:	its length
 * @guest_port:	the guest's port
 * @err:	a message on failure, or NULL
 * @errlen:	size of @err
 *
 * Return: the id (index in the table), or -1 with errno
 */
int sn_engine_publish(struct sn_engine *e, int proto, const struct sockaddr *host, socklen_t len,
		      uint16_t guest_port, char *err, size_t errlen)
{
	const char *pname = proto == IPPROTO_TCP ? "tcp" : "udp";
	struct sn_publish *P;
	struct pub_port *pp = NULL;
	char where[64];
	unsigned i;
	int fd;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return pub_err(err, errlen, EINVAL, "protocol must be TCP or UDP");
	if (!host || !((host->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
		       (host->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))))
		return pub_err(err, errlen, EINVAL, "host address must be IPv4 or IPv6");
	pub_addr_str(host, where, sizeof(where));
	if (!guest_port || (host->sa_family == AF_INET ?
			    !((const struct sockaddr_in *)host)->sin_port :
			    !((const struct sockaddr_in6 *)host)->sin6_port))
		return pub_err(err, errlen, EINVAL, "%s/%s: ports must be 1..65535", where, pname);
	P = pub_table(e);
	if (!P)
		return pub_err(err, errlen, ENOMEM, "out of memory");
	for (i = 0; i < SN_PUBLISH_MAX && !pp; i++)
		if (P->port[i].fd < 0)
			pp = &P->port[i];
	if (!pp)
		return pub_err(err, errlen, ENOSPC, "%s/%s: at most %d published ports", where,
			       pname, SN_PUBLISH_MAX);
	fd = pub_open(proto, host, len);
	if (fd < 0)
		return pub_err(err, errlen, errno, "%s/%s: %s", where, pname, strerror(errno));
	pp->slot = sn_fd_add(e, fd, POLLIN, proto == IPPROTO_TCP ? pub_tcp_ready : pub_udp_ready,
			     pp);
	if (pp->slot < 0) {
		close(fd);
		return pub_err(err, errlen, ENOSPC, "%s/%s: no fd slot left", where, pname);
	}
	pp->fd = fd;
	pp->proto = proto;
	pp->gport = guest_port;
	pp->resting = 0;
	if (proto == IPPROTO_UDP)
		P->n_udp++;
	sn_log(e, SN_LOG_INFO, "publish: %s/%s to guest port %u", where, pname, guest_port);
	return (int)(pp - P->port);
}

/**
 * sn_engine_unpublish() - close a published port; its TCP connections go on
 * @e:		engine
 * @id:		from sn_engine_publish()
 *
 * Return: 0, or -1 with errno ENOENT
 */
int sn_engine_unpublish(struct sn_engine *e, int id)
{
	struct sn_publish *P = e->publish;
	struct pub_port *pp;
	unsigned i;

	if (!P || id < 0 || id >= SN_PUBLISH_MAX || P->port[id].fd < 0) {
		errno = ENOENT;
		return -1;
	}
	pp = &P->port[id];
	sn_fd_del(e, pp->slot);
	close(pp->fd);
	pp->fd = -1;
	pp->slot = -1;
	if (pp->proto != IPPROTO_UDP)
		return 0;
	P->n_udp--;
	for (i = 0; i < SN_PUB_UDP_SESSIONS; i++)
		if (P->sess[i].port == pp)
			pub_sess_free(&P->sess[i]);
	return 0;
}

/**
 * sn_engine_published() - what a published port is
 * @e:		engine
 * @id:		from sn_engine_publish()
 * @proto:	set to IPPROTO_TCP or IPPROTO_UDP
 * @host:	set to the address it listens on (getsockname())
 * @guest_port:	set to the guest's port
 *
 * Return: 0, or -1 with errno ENOENT (or getsockname()'s error)
 */
int sn_engine_published(struct sn_engine *e, int id, int *proto, struct sockaddr_storage *host,
			uint16_t *guest_port)
{
	const struct sn_publish *P = e->publish;
	socklen_t len = sizeof(*host);

	if (!P || id < 0 || id >= SN_PUBLISH_MAX || P->port[id].fd < 0) {
		errno = ENOENT;
		return -1;
	}
	memset(host, 0, sizeof(*host));
	if (getsockname(P->port[id].fd, (struct sockaddr *)host, &len))
		return -1;
	*proto = P->port[id].proto;
	*guest_port = P->port[id].gport;
	return 0;
}

/**
 * sn_publish_walk() - report the published UDP ports' clients to sn_engine_flows()
 * @e:		engine
 * @fn:		called for each session the policy let in
 * @ctx:	passed to @fn
 * @n:		incremented for each session reported
 *
 * Their TCP connections are the TCP proxy's flows (sn_tcp_walk()).
 *
 * Return: non-zero if @fn asked to stop
 */
int sn_publish_walk(struct sn_engine *e, sn_flow_fn fn, void *ctx, unsigned *n)
{
	const struct sn_publish *P = e->publish;
	uint32_t now = sn_now_ms();
	struct sn_flow_info fi;
	unsigned i;

	for (i = 0; P && i < SN_PUB_UDP_SESSIONS; i++) {
		const struct pub_sess *s = &P->sess[i];

		if (!s->port || s->denied)
			continue;
		memset(&fi, 0, sizeof(fi));
		fi.proto = IPPROTO_UDP;
		fi.inbound = 1;
		fi.state = "open";
		sn_flow_addr(&fi.guest, &s->guest, s->port->gport);
		sn_flow_addr(&fi.remote, &s->seen, s->cport);
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
 * sn_publish_tick() - expire idle UDP clients, wake rested listeners, arm the
 *		       next expiry
 * @e:		engine
 *
 * A rested listener wakes on the first tick after its rest, which may come
 * early for another relay's deadline: a shorter rest is harmless.
 */
void sn_publish_tick(struct sn_engine *e)
{
	struct sn_publish *P = e->publish;
	uint32_t now = sn_now_ms();
	unsigned i;

	if (!P)
		return;
	for (i = 0; i < SN_PUBLISH_MAX; i++) {
		if (P->port[i].fd >= 0 && P->port[i].resting) {
			P->port[i].resting = 0;
			sn_fd_events(e, P->port[i].slot, POLLIN);
		}
	}
	for (i = 0; i < SN_PUB_UDP_SESSIONS && P->n_udp; i++) {
		struct pub_sess *s = &P->sess[i];

		if (!s->port)
			continue;
		if (!sn_time_after(now, s->last_ms + e->cfg.udp_idle_ms)) {
			sn_timer_arm(e, s->last_ms + e->cfg.udp_idle_ms);
			continue;
		}
		e->st.udp_expired++;
		pub_sess_free(s);
	}
}

/**
 * sn_publish_fini() - close every published port
 * @e:		engine
 */
void sn_publish_fini(struct sn_engine *e)
{
	int i;

	if (!e->publish)
		return;
	for (i = 0; i < SN_PUBLISH_MAX; i++)
		sn_engine_unpublish(e, i);
	free(e->publish);
	e->publish = NULL;
}
