// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation
 *
 * A frontend carries the guest's frames on one fd, built only on the
 * engine's public calls: frames read from the fd go to sn_engine_input(),
 * frames the engine outputs arrive in sn_frontend_output() (the engine's
 * cfg.output, with the frontend as cfg.user). tap.c, stream.c and dgram.c
 * each know one framing; this file holds what they share:
 *
 * - the object and its buffers, allocated once in sn_frontend_new();
 * - the one place each frame passes, in (sn_frontend_in()) and out
 *   (sn_frontend_took()): the counters and the frame hook live there, so
 *   that a capture or an offload header sees every frame of every kind;
 * - the output queue: frames the peer did not take (EAGAIN, a partial
 *   write), and a stream's small frames gathered for one write, wait as
 *   their wire bytes in one buffer bounded in bytes, with a
 *   ring of their lengths bounded in frames. A frame that does not fit is
 *   dropped and counted, never a frame partly written, so a stream never
 *   loses its framing. The queue is written when poll() says POLLOUT, and
 *   POLLOUT is asked for only while something waits: no busy loop;
 * - the poll loop, sn_frontend_run(): the link, a stop fd and the engine's
 *   sockets in one poll(), for programs that want the whole loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/dgram.h"
#include "frontend/frontend.h"
#include "frontend/stream.h"
#include "frontend/tap.h"

#define QUEUE_BYTES_DEFAULT	(4U << 20)
#define QUEUE_FRAMES_DEFAULT	4096U
#define QUEUE_FRAMES_MAX	(1U << 20)
/* A stream's receive buffer holds two largest frames: a read takes what
 * follows a partial frame in the same call. */
#define STREAM_RBUF		(2 * (SN_STREAM_HDR + SN_FRONTEND_FRAME_MAX))
/* A datagram over the largest frame is seen (MSG_TRUNC) and dropped. */
#define DGRAM_RBUF		(SN_FRONTEND_FRAME_MAX + 1)

/**
 * sn_frontend_config_init() - defaults for a frontend of @kind on @fd
 * @c:		filled
 * @kind:	SN_FRONTEND_*
 * @fd:		the link, or -1
 */
void sn_frontend_config_init(struct sn_frontend_config *c, enum sn_frontend_kind kind, int fd)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->fd = fd;
	c->queue_bytes = QUEUE_BYTES_DEFAULT;
	c->queue_frames = QUEUE_FRAMES_DEFAULT;
}

/**
 * sn_frontend_new() - a frontend
 * @c:		configuration, copied
 *
 * Return: the frontend, or NULL with errno (EINVAL, ENOMEM)
 */
struct sn_frontend *sn_frontend_new(const struct sn_frontend_config *c)
{
	struct sn_frontend *fe;

	if (!c || c->kind > SN_FRONTEND_DGRAM ||
	    c->queue_bytes < SN_STREAM_HDR + SN_FRONTEND_FRAME_MAX ||
	    !c->queue_frames || c->queue_frames > QUEUE_FRAMES_MAX ||
	    (c->offload && (c->kind != SN_FRONTEND_TAP || !c->vnet_hdr || c->mtu < 576 ||
			    c->mtu > 65520))) {
		errno = EINVAL;
		return NULL;
	}
	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return NULL;
	fe->cfg = *c;
	fe->probe = -1;
	fe->rcap = c->kind == SN_FRONTEND_STREAM ? STREAM_RBUF : DGRAM_RBUF;
	if (c->kind == SN_FRONTEND_TAP && c->vnet_hdr)
		fe->rcap += SN_TAP_VNET_HDR;
	fe->q = malloc(c->queue_bytes);
	fe->q_len = calloc(c->queue_frames, sizeof(*fe->q_len));
	fe->rbuf = malloc(fe->rcap);
	if (!fe->q || !fe->q_len || !fe->rbuf) {
		sn_frontend_free(fe);
		errno = ENOMEM;
		return NULL;
	}
	sn_frontend_set_fd(fe, c->fd);
	return fe;
}

/**
 * sn_frontend_free() - free a frontend; its fd stays open
 * @fe:		frontend, may be NULL
 */
