// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the engine follows the host's own addresses
 *
 * The policy's host group holds every address of the host's interfaces
 * (core/hostaddr.c says why); an interface going up or down changes it, so
 * the engine follows the list for as long as it runs.
 *
 * A NETLINK_ROUTE socket subscribed to the IPv4 and IPv6 address groups is
 * registered with the engine's poll loop. At start the addresses are
 * dumped (RTM_GETADDR) and read synchronously, so the list is complete
 * before the guest's first packet. Afterwards any RTM_NEWADDR/RTM_DELADDR
 * notification, or a lost one (ENOBUFS: the socket's queue overflowed),
 * makes the list stale, and the list is dumped again; the dump's result
 * replaces the list whole when it completes. Notifications arriving during
 * a dump schedule one more dump, so the list always ends up current.
 *
 * Without netlink (a seccomp filter, an old kernel) the list is read once
 * with sn_host_addrs_read() and a warning says it will not follow changes.
 * At most SN_HOST_ADDRS_MAX addresses are kept.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include "core/engine.h"
#include "core/hostaddr.h"
#include "core/hostwatch.h"
#include "policy/policy.h"

/* Longest the first, synchronous dump may take. */
#define SN_HOSTWATCH_SYNC_MS	2000
/* Netlink messages read per readiness callback. */
#define SN_HOSTWATCH_BURST	32

/**
 * struct sn_hostwatch - the host's interface addresses, followed
 * @fd:		netlink socket, -1 without one
 * @slot:	its engine fd slot
 * @seq:	sequence number of the dump in flight
 * @dumping:	a dump is in flight
 * @stale:	a change was seen since the dump in flight started
 * @next:	addresses of the dump in flight
 * @n_next:	how many
 * @addr:	the current list (the policy env points at it)
 * @n:		how many
 */
struct sn_hostwatch {
	int fd;
	int slot;
	uint32_t seq;
	int dumping;
	int stale;
	struct sn_ip next[SN_HOST_ADDRS_MAX];
	unsigned n_next;
	struct sn_ip addr[SN_HOST_ADDRS_MAX];
	unsigned n;
};

/**
 * hostwatch_publish() - make a list the current one for the policy
 * @e:		engine
 * @list:	addresses
 * @n:		how many
 */
static void hostwatch_publish(struct sn_engine *e, const struct sn_ip *list, unsigned n)
{
	struct sn_hostwatch *h = e->hostwatch;

	if (list != h->addr)
		memcpy(h->addr, list, n * sizeof(*list));
	h->n = n;
	e->env.host = h->addr;
	e->env.n_host = n;
	e->st.host_addrs = n;
}

/**
 * hostwatch_dump() - ask the kernel for every address
 * @h:		state
 *
 * Return: 0, or -1 with errno
 */
static int hostwatch_dump(struct sn_hostwatch *h)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req = {
		.nh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETADDR,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = ++h->seq,
		},
		.ifa = { .ifa_family = AF_UNSPEC },
	};

	if (send(h->fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -1;
	h->dumping = 1;
	h->stale = 0;
	h->n_next = 0;
	return 0;
}

/**
 * hostwatch_msg() - take one netlink message
 * @e:		engine
 * @nh:		the message, length checked
 *
 * Return: 1 when the dump in flight completed, 0 otherwise
 */
static int hostwatch_msg(struct sn_engine *e, const struct nlmsghdr *nh)
{
	struct sn_hostwatch *h = e->hostwatch;
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	const struct rtattr *rta;
	const void *local = NULL, *addr = NULL;
	int len;

	if (nh->nlmsg_type == NLMSG_DONE || nh->nlmsg_type == NLMSG_ERROR)
		return h->dumping && nh->nlmsg_seq == h->seq;
	if (nh->nlmsg_type != RTM_NEWADDR && nh->nlmsg_type != RTM_DELADDR)
		return 0;
	if (!h->dumping || nh->nlmsg_seq != h->seq) {
		/* a change: dump again (now, or when the dump in flight ends) */
		h->stale = 1;
		return 0;
	}
	if (nh->nlmsg_type != RTM_NEWADDR || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)) ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return 0;
	len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa)));
	for (rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		size_t need = ifa->ifa_family == AF_INET ? 4 : 16;

		if (RTA_PAYLOAD(rta) < need)
			continue;
		if (rta->rta_type == IFA_LOCAL)
			local = RTA_DATA(rta);
		else if (rta->rta_type == IFA_ADDRESS)
			addr = RTA_DATA(rta);
	}
	/* IFA_LOCAL is the address of a point-to-point link's own end */
	if (local || addr)
		sn_host_addrs_keep(h->next, &h->n_next, SN_HOST_ADDRS_MAX, ifa->ifa_family,
				   local ? local : addr);
	return 0;
}

