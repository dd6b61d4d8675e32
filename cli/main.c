// SPDX-License-Identifier: MIT
/*
 * sandnet - user-mode networking for a command or a network namespace
 *
 *   sandnet run [OPTIONS] [--] COMMAND [ARG...]
 *   sandnet attach --netns PATH [--userns PATH] [--tap NAME] [--configure] [OPTIONS]
 *   sandnet serve --socket PATH | --dgram PATH | --fd N [OPTIONS]   (cli/serve.c)
 *   sandnet slirp4netns [OPTION]... PID|PATH [TAPNAME]   (or run as slirp4netns)
 *
 * run: a child process moves to new network and mount namespaces (and a new
 * user namespace when not root), creates and configures TAP device tap0,
 * binds a resolv.conf naming the gateway over /etc/resolv.conf, passes the
 * TAP fd to the parent over a socketpair and waits for a "go" byte before
 * it execs COMMAND. The parent stays in the original namespaces, where the
 * engine opens host sockets, and serves the TAP until COMMAND exits; then it
 * drains (below) and exits with COMMAND's status.
 *
 * attach: create a TAP device in an existing network namespace, the way
 * slirp4netns does, and serve it until SIGINT or SIGTERM, then drain. A
 * child process joins the namespaces (the user namespace first, with
 * --userns) and passes the device back (tap_open_in()), so this process
 * keeps the caller's credentials for its host sockets.
 *
 * serve: a virtual machine's link on a socket (cli/serve.c), on the same
 * options and serving loop (struct serve, cli/cli.h) as run and attach.
 *
 * Every command carries the guest's frames on a frontend (sandnet/frontend.h:
 * the TAP, or serve's stream and datagram sockets) and hands the control
 * plane's epoll set (cli/control.h) to sn_frontend_run() as its stop fd.
 *
 * slirp4netns: slirp4netns 1.2's command line (cli/slirp4netns.c), turned
 * into the options attach runs with (attach_main()): its addresses, ready
 * and exit fds, no watch on the namespace path.
 *
 * Drain: when COMMAND has exited, the guest's kernel may still hold data
 * its sockets accepted (a client that wrote, closed and exited leaves an
 * orphaned socket sending the rest and its FIN), and the engine data on its
 * way to the host. Serving stops once no TCP connection is open
 * (sn_engine_tcp_pending()), or after --linger seconds in which no TCP
 * segment came from the guest and no byte moved: an inactivity bound, so a
 * transfer that still makes progress is never cut, while a connection the
 * guest leaves open (a daemon) or one that is stuck ends the wait. A
 * second SIGINT or SIGTERM stops at once.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

#include <sandnet/frontend.h>
#include <sandnet/sandnet.h>

#include "cli.h"
#include "serve.h"
#include "slirp4netns.h"

#define MTU_MIN		576
#define MTU_MAX		65520
#define MTU_DEFAULT	65520	/* as pasta: fewer, larger frames */
#define TAP_DEFAULT	"tap0"
#define DNS_PORT	53

/* Inactivity bound of the drain on exit. Each retransmission from the
 * guest counts as activity, so what must fit is one gap between two: a
 * Linux guest's RTO starts at 0.2 s and doubles, so 5 s rides out five
 * losses of one segment in a row (the fifth gap is 3.2 s). Short enough not
 * to hold up much an exit that leaves an idle connection behind.
 */
#define DRAIN_LINGER_DEFAULT	5
#define DRAIN_LINGER_DEFAULT_S	"5"
#define DRAIN_LINGER_MAX	86400
/* How often the drain looks at the engine's pending connections. */
#define DRAIN_CHECK_MS		20

/* run and attach only: their guest link is a TAP device */
#define USAGE_NO_OFFLOAD \
"  --no-offload            open the TAP device without IFF_VNET_HDR and TSO:\n" \
"                          the guest's TCP crosses it in frames of the MTU\n" \
"                          and every checksum is computed (offload is also\n" \
"                          left off when the kernel refuses TUNSETOFFLOAD)\n" \
"  --offload               the default: IFF_VNET_HDR and TSO, the guest's TCP\n" \
"                          crossing the TAP in 64 KiB frames at any MTU\n"

static const char usage_run[] =
"Usage: sandnet run [OPTIONS] [--] COMMAND [ARG...]\n"
"\n"
"Run COMMAND in new network and mount namespaces (and a new user namespace\n"
"when not root, mapping the caller to root inside). Its only interface\n"
"besides lo is TAP device tap0, with the guest address, a default route via\n"
"the gateway and the MTU below, and for IPv6 fd00:2::15/64 via fd00:2::2;\n"
"/etc/resolv.conf names the gateway. Traffic leaves through this process's\n"
"host sockets. Exits with COMMAND's status (128+N if killed by signal N);\n"
"SIGINT and SIGTERM are passed to COMMAND. Once COMMAND exited, sandnet\n"
"keeps serving while TCP connections are still open (see --linger).\n"
"\n"
USAGE_NO_OFFLOAD;

static const char usage_attach[] =
"Usage: sandnet attach --netns PATH [--userns PATH] [--tap NAME] [--configure] [OPTIONS]\n"
"\n"
"Create TAP device NAME in the network namespace at PATH (such as\n"
"/run/netns/NAME or /proc/PID/ns/net) and serve it until SIGINT or SIGTERM\n"
"(exit 0, after the drain of --linger) or until the device or the namespace\n"
"goes away (exit 1 and 0).\n"
"\n"
"  --netns PATH            network namespace to attach to (required)\n"
"  --userns PATH           user namespace to join first (/proc/PID/ns/user):\n"
"                          its owner may then attach without root; sandnet\n"
"                          itself stays the calling user on the host side\n"
"  --tap NAME              TAP device name (default " TAP_DEFAULT ")\n"
"  --configure             also set NAME's addresses, MTU and default routes\n"
"                          (IPv4 as below, IPv6 fd00:2::15/64 via fd00:2::2),\n"
"                          and bring lo up; without it the guest can use\n"
"                          DHCPv4, router advertisements (SLAAC) and DHCPv6\n"
USAGE_NO_OFFLOAD;

static const char usage_opts[] =
"\n"
"Options:\n"
"  --address ADDR[/PREFIX] guest IPv4 address (default 10.0.2.15/24)\n"
"  --gateway ADDR          IPv4 gateway: router, DNS server and, with\n"
"                          --allow-host-loopback, the host (default 10.0.2.2,\n"
"                          or .2 of the --address subnet)\n"
"  --mtu N                 link MTU, 576..65520 (default 65520; attach\n"
"                          without --configure: the device's MTU)\n"
"  --dns-upstream ADDR[:PORT]\n"
"                          resolver the gateway forwards DNS to (IPv4, or\n"
"                          IPv6 as ADDR or [ADDR]:PORT; port 53 by default;\n"
"                          repeat for up to 4; default: the host's\n"
"                          /etc/resolv.conf)\n"
"  --allow RULE            allow what RULE matches (repeatable, in order)\n"
"  --deny RULE             deny what RULE matches (repeatable, in order);\n"
"                          RULE is [PROTO:]DEST[:PORTS]: PROTO tcp, udp or\n"
"                          icmp; DEST an address or CIDR (IPv6 in brackets\n"
"                          before :PORTS), a domain, *.suffix, group:NAME\n"
"                          (host, metadata, loopback, multicast, link-local,\n"
"                          private, public) or any; PORTS N, N-M or N,M,...\n"
"  --default-egress allow|deny\n"
"                          when no rule matches: allow (public addresses\n"
"                          only, the default) or deny\n"
"  --default-ingress allow|deny\n"
"                          for published ports (default allow)\n"
"  --policy FILE           JSON policy file; its rules follow the flags';\n"
"                          re-read on SIGHUP (see 'sandnet policy --help')\n"
"  --allow-host-loopback   same as --allow group:host: the gateway reaches\n"
"                          the host's 127.0.0.1 / ::1, and the host's own\n"
"                          addresses are reachable\n"
"  --linger SECONDS        on exit (run: COMMAND exited; attach: SIGINT or\n"
"                          SIGTERM), keep serving until every TCP connection\n"
"                          has closed, or until no TCP segment and no byte\n"
"                          moved for SECONDS: a bound on inactivity, not on\n"
"                          total time (default " DRAIN_LINGER_DEFAULT_S "; 0: stop at once; a\n"
"                          second SIGINT or SIGTERM stops at once)\n"
"  --publish [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]\n"
"                          forward a host port to the guest (repeatable;\n"
"                          default HOST_IP 127.0.0.1, IPv6 as [::1]:8080:80;\n"
"                          default tcp); the guest sees the client's address,\n"
"                          the gateway for a client on the host's loopback\n"
"  --api-socket PATH       serve the control socket at PATH (owner-only,\n"
"                          JSON lines: slirp4netns's API verbs and sandnet's;\n"
"                          see sandnet(1))\n"
"  --stats-file FILE       write the counters as JSON to FILE, atomically,\n"
"                          every --stats-interval SECONDS (default 10), on\n"
"                          SIGUSR1 (which also logs them) and on exit\n"
"  --stats-interval SECONDS\n"
"  --pcap FILE             write every frame in and out of the guest link to\n"
"                          FILE (pcap, nanosecond timestamps; tshark -r FILE)\n"
"  --pcap-max-size BYTES   stop capturing before FILE would grow past BYTES\n"
"                          (K, M, G suffixes; said once in the log; default\n"
"                          0: no bound)\n"
"  -v, --verbose           log more; repeat for debug output\n"
"  -h, --help              show this help and exit\n"
"  --version               show the version and exit\n";

