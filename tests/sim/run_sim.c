/* SPDX-License-Identifier: MIT */
/**
 * DOC: Theory of Operation - the simulator's runner (the "host")
 *
 * Usage: sim_run ENGINE_SIDE GUEST
 *
 * The runner plays the host around one engine and one guest:
 *
 * - it opens the servers the guest reaches through the gateway, on
 *   127.0.0.1 with kernel-chosen ports: a TCP echo server, a port that is
 *   bound but not listening (connections to it are refused), a UDP echo
 *   server, and a fake upstream DNS resolver (answers sim_dns_answer());
 *   and on ::1 (IPv6 only) a second TCP echo server, which the guest
 *   reaches over IPv6;
 * - it creates the guest link, socketpair(AF_UNIX, SOCK_DGRAM), and a stop
 *   pipe, and starts ENGINE_SIDE (link end, stop pipe, DNS port) and GUEST
 *   (other link end, the four ports) with the fds at 3 and 4; both die
 *   with the runner (PR_SET_PDEATHSIG), so nothing outlives a killed test;
 * - one poll() loop serves the servers and relays the guest's stdout,
 *   counting its "PASS"/"FAIL" lines, until the guest exits or
 *   RUN_DEADLINE_MS passes (then the guest is killed: FAIL guest_exit);
 * - it closes the stop pipe and gives the engine ENGINE_STOP_MS to exit 0
 *   (FAIL engine_stop otherwise, including sanitizer reports, which make
 *   the exit status non-zero), killing it if it does not.
 *
 * Its own checks: dns_upstream_query (the upstream got the guest's query
 * unchanged, once), host_tcp_half_close and host_tcp6_half_close (each echo
 * server had one connection, got exactly the stream and then EOF: the
 * guest's FIN became shutdown(SHUT_WR)), guest_exit, engine_stop.
 *
 * Published ports: the runner has the engine publish SIM_PUB_* on
 * kernel-chosen 127.0.0.1 ports (TCP ECHO, SOURCE, WHO, CLOSED, DENIED with
 * an ingress deny rule, and UDP). When the guest prints SIM_PUB_READY the
 * runner is their client, one check after the other (run_published()):
 * pub_tcp_echo (SIM_TCP_BYTES out, SHUT_WR, all of them back, then EOF),
 * pub_tcp_fin_first (the guest's SIM_TCP_BYTES and EOF first, then
 * SIM_TCP_BYTES out and SHUT_WR on the half-open connection),
 * pub_peer_address (WHO names 10.0.2.2 and the client's own port),
 * pub_closed_reset and pub_denied_reset (ECONNRESET within
 * PUB_RESET_MS), pub_udp_echo (16, 1400 and 4000 bytes, the last
 * fragmented both ways, back unchanged from the published address); then
 * "quit" to the UDP port ends the guest's serving.
 *
 * Output ends with "N passed, N failed"; the exit status is 0 only when
 * nothing failed and at least one check passed. Every loop is bounded in
 * time; the only addresses used are 127.0.0.1, ::1 and the socketpair.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim_common.h"

#define RUN_DEADLINE_MS		60000
#define ENGINE_STOP_MS		15000
#define MAX_CONNS		8
/* Longest a published-port client check may take, and a reset may be late. */
#define PUB_STREAM_MS		20000
#define PUB_RESET_MS		1000
#define CONN_BUF		(64 * 1024)

/**
 * struct conn - one TCP echo connection
 * @fd:		socket, -1 when the slot is free
 * @v6:		accepted by the IPv6 server
 * @buf:	bytes read and not yet echoed
 * @off:	first byte of @buf not yet written
 * @len:	bytes in @buf
 * @in:		bytes read
 * @out:	bytes written
 * @eof:	the client half-closed
 */
struct conn {
	int fd;
	bool v6;
	uint8_t buf[CONN_BUF];
	size_t off, len;
	size_t in, out;
	bool eof;
};

/**
 * struct tcp_result - what the echo server saw of one finished connection
 */
