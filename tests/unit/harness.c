// SPDX-License-Identifier: MIT
/**
 * DOC: harness - engine setup, capture output, fake clock, bounded loops
 *
 * See harness.h. Every wait is bounded by wall-clock time, so a missing
 * frame fails a test instead of hanging it (libcheck's own timeout is the
 * second line of defence).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct h_state H;

#define H_MAX_POLLFDS	8192

static struct pollfd h_pfds[H_MAX_POLLFDS];
/* Grows only: the clock never goes back, even across tests in one process. */
static uint64_t h_offset;

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t h_clock(void)
{
	return (uint32_t)(real_ms() + h_offset);
}

uint32_t h_now(void)
{
	return h_clock();
}

/* ---- capture ---- */

/**
 * h_capture() - cfg.output: keep a copy, assert the frame is well formed
 * @user:	unused
 * @frame:	frame
 * @len:	length
 *
 * Return: 0, or -1 while H.output_fail is set
 */
/**
 * h_link_csum() - with cfg.offload, do what the link does to a TCP frame
 * @f:		frame, writable
 * @len:	its length
 *
 * The engine leaves TCP checksums partial (the pseudo-header sum) for a
 * link with checksum offload: complete it over the segment as the kernel
 * does with NEEDS_CSUM. A wrong pseudo-header sum then fails fr_parse()'s
 * checksum check like any wrong checksum.
 */
static void h_link_csum(uint8_t *f, size_t len)
{
	size_t l4;
	uint16_t c;

	if (len > FR_ETH_HLEN + 40 && f[12] == 0x86 && f[13] == 0xdd && f[20] == FR_PROTO_TCP)
		l4 = FR_ETH_HLEN + 40;
	else if (len > FR_ETH_HLEN + 20 && f[12] == 0x08 && f[13] == 0x00 && f[23] == FR_PROTO_TCP)
		l4 = FR_ETH_HLEN + (size_t)(f[14] & 0x0f) * 4;
	else
		return;
	if (len < l4 + 18)
		return;
	c = fr_fold(fr_sum(0, f + l4, len - l4));
	f[l4 + 16] = (uint8_t)(c >> 8);
	f[l4 + 17] = (uint8_t)c;
}

static int h_capture(void *user, const void *frame, size_t len)
{
	struct h_frame *f;
	char why[160] = "";
	int dhcp_bcast, ip6_mcast;
	uint8_t gmac[6];

	(void)user;
	if (H.output_fail)
		return -1;
	if (H.n_frames == H.cap_frames) {
		size_t cap = H.cap_frames ? H.cap_frames * 2 : 64;
		struct h_frame *nf = realloc(H.frames, cap * sizeof(*nf));

		ck_assert_ptr_nonnull(nf);
		H.frames = nf;
		H.cap_frames = cap;
	}
	f = &H.frames[H.n_frames];
	memset(f, 0, sizeof(*f));
	f->data = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(f->data);
	memcpy(f->data, frame, len);
	f->len = len;
	H.n_frames++;
	if (H.cfg.offload)
		h_link_csum(f->data, len);
	ck_assert_msg(fr_parse(f->data, len, &f->p, why, sizeof(why)) == 0,
		      "engine emitted a malformed frame (#%zu, %zu bytes): %s",
		      H.n_frames, len, why);
	ck_assert_msg(!memcmp(f->p.src_mac, fr_gw_mac, 6),
		      "frame #%zu not from the gateway MAC", H.n_frames);
	/* DHCP replies may be broadcast: the client has no address yet */
	dhcp_bcast = f->p.type == FR_ETH_IP4 && f->p.ip_proto == FR_PROTO_UDP &&
		     f->p.sport == 67 && f->p.dport == 68 && f->p.ip_dst == 0xffffffff &&
		     !memcmp(f->p.dst_mac, fr_bcast_mac, 6);
	/* IPv6 to a group (router advertisements, neighbour solicitations)
	 * goes to the group's MAC */
	ip6_mcast = f->p.type == FR_ETH_IP6 && f->p.ip6_dst[0] == 0xff;
	if (ip6_mcast) {
		fr_ip6_mcast_mac(f->p.ip6_dst, gmac);
		ck_assert_msg(!memcmp(f->p.dst_mac, gmac, 6),
			      "frame #%zu to an IPv6 group not to its MAC", H.n_frames);
	}
	ck_assert_msg(!memcmp(f->p.dst_mac, fr_guest_mac, 6) || dhcp_bcast || ip6_mcast ||
			      (f->p.type == FR_ETH_ARP && !memcmp(f->p.dst_mac, fr_bcast_mac, 6)),
		      "frame #%zu (type %#x) not to the guest MAC", H.n_frames, f->p.type);
	if (f->p.type == FR_ETH_IP4 && !dhcp_bcast)
		ck_assert_msg(f->p.ip_dst == FR_GUEST_IP, "frame #%zu not to the guest address",
			      H.n_frames);
	return 0;
}

