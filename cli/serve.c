// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation
 *
 * sandnet serve: the guest is a virtual machine whose network device
 * speaks Ethernet frames on a socket, the way passt serves QEMU:
 *
 *   --socket PATH	a unix stream socket at PATH; QEMU connects with
 *			-netdev stream (4-byte length before each frame)
 *   --dgram PATH	a unix datagram socket at PATH; QEMU -netdev dgram,
 *			libkrun and vfkit send one frame per datagram (vfkit
 *			after a "VFKT" greeting); the peer is the sender
 *   --fd N		a socket the parent already connected (--fd-type, or
 *			the socket's own type)
 *
 * The serving loop is run's and attach's (struct serve, cli/cli.h): the
 * frontend carries the frames, and the control plane's epoll set
 * (cli/control.h: signalfd, --api-socket, the --stats-file timer, and here
 * the listening socket while no guest is connected) is the stop fd of
 * sn_frontend_run().
 *
 * Readiness. The engine is made, and the control socket and --publish
 * ports opened (serve_start()), before the socket is bound, so PATH
 * appears only once a guest can be served; --pid-file is written next,
 * then --ready-fd gets one byte and is closed. No caller needs to sleep.
 *
 * One guest at a time. While a guest is connected the listening socket is
 * not polled: the next connection waits in the backlog. When the guest
 * goes (its socket closed, bad framing, a datagram peer gone or replaced)
 * its engine is freed, which closes every host socket of its flows and
 * sessions and forgets its leases, fragments and learnt MAC, and a fresh
 * engine is made for the next guest (serve_renew(): policy rebuilt, the
 * file re-read; forwarded ports, --publish's and the control socket's,
 * opened again under the same ids): a rebooted VM starts clean and
 * nothing of the old one holds an fd. The control socket, its clients and
 * the stats file stay; the counters are the current guest's engine's.
 * --one-off exits instead; so does --fd, whose socket has no next guest.
 *
 * Signals: SIGHUP reloads the policy, SIGUSR1 logs the stats; SIGINT or
 * SIGTERM drain the guest's TCP connections (--linger, as run and attach
 * do) and exit 0. PATH, the control socket and the pid file are removed
 * on the way out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <sandnet/frontend.h>
#include <sandnet/sandnet.h>

#include "cli.h"
#include "serve.h"

/* A VM's NIC starts at 1500 (QEMU's user networking too); DHCP option 26
 * and router advertisements carry a larger --mtu to guests that apply it */
#define SERVE_MTU_DEFAULT	1500
/* Connections that may wait while a guest is served */
#define SERVE_BACKLOG		8

const char usage_serve[] =
"Usage: sandnet serve --socket PATH | --dgram PATH | --fd N [OPTIONS]\n"
"\n"
"Serve a virtual machine whose network device sends Ethernet frames on a\n"
"socket, one guest at a time. When the guest goes away (QEMU exits, the VM\n"
"reboots), every connection, session and DHCP lease of it is dropped and the\n"
"next guest starts clean. Runs until SIGINT or SIGTERM (exit 0, after the\n"
"drain of --linger).\n"
"\n"
"  --socket PATH           listen on a unix stream socket at PATH (QEMU\n"
"                          -netdev stream,addr.type=unix,addr.path=PATH)\n"
"  --dgram PATH            bind a unix datagram socket at PATH (QEMU -netdev\n"
"                          dgram with remote.path=PATH; libkrun and vfkit\n"
"                          unixgram); the guest is the first sender\n"
"  --fd N                  serve an already connected socket, fd N\n"
"  --fd-type stream|dgram  framing on --fd (default: the socket's type)\n"
"  --one-off               exit 0 when the first guest goes away\n"
"  --pid-file FILE         write the process id to FILE once ready\n"
"  --ready-fd N            once PATH exists, write one byte to fd N, close it\n"
"  (--mtu defaults to 1500 here; a guest applying DHCP option 26 takes more)\n";

/**
 * struct serve_conf - serve's own options
 * @socket_path:	--socket
 * @dgram_path:		--dgram
 * @fd:			--fd, or -1
 * @fd_type:		--fd-type: SN_FRONTEND_STREAM or _DGRAM, -1 unset
 * @one_off:		--one-off
 * @pid_file:		--pid-file, or NULL
 * @ready_fd:		--ready-fd, or -1
 */
