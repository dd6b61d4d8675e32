/* SPDX-License-Identifier: MIT */
/**
 * DOC: libsandnet - a user-mode network stack for one guest
 *
 * The guest speaks Ethernet. The embedder hands every frame the guest sends
 * to sn_engine_input(); the engine hands every frame for the guest to the
 * cfg.output callback. Host sockets the engine opens on the guest's behalf
 * are exposed as pollfds: poll them (with sn_engine_timeout_ms() as the
 * timeout) and pass the result to sn_engine_dispatch(). No threads are
 * created and no call blocks. docs/embedding.md walks through a complete
 * program.
 *
 * One engine per process: lwIP keeps global state, so a second
 * sn_engine_new() while one exists fails with EBUSY (after sn_engine_free()
 * a new one may be made). Run one process per guest, as passt does. That
 * lwIP is private to the library: its symbols are not exported (the shared
 * library exports the functions below and nothing else; the static one has
 * every other symbol local), so a program with an lwIP of its own, a
 * firmware or unikernel whose stack is the guest, links libsandnet beside
 * it and the two share nothing. Link one copy of libsandnet per process.
 *
 * Threads: the engine, and every call taking it, belong to one thread at a
 * time; the library holds no locks. sn_policy_*() calls on a policy not
 * given to an engine touch only that policy (one thread at a time per
 * policy). sn_strerror() reports the last failure of sn_engine_new() in
 * any thread.
 *
 * Callbacks: cfg.output and cfg.log run inside the engine, synchronously,
 * during sn_engine_input(), sn_engine_dispatch() and sn_engine_free() (it
 * resets open TCP connections); cfg.log also during
 * sn_engine_new(), sn_engine_publish() and sn_engine_unpublish(). They run
 * while lwIP is in the middle of its work, so they must not call back into
 * the engine: no sn_engine_*() call but sn_engine_stats(). An embedder
 * whose guest answers synchronously (a guest stack in the same thread)
 * queues the frame in cfg.output and feeds the guest after the engine call
 * returned (examples/lwip-unix does).
 *
 * Ownership: frames are borrowed. sn_engine_input() copies what it keeps
 * before it returns; the frame given to cfg.output is valid only during
 * that call (copy it to keep it). A struct sn_policy belongs to the caller
 * until sn_engine_set_policy(), to the engine after it. Every host socket
 * the engine opens is its own, non-blocking and close-on-exec, and is
 * closed by the engine (at the latest by sn_engine_free()); the embedder
 * only polls them. Writing to them never raises SIGPIPE.
 *
 * Errors: calls returning int return 0 (or a count or id >= 0) on success
 * and -1 on failure; those returning a pointer return NULL. Which of them
 * set errno, and which fill a message buffer, is said at each call.
 * sn_engine_input() and cfg.output failures are per frame, counted in
 * struct sn_stats, never fatal to the engine. Nothing aborts the process on
 * bad input.
 *
 * To carry the frames on a file descriptor (a TAP device, QEMU's stream
 * or datagram sockets, vfkit's unixgram) see sandnet/frontend.h.
 *
 * ABI: the library's soname changes whenever this header changes
 * incompatibly; the sizes of struct sn_config and struct sn_stats, which the
 * caller allocates, are part of it.
 */
#ifndef SANDNET_SANDNET_H
#define SANDNET_SANDNET_H

#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility: what is declared here is
 * what it exports. */
#pragma GCC visibility push(default)

#define SN_VERSION_STRING "0.1.0"
#define SN_MAX_DNS_UPSTREAMS 4

/**
 * typedef sn_output_fn - send one frame to the guest
 * @user:	cfg.user
 * @frame:	Ethernet frame, without FCS; valid only during the call
 * @len:	its length, at most cfg.mtu + 14 (cfg.offload: TCP up to 65534)
 *
 * Runs inside the engine (see "Callbacks" above): it must not call back
 * into the engine, and should not block. When the guest cannot take the
 * frame now (its queue is full), return -1: the engine drops it as a NIC
 * would (counted in output_errors), and TCP retransmits.
 *
 * Return: 0 if the frame was sent or queued, -1 if it was dropped
 */
typedef int (*sn_output_fn)(void *user, const void *frame, size_t len);

