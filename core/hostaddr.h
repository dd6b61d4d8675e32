/* SPDX-License-Identifier: MIT */
/**
 * DOC: the host's interface addresses, read once (core/hostaddr.c)
 *
 * For callers outside the engine (sandnet policy explain) that classify
 * addresses as the engine would, and for the engine's watch
 * (core/hostwatch.c). No engine needed.
 */
#ifndef SANDNET_CORE_HOSTADDR_H
#define SANDNET_CORE_HOSTADDR_H

#include "policy/policy.h"

/**
 * sn_host_addrs_read() - the addresses of the host's interfaces, loopback ones left out
 * @list:	filled
 * @max:	its size
 *
 * Return: how many were filled (0 if they cannot be read)
 */
unsigned sn_host_addrs_read(struct sn_ip *list, unsigned max);

/**
 * sn_host_addrs_keep() - add an address to a list unless it is loopback or known
 * @list:	list
 * @n:		its length, updated
 * @max:	its size: a full list takes no more
 * @family:	AF_INET or AF_INET6
 * @a:		4 or 16 bytes
 */
void sn_host_addrs_keep(struct sn_ip *list, unsigned *n, unsigned max, int family, const void *a);

#endif /* SANDNET_CORE_HOSTADDR_H */
