/* SPDX-License-Identifier: MIT */
/**
 * DOC: sandnetif - an lwIP netif whose wire is a sandnet engine
 *
 * A network interface driver for lwIP's unix port, in the shape of its
 * tapif (contrib/ports/unix/port/netif/tapif.c): netif_add() it with
 * sandnetif_init() and a struct sandnetif as its state, call
 * sandnetif_poll() from the main loop. The wire is either
 *
 * - a libsandnet engine in the same process (@engine set): linkoutput hands
 *   each frame to sn_engine_input(), and the engine's cfg.output callback,
 *   sandnetif_engine_output() with the struct sandnetif as cfg.user, queues
 *   the engine's frames for the next sandnetif_poll(); or
 * - a socket to an engine in another process (@engine NULL, @fd set): one
 *   frame per message of a SOCK_SEQPACKET or SOCK_DGRAM socket, as QEMU's
 *   -netdev dgram carries them.
 */
#ifndef EXAMPLE_SANDNETIF_H
#define EXAMPLE_SANDNETIF_H

#include <stddef.h>
#include <stdint.h>

#include "lwip/err.h"
#include "lwip/netif.h"

struct sn_engine;

/* Largest frame: the engine's default MTU, 1500, plus the Ethernet header. */
#define SANDNETIF_FRAME_MAX	1514
/* Engine frames waiting for sandnetif_poll(); more are dropped, as a full
 * NIC ring drops them (the stack's TCP window keeps below it). */
#define SANDNETIF_QUEUE		64

/**
 * struct sandnetif - the driver's state (netif->state)
 * @engine:	the engine in this process, or NULL
 * @fd:		without @engine: the link socket, non-blocking
 * @head:	oldest queued frame
 * @count:	frames queued
 * @len:	their lengths
 * @frame:	their bytes
 * @frames_in:	frames given to the stack
 * @frames_out:	frames the stack sent
 * @drops:	frames lost: queue full, link full, oversized, no pbuf
 */
struct sandnetif {
	struct sn_engine *engine;
	int fd;
	unsigned head, count;
	uint16_t len[SANDNETIF_QUEUE];
	uint8_t frame[SANDNETIF_QUEUE][SANDNETIF_FRAME_MAX];
	unsigned long frames_in, frames_out, drops;
};

/**
 * sandnetif_init() - netif_add() init callback: an Ethernet NIC on sandnet
 * @netif:	the netif, with a struct sandnetif as state
 *
 * Return: ERR_OK
 */
err_t sandnetif_init(struct netif *netif);

/**
 * sandnetif_engine_output() - cfg.output of the engine: queue a frame
 * @user:	the struct sandnetif (cfg.user)
 * @frame:	Ethernet frame for this stack
 * @len:	its length
 *
 * Called inside the engine, maybe inside this stack's own linkoutput: the
 * frame is only copied here, and reaches the stack in sandnetif_poll().
 *
 * Return: 0, or -1 if the queue is full or the frame too long (dropped)
 */
int sandnetif_engine_output(void *user, const void *frame, size_t len);

/**
 * sandnetif_poll() - give the stack the frames that arrived
 * @netif:	the netif
 *
 * Return: frames given, or -1 if the link socket failed or was closed
 */
int sandnetif_poll(struct netif *netif);

/**
 * sandnetif_pending() - frames from the engine still waiting
 * @netif:	the netif
 *
 * Return: how many (0 on a socket link)
 */
unsigned sandnetif_pending(const struct netif *netif);

#endif /* EXAMPLE_SANDNETIF_H */
