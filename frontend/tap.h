/* SPDX-License-Identifier: MIT */
/**
 * DOC: frontend/tap.c - a TAP device (IFF_NO_PI): one read()/write() per frame,
 * with IFF_VNET_HDR a virtio-net header before it (checksum and TSO offload)
 */
#ifndef SANDNET_FRONTEND_TAP_H
#define SANDNET_FRONTEND_TAP_H

#include <stddef.h>

struct sn_frontend;
struct sn_engine;

/**
 * sn_tap_read() - hand the frames waiting on the TAP to the engine
 * @fe:		frontend
 * @e:		engine
 *
 * Return: 0, or -1 with errno when the device is gone
 */
int sn_tap_read(struct sn_frontend *fe, struct sn_engine *e);

/**
 * sn_tap_write() - write one frame to the TAP
 * @fe:		frontend
 * @frame:	frame
 * @len:	its length
 *
 * Return: 0, or -1 if dropped
 */
int sn_tap_write(struct sn_frontend *fe, const void *frame, size_t len);

#endif /* SANDNET_FRONTEND_TAP_H */
