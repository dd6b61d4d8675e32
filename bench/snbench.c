// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - snbench, the request/response half of bench/run.sh
 *
 * iperf3 measures bulk throughput; this measures what it cannot, through
 * whatever stack carries the guest's connections:
 *
 * - ``snbench server PORT``: one epoll loop on 0.0.0.0 and [::] at PORT that
 *   echoes every byte it reads, on any number of connections (up to
 *   SNB_MAX_CONNS);
 * - ``snbench rr HOST PORT SECS``: one connection, one byte each way per
 *   transaction, back to back for SECS seconds: transactions per second
 *   and the 50th and 99th percentile of their latency (netperf's TCP_RR);
 * - ``snbench crr HOST PORT SECS``: connect, one byte each way, close, for
 *   SECS seconds: connections per second (netperf's TCP_CRR);
 * - ``snbench hold HOST PORT N SECS``: open N connections, each echoing one
 *   byte (so it exists end to end), print "held N", then keep them idle
 *   until stdin closes or SECS pass;
 * - ``snbench relay LHOST LPORT THOST TPORT``: accept at LHOST:LPORT and
 *   carry each connection to THOST:TPORT with splice() through a pipe each
 *   way, until killed: the least work any user-mode process can do to put
 *   itself in a TCP path (no copy through user space, no TCP of its own):
 *   bench/run.sh's "relay" stack, a reference for what that costs.
 *
 * Results are one line of "key value" pairs on stdout. Every wait is
 * bounded (SNB_IO_MS per operation, SECS per run); a failure prints why on
 * stderr and exits 1. Clients take an IPv4 or IPv6 literal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Longest wait for one connect, send or receive. */
#define SNB_IO_MS	5000
/* Connections the server and a hold client keep at once. */
#define SNB_MAX_CONNS	8192
/* Latency samples kept by rr (beyond them the rate still counts). */
#define SNB_MAX_SAMPLES	((size_t)4 * 1024 * 1024)

/**
 * now_ns() - monotonic clock
 *
 * Return: nanoseconds
 */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/**
 * die() - report a failure and exit 1
 * @what:	what failed
 */
static void die(const char *what)
{
	fprintf(stderr, "snbench: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

/**
 * more_fds() - raise the fd limit to its hard maximum
 */
static void more_fds(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/**
 * addr_parse() - an IPv4 or IPv6 literal and a port as a socket address
 * @host:	literal
 * @port:	port text
 * @ss:		filled
 *
 * Return: the address length
 */
static socklen_t addr_parse(const char *host, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	int p = atoi(port);

	memset(ss, 0, sizeof(*ss));
	if (p <= 0 || p > 65535) {
		errno = EINVAL;
		die("port");
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		return sizeof(*s6);
	}
	errno = EINVAL;
	die("address (an IPv4 or IPv6 literal)");
	return 0;
}

/**
 * wait_fd() - wait for @events on @fd, at most SNB_IO_MS
 * @fd:		socket
 * @events:	POLLIN or POLLOUT
 * @what:	for the failure message
 */
static void wait_fd(int fd, short events, const char *what)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int rc;

	do
		rc = poll(&pfd, 1, SNB_IO_MS);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0) {
		if (!rc)
			errno = ETIMEDOUT;
		die(what);
	}
}

/**
 * dial_start() - a non-blocking TCP socket (Nagle off) whose connect() is under way
 * @sa:		address
 * @len:	its length
 *
 * Return: the socket
 */
static int dial_start(const struct sockaddr_storage *sa, socklen_t len)
{
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (connect(fd, (const struct sockaddr *)sa, len) && errno != EINPROGRESS)
		die("connect");
	return fd;
}

/**
 * dial() - a connected TCP socket (non-blocking, Nagle off), bounded by SNB_IO_MS
 * @sa:		address
 * @len:	its length
 *
 * Return: the socket
 */
static int dial(const struct sockaddr_storage *sa, socklen_t len)
{
	int fd = dial_start(sa, len), err = 0;
	socklen_t el = sizeof(err);

	wait_fd(fd, POLLOUT, "connect");
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
		errno = err;
		die("connect");
	}
	return fd;
}

/**
 * exchange() - send one byte, read the echo, bounded by SNB_IO_MS each
 * @fd:		connected socket, non-blocking
 */
static void exchange(int fd)
{
	char b = 'x';
	ssize_t n;

	while ((n = send(fd, &b, 1, MSG_NOSIGNAL)) < 0 && (errno == EAGAIN || errno == EINTR))
		wait_fd(fd, POLLOUT, "send");
	if (n != 1)
		die("send");
	for (;;) {
		n = recv(fd, &b, 1, 0);
		if (n == 1)
			return;
		if (!n) {
			errno = ECONNRESET;
			die("recv: connection closed");
		}
		if (errno != EAGAIN && errno != EINTR)
			die("recv");
		wait_fd(fd, POLLIN, "recv");
	}
}

/**
 * cmp_u32() - qsort() order of latencies
 * @a:		one
 * @b:		other
 *
 * Return: <0, 0, >0
 */
static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/**
 * cmd_rr() - request/response on one connection
 * @argv:	HOST PORT SECS
 *
 * Return: 0
 */
static int cmd_rr(char **argv)
{
	struct sockaddr_storage sa;
	socklen_t len = addr_parse(argv[0], argv[1], &sa);
	uint64_t end, t0, start, n = 0;
	uint32_t *lat = malloc(SNB_MAX_SAMPLES * sizeof(*lat));
	size_t k = 0;
	int fd;

	if (!lat)
		die("malloc");
	fd = dial(&sa, len);
	exchange(fd);		/* warm up: the path exists end to end */
	start = now_ns();
	end = start + (uint64_t)atoi(argv[2]) * 1000000000u;
	do {
		t0 = now_ns();
		exchange(fd);
		if (k < SNB_MAX_SAMPLES)
			lat[k++] = (uint32_t)((now_ns() - t0) / 1000);
		n++;
	} while (now_ns() < end);
	close(fd);
	qsort(lat, k, sizeof(*lat), cmp_u32);
	printf("transactions %llu rate %.1f p50_us %u p99_us %u\n", (unsigned long long)n,
	       (double)n * 1e9 / (double)(now_ns() - start), lat[k / 2], lat[k * 99 / 100]);
	free(lat);
	return 0;
}

/**
 * cmd_crr() - connect, one byte each way, close; as many as possible
 * @argv:	HOST PORT SECS
 *
 * Return: 0
 */
static int cmd_crr(char **argv)
{
	struct sockaddr_storage sa;
	socklen_t len = addr_parse(argv[0], argv[1], &sa);
	uint64_t start = now_ns(), end = start + (uint64_t)atoi(argv[2]) * 1000000000u, n = 0;

	do {
		int fd = dial(&sa, len);

		exchange(fd);
		close(fd);
		n++;
	} while (now_ns() < end);
	printf("connections %llu rate %.1f\n", (unsigned long long)n,
	       (double)n * 1e9 / (double)(now_ns() - start));
	return 0;
}

/**
 * cmd_hold() - open N connections and keep them idle
 * @argv:	HOST PORT N SECS
 *
 * Return: 0
 */
static int cmd_hold(char **argv)
{
	struct sockaddr_storage sa;
	socklen_t len = addr_parse(argv[0], argv[1], &sa);
	int n = atoi(argv[2]), secs = atoi(argv[3]), i;
	struct pollfd in = { .fd = 0, .events = POLLIN };
	char c;

	if (n < 1 || n > SNB_MAX_CONNS) {
		errno = EINVAL;
		die("N");
	}
	more_fds();
	for (i = 0; i < n; i++)
		exchange(dial(&sa, len));
	printf("held %d\n", n);
	fflush(stdout);
	/* until stdin closes (or has anything), bounded */
	if (poll(&in, 1, secs * 1000) > 0)
		(void)!read(0, &c, 1);
	return 0;		/* exit closes them all */
}

/**
 * listen_on() - a listener on the any-address of a family, added to @ep
 * @ep:		epoll fd
 * @fam:	AF_INET or AF_INET6 (IPv6 only)
 * @port:	port
 *
 * Return: the listener, or -1 if that family is not available
 */
static int listen_on(int ep, int fam, int port)
{
	struct sockaddr_storage ss;
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t len;
	int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (fam == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		len = sizeof(*s6);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 }, sizeof(int));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 4096)) {
		close(fd);
		return -1;
	}
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		die("epoll_ctl");
	return fd;
}

