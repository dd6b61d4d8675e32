// SPDX-License-Identifier: MIT
/**
 * DOC: test_tcp - the TCP proxy, guest to the host's loopback, IPv4 and IPv6
 *
 * The test plays the guest's TCP by hand (its own segments, its own
 * sequence bookkeeping) against listeners on the host's loopback, reached
 * through the gateway address with cfg.allow_host_loopback: 10.0.2.15 to
 * 10.0.2.2 (a listener on 127.0.0.1), and fd00:2::15 to fd00:2::2 (a
 * listener on ::1). Every test runs once per family (a libcheck loop test:
 * iteration 0 IPv4, 1 IPv6) with one body. Covers: SYN-ACK only once the
 * host connect() is up, data both ways, half-close both ways, RST for
 * refused / denied / over the flow limit / connect timeout / host reset,
 * ISNs (per engine, per connection), window-based backpressure both ways
 * with bounded memory, and that every flow that ended closed its host
 * socket while the engine still runs.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "harness.h"

static uint8_t fb[FR_MAX];

/* The family of the running test: 0 IPv4, 1 IPv6 (the loop index). */
static int v6;

#define FAMILIES	2

/**
 * family() - run the test in IPv4 (0) or IPv6 (1)
 * @i:		the loop index
 */
static void family(int i)
{
	v6 = i;
	H.answer_ns = i;
}

static int family_af(void)
{
	return v6 ? AF_INET6 : AF_INET;
}

/* where the TCP header starts in a built frame */
static size_t l4_off(void)
{
	return v6 ? FR_L4_OFF6 : FR_L4_OFF;
}

/**
 * struct gconn - the guest's side of one connection
 * @gport:	guest port
 * @dport:	destination port (on the gateway)
 * @v6:		an IPv6 connection (fd00:2::15 to @dst6), else IPv4 (to @dst4)
 * @dst4:	IPv4 destination (the gateway unless a test changes it)
 * @dst6:	IPv6 destination (likewise)
 * @mss:	the guest's MSS: what its 1500-byte MTU allows in the family
 * @iss:	guest's initial sequence number
 * @irs:	engine's initial sequence number (from its SYN-ACK)
 * @snd_nxt:	guest's next sequence number
 * @rcv_nxt:	next sequence number expected from the engine
 * @host:	the accepted host socket, -1 before
 * @fin:	the engine's FIN was received (and acknowledged)
 * @win:	window field of the guest's segments (0 means 65535)
 * @ws_on:	the guest's SYN offers window scaling, shift @ws
 * @ws:		the guest's shift (its own windows are sent unscaled regardless:
 *		@win is what goes on the wire)
 * @snd_scale:	the engine's shift, from its SYN-ACK (0 unless both offered)
 * @syn_win:	the window of the engine's SYN-ACK (never scaled)
 * @max_plen:	the largest payload gc_recv() took
 */
struct gconn {
	uint16_t gport, dport;
	int v6;
	uint32_t dst4;
	uint8_t dst6[16];
	uint16_t mss;
	uint32_t iss, irs, snd_nxt, rcv_nxt;
	int host;
	int fin;
	uint16_t win;
	uint8_t ws_on, ws, snd_scale;
	uint16_t syn_win;
	size_t max_plen;
};

static void gc_init(struct gconn *c, uint16_t gport, uint16_t dport, uint32_t iss)
{
	memset(c, 0, sizeof(*c));
	c->gport = gport;
	c->dport = dport;
	c->v6 = v6;
	c->dst4 = FR_GW_IP;
	memcpy(c->dst6, fr_gw_ip6, 16);
	c->mss = v6 ? 1500 - 40 - 20 : 1500 - 20 - 20;
	c->iss = c->snd_nxt = iss;
	c->host = -1;
}

/**
 * gc_frame() - build one segment of the guest's connection into fb
 * @c:		connection
 * @flags:	FR_* flags (FR_ACK adds rcv_nxt as ack)
 * @data:	payload
 * @len:	its length
 *
 * Return: frame length
 */
static size_t gc_frame(const struct gconn *c, uint8_t flags, const void *data, size_t len)
{
	return fr_tcp_frame(fb, &(struct fr_tcp){
		.src = FR_GUEST_IP, .dst = c->dst4, .src6 = c->v6 ? fr_guest_ip6 : NULL,
		.dst6 = c->v6 ? c->dst6 : NULL, .sport = c->gport, .dport = c->dport,
		.seq = c->snd_nxt, .ack = (flags & FR_ACK) ? c->rcv_nxt : 0, .flags = flags,
		.win = c->win, .mss = (flags & FR_SYN) ? c->mss : 0, .data = data, .len = len,
		.ws_on = (flags & FR_SYN) && c->ws_on, .ws = c->ws });
}

/**
 * gc_send() - send one segment of the guest's connection
 * @c:		connection
 * @flags:	FR_* flags (FR_ACK adds rcv_nxt as ack)
 * @data:	payload
 * @len:	its length
 *
 * Return: sn_engine_input()'s result
 */
static int gc_send(struct gconn *c, uint8_t flags, const void *data, size_t len)
{
	size_t n = gc_frame(c, flags, data, len);

	c->snd_nxt += (uint32_t)len + !!(flags & FR_SYN) + !!(flags & FR_FIN);
	return h_send(fb, n);
}

/* predicate arguments: a connection plus what the frame must carry */
struct seg_want {
	const struct gconn *c;
	uint8_t flags, noflags;
	size_t min_plen;
	int ack_set;
	uint32_t ack;		/* with ack_set: ack must be at least this */
};

static int seg_pred(const struct fr_parsed *p, const void *arg)
{
	const struct seg_want *w = arg;
	const struct gconn *c = w->c;
	int from_dst = c->v6 ? p->type == FR_ETH_IP6 && !memcmp(p->ip6_src, c->dst6, 16) &&
				       !memcmp(p->ip6_dst, fr_guest_ip6, 16) :
			       p->type == FR_ETH_IP4 && p->ip_src == c->dst4;

	if (!from_dst || p->ip_proto != FR_PROTO_TCP || !p->l4 || p->sport != c->dport ||
	    p->dport != c->gport)
		return 0;
	if ((p->flags & w->flags) != w->flags || (p->flags & w->noflags) || p->plen < w->min_plen)
		return 0;
	if (w->ack_set && (!(p->flags & FR_ACK) || (int32_t)(p->ack - w->ack) < 0))
		return 0;
	return 1;
}

static const struct fr_parsed *gc_wait(const struct gconn *c, uint8_t flags, uint8_t noflags,
				       size_t min_plen, int ms)
{
	struct seg_want w = { .c = c, .flags = flags, .noflags = noflags, .min_plen = min_plen };

	return h_wait(seg_pred, &w, ms);
}

static const struct fr_parsed *gc_wait_ack(const struct gconn *c, uint32_t ack, int ms)
{
	struct seg_want w = { .c = c, .flags = FR_ACK, .ack_set = 1, .ack = ack };

	return h_wait(seg_pred, &w, ms);
}

/**
 * gc_synack() - wait for the SYN-ACK and check it
 * @c:		connection whose SYN was sent
 * @ms:		bound
 */
static void gc_synack(struct gconn *c, int ms)
{
	const struct fr_parsed *p = gc_wait(c, FR_SYN | FR_ACK, 0, 0, ms);

	ck_assert_msg(p != NULL, "no SYN-ACK for guest port %u", c->gport);
	ck_assert_uint_eq(p->flags & (FR_SYN | FR_ACK | FR_RST | FR_FIN), FR_SYN | FR_ACK);
	ck_assert_uint_eq(p->ack, c->iss + 1);
	ck_assert_uint_eq(p->plen, 0);
	ck_assert_msg(p->mss > 0 && p->mss <= c->mss, "SYN-ACK MSS %u", p->mss);
	/* RFC 7323 2.2: window scaling only in answer to a SYN that offered it */
	ck_assert_msg(!p->ws_on || c->ws_on, "SYN-ACK scales windows the SYN did not offer");
	ck_assert_msg(!p->ws_on || p->ws <= 14, "SYN-ACK window scale %u", p->ws);
	c->snd_scale = c->ws_on && p->ws_on ? p->ws : 0;
	c->syn_win = p->win;
	c->irs = p->seq;
	c->rcv_nxt = p->seq + 1;
}

