// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - a firmware whose network is sandnet
 *
 * This program is what a firmware or unikernel looks like when it links
 * libsandnet: its own TCP/IP stack is lwIP's unix port (NO_SYS, raw API,
 * lwipopts.h here), with one Ethernet NIC, sandnetif.c, whose wire is a
 * sandnet engine in the same process. The engine is the stack's router,
 * DHCP server and DNS forwarder, and reaches the host's network through
 * host sockets. One main loop drives both, using only the engine's public
 * calls: sn_engine_input() (from the NIC's linkoutput), cfg.output (into
 * the NIC's queue), sn_engine_pollfds() / sn_engine_timeout_ms() / poll()
 * / sn_engine_dispatch().
 *
 * Two lwIPs in one process work because libsandnet's lwIP is private to
 * it: the shared library exports only sandnet.h's functions and the static
 * one has every other symbol local, so this program's lwIP (its own
 * tcp_input(), its own globals) and the engine's never meet; they share
 * nothing but the frames sandnetif.c carries.
 *
 * The firmware then does what a device does after boot:
 *
 * dhcp	lease an address (lwIP's DHCP client against the engine's server);
 * dns	resolve --name with lwIP's DNS client, through the DNS server DHCP
 *	named (the gateway), whose forwarder asks --dns-upstream;
 * http	GET --path from the gateway's port --http with lwIP's HTTP client:
 *	the gateway stands for the host's 127.0.0.1, which the policy set
 *	here allows for that TCP port only;
 * udp	send --payload to the gateway's port --udp (allowed likewise) and
 *	wait for the datagram to come back.
 *
 * It writes what it received to --out: DIR/page (the body), DIR/name (the
 * address, dotted, one line), DIR/udp (the datagram); its test compares
 * those bytes with what the host side served. It prints one line per step
 * and the engine's counters, and exits with the number of steps that did
 * not complete (0: all did).
 *
 * With --link-fd N the engine is not in this process: the NIC carries
 * frames on socket N (one per SOCK_SEQPACKET or SOCK_DGRAM message) to an
 * engine elsewhere, such as docs/embedding.md's program, and
 * --dns-upstream and the policy are that program's business.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sandnet/sandnet.h>

#include "lwip/altcp.h"
#include "lwip/apps/http_client.h"
#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "netif/ethernet.h"

#include "sandnetif.h"

/* Longest the lease may take, and the three checks together. */
#define DHCP_MS		10000
#define CHECKS_MS	30000
/* Longest one loop turn sleeps: the deadlines above are checked each turn. */
#define TURN_MS		100
/* The UDP datagram is sent again this often until its echo is back. */
#define UDP_RESEND_MS	500
#define UDP_TRIES	10
#define UDP_MAX		1024

static struct {
	const char *dns_upstream, *path, *name, *payload, *out;
	unsigned http_port, udp_port;
	int link_fd;
} opt = { .link_fd = -1 };

static struct netif nif;
static struct sandnetif sif;
static struct sn_engine *engine;
static struct pollfd *fds;
static int n_fds_max;

static struct {
	int dns_done, page_done, udp_done;
	int dns_ok, http_ok, udp_ok;
	ip_addr_t addr;
	unsigned long http_bytes;
	unsigned http_status;
	httpc_result_t http_result;
	FILE *page;
	struct udp_pcb *udp;
	unsigned udp_tries;
	uint8_t udp_echo[UDP_MAX];
	size_t udp_len;
} chk;

/**
 * now_ms() - monotonic clock
 *
 * Return: milliseconds
 */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the main loop: both stacks, one poll() ---- */

/**
 * loop_turn() - one turn: frames to the guest, timers of both, host sockets
 *
 * Return: 0, or -1 if the link to an engine in another process is gone
 */
static int loop_turn(void)
{
	int n, timeout = TURN_MS;
	u32_t guest_ms;

	if (sandnetif_poll(&nif) < 0)
		return -1;
	sys_check_timeouts();
	guest_ms = sys_timeouts_sleeptime();
	if (guest_ms < (u32_t)timeout)
		timeout = (int)guest_ms;
	if (engine) {
		int engine_ms = sn_engine_timeout_ms(engine);

		n = sn_engine_pollfds(engine, fds, n_fds_max);
		if (engine_ms >= 0 && engine_ms < timeout)	/* -1: no timer */
			timeout = engine_ms;
	} else {
		fds[0] = (struct pollfd){ .fd = opt.link_fd, .events = POLLIN };
		n = 1;
	}
	/* frames the engine queued for the guest are served without sleeping */
	if (sandnetif_pending(&nif))
		timeout = 0;
	if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR)
		return -1;
	if (engine)
		sn_engine_dispatch(engine, fds, n);
	return 0;
}