static const char usage_top[] =
"Usage: sandnet run [OPTIONS] [--] COMMAND [ARG...]\n"
"       sandnet attach --netns PATH [--userns PATH] [--tap NAME] [--configure] [OPTIONS]\n"
"       sandnet serve --socket PATH | --dgram PATH | --fd N [OPTIONS]\n"
"       sandnet policy check FILE | explain [OPTIONS] DEST\n"
"       sandnet slirp4netns [OPTION]... PID|PATH [TAPNAME]\n"
"       sandnet --help | --version\n"
"\n"
"User-mode networking: a guest gets network access through this process's\n"
"ordinary host sockets, without privileges on the host.\n"
"\n"
"  run       run COMMAND in its own network namespace, networked by sandnet\n"
"  attach    serve a TAP device in an existing network namespace\n"
"  serve     serve a VM: QEMU -netdev stream/dgram, libkrun/vfkit unixgram\n"
"  policy    check a policy file, or explain a verdict (sandnet policy --help)\n"
"  slirp4netns  slirp4netns 1.2's command line (also when run as 'slirp4netns')\n"
"\n"
"See 'sandnet run --help', 'sandnet attach --help' and 'sandnet serve --help'.\n";

enum {
	OPT_ADDRESS = 256,
	OPT_GATEWAY,
	OPT_MTU,
	OPT_DNS_UPSTREAM,
	OPT_ALLOW_HOST_LOOPBACK,
	OPT_ALLOW,
	OPT_DENY,
	OPT_DEFAULT_EGRESS,
	OPT_DEFAULT_INGRESS,
	OPT_POLICY,
	OPT_VERSION,
	OPT_NETNS,
	OPT_TAP,
	OPT_CONFIGURE,
	OPT_LINGER,
	OPT_PUBLISH,
	OPT_API_SOCKET,
	OPT_STATS_FILE,
	OPT_STATS_INTERVAL,
	OPT_USERNS,
	OPT_PCAP,
	OPT_PCAP_MAX_SIZE,
	OPT_NO_OFFLOAD,
	OPT_OFFLOAD,
};

#define COMMON_OPTIONS							\
	{ "address",		required_argument, NULL, OPT_ADDRESS },	\
	{ "gateway",		required_argument, NULL, OPT_GATEWAY },	\
	{ "mtu",		required_argument, NULL, OPT_MTU },	\
	{ "dns-upstream",	required_argument, NULL, OPT_DNS_UPSTREAM }, \
	{ "allow-host-loopback", no_argument,	   NULL, OPT_ALLOW_HOST_LOOPBACK }, \
	{ "allow",		required_argument, NULL, OPT_ALLOW },	\
	{ "deny",		required_argument, NULL, OPT_DENY },	\
	{ "default-egress",	required_argument, NULL, OPT_DEFAULT_EGRESS }, \
	{ "default-ingress",	required_argument, NULL, OPT_DEFAULT_INGRESS }, \
	{ "policy",		required_argument, NULL, OPT_POLICY },	\
	{ "linger",		required_argument, NULL, OPT_LINGER },	\
	{ "publish",		required_argument, NULL, OPT_PUBLISH },	\
	{ "api-socket",		required_argument, NULL, OPT_API_SOCKET }, \
	{ "stats-file",		required_argument, NULL, OPT_STATS_FILE }, \
	{ "stats-interval",	required_argument, NULL, OPT_STATS_INTERVAL }, \
	{ "pcap",		required_argument, NULL, OPT_PCAP },	\
	{ "pcap-max-size",	required_argument, NULL, OPT_PCAP_MAX_SIZE }, \
	{ "verbose",		no_argument,	   NULL, 'v' },		\
	{ "help",		no_argument,	   NULL, 'h' },		\
	{ "version",		no_argument,	   NULL, OPT_VERSION }

static const struct option run_options[] = {
	COMMON_OPTIONS,
	{ "no-offload",		no_argument,	   NULL, OPT_NO_OFFLOAD },
	{ "offload",		no_argument,	   NULL, OPT_OFFLOAD },
	{ 0 },
};

static const struct option attach_options[] = {
	COMMON_OPTIONS,
	{ "netns",		required_argument, NULL, OPT_NETNS },
	{ "userns",		required_argument, NULL, OPT_USERNS },
	{ "tap",		required_argument, NULL, OPT_TAP },
	{ "configure",		no_argument,	   NULL, OPT_CONFIGURE },
	{ "no-offload",		no_argument,	   NULL, OPT_NO_OFFLOAD },
	{ "offload",		no_argument,	   NULL, OPT_OFFLOAD },
	{ 0 },
};

static const struct option serve_options[] = {
	COMMON_OPTIONS,
	SERVE_OPTIONS,
	{ 0 },
};

/**
 * print_out() - write @s to stdout and make sure it got there
 * @s:		text
 *
 * Return: 0 on success, 1 if stdout failed (reported)
 */
static int print_out(const char *s)
{
	if (fputs(s, stdout) == EOF || fflush(stdout)) {
		cli_perror("stdout");
		return 1;
	}
	return 0;
}

/**
 * parse_ip4() - parse a dotted-quad IPv4 address
 * @s:		text
 * @len:	characters of @s to use
 * @a:		the address
 *
 * Return: 0 on success, -1 if @s is not an address
 */
static int parse_ip4(const char *s, size_t len, struct in_addr *a)
{
	char buf[INET_ADDRSTRLEN];

	if (len >= sizeof(buf))
		return -1;

	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, a) == 1 ? 0 : -1;
}

/**
 * parse_address() - parse --address ADDR[/PREFIX]
 * @o:		options, address and prefix length set
 * @arg:	text
 *
 * Return: 0 on success, -1 on error (reported)
 */
static int parse_address(struct opts *o, const char *arg)
{
	const char *slash = strchr(arg, '/');
	unsigned long prefix = o->tap.prefix_len;

	if (parse_ip4(arg, slash ? (size_t)(slash - arg) : strlen(arg),
		      &o->tap.addr) ||
	    (slash && cli_parse_uint(slash + 1, 1, 30, &prefix))) {
		cli_err("--address: '%s' is not an IPv4 ADDR[/PREFIX] with PREFIX in 1..30",
			arg);
		return -1;
	}

	o->tap.prefix_len = prefix;
	return 0;
}

