// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation
 *
 * One datagram is one frame: QEMU's -netdev dgram, libkrun's and vfkit's
 * unixgram, or a connected datagram socket a parent hands over.
 *
 * The peer. A connected socket has it. A socket that is only bound (the
 * path `sandnet serve --dgram` listens on) learns it from the first
 * datagram's sender and answers there with sendto(). vfkit opens with a
 * 4-byte "VFKT" datagram before any frame, as gvisor-tap-vsock expects: it
 * names the peer and is not a frame. A datagram from another sender later
 * is a new guest (a VM started again elsewhere): the link reports
 * ECONNRESET and keeps that datagram, delivered first once the embedder
 * has made a fresh engine and called sn_frontend_set_fd(). The peer's
 * socket gone (sendto() says ECONNREFUSED or ENOENT) ends the link too;
 * a datagram link has no other sign of a closed peer.
 *
 * Room at the peer. A unix datagram socket refuses with EAGAIN when the
 * receiver's queue is full (net.unix.max_dgram_qlen datagrams) or when
 * our own send buffer is. Frames then wait in frontend.c's bounded queue,
 * and poll() must say when to try again without spinning: an unconnected
 * socket polls writable whatever the receiver's queue, so the wait is on
 * a second socket connected to the peer (the probe, whose POLLOUT follows
 * the receiver's queue) unless our own send buffer is the full one, which
 * the link's own POLLOUT follows. A connected socket's POLLOUT follows
 * both. Datagrams are sent whole, so a dropped one is a frame lost, which
 * TCP retransmits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "frontend/dgram.h"
#include "frontend/frontend.h"

/* Datagrams read per wake-up before host sockets are served. */
#define DGRAM_BATCH	64

/* vfkit's first datagram, before any frame */
static const char vfkt[4] = { 'V', 'F', 'K', 'T' };

/**
 * dgram_name() - a peer's address for a log line
 * @sa:		address
 * @len:	its length
 * @buf:	filled
 * @size:	size of @buf
 *
 * Return: @buf
 */
static const char *dgram_name(const struct sockaddr_storage *sa, socklen_t len, char *buf,
			      size_t size)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
	size_t plen;

	if (sa->ss_family != AF_UNIX) {
		snprintf(buf, size, "(address family %d)", sa->ss_family);
		return buf;
	}
	plen = len > offsetof(struct sockaddr_un, sun_path) ?
	       len - offsetof(struct sockaddr_un, sun_path) : 0;
	if (!plen)
		snprintf(buf, size, "(unnamed)");
	else if (!un->sun_path[0])
		snprintf(buf, size, "@%.*s", (int)plen - 1, un->sun_path + 1);
	else
		snprintf(buf, size, "%.*s", (int)strnlen(un->sun_path, plen), un->sun_path);
	return buf;
}

/**
 * dgram_adopt() - the sender of @from is the guest from now on
 * @fe:		frontend
 * @from:	its address
 * @len:	the address's length
 */
static void dgram_adopt(struct sn_frontend *fe, const struct sockaddr_storage *from, socklen_t len)
{
	char name[128];

	memcpy(&fe->peer, from, len);
	fe->peer_len = len;
	if (fe->probe >= 0)
		close(fe->probe);
	fe->probe = -1;
	if (from->ss_family == AF_UNIX) {
		fe->probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fe->probe >= 0 && connect(fe->probe, (const struct sockaddr *)from, len)) {
			close(fe->probe);
			fe->probe = -1;
		}
	}
	sn_frontend_log(fe, SN_LOG_INFO, "guest link: datagram peer %s",
			dgram_name(from, len, name, sizeof(name)));
}

/**
 * dgram_one() - one datagram read: greeting, new peer or frame
 * @fe:		frontend
 * @e:		engine
 * @len:	its length (in fe->rbuf)
 * @from:	its sender (learnt peers only)
 * @fromlen:	the sender's length
 *
 * Return: 0, or -1 (ECONNRESET) when it comes from a new peer
 */
static int dgram_one(struct sn_frontend *fe, struct sn_engine *e, size_t len,
		     const struct sockaddr_storage *from, socklen_t fromlen)
{
	int greeting = len == sizeof(vfkt) && !memcmp(fe->rbuf, vfkt, sizeof(vfkt));
	char name[128];

	if (fe->learn && fromlen > offsetof(struct sockaddr_un, sun_path)) {
		if (fe->peer_len && (fromlen != fe->peer_len || memcmp(from, &fe->peer, fromlen))) {
			sn_frontend_log(fe, SN_LOG_INFO,
					"guest link: datagrams from a new peer %s: a new guest",
					dgram_name(from, fromlen, name, sizeof(name)));
			memcpy(&fe->stash_from, from, fromlen);
			fe->stash_from_len = fromlen;
			fe->stash_len = len;
			return sn_frontend_fail(fe, ECONNRESET);
		}
		if (!fe->peer_len)
			dgram_adopt(fe, from, fromlen);
	}
	if (greeting && !fe->link_frames) {
		fe->st.greetings++;
		return 0;
	}
	if (len)
		sn_frontend_in(fe, e, fe->rbuf, len, 0);
	return 0;
}

/**
 * sn_dgram_read() - hand the datagrams waiting to the engine
 * @fe:		frontend
 * @e:		engine
 *
 * Return: 0, or -1 with errno
 */