/**
 * run_until() - turn the loop until a condition holds or time runs out
 * @done:	the condition (NULL: run for @ms)
 * @ms:		longest to run
 *
 * Return: 0 if @done held, -1 otherwise
 */
static int run_until(int (*done)(void), long long ms)
{
	long long deadline = now_ms() + ms;

	while (now_ms() < deadline) {
		if (done && done())
			return 0;
		if (loop_turn())
			return -1;
	}
	return done && done() ? 0 : -1;
}

/**
 * leased() - the DHCP client has an address
 *
 * Return: non-zero if so (a condition for run_until())
 */
static int leased(void)
{
	return dhcp_supplied_address(&nif);
}

/* ---- the checks, as lwIP applications ---- */

/**
 * name_found() - lwIP DNS client callback
 * @name:	the name asked
 * @ipaddr:	its address, NULL if it did not resolve
 * @arg:	unused
 */
static void name_found(const char *name, const ip_addr_t *ipaddr, void *arg)
{
	(void)name;
	(void)arg;
	chk.dns_done = 1;
	if (!ipaddr)
		return;
	chk.addr = *ipaddr;
	chk.dns_ok = 1;
}

/**
 * page_body() - lwIP HTTP client: body bytes, written to DIR/page
 * @arg:	unused
 * @conn:	the connection
 * @p:		body bytes
 * @err:	unused
 *
 * Return: ERR_OK
 */
static err_t page_body(void *arg, struct altcp_pcb *conn, struct pbuf *p, err_t err)
{
	const struct pbuf *q;

	(void)arg;
	(void)err;
	for (q = p; q; q = q->next)
		if (fwrite(q->payload, 1, q->len, chk.page) != q->len)
			chk.http_result = HTTPC_RESULT_ERR_MEM;
	chk.http_bytes += p->tot_len;
	altcp_recved(conn, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

/**
 * page_done() - lwIP HTTP client: the transfer ended
 * @arg:	unused
 * @result:	HTTPC_RESULT_OK, or why not
 * @len:	body bytes received
 * @status:	the server's status code
 * @err:	lwIP's error, if any
 */
static void page_done(void *arg, httpc_result_t result, u32_t len, u32_t status, err_t err)
{
	(void)arg;
	(void)len;
	(void)err;
	if (chk.http_result == HTTPC_RESULT_OK)
		chk.http_result = result;
	chk.http_status = status;
	chk.http_ok = chk.http_result == HTTPC_RESULT_OK && status == 200;
	chk.page_done = 1;
}

/**
 * echo_recv() - lwIP UDP callback: the datagram came back
 * @arg:	unused
 * @pcb:	our pcb
 * @p:		the datagram
 * @addr:	its source address
 * @port:	its source port
 */
static void echo_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
		     u16_t port)
{
	(void)arg;
	(void)pcb;
	if (!chk.udp_done && ip_addr_cmp(addr, netif_ip_gw4(&nif)) && port == opt.udp_port &&
	    p->tot_len <= sizeof(chk.udp_echo)) {
		chk.udp_len = pbuf_copy_partial(p, chk.udp_echo, p->tot_len, 0);
		chk.udp_ok = 1;
		chk.udp_done = 1;
	}
	pbuf_free(p);
}

/**
 * echo_send() - send the datagram, again every UDP_RESEND_MS until answered
 * @arg:	unused
 */
static void echo_send(void *arg)
{
	size_t len = strlen(opt.payload);
	struct pbuf *p;

	(void)arg;
	if (chk.udp_done)
		return;
	if (chk.udp_tries++ == UDP_TRIES) {
		chk.udp_done = 1;
		return;
	}
	p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (p) {
		pbuf_take(p, opt.payload, (u16_t)len);
		udp_sendto(chk.udp, p, netif_ip_gw4(&nif), (u16_t)opt.udp_port);
		pbuf_free(p);
	}
	sys_timeout(UDP_RESEND_MS, echo_send, NULL);
}

/**
 * checks_start() - start the DNS, HTTP and UDP checks, all at once
 *
 * Return: 0, or -1 if one could not even start (reported)
 */
static int checks_start(void)
{
	static httpc_connection_t settings = { .result_fn = page_done };
	char path[PATH_MAX];
	ip_addr_t addr;
	err_t err;

	snprintf(path, sizeof(path), "%s/page", opt.out);
	chk.page = fopen(path, "wb");
	if (!chk.page) {
		perror(path);
		return -1;
	}
	err = dns_gethostbyname(opt.name, &addr, name_found, NULL);
	if (err == ERR_OK)
		name_found(opt.name, &addr, NULL);
	else if (err != ERR_INPROGRESS)
		chk.dns_done = 1;
	if (httpc_get_file(netif_ip_gw4(&nif), (u16_t)opt.http_port, opt.path, &settings,
			   page_body, NULL, NULL) != ERR_OK)
		chk.page_done = 1;
	chk.udp = udp_new();
	if (!chk.udp) {
		chk.udp_done = 1;
		return 0;
	}
	udp_recv(chk.udp, echo_recv, NULL);
	echo_send(NULL);
	return 0;
}

/**
 * checks_done() - all three ended, well or not
 *
 * Return: non-zero if so (a condition for run_until())
 */
static int checks_done(void)
{
	return chk.dns_done && chk.page_done && chk.udp_done;
}

/**
 * write_file() - write @len bytes to DIR/@name
 * @name:	file name in --out
 * @data:	bytes
 * @len:	how many
 *
 * Return: 0, or -1 (reported)
 */
static int write_file(const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", opt.out, name);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return -1;
	}
	ok = fwrite(data, 1, len, f) == len;
	ok = !fclose(f) && ok;
	return ok ? 0 : -1;
}

