// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - host socket error queues
 *
 * UDP session sockets and ping sockets run with IP_RECVERR / IPV6_RECVERR:
 * ICMP errors the host receives for them, and local errors, queue up on
 * the socket instead of failing the next call blindly. The relays read the
 * queue with sn_sock_err_read(), one entry at a time, and turn each into an
 * ICMP error for the guest.
 */
#include <errno.h>
#include <string.h>
#include <time.h>		/* struct timespec, for linux/errqueue.h */
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "relay/relay.h"

/**
 * sn_sock_err_read() - take one entry off a socket's error queue
 * @fd:		socket with IP_RECVERR or IPV6_RECVERR enabled
 * @buf:	the offending datagram's data goes here (truncated to @len)
 * @len:	size of @buf
 * @ee:		filled with the entry's extended error
 * @off:	filled with the offender's address (zeroed when there is none)
 * @n:		set to the bytes of data read
 *
 * Return: 1 for an entry with an extended error, 0 for one without,
 *	   -1 when the queue is empty or the read failed
 */
int sn_sock_err_read(int fd, void *buf, size_t len, struct sock_extended_err *ee,
		     struct sockaddr_storage *off, size_t *n)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
				    sizeof(struct sockaddr_in6))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t r;
	int have = 0;

	r = recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (r < 0 && errno == EINTR)
		r = recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (r < 0)
		return -1;
	*n = (size_t)r;
	memset(off, 0, sizeof(*off));
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t olen;

		if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) ||
		    c->cmsg_len < CMSG_LEN(sizeof(*ee)))
			continue;
		memcpy(ee, CMSG_DATA(c), sizeof(*ee));
		olen = c->cmsg_len - CMSG_LEN(sizeof(*ee));
		if (olen > sizeof(struct sockaddr_in6))
			olen = sizeof(struct sockaddr_in6);
		memcpy(off, CMSG_DATA(c) + sizeof(*ee), olen);
		have = 1;
	}
	return have;
}
