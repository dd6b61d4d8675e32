/* SPDX-License-Identifier: MIT */
/**
 * DOC: netns - namespaces, TAP devices and fd passing for the sandnet CLI,
 * and the helpers its commands share
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
 * @mac:	MAC address to give the device, with @mac_set
 * @mac_set:	set @mac (else the kernel's random one stays)
 * @no_ip6:	leave IPv6 alone (the guest takes SLAAC's address, as with
 *		slirp4netns)
 * @vnet_hdr:	open the device with IFF_VNET_HDR (offload; not --no-offload)
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
	unsigned char mac[6];
	int mac_set;
	int no_ip6;
	int vnet_hdr;
};

/**
 * struct tap_where - where tap_open_in() creates a TAP device, and how
 * @netns:	network namespace file (/run/netns/NAME, /proc/PID/ns/net)
 * @userns:	user namespace file to join first, or NULL
 * @userns_implied: @userns was not asked for (slirp4netns's PID form
 *		derives it): failing to join it is no error by itself
 * @configure:	bring lo up, configure the device (tap_configure())
 * @read_mtu:	report the device's MTU (a device configured by others)
 */
struct tap_where {
	const char *netns;
	const char *userns;
	int userns_implied;
	int configure;
	int read_mtu;
};

void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_perror(const char *what);
int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
void cli_bad_option(int c, char **argv);

int ns_unshare(uid_t uid, gid_t gid);
int tap_open_in(const struct tap_where *s, struct tap_conf *c);

int link_up(const char *ifname);
int link_mtu(const char *ifname, unsigned *mtu);
/* tap_configure(): the families configured */
#define TAP_IP4	1
#define TAP_IP6	2

int tap_create(const char *name, int vnet_hdr);
int tap_offload(int fd, int *offload);
int tap_configure(int fd, const struct tap_conf *c);
int resolv_conf_bind(const char *nameserver);

int fd_send(int sock, int fd);
int fd_recv(int sock);

#endif /* SANDNET_CLI_NETNS_H */
