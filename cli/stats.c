// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - live stats
 *
 * The engine gives its counters by name (sn_stat_name(), sn_engine_stat())
 * and the policy's counts part by part (sn_engine_policy_count()); this
 * file puts them in one JSON object with jansson, which does all quoting,
 * and that object is what the stats file and the control socket's "stats"
 * verb carry. Names come from the library, so a counter added there
 * appears here without a change.
 *
 * The stats file is replaced whole: the JSON goes to a temporary file in
 * the same directory (mkstemp), which is fsync()ed and renamed over the
 * file, so a reader sees the old or the new content, never a mix.
 *
 * SIGUSR1 writes the same to the log: counters as "name=value" pairs a few
 * to a line, then one line per part of the policy.
 *
 * With --pcap, the capture's counters (cli/pcap.h) come along as their own
 * object, "capture": frames written equal the engine's frames_in +
 * frames_out as long as the guest link took every frame the engine output
 * (no queue drops; serve: while a guest is connected).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <sandnet/sandnet.h>

#include "netns.h"
#include "pcap.h"
#include "stats.h"

/* Width of a "stats:" log line of counters before it is broken. */
#define STATS_LOG_WIDTH	100

/**
 * action_name() - an action as text
 * @a:		SN_POLICY_ALLOW or SN_POLICY_DENY
 *
 * Return: "allow" or "deny"
 */
static const char *action_name(int a)
{
	return a == SN_POLICY_ALLOW ? "allow" : "deny";
}

/**
 * obj_set_u64() - add a counter to an object
 * @o:		object
 * @key:	its name
 * @v:		value (counters stay far below 2^63)
 *
 * Return: 0, or -1 (ENOMEM)
 */
static int obj_set_u64(json_t *o, const char *key, uint64_t v)
{
	return json_object_set_new(o, key, json_integer((json_int_t)v));
}

/**
 * policy_json() - the policy's parts with their counts
 * @e:		engine
 *
 * Return: an array, or NULL
 */
static json_t *policy_json(struct sn_engine *e)
{
	json_t *a = json_array(), *o;
	struct sn_policy_count c;
	unsigned i;

	for (i = 0; a && !sn_engine_policy_count(e, i, &c); i++) {
		o = json_pack("{s:s, s:s, s:I, s:I}", "what", c.what, "action",
			      action_name(c.action), "allowed", (json_int_t)c.allowed,
			      "denied", (json_int_t)c.denied);
		if (o && c.n && (json_object_set_new(o, "n", json_integer(c.n)) ||
				 json_object_set_new(o, "rule", json_string(c.rule)) ||
				 json_object_set_new(o, "origin", json_string(c.origin)))) {
			json_decref(o);
			o = NULL;
		}
		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/**
 * capture_json() - the capture's counters
 * @pcap:	the capture
 *
 * Return: an object, or NULL
 */
static json_t *capture_json(const struct cli_pcap *pcap)
{
	const struct cli_pcap_stats *st = &pcap->st;

	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s?}", "file", pcap->path,
			 "frames", (json_int_t)st->frames, "bytes", (json_int_t)st->bytes,
			 "file_bytes", (json_int_t)st->file_bytes,
			 "dropped_by_limit", (json_int_t)st->dropped_by_limit,
			 "dropped_by_error", (json_int_t)st->dropped_by_error,
			 "stopped", pcap->stopped);
}

json_t *cli_stats_json(struct sn_engine *e, const struct cli_pcap *pcap)
{
	json_t *root = json_object(), *counters = json_object(), *policy = policy_json(e);
	struct timespec ts;
	const char *name;
	uint64_t v;
	unsigned i;
	int bad = !root || !counters || !policy;

	clock_gettime(CLOCK_REALTIME, &ts);
	for (i = 0; !bad && (name = sn_stat_name(i)); i++)
		bad = sn_engine_stat(e, name, &v) || obj_set_u64(counters, name, v);
	if (!bad && !json_object_set_new(root, "stats_version", json_integer(CLI_STATS_VERSION)) &&
	    !json_object_set_new(root, "sandnet", json_string(SN_VERSION_STRING)) &&
	    !obj_set_u64(root, "unix_ms", (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) &&
	    !json_object_set(root, "counters", counters) && !json_object_set(root, "policy", policy) &&
	    (!pcap || !pcap->path || !json_object_set_new(root, "capture", capture_json(pcap)))) {
		json_decref(counters);
		json_decref(policy);
		return root;
	}
	json_decref(root);
	json_decref(counters);
	json_decref(policy);
	return NULL;
}

/**
 * addr_str() - the address of a socket address as text
 * @ss:		AF_INET or AF_INET6
 * @buf:	filled
 * @len:	its size
 *
 * Return: @buf
 */
static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = ss->ss_family == AF_INET6 ?
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (!inet_ntop(ss->ss_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/**
 * addr_port() - the port of a socket address
 * @ss:		AF_INET or AF_INET6
 *
 * Return: host order
 */
static unsigned addr_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port :
						 ((const struct sockaddr_in *)ss)->sin_port);
}

/**
 * flow_json() - sn_flow_fn: append one flow to an array
 * @ctx:	the array
 * @f:		the flow
 *
 * Return: 0, or 1 to stop (ENOMEM; the array is then marked by a null)
 */
static int flow_json(void *ctx, const struct sn_flow_info *f)
{
	static const char *const proto[] = { [IPPROTO_TCP] = "tcp", [IPPROTO_UDP] = "udp",
					     [IPPROTO_ICMP] = "icmp" };
	char g[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
	json_t *a = ctx, *o;
	int bad;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}",
		      "proto", proto[f->proto], "dir", f->inbound ? "in" : "out",
		      "state", f->state, "guest_addr", addr_str(&f->guest, g, sizeof(g)),
		      "remote_addr", addr_str(&f->remote, r, sizeof(r)),
		      "bytes_up", (json_int_t)f->bytes_up, "bytes_down", (json_int_t)f->bytes_down,
		      "age_ms", (json_int_t)f->age_ms, "idle_ms", (json_int_t)f->idle_ms);
	if (!o) {
		json_array_append_new(a, json_null());
		return 1;
	}
	if (f->proto == IPPROTO_ICMP)
		bad = json_object_set_new(o, "echo_id", json_integer(addr_port(&f->guest)));
	else
		bad = json_object_set_new(o, "guest_port", json_integer(addr_port(&f->guest))) ||
		      json_object_set_new(o, "remote_port", json_integer(addr_port(&f->remote)));
	if (bad || json_array_append_new(a, o)) {
		json_array_append_new(a, json_null());
		return 1;
	}
	return 0;
}

