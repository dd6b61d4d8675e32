/* SPDX-License-Identifier: MIT */
/**
 * DOC: pcap.h - packet capture of the guest link (--pcap FILE)
 *
 * Every frame in and out of the guest link, written as a pcap file with
 * nanosecond timestamps through libpcap's dump API, from the frontend's
 * frame hook (sn_frontend_set_hook()). Bounded by --pcap-max-size: the
 * capture stops there, said once in the log. A timer flushes what is
 * buffered CLI_PCAP_FLUSH_MS after the first frame not yet on disk. Only
 * the sandnet program links libpcap, never libsandnet; this header does
 * not include <pcap.h>.
 */
#ifndef SANDNET_CLI_PCAP_H
#define SANDNET_CLI_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control.h"

/* Most time a captured frame waits in the buffer before it is written:
 * a crash loses at most the frames of this last stretch. */
#define CLI_PCAP_FLUSH_MS	100
/* Smallest --pcap-max-size (0 is no bound) */
#define CLI_PCAP_MIN_SIZE	1024

struct pcap;
struct pcap_dumper;

/**
 * struct cli_pcap_stats - what the capture did
 * @frames:		frames written
 * @bytes:		their bytes (the frames only)
 * @file_bytes:		size of the file: header and records
 * @dropped_by_limit:	frames not written: --pcap-max-size was reached
 * @dropped_by_error:	frames not written: writing the file failed
 */
struct cli_pcap_stats {
	uint64_t frames, bytes, file_bytes;
	uint64_t dropped_by_limit, dropped_by_error;
};

/**
 * struct cli_pcap - a capture
 * @w:		the flush timer's watch in the control plane (first: the epoll
 *		data points here)
 * @path:	--pcap FILE; NULL: no capture
 * @max_size:	--pcap-max-size, bytes; 0: no bound
 * @p:		libpcap's handle for the link type and precision
 * @d:		its dumper, writing @f
 * @f:		the file
 * @buf:	@f's buffer, allocated at open
 * @tfd:	the flush timer, -1 without one
 * @dirty:	frames buffered since the last flush
 * @stopped:	0 while capturing, else the reason it stopped
 * @st:		counters
 */
struct cli_pcap {
	struct ctl_watch w;
	const char *path;
	uint64_t max_size;
	struct pcap *p;
	struct pcap_dumper *d;
	FILE *f;
	char *buf;
	int tfd;
	int dirty;
	const char *stopped;
	struct cli_pcap_stats st;
};

/**
 * struct cli_pcap_conf - the capture's options
 * @path:	--pcap FILE, or NULL
 * @max_size:	--pcap-max-size, bytes; 0: no bound
 */
struct cli_pcap_conf {
	const char *path;
	uint64_t max_size;
};

/**
 * cli_pcap_opt() - take --pcap FILE or --pcap-max-size BYTES[K|M|G]
 * @pc:		set
 * @max_size:	0: @arg is --pcap's FILE; 1: --pcap-max-size's BYTES
 * @arg:	the value
 *
 * Return: 0, or -1 (reported, naming the flag)
 */
int cli_pcap_opt(struct cli_pcap_conf *pc, int max_size, const char *arg);

/**
 * cli_pcap_conf_check() - the whole command line read: --pcap-max-size needs --pcap
 * @pc:		the options
 *
 * Return: 0, or -1 (reported)
 */
int cli_pcap_conf_check(const struct cli_pcap_conf *pc);

/**
 * cli_pcap_open() - create FILE and write the pcap header
 * @c:		filled; c->path NULL without --pcap (no capture, nothing opened)
 * @pc:		--pcap FILE and --pcap-max-size
 *
 * The file is opened close-on-exec (run's COMMAND does not inherit it).
 *
 * Return: 0, or -1 (reported in one line; cli_pcap_close() it all the same)
 */
int cli_pcap_open(struct cli_pcap *c, const struct cli_pcap_conf *pc);

/**
 * cli_pcap_watch() - put the flush timer in the control plane's epoll set
 * @c:		capture (nothing done without one)
 * @ctl:	control plane, served by the loop's cli_ctl_dispatch()
 *
 * Return: 0, or -1 (reported)
 */
int cli_pcap_watch(struct cli_pcap *c, struct cli_ctl *ctl);

/**
 * cli_pcap_hook() - sn_frame_hook_fn: write one frame
 * @user:	the struct cli_pcap
 * @dir:	SN_FRAME_IN or SN_FRAME_OUT (pcap's Ethernet records carry none)
 * @frame:	the frame
 * @len:	its length
 */
void cli_pcap_hook(void *user, int dir, const void *frame, size_t len);

/**
 * cli_pcap_close() - write out what is buffered, close the file
 * @c:		capture, opened or not (a failed cli_pcap_open() too), or
 *		zeroed (no capture)
 *
 * Logs how many frames were not written, if any.
 */
void cli_pcap_close(struct cli_pcap *c);

#endif /* SANDNET_CLI_PCAP_H */
