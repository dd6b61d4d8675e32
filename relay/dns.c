/* SPDX-License-Identifier: MIT */
/**
 * DOC: Theory of Operation
 *
 * The DNS relay forwards the guest's UDP DNS queries to real resolvers
 * through host sockets and hands their answers back unchanged, after the
 * policy has seen both: names it denies are answered NXDOMAIN, answers
 * that rebind a name to a non-public address become NXDOMAIN, and the
 * addresses of the others are pinned to the name for domain rules. The
 * same checks serve DNS over TCP (relay/dnstcp.c, through
 * sn_dns_filter_query() and sn_dns_filter_answer()).
 *
 * A query: the netif hook gives sn_dns_input() every guest UDP datagram
 * addressed to port 53 of any address. The UDP header is validated (length,
 * checksum unless the netif has UDP checks off), the DNS message copied out
 * of the pbuf and the pbuf freed at once. A message shorter than a DNS
 * header or with QR=1 is dropped; one whose QDCOUNT is not 1, whose name
 * does not parse (compression that loops or points forward, a reserved
 * label type) or that does not fit a slot is answered FORMERR on the spot,
 * and one whose name the policy denies NXDOMAIN. Everything else takes a
 * slot in a fixed table (cfg.max_dns_queries, allocated at init; a full
 * table drops the query and counts dns_drop_limit). A retransmission of a
 * query already in flight (same guest port, destination, ID and bytes) is
 * dropped: the one in flight answers it.
 *
 * Upstreams: a query to the gateway (cfg.gw_ip4, or over IPv6 cfg.gw_ip6
 * and the gateway's link-local address) goes to the configured
 * cfg.dns_upstreams, or when there are none to the "nameserver" lines of
 * cfg.resolv_conf, IPv4 and IPv6, in the file's order, at most
 * SN_MAX_DNS_UPSTREAMS (re-read when its mtime, size or inode changes, with
 * stat() at most once per second). A link-local IPv6 nameserver needs its
 * zone ("fe80::1%eth0", interface name or index) and is skipped without one
 * or when the interface does not exist. A query to any other address goes to
 * that address's port 53 only: a guest that names its own resolver gets it.
 * The list is copied into the slot when the query arrives, so a resolv.conf
 * change never disturbs a query in flight.
 *
 * IPv6: sn_dns_input() takes queries of both families (netif/hook.c
 * calls it for IPv4, netif/hook6.c for IPv6). A slot keeps the
 * address the guest asked and the guest's own address; the answer goes
 * back from the one to the other through sn_udp_output(), over IPv6 with
 * the mandatory UDP checksum. The transport of the query does not decide
 * the upstream's family: a query to fd00:2::2 goes to the same upstreams
 * as one to 10.0.2.2, and AAAA answers, like every other record type,
 * pass unchanged. An IPv4-mapped destination is the IPv4 address it
 * carries. Where a query may go is the policy's decision (sn_decide()):
 * a refused destination gets ICMP administratively prohibited, and the
 * unspecified addresses (::, 0.0.0.0, ::ffff:0.0.0.0, which Linux would
 * connect to its own loopback) are never asked.
 *
 * Sockets and ownership: a slot owns exactly one UDP socket at a time,
 * connect()ed to its current upstream (kernel-chosen source port), so only
 * that upstream's datagrams arrive on it. The query is sent unchanged. The
 * slot keeps a copy of the query (for the next upstream and for synthesised
 * replies) and the guest's port and original destination.
 *
 * Timeouts and upstream order: each attempt has a deadline of now +
 * cfg.dns_timeout_ms, armed with the engine's timers (sn_timer_arm()) and
 * checked by sn_dns_tick() when one comes. On a
 * timeout, a failed socket()/connect()/send(), or an error on the socket
 * (ECONNREFUSED from an ICMP port unreachable), the socket is closed and the
 * next upstream is tried with a new socket. When the list is exhausted (or
 * was empty) the guest gets SERVFAIL.
 *
 * An answer is accepted only on the slot's socket, when it has a full header,
 * the query's ID and QR=1; anything else is ignored and the slot keeps
 * waiting. The accepted answer is sent to the guest unchanged, from the
 * address and port the guest asked (so it matches the guest's socket), and
 * the slot is freed with its socket. If the answer is larger than the guest
 * can take (512 bytes, or the UDP payload size of the query's EDNS0 OPT
 * record, capped at 65507), the guest gets instead the answer's header with
 * TC=1 and the question only, and retries over TCP (which the TCP relay
 * proxies to the same upstreams, in the same order, filtered the same way).
 *
 * Names: the question's name is read from the wire (compression followed
 * only backwards, so no loop) into two forms and the policy decides both
 * (sn_decide_name(): the block list, then the first domain rule without
 * protocols or ports): exact, the labels as sent, lower case, every byte
 * a rule's name cannot hold (not a letter, digit, '-' or '_') replaced by
 * DNS_NAME_ODD; and text, where a '.' byte inside a label is a '.' and a
 * NUL ends the name, as a resolver that handles names as text would read
 * them. A deny of either is NXDOMAIN, so neither "tracker" + "ads.example"
 * as two labels nor "tracker.ads.example\0x" slips past "*.ads.example".
 *
 * Answers: every A and AAAA record of the answer section, whichever name
 * of a CNAME chain owns it, is read (counts are not trusted: the walk
 * stops at the first record that does not fit; a TC answer counts with
 * what it holds). If rebind protection refuses one address for the name
 * asked (sn_decide_rebind(): loopback, private, link-local, metadata, the
 * host's, unless a rule allows that name or address), the guest gets
 * NXDOMAIN built from its query; otherwise every address is pinned to the
 * name asked (both forms) for its record's TTL, and the answer goes on
 * byte for byte.
 *
 * Synthesised errors (FORMERR, SERVFAIL, NXDOMAIN) carry the query's ID,
 * opcode and RD, QR=1, RA=1 and the question section; never REFUSED,
 * which stalls glibc and breaks musl. A truncated answer keeps the
 * upstream header's ID, flags and RCODE, adds TC, and carries the question.
 *
 * Counters: dns_queries counts every well-formed query (QR=0, full header),
 * dns_answers every upstream answer delivered (truncated, refused by
 * rebind protection or not), dns_servfail and dns_formerr the synthesised
 * errors, dns_nxdomain the queries answered NXDOMAIN for a denied name
 * (policy_denied too), dns_rebind_blocked the answers refused by rebind
 * protection, dns_drop_limit the queries dropped for a full table;
 * malformed UDP counts drop_malformed. DNS over TCP counts the same.
 *
 * sn_dns_fini() closes every socket still open. No allocation happens per
 * query: the slot table and the one static 64 KiB message buffer are all.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include "core/engine.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip4_addr.h"
#include "lwip/ip6_addr.h"
#include "lwip/pbuf.h"
#include "lwip/prot/dns.h"
#include "lwip/prot/ip.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/udp.h"
#include "relay/relay.h"

/* Largest query a slot holds: a question is at most 12 + 255 + 4 bytes;
 * EDNS options, cookies and TSIG fit easily. Larger queries get FORMERR. */
