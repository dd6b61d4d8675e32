/* SPDX-License-Identifier: MIT */
/**
 * DOC: Theory of Operation - the simulator's guest
 *
 * This program is the guest machine: its own lwIP (compiled with
 * tests/sim/guest_lwipopts, NO_SYS, raw API), one Ethernet netif whose
 * frames are datagrams on the socketpair fd it inherits, dual-stack:
 * 10.0.2.15/24 with gateway 10.0.2.2, and fd00:2::15 (static, so
 * fd00:2::/64 is on-link) next to its link-local address. On the other end
 * of the fd the sandnet engine (engine_side.c) is the router.
 *
 * Usage: sim_guest LINKFD TCPPORT CLOSEDPORT UDPPORT TCP6PORT
 *
 * The ports are the host's servers the runner set up, on 127.0.0.1 and
 * (TCP6PORT) on ::1; the guest reaches them through the gateway address of
 * the family (host loopback access). It runs the scripted clients one after
 * the other, each bounded in time, and prints one line per check,
 * "PASS name (detail)" or "FAIL name: reason":
 *
 * arp		 the gateway answers ARP with 02:73:6e:00:00:01 (done first,
 *		 so the timings below exclude ARP and the engine's start-up);
 * tcp_connect	 connect to 10.0.2.2:TCPPORT; time from tcp_connect() to the
 *		 connected callback, under 1 s;
 * tcp_echo	 send SIM_TCP_BYTES patterned bytes, read them back, byte for
 *		 byte, then half-close (guest FIN);
 * tcp_fin	 the engine's FIN (host EOF) arrives after every byte;
 * tcp6_connect, tcp6_echo, tcp6_fin
 *		 the same over IPv6, to [fd00:2::2]:TCP6PORT (the gateway's
 *		 address is resolved with neighbour discovery first);
 * tcp_refused	 connect to 10.0.2.2:CLOSEDPORT: the err callback gets
 *		 ERR_RST within 2 s and no connected callback fires;
 * udp_echo	 three datagrams (16, 512, 1400 bytes) to 10.0.2.2:UDPPORT
 *		 come back from there with identical payloads, as IPv4 with
 *		 TTL 64 and DF (the UDP relay's contract);
 * dns_forward	 a hand-built A query to 10.0.2.2:53 gets back exactly
 *		 sim_dns_answer() of that query (the fake upstream's bytes);
 * then it serves the ports the runner published (SIM_PUB_*, prints
 * SIM_PUB_READY once listening) until the runner has been through them:
 * pub_guest_echo	 ECHO got SIM_TCP_BYTES patterned bytes, echoed them,
 *			 and closed after the client's FIN (client FIN first);
 * pub_guest_fin_first	 SOURCE sent SIM_TCP_BYTES and its FIN, then took the
 *			 client's SIM_TCP_BYTES and FIN (guest FIN first);
 * pub_guest_peer	 WHO's one client was the gateway address (the
 *			 runner checks the port);
 * pub_denied_unseen	 no connection to DENIED reached the guest;
 * pub_guest_udp	 UDP datagrams came from the gateway address;
 * guest_integrity no checksum or length error was seen by the guest's
 *		 IP, IPv6, ICMP, ICMPv6, neighbour discovery, UDP or TCP, and no
 *		 guest frame had to be dropped.
 *
 * The loop: pump() polls the fd (at most 10 ms, less when an lwIP timer is
 * due), feeds every waiting frame to lwIP and runs sys_check_timeouts().
 * Output (link_output()) writes one datagram; while the engine's queue is
 * full it waits for POLLOUT (bounded), stashing frames that arrive meanwhile
 * in a small ring so the guest's own receive queue keeps draining.
 *
 * Exit status: the number of failed checks (0 = all passed); a broken link
 * or setup error exits 100. alarm() ends a stuck guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/ip4_addr.h"
#include "lwip/ip6_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "netif/ethernet.h"

#include "sim_common.h"

/* Longest a single check may take, and the whole program. */
#define CHECK_TCP_MS		30000
#define CHECK_SHORT_MS		5000
#define GUEST_ALARM_S		55
/* Frames taken from the fd per pump(), and stashed during output waits. */
#define RX_BATCH		64
#define STASH_FRAMES		64
#define FRAME_MAX		1600
/* Longest link_output() waits for the engine to take a frame. */
#define TX_WAIT_MS		2000

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static int link_fd = -1;
static struct netif gif;
static int n_pass, n_fail;

/* Frames read while link_output() waited; fed to lwIP by the next pump(). */
static struct {
	uint8_t data[STASH_FRAMES][FRAME_MAX];
	uint16_t len[STASH_FRAMES];
	unsigned head, count;
} stash;

static struct {
	unsigned long frames_in, frames_out, tx_waits, tx_drops, stashed, rx_oversize;
} linkstat;

/* ---- time, randomness: what lwIP's NO_SYS port needs from us ---- */

/**
 * now_us() - monotonic clock
 *
 * Return: microseconds
 */
static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/**
 * sys_now() - lwIP's clock, milliseconds (wraps, as lwIP expects)
 *
 * Return: milliseconds
 */
u32_t sys_now(void)
{
	return (u32_t)(now_us() / 1000u);
}

/**
 * lwip_port_rand() - LWIP_RAND() of lwIP's unix port arch/cc.h
 *
 * Return: a pseudo-random number (ISNs, ephemeral ports)
 */
unsigned int lwip_port_rand(void)
{
	return (unsigned int)random();
}

/* ---- reporting ---- */

/**
 * pass() - report a passed check
 * @name:	check name
 * @fmt:	detail, printf format
 */