struct tcp_result {
	size_t in, out;
	bool eof, pattern_ok;
};

static struct conn conns[MAX_CONNS];
/* per server: [0] 127.0.0.1, [1] ::1 */
static struct tcp_result last_tcp[2];
static unsigned n_tcp_done[2];
static unsigned n_dns_queries, n_dns_bad;
static int n_pass, n_fail;
static bool pub_ready;

/**
 * now_ms() - monotonic clock
 *
 * Return: milliseconds
 */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * report() - print a check result of the runner's own
 * @ok:		passed?
 * @name:	check name
 * @fmt:	detail or reason
 */
static void report(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "PASS %s (" : "FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(ok ? ")\n" : "\n");
	if (ok)
		n_pass++;
	else
		n_fail++;
}

/**
 * loopback_socket() - a socket bound to a loopback on a kernel-chosen port
 * @af:		AF_INET (127.0.0.1) or AF_INET6 (::1, IPv6 only)
 * @type:	SOCK_STREAM or SOCK_DGRAM
 * @port:	filled with the port
 *
 * Return: the socket (non-blocking, close-on-exec), -1 on error
 */
static int loopback_socket(int af, int type, uint16_t *port)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in sa4 = { .sin_family = AF_INET };
	struct sockaddr *sa = af == AF_INET6 ? (struct sockaddr *)&sa6 : (struct sockaddr *)&sa4;
	socklen_t sl = af == AF_INET6 ? sizeof(sa6) : sizeof(sa4);
	int fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	sa4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((af == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, sa, sl) || getsockname(fd, sa, &sl)) {
		close(fd);
		return -1;
	}
	*port = ntohs(af == AF_INET6 ? sa6.sin6_port : sa4.sin_port);
	return fd;
}

/**
 * spawn() - start a side with its link fd at 3 and another fd at 4
 * @argv:	program and arguments
 * @fd3:	becomes fd 3
 * @fd4:	becomes fd 4, -1: none
 * @out:	becomes stdout, -1: inherited
 *
 * Every other descriptor of the runner is close-on-exec.
 *
 * Return: the child's pid, -1 on error
 */
static pid_t spawn(char *const argv[], int fd3, int fd4, int out)
{
	pid_t parent = getpid(), pid = fork();
	int a, b = -1, c = -1;

	if (pid)
		return pid;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(127);
	/* Out of the way of 1, 3 and 4 first, then into place (dup2 clears
	 * close-on-exec on the copies). */
	a = fcntl(fd3, F_DUPFD_CLOEXEC, 10);
	if (fd4 >= 0)
		b = fcntl(fd4, F_DUPFD_CLOEXEC, 10);
	if (out >= 0)
		c = fcntl(out, F_DUPFD_CLOEXEC, 10);
	if (a < 0 || (fd4 >= 0 && b < 0) || (out >= 0 && c < 0) || dup2(a, 3) != 3 ||
	    (b >= 0 && dup2(b, 4) != 4) || (c >= 0 && dup2(c, 1) != 1))
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], argv);
	fprintf(stderr, "run_sim: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/**
 * conn_close() - finish an echo connection and remember what it saw
 * @c:		connection
 */
static void conn_close(struct conn *c)
{
	struct tcp_result *r = &last_tcp[c->v6];

	close(c->fd);
	c->fd = -1;
	r->in = c->in;
	r->out = c->out;
	r->eof = c->eof;
	n_tcp_done[c->v6]++;
}

/**
 * conn_accept() - take a new echo connection into a free slot
 * @lfd:	listener
 * @v6:		it is the IPv6 server
 */
static void conn_accept(int lfd, bool v6)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	unsigned i;

	for (i = 0; fd >= 0 && i < MAX_CONNS && conns[i].fd >= 0; i++)
		;
	if (fd >= 0 && i == MAX_CONNS)
		close(fd);
	else if (fd >= 0)
		conns[i] = (struct conn){ .fd = fd, .v6 = v6 };
}

/**
 * conn_io() - serve one echo connection
 * @c:		connection
 * @revents:	poll() result
 */