/**
 * typedef sn_log_fn - receive one log line (no trailing newline)
 * @user:	cfg.user
 * @level:	SN_LOG_ERR .. SN_LOG_DEBUG, at most cfg.log_level
 * @msg:	the line, valid only during the call
 *
 * Runs inside the engine, like cfg.output: it must not call back into it.
 */
typedef void (*sn_log_fn)(void *user, int level, const char *msg);

enum sn_log_level { SN_LOG_ERR, SN_LOG_WARN, SN_LOG_INFO, SN_LOG_DEBUG };

/**
 * struct sn_config - engine configuration; sn_config_init() fills defaults
 * @output:		engine -> guest frames (required; sn_frontend_output
 *			to carry them on an fd, see sandnet/frontend.h;
 *			frames lwIP sends while it is NULL are dropped)
 * @log:		log sink; NULL logs to stderr
 * @user:		passed to @output and @log
 * @log_level:		highest level logged (default SN_LOG_WARN)
 * @gw_mac:		gateway MAC (default 02:73:6e:00:00:01)
 * @guest_mac:		guest MAC; all-zero means learn it from the first frame
 * @gw_ip4:		gateway and DNS address (default 10.0.2.2)
 * @guest_ip4:		the guest's address (default 10.0.2.15)
 * @prefix_len4:	guest subnet prefix length (default 24)
 * @gw_ip6:		IPv6 gateway and DNS address (default fd00:2::2)
 * @guest_ip6:		the guest's IPv6 address (default fd00:2::15)
 * @prefix_len6:	guest IPv6 prefix length (default 64)
 * @mtu:		guest link MTU, 576..65520 (default 1500)
 * @dns_ip4:		a second IPv4 address the DNS forwarder answers on, as
 *			slirp's 10.0.2.3; 0.0.0.0 (the default): the gateway's
 *			only. DHCP names it as the DNS server; it answers ping.
 * @dns_ip6:		the same for IPv6 (slirp's fd00::3), named by router
 *			advertisements and DHCPv6; :: (the default): the
 *			gateway's only
 * @no_ipv6:		drop every IPv6 frame: no router advertisements, no
 *			IPv6 relaying (slirp4netns without --enable-ipv6)
 * @outbound_ip4:	source address of host sockets to IPv4 destinations
 *			other than the host's loopback; 0.0.0.0 (the default):
 *			the kernel's choice
 * @outbound_ip6:	the same for IPv6 destinations; :: (the default): the
 *			kernel's choice
 * @dns_upstreams:	upstream resolvers; none means the host's resolv.conf
 * @n_dns_upstreams:	how many of @dns_upstreams are set
 * @resolv_conf:	file read when @n_dns_upstreams is 0 (re-read when it
 *			changes: the string must stay valid until
 *			sn_engine_free(), it is not copied)
 * @allow_host_loopback: TCP/UDP to the gateway reaches the host's 127.0.0.1
 * @max_tcp_flows:	TCP connection limit (default 1024)
 * @max_tcp_pending:	of them, host connects in progress at once (default
 *			256; a bound above @max_tcp_flows is that)
 * @max_tcp_pending_per_dest: host connects in progress to one address
 *			(default 128): a black-holed destination holds no more;
 *			SYNs beyond either bound are dropped (the guest retries)
 * @max_udp_sessions:	UDP session limit, LRU eviction beyond (default 256)
 * @max_icmp_flows:	ICMP echo flow limit (default 64)
 * @max_dns_queries:	DNS queries in flight (default 256)
 * @udp_idle_ms:	UDP session idle timeout (default 60000)
 * @tcp_connect_ms:	host connect() timeout (default 30000)
 * @dns_timeout_ms:	per-upstream DNS timeout (default 2000)
 * @offload:		the link segments and checksums TCP for the engine
 *			(a TAP with IFF_VNET_HDR and TUNSETOFFLOAD, see
 *			sandnet/frontend.h): TCP segments in both directions
 *			may be up to 64 KiB whatever @mtu, and those to the
 *			guest carry a partial checksum (the pseudo-header sum,
 *			to be completed from the TCP header on, as virtio-net's
 *			NEEDS_CSUM); other packets still fit @mtu. 0 (the
 *			default): every frame fits @mtu, every checksum whole
 */