/**
 * parse_dns() - parse --dns-upstream and add the resolver to the list
 * @o:		options, resolver appended
 * @arg:	IPv4 ADDR[:PORT], IPv6 ADDR, or [IPv6 ADDR]:PORT
 *
 * Return: 0 on success, -1 on error (reported)
 */
static int parse_dns(struct opts *o, const char *arg)
{
	const char *colon = strchr(arg, ':'), *port_s = NULL;
	unsigned long port = DNS_PORT;
	char host[INET6_ADDRSTRLEN];
	struct sockaddr_storage *ss;
	struct in6_addr a6;
	struct in_addr a;
	size_t len;

	if (o->n_dns >= SN_MAX_DNS_UPSTREAMS) {
		cli_err("--dns-upstream: at most %d upstreams", SN_MAX_DNS_UPSTREAMS);
		return -1;
	}
	ss = &o->dns[o->n_dns];
	memset(ss, 0, sizeof(*ss));

	if (colon && !strchr(colon + 1, ':') && arg[0] != '[') {	/* IPv4:PORT */
		if (parse_ip4(arg, (size_t)(colon - arg), &a) ||
		    cli_parse_uint(colon + 1, 1, 65535, &port))
			goto bad;
	} else if (!colon) {						/* IPv4 */
		if (parse_ip4(arg, strlen(arg), &a))
			goto bad;
	} else {							/* IPv6 */
		const char *start = arg + (arg[0] == '[');
		const char *end = arg[0] == '[' ? strchr(arg, ']') : arg + strlen(arg);

		if (!end || (arg[0] == '[' && end[1] && (end[1] != ':' || !end[2])))
			goto bad;
		if (arg[0] == '[' && end[1])
			port_s = end + 2;
		len = (size_t)(end - start);
		if (len >= sizeof(host))
			goto bad;
		memcpy(host, start, len);
		host[len] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1 ||
		    (port_s && cli_parse_uint(port_s, 1, 65535, &port)))
			goto bad;
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_addr = a6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		o->n_dns++;
		return 0;
	}
	((struct sockaddr_in *)ss)->sin_family = AF_INET;
	((struct sockaddr_in *)ss)->sin_addr = a;
	((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	o->n_dns++;
	return 0;
bad:
	cli_err("--dns-upstream: '%s' is not ADDR, ADDR:PORT or [IPv6 ADDR]:PORT", arg);
	return -1;
}

/**
 * parse_publish() - parse --publish [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]
 * @o:		options, port appended
 * @arg:	text; IPv6 HOST_IP in brackets
 *
 * Return: 0 on success, -1 on error (reported)
 */
static int parse_publish(struct opts *o, const char *arg)
{
	struct publish_opt *p = &o->publish[o->n_publish];
	const char *slash = strrchr(arg, '/'), *ports = arg, *colon;
	char buf[INET6_ADDRSTRLEN + 16], host[INET6_ADDRSTRLEN];
	unsigned long hport, gport;
	size_t len = slash ? (size_t)(slash - arg) : strlen(arg);
	struct in6_addr a6;
	struct in_addr a;
	int v6 = 0;

	if (o->n_publish >= SN_PUBLISH_MAX) {
		cli_err("--publish: at most %d ports", SN_PUBLISH_MAX);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	p->arg = arg;
	p->proto = IPPROTO_TCP;
	if (slash && !strcmp(slash, "/udp"))
		p->proto = IPPROTO_UDP;
	else if (slash && strcmp(slash, "/tcp"))
		goto bad;
	if (len >= sizeof(buf))
		goto bad;
	memcpy(buf, arg, len);
	buf[len] = '\0';
	a.s_addr = htonl(INADDR_LOOPBACK);
	ports = buf;
	if (buf[0] == '[') {					/* [IPv6]:HP:GP */
		char *end = strchr(buf, ']');

		if (!end || end[1] != ':' || (size_t)(end - buf - 1) >= sizeof(host))
			goto bad;
		memcpy(host, buf + 1, (size_t)(end - buf - 1));
		host[end - buf - 1] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			goto bad;
		v6 = 1;
		ports = end + 2;
	} else if (strchr(buf, ':') != strrchr(buf, ':')) {	/* IPv4:HP:GP */
		colon = strchr(buf, ':');
		if (parse_ip4(buf, (size_t)(colon - buf), &a))
			goto bad;
		ports = colon + 1;
	}
	colon = strchr(ports, ':');
	if (!colon || (size_t)(colon - ports) >= 6)
		goto bad;
	memcpy(host, ports, (size_t)(colon - ports));
	host[colon - ports] = '\0';
	if (cli_parse_uint(host, 1, 65535, &hport) || cli_parse_uint(colon + 1, 1, 65535, &gport))
		goto bad;
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->host;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = a6;
		sin6->sin6_port = htons((uint16_t)hport);
		p->host_len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&p->host;

		sin->sin_family = AF_INET;
		sin->sin_addr = a;
		sin->sin_port = htons((uint16_t)hport);
		p->host_len = sizeof(*sin);
	}
	p->guest_port = (uint16_t)gport;
	o->n_publish++;
	return 0;
bad:
	cli_err("--publish: '%s' is not [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp] "
		"(ports 1..65535, IPv6 HOST_IP in brackets)", arg);
	return -1;
}

/**
 * publish_all() - open the --publish ports on a new engine
 * @ctl:	control plane of the engine (the ports get its ids, from 1)
 * @o:		options
 *
 * Return: 0, or -1 if one cannot be opened (reported)
 */
static int publish_all(struct cli_ctl *ctl, const struct opts *o)
{
	char err[160];
	unsigned i;

	for (i = 0; i < o->n_publish; i++) {
		const struct publish_opt *p = &o->publish[i];

		if (cli_ctl_publish(ctl, p->proto, (const struct sockaddr *)&p->host, p->host_len,
				    p->guest_port, 0, err, sizeof(err)) < 0) {
			cli_err("--publish %s: %s", p->arg, err);
			return -1;
		}
	}
	return 0;
}

/**
 * tap_name_ok() - check an interface name the way the kernel will
 * @name:	candidate
 *
 * Return: 1 if valid, 0 if not
 */
static int tap_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;

	return !name[strcspn(name, "/:% \t\n\r\v\f")];
}

/**
 * opts_init() - defaults for both commands
 * @o:		options to fill
 */
static void opts_init(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tap.name = TAP_DEFAULT;
	o->tap.addr.s_addr = htonl(0x0a00020f);	/* 10.0.2.15 */
	o->tap.gw.s_addr = htonl(0x0a000202);	/* 10.0.2.2 */
	o->tap.prefix_len = 24;
	inet_pton(AF_INET6, "fd00:2::15", &o->tap.addr6);
	inet_pton(AF_INET6, "fd00:2::2", &o->tap.gw6);
	o->tap.prefix_len6 = 64;
	o->tap.mtu = MTU_DEFAULT;
	o->tap.vnet_hdr = 1;	/* --no-offload turns it off */
	o->linger = DRAIN_LINGER_DEFAULT;
	cli_policy_init(&o->policy);
}

/**
 * opts_check() - cross-check addresses, default the gateway to the subnet's .2
 * @o:		options
 *
 * Return: 0 on success, -1 on error (reported)
 */
static int opts_check(struct opts *o)
{
	uint32_t mask = ~0U << (32 - o->tap.prefix_len);
	uint32_t addr = ntohl(o->tap.addr.s_addr);
	uint32_t net = addr & mask, bcast = net | ~mask;
	char s[INET_ADDRSTRLEN], n[INET_ADDRSTRLEN];
	uint32_t gw;

	if (!o->gw_set) {
		gw = (net | 2) == addr ? net | 1 : net | 2;
		o->tap.gw.s_addr = htonl(gw);
	}
	gw = ntohl(o->tap.gw.s_addr);

	inet_ntop(AF_INET, &o->tap.addr, s, sizeof(s));
	if (addr == net || addr == bcast) {
		cli_err("--address: %s is the network or broadcast address of %s/%u",
			s, s, o->tap.prefix_len);
		return -1;
	}

	inet_ntop(AF_INET, &(struct in_addr){ htonl(net) }, n, sizeof(n));
	if ((gw & mask) != net || gw == net || gw == bcast || gw == addr) {
		inet_ntop(AF_INET, &o->tap.gw, s, sizeof(s));
		cli_err("--gateway: %s is not another host address in %s/%u",
			s, n, o->tap.prefix_len);
		return -1;
	}

	return 0;
}