#define SN_DNS_QUERY_MAX	4096
/* Largest UDP payload in an IPv4 datagram. */
#define SN_DNS_UDP_MAX		65507
/* What a guest without EDNS0 can take (RFC 1035 4.2.1). */
#define SN_DNS_UDP_MIN		512
/* resolv.conf is stat()ed at most this often. */
#define SN_DNS_RESOLV_CHECK_MS	1000
/* Datagrams read per readiness callback, so one socket cannot starve others. */
#define SN_DNS_RECV_BURST	8

#define DNS_FLAG1_OPCODE_MASK	0x78
#define DNS_RCODE_FORMERR	1
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_RRTYPE_A		1
#define DNS_RRTYPE_AAAA		28
#define DNS_RRTYPE_OPT		41
/* Stands for a byte of a label that no rule's name can hold (anything but
 * letters, digits, '-' and '_'): such a label never equals a rule's. */
#define DNS_NAME_ODD		'?'

/**
 * union sn_dns_addr - an upstream resolver's address
 * @sa:		generic view
 * @sin:	IPv4
 * @sin6:	IPv6
 */
union sn_dns_addr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

/**
 * struct sn_dns_query - one guest query in flight
 * @used:	whether the slot holds a query
 * @fd:		socket connect()ed to @up[@cur], -1 between attempts
 * @slot:	engine fd-table slot of @fd, -1 if none
 * @deadline:	when the current upstream has had its time
 * @orig_dst:	address the guest sent the query to (answers come from it),
 *		IPv4 or IPv6
 * @guest_addr:	the guest's source address (answers go to it)
 * @guest_port:	guest's source port, host order
 * @id:		DNS ID, host order
 * @len:	bytes in @msg
 * @qend:	end of the question section in @msg
 * @max_answer:	largest answer the guest takes over UDP
 * @cur:	index of the upstream being asked
 * @n_up:	upstreams in @up
 * @up:		upstreams, in the order they are tried
 * @msg:	the query, as the guest sent it
 */
struct sn_dns_query {
	int used;
	int fd;
	int slot;
	uint32_t deadline;
	ip_addr_t orig_dst;
	ip_addr_t guest_addr;
	uint16_t guest_port;
	uint16_t id;
	uint16_t len;
	uint16_t qend;
	uint16_t max_answer;
	uint8_t cur;
	uint8_t n_up;
	union sn_dns_addr up[SN_MAX_DNS_UPSTREAMS];
	uint8_t msg[SN_DNS_QUERY_MAX];
};

/**
 * struct sn_dns - the DNS relay's state
 * @q:			query table, @max entries
 * @max:		cfg.max_dns_queries
 * @active:		slots in use
 * @resolv:		nameservers read from cfg.resolv_conf
 * @n_resolv:		entries in @resolv
 * @resolv_checked:	whether @resolv_check_ms is valid
 * @resolv_check_ms:	when resolv.conf was last stat()ed
 * @resolv_mtime:	its mtime at the last read
 * @resolv_ino:		its inode at the last read
 * @resolv_size:	its size at the last read
 * @resolv_read:	whether @resolv reflects a successful read
 */
struct sn_dns {
	struct sn_dns_query *q;
	unsigned max;
	unsigned active;

	union sn_dns_addr resolv[SN_MAX_DNS_UPSTREAMS];
	unsigned n_resolv;
	int resolv_checked;
	uint32_t resolv_check_ms;
	struct timespec resolv_mtime;
	ino_t resolv_ino;
	off_t resolv_size;
	int resolv_read;
};

/* Guest queries and upstream answers pass through here; one engine per
 * process, and nothing keeps a pointer into it across calls. */
static uint8_t dns_buf[65535];

/**
 * get16() - read a big-endian 16-bit field
 * @p:		first byte
 *
 * Return: the value
 */
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/**
 * put16() - write a big-endian 16-bit field
 * @p:		first byte
 * @v:		value
 */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/**
 * dns_skip_name() - step over a domain name, compressed or not
 * @m:		message
 * @len:	its length
 * @off:	offset of the name; on success, of the byte after it
 *
 * Return: 0, or -1 if the name runs past @len, is longer than 255 bytes or
 *	   uses a reserved label type
 */
