/* SPDX-License-Identifier: MIT */
/**
 * DOC: harness - one engine in-process, a capture, a fake clock
 *
 * h_start() creates the engine with cfg.output set to a capture: every
 * frame the engine emits is copied, parsed with fr_parse() and asserted
 * well formed (checksums included) and addressed from the gateway's MAC to
 * the guest's (or broadcast: ARP, and DHCP replies to 255.255.255.255:68;
 * or, for IPv6 to a group such as ff02::1, the group's 33:33 MAC).
 * Tests then wait for frames with h_wait(), which runs the
 * engine's poll loop (sn_engine_pollfds(), poll(), sn_engine_dispatch()) in
 * small steps until a matching frame shows up or a bound of wall-clock
 * time passes.
 *
 * The clock the engine sees (sys_now(), via sn_port_set_clock()) is the real
 * monotonic clock plus an offset that only grows: h_clock_advance() jumps it
 * forward, so idle timeouts are tested without sleeping. It never goes back,
 * even across tests run in one process (CK_FORK=no).
 *
 * Host sockets the test opens are registered with h_track_fd() and closed
 * by h_stop(), which then checks that the process has exactly the fds it
 * had before h_start(): the engine leaked none. While the engine runs,
 * h_assert_fds() checks the same against the fds it had right after
 * start-up, so a flow that ended must have closed its host socket already.
 *
 * With H.answer_ns set (IPv6 tests), every round of the loop answers the
 * gateway's neighbour solicitations for the guest's addresses as a guest
 * would: lwIP resolves the guest's MAC before its first unicast IPv6
 * packet.
 */
#ifndef SANDNET_TEST_HARNESS_H
#define SANDNET_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <check.h>

#include "frames.h"
#include "sandnet/sandnet.h"

/* Declared by port/sys_arch.c; not in a public header on purpose. */
void sn_port_set_clock(uint32_t (*clock)(void));

/* Upper bound for every wait: no test hangs on a missing frame. */
#define H_WAIT_MS	2000

/**
 * struct h_frame - one captured frame
 * @data:	its bytes (owned)
 * @len:	length
 * @p:		parsed, pointers into @data
 * @taken:	a test has consumed it with h_wait()
 */
struct h_frame {
	uint8_t *data;
	size_t len;
	struct fr_parsed p;
	int taken;
};

struct h_state {
	struct sn_engine *e;
	struct sn_config cfg;
	struct h_frame *frames;
	size_t n_frames, cap_frames;
	int output_fail;		/* capture returns -1 while set */
	int fds[64];
	int n_fds;
	int fd_baseline;
	int fd_engine;			/* fds after h_start(), tracked ones not counted */
	int prepared;
	int answer_ns;			/* answer neighbour solicitations (h_start() clears) */
	struct sn_stats out0;		/* counters right after startup */
	char *log;			/* engine log lines, for failure messages */
	size_t log_len;
};

extern struct h_state H;

/**
 * h_config() - defaults for tests: sn_config_init(), capture output, quiet log
 * @cfg:	filled
 */
void h_config(struct sn_config *cfg);

/**
 * h_prepare() - note the process's fds before a test opens any (idempotent)
 *
 * h_start() calls it; call it first to open tracked sockets before the
 * engine exists (say, to put their ports in the config).
 */
void h_prepare(void);

/**
 * h_start() - create the engine (asserting success)
 * @cfg:	config from h_config(), possibly changed
 */
void h_start(const struct sn_config *cfg);

/**
 * h_stop() - free the engine, close tracked fds, assert no fd leaked
 */
void h_stop(void);

/* checked-fixture wrappers for the common case */
void h_setup_default(void);
void h_setup_host(void);		/* allow_host_loopback = 1 */
void h_setup_offload(void);		/* the same with cfg.offload (frames completed as the link would) */
void h_teardown(void);

/**
 * h_send() - hand one frame to the engine
 * @frame:	bytes
 * @len:	length
 *
 * Return: sn_engine_input()'s return value
 */
int h_send(const void *frame, size_t len);

/**
 * h_step() - one round of the poll loop
 * @max_ms:	longest poll() sleep
 */
void h_step(int max_ms);

/**
 * h_run() - run the poll loop for @ms of wall-clock time
 * @ms:		duration
 */
void h_run(int ms);

/**
 * h_clock_advance() - move the engine's clock forward and dispatch
 * @ms:		milliseconds to jump (any size; done in steps below 2^30)
 */
void h_clock_advance(uint32_t ms);

/**
 * h_now() - the engine's current clock
 *
 * Return: milliseconds
 */
uint32_t h_now(void);

typedef int (*h_pred)(const struct fr_parsed *p, const void *arg);

/**
 * h_find() - first captured frame not yet taken that matches, without waiting
 * @pred:	predicate (NULL: any)
 * @arg:	passed to @pred
 *
 * Return: the parsed frame, now taken, or NULL
 */
const struct fr_parsed *h_find(h_pred pred, const void *arg);

