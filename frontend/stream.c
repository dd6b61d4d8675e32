// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation
 *
 * QEMU's -netdev stream (and passt) put a 4-byte big-endian length before
 * each Ethernet frame on a stream socket. A stream has no frame
 * boundaries: a read may end inside a length or a frame, and a write may
 * take only part of what it was given.
 *
 * Reading: bytes accumulate in the receive buffer (room for two largest
 * frames); every whole frame in it goes to the engine, and what is left
 * (a partial length or frame) moves to the buffer's start for the next
 * read. A length of 0 or over SN_FRONTEND_FRAME_MAX cannot be a frame:
 * the stream has lost its framing and nothing after it can be trusted, so
 * the link is shut down with one log line and reported gone (EPROTO). A
 * wake-up takes at most STREAM_READS reads, then host sockets get their
 * turn.
 *
 * Writing: with nothing queued a large frame goes out with its length in
 * one sendmsg(); what the socket does not take (all of it on EAGAIN, the
 * rest after a partial write) is queued as wire bytes, and later frames
 * queue behind it so that their order and the framing hold. Frames under
 * STREAM_COALESCE bytes are queued to begin with: sn_frontend_run()
 * writes the queue in one call once the engine's work of the wake-up is
 * done, so a burst of MTU-sized frames costs one system call, not one
 * each. Otherwise the queue is written on POLLOUT (frontend.c asks for it
 * only while frames wait).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "frontend/stream.h"

/* Reads per wake-up: each takes up to the receive buffer's free room. */
#define STREAM_READS	8
/* Frames below this many bytes are gathered and written together */
#define STREAM_COALESCE	4096

/**
 * stream_gone() - is a write error the end of the link
 * @err:	errno
 *
 * Return: non-zero unless the socket is only full for now
 */
static int stream_gone(int err)
{
	return err != EAGAIN && err != EWOULDBLOCK && err != EINTR && err != ENOBUFS;
}

/**
 * stream_send() - write @iov, without SIGPIPE when the peer has gone
 * @fd:		the link: a socket, or a pipe or character device
 * @iov:	what to write
 * @cnt:	entries in @iov
 *
 * Return: bytes written, or -1 with errno
 */
static ssize_t stream_send(int fd, struct iovec *iov, int cnt)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
	ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

	if (n < 0 && errno == ENOTSOCK)
		n = writev(fd, iov, cnt);
	return n;
}

/**
 * stream_frames() - hand every whole frame in the receive buffer over
 * @fe:		frontend
 * @e:		engine
 *
 * Return: 0, or -1 (EPROTO) on a bad length
 */
static int stream_frames(struct sn_frontend *fe, struct sn_engine *e)
{
	size_t off = 0;

	while (fe->rlen - off >= SN_STREAM_HDR) {
		uint32_t be;
		size_t len;

		memcpy(&be, fe->rbuf + off, sizeof(be));
		len = ntohl(be);
		if (!len || len > SN_FRONTEND_FRAME_MAX) {
			fe->st.bad_framing++;
			sn_frontend_log(fe, SN_LOG_WARN,
					"guest link: bad frame length %zu (not 1..%u), closing it",
					len, SN_FRONTEND_FRAME_MAX);
			shutdown(fe->cfg.fd, SHUT_RDWR);
			fe->rlen = 0;
			return sn_frontend_fail(fe, EPROTO);
		}
		if (fe->rlen - off - SN_STREAM_HDR < len)
			break;
		sn_frontend_in(fe, e, fe->rbuf + off + SN_STREAM_HDR, len, 0);
		off += SN_STREAM_HDR + len;
	}
	if (off) {
		memmove(fe->rbuf, fe->rbuf + off, fe->rlen - off);
		fe->rlen -= off;
	}
	return 0;
}

/**
 * sn_stream_read() - read what the socket has, hand each whole frame over
 * @fe:		frontend
 * @e:		engine
 *
 * Return: 0, or -1 with errno when the link is gone
 */
int sn_stream_read(struct sn_frontend *fe, struct sn_engine *e)
{
	int i;

	for (i = 0; i < STREAM_READS && !fe->err; i++) {
		size_t room = fe->rcap - fe->rlen;
		ssize_t n = read(fe->cfg.fd, fe->rbuf + fe->rlen, room);

		if (n == 0)
			return sn_frontend_fail(fe, EPIPE);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			return sn_frontend_fail(fe, errno);
		}
		fe->rlen += (size_t)n;
		if (stream_frames(fe, e))
			return -1;
		if ((size_t)n < room)
			break;		/* drained: spare the EAGAIN read */
	}
	return fe->err ? sn_frontend_fail(fe, fe->err) : 0;
}

/**
 * sn_stream_write() - send one frame with its length, queue what is not taken
 * @fe:		frontend
 * @frame:	frame
 * @len:	its length
 *
 * Return: 0 if sent or queued, -1 if dropped
 */
int sn_stream_write(struct sn_frontend *fe, const void *frame, size_t len)
{
	uint32_t be = htonl((uint32_t)len);
	struct iovec iov[2] = {
		{ .iov_base = &be, .iov_len = sizeof(be) },
		{ .iov_base = (void *)frame, .iov_len = len },
	};
	size_t done = 0;
	ssize_t n;

	if (!sn_queue_frames(fe) && len >= STREAM_COALESCE) {
		n = stream_send(fe->cfg.fd, iov, 2);
		if (n < 0 && stream_gone(errno)) {
			sn_frontend_fail(fe, errno);
			return -1;
		}
		if (n == (ssize_t)(sizeof(be) + len)) {
			sn_frontend_took(fe, frame, len);
			return 0;
		}
		if (n > 0)
			done = (size_t)n;
	}
	/* What went out stays out: queue the rest, whole-frame bounds aside,
	 * or the peer would read the next frame's bytes as this one's */
	if (done) {
		size_t hdr = done < sizeof(be) ? sizeof(be) - done : 0;
		size_t body = done > sizeof(be) ? done - sizeof(be) : 0;

		if (sn_queue_push(fe, (const uint8_t *)&be + (sizeof(be) - hdr), hdr,
				  (const uint8_t *)frame + body, len - body)) {
			/* cannot happen while the queue is empty and holds a
			 * largest frame (sn_frontend_new() checks) */
			sn_frontend_log(fe, SN_LOG_ERR, "guest link: no room for a partial frame");
			shutdown(fe->cfg.fd, SHUT_RDWR);
			sn_frontend_fail(fe, ENOBUFS);
			return -1;
		}
	} else {
		/* a full queue is written out before this frame is given up */
		if (!sn_queue_room(fe, sizeof(be) + len) && sn_stream_flush(fe))
			return -1;
		if (sn_queue_push(fe, &be, sizeof(be), frame, len))
			return -1;
	}
	sn_frontend_took(fe, frame, len);
	return 0;
}

/**
 * sn_stream_flush() - write what the queue holds, as far as the socket takes
 * @fe:		frontend
 *
 * Return: 0, or -1 with errno when the link is gone
 */
int sn_stream_flush(struct sn_frontend *fe)
{
	while (sn_queue_frames(fe)) {
		struct iovec iov = { .iov_base = fe->q + fe->q_head,
				     .iov_len = fe->q_tail - fe->q_head };
		ssize_t n = stream_send(fe->cfg.fd, &iov, 1);

		if (n < 0) {
			if (stream_gone(errno))
				return sn_frontend_fail(fe, errno);
			return 0;
		}
		sn_queue_wrote(fe, (size_t)n);
	}
	return 0;
}
