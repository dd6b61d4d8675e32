/* SPDX-License-Identifier: MIT */
/**
 * DOC: engine_side - the sandnet engine of the simulator
 *
 * Usage: sim_engine_side LINKFD STOPFD DNSPORT [PUBLISH...]
 *
 * Creates the process's one engine with the library's defaults (10.0.2.0/24,
 * MTU 1500) plus host loopback access (the gateway stands for 127.0.0.1) and
 * one DNS upstream, 127.0.0.1:DNSPORT (the runner's fake resolver). Each
 * PUBLISH is "tcp:HOSTPORT:GUESTPORT" or "udp:HOSTPORT:GUESTPORT" (a port
 * published on 127.0.0.1) or "deny:GUESTPORT" (an ingress rule denying TCP
 * to that guest port, after the default policy's host access). Then it
 * runs sn_frontend_run() with a datagram frontend on LINKFD, a SOCK_DGRAM
 * socketpair end carrying one Ethernet frame per datagram, until STOPFD
 * becomes readable (the runner writes to it or closes it).
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

#include "sandnet/frontend.h"
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
		"host denied %llu, published accepted %llu reset %llu\n",
		(unsigned long long)st.frames_in, (unsigned long long)st.frames_out,
		(unsigned long long)st.output_errors, (unsigned long long)st.drop_malformed,
		(unsigned long long)st.drop_spoofed, (unsigned long long)st.drop_unsupported,
		(unsigned long long)st.arp_replies, (unsigned long long)st.tcp_flows,
		(unsigned long long)st.tcp_flows_active, (unsigned long long)st.tcp_refused,
		(unsigned long long)st.tcp_bytes_up, (unsigned long long)st.tcp_bytes_down,
		(unsigned long long)st.udp_sessions, (unsigned long long)st.udp_dgrams_up,
		(unsigned long long)st.udp_dgrams_down, (unsigned long long)st.dns_queries,
		(unsigned long long)st.dns_answers, (unsigned long long)st.dns_servfail,
		(unsigned long long)st.host_denied, (unsigned long long)st.publish_accepted,
		(unsigned long long)st.publish_reset);
}

/**
 * publish_args() - publish ports and add ingress rules as the arguments say
 * @e:		engine
 * @argv:	PUBLISH arguments, NULL-terminated
 *
 * Return: 0, or -1 (reported)
 */
static int publish_args(struct sn_engine *e, char **argv)
{
	struct sn_policy *pol = sn_policy_new();
	char err[160], rule[32];
	int i;

	if (!pol || sn_policy_add(pol, SN_POLICY_EGRESS, SN_POLICY_ALLOW, "group:host", NULL, err,
				  sizeof(err))) {
		fprintf(stderr, "engine: policy: %s\n", pol ? err : "out of memory");
		sn_policy_free(pol);
		return -1;
	}
	for (i = 0; argv[i]; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		long hport = -1, gport = -1;
		char proto[8];

		if (sscanf(argv[i], "deny:%ld", &gport) == 1 && gport > 0 && gport < 65536) {
			snprintf(rule, sizeof(rule), "tcp:any:%ld", gport);
			if (sn_policy_add(pol, SN_POLICY_INGRESS, SN_POLICY_DENY, rule, NULL, err,
					  sizeof(err)))
				break;
			continue;
		}
		if (sscanf(argv[i], "%7[a-z]:%ld:%ld", proto, &hport, &gport) != 3 || hport <= 0 ||
		    hport > 65535 || gport <= 0 || gport > 65535 ||
		    (strcmp(proto, "tcp") && strcmp(proto, "udp"))) {
			snprintf(err, sizeof(err), "bad argument");
			break;
		}
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)hport);
		if (sn_engine_publish(e, strcmp(proto, "tcp") ? IPPROTO_UDP : IPPROTO_TCP,
				      (struct sockaddr *)&sin, sizeof(sin), (uint16_t)gport, err,
				      sizeof(err)) < 0)
			break;
	}
	if (argv[i]) {
		fprintf(stderr, "engine: %s: %s\n", argv[i], err);
		sn_policy_free(pol);
		return -1;
	}
	sn_engine_set_policy(e, pol);
	return 0;
}

int main(int argc, char **argv)
{
	struct sn_frontend_config fcfg;
	struct sn_frontend *fe;
	struct sockaddr_in *up;
	struct sn_config cfg;
	struct sn_engine *e;
	long link_fd, stop_fd, dns_port;
	const char *dbg;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: %s LINKFD STOPFD DNSPORT [PUBLISH...]\n", argv[0]);
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

	sn_frontend_config_init(&fcfg, SN_FRONTEND_DGRAM, (int)link_fd);
	fe = sn_frontend_new(&fcfg);
	if (!fe) {
		perror("engine: sn_frontend_new");
		return 2;
	}
	sn_config_init(&cfg);
	cfg.output = sn_frontend_output;
	cfg.user = fe;
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
		sn_frontend_free(fe);
		return 2;
	}
	if (publish_args(e, argv + 4)) {
		sn_engine_free(e);
		sn_frontend_free(fe);
		return 2;
	}
	rc = sn_frontend_run(fe, e, (int)stop_fd);
	if (rc)
		fprintf(stderr, "engine: sn_frontend_run: %s\n", strerror(errno));
	print_stats(e);
	sn_engine_free(e);
	sn_frontend_free(fe);
	return rc ? 1 : 0;
}