static void pass(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void pass(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("PASS %s (", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(")\n");
	n_pass++;
}

/**
 * fail() - report a failed check
 * @name:	check name
 * @fmt:	reason, printf format
 */
static void fail(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	n_fail++;
}

/* ---- the link: one Ethernet frame per datagram ---- */

/**
 * link_gone() - the engine end of the link failed: nothing more to test
 * @what:	operation
 * @err:	errno
 */
static void link_gone(const char *what, int err)
{
	printf("FAIL link: %s: %s\n", what, strerror(err));
	fflush(stdout);
	exit(100);
}

/**
 * stash_read() - move frames waiting on the fd into the stash
 */
static void stash_read(void)
{
	while (stash.count < STASH_FRAMES) {
		unsigned slot = (stash.head + stash.count) % STASH_FRAMES;
		ssize_t n = recv(link_fd, stash.data[slot], FRAME_MAX, MSG_TRUNC);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			link_gone("recv", errno);
		}
		if (n == 0 || n > FRAME_MAX) {
			linkstat.rx_oversize += n > FRAME_MAX;
			continue;
		}
		stash.len[slot] = (uint16_t)n;
		stash.count++;
		linkstat.stashed++;
	}
}

/**
 * link_output() - netif linkoutput: send one frame to the engine
 * @netif:	the guest netif
 * @p:		frame, possibly chained
 *
 * Return: ERR_OK, or ERR_IF if the frame could not be sent in TX_WAIT_MS
 */
static err_t link_output(struct netif *netif, struct pbuf *p)
{
	uint8_t frame[FRAME_MAX];
	uint64_t deadline = now_us() + TX_WAIT_MS * 1000u;
	u16_t len;

	(void)netif;
	if (p->tot_len > sizeof(frame))
		return ERR_IF;
	len = pbuf_copy_partial(p, frame, p->tot_len, 0);
	for (;;) {
		struct pollfd pfd = { .fd = link_fd, .events = POLLOUT };
		ssize_t n = send(link_fd, frame, len, MSG_DONTWAIT);

		if (n == (ssize_t)len) {
			linkstat.frames_out++;
			return ERR_OK;
		}
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			       errno != ENOBUFS))
			link_gone("send", n >= 0 ? EMSGSIZE : errno);
		if (now_us() >= deadline) {
			linkstat.tx_drops++;
			return ERR_IF;
		}
		linkstat.tx_waits++;
		if (stash.count < STASH_FRAMES)
			pfd.events |= POLLIN;
		if (poll(&pfd, 1, 5) > 0 && (pfd.revents & POLLIN))
			stash_read();
	}
}

/**
 * feed() - hand one received frame to lwIP
 * @data:	frame
 * @len:	length
 */
static void feed(const uint8_t *data, u16_t len)
{
	struct pbuf *p = pbuf_alloc(PBUF_RAW, len, PBUF_POOL);

	linkstat.frames_in++;
	if (!p)
		return;		/* counted by lwIP's memp stats */
	pbuf_take(p, data, len);
	if (gif.input(p, &gif) != ERR_OK)
		pbuf_free(p);
}

/**
 * pump() - one turn of the guest's loop
 * @max_ms:	longest to wait for a frame
 */
static void pump(int max_ms)
{
	static uint8_t buf[FRAME_MAX];
	struct pollfd pfd = { .fd = link_fd, .events = POLLIN };
	u32_t sleep = sys_timeouts_sleeptime();
	int timeout = max_ms, i;

	while (stash.count) {
		unsigned slot = stash.head;

		stash.head = (stash.head + 1) % STASH_FRAMES;
		stash.count--;
		feed(stash.data[slot], stash.len[slot]);
	}
	if (sleep < (u32_t)timeout)
		timeout = (int)sleep;
	if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
		link_gone("poll", errno);
	if (pfd.revents & (POLLERR | POLLNVAL))
		link_gone("poll", EPIPE);
	for (i = 0; (pfd.revents & POLLIN) && i < RX_BATCH; i++) {
		ssize_t n = recv(link_fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			link_gone("recv", errno);
		}
		if (n == 0 || n > (ssize_t)sizeof(buf)) {
			linkstat.rx_oversize += n > (ssize_t)sizeof(buf);
			continue;
		}
		feed(buf, (u16_t)n);
	}
	sys_check_timeouts();
}

/**
 * guest_netif_init() - netif init callback: an Ethernet NIC on the fd
 * @netif:	netif to set up
 *
 * Return: ERR_OK
 */