struct sn_config {
	sn_output_fn output;
	sn_log_fn log;
	void *user;
	int log_level;

	uint8_t gw_mac[6];
	uint8_t guest_mac[6];
	struct in_addr gw_ip4;
	struct in_addr guest_ip4;
	unsigned prefix_len4;
	struct in6_addr gw_ip6;
	struct in6_addr guest_ip6;
	unsigned prefix_len6;
	unsigned mtu;
	struct in_addr dns_ip4;
	struct in6_addr dns_ip6;
	int no_ipv6;
	struct in_addr outbound_ip4;
	struct in6_addr outbound_ip6;

	struct sockaddr_storage dns_upstreams[SN_MAX_DNS_UPSTREAMS];
	unsigned n_dns_upstreams;
	const char *resolv_conf;

	int allow_host_loopback;

	unsigned max_tcp_flows;
	unsigned max_tcp_pending;
	unsigned max_tcp_pending_per_dest;
	unsigned max_udp_sessions;
	unsigned max_icmp_flows;
	unsigned max_dns_queries;
	unsigned udp_idle_ms;
	unsigned tcp_connect_ms;
	unsigned dns_timeout_ms;
	int offload;
};

/**
 * struct sn_stats - counters; every bound and every drop has one
 *
 * Versioning: fields are only ever added at the end, never removed or
 * reordered, and each is a uint64_t. sn_engine_stats() passes the size the
 * caller was compiled with, so a program built against an older header
 * gets the fields it knows. A program that wants counters by name (and
 * every counter a newer library has) walks sn_stat_name() and reads each
 * with sn_engine_stat(). tcp_flows_active, udp_sessions_active and
 * host_addrs are gauges (they go down); every other field only grows.
 */
struct sn_stats {
	uint64_t frames_in, frames_out, bytes_in, bytes_out;
	uint64_t output_errors;		/* output callback failed */
	uint64_t drop_malformed;	/* truncated, bad length, bad checksum */
	uint64_t drop_spoofed;		/* not from the guest's MAC or address */
	uint64_t drop_unsupported;	/* protocol or frame type not served */
	uint64_t arp_replies;
	uint64_t tcp_flows, tcp_flows_active, tcp_refused, tcp_limit_rst;
	uint64_t tcp_pending_limit;	/* SYNs dropped: too many connects in progress */
	uint64_t tcp_bytes_up, tcp_bytes_down;
	uint64_t udp_sessions, udp_sessions_active, udp_evicted, udp_expired;
	uint64_t udp_dgrams_up, udp_dgrams_down, udp_drop_queue;
	uint64_t icmp_echo_local, icmp_echo_relayed, icmp_replies, icmp_drop;
	uint64_t dns_queries, dns_answers, dns_servfail, dns_formerr, dns_drop_limit;
	uint64_t host_denied;		/* to the gateway without host access */
	uint64_t dhcp_offers, dhcp_acks, dhcp_naks;	/* DHCPv4 server replies sent */
	uint64_t icmp_errors_sent;	/* ICMP errors to the guest (unreachable, ...) */
	uint64_t icmp_errors_ratelimited; /* ICMP errors not sent: over the rate limit */
	uint64_t ttl_expired;		/* guest UDP/echo with TTL <= 1 past the gateway */
	uint64_t host_errors;		/* errors read from UDP/ping sockets' IP_RECVERR queues */
	uint64_t ra_sent;		/* router advertisements sent (netif/ra.c) */
	uint64_t dhcp6_replies;		/* DHCPv6 replies sent (netif/dhcp6.c) */
	uint64_t frag_overlap;		/* guest fragments overlapping: their set abandoned */
	uint64_t policy_denied;		/* flows and DNS queries the policy refused */
	uint64_t dns_nxdomain;		/* queries answered NXDOMAIN for a denied name */
	uint64_t dns_rebind_blocked;	/* answers refused by rebind protection (NXDOMAIN) */
	uint64_t host_addrs;		/* addresses of the host's interfaces known (group host) */
	uint64_t publish_accepted;	/* published-port connections and UDP clients let in */
	uint64_t publish_reset;		/* published-port connections reset: the guest refused or
					 * never answered, 4-tuple in use, no room (denials are in
					 * policy_denied) */
	uint64_t offload_in;		/* TCP segments from the guest larger than the MTU */
	uint64_t offload_out;		/* TCP segments to the guest larger than the MTU */
};