static void conn_io(struct conn *c, short revents)
{
	ssize_t n;

	if (revents & (POLLIN | POLLHUP | POLLERR) && !c->eof) {
		if (c->off == c->len)
			c->off = c->len = 0;
		if (c->len < CONN_BUF) {
			n = recv(c->fd, c->buf + c->len, CONN_BUF - c->len, 0);
			if (n > 0) {
				size_t i;

				for (i = 0; i < (size_t)n; i++)
					if (c->buf[c->len + i] != sim_pattern(c->in + i))
						last_tcp[c->v6].pattern_ok = false;
				c->len += (size_t)n;
				c->in += (size_t)n;
			} else if (n == 0) {
				c->eof = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				conn_close(c);
				return;
			}
		}
	}
	if (c->off < c->len) {
		n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n > 0) {
			c->off += (size_t)n;
			c->out += (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			conn_close(c);
			return;
		}
	}
	if (c->eof && c->off == c->len)
		conn_close(c);		/* echo done: EOF back to the client */
}

/**
 * udp_echo() - echo every waiting datagram to its sender
 * @fd:		UDP socket
 */
static void udp_echo(int fd)
{
	static uint8_t buf[65536];
	int i;

	for (i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);

		if (n < 0)
			return;
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&ss, sl);
	}
}

/**
 * dns_serve() - the fake upstream: answer each query with sim_dns_answer()
 * @fd:		UDP socket
 */
static void dns_serve(int fd)
{
	uint8_t q[SIM_DNS_MAX], a[SIM_DNS_MAX], want[SIM_DNS_MAX];
	size_t wlen = sim_dns_query(want);
	int i;

	for (i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, q, sizeof(q), MSG_TRUNC, (struct sockaddr *)&ss, &sl);
		size_t alen;

		if (n < 0)
			return;
		n_dns_queries++;
		if ((size_t)n != wlen || memcmp(q, want, wlen)) {
			n_dns_bad++;
			printf("run_sim: upstream got a %zd-byte query that is not the guest's\n", n);
		}
		if (n > (ssize_t)sizeof(q))
			continue;
		alen = sim_dns_answer(q, (size_t)n, a);
		if (alen)
			sendto(fd, a, alen, 0, (struct sockaddr *)&ss, sl);
	}
}

/**
 * relay_guest_output() - copy the guest's stdout through, counting results
 * @fd:		pipe from the guest
 *
 * Return: false at EOF
 */
static bool relay_guest_output(int fd)
{
	static char line[4096];
	static size_t len;
	ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
	char *nl;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0 && len) {
		line[len] = '\n';
		n = 1;
	}
	if (n == 0)
		return false;
	len += (size_t)n;
	while ((nl = memchr(line, '\n', len)) || len == sizeof(line) - 1) {
		size_t l = nl ? (size_t)(nl - line) + 1 : len;

		fwrite(line, 1, l, stdout);
		if (!nl)
			fputc('\n', stdout);
		if (!strncmp(line, SIM_PUB_READY, strlen(SIM_PUB_READY)))
			pub_ready = true;
		if (!strncmp(line, "PASS ", 5))
			n_pass++;
		else if (!strncmp(line, "FAIL ", 5))
			n_fail++;
		memmove(line, line + l, len - l);
		len -= l;
	}
	fflush(stdout);
	return true;
}

/* ---- published ports: the runner as the host's client ---- */

/**
 * pub_connect() - a non-blocking TCP connection to a published port
 * @port:	the port on 127.0.0.1
 *
 * Return: the socket, -1 on error
 */