static err_t guest_netif_init(struct netif *netif)
{
	netif->name[0] = 's';
	netif->name[1] = 'g';
	netif->output = etharp_output;
	netif->output_ip6 = ethip6_output;
	netif->linkoutput = link_output;
	netif->mtu = SIM_MTU;
	netif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(netif->hwaddr, guest_mac, ETH_HWADDR_LEN);
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
		       NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

/* ---- the gateway's MAC first: timings below then exclude ARP and the
 * engine's start-up ---- */

/**
 * check_arp() - check arp: the gateway answers ARP with its MAC
 * @gw:		gateway address
 *
 * Return: 0 if resolved, -1 if not
 */
static int check_arp(const ip4_addr_t *gw)
{
	static const uint8_t want[6] = { 0x02, 0x73, 0x6e, 0x00, 0x00, 0x01 };
	uint64_t t0 = now_us(), deadline = t0 + CHECK_SHORT_MS * 1000u, next = 0;
	struct eth_addr *mac = NULL;
	const ip4_addr_t *ip;

	while (now_us() < deadline) {
		if (etharp_find_addr(&gif, gw, &mac, &ip) >= 0)
			break;
		mac = NULL;
		if (now_us() >= next) {
			etharp_request(&gif, gw);
			next = now_us() + 200000u;
		}
		pump(10);
	}
	if (!mac) {
		fail("arp", "no ARP reply for the gateway within %d ms", CHECK_SHORT_MS);
		return -1;
	}
	if (memcmp(mac->addr, want, sizeof(want)))
		fail("arp", "gateway MAC %02x:%02x:%02x:%02x:%02x:%02x, expected "
		     "02:73:6e:00:00:01", mac->addr[0], mac->addr[1], mac->addr[2],
		     mac->addr[3], mac->addr[4], mac->addr[5]);
	else
		pass("arp", "gateway is 02:73:6e:00:00:01, %.3f ms including engine start-up",
		     (double)(now_us() - t0) / 1000.0);
	return 0;
}

/* ---- TCP helpers ---- */

/**
 * tcp_bind_ephemeral() - bind a new pcb to a local port of our choosing
 * @pcb:	fresh pcb
 * @any:	the any-address of the pcb's family
 *
 * lwIP 2.2.1's tcp_new_port() (used by tcp_connect() on an unbound pcb)
 * pre-increments its u16 cursor before comparing it with
 * TCP_LOCAL_PORT_RANGE_END; when tcp_init() seeds the cursor with 0xffff
 * (LWIP_RAND() & 0x3fff == 0x3fff, 1 in 16384 runs) it wraps to 0 and the
 * first tcp_connect() fails with ERR_BUF. Choosing the port here keeps
 * that guest-side flake out of the engine's test.
 *
 * Return: ERR_OK, or the last tcp_bind() error
 */
static err_t tcp_bind_ephemeral(struct tcp_pcb *pcb, const ip_addr_t *any)
{
	u16_t port = (u16_t)(0xc000u + (unsigned)random() % 0x3f00u);
	err_t err = ERR_USE;
	int i;

	for (i = 0; i < 16 && err == ERR_USE; i++, port++)
		err = tcp_bind(pcb, any, port);
	return err;
}

/* ---- (a) TCP echo of SIM_TCP_BYTES, with half-close ---- */

/**
 * struct tcp_echo - state of the TCP echo client
 * @pcb:		connection, NULL once lwIP freed it or we closed it
 * @t_call:		when tcp_connect() was called
 * @t_conn:		when the connected callback ran
 * @t_fin:		when the engine's FIN arrived
 * @tx:			bytes queued with tcp_write()
 * @rx:			bytes received and verified
 * @connected:		connected callback ran
 * @shut:		guest FIN queued
 * @fin:		engine FIN received
 * @failed:		a check failed (@why says which)
 * @err:		err callback's code, ERR_OK if none
 * @why:		reason for @failed
 */
struct tcp_echo {
	struct tcp_pcb *pcb;
	uint64_t t_call, t_conn, t_fin;
	size_t tx, rx;
	bool connected, shut, fin, failed, errcb;
	err_t err;
	char why[160];
};

/**
 * echo_fail() - record why the echo client stopped
 * @s:		client
 * @fmt:	reason
 */
static void echo_fail(struct tcp_echo *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void echo_fail(struct tcp_echo *s, const char *fmt, ...)
{
	va_list ap;

	if (s->failed)
		return;
	s->failed = true;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

/**
 * echo_send() - queue as much of the stream as lwIP takes; FIN after it
 * @s:		client
 */
static void echo_send(struct tcp_echo *s)
{
	uint8_t chunk[4096];
	err_t err;

	while (s->pcb && s->tx < SIM_TCP_BYTES) {
		size_t len = tcp_sndbuf(s->pcb), i;

		if (len > sizeof(chunk))
			len = sizeof(chunk);
		if (len > SIM_TCP_BYTES - s->tx)
			len = SIM_TCP_BYTES - s->tx;
		if (!len || tcp_sndqueuelen(s->pcb) >= TCP_SND_QUEUELEN - 4)
			break;
		for (i = 0; i < len; i++)
			chunk[i] = sim_pattern(s->tx + i);
		err = tcp_write(s->pcb, chunk, (u16_t)len, TCP_WRITE_FLAG_COPY);
		if (err == ERR_MEM)
			break;
		if (err != ERR_OK) {
			echo_fail(s, "tcp_write: err %d", (int)err);
			return;
		}
		s->tx += len;
	}
	if (!s->pcb)
		return;
	if (s->tx == SIM_TCP_BYTES && !s->shut) {
		err = tcp_shutdown(s->pcb, 0, 1);
		if (err != ERR_OK) {
			echo_fail(s, "tcp_shutdown: err %d", (int)err);
			return;
		}
		s->shut = true;
	}
	tcp_output(s->pcb);
}

/**
 * echo_sent() - lwIP sent callback: room in the send buffer again
 * @arg:	client
 * @pcb:	connection
 * @len:	bytes acknowledged
 *
 * Return: ERR_OK
 */
static err_t echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)pcb;
	(void)len;
	echo_send(arg);
	return ERR_OK;
}

/**
 * echo_recv() - lwIP recv callback: verify echoed bytes, or the FIN
 * @arg:	client
 * @pcb:	connection
 * @p:		data, NULL for the engine's FIN
 * @err:	ERR_OK
 *
 * Return: ERR_OK (or ERR_ABRT after tcp_abort())
 */
static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct tcp_echo *s = arg;
	const struct pbuf *q;

	(void)err;
	if (!p) {
		s->fin = true;
		s->t_fin = now_us();
		tcp_arg(pcb, NULL);
		tcp_recv(pcb, NULL);
		tcp_sent(pcb, NULL);
		tcp_err(pcb, NULL);
		s->pcb = NULL;
		if (tcp_close(pcb) != ERR_OK) {
			tcp_abort(pcb);
			return ERR_ABRT;
		}
		return ERR_OK;
	}
	for (q = p; q; q = q->next) {
		const uint8_t *b = q->payload;
		u16_t i;

		for (i = 0; i < q->len; i++) {
			if (s->rx >= SIM_TCP_BYTES) {
				echo_fail(s, "more than %u bytes echoed", SIM_TCP_BYTES);
				break;
			}
			if (b[i] != sim_pattern(s->rx) && !s->failed)
				echo_fail(s, "byte %zu is 0x%02x, expected 0x%02x", s->rx,
					  b[i], sim_pattern(s->rx));
			s->rx++;
		}
	}
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

/**
 * echo_err() - lwIP err callback: the connection is gone (pcb freed)
 * @arg:	client
 * @err:	why
 */
static void echo_err(void *arg, err_t err)
{
	struct tcp_echo *s = arg;

	s->pcb = NULL;
	s->errcb = true;
	s->err = err;
}

/**
 * echo_connected() - lwIP connected callback: start sending
 * @arg:	client
 * @pcb:	connection
 * @err:	ERR_OK
 *
 * Return: ERR_OK
 */
static err_t echo_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct tcp_echo *s = arg;

	(void)pcb;
	(void)err;
	s->connected = true;
	s->t_conn = now_us();
	echo_send(s);
	return ERR_OK;
}