/**
 * parse_opts() - parse the options of "run", "attach" or "serve"
 * @argc:	argument count, argv[0] being the command name
 * @argv:	arguments
 * @mode:	CLI_RUN (stops at COMMAND), CLI_ATTACH or CLI_SERVE
 * @o:		options, filled; the policy built (o->pol)
 *
 * Return: 0 to go on, 1 if --help or --version was served, -1 on a usage
 *	   error (reported)
 */
int parse_opts(int argc, char **argv, int mode, struct opts *o)
{
	const struct option *longopts = mode == CLI_RUN ? run_options :
					mode == CLI_SERVE ? serve_options : attach_options;
	const char *usage = mode == CLI_RUN ? usage_run :
			    mode == CLI_SERVE ? usage_serve : usage_attach;
	const char *optstring = mode == CLI_RUN ? "+:hv" : ":hv";
	char err[512];
	struct in_addr a;
	unsigned long v;
	int c;

	opts_init(o);
	if (mode == CLI_SERVE)
		serve_opts_init(o);
	opterr = 0;

	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			if (print_out(usage) || print_out(usage_opts))
				exit(EXIT_FAILURE);
			return 1;
		case OPT_VERSION:
			if (print_out("sandnet " SN_VERSION_STRING "\n"))
				exit(EXIT_FAILURE);
			return 1;
		case 'v':
			o->verbose++;
			break;
		case OPT_ADDRESS:
			if (parse_address(o, optarg))
				return -1;
			break;
		case OPT_GATEWAY:
			if (parse_ip4(optarg, strlen(optarg), &a)) {
				cli_err("--gateway: '%s' is not an IPv4 address",
					optarg);
				return -1;
			}
			o->tap.gw = a;
			o->gw_set = 1;
			break;
		case OPT_MTU:
			if (cli_parse_uint(optarg, MTU_MIN, MTU_MAX, &v)) {
				cli_err("--mtu: '%s' is not an MTU in %d..%d",
					optarg, MTU_MIN, MTU_MAX);
				return -1;
			}
			o->tap.mtu = v;
			o->mtu_set = 1;
			break;
		case OPT_DNS_UPSTREAM:
			if (parse_dns(o, optarg))
				return -1;
			break;
		case OPT_ALLOW_HOST_LOOPBACK:
			if (cli_policy_rule(&o->policy, SN_POLICY_ALLOW, "--allow-host-loopback",
					    "group:host"))
				return -1;
			break;
		case OPT_ALLOW:
		case OPT_DENY:
			if (cli_policy_rule(&o->policy, c == OPT_ALLOW ? SN_POLICY_ALLOW :
					    SN_POLICY_DENY, c == OPT_ALLOW ? "--allow" : "--deny",
					    optarg))
				return -1;
			break;
		case OPT_DEFAULT_EGRESS:
		case OPT_DEFAULT_INGRESS:
			if (cli_policy_default(&o->policy, c == OPT_DEFAULT_INGRESS, optarg))
				return -1;
			break;
		case OPT_POLICY:
			if (!*optarg) {
				cli_err("--policy: empty path");
				return -1;
			}
			o->policy.file = optarg;
			break;
		case OPT_LINGER:
			if (cli_parse_uint(optarg, 0, DRAIN_LINGER_MAX, &v)) {
				cli_err("--linger: '%s' is not a number of seconds in 0..%d",
					optarg, DRAIN_LINGER_MAX);
				return -1;
			}
			o->linger = v;
			break;
		case OPT_PUBLISH:
			if (parse_publish(o, optarg))
				return -1;
			break;
		case OPT_API_SOCKET:
		case OPT_STATS_FILE:
			if (!*optarg) {
				cli_err("%s: empty path", c == OPT_API_SOCKET ? "--api-socket" :
					"--stats-file");
				return -1;
			}
			*(c == OPT_API_SOCKET ? &o->api_socket : &o->stats_file) = optarg;
			break;
		case OPT_PCAP:
		case OPT_PCAP_MAX_SIZE:
			if (cli_pcap_opt(&o->pcap, c == OPT_PCAP_MAX_SIZE, optarg))
				return -1;
			break;
		case OPT_STATS_INTERVAL:
			if (cli_parse_uint(optarg, 1, CTL_STATS_INTERVAL_MAX, &v)) {
				cli_err("--stats-interval: '%s' is not a number of seconds in 1..%d",
					optarg, CTL_STATS_INTERVAL_MAX);
				return -1;
			}
			o->stats_interval = v;
			break;
		case OPT_NETNS:
			if (!*optarg) {
				cli_err("--netns: empty path");
				return -1;
			}
			o->netns = optarg;
			break;
		case OPT_USERNS:
			if (!*optarg) {
				cli_err("--userns: empty path");
				return -1;
			}
			o->userns = optarg;
			break;
		case OPT_TAP:
			if (!tap_name_ok(optarg)) {
				cli_err("--tap: '%s' is not an interface name (1..%d characters, no '/', ':', '%%' or spaces)",
					optarg, IFNAMSIZ - 1);
				return -1;
			}
			o->tap.name = optarg;
			break;
		case OPT_CONFIGURE:
			o->configure = 1;
			break;
		case OPT_NO_OFFLOAD:
			o->tap.vnet_hdr = 0;
			break;
		case OPT_OFFLOAD:
			o->tap.vnet_hdr = 1;
			break;
		default:
			if (mode == CLI_SERVE && c >= OPT_SERVE_FIRST) {
				if (serve_opt(o, c, optarg))
					return -1;
				break;
			}
			cli_bad_option(c, argv);
			return -1;
		}
	}

	if (mode == CLI_SERVE) {
		if (serve_opts_check(o, argc, argv))
			return -1;
	} else if (mode == CLI_RUN) {
		if (optind >= argc) {
			cli_err("run: missing COMMAND (sandnet run [OPTIONS] -- COMMAND [ARG...])");
			return -1;
		}
		o->cmd = argv + optind;
	} else {
		if (optind < argc) {
			cli_err("attach: unexpected argument '%s'", argv[optind]);
			return -1;
		}
		if (!o->netns) {
			cli_err("attach: missing --netns PATH");
			return -1;
		}
	}

	if (o->stats_interval && !o->stats_file) {
		cli_err("--stats-interval: needs --stats-file");
		return -1;
	}
	if (cli_pcap_conf_check(&o->pcap))
		return -1;
	if (opts_check(o))
		return -1;
	/* a bad policy file stops here, before any traffic flows */
	o->pol = cli_policy_build(&o->policy, err, sizeof(err));
	if (!o->pol) {
		cli_err("%s", err);
		return -1;
	}
	return 0;
}

/**
 * frontend_log() - the frontend's log lines, at the engine's verbosity
 * @user:	options
 * @level:	SN_LOG_*
 * @msg:	the line
 */
static void frontend_log(void *user, int level, const char *msg)
{
	const struct opts *o = user;

	if (level <= SN_LOG_WARN + o->verbose)
		cli_err("%s", msg);
}

/**
 * link_open() - the guest link: its frontend on @fd, and the capture (--pcap)
 * @sv:		sv->o set; sv->fe and sv->pcap filled
 * @kind:	SN_FRONTEND_*
 * @fd:		the link, non-blocking, or -1 (none yet)
 *
 * The capture is the frontend's frame hook: it sees every frame of the
 * link, whichever frontend carries it.
 *
 * Return: 0, or -1 on error (reported; link_close() it all the same)
 */
