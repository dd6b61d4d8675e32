// SPDX-License-Identifier: MIT
/**
 * DOC: test_publish - published ports, the host's clients into the guest
 *
 * The engine publishes ports on the host's 127.0.0.1 (and ::1,
 * ::ffff:127.0.0.1); the test connects real host sockets to them and plays
 * the guest by hand: it answers the SYN the engine sends on the client's
 * behalf, and exchanges data, FINs and RSTs with its own segments. Covers:
 * the address and port the guest sees (the gateway for loopback clients,
 * the IPv4 side for an IPv4-mapped client, IPv6 for an IPv6 one), data
 * and half-close both ways, a closed or silent guest port resetting the
 * client, ingress policy, a 4-tuple that two clients would share,
 * unpublishing with a connection open, the engine's end (an open
 * connection is reset), API errors and bounds, and UDP:
 * echo through the published socket, fragmentation of big datagrams,
 * denial decided once per client, idle expiry.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "harness.h"

#define GPORT		8080
#define GPORT_UDP	7
#define T_NS		135
#define T_NA		136

static uint8_t fb[FR_MAX];

static void setup_pub(void)
{
	struct sn_config cfg;

	h_config(&cfg);
	memcpy(cfg.guest_mac, fr_guest_mac, 6);	/* no ARP before the first SYN */
	h_start(&cfg);
}

/**
 * lo_addr() - a loopback socket address
 * @fam:	AF_INET (127.0.0.1), AF_INET6 (::1), or 0 (::ffff:127.0.0.1)
 * @port:	port
 * @len:	filled with the address length
 *
 * Return: the address
 */
static struct sockaddr_storage lo_addr(int fam, uint16_t port, socklen_t *len)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	if (fam == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*sin);
		return ss;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	if (fam == AF_INET6)
		sin6->sin6_addr = in6addr_loopback;
	else
		inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6->sin6_addr);
	*len = sizeof(*sin6);
	return ss;
}

/**
 * free_udp_port() - a 127.0.0.1 UDP port nobody has (a free TCP port may be
 *		     one of the test's UDP ones)
 *
 * Return: the port
 */
static uint16_t free_udp_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/**
 * publish() - publish a loopback port, asserting success
 * @fam:	as lo_addr()
 * @proto:	IPPROTO_TCP or IPPROTO_UDP
 * @gport:	guest port
 * @port:	filled with the host port
 *
 * Return: the id
 */
static int publish(int fam, int proto, uint16_t gport, uint16_t *port)
{
	struct sockaddr_storage ss;
	char err[160] = "";
	socklen_t len;
	int id;

	*port = proto == IPPROTO_UDP ? free_udp_port() : h_free_tcp_port();
	ss = lo_addr(fam, *port, &len);
	id = sn_engine_publish(H.e, proto, (struct sockaddr *)&ss, len, gport, err, sizeof(err));
	ck_assert_msg(id >= 0, "sn_engine_publish: %s", err);
	return id;
}

/**
 * client() - a non-blocking host socket connecting to a published port
 * @fam:	AF_INET or AF_INET6 (to ::1)
 * @type:	SOCK_STREAM or SOCK_DGRAM
 * @port:	published port
 * @bind_to:	local IPv4 address to bind first (host order), 0: none
 * @bind_port:	with @bind_to, the local port
 * @cport:	filled with the client's local port
 *
 * Return: the socket (tracked)
 */
static int client(int fam, int type, uint16_t port, uint32_t bind_to, uint16_t bind_port,
		  uint16_t *cport)
{
	struct sockaddr_storage ss = lo_addr(fam, port, &(socklen_t){ 0 }), me;
	socklen_t len = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	socklen_t ml = sizeof(me);
	int fd = h_track_fd(socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));

	if (bind_to) {
		struct sockaddr_in b = { .sin_family = AF_INET, .sin_port = htons(bind_port),
					 .sin_addr.s_addr = htonl(bind_to) };

		ck_assert_int_eq(bind(fd, (struct sockaddr *)&b, sizeof(b)), 0);
	}
	ck_assert(connect(fd, (struct sockaddr *)&ss, len) == 0 || errno == EINPROGRESS);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&me, &ml), 0);
	*cport = ntohs(((struct sockaddr_in *)&me)->sin_port);
	return fd;
}