/**
 * check_tcp_echo() - checks tcp_connect, tcp_echo, tcp_fin (or tcp6_...)
 * @gw:		gateway address, IPv4 or IPv6
 * @port:	host echo server's port
 * @tag:	the checks' prefix: "tcp" or "tcp6"
 */
static void check_tcp_echo(const ip_addr_t *gw, u16_t port, const char *tag)
{
	static struct tcp_echo s;
	char connect[16], echo[16], fin[16];
	uint64_t deadline;
	double conn_ms, echo_ms;
	err_t err;

	snprintf(connect, sizeof(connect), "%s_connect", tag);
	snprintf(echo, sizeof(echo), "%s_echo", tag);
	snprintf(fin, sizeof(fin), "%s_fin", tag);
	memset(&s, 0, sizeof(s));
	s.pcb = tcp_new_ip_type(IP_GET_TYPE(gw));
	if (!s.pcb) {
		fail(connect, "tcp_new: out of memory");
		return;
	}
	tcp_arg(s.pcb, &s);
	tcp_recv(s.pcb, echo_recv);
	tcp_sent(s.pcb, echo_sent);
	tcp_err(s.pcb, echo_err);
	err = tcp_bind_ephemeral(s.pcb, IP46_ADDR_ANY(IP_GET_TYPE(gw)));
	s.t_call = now_us();
	if (err == ERR_OK)
		err = tcp_connect(s.pcb, gw, port, echo_connected);
	if (err != ERR_OK) {
		fail(connect, "tcp_connect: err %d", (int)err);
		tcp_abort(s.pcb);
		return;
	}
	deadline = s.t_call + CHECK_TCP_MS * 1000u;
	while (!s.fin && !s.failed && !s.errcb && now_us() < deadline)
		pump(10);
	if (s.pcb) {
		tcp_arg(s.pcb, NULL);
		tcp_err(s.pcb, NULL);
		tcp_abort(s.pcb);
		s.pcb = NULL;
	}

	if (!s.connected) {
		fail(connect, "%s", s.errcb ? "err callback before connected" :
						   "not connected in time");
		fail(echo, "no connection");
		fail(fin, "no connection");
		return;
	}
	conn_ms = (double)(s.t_conn - s.t_call) / 1000.0;
	if (conn_ms < 1000.0)
		pass(connect, "%.3f ms from tcp_connect() to connected", conn_ms);
	else
		fail(connect, "%.3f ms from tcp_connect() to connected", conn_ms);

	if (s.failed)
		fail(echo, "%s (after %zu bytes echoed)", s.why, s.rx);
	else if (s.rx != SIM_TCP_BYTES)
		fail(echo, "%zu of %u bytes echoed (%zu sent)%s%s", s.rx,
		     SIM_TCP_BYTES, s.tx, s.errcb ? ", connection error " : "",
		     s.errcb ? lwip_strerr(s.err) : "");
	else {
		echo_ms = (double)(s.t_fin - s.t_conn) / 1000.0;
		pass(echo, "%u bytes sent and verified in %.1f ms, %.1f MiB/s",
		     SIM_TCP_BYTES, echo_ms, (double)SIM_TCP_BYTES / 1048576.0 /
		     (echo_ms / 1000.0));
	}

	if (s.fin && s.rx == SIM_TCP_BYTES)
		pass(fin, "engine FIN after all %zu bytes", s.rx);
	else if (s.fin)
		fail(fin, "engine FIN after only %zu bytes", s.rx);
	else
		fail(fin, "no FIN from the engine%s%s", s.errcb ? ", error: " : "",
		     s.errcb ? lwip_strerr(s.err) : "");
}

/* ---- (b) TCP connect to a closed port: refused ---- */

static struct {
	bool connected, errcb;
	err_t err;
	uint64_t t_err;
} refused;

/**
 * refused_connected() - must not run for a closed port
 * @arg:	unused
 * @pcb:	connection
 * @err:	unused
 *
 * Return: ERR_ABRT (the pcb is aborted)
 */
static err_t refused_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	(void)err;
	refused.connected = true;
	tcp_err(pcb, NULL);
	tcp_abort(pcb);
	return ERR_ABRT;
}

/**
 * refused_err() - err callback: expected ERR_RST
 * @arg:	unused
 * @err:	why
 */
static void refused_err(void *arg, err_t err)
{
	(void)arg;
	refused.errcb = true;
	refused.err = err;
	refused.t_err = now_us();
}

/**
 * check_tcp_refused() - check tcp_refused
 * @gw:		gateway address
 * @port:	a host port with no listener
 */
static void check_tcp_refused(const ip_addr_t *gw, u16_t port)
{
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	uint64_t t0, deadline;
	double ms;

	if (!pcb) {
		fail("tcp_refused", "tcp_new: out of memory");
		return;
	}
	tcp_err(pcb, refused_err);
	t0 = now_us();
	if (tcp_bind_ephemeral(pcb, IP4_ADDR_ANY) != ERR_OK ||
	    tcp_connect(pcb, gw, port, refused_connected) != ERR_OK) {
		fail("tcp_refused", "tcp_connect failed locally");
		tcp_abort(pcb);
		return;
	}
	deadline = t0 + CHECK_SHORT_MS * 1000u;
	while (!refused.errcb && !refused.connected && now_us() < deadline)
		pump(10);
	if (!refused.errcb && !refused.connected) {
		tcp_err(pcb, NULL);
		tcp_abort(pcb);
		fail("tcp_refused", "no reset within %d ms", CHECK_SHORT_MS);
		return;
	}
	if (refused.connected) {
		fail("tcp_refused", "connected to a closed port");
		return;
	}
	ms = (double)(refused.t_err - t0) / 1000.0;
	if (refused.err != ERR_RST)
		fail("tcp_refused", "err callback with %s, expected ERR_RST",
		     lwip_strerr(refused.err));
	else if (ms >= 2000.0)
		fail("tcp_refused", "reset after %.3f ms (limit 2000)", ms);
	else
		pass("tcp_refused", "ERR_RST %.3f ms after tcp_connect()", ms);
}

