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
 */
#include <errno.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "frontend/tap.h"

/* Frames read per wake-up before host sockets are served. */
#define TAP_BATCH	64

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
			sn_frontend_in(fe, e, fe->rbuf, (size_t)n);
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
 * sn_tap_write() - write one frame to the TAP
 * @fe:		frontend
 * @frame:	frame
 * @len:	its length
 *
 * Return: 0, or -1 if dropped
 */
int sn_tap_write(struct sn_frontend *fe, const void *frame, size_t len)
{
	ssize_t n = write(fe->cfg.fd, frame, len);

	if (n == (ssize_t)len) {
		sn_frontend_took(fe, frame, len);
		return 0;
	}
	if (n < 0 && tap_gone(errno))
		sn_frontend_fail(fe, errno);
	else
		fe->st.queue_drops++;
	return -1;
}