/**
 * struct gside - the guest's side of a published connection
 * @cport:	the client's port (the engine's side of the 4-tuple)
 * @gport:	the guest's port
 * @from:	the address the engine's segments come from (host order)
 * @iss:	the guest's initial sequence number
 * @snd_nxt:	the guest's next sequence number
 * @rcv_nxt:	next sequence number expected from the engine
 * @fin:	the engine's FIN was received
 */
struct gside {
	uint16_t cport, gport;
	uint32_t from;
	uint32_t iss, snd_nxt, rcv_nxt;
	int fin;
};

/**
 * gs_send() - a segment from the guest to the client as it sees it
 * @g:		connection
 * @flags:	FR_* flags (FR_ACK adds rcv_nxt)
 * @data:	payload
 * @len:	its length
 */
static void gs_send(struct gside *g, uint8_t flags, const void *data, size_t len)
{
	size_t n = fr_tcp_frame(fb, &(struct fr_tcp){
		.src = FR_GUEST_IP, .dst = g->from, .sport = g->gport, .dport = g->cport,
		.seq = g->snd_nxt, .ack = (flags & FR_ACK) ? g->rcv_nxt : 0, .flags = flags,
		.mss = (flags & FR_SYN) ? 1460 : 0, .data = data, .len = len });

	g->snd_nxt += (uint32_t)len + !!(flags & FR_SYN) + !!(flags & FR_FIN);
	ck_assert_int_eq(h_send(fb, n), 0);
}

struct seg_want {
	const struct gside *g;
	uint8_t flags, noflags;
	size_t min_plen;
};

static int seg_pred(const struct fr_parsed *p, const void *arg)
{
	const struct seg_want *w = arg;

	return p->type == FR_ETH_IP4 && p->ip_proto == FR_PROTO_TCP &&
	       p->ip_src == w->g->from && p->sport == w->g->cport && p->dport == w->g->gport &&
	       (p->flags & w->flags) == w->flags && !(p->flags & w->noflags) &&
	       p->plen >= w->min_plen;
}

static const struct fr_parsed *gs_wait(const struct gside *g, uint8_t flags, uint8_t noflags,
				       size_t min_plen)
{
	struct seg_want w = { .g = g, .flags = flags, .noflags = noflags, .min_plen = min_plen };

	return h_wait(seg_pred, &w, H_WAIT_MS);
}

/**
 * gs_syn() - wait for the engine's SYN to the guest port and check it
 * @g:		connection: @cport, @gport and @from set
 *
 * Return: the SYN's sequence number
 */
static uint32_t gs_syn(struct gside *g)
{
	const struct fr_parsed *p = gs_wait(g, FR_SYN, 0, 0);

	ck_assert_msg(p != NULL, "no SYN to guest port %u from client port %u", g->gport,
		      g->cport);
	ck_assert_uint_eq(p->flags & (FR_SYN | FR_ACK | FR_RST | FR_FIN), FR_SYN);
	ck_assert_uint_eq(p->ip_dst, FR_GUEST_IP);
	ck_assert_msg(p->mss > 0 && p->mss <= 1460, "SYN MSS %u", p->mss);
	return p->seq;
}

/**
 * gs_accept() - the guest accepts: SYN-ACK, then the engine's ACK
 * @g:		connection whose SYN arrived
 * @syn_seq:	its sequence number
 */
static void gs_accept(struct gside *g, uint32_t syn_seq)
{
	g->iss = g->snd_nxt = 7000;
	g->rcv_nxt = syn_seq + 1;
	gs_send(g, FR_SYN | FR_ACK, NULL, 0);
	ck_assert_msg(gs_wait(g, FR_ACK, FR_SYN | FR_RST, 0) != NULL, "no ACK of the SYN-ACK");
}

/**
 * gs_recv() - take @len bytes from the engine in order, ACKing each segment
 * @g:		connection
 * @buf:	output
 * @len:	bytes wanted
 */