struct sn_engine;

/**
 * DOC: policy - which destinations the guest may reach
 *
 * Every new TCP connection, UDP session, ICMP echo flow and DNS query is
 * decided once, by the engine's policy: ordered rules, first match wins,
 * then the direction's default. A rule is written "[PROTO:]DEST[:PORTS]":
 * PROTO tcp, udp or icmp (none: all); DEST an address or CIDR (IPv6 in
 * brackets when ports follow), an exact domain, "*.suffix" (the name and
 * every name under it), "group:NAME" (host, metadata, loopback, multicast,
 * link-local, private, public) or "any"; PORTS N, N-M or a comma list.
 * Examples: "tcp:*.example.com:443", "10.0.0.0/8", "group:host",
 * "udp:[2001:db8::1]:53". Domain rules match addresses through the names
 * the guest resolved (DNS pin cache); a DNS query for a name a domain rule
 * denies is answered NXDOMAIN.
 *
 * The default profile (sn_policy_new()): egress to public addresses and
 * DNS through the gateway allowed; the host (gateway and the host's own
 * interface addresses), loopback, private, link-local, CGNAT, metadata,
 * multicast denied; unspecified, broadcast and the guest's own address
 * never dialled; DoT/DoQ/mDNS/LLMNR/NetBIOS not relayed; ingress (published
 * ports) allowed; DNS rebind protection on. A denied TCP connection gets an
 * RST, denied UDP and ICMP get ICMP administratively prohibited.
 */
enum sn_policy_action { SN_POLICY_DENY = 0, SN_POLICY_ALLOW = 1 };
enum sn_policy_dir { SN_POLICY_EGRESS = 1, SN_POLICY_INGRESS = 2 };

struct sn_policy;

/**
 * sn_policy_new() - a policy with the default profile and no rules
 *
 * The caller owns it: it either gives it to sn_engine_set_policy() or
 * frees it with sn_policy_free(). It needs no engine.
 *
 * Return: the policy, or NULL with errno ENOMEM
 */
struct sn_policy *sn_policy_new(void);

/**
 * sn_policy_free() - free a policy not given to an engine
 * @pol:	policy, may be NULL
 *
 * A policy given to sn_engine_set_policy() is the engine's: never free it.
 */
void sn_policy_free(struct sn_policy *pol);

/**
 * sn_policy_add() - parse a rule and add it after the others
 * @pol:	policy
 * @dirs:	SN_POLICY_EGRESS, SN_POLICY_INGRESS or both (for ingress the
 *		destination is the connecting peer, the ports the guest's)
 * @action:	SN_POLICY_ALLOW or SN_POLICY_DENY
 * @rule:	"[PROTO:]DEST[:PORTS]", copied
 * @origin:	where it came from, shown in logs (NULL: the rule text), copied
 * @err:	filled with a message naming what is wrong, on failure
 * @errlen:	size of @err
 *
 * Only on a policy the caller still owns: to change an engine's policy,
 * build a new one and sn_engine_set_policy() it.
 *
 * Return: 0, or -1 (a bad rule, too many rules, no memory: the message in
 *	   @err says which; errno is not set)
 */
int sn_policy_add(struct sn_policy *pol, int dirs, int action, const char *rule,
		  const char *origin, char *err, size_t errlen);

/**
 * sn_policy_set_default() - the verdict when no rule matches
 * @pol:	policy
 * @dir:	SN_POLICY_EGRESS and/or SN_POLICY_INGRESS
 * @action:	SN_POLICY_ALLOW (for egress: public addresses only) or
 *		SN_POLICY_DENY
 *
 * Like sn_policy_add(), only on a policy the caller still owns.
 */
void sn_policy_set_default(struct sn_policy *pol, int dir, int action);

/**
 * sn_policy_set_rebind_protection() - DNS answers pointing a name at a
 *				       non-public address become NXDOMAIN
 * @pol:	policy
 * @on:		non-zero: on (the default)
 *
 * Like sn_policy_add(), only on a policy the caller still owns.
 */
