// SPDX-License-Identifier: MIT
/**
 * DOC: test_control - the sandnet program's control socket and live stats
 *
 * cli/control.c and cli/stats.c on a real engine (the harness's) and a real
 * unix socket in a temporary directory: the test is the client. Requests
 * are the lines slirp4netns's documentation shows; replies are parsed with
 * jansson and compared field by field, error texts with slirp4netns's.
 * A forwarded port is shown to carry a connection by the SYN the engine
 * then sends the guest, and to be gone after remove_hostfwd by the host's
 * ECONNREFUSED. Bad input (garbage, non-objects, unknown verbs, bad
 * arguments, a 1 MiB line, half a line then close, a 17th client) is
 * answered or dropped, and the socket and the engine keep serving.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "harness.h"
#include "cli/control.h"
#include "cli/stats.h"

static struct cli_ctl ctl;
static struct tap_conf tap;
static char dir[64], sock_path[96], stats_path[96];
static int reloads, reload_fails;

/**
 * test_reload() - the reload_policy callback: counts, fails on demand
 * @user:	unused
 * @err:	filled when failing
 * @errlen:	its size
 *
 * Return: 0, or -1 while reload_fails is set
 */
static int test_reload(void *user, char *err, size_t errlen)
{
	(void)user;
	reloads++;
	if (reload_fails) {
		snprintf(err, errlen, "the file is bad");
		return -1;
	}
	return 0;
}

static void setup(void)
{
	struct cli_ctl_conf conf = { 0 };
	struct sn_config cfg;

	h_config(&cfg);
	memcpy(cfg.guest_mac, fr_guest_mac, 6);	/* forwarded SYNs without ARP first */
	h_start(&cfg);
	snprintf(dir, sizeof(dir), "/tmp/sn-ctl-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", dir);
	snprintf(stats_path, sizeof(stats_path), "%s/stats.json", dir);
	tap.name = "tap0";
	inet_pton(AF_INET, "10.0.2.15", &tap.addr);
	inet_pton(AF_INET, "10.0.2.2", &tap.gw);
	tap.prefix_len = 24;
	inet_pton(AF_INET6, "fd00:2::15", &tap.addr6);
	inet_pton(AF_INET6, "fd00:2::2", &tap.gw6);
	tap.prefix_len6 = 64;
	tap.mtu = 1500;
	conf.e = H.e;
	conf.api_socket = sock_path;
	conf.stats_file = stats_path;
	conf.stats_interval = 3600;
	conf.tap = &tap;
	conf.dns4 = tap.gw;
	conf.dns6 = tap.gw6;
	conf.reload = test_reload;
	reloads = reload_fails = 0;
	ck_assert_int_eq(cli_ctl_open(&ctl, &conf), 0);
}

static void teardown(void)
{
	cli_ctl_close(&ctl);
	unlink(stats_path);
	ck_assert_msg(rmdir(dir) == 0, "%s not empty after close: %s", dir, strerror(errno));
	h_teardown();
}

/**
 * serve() - one round: the engine and the control plane
 */
static void serve(void)
{
	struct pollfd p = { .fd = cli_ctl_fd(&ctl), .events = POLLIN };

	poll(&p, 1, 5);
	cli_ctl_dispatch(&ctl);
	h_step(0);
}

/**
 * connect_ctl() - a client of the control socket (tracked)
 *
 * Return: the connection
 */
static int connect_ctl(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = h_track_fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));

	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/**
 * send_str() - write all of @s
 * @fd:		client
 * @s:		bytes
 */
