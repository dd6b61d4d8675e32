/* SPDX-License-Identifier: MIT */
/**
 * DOC: frontends - carrying the guest's frames on a file descriptor
 *
 * The engine takes frames through sn_engine_input() and gives them through
 * cfg.output; a frontend joins those two calls to one fd that carries
 * frames, so that a program need not frame and unframe them itself:
 *
 *	SN_FRONTEND_TAP		one read()/write() per frame (a TAP device
 *				opened with IFF_NO_PI; with cfg.vnet_hdr,
 *				IFF_VNET_HDR too, and cfg.offload TSO)
 *	SN_FRONTEND_STREAM	a stream socket, a 4-byte big-endian length
 *				before each frame: QEMU's -netdev stream, the
 *				protocol passt speaks
 *	SN_FRONTEND_DGRAM	one datagram per frame: QEMU's -netdev dgram,
 *				libkrun's and vfkit's unixgram (vfkit's first
 *				datagram, the 4 bytes "VFKT", is skipped)
 *
 * An fd handed over by a parent process is just one of these: a stream
 * or datagram socket already connected.
 *
 * Use: make the frontend first, then the engine with cfg.output =
 * sn_frontend_output and cfg.user = the frontend; then either
 * sn_frontend_run() (the whole poll loop) or, in the embedder's own loop,
 * sn_frontend_pollfds() beside sn_engine_pollfds() and sn_frontend_ready()
 * before sn_engine_dispatch().
 *
 * A stream survives partial reads and writes: a frame (or its length)
 * split across reads is put back together, and frames the peer does not
 * take yet wait in a queue bounded in bytes and in frames, written when
 * poll() says POLLOUT; a frame that does not fit is dropped and counted
 * (TCP retransmits). A length of 0 or above SN_FRONTEND_FRAME_MAX is bad
 * framing: the frontend logs one line, shuts the socket down and reports
 * the link gone (EPROTO). A datagram link queues the same way; on a
 * socket that is not connected, the peer is the sender of the first
 * datagram, and a datagram from another sender is a new guest: the link
 * reports ECONNRESET, and that datagram is delivered first once the
 * embedder has reset (see sn_frontend_set_fd()).
 *
 * Ownership: the frontend never closes the fd it is given. Threads: none;
 * a frontend is used by one thread, the engine's.
 */
#ifndef SANDNET_FRONTEND_H
#define SANDNET_FRONTEND_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "sandnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exported as sandnet.h's declarations are (the library is built with
 * hidden visibility). */
#pragma GCC visibility push(default)

/* Largest frame a frontend carries (and a stream length may announce). */
#define SN_FRONTEND_FRAME_MAX	65535

enum sn_frontend_kind { SN_FRONTEND_TAP, SN_FRONTEND_STREAM, SN_FRONTEND_DGRAM };

/* Direction of a frame, for the frame hook. */
enum sn_frame_dir { SN_FRAME_IN, SN_FRAME_OUT };

/**
 * typedef sn_frame_hook_fn - sees every frame the frontend carries
 * @user:	as given to sn_frontend_set_hook()
 * @dir:	SN_FRAME_IN (guest to engine) or SN_FRAME_OUT (engine to guest)
 * @frame:	the Ethernet frame
 * @len:	its length
 *
 * Called for each frame read from the link, before the engine gets it, and
 * for each frame the engine outputs that the link takes (sent or queued).
 */
typedef void (*sn_frame_hook_fn)(void *user, int dir, const void *frame, size_t len);

/**
 * struct sn_frontend_config - sn_frontend_config_init() fills defaults
 * @kind:		SN_FRONTEND_*
 * @fd:			the link, non-blocking; -1: none yet (sn_frontend_set_fd())
 * @queue_bytes:	most bytes waiting for the peer (default 4 MiB, at
 *			least SN_FRONTEND_FRAME_MAX + 4)
 * @queue_frames:	most frames waiting for the peer (default 4096)
 * @log:		log sink for the frontend's own lines (bad framing, a
 *			new datagram peer); NULL: warnings and errors on stderr
 * @log_user:		passed to @log
 * @vnet_hdr:		TAP only: the device was opened with IFF_VNET_HDR
 *			(header size the default, sizeof(struct
 *			virtio_net_hdr)): a header goes before each frame both
 *			ways; partial checksums from the guest are taken
 *			(SN_INPUT_CSUM_OK) or completed
 * @offload:		TAP with @vnet_hdr only: the device has TUNSETOFFLOAD
 *			(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) and the engine
 *			cfg.offload: TCP frames to the guest go with NEEDS_CSUM,
 *			those larger than @mtu as GSO frames
 * @mtu:		with @offload: the guest's MTU, which gso_size follows
 */
struct sn_frontend_config {
	enum sn_frontend_kind kind;
	int fd;
	size_t queue_bytes;
	unsigned queue_frames;
	sn_log_fn log;
	void *log_user;
	int vnet_hdr;
	int offload;
	unsigned mtu;
};

/**
 * struct sn_frontend_stats - the frontend's counters
 * @frames_in:		frames read from the guest
 * @frames_out:		frames the link took (written or queued)
 * @bytes_in:		their bytes (frames only, no framing)
 * @bytes_out:		same, out
 * @queue_drops:	frames dropped: the queue was full (or, TAP, the
 *			device's queue was)
 * @queued_bytes:	bytes waiting now
 * @queued_frames:	frames waiting now (one partly written counts)
 * @queue_high:		most bytes ever waiting at once
 * @bad_framing:	links closed for a bad length
 * @greetings:		vfkit "VFKT" greetings skipped
 * @no_link:		frames the engine output while no guest was connected
 * @gso_in:		TAP with offload: GSO frames (TCP segments larger than
 *			the MTU) from the guest
 * @gso_out:		the same, to the guest
 */