static void gs_recv(struct gside *g, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		const struct fr_parsed *p = gs_wait(g, 0, FR_SYN | FR_RST, 1);

		ck_assert_msg(p != NULL, "guest got %zu of %zu bytes", got, len);
		if (p->seq != g->rcv_nxt)
			continue;
		ck_assert_uint_le(got + p->plen, len);
		memcpy(buf + got, p->payload, p->plen);
		got += p->plen;
		g->rcv_nxt += (uint32_t)p->plen;
		if (p->flags & FR_FIN) {
			g->rcv_nxt++;
			g->fin = 1;
		}
		gs_send(g, FR_ACK, NULL, 0);
	}
}

/**
 * wait_reset() - the client's next read fails with ECONNRESET
 * @fd:		client socket
 */
static void wait_reset(int fd)
{
	char c;
	ssize_t n;

	ck_assert_msg(h_run_until_ready(fd, H_WAIT_MS), "client never woke up");
	n = recv(fd, &c, 1, MSG_DONTWAIT);
	ck_assert_msg(n < 0 && errno == ECONNRESET, "client read %zd (%s), want ECONNRESET", n,
		      n < 0 ? strerror(errno) : "no error");
}

/**
 * connect_open() - publish, connect and let the guest accept
 * @g:		filled
 * @port:	filled with the published port
 *
 * Return: the client socket
 */
static int connect_open(struct gside *g, uint16_t *port)
{
	int fd;

	publish(AF_INET, IPPROTO_TCP, GPORT, port);
	memset(g, 0, sizeof(*g));
	fd = client(AF_INET, SOCK_STREAM, *port, 0, 0, &g->cport);
	g->gport = GPORT;
	g->from = FR_GW_IP;
	gs_accept(g, gs_syn(g));
	return fd;
}

/* ---- TCP ---- */

START_TEST(tcp_data_and_half_close)
{
	uint8_t buf[16];
	struct gside g;
	uint16_t port;
	int fd = connect_open(&g, &port);
	struct sn_stats st;

	/* host -> guest, then the client half-closes: FIN after the data */
	ck_assert_int_eq(send(fd, "hello", 5, 0), 5);
	gs_recv(&g, buf, 5);
	ck_assert_mem_eq(buf, "hello", 5);

	/* the port and the connection as the engine describes them */
	{
		struct sockaddr_storage host;
		struct sn_flow_info f;
		uint16_t gport;
		int proto;

		ck_assert_int_eq(sn_engine_published(H.e, 0, &proto, &host, &gport), 0);
		ck_assert_int_eq(proto, IPPROTO_TCP);
		ck_assert_uint_eq(gport, GPORT);
		ck_assert_int_eq(host.ss_family, AF_INET);
		ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&host)->sin_port), port);
		ck_assert_int_eq(sn_engine_published(H.e, 1, &proto, &host, &gport), -1);
		ck_assert_int_eq(errno, ENOENT);
		ck_assert_uint_eq(h_flows(&f, 1), 1);
		ck_assert_int_eq(f.proto, IPPROTO_TCP);
		ck_assert_int_eq(f.inbound, 1);
		ck_assert_str_eq(f.state, "open");
		ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&f.guest)->sin_port), GPORT);
		ck_assert_uint_eq(ntohl(((struct sockaddr_in *)&f.remote)->sin_addr.s_addr),
				  FR_GW_IP);
		ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&f.remote)->sin_port), g.cport);
		ck_assert_uint_eq(f.bytes_down, 5);
		ck_assert_uint_eq(f.bytes_up, 0);
	}
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_msg(gs_wait(&g, FR_FIN, FR_RST, 0) != NULL, "no FIN after the client's SHUT_WR");
	g.rcv_nxt++;
	gs_send(&g, FR_ACK, NULL, 0);

	/* the guest still sends on the half-closed connection, then closes */
	gs_send(&g, FR_ACK | FR_PSH, "world", 5);
	ck_assert_uint_eq(h_recv_exact(fd, buf, 5, H_WAIT_MS), 5);
	ck_assert_mem_eq(buf, "world", 5);
	gs_send(&g, FR_ACK | FR_FIN, NULL, 0);
	ck_assert(h_run_until_ready(fd, H_WAIT_MS));
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), 0);	/* EOF, not a reset */

	st = h_stats();
	ck_assert_uint_eq(st.publish_accepted, 1);
	ck_assert_uint_eq(st.publish_reset, 0);
	ck_assert_uint_eq(st.tcp_bytes_up, 5);
	ck_assert_uint_eq(st.tcp_bytes_down, 5);
	h_run(50);
	ck_assert_uint_eq(h_stats().tcp_flows_active, 0);
}
END_TEST