/**
 * serve_accept() - accept every pending connection of a listener
 * @ep:		epoll fd
 * @lfd:	listener
 * @n:		connections open, updated
 */
static void serve_accept(int ep, int lfd, int *n)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c < 0)
			return;
		if (*n >= SNB_MAX_CONNS) {
			close(c);
			continue;
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		ev.data.fd = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev)) {
			close(c);
			continue;
		}
		(*n)++;
	}
}

/**
 * serve_echo() - echo what a connection sent; close it at its end
 * @fd:		connection
 * @n:		connections open, updated
 *
 * Echoes are a byte or a few: a full send buffer cannot happen with these
 * clients, and a short send ends the connection rather than block the loop.
 */
static void serve_echo(int fd, int *n)
{
	char buf[4096];
	ssize_t r = recv(fd, buf, sizeof(buf), 0);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0 || send(fd, buf, (size_t)r, MSG_NOSIGNAL | MSG_DONTWAIT) != r) {
		close(fd);	/* also leaves the epoll set */
		(*n)--;
	}
}

/**
 * cmd_server() - the echo server, until killed
 * @argv:	PORT
 */
static void __attribute__((noreturn)) cmd_server(char **argv)
{
	struct epoll_event evs[256];
	int ep = epoll_create1(EPOLL_CLOEXEC), port = atoi(argv[0]), l4, l6, n = 0, i, k;

	if (ep < 0)
		die("epoll_create1");
	more_fds();
	l4 = listen_on(ep, AF_INET, port);
	l6 = listen_on(ep, AF_INET6, port);
	if (l4 < 0 && l6 < 0)
		die("listen");
	for (;;) {
		k = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < k; i++) {
			int fd = evs[i].data.fd;

			if (fd == l4 || fd == l6)
				serve_accept(ep, fd, &n);
			else
				serve_echo(fd, &n);
		}
	}
}

