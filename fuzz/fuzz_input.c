// SPDX-License-Identifier: MIT
/**
 * DOC: libFuzzer target for sn_engine_input()
 *
 * Each input is a sequence of frames: a 2-byte big-endian length, then that
 * many bytes, repeated. After each frame the engine's sockets and timers are
 * served without waiting, so relays and lwIP run on what the frames started.
 *
 * The process first moves into a network namespace of its own that has
 * only a loopback device (down): whatever destination a mutated frame
 * names, the engine's host sockets reach nothing outside this process.
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

#include "sandnet/sandnet.h"

static struct sn_engine *engine;

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
 * isolate() - enter a private network namespace, or die
 */
static void isolate(void)
{
	if (unshare(CLONE_NEWNET) == 0)
		return;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
		return;
	fprintf(stderr, "fuzz_input: cannot enter a private network namespace: %s\n",
		strerror(errno));
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sn_config cfg;
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
	cfg.tcp_connect_ms = 50;
	cfg.dns_timeout_ms = 50;
	up = (struct sockaddr_in *)&cfg.dns_upstreams[0];
	up->sin_family = AF_INET;
	up->sin_port = htons(53);
	up->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfg.n_dns_upstreams = 1;
	engine = sn_engine_new(&cfg);
	if (!engine) {
		fprintf(stderr, "fuzz_input: sn_engine_new: %s\n", sn_strerror());
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pollfd fds[4096];

	while (size >= 2) {
		size_t len = ((size_t)data[0] << 8) | data[1];
		int n;

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		sn_engine_input(engine, data, len);
		data += len;
		size -= len;
		n = sn_engine_pollfds(engine, fds, 4096);
		if (poll(fds, (nfds_t)n, 0) >= 0)
			sn_engine_dispatch(engine, fds, n);
	}
	return 0;
}