void sn_policy_set_rebind_protection(struct sn_policy *pol, int on);

/**
 * sn_policy_set_dns_bypass() - relay DoT, DoQ, mDNS, LLMNR and NetBIOS
 * @pol:	policy
 * @on:		non-zero: decided by the rules like any port; 0: refused
 *		(the default, so DNS filtering cannot be bypassed)
 *
 * Like sn_policy_add(), only on a policy the caller still owns.
 */
void sn_policy_set_dns_bypass(struct sn_policy *pol, int on);

/**
 * sn_policy_block_name() - a name (or "*.suffix") whose queries are always
 *			    answered NXDOMAIN
 * @pol:	policy
 * @name:	the name
 * @origin:	where it came from (NULL: the name)
 * @err:	a message on failure
 * @errlen:	size of @err
 *
 * Like sn_policy_add(), only on a policy the caller still owns.
 *
 * Return: 0, or -1 with the reason in @err
 */
int sn_policy_block_name(struct sn_policy *pol, const char *name, const char *origin,
			 char *err, size_t errlen);

/**
 * sn_config_init() - fill @cfg with safe defaults
 * @cfg:	config to fill, every field
 *
 * Start from this and change what differs, so that fields added later get
 * their defaults.
 */
void sn_config_init(struct sn_config *cfg);

/**
 * sn_engine_new() - create the (only) engine of this process
 * @cfg:	configuration, copied (but for the cfg.resolv_conf string)
 *
 * Opens the engine's own sockets (DNS, the host-address watch) and starts
 * with the default policy (see sn_engine_set_policy()). Free it with
 * sn_engine_free().
 *
 * Return: the engine, or NULL with errno set (EBUSY: one exists already;
 *	   EINVAL: bad config; ENOMEM) and a message in sn_strerror()
 */
struct sn_engine *sn_engine_new(const struct sn_config *cfg);

/**
 * sn_strerror() - why the last sn_engine_new() failed
 *
 * Return: a static message, never NULL ("no error" before any failure)
 */
const char *sn_strerror(void);

/**
 * sn_engine_input() - one frame from the guest
 * @e:		engine
 * @frame:	Ethernet frame without FCS, copied before the call returns
 * @len:	its length (at most cfg.mtu + 14 is served; with cfg.offload,
 *		TCP up to 65534)
 *
 * The engine answers at once where it can: cfg.output may be called, once
 * or more, before this returns. Never from inside cfg.output or cfg.log.
 *
 * Return: 0 if taken, -1 if dropped (malformed, spoofed, unsupported, out
 *	   of memory: counted in the stats; errno is not set)
 */
int sn_engine_input(struct sn_engine *e, const void *frame, size_t len);

/* sn_engine_input_flags(): the frame's TCP or UDP checksum is not to be
 * checked: the guest's kernel left it partial (virtio-net NEEDS_CSUM) or
 * vouched for it (DATA_VALID), on a link that cannot corrupt it. */
#define SN_INPUT_CSUM_OK	1U

/**
 * sn_engine_input_flags() - one frame from the guest, with what the link says
 * @e:		engine
 * @frame:	Ethernet frame without FCS, copied before the call returns
 * @len:	its length (with cfg.offload, TCP up to 64 KiB whatever cfg.mtu)
 * @flags:	SN_INPUT_* bits; 0 is sn_engine_input()
 *
 * Return: as sn_engine_input()
 */
int sn_engine_input_flags(struct sn_engine *e, const void *frame, size_t len, unsigned flags);

/**
 * sn_engine_pollfds() - host sockets the engine waits on
 * @e:		engine
 * @fds:	filled with up to @max entries (fd, events; revents zeroed)
 * @max:	size of @fds; sn_engine_pollfds_max() entries never leave a
 *		socket out
 *
 * Call it before every poll(): the set changes as flows come and go. The
 * fds stay the engine's; do not read, write or close them.
 *
 * Return: number of entries filled
 */
int sn_engine_pollfds(struct sn_engine *e, struct pollfd *fds, int max);

/**
 * sn_engine_pollfds_max() - the most entries sn_engine_pollfds() fills
 * @e:		engine
 *
 * Fixed for the engine's life (it follows the cfg.max_* limits): size the
 * array once.
 *
 * Return: the number of entries
 */