/* Bytes a relay's pipe holds each way (F_SETPIPE_SZ; the default max). */
#define SNB_PIPE_BYTES	(1024 * 1024)

/**
 * struct relay_half - one direction of a relayed connection
 * @from:	socket read
 * @to:		socket written
 * @pipe:	splice()'s buffer between them
 * @queued:	bytes in @pipe
 * @eof:	@from has ended
 * @mask:	epoll events @from is registered for
 */
struct relay_half {
	int from, to, pipe[2];
	size_t queued;
	int eof;
	uint32_t mask;
};

/**
 * struct relay_pair - a relayed connection: both directions
 * @half:	guest side to target, target to guest side
 * @cap:	bytes @pipe holds
 */
struct relay_pair {
	struct relay_half half[2];
	size_t cap;
};

/**
 * relay_pump() - move what one direction can move now
 * @h:		the direction
 * @cap:	its pipe's size
 *
 * Return: 0, or -1 when the connection failed
 */
static int relay_pump(struct relay_half *h, size_t cap)
{
	unsigned int flags = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;
	int i;

	for (i = 0; i < 64; i++) {	/* bounded: others get their turn */
		ssize_t in = 0, out = 0;

		if (!h->eof && h->queued < cap) {
			in = splice(h->from, NULL, h->pipe[1], NULL, cap - h->queued, flags);
			if (!in)
				h->eof = 1;
			else if (in < 0 && errno != EAGAIN)
				return -1;
			if (in > 0)
				h->queued += (size_t)in;
		}
		if (h->queued) {
			out = splice(h->pipe[0], NULL, h->to, NULL, h->queued, flags);
			if (out < 0 && errno != EAGAIN)
				return -1;
			if (out > 0)
				h->queued -= (size_t)out;
		}
		if (in <= 0 && out <= 0)
			break;
	}
	if (h->eof && !h->queued)
		shutdown(h->to, SHUT_WR);
	return 0;
}

/**
 * relay_events() - what a pair's sockets wait for now; epoll is told only of
 *		    a change, so a wake-up costs no epoll_ctl() in the steady state
 * @ep:		epoll fd
 * @p:		the pair
 */
static void relay_events(int ep, struct relay_pair *p)
{
	int i;

	for (i = 0; i < 2; i++) {
		/* half[i].from is half[1 - i].to */
		struct relay_half *rd = &p->half[i];
		const struct relay_half *wr = &p->half[1 - i];
		struct epoll_event ev = { .data.ptr = p };

		if (!rd->eof && rd->queued < p->cap)
			ev.events |= EPOLLIN;
		if (wr->queued)
			ev.events |= EPOLLOUT;
		if (ev.events == rd->mask)
			continue;
		rd->mask = ev.events;
		epoll_ctl(ep, EPOLL_CTL_MOD, rd->from, &ev);
	}
}