void sn_frontend_free(struct sn_frontend *fe)
{
	if (!fe)
		return;
	if (fe->probe >= 0)
		close(fe->probe);
	free(fe->q);
	free(fe->q_len);
	free(fe->rbuf);
	free(fe->pfds);
	free(fe);
}

/**
 * sn_frontend_set_fd() - serve another fd (or none): a new guest
 * @fe:		frontend
 * @fd:		the new link, non-blocking, or -1
 */
void sn_frontend_set_fd(struct sn_frontend *fe, int fd)
{
	int same = fd >= 0 && fd == fe->cfg.fd;

	fe->cfg.fd = fd;
	fe->err = 0;
	fe->link_frames = 0;
	fe->rlen = 0;
	sn_queue_clear(fe);
	if (!same)
		fe->stash_len = 0;
	if (fe->cfg.kind == SN_FRONTEND_DGRAM)
		sn_dgram_reset(fe);
}

/**
 * sn_frontend_set_hook() - see every frame in and out
 * @fe:		frontend
 * @hook:	called for every frame, or NULL
 * @user:	passed to @hook
 */
void sn_frontend_set_hook(struct sn_frontend *fe, sn_frame_hook_fn hook, void *user)
{
	fe->hook = hook;
	fe->hook_user = user;
}

/**
 * sn_frontend_in() - a frame from the guest: counted, hooked, to the engine
 * @fe:		frontend
 * @e:		engine
 * @frame:	the frame
 * @len:	its length
 * @flags:	SN_INPUT_* for sn_engine_input_flags()
 */
void sn_frontend_in(struct sn_frontend *fe, struct sn_engine *e, const void *frame, size_t len,
		    unsigned flags)
{
	fe->st.frames_in++;
	fe->link_frames++;
	fe->st.bytes_in += len;
	if (fe->hook)
		fe->hook(fe->hook_user, SN_FRAME_IN, frame, len);
	sn_engine_input_flags(e, frame, len, flags);
}

/**
 * sn_frontend_took() - the link took a frame (sent or queued): counted, hooked
 * @fe:		frontend
 * @frame:	the frame, without framing
 * @len:	its length
 */
void sn_frontend_took(struct sn_frontend *fe, const void *frame, size_t len)
{
	fe->st.frames_out++;
	fe->st.bytes_out += len;
	if (fe->hook)
		fe->hook(fe->hook_user, SN_FRAME_OUT, frame, len);
}

/**
 * sn_frontend_fail() - the link is gone
 * @fe:		frontend
 * @err:	errno to report
 *
 * Return: -1, with errno set to @err
 */
int sn_frontend_fail(struct sn_frontend *fe, int err)
{
	if (!fe->err)
		fe->err = err;
	errno = fe->err;
	return -1;
}

/**
 * sn_frontend_log() - one line through the configured log sink
 * @fe:		frontend
 * @level:	SN_LOG_*
 * @fmt:	printf format
 */
void sn_frontend_log(struct sn_frontend *fe, int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!fe->cfg.log && level > SN_LOG_WARN)
		return;		/* stderr gets warnings and errors only */
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (fe->cfg.log)
		fe->cfg.log(fe->cfg.log_user, level, line);
	else
		fprintf(stderr, "sandnet: %s\n", line);
}

/**
 * sn_frontend_output() - cfg.output: send a frame from the engine, or queue it
 * @user:	the frontend
 * @frame:	frame
 * @len:	its length
 *
 * Return: 0 if sent, queued or discarded for lack of a link; -1 if dropped
 */
int sn_frontend_output(void *user, const void *frame, size_t len)
{
	struct sn_frontend *fe = user;

	if (fe->cfg.fd < 0) {
		fe->st.no_link++;
		return 0;
	}
	if (fe->err || len > SN_FRONTEND_FRAME_MAX)
		return -1;
	switch (fe->cfg.kind) {
	case SN_FRONTEND_TAP:
		return sn_tap_write(fe, frame, len);
	case SN_FRONTEND_STREAM:
		return sn_stream_write(fe, frame, len);
	default:
		return sn_dgram_write(fe, frame, len);
	}
}

/**
 * sn_frontend_pollfds() - the link's entries for poll()
 * @fe:		frontend
 * @fds:	filled
 * @max:	size of @fds
 *
 * Return: entries filled
 */