static void h_log(void *user, int level, const char *msg)
{
	size_t l = strlen(msg);
	char *nl;

	(void)user;
	if (getenv("SN_TEST_LOG"))
		fprintf(stderr, "engine[%d]: %s\n", level, msg);
	nl = realloc(H.log, H.log_len + l + 2);
	if (!nl)
		return;
	H.log = nl;
	memcpy(H.log + H.log_len, msg, l);
	H.log[H.log_len + l] = '\n';
	H.log[H.log_len + l + 1] = '\0';
	H.log_len += l + 1;
}

/* ---- lifecycle ---- */

void h_config(struct sn_config *cfg)
{
	sn_config_init(cfg);
	cfg->output = h_capture;
	cfg->log = h_log;
	cfg->log_level = getenv("SN_TEST_LOG") ? SN_LOG_DEBUG : SN_LOG_WARN;
	/* DNS must never leave the machine: upstream is a dead loopback port
	 * unless a test configures its own. */
	cfg->resolv_conf = "/nonexistent/resolv.conf";
}

int h_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the directory's own fd */
}

/**
 * h_tracked_open() - how many of the test's tracked fds are still open
 *
 * Return: count
 */
static int h_tracked_open(void)
{
	int i, n = 0;

	for (i = 0; i < H.n_fds; i++)
		n += H.fds[i] >= 0;
	return n;
}

void h_assert_fds(int extra)
{
	int now = h_fd_count(), want = H.fd_engine + h_tracked_open() + extra;

	ck_assert_msg(now == want, "%d fds open while the engine runs, %d expected "
		      "(%d at its start, %d the test's, %d of live flows)", now, want,
		      H.fd_engine, h_tracked_open(), extra);
}

/**
 * h_reset_capture() - forget captured frames and log lines
 */
static void h_reset_capture(void)
{
	for (size_t k = 0; k < H.n_frames; k++)
		free(H.frames[k].data);
	free(H.frames);
	H.frames = NULL;
	H.n_frames = H.cap_frames = 0;
	free(H.log);
	H.log = NULL;
	H.log_len = 0;
}

void h_prepare(void)
{
	if (H.prepared)
		return;
	H.n_fds = 0;
	H.fd_baseline = h_fd_count();
	H.prepared = 1;
}

void h_start(const struct sn_config *cfg)
{
	ck_assert_ptr_null(H.e);
	h_prepare();
	h_reset_capture();
	H.output_fail = 0;
	H.answer_ns = 0;
	sn_port_set_clock(h_clock);
	H.cfg = *cfg;
	H.e = sn_engine_new(cfg);
	ck_assert_msg(H.e != NULL, "sn_engine_new: %s (%s)", sn_strerror(), strerror(errno));
	/* lwIP announces the gateway once (gratuitous ARP) when the link
	 * comes up: allowed, and nothing else may come unasked. */
	for (size_t i = 0; i < H.n_frames; i++) {
		const struct fr_parsed *p = &H.frames[i].p;

		ck_assert_msg(p->type == FR_ETH_ARP && p->arp_op == 1 && p->arp_spa == FR_GW_IP &&
				      p->arp_tpa == FR_GW_IP,
			      "unexpected frame at startup (type %#x)", p->type);
		H.frames[i].taken = 1;
	}
	H.out0 = h_stats();
	H.fd_engine = h_fd_count() - h_tracked_open();
}

void h_stop(void)
{
	int i, now;

	for (i = 0; i < H.n_fds; i++)
		if (H.fds[i] >= 0)
			close(H.fds[i]);
	H.n_fds = 0;
	if (H.e) {
		sn_engine_free(H.e);
		H.e = NULL;
	}
	h_reset_capture();
	H.prepared = 0;
	now = h_fd_count();
	ck_assert_msg(now == H.fd_baseline, "fd leak: %d fds open after sn_engine_free, %d before",
		      now, H.fd_baseline);
}

void h_setup_default(void)
{
	struct sn_config cfg;

	h_config(&cfg);
	h_start(&cfg);
}

void h_setup_host(void)
{
	struct sn_config cfg;

	h_config(&cfg);
	cfg.allow_host_loopback = 1;
	h_start(&cfg);
}

void h_setup_offload(void)
{
	struct sn_config cfg;

	h_config(&cfg);
	cfg.allow_host_loopback = 1;
	cfg.offload = 1;
	h_start(&cfg);
}

void h_teardown(void)
{
	h_stop();
}

uint64_t h_frames_out(void)
{
	return h_stats().frames_out - H.out0.frames_out;
}

