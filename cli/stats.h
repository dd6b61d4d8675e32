/* SPDX-License-Identifier: MIT */
/**
 * DOC: the CLI's live stats - JSON, the log (SIGUSR1), the stats file
 *
 * One JSON shape for the engine's counters and the policy's counts, used
 * by the stats file (--stats-file), the control socket's "stats" verb and,
 * flattened to "name=value" lines, the log on SIGUSR1.
 */
#ifndef SANDNET_CLI_STATS_H
#define SANDNET_CLI_STATS_H

#include <jansson.h>

struct cli_pcap;
struct sn_engine;

/* Version of the stats JSON's shape; bumped when a field changes meaning. */
#define CLI_STATS_VERSION	1

/**
 * cli_stats_json() - the counters and the policy's counts as JSON
 * @e:		engine
 * @pcap:	the capture (--pcap), or NULL
 *
 * Return: {"stats_version", "sandnet", "unix_ms", "counters": {name:
 *	   value, ...}, "policy": [{"what", "n", "rule", "origin", "action",
 *	   "allowed", "denied"}, ...]}, with --pcap also "capture": {"file",
 *	   "frames", "bytes", "file_bytes", "dropped_by_limit",
 *	   "dropped_by_error", "stopped" (null, "limit" or "error")}; or NULL
 *	   (ENOMEM)
 */
json_t *cli_stats_json(struct sn_engine *e, const struct cli_pcap *pcap);

/**
 * cli_flows_json() - the current flows as JSON
 * @e:		engine
 *
 * Return: {"flows": [{"proto", "dir", "state", "guest_addr", "guest_port",
 *	   "remote_addr", "remote_port", "bytes_up", "bytes_down", "age_ms",
 *	   "idle_ms"}, ...]} (ICMP: "echo_id" instead of the ports), or NULL
 */
json_t *cli_flows_json(struct sn_engine *e);

/**
 * cli_stats_log() - every counter and the policy's counts to the log (stderr)
 * @e:		engine
 * @pcap:	the capture (--pcap), or NULL
 */
void cli_stats_log(struct sn_engine *e, const struct cli_pcap *pcap);

/**
 * cli_stats_write() - write the stats JSON to @path atomically
 * @e:		engine
 * @pcap:	the capture (--pcap), or NULL
 * @path:	the file; a temporary file beside it is renamed over it
 *
 * Return: 0, or -1 (reported once per different error, so a full disk
 *	   does not fill the log)
 */
int cli_stats_write(struct sn_engine *e, const struct cli_pcap *pcap, const char *path);

#endif /* SANDNET_CLI_STATS_H */