static void send_str(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/**
 * read_line() - serve until a whole reply line (or EOF) arrives
 * @fd:		client
 * @buf:	filled, NUL-terminated, without the newline
 * @size:	its size
 *
 * Return: the line's length, or -1 on EOF before any byte
 */
static ssize_t read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;
	int i;

	for (i = 0; i < 400 && len < size - 1; i++) {
		ssize_t n = recv(fd, buf + len, 1, MSG_DONTWAIT);

		if (n == 1 && buf[len] == '\n')
			break;
		if (n == 1) {
			len++;
			i--;
			continue;
		}
		if (n == 0)
			return len ? (ssize_t)len : -1;
		serve();
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

/**
 * ask() - send a request line and parse the reply
 * @fd:		client
 * @req:	request, with its newline
 *
 * Return: the reply (json_decref() it)
 */
static json_t *ask(int fd, const char *req)
{
	static char line[1 << 16];
	json_error_t err;
	json_t *j;

	send_str(fd, req);
	ck_assert_int_gt(read_line(fd, line, sizeof(line)), 0);
	j = json_loads(line, 0, &err);
	ck_assert_msg(j != NULL, "reply '%s' is not JSON: %s", line, err.text);
	return j;
}

/**
 * ask_error() - a request whose reply must be an error with this description
 * @fd:		client
 * @req:	request, with its newline
 * @desc:	the description wanted
 */
static void ask_error(int fd, const char *req, const char *desc)
{
	json_t *j = ask(fd, req);
	const char *got = json_string_value(json_object_get(json_object_get(j, "error"), "desc"));

	ck_assert_msg(got && !strcmp(got, desc), "%s -> %s, want error '%s'", req,
		      json_dumps(j, JSON_COMPACT), desc);
	ck_assert_uint_eq(json_object_size(j), 1);
	json_decref(j);
}

/**
 * closed() - serve until the server closed the connection
 * @fd:		client
 *
 * Return: non-zero if it did (EOF), 0 if it stayed open
 */
static int closed(int fd)
{
	char c;
	int i;

	for (i = 0; i < 200; i++) {
		ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
		ck_assert_msg(n < 0, "unexpected byte '%c' after the reply", c);
		serve();
	}
	return 0;
}

/**
 * ping_works() - the engine still answers the guest's ping of the gateway
 */
static void ping_works(void)
{
	static uint8_t fb[FR_MAX];
	static const struct h_match reply = { .type = FR_ETH_IP4, .proto = FR_PROTO_ICMP,
					      .src = FR_GW_IP, .icmp_type = 0 + 1 };

	h_send(fb, fr_icmp_echo(fb, FR_GUEST_IP, FR_GW_IP, 7, 1, "alive", 5));
	ck_assert_msg(h_wait(h_match, &reply, H_WAIT_MS), "the engine stopped answering ping");
}

/**
 * tcp_connect_lo() - connect to 127.0.0.1:@port
 * @port:	port
 *
 * Return: 0 if it connected, else the errno
 */
static int tcp_connect_lo(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = h_track_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));

	return connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ? errno : 0;
}

/* add_hostfwd, list_hostfwd and remove_hostfwd with slirp4netns's request
 * lines: the port carries a connection to the guest, then refuses. */
START_TEST(hostfwd_verbs)
{
	struct h_match syn = { .proto = FR_PROTO_TCP, .dport = 80, .flags = FR_SYN,
			       .noflags = FR_ACK };
	uint16_t port = h_free_tcp_port();
	char req[512];
	json_t *j, *e, *ret;
	int fd = connect_ctl();

	snprintf(req, sizeof(req), "{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": "
		 "\"tcp\", \"host_addr\": \"127.0.0.1\", \"host_port\": %u, \"guest_port\": 80}}\n",
		 port);
	j = ask(fd, req);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "return"), "id")),
			 1);
	json_decref(j);

	ck_assert_int_eq(tcp_connect_lo(port), 0);
	ck_assert_msg(h_wait(h_match, &syn, H_WAIT_MS), "the forwarded connection never "
		      "reached the guest");

	j = ask(fd, "{\"execute\": \"list_hostfwd\"}\n");
	ret = json_object_get(j, "return");
	ck_assert_uint_eq(json_array_size(json_object_get(ret, "entries")), 1);
	ck_assert(json_equal(json_object_get(ret, "entries"), json_object_get(j, "entries")));
	e = json_array_get(json_object_get(ret, "entries"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "id")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(e, "proto")), "tcp");
	ck_assert_str_eq(json_string_value(json_object_get(e, "host_addr")), "127.0.0.1");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "host_port")), port);
	ck_assert_str_eq(json_string_value(json_object_get(e, "guest_addr")), "10.0.2.15");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "guest_port")), 80);
	json_decref(j);

	j = ask(fd, "{\"execute\": \"remove_hostfwd\", \"arguments\": {\"id\": 1}}\n");
	ck_assert_msg(json_is_object(json_object_get(j, "return")) &&
		      !json_object_size(json_object_get(j, "return")) && json_object_size(j) == 1,
		      "remove_hostfwd: %s", json_dumps(j, JSON_COMPACT));
	json_decref(j);
	ck_assert_int_eq(tcp_connect_lo(port), ECONNREFUSED);
	ask_error(fd, "{\"execute\": \"remove_hostfwd\", \"arguments\": {\"id\": 1}}\n",
		  "bad request: remove_hostfwd: bad arguments.id");

	/* ids are never reused; host_addr defaults to 0.0.0.0 as slirp4netns's */
	snprintf(req, sizeof(req), "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"udp\","
		 "\"host_port\":%u,\"guest_addr\":\"10.0.2.15\",\"guest_port\":53}}\n", port);
	j = ask(fd, req);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "return"), "id")),
			 2);
	json_decref(j);
	j = ask(fd, "{\"execute\": \"list_published\"}\n");
	e = json_array_get(json_object_get(json_object_get(j, "return"), "entries"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "host_addr")), "0.0.0.0");
	ck_assert_str_eq(json_string_value(json_object_get(e, "proto")), "udp");
	ck_assert_str_eq(json_string_value(json_object_get(e, "origin")), "api");
	json_decref(j);
	j = ask(fd, "{\"execute\": \"unpublish\", \"arguments\": {\"id\": 2}}\n");
	ck_assert_ptr_nonnull(json_object_get(j, "return"));
	json_decref(j);
}
END_TEST