struct sn_frontend_stats {
	uint64_t frames_in, frames_out, bytes_in, bytes_out;
	uint64_t queue_drops;
	uint64_t queued_bytes, queued_frames, queue_high;
	uint64_t bad_framing;
	uint64_t greetings;
	uint64_t no_link;
	uint64_t gso_in, gso_out;
};

struct sn_frontend;

/**
 * sn_frontend_config_init() - defaults for a frontend of @kind on @fd
 * @c:		filled
 * @kind:	SN_FRONTEND_*
 * @fd:		the link, or -1
 */
void sn_frontend_config_init(struct sn_frontend_config *c, enum sn_frontend_kind kind, int fd);

/**
 * sn_frontend_new() - a frontend
 * @c:		configuration, copied
 *
 * Allocates its buffers here, once: nothing is allocated per frame.
 *
 * Return: the frontend, or NULL with errno (EINVAL: bad kind or queue
 *	   bounds; ENOMEM)
 */
struct sn_frontend *sn_frontend_new(const struct sn_frontend_config *c);

/**
 * sn_frontend_free() - free a frontend; its fd stays open
 * @fe:		frontend, may be NULL
 */
void sn_frontend_free(struct sn_frontend *fe);

/**
 * sn_frontend_output() - cfg.output for an engine whose cfg.user is a frontend
 * @fe:		the frontend (cfg.user)
 * @frame:	frame from the engine
 * @len:	its length
 *
 * Sends the frame, or queues it when the peer does not take it yet. With
 * no fd set the frame is discarded (the cable is unplugged) and counted in
 * no_link.
 *
 * Return: 0 if sent, queued or discarded for lack of a link; -1 if dropped
 *	   (queue full, link failed)
 */
int sn_frontend_output(void *fe, const void *frame, size_t len);

/**
 * sn_frontend_set_fd() - serve another fd (or none): a new guest
 * @fe:		frontend
 * @fd:		the new link, non-blocking, or -1
 *
 * Forgets everything about the previous link: queued frames, a partly read
 * frame, the error, a learnt datagram peer. A datagram from a new sender
 * that ended the previous link (ECONNRESET) is kept and delivered first
 * when @fd is the same socket. Call it after the engine of the previous
 * guest was freed and the next one made, so that no frame of one guest
 * reaches the other.
 */
void sn_frontend_set_fd(struct sn_frontend *fe, int fd);

/**
 * sn_frontend_set_hook() - see every frame in and out (captures, offloads)
 * @fe:		frontend
 * @hook:	called for every frame, or NULL for none
 * @user:	passed to @hook
 */
void sn_frontend_set_hook(struct sn_frontend *fe, sn_frame_hook_fn hook, void *user);

/* Most pollfd entries a frontend needs (a datagram link waiting for its
 * peer to take frames polls a second socket). */
#define SN_FRONTEND_POLLFDS_MAX	2

/**
 * sn_frontend_pollfds() - the link's entries for poll()
 * @fe:		frontend
 * @fds:	filled with up to SN_FRONTEND_POLLFDS_MAX entries: the link
 *		with POLLIN, and POLLOUT on the socket that will say when the
 *		peer takes frames again while frames wait
 * @max:	size of @fds
 *
 * Return: entries filled; 0 if there is no link to poll (no fd, or the
 *	   link failed)
 */
int sn_frontend_pollfds(struct sn_frontend *fe, struct pollfd *fds, int max);

/**
 * sn_frontend_ready() - serve the link after poll()
 * @fe:		frontend
 * @e:		engine whose cfg.output is sn_frontend_output and cfg.user @fe
 * @fds:	the entries sn_frontend_pollfds() filled, revents set by poll()
 * @n:		their number (0: only check for a failure)
 *
 * Writes what waits when its socket is writable, hands the frames read
 * to sn_engine_input() (a bounded number per call, so that host sockets
 * are not starved).
 *
 * Return: 0, or -1 with errno when the link is gone: EPIPE (the peer
 *	   closed), EPROTO (bad framing), ECONNRESET (a datagram from a new
 *	   peer), ECONNREFUSED or ENOENT (the datagram peer's socket is
 *	   gone), ENODEV (POLLERR/POLLNVAL), or the error of a read or write
 */
int sn_frontend_ready(struct sn_frontend *fe, struct sn_engine *e, const struct pollfd *fds,
		      int n);

/**
 * sn_frontend_error() - why the link failed
 * @fe:		frontend
 *
 * Return: 0 while it works, else the errno sn_frontend_ready() reports
 */
int sn_frontend_error(const struct sn_frontend *fe);

/**
 * sn_frontend_run() - poll the link, the engine's sockets and @stop_fd
 * @fe:		frontend
 * @e:		engine whose cfg.output is sn_frontend_output and cfg.user @fe
 * @stop_fd:	the loop returns when this becomes readable (-1: never)
 *
 * With no fd set it serves only the engine's sockets and timers.
 *
 * Return: 0 when @stop_fd became readable, -1 with errno when the link is
 *	   gone (as sn_frontend_ready()) or poll() failed
 */
int sn_frontend_run(struct sn_frontend *fe, struct sn_engine *e, int stop_fd);

/**
 * sn_frontend_stats() - copy the counters
 * @fe:		frontend
 * @st:		filled
 */
void sn_frontend_stats(const struct sn_frontend *fe, struct sn_frontend_stats *st);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* SANDNET_FRONTEND_H */
