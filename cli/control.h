/* SPDX-License-Identifier: MIT */
/**
 * DOC: the control plane of the sandnet program
 *
 * struct cli_ctl gathers what the serving loops (run, attach, serve) do
 * besides moving frames: the control socket (--api-socket), the stats
 * file (--stats-file, --stats-interval), the table of forwarded ports
 * (--publish and the socket's verbs share one id space), and an epoll set
 * holding all their fds and whatever else the loop waits on (its
 * signalfd, a timer, serve's listening socket). That epoll set is the stop
 * fd the loop hands to sn_frontend_run(): when it returns, the loop
 * handles its own fds and calls cli_ctl_dispatch() for the rest. serve
 * gives each guest a fresh engine under the same control plane
 * (cli_ctl_engine()).
 */
#ifndef SANDNET_CLI_CONTROL_H
#define SANDNET_CLI_CONTROL_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <sandnet/sandnet.h>

#include "netns.h"

/* Most clients of the control socket at once; more are answered with an
 * error line and closed. */
#define CTL_MAX_CLIENTS		16
#define CTL_MAX_CLIENTS_S	"16"
/* Longest request line (slirp4netns takes less than 4096 bytes). */
#define CTL_LINE_MAX		65536
/* Default and largest --stats-interval, seconds. */
#define CTL_STATS_INTERVAL	10
#define CTL_STATS_INTERVAL_MAX	86400

struct cli_ctl;
struct cli_pcap;

/**
 * struct ctl_watch - an fd of the epoll set and who serves it
 * @fn:		called by cli_ctl_dispatch() with the epoll events; NULL for
 *		fds the loop reads itself (cli_ctl_watch())
 */
struct ctl_watch {
	void (*fn)(struct cli_ctl *c, struct ctl_watch *w, uint32_t events);
};

/**
 * struct ctl_client - one connection to the control socket
 * @w:		its watch (first: the epoll data points here)
 * @fd:		the connection, -1 when the entry is free
 * @buf:	request bytes not yet handled (CTL_LINE_MAX, allocated at accept)
 * @len:	bytes in @buf
 * @out:	a reply not yet written (json_dumps()'s, with its newline)
 * @out_len:	its length
 * @out_off:	bytes of it written
 * @eof:	the client shut down its side
 * @close_after: close once @out is written (slirp4netns-style request,
 *		oversized line, end of input)
 * @events:	the epoll events asked for now
 */
struct ctl_client {
	struct ctl_watch w;
	int fd;
	char *buf;
	size_t len;
	char *out;
	size_t out_len, out_off;
	int eof;
	int close_after;
	uint32_t events;
};

/**
 * struct ctl_fwd - a forwarded (published) port
 * @id:		its id in the control socket's verbs, from 1; 0: entry free
 * @eid:	the engine's id (sn_engine_publish())
 * @api:	added through the control socket, not --publish
 * @proto:	IPPROTO_TCP or IPPROTO_UDP, to open it again on a new engine
 * @host:	where it listens (the port the kernel chose for port 0)
 * @guest_port:	the guest's port
 */
struct ctl_fwd {
	int id;
	int eid;
	int api;
	int proto;
	struct sockaddr_storage host;
	uint16_t guest_port;
};

/**
 * struct cli_ctl_conf - what the control plane serves
 * @e:			the engine
 * @api_socket:		--api-socket PATH, or NULL
 * @stats_file:		--stats-file FILE, or NULL
 * @stats_interval:	--stats-interval, seconds (0: CTL_STATS_INTERVAL)
 * @tap:		the guest's addresses and MTU (get_info, add_hostfwd)
 * @dns4:		the DNS server the guest is given, IPv4
 * @dns6:		and IPv6
 * @reload:		the reload_policy verb (SIGHUP's work), or NULL
 * @user:		passed to @reload
 * @pcap:		the capture (--pcap), for its counters in the stats, or NULL
 */
struct cli_ctl_conf {
	struct sn_engine *e;
	const char *api_socket;
	const char *stats_file;
	unsigned stats_interval;
	const struct tap_conf *tap;
	struct in_addr dns4;
	struct in6_addr dns6;
	int (*reload)(void *user, char *err, size_t errlen);
	void *user;
	const struct cli_pcap *pcap;
};