struct serve_conf {
	const char *socket_path;
	const char *dgram_path;
	int fd;
	int fd_type;
	int one_off;
	const char *pid_file;
	int ready_fd;
};

static struct serve_conf sc;

/**
 * serve_opts_init() - serve's defaults, over the common ones
 * @o:		options, common defaults set
 */
void serve_opts_init(struct opts *o)
{
	o->tap.mtu = SERVE_MTU_DEFAULT;
	memset(&sc, 0, sizeof(sc));
	sc.fd = -1;
	sc.fd_type = -1;
	sc.ready_fd = -1;
}

/**
 * serve_fd_arg() - parse a file descriptor number that must be open
 * @flag:	the option, for the message
 * @arg:	its value
 * @fd:		the number
 *
 * Return: 0, or -1 (reported)
 */
static int serve_fd_arg(const char *flag, const char *arg, int *fd)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end || errno || v > INT_MAX) {
		cli_err("%s: '%s' is not a file descriptor number", flag, arg);
		return -1;
	}
	if (fcntl((int)v, F_GETFD) < 0) {
		cli_err("%s: %ld is not an open file descriptor", flag, v);
		return -1;
	}
	*fd = (int)v;
	return 0;
}

/**
 * serve_path_arg() - check a socket path
 * @flag:	the option
 * @arg:	the path
 *
 * Return: 0, or -1 (reported)
 */
static int serve_path_arg(const char *flag, const char *arg)
{
	if (!*arg || strlen(arg) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		cli_err("%s: '%s' is not a socket path (1..%zu characters)", flag, arg,
			sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
		return -1;
	}
	return 0;
}

/**
 * serve_opt() - take one of serve's own options
 * @o:		options
 * @c:		option code
 * @arg:	its value
 *
 * Return: 0, or -1 (reported)
 */
int serve_opt(struct opts *o, int c, const char *arg)
{
	(void)o;
	switch (c) {
	case OPT_SOCKET:
		sc.socket_path = arg;
		return serve_path_arg("--socket", arg);
	case OPT_DGRAM:
		sc.dgram_path = arg;
		return serve_path_arg("--dgram", arg);
	case OPT_FD:
		return serve_fd_arg("--fd", arg, &sc.fd);
	case OPT_FD_TYPE:
		if (!strcmp(arg, "stream"))
			sc.fd_type = SN_FRONTEND_STREAM;
		else if (!strcmp(arg, "dgram"))
			sc.fd_type = SN_FRONTEND_DGRAM;
		else {
			cli_err("--fd-type: '%s' is not stream or dgram", arg);
			return -1;
		}
		return 0;
	case OPT_ONE_OFF:
		sc.one_off = 1;
		return 0;
	case OPT_PID_FILE:
		if (!*arg) {
			cli_err("--pid-file: empty path");
			return -1;
		}
		sc.pid_file = arg;
		return 0;
	case OPT_READY_FD:
		return serve_fd_arg("--ready-fd", arg, &sc.ready_fd);
	default:
		cli_err("serve: unknown option");
		return -1;
	}
}

/**
 * serve_opts_check() - after parsing: exactly one link, no arguments left
 * @o:		options
 * @argc:	argument count
 * @argv:	arguments
 *
 * Return: 0, or -1 (reported)
 */
int serve_opts_check(struct opts *o, int argc, char **argv)
{
	int links = !!sc.socket_path + !!sc.dgram_path + (sc.fd >= 0), type;
	socklen_t len = sizeof(type);

	(void)o;
	if (optind < argc) {
		cli_err("serve: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (links != 1) {
		cli_err("serve: %s one of --socket PATH, --dgram PATH or --fd N",
			links ? "only" : "missing");
		return -1;
	}
	if (sc.fd_type >= 0 && sc.fd < 0) {
		cli_err("--fd-type: only with --fd");
		return -1;
	}
	if (sc.fd >= 0 && sc.fd_type < 0) {
		if (getsockopt(sc.fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
		    (type != SOCK_STREAM && type != SOCK_DGRAM)) {
			cli_err("--fd: %d is not a stream or datagram socket: give --fd-type",
				sc.fd);
			return -1;
		}
		sc.fd_type = type == SOCK_STREAM ? SN_FRONTEND_STREAM : SN_FRONTEND_DGRAM;
	}
	return 0;
}

/**
 * serve_bind() - bind a unix socket at @path, replacing a stale one
 * @flag:	the option, for messages
 * @path:	where
 * @type:	SOCK_STREAM (then listening) or SOCK_DGRAM
 *
 * A socket file nobody serves (connect() refused: a sandnet or QEMU that
 * died) is removed first; a live one is an error.
 *
 * Return: the socket, non-blocking, or -1 (reported)
 */
static int serve_bind(const char *flag, const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, probe, stale;

	memcpy(sa.sun_path, path, strlen(path));
	s = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		cli_err("%s: socket: %s", flag, strerror(errno));
		return -1;
	}
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno != EADDRINUSE)
			goto fail;
		probe = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		stale = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) &&
			errno == ECONNREFUSED;
		if (probe >= 0)
			close(probe);
		if (!stale) {
			cli_err("%s: %s is in use", flag, path);
			close(s);
			return -1;
		}
		unlink(path);
		if (bind(s, (struct sockaddr *)&sa, sizeof(sa)))
			goto fail;
	}
	if (type == SOCK_STREAM && listen(s, SERVE_BACKLOG))
		goto fail;
	return s;
