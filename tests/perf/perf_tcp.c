// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - perf_tcp, the TCP data path for an instruction count
 *
 * One engine in-process, a guest made of hand-built frames (tests/unit/
 * frames.c) and a host socket on 127.0.0.1: the guest connects to the
 * gateway, then moves PERF_MB MiB up (guest -> host) or down (host ->
 * guest) at MTU 1500, 1460-byte segments, like a Linux guest without
 * offloads. tests/perf/check.sh runs it under callgrind with collection
 * only inside the engine's API (sn_engine_input, sn_engine_pollfds,
 * sn_engine_timeout_ms, sn_engine_dispatch: everything the engine does,
 * its output callback included, and nothing the test does) and divides
 * the count by the MiB moved.
 *
 * The count must not depend on timing, so nothing here does: the engine's
 * clock is frozen (sn_port_set_clock()) and only moves, 10 ms at a time,
 * when a round made no progress (lwIP's delayed ACK is the one timer the
 * transfer needs); poll() never waits; the guest sends at most
 * PERF_BATCH segments per round within the engine's window and ACKs what
 * arrived once per round with a fixed window; the host side has fixed
 * socket buffers (no receive autotuning, which measures time). Loopback
 * TCP within one thread delivers what was sent before send() returns.
 *
 * Usage: perf_tcp up|down; prints "<dir> <bytes> bytes <rounds> rounds".
 * Exits 1 on any failure (a lost or malformed frame, no progress).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frames.h"
#include "sandnet/sandnet.h"

/* Declared by port/sys_arch.c; not in a public header on purpose. */
void sn_port_set_clock(uint32_t (*clock)(void));

#define PERF_MB		4
#define PERF_BYTES	((size_t)PERF_MB * 1024 * 1024)
#define PERF_MSS	1460
/* Segments the guest sends per round (what sn_engine_run() reads per wake-up). */
#define PERF_BATCH	64
/* The guest's receive window: 256 KiB, window scale 7. */
#define PERF_WS		7
#define PERF_WIN	(256 * 1024)
/* Frames the engine may send in one round: the guest's window and more. */
#define PERF_FRAMES	1024
#define PERF_FRAME_MAX	1514
#define PERF_ROUNDS	1000000
#define PERF_HOST_BUF	(4 * 1024 * 1024)
#define PERF_GPORT	40000

static uint32_t clock_ms = 1000;
static uint8_t frames[PERF_FRAMES][PERF_FRAME_MAX];
static size_t frame_len[PERF_FRAMES];
static unsigned n_frames;
static uint8_t fb[FR_MAX];
static uint8_t payload[PERF_MSS];
static uint8_t hostbuf[256 * 1024];

/**
 * struct perf_conn - the guest's side of the connection
 * @snd_nxt:	next sequence number to send
 * @snd_una:	oldest unacknowledged
 * @snd_wnd:	the engine's window, scaled
 * @snd_scale:	the engine's window scale
 * @rcv_nxt:	next sequence number expected from the engine
 * @dport:	the host listener's port (the guest dials the gateway's)
 */
struct perf_conn {
	uint32_t snd_nxt, snd_una, snd_wnd;
	uint8_t snd_scale;
	uint32_t rcv_nxt;
	uint16_t dport;
};

/**
 * fail() - report and exit 1
 * @what:	what went wrong
 */
