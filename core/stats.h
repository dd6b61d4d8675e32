/* SPDX-License-Identifier: MIT */
/**
 * DOC: stats - what the relays share with core/stats.c
 *
 * core/stats.c answers the public getters (counters by name, the policy's
 * counts, the walk over flows); the relays each walk their own table and
 * describe a flow with addresses made by sn_flow_addr().
 */
#ifndef SANDNET_CORE_STATS_H
#define SANDNET_CORE_STATS_H

#include <sys/socket.h>

#include "lwip/ip_addr.h"

/**
 * sn_flow_addr() - an lwIP address and port as a socket address
 * @ss:		filled: AF_INET or AF_INET6
 * @a:		address
 * @port:	port, host order
 */
void sn_flow_addr(struct sockaddr_storage *ss, const ip_addr_t *a, u16_t port);

#endif /* SANDNET_CORE_STATS_H */