START_TEST(tcp_guest_closes_first)
{
	uint8_t buf[16];
	struct gside g;
	uint16_t port;
	int fd = connect_open(&g, &port);

	/* guest FIN first: the client reads EOF and can still send */
	gs_send(&g, FR_ACK | FR_PSH | FR_FIN, "bye", 3);
	ck_assert_uint_eq(h_recv_exact(fd, buf, 3, H_WAIT_MS), 3);
	ck_assert(h_run_until_ready(fd, H_WAIT_MS));
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), 0);
	ck_assert_int_eq(send(fd, "late", 4, 0), 4);
	gs_recv(&g, buf, 4);
	ck_assert_mem_eq(buf, "late", 4);
}
END_TEST

START_TEST(tcp_guest_port_closed)
{
	struct gside g = { .gport = GPORT, .from = FR_GW_IP };
	uint16_t port;
	uint32_t seq;
	int fd;

	publish(AF_INET, IPPROTO_TCP, GPORT, &port);
	fd = client(AF_INET, SOCK_STREAM, port, 0, 0, &g.cport);
	seq = gs_syn(&g);
	g.rcv_nxt = seq + 1;
	gs_send(&g, FR_RST | FR_ACK, NULL, 0);
	wait_reset(fd);
	ck_assert_uint_eq(h_stats().publish_reset, 1);
	ck_assert_uint_eq(h_stats().publish_accepted, 1);
}
END_TEST

START_TEST(tcp_guest_silent)
{
	struct gside g = { .gport = GPORT, .from = FR_GW_IP };
	uint16_t port;
	int fd;

	publish(AF_INET, IPPROTO_TCP, GPORT, &port);
	fd = client(AF_INET, SOCK_STREAM, port, 0, 0, &g.cport);
	gs_syn(&g);
	h_run(20);
	h_clock_advance(H.cfg.tcp_connect_ms + 1000);
	wait_reset(fd);
	ck_assert_uint_eq(h_stats().publish_reset, 1);
}
END_TEST

START_TEST(tcp_ingress_denied)
{
	static const struct h_match tcp = { .proto = FR_PROTO_TCP };
	struct sn_policy *pol = sn_policy_new();
	char err[128];
	uint16_t port, cport;
	int fd;

	ck_assert_ptr_nonnull(pol);
	ck_assert_int_eq(sn_policy_add(pol, SN_POLICY_INGRESS, SN_POLICY_DENY, "tcp:127.0.0.0/8:8080",
				       NULL, err, sizeof(err)), 0);
	sn_engine_set_policy(H.e, pol);
	publish(AF_INET, IPPROTO_TCP, GPORT, &port);
	fd = client(AF_INET, SOCK_STREAM, port, 0, 0, &cport);
	wait_reset(fd);
	h_run(20);
	ck_assert_ptr_null(h_find(h_match, &tcp));
	ck_assert_uint_eq(h_stats().policy_denied, 1);
	ck_assert_uint_eq(h_stats().publish_accepted, 0);
}
END_TEST

START_TEST(tcp_same_tuple_reset)
{
	struct gside g = { .gport = GPORT, .from = FR_GW_IP };
	struct sockaddr_in b = { .sin_family = AF_INET };
	socklen_t bl = sizeof(b);
	uint16_t port, cport2;
	int fd, fd2, probe;

	/* 127.0.0.1:X and 127.0.0.2:X both look like 10.0.2.2:X to the guest */
	publish(AF_INET, IPPROTO_TCP, GPORT, &port);
	probe = h_track_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	b.sin_addr.s_addr = htonl(FR_IP(127, 0, 0, 2));
	ck_assert_int_eq(bind(probe, (struct sockaddr *)&b, sizeof(b)), 0);
	ck_assert_int_eq(getsockname(probe, (struct sockaddr *)&b, &bl), 0);
	h_close_fd(probe);
	fd = client(AF_INET, SOCK_STREAM, port, FR_IP(127, 0, 0, 1), ntohs(b.sin_port), &g.cport);
	gs_accept(&g, gs_syn(&g));
	fd2 = client(AF_INET, SOCK_STREAM, port, FR_IP(127, 0, 0, 2), ntohs(b.sin_port), &cport2);
	ck_assert_uint_eq(cport2, g.cport);
	wait_reset(fd2);
	ck_assert_uint_eq(h_stats().publish_reset, 1);
	/* the first one is untouched */
	ck_assert_int_eq(send(fd, "ok", 2, 0), 2);
	{
		uint8_t buf[2];

		gs_recv(&g, buf, 2);
		ck_assert_mem_eq(buf, "ok", 2);
	}
}
END_TEST

