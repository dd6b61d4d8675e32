// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - host socket errors become the guest's ICMP
 *
 * UDP session sockets and ping sockets run with IP_RECVERR / IPV6_RECVERR:
 * ICMP errors the host receives for them, and local errors, queue up on
 * the socket instead of failing the next call blindly. This file is the
 * one place that turns them into ICMP errors for the guest, for the UDP
 * and the ICMP relay alike:
 *
 *   sn_sockerr_drain()	reads a socket's error queue, one entry at a
 *			time (bounded), counts each (host_errors) and hands
 *			it to the relay's report callback, which builds the
 *			quote (only the relay knows what the guest sent);
 *   sn_sockerr_icmp()	says which ICMP error of the guest's family an
 *			entry stands for: one of the guest's own family
 *			passes with its type and code (destination
 *			unreachable, packet too big, time exceeded,
 *			parameter problem); across families (an IPv6 guest
 *			talking to an IPv4-mapped address, or the gateway
 *			dialled at the other family's loopback) time exceeded
 *			maps to time exceeded and the rest through the
 *			entry's errno, as the kernel understood it; local
 *			errors through sn_sockerr_errno_icmp(). Fragmentation
 *			needed only about an IPv4 packet sent with DF (no
 *			router would send it otherwise), the MTU in 16 bits;
 *			packet too big never below 1280;
 *   sn_sockerr_source()	says where the error comes from: the offender,
 *			except the host's loopback (a flow dialled to
 *			127.0.0.1 or ::1 for the gateway), which is the
 *			gateway; without one, the destination for a refused
 *			port, the gateway (the router that could not deliver)
 *			for the rest;
 *   sn_sockerr_send()	sends it, through the one rate limit of every ICMP
 *			error to the guest (netif/output.c).
 */
#include <errno.h>
#include <string.h>
#include <time.h>		/* struct timespec, for linux/errqueue.h */
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lwip/icmp.h"
#include "lwip/prot/icmp6.h"
#include "core/engine.h"
#include "netif/output.h"
#include "relay/relay.h"

/* ICMP unreachable code 13: communication administratively prohibited
 * (RFC 1812 5.2.7.1), for a local firewall's EPERM/EACCES. */
#define SN_ICMP_DUR_ADMIN	13

/**
 * sock_err_read() - take one entry off a socket's error queue
 * @fd:		socket with IP_RECVERR or IPV6_RECVERR enabled
 * @buf:	the offending packet's data goes here (truncated to @len)
 * @len:	size of @buf
 * @ee:		filled with the entry's extended error
 * @off:	filled with the offender's address (zeroed when there is none)
 * @n:		set to the bytes of data read
 *
 * Return: 1 for an entry with an extended error, 0 for one without,
 *	   -1 when the queue is empty or the read failed
 */
