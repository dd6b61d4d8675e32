/* SPDX-License-Identifier: MIT */
/**
 * DOC: the host's interface addresses, read once (core/hostaddr.c)
 *
 * For callers outside the engine (sandnet policy explain) that classify
 * addresses as the engine would.
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

#endif /* SANDNET_CORE_HOSTADDR_H */