int sn_engine_pollfds_max(struct sn_engine *e);

/**
 * sn_engine_timeout_ms() - longest the embedder may sleep before dispatching
 * @e:		engine
 *
 * Timers run only in sn_engine_dispatch(): call it when this time has
 * passed even if no fd is ready (with n = 0 if poll() timed out).
 * An idle engine has no timer: nothing wakes it but a frame from the guest
 * or a ready host fd, so a host can run many idle guests at no cost. Ask
 * again after every sn_engine_input() and sn_engine_dispatch(): a frame
 * may start a timer.
 *
 * Return: milliseconds until the next timer (0: one is due now), or -1
 *	   when none is set: sleep until a fd is ready (poll()'s and
 *	   epoll_wait()'s infinite timeout)
 */
int sn_engine_timeout_ms(struct sn_engine *e);

/**
 * sn_engine_dispatch() - serve ready sockets and due timers
 * @e:		engine
 * @fds:	the entries of the last sn_engine_pollfds() call, in its order,
 *		with revents set by poll(); entries whose socket was closed
 *		since are skipped
 * @n:		number of entries (0: timers only)
 *
 * Frames for the guest leave through cfg.output during the call. Never
 * from inside cfg.output or cfg.log.
 */
void sn_engine_dispatch(struct sn_engine *e, const struct pollfd *fds, int n);

/**
 * sn_engine_stats_sized() - copy the counters into a struct of a given size
 * @e:		engine
 * @st:		filled with the first @size bytes of the counters
 * @size:	sizeof(struct sn_stats) as the caller knows it; a larger one
 *		gets the rest zeroed
 *
 * Return: the size of struct sn_stats in this library
 */
size_t sn_engine_stats_sized(struct sn_engine *e, struct sn_stats *st, size_t size);

/**
 * sn_engine_stats() - copy the counters (the struct as the caller knows it)
 * @e:		engine
 * @st:		filled
 *
 * The one call allowed inside cfg.output and cfg.log.
 */
void sn_engine_stats(struct sn_engine *e, struct sn_stats *st);
#define sn_engine_stats(e, st) ((void)sn_engine_stats_sized((e), (st), sizeof(*(st))))

/**
 * sn_stat_name() - the name of a counter, to walk them all
 * @i:		0, 1, ...
 *
 * The names are the field names of struct sn_stats, in its order; a newer
 * library has more of them.
 *
 * Return: the name of counter @i, or NULL past the last
 */
const char *sn_stat_name(unsigned i);

/**
 * sn_engine_stat() - one counter by name
 * @e:		engine
 * @name:	a name sn_stat_name() gives ("frames_in", "tcp_flows", ...)
 * @v:		set to its value
 *
 * Return: 0, or -1 with errno ENOENT when no counter has that name
 */
int sn_engine_stat(struct sn_engine *e, const char *name, uint64_t *v);

/**
 * enum sn_decider_kind - what part of the policy a struct sn_policy_count is
 * @SN_COUNT_NEVER:	unspecified, broadcast and the guest's own address (deny)
 * @SN_COUNT_BUILTIN_DNS: DNS through the gateway's forwarder (allow)
 * @SN_COUNT_BUILTIN_BYPASS: DoT, DoQ, mDNS, LLMNR, NetBIOS (deny)
 * @SN_COUNT_RULE:	a rule, in evaluation order
 * @SN_COUNT_BLOCKLIST:	a DNS block list entry (deny: NXDOMAIN)
 * @SN_COUNT_DEFAULT_EGRESS: the egress default (allow: public addresses only)
 * @SN_COUNT_DEFAULT_INGRESS: the ingress default (published ports)
 */
enum sn_decider_kind {
	SN_COUNT_NEVER,
	SN_COUNT_BUILTIN_DNS,
	SN_COUNT_BUILTIN_BYPASS,
	SN_COUNT_RULE,
	SN_COUNT_BLOCKLIST,
	SN_COUNT_DEFAULT_EGRESS,
	SN_COUNT_DEFAULT_INGRESS,
};

/* Longest rule text and origin in struct sn_policy_count, NUL included. */
#define SN_POLICY_TEXT_MAX	384