/**
 * relay_close() - end a pair: its sockets and pipes
 * @p:		the pair
 * @n:		pairs open, updated
 */
static void relay_close(struct relay_pair *p, int *n)
{
	int i;

	for (i = 0; i < 2; i++) {
		close(p->half[i].from);
		close(p->half[i].pipe[0]);
		close(p->half[i].pipe[1]);
	}
	free(p);
	(*n)--;
}

/**
 * relay_open() - accept one connection and start dialling its target
 * @ep:		epoll fd
 * @lfd:	listener
 * @sa:		target
 * @len:	its length
 * @n:		pairs open, updated
 *
 * The dial is not waited for: until it completes, splice() into the target
 * fails with EAGAIN and EPOLLOUT (asked for while data is queued) says when
 * it can go; a refused dial shows as EPOLLERR and a splice() error.
 *
 * Return: 0, or -1 when nothing was pending
 */
static int relay_open(int ep, int lfd, const struct sockaddr_storage *sa, socklen_t len, int *n)
{
	int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), t, i;
	struct relay_pair *p;

	if (c < 0)
		return -1;
	p = calloc(1, sizeof(*p));
	if (!p || *n >= SNB_MAX_CONNS) {
		free(p);
		close(c);
		return 0;
	}
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	t = dial_start(sa, len);
	p->half[0].from = p->half[1].to = c;
	p->half[1].from = p->half[0].to = t;
	for (i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };

		if (pipe2(p->half[i].pipe, O_NONBLOCK | O_CLOEXEC))
			die("pipe2");
		p->cap = (size_t)fcntl(p->half[i].pipe[1], F_SETPIPE_SZ, SNB_PIPE_BYTES);
		if ((ssize_t)p->cap <= 0)
			p->cap = (size_t)fcntl(p->half[i].pipe[1], F_GETPIPE_SZ);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, p->half[i].from, &ev))
			die("epoll_ctl");
		p->half[i].mask = ev.events;
	}
	(*n)++;
	return 0;
}

/**
 * cmd_relay() - the splice() relay, until killed
 * @argv:	LHOST LPORT THOST TPORT
 */
static void __attribute__((noreturn)) cmd_relay(char **argv)
{
	struct sockaddr_storage la, ta;
	socklen_t llen = addr_parse(argv[0], argv[1], &la), tlen = addr_parse(argv[2], argv[3], &ta);
	struct epoll_event evs[256], lev = { .events = EPOLLIN, .data.ptr = NULL };
	int ep = epoll_create1(EPOLL_CLOEXEC), n = 0, i, k;
	int lfd = socket(la.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (ep < 0 || lfd < 0)
		die("socket");
	more_fds();
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (bind(lfd, (struct sockaddr *)&la, llen) || listen(lfd, 4096))
		die("listen");
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev))
		die("epoll_ctl");
	for (;;) {
		k = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < k; i++) {
			struct relay_pair *p = evs[i].data.ptr;

			if (!p) {
				while (!relay_open(ep, lfd, &ta, tlen, &n))
					;
				continue;
			}
			if (relay_pump(&p->half[0], p->cap) || relay_pump(&p->half[1], p->cap) ||
			    (p->half[0].eof && p->half[1].eof && !p->half[0].queued &&
			     !p->half[1].queued))
				relay_close(p, &n);
			else
				relay_events(ep, p);
		}
	}
}

/**
 * main() - dispatch to the command
 * @argc:	argument count
 * @argv:	arguments
 *
 * Return: 0 on success, 1 on failure, 2 on usage errors
 */
int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "server"))
		cmd_server(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "rr"))
		return cmd_rr(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "crr"))
		return cmd_crr(argv + 2);
	if (argc == 6 && !strcmp(argv[1], "hold"))
		return cmd_hold(argv + 2);
	if (argc == 6 && !strcmp(argv[1], "relay"))
		cmd_relay(argv + 2);
	fprintf(stderr, "usage: snbench server PORT | rr HOST PORT SECS | crr HOST PORT SECS |"
		" hold HOST PORT N SECS |\n       relay LHOST LPORT THOST TPORT\n");
	return 2;
}
