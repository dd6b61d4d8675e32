// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - slirp4netns's command line
 *
 * rootlesskit (--net=slirp4netns --slirp4netns-binary=PATH), podman
 * (network_cmd_path) and scripts run slirp4netns as
 *
 *   slirp4netns [OPTION]... PID|PATH [TAPNAME]
 *
 * and rely on what it does from their side: it joins the user namespace
 * of PID (or --userns-path) and then the network namespace (PID's, or PATH
 * with --netns-type=path), opens TAPNAME there (rootlesskit has created it
 * already), with -c configures it (lo up, 10.0.2.100/24 via 10.0.2.2, the
 * MTU), writes "1" to the -r fd once it serves, stops when the -e fd polls
 * hung up, and serves 10.0.2.2 as gateway and 10.0.2.3 as DNS server
 * (network + 2 and + 3 of --cidr; fd00::2 and fd00::3 with -6). rootlesskit
 * checks "--help" for the options it uses; tools parse the first line of
 * "--version". sandnet does all of that with its own engine: slirp_parse()
 * reads the command line the way slirp4netns 1.2 does (option permutation,
 * the deprecated spellings, "too many arguments" a warning), cli/main.c
 * attaches like "sandnet attach --userns" and calls slirp_started().
 *
 * Where it differs, and why:
 * - Policy: sandnet's default profile applies: public destinations only,
 *   so private, link-local, CGNAT and metadata addresses (the LAN, a cloud's
 *   169.254.169.254) are refused, and DNS answers that point a name at
 *   them are NXDOMAIN (rebind protection). slirp4netns reaches whatever
 *   the host reaches. sandnet's --allow/--deny/--default-egress/--policy
 *   are accepted here too, to open what a setup needs (--allow
 *   group:private). Host loopback follows --disable-host-loopback as in
 *   slirp4netns: without it, --allow group:host (the gateway, and 10.0.2.3
 *   beyond port 53, reach the host's 127.0.0.1 and ::1, and the host's own
 *   addresses are allowed).
 * - One guest address: DHCP offers network + 100 only (slirp4netns hands
 *   out + 15 .. + 30); the engine accepts IPv4 from that address only.
 * - --disable-dns stops the forwarder on 10.0.2.3 (then just an address),
 *   but the gateway's port 53 stays sandnet's filtering forwarder.
 * - --enable-sandbox and --enable-seccomp are accepted with a note:
 *   sandnet applies no confinement of its own yet.
 * - --mtu: sandnet's range is 576..65520; 65521, slirp4netns's largest,
 *   becomes 65520 (lwIP's frames carry 16-bit lengths).
 * - --target-type=bess is refused (no BESS/User Mode Linux link).
 * - Usage errors exit 2 (slirp4netns: 1), with one line naming the option.
 * - The namespace file is not watched (attach's "namespace went away"):
 *   like slirp4netns, this mode runs until its caller ends it.
 * - sandnet's --pcap FILE and --pcap-max-size BYTES are accepted too (long
 *   options slirp4netns does not have, so no caller's line changes meaning).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>

#include <sandnet/sandnet.h>

#include "pcap.h"
#include "policy.h"
#include "slirp4netns.h"

/* The slirp4netns release whose command line this is. */
#define SLIRP_COMPAT_VERSION	"1.2.0"
#define SLIRP_MTU_DEFAULT	1500
#define SLIRP_MTU_MAX		65521	/* slirp4netns's largest */
#define SLIRP_MTU_MIN		576	/* sandnet's smallest */
#define SLIRP_MTU_SANDNET_MAX	65520
#define SLIRP_CIDR_DEFAULT	"10.0.2.0/24"
/* Offsets into the network: gateway, DNS, the guest (-c, rootlesskit). */
#define SLIRP_GW_OFFSET		2
#define SLIRP_DNS_OFFSET	3
#define SLIRP_GUEST_OFFSET	100
/* The guest is network + 100: a /25 is the smallest network that holds it. */
#define SLIRP_PREFIX_MAX	25

static const char slirp_usage[] =
"Usage: slirp4netns [OPTION]... PID|PATH [TAPNAME]\n"
"User-mode networking for unprivileged network namespaces (sandnet " SN_VERSION_STRING
", slirp4netns " SLIRP_COMPAT_VERSION "'s command line).\n"
"\n"
"-c, --configure          bring up the interface (and lo): network + 100, route via + 2\n"
"-e, --exit-fd=FD         specify the FD for terminating slirp4netns\n"
"-r, --ready-fd=FD        specify the FD to write to when the network is configured\n"
"-m, --mtu=MTU            specify MTU (default=1500, max=65521; sandnet: 576..65520)\n"
"-6, --enable-ipv6        enable IPv6 (fd00::/64 by router advertisements, DNS fd00::3)\n"
"-a, --api-socket=PATH    specify API socket path\n"
"--cidr=CIDR              specify network address CIDR (default=" SLIRP_CIDR_DEFAULT ")\n"
"--disable-host-loopback  prohibit connecting to 127.0.0.1:* on the host namespace\n"
"--netns-type=TYPE        specify network namespace type ([path|pid], default=pid)\n"
"--userns-path=PATH       specify user namespace path\n"
"--enable-sandbox         accepted; sandnet applies no confinement yet\n"
"--enable-seccomp         accepted; sandnet applies no confinement yet\n"
"--outbound-addr=IPv4     sets outbound ipv4 address (or interface) to bind to\n"
"--outbound-addr6=IPv6    sets outbound ipv6 address (or interface) to bind to\n"
"--disable-dns            disables the DNS forwarder on 10.0.2.3 (or network + 3)\n"
"--macaddress=MAC         specify the MAC address of the TAP (only valid with -c)\n"
"--target-type=TYPE       specify the target type (netns only; bess is not supported)\n"
"-h, --help               show this help and exit\n"
"-v, --version            show version and exit\n"
"\n"
"sandnet's own: --allow RULE, --deny RULE, --default-egress allow|deny,\n"
"--policy FILE, --pcap FILE, --pcap-max-size BYTES (see 'sandnet run --help'),\n"
"--verbose. sandnet's default policy applies: public destinations only\n"
"(--allow group:private opens the LAN).\n";

enum {
	SOPT_CIDR = 256,
	SOPT_DISABLE_HOST_LOOPBACK,
	SOPT_NETNS_TYPE,
	SOPT_USERNS_PATH,
	SOPT_ENABLE_SANDBOX,
	SOPT_ENABLE_SECCOMP,
	SOPT_OUTBOUND_ADDR,
	SOPT_OUTBOUND_ADDR6,
	SOPT_DISABLE_DNS,
	SOPT_MACADDRESS,
	SOPT_TARGET_TYPE,
	SOPT_ALLOW,
	SOPT_DENY,
	SOPT_DEFAULT_EGRESS,
	SOPT_POLICY,
	SOPT_VERBOSE,
	SOPT_PCAP,
	SOPT_PCAP_MAX_SIZE,
};

static const struct option slirp_options[] = {
	{ "configure",		no_argument,	   NULL, 'c' },
	{ "exit-fd",		required_argument, NULL, 'e' },
	{ "ready-fd",		required_argument, NULL, 'r' },
	{ "mtu",		required_argument, NULL, 'm' },
	{ "cidr",		required_argument, NULL, SOPT_CIDR },
	{ "disable-host-loopback", no_argument,	   NULL, SOPT_DISABLE_HOST_LOOPBACK },
	{ "no-host-loopback",	no_argument,	   NULL, SOPT_DISABLE_HOST_LOOPBACK },
	{ "netns-type",		required_argument, NULL, SOPT_NETNS_TYPE },
	{ "userns-path",	required_argument, NULL, SOPT_USERNS_PATH },
	{ "api-socket",		required_argument, NULL, 'a' },
	{ "enable-ipv6",	no_argument,	   NULL, '6' },
	{ "enable-sandbox",	no_argument,	   NULL, SOPT_ENABLE_SANDBOX },
	{ "create-sandbox",	no_argument,	   NULL, SOPT_ENABLE_SANDBOX },
	{ "enable-seccomp",	no_argument,	   NULL, SOPT_ENABLE_SECCOMP },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'v' },
	{ "outbound-addr",	required_argument, NULL, SOPT_OUTBOUND_ADDR },
	{ "outbound-addr6",	required_argument, NULL, SOPT_OUTBOUND_ADDR6 },
	{ "disable-dns",	no_argument,	   NULL, SOPT_DISABLE_DNS },
	{ "macaddress",		required_argument, NULL, SOPT_MACADDRESS },
	{ "target-type",	required_argument, NULL, SOPT_TARGET_TYPE },
	{ "allow",		required_argument, NULL, SOPT_ALLOW },
	{ "deny",		required_argument, NULL, SOPT_DENY },
	{ "default-egress",	required_argument, NULL, SOPT_DEFAULT_EGRESS },
	{ "policy",		required_argument, NULL, SOPT_POLICY },
	{ "verbose",		no_argument,	   NULL, SOPT_VERBOSE },
	{ "pcap",		required_argument, NULL, SOPT_PCAP },
	{ "pcap-max-size",	required_argument, NULL, SOPT_PCAP_MAX_SIZE },
	{ 0 },
};

/**
 * slirp_invoked() - was this program run as slirp4netns
 * @argv0:	argv[0]
 *
 * Return: non-zero if its last path component is "slirp4netns"
 */
int slirp_invoked(const char *argv0)
{
	const char *base;

	if (!argv0)
		return 0;
	base = strrchr(argv0, '/');
	return !strcmp(base ? base + 1 : argv0, "slirp4netns");
}

/**
 * out() - write @s to stdout and flush it
 * @s:		text
 *
 * Return: 0, or -1 if stdout failed (reported)
 */
static int out(const char *s)
{
	if (fputs(s, stdout) == EOF || fflush(stdout)) {
		cli_perror("stdout");
		return -1;
	}
	return 0;
}

/**
 * parse_fd() - -r/-e: a file descriptor this process has open
 * @opt:	the option, for the message
 * @arg:	its value
 * @fd:		set
 *
 * Return: 0, or -1 (reported)
 */
static int parse_fd(const char *opt, const char *arg, int *fd)
{
	unsigned long v;

	if (cli_parse_uint(arg, 0, INT_MAX, &v)) {
		cli_err("%s: '%s' is not a non-negative integer", opt, arg);
		return -1;
	}
	if (fcntl((int)v, F_GETFD) < 0) {
		cli_err("%s: %lu is not an open file descriptor", opt, v);
		return -1;
	}
	*fd = (int)v;
	return 0;
}

/**
 * parse_cidr() - --cidr: a network address and a prefix length, 1..25
 * @arg:	"A.B.C.D/N"
 * @net:	set to the network address
 * @prefix:	set to N
 *
 * Return: 0, or -1 (reported)
 */
static int parse_cidr(const char *arg, struct in_addr *net, unsigned *prefix)
{
	const char *slash = strchr(arg, '/');
	char addr[INET_ADDRSTRLEN];
	unsigned long n;
	uint32_t mask;

	if (!slash || (size_t)(slash - arg) >= sizeof(addr))
		goto bad;
	memcpy(addr, arg, (size_t)(slash - arg));
	addr[slash - arg] = '\0';
	if (inet_pton(AF_INET, addr, net) != 1 || cli_parse_uint(slash + 1, 0, 32, &n))
		goto bad;
	if (n < 1 || n > SLIRP_PREFIX_MAX) {
		cli_err("--cidr: prefix length of '%s' needs to be 1-%d", arg, SLIRP_PREFIX_MAX);
		return -1;
	}
	mask = ~0U << (32 - n);
	if (ntohl(net->s_addr) & ~mask) {
		cli_err("--cidr: '%s' needs to be a network address like 10.0.2.0/24, "
			"not like 10.0.2.100/24", arg);
		return -1;
	}
	*prefix = (unsigned)n;
	return 0;
bad:
	cli_err("--cidr: '%s' is not an IPv4 network A.B.C.D/N", arg);
	return -1;
}

/**
 * iface_addr() - the first address of a family an interface has
 * @name:	interface name
 * @family:	AF_INET or AF_INET6 (link-local ones skipped: no scope to bind)
 * @a:		set: struct in_addr or struct in6_addr
 *
 * Return: 0, or -1 if it has none (or no such interface)
 */
static int iface_addr(const char *name, int family, void *a)
{
	struct ifaddrs *ifa, *i;
	int ret = -1;

	if (getifaddrs(&ifa))
		return -1;
	for (i = ifa; i && ret; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family || strcmp(i->ifa_name, name))
			continue;
		if (family == AF_INET) {
			memcpy(a, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
			       sizeof(struct in_addr));
			ret = 0;
		} else if (!IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr)) {
			memcpy(a, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
			       sizeof(struct in6_addr));
			ret = 0;
		}
	}
	freeifaddrs(ifa);
	return ret;
}