/**
 * struct sn_policy_count - how often one part of the policy decided
 * @kind:	enum sn_decider_kind
 * @what:	@kind as text: "never", "builtin-dns", "builtin-bypass", "rule",
 *		"blocklist", "default-egress", "default-ingress"
 * @n:		1-based position of the rule or block list entry, else 0
 * @action:	SN_POLICY_ALLOW or SN_POLICY_DENY: the rule's action, the
 *		default's setting
 * @rule:	the rule or block list entry as text ("tcp:*.example.com:443"),
 *		else empty
 * @origin:	where it came from ("--deny 10.0.0.0/8", "policy.json
 *		rules[2]"), else empty
 * @allowed:	flows (and, for domain rules, DNS queries) it allowed
 * @denied:	flows and DNS queries it denied; over all parts, the sum is
 *		the policy's share of policy_denied
 */
struct sn_policy_count {
	int kind;
	const char *what;
	unsigned n;
	int action;
	char rule[SN_POLICY_TEXT_MAX];
	char origin[SN_POLICY_TEXT_MAX];
	uint64_t allowed, denied;
};

/**
 * sn_engine_policy_count() - walk the policy's parts and their counts
 * @e:		engine
 * @i:		0, 1, ...: never, builtin-dns, builtin-bypass, each rule, each
 *		block list entry, default-egress, default-ingress
 * @c:		filled
 *
 * The counts belong to the policy in force: sn_engine_set_policy() (a
 * reload) starts them from zero, while the engine's policy_denied goes on.
 *
 * Return: 0, or -1 past the last part
 */
int sn_engine_policy_count(struct sn_engine *e, unsigned i, struct sn_policy_count *c);

/**
 * struct sn_flow_info - one flow, as sn_engine_flows() reports it
 * @proto:	IPPROTO_TCP, IPPROTO_UDP, or IPPROTO_ICMP (echo, ICMPv6 too)
 * @inbound:	it came in through a published port; @remote is the client
 * @state:	"connecting", "open", "closing" (TCP); "open" otherwise
 * @guest:	the guest's address and port (ICMP: the echo identifier)
 * @remote:	the other end as the guest sees it (the gateway stands for
 *		the host; a published port's loopback client is the gateway)
 * @bytes_up:	payload bytes from the guest to the host side
 * @bytes_down:	payload bytes from the host side to the guest
 * @age_ms:	since the flow began
 * @idle_ms:	since its last payload either way
 */
struct sn_flow_info {
	int proto;
	int inbound;
	const char *state;
	struct sockaddr_storage guest;
	struct sockaddr_storage remote;
	uint64_t bytes_up, bytes_down;
	uint64_t age_ms, idle_ms;
};

/**
 * typedef sn_flow_fn - called for each flow by sn_engine_flows()
 * @ctx:	sn_engine_flows()'s @ctx
 * @f:		the flow, valid during the call
 *
 * Must not call into the engine.
 *
 * Return: 0 to go on, non-zero to stop the walk
 */
typedef int (*sn_flow_fn)(void *ctx, const struct sn_flow_info *f);

/**
 * sn_engine_flows() - walk the current TCP connections, UDP sessions
 *		       (published ports' clients too) and ICMP echo flows
 * @e:		engine
 * @fn:		called for each
 * @ctx:	passed to @fn
 *
 * DNS queries in flight are not flows here (they are counted in the stats).
 *
 * Return: the number of flows @fn was called for
 */
unsigned sn_engine_flows(struct sn_engine *e, sn_flow_fn fn, void *ctx);

/**
 * sn_engine_tcp_pending() - TCP connections still open, for a drain before exit
 * @e:		engine
 * @progress:	if not NULL, set to a counter that grows with every TCP
 *		segment the guest sends and every byte moved between lwIP and
 *		a host socket, and with nothing else
 *
 * An embedder about to stop (its guest's command exited, it was told to
 * quit) keeps serving while this is non-zero, so that what the guest's
 * kernel still holds for a connection (an orphaned socket sending its last
 * data and its FIN) reaches the host. Freeing the engine earlier resets
 * those connections. @progress tells a connection that still moves data
 * from one that is stuck or idle, so that the wait can be bounded by time
 * without progress rather than total time.
 *
 * Return: TCP connections not yet closed on both sides: being connected,
 *	   open or half-closed, and closed by the engine but with its FIN not
 *	   yet acknowledged by the guest
 */
