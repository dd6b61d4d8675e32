// SPDX-License-Identifier: MIT
/*
 * sandnet CLI: network namespaces, TAP devices, fd passing, and the
 * helpers every command shares (one-line messages, numbers, bad options)
 *
 * attach creates its TAP device from a child process that joins the target
 * namespaces, a user namespace first when one is given (tap_open_in()): a
 * process cannot leave a user namespace it joined, and the host side must
 * keep the caller's own credentials.
 *
 * Interfaces are configured with the classic ioctls (SIOCSIFADDR,
 * SIOCSIFNETMASK, SIOCSIFMTU, SIOCSIFFLAGS, SIOCADDRT): they need no netlink
 * message building and do all a TAP with one address and a default route
 * needs.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <net/if_arp.h>
#include <linux/if_tun.h>
#include <linux/ipv6.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/route.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "netns.h"

#define TUN_PATH	"/dev/net/tun"
#define RESOLV_CONF	"/etc/resolv.conf"
/* Longest wait for the kernel's (skipped) DAD to release the guest address */
#define DAD_WAIT_MS	2000

/* A failure's text when the caller decides how to report it. */
#define WHY_LEN		160

/**
 * cli_err() - print one "sandnet: ..." line on stderr
 * @fmt:	printf format, without trailing newline
 *
 * The line goes out in a single write(), so parent and child lines do not
 * interleave.
 */
void cli_err(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n, m;

	n = snprintf(buf, sizeof(buf), "sandnet: ");
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';

	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

/**
 * cli_perror() - print "sandnet: @what: strerror(errno)" on stderr
 * @what:	what failed
 */
void cli_perror(const char *what)
{
	cli_err("%s: %s", what, strerror(errno));
}

/**
 * cli_parse_uint() - parse a decimal number in [@min, @max], nothing else
 * @s:		text
 * @min:	smallest value accepted
 * @max:	largest value accepted
 * @out:	the number
 *
 * Return: 0 on success, -1 if @s is not such a number
 */
int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;

	*out = v;
	return 0;
}

/**
 * cli_bad_option() - report an option getopt_long() rejected
 * @c:		getopt_long() result, '?' or ':'
 * @argv:	argument vector
 *
 * For long options and missing arguments getopt leaves the option itself in
 * argv[optind - 1]; optopt holds an unknown short option's letter.
 */
void cli_bad_option(int c, char **argv)
{
	char name[64];

	if (c == '?' && optopt > 0 && optopt < 256) {
		cli_err("unknown option '-%c' (see --help)", optopt);
		return;
	}

	snprintf(name, sizeof(name), "%s", argv[optind - 1]);
	name[strcspn(name, "=")] = '\0';

	if (c == ':')
		cli_err("%s: missing value", name);
	else if (optopt)
		cli_err("%s: takes no value", name);
	else
		cli_err("unknown or ambiguous option '%s' (see --help)", name);
}

/**
 * write_file() - write a short string to a file, e.g. in /proc
 * @path:	file to write
 * @s:		string
 * @why:	NULL to report failures, else WHY_LEN bytes to put the reason in
 *
 * Return: 0 on success, -1 on error
 */
static int write_file(const char *path, const char *s, char *why)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd, err;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;

	n = write(fd, s, len);
	if (n < 0 || (size_t)n != len) {
		err = n < 0 ? errno : EIO;
		close(fd);
		errno = err;
		goto fail;
	}

	if (close(fd))
		goto fail;
	return 0;

fail:
	err = errno;
	if (why)
		snprintf(why, WHY_LEN, "write %s: %s", path, strerror(err));
	else
		cli_err("write %s: %s", path, strerror(err));
	errno = err;
	return -1;
}

/**
 * id_map() - map @uid and @gid to root in the user namespace just created
 * @uid:	effective uid outside
 * @gid:	effective gid outside
 *
 * setgroups must be denied before an unprivileged process may write
 * gid_map. Kernels without /proc/self/setgroups (before 3.19) do not need it.
 *
 * Return: 0 on success, -1 on error (reported)
 */
static int id_map(uid_t uid, gid_t gid)
{
	char map[64];

	if (!access("/proc/self/setgroups", F_OK) &&
	    write_file("/proc/self/setgroups", "deny", NULL))
		return -1;

	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	if (write_file("/proc/self/uid_map", map, NULL))
		return -1;

	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
	return write_file("/proc/self/gid_map", map, NULL);
}