START_TEST(tcp_mapped_client_is_ipv4)
{
	struct gside g = { .gport = GPORT, .from = FR_GW_IP };
	uint16_t port;
	int fd;

	publish(0, IPPROTO_TCP, GPORT, &port);		/* [::ffff:127.0.0.1] */
	fd = client(AF_INET, SOCK_STREAM, port, 0, 0, &g.cport);
	gs_accept(&g, gs_syn(&g));
	ck_assert_int_eq(send(fd, "v4", 2, 0), 2);
	{
		uint8_t buf[2];

		gs_recv(&g, buf, 2);
		ck_assert_mem_eq(buf, "v4", 2);
	}
}
END_TEST

static int syn6_pred(const struct fr_parsed *p, const void *arg)
{
	const uint16_t *cport = arg;

	return p->type == FR_ETH_IP6 && p->l4 && p->ip6_nexth == FR_PROTO_TCP &&
	       (p->flags & FR_SYN) && p->sport == *cport && p->dport == GPORT;
}

START_TEST(tcp_ipv6_client)
{
	const struct fr_parsed *p = NULL;
	uint8_t l4[20];
	uint16_t port, cport;
	uint32_t seq;
	int fd, i;

	publish(AF_INET6, IPPROTO_TCP, GPORT, &port);	/* [::1] */
	fd = client(AF_INET6, SOCK_STREAM, port, 0, 0, &cport);
	for (i = 0; i < H_WAIT_MS / 5 && !p; i++) {
		h_answer_ns();
		h_step(5);
		p = h_find(syn6_pred, &cport);
	}
	ck_assert_msg(p != NULL, "no IPv6 SYN to the guest");
	ck_assert_mem_eq(p->ip6_src, fr_gw_ip6, 16);	/* ::1 is the gateway */
	ck_assert_mem_eq(p->ip6_dst, fr_guest_ip6, 16);
	seq = p->seq;

	/* the guest port is closed: an RST over IPv6 resets the client */
	fr_tcp_frame(fb, &(struct fr_tcp){ .sport = GPORT, .dport = cport, .ack = seq + 1,
					  .flags = FR_RST | FR_ACK });
	memcpy(l4, fb + FR_L4_OFF, sizeof(l4));
	l4[16] = l4[17] = 0;
	{
		uint16_t sum = fr_l4_cksum6(fr_guest_ip6, fr_gw_ip6, FR_PROTO_TCP, l4, sizeof(l4));

		l4[16] = (uint8_t)(sum >> 8);
		l4[17] = (uint8_t)sum;
	}
	ck_assert_int_eq(h_send(fb, fr_ip6_frame(fb, NULL, fr_guest_ip6, fr_gw_ip6, FR_PROTO_TCP,
						 0, l4, sizeof(l4))), 0);
	wait_reset(fd);
}
END_TEST