static int pub_connect(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/**
 * struct pub_stream - one patterned exchange with a published TCP port
 * @tx:		bytes sent (sim_pattern())
 * @rx:		bytes received
 * @eof:	EOF was read
 * @shut:	SHUT_WR done
 * @ok:		every byte received was the pattern's
 * @why:	an error, empty if none
 */
struct pub_stream {
	size_t tx, rx;
	bool eof, shut, ok;
	char why[96];
};

/**
 * pub_exchange() - send SIM_TCP_BYTES and SHUT_WR, read and check until EOF
 * @fd:		connected (or connecting) socket
 * @after_eof:	send only once EOF was read (the guest half-closed first)
 * @s:		filled
 *
 * Return: true if everything was sent and EOF came after SIM_TCP_BYTES
 */
static bool pub_exchange(int fd, bool after_eof, struct pub_stream *s)
{
	static uint8_t buf[CONN_BUF];
	int64_t deadline = now_ms() + PUB_STREAM_MS;

	memset(s, 0, sizeof(*s));
	s->ok = true;
	while (!(s->eof && s->shut) && !s->why[0] && now_ms() < deadline) {
		bool may_send = s->tx < SIM_TCP_BYTES && (!after_eof || s->eof);
		struct pollfd pfd = { .fd = fd, .events = (short)((s->eof ? 0 : POLLIN) |
								   (may_send ? POLLOUT : 0)) };
		ssize_t n;
		size_t i;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR) && !s->eof) {
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			for (i = 0; n > 0 && i < (size_t)n; i++)
				s->ok &= buf[i] == sim_pattern(s->rx + i);
			if (n > 0)
				s->rx += (size_t)n;
			s->eof |= n == 0;
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				snprintf(s->why, sizeof(s->why), "recv: %s", strerror(errno));
		}
		if ((pfd.revents & POLLOUT) && may_send) {
			size_t len = SIM_TCP_BYTES - s->tx < sizeof(buf) ? SIM_TCP_BYTES - s->tx :
									  sizeof(buf);

			for (i = 0; i < len; i++)
				buf[i] = sim_pattern(s->tx + i);
			n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				s->tx += (size_t)n;
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				snprintf(s->why, sizeof(s->why), "send: %s", strerror(errno));
		}
		if (s->tx == SIM_TCP_BYTES && !s->shut)
			s->shut = !shutdown(fd, SHUT_WR);
	}
	if (!s->why[0] && !(s->eof && s->shut))
		snprintf(s->why, sizeof(s->why), "not done within %d ms", PUB_STREAM_MS);
	return !s->why[0] && s->ok && s->rx == SIM_TCP_BYTES && s->tx == SIM_TCP_BYTES;
}

/**
 * pub_stream_check() - checks pub_tcp_echo and pub_tcp_fin_first
 * @name:	check name
 * @port:	published port
 * @after_eof:	as pub_exchange()
 */
static void pub_stream_check(const char *name, uint16_t port, bool after_eof)
{
	struct pub_stream s;
	int fd = pub_connect(port);
	int64_t t0 = now_ms();
	bool ok;

	if (fd < 0) {
		report(false, name, "connect: %s", strerror(errno));
		return;
	}
	ok = pub_exchange(fd, after_eof, &s);
	close(fd);
	report(ok, name, "%zu bytes out, %zu back (%s), %s, %lld ms%s%s", s.tx, s.rx,
	       s.ok ? "intact" : "corrupted", s.eof ? "EOF" : "no EOF",
	       (long long)(now_ms() - t0), s.why[0] ? ": " : "", s.why);
}

/**
 * pub_peer_check() - check pub_peer_address: WHO names 10.0.2.2:<our port>
 * @port:	published port
 */
