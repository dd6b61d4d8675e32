// SPDX-License-Identifier: MIT
/**
 * DOC: test_frontend - the frontends' framing (sandnet/frontend.h)
 *
 * A frontend joined to a real engine, its link one end of a socketpair
 * whose other end the test drives as the guest (QEMU, vfkit). What the
 * frontend hands the engine is seen through the frame hook; the frames
 * are of an EtherType nobody serves, so the engine answers none of them.
 *
 * Stream (QEMU -netdev stream): frames written in every possible split
 * (each split point of a run of frames, byte by byte, the length split in
 * two) arrive whole and in order; output the peer does not read waits in
 * a queue bounded in bytes and frames, drops are counted, POLLOUT is asked
 * for only while frames wait, and once the peer reads, every frame taken
 * arrives intact and in order; bad lengths (0, over 65535) close the link
 * with EPROTO. Datagrams (QEMU -netdev dgram, vfkit): one frame per
 * datagram, vfkit's "VFKT" greeting skipped, the peer learnt from the
 * first datagram, a new sender reported as a new guest and its datagram
 * delivered to the next engine, a full peer queue waited for without a
 * busy loop, a peer gone reported.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <check.h>

#include "sandnet/frontend.h"
#include "sandnet/sandnet.h"

#define MAXREC		64
#define ETH_UNSERVED	0x88b5	/* IEEE local experimental EtherType */

/* What the hook saw going in */
static struct {
	unsigned n;
	size_t len[MAXREC];
	uint8_t data[MAXREC][9100];
} rec;

static struct sn_frontend *fe;
static struct sn_engine *eng;
static int sv[2] = { -1, -1 };

/**
 * hook() - record frames going in
 * @user:	unused
 * @dir:	SN_FRAME_IN or SN_FRAME_OUT
 * @frame:	frame
 * @len:	its length
 */
static void hook(void *user, int dir, const void *frame, size_t len)
{
	(void)user;
	if (dir != SN_FRAME_IN || rec.n >= MAXREC)
		return;
	memcpy(rec.data[rec.n], frame, len < sizeof(rec.data[0]) ? len : sizeof(rec.data[0]));
	rec.len[rec.n++] = len;
}

/**
 * mkframe() - a frame of @len bytes nobody serves, its bytes from @seed
 * @buf:	filled
 * @len:	length, >= 14
 * @seed:	varies the content; bytes 14 and 15 carry it (if there)
 */
static void mkframe(uint8_t *buf, size_t len, unsigned seed)
{
	static const uint8_t gw[6] = { 0x02, 0x73, 0x6e, 0x00, 0x00, 0x01 };
	static const uint8_t guest[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	size_t i;

	memcpy(buf, gw, 6);
	memcpy(buf + 6, guest, 6);
	buf[12] = ETH_UNSERVED >> 8;
	buf[13] = ETH_UNSERVED & 0xff;
	for (i = 14; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8));
	if (len >= 16) {
		buf[14] = (uint8_t)(seed >> 8);
		buf[15] = (uint8_t)seed;
	}
}

static struct sn_config ecfg;

/**
 * engine_on() - a frontend of @kind on @fd and its engine
 * @kind:	SN_FRONTEND_*
 * @fd:		the link
 * @qbytes:	queue bound in bytes (0: default)
 * @qframes:	queue bound in frames (0: default)
 */
static void engine_on(enum sn_frontend_kind kind, int fd, size_t qbytes, unsigned qframes)
{
	struct sn_frontend_config fc;

	memset(&rec, 0, sizeof(rec));
	sn_frontend_config_init(&fc, kind, -1);
	if (qbytes)
		fc.queue_bytes = qbytes;
	if (qframes)
		fc.queue_frames = qframes;
	fe = sn_frontend_new(&fc);
	ck_assert_ptr_nonnull(fe);
	sn_frontend_set_hook(fe, hook, NULL);
	sn_config_init(&ecfg);
	ecfg.output = sn_frontend_output;
	ecfg.user = fe;
	ecfg.resolv_conf = "/nonexistent/resolv.conf";
	ecfg.log_level = SN_LOG_ERR;
	eng = sn_engine_new(&ecfg);
	ck_assert_ptr_nonnull(eng);
	/* the link comes after the engine: its start-up frames are not ours */
	sn_frontend_set_fd(fe, fd);
}