int link_open(struct serve *sv, enum sn_frontend_kind kind, int fd)
{
	struct sn_frontend_config c;

	if (cli_pcap_open(&sv->pcap, &sv->o->pcap))
		return -1;
	sn_frontend_config_init(&c, kind, fd);
	c.log = frontend_log;
	c.log_user = sv->o;
	if (kind == SN_FRONTEND_TAP) {
		c.vnet_hdr = sv->o->vnet_hdr;
		c.offload = sv->o->offload;
		c.mtu = sv->o->tap.mtu;
	}
	sv->fe = sn_frontend_new(&c);
	if (!sv->fe) {
		cli_perror("guest link");
		return -1;
	}
	if (sv->o->pcap.path)
		sn_frontend_set_hook(sv->fe, cli_pcap_hook, &sv->pcap);
	return 0;
}

/**
 * link_close() - free the frontend (its fd stays open), close the capture
 * @sv:		from link_open(), or zeroed
 */
void link_close(struct serve *sv)
{
	sn_frontend_free(sv->fe);
	sv->fe = NULL;
	cli_pcap_close(&sv->pcap);
}

/**
 * engine_start() - create the engine, its frames carried by @fe
 * @o:		options; o->pol is given to the engine
 * @fe:		the guest link's frontend
 *
 * Return: the engine, or NULL on error (reported)
 */
struct sn_engine *engine_start(struct opts *o, struct sn_frontend *fe)
{
	struct sn_engine *e;
	struct sn_config cfg;
	const char *why;
	unsigned i;

	sn_config_init(&cfg);
	cfg.output = sn_frontend_output;
	cfg.user = fe;
	cfg.log_level = SN_LOG_WARN + o->verbose;
	if (cfg.log_level > SN_LOG_DEBUG)
		cfg.log_level = SN_LOG_DEBUG;
	cfg.gw_ip4 = o->tap.gw;
	cfg.guest_ip4 = o->tap.addr;
	cfg.prefix_len4 = o->tap.prefix_len;
	cfg.gw_ip6 = o->tap.gw6;
	cfg.guest_ip6 = o->tap.addr6;
	cfg.prefix_len6 = o->tap.prefix_len6;
	cfg.mtu = o->tap.mtu;
	cfg.offload = o->offload;
	if (o->compat)
		slirp_config(o->compat, &cfg);

	for (i = 0; i < o->n_dns; i++)
		memcpy(&cfg.dns_upstreams[i], &o->dns[i], sizeof(o->dns[i]));
	cfg.n_dns_upstreams = o->n_dns;

	e = sn_engine_new(&cfg);
	if (!e) {
		why = sn_strerror();
		cli_err("start engine: %s", why && *why ? why : strerror(errno));
		sn_policy_free(o->pol);
		o->pol = NULL;
		return NULL;
	}
	sn_engine_set_policy(e, o->pol);
	o->pol = NULL;
	return e;
}

/**
 * set_nonblock() - make @fd non-blocking
 * @fd:		file descriptor
 *
 * Return: 0 on success, -1 on error (reported)
 */
int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK)) {
		cli_perror("set the guest link non-blocking");
		return -1;
	}
	return 0;
}

/**
 * exit_status() - shell-style exit code for a wait status
 * @st:		status from waitpid()
 *
 * Return: the exit code, or 128 + signal number if killed by a signal
 */
static int exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return EXIT_FAILURE;
}

/**
 * reap() - wait for @pid to terminate
 * @pid:	child
 *
 * Return: its shell-style exit code, 1 if waiting failed (reported)
 */
static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			cli_perror("waitpid");
			return EXIT_FAILURE;
		}
	}
	return exit_status(st);
}

/**
 * in_path() - check whether a file named @name is in a $PATH directory
 * @name:	command name, without '/'
 *
 * Return: 1 if some $PATH directory has an entry @name we can see, else 0
 */
static int in_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char file[PATH_MAX];
	struct stat st;
	int len;

	if (!path)
		path = "/bin:/usr/bin";

	for (p = path; ; p = end + 1) {
		end = strchrnul(p, ':');
		len = (int)(end - p);
		if (snprintf(file, sizeof(file), "%.*s%s%s", len, p,
			     len ? "/" : "", name) < (int)sizeof(file) &&
		    !stat(file, &st))
			return 1;
		if (!*end)
			return 0;
	}
}

/**
 * exec_failed() - report an execvp() failure and exit as a shell would
 * @name:	COMMAND
 * @err:	errno from execvp()
 *
 * Exit 127 if COMMAND was not found, 126 if it was found but could not be
 * executed. execvp() returns EACCES if any $PATH directory could not be
 * searched, even when COMMAND is in none of them: that is "not found" too.
 */
static void __attribute__((noreturn)) exec_failed(const char *name, int err)
{
	int slash = !!strchr(name, '/');

	if (err == EACCES && !slash && !in_path(name))
		err = ENOENT;

	if (err == ENOENT && !slash) {
		cli_err("%s: command not found", name);
		_exit(127);
	}

	cli_err("%s: %s", name, strerror(err));
	_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

/**
 * run_child() - set up the namespaces, hand the TAP to the parent, exec
 * @o:		options
 * @sock:	our end of the socketpair with the parent
 * @ppid:	the parent's pid, to detect that it died before we noticed
 * @origmask:	signal mask to restore for COMMAND
 *
 * Exits 1 on setup failures, without a message if the parent went away
 * (it reported why); 127 if COMMAND is not found, 126 if it cannot be
 * executed, as shells do (see exec_failed()).
 */
static void __attribute__((noreturn))
run_child(const struct opts *o, int sock, pid_t ppid, const sigset_t *origmask)
{
	char ns[INET6_ADDRSTRLEN];
	int tap, fams;
	ssize_t n;
	char go;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL)) {
		cli_perror("prctl PR_SET_PDEATHSIG");
		_exit(EXIT_FAILURE);
	}
	if (getppid() != ppid)
		_exit(EXIT_FAILURE);

	if (ns_unshare(geteuid(), getegid()) || link_up("lo"))
		_exit(EXIT_FAILURE);

	tap = tap_create(o->tap.name, o->tap.vnet_hdr);
	if (tap < 0)
		_exit(EXIT_FAILURE);

	fams = tap_configure(tap, &o->tap);
	if (fams < 0)
		_exit(EXIT_FAILURE);
	if (fams & TAP_IP4)
		inet_ntop(AF_INET, &o->tap.gw, ns, sizeof(ns));
	else
		inet_ntop(AF_INET6, &o->tap.gw6, ns, sizeof(ns));
	if (resolv_conf_bind(ns) || fd_send(sock, tap))
		_exit(EXIT_FAILURE);
	close(tap);

	do
		n = read(sock, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(EXIT_FAILURE);
	close(sock);

	if (sigprocmask(SIG_SETMASK, origmask, NULL)) {
		cli_perror("sigprocmask");
		_exit(EXIT_FAILURE);
	}

	execvp(o->cmd[0], o->cmd);
	exec_failed(o->cmd[0], errno);
}

/**
 * mono_ms() - the monotonic clock
 *
 * Return: milliseconds
 */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/**
 * struct ticker - a periodic tick that wakes the serving loop
 * @tfd:	timerfd, non-blocking, in the control plane's epoll set
 * @ctl:	that control plane
 */
struct ticker {
	int tfd;
	struct cli_ctl *ctl;
};

/**
 * ticker_open() - make a ticker that wakes the loop every @ms
 * @t:		filled
 * @ctl:	control plane: its fd is the loop's stop fd
 * @ms:		period, 1..999
 * @what:	what it is for, for the error message
 *
 * Return: 0, or -1 on error (reported; ticker_close() it all the same)
 */
static int ticker_open(struct ticker *t, struct cli_ctl *ctl, long ms, const char *what)
{
	struct itimerspec its = {
		.it_interval = { .tv_nsec = ms * 1000000L },
		.it_value = { .tv_nsec = ms * 1000000L },
	};

	t->ctl = NULL;
	t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->tfd < 0 || timerfd_settime(t->tfd, 0, &its, NULL)) {
		cli_err("set up %s: %s", what, strerror(errno));
		return -1;
	}
	if (cli_ctl_watch(ctl, t->tfd))
		return -1;
	t->ctl = ctl;
	return 0;
}