/**
 * ns_unshare() - move the calling process to new network and mount namespaces
 * @uid:	caller's effective uid: not 0 means a user namespace is needed
 * @gid:	caller's effective gid
 *
 * Unprivileged callers get a new user namespace too, in which they are
 * root (uid and gid mapped to 0), as with pasta or unshare -r. Root without
 * CAP_SYS_ADMIN (a rootless container) falls back to the same. Mounts are
 * then made private so that later bind mounts stay in this namespace.
 *
 * Return: 0 on success, -1 on error (reported)
 */
int ns_unshare(uid_t uid, gid_t gid)
{
	int flags = CLONE_NEWNET | CLONE_NEWNS;
	int ret;

	if (uid != 0)
		flags |= CLONE_NEWUSER;

	ret = unshare(flags);
	if (ret && errno == EPERM && !(flags & CLONE_NEWUSER)) {
		flags |= CLONE_NEWUSER;
		ret = unshare(flags);
	}

	if (ret) {
		if (flags & CLONE_NEWUSER) {
			cli_err("unshare user, network and mount namespaces: %s (are unprivileged user namespaces disabled? see sysctl user.max_user_namespaces)",
				strerror(errno));
		} else {
			cli_perror("unshare network and mount namespaces");
		}
		return -1;
	}

	if ((flags & CLONE_NEWUSER) && id_map(uid, gid))
		return -1;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		cli_perror("make mounts private");
		return -1;
	}

	return 0;
}

/**
 * same_ns() - is the namespace behind @fd the one this process is in
 * @fd:		namespace fd
 * @self:	this process's, e.g. "/proc/self/ns/user"
 *
 * Return: 1 if it is, 0 if not or unknown
 */
static int same_ns(int fd, const char *self)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(self, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/**
 * ns_open() - open a namespace file
 * @path:	its path
 * @what:	"--netns", "--userns", for the message
 *
 * Return: the fd, or -1 (reported)
 */
static int ns_open(const char *path, const char *what)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		cli_err("%s %s: %s", what, path, strerror(errno));
	return fd;
}

/**
 * setns_err() - report a failed setns(), errno set
 * @opt:	the option that named the namespace
 * @path:	its file
 * @kind:	"user" or "network"
 * @needs:	what EPERM means it lacks
 */
static void setns_err(const char *opt, const char *path, const char *kind, const char *needs)
{
	if (errno == EPERM)
		cli_err("setns %s %s: %s (joining a %s namespace needs %s)", opt, path,
			strerror(errno), kind, needs);
	else if (errno == EINVAL)
		cli_err("setns %s %s: not a %s namespace", opt, path, kind);
	else
		cli_err("setns %s %s: %s", opt, path, strerror(errno));
}

/**
 * ns_join() - join the user namespace (if any), then the network namespace
 * @s:		where
 *
 * The order matters: CAP_SYS_ADMIN over a network namespace that a user
 * namespace owns comes from being in that user namespace, so an
 * unprivileged owner must enter it first (setns(2), as slirp4netns and
 * nsenter do). Both files are opened before either is entered: the user
 * namespace's mapping could hide them. A user namespace that is already
 * ours is skipped (joining it again is EINVAL).
 *
 * Return: 0, or -1 (reported)
 */
static int ns_join(const struct tap_where *s)
{
	int net, user = -1, ret = -1;

	net = ns_open(s->netns, "--netns");
	if (net < 0)
		return -1;
	if (s->userns) {
		user = ns_open(s->userns, "--userns");
		if (user < 0 && !s->userns_implied)
			goto out;
	}
	if (user >= 0 && !same_ns(user, "/proc/self/ns/user") && setns(user, CLONE_NEWUSER) &&
	    !s->userns_implied) {
		setns_err("--userns", s->userns, "user", "CAP_SYS_ADMIN in it: be its owner, or root");
		goto out;
	}
	if (setns(net, CLONE_NEWNET)) {
		setns_err("--netns", s->netns, "network", "CAP_SYS_ADMIN over it: run as root, "
			  "or give the user namespace that owns it with --userns");
		goto out;
	}
	ret = 0;
out:
	if (user >= 0)
		close(user);
	close(net);
	return ret;
}