uint64_t h_bytes_out(void)
{
	return h_stats().bytes_out - H.out0.bytes_out;
}

struct sn_stats h_stats(void)
{
	struct sn_stats st;

	sn_engine_stats(H.e, &st);
	return st;
}

/**
 * struct h_flows_ctx - where h_flows() collects
 * @out:	the caller's array
 * @max:	its size
 * @n:		flows seen
 */
struct h_flows_ctx {
	struct sn_flow_info *out;
	unsigned max, n;
};

/**
 * flow_collect() - sn_flow_fn for h_flows(): copy the flow into the array
 * @ctx:	struct h_flows_ctx
 * @f:		the flow
 *
 * Return: 0 (the walk goes on; what does not fit is counted, not kept)
 */
static int flow_collect(void *ctx, const struct sn_flow_info *f)
{
	struct h_flows_ctx *c = ctx;

	if (c->n < c->max)
		c->out[c->n] = *f;
	c->n++;
	return 0;
}

unsigned h_flows(struct sn_flow_info *out, unsigned max)
{
	struct h_flows_ctx c = { .out = out, .max = max };
	unsigned n = sn_engine_flows(H.e, flow_collect, &c);

	ck_assert_uint_eq(n, c.n);
	return n;
}

/* ---- the loop ---- */

int h_send(const void *frame, size_t len)
{
	return sn_engine_input(H.e, frame, len);
}

/**
 * h_step_with() - one poll loop round, also waiting on a host fd of the test's
 * @max_ms:	longest sleep
 * @extra:	test fd to wait on too, or -1
 *
 * Return: 1 if @extra is readable
 */
static int h_step_with(int max_ms, int extra)
{
	int n = sn_engine_pollfds(H.e, h_pfds, H_MAX_POLLFDS - 1);
	int t = sn_engine_timeout_ms(H.e), rc, ready = 0;

	ck_assert_int_ge(t, -1);
	if (t < 0 || t > max_ms)
		t = max_ms;
	if (extra >= 0)
		h_pfds[n] = (struct pollfd){ .fd = extra, .events = POLLIN };
	rc = poll(h_pfds, (nfds_t)n + (extra >= 0), t);
	ck_assert_msg(rc >= 0 || errno == EINTR, "poll: %s", strerror(errno));
	if (extra >= 0 && rc > 0 && h_pfds[n].revents)
		ready = 1;
	sn_engine_dispatch(H.e, h_pfds, rc > 0 ? n : 0);
	if (H.answer_ns)
		h_answer_ns();
	return ready;
}

void h_step(int max_ms)
{
	h_step_with(max_ms, -1);
}

void h_run(int ms)
{
	uint64_t end = real_ms() + (uint64_t)ms;

	do
		h_step(5);
	while (real_ms() < end);
}

void h_clock_advance(uint32_t ms)
{
	while (ms) {
		uint32_t step = ms > (1u << 29) ? (1u << 29) : ms;

		h_offset += step;
		ms -= step;
		if (H.e)
			sn_engine_dispatch(H.e, NULL, 0);
	}
}

/* ---- frames ---- */

/**
 * is_gw_ns() - h_pred: a neighbour solicitation from the gateway
 * @p:		frame
 * @arg:	unused
 *
 * Return: 1 if it is one
 */
static int is_gw_ns(const struct fr_parsed *p, const void *arg)
{
	(void)arg;
	return p->type == FR_ETH_IP6 && p->l4 && p->ip6_nexth == FR_PROTO_ICMP6 &&
	       p->icmp_type == 135 && p->l4_len >= 24 &&
	       (!memcmp(p->ip6_src, fr_gw_ll6, 16) || !memcmp(p->ip6_src, fr_gw_ip6, 16));
}

void h_answer_ns(void)
{
	static uint8_t fb[FR_L4_OFF6 + 64];
	const struct fr_parsed *p;

	while ((p = h_find(is_gw_ns, NULL))) {
		uint8_t na[32] = { 136 }, target[16], dst[16];

		ck_assert_uint_eq(p->ip6_hoplim, 255);
		memcpy(target, p->l4 + 8, 16);
		memcpy(dst, p->ip6_src, 16);
		na[4] = 0x60;			/* solicited, override */
		memcpy(na + 8, target, 16);
		na[24] = 2;			/* target link-layer address */
		na[25] = 1;
		memcpy(na + 26, fr_guest_mac, 6);
		ck_assert_int_eq(h_send(fb, fr_icmp6_frame(fb, target, dst, 255, na, sizeof(na))),
				 0);
	}
}