/* ---- (c) UDP echo, (d) DNS through the gateway ---- */

#define UDP_N	3
static const u16_t udp_sizes[UDP_N] = { 16, 512, 1400 };

/**
 * struct udp_check - state of the UDP echo and DNS clients
 * @from:	expected source address
 * @port:	expected source port
 * @want:	expected payloads
 * @want_len:	their lengths
 * @n_want:	how many
 * @got:	which have been received
 * @n_got:	how many distinct ones
 * @bad:	unexpected datagrams
 * @why:	first unexpected one
 * @ttl:	IPv4 TTL of the first expected reply
 * @df:		its DF flag
 */
struct udp_check {
	ip4_addr_t from;
	u16_t port;
	uint8_t want[UDP_N][1500];
	u16_t want_len[UDP_N];
	unsigned n_want;
	bool got[UDP_N];
	unsigned n_got, bad;
	char why[160];
	int ttl;
	bool df;
};

/**
 * udp_check_recv() - udp recv callback: match a datagram to what is expected
 * @arg:	struct udp_check
 * @pcb:	socket
 * @p:		payload
 * @addr:	source address
 * @port:	source port
 */
static void udp_check_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p,
			   const ip_addr_t *addr, u16_t port)
{
	struct udp_check *c = arg;
	static uint8_t buf[65536];
	u16_t len = p->tot_len;
	unsigned i;

	(void)pcb;
	pbuf_copy_partial(p, buf, len, 0);
	pbuf_free(p);
	if (!IP_IS_V4(addr) || !ip4_addr_eq(ip_2_ip4(addr), &c->from) || port != c->port) {
		if (!c->bad++)
			snprintf(c->why, sizeof(c->why), "datagram from %s:%u",
				 ip4addr_ntoa(ip_2_ip4(addr)), port);
		return;
	}
	for (i = 0; i < c->n_want; i++) {
		if (!c->got[i] && len == c->want_len[i] && !memcmp(buf, c->want[i], len)) {
			const struct ip_hdr *iph = ip4_current_header();

			if (!c->n_got && iph) {
				c->ttl = IPH_TTL(iph);
				c->df = (lwip_ntohs(IPH_OFFSET(iph)) & IP_DF) != 0;
			}
			c->got[i] = true;
			c->n_got++;
			return;
		}
	}
	if (!c->bad++) {
		size_t off = 0;

		for (i = 0; i < c->n_want; i++) {
			if (len != c->want_len[i])
				continue;
			while (off < len && buf[off] == c->want[i][off])
				off++;
			break;
		}
		snprintf(c->why, sizeof(c->why),
			 "unexpected %u-byte datagram (first difference at byte %zu)",
			 len, off);
	}
}

/**
 * udp_run() - send the expected payloads (or @send) and wait for the replies
 * @c:		check state, @want filled
 * @to:		destination
 * @port:	destination port
 * @send:	what to send for each reply, NULL: @want itself (echo)
 * @send_len:	its length
 * @t_ms:	filled with the time to the last reply
 *
 * Return: 0 when every reply came and nothing unexpected, else -1
 */
static int udp_run(struct udp_check *c, const ip4_addr_t *to, u16_t port,
		   const uint8_t *send, u16_t send_len, double *t_ms)
{
	struct udp_pcb *pcb = udp_new_ip_type(IPADDR_TYPE_V4);
	uint64_t t0, deadline, t_last = 0;
	ip_addr_t dst;
	unsigned i;

	if (!pcb) {
		snprintf(c->why, sizeof(c->why), "udp_new: out of memory");
		return -1;
	}
	if (udp_bind(pcb, IP4_ADDR_ANY, 0) != ERR_OK) {
		udp_remove(pcb);
		snprintf(c->why, sizeof(c->why), "udp_bind failed");
		return -1;
	}
	udp_recv(pcb, udp_check_recv, c);
	ip_addr_copy_from_ip4(dst, *to);
	t0 = now_us();
	for (i = 0; i < (send ? 1 : c->n_want); i++) {
		u16_t len = send ? send_len : c->want_len[i];
		struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, len, PBUF_RAM);
		err_t err;

		if (!p) {
			snprintf(c->why, sizeof(c->why), "pbuf_alloc failed");
			udp_remove(pcb);
			return -1;
		}
		pbuf_take(p, send ? send : c->want[i], len);
		err = udp_sendto(pcb, p, &dst, port);
		pbuf_free(p);
		if (err != ERR_OK) {
			snprintf(c->why, sizeof(c->why), "udp_sendto: %s", lwip_strerr(err));
			udp_remove(pcb);
			return -1;
		}
	}
	deadline = t0 + CHECK_SHORT_MS * 1000u;
	while (c->n_got < c->n_want && now_us() < deadline) {
		pump(10);
		if (c->n_got == c->n_want && !t_last)
			t_last = now_us();
	}
	/* A little longer: a duplicate or stray reply must not go unseen. */
	deadline = now_us() + 100000u;
	while (now_us() < deadline)
		pump(10);
	udp_remove(pcb);
	*t_ms = t_last ? (double)(t_last - t0) / 1000.0 : 0.0;
	if (c->bad)
		return -1;
	if (c->n_got < c->n_want) {
		snprintf(c->why, sizeof(c->why), "%u of %u replies within %d ms", c->n_got,
			 c->n_want, CHECK_SHORT_MS);
		return -1;
	}
	return 0;
}

/**
 * check_udp_echo() - check udp_echo
 * @gw:		gateway address
 * @port:	host UDP echo server's port
 */