/**
 * tap_child() - in a child: join the namespaces, make the TAP, pass it back
 * @s:		where and what
 * @c:		the device's configuration
 * @sock:	our end of the socketpair
 *
 * Exits: 0 when the fd and the device's MTU went to the parent, 1 on any
 * failure (reported)
 */
static void __attribute__((noreturn))
tap_child(const struct tap_where *s, const struct tap_conf *c, int sock)
{
	unsigned mtu = c->mtu;
	int tap;

	if (ns_join(s))
		_exit(EXIT_FAILURE);
	tap = tap_create(c->name, c->vnet_hdr);
	if (tap < 0 || (s->configure && (link_up("lo") || tap_configure(tap, c) < 0)) ||
	    (s->read_mtu && link_mtu(c->name, &mtu)) || fd_send(sock, tap) ||
	    send(sock, &mtu, sizeof(mtu), MSG_NOSIGNAL) != (ssize_t)sizeof(mtu))
		_exit(EXIT_FAILURE);
	_exit(EXIT_SUCCESS);
}

/**
 * tap_open_in() - create TAP device @c->name in another network namespace
 * @s:		the namespaces, and whether to configure the device
 * @c:		the device's configuration; with @s->read_mtu, @c->mtu is
 *		set to the device's
 *
 * Joining a user namespace cannot be undone, so a child process joins the
 * namespaces (ns_join()), creates the device (configured with
 * @s->configure), and passes its fd back; this process never leaves its
 * own namespaces and keeps its own credentials, which its host sockets
 * then have.
 *
 * Return: the TAP fd (blocking, close-on-exec), or -1 on error (reported)
 */
