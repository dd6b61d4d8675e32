/* SPDX-License-Identifier: MIT */
/**
 * DOC: cli.h - what the sandnet program's commands share (cli/main.c)
 *
 * The command line of run, attach and serve (struct opts, parse_opts()),
 * the engine they start from it, and the serving helpers every command's
 * loop uses: signals (SIGHUP reloads the policy), the drain on exit.
 */
#ifndef SANDNET_CLI_CLI_H
#define SANDNET_CLI_CLI_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include <sandnet/frontend.h>
#include <sandnet/sandnet.h>

#include "netns.h"
#include "policy.h"

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
 * @netns:		attach: --netns PATH
 * @configure:		attach: --configure
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
	const char *netns;
	int configure;
	char **cmd;
};

/**
 * parse_opts() - parse the options of a command
 * @argc:	argument count, argv[0] being the command name
 * @argv:	arguments
 * @mode:	CLI_RUN (stops at COMMAND), CLI_ATTACH or CLI_SERVE
 * @o:		options, filled
 *
 * Return: 0 to go on, 1 if --help or --version was served, -1 on a usage
 *	   error (reported)
 */
int parse_opts(int argc, char **argv, int mode, struct opts *o);

/**
 * frontend_open() - a frontend carrying the guest's frames on @fd
 * @kind:	SN_FRONTEND_*
 * @fd:		the link, non-blocking, or -1 (none yet)
 * @o:		options, for the log's verbosity (kept by the frontend)
 *
 * Return: the frontend, or NULL on error (reported)
 */
struct sn_frontend *frontend_open(enum sn_frontend_kind kind, int fd, const struct opts *o);

/**
 * engine_start() - create the engine, its frames carried by @fe
 * @o:		options; o->pol is given to the engine (NULL afterwards)
 * @fe:		the guest link's frontend (cfg.output, cfg.user)
 *
 * Return: the engine, or NULL on error (reported)
 */
struct sn_engine *engine_start(struct opts *o, struct sn_frontend *fe);

/**
 * publish_all() - open the --publish ports on a new engine
 * @e:		engine
 * @o:		options
 *
 * Return: 0, or -1 if one cannot be opened (reported)
 */
int publish_all(struct sn_engine *e, const struct opts *o);

/**
 * set_nonblock() - make @fd non-blocking
 * @fd:		file descriptor
 *
 * Return: 0 on success, -1 on error (reported)
 */
int set_nonblock(int fd);

/**
 * stop_signals() - SIGINT, SIGTERM and SIGHUP to a signalfd; no SIGPIPE
 *
 * Return: the signalfd, non-blocking, or -1 (reported)
 */
int stop_signals(void);

/**
 * stop_signal() - empty the signalfd: SIGHUP reloads the policy
 * @sfd:	signalfd, non-blocking
 * @e:		engine, for a SIGHUP's reload
 * @o:		options
 *
 * Return: the first SIGINT or SIGTERM read, 0 if none
 */
int stop_signal(int sfd, struct sn_engine *e, const struct opts *o);

/**
 * drain() - serve on until every TCP connection closed or none made progress
 * @e:		engine
 * @fe:		the guest link
 * @sfd:	signalfd for SIGINT and SIGTERM, non-blocking
 * @o:		options: --linger, -v
 */
void drain(struct sn_engine *e, struct sn_frontend *fe, int sfd, const struct opts *o);

#endif /* SANDNET_CLI_CLI_H */