static void check_udp_echo(const ip4_addr_t *gw, u16_t port)
{
	static struct udp_check c;
	double ms;
	unsigned i, j;

	memset(&c, 0, sizeof(c));
	c.from = *gw;
	c.port = port;
	c.n_want = UDP_N;
	for (i = 0; i < UDP_N; i++) {
		c.want_len[i] = udp_sizes[i];
		for (j = 0; j < udp_sizes[i]; j++)
			c.want[i][j] = (uint8_t)(sim_pattern(j + 977u * i) ^ (i + 1));
	}
	if (udp_run(&c, gw, port, NULL, 0, &ms))
		fail("udp_echo", "%s", c.why);
	else if (c.ttl != 64 || !c.df)
		fail("udp_echo", "replies have TTL %d%s, expected TTL 64 and DF", c.ttl,
		     c.df ? " and DF" : " without DF");
	else
		pass("udp_echo", "%u datagrams of 16/512/1400 bytes echoed in %.3f ms, "
		     "TTL 64, DF", UDP_N, ms);
}

/**
 * check_dns() - check dns_forward
 * @gw:		gateway address (the guest's DNS server)
 */
static void check_dns(const ip4_addr_t *gw)
{
	static struct udp_check c;
	uint8_t query[SIM_DNS_MAX];
	size_t qlen = sim_dns_query(query);
	double ms;

	memset(&c, 0, sizeof(c));
	c.from = *gw;
	c.port = 53;
	c.n_want = 1;
	c.want_len[0] = (u16_t)sim_dns_answer(query, qlen, c.want[0]);
	if (udp_run(&c, gw, 53, query, (u16_t)qlen, &ms))
		fail("dns_forward", "%s", c.why);
	else
		pass("dns_forward", "%u-byte answer identical to the upstream's, %.3f ms, "
		     "TTL %d%s", c.want_len[0], ms, c.ttl, c.df ? ", DF" : "");
}

/**
 * check_integrity() - check guest_integrity from lwIP's and the link's counters
 */
static void check_integrity(void)
{
	unsigned long chk = (unsigned long)lwip_stats.ip.chkerr + lwip_stats.icmp.chkerr +
			    lwip_stats.ip6.chkerr + lwip_stats.icmp6.chkerr + lwip_stats.nd6.chkerr +
			    lwip_stats.udp.chkerr + lwip_stats.tcp.chkerr;
	unsigned long len = (unsigned long)lwip_stats.ip.lenerr + lwip_stats.ip6.lenerr +
			    lwip_stats.icmp6.lenerr + lwip_stats.nd6.lenerr + lwip_stats.udp.lenerr +
			    lwip_stats.tcp.lenerr + lwip_stats.link.lenerr;

	printf("guest: frames in %lu out %lu, tx waits %lu, stashed %lu, tcp segs out %lu, "
	       "retransmitted %lu, in %lu\n",
	       linkstat.frames_in, linkstat.frames_out, linkstat.tx_waits, linkstat.stashed,
	       (unsigned long)lwip_stats.mib2.tcpoutsegs,
	       (unsigned long)lwip_stats.mib2.tcpretranssegs,
	       (unsigned long)lwip_stats.mib2.tcpinsegs);
	if (chk || len || linkstat.tx_drops || linkstat.rx_oversize)
		fail("guest_integrity", "%lu checksum errors, %lu length errors, "
		     "%lu frames not sent, %lu oversize frames", chk, len, linkstat.tx_drops,
		     linkstat.rx_oversize);
	else
		pass("guest_integrity", "no checksum or length errors in %lu frames",
		     linkstat.frames_in);
}

/* ---- (e) published ports: the guest serves, the runner is the client ---- */

/**
 * struct pub_conn - the guest's side of one connection to a published port
 * @pcb:	connection, NULL once closed or gone
 * @q:		ECHO: bytes received and not yet written back
 * @rx:		bytes received (checked against sim_pattern())
 * @tx:		bytes written
 * @fin:	the client's FIN arrived
 * @shut:	our FIN is queued
 * @closed:	we closed the connection after both FINs
 * @bad:	a received byte was not the pattern's
 * @err:	the err callback ran (the connection was reset)
 */
struct pub_conn {
	struct tcp_pcb *pcb;
	struct pbuf *q;
	size_t rx, tx;
	bool fin, shut, closed, bad, err;
};

static struct {
	struct pub_conn echo, source;
	struct tcp_pcb *lst[4];
	struct udp_pcb *udp;
	char who[64];
	unsigned n_who, n_denied, n_udp, udp_bad_peer;
	bool quit;
} pub;

/**
 * pub_check() - count received bytes, checking them against the pattern
 * @c:		connection
 * @p:		data
 */
static void pub_check(struct pub_conn *c, const struct pbuf *p)
{
	const struct pbuf *q;

	for (q = p; q; q = q->next) {
		const uint8_t *b = q->payload;
		u16_t i;

		for (i = 0; i < q->len; i++)
			c->bad |= b[i] != sim_pattern(c->rx + i);
		c->rx += q->len;
	}
}

/**
 * pub_close() - close a connection whose both directions are finished
 * @c:		connection
 */
static void pub_close(struct pub_conn *c)
{
	if (!c->pcb || !c->fin || !c->shut || c->q)
		return;
	tcp_arg(c->pcb, NULL);
	tcp_recv(c->pcb, NULL);
	tcp_sent(c->pcb, NULL);
	tcp_err(c->pcb, NULL);
	if (tcp_close(c->pcb) != ERR_OK)
		tcp_abort(c->pcb);
	c->pcb = NULL;
	c->closed = true;
}

/**
 * pub_push() - write what the connection owes its client: the echo queue,
 *		or the rest of the SOURCE stream; FIN when it is all queued
 * @c:		connection
 */