/* Bad arguments get slirp4netns's error texts; a port in use says why. */
START_TEST(hostfwd_bad_arguments)
{
	uint16_t busy = 0;
	char req[256];
	int fd = connect_ctl();

	h_tcp_listen(AF_INET, &busy, 1, 0);
	ask_error(fd, "{\"execute\": \"add_hostfwd\", \"arguments\":{\"proto\": \"bad\"}}\n",
		  "bad request: add_hostfwd: bad arguments.proto");
	ask_error(fd, "{\"execute\": \"add_hostfwd\"}\n",
		  "bad request: add_hostfwd: bad arguments.proto");
	ask_error(fd, "{\"execute\": \"add_hostfwd\", \"arguments\":{\"proto\": \"tcp\", "
		  "\"host_addr\": \"nowhere\", \"host_port\": 1, \"guest_port\": 1}}\n",
		  "bad request: add_hostfwd: bad arguments.host_addr");
	ask_error(fd, "{\"execute\": \"add_hostfwd\", \"arguments\":{\"proto\": \"tcp\", "
		  "\"host_port\": 70000, \"guest_port\": 1}}\n",
		  "bad request: add_hostfwd: bad arguments.host_port");
	ask_error(fd, "{\"execute\": \"add_hostfwd\", \"arguments\":{\"proto\": \"tcp\", "
		  "\"host_port\": \"8080\", \"guest_port\": 1}}\n",
		  "bad request: add_hostfwd: bad arguments.host_port");
	ask_error(fd, "{\"execute\": \"add_hostfwd\", \"arguments\":{\"proto\": \"tcp\", "
		  "\"host_port\": 8080, \"guest_addr\": \"x\", \"guest_port\": 1}}\n",
		  "bad request: add_hostfwd: bad arguments.guest_addr");
	ask_error(fd, "{\"execute\": \"add_hostfwd\", \"arguments\":{\"proto\": \"tcp\", "
		  "\"host_port\": 8080, \"guest_addr\": \"10.0.2.100\", \"guest_port\": 1}}\n",
		  "bad request: add_hostfwd: bad arguments.guest_addr: the guest is 10.0.2.15");
	ask_error(fd, "{\"execute\": \"add_hostfwd\", \"arguments\":{\"proto\": \"tcp\", "
		  "\"host_port\": 8080, \"guest_port\": 0}}\n",
		  "bad request: add_hostfwd: bad arguments.guest_port");
	snprintf(req, sizeof(req), "{\"execute\": \"publish\", \"arguments\":{\"host_port\": %u, "
		 "\"guest_port\": 80}}\n", busy);
	{
		json_t *j = ask(fd, req);
		const char *d = json_string_value(json_object_get(json_object_get(j, "error"),
								  "desc"));

		ck_assert_msg(d && strstr(d, "bad request: publish: ") == d &&
			      strstr(d, "in use"), "publish on a busy port: %s",
			      json_dumps(j, JSON_COMPACT));
		json_decref(j);
	}
	ask_error(fd, "{\"execute\": \"unpublish\", \"arguments\": {\"id\": \"1\"}}\n",
		  "bad request: unpublish: bad arguments.id");
}
END_TEST