int tap_open_in(const struct tap_where *s, struct tap_conf *c)
{
	unsigned mtu = 0;
	int sv[2], fd, st = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		cli_perror("socketpair");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		cli_perror("fork");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (!pid) {
		close(sv[0]);
		tap_child(s, c, sv[1]);
	}
	close(sv[1]);

	fd = fd_recv(sv[0]);
	if (fd >= 0 && recv(sv[0], &mtu, sizeof(mtu), 0) != (ssize_t)sizeof(mtu)) {
		close(fd);
		fd = -1;
	}
	close(sv[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	/* a child that failed said why; one that was killed could not */
	if (fd < 0 && WIFSIGNALED(st))
		cli_err("creating %s: the namespace helper process was killed by signal %d",
			c->name, WTERMSIG(st));
	if (fd >= 0 && s->read_mtu)
		c->mtu = mtu;
	return fd;
}

/**
 * if_ioctl_af() - issue an interface ioctl on a throwaway socket
 * @family:	AF_INET, or AF_INET6 for IPv6 addresses and routes
 * @req:	request, e.g. SIOCSIFMTU
 * @arg:	struct ifreq, struct rtentry, struct in6_ifreq or struct in6_rtmsg
 *
 * Return: ioctl() result, errno set on failure
 */
static int if_ioctl_af(int family, unsigned long req, void *arg)
{
	int s, ret, err;

	s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;

	ret = ioctl(s, req, arg);
	err = errno;
	close(s);
	errno = err;

	return ret;
}

/**
 * if_ioctl() - issue an interface ioctl on a throwaway AF_INET socket
 * @req:	request, e.g. SIOCSIFMTU
 * @arg:	struct ifreq or struct rtentry
 *
 * Return: ioctl() result, errno set on failure
 */
static int if_ioctl(unsigned long req, void *arg)
{
	return if_ioctl_af(AF_INET, req, arg);
}

/**
 * ifr_init() - zero @ifr and set its name
 * @ifr:	request to fill
 * @ifname:	interface name, shorter than IFNAMSIZ
 */
static void ifr_init(struct ifreq *ifr, const char *ifname)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", ifname);
}

/**
 * link_up() - set an interface administratively up
 * @ifname:	interface name
 *
 * Return: 0 on success, -1 on error (reported)
 */
int link_up(const char *ifname)
{
	struct ifreq ifr;

	ifr_init(&ifr, ifname);
	if (if_ioctl(SIOCGIFFLAGS, &ifr)) {
		cli_err("get flags of %s: %s", ifname, strerror(errno));
		return -1;
	}

	ifr.ifr_flags |= IFF_UP;
	if (if_ioctl(SIOCSIFFLAGS, &ifr)) {
		cli_err("set %s up: %s", ifname, strerror(errno));
		return -1;
	}

	return 0;
}

/**
 * link_mtu() - read an interface's MTU
 * @ifname:	interface name
 * @mtu:	set to its MTU
 *
 * Return: 0 on success, -1 on error (reported)
 */
int link_mtu(const char *ifname, unsigned *mtu)
{
	struct ifreq ifr;

	ifr_init(&ifr, ifname);
	if (if_ioctl(SIOCGIFMTU, &ifr)) {
		cli_err("get MTU of %s: %s", ifname, strerror(errno));
		return -1;
	}

	*mtu = (unsigned)ifr.ifr_mtu;
	return 0;
}

/**
 * tap_create() - create TAP device @name in the current network namespace
 * @name:	interface name
 * @vnet_hdr:	with IFF_VNET_HDR (for offload, see tap_offload())
 *
 * Return: the TAP fd (blocking, close-on-exec), or -1 on error (reported)
 */
int tap_create(const char *name, int vnet_hdr)
{
	struct ifreq ifr;
	int fd;

	fd = open(TUN_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			cli_err("open %s: %s (unprivileged use needs %s to be accessible, e.g. mode 0666)",
				TUN_PATH, strerror(errno), TUN_PATH);
		else if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
			cli_err("open %s: %s (no TUN/TAP support: is the tun module loaded?)",
				TUN_PATH, strerror(errno));
		else
			cli_err("open %s: %s", TUN_PATH, strerror(errno));
		return -1;
	}

	ifr_init(&ifr, name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		if (errno == EPERM)
			cli_err("create TAP %s: %s (needs CAP_NET_ADMIN in its network namespace)",
				name, strerror(errno));
		else if (errno == EBUSY)
			cli_err("create TAP %s: %s (another device or process has it)",
				name, strerror(errno));
		else
			cli_err("create TAP %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}

	return fd;
}

/**
 * tap_offload() - turn a TAP's offloads on, if it has the virtio-net header
 * @fd:		TAP fd, from tap_create() here or in another namespace
 * @offload:	set to 1 if TSO and checksum offload are on
 *
 * With checksum and TSO offload the guest's kernel sends its TCP segments
 * whole (up to 64 KiB, checksum partial) and splits those it receives at
 * its MTU (frontend/tap.c). A kernel that refuses TUNSETOFFLOAD leaves
 * the header in place with nothing in it: the frontend still reads and
 * writes it, the engine sends frames of the MTU.
 *
 * Return: 1 if the device has IFF_VNET_HDR, else 0
 */
int tap_offload(int fd, int *offload)
{
	int sz = (int)sizeof(struct virtio_net_hdr);
	struct ifreq ifr;

	*offload = 0;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) || !(ifr.ifr_flags & IFF_VNET_HDR))
		return 0;
	if (ioctl(fd, TUNSETVNETHDRSZ, &sz))
		return 1;	/* the size stays the default, the same */
	*offload = !ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	return 1;
}

/**
 * sin_set() - store an IPv4 address in a struct sockaddr
 * @sa:		destination, e.g. &ifr.ifr_addr
 * @a:		address
 */
static void sin_set(struct sockaddr *sa, struct in_addr a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };

	memcpy(sa, &sin, sizeof(sin));
}

/**
 * tap_carrier_kick() - cycle the TAP's carrier so its operstate becomes UP
 * @fd:		TAP fd
 *
 * The carrier is on from TUNSETIFF, before the link is up, so the kernel
 * never evaluates the operational state and reports it as UNKNOWN. Turning
 * the carrier off and on again with the link up fixes that, for tools that
 * wait for an UP interface. Cosmetic: kernels before 5.0 lack TUNSETCARRIER,
 * and failures are ignored.
 */
static void tap_carrier_kick(int fd)
{
	int off = 0, on = 1;

	if (!ioctl(fd, TUNSETCARRIER, &off))
		ioctl(fd, TUNSETCARRIER, &on);
}

/**
 * ipv6_off() - is IPv6 off for device @name (or missing from this kernel)
 * @name:	interface name
 *
 * A namespace with net.ipv6.conf.all.disable_ipv6 (or default's, or the
 * device's own) set to 1 has IPv6 off on a new device; the kernel then
 * refuses IPv6 addresses with EACCES.
 *
 * Return: 1 if off, 0 if on or unknown
 */