static void pub_push(struct pub_conn *c)
{
	uint8_t chunk[2 * TCP_MSS];

	while (c->pcb && tcp_sndqueuelen(c->pcb) < TCP_SND_QUEUELEN - 4) {
		size_t n = tcp_sndbuf(c->pcb), i;

		if (n > sizeof(chunk))
			n = sizeof(chunk);
		if (c == &pub.echo && n > (c->q ? c->q->tot_len : 0))
			n = c->q ? c->q->tot_len : 0;
		if (c == &pub.source && n > SIM_TCP_BYTES - c->tx)
			n = SIM_TCP_BYTES - c->tx;
		if (!n)
			break;
		if (c == &pub.echo)
			pbuf_copy_partial(c->q, chunk, (u16_t)n, 0);
		else
			for (i = 0; i < n; i++)
				chunk[i] = sim_pattern(c->tx + i);
		if (tcp_write(c->pcb, chunk, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		c->tx += n;
		if (c == &pub.echo) {
			c->q = pbuf_free_header(c->q, (u16_t)n);
			tcp_recved(c->pcb, (u16_t)n);	/* the window follows the echo */
		}
	}
	if (!c->pcb)
		return;
	if (!c->shut && !c->q && (c == &pub.echo ? c->fin : c->tx == SIM_TCP_BYTES)) {
		tcp_shutdown(c->pcb, 0, 1);
		c->shut = true;
	}
	tcp_output(c->pcb);
	pub_close(c);
}

/**
 * pub_recv() - recv callback of ECHO and SOURCE connections
 * @arg:	struct pub_conn
 * @pcb:	connection
 * @p:		data, NULL for the client's FIN
 * @err:	ERR_OK
 *
 * Return: ERR_OK
 */
static err_t pub_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct pub_conn *c = arg;

	(void)err;
	if (!p) {
		c->fin = true;
	} else {
		pub_check(c, p);
		if (c == &pub.echo && c->q) {
			pbuf_cat(c->q, p);
		} else if (c == &pub.echo) {
			c->q = p;
		} else {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
	}
	pub_push(c);
	return ERR_OK;
}

/**
 * pub_sent() - sent callback: room to write again
 * @arg:	struct pub_conn
 * @pcb:	connection
 * @len:	bytes acknowledged
 *
 * Return: ERR_OK
 */
static err_t pub_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)pcb;
	(void)len;
	pub_push(arg);
	return ERR_OK;
}

/**
 * pub_err() - err callback: the connection is gone
 * @arg:	struct pub_conn
 * @err:	why
 */
static void pub_err(void *arg, err_t err)
{
	struct pub_conn *c = arg;

	(void)err;
	c->pcb = NULL;
	c->err = true;
}

/**
 * pub_accept() - a client of a published port reached the guest
 * @arg:	the guest port, as a pointer-sized integer
 * @pcb:	the new connection
 * @err:	ERR_OK
 *
 * Return: ERR_OK, or ERR_ABRT when the connection is refused
 */
static err_t pub_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	uintptr_t port = (uintptr_t)arg;
	struct pub_conn *c = port == SIM_PUB_ECHO ? &pub.echo : &pub.source;

	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	if (port == SIM_PUB_WHO) {
		pub.n_who++;
		snprintf(pub.who, sizeof(pub.who), "%s:%u\n", ipaddr_ntoa(&pcb->remote_ip),
			 pcb->remote_port);
		tcp_write(pcb, pub.who, (u16_t)strlen(pub.who), TCP_WRITE_FLAG_COPY);
		if (tcp_close(pcb) == ERR_OK)
			return ERR_OK;
	} else if (port == SIM_PUB_DENIED) {
		pub.n_denied++;
	} else if (!c->pcb && !c->closed && !c->err) {
		c->pcb = pcb;
		tcp_arg(pcb, c);
		tcp_recv(pcb, pub_recv);
		tcp_sent(pcb, pub_sent);
		tcp_err(pcb, pub_err);
		pub_push(c);
		return ERR_OK;
	}
	tcp_abort(pcb);
	return ERR_ABRT;
}

/**
 * pub_udp_recv() - UDP port: echo each datagram, stop serving on "quit"
 * @arg:	unused
 * @pcb:	socket
 * @p:		payload
 * @addr:	source address
 * @port:	source port
 */
static void pub_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
			 u16_t port)
{
	const ip4_addr_t *gw = arg;

	if (p->tot_len == 4 && !pbuf_memcmp(p, 0, "quit", 4)) {
		pub.quit = true;
	} else {
		pub.n_udp++;
		pub.udp_bad_peer += !ip4_addr_eq(ip_2_ip4(addr), gw);
		udp_sendto(pcb, p, addr, port);
	}
	pbuf_free(p);
}

/**
 * pub_listen() - a listener on a guest port
 * @port:	the port
 *
 * Return: the listening pcb, or NULL
 */
static struct tcp_pcb *pub_listen(u16_t port)
{
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4), *l;

	if (!pcb || tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
		if (pcb)
			tcp_abort(pcb);
		return NULL;
	}
	l = tcp_listen(pcb);
	if (!l) {
		tcp_abort(pcb);
		return NULL;
	}
	tcp_arg(l, (void *)(uintptr_t)port);
	tcp_accept(l, pub_accept);
	return l;
}

/**
 * pub_report() - the guest's checks of the published ports
 * @gw:		gateway address (what loopback clients must look like)
 */
static void pub_report(const ip4_addr_t *gw)
{
	const struct pub_conn *e = &pub.echo, *s = &pub.source;
	char want[24];

	if (e->closed && e->rx == SIM_TCP_BYTES && !e->bad && e->tx == SIM_TCP_BYTES)
		pass("pub_guest_echo", "%zu bytes in, echoed, FIN after the client's", e->rx);
	else
		fail("pub_guest_echo", "%zu bytes in (%s), %zu echoed, %s%s", e->rx,
		     e->bad ? "corrupted" : "intact", e->tx, e->fin ? "client FIN" : "no client FIN",
		     e->err ? ", reset" : "");
	if (s->closed && s->rx == SIM_TCP_BYTES && !s->bad && s->tx == SIM_TCP_BYTES)
		pass("pub_guest_fin_first", "%zu bytes out and FIN, then %zu bytes in and FIN",
		     s->tx, s->rx);
	else
		fail("pub_guest_fin_first", "%zu bytes out, %zu in (%s), %s%s", s->tx, s->rx,
		     s->bad ? "corrupted" : "intact", s->fin ? "client FIN" : "no client FIN",
		     s->err ? ", reset" : "");
	snprintf(want, sizeof(want), "%s:", ip4addr_ntoa(gw));
	if (pub.n_who == 1 && !strncmp(pub.who, want, strlen(want)))
		pass("pub_guest_peer", "loopback client seen as %.*s", (int)strcspn(pub.who, "\n"),
		     pub.who);
	else
		fail("pub_guest_peer", "%u connections, peer '%.*s', want %s<port>", pub.n_who,
		     (int)strcspn(pub.who, "\n"), pub.who, want);
	if (pub.n_denied)
		fail("pub_denied_unseen", "%u denied connections reached the guest", pub.n_denied);
	else
		pass("pub_denied_unseen", "no denied connection reached the guest");
	if (pub.n_udp >= 3 && !pub.udp_bad_peer)
		pass("pub_guest_udp", "%u datagrams, all from %s", pub.n_udp, ip4addr_ntoa(gw));
	else
		fail("pub_guest_udp", "%u datagrams, %u not from the gateway", pub.n_udp,
		     pub.udp_bad_peer);
}

