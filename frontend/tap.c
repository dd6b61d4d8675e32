// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation
 *
 * A TAP device opened with IFF_NO_PI carries one Ethernet frame per read()
 * and per write(), nothing around it. Reads take up to TAP_BATCH frames per
 * wake-up, then host sockets get their turn. A write the device refuses
 * for lack of room (EAGAIN, ENOBUFS) drops the frame as a NIC with a full
 * ring would: TCP retransmits, and the kernel's own queue in front of the
 * guest is what a TAP has instead of ours. EIO is a device that is down
 * (a guest that configures itself brings it up later): the frame is
 * dropped the same way. EBADFD and ENODEV mean the device is gone
 * (deleted, its namespace gone).
 *
 * Offload (cfg.vnet_hdr): a device opened with IFF_VNET_HDR puts a
 * virtio-net header before each frame, both ways. With TUNSETOFFLOAD
 * (checksum, TSO4, TSO6) the guest's kernel hands over its TCP segments
 * as built, up to 64 KiB (gso_type TCPV4/TCPV6), with the checksum left
 * partial (NEEDS_CSUM): the pseudo-header sum, not the data's. Such a
 * checksum need not be completed: the guest's kernel vouches for the
 * bytes, and nothing between it and us can change them, so a TCP frame
 * with NEEDS_CSUM (or any with DATA_VALID) goes in with SN_INPUT_CSUM_OK
 * and is not summed at all; a partial checksum anywhere else (UDP, which
 * lwIP's own UDP input checks, DHCPv6 among it) is completed here
 * (tap_csum_complete()). To the guest, with cfg.offload (the
 * engine's cfg.offload too), every TCP frame carries the pseudo-header
 * sum (netif/guestif.c) and goes with NEEDS_CSUM, the guest's kernel
 * never summing it when it delivers locally; one larger than cfg.mtu
 * goes as one GSO frame that the kernel splits into segments of
 * cfg.mtu, so lwIP sends 64 KiB segments while the guest's wire MTU
 * stays what it is. Every other frame gets a header of zeros.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include <linux/virtio_net.h>

#include "arch/cc.h"
#include "frontend/frontend.h"
#include "frontend/tap.h"

_Static_assert(SN_TAP_VNET_HDR == sizeof(struct virtio_net_hdr), "the TAP's header size");

/* Frames read per wake-up before host sockets are served. */
#define TAP_BATCH	64

#define ETH_HLEN	14
#define IP4_HLEN	20
#define IP6_HLEN	40
#define TCP_HLEN	20
#define PROTO_TCP	6

/**
 * tap_gone() - does a read or write error mean the device is gone
 * @err:	errno
 *
 * Return: non-zero if so
 */
static int tap_gone(int err)
{
	return err == EBADFD || err == ENODEV || err == EBADF || err == EFAULT;
}

/**
 * tap_l4() - a frame's transport protocol and where its header starts
 * @f:		Ethernet frame
 * @len:	its length
 * @proto:	set to the IPv4 protocol or IPv6 first next header
 * @v6:		set to 1 for IPv6
 *
 * Extension headers are not followed: neither lwIP's TCP nor a guest's
 * offloaded checksum has them in front.
 *
 * Return: offset of the transport header, 0 if not IP or too short
 */
static size_t tap_l4(const uint8_t *f, size_t len, unsigned *proto, int *v6)
{
	size_t l4;

	*v6 = f[12] == 0x86 && f[13] == 0xdd;
	if (*v6) {
		l4 = ETH_HLEN + IP6_HLEN;
		if (len < l4)
			return 0;
		*proto = f[ETH_HLEN + 6];
		return l4;
	}
	if (f[12] != 0x08 || f[13] != 0x00 || len < ETH_HLEN + IP4_HLEN)
		return 0;
	l4 = ETH_HLEN + (size_t)(f[ETH_HLEN] & 0x0f) * 4;
	*proto = f[ETH_HLEN + 9];
	return len >= l4 ? l4 : 0;
}

/**
 * tap_csum_complete() - complete a partial checksum the guest left (NEEDS_CSUM)
 * @f:		Ethernet frame, writable
 * @len:	its length
 * @start:	csum_start: where the sum starts
 * @off:	csum_offset: where from @start the result goes
 *
 * Return: 0, or -1 if the offsets lie outside the frame
 */
static int tap_csum_complete(uint8_t *f, size_t len, size_t start, size_t off)
{
	uint16_t sum;

	if (start + off + 2 > len || len - start > 0xffff)
		return -1;
	sum = (uint16_t)~sn_port_chksum(f + start, (int)(len - start));
	memcpy(f + start + off, &sum, sizeof(sum));
	return 0;
}

/**
 * tap_in() - one frame read with its virtio-net header: to the engine
 * @fe:		frontend
 * @e:		engine
 * @buf:	header and frame
 * @n:		bytes read
 */
static void tap_in(struct sn_frontend *fe, struct sn_engine *e, uint8_t *buf, size_t n)
{
	struct virtio_net_hdr h;
	size_t hl = sizeof(h), len = n - hl, l4, start, off;
	uint8_t *f = buf + hl;
	unsigned proto = 0, flags = 0;
	int v6;

	if (n < hl + ETH_HLEN) {
		fe->st.bad_framing++;
		return;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		fe->st.gso_in++;
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		start = h.csum_start;
		off = h.csum_offset;
		l4 = tap_l4(f, len, &proto, &v6);
		if (l4 && start == l4 && start + off + 2 <= len &&
		    proto == PROTO_TCP && off == 16) {
			flags = SN_INPUT_CSUM_OK;
		} else if (tap_csum_complete(f, len, start, off)) {
			fe->st.bad_framing++;
			return;
		}
	} else if (h.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		flags = SN_INPUT_CSUM_OK;
	}
	sn_frontend_in(fe, e, f, len, flags);
}

/**
 * sn_tap_read() - hand the frames waiting on the TAP to the engine
 * @fe:		frontend
 * @e:		engine
 *
 * Return: 0, or -1 with errno when the device is gone
 */
int sn_tap_read(struct sn_frontend *fe, struct sn_engine *e)
{
	int i;

	for (i = 0; i < TAP_BATCH; i++) {
		ssize_t n = read(fe->cfg.fd, fe->rbuf, fe->rcap);

		if (n > 0) {
			if (fe->cfg.vnet_hdr)
				tap_in(fe, e, fe->rbuf, (size_t)n);
			else
				sn_frontend_in(fe, e, fe->rbuf, (size_t)n, 0);
			continue;
		}
		if (n == 0)
			return sn_frontend_fail(fe, EPIPE);
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return sn_frontend_fail(fe, errno);
	}
	return 0;
}

/**
 * tap_hdr() - the virtio-net header for a frame to the guest
 * @fe:		frontend
 * @f:		Ethernet frame
 * @len:	its length
 * @h:		filled
 */
static void tap_hdr(struct sn_frontend *fe, const uint8_t *f, size_t len,
		    struct virtio_net_hdr *h)
{
	size_t l4, thl, iphl, mss;
	unsigned proto;
	int v6;

	memset(h, 0, sizeof(*h));
	if (!fe->cfg.offload)
		return;
	l4 = tap_l4(f, len, &proto, &v6);
	if (!l4 || proto != PROTO_TCP || len < l4 + TCP_HLEN)
		return;
	thl = (size_t)(f[l4 + 12] >> 4) * 4;
	if (thl < TCP_HLEN || len < l4 + thl)
		return;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)l4;
	h->csum_offset = 16;
	iphl = l4 - ETH_HLEN;
	mss = fe->cfg.mtu - iphl - thl;
	if (len - l4 - thl <= mss)
		return;
	h->gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h->gso_size = (uint16_t)mss;
	h->hdr_len = (uint16_t)(l4 + thl);
}

/**
 * sn_tap_write() - write one frame to the TAP
 * @fe:		frontend
 * @frame:	frame
 * @len:	its length
 *
 * Return: 0, or -1 if dropped
 */
int sn_tap_write(struct sn_frontend *fe, const void *frame, size_t len)
{
	struct virtio_net_hdr h;
	struct iovec iov[2];
	int vnet = fe->cfg.vnet_hdr;
	ssize_t n;

	if (vnet) {
		tap_hdr(fe, frame, len, &h);
		iov[0] = (struct iovec){ .iov_base = &h, .iov_len = sizeof(h) };
		iov[1] = (struct iovec){ .iov_base = (void *)(uintptr_t)frame, .iov_len = len };
		n = writev(fe->cfg.fd, iov, 2);
		if (n > 0)
			n -= (ssize_t)sizeof(h);
	} else {
		n = write(fe->cfg.fd, frame, len);
	}
	if (n == (ssize_t)len) {
		if (vnet && h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
			fe->st.gso_out++;
		sn_frontend_took(fe, frame, len);
		return 0;
	}
	if (n < 0 && tap_gone(errno))
		sn_frontend_fail(fe, errno);
	else
		fe->st.queue_drops++;
	return -1;
}