static int sock_err_read(int fd, void *buf, size_t len, struct sock_extended_err *ee,
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

int sn_sockerr_drain(struct sn_engine *e, int fd, void *buf, size_t len, unsigned max,
		     sn_sockerr_report_fn report, void *ctx)
{
	struct sock_extended_err ee;
	struct sockaddr_storage off;
	unsigned i;
	int got = 0, have;
	size_t n;

	for (i = 0; i < max; i++) {
		have = sock_err_read(fd, buf, len, &ee, &off, &n);
		if (have < 0)
			break;
		got++;
		e->st.host_errors++;
		if (have && report(ctx, &ee, ee.ee_origin == SO_EE_ORIGIN_LOCAL ? NULL : &off,
				   buf, n) < 0)
			return -1;
	}
	return got;
}

int sn_sockerr_errno_icmp(int err, int v6, u8_t *type, u8_t *code)
{
	*type = v6 ? ICMP6_TYPE_DUR : ICMP_DUR;
	switch (err) {
	case ENETUNREACH:
	case ENETDOWN:
		*code = v6 ? ICMP6_DUR_NO_ROUTE : ICMP_DUR_NET;
		return 1;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		*code = v6 ? ICMP6_DUR_ADDRESS : ICMP_DUR_HOST;
		return 1;
	case ECONNREFUSED:
		*code = v6 ? ICMP6_DUR_PORT : ICMP_DUR_PORT;
		return 1;
	case EMSGSIZE:
		if (v6) {
			*type = ICMP6_TYPE_PTB;
			*code = 0;
		} else {
			*code = ICMP_DUR_FRAG;
		}
		return 1;
	case EACCES:
	case EPERM:
		*code = v6 ? ICMP6_DUR_PROHIBITED : SN_ICMP_DUR_ADMIN;
		return 1;
	default:
		return 0;
	}
}

int sn_sockerr_toobig(int v6, u8_t type, u8_t code)
{
	return v6 ? type == ICMP6_TYPE_PTB : (type == ICMP_DUR && code == ICMP_DUR_FRAG);
}

int sn_sockerr_port_err(int v6, u8_t type, u8_t code)
{
	return v6 ? (type == ICMP6_TYPE_DUR && code == ICMP6_DUR_PORT) :
		    (type == ICMP_DUR && (code == ICMP_DUR_PORT || code == ICMP_DUR_PROTO));
}

/**
 * sockerr_same_family() - an entry of the guest's own family, as it came
 * @ee:		the entry
 * @v6:		the guest's packet is IPv6
 * @type:	filled
 * @code:	filled
 * @info:	filled with the MTU or pointer field, host order
 *
 * Return: non-zero for the types passed on
 */
static int sockerr_same_family(const struct sock_extended_err *ee, int v6, u8_t *type,
			       u8_t *code, u32_t *info)
{
	*type = ee->ee_type;
	*code = ee->ee_code;
	if (v6) {
		if (*type == ICMP6_TYPE_PTB || *type == ICMP6_TYPE_PP)
			*info = ee->ee_info;
		return *type == ICMP6_TYPE_DUR || *type == ICMP6_TYPE_PTB ||
		       *type == ICMP6_TYPE_TE || *type == ICMP6_TYPE_PP;
	}
	if (*type == ICMP_PP)
		*info = ee->ee_info << 24;
	else if (*type == ICMP_DUR && *code == ICMP_DUR_FRAG)
		*info = ee->ee_info;
	return *type == ICMP_DUR || *type == ICMP_TE || *type == ICMP_PP;
}

int sn_sockerr_icmp(const struct sock_extended_err *ee, int v6, int df, u8_t *type, u8_t *code,
		    u32_t *info)
{
	int e6 = ee->ee_origin == SO_EE_ORIGIN_ICMP6;

	*info = 0;
	switch (ee->ee_origin) {
	case SO_EE_ORIGIN_ICMP:
	case SO_EE_ORIGIN_ICMP6:
		if (e6 == v6) {
			if (!sockerr_same_family(ee, v6, type, code, info))
				return 0;
			break;
		}
		if ((e6 && ee->ee_type == ICMP6_TYPE_TE) || (!e6 && ee->ee_type == ICMP_TE)) {
			*type = v6 ? ICMP6_TYPE_TE : ICMP_TE;
			*code = 0;
			return 1;
		}
		/* across families: by the errno the kernel made of it */
		__attribute__((fallthrough));
	case SO_EE_ORIGIN_LOCAL:
		if (!sn_sockerr_errno_icmp((int)ee->ee_errno, v6, type, code))
			return 0;
		if (sn_sockerr_toobig(v6, *type, *code))
			*info = ee->ee_info;
		break;
	default:
		return 0;
	}
	if (!sn_sockerr_toobig(v6, *type, *code))
		return 1;
	if (!v6 && !df)
		return 0;
	if (!v6)
		*info &= 0xffff;
	else if (*info < 1280)
		*info = 1280;
	return 1;
}

void sn_gw_addr(struct sn_engine *e, int v6, ip_addr_t *gw)
{
	if (v6) {
		ip_addr_set_zero_ip6(gw);
		memcpy(ip_2_ip6(gw)->addr, &e->cfg.gw_ip6, 16);
	} else {
		ip_addr_set_ip4_u32_val(*gw, e->cfg.gw_ip4.s_addr);
	}
}

void sn_sockerr_source(struct sn_engine *e, const ip_addr_t *daddr,
		       const struct sockaddr_storage *off, int port_err, ip_addr_t *src)
{
	int v6 = IP_IS_V6(daddr);

	if (off && off->ss_family == AF_INET) {
		const struct sockaddr_in *o = (const struct sockaddr_in *)off;

		if (o->sin_addr.s_addr != PP_HTONL(INADDR_ANY)) {
			if ((lwip_ntohl(o->sin_addr.s_addr) >> 24) == 127) {
				sn_gw_addr(e, v6, src);
			} else if (v6) {
				ip_addr_set_zero_ip6(src);
				ip_2_ip6(src)->addr[2] = PP_HTONL(0xffffUL);
				ip_2_ip6(src)->addr[3] = o->sin_addr.s_addr;
			} else {
				ip_addr_set_ip4_u32_val(*src, o->sin_addr.s_addr);
			}
			return;
		}
	} else if (off && off->ss_family == AF_INET6) {
		const struct sockaddr_in6 *o = (const struct sockaddr_in6 *)off;

		if (!IN6_IS_ADDR_UNSPECIFIED(&o->sin6_addr)) {
			if (IN6_IS_ADDR_LOOPBACK(&o->sin6_addr) || !v6) {
				sn_gw_addr(e, v6, src);
			} else {
				ip_addr_set_zero_ip6(src);
				memcpy(ip_2_ip6(src)->addr, &o->sin6_addr, 16);
			}
			return;
		}
	}
	if (port_err)
		*src = *daddr;
	else
		sn_gw_addr(e, v6, src);
}

void sn_sockerr_send(struct sn_engine *e, const ip_addr_t *src, u8_t type, u8_t code, u32_t info,
		     const void *quote, size_t len)
{
	if (IP_IS_V6(src))
		sn_icmp6_error(e, ip_2_ip6(src), type, code, info, quote, len);
	else
		sn_icmp4_error(e, ip_2_ip4(src), type, code, info, quote, len);
}