/**
 * serve_published() - serve the published guest ports until the runner is done
 * @gw:		gateway address
 *
 * Prints SIM_PUB_READY once listening; serves until the runner's "quit"
 * datagram came and both stream connections are over, or CHECK_TCP_MS.
 */
static void serve_published(const ip4_addr_t *gw)
{
	static const u16_t ports[4] = { SIM_PUB_ECHO, SIM_PUB_SOURCE, SIM_PUB_WHO,
					SIM_PUB_DENIED };
	uint64_t deadline;
	unsigned i;

	memset(&pub, 0, sizeof(pub));
	for (i = 0; i < 4; i++) {
		pub.lst[i] = pub_listen(ports[i]);
		if (!pub.lst[i]) {
			fail("pub_listen", "cannot listen on guest port %u", ports[i]);
			goto out;
		}
	}
	pub.udp = udp_new_ip_type(IPADDR_TYPE_V4);
	if (!pub.udp || udp_bind(pub.udp, IP4_ADDR_ANY, SIM_PUB_UDP) != ERR_OK) {
		fail("pub_listen", "cannot bind UDP port %u", SIM_PUB_UDP);
		goto out;
	}
	udp_recv(pub.udp, pub_udp_recv, (void *)gw);
	printf("%s\n", SIM_PUB_READY);
	fflush(stdout);
	deadline = now_us() + CHECK_TCP_MS * 1000u;
	while (now_us() < deadline &&
	       !(pub.quit && (pub.echo.closed || pub.echo.err) &&
		 (pub.source.closed || pub.source.err)))
		pump(10);
	pub_report(gw);
out:
	for (i = 0; i < 4; i++)
		if (pub.lst[i])
			tcp_close(pub.lst[i]);
	if (pub.udp)
		udp_remove(pub.udp);
	if (pub.echo.q)
		pbuf_free(pub.echo.q);
}

/**
 * parse_port() - a port number argument
 * @s:		text
 *
 * Return: the port, or 0 if invalid
 */
static u16_t parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return (*s && !*end && v > 0 && v < 65536) ? (u16_t)v : 0;
}

int main(int argc, char **argv)
{
	ip4_addr_t ip, mask, gw;
	ip6_addr_t ip6;
	ip_addr_t gw4, gw6;
	u16_t tcp_port, closed_port, udp_port, tcp6_port;
	s8_t idx6;
	char *end;
	long fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 6) {
		fprintf(stderr, "usage: %s LINKFD TCPPORT CLOSEDPORT UDPPORT TCP6PORT\n", argv[0]);
		return 100;
	}
	fd = strtol(argv[1], &end, 10);
	tcp_port = parse_port(argv[2]);
	closed_port = parse_port(argv[3]);
	udp_port = parse_port(argv[4]);
	tcp6_port = parse_port(argv[5]);
	if (*end || fd < 0 || fd > 1023 || !tcp_port || !closed_port || !udp_port || !tcp6_port) {
		fprintf(stderr, "%s: bad arguments\n", argv[0]);
		return 100;
	}
	link_fd = (int)fd;
	if (fcntl(link_fd, F_SETFL, fcntl(link_fd, F_GETFL) | O_NONBLOCK) < 0) {
		perror("fcntl");
		return 100;
	}
	alarm(GUEST_ALARM_S);
	srandom((unsigned)(now_us() ^ (uint64_t)getpid()));

	lwip_init();
	ip4addr_aton(SIM_GUEST_IP, &ip);
	ip4addr_aton(SIM_NETMASK, &mask);
	ip4addr_aton(SIM_GW_IP, &gw);
	if (!netif_add(&gif, &ip, &mask, &gw, NULL, guest_netif_init, ethernet_input)) {
		fprintf(stderr, "netif_add failed\n");
		return 100;
	}
	netif_create_ip6_linklocal_address(&gif, 1);
	netif_ip6_addr_set_state(&gif, 0, IP6_ADDR_PREFERRED);
	ip6addr_aton(SIM_GUEST_IP6, &ip6);
	if (netif_add_ip6_address(&gif, &ip6, &idx6) != ERR_OK) {
		fprintf(stderr, "netif_add_ip6_address failed\n");
		return 100;
	}
	netif_ip6_addr_set_state(&gif, idx6, IP6_ADDR_PREFERRED);
	netif_set_default(&gif);
	netif_set_up(&gif);
	netif_set_link_up(&gif);
	ip_addr_copy_from_ip4(gw4, gw);
	ipaddr_aton(SIM_GW_IP6, &gw6);

	check_arp(&gw);
	check_tcp_echo(&gw4, tcp_port, "tcp");
	check_tcp_echo(&gw6, tcp6_port, "tcp6");
	check_tcp_refused(&gw4, closed_port);
	check_udp_echo(&gw, udp_port);
	check_dns(&gw);
	serve_published(&gw);
	check_integrity();

	/* Let lwIP finish what it owes the engine (final ACKs) before leaving. */
	{
		uint64_t deadline = now_us() + 200000u;

		while (now_us() < deadline)
			pump(10);
	}
	printf("guest: %d passed, %d failed\n", n_pass, n_fail);
	return n_fail;
}