static int dns_skip_name(const uint8_t *m, size_t len, size_t *off)
{
	size_t o = *off;
	size_t n = 0;

	/* Every step consumes at least one byte: bounded by @len and 255. */
	for (;;) {
		if (o >= len)
			return -1;
		if (m[o] == 0) {
			*off = o + 1;
			return 0;
		}
		if ((m[o] & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return -1;
			*off = o + 2;
			return 0;
		}
		if (m[o] & 0xc0)
			return -1;
		n += (size_t)m[o] + 1;
		if (n + 1 > 255)
			return -1;
		o += (size_t)m[o] + 1;
	}
}

/**
 * struct dns_qname - a question's name, as the policy matches it
 * @exact:	the labels as sent, lower case, '.' between them; a byte no
 *		rule's name holds is DNS_NAME_ODD
 * @text:	the same read as text: a '.' byte inside a label is a '.',
 *		a NUL byte ends the name, and trailing dots go (what a
 *		resolver that handles names as C strings would ask for)
 */
struct dns_qname {
	char exact[SN_NAME_MAX + 1];
	char text[SN_NAME_MAX + 1];
};

/**
 * dns_name_char() - a name byte as the policy compares it
 * @c:		byte of a label
 *
 * Return: @c in lower case if it is a letter, digit, '-' or '_', else
 *	   DNS_NAME_ODD
 */
static char dns_name_char(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
		return (char)c;
	return DNS_NAME_ODD;
}

/**
 * dns_read_name() - a domain name of a message in the policy's two forms
 * @m:		message
 * @len:	its length
 * @off:	offset of the name
 * @nm:		filled
 *
 * Compression pointers are followed only backwards, each below where the
 * run of labels holding it began, so every jump goes lower than the one
 * before and a loop is impossible; the name is at most 255 bytes as on the
 * wire, so both forms fit SN_NAME_MAX. A suffix rule matches a name in
 * @nm->exact only at real label boundaries; @nm->text adds the boundaries a
 * sloppy resolver would see, so deciding both leaves no spelling past a
 * deny rule.
 *
 * Return: 0, or -1 if the name is cut, too long, loops or uses a reserved
 *	   label type
 */
static int dns_read_name(const uint8_t *m, size_t len, size_t off, struct dns_qname *nm)
{
	size_t run = off, n = 0, t = 0, cut = SIZE_MAX;

	for (;;) {
		size_t l, i;

		if (off >= len)
			return -1;
		l = m[off];
		if (!l)
			break;
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (off + 2 > len)
				return -1;
			to = ((l & 0x3f) << 8) | m[off + 1];
			if (to >= run)
				return -1;
			off = run = to;
			continue;
		}
		if (l & 0xc0)
			return -1;
		n += l + 1;
		if (n + 1 > 255 || off + 1 + l > len)
			return -1;
		if (t) {
			nm->exact[t] = nm->text[t] = '.';
			t++;
		}
		for (i = 1; i <= l; i++, t++) {
			uint8_t c = m[off + i];

			nm->exact[t] = dns_name_char(c);
			nm->text[t] = c == '.' ? '.' : nm->exact[t];
			if (!c && cut == SIZE_MAX)
				cut = t;
		}
		off += 1 + l;
	}
	nm->exact[t] = '\0';
	if (cut < t)
		t = cut;
	while (t && nm->text[t - 1] == '.')
		t--;		/* "name." is "name" to whoever reads text */
	nm->text[t] = '\0';
	return 0;
}

/**
 * dns_skip_questions() - step over @count questions
 * @m:		message
 * @len:	its length
 * @count:	questions to skip
 * @off:	offset of the first; on success, of the byte after the last
 *
 * Return: 0, or -1 if a question is cut or malformed
 */
static int dns_skip_questions(const uint8_t *m, size_t len, unsigned count,
			      size_t *off)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		if (dns_skip_name(m, len, off) < 0 || *off + 4 > len)
			return -1;
		*off += 4;
	}
	return 0;
}


/**
 * dns_skip_rrs() - step over @count resource records
 * @m:		message
 * @len:	its length
 * @count:	records to skip
 * @off:	offset of the first; on success, of the byte after the last
 *
 * Return: 0, or -1 if a record is cut or malformed
 */
static int dns_skip_rrs(const uint8_t *m, size_t len, unsigned count,
			size_t *off)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		if (dns_skip_name(m, len, off) < 0 || *off + 10 > len)
			return -1;
		*off += 10 + (size_t)get16(m + *off + 8);
		if (*off > len)
			return -1;
	}
	return 0;
}

/**
 * dns_edns_size() - largest UDP answer the guest accepts for a query
 * @m:		the query
 * @len:	its length
 * @qend:	end of its question section
 *
 * Looks for an OPT record (RFC 6891) in the additional section; its CLASS
 * is the requester's UDP payload size.
 *
 * Return: 512 without a (parseable) OPT record, else its size clamped to
 *	   512..65507
 */
static uint16_t dns_edns_size(const uint8_t *m, size_t len, size_t qend)
{
	unsigned arcount = get16(m + 10);
	size_t off = qend;
	unsigned i;

	if (dns_skip_rrs(m, len, (unsigned)get16(m + 6) + get16(m + 8), &off) < 0)
		return SN_DNS_UDP_MIN;

	for (i = 0; i < arcount; i++) {
		size_t rr = off;
		uint16_t size;

		if (dns_skip_rrs(m, len, 1, &off) < 0)
			return SN_DNS_UDP_MIN;
		if (dns_skip_name(m, len, &rr) < 0 ||
		    get16(m + rr) != DNS_RRTYPE_OPT)
			continue;
		size = get16(m + rr + 2);
		if (size < SN_DNS_UDP_MIN)
			return SN_DNS_UDP_MIN;
		return size > SN_DNS_UDP_MAX ? SN_DNS_UDP_MAX : size;
	}
	return SN_DNS_UDP_MIN;
}

/**
 * dns_error_header() - turn a query header into an error reply's header
 * @h:		header, rewritten in place
 * @rcode:	DNS_RCODE_*
 * @qdcount:	questions that follow the header in the reply
 *
 * Keeps ID, opcode and RD; sets QR and RA; every other count becomes 0.
 */
static void dns_error_header(uint8_t *h, uint8_t rcode, uint16_t qdcount)
{
	h[2] = (uint8_t)(DNS_FLAG1_RESPONSE |
			 (h[2] & (DNS_FLAG1_OPCODE_MASK | DNS_FLAG1_RD)));
	h[3] = (uint8_t)(DNS_FLAG2_RA | (rcode & DNS_FLAG2_ERR_MASK));
	put16(h + 4, qdcount);
	put16(h + 6, 0);
	put16(h + 8, 0);
	put16(h + 10, 0);
}

/**
 * dns_send() - send a DNS message to the guest from the address it asked
 * @e:		engine
 * @from:	the query's original destination
 * @gaddr:	the guest's address
 * @gport:	guest port
 * @m:		message
 * @len:	its length
 */
