/* SPDX-License-Identifier: MIT */
/**
 * DOC: frontend internals shared by frontend.c, tap.c, stream.c and dgram.c
 *
 * struct sn_frontend is the link: the fd, the receive buffer, the queue of
 * frames the peer has not taken yet, and (datagrams) the learnt peer.
 * frontend.c owns the object, the queue, the poll loop and the one place
 * every frame passes in each direction (sn_frontend_in() and
 * sn_frontend_took()), where the frame hook sits; each kind's file only
 * reads and writes its framing.
 */
#ifndef SANDNET_FRONTEND_FRONTEND_H
#define SANDNET_FRONTEND_FRONTEND_H

#include <stddef.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sandnet/frontend.h"
#include "sandnet/sandnet.h"

/* Bytes of QEMU's stream framing: a big-endian length before each frame. */
#define SN_STREAM_HDR	4
/* A TAP with IFF_VNET_HDR: struct virtio_net_hdr before each frame. */
#define SN_TAP_VNET_HDR	10

/**
 * struct sn_frontend - one guest link
 * @cfg:	configuration (cfg.fd is the fd in use)
 * @err:	errno of the failure that ended the link, 0 while it works
 * @link_frames: frames read on this link (since sn_frontend_set_fd())
 * @hook:	frame hook, or NULL
 * @hook_user:	passed to @hook
 * @st:		counters
 * @q:		queue: frames the peer did not take yet, back to back, as
 *		they go on the wire (stream: with their length)
 * @q_head:	first queued byte
 * @q_tail:	end of the queued bytes
 * @q_len:	ring of the queued frames' wire lengths
 * @q_first:	index in @q_len of the first queued frame
 * @q_sent:	bytes of the first queued frame already written (stream)
 * @rbuf:	receive buffer: stream, bytes read but not yet a whole frame;
 *		datagram, one datagram
 * @rcap:	its size
 * @rlen:	bytes in it (stream); a datagram waiting for the next guest
 * @learn:	datagram socket not connected: the peer is learnt
 * @peer:	learnt datagram peer
 * @peer_len:	its length, 0 while unknown
 * @probe:	socket connected to @peer, to poll for room in its queue; -1
 * @wait_fd:	the fd whose POLLOUT says frames may go again (datagram)
 * @stash_from:	sender of a datagram kept for the next guest
 * @stash_from_len: its length
 * @stash_len:	the datagram's length (in @rbuf), 0 if none
 * @pfds:	sn_frontend_run()'s poll array
 * @pfds_max:	its size
 */
struct sn_frontend {
	struct sn_frontend_config cfg;
	int err;
	uint64_t link_frames;
	sn_frame_hook_fn hook;
	void *hook_user;
	struct sn_frontend_stats st;

	uint8_t *q;
	size_t q_head, q_tail;
	uint32_t *q_len;
	unsigned q_first;
	size_t q_sent;

	uint8_t *rbuf;
	size_t rcap, rlen;

	int learn;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	int probe;
	int wait_fd;
	struct sockaddr_storage stash_from;
	socklen_t stash_from_len;
	size_t stash_len;

	struct pollfd *pfds;
	int pfds_max;
};

/**
 * sn_frontend_in() - a frame from the guest: counted, hooked, to the engine
 * @fe:		frontend
 * @e:		engine
 * @frame:	the frame
 * @len:	its length
 * @flags:	SN_INPUT_* for sn_engine_input_flags()
 */
void sn_frontend_in(struct sn_frontend *fe, struct sn_engine *e, const void *frame, size_t len,
		    unsigned flags);

/**
 * sn_frontend_took() - the link took a frame (sent or queued): counted, hooked
 * @fe:		frontend
 * @frame:	the frame, without framing
 * @len:	its length
 */
void sn_frontend_took(struct sn_frontend *fe, const void *frame, size_t len);

/**
 * sn_frontend_fail() - the link is gone
 * @fe:		frontend
 * @err:	errno to report
 *
 * Return: -1, with errno set to @err
 */
int sn_frontend_fail(struct sn_frontend *fe, int err);

/**
 * sn_frontend_log() - one line through the configured log sink
 * @fe:		frontend
 * @level:	SN_LOG_*
 * @fmt:	printf format
 */
void sn_frontend_log(struct sn_frontend *fe, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * sn_queue_room() - would @need more bytes fit the queue's bounds
 * @fe:		frontend
 * @need:	bytes of one more frame
 *
 * Return: non-zero if they would
 */
int sn_queue_room(const struct sn_frontend *fe, size_t need);

/**
 * sn_queue_push() - queue a frame's wire bytes, given in two pieces
 * @fe:		frontend
 * @a:		first piece (stream: what is left of the length)
 * @alen:	its length
 * @b:		second piece (the rest of the frame)
 * @blen:	its length
 *
 * Return: 0, or -1 if the queue's bytes or frames would exceed their bound
 */
int sn_queue_push(struct sn_frontend *fe, const void *a, size_t alen, const void *b, size_t blen);

/**
 * sn_queue_frames() - frames waiting
 * @fe:		frontend
 *
 * Return: the number of queued frames
 */
unsigned sn_queue_frames(const struct sn_frontend *fe);

/**
 * sn_queue_wrote() - @n bytes from the queue's head were written
 * @fe:		frontend
 * @n:		bytes, at most what is queued
 */
void sn_queue_wrote(struct sn_frontend *fe, size_t n);

/**
 * sn_queue_clear() - forget every queued frame
 * @fe:		frontend
 */
void sn_queue_clear(struct sn_frontend *fe);

#endif /* SANDNET_FRONTEND_FRONTEND_H */
