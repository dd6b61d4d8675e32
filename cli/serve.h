/* SPDX-License-Identifier: MIT */
/**
 * DOC: serve.h - "sandnet serve": a VM's link on a socket (cli/serve.c)
 *
 * cli/main.c parses serve's command line with the other commands' options
 * (parse_opts(), CLI_SERVE) and hands the options below to serve_opt().
 */
#ifndef SANDNET_CLI_SERVE_H
#define SANDNET_CLI_SERVE_H

#include <getopt.h>

struct opts;

/* serve's own option codes, after cli/main.c's */
enum {
	OPT_SERVE_FIRST = 512,
	OPT_SOCKET = OPT_SERVE_FIRST,
	OPT_DGRAM,
	OPT_FD,
	OPT_FD_TYPE,
	OPT_ONE_OFF,
	OPT_PID_FILE,
	OPT_READY_FD,
};

#define SERVE_OPTIONS							\
	{ "socket",		required_argument, NULL, OPT_SOCKET },	\
	{ "dgram",		required_argument, NULL, OPT_DGRAM },	\
	{ "fd",			required_argument, NULL, OPT_FD },	\
	{ "fd-type",		required_argument, NULL, OPT_FD_TYPE },	\
	{ "one-off",		no_argument,	   NULL, OPT_ONE_OFF },	\
	{ "pid-file",		required_argument, NULL, OPT_PID_FILE }, \
	{ "ready-fd",		required_argument, NULL, OPT_READY_FD }

/* The first lines of "sandnet serve --help"; the common options follow. */
extern const char usage_serve[];

/**
 * serve_opts_init() - serve's defaults, over the common ones
 * @o:		options, common defaults set
 */
void serve_opts_init(struct opts *o);

/**
 * serve_opt() - take one of serve's own options
 * @o:		options
 * @c:		OPT_SOCKET ... OPT_READY_FD
 * @arg:	its value, or NULL
 *
 * Return: 0, or -1 on a bad value (reported)
 */
int serve_opt(struct opts *o, int c, const char *arg);

/**
 * serve_opts_check() - after parsing: exactly one link, no arguments left
 * @o:		options
 * @argc:	argument count
 * @argv:	arguments; optind is past the options
 *
 * Return: 0, or -1 (reported)
 */
int serve_opts_check(struct opts *o, int argc, char **argv);

/**
 * cmd_serve() - sandnet serve
 * @argc:	argument count, argv[0] being "serve"
 * @argv:	arguments
 *
 * Return: 0 when stopped by SIGINT/SIGTERM (or --one-off's guest left), 1
 *	   on runtime errors, 2 on usage errors
 */
int cmd_serve(int argc, char **argv);

#endif /* SANDNET_CLI_SERVE_H */