int sn_frontend_pollfds(struct sn_frontend *fe, struct pollfd *fds, int max)
{
	struct pollfd p[SN_FRONTEND_POLLFDS_MAX];
	int n = 1, i;

	if (fe->cfg.fd < 0 || fe->err)
		return 0;
	p[0] = (struct pollfd){ .fd = fe->cfg.fd, .events = POLLIN };
	if (fe->cfg.kind == SN_FRONTEND_DGRAM)
		n = sn_dgram_pollfds(fe, p);
	else if (sn_queue_frames(fe))
		p[0].events |= POLLOUT;
	for (i = 0; i < n && i < max; i++)
		fds[i] = p[i];
	return i;
}

/**
 * sn_frontend_ready() - serve the link after poll()
 * @fe:		frontend
 * @e:		engine
 * @fds:	entries from sn_frontend_pollfds() with revents
 * @n:		their number
 *
 * Return: 0, or -1 with errno when the link is gone
 */
int sn_frontend_ready(struct sn_frontend *fe, struct sn_engine *e, const struct pollfd *fds,
		      int n)
{
	short in = 0, out = 0;
	int i, rc;

	if (fe->err)
		return sn_frontend_fail(fe, fe->err);
	if (fe->cfg.fd < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (fds[i].fd == fe->cfg.fd)
			in |= fds[i].revents;
		out |= fds[i].revents & (POLLOUT | POLLERR | POLLHUP);
	}
	/* A datagram peer's POLLERR/POLLHUP show on the probe: the write says */
	if (out && sn_queue_frames(fe)) {
		rc = fe->cfg.kind == SN_FRONTEND_STREAM ? sn_stream_flush(fe) : sn_dgram_flush(fe);
		if (rc)
			return rc;
	}
	if ((in & (POLLIN | POLLHUP)) || fe->stash_len) {
		switch (fe->cfg.kind) {
		case SN_FRONTEND_TAP:
			rc = sn_tap_read(fe, e);
			break;
		case SN_FRONTEND_STREAM:
			rc = sn_stream_read(fe, e);
			break;
		default:
			rc = sn_dgram_read(fe, e);
			break;
		}
		if (rc)
			return rc;
	} else if (in & (POLLERR | POLLNVAL)) {
		return sn_frontend_fail(fe, ENODEV);
	}
	if (fe->err)
		return sn_frontend_fail(fe, fe->err);
	return 0;
}

/**
 * sn_frontend_error() - why the link failed
 * @fe:		frontend
 *
 * Return: 0 while it works, else an errno
 */
int sn_frontend_error(const struct sn_frontend *fe)
{
	return fe->err;
}

/**
 * sn_frontend_run() - poll the link, the engine's sockets and @stop_fd
 * @fe:		frontend
 * @e:		engine
 * @stop_fd:	the loop returns when this becomes readable (-1: never)
 *
 * The link's entries come first, then @stop_fd, then the engine's; the
 * array is sized once from what the engine may poll (its fd table).
 *
 * Return: 0 when @stop_fd became readable, -1 with errno otherwise
 */
int sn_frontend_run(struct sn_frontend *fe, struct sn_engine *e, int stop_fd)
{
	int base = SN_FRONTEND_POLLFDS_MAX + 1;

	for (;;) {
		struct pollfd *fds = fe->pfds;
		int nl, ne, rc, stop;

		/* The engine's table is fixed at sn_engine_new(): this grows
		 * once per engine at most, never per frame */
		ne = fds ? sn_engine_pollfds(e, fds + base, fe->pfds_max - base) : 0;
		if (!fds || ne >= fe->pfds_max - base) {
			int max = fe->pfds_max ? fe->pfds_max * 2 : 1024;

			fds = realloc(fe->pfds, sizeof(*fds) * (size_t)max);
			if (!fds)
				return -1;
			fe->pfds = fds;
			fe->pfds_max = max;
			continue;
		}
		nl = sn_frontend_pollfds(fe, fds, SN_FRONTEND_POLLFDS_MAX);
		fds[nl] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
		if (nl + 1 < base)
			memmove(fds + nl + 1, fds + base, sizeof(*fds) * (size_t)ne);
		/* a datagram kept from a new peer goes to its engine at once */
		rc = poll(fds, (nfds_t)nl + 1 + (nfds_t)ne, fe->stash_len ? 0 : sn_engine_timeout_ms(e));
		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc < 0)
			rc = 0;
		stop = rc > 0 && fds[nl].revents;
		if ((rc > 0 || fe->stash_len) && sn_frontend_ready(fe, e, fds, rc > 0 ? nl : 0))
			return -1;
		sn_engine_dispatch(e, fds + nl + 1, rc > 0 ? ne : 0);
		/* what the wake-up gathered goes in one write (stream.c) */
		if (!fe->err && fe->cfg.fd >= 0 && fe->cfg.kind == SN_FRONTEND_STREAM &&
		    sn_queue_frames(fe))
			sn_stream_flush(fe);
		if (fe->err)
			return sn_frontend_fail(fe, fe->err);
		if (stop)
			return 0;
	}
}

