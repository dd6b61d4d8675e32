/* SPDX-License-Identifier: MIT */
/**
 * DOC: cli.h - what the sandnet program's commands share (cli/main.c)
 *
 * The command line of run, attach and serve (struct opts, parse_opts()),
 * the engine they start from it on a frontend, and the serving loop's
 * frame every command uses (struct serve): the engine, its guest link,
 * the control plane (cli/control.h: the control socket, the stats file,
 * forwarded ports, the epoll set that is the loop's stop fd), signals
 * (SIGHUP reloads the policy, SIGUSR1 logs the stats) and the drain on
 * exit.
 */
#ifndef SANDNET_CLI_CLI_H
#define SANDNET_CLI_CLI_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include <sandnet/frontend.h>
#include <sandnet/sandnet.h>

#include "control.h"
#include "netns.h"
#include "pcap.h"
#include "policy.h"

struct slirp_conf;

/* Exit code for bad usage, as getopt-based tools use; runtime failures exit 1 */
#define EXIT_USAGE	2

/* parse_opts()'s @mode: which command's options */
enum cli_mode { CLI_ATTACH, CLI_RUN, CLI_SERVE };

/**
 * struct publish_opt - one --publish
 * @arg:	as given, for messages
 * @proto:	IPPROTO_TCP or IPPROTO_UDP
 * @host:	host address and port to listen on
 * @host_len:	its length
 * @guest_port:	the guest's port
 */
struct publish_opt {
	const char *arg;
	int proto;
	struct sockaddr_storage host;
	socklen_t host_len;
	uint16_t guest_port;
};

/**
 * struct opts - command line
 * @tap:		TAP name, guest address, gateway, prefix length, MTU
 * @gw_set:		--gateway given
 * @mtu_set:		--mtu given
 * @dns:		--dns-upstream resolvers
 * @n_dns:		how many
 * @policy:		--allow, --deny, --default-*, --policy, --allow-host-loopback
 * @pol:		the policy they make, for the engine (owned until given to it)
 * @publish:		--publish ports
 * @n_publish:		how many
 * @verbose:		number of -v
 * @linger:		--linger: seconds without progress that end the drain
 * @api_socket:		--api-socket PATH
 * @stats_file:		--stats-file FILE
 * @stats_interval:	--stats-interval SECONDS, 0 when not given
 * @pcap:		--pcap FILE, --pcap-max-size
 * @netns:		attach: --netns PATH
 * @userns:		attach: --userns PATH, or NULL
 * @userns_implied:	@userns derived, not asked for (slirp4netns PID form)
 * @configure:		attach: --configure
 * @vnet_hdr:		the TAP was opened with IFF_VNET_HDR (tap_offload())
 * @offload:		and TUNSETOFFLOAD took: TSO and checksum offload on
 * @compat:		slirp4netns mode: its command line (cli/slirp4netns.c), else NULL
 * @cmd:		run: COMMAND and its arguments, NULL-terminated
 */
struct opts {
	struct tap_conf tap;
	int gw_set;
	int mtu_set;
	struct sockaddr_storage dns[SN_MAX_DNS_UPSTREAMS];
	unsigned n_dns;
	struct cli_policy policy;
	struct sn_policy *pol;
	struct publish_opt publish[SN_PUBLISH_MAX];
	unsigned n_publish;
	int verbose;
	unsigned linger;
	const char *api_socket;
	const char *stats_file;
	unsigned stats_interval;
	struct cli_pcap_conf pcap;
	const char *netns;
	const char *userns;
	int userns_implied;
	int configure;
	int vnet_hdr;
	int offload;
	const struct slirp_conf *compat;
	char **cmd;
};

/**
 * struct serve - what a serving loop acts on
 * @e:		engine
 * @fe:		its guest link (the engine's cfg.output)
 * @o:		options (the policy flags, --linger, -v; o->pol is given to
 *		each engine made)
 * @ctl:	control plane: its fd is the loop's stop fd
 * @pcap:	the capture of @fe's frames (--pcap; the process's, across
 *		serve's guests)
 */
struct serve {
	struct sn_engine *e;
	struct sn_frontend *fe;
	struct opts *o;
	struct cli_ctl ctl;
	struct cli_pcap pcap;
};

/**
 * parse_opts() - parse the options of a command
 * @argc:	argument count, argv[0] being the command name
 * @argv:	arguments
 * @mode:	CLI_RUN (stops at COMMAND), CLI_ATTACH or CLI_SERVE
 * @o:		options, filled; the policy built (o->pol)
 *
 * Return: 0 to go on, 1 if --help or --version was served, -1 on a usage
 *	   error (reported)
 */
int parse_opts(int argc, char **argv, int mode, struct opts *o);

/**
 * link_open() - the guest link: its frontend on @fd, and the capture (--pcap)
 * @sv:		sv->o set; sv->fe and sv->pcap filled
 * @kind:	SN_FRONTEND_*
 * @fd:		the link, non-blocking, or -1 (none yet)
 *
 * Return: 0, or -1 on error (reported; link_close() it all the same)
 */
int link_open(struct serve *sv, enum sn_frontend_kind kind, int fd);

/**
 * link_close() - free the frontend (its fd stays open), close the capture
 * @sv:		from link_open(), or zeroed
 */
void link_close(struct serve *sv);

/**
 * engine_start() - create the engine, its frames carried by @fe
 * @o:		options; o->pol is given to the engine (NULL afterwards)
 * @fe:		the guest link's frontend (cfg.output, cfg.user)
 *
 * Return: the engine, or NULL on error (reported)
 */
struct sn_engine *engine_start(struct opts *o, struct sn_frontend *fe);

/**
 * set_nonblock() - make @fd non-blocking
 * @fd:		file descriptor
 *
 * Return: 0 on success, -1 on error (reported)
 */
int set_nonblock(int fd);

/**
 * stop_signals() - SIGINT, SIGTERM, SIGHUP and SIGUSR1 to a signalfd; no SIGPIPE
 *
 * Return: the signalfd, non-blocking, or -1 (reported)
 */
int stop_signals(void);

/**
 * serve_start() - the control plane of a new engine, and the --publish ports
 * @sv:		filled; sv->e, sv->fe and sv->o set by the caller
 * @sfd:	the loop's signalfd, watched with the rest
 *
 * Return: 0, or -1 (reported; serve_stop() it all the same)
 */
int serve_start(struct serve *sv, int sfd);

/**
 * serve_renew() - a fresh engine for the next guest, same control plane
 * @sv:		from serve_start(); sv->e is freed and replaced
 * @fd:		the next guest's link, or -1 (none yet)
 *
 * Return: 0, or -1 (reported; sv->e may then be NULL)
 */
int serve_renew(struct serve *sv, int fd);

/**
 * serve_stop() - the last stats file, the control socket closed, the engine freed
 * @sv:		from serve_start()
 */
void serve_stop(struct serve *sv);

/**
 * stop_signal() - empty the signalfd, serve the control plane
 * @sfd:	signalfd, non-blocking
 * @sv:		what SIGHUP and SIGUSR1 act on
 *
 * Return: the first SIGINT or SIGTERM read, 0 if none
 */
int stop_signal(int sfd, struct serve *sv);

/**
 * drain() - serve on until every TCP connection closed or none made progress
 * @sv:		engine, guest link, options (--linger, -v), control plane
 * @sfd:	signalfd for SIGINT and SIGTERM, non-blocking
 */
void drain(struct serve *sv, int sfd);

#endif /* SANDNET_CLI_CLI_H */
