/* SPDX-License-Identifier: MIT */
/**
 * DOC: slirp4netns - slirp4netns 1.2's command line, for rootlesskit and podman
 *
 * Run as "slirp4netns" (cmake --install puts a symlink to sandnet at
 * libexec/sandnet/slirp4netns) or as "sandnet slirp4netns", sandnet takes
 * slirp4netns's options and arguments and attaches to the namespace they
 * name with slirp4netns's addressing (see cli/slirp4netns.c).
 * slirp_parse() turns them into a struct slirp_conf; cli/main.c attaches
 * with it, has slirp_config() set what the engine does differently, and
 * calls slirp_started() once it serves.
 */
#ifndef SANDNET_CLI_SLIRP4NETNS_H
#define SANDNET_CLI_SLIRP4NETNS_H

#include <netinet/in.h>

#include "netns.h"
#include "pcap.h"

struct cli_policy;
struct sn_config;

/**
 * struct slirp_conf - a slirp4netns command line
 * @tap:	the device: TAPNAME, guest (network + 100), gateway (+ 2), prefix
 *		length, MTU, MAC (--macaddress); IPv6 left to SLAAC
 * @netns:	network namespace file: PATH, or /proc/PID/ns/net
 * @userns:	user namespace file to join first, or NULL
 * @userns_implied: @userns is /proc/PID/ns/user, not --userns-path
 * @configure:	-c
 * @api_socket:	-a PATH, or NULL
 * @dns4:	the DNS address (network + 3), 0 with --disable-dns
 * @dns6:	fd00::3, :: with --disable-dns
 * @no_ipv6:	no -6
 * @out4:	--outbound-addr, or 0
 * @out6:	--outbound-addr6 (or an IPv6 --outbound-addr), or ::
 * @ready_fd:	-r FD, or -1
 * @exit_fd:	-e FD, or -1
 * @host_loopback: no --disable-host-loopback: the gateway is the host's
 *		loopback
 * @verbose:	--verbose (sandnet's)
 * @pcap:	--pcap FILE, --pcap-max-size (sandnet's)
 * @netns_buf:	storage for @netns in the PID form
 * @userns_buf:	storage for @userns in the PID form
 */
struct slirp_conf {
	struct tap_conf tap;
	const char *netns;
	const char *userns;
	int userns_implied;
	int configure;
	const char *api_socket;
	struct in_addr dns4;
	struct in6_addr dns6;
	int no_ipv6;
	struct in_addr out4;
	struct in6_addr out6;
	int ready_fd;
	int exit_fd;
	int host_loopback;
	int verbose;
	struct cli_pcap_conf pcap;
	char netns_buf[48];
	char userns_buf[48];
};

int slirp_invoked(const char *argv0);
int slirp_parse(int argc, char **argv, struct slirp_conf *c, struct cli_policy *pol);
void slirp_config(const struct slirp_conf *c, struct sn_config *cfg);
void slirp_started(const struct slirp_conf *c);

#endif /* SANDNET_CLI_SLIRP4NETNS_H */