/**
 * parse_outbound() - --outbound-addr / --outbound-addr6: address or interface
 * @c:		filled: @c->out4 or @c->out6
 * @opt:	the option, for the message
 * @arg:	an IPv4 or IPv6 address, or an interface name
 * @family:	the family an interface name stands for
 *
 * Return: 0, or -1 (reported)
 */
static int parse_outbound(struct slirp_conf *c, const char *opt, const char *arg, int family)
{
	struct in6_addr a6;
	struct in_addr a;

	if (inet_pton(AF_INET, arg, &a) == 1 || (family == AF_INET && !iface_addr(arg, family, &a))) {
		c->out4 = a;
		return 0;
	}
	if (inet_pton(AF_INET6, arg, &a6) == 1 || (family == AF_INET6 && !iface_addr(arg, family, &a6))) {
		c->out6 = a6;
		return 0;
	}
	cli_err("%s: '%s' is no IPv%c address, nor an interface with one", opt, arg,
		family == AF_INET ? '4' : '6');
	return -1;
}

/**
 * parse_mac() - --macaddress: six hexadecimal bytes, colon-separated
 * @arg:	"xx:xx:xx:xx:xx:xx"
 * @mac:	set
 *
 * Return: 0, or -1 (reported)
 */
static int parse_mac(const char *arg, unsigned char mac[6])
{
	unsigned b[6];
	char end;
	int i;

	if (sscanf(arg, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6) {
		cli_err("--macaddress: '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", arg);
		return -1;
	}
	for (i = 0; i < 6; i++)
		mac[i] = (unsigned char)b[i];
	if (mac[0] & 1) {
		cli_err("--macaddress: '%s' is a multicast address", arg);
		return -1;
	}
	return 0;
}

/**
 * parse_mtu() - --mtu, slirp4netns's range mapped to sandnet's
 * @arg:	value
 * @mtu:	set
 *
 * Return: 0, or -1 (reported)
 */
static int parse_mtu(const char *arg, unsigned *mtu)
{
	unsigned long v;

	if (cli_parse_uint(arg, SLIRP_MTU_MIN, SLIRP_MTU_MAX, &v)) {
		cli_err("--mtu: '%s' is not an MTU in %d..%d", arg, SLIRP_MTU_MIN,
			SLIRP_MTU_SANDNET_MAX);
		return -1;
	}
	if (v > SLIRP_MTU_SANDNET_MAX) {
		cli_err("--mtu: %lu is above sandnet's largest MTU: using %d", v,
			SLIRP_MTU_SANDNET_MAX);
		v = SLIRP_MTU_SANDNET_MAX;
	}
	*mtu = (unsigned)v;
	return 0;
}

/**
 * conf_init() - slirp4netns's defaults
 * @c:		filled
 */
static void conf_init(struct slirp_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->tap.name = "tap0";
	c->tap.mtu = SLIRP_MTU_DEFAULT;
	c->tap.vnet_hdr = 1;		/* offload, as sandnet's own modes */
	c->tap.prefix_len6 = 64;
	c->tap.no_ip6 = 1;		/* SLAAC, from the engine's advertisements */
	inet_pton(AF_INET6, "fd00::100", &c->tap.addr6);
	inet_pton(AF_INET6, "fd00::2", &c->tap.gw6);
	inet_pton(AF_INET6, "fd00::3", &c->dns6);
	c->no_ipv6 = 1;
	c->host_loopback = 1;
	c->ready_fd = -1;
	c->exit_fd = -1;
}

/**
 * conf_target() - PID|PATH and TAPNAME, by --netns-type
 * @c:		filled: netns, userns, tap.name
 * @argc:	arguments left
 * @argv:	them
 * @by_path:	--netns-type=path
 *
 * Return: 0, or -1 (reported)
 */
static int conf_target(struct slirp_conf *c, int argc, char **argv, int by_path)
{
	unsigned long pid;

	if (argc < 1) {
		cli_err("missing PID|PATH (usage: slirp4netns [OPTION]... PID|PATH [TAPNAME])");
		return -1;
	}
	if (argc > 2)
		cli_err("warning: too many arguments: '%s' and after ignored", argv[2]);
	if (argc > 1) {
		if (!*argv[1] || strlen(argv[1]) >= IFNAMSIZ || strchr(argv[1], '/')) {
			cli_err("TAPNAME: '%s' is not an interface name", argv[1]);
			return -1;
		}
		c->tap.name = argv[1];
	}
	if (by_path) {
		if (access(argv[0], F_OK)) {
			cli_err("%s: %s (an existing path expected with --netns-type=path)",
				argv[0], strerror(errno));
			return -1;
		}
		c->netns = argv[0];
		return 0;
	}
	if (cli_parse_uint(argv[0], 1, INT_MAX, &pid)) {
		cli_err("PID: '%s' is not a positive integer (a path needs --netns-type=path)",
			argv[0]);
		return -1;
	}
	snprintf(c->netns_buf, sizeof(c->netns_buf), "/proc/%lu/ns/net", pid);
	c->netns = c->netns_buf;
	if (!c->userns) {
		snprintf(c->userns_buf, sizeof(c->userns_buf), "/proc/%lu/ns/user", pid);
		c->userns = c->userns_buf;
		c->userns_implied = 1;
	}
	return 0;
}

/**
 * conf_addresses() - the guest, gateway and DNS addresses from the network
 * @c:		filled
 * @net:	network address
 * @prefix:	its prefix length
 * @no_dns:	--disable-dns
 */
static void conf_addresses(struct slirp_conf *c, struct in_addr net, unsigned prefix, int no_dns)
{
	uint32_t n = ntohl(net.s_addr);

	c->tap.prefix_len = prefix;
	c->tap.addr.s_addr = htonl(n + SLIRP_GUEST_OFFSET);
	c->tap.gw.s_addr = htonl(n + SLIRP_GW_OFFSET);
	c->dns4.s_addr = no_dns ? 0 : htonl(n + SLIRP_DNS_OFFSET);
	if (no_dns)
		memset(&c->dns6, 0, sizeof(c->dns6));
}

/**
 * slirp_parse() - read a slirp4netns command line
 * @argc:	argument count, argv[0] the program or "slirp4netns"
 * @argv:	arguments
 * @c:		filled
 * @pol:	the policy flags, filled (sandnet's own options, and group:host
 *		unless --disable-host-loopback)
 *
 * Return: 0 to go on, 1 if --help or --version was served, -1 on a usage
 *	   error (reported)
 */
int slirp_parse(int argc, char **argv, struct slirp_conf *c, struct cli_policy *pol)
{
	const char *cidr = SLIRP_CIDR_DEFAULT;
	int by_path = 0, no_dns = 0, mac = 0, opt;
	struct in_addr net;
	unsigned prefix;

	conf_init(c);
	cli_policy_init(pol);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":ce:r:m:a:6hv", slirp_options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			c->configure = 1;
			break;
		case 'e':
			if (parse_fd("--exit-fd", optarg, &c->exit_fd))
				return -1;
			break;
		case 'r':
			if (parse_fd("--ready-fd", optarg, &c->ready_fd))
				return -1;
			break;
		case 'm':
			if (parse_mtu(optarg, &c->tap.mtu))
				return -1;
			break;
		case 'a':
			if (!*optarg) {
				cli_err("--api-socket: empty path");
				return -1;
			}
			c->api_socket = optarg;
			break;
		case '6':
			c->no_ipv6 = 0;
			break;
		case SOPT_CIDR:
			cidr = optarg;
			break;
		case SOPT_DISABLE_HOST_LOOPBACK:
			c->host_loopback = 0;
			break;
		case SOPT_NETNS_TYPE:
			if (strcmp(optarg, "pid") && strcmp(optarg, "path")) {
				cli_err("--netns-type: '%s' is not pid or path", optarg);
				return -1;
			}
			by_path = !strcmp(optarg, "path");
			break;
		case SOPT_USERNS_PATH:
			if (access(optarg, F_OK)) {
				cli_err("--userns-path: %s: %s", optarg, strerror(errno));
				return -1;
			}
			c->userns = optarg;
			c->userns_implied = 0;
			break;
		case SOPT_ENABLE_SANDBOX:
		case SOPT_ENABLE_SECCOMP:
			cli_err("note: %s accepted; sandnet applies no confinement of its own yet",
				opt == SOPT_ENABLE_SANDBOX ? "--enable-sandbox" : "--enable-seccomp");
			break;
		case SOPT_OUTBOUND_ADDR:
		case SOPT_OUTBOUND_ADDR6:
			if (parse_outbound(c, opt == SOPT_OUTBOUND_ADDR ? "--outbound-addr" :
					   "--outbound-addr6", optarg,
					   opt == SOPT_OUTBOUND_ADDR ? AF_INET : AF_INET6))
				return -1;
			break;
		case SOPT_DISABLE_DNS:
			no_dns = 1;
			break;
		case SOPT_MACADDRESS:
			if (parse_mac(optarg, c->tap.mac))
				return -1;
			mac = 1;
			break;
		case SOPT_TARGET_TYPE:
			if (!strcmp(optarg, "netns"))
				break;
			cli_err("--target-type: '%s' is not supported (sandnet serves netns only)",
				optarg);
			return -1;
		case SOPT_ALLOW:
		case SOPT_DENY:
			if (cli_policy_rule(pol, opt == SOPT_ALLOW ? SN_POLICY_ALLOW : SN_POLICY_DENY,
					    opt == SOPT_ALLOW ? "--allow" : "--deny", optarg))
				return -1;
			break;
		case SOPT_DEFAULT_EGRESS:
			if (cli_policy_default(pol, 0, optarg))
				return -1;
			break;
		case SOPT_POLICY:
			if (!*optarg) {
				cli_err("--policy: empty path");
				return -1;
			}
			pol->file = optarg;
			break;
		case SOPT_VERBOSE:
			c->verbose++;
			break;
		case SOPT_PCAP:
		case SOPT_PCAP_MAX_SIZE:
			if (cli_pcap_opt(&c->pcap, opt == SOPT_PCAP_MAX_SIZE, optarg))
				return -1;
			break;
		case 'h':
			return out(slirp_usage) ? -1 : 1;
		case 'v':
			return out("slirp4netns version " SLIRP_COMPAT_VERSION "\n"
				   "sandnet version " SN_VERSION_STRING
				   " (slirp4netns-compatible mode)\n") ? -1 : 1;
		default:
			cli_bad_option(opt, argv);
			return -1;
		}
	}
	if (cli_pcap_conf_check(&c->pcap))
		return -1;
	if (mac && !c->configure) {
		cli_err("--macaddress cannot be specified when --configure or -c is not specified");
		return -1;
	}
	c->tap.mac_set = mac;
	if (parse_cidr(cidr, &net, &prefix) || conf_target(c, argc - optind, argv + optind, by_path))
		return -1;
	conf_addresses(c, net, prefix, no_dns);
	/* after the user's rules: a --deny of theirs comes first */
	if (c->host_loopback &&
	    cli_policy_rule(pol, SN_POLICY_ALLOW, "host loopback (no --disable-host-loopback)",
			    "group:host"))
		return -1;
	return 0;
}