/**
 * ticker_tick() - consume the ticks due
 * @t:		ticker
 *
 * Return: 1 if at least one was due, else 0
 */
static int ticker_tick(struct ticker *t)
{
	uint64_t ticks;

	return read(t->tfd, &ticks, sizeof(ticks)) > 0;
}

/**
 * ticker_close() - close a ticker's fds
 * @t:		ticker from ticker_open()
 */
static void ticker_close(struct ticker *t)
{
	if (t->ctl)
		cli_ctl_unwatch(t->ctl, t->tfd);
	if (t->tfd >= 0)
		close(t->tfd);
}

/**
 * policy_reload() - build the policy again (the file is re-read)
 * @sv:		engine and options (the policy flags)
 * @why:	"SIGHUP" or "reload_policy", for the log
 * @err:	a message on failure
 * @errlen:	its size
 *
 * New flows get the new verdicts; flows already allowed go on. A policy
 * that does not build (a bad file) leaves the one in force.
 *
 * Return: 0, or -1 (logged)
 */
static int policy_reload(struct serve *sv, const char *why, char *err, size_t errlen)
{
	const struct opts *o = sv->o;
	struct sn_policy *pol;

	pol = cli_policy_build(&o->policy, err, errlen);
	if (!pol) {
		cli_err("%s: policy not reloaded, the one in force stays: %s", why, err);
		return -1;
	}
	sn_engine_set_policy(sv->e, pol);
	cli_err("%s: policy reloaded%s%s", why, o->policy.file ? " from " : "",
		o->policy.file ? o->policy.file : "");
	return 0;
}

/**
 * ctl_reload() - the control socket's reload_policy
 * @user:	the struct serve
 * @err:	a message on failure
 * @errlen:	its size
 *
 * Return: 0, or -1
 */
static int ctl_reload(void *user, char *err, size_t errlen)
{
	return policy_reload(user, "reload_policy", err, errlen);
}

/**
 * serve_start() - the control plane of a new engine, and the --publish ports
 * @sv:		filled; sv->e, sv->fe and sv->o set by the caller
 * @sfd:	the loop's signalfd, watched with the rest
 *
 * Return: 0, or -1 (reported; serve_stop() it all the same)
 */
int serve_start(struct serve *sv, int sfd)
{
	const struct opts *o = sv->o;
	struct cli_ctl_conf conf = {
		.e = sv->e, .api_socket = o->api_socket, .stats_file = o->stats_file,
		.stats_interval = o->stats_interval, .tap = &o->tap, .dns4 = o->tap.gw,
		.dns6 = o->tap.gw6, .reload = ctl_reload, .user = sv, .pcap = &sv->pcap,
	};

	/* slirp4netns mode's DNS address of its own (10.0.2.3, fd00::3) */
	if (o->compat && o->compat->dns4.s_addr)
		conf.dns4 = o->compat->dns4;
	if (o->compat && !IN6_IS_ADDR_UNSPECIFIED(&o->compat->dns6))
		conf.dns6 = o->compat->dns6;

	if (cli_ctl_open(&sv->ctl, &conf) || cli_ctl_watch(&sv->ctl, sfd) ||
	    cli_pcap_watch(&sv->pcap, &sv->ctl))
		return -1;
	return publish_all(&sv->ctl, o);
}

/**
 * serve_renew() - a fresh engine for the next guest, same control plane
 * @sv:		from serve_start(); sv->e is freed and replaced
 * @fd:		the next guest's link (sn_frontend_set_fd()), or -1
 *
 * The old engine goes first (one engine per process): its host sockets
 * close, its last frames (resets) still reach the old link; then the
 * frontend moves to @fd, and only then is the new engine made, so no
 * frame of one guest reaches the other. The policy is built again from
 * the flags (the file re-read); the control socket, its clients and the
 * forwarded ports' ids stay, and every forwarded port listens again on the
 * new engine (cli_ctl_engine()).
 *
 * Return: 0, or -1 (reported; sv->e may then be NULL)
 */
int serve_renew(struct serve *sv, int fd)
{
	struct opts *o = sv->o;
	char err[512];

	cli_ctl_engine(&sv->ctl, NULL);
	sn_engine_free(sv->e);
	sv->e = NULL;
	sn_frontend_set_fd(sv->fe, fd);
	if (!o->pol) {
		o->pol = cli_policy_build(&o->policy, err, sizeof(err));
		if (!o->pol) {
			cli_err("%s", err);
			return -1;
		}
	}
	sv->e = engine_start(o, sv->fe);
	if (!sv->e)
		return -1;
	return cli_ctl_engine(&sv->ctl, sv->e);
}

/**
 * serve_stop() - the last stats file, the control socket closed, the engine freed
 * @sv:		from serve_start()
 */
void serve_stop(struct serve *sv)
{
	cli_ctl_close(&sv->ctl);
	sn_engine_free(sv->e);
	sv->e = NULL;
}

/**
 * serve_signal() - act on SIGHUP (reload the policy) and SIGUSR1 (stats)
 * @sv:		what they act on
 * @signo:	the signal
 *
 * Return: 1 if it was one of them, else 0
 */
static int serve_signal(struct serve *sv, uint32_t signo)
{
	char err[512];

	if (signo == SIGHUP)
		policy_reload(sv, "SIGHUP", err, sizeof(err));
	else if (signo == SIGUSR1)
		cli_ctl_stats_now(&sv->ctl);
	else
		return 0;
	return 1;
}

/**
 * stop_signal() - empty the signalfd, looking for SIGINT or SIGTERM
 * @sfd:	signalfd, non-blocking
 * @sv:		what SIGHUP and SIGUSR1 act on
 *
 * SIGHUP reloads the policy, SIGUSR1 logs the stats; anything else (run:
 * a SIGCHLD after COMMAND was reaped) is dropped. The control plane is
 * served too, since the loop woke up for it as much as for a signal.
 *
 * Return: the first SIGINT or SIGTERM read, 0 if none
 */
int stop_signal(int sfd, struct serve *sv)
{
	struct signalfd_siginfo si;
	int sig = 0;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (!serve_signal(sv, si.ssi_signo) && !sig &&
		    (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM))
			sig = (int)si.ssi_signo;
	}
	cli_ctl_dispatch(&sv->ctl);
	return sig;
}

/**
 * drain_end() - log, with -v, how the drain ended
 * @o:		options
 * @start:	mono_ms() when it began
 * @n:		TCP connections still open
 * @why:	NULL if all closed, else what ended it
 */
static void drain_end(const struct opts *o, uint64_t start, unsigned n, const char *why)
{
	double s = (double)(mono_ms() - start) / 1000;

	if (!o->verbose)
		return;
	if (!why)
		cli_err("drained in %.1f s: every TCP connection closed", s);
	else
		cli_err("drain ended after %.1f s (%s) with %u TCP connection%s open",
			s, why, n, n == 1 ? "" : "s");
}

/**
 * drain() - serve on until every TCP connection closed or none made progress
 * @sv:		engine, guest link, options (--linger, -v), control plane
 *		(served meanwhile)
 * @sfd:	signalfd for SIGINT and SIGTERM (run: and SIGCHLD), non-blocking
 *
 * See "Drain" at the top. A timerfd wakes the loop every DRAIN_CHECK_MS
 * to look at sn_engine_tcp_pending(); a SIGINT or SIGTERM ends it at once,
 * as does a failure of the guest link.
 */
