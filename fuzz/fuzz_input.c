// SPDX-License-Identifier: MIT
/**
 * DOC: libFuzzer target for sn_engine_input()
 *
 * An input is a sequence of records (fuzz/make_corpus.py writes them):
 *
 *   1 byte	clock step: the engine's clock moves forward by step_ms() of it
 *   2 bytes	frame length, big-endian
 *   N bytes	the Ethernet frame (fewer if the input ends first)
 *
 * For each record the clock moves, due timers and ready sockets are served,
 * the frame goes in, and sockets and timers are served again, without
 * waiting. A record with an empty frame is a pause: reassembly expiry,
 * neighbour discovery retries, connect and idle timeouts and router
 * advertisements all run on the input's time.
 *
 * Every input is reproducible on its own: it gets a fresh engine, created
 * at the same clock value (FUZZ_T0) with lwIP's timers in the same phase
 * (fuzz_reset_timers()), and the clock moves only by the input's steps, never
 * by the wall clock. A finding replays alone, in this target or in
 * fuzz/replay.c, and fails there the same way. FUZZ_T0 lies 30 s before the
 * 32-bit millisecond clock wraps, so inputs that last longer cross the wrap.
 *
 * The process first moves into a network namespace of its own that has
 * only a loopback device (down): whatever destination a mutated frame
 * names, the engine's host sockets reach nothing outside this process, and
 * fail at once rather than at a time the input does not control.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwip/timeouts.h"
#include "sandnet/sandnet.h"

/* Declared by port/sys_arch.c; not in a public header on purpose. */
void sn_port_set_clock(uint32_t (*clock)(void));

/* Clock at the start of every input: 30 s before the wrap. */
#define FUZZ_T0		((uint32_t)-30000)

/* Longer than any lwIP timer interval: every timer is due after this. */
#define FUZZ_SETTLE_MS	(3600 * 1000)

static struct sn_config cfg;
static uint32_t fuzz_now;

/**
 * fuzz_clock() - sys_now() for the engine: the input's time
 *
 * Return: milliseconds
 */
static uint32_t fuzz_clock(void)
{
	return fuzz_now;
}

/**
 * step_ms() - how far one record moves the clock
 * @b:		the record's step byte
 *
 * The low six bits count units, the top two pick the unit (1, 16, 256 or
 * 4096 ms): fine steps for the relays' 250 ms tick and TCP timers, coarse
 * ones for reassembly (15 s, 60 s), UDP idle (60 s) and RA (600 s) expiry.
 *
 * Return: 0 to 258048 ms
 */
static uint32_t step_ms(uint8_t b)
{
	return (uint32_t)(b & 0x3f) << (4 * (b >> 6));
}

/**
 * discard() - output callback: frames to the guest go nowhere
 * @user:	unused
 * @frame:	frame
 * @len:	length
 *
 * Return: 0
 */
static int discard(void *user, const void *frame, size_t len)
{
	(void)user;
	(void)frame;
	(void)len;
	return 0;
}

/**
 * isolate() - enter a private network namespace, or exit with status 77
 *
 * 77 is ctest's SKIP_RETURN_CODE for the replay tests: without a namespace
 * of its own, a mutated frame's destination is not safe to dial.
 */
static void isolate(void)
{
	if (unshare(CLONE_NEWNET) == 0)
		return;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
		return;
	fprintf(stderr, "fuzz_input: cannot enter a private network namespace: %s\n",
		strerror(errno));
	exit(77);
}

/**
 * engine_new() - a fresh engine for one input, or die
 *
 * Return: the engine
 */
static struct sn_engine *engine_new(void)
{
	struct sn_engine *e = sn_engine_new(&cfg);

	if (!e) {
		fprintf(stderr, "fuzz_input: sn_engine_new: %s\n", sn_strerror());
		abort();
	}
	return e;
}

/**
 * fuzz_reset_timers() - put lwIP's timers where a fresh process has them
 *
 * Runs while no engine exists. A jump past every interval makes each timer
 * fire once: the cyclic ones restart a full interval from the same instant
 * and the TCP timer stops (no pcbs are left). Rebasing that schedule to
 * FUZZ_T0 leaves the same timer state before every input, whatever the
 * inputs before it did.
 */
static void fuzz_reset_timers(void)
{
	fuzz_now += FUZZ_SETTLE_MS;
	sys_check_timeouts();
	fuzz_now = FUZZ_T0;
	sys_restart_timeouts();
}

/**
 * serve() - ready host sockets and due timers, without waiting
 * @e:		engine
 */
static void serve(struct sn_engine *e)
{
	static struct pollfd fds[4096];
	int n = sn_engine_pollfds(e, fds, 4096);

	if (poll(fds, (nfds_t)n, 0) >= 0)
		sn_engine_dispatch(e, fds, n);
}

/**
 * LLVMFuzzerInitialize() - once per process: namespace, config, clock, lwIP
 * @argc:	unused
 * @argv:	unused
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in *up;

	(void)argc;
	(void)argv;
	isolate();
	sn_config_init(&cfg);
	cfg.output = discard;
	cfg.log_level = -1;
	cfg.allow_host_loopback = 1;
	cfg.guest_mac[0] = 0x52;	/* the corpus's guest MAC, 52:73:00:00:00:01 */
	cfg.guest_mac[1] = 0x73;
	cfg.guest_mac[5] = 0x01;
	/* small tables: a fresh engine per input stays cheap, and an input
	 * of a few dozen frames reaches every limit */
	cfg.max_tcp_flows = 16;
	cfg.max_udp_sessions = 16;
	cfg.max_icmp_flows = 8;
	cfg.max_dns_queries = 16;
	cfg.tcp_connect_ms = 50;
	cfg.dns_timeout_ms = 50;
	up = (struct sockaddr_in *)&cfg.dns_upstreams[0];
	up->sin_family = AF_INET;
	up->sin_port = htons(53);
	up->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfg.n_dns_upstreams = 1;
	fuzz_now = FUZZ_T0;
	sn_port_set_clock(fuzz_clock);
	/* lwIP starts its timers with the first engine: every input then
	 * begins from fuzz_reset_timers() alike, the first one included */
	sn_engine_free(engine_new());
	return 0;
}

/**
 * LLVMFuzzerTestOneInput() - one input: a fresh engine fed its records
 * @data:	records (see the DOC above)
 * @size:	their length; a trailing partial record header is ignored
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_engine *e;

	fuzz_reset_timers();
	e = engine_new();
	while (size >= 3) {
		size_t len = ((size_t)data[1] << 8) | data[2];

		fuzz_now += step_ms(data[0]);
		serve(e);
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		sn_engine_input(e, data, len);
		data += len;
		size -= len;
		serve(e);
	}
	sn_engine_free(e);
	return 0;
}