/* Garbage, non-objects, no or unknown execute: answered, the connection
 * stays; a 1 MiB line is refused and closed; half a line then close is
 * dropped; the socket and the engine serve on. */
START_TEST(bad_input)
{
	static char big[1 << 20];
	size_t off = 0;
	json_t *j;
	int fd = connect_ctl(), fd2, i;

	ask_error(fd, "badjson\n", "bad request: cannot parse JSON");
	ask_error(fd, "[1, 2]\n", "bad request: json_object() failed");
	ask_error(fd, "42\n", "bad request: json_object() failed");
	ask_error(fd, "{\"unexpectedjson\": 42}\n", "bad request: no execute found");
	ask_error(fd, "{\"execute\": 5}\n", "bad request: no execute found");
	ask_error(fd, "{\"execute\": \"bad\"}\n", "bad request: unknown execute");
	ask_error(fd, "\n\n   \n{\"execute\": \"bad\"}\r\n", "bad request: unknown execute");
	j = ask(fd, "{\"execute\": \"get_info\"}\n");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "return"),
							   "guest_addr")), "10.0.2.15");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "return"),
							   "cidr6")), "fd00:2::/64");
	json_decref(j);

	/* a 1 MiB line: an error, then the connection is closed */
	fd2 = connect_ctl();
	memset(big, 'x', sizeof(big));
	for (i = 0; i < 2000 && off < sizeof(big); i++) {
		ssize_t n = send(fd2, big + off, sizeof(big) - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			break;		/* the server closed: EPIPE */
		serve();
	}
	{
		char line[256];

		ck_assert_int_gt(read_line(fd2, line, sizeof(line)), 0);
		ck_assert_str_eq(line, "{\"error\":{\"desc\":\"bad request: too large message\"}}");
		ck_assert(closed(fd2));
	}

	/* half a line, then close */
	fd2 = connect_ctl();
	send_str(fd2, "{\"execute\": \"li");
	serve();
	h_close_fd(fd2);
	for (i = 0; i < 20; i++)
		serve();

	/* everyone is still served */
	ask_error(fd, "{\"execute\": \"bad\"}\n", "bad request: unknown execute");
	j = ask(connect_ctl(), "{\"execute\": \"stats\"}\n");
	ck_assert_ptr_nonnull(json_object_get(json_object_get(j, "return"), "counters"));
	json_decref(j);
	ping_works();
}
END_TEST

/* slirp4netns's clients: one request without a newline, with or without
 * shutting down their side; the reply comes and the connection closes. */