/**
 * gc_connect() - full handshake to the gateway's @c->dport, accept the host side
 * @c:		connection, gc_init()ed
 * @lfd:	the host listener on the loopback's @c->dport
 */
static void gc_connect(struct gconn *c, int lfd)
{
	gc_send(c, FR_SYN, NULL, 0);
	gc_synack(c, H_WAIT_MS);
	gc_send(c, FR_ACK, NULL, 0);
	c->host = h_accept(lfd, H_WAIT_MS);
	ck_assert_int_ge(c->host, 0);
}

/**
 * gc_recv() - take @len bytes of payload from the engine, in order, ACKing
 * @c:		connection
 * @buf:	output
 * @len:	bytes wanted
 *
 * A FIN riding on the last segment is taken too (@c->fin).
 */
static void gc_recv(struct gconn *c, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		const struct fr_parsed *p = gc_wait(c, 0, FR_SYN | FR_RST, 1, H_WAIT_MS);

		ck_assert_msg(p != NULL, "only %zu of %zu bytes arrived", got, len);
		if (p->seq != c->rcv_nxt)
			continue;	/* a retransmission of what we have */
		ck_assert_uint_le(got + p->plen, len);
		memcpy(buf + got, p->payload, p->plen);
		got += p->plen;
		if (p->plen > c->max_plen)
			c->max_plen = p->plen;
		c->rcv_nxt += (uint32_t)p->plen;
		if (p->flags & FR_FIN) {
			ck_assert_uint_eq(got, len);	/* nothing after a FIN */
			c->rcv_nxt++;
			c->fin = 1;
		}
		gc_send(c, FR_ACK, NULL, 0);
	}
}

/**
 * gc_fin() - wait for the engine's FIN (unless it came with data), ACK it
 * @c:		connection
 */
static void gc_fin(struct gconn *c)
{
	const struct fr_parsed *p;

	if (c->fin)
		return;
	p = gc_wait(c, FR_FIN, FR_RST, 0, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no FIN after the host closed");
	ck_assert_uint_eq(p->seq, c->rcv_nxt);
	ck_assert_uint_eq(p->plen, 0);
	c->rcv_nxt++;
	c->fin = 1;
	gc_send(c, FR_ACK, NULL, 0);
}

/**
 * gc_rst_refused() - wait for the engine's RST refusing @c's SYN, check it
 * @c:		connection whose SYN was sent
 * @ms:		bound
 * @what:	why the RST is due, for the failure message
 */
static void gc_rst_refused(const struct gconn *c, int ms, const char *what)
{
	const struct fr_parsed *p = gc_wait(c, FR_RST, 0, 0, ms);

	ck_assert_msg(p != NULL, "no RST for %s", what);
	ck_assert_uint_eq(p->flags & (FR_RST | FR_ACK | FR_SYN), FR_RST | FR_ACK);
	ck_assert_uint_eq(p->ack, c->iss + 1);
	ck_assert_uint_eq(p->plen, 0);
}

/**
 * listen_lo() - a listener on the running family's loopback
 * @port:	filled with its port
 * @backlog:	listen() backlog
 *
 * Return: the listener (tracked)
 */
static int listen_lo(uint16_t *port, int backlog)
{
	*port = 0;
	return h_tcp_listen(family_af(), port, backlog, 0);
}

/**
 * gc_start() - the usual beginning: family @i, a listener, a connection to it
 * @i:		the loop index: 0 IPv4, 1 IPv6
 * @c:		connection to gc_init() towards the listener's port
 * @gport:	guest port
 * @iss:	guest's initial sequence number
 *
 * Return: the listener (backlog 16, tracked)
 */
static int gc_start(int i, struct gconn *c, uint16_t gport, uint32_t iss)
{
	uint16_t port = 0;
	int lfd;

	family(i);
	lfd = listen_lo(&port, 16);
	gc_init(c, gport, port, iss);
	return lfd;
}

static int readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) > 0;
}

/* ---- SYN-ACK only after the host connection is up ---- */

START_TEST(synack_not_from_input)
{
	struct gconn c;
	int lfd;

	lfd = gc_start(_i, &c, 40001, 1000);
	gc_send(&c, FR_SYN, NULL, 0);
	/* sn_engine_input() alone must not answer: the host connect() is
	 * only started; its result comes through poll and dispatch. */
	ck_assert_uint_eq(h_untaken(), 0);
	ck_assert_uint_eq(h_frames_out(), 0);
	ck_assert_uint_eq(h_stats().tcp_flows, 1);
	gc_synack(&c, H_WAIT_MS);
	/* when the SYN-ACK is out, the host side exists */
	ck_assert(readable(lfd, 0));
	c.host = h_track_fd(accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
	ck_assert_int_ge(c.host, 0);
}
END_TEST

/**
 * full_listener() - a listener whose accept queue is full
 * @port:	filled
 * @filler:	filled with the client socket occupying the queue
 *
 * With backlog 0 Linux queues one connection; a further SYN is dropped
 * and that client stays in SYN_SENT (retransmitting) until accept() makes
 * room.
 *
 * Return: the listener
 */
static int full_listener(uint16_t *port, int *filler)
{
	struct sockaddr_storage ss;
	int lfd = listen_lo(port, 0);
	socklen_t sl = h_loopback(family_af(), *port, &ss);

	*filler = h_track_fd(socket(family_af(), SOCK_STREAM | SOCK_CLOEXEC, 0));
	ck_assert_int_eq(connect(*filler, (struct sockaddr *)&ss, sl), 0);
	return lfd;
}

START_TEST(synack_waits_for_host_connect)
{
	uint8_t buf[8];
	struct gconn c;
	uint16_t port;
	int filler, lfd, acc;

	family(_i);
	lfd = full_listener(&port, &filler);
	gc_init(&c, 40002, port, 5000);
	gc_send(&c, FR_SYN, NULL, 0);
	h_run(300);
	/* the host's connect() is stuck: no answer at all */
	ck_assert_msg(h_untaken() == 0, "answered while the host connect() was pending");
	/* a retransmitted SYN changes nothing: still one flow, still silent */
	c.snd_nxt = c.iss;
	gc_send(&c, FR_SYN, NULL, 0);
	h_run(100);
	ck_assert_uint_eq(h_untaken(), 0);
	ck_assert_uint_eq(h_stats().tcp_flows, 1);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);

	/* make room: the kernel's SYN retransmission (1 s) now gets through */
	acc = h_track_fd(accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
	ck_assert_int_ge(acc, 0);
	gc_synack(&c, 4000);
	gc_send(&c, FR_ACK, NULL, 0);
	c.host = h_accept(lfd, H_WAIT_MS);
	ck_assert_int_ge(c.host, 0);
	gc_send(&c, FR_ACK | FR_PSH, "ping", 4);
	ck_assert_uint_eq(h_recv_exact(c.host, buf, 4, H_WAIT_MS), 4);
	ck_assert_mem_eq(buf, "ping", 4);
}
END_TEST

START_TEST(connect_timeout_rst)
{
	struct sn_config cfg;
	struct gconn c;
	uint16_t port;
	int filler;

	h_stop();
	h_config(&cfg);
	cfg.allow_host_loopback = 1;
	cfg.tcp_connect_ms = 1000;
	h_start(&cfg);
	family(_i);
	full_listener(&port, &filler);

	gc_init(&c, 40003, port, 7000);
	gc_send(&c, FR_SYN, NULL, 0);
	h_run(100);
	ck_assert_uint_eq(h_untaken(), 0);
	h_assert_fds(1);		/* the pending connect's socket */
	h_clock_advance(500);
	h_run(20);
	ck_assert_uint_eq(h_untaken(), 0);
	h_clock_advance(600);		/* past tcp_connect_ms */
	gc_rst_refused(&c, 1000, "the connect timeout");
	ck_assert_uint_eq(h_stats().tcp_refused, 1);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);
	h_assert_fds(0);
}
END_TEST

/**
 * pending_limits - a black hole holds its share of connects, no more
 *
 * With max_tcp_pending_per_dest 2 and max_tcp_pending 3: two connects to
 * a destination that never answers stay pending; a third SYN to it is
 * dropped (tcp_pending_limit; the guest will retransmit, as to a full SYN
 * backlog), while another destination (the loopback, allowed by
 * group:loopback) is still dialled; beyond three in all, every new SYN is
 * dropped. No connect waits out the connect timeout for a slot.
 */
