/* SPDX-License-Identifier: MIT */
/**
 * DOC: the engine follows the host's interface addresses (core/hostwatch.c)
 */
#ifndef SANDNET_CORE_HOSTWATCH_H
#define SANDNET_CORE_HOSTWATCH_H

struct sn_engine;

/**
 * sn_hostwatch_init() - read the host's interface addresses and follow changes
 * @e:		engine
 *
 * Return: 0, or -1 (ENOMEM); without netlink the list is read once
 */
int sn_hostwatch_init(struct sn_engine *e);

/**
 * sn_hostwatch_fini() - stop following the host's addresses
 * @e:		engine
 */
void sn_hostwatch_fini(struct sn_engine *e);

#endif /* SANDNET_CORE_HOSTWATCH_H */
