/* SPDX-License-Identifier: MIT */
/**
 * DOC: sim_common.h - what the simulator's guest and runner agree on
 *
 * The guest (guest.c, its own lwIP) and the runner (run_sim.c, the host
 * side: echo servers and the fake upstream resolver) are separate programs.
 * Both derive the bytes they check from the helpers here, so neither trusts
 * the engine in between:
 *
 * - sim_pattern(): byte @i of the 1 MiB TCP stream; it changes every byte
 *   and every 256-byte block, so a lost, duplicated or reordered block
 *   shows up at its offset.
 * - sim_dns_query(): the guest's one DNS query, byte for byte.
 * - sim_dns_answer(): the fake upstream's answer to a query. It echoes the
 *   query's header and question and adds an A record (a documentation
 *   address, which counts as public for rebind protection) and a TXT
 *   record. The engine forwards answers unchanged, so the guest must get
 *   exactly sim_dns_answer(its own query).
 *
 * Header-only, plain C11, no lwIP and no libc beyond string.h.
 */
#ifndef SANDNET_SIM_COMMON_H
#define SANDNET_SIM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The guest's link: QEMU user networking's defaults, which the engine uses. */
#define SIM_GUEST_IP	"10.0.2.15"
#define SIM_GW_IP	"10.0.2.2"
#define SIM_NETMASK	"255.255.255.0"
#define SIM_MTU		1500
/* and its IPv6 side: `sandnet run`'s static configuration */
#define SIM_GUEST_IP6	"fd00:2::15"
#define SIM_GW_IP6	"fd00:2::2"

/* Size of the TCP echo stream. */
#define SIM_TCP_BYTES	(1024u * 1024u)

/* Guest ports the runner publishes (tests/sim/guest.c serves them):
 * ECHO echoes and closes after the client's FIN; SOURCE sends the stream
 * and its FIN first, then takes the client's; WHO writes the peer it saw
 * ("a.b.c.d:port\n") and closes; CLOSED has no listener; DENIED listens
 * but an ingress rule denies it, so it must never accept; UDP echoes
 * datagrams and stops serving on "quit". */
#define SIM_PUB_ECHO	7001
#define SIM_PUB_SOURCE	7002
#define SIM_PUB_WHO	7003
#define SIM_PUB_CLOSED	7004
#define SIM_PUB_DENIED	7005
#define SIM_PUB_UDP	7006
#define SIM_PUB_READY	"READY publish"

/* The DNS query: ID, name, and the A record's address in the answer. */
#define SIM_DNS_ID	0x5a17u
#define SIM_DNS_NAME	"sim-check.example.com"
#define SIM_DNS_A	{ 192, 0, 2, 53 }
#define SIM_DNS_TXT	"sandnet sim upstream"
#define SIM_DNS_MAX	512

/**
 * sim_pattern() - byte @i of the TCP echo stream
 * @i:		offset in the stream
 *
 * Return: the byte
 */
static inline uint8_t sim_pattern(size_t i)
{
	return (uint8_t)((i ^ (i >> 8) ^ (i >> 16)) * 31u + 7u);
}

/**
 * sim_put16() - store a 16-bit value big-endian
 * @p:		where
 * @v:		value
 */
static inline void sim_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/**
 * sim_dns_query() - build the guest's A query for SIM_DNS_NAME
 * @out:	buffer of at least SIM_DNS_MAX bytes
 *
 * Return: length of the query
 */
static inline size_t sim_dns_query(uint8_t *out)
{
	const char *name = SIM_DNS_NAME;
	size_t n = 12;

	memset(out, 0, 12);
	sim_put16(out, SIM_DNS_ID);
	sim_put16(out + 2, 0x0100);	/* standard query, RD */
	sim_put16(out + 4, 1);		/* QDCOUNT */
	while (*name) {
		size_t l = strcspn(name, ".");

		out[n++] = (uint8_t)l;
		memcpy(out + n, name, l);
		n += l;
		name += l;
		if (*name == '.')
			name++;
	}
	out[n++] = 0;
	sim_put16(out + n, 1);		/* QTYPE A */
	sim_put16(out + n + 2, 1);	/* QCLASS IN */
	return n + 4;
}

/**
 * sim_dns_answer() - the fake upstream's answer to @q
 * @q:		query as received
 * @qlen:	its length (at most SIM_DNS_MAX - 64)
 * @out:	buffer of at least SIM_DNS_MAX bytes
 *
 * The query's header (ID, opcode, RD) and everything after it are kept;
 * QR and RA are set, ANCOUNT is 2, and an A record and a TXT record, both
 * naming the question (compression pointer to offset 12), are appended.
 *
 * Return: length of the answer, 0 if @q is not a usable query
 */
static inline size_t sim_dns_answer(const uint8_t *q, size_t qlen, uint8_t *out)
{
	static const uint8_t a[4] = SIM_DNS_A;
	const char *txt = SIM_DNS_TXT;
	size_t n = qlen, tl = strlen(txt);

	if (qlen < 17 || qlen > SIM_DNS_MAX - 64)
		return 0;
	memcpy(out, q, qlen);
	out[2] = (uint8_t)(out[2] | 0x80);	/* QR */
	out[3] = 0x80;				/* RA, NOERROR */
	sim_put16(out + 6, 2);			/* ANCOUNT */
	sim_put16(out + 8, 0);
	sim_put16(out + 10, 0);
	/* A record */
	sim_put16(out + n, 0xc00c);
	sim_put16(out + n + 2, 1);
	sim_put16(out + n + 4, 1);
	sim_put16(out + n + 6, 0x0001);		/* TTL 0x0001e240 = 123456 */
	sim_put16(out + n + 8, 0xe240);
	sim_put16(out + n + 10, 4);
	memcpy(out + n + 12, a, 4);
	n += 16;
	/* TXT record */
	sim_put16(out + n, 0xc00c);
	sim_put16(out + n + 2, 16);
	sim_put16(out + n + 4, 1);
	sim_put16(out + n + 6, 0);
	sim_put16(out + n + 8, 300);
	sim_put16(out + n + 10, (unsigned)(tl + 1));
	out[n + 12] = (uint8_t)tl;
	memcpy(out + n + 13, txt, tl);
	return n + 13 + tl;
}

#endif /* SANDNET_SIM_COMMON_H */