/**
 * h_wait() - run the loop until a matching frame is captured
 * @pred:	predicate (NULL: any frame)
 * @arg:	passed to @pred
 * @ms:		bound
 *
 * Return: the frame, now taken, or NULL after @ms
 */
const struct fr_parsed *h_wait(h_pred pred, const void *arg, int ms);

/**
 * h_untaken() - how many captured frames no test has taken
 *
 * Return: count
 */
size_t h_untaken(void);

/**
 * h_take_all() - mark every captured frame taken
 */
void h_take_all(void);

/**
 * h_forget_taken() - free the frames already taken, keeping the rest
 *
 * For long transfers: the capture then holds only what is unread. Every
 * pointer h_find()/h_wait() returned before is invalid afterwards.
 */
void h_forget_taken(void);

/* ---- predicates ---- */

/**
 * struct h_match - what h_match() compares; zero fields match anything
 * @type:	EtherType
 * @proto:	IP protocol
 * @src:	IP source
 * @sport:	source port
 * @dport:	destination port
 * @flags:	TCP flags that must all be set
 * @noflags:	TCP flags that must all be clear
 * @icmp_type:	ICMP type + 1 (so 0 still means "any")
 * @min_plen:	at least this much payload
 */
struct h_match {
	uint16_t type;
	uint8_t proto;
	uint32_t src;
	uint16_t sport, dport;
	uint8_t flags, noflags;
	int icmp_type;
	size_t min_plen;
};

int h_match(const struct fr_parsed *p, const void *arg);

/**
 * h_answer_ns() - answer the gateway's neighbour solicitations captured so far
 *
 * Each solicitation is taken, its hop limit checked (255), and answered
 * with a solicited advertisement for its target carrying fr_guest_mac.
 */
void h_answer_ns(void);

/* ---- host sockets (127.0.0.1 or ::1) ---- */

int h_track_fd(int fd);
void h_close_fd(int fd);

/**
 * h_loopback() - the host's loopback address of a family, at a port
 * @af:		AF_INET (127.0.0.1) or AF_INET6 (::1)
 * @port:	port
 * @ss:		filled
 *
 * Return: the address length
 */
socklen_t h_loopback(int af, uint16_t port, struct sockaddr_storage *ss);

/**
 * h_tcp_listen() - a TCP listener on the loopback address of a family
 * @af:		AF_INET or AF_INET6 (IPv6 only)
 * @port:	in: the port wanted (0: kernel-chosen); out: the port
 * @backlog:	listen() backlog
 * @rcvbuf:	SO_RCVBUF for accepted connections (set before listen()), 0: default
 *
 * Return: the fd (tracked, blocking)
 */
int h_tcp_listen(int af, uint16_t *port, int backlog, int rcvbuf);

/**
 * h_free_tcp_port() - a port nobody listens on, on 127.0.0.1 nor ::1
 *
 * Return: the port
 */
uint16_t h_free_tcp_port(void);

/**
 * h_udp_bind() - a UDP socket on 127.0.0.1
 * @port:	in: wanted port (0: any); out: the port
 *
 * Return: the fd (tracked, blocking), or -1 with errno if bind() failed
 */
int h_udp_bind(uint16_t *port);

/**
 * h_run_until_ready() - run the engine loop until a host fd is readable
 * @fd:		fd
 * @ms:		bound
 *
 * Return: 1 if readable, 0 after @ms
 */
int h_run_until_ready(int fd, int ms);

/**
 * h_accept() - run the engine until a connection can be accepted, accept it
 * @lfd:	listener
 * @ms:		bound
 *
 * Return: the connection (tracked), or -1 after @ms
 */
int h_accept(int lfd, int ms);

/**
 * h_recv_exact() - read exactly @len bytes from a host socket, running the engine
 * @fd:		socket
 * @buf:	output
 * @len:	bytes wanted
 * @ms:		bound
 *
 * Return: bytes read (< @len on timeout or EOF)
 */
size_t h_recv_exact(int fd, void *buf, size_t len, int ms);

/**
 * h_fd_count() - open fds of this process
 *
 * Return: count
 */
int h_fd_count(void);

/**
 * h_assert_fds() - assert the process holds no fd it should not, engine running
 * @extra:	fds the engine may hold beyond its own from start-up (the host
 *		sockets of the flows still alive)
 *
 * The count allowed: the fds right after h_start(), the test's tracked
 * sockets still open, and @extra.
 */
void h_assert_fds(int extra);

struct sn_stats h_stats(void);

/**
 * h_flows() - the engine's flows (sn_engine_flows())
 * @out:	filled with up to @max of them, in the walk's order
 * @max:	size of @out
 *
 * Return: how many flows there are
 */
unsigned h_flows(struct sn_flow_info *out, unsigned max);

/* frames_out / bytes_out since h_start() returned (startup ARP excluded) */
uint64_t h_frames_out(void);
uint64_t h_bytes_out(void);

#endif /* SANDNET_TEST_HARNESS_H */