/**
 * start() - engine and frontend of @kind on a socketpair of @type
 * @kind:	SN_FRONTEND_*
 * @type:	SOCK_STREAM or SOCK_DGRAM
 * @qbytes:	queue bound in bytes (0: default)
 * @qframes:	queue bound in frames (0: default)
 */
static void start(enum sn_frontend_kind kind, int type, size_t qbytes, unsigned qframes)
{
	ck_assert_int_eq(socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	engine_on(kind, sv[0], qbytes, qframes);
}

/**
 * stop() - free what start() made
 */
static void stop(void)
{
	sn_engine_free(eng);
	sn_frontend_free(fe);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	sv[0] = sv[1] = -1;
}

/**
 * serve() - one poll of the frontend's entries (no wait), then ready
 *
 * Return: sn_frontend_ready()'s result
 */
static int serve(void)
{
	struct pollfd p[SN_FRONTEND_POLLFDS_MAX];
	int n = sn_frontend_pollfds(fe, p, SN_FRONTEND_POLLFDS_MAX);

	ck_assert_int_ge(poll(p, (nfds_t)n, 0), 0);
	return sn_frontend_ready(fe, eng, p, n);
}

/**
 * put() - write all of @buf to the guest's end (blocking briefly if full)
 * @buf:	bytes
 * @len:	count
 */
static void put(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(sv[1], p, len);

		if (n < 0 && errno == EAGAIN) {
			ck_assert_int_eq(serve(), 0);
			continue;
		}
		ck_assert_int_gt(n, 0);
		p += n;
		len -= (size_t)n;
	}
}

/**
 * wire() - frames in QEMU's stream framing
 * @out:	filled
 * @lens:	frame lengths, 0-terminated
 *
 * Return: bytes written to @out
 */
static size_t wire(uint8_t *out, const size_t *lens)
{
	size_t off = 0, i;

	for (i = 0; lens[i]; i++) {
		uint32_t be = htonl((uint32_t)lens[i]);

		memcpy(out + off, &be, 4);
		mkframe(out + off + 4, lens[i], (unsigned)i);
		off += 4 + lens[i];
	}
	return off;
}

/**
 * check_rec() - the hook saw exactly the frames of @lens, in order
 * @lens:	frame lengths, 0-terminated
 */
static void check_rec(const size_t *lens)
{
	uint8_t f[9100];
	unsigned i;

	for (i = 0; lens[i]; i++) {
		ck_assert_uint_lt(i, rec.n);
		ck_assert_uint_eq(rec.len[i], lens[i]);
		mkframe(f, lens[i], i);
		ck_assert_msg(!memcmp(rec.data[i], f, lens[i]), "frame %u differs", i);
	}
	ck_assert_uint_eq(rec.n, i);
}

static const size_t stream_lens[] = { 60, 1514, 14, 9014, 100, 0 };
static uint8_t wbuf[1 << 16];

/* Every split point of a run of frames: the first part, a ready call,
 * the rest; every frame arrives whole, once, in order. */
START_TEST(stream_every_split)
{
	size_t total, k;

	start(SN_FRONTEND_STREAM, SOCK_STREAM, 0, 0);
	total = wire(wbuf, stream_lens);
	for (k = 1; k < total; k++) {
		rec.n = 0;
		put(wbuf, k);
		ck_assert_int_eq(serve(), 0);
		put(wbuf + k, total - k);
		ck_assert_int_eq(serve(), 0);
		ck_assert_int_eq(serve(), 0);
		check_rec(stream_lens);
	}
	stop();
}
END_TEST

/* One byte per read: lengths and frames both in pieces. */
START_TEST(stream_byte_by_byte)
{
	struct sn_stats st;
	size_t total, k;

	start(SN_FRONTEND_STREAM, SOCK_STREAM, 0, 0);
	total = wire(wbuf, stream_lens);
	for (k = 0; k < total; k++) {
		put(wbuf + k, 1);
		ck_assert_int_eq(serve(), 0);
	}
	check_rec(stream_lens);
	sn_engine_stats(eng, &st);
	ck_assert_uint_eq(st.frames_in, 5);	/* the engine got them all */
	stop();
}
END_TEST