void drain(struct serve *sv, int sfd)
{
	struct sn_engine *e = sv->e;
	const struct opts *o = sv->o;
	uint64_t start = mono_ms(), moved = start, last, progress;
	unsigned n = sn_engine_tcp_pending(e, &last);
	const char *why = "cannot wait";
	struct ticker t;
	char sigwhy[32];
	int sig;

	if (!n)
		return;
	if (!o->linger) {
		drain_end(o, start, n, "--linger 0");
		return;
	}
	if (o->verbose)
		cli_err("draining %u TCP connection%s (until closed, or %u s without progress)",
			n, n == 1 ? "" : "s", o->linger);

	if (ticker_open(&t, &sv->ctl, DRAIN_CHECK_MS, "the drain"))
		goto out;
	for (;;) {
		uint64_t now;

		if (sn_frontend_run(sv->fe, e, cli_ctl_fd(&sv->ctl))) {
			why = "the guest link went away";
			break;
		}
		sig = stop_signal(sfd, sv);
		if (sig) {
			snprintf(sigwhy, sizeof(sigwhy), "stopped by %s",
				 sig == SIGINT ? "SIGINT" : "SIGTERM");
			why = sigwhy;
			break;
		}
		ticker_tick(&t);
		n = sn_engine_tcp_pending(e, &progress);
		if (!n) {
			why = NULL;
			break;
		}
		now = mono_ms();
		if (progress != last) {
			last = progress;
			moved = now;
		} else if (now - moved >= (uint64_t)o->linger * 1000) {
			why = "no progress for --linger";
			break;
		}
	}
out:
	drain_end(o, start, n, why);
	ticker_close(&t);
}

/**
 * forward_signal() - pass SIGINT or SIGTERM on to COMMAND
 * @si:		signal as read from the signalfd
 * @child:	COMMAND's pid
 *
 * A signal the terminal sent to our process group (SI_KERNEL) reached
 * COMMAND as well if it is still in our group: do not send it twice, as
 * sudo does.
 */
static void forward_signal(const struct signalfd_siginfo *si, pid_t child)
{
	if (si->ssi_code == SI_KERNEL && getpgid(child) == getpgrp())
		return;

	if (kill(child, (int)si->ssi_signo) && errno != ESRCH)
		cli_perror("forward signal to the command");
}

/**
 * run_signals() - handle what is pending on the signalfd, serve the control plane
 * @sfd:	signalfd for SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGUSR1, non-blocking
 * @child:	COMMAND's pid
 * @status:	set to COMMAND's shell-style exit code once it exited
 * @sv:		what SIGHUP and SIGUSR1 act on
 *
 * Return: 1 if COMMAND exited, 0 if it still runs, -1 on error (reported)
 */
static int run_signals(int sfd, pid_t child, int *status, struct serve *sv)
{
	struct signalfd_siginfo si;
	int done = 0, st;
	ssize_t n;
	pid_t pid;

	cli_ctl_dispatch(&sv->ctl);
	for (;;) {
		n = read(sfd, &si, sizeof(si));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n != (ssize_t)sizeof(si)) {
			cli_perror("read signalfd");
			return -1;
		}

		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			forward_signal(&si, child);
			continue;
		}
		if (serve_signal(sv, si.ssi_signo))
			continue;

		pid = waitpid(child, &st, WNOHANG);
		if (pid < 0) {
			cli_perror("waitpid");
			return -1;
		}
		if (pid == child) {
			*status = exit_status(st);
			done = 1;
		}
	}

	return done;
}

/**
 * run_serve() - serve the TAP until COMMAND exits, then drain
 * @sv:		engine, the TAP's frontend, options, control plane
 * @sfd:	signalfd for SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGUSR1, non-blocking
 * @child:	COMMAND's pid
 *
 * sn_frontend_run() returns whenever a signal is pending. SIGINT and SIGTERM
 * are forwarded and serving goes on: only COMMAND's exit ends it. Signals
 * read up to then were COMMAND's (a terminal's ^C reaches both of us before
 * COMMAND can exit); one arriving during the drain ends the drain. If the
 * TAP goes away (COMMAND deleted it), say so and just wait for COMMAND.
 *
 * Return: COMMAND's shell-style exit code, 1 on error (reported)
 */
static int run_serve(struct serve *sv, int sfd, pid_t child)
{
	struct pollfd pfd = { .fd = cli_ctl_fd(&sv->ctl), .events = POLLIN };
	int up = 1, status, ret;

	for (;;) {
		if (up && sn_frontend_run(sv->fe, sv->e, cli_ctl_fd(&sv->ctl))) {
			cli_err("guest link %s went away: %s; waiting for the command to exit",
				TAP_DEFAULT, strerror(errno));
			up = 0;
		}

		if (!up && poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			cli_perror("poll");
			break;
		}

		ret = run_signals(sfd, child, &status, sv);
		if (ret > 0) {
			if (up)
				drain(sv, sfd);
			return status;
		}
		if (ret < 0)
			break;
	}

	kill(child, SIGKILL);
	reap(child);
	return EXIT_FAILURE;
}

/**
 * cmd_run() - sandnet run
 * @argc:	argument count, argv[0] being "run"
 * @argv:	arguments
 *
 * Return: COMMAND's exit code, 1 on runtime errors, 2 on usage errors
 */
static int cmd_run(int argc, char **argv)
{
	int sv[2], sfd, tap, status;
	sigset_t mask, origmask;
	struct serve srv = { 0 };
	struct opts o;
	pid_t child, self = getpid();
	char go = 'G';

	status = parse_opts(argc, argv, CLI_RUN, &o);
	if (status)
		return status > 0 ? EXIT_SUCCESS : EXIT_USAGE;

	/* An inherited SIG_IGN would make the kernel reap COMMAND for us */
	signal(SIGCHLD, SIG_DFL);

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, &origmask)) {
		cli_perror("sigprocmask");
		return EXIT_FAILURE;
	}

	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		cli_perror("signalfd");
		return EXIT_FAILURE;
	}

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		cli_perror("socketpair");
		return EXIT_FAILURE;
	}

	child = fork();
	if (child < 0) {
		cli_perror("fork");
		return EXIT_FAILURE;
	}
	if (!child) {
		close(sv[0]);
		close(sfd);
		run_child(&o, sv[1], self, &origmask);
	}
	close(sv[1]);

	/* Host sockets may see EPIPE: never die of SIGPIPE (COMMAND keeps
	 * the default, set before fork)
	 */
	signal(SIGPIPE, SIG_IGN);

	tap = fd_recv(sv[0]);
	if (tap < 0)
		goto fail;

	if (set_nonblock(tap))
		goto fail;
	o.vnet_hdr = tap_offload(tap, &o.offload);

	srv.o = &o;
	if (link_open(&srv, SN_FRONTEND_TAP, tap))
		goto fail;
	srv.e = engine_start(&o, srv.fe);
	if (!srv.e)
		goto fail;
	if (serve_start(&srv, sfd)) {
		serve_stop(&srv);
		goto fail;
	}

	if (o.verbose) {
		char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &o.tap.addr, a, sizeof(a));
		inet_ntop(AF_INET, &o.tap.gw, g, sizeof(g));
		cli_err("%s: %s/%u via %s, MTU %u", o.tap.name, a,
			o.tap.prefix_len, g, o.tap.mtu);
	}

	/* If COMMAND's setup already died, EPIPE: its exit is reported below */
	if (send(sv[0], &go, 1, MSG_NOSIGNAL) < 0 && errno != EPIPE)
		cli_perror("start the command");
	close(sv[0]);

	status = run_serve(&srv, sfd, child);

	serve_stop(&srv);
	link_close(&srv);
	close(tap);
	close(sfd);
	return status;

fail:
	link_close(&srv);
	sn_policy_free(o.pol);
	kill(child, SIGKILL);
	reap(child);
	return EXIT_FAILURE;
}

/**
 * stop_signals() - SIGINT, SIGTERM, SIGHUP and SIGUSR1 to a signalfd; no SIGPIPE
 *
 * Return: the signalfd, non-blocking, or -1 (reported)
 */
int stop_signals(void)
{
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL)) {
		cli_perror("sigprocmask");
		return -1;
	}
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		cli_perror("signalfd");
		return -1;
	}
	/* host sockets and the guest link may see EPIPE */
	signal(SIGPIPE, SIG_IGN);
	return sfd;
}

/* How often attach checks that its namespace still exists. */
#define ATTACH_CHECK_MS	500