START_TEST(pending_limits)
{
	static const uint8_t lo6[16] = { [15] = 1 };
	struct sn_config cfg;
	struct sn_policy *pol;
	struct gconn c[5];
	char err[128];
	uint16_t port;
	int filler, i;

	h_stop();
	h_config(&cfg);
	cfg.max_tcp_pending = 3;
	cfg.max_tcp_pending_per_dest = 2;
	h_start(&cfg);
	pol = sn_policy_new();
	ck_assert_int_eq(sn_policy_add(pol, SN_POLICY_EGRESS, SN_POLICY_ALLOW, "group:host", NULL,
				       err, sizeof(err)), 0);
	ck_assert_int_eq(sn_policy_add(pol, SN_POLICY_EGRESS, SN_POLICY_ALLOW, "group:loopback",
				       NULL, err, sizeof(err)), 0);
	sn_engine_set_policy(H.e, pol);
	family(_i);
	full_listener(&port, &filler);	/* its connects hang */
	for (i = 0; i < 5; i++) {
		gc_init(&c[i], (uint16_t)(42000 + i), port, 1000u * (unsigned)(i + 1));
		if (i >= 3) {
			c[i].dst4 = FR_IP(127, 0, 0, 1);
			memcpy(c[i].dst6, lo6, 16);
		}
	}

	gc_send(&c[0], FR_SYN, NULL, 0);
	gc_send(&c[1], FR_SYN, NULL, 0);
	h_run(50);
	ck_assert_uint_eq(h_untaken(), 0);		/* both pending */
	gc_send(&c[2], FR_SYN, NULL, 0);
	h_run(50);
	ck_assert_uint_eq(h_stats().tcp_pending_limit, 1);
	ck_assert_uint_eq(h_untaken(), 0);		/* dropped: no answer at all */
	h_assert_fds(2);
	gc_send(&c[3], FR_SYN, NULL, 0);		/* another destination */
	h_run(50);
	ck_assert_ptr_null(gc_wait(&c[3], FR_RST, 0, 0, 0));
	h_assert_fds(3);				/* three connects pending */
	gc_send(&c[4], FR_SYN, NULL, 0);
	h_run(50);
	ck_assert_uint_eq(h_stats().tcp_pending_limit, 2);
	ck_assert_uint_eq(h_untaken(), 0);
	h_assert_fds(3);
}
END_TEST

/* lwipopts.h's TCP_TMR_INTERVAL: the pace of lwIP's TCP timer */
#define TCP_TICK_MS	10

/**
 * keepalive_ends_silent_flow - a guest that vanished loses its flow
 *
 * After TCP_KEEPIDLE_DEFAULT (5 min) of silence lwIP probes the guest;
 * unanswered probes end the flow: an RST to the guest, the host socket
 * closed (the host peer reads EOF), no fd left.
 */
START_TEST(keepalive_ends_silent_flow)
{
	const struct fr_parsed *p;
	unsigned probes = 0, s;
	struct gconn c;
	int lfd = gc_start(_i, &c, 43000, 5000), gone = 0;
	uint8_t b;

	gc_connect(&c, lfd);
	/* lwIP's TCP timer reschedules itself from the time it ran: step
	 * the clock at its own pace (TCP_TMR_INTERVAL), as a real one goes */
	for (s = 0; s < 299 * 1000 / TCP_TICK_MS; s++)
		h_clock_advance(TCP_TICK_MS);
	ck_assert_ptr_null(gc_wait(&c, FR_ACK, FR_RST, 0, 0));	/* not yet */
	for (s = 0; s < 10 * 60 * 1000 / TCP_TICK_MS && !gone; s++) {
		h_clock_advance(TCP_TICK_MS);
		if (s % 25)
			continue;
		if (H.answer_ns)
			h_answer_ns();	/* the guest's kernel would, silent TCP or not */
		while ((p = gc_wait(&c, 0, 0, 0, 0))) {
			if (p->flags & FR_RST)
				gone = 1;
			else if (p->seq == c.rcv_nxt - 1 && p->plen <= 1)
				probes++;
		}
	}
	ck_assert_msg(gone, "no RST after %u s of silence (%u probes)",
		      299 + s * TCP_TICK_MS / 1000, probes);
	ck_assert_uint_ge(probes, 2);
	ck_assert_msg(readable(c.host, H_WAIT_MS) && recv(c.host, &b, 1, 0) <= 0,
		      "the host side was not closed");
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);
	h_assert_fds(0);
}
END_TEST

/* ---- a whole connection ---- */

START_TEST(session_data_and_half_close)
{
	uint8_t buf[64];
	const struct fr_parsed *p;
	struct gconn c;
	int lfd;

	lfd = gc_start(_i, &c, 40004, 0xfffffff0u);	/* guest sequence space wraps */
	gc_connect(&c, lfd);
	h_assert_fds(1);		/* the engine's socket (the accepted one is tracked) */
	ck_assert_uint_eq(h_stats().tcp_flows_active, 1);

	/* guest -> host */
	gc_send(&c, FR_ACK | FR_PSH, "hello from the guest", 20);
	ck_assert_uint_eq(h_recv_exact(c.host, buf, 20, H_WAIT_MS), 20);
	ck_assert_mem_eq(buf, "hello from the guest", 20);
	ck_assert_ptr_nonnull(gc_wait_ack(&c, c.snd_nxt, H_WAIT_MS));

	/* host -> guest: payload at the next sequence number */
	ck_assert_int_eq(send(c.host, "hello from the host", 19, 0), 19);
	p = gc_wait(&c, FR_ACK, FR_SYN | FR_RST | FR_FIN, 1, H_WAIT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->seq, c.irs + 1);
	ck_assert_uint_eq(p->plen, 19);
	ck_assert_mem_eq(p->payload, "hello from the host", 19);
	ck_assert_uint_eq(p->ack, c.snd_nxt);
	c.rcv_nxt += 19;
	gc_send(&c, FR_ACK, NULL, 0);

	/* the connection as sn_engine_flows() shows it */
	{
		struct sn_flow_info f;

		ck_assert_uint_eq(h_flows(&f, 1), 1);
		ck_assert_int_eq(f.proto, IPPROTO_TCP);
		ck_assert_int_eq(f.inbound, 0);
		ck_assert_str_eq(f.state, "open");
		ck_assert_int_eq(f.guest.ss_family, family_af());
		ck_assert_int_eq(f.remote.ss_family, family_af());
		ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&f.remote)->sin_port), c.dport);
		ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&f.guest)->sin_port), c.gport);
		ck_assert_uint_eq(f.bytes_up, 20);
		ck_assert_uint_eq(f.bytes_down, 19);
	}

	/* guest FIN: host reads EOF, the engine ACKs the FIN */
	gc_send(&c, FR_ACK | FR_FIN, NULL, 0);
	ck_assert(h_run_until_ready(c.host, H_WAIT_MS));
	ck_assert_int_eq(recv(c.host, buf, sizeof(buf), MSG_DONTWAIT), 0);
	ck_assert_ptr_nonnull(gc_wait_ack(&c, c.snd_nxt, H_WAIT_MS));

	/* half-closed: the host can still send */
	ck_assert_int_eq(send(c.host, "still here", 10, 0), 10);
	memset(buf, 0, sizeof(buf));
	gc_recv(&c, buf, 10);
	ck_assert_mem_eq(buf, "still here", 10);

	/* host close: FIN to the guest after the data */
	h_close_fd(c.host);
	gc_fin(&c);
	h_run(50);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);
	h_assert_fds(0);		/* the engine closed its socket */
	ck_assert_uint_eq(h_stats().tcp_bytes_up, 20);
	ck_assert_uint_eq(h_stats().tcp_bytes_down, 29);
	ck_assert_uint_eq(h_flows(NULL, 0), 0);
	/* nothing but ACKs remain, and no RST was ever sent */
	ck_assert_ptr_null(gc_wait(&c, FR_RST, 0, 0, 0));
}
END_TEST