/* The 4-byte length split in two (2 + 2, 1 + 3, 3 + 1), frame after. */
START_TEST(stream_length_split)
{
	static const size_t one[] = { 1514, 0 };
	size_t total = wire(wbuf, one), cut = (size_t)_i;

	start(SN_FRONTEND_STREAM, SOCK_STREAM, 0, 0);
	put(wbuf, cut);
	ck_assert_int_eq(serve(), 0);
	ck_assert_uint_eq(rec.n, 0);
	put(wbuf + cut, 4 - cut);
	ck_assert_int_eq(serve(), 0);
	ck_assert_uint_eq(rec.n, 0);
	put(wbuf + 4, total - 4);
	ck_assert_int_eq(serve(), 0);
	check_rec(one);
	stop();
}
END_TEST

/* Lengths that cannot be a frame close the link: EPROTO, counted, the
 * guest's end sees the socket shut down; 65535 is still a frame. */
START_TEST(stream_bad_length)
{
	static const uint32_t bad[] = { 0, 65536, 0xffffffff };
	struct sn_frontend_stats fs;
	uint32_t be = htonl(bad[_i]);
	uint8_t c;

	start(SN_FRONTEND_STREAM, SOCK_STREAM, 0, 0);
	put(&be, 4);
	put("junkjunk", 8);
	errno = 0;
	ck_assert_int_eq(serve(), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_int_eq(sn_frontend_error(fe), EPROTO);
	sn_frontend_stats(fe, &fs);
	ck_assert_uint_eq(fs.bad_framing, 1);
	ck_assert_uint_eq(fs.frames_in, 0);
	ck_assert_int_eq(read(sv[1], &c, 1), 0);	/* shut down: EOF */
	{
		struct pollfd p[2];

		ck_assert_int_eq(sn_frontend_pollfds(fe, p, 2), 0);	/* not polled again */
	}
	stop();
}
END_TEST

START_TEST(stream_max_length)
{
	static const size_t max[] = { SN_FRONTEND_FRAME_MAX, 0 };
	static uint8_t big[SN_FRONTEND_FRAME_MAX + 4];
	uint32_t be = htonl(SN_FRONTEND_FRAME_MAX);
	struct sn_frontend_stats fs;

	start(SN_FRONTEND_STREAM, SOCK_STREAM, 0, 0);
	memcpy(big, &be, 4);
	mkframe(big + 4, SN_FRONTEND_FRAME_MAX, 0);
	put(big, sizeof(big));
	ck_assert_int_eq(serve(), 0);
	ck_assert_int_eq(serve(), 0);
	sn_frontend_stats(fe, &fs);
	ck_assert_uint_eq(fs.frames_in, 1);
	ck_assert_uint_eq(fs.bad_framing, 0);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_uint_eq(rec.len[0], max[0]);
	stop();
}
END_TEST

/* The peer closing is the link gone (EPIPE), a partial frame discarded. */
START_TEST(stream_peer_closed)
{
	uint32_t be = htonl(100);

	start(SN_FRONTEND_STREAM, SOCK_STREAM, 0, 0);
	put(&be, 4);
	put("partial", 7);
	close(sv[1]);
	sv[1] = -1;
	errno = 0;
	/* the bytes may come in one read, the end of the stream in the next */
	ck_assert_int_eq(serve() || serve(), 1);
	ck_assert_int_eq(sn_frontend_error(fe), EPIPE);
	ck_assert_uint_eq(rec.n, 0);
	stop();
}
END_TEST

/**
 * drain_stream() - read everything the guest's end has, parse frames
 * @lens:	filled with the frames' lengths
 * @max:	size of @lens
 * @seeds:	filled with each frame's seed (bytes 14 and 15)
 *
 * Return: the number of frames, each checked against mkframe()
 */
static unsigned drain_stream(size_t *lens, unsigned max, unsigned *seeds)
{
	static uint8_t buf[1 << 22];
	size_t have = 0, off = 0;
	unsigned n = 0;
	int idle = 0;

	/* serve the frontend's POLLOUT while reading, until nothing moves */
	while (idle < 3) {
		ssize_t r = read(sv[1], buf + have, sizeof(buf) - have);

		if (r > 0) {
			have += (size_t)r;
			idle = 0;
		} else {
			idle++;
		}
		ck_assert_int_eq(serve(), 0);
	}
	while (have - off >= 4) {
		uint32_t be;
		uint8_t f[9100];
		size_t len;
		unsigned s;

		memcpy(&be, buf + off, 4);
		len = ntohl(be);
		ck_assert_uint_ge(len, 16);
		ck_assert_uint_le(len, sizeof(f));
		ck_assert_uint_ge(have - off - 4, len);
		ck_assert_uint_lt(n, max);
		s = (unsigned)buf[off + 4 + 14] << 8 | buf[off + 4 + 15];
		mkframe(f, len, s);
		ck_assert_msg(!memcmp(f, buf + off + 4, len), "frame %u corrupted", n);
		lens[n] = len;
		seeds[n++] = s;
		off += 4 + len;
	}
	ck_assert_uint_eq(off, have);
	return n;
}

/* A peer that does not read: frames wait in the queue, POLLOUT is asked
 * and is not ready (no busy loop), the bound drops the rest and counts
 * them; once the peer reads, every frame the frontend took arrives
 * intact, in order, none of the dropped ones. */
START_TEST(stream_backpressure)
{
	int small = 4096, taken = 0, dropped = 0, i;
	struct sn_frontend_stats fs;
	static size_t lens[1024];
	static unsigned seeds[1024], ok[1024];
	struct pollfd p[2];
	uint8_t f[1500];
	unsigned n;

	start(SN_FRONTEND_STREAM, SOCK_STREAM, 70000, 40);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	for (i = 0; i < 300; i++) {
		mkframe(f, sizeof(f) - (size_t)(i % 7), (unsigned)i);
		if (sn_frontend_output(fe, f, sizeof(f) - (size_t)(i % 7)) == 0)
			ok[taken++] = (unsigned)i;
		else
			dropped++;
	}
	sn_frontend_stats(fe, &fs);
	ck_assert_int_gt(dropped, 0);
	ck_assert_uint_eq(fs.queue_drops, (uint64_t)dropped);
	ck_assert_uint_eq(fs.frames_out, (uint64_t)taken);
	ck_assert_uint_gt(fs.queued_frames, 0);
	ck_assert_uint_le(fs.queued_frames, 40);
	ck_assert_uint_le(fs.queued_bytes, 70000);
	ck_assert_uint_le(fs.queue_high, 70000);
	ck_assert_int_eq(sn_frontend_pollfds(fe, p, 2), 1);
	ck_assert(p[0].events & POLLOUT);
	ck_assert_int_eq(poll(p, 1, 0), 0);	/* the peer reads nothing: no wake-up */

	n = drain_stream(lens, 1024, seeds);
	ck_assert_uint_eq(n, (unsigned)taken);
	for (i = 0; i < taken; i++) {
		ck_assert_uint_eq(seeds[i], ok[i]);
		ck_assert_uint_eq(lens[i], sizeof(f) - ok[i] % 7);
	}
	sn_frontend_stats(fe, &fs);
	ck_assert_uint_eq(fs.queued_frames, 0);
	ck_assert_uint_eq(fs.queued_bytes, 0);
	ck_assert_int_eq(sn_frontend_pollfds(fe, p, 2), 1);
	ck_assert(!(p[0].events & POLLOUT));	/* nothing waits: POLLOUT not asked */
	stop();
}
END_TEST

/* A partial write: the rest of that frame is queued whatever the frame
 * bound, so the stream never loses its framing. */
START_TEST(stream_partial_write)
{
	static size_t lens[16];
	static unsigned seeds[16];
	int small = 1;
	uint8_t f[9000];
	unsigned n;

	start(SN_FRONTEND_STREAM, SOCK_STREAM, 0, 1);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	mkframe(f, sizeof(f), 3);
	ck_assert_int_eq(sn_frontend_output(fe, f, sizeof(f)), 0);
	mkframe(f, sizeof(f), 4);
	/* one frame waits already (or was written whole): the bound of one */
	sn_frontend_output(fe, f, sizeof(f));
	n = drain_stream(lens, 16, seeds);
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_eq(seeds[0], 3);
	stop();
}
END_TEST

/* ---- datagrams ---- */

/**
 * abstract() - an abstract unix address
 * @sa:		filled
 * @tag:	its name's suffix
 *
 * Return: the address's length
 */
static socklen_t abstract(struct sockaddr_un *sa, const char *tag)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "sn-test-%d-%s", (int)getpid(), tag);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa->sun_path + 1));
}

