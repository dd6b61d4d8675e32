// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - packet capture (--pcap FILE)
 *
 * The frontend calls cli_pcap_hook() for every frame it reads from the
 * guest and every frame the link takes from the engine (sent or queued),
 * so the file holds exactly what crossed the guest link, in the order the
 * engine saw it: frames read while the link is down, or dropped because
 * the link's queue was full, never crossed it and are not in the file.
 * The records are Ethernet (DLT_EN10MB), whole frames (snaplen
 * SN_FRONTEND_FRAME_MAX), stamped with CLOCK_REALTIME in nanoseconds (the
 * nanosecond pcap magic; tshark and Wireshark read it). A pcap record has
 * no direction: the MAC addresses say it (the gateway is 02:73:6e:00:00:01).
 *
 * Writing: libpcap's dump API (pcap_open_dead_with_tstamp_precision(),
 * pcap_dump_fopen(), pcap_dump()) on a stdio stream with a buffer of its
 * own, so frames cost a memcpy each and a write() per CAPTURE_BUF bytes.
 * The first frame after a flush arms a one-shot timer; when it fires
 * (CLI_PCAP_FLUSH_MS later, served by the loop's cli_ctl_dispatch()) the
 * buffer is written out. A crash thus loses at most the frames of the last
 * CLI_PCAP_FLUSH_MS, and an idle link costs no wake-up at all. The file is
 * opened here with O_CLOEXEC (run's COMMAND never holds it) and
 * truncated: each run starts a new capture. serve's next guest continues
 * the same file: the capture belongs to the process, not to an engine.
 *
 * Bound: with --pcap-max-size, a frame whose record would take the file
 * past the bound stops the capture: that frame and every later one are
 * counted (dropped_by_limit), not written, and the log says so once. The
 * file stays a valid capture of the first part of the run. A write error
 * (a full disk) stops it the same way, counted in dropped_by_error; the
 * guest's traffic goes on either way. The counters are in the stats JSON
 * ("capture", cli/stats.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/timerfd.h>

#include <pcap/pcap.h>

#include <sandnet/frontend.h>

#include "netns.h"
#include "pcap.h"

/* pcap's file header and record header, bytes */
#define PCAP_FILE_HDR	24
#define PCAP_REC_HDR	16
/* The stream's buffer: a few of the largest frames per write() */
#define CAPTURE_BUF	(256U << 10)

/**
 * size_parse() - parse --pcap-max-size BYTES[K|M|G]
 * @arg:	the value
 * @out:	bytes; 0 for no bound
 *
 * Return: 0, or -1 (reported, naming the flag)
 */
static int size_parse(const char *arg, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || errno || end == arg)
		goto bad;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v > (UINT64_MAX >> shift) || (v && (v << shift) < CLI_PCAP_MIN_SIZE))
		goto bad;
	*out = (uint64_t)v << shift;
	return 0;
bad:
	cli_err("--pcap-max-size: '%s' is not a size: BYTES, or with a K, M or G suffix "
		"(at least 1K; 0: no bound)", arg);
	return -1;
}

int cli_pcap_opt(struct cli_pcap_conf *pc, int max_size, const char *arg)
{
	if (max_size)
		return size_parse(arg, &pc->max_size);
	if (!*arg) {
		cli_err("--pcap: empty path");
		return -1;
	}
	pc->path = arg;
	return 0;
}

int cli_pcap_conf_check(const struct cli_pcap_conf *pc)
{
	if (pc->max_size && !pc->path) {
		cli_err("--pcap-max-size: needs --pcap");
		return -1;
	}
	return 0;
}

/**
 * capture_stop() - stop writing frames, say so once
 * @c:		capture
 * @why:	"limit" (--pcap-max-size reached) or "error" (a write failed)
 * @err:	the write's errno, for "error"
 */
static void capture_stop(struct cli_pcap *c, const char *why, int err)
{
	if (c->stopped)
		return;
	c->stopped = why;
	if (!strcmp(why, "limit"))
		cli_err("--pcap %s: capture stopped: --pcap-max-size %llu bytes reached "
			"(%llu frames written); later frames are not captured", c->path,
			(unsigned long long)c->max_size, (unsigned long long)c->st.frames);
	else
		cli_err("--pcap %s: capture stopped: write failed: %s", c->path, strerror(err));
}

/**
 * capture_flush() - write out the buffered frames
 * @c:		capture
 */
static void capture_flush(struct cli_pcap *c)
{
	if (!c->dirty)
		return;
	c->dirty = 0;
	if (pcap_dump_flush(c->d))
		capture_stop(c, "error", errno);
}

/**
 * flush_ready() - the flush timer fired: write out the buffer
 * @ctl:	control plane
 * @w:		the capture's watch
 * @events:	epoll events
 */
static void flush_ready(struct cli_ctl *ctl, struct ctl_watch *w, uint32_t events)
{
	struct cli_pcap *c = (struct cli_pcap *)w;
	uint64_t ticks;

	(void)ctl;
	(void)events;
	if (read(c->tfd, &ticks, sizeof(ticks)) > 0)
		capture_flush(c);
}

int cli_pcap_open(struct cli_pcap *c, const struct cli_pcap_conf *pc)
{
	const char *path = pc->path;
	int fd, err;

	memset(c, 0, sizeof(*c));
	c->tfd = -1;
	c->w.fn = flush_ready;
	if (!path)
		return 0;
	c->path = path;
	c->max_size = pc->max_size;
	c->p = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, SN_FRONTEND_FRAME_MAX,
						    PCAP_TSTAMP_PRECISION_NANO);
	c->buf = malloc(CAPTURE_BUF);
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!c->p || !c->buf || c->tfd < 0) {
		cli_err("--pcap %s: %s", path, strerror(c->tfd < 0 ? errno : ENOMEM));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		cli_err("--pcap %s: %s", path, strerror(errno));
		return -1;
	}
	c->f = fdopen(fd, "wb");
	if (!c->f) {
		err = errno;
		close(fd);
		cli_err("--pcap %s: %s", path, strerror(err));
		return -1;
	}
	setvbuf(c->f, c->buf, _IOFBF, CAPTURE_BUF);
	c->d = pcap_dump_fopen(c->p, c->f);
	if (!c->d) {
		cli_err("--pcap %s: %s", path, pcap_geterr(c->p));
		return -1;
	}
	/* the header on disk now: a reader sees a valid, empty capture */
	if (pcap_dump_flush(c->d)) {
		cli_err("--pcap %s: %s", path, strerror(errno));
		return -1;
	}
	c->st.file_bytes = PCAP_FILE_HDR;
	return 0;
}