/**
 * checks_report() - one line per check, the received bytes to --out
 *
 * Return: the number of checks that did not complete
 */
static int checks_report(void)
{
	char addr[IP4ADDR_STRLEN_MAX + 1] = "";
	int failed = 0;

	if (chk.page && fclose(chk.page))
		chk.http_ok = 0;
	chk.page = NULL;
	if (chk.dns_ok) {
		ip4addr_ntoa_r(ip_2_ip4(&chk.addr), addr, sizeof(addr) - 1);
		strcat(addr, "\n");
		printf("firmware: dns %s is %s", opt.name, addr);
		chk.dns_ok = !write_file("name", addr, strlen(addr));
	} else {
		printf("firmware: dns %s did not resolve\n", opt.name);
	}
	failed += !chk.dns_ok;
	printf("firmware: http GET %s: status %u, %lu bytes, %s\n", opt.path, chk.http_status,
	       chk.http_bytes, chk.http_ok ? "complete" : "FAILED");
	failed += !chk.http_ok;
	if (chk.udp_ok) {
		printf("firmware: udp %zu bytes back from the gateway's port %u after %u sends\n",
		       chk.udp_len, opt.udp_port, chk.udp_tries);
		chk.udp_ok = !write_file("udp", chk.udp_echo, chk.udp_len);
	} else {
		printf("firmware: udp no echo after %u sends\n", chk.udp_tries);
	}
	failed += !chk.udp_ok;
	return failed;
}

/* ---- the engine, in this process ---- */

/**
 * engine_start() - create the engine, its policy, and the pollfd array
 *
 * Return: 0, or -1 (reported)
 */
static int engine_start(void)
{
	struct sockaddr_in *up;
	struct sn_policy *pol;
	struct sn_config cfg;
	char rule[64], err[160];
	unsigned port;
	char ip[16];

	sn_config_init(&cfg);
	cfg.output = sandnetif_engine_output;
	cfg.user = &sif;
	if (opt.dns_upstream) {
		up = (struct sockaddr_in *)&cfg.dns_upstreams[0];
		if (sscanf(opt.dns_upstream, "%15[0-9.]:%u", ip, &port) != 2 || !port ||
		    port > 65535 || inet_pton(AF_INET, ip, &up->sin_addr) != 1) {
			fprintf(stderr, "firmware: --dns-upstream: want A.B.C.D:PORT\n");
			return -1;
		}
		up->sin_family = AF_INET;
		up->sin_port = htons((uint16_t)port);
		cfg.n_dns_upstreams = 1;
	}
	engine = sn_engine_new(&cfg);
	if (!engine) {
		fprintf(stderr, "firmware: sn_engine_new: %s\n", sn_strerror());
		return -1;
	}
	sif.engine = engine;

	/* the default profile, plus the two host ports the checks use */
	pol = sn_policy_new();
	if (!pol)
		return -1;
	snprintf(rule, sizeof(rule), "tcp:group:host:%u", opt.http_port);
	if (sn_policy_add(pol, SN_POLICY_EGRESS, SN_POLICY_ALLOW, rule, NULL, err, sizeof(err)) ||
	    (snprintf(rule, sizeof(rule), "udp:group:host:%u", opt.udp_port),
	     sn_policy_add(pol, SN_POLICY_EGRESS, SN_POLICY_ALLOW, rule, NULL, err, sizeof(err)))) {
		fprintf(stderr, "firmware: policy: %s\n", err);
		sn_policy_free(pol);
		return -1;
	}
	sn_engine_set_policy(engine, pol);

	n_fds_max = sn_engine_pollfds_max(engine);
	fds = calloc((size_t)n_fds_max, sizeof(*fds));
	return fds ? 0 : -1;
}