static void dns_send(struct sn_engine *e, const ip_addr_t *from, const ip_addr_t *gaddr,
		     uint16_t gport, const uint8_t *m, size_t len)
{
	err_t err = sn_udp_output(e, from, DNS_SERVER_PORT, gaddr, gport, m, len);

	if (err != ERR_OK)
		sn_log(e, SN_LOG_DEBUG, "dns: output to guest port %u: err %d",
		       gport, (int)err);
}

/**
 * dns_error_reply() - turn a query into an error reply, in place
 * @m:		the query, rewritten
 * @len:	its length
 * @rcode:	DNS_RCODE_*
 *
 * The reply keeps the question section if every question parses, else it
 * is the bare header (see dns_error_header()).
 *
 * Return: the reply's length
 */
static size_t dns_error_reply(uint8_t *m, size_t len, uint8_t rcode)
{
	uint16_t qd = get16(m + 4);
	size_t end = SIZEOF_DNS_HDR;

	if (dns_skip_questions(m, len, qd, &end) < 0) {
		end = SIZEOF_DNS_HDR;
		qd = 0;
	}
	dns_error_header(m, rcode, qd);
	return end;
}

/**
 * dns_name_denied() - is a query's name denied, in either of its forms
 * @e:		engine
 * @nm:		the name
 *
 * Return: non-zero if it is (the denial is counted and logged)
 */
static int dns_name_denied(struct sn_engine *e, const struct dns_qname *nm)
{
	struct sn_verdict v;

	if (sn_decide_name(e, nm->exact, &v) != SN_POLICY_ALLOW)
		return 1;
	return strcmp(nm->exact, nm->text) && sn_decide_name(e, nm->text, &v) != SN_POLICY_ALLOW;
}

/**
 * sn_dns_filter_query() - decide a guest's query, UDP or TCP
 * @e:		engine
 * @m:		the query (QR=0, at least a header), rewritten into the reply
 *		when it is answered here
 * @len:	its length
 * @max:	the longest query forwarded (longer ones get FORMERR)
 *
 * One question that parses, whose name the policy allows: forwarded.
 * Otherwise the guest is answered at once: FORMERR (dns_formerr) for
 * anything but one well-formed question, NXDOMAIN (dns_nxdomain) for a
 * denied name. Counts dns_queries.
 *
 * Return: 0 to forward the query, else the length of the reply in @m
 */
size_t sn_dns_filter_query(struct sn_engine *e, uint8_t *m, size_t len, size_t max)
{
	size_t qend = SIZEOF_DNS_HDR;
	struct dns_qname nm;

	e->st.dns_queries++;
	if (get16(m + 4) != 1 || len > max || dns_skip_questions(m, len, 1, &qend) < 0 ||
	    dns_read_name(m, len, SIZEOF_DNS_HDR, &nm) < 0) {
		e->st.dns_formerr++;
		return dns_error_reply(m, len, DNS_RCODE_FORMERR);
	}
	if (!dns_name_denied(e, &nm))
		return 0;
	e->st.dns_nxdomain++;
	return dns_error_reply(m, qend, DNS_RCODE_NXDOMAIN);
}

/**
 * struct dns_rr_iter - a walk over the addresses of an answer section
 * @off:	offset of the next record
 * @left:	records the header says are still to come
 */
struct dns_rr_iter {
	size_t off;
	unsigned left;
};

/**
 * dns_addrs_begin() - start a walk over an answer's A and AAAA records
 * @m:		the answer
 * @len:	its length
 * @it:		set up; walks nothing if the question section does not parse
 */
static void dns_addrs_begin(const uint8_t *m, size_t len, struct dns_rr_iter *it)
{
	it->off = SIZEOF_DNS_HDR;
	it->left = 0;
	if (len >= SIZEOF_DNS_HDR && !dns_skip_questions(m, len, get16(m + 4), &it->off))
		it->left = get16(m + 6);
}

/**
 * dns_addrs_next() - the next A or AAAA record of the answer section
 * @m:		the answer
 * @len:	its length
 * @it:		walk, advanced
 * @ip:		filled with the record's address, normalised
 * @ttl:	filled with its TTL in seconds (RFC 2181 8: the top bit set
 *		means 0)
 *
 * Owner names are not compared: every address of the section counts,
 * whichever name of a CNAME chain it belongs to. The walk ends at the
 * section's count or at the first record that does not fit the message
 * (a truncated answer: what is there counts), whichever comes first.
 *
 * Return: 1 with a record, 0 at the end
 */
static int dns_addrs_next(const uint8_t *m, size_t len, struct dns_rr_iter *it,
			  struct sn_ip *ip, uint32_t *ttl)
{
	while (it->left) {
		size_t o = it->off;
		uint16_t type, rdlen;
		struct sn_ip raw;

		it->left--;
		if (dns_skip_name(m, len, &o) < 0 || o + 10 > len ||
		    o + 10 + get16(m + o + 8) > len)
			break;
		type = get16(m + o);
		rdlen = get16(m + o + 8);
		it->off = o + 10 + rdlen;
		if (type == DNS_RRTYPE_A && rdlen == 4) {
			uint32_t a;

			memcpy(&a, m + o + 10, 4);
			sn_ip_from4(&raw, a);
		} else if (type == DNS_RRTYPE_AAAA && rdlen == 16) {
			memcpy(raw.b, m + o + 10, 16);
		} else {
			continue;
		}
		sn_ip_normalise(&raw, ip);
		*ttl = ((uint32_t)get16(m + o + 4) << 16 | get16(m + o + 6)) & 0x7fffffff;
		return 1;
	}
	it->left = 0;
	return 0;
}

/**
 * dns_answer_ok() - rebind protection and pins for an upstream answer
 * @e:		engine
 * @q:		the message whose question names the answer: the query (UDP),
 *		or the answer itself (TCP, where answers are matched to
 *		queries by the guest alone)
 * @qlen:	its length
 * @a:		the answer
 * @alen:	its length
 *
 * Every A and AAAA address of the answer section is checked with
 * sn_decide_rebind() under both forms of the name; if one is refused the
 * answer is (dns_rebind_blocked), and nothing is pinned. Otherwise each
 * address is pinned to the name for its record's TTL. A question that does
 * not parse leaves the name empty: no domain rule excuses its addresses,
 * and nothing is pinned.
 *
 * Return: 1 if the answer may reach the guest, 0 if it is to be NXDOMAIN
 */