fail:
	cli_err("%s: %s: %s", flag, path, strerror(errno));
	close(s);
	return -1;
}

/**
 * serve_ready() - tell whoever waits that the socket is there
 *
 * Return: 0, or -1 (reported)
 */
static int serve_ready(void)
{
	char pid[32];
	int fd, n;

	if (sc.pid_file) {
		n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		fd = open(sc.pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, pid, (size_t)n) != n) {
			cli_err("--pid-file: %s: %s", sc.pid_file, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	if (sc.ready_fd >= 0) {
		if (write(sc.ready_fd, "R", 1) != 1 && errno != EPIPE) {
			cli_err("--ready-fd: %s", strerror(errno));
			return -1;
		}
		close(sc.ready_fd);
	}
	return 0;
}

/**
 * fd_count() - open file descriptors of this process, for -v
 *
 * Return: the number, or -1 if /proc cannot tell
 */
static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/**
 * struct serve_link - the guest link being served
 * @kind:	SN_FRONTEND_STREAM or SN_FRONTEND_DGRAM
 * @lfd:	--socket: the listening socket, else -1
 * @fd:		the link: the accepted connection (-1 while none), the
 *		--dgram socket, or --fd
 */
struct serve_link {
	int kind;
	int lfd;
	int fd;
};

/**
 * serve_accept() - take the next guest from the listening socket
 * @l:		the link; its listening socket leaves the loop's epoll set
 *		while the guest is served
 * @sv:		engine, frontend, options (-v), control plane
 */
static void serve_accept(struct serve_link *l, struct serve *sv)
{
	int c = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			cli_perror("accept");
		return;
	}
	cli_ctl_unwatch(&sv->ctl, l->lfd);
	l->fd = c;
	sn_frontend_set_fd(sv->fe, c);
	if (sv->o->verbose)
		cli_err("guest connected");
}

/**
 * serve_guest_gone() - the guest left: a fresh engine for the next one
 * @l:		the link
 * @sv:		engine (replaced), frontend, options, control plane (kept)
 * @err:	why the link ended (errno)
 *
 * Return: 1 to go on serving, 0 to stop (--one-off, --fd), -1 on error
 */
static int serve_guest_gone(struct serve_link *l, struct serve *sv, int err)
{
	int next = err == ECONNRESET && l->kind == SN_FRONTEND_DGRAM;
	int old = l->fd, rc;

	if (sv->o->verbose)
		cli_err("guest gone: %s", err == EPIPE ? "it closed the link" : strerror(err));
	if (sc.one_off || (sc.fd >= 0 && !next))
		return 0;
	if (l->lfd >= 0)
		l->fd = -1;
	/* no link (--socket), or the same socket without its peer (--dgram,
	 * a new peer's first datagram kept for the new engine) */
	rc = serve_renew(sv, l->fd);
	if (l->lfd >= 0) {
		close(old);
		if (!rc)
			rc = cli_ctl_watch(&sv->ctl, l->lfd);
	}
	if (rc)
		return -1;
	if (sv->o->verbose)
		cli_err("engine reset for the next guest, %d fds open", fd_count());
	return 1;
}

/**
 * serve_loop() - serve guests until a signal, --one-off or an error
 * @l:		the link
 * @sv:		engine (replaced for each guest), frontend, options, control plane
 * @sfd:	signalfd, in the control plane's epoll set
 *
 * Return: exit code
 */
static int serve_loop(struct serve_link *l, struct serve *sv, int sfd)
{
	for (;;) {
		int rc;

		if (sn_frontend_run(sv->fe, sv->e, cli_ctl_fd(&sv->ctl))) {
			int err = sn_frontend_error(sv->fe);

			if (!err) {
				cli_perror("poll");
				return EXIT_FAILURE;
			}
			rc = serve_guest_gone(l, sv, err);
			if (rc <= 0)
				return rc ? EXIT_FAILURE : EXIT_SUCCESS;
			continue;
		}
		if (stop_signal(sfd, sv)) {
			if (l->fd >= 0)
				drain(sv, sfd);
			return EXIT_SUCCESS;
		}
		if (l->lfd >= 0 && l->fd < 0)
			serve_accept(l, sv);
	}
}

/**
 * cmd_serve() - sandnet serve
 * @argc:	argument count, argv[0] being "serve"
 * @argv:	arguments
 *
 * Return: exit code
 */
int cmd_serve(int argc, char **argv)
{
	struct serve_link l = { .lfd = -1, .fd = -1 };
	struct serve srv = { 0 };
	const char *path = NULL;
	int sfd = -1, ret;
	struct opts o;

	ret = parse_opts(argc, argv, CLI_SERVE, &o);
	if (ret)
		return ret > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	ret = EXIT_FAILURE;
	srv.o = &o;

	sfd = stop_signals();
	if (sfd < 0)
		goto out;

	l.kind = sc.socket_path ? SN_FRONTEND_STREAM :
		 sc.dgram_path ? SN_FRONTEND_DGRAM : sc.fd_type;
	if (sc.fd >= 0) {
		l.fd = sc.fd;
		if (set_nonblock(l.fd))
			goto out;
	}
	if (link_open(&srv, l.kind, -1))
		goto out;
	srv.e = engine_start(&o, srv.fe);
	if (!srv.e)
		goto out;
	/* the control socket and --publish ports, before the link appears */
	if (serve_start(&srv, sfd))
		goto out_serve;

	/* the engine is ready: now the path may appear */
	if (sc.socket_path) {
		path = sc.socket_path;
		l.lfd = serve_bind("--socket", path, SOCK_STREAM);
		if (l.lfd < 0 || cli_ctl_watch(&srv.ctl, l.lfd))
			goto out_path;
	} else if (sc.dgram_path) {
		path = sc.dgram_path;
		l.fd = serve_bind("--dgram", path, SOCK_DGRAM);
		if (l.fd < 0)
			goto out_path;
	}
	sn_frontend_set_fd(srv.fe, l.fd);
	if (serve_ready())
		goto out_path;
	if (o.verbose)
		cli_err("serving %s%s, %d fds open", path ? path : "--fd",
			l.kind == SN_FRONTEND_STREAM ? " (stream)" : " (datagrams)", fd_count());

	ret = serve_loop(&l, &srv, sfd);

out_path:
	if (path && (l.lfd >= 0 || l.fd >= 0))
		unlink(path);
	if (sc.pid_file)
		unlink(sc.pid_file);
out_serve:
	serve_stop(&srv);
out:
	link_close(&srv);
	sn_policy_free(o.pol);
	if (sfd >= 0)
		close(sfd);
	if (l.lfd >= 0)
		close(l.lfd);
	if (l.fd >= 0 && l.fd != sc.fd)
		close(l.fd);
	return ret;
}