/**
 * ns_gone() - has the namespace at @path gone away (deleted or replaced)
 * @path:	the --netns path
 * @orig:	its stat() when attach started
 *
 * Return: non-zero if gone
 */
static int ns_gone(const char *path, const struct stat *orig)
{
	struct stat st;

	return stat(path, &st) || st.st_dev != orig->st_dev || st.st_ino != orig->st_ino;
}

/**
 * exit_fd_event() - has slirp4netns's exit fd polled readable or hung up
 * @fd:		the fd, or -1
 *
 * Return: non-zero if so
 */
static int exit_fd_event(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&pfd, 1, 0) > 0;
}

/**
 * attach_serve() - serve the TAP until a signal, a dead link or a gone namespace
 * @sv:		engine, the TAP's frontend, options, control plane
 * @sfd:	signalfd for SIGINT, SIGTERM, SIGHUP and SIGUSR1
 * @ns_st:	stat() of the namespace path at start
 *
 * The TAP fd itself keeps the namespace alive, so "ip netns del" is seen as
 * the path disappearing: a timerfd wakes the loop to look; it and @sfd are
 * in the control plane's epoll set, the loop's stop fd. After SIGINT or
 * SIGTERM it drains (see the top of the file) before returning. slirp4netns
 * mode ends as slirp4netns does, at once, when its exit fd polls readable
 * or hung up (the fd is in the epoll set too), and never looks at the
 * path: its caller ends it.
 *
 * Return: EXIT_SUCCESS on a signal, an exit fd event or when the namespace
 *	   went away, EXIT_FAILURE when the guest link failed
 */
static int attach_serve(struct serve *sv, int sfd, const struct stat *ns_st)
{
	const struct opts *o = sv->o;
	int ret = EXIT_FAILURE, exit_fd = o->compat ? o->compat->exit_fd : -1;
	struct ticker t;

	if (ticker_open(&t, &sv->ctl, ATTACH_CHECK_MS, "the attach loop"))
		goto out;
	if (exit_fd >= 0 && cli_ctl_watch(&sv->ctl, exit_fd)) {
		cli_err("--exit-fd %d: %s", exit_fd, strerror(errno));
		goto out;
	}
	for (;;) {
		if (sn_frontend_run(sv->fe, sv->e, cli_ctl_fd(&sv->ctl))) {
			cli_err("guest link %s went away: %s", o->tap.name, strerror(errno));
			break;
		}
		if (stop_signal(sfd, sv)) {
			ret = EXIT_SUCCESS;
			drain(sv, sfd);
			break;
		}
		if (exit_fd_event(exit_fd)) {
			if (o->verbose)
				cli_err("exit fd %d: event, stopping", exit_fd);
			ret = EXIT_SUCCESS;
			break;
		}
		if (ticker_tick(&t) && !o->compat && ns_gone(o->netns, ns_st)) {
			if (o->verbose)
				cli_err("namespace %s went away", o->netns);
			ret = EXIT_SUCCESS;
			break;
		}
	}
out:
	ticker_close(&t);
	return ret;
}

/**
 * attach_main() - attach and serve, for "attach" and slirp4netns mode
 * @o:		options, parsed and checked (the policy built)
 *
 * Without --configure the namespace's owner configures the device, and
 * the engine uses the device's MTU unless --mtu says otherwise. slirp4netns
 * mode then says what it serves on stdout and writes its ready fd.
 *
 * Return: 0 when stopped by SIGINT or SIGTERM (or the exit fd), or when the
 *	   namespace went away, 1 on runtime errors or when the TAP device went
 *	   away
 */
static int attach_main(struct opts *o)
{
	struct tap_where where = {
		.netns = o->netns, .userns = o->userns, .userns_implied = o->userns_implied,
		.configure = o->configure, .read_mtu = !o->configure && !o->mtu_set,
	};
	int sfd, tap = -1, ret = EXIT_FAILURE;
	struct serve srv = { .o = o };
	struct stat ns_st;

	sfd = stop_signals();
	if (sfd < 0)
		goto out_pol;

	if (stat(o->netns, &ns_st)) {
		cli_err("--netns: %s: %s", o->netns, strerror(errno));
		goto out_sfd;
	}
	tap = tap_open_in(&where, &o->tap);
	if (tap < 0 || set_nonblock(tap))
		goto out_tap;
	o->vnet_hdr = tap_offload(tap, &o->offload);

	if (link_open(&srv, SN_FRONTEND_TAP, tap))
		goto out_tap;
	srv.e = engine_start(o, srv.fe);
	if (!srv.e)
		goto out_tap;
	if (serve_start(&srv, sfd))
		goto out_serve;

	/* the control socket (o->api_socket) opens here, before slirp4netns
	 * mode's ready fd says "serving", as slirp4netns orders them */
	if (o->compat)
		slirp_started(o->compat);
	if (o->verbose)
		cli_err("attached to %s as %s", o->netns, o->tap.name);

	ret = attach_serve(&srv, sfd, &ns_st);

out_serve:
	serve_stop(&srv);
out_tap:
	link_close(&srv);
	if (tap >= 0)
		close(tap);
out_sfd:
	close(sfd);
out_pol:
	sn_policy_free(o->pol);		/* NULL once the engine took it */
	o->pol = NULL;
	return ret;
}

/**
 * cmd_attach() - sandnet attach
 * @argc:	argument count, argv[0] being "attach"
 * @argv:	arguments
 *
 * Return: attach_main()'s, or 2 on usage errors
 */
static int cmd_attach(int argc, char **argv)
{
	struct opts o;
	int ret;

	ret = parse_opts(argc, argv, CLI_ATTACH, &o);
	if (ret)
		return ret > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	return attach_main(&o);
}

/**
 * cmd_slirp4netns() - slirp4netns's command line (cli/slirp4netns.c)
 * @argc:	argument count, argv[0] being "slirp4netns" (or the program)
 * @argv:	arguments
 *
 * Return: attach_main()'s, or 2 on usage errors
 */
static int cmd_slirp4netns(int argc, char **argv)
{
	struct slirp_conf c;
	struct opts o;
	char err[512];
	int ret;

	opts_init(&o);
	ret = slirp_parse(argc, argv, &c, &o.policy);
	if (ret)
		return ret > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	o.compat = &c;
	o.tap = c.tap;
	o.mtu_set = 1;
	o.netns = c.netns;
	o.userns = c.userns;
	o.userns_implied = c.userns_implied;
	o.configure = c.configure;
	o.api_socket = c.api_socket;
	o.pcap = c.pcap;
	o.verbose = c.verbose;
	o.pol = cli_policy_build(&o.policy, err, sizeof(err));
	if (!o.pol) {
		cli_err("%s", err);
		return EXIT_USAGE;
	}
	return attach_main(&o);
}

/**
 * main() - dispatch to the command
 * @argc:	argument count
 * @argv:	arguments
 *
 * Return: the command's exit code; 2 on usage errors
 */
int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (slirp_invoked(argv[0]))
		return cmd_slirp4netns(argc, argv);
	if (!cmd) {
		cli_err("missing command: run, attach, serve or policy (see sandnet --help)");
		return EXIT_USAGE;
	}

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help"))
		return print_out(usage_top) || print_out(usage_opts);

	if (!strcmp(cmd, "--version"))
		return print_out("sandnet " SN_VERSION_STRING "\n");

	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);

	if (!strcmp(cmd, "attach"))
		return cmd_attach(argc - 1, argv + 1);

	if (!strcmp(cmd, "policy"))
		return cmd_policy(argc - 1, argv + 1);

	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc - 1, argv + 1);

	if (!strcmp(cmd, "slirp4netns"))
		return cmd_slirp4netns(argc - 1, argv + 1);

	if (cmd[0] == '-')
		cli_err("unknown option '%s': options go after the command (sandnet run|attach|serve [OPTIONS])",
			cmd);
	else
		cli_err("'%s' is not a command: use run, attach, serve or policy (see sandnet --help)",
			cmd);
	return EXIT_USAGE;
}