int sn_dgram_read(struct sn_frontend *fe, struct sn_engine *e)
{
	int i;

	if (fe->stash_len) {
		size_t len = fe->stash_len;

		fe->stash_len = 0;
		if (dgram_one(fe, e, len, &fe->stash_from, fe->stash_from_len))
			return -1;
	}
	for (i = 0; i < DGRAM_BATCH && !fe->err; i++) {
		struct sockaddr_storage from = { .ss_family = AF_UNSPEC };
		socklen_t fromlen = sizeof(from);
		ssize_t n;

		n = recvfrom(fe->cfg.fd, fe->rbuf, fe->rcap, MSG_TRUNC,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return 0;
			if (errno == ENOTSOCK) {	/* a character device: one frame a read */
				n = read(fe->cfg.fd, fe->rbuf, fe->rcap);
				fromlen = 0;
				if (n > 0)
					goto got;
				if (n < 0 && (errno == EAGAIN || errno == EINTR))
					return 0;
			}
			return sn_frontend_fail(fe, n ? errno : EPIPE);
		}
got:
		if ((size_t)n >= fe->rcap) {
			fe->st.bad_framing++;	/* over the largest frame: dropped */
			continue;
		}
		if (dgram_one(fe, e, (size_t)n, &from, fromlen))
			return -1;
	}
	return fe->err ? sn_frontend_fail(fe, fe->err) : 0;
}

/**
 * dgram_send() - send one frame to the peer
 * @fe:		frontend
 * @frame:	frame
 * @len:	its length
 *
 * Return: send()'s result
 */
static ssize_t dgram_send(struct sn_frontend *fe, const void *frame, size_t len)
{
	ssize_t n;

	if (fe->learn)
		return sendto(fe->cfg.fd, frame, len, MSG_NOSIGNAL,
			      (const struct sockaddr *)&fe->peer, fe->peer_len);
	n = send(fe->cfg.fd, frame, len, MSG_NOSIGNAL);
	if (n < 0 && errno == ENOTSOCK)
		n = write(fe->cfg.fd, frame, len);
	return n;
}

/**
 * dgram_wait_on() - after EAGAIN, pick the fd whose POLLOUT says to try again
 * @fe:		frontend
 *
 * Return: 0, or -1 if nothing can tell (frames are then dropped, not queued)
 */
static int dgram_wait_on(struct sn_frontend *fe)
{
	struct pollfd p = { .fd = fe->cfg.fd, .events = POLLOUT };

	fe->wait_fd = fe->cfg.fd;
	if (!fe->learn || fe->peer.ss_family != AF_UNIX)
		return 0;
	if (fe->probe < 0)
		return -1;
	/* Our own send buffer full: the link's POLLOUT; else the peer's queue */
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLOUT))
		fe->wait_fd = fe->probe;
	return 0;
}

/**
 * dgram_gone() - does a send error mean the peer is gone
 * @err:	errno
 *
 * Return: non-zero if so
 */
static int dgram_gone(int err)
{
	return err == ECONNREFUSED || err == ENOENT || err == ENOTCONN || err == EPIPE ||
	       err == ECONNRESET || err == EBADF || err == EDESTADDRREQ;
}

/**
 * sn_dgram_write() - send one frame to the peer, queue it if it has no room
 * @fe:		frontend
 * @frame:	frame
 * @len:	its length
 *
 * Return: 0 if sent, queued or discarded for lack of a peer; -1 if dropped
 */
int sn_dgram_write(struct sn_frontend *fe, const void *frame, size_t len)
{
	ssize_t n;

	if (fe->learn && !fe->peer_len) {
		fe->st.no_link++;
		return 0;
	}
	if (!sn_queue_frames(fe)) {
		n = dgram_send(fe, frame, len);
		if (n == (ssize_t)len) {
			sn_frontend_took(fe, frame, len);
			return 0;
		}
		if (n < 0 && dgram_gone(errno)) {
			sn_frontend_fail(fe, errno);
			return -1;
		}
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) ||
		    dgram_wait_on(fe)) {
			fe->st.queue_drops++;	/* EMSGSIZE and the like: this frame only */
			return -1;
		}
	}
	if (sn_queue_push(fe, frame, len, NULL, 0))
		return -1;
	sn_frontend_took(fe, frame, len);
	return 0;
}

/**
 * sn_dgram_flush() - send the queued frames the peer has room for
 * @fe:		frontend
 *
 * Return: 0, or -1 with errno when the peer is gone
 */
int sn_dgram_flush(struct sn_frontend *fe)
{
	while (sn_queue_frames(fe)) {
		size_t len = fe->q_len[fe->q_first];
		ssize_t n = dgram_send(fe, fe->q + fe->q_head, len);

		if (n < 0 && dgram_gone(errno))
			return sn_frontend_fail(fe, errno);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			if (dgram_wait_on(fe))
				sn_queue_clear(fe);
			return 0;
		}
		if (n < 0)
			fe->st.queue_drops++;
		sn_queue_wrote(fe, len);
	}
	return 0;
}

/**
 * sn_dgram_reset() - a new link: forget the peer, see whether to learn one
 * @fe:		frontend, cfg.fd set
 */
void sn_dgram_reset(struct sn_frontend *fe)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	if (fe->probe >= 0)
		close(fe->probe);
	fe->probe = -1;
	fe->peer_len = 0;
	fe->wait_fd = fe->cfg.fd;
	fe->learn = fe->cfg.fd >= 0 && getpeername(fe->cfg.fd, (struct sockaddr *)&sa, &len) &&
		    errno == ENOTCONN;
}

/**
 * sn_dgram_pollfds() - the link's entries for poll()
 * @fe:		frontend
 * @fds:	fds[0] is the link with POLLIN
 *
 * Return: entries used
 */
int sn_dgram_pollfds(struct sn_frontend *fe, struct pollfd *fds)
{
	if (!sn_queue_frames(fe))
		return 1;
	if (fe->wait_fd == fe->cfg.fd || fe->probe < 0) {
		fds[0].events |= POLLOUT;
		return 1;
	}
	fds[1] = (struct pollfd){ .fd = fe->probe, .events = POLLOUT };
	return 2;
}