static int ipv6_off(const char *name)
{
	char path[PATH_MAX], v = '0';
	int fd;

	if (access("/proc/sys/net/ipv6", F_OK))
		return 1;		/* a kernel without IPv6 (ipv6.disable=1) */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, &v, 1) != 1)
		v = '0';
	close(fd);
	return v != '0';
}

/**
 * addr6_tentative() - is IPv6 address @a on @name tentative, or not there yet
 * @name:	interface name
 * @a:		address
 *
 * Return: 1 if tentative or not listed, 0 if usable, -1 if unknown
 */
static int addr6_tentative(const char *name, const struct in6_addr *a)
{
	unsigned idx, plen, scope, flags;
	char want[33], hex[33], dev[IFNAMSIZ];
	FILE *f = fopen("/proc/net/if_inet6", "re");
	int ret = 1, i;

	if (!f)
		return -1;
	for (i = 0; i < 16; i++)
		snprintf(want + (size_t)2 * i, 3, "%02x", a->s6_addr[i]);
	/* address ifindex prefixlen scope flags name, per line */
	while (fscanf(f, "%32s %x %x %x %x %15s", hex, &idx, &plen, &scope, &flags, dev) == 6) {
		if (!strcmp(hex, want) && !strcmp(dev, name)) {
			ret = !!(flags & IFA_F_TENTATIVE);
			break;
		}
	}
	fclose(f);
	return ret;
}

/**
 * addr6_wait_usable() - wait, bounded, until the kernel has released @a
 * @name:	interface name
 * @a:		address just added
 *
 * Even with accept_dad 0 a new address is tentative until the kernel's DAD
 * work has run, later, from a workqueue. A connect() in between finds no
 * usable source but ::1 and sends SYNs from it, forever: the command's
 * first IPv6 connection would hang now and then on a busy machine.
 */
static void addr6_wait_usable(const char *name, const struct in6_addr *a)
{
	const struct timespec ms = { .tv_nsec = 1000000L };
	int i;

	for (i = 0; i < DAD_WAIT_MS; i++) {
		if (addr6_tentative(name, a) <= 0)
			return;
		nanosleep(&ms, NULL);
	}
	cli_err("warning: IPv6 address of %s still tentative after %d ms", name, DAD_WAIT_MS);
}

/**
 * tap_configure6() - IPv6 address (no DAD: the link is ours) and default route
 * @c:		configuration
 * @why:	on failure, what failed and why (WHY_LEN bytes)
 *
 * Return: 0 on success, else the failure's errno (EACCES: IPv6 is off)
 */
static int tap_configure6(const struct tap_conf *c, char *why)
{
	int err;

	char path[PATH_MAX], gw[INET6_ADDRSTRLEN];
	struct in6_rtmsg rt;
	struct in6_ifreq ifr6;
	struct ifreq ifr;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_dad", c->name);
	if (write_file(path, "0", why))
		return errno;

	ifr_init(&ifr, c->name);
	if (if_ioctl(SIOCGIFINDEX, &ifr)) {
		err = errno;
		snprintf(why, WHY_LEN, "index of %s: %s", c->name, strerror(err));
		return err;
	}
	memset(&ifr6, 0, sizeof(ifr6));
	ifr6.ifr6_addr = c->addr6;
	ifr6.ifr6_prefixlen = c->prefix_len6;
	ifr6.ifr6_ifindex = ifr.ifr_ifindex;
	if (if_ioctl_af(AF_INET6, SIOCSIFADDR, &ifr6)) {
		err = errno;
		snprintf(why, WHY_LEN, "set IPv6 address of %s: %s", c->name, strerror(err));
		return err;
	}
	addr6_wait_usable(c->name, &c->addr6);

	memset(&rt, 0, sizeof(rt));
	rt.rtmsg_gateway = c->gw6;
	rt.rtmsg_flags = RTF_UP | RTF_GATEWAY;
	rt.rtmsg_metric = 1;
	rt.rtmsg_ifindex = ifr.ifr_ifindex;
	if (if_ioctl_af(AF_INET6, SIOCADDRT, &rt)) {
		err = errno;
		inet_ntop(AF_INET6, &c->gw6, gw, sizeof(gw));
		snprintf(why, WHY_LEN, "add IPv6 default route via %s on %s: %s", gw, c->name,
			 strerror(err));
		return err;
	}
	return 0;
}