static void pub_peer_check(uint16_t port)
{
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	char got[64] = "", want[64];
	int fd = pub_connect(port);
	size_t len = 0;
	int64_t deadline = now_ms() + PUB_STREAM_MS;

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&me, &ml)) {
		report(false, "pub_peer_address", "connect: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(want, sizeof(want), "%s:%u\n", SIM_GW_IP, ntohs(me.sin_port));
	while (len < sizeof(got) - 1 && now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recv(fd, got + len, sizeof(got) - 1 - len, MSG_DONTWAIT);
		if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
			break;
		if (n > 0)
			len += (size_t)n;
	}
	close(fd);
	report(!strcmp(got, want), "pub_peer_address", "guest saw '%.*s', client is '%.*s'",
	       (int)strcspn(got, "\n"), got, (int)strcspn(want, "\n"), want);
}

/**
 * pub_reset_check() - check that a client of @port is reset within PUB_RESET_MS
 * @name:	check name
 * @port:	published port
 */
static void pub_reset_check(const char *name, uint16_t port)
{
	int64_t t0 = now_ms();
	int fd = pub_connect(port), err = 0;
	char c;

	while (fd >= 0 && !err && now_ms() < t0 + 5 * PUB_RESET_MS) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != EINTR)
			err = errno;
		else if (!err)
			err = -1;	/* EOF or data: not a reset */
	}
	if (fd >= 0)
		close(fd);
	report(err == ECONNRESET && now_ms() - t0 < PUB_RESET_MS, name, "%s after %lld ms",
	       err > 0 ? strerror(err) : err ? "EOF or data" : "nothing", (long long)(now_ms() - t0));
}

/**
 * pub_udp_check() - check pub_udp_echo: three sizes, back unchanged
 * @port:	published UDP port
 */
static void pub_udp_check(uint16_t port)
{
	static const size_t sizes[3] = { 16, 1400, 4000 };
	static uint8_t out[4000], in[8192];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) }, from;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned i, good = 0;
	size_t j;

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; fd >= 0 && i < 3; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		socklen_t fl = sizeof(from);
		ssize_t n = -1;

		for (j = 0; j < sizes[i]; j++)
			out[j] = (uint8_t)(sim_pattern(j) ^ i);
		sendto(fd, out, sizes[i], 0, (struct sockaddr *)&to, sizeof(to));
		if (poll(&pfd, 1, 5000) > 0)
			n = recvfrom(fd, in, sizeof(in), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		good += n == (ssize_t)sizes[i] && !memcmp(in, out, sizes[i]) &&
			from.sin_port == to.sin_port && from.sin_addr.s_addr == to.sin_addr.s_addr;
	}
	if (fd >= 0) {
		sendto(fd, "quit", 4, 0, (struct sockaddr *)&to, sizeof(to));
		close(fd);
	}
	report(good == 3, "pub_udp_echo", "%u of 3 datagrams (16, 1400, 4000 bytes) echoed "
	       "unchanged from 127.0.0.1:%u", good, port);
}

/**
 * run_published() - be the host's client of every published port
 * @ports:	host ports of SIM_PUB_ECHO, SOURCE, WHO, CLOSED, DENIED, UDP
 */
static void run_published(const uint16_t ports[6])
{
	pub_stream_check("pub_tcp_echo", ports[0], false);
	pub_stream_check("pub_tcp_fin_first", ports[1], true);
	pub_peer_check(ports[2]);
	pub_reset_check("pub_closed_reset", ports[3]);
	pub_reset_check("pub_denied_reset", ports[4]);
	pub_udp_check(ports[5]);
}

/**
 * free_port() - a 127.0.0.1 port of @type nobody has now, for the engine to take
 * @type:	SOCK_STREAM or SOCK_DGRAM
 *
 * Return: the port, 0 on error
 */
static uint16_t free_port(int type)
{
	uint16_t port = 0;
	int fd = loopback_socket(AF_INET, type, &port);

	if (fd < 0)
		return 0;
	close(fd);
	return port;
}

/**
 * wait_exit() - wait for a child, bounded; kill it when the time is up
 * @pid:	child
 * @ms:		how long
 * @status:	filled with its wait status
 *
 * Return: true if it exited on its own
 */
static bool wait_exit(pid_t pid, int ms, int *status)
{
	int64_t deadline = now_ms() + ms;

	while (now_ms() < deadline) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR)
			return true;
		poll(NULL, 0, 10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return false;
}

/**
 * describe() - a wait status in words
 * @status:	from waitpid()
 * @buf:	filled
 * @size:	its size
 *
 * Return: @buf
 */
static const char *describe(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "wait status 0x%x", status);
	return buf;
}