/**
 * slirp_config() - the engine's settings slirp4netns's command line makes
 * @c:		the command line
 * @cfg:	engine configuration, addresses and MTU set from @c->tap already
 *
 * The DNS address of its own (network + 3, fd00::3), IPv6 only with -6,
 * the outbound source addresses.
 */
void slirp_config(const struct slirp_conf *c, struct sn_config *cfg)
{
	cfg->dns_ip4 = c->dns4;
	cfg->dns_ip6 = c->dns6;
	cfg->no_ipv6 = c->no_ipv6;
	cfg->outbound_ip4 = c->out4;
	cfg->outbound_ip6 = c->out6;
}

/**
 * slirp_started() - say what is served, as slirp4netns does, and signal ready
 * @c:		the command line
 *
 * The lines go to stdout (slirp4netns's callers log it); "1" to the -r fd,
 * which is then closed. A ready fd that fails is reported and otherwise
 * ignored, as slirp4netns does.
 */
void slirp_started(const struct slirp_conf *c)
{
	char net[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	char dns[INET_ADDRSTRLEN], guest[INET_ADDRSTRLEN], o4[INET_ADDRSTRLEN];
	char o6[INET6_ADDRSTRLEN], buf[1024];
	uint32_t m = ~0U << (32 - c->tap.prefix_len);
	struct in_addr a;
	ssize_t n;
	int len;

	a.s_addr = htonl(ntohl(c->tap.addr.s_addr) & m);
	inet_ntop(AF_INET, &a, net, sizeof(net));
	a.s_addr = htonl(m);
	inet_ntop(AF_INET, &a, mask, sizeof(mask));
	inet_ntop(AF_INET, &c->tap.gw, gw, sizeof(gw));
	inet_ntop(AF_INET, c->dns4.s_addr ? &c->dns4 : &c->tap.gw, dns, sizeof(dns));
	inet_ntop(AF_INET, &c->tap.addr, guest, sizeof(guest));
	inet_ntop(AF_INET, &c->out4, o4, sizeof(o4));
	inet_ntop(AF_INET6, &c->out6, o6, sizeof(o6));
	len = snprintf(buf, sizeof(buf),
		       "Starting sandnet " SN_VERSION_STRING " (slirp4netns-compatible mode)\n"
		       "* MTU:             %u\n* Network:         %s\n* Netmask:         %s\n"
		       "* Gateway:         %s\n* DNS:             %s\n* Recommended IP:  %s\n"
		       "%s%s%s%s%s%s%s%s%s%s",
		       c->tap.mtu, net, mask, gw, dns, guest,
		       c->api_socket ? "* API Socket:      " : "", c->api_socket ? c->api_socket : "",
		       c->api_socket ? "\n" : "",
		       c->out4.s_addr ? "* Outbound IPv4:   " : "", c->out4.s_addr ? o4 : "",
		       c->out4.s_addr ? "\n" : "",
		       IN6_IS_ADDR_UNSPECIFIED(&c->out6) ? "" : "* Outbound IPv6:   ",
		       IN6_IS_ADDR_UNSPECIFIED(&c->out6) ? "" : o6,
		       IN6_IS_ADDR_UNSPECIFIED(&c->out6) ? "" : "\n",
		       c->host_loopback ? "WARNING: 127.0.0.1:* on the host is accessible as the "
		       "gateway (set --disable-host-loopback to prohibit connecting to 127.0.0.1:*)\n" :
		       "");
	if (len > 0)
		out(buf);
	if (c->ready_fd < 0)
		return;
	do
		n = write(c->ready_fd, "1", 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		cli_err("--ready-fd %d: %s", c->ready_fd, n < 0 ? strerror(errno) : "short write");
	close(c->ready_fd);
}
