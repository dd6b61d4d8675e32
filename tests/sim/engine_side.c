/* SPDX-License-Identifier: MIT */
/**
 * DOC: engine_side - the sandnet engine of the simulator
 *
 * Usage: sim_engine_side LINKFD STOPFD DNSPORT
 *
 * Creates the process's one engine with the library's defaults (10.0.2.0/24,
 * MTU 1500) plus host loopback access (the gateway stands for 127.0.0.1) and
 * one DNS upstream, 127.0.0.1:DNSPORT (the runner's fake resolver), then
 * runs sn_engine_run() on LINKFD, a SOCK_DGRAM socketpair end carrying one
 * Ethernet frame per datagram, until STOPFD becomes readable (the runner
 * writes to it or closes it).
 *
 * On the way out it prints the engine's counters on stderr and frees the
 * engine, so ASan/LSan see every host socket and allocation released.
 * SIM_ENGINE_DEBUG=1 in the environment raises the log level to debug.
 *
 * Exit status: 0 when stopped by STOPFD, 1 if the loop failed, 2 on setup
 * errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandnet/sandnet.h"

/**
 * parse_num() - a non-negative decimal argument
 * @s:		text
 * @max:	largest accepted value
 *
 * Return: the value, or -1 if invalid
 */
static long parse_num(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 0 || v > max)
		return -1;
	return v;
}

/**
 * print_stats() - the engine's counters, one line on stderr
 * @e:		engine
 */
static void print_stats(struct sn_engine *e)
{
	struct sn_stats st;

	sn_engine_stats(e, &st);
	fprintf(stderr,
		"engine: frames in %llu out %llu, output errors %llu, malformed %llu, "
		"spoofed %llu, unsupported %llu, arp %llu, tcp flows %llu (active %llu, "
		"refused %llu), tcp bytes up %llu down %llu, udp sessions %llu, "
		"udp up %llu down %llu, dns queries %llu answers %llu servfail %llu, "
		"host denied %llu\n",
		(unsigned long long)st.frames_in, (unsigned long long)st.frames_out,
		(unsigned long long)st.output_errors, (unsigned long long)st.drop_malformed,
		(unsigned long long)st.drop_spoofed, (unsigned long long)st.drop_unsupported,
		(unsigned long long)st.arp_replies, (unsigned long long)st.tcp_flows,
		(unsigned long long)st.tcp_flows_active, (unsigned long long)st.tcp_refused,
		(unsigned long long)st.tcp_bytes_up, (unsigned long long)st.tcp_bytes_down,
		(unsigned long long)st.udp_sessions, (unsigned long long)st.udp_dgrams_up,
		(unsigned long long)st.udp_dgrams_down, (unsigned long long)st.dns_queries,
		(unsigned long long)st.dns_answers, (unsigned long long)st.dns_servfail,
		(unsigned long long)st.host_denied);
}

int main(int argc, char **argv)
{
	struct sockaddr_in *up;
	struct sn_config cfg;
	struct sn_engine *e;
	long link_fd, stop_fd, dns_port;
	const char *dbg;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: %s LINKFD STOPFD DNSPORT\n", argv[0]);
		return 2;
	}
	link_fd = parse_num(argv[1], 1023);
	stop_fd = parse_num(argv[2], 1023);
	dns_port = parse_num(argv[3], 65535);
	if (link_fd < 0 || stop_fd < 0 || dns_port <= 0) {
		fprintf(stderr, "%s: bad arguments\n", argv[0]);
		return 2;
	}
	if (fcntl((int)link_fd, F_SETFL, fcntl((int)link_fd, F_GETFL) | O_NONBLOCK) < 0) {
		perror("engine: fcntl");
		return 2;
	}

	sn_config_init(&cfg);
	cfg.mtu = 1500;
	cfg.allow_host_loopback = 1;
	up = (struct sockaddr_in *)&cfg.dns_upstreams[0];
	up->sin_family = AF_INET;
	up->sin_port = htons((uint16_t)dns_port);
	up->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfg.n_dns_upstreams = 1;
	dbg = getenv("SIM_ENGINE_DEBUG");
	if (dbg && *dbg && strcmp(dbg, "0"))
		cfg.log_level = SN_LOG_DEBUG;

	e = sn_engine_new(&cfg);
	if (!e) {
		fprintf(stderr, "engine: sn_engine_new: %s (%s)\n", sn_strerror(),
			strerror(errno));
		return 2;
	}
	rc = sn_engine_run(e, (int)link_fd, SN_LINK_DGRAM, (int)stop_fd);
	if (rc)
		fprintf(stderr, "engine: sn_engine_run: %s\n", strerror(errno));
	print_stats(e);
	sn_engine_free(e);
	return rc ? 1 : 0;
}