START_TEST(host_close_first)
{
	uint8_t buf[16];
	struct gconn c;
	int lfd, i, t;
	uint32_t start;

	lfd = gc_start(_i, &c, 40005, 123456);
	gc_connect(&c, lfd);
	ck_assert_int_eq(send(c.host, "bye", 3, 0), 3);
	h_close_fd(c.host);
	gc_recv(&c, buf, 3);
	ck_assert_mem_eq(buf, "bye", 3);
	gc_fin(&c);
	/* the guest may still send... into a closed socket: then the guest
	 * closes too, and the flow ends cleanly */
	gc_send(&c, FR_ACK | FR_FIN, NULL, 0);
	ck_assert_ptr_nonnull(gc_wait_ack(&c, c.snd_nxt, H_WAIT_MS));
	h_run(50);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);
	h_assert_fds(0);
	/* lwIP holds the connection in TIME_WAIT (it closed first): its TCP
	 * timer runs. Sleeping as long as the engine says each time, its
	 * timers end: TIME_WAIT (lwipopts.h: 2 * TCP_MSL, 10 s), the connect
	 * deadline armed at the SYN (30 s, found passed), IPv6's neighbour
	 * entry for the guest (REACHABLE for 30 s, then STALE); what stays
	 * for an IPv6 guest is the router advertisement every 600 s */
	ck_assert_int_ge(sn_engine_timeout_ms(H.e), 0);
	ck_assert_int_le(sn_engine_timeout_ms(H.e), 10);
	start = h_now();
	for (i = 0; i < 10000 && (t = sn_engine_timeout_ms(H.e)) >= 0 && t < 60000; i++)
		h_clock_advance(t > 0 ? (uint32_t)t : 1);
	ck_assert_uint_ge(h_now() - start, 10000);	/* not before TIME_WAIT's end */
	ck_assert_uint_le(h_now() - start, 40000);
	if (!v6)
		ck_assert_int_eq(sn_engine_timeout_ms(H.e), -1);
	else
		ck_assert_int_gt(sn_engine_timeout_ms(H.e), 500000);
}
END_TEST

/*
 * The host closes first, so lwIP ends in TIME_WAIT while the guest (the
 * passive closer) keeps no state and may pick the same port again at once:
 * the new SYN must get a SYN-ACK, not lwIP's RST for the old connection.
 */
START_TEST(port_reuse_after_close)
{
	uint8_t buf[16];
	struct gconn c;
	int lfd;

	lfd = gc_start(_i, &c, 40015, 1000);
	gc_connect(&c, lfd);
	ck_assert_int_eq(send(c.host, "one", 3, 0), 3);
	h_close_fd(c.host);
	gc_recv(&c, buf, 3);
	gc_fin(&c);
	gc_send(&c, FR_ACK | FR_FIN, NULL, 0);
	ck_assert_ptr_nonnull(gc_wait_ack(&c, c.snd_nxt, H_WAIT_MS));
	h_run(50);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);

	gc_init(&c, 40015, c.dport, 5000000);
	gc_connect(&c, lfd);
	ck_assert_int_eq(send(c.host, "two", 3, 0), 3);
	gc_recv(&c, buf, 3);
	ck_assert_mem_eq(buf, "two", 3);
	h_close_fd(c.host);
}
END_TEST

START_TEST(guest_rst_closes_host)
{
	uint8_t buf[4];
	struct gconn c;
	int lfd;
	ssize_t n;

	lfd = gc_start(_i, &c, 40006, 42);
	gc_connect(&c, lfd);
	gc_send(&c, FR_RST | FR_ACK, NULL, 0);
	ck_assert(h_run_until_ready(c.host, H_WAIT_MS));
	n = recv(c.host, buf, sizeof(buf), MSG_DONTWAIT);
	ck_assert_msg(n == 0 || (n < 0 && errno == ECONNRESET), "host socket: %zd", n);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);
	h_assert_fds(0);
}
END_TEST

/* The host resets its side (SO_LINGER 0): the guest gets an RST, the
 * engine's socket is closed at once. */
START_TEST(host_rst_resets_guest)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	const struct fr_parsed *p;
	struct gconn c;
	int lfd;

	lfd = gc_start(_i, &c, 40016, 4242);
	gc_connect(&c, lfd);
	gc_send(&c, FR_ACK | FR_PSH, "x", 1);
	ck_assert_ptr_nonnull(gc_wait_ack(&c, c.snd_nxt, H_WAIT_MS));
	ck_assert_int_eq(setsockopt(c.host, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	h_close_fd(c.host);
	p = gc_wait(&c, FR_RST, 0, 0, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no RST to the guest after the host reset");
	ck_assert_uint_eq(p->seq, c.rcv_nxt);
	h_run(20);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);
	h_assert_fds(0);
}
END_TEST

START_TEST(bulk_both_ways)
{
	enum { N = 256 * 1024, INFLIGHT = 32 * 1024 };
	static uint8_t out[N], in[N];
	struct gconn c;
	uint16_t port;
	int lfd;
	size_t sent = 0, got = 0, i;
	uint32_t una;

	family(_i);
	lfd = listen_lo(&port, 16);
	for (i = 0; i < N; i++)
		out[i] = (uint8_t)(i * 31 + (i >> 9));
	gc_init(&c, 40007, port, 99);
	gc_connect(&c, lfd);

	/* guest -> host, never more than INFLIGHT unacknowledged */
	una = c.snd_nxt;
	for (int rounds = 0; got < N && rounds < 20000; rounds++) {
		const struct fr_parsed *p;
		struct seg_want w = { .c = &c };
		ssize_t n;

		while (sent < N && c.snd_nxt - una + c.mss <= INFLIGHT) {
			size_t l = N - sent < c.mss ? N - sent : c.mss;

			gc_send(&c, FR_ACK, out + sent, l);
			sent += l;
		}
		h_step(2);
		while ((p = h_find(seg_pred, &w)))
			if ((p->flags & FR_ACK) && (int32_t)(p->ack - una) > 0)
				una = p->ack;
		while ((n = recv(c.host, in + got, N - got, MSG_DONTWAIT)) > 0)
			got += (size_t)n;
	}
	ck_assert_uint_eq(got, N);
	ck_assert(!memcmp(in, out, N));

	/* host -> guest */
	for (i = 0; i < N; i++)
		out[i] = (uint8_t)(i * 17 + 5);
	{
		size_t off = 0;

		while (off < N) {
			ssize_t n = send(c.host, out + off, N - off, MSG_DONTWAIT);

			if (n > 0)
				off += (size_t)n;
			/* take what the engine sent meanwhile, ACKing */
			for (;;) {
				struct seg_want w = { .c = &c, .min_plen = 1 };
				const struct fr_parsed *p = h_find(seg_pred, &w);

				if (!p)
					break;
				if (p->seq != c.rcv_nxt)
					continue;
				memcpy(in + (c.rcv_nxt - c.irs - 1), p->payload, p->plen);
				c.rcv_nxt += (uint32_t)p->plen;
				gc_send(&c, FR_ACK, NULL, 0);
			}
			h_step(2);
		}
		off = c.rcv_nxt - c.irs - 1;
		gc_recv(&c, in + off, N - off);
	}
	ck_assert(!memcmp(in, out, N));
	ck_assert_uint_eq(h_stats().tcp_bytes_up, N);
	ck_assert_uint_eq(h_stats().tcp_bytes_down, N);
}
END_TEST

/* ---- backpressure, both ways, with bounded memory ---- */

#define BP_CAP		(64ull << 20)	/* a writer never offers more than this */
#define BP_BOUND	(16ull << 20)	/* backpressure must bite before this */
#define BP_HELD		(2ull << 20)	/* what the engine itself may hold: lwIP's
					 * TCP_SND_BUF / TCP_WND are 1 MiB */
#define BP_MSS		1460	/* the largest guest segment (IPv4's) */
#define BP_EXTRA	(512 * 1024)	/* sent after the stall, to see it resume */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* byte @i of a test stream: a hash of its position, so any lost, repeated
 * or reordered stretch shows */
static uint8_t bp_byte(uint64_t i)
{
	return (uint8_t)((i * 0x9e3779b97f4a7c15ull) >> 56);
}

static void bp_fill(uint8_t *buf, uint64_t off, size_t len)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = bp_byte(off + k);
}

/* the stream offset of the first byte of @buf (stream bytes from @off on)
 * that is wrong, or UINT64_MAX if all are right */
static uint64_t bp_check(const uint8_t *buf, uint64_t off, size_t len)
{
	for (size_t k = 0; k < len; k++)
		if (buf[k] != bp_byte(off + k))
			return off + k;
	return UINT64_MAX;
}