unsigned sn_engine_tcp_pending(struct sn_engine *e, uint64_t *progress);

/**
 * sn_engine_free() - close every host socket and free the engine
 * @e:		engine, may be NULL
 *
 * Open TCP connections are reset on both sides: cfg.output sends the
 * guest's RSTs during the call (drain first, see sn_engine_tcp_pending()).
 * Frees the engine's policy. Afterwards sn_engine_new() may be called
 * again.
 */
void sn_engine_free(struct sn_engine *e);

/**
 * sn_engine_set_policy() - decide new flows with @pol from now on
 * @e:		engine
 * @pol:	policy from sn_policy_new(); the engine owns it from now on
 *		and frees the one it replaces. NULL: the default profile.
 *
 * Flows already allowed go on; new ones, and DNS queries, are decided by
 * @pol. Without a call the engine uses the default profile, plus "allow
 * group:host" when cfg.allow_host_loopback is set; a policy set here
 * replaces that too (add "group:host" to it for host access). If no memory
 * is left for the default profile (@pol NULL), the policy in force stays.
 */
void sn_engine_set_policy(struct sn_engine *e, struct sn_policy *pol);

/**
 * DOC: port publishing - host ports that lead to the guest
 *
 * sn_engine_publish() opens a host socket on an address and port of the
 * host (TCP: a listener; UDP: a bound socket) whose connections and
 * datagrams reach a port of the guest, through the ingress policy (the
 * peer is the client, the port the guest's). The guest sees the real
 * client address and port; a client on the host's loopback (and an IPv6
 * link-local one) appears as the gateway address of its family. IPv4
 * clients (IPv4-mapped ones of a dual-stack listener too) reach the
 * guest's IPv4 address, IPv6 clients its IPv6 address. A TCP client is
 * reset when the policy denies it, when the guest port is closed, and when
 * the guest does not answer within cfg.tcp_connect_ms.
 */
#define SN_PUBLISH_MAX 64

/**
 * sn_engine_publish() - forward a host port to a guest port
 * @e:		engine
 * @proto:	IPPROTO_TCP or IPPROTO_UDP
 * @host:	address and port to listen on (AF_INET or AF_INET6; the IPv6
 *		wildcard takes IPv4 clients too)
 * @len:	size of @host
 * @guest_port:	the guest's port, 1..65535
 * @err:	a message naming what failed, on failure (may be NULL)
 * @errlen:	size of @err
 *
 * The socket is opened (SO_REUSEADDR for TCP), bound, non-blocking and
 * polled by the engine before this returns. At most SN_PUBLISH_MAX at once.
 *
 * Return: an id >= 0 for sn_engine_unpublish(), or -1 with errno set
 *	   (EINVAL, ENOSPC, or bind()'s error such as EADDRINUSE, EACCES)
 */
int sn_engine_publish(struct sn_engine *e, int proto, const struct sockaddr *host, socklen_t len,
		      uint16_t guest_port, char *err, size_t errlen);

/**
 * sn_engine_unpublish() - close a published port
 * @e:		engine
 * @id:		from sn_engine_publish()
 *
 * The listener is closed at once; established TCP connections go on until
 * they end. UDP clients of the port are forgotten (their replies had no
 * socket to leave by).
 *
 * Return: 0, or -1 with errno ENOENT if @id is not a published port
 */
int sn_engine_unpublish(struct sn_engine *e, int id);

/**
 * sn_engine_published() - what a published port is
 * @e:		engine
 * @id:		from sn_engine_publish()
 * @proto:	set to IPPROTO_TCP or IPPROTO_UDP
 * @host:	set to the address and port it listens on (the port the kernel
 *		chose when it was published with port 0)
 * @guest_port:	set to the guest's port
 *
 * Return: 0, or -1 with errno ENOENT if @id is not a published port
 */
int sn_engine_published(struct sn_engine *e, int id, int *proto, struct sockaddr_storage *host,
			uint16_t *guest_port);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* SANDNET_SANDNET_H */