static int dns_answer_ok(struct sn_engine *e, const uint8_t *q, size_t qlen,
			    const uint8_t *a, size_t alen)
{
	struct dns_rr_iter it;
	struct dns_qname nm;
	struct sn_ip ip;
	uint32_t ttl, now = sn_now_ms();
	int named = qlen >= SIZEOF_DNS_HDR && !dns_read_name(q, qlen, SIZEOF_DNS_HDR, &nm);
	int two;

	if (!named)
		nm.exact[0] = nm.text[0] = '\0';
	two = strcmp(nm.exact, nm.text) != 0;
	for (dns_addrs_begin(a, alen, &it); dns_addrs_next(a, alen, &it, &ip, &ttl);) {
		if (!sn_decide_rebind(e, nm.exact, &ip) ||
		    (two && !sn_decide_rebind(e, nm.text, &ip))) {
			e->st.dns_rebind_blocked++;
			return 0;
		}
	}
	for (dns_addrs_begin(a, alen, &it); named && dns_addrs_next(a, alen, &it, &ip, &ttl);) {
		sn_pins_add(e->pins, &ip, nm.exact, ttl, now);
		if (two)
			sn_pins_add(e->pins, &ip, nm.text, ttl, now);
	}
	return 1;
}

/**
 * sn_dns_filter_answer() - an upstream's answer over TCP, as the guest gets it
 * @e:		engine
 * @m:		the answer, rewritten to NXDOMAIN if rebind protection
 *		refuses it
 * @len:	its length, at least a header
 *
 * Counts dns_answers.
 *
 * Return: the length of what the guest gets (@len if unchanged)
 */
size_t sn_dns_filter_answer(struct sn_engine *e, uint8_t *m, size_t len)
{
	e->st.dns_answers++;
	if (dns_answer_ok(e, m, len, m, len))
		return len;
	return dns_error_reply(m, len, DNS_RCODE_NXDOMAIN);
}

/**
 * dns_query_close() - close a slot's socket, if it has one
 * @e:		engine
 * @q:		slot
 */
static void dns_query_close(struct sn_engine *e, struct sn_dns_query *q)
{
	if (q->fd < 0)
		return;
	sn_fd_del(e, q->slot);
	close(q->fd);
	q->fd = -1;
	q->slot = -1;
}

/**
 * dns_query_free() - close a slot's socket and give the slot back
 * @e:		engine
 * @q:		slot in use
 */
static void dns_query_free(struct sn_engine *e, struct sn_dns_query *q)
{
	dns_query_close(e, q);
	q->used = 0;
	e->dns->active--;
}

/**
 * dns_query_reply() - an error reply to a slot's query, in dns_buf
 * @q:		slot in use
 * @rcode:	DNS_RCODE_*
 *
 * Return: its length: the header and the question
 */
static size_t dns_query_reply(const struct sn_dns_query *q, uint8_t rcode)
{
	memcpy(dns_buf, q->msg, q->qend);
	dns_error_header(dns_buf, rcode, 1);
	return q->qend;
}

/**
 * dns_servfail() - answer a slot's query with SERVFAIL and free the slot
 * @e:		engine
 * @q:		slot in use
 */
static void dns_servfail(struct sn_engine *e, struct sn_dns_query *q)
{
	size_t n = dns_query_reply(q, DNS_RCODE_SERVFAIL);

	e->st.dns_servfail++;
	sn_log(e, SN_LOG_DEBUG, "dns: id %u: no upstream answered, SERVFAIL",
	       q->id);
	dns_send(e, &q->orig_dst, &q->guest_addr, q->guest_port, dns_buf, n);
	dns_query_free(e, q);
}

static void dns_sock_ready(void *ctx, int fd, short revents);

/**
 * dns_try() - send a slot's query to its current upstream, else the next
 * @e:		engine
 * @q:		slot in use, without a socket; @q->cur is the upstream to try
 *
 * On success the slot holds a socket connect()ed to @q->up[@q->cur],
 * registered with the engine, and a fresh deadline. When no upstream is
 * left the guest gets SERVFAIL and the slot is freed.
 */
static void dns_try(struct sn_engine *e, struct sn_dns_query *q)
{
	for (; q->cur < q->n_up; q->cur++) {
		const union sn_dns_addr *up = &q->up[q->cur];
		socklen_t alen = up->sa.sa_family == AF_INET6 ?
				 sizeof(up->sin6) : sizeof(up->sin);
		int fd, slot;

		fd = socket(up->sa.sa_family,
			    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			sn_log(e, SN_LOG_WARN, "dns: socket: %s", strerror(errno));
			continue;
		}
		if (sn_sock_bind_out(e, fd, &up->sa) < 0 || connect(fd, &up->sa, alen) < 0 ||
		    send(fd, q->msg, q->len, 0) != (ssize_t)q->len) {
			sn_log(e, SN_LOG_DEBUG, "dns: id %u: upstream %u: %s",
			       q->id, q->cur, strerror(errno));
			close(fd);
			continue;
		}
		slot = sn_fd_add(e, fd, POLLIN, dns_sock_ready, q);
		if (slot < 0) {
			sn_log(e, SN_LOG_WARN, "dns: engine fd table full");
			close(fd);
			continue;
		}
		q->fd = fd;
		q->slot = slot;
		q->deadline = sn_now_ms() + e->cfg.dns_timeout_ms;
		sn_timer_arm(e, q->deadline);
		return;
	}
	dns_servfail(e, q);
}

/**
 * dns_next() - give up on the current upstream and try the next one
 * @e:		engine
 * @q:		slot in use
 */
static void dns_next(struct sn_engine *e, struct sn_dns_query *q)
{
	dns_query_close(e, q);
	q->cur++;
	dns_try(e, q);
}