const struct fr_parsed *h_find(h_pred pred, const void *arg)
{
	size_t i;

	for (i = 0; i < H.n_frames; i++) {
		struct h_frame *f = &H.frames[i];

		if (f->taken || (pred && !pred(&f->p, arg)))
			continue;
		f->taken = 1;
		return &f->p;
	}
	return NULL;
}

const struct fr_parsed *h_wait(h_pred pred, const void *arg, int ms)
{
	uint64_t end = real_ms() + (uint64_t)ms;
	const struct fr_parsed *p;

	for (;;) {
		p = h_find(pred, arg);
		if (p || real_ms() >= end)
			return p;
		h_step(5);
	}
}

size_t h_untaken(void)
{
	size_t i, n = 0;

	for (i = 0; i < H.n_frames; i++)
		n += !H.frames[i].taken;
	return n;
}

void h_take_all(void)
{
	size_t i;

	for (i = 0; i < H.n_frames; i++)
		H.frames[i].taken = 1;
}

void h_forget_taken(void)
{
	size_t i, n = 0;

	for (i = 0; i < H.n_frames; i++) {
		if (H.frames[i].taken)
			free(H.frames[i].data);
		else
			H.frames[n++] = H.frames[i];	/* parsed pointers follow data */
	}
	H.n_frames = n;
}

int h_match(const struct fr_parsed *p, const void *arg)
{
	const struct h_match *m = arg;

	if (m->type && p->type != m->type)
		return 0;
	if (m->proto && (p->type != FR_ETH_IP4 || p->ip_proto != m->proto))
		return 0;
	if (m->src && p->ip_src != m->src)
		return 0;
	if (m->sport && p->sport != m->sport)
		return 0;
	if (m->dport && p->dport != m->dport)
		return 0;
	if ((p->flags & m->flags) != m->flags || (p->flags & m->noflags))
		return 0;
	if (m->icmp_type && p->icmp_type != m->icmp_type - 1)
		return 0;
	if (p->plen < m->min_plen)
		return 0;
	return 1;
}

/* ---- host sockets ---- */

int h_track_fd(int fd)
{
	ck_assert_int_ge(fd, 0);
	ck_assert_int_lt(H.n_fds, (int)(sizeof(H.fds) / sizeof(H.fds[0])));
	H.fds[H.n_fds++] = fd;
	return fd;
}

void h_close_fd(int fd)
{
	int i;

	for (i = 0; i < H.n_fds; i++)
		if (H.fds[i] == fd)
			H.fds[i] = -1;
	close(fd);
}

socklen_t h_loopback(int af, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		return sizeof(*sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*sin);
}

/**
 * h_port_of() - the port a socket is bound to
 * @fd:		socket
 *
 * Return: the port
 */
static uint16_t h_port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int h_tcp_listen(int af, uint16_t *port, int backlog, int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t sl = h_loopback(af, *port, &ss);
	int one = 1, fd = h_track_fd(socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0));

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (af == AF_INET6)
		ck_assert_int_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	if (rcvbuf)
		ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)&ss, sl) == 0, "bind port %u: %s", *port,
		      strerror(errno));
	ck_assert_int_eq(listen(fd, backlog), 0);
	*port = h_port_of(fd);
	return fd;
}

uint16_t h_free_tcp_port(void)
{
	struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int zero = 0, fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint16_t port;

	/* bound on both families' any-address: free on both loopbacks */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&any, sizeof(any)), 0);
	port = h_port_of(fd);
	close(fd);	/* bound, never listened: connects to it are refused */
	return port;
}

int h_udp_bind(uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = h_loopback(AF_INET, *port, &ss);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	ck_assert_int_ge(fd, 0);
	if (bind(fd, (struct sockaddr *)&ss, sl)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	*port = h_port_of(fd);
	return h_track_fd(fd);
}

int h_run_until_ready(int fd, int ms)
{
	uint64_t end = real_ms() + (uint64_t)ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		if (poll(&pfd, 1, 0) > 0 && pfd.revents)
			return 1;
		if (real_ms() >= end)
			return 0;
		if (h_step_with(5, fd))
			return 1;
	}
}

int h_accept(int lfd, int ms)
{
	if (!h_run_until_ready(lfd, ms))
		return -1;
	return h_track_fd(accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
}

size_t h_recv_exact(int fd, void *buf, size_t len, int ms)
{
	uint64_t end = real_ms() + (uint64_t)ms;
	size_t got = 0;

	while (got < len) {
		ssize_t n;
		uint64_t now = real_ms();

		if (now >= end || !h_run_until_ready(fd, (int)(end - now)))
			break;
		n = recv(fd, (uint8_t *)buf + got, len - got, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n < 0) {
			ck_assert_msg(errno == EAGAIN || errno == EINTR, "recv: %s", strerror(errno));
			continue;
		}
		got += (size_t)n;
	}
	return got;
}
