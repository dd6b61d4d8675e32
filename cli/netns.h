/* SPDX-License-Identifier: MIT */
/**
 * DOC: netns - namespaces, TAP devices and fd passing for the sandnet CLI
 *
 * Every function here reports its own failure as one line on stderr
 * ("sandnet: what: why") and returns -1, so callers only pick an exit code.
 */
#ifndef SANDNET_CLI_NETNS_H
#define SANDNET_CLI_NETNS_H

#include <netinet/in.h>
#include <sys/types.h>

/**
 * struct tap_conf - how to configure the guest side of the link
 * @name:	interface name, e.g. "tap0"
 * @addr:	guest address
 * @gw:		gateway, default route and DNS server
 * @prefix_len:	guest subnet prefix length
 * @addr6:	guest IPv6 address
 * @gw6:	IPv6 gateway, default route and DNS server
 * @prefix_len6: guest IPv6 prefix length
 * @mtu:	link MTU
 */
struct tap_conf {
	const char *name;
	struct in_addr addr;
	struct in_addr gw;
	unsigned prefix_len;
	struct in6_addr addr6;
	struct in6_addr gw6;
	unsigned prefix_len6;
	unsigned mtu;
};

void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_perror(const char *what);

int ns_unshare(uid_t uid, gid_t gid);
int ns_enter(const char *path, int *orig_fd);
int ns_leave(int orig_fd);

int link_up(const char *ifname);
int link_mtu(const char *ifname, unsigned *mtu);
/* tap_configure(): the families configured */
#define TAP_IP4	1
#define TAP_IP6	2

int tap_create(const char *name);
int tap_configure(int fd, const struct tap_conf *c);
int resolv_conf_bind(const char *nameserver);

int fd_send(int sock, int fd);
int fd_recv(int sock);

#endif /* SANDNET_CLI_NETNS_H */