/**
 * dns_answer() - deliver an accepted upstream answer and free the slot
 * @e:		engine
 * @q:		slot in use
 * @n:		answer length in dns_buf
 *
 * An answer that rebind protection refuses becomes NXDOMAIN; otherwise its
 * addresses are pinned (dns_answer_ok()) and it goes unchanged, unless it
 * is larger than the guest takes: then its header with TC=1 and the
 * query's question section.
 */
static void dns_answer(struct sn_engine *e, struct sn_dns_query *q, size_t n)
{
	if (!dns_answer_ok(e, q->msg, q->len, dns_buf, n)) {
		n = dns_query_reply(q, DNS_RCODE_NXDOMAIN);
	} else if (n > q->max_answer) {
		memcpy(dns_buf + SIZEOF_DNS_HDR, q->msg + SIZEOF_DNS_HDR,
		       (size_t)q->qend - SIZEOF_DNS_HDR);
		dns_buf[2] |= DNS_FLAG1_TRUNC;
		put16(dns_buf + 4, 1);
		put16(dns_buf + 6, 0);
		put16(dns_buf + 8, 0);
		put16(dns_buf + 10, 0);
		n = q->qend;
	}
	e->st.dns_answers++;
	dns_send(e, &q->orig_dst, &q->guest_addr, q->guest_port, dns_buf, n);
	dns_query_free(e, q);
}

/**
 * dns_sock_ready() - an upstream socket is readable or has an error
 * @ctx:	the slot
 * @fd:		its socket
 * @revents:	poll() revents (errors are read back with recv())
 *
 * Reads up to SN_DNS_RECV_BURST datagrams; the first acceptable answer is
 * delivered, others are ignored. A socket error moves on to the next
 * upstream.
 */
static void dns_sock_ready(void *ctx, int fd, short revents)
{
	struct sn_engine *e = sn_eng;
	struct sn_dns_query *q = ctx;
	int i;

	(void)revents;
	if (!q->used || fd != q->fd)
		return;

	for (i = 0; i < SN_DNS_RECV_BURST; i++) {
		ssize_t n = recv(fd, dns_buf, sizeof(dns_buf), 0);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR))
			return;
		if (n < 0) {
			sn_log(e, SN_LOG_DEBUG, "dns: id %u: upstream %u: %s",
			       q->id, q->cur, strerror(errno));
			dns_next(e, q);
			return;
		}
		if (n < SIZEOF_DNS_HDR || get16(dns_buf) != q->id ||
		    !(dns_buf[2] & DNS_FLAG1_RESPONSE))
			continue;
		dns_answer(e, q, (size_t)n);
		return;
	}
}

/**
 * dns_resolv_zone() - the interface index of a zone ("eth0" or "2")
 * @zone:	what follows '%' in a scoped address
 *
 * Return: the index, or 0 if there is no such interface
 */
static unsigned dns_resolv_zone(const char *zone)
{
	char name[IF_NAMESIZE];
	unsigned long n;
	char *end;

	if (*zone < '0' || *zone > '9')
		return if_nametoindex(zone);
	errno = 0;
	n = strtoul(zone, &end, 10);
	if (errno || *end || !n || n > 0xffffffffUL || !if_indextoname((unsigned)n, name))
		return 0;
	return (unsigned)n;
}

/**
 * dns_resolv_parse_line() - take a "nameserver" line of resolv.conf
 * @d:		relay state, @d->resolv gets the address
 * @line:	one line, NUL-terminated
 *
 * IPv4 and IPv6 addresses are taken, in the file's order, up to
 * SN_MAX_DNS_UPSTREAMS. An IPv6 address may carry a zone ("fe80::1%eth0");
 * a link-local one without a usable zone is skipped (it cannot be reached),
 * as is anything that is not an address.
 */
static void dns_resolv_parse_line(struct sn_dns *d, char *line)
{
	static const char kw[] = "nameserver";
	union sn_dns_addr *up;
	char *p = line, *end, *zone;

	p += strspn(p, " \t");
	if (strncmp(p, kw, sizeof(kw) - 1) != 0)
		return;
	p += sizeof(kw) - 1;
	if (*p != ' ' && *p != '\t')
		return;
	p += strspn(p, " \t");
	end = p + strcspn(p, " \t\r\n#;");
	*end = '\0';

	if (d->n_resolv >= SN_MAX_DNS_UPSTREAMS)
		return;
	up = &d->resolv[d->n_resolv];
	memset(up, 0, sizeof(*up));
	if (inet_pton(AF_INET, p, &up->sin.sin_addr) == 1) {
		up->sin.sin_family = AF_INET;
		up->sin.sin_port = htons(DNS_SERVER_PORT);
		d->n_resolv++;
		return;
	}
	zone = strchr(p, '%');
	if (zone)
		*zone++ = '\0';
	if (inet_pton(AF_INET6, p, &up->sin6.sin6_addr) != 1)
		return;
	if (zone) {
		up->sin6.sin6_scope_id = dns_resolv_zone(zone);
		if (!up->sin6.sin6_scope_id)
			return;
	}
	if (IN6_IS_ADDR_LINKLOCAL(&up->sin6.sin6_addr) && !up->sin6.sin6_scope_id)
		return;
	up->sin6.sin6_family = AF_INET6;
	up->sin6.sin6_port = htons(DNS_SERVER_PORT);
	d->n_resolv++;
}

/**
 * dns_resolv_read() - (re)read the nameservers of resolv.conf
 * @e:		engine
 * @path:	the file
 *
 * Return: 0, or -1 if it cannot be opened (the list is then empty)
 */
static int dns_resolv_read(struct sn_engine *e, const char *path)
{
	struct sn_dns *d = e->dns;
	char line[512];
	FILE *f;

	d->n_resolv = 0;
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		int whole = strchr(line, '\n') != NULL;
		int c = 0;

		dns_resolv_parse_line(d, line);
		/* Overlong line: drop its remainder. */
		while (!whole && c != '\n' && c != EOF)
			c = fgetc(f);
	}
	fclose(f);
	return 0;
}