/**
 * dgram_sock() - a unix datagram socket bound to an abstract @tag
 * @tag:	name
 *
 * Return: the socket
 */
static int dgram_sock(const char *tag)
{
	struct sockaddr_un sa;
	socklen_t len = abstract(&sa, tag);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, len), 0);
	return s;
}

/**
 * send_to() - a datagram from @s to the abstract @tag
 * @s:		socket
 * @tag:	destination
 * @buf:	payload
 * @len:	its length
 */
static void send_to(int s, const char *tag, const void *buf, size_t len)
{
	struct sockaddr_un sa;
	socklen_t alen = abstract(&sa, tag);

	ck_assert_int_eq(sendto(s, buf, len, 0, (struct sockaddr *)&sa, alen), (ssize_t)len);
}

/* A connected pair (an fd handed over): one frame per datagram both ways,
 * vfkit's greeting skipped once. */
START_TEST(dgram_connected)
{
	static const size_t lens[] = { 60, 1514, 9014, 0 };
	struct sn_frontend_stats fs;
	uint8_t f[9100];
	unsigned i;

	start(SN_FRONTEND_DGRAM, SOCK_DGRAM, 0, 0);
	ck_assert_int_eq(write(sv[1], "VFKT", 4), 4);
	for (i = 0; lens[i]; i++) {
		mkframe(f, lens[i], i);
		ck_assert_int_eq(write(sv[1], f, lens[i]), (ssize_t)lens[i]);
	}
	ck_assert_int_eq(serve(), 0);
	check_rec(lens);
	sn_frontend_stats(fe, &fs);
	ck_assert_uint_eq(fs.greetings, 1);

	mkframe(f, 1000, 9);
	ck_assert_int_eq(sn_frontend_output(fe, f, 1000), 0);
	ck_assert_int_eq(read(sv[1], wbuf, sizeof(wbuf)), 1000);
	ck_assert(!memcmp(wbuf, f, 1000));
	stop();
}
END_TEST