/**
 * engine_report() - the engine's counters, one line
 */
static void engine_report(void)
{
	struct sn_stats st;

	sn_engine_stats(engine, &st);
	printf("firmware: engine: frames in %llu out %llu (output errors %llu), dhcp acks %llu, "
	       "dns queries %llu answers %llu, tcp flows %llu (%llu bytes down), "
	       "udp sessions %llu, policy denied %llu\n",
	       (unsigned long long)st.frames_in, (unsigned long long)st.frames_out,
	       (unsigned long long)st.output_errors, (unsigned long long)st.dhcp_acks,
	       (unsigned long long)st.dns_queries, (unsigned long long)st.dns_answers,
	       (unsigned long long)st.tcp_flows, (unsigned long long)st.tcp_bytes_down,
	       (unsigned long long)st.udp_sessions, (unsigned long long)st.policy_denied);
}

/* ---- the program ---- */

/**
 * parse_args() - the command line into opt
 * @argc:	argument count
 * @argv:	arguments
 *
 * Return: 0, or -1 (usage printed)
 */
static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dns-upstream", required_argument, NULL, 'd' },
		{ "http", required_argument, NULL, 'h' },
		{ "path", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "udp", required_argument, NULL, 'u' },
		{ "payload", required_argument, NULL, 'm' },
		{ "out", required_argument, NULL, 'o' },
		{ "link-fd", required_argument, NULL, 'l' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': opt.dns_upstream = optarg; break;
		case 'h': opt.http_port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': opt.path = optarg; break;
		case 'n': opt.name = optarg; break;
		case 'u': opt.udp_port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'm': opt.payload = optarg; break;
		case 'o': opt.out = optarg; break;
		case 'l': opt.link_fd = (int)strtol(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (optind == argc && opt.path && opt.path[0] == '/' && opt.name && opt.payload &&
	    opt.out && opt.http_port && opt.http_port < 65536 && opt.udp_port &&
	    opt.udp_port < 65536 && strlen(opt.payload) <= UDP_MAX &&
	    (opt.link_fd < 0 || !opt.dns_upstream))
		return 0;
usage:
	fprintf(stderr, "usage: %s [--dns-upstream A.B.C.D:PORT | --link-fd N] --http PORT "
		"--path /PATH --name NAME --udp PORT --payload TEXT --out DIR\n", argv[0]);
	return -1;
}

int main(int argc, char **argv)
{
	static struct pollfd link_pfd;
	int failed = 3;

	if (parse_args(argc, argv))
		return 100;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sif.fd = opt.link_fd;
	lwip_init();
	if (opt.link_fd >= 0) {
		if (fcntl(opt.link_fd, F_SETFL, fcntl(opt.link_fd, F_GETFL) | O_NONBLOCK) < 0) {
			perror("firmware: --link-fd");
			return 100;
		}
		fds = &link_pfd;
		n_fds_max = 1;
	} else if (engine_start()) {
		sn_engine_free(engine);
		return 100;
	}

	netif_add(&nif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, &sif, sandnetif_init,
		  netif_input);
	netif_set_default(&nif);
	netif_set_up(&nif);
	dhcp_start(&nif);
	if (run_until(leased, DHCP_MS)) {
		printf("firmware: dhcp: no lease in %d ms\n", DHCP_MS);
	} else {
		printf("firmware: dhcp %s", ip4addr_ntoa(netif_ip4_addr(&nif)));
		printf(" mask %s", ip4addr_ntoa(netif_ip4_netmask(&nif)));
		printf(" gateway %s", ip4addr_ntoa(netif_ip4_gw(&nif)));
		printf(" dns %s\n", ipaddr_ntoa(dns_getserver(0)));
		if (!checks_start()) {
			run_until(checks_done, CHECKS_MS);
			failed = checks_report();
		}
	}

	if (chk.udp)
		udp_remove(chk.udp);
	sys_untimeout(echo_send, NULL);
	dhcp_release_and_stop(&nif);
	run_until(NULL, 50);	/* the DHCP release on its way */
	netif_remove(&nif);
	if (engine) {
		engine_report();
		sn_engine_free(engine);
		free(fds);
	}
	printf("firmware: nic frames in %lu out %lu dropped %lu; %d of 3 checks failed\n",
	       sif.frames_in, sif.frames_out, sif.drops, failed);
	return failed;
}