/**
 * report_tcp() - the host's view of one echo server's connection
 * @name:	check name
 * @r:		what it saw
 * @n_done:	connections it finished
 */
static void report_tcp(const char *name, const struct tcp_result *r, unsigned n_done)
{
	bool ok = n_done == 1 && r->in == SIM_TCP_BYTES && r->out == SIM_TCP_BYTES && r->eof &&
		  r->pattern_ok;

	report(ok, name, "%u connection(s) finished; last: %zu bytes in, %zu out, %s, pattern %s",
	       n_done, r->in, r->out, r->eof ? "EOF after the data" : "no EOF",
	       r->pattern_ok ? "intact" : "corrupted");
}

int main(int argc, char **argv)
{
	int lfd, lfd6, closed_fd, ufd, dfd, sv[2], stop[2], gout[2], gstatus = 0, estatus = 0;
	uint16_t tport, tport6, cport, uport, dport;
	char a_t[8], a_t6[8], a_c[8], a_u[8], a_d[8], why[64], a_pub[7][24];
	uint16_t pub_ports[6];
	bool guest_done = false, out_open = true, engine_dead = false, pub_done = false, ok;
	pid_t engine, guest;
	int64_t deadline;
	unsigned i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3) {
		fprintf(stderr, "usage: %s ENGINE_SIDE GUEST\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	last_tcp[0].pattern_ok = last_tcp[1].pattern_ok = true;

	lfd = loopback_socket(AF_INET, SOCK_STREAM, &tport);
	lfd6 = loopback_socket(AF_INET6, SOCK_STREAM, &tport6);
	closed_fd = loopback_socket(AF_INET, SOCK_STREAM, &cport);	/* bound, never listens */
	ufd = loopback_socket(AF_INET, SOCK_DGRAM, &uport);
	dfd = loopback_socket(AF_INET, SOCK_DGRAM, &dport);
	if (lfd < 0 || lfd6 < 0 || closed_fd < 0 || ufd < 0 || dfd < 0 || listen(lfd, 8) ||
	    listen(lfd6, 8) ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) ||
	    pipe2(stop, O_CLOEXEC) || pipe2(gout, O_CLOEXEC | O_NONBLOCK)) {
		perror("run_sim: setup");
		return 2;
	}
	printf("run_sim: tcp echo 127.0.0.1:%u and [::1]:%u, closed port %u, udp echo %u, "
	       "dns %u\n", tport, tport6, cport, uport, dport);
	snprintf(a_t, sizeof(a_t), "%u", tport);
	snprintf(a_t6, sizeof(a_t6), "%u", tport6);
	snprintf(a_c, sizeof(a_c), "%u", cport);
	snprintf(a_u, sizeof(a_u), "%u", uport);
	snprintf(a_d, sizeof(a_d), "%u", dport);
	for (i = 0; i < 6; i++) {
		pub_ports[i] = free_port(i < 5 ? SOCK_STREAM : SOCK_DGRAM);
		snprintf(a_pub[i], sizeof(a_pub[i]), "%s:%u:%u", i < 5 ? "tcp" : "udp",
			 pub_ports[i], SIM_PUB_ECHO + i);
	}
	snprintf(a_pub[6], sizeof(a_pub[6]), "deny:%u", SIM_PUB_DENIED);
	printf("run_sim: published 127.0.0.1 ports %u %u %u %u %u, udp %u\n", pub_ports[0],
	       pub_ports[1], pub_ports[2], pub_ports[3], pub_ports[4], pub_ports[5]);
	fflush(stdout);

	{
		char *eargv[] = { argv[1], "3", "4", a_d, a_pub[0], a_pub[1], a_pub[2], a_pub[3],
				  a_pub[4], a_pub[5], a_pub[6], NULL };
		char *gargv[] = { argv[2], "3", a_t, a_c, a_u, a_t6, NULL };

		engine = spawn(eargv, sv[0], stop[0], -1);
		if (engine < 0) {
			perror("run_sim: fork");
			return 2;
		}
		guest = spawn(gargv, sv[1], -1, gout[1]);
		if (guest < 0) {
			perror("run_sim: fork");
			kill(engine, SIGKILL);
			waitpid(engine, NULL, 0);
			return 2;
		}
	}
	close(sv[0]);
	close(sv[1]);
	close(stop[0]);
	close(gout[1]);

	deadline = now_ms() + RUN_DEADLINE_MS;
	while ((!guest_done || out_open) && now_ms() < deadline) {
		struct pollfd pfd[5 + MAX_CONNS];
		struct conn *slot[MAX_CONNS];
		nfds_t n = 0, base;

		pfd[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ufd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = dfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = out_open ? gout[0] : -1, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = lfd6, .events = POLLIN };
		base = n;
		for (i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];
			short ev = 0;

			if (c->fd < 0)
				continue;
			if (!c->eof && (c->off == c->len || c->len < CONN_BUF))
				ev |= POLLIN;
			if (c->off < c->len)
				ev |= POLLOUT;
			slot[n - base] = c;
			pfd[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
		}
		if (poll(pfd, n, 20) < 0 && errno != EINTR) {
			perror("run_sim: poll");
			break;
		}
		if (pfd[0].revents & POLLIN)
			conn_accept(lfd, false);
		if (pfd[4].revents & POLLIN)
			conn_accept(lfd6, true);
		if (pfd[1].revents & POLLIN)
			udp_echo(ufd);
		if (pfd[2].revents & POLLIN)
			dns_serve(dfd);
		if (pfd[3].revents)
			out_open = relay_guest_output(gout[0]);
		if (pub_ready && !pub_done) {
			run_published(pub_ports);
			pub_done = true;
		}
		for (i = 0; i < n - base; i++)
			if (pfd[base + i].revents)
				conn_io(slot[i], pfd[base + i].revents);
		if (!guest_done && waitpid(guest, &gstatus, WNOHANG) == guest)
			guest_done = true;
		if (!engine_dead && waitpid(engine, &estatus, WNOHANG) == engine) {
			engine_dead = true;
			printf("run_sim: engine exited early (%s)\n",
			       describe(estatus, why, sizeof(why)));
		}
	}

	/* The guest: exited by itself with its failure count, or killed. */
	if (!guest_done) {
		kill(guest, SIGKILL);
		waitpid(guest, &gstatus, 0);
		report(false, "guest_exit", "guest still running after %d ms, killed",
		       RUN_DEADLINE_MS);
	} else {
		ok = WIFEXITED(gstatus) && WEXITSTATUS(gstatus) < 100;
		report(ok, "guest_exit", "%s", describe(gstatus, why, sizeof(why)));
	}
	if (out_open)
		while (relay_guest_output(gout[0]) && now_ms() < deadline + 1000)
			;

	/* Host-side view of the TCP echo connections and the DNS query. */
	report_tcp("host_tcp_half_close", &last_tcp[0], n_tcp_done[0]);
	report_tcp("host_tcp6_half_close", &last_tcp[1], n_tcp_done[1]);
	report(n_dns_queries == 1 && !n_dns_bad, "dns_upstream_query",
	       "%u queries at the upstream, %u not the guest's bytes", n_dns_queries,
	       n_dns_bad);

	/* The engine: stops when the stop pipe closes, exits 0. */
	close(stop[1]);
	if (engine_dead) {
		report(false, "engine_stop", "engine had exited early (%s)",
		       describe(estatus, why, sizeof(why)));
	} else {
		ok = wait_exit(engine, ENGINE_STOP_MS, &estatus);
		report(ok && WIFEXITED(estatus) && WEXITSTATUS(estatus) == 0, "engine_stop",
		       "%s%s", ok ? "" : "killed after timeout, ",
		       describe(estatus, why, sizeof(why)));
	}

	for (i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	close(lfd);
	close(lfd6);
	close(closed_fd);
	close(ufd);
	close(dfd);
	close(gout[0]);
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail || !n_pass ? 1 : 0;
}