/**
 * dns_resolv_refresh() - re-read resolv.conf if it changed
 * @e:		engine
 *
 * stat()s the file at most once per SN_DNS_RESOLV_CHECK_MS and reads it
 * again when its mtime, inode or size differ from the last read.
 */
static void dns_resolv_refresh(struct sn_engine *e)
{
	const char *path = e->cfg.resolv_conf ? e->cfg.resolv_conf :
			   "/etc/resolv.conf";
	struct sn_dns *d = e->dns;
	uint32_t now = sn_now_ms();
	struct stat st;

	if (d->resolv_checked &&
	    !sn_time_after(now, d->resolv_check_ms + SN_DNS_RESOLV_CHECK_MS))
		return;
	d->resolv_checked = 1;
	d->resolv_check_ms = now;

	if (stat(path, &st) < 0) {
		if (d->resolv_read)
			sn_log(e, SN_LOG_WARN, "dns: %s: %s", path,
			       strerror(errno));
		d->resolv_read = 0;
		d->n_resolv = 0;
		return;
	}
	if (d->resolv_read && st.st_mtim.tv_sec == d->resolv_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == d->resolv_mtime.tv_nsec &&
	    st.st_ino == d->resolv_ino && st.st_size == d->resolv_size)
		return;

	d->resolv_read = dns_resolv_read(e, path) == 0;
	d->resolv_mtime = st.st_mtim;
	d->resolv_ino = st.st_ino;
	d->resolv_size = st.st_size;
	if (!d->n_resolv)
		sn_log(e, SN_LOG_WARN, "dns: no nameserver in %s", path);
	else
		sn_log(e, SN_LOG_INFO, "dns: %u nameserver(s) from %s",
		       d->n_resolv, path);
}

/**
 * dns_upstreams() - fill a slot's upstream list for its destination
 * @e:		engine
 * @q:		slot
 * @v:		the policy's verdict on the query's destination
 *
 * The gateway's forwarder asks sn_dns_upstreams(). Any other destination
 * is asked itself, at the address the verdict dials (an IPv4-mapped
 * destination over IPv4).
 */
static void dns_upstreams(struct sn_engine *e, struct sn_dns_query *q, const struct sn_verdict *v)
{
	struct sockaddr_storage sa[SN_MAX_DNS_UPSTREAMS];
	unsigned i, n = 1;

	if (sn_verdict_sockaddr(v, DNS_SERVER_PORT, &sa[0], NULL))
		n = sn_dns_upstreams(e, sa, SN_MAX_DNS_UPSTREAMS);
	for (i = 0; i < n; i++)
		memcpy(&q->up[i], &sa[i], sa[i].ss_family == AF_INET6 ? sizeof(q->up[i].sin6) :
									sizeof(q->up[i].sin));
	q->n_up = (uint8_t)n;
}

/**
 * dns_udp_take() - validate a guest UDP datagram and copy its payload out
 * @e:		engine
 * @p:		packet, payload at the IP header; not freed, left at the UDP
 *		header and cut to the UDP length
 * @iphl:	offset of the UDP header
 * @src:	the guest's address
 * @dst:	the destination address
 * @sport:	filled with the source (guest) port, host order
 * @len:	filled with the payload length, now in dns_buf
 *
 * Return: 0, or -1 if the UDP header is malformed or the checksum wrong
 */
static int dns_udp_take(struct sn_engine *e, struct pbuf *p, u16_t iphl,
			const ip_addr_t *src, const ip_addr_t *dst, uint16_t *sport, size_t *len)
{
	struct udp_hdr uh;
	u16_t ulen;

	if (pbuf_copy_partial(p, &uh, sizeof(uh), iphl) != sizeof(uh))
		return -1;
	ulen = lwip_ntohs(uh.len);
	if (ulen < sizeof(uh) || ulen > p->tot_len - iphl)
		return -1;
	if (pbuf_remove_header(p, iphl))
		return -1;
	pbuf_realloc(p, ulen);		/* drop bytes past the UDP length */

	/* the checksum is optional over IPv4 only (RFC 8200 8.1) */
	if (uh.chksum == 0 && IP_IS_V6(dst))
		return -1;
	if (uh.chksum != 0 && !e->in_csum_ok &&
	    NETIF_CHECKSUM_ENABLED(&e->netif, NETIF_CHECKSUM_CHECK_UDP) &&
	    ip_chksum_pseudo(p, IP_PROTO_UDP, ulen, src, dst) != 0)
		return -1;

	*sport = lwip_ntohs(uh.src);
	*len = (size_t)ulen - sizeof(uh);
	if (pbuf_copy_partial(p, dns_buf, (u16_t)*len, sizeof(uh)) != *len)
		return -1;
	return 0;
}

/**
 * dns_find() - a slot holding the same query from the same guest socket
 * @d:		relay state
 * @dst:	the query's destination
 * @gaddr:	the guest's address
 * @gport:	guest port
 * @len:	query length in dns_buf
 *
 * Return: the slot, or NULL
 */
static struct sn_dns_query *dns_find(struct sn_dns *d, const ip_addr_t *dst,
				     const ip_addr_t *gaddr, uint16_t gport, size_t len)
{
	unsigned i;

	for (i = 0; i < d->max && d->active; i++) {
		struct sn_dns_query *q = &d->q[i];

		if (q->used && q->guest_port == gport && q->len == len &&
		    ip_addr_eq(&q->orig_dst, dst) && ip_addr_eq(&q->guest_addr, gaddr) &&
		    memcmp(q->msg, dns_buf, len) == 0)
			return q;
	}
	return NULL;
}

/**
 * dns_alloc() - take a free slot
 * @d:		relay state
 *
 * Return: the slot, marked used, or NULL if every slot is taken
 */
static struct sn_dns_query *dns_alloc(struct sn_dns *d)
{
	unsigned i;

	if (d->active >= d->max)
		return NULL;
	for (i = 0; i < d->max; i++) {
		if (d->q[i].used)
			continue;
		d->q[i].used = 1;
		d->q[i].fd = -1;
		d->q[i].slot = -1;
		d->active++;
		return &d->q[i];
	}
	return NULL;
}