/**
 * struct cli_ctl - the control plane (see the DOC above)
 * @conf:	copied from cli_ctl_open()
 * @epfd:	the epoll set: the loop's stop fd
 * @lfd:	the control socket's listener, -1 without one
 * @lw:		its watch
 * @sock_dev:	device of the socket's path once bound (0: none), to
 *		remove only ours
 * @sock_ino:	its inode
 * @tfd:	the stats file's timerfd, -1 without one
 * @tw:		its watch
 * @cli:	clients
 * @fwd:	forwarded ports
 * @next_id:	the id the next forwarded port gets
 */
struct cli_ctl {
	struct cli_ctl_conf conf;
	int epfd;
	int lfd;
	struct ctl_watch lw;
	dev_t sock_dev;
	ino_t sock_ino;
	int tfd;
	struct ctl_watch tw;
	struct ctl_client cli[CTL_MAX_CLIENTS];
	struct ctl_fwd fwd[SN_PUBLISH_MAX];
	int next_id;
};

/**
 * cli_ctl_open() - make the epoll set, the control socket and the stats timer
 * @c:		filled
 * @conf:	what to serve
 *
 * The socket is created owner-only (umask 077 while it is bound, its mode
 * and owner checked before listen()); a stale socket file at the path (no
 * listener behind it) is replaced, anything else there is an error.
 *
 * Return: 0, or -1 (reported; cli_ctl_close() it all the same)
 */
int cli_ctl_open(struct cli_ctl *c, const struct cli_ctl_conf *conf);

/**
 * cli_ctl_fd() - the fd the loop gives sn_frontend_run() as its stop fd
 * @c:		control plane
 *
 * Return: the epoll fd
 */
int cli_ctl_fd(const struct cli_ctl *c);

/**
 * cli_ctl_watch() - make an fd of the loop's wake sn_frontend_run() up too
 * @c:		control plane
 * @fd:		the fd (the loop reads it itself: cli_ctl_dispatch() skips it)
 *
 * Return: 0, or -1 (reported)
 */
int cli_ctl_watch(struct cli_ctl *c, int fd);

/**
 * cli_ctl_add() - serve another fd from cli_ctl_dispatch()
 * @c:		control plane
 * @fd:		the fd, polled for EPOLLIN
 * @w:		its watch: @w->fn is called when @fd is ready (NULL: as
 *		cli_ctl_watch(), the loop reads it itself)
 *
 * Return: 0, or -1 (reported)
 */
int cli_ctl_add(struct cli_ctl *c, int fd, struct ctl_watch *w);

/**
 * cli_ctl_unwatch() - take an fd added with cli_ctl_watch() out again
 * @c:		control plane
 * @fd:		the fd, before it is closed
 */
void cli_ctl_unwatch(struct cli_ctl *c, int fd);

/**
 * cli_ctl_publish() - forward a host port to the guest, with a control id
 * @c:		control plane
 * @proto:	IPPROTO_TCP or IPPROTO_UDP
 * @host:	where to listen
 * @len:	its length
 * @guest_port:	the guest's port
 * @api:	asked through the control socket (not --publish)
 * @err:	a message on failure
 * @errlen:	its size
 *
 * Return: the id (>= 1), or -1
 */
int cli_ctl_publish(struct cli_ctl *c, int proto, const struct sockaddr *host, socklen_t len,
		    uint16_t guest_port, int api, char *err, size_t errlen);

/**
 * cli_ctl_engine() - serve another engine: the next guest's
 * @c:		control plane
 * @e:		the new engine; NULL before the old one is freed
 *
 * Every forwarded port listens again, on the same host address and port
 * and with the same id, on @e. One that cannot (the port was taken in
 * between) is logged and dropped; if it came from --publish, that is an
 * error, as it is at the start.
 *
 * Return: 0, or -1 if a --publish port could not be opened again (reported)
 */
int cli_ctl_engine(struct cli_ctl *c, struct sn_engine *e);

/**
 * cli_ctl_dispatch() - serve whatever of the control plane is ready, without
 *			blocking
 * @c:		control plane
 */
void cli_ctl_dispatch(struct cli_ctl *c);

/**
 * cli_ctl_stats_now() - SIGUSR1: the counters to the log, and to the stats file
 * @c:		control plane
 */
void cli_ctl_stats_now(struct cli_ctl *c);

/**
 * cli_ctl_close() - write the stats file a last time, close every client and
 *		     the socket (its path removed), free what the plane holds
 * @c:		control plane, opened or not (a failed cli_ctl_open() too)
 */
void cli_ctl_close(struct cli_ctl *c);

#endif /* SANDNET_CLI_CONTROL_H */