START_TEST(one_shot_requests)
{
	char line[1024];
	int fd = connect_ctl();

	send_str(fd, "{\"execute\": \"list_hostfwd\"}");	/* no newline, no shutdown */
	ck_assert_int_gt(read_line(fd, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "{\"return\":{\"entries\":[]},\"entries\":[]}");
	ck_assert(closed(fd));

	fd = connect_ctl();
	send_str(fd, "{\"execute\": \"get_in");	/* half a request: wait for the rest */
	serve();
	send_str(fd, "fo\"}");
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_int_gt(read_line(fd, line, sizeof(line)), 0);
	ck_assert(strstr(line, "{\"return\":{\"version\":\"sandnet ") == line);
	ck_assert(closed(fd));

	fd = connect_ctl();	/* garbage, then the end of input */
	send_str(fd, "badjson");
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_int_gt(read_line(fd, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "{\"error\":{\"desc\":\"bad request: cannot parse JSON\"}}");
	ck_assert(closed(fd));

	fd = connect_ctl();	/* newline-delimited: two requests, then stays open */
	send_str(fd, "{\"execute\": \"bad\"}\n{\"execute\": \"bad\"}\n");
	ck_assert_int_gt(read_line(fd, line, sizeof(line)), 0);
	ck_assert_int_gt(read_line(fd, line, sizeof(line)), 0);
	ck_assert(!closed(fd));
}
END_TEST

/* 16 clients at once; the 17th is told so and closed; then a free slot
 * serves a new one. */
START_TEST(client_limit)
{
	char line[256];
	int fds[CTL_MAX_CLIENTS], fd, i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++) {
		fds[i] = connect_ctl();
		json_decref(ask(fds[i], "{\"execute\": \"get_info\"}\n"));
	}
	fd = connect_ctl();
	ck_assert_int_gt(read_line(fd, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "{\"error\":{\"desc\":\"too many clients: at most 16 at once\"}}");
	ck_assert(closed(fd));
	h_close_fd(fds[3]);
	for (i = 0; i < 10; i++)
		serve();
	json_decref(ask(connect_ctl(), "{\"execute\": \"get_info\"}\n"));
}
END_TEST

/* The socket is owner-only; a stale socket file is replaced, anything
 * else at the path is left alone and refused. */
START_TEST(socket_files)
{
	struct cli_ctl c2;
	struct cli_ctl_conf conf = ctl.conf;
	char other[128];
	struct stat st;
	int fd;

	ck_assert_int_eq(lstat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 077, 0);
	ck_assert_uint_eq(st.st_uid, geteuid());

	conf.stats_file = NULL;
	ck_assert_int_eq(cli_ctl_open(&c2, &conf), -1);	/* in use */
	cli_ctl_close(&c2);
	ck_assert_int_eq(lstat(sock_path, &st), 0);	/* still the live one's */

	snprintf(other, sizeof(other), "%s/file", dir);
	fd = open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	conf.api_socket = other;
	ck_assert_int_eq(cli_ctl_open(&c2, &conf), -1);	/* not a socket */
	cli_ctl_close(&c2);
	ck_assert_int_eq(unlink(other), 0);

	/* a socket nobody listens on any more */
	snprintf(other, sizeof(other), "%s/stale.sock", dir);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		memcpy(sa.sun_path, other, strlen(other));
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	ck_assert_int_eq(cli_ctl_open(&c2, &conf), 0);
	cli_ctl_close(&c2);
	ck_assert_int_eq(lstat(other, &st), -1);	/* removed at close */
}
END_TEST

/* stats: the file and the verb carry every counter with the engine's
 * values, the policy's parts; flows and reload_policy answer. */
START_TEST(stats_file_and_verbs)
{
	json_error_t err;
	json_t *j, *f, *c;
	uint64_t v;
	int fd = connect_ctl();

	ping_works();
	cli_ctl_stats_now(&ctl);
	f = json_load_file(stats_path, 0, &err);
	ck_assert_msg(f != NULL, "%s: %s", stats_path, err.text);
	ck_assert_int_eq(json_integer_value(json_object_get(f, "stats_version")), 1);
	c = json_object_get(f, "counters");
	ck_assert_int_eq(sn_engine_stat(H.e, "icmp_echo_local", &v), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(c, "icmp_echo_local")), 1);
	ck_assert_uint_eq(json_object_size(c), sizeof(struct sn_stats) / sizeof(uint64_t));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
		json_object_get(f, "policy"), 0), "what")), "never");

	j = ask(fd, "{\"execute\": \"stats\"}\n");
	ck_assert(json_equal(json_object_get(json_object_get(j, "return"), "counters"), c));
	json_decref(j);
	json_decref(f);

	j = ask(fd, "{\"execute\": \"flows\"}\n");
	ck_assert(json_is_array(json_object_get(json_object_get(j, "return"), "flows")));
	json_decref(j);

	j = ask(fd, "{\"execute\": \"reload_policy\"}\n");
	ck_assert_ptr_nonnull(json_object_get(j, "return"));
	json_decref(j);
	reload_fails = 1;
	ask_error(fd, "{\"execute\": \"reload_policy\"}\n", "reload_policy: the file is bad");
	ck_assert_int_eq(reloads, 2);
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("socket");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hostfwd_verbs);
	tcase_add_test(tc, hostfwd_bad_arguments);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, one_shot_requests);
	tcase_add_test(tc, client_limit);
	tcase_add_test(tc, socket_files);
	tcase_add_test(tc, stats_file_and_verbs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(control_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