/**
 * tap_address4() - IPv4 address and netmask
 * @c:		configuration
 * @why:	on failure, what failed and why (WHY_LEN bytes)
 *
 * Return: 0 on success, -1 on failure (in @why)
 */
static int tap_address4(const struct tap_conf *c, char *why)
{
	struct in_addr mask;
	struct ifreq ifr;

	mask.s_addr = htonl(c->prefix_len ? ~0U << (32 - c->prefix_len) : 0);

	ifr_init(&ifr, c->name);
	sin_set(&ifr.ifr_addr, c->addr);
	if (if_ioctl(SIOCSIFADDR, &ifr)) {
		snprintf(why, WHY_LEN, "set address of %s: %s", c->name, strerror(errno));
		return -1;
	}

	ifr_init(&ifr, c->name);
	sin_set(&ifr.ifr_netmask, mask);
	if (if_ioctl(SIOCSIFNETMASK, &ifr)) {
		snprintf(why, WHY_LEN, "set netmask of %s: %s", c->name, strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * tap_route4() - IPv4 default route (the link must be up)
 * @c:		configuration
 * @why:	on failure, what failed and why (WHY_LEN bytes)
 *
 * Return: 0 on success, -1 on failure (in @why)
 */
static int tap_route4(const struct tap_conf *c, char *why)
{
	char gw[INET_ADDRSTRLEN], dev[IFNAMSIZ];
	struct rtentry rt;

	memset(&rt, 0, sizeof(rt));
	snprintf(dev, sizeof(dev), "%s", c->name);
	sin_set(&rt.rt_dst, (struct in_addr){ INADDR_ANY });
	sin_set(&rt.rt_genmask, (struct in_addr){ INADDR_ANY });
	sin_set(&rt.rt_gateway, c->gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = dev;
	if (if_ioctl(SIOCADDRT, &rt)) {
		inet_ntop(AF_INET, &c->gw, gw, sizeof(gw));
		snprintf(why, WHY_LEN, "add default route via %s on %s: %s", gw, c->name,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * tap_mac() - give the device the MAC address @c asks for
 * @c:		configuration, with @c->mac_set
 *
 * Return: 0 on success, -1 on error (reported)
 */
static int tap_mac(const struct tap_conf *c)
{
	struct ifreq ifr;

	ifr_init(&ifr, c->name);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, c->mac, sizeof(c->mac));
	if (if_ioctl(SIOCSIFHWADDR, &ifr)) {
		cli_err("set MAC address of %s: %s", c->name, strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * tap_configure() - MTU, MAC, IPv4 address, link up, IPv4 route, then IPv6
 * @fd:		TAP fd
 * @c:		configuration
 *
 * A namespace may lack a family: IPv6 off (disable_ipv6, or a kernel
 * without it), or IPv4 configuration refused. That is one warning line
 * and the other family alone, never a failure; only a namespace where
 * neither can be configured is. With @c->no_ip6 IPv6 is not touched (nor
 * counted): the guest's SLAAC configures it, or nothing does.
 *
 * Return: TAP_IP4 | TAP_IP6 as configured (at least one), or -1 on error
 *	   (reported)
 */
int tap_configure(int fd, const struct tap_conf *c)
{
	char why4[WHY_LEN], why6[WHY_LEN];
	int fams = 0, off6, err6 = 0, v4;
	struct ifreq ifr;

	ifr_init(&ifr, c->name);
	ifr.ifr_mtu = (int)c->mtu;
	if (if_ioctl(SIOCSIFMTU, &ifr)) {
		cli_err("set MTU %u on %s: %s", c->mtu, c->name, strerror(errno));
		return -1;
	}
	if (c->mac_set && tap_mac(c))
		return -1;

	v4 = !tap_address4(c, why4);

	if (link_up(c->name))
		return -1;

	tap_carrier_kick(fd);

	if (v4 && !tap_route4(c, why4))
		fams |= TAP_IP4;
	if (c->no_ip6) {
		if (!fams)
			cli_err("%s: IPv4 cannot be configured: %s", c->name, why4);
		return fams ? fams : -1;
	}
	off6 = ipv6_off(c->name);
	if (!off6)
		err6 = tap_configure6(c, why6);
	if (!off6 && !err6)
		fams |= TAP_IP6;
	if (err6 == EACCES)
		off6 = 1;	/* turned off since we looked */

	if (!fams) {
		cli_err("%s: neither IPv4 (%s) nor IPv6 (%s) can be configured", c->name, why4,
			off6 ? "off in this namespace" : why6);
		return -1;
	}
	if (!(fams & TAP_IP4))
		cli_err("warning: IPv4 not configured (%s): %s has IPv6 only", why4, c->name);
	else if (off6)
		cli_err("warning: IPv6 is off in this namespace (disable_ipv6): %s has IPv4 only",
			c->name);
	else if (!(fams & TAP_IP6))
		cli_err("warning: IPv6 not configured (%s): %s has IPv4 only", why6, c->name);
	return fams;
}

/**
 * resolv_conf_bind() - bind a resolv.conf naming @nameserver over the host's
 * @nameserver:	DNS server the namespace should use, IPv4 or IPv6 text
 *
 * Call in a private mount namespace. The file is written to a temporary
 * file (in $TMPDIR or /tmp), bind-mounted over /etc/resolv.conf (over its
 * target if it is a symlink), and unlinked at once: the mount keeps it alive
 * for as long as the namespace lives, and nothing is left behind.
 *
 * Return: 0 on success, -1 on error (reported)
 */
int resolv_conf_bind(const char *nameserver)
{
	char target[PATH_MAX], tmp[PATH_MAX], buf[128];
	const char *dir = getenv("TMPDIR");
	int fd, len, ret = -1;
	ssize_t n;

	if (!realpath(RESOLV_CONF, target)) {
		cli_err("%s: %s (it is needed to point the command's DNS at the gateway)",
			RESOLV_CONF, strerror(errno));
		return -1;
	}

	if (!dir || !*dir)
		dir = "/tmp";
	if (snprintf(tmp, sizeof(tmp), "%s/sandnet-resolv.XXXXXX", dir) >=
	    (int)sizeof(tmp)) {
		cli_err("TMPDIR: path too long");
		return -1;
	}

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		cli_err("create temporary resolv.conf in %s: %s",
			dir, strerror(errno));
		return -1;
	}

	len = snprintf(buf, sizeof(buf),
		       "# Generated by sandnet: the gateway forwards DNS\n"
		       "nameserver %s\n", nameserver);

	if (fchmod(fd, 0644)) {
		cli_err("chmod %s: %s", tmp, strerror(errno));
		goto out;
	}

	n = write(fd, buf, len);
	if (n != len) {
		if (n >= 0)
			errno = EIO;
		cli_err("write %s: %s", tmp, strerror(errno));
		goto out;
	}

	if (close(fd)) {
		fd = -1;
		cli_err("write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;

	if (mount(tmp, target, NULL, MS_BIND, NULL)) {
		cli_err("bind mount over %s: %s", target, strerror(errno));
		goto out;
	}

	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (unlink(tmp) && !ret) {
		cli_err("remove %s: %s", tmp, strerror(errno));
		ret = -1;
	}
	return ret;
}

/**
 * fd_send() - pass @fd over the unix socket @sock (SCM_RIGHTS)
 * @sock:	connected AF_UNIX socket
 * @fd:		file descriptor to pass
 *
 * Return: 0 on success, -1 on error (reported)
 */
int fd_send(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte = 'T';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg;

	memset(&u, 0, sizeof(u));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));

	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1) {
		cli_perror("pass the TAP fd to the parent");
		return -1;
	}

	return 0;
}

/**
 * fd_recv() - receive a file descriptor passed by fd_send()
 * @sock:	connected AF_UNIX socket
 *
 * If the peer closes the socket without sending, it has reported its own
 * failure: return -1 without a message.
 *
 * Return: the fd (close-on-exec), or -1 on error or end of file
 */
int fd_recv(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;
	int fd;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);

	if (n == 0)
		return -1;
	if (n < 0) {
		cli_perror("receive the TAP fd from the namespace");
		return -1;
	}

	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET ||
	    cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)) ||
	    (msg.msg_flags & MSG_CTRUNC)) {
		cli_err("receive the TAP fd from the namespace: no fd in message");
		return -1;
	}

	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}