json_t *cli_flows_json(struct sn_engine *e)
{
	json_t *a = json_array();
	size_t n;

	if (!a)
		return NULL;
	sn_engine_flows(e, flow_json, a);
	n = json_array_size(a);
	if (n && json_is_null(json_array_get(a, n - 1))) {
		json_decref(a);
		return NULL;
	}
	return json_pack("{s:o}", "flows", a);
}

void cli_stats_log(struct sn_engine *e, const struct cli_pcap *pcap)
{
	char line[STATS_LOG_WIDTH + 64], item[96];
	struct sn_policy_count c;
	const char *name;
	size_t len = 0;
	uint64_t v;
	unsigned i;

	for (i = 0; (name = sn_stat_name(i)); i++) {
		if (sn_engine_stat(e, name, &v))
			continue;
		snprintf(item, sizeof(item), "%s=%llu", name, (unsigned long long)v);
		if (len && len + 1 + strlen(item) > STATS_LOG_WIDTH) {
			cli_err("stats: %s", line);
			len = 0;
		}
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", len ? " " : "", item);
	}
	if (len)
		cli_err("stats: %s", line);
	for (i = 0; !sn_engine_policy_count(e, i, &c); i++) {
		if (c.n)
			cli_err("stats: policy %s %u (%s: %s): %s, allowed=%llu denied=%llu", c.what,
				c.n, c.origin, c.rule, action_name(c.action),
				(unsigned long long)c.allowed, (unsigned long long)c.denied);
		else
			cli_err("stats: policy %s: %s, allowed=%llu denied=%llu", c.what,
				action_name(c.action), (unsigned long long)c.allowed,
				(unsigned long long)c.denied);
	}
	if (pcap && pcap->path)
		cli_err("stats: capture %s: frames=%llu bytes=%llu file_bytes=%llu "
			"dropped_by_limit=%llu dropped_by_error=%llu", pcap->path,
			(unsigned long long)pcap->st.frames, (unsigned long long)pcap->st.bytes,
			(unsigned long long)pcap->st.file_bytes,
			(unsigned long long)pcap->st.dropped_by_limit,
			(unsigned long long)pcap->st.dropped_by_error);
}

/**
 * write_all() - write a whole buffer
 * @fd:		file
 * @buf:	bytes
 * @len:	how many
 *
 * Return: 0, or -1 with errno
 */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int cli_stats_write(struct sn_engine *e, const struct cli_pcap *pcap, const char *path)
{
	static int last_err;
	char tmp[PATH_MAX];
	json_t *j = cli_stats_json(e, pcap);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int fd = -1, err = ENOMEM;
	mode_t mask;

	json_decref(j);
	if (!text)
		goto fail;
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		err = ENAMETOOLONG;
		goto fail;
	}
	fd = mkstemp(tmp);
	/* mkstemp() makes it 0600: give it the mode any new file gets */
	mask = umask(0);
	umask(mask);
	if (fd < 0 || fchmod(fd, 0666 & ~mask) || write_all(fd, text, strlen(text)) ||
	    write_all(fd, "\n", 1) || fsync(fd) || rename(tmp, path)) {
		err = errno;
		if (fd >= 0)
			unlink(tmp);
		goto fail;
	}
	close(fd);
	free(text);
	last_err = 0;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(text);
	if (err != last_err)
		cli_err("--stats-file %s: %s", path, strerror(err));
	last_err = err;
	return -1;
}
