// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the host's own addresses, read once
 *
 * A service bound to 0.0.0.0 on the host answers on every address of the
 * host's interfaces, not only on loopback: the policy's host group holds
 * them all, so a guest cannot reach such a service through the host's LAN
 * or public address when host access is denied.
 *
 * This file reads that list once (getifaddrs()) and keeps a list in the
 * shape the policy wants: loopback addresses (127.0.0.0/8, ::1) left out,
 * for they have a class of their own, no duplicates, bounded. It needs no
 * engine: "sandnet policy explain" classifies with it, and the engine's
 * watch over netlink (core/hostwatch.c) builds its lists with it.
 */
#include <ifaddrs.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "core/hostaddr.h"

/**
 * sn_host_addrs_keep() - add an address to a list unless it is loopback or known
 * @list:	list
 * @n:		its length, updated
 * @max:	its size: a full list takes no more
 * @family:	AF_INET or AF_INET6
 * @a:		4 or 16 bytes
 */
void sn_host_addrs_keep(struct sn_ip *list, unsigned *n, unsigned max, int family, const void *a)
{
	struct sn_ip ip;
	unsigned i;

	if (family == AF_INET) {
		uint32_t a4;

		memcpy(&a4, a, 4);
		if ((ntohl(a4) >> 24) == 127)
			return;
		sn_ip_from4(&ip, a4);
	} else {
		memcpy(ip.b, a, 16);
		if (IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)ip.b))
			return;
	}
	for (i = 0; i < *n; i++)
		if (!memcmp(list[i].b, ip.b, 16))
			return;
	if (*n < max)
		list[(*n)++] = ip;
}

/**
 * sn_host_addrs_read() - the addresses of the host's interfaces, loopback ones left out
 * @list:	filled
 * @max:	its size
 *
 * Return: how many were filled (0 if they cannot be read)
 */
unsigned sn_host_addrs_read(struct sn_ip *list, unsigned max)
{
	struct ifaddrs *ifs, *i;
	unsigned n = 0;

	if (getifaddrs(&ifs))
		return 0;
	for (i = ifs; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			sn_host_addrs_keep(list, &n, max, AF_INET,
					   &((struct sockaddr_in *)i->ifa_addr)->sin_addr);
		else if (i->ifa_addr->sa_family == AF_INET6)
			sn_host_addrs_keep(list, &n, max, AF_INET6,
					   &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr);
	}
	freeifaddrs(ifs);
	return n;
}