START_TEST(tcp_unpublish_keeps_established)
{
	uint8_t buf[8];
	struct gside g;
	uint16_t port, cport;
	int fd = connect_open(&g, &port), fd2;

	ck_assert_int_eq(sn_engine_unpublish(H.e, 0), 0);
	ck_assert_int_eq(sn_engine_unpublish(H.e, 0), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* nobody listens any more */
	fd2 = client(AF_INET, SOCK_STREAM, port, 0, 0, &cport);
	ck_assert(h_run_until_ready(fd2, H_WAIT_MS));
	ck_assert_int_eq(recv(fd2, buf, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	/* the connection goes on, both ways */
	ck_assert_int_eq(send(fd, "still", 5, 0), 5);
	gs_recv(&g, buf, 5);
	ck_assert_mem_eq(buf, "still", 5);
	gs_send(&g, FR_ACK | FR_PSH, "here", 4);
	ck_assert_uint_eq(h_recv_exact(fd, buf, 4, H_WAIT_MS), 4);
	ck_assert_mem_eq(buf, "here", 4);
}
END_TEST

START_TEST(tcp_engine_end)
{
	uint8_t buf[16];
	struct gside g;
	uint16_t port;
	int fd = connect_open(&g, &port);
	ssize_t n;

	/* the engine goes with the connection open: the client is reset, it
	 * does not take a FIN for the end of the data */
	gs_send(&g, FR_ACK | FR_PSH, "half", 4);
	ck_assert_msg(gs_wait(&g, FR_ACK, FR_SYN | FR_RST, 0) != NULL, "no ACK of the data");
	sn_engine_free(H.e);
	H.e = NULL;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n == 4)
		n = recv(fd, buf, sizeof(buf), 0);
	ck_assert_msg(n < 0 && errno == ECONNRESET, "after sn_engine_free: read %zd (%s)", n,
		      n < 0 ? strerror(errno) : "no error");
}
END_TEST

START_TEST(publish_errors)
{
	struct sockaddr_storage ss;
	struct sockaddr_in bad = { .sin_family = AF_UNIX };
	char err[160];
	uint16_t port = 0, p2;
	socklen_t len;
	int i, lfd = h_tcp_listen(AF_INET, &port, 1, 0);

	ss = lo_addr(AF_INET, port, &len);
	err[0] = 0;
	ck_assert_int_eq(sn_engine_publish(H.e, IPPROTO_TCP, (struct sockaddr *)&ss, len, 80, err,
					   sizeof(err)), -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert_msg(strstr(err, "127.0.0.1:") && strstr(err, "/tcp"), "message '%s'", err);
	(void)lfd;
	ck_assert_int_eq(sn_engine_publish(H.e, IPPROTO_SCTP, (struct sockaddr *)&ss, len, 80, NULL,
					   0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sn_engine_publish(H.e, IPPROTO_UDP, (struct sockaddr *)&bad,
					   sizeof(bad), 80, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sn_engine_publish(H.e, IPPROTO_UDP, (struct sockaddr *)&ss, len, 0, err,
					   sizeof(err)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ss = lo_addr(AF_INET, 0, &len);
	ck_assert_int_eq(sn_engine_publish(H.e, IPPROTO_UDP, (struct sockaddr *)&ss, len, 7, err,
					   sizeof(err)), -1);
	ck_assert_int_eq(errno, EINVAL);

	/* bounded: SN_PUBLISH_MAX ports, then ENOSPC; a freed id is reused */
	for (i = 0; i < SN_PUBLISH_MAX; i++)
		ck_assert_int_eq(publish(AF_INET, IPPROTO_UDP, 7, &p2), i);
	ss = lo_addr(AF_INET, free_udp_port(), &len);
	ck_assert_int_eq(sn_engine_publish(H.e, IPPROTO_UDP, (struct sockaddr *)&ss, len, 7, err,
					   sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(sn_engine_unpublish(H.e, 5), 0);
	ck_assert_int_eq(publish(AF_INET, IPPROTO_TCP, 7, &p2), 5);
	ck_assert_int_eq(sn_engine_unpublish(H.e, -1), -1);
	ck_assert_int_eq(sn_engine_unpublish(H.e, SN_PUBLISH_MAX), -1);
}
END_TEST

/* ---- UDP ---- */

struct udp_want {
	uint16_t cport;
	size_t len;
};

static int udp_pred(const struct fr_parsed *p, const void *arg)
{
	const struct udp_want *w = arg;

	return p->type == FR_ETH_IP4 && p->ip_proto == FR_PROTO_UDP && p->l4 &&
	       p->ip_src == FR_GW_IP && p->sport == w->cport && p->dport == GPORT_UDP &&
	       p->plen == w->len;
}

/**
 * udp_recv() - the client's next datagram, from the published port
 * @fd:		client socket
 * @port:	the published port it must come from
 * @buf:	output
 * @size:	its size
 *
 * Return: its length, -1 if none came
 */
static ssize_t udp_recv(int fd, uint16_t port, void *buf, size_t size)
{
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	if (!h_run_until_ready(fd, H_WAIT_MS))
		return -1;
	n = recvfrom(fd, buf, size, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	ck_assert_int_eq(ntohs(from.sin_port), port);
	ck_assert_uint_eq(ntohl(from.sin_addr.s_addr), FR_IP(127, 0, 0, 1));
	return n;
}

START_TEST(udp_echo)
{
	static uint8_t big[3000], got[3000];
	struct udp_want w = { .len = 4 };
	const struct fr_parsed *p;
	struct fr_reass *r = calloc(1, sizeof(*r));
	uint16_t port;
	int fd, i, done = 0;

	ck_assert_ptr_nonnull(r);
	publish(AF_INET, IPPROTO_UDP, GPORT_UDP, &port);
	fd = client(AF_INET, SOCK_DGRAM, port, 0, 0, &w.cport);
	ck_assert_int_eq(send(fd, "ping", 4, 0), 4);
	p = h_wait(udp_pred, &w, H_WAIT_MS);
	ck_assert_msg(p != NULL, "no datagram to guest port %u from 10.0.2.2:%u", GPORT_UDP,
		      w.cport);
	ck_assert_mem_eq(p->payload, "ping", 4);
	ck_assert_uint_eq(p->ip_dst, FR_GUEST_IP);

	/* the guest answers what it saw: 10.0.2.2:cport */
	ck_assert_int_eq(h_send(fb, fr_udp_frame(fb, FR_GUEST_IP, GPORT_UDP, FR_GW_IP, w.cport,
						 "pong", 4)), 0);
	ck_assert_int_eq(udp_recv(fd, port, got, sizeof(got)), 4);
	ck_assert_mem_eq(got, "pong", 4);

	/* bigger than the MTU: fragmented to the guest */
	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	ck_assert_int_eq(send(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	for (i = 0; i < H_WAIT_MS / 5 && done != 1; i++) {
		static const struct h_match frag = { .proto = FR_PROTO_UDP, .src = FR_GW_IP };

		p = h_find(h_match, &frag);
		if (!p) {
			h_step(5);
			continue;
		}
		ck_assert_uint_le(p->ip_len, 1500);
		done = fr_reass_add(r, p);
		ck_assert_int_ge(done, 0);
	}
	ck_assert_msg(done == 1, "the big datagram did not arrive whole (%u fragments)", r->n);
	ck_assert_uint_gt(r->n, 1);
	ck_assert_uint_eq(r->total, 8 + sizeof(big));
	ck_assert_mem_eq(r->buf + 8, big, sizeof(big));
	free(r);

	ck_assert_uint_eq(h_stats().publish_accepted, 1);
	ck_assert_uint_eq(h_stats().udp_dgrams_down, 2);
	ck_assert_uint_eq(h_stats().udp_dgrams_up, 1);
}
END_TEST

START_TEST(udp_denied_once)
{
	static const struct h_match udp = { .proto = FR_PROTO_UDP };
	struct sn_policy *pol = sn_policy_new();
	char err[128];
	uint16_t port, cport;
	int fd;

	ck_assert_int_eq(sn_policy_add(pol, SN_POLICY_INGRESS, SN_POLICY_DENY, "udp:any:7", NULL,
				       err, sizeof(err)), 0);
	sn_engine_set_policy(H.e, pol);
	publish(AF_INET, IPPROTO_UDP, GPORT_UDP, &port);
	fd = client(AF_INET, SOCK_DGRAM, port, 0, 0, &cport);
	ck_assert_int_eq(send(fd, "one", 3, 0), 3);
	ck_assert_int_eq(send(fd, "two", 3, 0), 3);
	h_run(50);
	ck_assert_ptr_null(h_find(h_match, &udp));
	ck_assert_uint_eq(h_stats().policy_denied, 1);
	ck_assert_uint_eq(h_stats().publish_accepted, 0);
}
END_TEST

START_TEST(udp_session_expires)
{
	static const struct h_match icmp = { .proto = FR_PROTO_ICMP, .src = FR_GW_IP };
	struct udp_want w = { .len = 2 };
	uint8_t buf[8];
	uint16_t port;
	int fd;

	publish(AF_INET, IPPROTO_UDP, GPORT_UDP, &port);
	fd = client(AF_INET, SOCK_DGRAM, port, 0, 0, &w.cport);
	ck_assert_int_eq(send(fd, "hi", 2, 0), 2);
	ck_assert_ptr_nonnull(h_wait(udp_pred, &w, H_WAIT_MS));
	h_clock_advance(H.cfg.udp_idle_ms + 1000);
	ck_assert_uint_eq(h_stats().udp_expired, 1);

	/* no session: the "reply" is the guest's own datagram to the host,
	 * which the default policy refuses */
	ck_assert_int_eq(h_send(fb, fr_udp_frame(fb, FR_GUEST_IP, GPORT_UDP, FR_GW_IP, w.cport,
						 "late", 4)), 0);
	ck_assert_ptr_nonnull(h_wait(h_match, &icmp, H_WAIT_MS));
	h_run(20);
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
}
END_TEST

/*
 * A client's datagram before the guest sent anything: lwIP asks the guest's
 * MAC with ARP, once a second, five times, then gives up. An engine that
 * sleeps as long as sn_engine_timeout_ms() says still asks every time, and
 * after that sleeps until the session's expiry.
 */
START_TEST(udp_before_guest_mac_asks_arp)
{
	static const struct h_match arp = { .type = FR_ETH_ARP };
	const struct fr_parsed *p;
	uint16_t port, cport;
	int fd, i, t, asked = 0;
	uint32_t start;

	ck_assert_int_eq(sn_engine_timeout_ms(H.e), -1);
	publish(AF_INET, IPPROTO_UDP, GPORT_UDP, &port);
	fd = client(AF_INET, SOCK_DGRAM, port, 0, 0, &cport);
	ck_assert_int_eq(send(fd, "hi", 2, 0), 2);
	p = h_wait(h_match, &arp, H_WAIT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->arp_tpa, FR_GUEST_IP);
	t = sn_engine_timeout_ms(H.e);
	ck_assert_int_ge(t, 0);
	ck_assert_int_le(t, 1000);
	start = h_now();
	for (i = 0; i < 100 && (t = sn_engine_timeout_ms(H.e)) >= 0 && t < 20000; i++) {
		h_clock_advance(t > 0 ? (uint32_t)t : 1);
		while ((p = h_find(h_match, &arp)))
			asked += p->arp_tpa == FR_GUEST_IP;
	}
	ck_assert_int_ge(asked, 4);
	ck_assert_uint_le(h_now() - start, 8000);
	/* the session's expiry is what is left */
	ck_assert_int_gt(t, (int)H.cfg.udp_idle_ms - 10000);
}
END_TEST

static Suite *publish_suite(void)
{
	Suite *s = suite_create("publish");
	TCase *tc = tcase_create("tcp");

	tcase_add_checked_fixture(tc, setup_pub, h_teardown);
	tcase_add_test(tc, tcp_data_and_half_close);
	tcase_add_test(tc, tcp_guest_closes_first);
	tcase_add_test(tc, tcp_guest_port_closed);
	tcase_add_test(tc, tcp_guest_silent);
	tcase_add_test(tc, tcp_ingress_denied);
	tcase_add_test(tc, tcp_same_tuple_reset);
	tcase_add_test(tc, tcp_mapped_client_is_ipv4);
	tcase_add_test(tc, tcp_ipv6_client);
	tcase_add_test(tc, tcp_unpublish_keeps_established);
	tcase_add_test(tc, tcp_engine_end);
	tcase_add_test(tc, publish_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("udp");
	tcase_add_checked_fixture(tc, setup_pub, h_teardown);
	tcase_add_test(tc, udp_echo);
	tcase_add_test(tc, udp_denied_once);
	tcase_add_test(tc, udp_session_expires);
	suite_add_tcase(s, tc);

	tc = tcase_create("udp_no_mac");	/* the guest's MAC not configured */
	tcase_add_checked_fixture(tc, h_setup_default, h_teardown);
	tcase_add_test(tc, udp_before_guest_mac_asks_arp);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(publish_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
