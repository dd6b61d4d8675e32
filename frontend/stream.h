/* SPDX-License-Identifier: MIT */
/**
 * DOC: frontend/stream.c - QEMU's -netdev stream framing on a stream socket
 */
#ifndef SANDNET_FRONTEND_STREAM_H
#define SANDNET_FRONTEND_STREAM_H

#include <stddef.h>

struct sn_frontend;
struct sn_engine;

/**
 * sn_stream_read() - read what the socket has, hand each whole frame over
 * @fe:		frontend
 * @e:		engine
 *
 * Return: 0, or -1 with errno when the link is gone (EPIPE at the peer's
 *	   close, EPROTO on bad framing)
 */
int sn_stream_read(struct sn_frontend *fe, struct sn_engine *e);

/**
 * sn_stream_write() - send one frame with its length, queue what is not taken
 * @fe:		frontend
 * @frame:	frame
 * @len:	its length, 1..SN_FRONTEND_FRAME_MAX
 *
 * Return: 0 if sent or queued, -1 if dropped
 */
int sn_stream_write(struct sn_frontend *fe, const void *frame, size_t len);

/**
 * sn_stream_flush() - write what the queue holds, as far as the socket takes
 * @fe:		frontend
 *
 * Return: 0, or -1 with errno when the link is gone
 */
int sn_stream_flush(struct sn_frontend *fe);

#endif /* SANDNET_FRONTEND_STREAM_H */