/**
 * sn_dns_input() - a guest UDP datagram to port 53 of any address
 * @e:		engine
 * @p:		packet, payload at its validated IPv4 or IPv6 header; consumed
 * @hlen:	offset of the UDP header
 * @src:	the guest's address
 * @dst:	the destination address (IPv4-mapped: the IPv4 address)
 */
void sn_dns_input(struct sn_engine *e, struct pbuf *p, u16_t hlen, const ip_addr_t *src,
		  const ip_addr_t *dst_)
{
	struct sn_dns *d = e->dns;
	struct sn_dns_query *q;
	struct sn_verdict v;
	uint16_t gport;
	ip_addr_t dst = *dst_;
	size_t len, reply, qend = SIZEOF_DNS_HDR;
	int bad;

	bad = dns_udp_take(e, p, hlen, src, &dst, &gport, &len);
	if (bad || len < SIZEOF_DNS_HDR || (dns_buf[2] & DNS_FLAG1_RESPONSE)) {
		e->st.drop_malformed++;
		pbuf_free(p);
		return;
	}
	/* The policy decides where DNS may go, as for any UDP (the gateway's
	 * forwarder is a builtin allow); refused: ICMP administratively
	 * prohibited, except for destinations never dialled (::, 0.0.0.0) */
	if (!d || sn_decide(e, SN_POLICY_EGRESS, SN_PROTO_UDP, &dst, DNS_SERVER_PORT, &v) !=
	    SN_POLICY_ALLOW) {
		if (d && v.by != SN_BY_NEVER && !pbuf_add_header_force(p, hlen))
			sn_deny_icmp(e, p);
		if (!d)
			e->st.drop_unsupported++;
		pbuf_free(p);
		return;
	}
	pbuf_free(p);

	reply = sn_dns_filter_query(e, dns_buf, len, SN_DNS_QUERY_MAX);
	if (reply) {
		dns_send(e, &dst, src, gport, dns_buf, reply);
		return;
	}
	dns_skip_questions(dns_buf, len, 1, &qend);

	if (dns_find(d, &dst, src, gport, len))
		return;		/* retransmission: the query in flight answers */
	q = dns_alloc(d);
	if (!q) {
		e->st.dns_drop_limit++;
		return;
	}

	memcpy(q->msg, dns_buf, len);
	q->len = (uint16_t)len;
	q->qend = (uint16_t)qend;
	q->id = get16(dns_buf);
	q->guest_port = gport;
	q->orig_dst = dst;
	q->guest_addr = *src;
	q->max_answer = dns_edns_size(q->msg, len, qend);
	q->fd = -1;
	q->slot = -1;
	q->cur = 0;
	dns_upstreams(e, q, &v);
	dns_try(e, q);
}

/**
 * sn_dns_tick() - move queries whose upstream timed out to the next one, arm
 *		   the next deadline
 * @e:		engine
 */
void sn_dns_tick(struct sn_engine *e)
{
	struct sn_dns *d = e->dns;
	uint32_t now = sn_now_ms();
	unsigned i;

	for (i = 0; d && d->active && i < d->max; i++) {
		struct sn_dns_query *q = &d->q[i];

		if (!q->used)
			continue;
		if (!sn_time_after(now, q->deadline)) {
			sn_timer_arm(e, q->deadline);
			continue;
		}
		sn_log(e, SN_LOG_DEBUG, "dns: id %u: upstream %u timed out",
		       q->id, q->cur);
		dns_next(e, q);
	}
}

/**
 * sn_dns_upstreams() - the resolvers the gateway's forwarder asks, in order
 * @e:		engine
 * @sa:		filled with their addresses (port included)
 * @max:	size of @sa
 *
 * The configured cfg.dns_upstreams, or when there are none the
 * nameservers of cfg.resolv_conf: the host's own choice, whatever the
 * policy says about those addresses. UDP queries and the TCP relay's
 * connections to the gateway's port 53 both try them in this order.
 *
 * Return: how many (0: none)
 */
unsigned sn_dns_upstreams(struct sn_engine *e, struct sockaddr_storage *sa, unsigned max)
{
	struct sn_dns *d = e->dns;
	unsigned i, n = 0;

	for (i = 0; i < e->cfg.n_dns_upstreams && i < SN_MAX_DNS_UPSTREAMS && n < max; i++) {
		const struct sockaddr_storage *ss = &e->cfg.dns_upstreams[i];

		if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6)
			sa[n++] = *ss;
	}
	if (e->cfg.n_dns_upstreams || !d)
		return n;

	dns_resolv_refresh(e);
	for (i = 0; i < d->n_resolv && n < max; i++, n++) {
		memset(&sa[n], 0, sizeof(sa[n]));
		memcpy(&sa[n], &d->resolv[i], d->resolv[i].sa.sa_family == AF_INET6 ?
		       sizeof(d->resolv[i].sin6) : sizeof(d->resolv[i].sin));
	}
	return n;
}

/**
 * sn_dns_init() - allocate the query table and read resolv.conf
 * @e:		engine
 *
 * Return: 0, or -1 with errno set (ENOMEM)
 */
int sn_dns_init(struct sn_engine *e)
{
	struct sn_dns *d;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->max = e->cfg.max_dns_queries;
	if (d->max) {
		d->q = calloc(d->max, sizeof(*d->q));
		if (!d->q) {
			free(d);
			return -1;
		}
	}
	/* Slots are set up when taken (dns_alloc()): writing each now would
	 * make the whole table resident, ~1 MiB of an idle engine's RSS. */
	e->dns = d;

	if (!e->cfg.n_dns_upstreams)
		dns_resolv_refresh(e);
	return 0;
}

/**
 * sn_dns_fini() - close every upstream socket and free the relay's state
 * @e:		engine
 *
 * Queries in flight are dropped without an answer.
 */
void sn_dns_fini(struct sn_engine *e)
{
	struct sn_dns *d = e->dns;
	unsigned i;

	if (!d)
		return;
	for (i = 0; i < d->max; i++) {
		if (d->q[i].used)
			dns_query_free(e, &d->q[i]);
	}
	free(d->q);
	free(d);
	e->dns = NULL;
}