/* A bound socket (serve --dgram): the peer is the first sender (vfkit's
 * greeting names it); replies go there; another sender is a new guest
 * (ECONNRESET) whose datagram the next engine gets first. */
START_TEST(dgram_learn_peer)
{
	struct sn_frontend_stats fs;
	int link, vm1, vm2;
	uint8_t f[1514];
	uint64_t i;

	link = dgram_sock("link");
	vm1 = dgram_sock("vm1");
	vm2 = dgram_sock("vm2");
	engine_on(SN_FRONTEND_DGRAM, link, 0, 0);

	sn_frontend_stats(fe, &fs);
	i = fs.no_link;		/* the engine's own start-up frames */
	mkframe(f, 100, 1);
	ck_assert_int_eq(sn_frontend_output(fe, f, 100), 0);	/* no peer yet: discarded */
	sn_frontend_stats(fe, &fs);
	ck_assert_uint_eq(fs.no_link, i + 1);

	send_to(vm1, "link", "VFKT", 4);
	mkframe(f, 60, 0);
	send_to(vm1, "link", f, 60);
	ck_assert_int_eq(serve(), 0);
	ck_assert_uint_eq(rec.n, 1);
	mkframe(f, 200, 2);
	ck_assert_int_eq(sn_frontend_output(fe, f, 200), 0);
	ck_assert_int_eq(recv(vm1, wbuf, sizeof(wbuf), 0), 200);
	ck_assert(!memcmp(wbuf, f, 200));

	mkframe(f, 70, 5);
	send_to(vm2, "link", f, 70);
	errno = 0;
	ck_assert_int_eq(serve(), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	ck_assert_uint_eq(rec.n, 1);

	/* the next guest: a fresh engine, the same socket */
	sn_engine_free(eng);
	sn_frontend_set_fd(fe, link);
	eng = sn_engine_new(&ecfg);
	ck_assert_ptr_nonnull(eng);
	ck_assert_int_eq(sn_frontend_ready(fe, eng, NULL, 0), 0);	/* the kept datagram */
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_uint_eq(rec.len[1], 70);
	ck_assert(!memcmp(rec.data[1], f, 70));
	mkframe(f, 300, 6);
	ck_assert_int_eq(sn_frontend_output(fe, f, 300), 0);
	ck_assert_int_eq(recv(vm2, wbuf, sizeof(wbuf), 0), 300);
	ck_assert_int_eq(recv(vm1, wbuf, sizeof(wbuf), 0), -1);	/* not the old peer */

	/* the peer's socket gone: ECONNREFUSED ends the link */
	close(vm2);
	ck_assert_int_eq(sn_frontend_output(fe, f, 300), -1);
	ck_assert_int_eq(sn_frontend_error(fe), ECONNREFUSED);
	sn_engine_free(eng);
	sn_frontend_free(fe);
	close(link);
	close(vm1);
}
END_TEST

/* The learnt peer's queue full: frames wait in ours, the wait is on a
 * socket whose POLLOUT follows the peer's queue (no busy loop), and they
 * go once the peer reads. */
START_TEST(dgram_peer_full)
{
	struct sn_frontend_stats fs;
	struct pollfd p[SN_FRONTEND_POLLFDS_MAX];
	int link, vm, i, n, got = 0;
	uint8_t f[1514];

	link = dgram_sock("plink");
	vm = dgram_sock("pvm");
	engine_on(SN_FRONTEND_DGRAM, link, 0, 2000);
	mkframe(f, 60, 0);
	send_to(vm, "plink", f, 60);
	ck_assert_int_eq(serve(), 0);

	for (i = 0; i < 1000; i++) {
		mkframe(f, sizeof(f), (unsigned)i);
		ck_assert_int_eq(sn_frontend_output(fe, f, sizeof(f)), 0);
	}
	sn_frontend_stats(fe, &fs);
	ck_assert_uint_gt(fs.queued_frames, 0);
	n = sn_frontend_pollfds(fe, p, SN_FRONTEND_POLLFDS_MAX);
	ck_assert_int_ge(n, 1);
	ck_assert_int_eq(poll(p, (nfds_t)n, 0), 0);	/* nothing ready: no spin */

	for (i = 0; i < 5000 && got < 1000; i++) {
		ssize_t r = recv(vm, wbuf, sizeof(wbuf), 0);

		if (r > 0) {
			mkframe(f, sizeof(f), (unsigned)got);
			ck_assert_int_eq(r, (ssize_t)sizeof(f));
			ck_assert_msg(!memcmp(wbuf, f, sizeof(f)), "datagram %d out of order", got);
			got++;
			continue;
		}
		n = sn_frontend_pollfds(fe, p, SN_FRONTEND_POLLFDS_MAX);
		ck_assert_int_ge(poll(p, (nfds_t)n, 100), 0);
		ck_assert_int_eq(sn_frontend_ready(fe, eng, p, n), 0);
	}
	ck_assert_int_eq(got, 1000);
	sn_engine_free(eng);
	sn_frontend_free(fe);
	close(link);
	close(vm);
}
END_TEST

START_TEST(config_invalid)
{
	struct sn_frontend_config fc;

	sn_frontend_config_init(&fc, SN_FRONTEND_STREAM, -1);
	fc.queue_bytes = 100;		/* below one largest frame */
	errno = 0;
	ck_assert_ptr_null(sn_frontend_new(&fc));
	ck_assert_int_eq(errno, EINVAL);
	sn_frontend_config_init(&fc, SN_FRONTEND_STREAM, -1);
	fc.queue_frames = 0;
	ck_assert_ptr_null(sn_frontend_new(&fc));
	sn_frontend_config_init(&fc, (enum sn_frontend_kind)7, -1);
	ck_assert_ptr_null(sn_frontend_new(&fc));
	sn_frontend_free(NULL);
}
END_TEST

static Suite *frontend_suite(void)
{
	Suite *s = suite_create("frontend");
	TCase *tc;

	tc = tcase_create("stream");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, stream_every_split);
	tcase_add_test(tc, stream_byte_by_byte);
	tcase_add_loop_test(tc, stream_length_split, 1, 4);
	tcase_add_loop_test(tc, stream_bad_length, 0, 3);
	tcase_add_test(tc, stream_max_length);
	tcase_add_test(tc, stream_peer_closed);
	tcase_add_test(tc, stream_backpressure);
	tcase_add_test(tc, stream_partial_write);
	suite_add_tcase(s, tc);

	tc = tcase_create("dgram");
	tcase_add_test(tc, dgram_connected);
	tcase_add_test(tc, dgram_learn_peer);
	tcase_add_test(tc, dgram_peer_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, config_invalid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(frontend_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