/**
 * sn_frontend_stats() - copy the counters
 * @fe:		frontend
 * @st:		filled
 */
void sn_frontend_stats(const struct sn_frontend *fe, struct sn_frontend_stats *st)
{
	*st = fe->st;
	st->queued_bytes = fe->q_tail - fe->q_head;
	st->queued_frames = sn_queue_frames(fe);
}

/* ---- the output queue ---- */

/**
 * sn_queue_frames() - frames waiting
 * @fe:		frontend
 *
 * Return: the number of queued frames
 */
unsigned sn_queue_frames(const struct sn_frontend *fe)
{
	return (unsigned)fe->st.queued_frames;
}

/**
 * sn_queue_room() - would @need more bytes fit the queue's bounds
 * @fe:		frontend
 * @need:	bytes of one more frame
 *
 * Return: non-zero if they would
 */
int sn_queue_room(const struct sn_frontend *fe, size_t need)
{
	return sn_queue_frames(fe) < fe->cfg.queue_frames &&
	       fe->q_tail - fe->q_head + need <= fe->cfg.queue_bytes;
}

/**
 * sn_queue_push() - queue a frame's wire bytes, given in two pieces
 * @fe:		frontend
 * @a:		first piece
 * @alen:	its length
 * @b:		second piece
 * @blen:	its length
 *
 * Return: 0, or -1 (counted in queue_drops) if a bound would be exceeded
 */
int sn_queue_push(struct sn_frontend *fe, const void *a, size_t alen, const void *b, size_t blen)
{
	size_t need = alen + blen, used = fe->q_tail - fe->q_head;
	unsigned n = sn_queue_frames(fe);

	if (!sn_queue_room(fe, need)) {
		fe->st.queue_drops++;
		return -1;
	}
	if (fe->q_tail + need > fe->cfg.queue_bytes) {
		memmove(fe->q, fe->q + fe->q_head, used);
		fe->q_head = 0;
		fe->q_tail = used;
	}
	if (alen)
		memcpy(fe->q + fe->q_tail, a, alen);
	if (blen)
		memcpy(fe->q + fe->q_tail + alen, b, blen);
	fe->q_tail += need;
	fe->q_len[(fe->q_first + n) % fe->cfg.queue_frames] = (uint32_t)need;
	fe->st.queued_frames = n + 1;
	if (used + need > fe->st.queue_high)
		fe->st.queue_high = used + need;
	return 0;
}

/**
 * sn_queue_wrote() - @n bytes from the queue's head were written
 * @fe:		frontend
 * @n:		bytes, at most what is queued
 */
void sn_queue_wrote(struct sn_frontend *fe, size_t n)
{
	fe->q_head += n;
	while (n && fe->st.queued_frames) {
		size_t left = fe->q_len[fe->q_first] - fe->q_sent;

		if (n < left) {
			fe->q_sent += n;
			break;
		}
		n -= left;
		fe->q_sent = 0;
		fe->q_first = (fe->q_first + 1) % fe->cfg.queue_frames;
		fe->st.queued_frames--;
	}
	if (fe->q_head == fe->q_tail)
		fe->q_head = fe->q_tail = 0;
}

/**
 * sn_queue_clear() - forget every queued frame
 * @fe:		frontend
 */
void sn_queue_clear(struct sn_frontend *fe)
{
	fe->q_head = fe->q_tail = 0;
	fe->q_first = 0;
	fe->q_sent = 0;
	fe->st.queued_frames = 0;
}
