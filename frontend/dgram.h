/* SPDX-License-Identifier: MIT */
/**
 * DOC: frontend/dgram.c - one datagram per frame (QEMU -netdev dgram,
 *	libkrun and vfkit unixgram, a connected socket handed over)
 */
#ifndef SANDNET_FRONTEND_DGRAM_H
#define SANDNET_FRONTEND_DGRAM_H

#include <poll.h>
#include <stddef.h>

struct sn_frontend;
struct sn_engine;

/**
 * sn_dgram_read() - hand the datagrams waiting to the engine
 * @fe:		frontend
 * @e:		engine
 *
 * Return: 0, or -1 with errno (ECONNRESET: a datagram from a new peer,
 *	   kept for the next guest)
 */
int sn_dgram_read(struct sn_frontend *fe, struct sn_engine *e);

/**
 * sn_dgram_write() - send one frame to the peer, queue it if it has no room
 * @fe:		frontend
 * @frame:	frame
 * @len:	its length
 *
 * Return: 0 if sent, queued or discarded for lack of a peer; -1 if dropped
 */
int sn_dgram_write(struct sn_frontend *fe, const void *frame, size_t len);

/**
 * sn_dgram_flush() - send the queued frames the peer has room for
 * @fe:		frontend
 *
 * Return: 0, or -1 with errno when the peer is gone
 */
int sn_dgram_flush(struct sn_frontend *fe);

/**
 * sn_dgram_reset() - a new link: forget the peer, see whether to learn one
 * @fe:		frontend, cfg.fd set
 */
void sn_dgram_reset(struct sn_frontend *fe);

/**
 * sn_dgram_pollfds() - the link's entries for poll()
 * @fe:		frontend
 * @fds:	room for SN_FRONTEND_POLLFDS_MAX entries; fds[0] is the link
 *		with POLLIN already
 *
 * Return: entries used
 */
int sn_dgram_pollfds(struct sn_frontend *fe, struct pollfd *fds);

#endif /* SANDNET_FRONTEND_DGRAM_H */