int cli_pcap_watch(struct cli_pcap *c, struct cli_ctl *ctl)
{
	if (!c->path)
		return 0;
	return cli_ctl_add(ctl, c->tfd, &c->w);
}

void cli_pcap_hook(void *user, int dir, const void *frame, size_t len)
{
	static const struct itimerspec flush_at = {
		.it_value = { .tv_nsec = CLI_PCAP_FLUSH_MS * 1000000L },
	};
	struct cli_pcap *c = user;
	/* a TAP read may hand over one byte more than the link's largest */
	size_t caplen = len < SN_FRONTEND_FRAME_MAX ? len : SN_FRONTEND_FRAME_MAX;
	uint64_t rec = PCAP_REC_HDR + (uint64_t)caplen;
	struct pcap_pkthdr h;
	struct timespec ts;

	(void)dir;
	if (!c->stopped && c->max_size && c->st.file_bytes + rec > c->max_size)
		capture_stop(c, "limit", 0);
	if (c->stopped) {
		if (!strcmp(c->stopped, "limit"))
			c->st.dropped_by_limit++;
		else
			c->st.dropped_by_error++;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	h.ts.tv_sec = ts.tv_sec;
	h.ts.tv_usec = ts.tv_nsec;	/* nanoseconds: the dumper's precision */
	h.caplen = (bpf_u_int32)caplen;
	h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)c->d, &h, frame);
	if (ferror(c->f)) {
		capture_stop(c, "error", errno);
		c->st.dropped_by_error++;
		return;
	}
	c->st.frames++;
	c->st.bytes += caplen;
	c->st.file_bytes += rec;
	if (!c->dirty++)
		timerfd_settime(c->tfd, 0, &flush_at, NULL);
}

void cli_pcap_close(struct cli_pcap *c)
{
	uint64_t dropped = c->st.dropped_by_limit + c->st.dropped_by_error;

	if (!c->path)
		return;		/* no capture: nothing was opened */
	if (c->d) {
		capture_flush(c);
		pcap_dump_close(c->d);		/* closes c->f */
	} else if (c->f) {
		fclose(c->f);
	}
	if (c->p)
		pcap_close(c->p);
	if (c->tfd >= 0)
		close(c->tfd);
	free(c->buf);
	if (dropped)
		cli_err("--pcap %s: %llu frames written, %llu not (%s)", c->path,
			(unsigned long long)c->st.frames, (unsigned long long)dropped,
			c->stopped && !strcmp(c->stopped, "limit") ? "--pcap-max-size" :
			"write error");
	memset(c, 0, sizeof(*c));
	c->tfd = -1;
}
