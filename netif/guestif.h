/* SPDX-License-Identifier: MIT */
/**
 * DOC: netif/guestif.c - the lwIP netif driver for the guest link
 *
 * Guest frames become pbufs (spoofed and malformed ones dropped, ARP
 * answered for every address); lwIP's output becomes frames for
 * cfg.output. The hooks are in hook.h, the packets relays send to the
 * guest in output.h.
 */
#ifndef SANDNET_NETIF_GUESTIF_H
#define SANDNET_NETIF_GUESTIF_H

#include <stddef.h>

struct sn_engine;

/**
 * sn_guestif_init() - add the guest netif to lwIP and bring it up
 * @e:		engine
 *
 * Return: 0, or -1
 */
int sn_guestif_init(struct sn_engine *e);

/**
 * sn_guestif_fini() - remove the guest netif, drop what lwIP holds for it
 * @e:		engine
 */
void sn_guestif_fini(struct sn_engine *e);

/**
 * sn_guestif_input() - one frame from the guest into lwIP
 * @e:		engine
 * @frame:	Ethernet frame
 * @len:	its length
 *
 * Return: 0 if taken, -1 if dropped (counted)
 */
int sn_guestif_input(struct sn_engine *e, const void *frame, size_t len);

#endif /* SANDNET_NETIF_GUESTIF_H */