START_TEST(backpressure_host_to_guest)
{
	enum { WIN0 = 8192 };
	static uint8_t chunk[64 * 1024];
	const struct fr_parsed *p;
	struct seg_want data = { .min_plen = 1 }, any = { 0 };
	struct gconn c;
	uint16_t port;
	int lfd, stalled = 0, shut = 0, first = 1;
	uint64_t written = 0, filled = UINT64_MAX, got = 0, total, t0, last, held, bad;
	size_t i;
	ssize_t n;

	family(_i);
	lfd = listen_lo(&port, 16);
	/* the guest offers a small window on its handshake ACK, then says
	 * nothing: no ACK of any data, no window update */
	gc_init(&c, 40013, port, 0xfffff000u);
	c.win = WIN0;
	gc_connect(&c, lfd);
	data.c = any.c = &c;

	/* phase 1: the host writes until its socket stays full for 500 ms */
	t0 = last = mono_ms();
	while (written < BP_CAP && mono_ms() - t0 < 5000) {
		if (filled != written) {
			bp_fill(chunk, written, sizeof(chunk));
			filled = written;
		}
		n = send(c.host, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			written += (uint64_t)n;
			last = mono_ms();
			h_step(0);
			continue;
		}
		ck_assert_msg(n < 0 && errno == EAGAIN, "host send: %zd (%s)", n, strerror(errno));
		if (mono_ms() - last >= 500) {
			stalled = 1;
			break;
		}
		h_step(10);
	}
	held = h_stats().tcp_bytes_down;
	fprintf(stderr, "backpressure host->guest: host send() %s after %llu bytes "
		"(%llu taken by the engine, guest window %u)\n",
		stalled ? "blocked" : "still not blocked", (unsigned long long)written,
		(unsigned long long)held, WIN0);
	ck_assert_msg(stalled, "the host wrote %llu bytes in %llu ms without blocking: "
		      "the engine drains the socket for a guest that ACKs nothing",
		      (unsigned long long)written, (unsigned long long)(mono_ms() - t0));
	ck_assert_msg(written < BP_BOUND, "host send() blocked only after %llu bytes",
		      (unsigned long long)written);
	ck_assert_msg(held <= BP_HELD, "the engine took %llu bytes from the host for a guest "
		      "that ACKs nothing", (unsigned long long)held);
	/* nothing was sent beyond the guest's window (retransmissions aside) */
	for (i = 0; i < H.n_frames; i++) {
		const struct fr_parsed *q = &H.frames[i].p;

		if (H.frames[i].taken || !seg_pred(q, &data))
			continue;
		ck_assert_msg((int32_t)(q->seq + (uint32_t)q->plen - (c.irs + 1 + WIN0)) <= 0,
			      "segment %u+%zu beyond the guest's window (%u)",
			      q->seq - c.irs - 1, q->plen, WIN0);
	}

	/* phase 2: the guest takes what it got, ACKs and opens its window; the
	 * host writes BP_EXTRA more and closes */
	total = written + BP_EXTRA;
	c.win = 65535;
	t0 = mono_ms();
	while (!c.fin && mono_ms() - t0 < 8000) {
		int ack = first;

		first = 0;
		if (written < total) {
			size_t want = total - written < sizeof(chunk) ? total - written : sizeof(chunk);

			if (filled != written) {
				bp_fill(chunk, written, sizeof(chunk));
				filled = written;
			}
			n = send(c.host, chunk, want, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				written += (uint64_t)n;
			else
				ck_assert_msg(errno == EAGAIN, "host send: %s", strerror(errno));
		} else if (!shut) {
			ck_assert_int_eq(shutdown(c.host, SHUT_WR), 0);
			shut = 1;
		}
		h_step(1);
		while ((p = h_find(seg_pred, &any))) {
			uint32_t have = c.rcv_nxt - p->seq;	/* bytes of it already taken */

			ck_assert_msg(!(p->flags & (FR_RST | FR_SYN)), "flags %#x", p->flags);
			ack = 1;
			if ((int32_t)(p->seq - c.rcv_nxt) > 0)
				continue;	/* past a hole (cannot happen here): dup ACK */
			if (p->plen > have) {
				bad = bp_check(p->payload + have, got, p->plen - have);
				ck_assert_msg(bad == UINT64_MAX, "guest got a wrong byte at offset %llu",
					      (unsigned long long)bad);
				got += p->plen - have;
				c.rcv_nxt += (uint32_t)(p->plen - have);
				ck_assert_msg(got <= total, "guest got %llu bytes, %llu were written",
					      (unsigned long long)got, (unsigned long long)total);
			}
			if ((p->flags & FR_FIN) && p->seq + (uint32_t)p->plen == c.rcv_nxt && !c.fin) {
				c.rcv_nxt++;
				c.fin = 1;
			}
		}
		h_forget_taken();
		if (ack)
			gc_send(&c, FR_ACK, NULL, 0);
	}
	ck_assert_msg(c.fin, "guest got %llu of %llu bytes and no FIN",
		      (unsigned long long)got, (unsigned long long)total);
	ck_assert_uint_eq(got, total);
	ck_assert_uint_eq(h_stats().tcp_bytes_down, total);
	gc_send(&c, FR_ACK | FR_FIN, NULL, 0);
	ck_assert_ptr_nonnull(gc_wait_ack(&c, c.snd_nxt, H_WAIT_MS));
}
END_TEST

/**
 * struct bp_snd - the guest's view of the engine's receive window
 * @una:	highest ACK seen
 * @right:	right edge: that ACK plus its window, scaled
 * @win:	window field of that ACK (unscaled)
 * @acks:	ACKs seen
 */
struct bp_snd {
	uint32_t una, right;
	uint16_t win;
	uint64_t acks;
};

/**
 * bp_take_acks() - update @s from the engine's segments captured so far
 * @c:		connection
 * @s:		window state
 */
static void bp_take_acks(const struct gconn *c, struct bp_snd *s)
{
	struct seg_want w = { .c = c, .flags = FR_ACK };
	const struct fr_parsed *p;

	while ((p = h_find(seg_pred, &w))) {
		ck_assert_msg(!(p->flags & (FR_RST | FR_SYN | FR_FIN)) && !p->plen,
			      "unexpected segment from the engine (flags %#x, %zu bytes)",
			      p->flags, p->plen);
		ck_assert_msg((int32_t)(p->ack - c->snd_nxt) <= 0, "engine ACKs %u, beyond %u",
			      p->ack - c->iss, c->snd_nxt - c->iss);
		if ((int32_t)(p->ack - s->una) < 0)
			continue;	/* older than one already seen */
		s->una = p->ack;
		s->win = p->win;
		s->right = p->ack + ((uint32_t)p->win << c->snd_scale);
		s->acks++;
	}
	h_forget_taken();
}

/**
 * bp_send_window() - send stream bytes from @*sent on, in MSS-sized
 *		      segments, as far as the window allows and at most to @limit
 * @c:		connection
 * @s:		window state
 * @sent:	stream offset, advanced
 * @limit:	stream offset not to go past
 */
static void bp_send_window(struct gconn *c, const struct bp_snd *s, uint64_t *sent,
			   uint64_t limit)
{
	static uint8_t seg[BP_MSS];
	int32_t usable = (int32_t)(s->right - c->snd_nxt);

	ck_assert_uint_le(c->mss, BP_MSS);
	while (usable > 0 && *sent < limit) {
		size_t l = c->mss;

		if ((int32_t)l > usable)
			l = (size_t)usable;
		if (l > limit - *sent)
			l = (size_t)(limit - *sent);
		bp_fill(seg, *sent, l);
		gc_send(c, FR_ACK, seg, l);
		*sent += l;
		usable -= (int32_t)l;
	}
}

START_TEST(backpressure_guest_to_host)
{
	static uint8_t buf[256 * 1024];
	struct bp_snd s;
	struct gconn c;
	uint16_t port;
	int lfd, zero = 0, fin_sent = 0, eof = 0;
	uint64_t sent = 0, got = 0, total, t0, held, bad;
	ssize_t n;

	family(_i);
	port = 0;
	lfd = h_tcp_listen(family_af(), &port, 16, 64 * 1024);
	/* the guest offers window scaling, so the engine may announce its
	 * 1 MiB window; without it the window would stay <= 65535 */
	gc_init(&c, 40014, port, 0x80000000u);
	c.ws_on = 1;
	c.ws = 7;
	gc_connect(&c, lfd);
	s = (struct bp_snd){ .una = c.snd_nxt, .right = c.snd_nxt + c.syn_win,
			     .win = c.syn_win };

	/* phase 1: the host never reads; the guest fills the engine's window
	 * until the engine has ACKed everything with window 0 */
	t0 = mono_ms();
	while (sent < BP_CAP && mono_ms() - t0 < 5000) {
		bp_send_window(&c, &s, &sent, BP_CAP);
		h_step((int32_t)(s.right - c.snd_nxt) > 0 ? 0 : 5);
		bp_take_acks(&c, &s);
		if (s.win == 0 && s.una == c.snd_nxt) {
			zero = 1;
			break;
		}
	}
	held = sent - h_stats().tcp_bytes_up;
	fprintf(stderr, "backpressure guest->host: %s after %llu bytes "
		"(%llu held by the engine, window scale %u)\n",
		zero ? "zero window" : "still no zero window", (unsigned long long)sent,
		(unsigned long long)held, c.snd_scale);
	ck_assert_msg(zero, "the guest sent %llu bytes in %llu ms and the window never closed "
		      "(last ack +%u, window %u << %u): the engine buffers without bound",
		      (unsigned long long)sent, (unsigned long long)(mono_ms() - t0),
		      s.una - c.iss, s.win, c.snd_scale);
	ck_assert_msg(sent < BP_BOUND, "window closed only after %llu bytes",
		      (unsigned long long)sent);
	ck_assert_msg(held <= BP_HELD, "the engine holds %llu bytes the host has not taken",
		      (unsigned long long)held);

	/* phase 2: the host reads everything; the window must reopen for
	 * BP_EXTRA more bytes and the FIN */
	total = sent + BP_EXTRA;
	t0 = mono_ms();
	while (!eof && mono_ms() - t0 < 8000) {
		bp_send_window(&c, &s, &sent, total);
		if (sent == total && !fin_sent && (int32_t)(s.right - c.snd_nxt) > 0) {
			gc_send(&c, FR_ACK | FR_FIN, NULL, 0);
			fin_sent = 1;
		}
		h_step(1);
		bp_take_acks(&c, &s);
		while ((n = recv(c.host, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			bad = bp_check(buf, got, (size_t)n);
			ck_assert_msg(bad == UINT64_MAX, "host got a wrong byte at offset %llu",
				      (unsigned long long)bad);
			got += (uint64_t)n;
		}
		if (n == 0)
			eof = 1;
		else
			ck_assert_msg(errno == EAGAIN, "host recv: %s", strerror(errno));
	}
	ck_assert_msg(eof, "host got %llu of %llu bytes and no EOF (guest sent %llu, acked %u)",
		      (unsigned long long)got, (unsigned long long)total,
		      (unsigned long long)sent, s.una - c.iss - 1);
	ck_assert_uint_eq(got, total);
	ck_assert_uint_eq(h_stats().tcp_bytes_up, total);
}
END_TEST

/* ---- refusals ---- */

START_TEST(refused_rst)
{
	struct gconn c;
	uint16_t port;

	family(_i);
	port = h_free_tcp_port();
	gc_init(&c, 40008, port, 31337);
	gc_send(&c, FR_SYN, NULL, 0);
	gc_rst_refused(&c, H_WAIT_MS, "a refused port");
	ck_assert_uint_eq(h_stats().tcp_refused, 1);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);
	h_assert_fds(0);
	/* the flow is gone: the same SYN again is a new attempt, refused again */
	c.snd_nxt = c.iss;
	gc_send(&c, FR_SYN, NULL, 0);
	gc_rst_refused(&c, H_WAIT_MS, "a refused port, again");
	ck_assert_uint_eq(h_stats().tcp_refused, 2);
	h_assert_fds(0);
}
END_TEST

START_TEST(host_denied_rst)
{
	struct gconn c;
	int lfd;

	/* this tcase's engine runs without allow_host_loopback */
	lfd = gc_start(_i, &c, 40009, 555);
	gc_send(&c, FR_SYN, NULL, 0);
	gc_rst_refused(&c, H_WAIT_MS, "a SYN without host access");
	ck_assert_uint_eq(h_stats().host_denied, 1);
	h_run(100);
	ck_assert_msg(!readable(lfd, 0), "the host listener got a connection");
	h_assert_fds(0);
}
END_TEST

START_TEST(loopback_direct_denied)
{
	/* the loopback written by the guest (127.0.0.1, ::1) is not the host:
	 * only the gateway is */
	static const uint8_t lo6[16] = { [15] = 1 };
	struct gconn c;
	int lfd;

	lfd = gc_start(_i, &c, 40010, 77);
	c.dst4 = FR_IP(127, 0, 0, 1);
	memcpy(c.dst6, lo6, 16);
	gc_send(&c, FR_SYN, NULL, 0);
	gc_rst_refused(&c, H_WAIT_MS, "a denied destination");	/* from it */
	h_run(100);
	ck_assert_msg(!readable(lfd, 0), "guest reached the loopback directly");
	h_assert_fds(0);
}
END_TEST

START_TEST(flow_limit_rst)
{
	struct sn_config cfg;
	struct gconn c[4];
	uint16_t port;
	int lfd;

	h_stop();
	h_config(&cfg);
	cfg.allow_host_loopback = 1;
	cfg.max_tcp_flows = 2;
	h_start(&cfg);
	family(_i);
	lfd = listen_lo(&port, 16);

	gc_init(&c[0], 41000, port, 1000);
	gc_init(&c[1], 41001, port, 2000);
	gc_init(&c[2], 41002, port, 3000);
	gc_init(&c[3], 41003, port, 4000);
	gc_connect(&c[0], lfd);
	gc_connect(&c[1], lfd);
	gc_send(&c[2], FR_SYN, NULL, 0);
	gc_rst_refused(&c[2], H_WAIT_MS, "a SYN over the flow limit");
	ck_assert_uint_eq(h_stats().tcp_limit_rst, 1);
	h_run(100);
	ck_assert_msg(!readable(lfd, 0), "the host got a third connection");
	ck_assert_ptr_null(gc_wait(&c[2], FR_SYN | FR_ACK, 0, 0, 0));
	h_assert_fds(2);		/* the two flows', nothing of the third */

	/* one flow ends (guest RST): a new one fits again */
	gc_send(&c[0], FR_RST | FR_ACK, NULL, 0);
	h_run(50);
	h_assert_fds(1);
	gc_connect(&c[3], lfd);
	ck_assert_uint_eq(h_stats().tcp_limit_rst, 1);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 2);
	h_assert_fds(2);
}
END_TEST

/* ---- initial sequence numbers (RFC 6528) ---- */

/*
 * What a clock-driven ISN could have moved between two connections: at
 * most ISN_CLOCK_PER_MS per millisecond the engine's clock advanced
 * (RFC 793's 4 us clock is 250 per ms, a 1 us one 1000) plus some slack.
 * A difference of ISNs inside that window is one a clock alone explains.
 */
#define ISN_CLOCK_PER_MS	1000u
#define ISN_SLACK		4096u
#define ISN_CONNS		8

/**
 * struct isn_obs - one engine ISN and the clock window it was chosen in
 * @isn:	the ISN (from the SYN-ACK)
 * @lo:		the engine's clock before the guest's SYN
 * @hi:		and once the SYN-ACK was seen
 */
struct isn_obs {
	uint32_t isn, lo, hi;
};

/**
 * isn_observe() - connect @c and note its ISN with the clock around it
 * @c:		connection, gc_init()ed
 * @lfd:	listener
 *
 * Return: what was observed
 */
static struct isn_obs isn_observe(struct gconn *c, int lfd)
{
	struct isn_obs o = { .lo = h_now() };

	gc_connect(c, lfd);
	o.hi = h_now();
	o.isn = c->irs;
	return o;
}

/**
 * isn_clock_step() - is @b's ISN what a clock alone would make of @a's
 * @a:		earlier observation
 * @b:		later observation
 *
 * Return: 1 if b.isn - a.isn is within the clock window
 */
static int isn_clock_step(const struct isn_obs *a, const struct isn_obs *b)
{
	uint32_t d = b->isn - a->isn;

	return d <= (b->hi - a->lo) * ISN_CLOCK_PER_MS + ISN_SLACK ||
	       d >= 0u - ISN_SLACK;
}

/*
 * Consecutive connections (other guest ports, same engine): no ISN follows
 * from the one before. A clock-only ISN, a global counter or a fixed
 * increment per connection all make the differences of consecutive ISNs
 * small or all alike; keyed hashes of the 4-tuple make them scatter over
 * the whole sequence space.
 */
START_TEST(isn_unpredictable)
{
	struct isn_obs o[ISN_CONNS];
	struct gconn c;
	uint16_t port;
	int64_t lo = 0, hi = 0;
	int lfd, stepped = 0, k;

	family(_i);
	lfd = listen_lo(&port, ISN_CONNS);
	for (k = 0; k < ISN_CONNS; k++) {
		gc_init(&c, (uint16_t)(42000 + k), port, 1);
		o[k] = isn_observe(&c, lfd);
	}
	for (k = 1; k < ISN_CONNS; k++) {
		/* the spread of the differences, seen from the first one */
		int64_t e = (int32_t)((o[k].isn - o[k - 1].isn) - (o[1].isn - o[0].isn));

		stepped += isn_clock_step(&o[k - 1], &o[k]);
		lo = e < lo ? e : lo;
		hi = e > hi ? e : hi;
	}
	ck_assert_msg(stepped <= 1, "%d of %d consecutive ISNs differ by a clock step only "
		      "(first %#x, %#x)", stepped, ISN_CONNS - 1, o[0].isn, o[1].isn);
	ck_assert_msg(hi - lo > (1 << 24), "the differences of %d consecutive ISNs lie "
		      "within %lld of each other (first %#x, %#x, %#x)", ISN_CONNS,
		      (long long)(hi - lo), o[0].isn, o[1].isn, o[2].isn);
}
END_TEST

/*
 * Two engines, one after the other in this process, see the same 4-tuple:
 * each keys its ISNs anew, so the second ISN is not the first plus the
 * time between them.
 */
START_TEST(isn_differs_across_engines)
{
	struct sn_config cfg = H.cfg;
	struct isn_obs a, b;
	struct gconn c;
	uint16_t port;
	int lfd;

	lfd = gc_start(_i, &c, 42100, 1);
	port = c.dport;
	a = isn_observe(&c, lfd);

	h_stop();
	h_start(&cfg);
	family(_i);
	lfd = h_tcp_listen(family_af(), &port, 16, 0);	/* the same port again */
	gc_init(&c, 42100, port, 1);
	b = isn_observe(&c, lfd);
	ck_assert_msg(!isn_clock_step(&a, &b), "the same 4-tuple got ISN %#x from one engine "
		      "and %#x from the next, %u ms later", a.isn, b.isn, b.hi - a.lo);
}
END_TEST

START_TEST(syn_bad_checksum_no_connect)
{
	struct gconn c;
	int lfd;
	size_t n;

	lfd = gc_start(_i, &c, 40011, 9);
	n = gc_frame(&c, FR_SYN, NULL, 0);
	fb[l4_off() + 16] ^= 0x11;	/* TCP checksum */
	h_send(fb, n);
	h_run(200);
	/* a corrupt SYN must not make the host dial out */
	ck_assert_msg(!readable(lfd, 0), "a SYN with a bad checksum opened a host connection");
	ck_assert_uint_eq(h_stats().drop_malformed, 1);
	ck_assert_uint_eq(h_untaken(), 0);
	h_assert_fds(0);
}
END_TEST

START_TEST(data_bad_checksum_dropped)
{
	uint8_t buf[8];
	struct gconn c;
	int lfd;
	size_t n;

	lfd = gc_start(_i, &c, 40012, 10);
	gc_connect(&c, lfd);
	n = gc_frame(&c, FR_ACK | FR_PSH, "evil", 4);
	fb[l4_off() + 16] ^= 0x11;
	h_send(fb, n);
	h_run(100);
	ck_assert_msg(!readable(c.host, 0), "corrupt data reached the host");
	ck_assert_uint_eq(h_stats().drop_malformed, 1);
	gc_send(&c, FR_ACK | FR_PSH, "good", 4);
	ck_assert_uint_eq(h_recv_exact(c.host, buf, 4, H_WAIT_MS), 4);
	ck_assert_mem_eq(buf, "good", 4);
}
END_TEST

/* ---- cfg.offload: a link that segments and checksums TCP (a TAP with TSO) ---- */

/*
 * With offload the guest's MSS (its MTU's) is raised before lwIP sees it,
 * so the host's bytes reach the guest in segments larger than its MTU,
 * their checksum partial (the harness completes it as the link would, and
 * fr_parse() checks the result); the guest's own segment larger than the
 * MTU goes through, and a wrong checksum is not checked when the link
 * says so (SN_INPUT_CSUM_OK), and is dropped when it does not.
 */
START_TEST(offload_segments)
{
	enum { DOWN = 60000, UP = 20000 };
	static uint8_t out[DOWN], in[DOWN];
	const struct fr_parsed *p;
	struct gconn c;
	size_t n, i;
	int lfd;

	lfd = gc_start(_i, &c, 40020, 1000);
	gc_send(&c, FR_SYN, NULL, 0);
	p = gc_wait(&c, FR_SYN | FR_ACK, 0, 0, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no SYN-ACK");
	ck_assert_uint_gt(p->mss, c.mss);
	c.irs = p->seq;
	c.rcv_nxt = p->seq + 1;
	gc_send(&c, FR_ACK, NULL, 0);
	c.host = h_accept(lfd, H_WAIT_MS);
	ck_assert_int_ge(c.host, 0);

	for (i = 0; i < DOWN; i++)
		out[i] = (uint8_t)(i * 7 + (i >> 9));
	ck_assert_int_eq(send(c.host, out, DOWN, 0), DOWN);
	gc_recv(&c, in, DOWN);
	ck_assert_mem_eq(in, out, DOWN);
	ck_assert_uint_gt(h_stats().offload_out, 0);

	n = gc_frame(&c, FR_ACK | FR_PSH, out, UP);
	fb[l4_off() + 16] ^= 0x5a;	/* partial, as a guest with offload leaves it */
	ck_assert_int_eq(sn_engine_input(H.e, fb, n), 0);
	h_run(50);
	ck_assert_msg(!readable(c.host, 0), "a bad checksum was taken without SN_INPUT_CSUM_OK");
	ck_assert_uint_eq(h_stats().drop_malformed, 1);
	ck_assert_int_eq(sn_engine_input_flags(H.e, fb, n, SN_INPUT_CSUM_OK), 0);
	c.snd_nxt += UP;
	ck_assert_uint_eq(h_recv_exact(c.host, in, UP, H_WAIT_MS), UP);
	ck_assert_mem_eq(in, out, UP);
	ck_assert_uint_eq(h_stats().offload_in, 2);
	ck_assert_ptr_nonnull(gc_wait_ack(&c, c.snd_nxt, H_WAIT_MS));
}
END_TEST

/*
 * A guest whose SYN-ACK was lost sends its SYN again, and lwIP takes the
 * MSS of that one as it is (tcp_parseopt() on an existing pcb, bounded by
 * TCP_MSS only): a SYN announcing 65535, sent twice, must still leave every
 * segment to the guest within the MTU (with offload, the netif's 65520:
 * over IPv6 a segment of TCP_MSS would not fit an IPv6 packet and lwIP
 * could never send it, the connection stalled for good) and all the
 * host's bytes must arrive.
 */
START_TEST(syn_retransmit_mss_fits)
{
	enum { DOWN = 200000 };
	static uint8_t out[DOWN], in[DOWN];
	const struct fr_parsed *p;
	struct gconn c;
	size_t sent = 0, limit, i;
	int lfd;

	lfd = gc_start(_i, &c, 40030, 5000);
	c.mss = 65535;
	c.ws_on = 1;
	c.ws = 7;		/* the guest's windows of 65535 mean 8 MiB */
	gc_send(&c, FR_SYN, NULL, 0);
	p = gc_wait(&c, FR_SYN | FR_ACK, 0, 0, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no SYN-ACK");
	c.irs = p->seq;
	c.rcv_nxt = p->seq + 1;
	c.snd_nxt = c.iss;	/* the same SYN again */
	gc_send(&c, FR_SYN, NULL, 0);
	ck_assert_msg(gc_wait(&c, FR_SYN | FR_ACK, 0, 0, H_WAIT_MS) != NULL,
		      "no SYN-ACK for the retransmitted SYN");
	gc_send(&c, FR_ACK, NULL, 0);
	c.host = h_accept(lfd, H_WAIT_MS);
	ck_assert_int_ge(c.host, 0);

	for (i = 0; i < DOWN; i++)
		out[i] = (uint8_t)(i * 13 + (i >> 11));
	while (sent < DOWN) {
		ssize_t n = send(c.host, out + sent, DOWN - sent, MSG_DONTWAIT);

		ck_assert_msg(n > 0, "host send: %s", n < 0 ? strerror(errno) : "0");
		gc_recv(&c, in + sent, (size_t)n);
		sent += (size_t)n;
	}
	ck_assert_mem_eq(in, out, DOWN);
	limit = (H.cfg.offload ? 65520 : H.cfg.mtu) - (c.v6 ? 40 : 20) - 20;
	ck_assert_msg(c.max_plen > 0 && c.max_plen <= limit, "largest segment %zu, limit %zu",
		      c.max_plen, limit);
}
END_TEST

/* ---- sn_engine_tcp_pending(): what a drain before exit waits for ---- */

static unsigned pending(uint64_t *progress)
{
	return sn_engine_tcp_pending(H.e, progress);
}

/*
 * A connection is pending from the guest's SYN until the guest has
 * acknowledged the engine's FIN, the data queued before it included; the
 * progress counter moves with guest segments and relayed bytes, and with
 * nothing else (idle time, timers).
 */
START_TEST(tcp_pending_until_closed)
{
	const struct fr_parsed *p;
	uint64_t p0, p1, p2;
	uint8_t buf[16];
	struct gconn c;
	int lfd = gc_start(_i, &c, 43000, 777);

	ck_assert_uint_eq(pending(&p0), 0);
	ck_assert_uint_eq(pending(NULL), 0);
	gc_send(&c, FR_SYN, NULL, 0);
	ck_assert_uint_eq(pending(&p1), 1);	/* connecting: no SYN-ACK yet */
	ck_assert_uint_gt(p1, p0);
	gc_synack(&c, H_WAIT_MS);
	gc_send(&c, FR_ACK, NULL, 0);
	c.host = h_accept(lfd, H_WAIT_MS);
	ck_assert_int_ge(c.host, 0);

	/* idle: the counter stands still, however much time passes */
	h_run(50);
	pending(&p1);
	h_clock_advance(60000);
	h_run(50);
	ck_assert_uint_eq(pending(&p2), 1);
	ck_assert_uint_eq(p2, p1);

	/* guest data and FIN: counted; the host has it all, but its side is open */
	gc_send(&c, FR_ACK | FR_PSH, "last words", 10);
	gc_send(&c, FR_ACK | FR_FIN, NULL, 0);
	ck_assert_uint_eq(h_recv_exact(c.host, buf, 10, H_WAIT_MS), 10);
	ck_assert(h_run_until_ready(c.host, H_WAIT_MS));
	ck_assert_int_eq(recv(c.host, buf, sizeof(buf), MSG_DONTWAIT), 0);
	ck_assert_uint_eq(pending(&p2), 1);
	ck_assert_uint_ge(p2, p1 + 2 + 10);

	/* the host answers and closes: the flow is gone from the table, but
	 * until the guest acknowledges the reply and the FIN it is pending */
	ck_assert_int_eq(send(c.host, "bye", 3, 0), 3);
	h_close_fd(c.host);
	p = gc_wait(&c, FR_FIN, FR_RST, 0, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no FIN after the host closed");
	ck_assert_uint_eq(p->seq + p->plen, c.rcv_nxt + 3);	/* after the data */
	h_run(50);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);
	ck_assert_uint_eq(pending(NULL), 1);
	c.rcv_nxt += 3 + 1;
	gc_send(&c, FR_ACK, NULL, 0);
	h_run(50);
	ck_assert_uint_eq(pending(NULL), 0);
}
END_TEST

/*
 * Connections the guest leaves open stay pending; a guest RST ends one at
 * once, and a refused connect ends its flow too.
 */
START_TEST(tcp_pending_rst_and_refused)
{
	struct gconn a, b;
	int lfd = gc_start(_i, &a, 43001, 1000);

	gc_connect(&a, lfd);
	gc_init(&b, 43002, h_free_tcp_port(), 2000);
	gc_send(&b, FR_SYN, NULL, 0);
	ck_assert_uint_eq(pending(NULL), 2);
	ck_assert_ptr_nonnull(gc_wait(&b, FR_RST, 0, 0, H_WAIT_MS));
	ck_assert_uint_eq(pending(NULL), 1);
	gc_send(&a, FR_RST | FR_ACK, NULL, 0);
	h_run(50);
	ck_assert_uint_eq(pending(NULL), 0);
}
END_TEST

/*
 * An engine freed while a flow is open (a drain before exit gave up) must
 * not pass what the host peer got so far off as the whole stream: the
 * peer sees a reset, not an end of file.
 */
START_TEST(tcp_free_resets_host)
{
	uint8_t buf[16];
	struct gconn c;
	int lfd = gc_start(_i, &c, 43003, 3000);
	ssize_t n;

	gc_connect(&c, lfd);
	gc_send(&c, FR_ACK | FR_PSH, "partial", 7);
	ck_assert_uint_eq(h_recv_exact(c.host, buf, 7, H_WAIT_MS), 7);
	sn_engine_free(H.e);
	H.e = NULL;
	ck_assert(readable(c.host, H_WAIT_MS));
	n = recv(c.host, buf, sizeof(buf), MSG_DONTWAIT);
	ck_assert_msg(n < 0 && errno == ECONNRESET, "host peer read %zd (%s), want ECONNRESET",
		      n, n < 0 ? strerror(errno) : "end of file");
}
END_TEST

static void setup_tcp(void)
{
	h_setup_host();
}

/**
 * add_both() - add a test to run once per family
 * @tc:		test case
 * @tf:		the test
 */
static void add_both(TCase *tc, const TTest *tf)
{
	tcase_add_loop_test(tc, tf, 0, FAMILIES);
}

static Suite *tcp_suite(void)
{
	Suite *s = suite_create("tcp");
	TCase *tc;

	tc = tcase_create("connect");
	tcase_add_checked_fixture(tc, setup_tcp, h_teardown);
	tcase_set_timeout(tc, 20);
	add_both(tc, synack_not_from_input);
	add_both(tc, synack_waits_for_host_connect);
	add_both(tc, connect_timeout_rst);
	add_both(tc, refused_rst);
	add_both(tc, flow_limit_rst);
	add_both(tc, pending_limits);
	add_both(tc, isn_unpredictable);
	add_both(tc, isn_differs_across_engines);
	add_both(tc, loopback_direct_denied);
	suite_add_tcase(s, tc);

	tc = tcase_create("session");
	tcase_add_checked_fixture(tc, setup_tcp, h_teardown);
	tcase_set_timeout(tc, 20);
	add_both(tc, session_data_and_half_close);
	add_both(tc, host_close_first);
	add_both(tc, port_reuse_after_close);
	add_both(tc, guest_rst_closes_host);
	add_both(tc, host_rst_resets_guest);
	add_both(tc, bulk_both_ways);
	add_both(tc, keepalive_ends_silent_flow);
	suite_add_tcase(s, tc);

	tc = tcase_create("pending");
	tcase_add_checked_fixture(tc, setup_tcp, h_teardown);
	tcase_set_timeout(tc, 20);
	add_both(tc, tcp_pending_until_closed);
	add_both(tc, tcp_pending_rst_and_refused);
	add_both(tc, tcp_free_resets_host);
	suite_add_tcase(s, tc);

	tc = tcase_create("backpressure");
	tcase_add_checked_fixture(tc, setup_tcp, h_teardown);
	tcase_set_timeout(tc, 30);
	add_both(tc, backpressure_host_to_guest);
	add_both(tc, backpressure_guest_to_host);
	suite_add_tcase(s, tc);

	tc = tcase_create("denied");
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	add_both(tc, host_denied_rst);
	suite_add_tcase(s, tc);

	tc = tcase_create("checksum");
	tcase_add_checked_fixture(tc, setup_tcp, h_teardown);
	add_both(tc, syn_bad_checksum_no_connect);
	add_both(tc, data_bad_checksum_dropped);
	add_both(tc, syn_retransmit_mss_fits);
	suite_add_tcase(s, tc);

	tc = tcase_create("offload");
	tcase_add_checked_fixture(tc, h_setup_offload, h_teardown);
	add_both(tc, offload_segments);
	add_both(tc, syn_retransmit_mss_fits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tcp_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