static void fail(const char *what)
{
	fprintf(stderr, "perf_tcp: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
	exit(1);
}

/**
 * perf_clock() - the engine's frozen clock
 *
 * Return: clock_ms
 */
static uint32_t perf_clock(void)
{
	return clock_ms;
}

/**
 * perf_output() - cfg.output: keep the frame for after the round
 * @user:	unused
 * @frame:	frame
 * @len:	length
 *
 * Return: 0 (a full store is a failure of the test, not a drop)
 */
static int perf_output(void *user, const void *frame, size_t len)
{
	(void)user;
	if (n_frames == PERF_FRAMES || len > PERF_FRAME_MAX) {
		errno = 0;
		fail("more frames in one round than the store holds");
	}
	memcpy(frames[n_frames], frame, len);
	frame_len[n_frames++] = len;
	return 0;
}

/**
 * guest_send() - one segment from the guest
 * @e:		engine
 * @c:		connection
 * @flags:	FR_* (FR_ACK acknowledges rcv_nxt)
 * @len:	payload bytes (from payload[])
 */
static void guest_send(struct sn_engine *e, struct perf_conn *c, uint8_t flags, size_t len)
{
	size_t n = fr_tcp_frame(fb, &(struct fr_tcp){
		.src = FR_GUEST_IP, .dst = FR_GW_IP, .sport = PERF_GPORT, .dport = c->dport,
		.seq = c->snd_nxt, .ack = (flags & FR_ACK) ? c->rcv_nxt : 0, .flags = flags,
		.win = (flags & FR_SYN) ? 65535 : PERF_WIN >> PERF_WS,
		.mss = (flags & FR_SYN) ? PERF_MSS : 0, .data = payload, .len = len,
		.ws_on = !!(flags & FR_SYN), .ws = PERF_WS });

	if (sn_engine_input(e, fb, n))
		fail("the engine dropped a guest segment");
	c->snd_nxt += (uint32_t)len + !!(flags & FR_SYN);
}

/**
 * engine_round() - poll the engine's host fds without waiting, dispatch
 * @e:		engine
 */
static void engine_round(struct sn_engine *e)
{
	static struct pollfd fds[4096];
	int n = sn_engine_pollfds(e, fds, 4096), rc;

	(void)sn_engine_timeout_ms(e);
	rc = poll(fds, (nfds_t)n, 0);
	if (rc < 0)
		fail("poll");
	sn_engine_dispatch(e, fds, rc > 0 ? n : 0);
}

/**
 * take_frames() - read what the engine sent this round
 * @c:		connection: ACKs and window update snd_una/snd_wnd, data rcv_nxt
 * @synack:	set when a SYN-ACK came (handshake), may be NULL
 * @got:	payload bytes received in order, added to; may be NULL
 *
 * Return: non-zero if anything moved (an ACK advanced, data arrived)
 */
static int take_frames(struct perf_conn *c, int *synack, size_t *got)
{
	int moved = 0;
	unsigned i;

	for (i = 0; i < n_frames; i++) {
		struct fr_parsed p;
		char why[128];

		if (fr_parse(frames[i], frame_len[i], &p, why, sizeof(why)))
			fail(why);
		if (p.type != FR_ETH_IP4 || p.ip_proto != FR_PROTO_TCP || p.dport != PERF_GPORT)
			continue;	/* ARP, gratuitous or otherwise */
		if (p.flags & FR_RST) {
			errno = 0;
			fail("the engine reset the connection");
		}
		if ((p.flags & FR_SYN) && synack) {
			*synack = 1;
			c->rcv_nxt = p.seq + 1;
			c->snd_scale = p.ws_on ? p.ws : 0;
			c->snd_wnd = p.win;	/* a SYN's window is never scaled */
		} else if (p.flags & FR_ACK) {
			c->snd_wnd = (uint32_t)p.win << c->snd_scale;
		}
		if ((p.flags & FR_ACK) && (int32_t)(p.ack - c->snd_una) > 0) {
			c->snd_una = p.ack;
			moved = 1;
		}
		if (p.plen && got) {
			if (p.seq != c->rcv_nxt) {
				errno = 0;
				fail("a segment out of order: the guest link lost nothing");
			}
			c->rcv_nxt += (uint32_t)p.plen;
			*got += p.plen;
			moved = 1;
		}
	}
	n_frames = 0;
	return moved;
}

/**
 * host_listener() - a listener on 127.0.0.1 with fixed buffers
 * @port:	filled
 *
 * Return: the listener
 */
static int host_listener(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), buf = PERF_HOST_BUF;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl))
		fail("listen on 127.0.0.1");
	*port = ntohs(sa.sin_port);
	return fd;
}

/**
 * connect_guest() - the handshake through the engine; the host side accepted
 * @e:		engine
 * @c:		connection, dport set
 * @lfd:	host listener
 *
 * Return: the host side, non-blocking
 */