/**
 * hostwatch_read() - read what the netlink socket has
 * @e:		engine
 *
 * Return: 0, or -1 with errno when the socket failed (EAGAIN: empty)
 */
static int hostwatch_read(struct sn_engine *e)
{
	struct sn_hostwatch *h = e->hostwatch;
	union {
		struct nlmsghdr nh;
		char buf[16384];
	} u;
	int i;

	for (i = 0; i < SN_HOSTWATCH_BURST; i++) {
		const struct nlmsghdr *nh;
		ssize_t n = recv(h->fd, u.buf, sizeof(u.buf), MSG_DONTWAIT);
		int len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			/* notifications were lost: only a new dump can tell */
			h->stale = 1;
			h->dumping = 0;
			continue;
		}
		if (n <= 0)
			return n < 0 ? -1 : 0;
		len = (int)n;
		for (nh = &u.nh; NLMSG_OK(nh, (unsigned)len); nh = NLMSG_NEXT(nh, len)) {
			if (!hostwatch_msg(e, nh))
				continue;
			h->dumping = 0;
			hostwatch_publish(e, h->next, h->n_next);
		}
	}
	return 0;
}

/**
 * hostwatch_ready() - engine callback: the netlink socket is readable
 * @ctx:	engine
 * @fd:		the socket
 * @revents:	poll() revents
 */
static void hostwatch_ready(void *ctx, int fd, short revents)
{
	struct sn_engine *e = ctx;
	struct sn_hostwatch *h = e->hostwatch;

	(void)fd;
	(void)revents;
	if (hostwatch_read(e) && errno != EAGAIN && errno != EWOULDBLOCK)
		sn_log(e, SN_LOG_DEBUG, "host addresses: netlink: %s", strerror(errno));
	if (h->stale && !h->dumping && hostwatch_dump(h))
		sn_log(e, SN_LOG_WARN, "host addresses: netlink dump: %s", strerror(errno));
}

/**
 * hostwatch_getifaddrs() - read the addresses once, without netlink
 * @e:		engine
 */
static void hostwatch_getifaddrs(struct sn_engine *e)
{
	struct sn_hostwatch *h = e->hostwatch;

	h->n_next = sn_host_addrs_read(h->next, SN_HOST_ADDRS_MAX);
	hostwatch_publish(e, h->next, h->n_next);
}

/**
 * hostwatch_sync() - complete the first dump before the guest is served
 * @e:		engine
 *
 * Return: 0, or -1 if it did not complete in time
 */
static int hostwatch_sync(struct sn_engine *e)
{
	struct sn_hostwatch *h = e->hostwatch;
	uint32_t start = sn_now_ms();

	while (h->dumping || h->stale) {
		struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
		int left = SN_HOSTWATCH_SYNC_MS - (int)(sn_now_ms() - start);

		if (!h->dumping && hostwatch_dump(h))
			return -1;
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return -1;
		if (hostwatch_read(e) && errno != EAGAIN)
			return -1;
	}
	return 0;
}

/**
 * sn_hostwatch_init() - read the host's interface addresses and follow changes
 * @e:		engine
 *
 * Return: 0, or -1 (ENOMEM); without netlink the list is read once
 */
int sn_hostwatch_init(struct sn_engine *e)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	struct sn_hostwatch *h = calloc(1, sizeof(*h));

	if (!h)
		return -1;
	h->fd = -1;
	h->slot = -1;
	e->hostwatch = h;
	h->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) || hostwatch_dump(h) ||
	    hostwatch_sync(e)) {
		sn_log(e, SN_LOG_WARN, "host addresses: netlink unavailable (%s): read once, "
		       "changes will not be followed", strerror(errno));
		if (h->fd >= 0)
			close(h->fd);
		h->fd = -1;
		hostwatch_getifaddrs(e);
		return 0;
	}
	h->slot = sn_fd_add(e, h->fd, POLLIN, hostwatch_ready, e);
	if (h->slot < 0) {
		close(h->fd);
		h->fd = -1;
	}
	return 0;
}

/**
 * sn_hostwatch_fini() - stop following the host's addresses
 * @e:		engine
 */
void sn_hostwatch_fini(struct sn_engine *e)
{
	struct sn_hostwatch *h = e->hostwatch;

	if (!h)
		return;
	sn_fd_del(e, h->slot);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
	e->hostwatch = NULL;
	e->env.host = NULL;
	e->env.n_host = 0;
}
