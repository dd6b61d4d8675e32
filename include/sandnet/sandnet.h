/* SPDX-License-Identifier: MIT */
/**
 * DOC: libsandnet - a user-mode network stack for one guest
 *
 * The guest speaks Ethernet. The embedder hands every frame the guest sends
 * to sn_engine_input(); the engine hands every frame for the guest to the
 * cfg.output callback. Host sockets the engine opens on the guest's behalf
 * are exposed as pollfds: poll them (with sn_engine_timeout_ms() as the
 * timeout) and pass the result to sn_engine_dispatch(). No threads are
 * created and no call blocks.
 *
 * One engine per process: lwIP keeps global state, so a second
 * sn_engine_new() while one exists fails with EBUSY. Run one process per
 * guest, as passt does.
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

#define SN_VERSION_STRING "0.1.0"
#define SN_MAX_DNS_UPSTREAMS 4

/**
 * typedef sn_output_fn - send one frame to the guest
 * @user:	cfg.user
 * @frame:	Ethernet frame, without FCS
 * @len:	its length
 *
 * Return: 0 on success, -1 if the frame was dropped (counted in the stats)
 */
typedef int (*sn_output_fn)(void *user, const void *frame, size_t len);

/**
 * typedef sn_log_fn - receive one log line (no trailing newline)
 * @user:	cfg.user
 * @level:	SN_LOG_ERR .. SN_LOG_DEBUG
 * @msg:	the line
 */
typedef void (*sn_log_fn)(void *user, int level, const char *msg);

enum sn_log_level { SN_LOG_ERR, SN_LOG_WARN, SN_LOG_INFO, SN_LOG_DEBUG };

/**
 * struct sn_config - engine configuration; sn_config_init() fills defaults
 * @output:		engine -> guest frames (required)
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
 * @dns_upstreams:	upstream resolvers; none means the host's resolv.conf
 * @n_dns_upstreams:	how many of @dns_upstreams are set
 * @resolv_conf:	file read when @n_dns_upstreams is 0
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
};

/**
 * struct sn_stats - counters; every bound and every drop has one
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
 * Return: the policy, or NULL (ENOMEM)
 */
struct sn_policy *sn_policy_new(void);

/**
 * sn_policy_free() - free a policy not given to an engine
 * @pol:	policy, may be NULL
 */
void sn_policy_free(struct sn_policy *pol);

/**
 * sn_policy_add() - parse a rule and add it after the others
 * @pol:	policy
 * @dirs:	SN_POLICY_EGRESS, SN_POLICY_INGRESS or both (for ingress the
 *		destination is the connecting peer, the ports the guest's)
 * @action:	SN_POLICY_ALLOW or SN_POLICY_DENY
 * @rule:	"[PROTO:]DEST[:PORTS]"
 * @origin:	where it came from, shown in logs (NULL: the rule text)
 * @err:	filled with a message naming what is wrong, on failure
 * @errlen:	size of @err
 *
 * Return: 0, or -1
 */
int sn_policy_add(struct sn_policy *pol, int dirs, int action, const char *rule,
		  const char *origin, char *err, size_t errlen);

/**
 * sn_policy_set_default() - the verdict when no rule matches
 * @pol:	policy
 * @dir:	SN_POLICY_EGRESS and/or SN_POLICY_INGRESS
 * @action:	SN_POLICY_ALLOW (for egress: public addresses only) or
 *		SN_POLICY_DENY
 */
void sn_policy_set_default(struct sn_policy *pol, int dir, int action);

/**
 * sn_policy_set_rebind_protection() - DNS answers pointing a name at a
 *				       non-public address become NXDOMAIN
 * @pol:	policy
 * @on:		non-zero: on (the default)
 */
void sn_policy_set_rebind_protection(struct sn_policy *pol, int on);

/**
 * sn_policy_set_dns_bypass() - relay DoT, DoQ, mDNS, LLMNR and NetBIOS
 * @pol:	policy
 * @on:		non-zero: decided by the rules like any port; 0: refused
 *		(the default, so DNS filtering cannot be bypassed)
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
 * Return: 0, or -1
 */
int sn_policy_block_name(struct sn_policy *pol, const char *name, const char *origin,
			 char *err, size_t errlen);

/**
 * sn_config_init() - fill @cfg with safe defaults
 * @cfg:	config to fill
 */
void sn_config_init(struct sn_config *cfg);

/**
 * sn_engine_new() - create the (only) engine of this process
 * @cfg:	configuration, copied
 *
 * Return: the engine, or NULL with errno set (EBUSY: one exists already;
 *	   EINVAL: bad config) and a message in sn_strerror()
 */
struct sn_engine *sn_engine_new(const struct sn_config *cfg);

/**
 * sn_strerror() - why the last sn_engine_new() failed
 *
 * Return: a static message
 */
const char *sn_strerror(void);

/**
 * sn_engine_input() - one frame from the guest
 * @e:		engine
 * @frame:	Ethernet frame
 * @len:	its length
 *
 * Return: 0 if taken, -1 if dropped (counted in the stats)
 */
int sn_engine_input(struct sn_engine *e, const void *frame, size_t len);

/**
 * sn_engine_pollfds() - host sockets the engine waits on
 * @e:		engine
 * @fds:	filled with up to @max entries
 * @max:	size of @fds
 *
 * Return: number of entries filled
 */
int sn_engine_pollfds(struct sn_engine *e, struct pollfd *fds, int max);

/**
 * sn_engine_timeout_ms() - longest the embedder may sleep before dispatching
 * @e:		engine
 *
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
 * @fds:	entries from sn_engine_pollfds() with revents set by poll()
 * @n:		number of entries
 */
void sn_engine_dispatch(struct sn_engine *e, const struct pollfd *fds, int n);

/**
 * sn_engine_stats() - copy the counters
 * @e:		engine
 * @st:		filled
 */
void sn_engine_stats(struct sn_engine *e, struct sn_stats *st);

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
 */
void sn_engine_free(struct sn_engine *e);

/**
 * sn_engine_set_policy() - decide new flows with @pol from now on
 * @e:		engine
 * @pol:	policy; the engine owns it from now on and frees the one it
 *		replaces. Flows already allowed go on.
 *
 * Without a call the engine uses the default profile (sn_policy_new()),
 * plus "allow group:host" when cfg.allow_host_loopback is set.
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
 * enum sn_link - how frames are carried on a guest fd
 * @SN_LINK_TAP:	one read()/write() per frame (TAP with IFF_NO_PI)
 * @SN_LINK_STREAM:	4-byte big-endian length before each frame (QEMU -netdev stream)
 * @SN_LINK_DGRAM:	one datagram per frame (QEMU -netdev dgram, vfkit)
 */
enum sn_link { SN_LINK_TAP, SN_LINK_STREAM, SN_LINK_DGRAM };

/**
 * sn_engine_run() - run the whole loop on a guest fd until told to stop
 * @e:		engine, created with cfg.output = NULL (the loop writes to @fd)
 * @fd:		guest link, non-blocking
 * @link:	framing on @fd
 * @stop_fd:	loop ends when this fd becomes readable (-1: never)
 *
 * Return: 0 when stopped by @stop_fd, -1 with errno when the guest link
 *	   failed or went away (ENODEV, EPIPE)
 */
int sn_engine_run(struct sn_engine *e, int fd, enum sn_link link, int stop_fd);

#ifdef __cplusplus
}
#endif

#endif /* SANDNET_SANDNET_H */