static int connect_guest(struct sn_engine *e, struct perf_conn *c, int lfd)
{
	int synack = 0, host = -1, i;

	c->snd_nxt = c->snd_una = 1000;
	guest_send(e, c, FR_SYN, 0);
	for (i = 0; i < 1000 && !synack; i++) {
		engine_round(e);
		take_frames(c, &synack, NULL);
	}
	if (!synack)
		fail("no SYN-ACK");
	guest_send(e, c, FR_ACK, 0);
	engine_round(e);
	host = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	if (host < 0)
		fail("accept");
	take_frames(c, NULL, NULL);
	return host;
}

/**
 * run_up() - PERF_BYTES from the guest to the host
 * @e:		engine
 * @c:		connection
 * @host:	host side
 *
 * Return: rounds taken
 */
static unsigned run_up(struct sn_engine *e, struct perf_conn *c, int host)
{
	size_t sent = 0, drained = 0;
	unsigned r;

	for (r = 0; r < PERF_ROUNDS && drained < PERF_BYTES; r++) {
		int moved, k;
		ssize_t n;

		for (k = 0; k < PERF_BATCH && sent < PERF_BYTES &&
			    c->snd_nxt - c->snd_una + PERF_MSS <= c->snd_wnd; k++) {
			size_t len = PERF_BYTES - sent < PERF_MSS ? PERF_BYTES - sent : PERF_MSS;

			guest_send(e, c, FR_ACK, len);
			sent += len;
		}
		engine_round(e);
		moved = take_frames(c, NULL, NULL) || k > 0;
		while ((n = recv(host, hostbuf, sizeof(hostbuf), 0)) > 0) {
			drained += (size_t)n;
			moved = 1;
		}
		if (n < 0 && errno != EAGAIN)
			fail("recv on the host side");
		if (!moved)
			clock_ms += 10;		/* let lwIP's timers run */
	}
	if (drained != PERF_BYTES)
		fail("upload did not complete");
	return r;
}

/**
 * run_down() - PERF_BYTES from the host to the guest
 * @e:		engine
 * @c:		connection
 * @host:	host side
 *
 * Return: rounds taken
 */
static unsigned run_down(struct sn_engine *e, struct perf_conn *c, int host)
{
	size_t written = 0, got = 0;
	unsigned r;

	for (r = 0; r < PERF_ROUNDS && got < PERF_BYTES; r++) {
		int moved = 0;

		while (written < PERF_BYTES) {
			size_t len = PERF_BYTES - written < sizeof(hostbuf) ?
				     PERF_BYTES - written : sizeof(hostbuf);
			ssize_t n = send(host, hostbuf, len, MSG_DONTWAIT);

			if (n <= 0)
				break;
			written += (size_t)n;
			moved = 1;
		}
		engine_round(e);
		if (take_frames(c, NULL, &got)) {
			guest_send(e, c, FR_ACK, 0);	/* one ACK a round */
			moved = 1;
		}
		if (!moved)
			clock_ms += 10;
	}
	if (got != PERF_BYTES)
		fail("download did not complete");
	return r;
}

/**
 * main() - one transfer, one direction
 * @argc:	2
 * @argv:	up or down
 *
 * Return: 0, 1 on failure, 2 on usage errors
 */
int main(int argc, char **argv)
{
	struct perf_conn c = { 0 };
	struct sn_config cfg;
	struct sn_engine *e;
	unsigned rounds;
	int lfd, host, up;

	if (argc != 2 || (strcmp(argv[1], "up") && strcmp(argv[1], "down"))) {
		fprintf(stderr, "usage: perf_tcp up|down\n");
		return 2;
	}
	up = !strcmp(argv[1], "up");
	memset(payload, 'u', sizeof(payload));
	memset(hostbuf, 'd', sizeof(hostbuf));
	sn_port_set_clock(perf_clock);
	sn_config_init(&cfg);
	cfg.output = perf_output;
	cfg.allow_host_loopback = 1;
	cfg.resolv_conf = "/nonexistent/resolv.conf";
	e = sn_engine_new(&cfg);
	if (!e)
		fail(sn_strerror());
	lfd = host_listener(&c.dport);
	host = connect_guest(e, &c, lfd);
	rounds = up ? run_up(e, &c, host) : run_down(e, &c, host);
	printf("%s %zu bytes %u rounds\n", argv[1], PERF_BYTES, rounds);
	close(host);
	close(lfd);
	sn_engine_free(e);
	return 0;
}
