// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - DNS over TCP, filtered like DNS over UDP
 *
 * A guest TCP connection to port 53 (the gateway's forwarder, or any other
 * address the policy lets it reach) is spliced by relay/tcp.c like any
 * other, with this filter on both directions. The stream is RFC 1035 4.2.2
 * framing: a 2-byte length, then a message.
 *
 * Guest to host: the guest's bytes stay in the flow's queue of lwIP pbufs
 * (so lwIP's receive window still holds the guest back) until the frame at
 * its head is whole; then sn_dnstcp_up() copies it out and decides it with
 * sn_dns_filter_query(), the UDP forwarder's own check. An allowed query
 * passes to the host byte for byte (PASS: tcp.c sends that many bytes,
 * sn_dnstcp_up_sent() counts them down, and the next frame is looked at
 * only once they are gone). A denied name (NXDOMAIN), a malformed query
 * (FORMERR, header only if its question is long) and an answer the guest
 * sent (QR=1, dropped: drop_malformed) are consumed here (DROP), and the
 * replies queue in @inj; when it has no room for one more, FULL: tcp.c
 * gives the guest what is queued and asks again. A frame shorter than a DNS header is no DNS: the
 * flow is reset (BROKEN). At the guest's FIN, a partial frame is dropped.
 *
 * Host to guest: bytes from the host are taken only up to the end of the
 * frame being assembled (sn_dnstcp_room()), so the filter never holds more
 * than one frame, at most 2 + 65535 bytes; a complete one goes through
 * sn_dns_filter_answer() (rebind protection, pins; NXDOMAIN in place when
 * refused) before a byte of it reaches the guest. A frame shorter than a
 * DNS header passes as it is; a partial one at the host's EOF never does.
 *
 * To the guest the filter offers whole frames (sn_dnstcp_pending(),
 * sn_dnstcp_written()): the upstream's, re-framed, and its own replies,
 * never one inside another. RFC 7766 lets answers come in any order (the
 * guest matches them by ID), so a reply of ours may go before answers to
 * earlier queries. Once one frame has started it finishes before the next.
 *
 * Bounds: @inj holds SN_DNSTCP_INJ_MAX bytes of replies; when lwIP's send
 * buffer cannot take them either, the guest's queries wait in lwIP (its
 * window closes) until the guest reads. Host reads stop while a frame is waiting for the
 * guest. Memory per flow: one frame buffer grown to the largest frame seen
 * (at most 2 + 65535 bytes) and @inj.
 */
#include <stdlib.h>
#include <string.h>

#include "lwip/pbuf.h"
#include "lwip/prot/dns.h"
#include "relay/relay.h"

/* Replies of the filter's own waiting for the guest, bytes. */
#define SN_DNSTCP_INJ_MAX	4096
/* The longest reply of its own: length, header, a question (255-byte name). */
#define SN_DNSTCP_REPLY_MAX	(2 + SIZEOF_DNS_HDR + 255 + 4)
/* Smallest frame buffer allocated. */
#define SN_DNSTCP_BUF_MIN	512

/**
 * struct sn_dnstcp - the DNS filter of one TCP flow
 * @pass:	guest bytes at the head of the flow's queue cleared for the host
 * @frame:	host to guest: the frame being assembled, length first
 * @cap:	bytes allocated at @frame
 * @have:	bytes in @frame
 * @full:	@frame holds a complete, checked frame of @flen bytes
 * @flen:	its length, prefix included
 * @out:	bytes of it given to the guest
 * @inj_len:	end of the replies in @inj
 * @inj_out:	bytes of @inj given to the guest
 * @inj:	replies of the filter's own, whole frames
 */
struct sn_dnstcp {
	size_t pass;
	uint8_t *frame;
	size_t cap, have;
	int full;
	size_t flen, out;
	size_t inj_len, inj_out;
	uint8_t inj[SN_DNSTCP_INJ_MAX];
};

/* One guest frame at a time is copied here to be decided. */
static uint8_t up_buf[65535];

/**
 * sn_dnstcp_new() - a filter for a new flow to port 53
 *
 * Return: the filter, or NULL (ENOMEM)
 */
struct sn_dnstcp *sn_dnstcp_new(void)
{
	return calloc(1, sizeof(struct sn_dnstcp));
}

/**
 * sn_dnstcp_free() - free a flow's filter
 * @d:		filter, may be NULL
 */
void sn_dnstcp_free(struct sn_dnstcp *d)
{
	if (!d)
		return;
	free(d->frame);
	free(d);
}

/**
 * chain_bytes() - bytes in a pbuf chain, counted up to @want
 * @p:		chain (its tot_len is not trusted: the flow's queue may hold
 *		more than 65535 bytes)
 * @want:	stop counting once there are this many
 *
 * Return: the bytes counted: all of the chain's, or at least @want
 */
static size_t chain_bytes(const struct pbuf *p, size_t want)
{
	size_t n = 0;

	for (; p && n < want; p = p->next)
		n += p->len;
	return n;
}

/**
 * sn_dnstcp_up() - what to do with the guest's bytes at the head of the flow
 * @e:		engine
 * @d:		filter
 * @up:		the flow's queue of guest data (not changed)
 * @eof:	the guest has sent FIN: nothing more will arrive
 * @n:		filled with the byte count for PASS and DROP
 *
 * Return: enum sn_dnstcp_up
 */
int sn_dnstcp_up(struct sn_engine *e, struct sn_dnstcp *d, const struct pbuf *up, int eof,
		 size_t *n)
{
	size_t have, need = 2, len = 0, reply;
	uint8_t pfx[2];

	if (d->pass) {
		*n = d->pass;
		return SN_DNSTCP_PASS;
	}
	have = chain_bytes(up, 2);
	if (have >= 2) {
		pbuf_copy_partial(up, pfx, 2, 0);
		len = (size_t)(pfx[0] << 8 | pfx[1]);
		if (len < SIZEOF_DNS_HDR) {
			e->st.drop_malformed++;
			return SN_DNSTCP_BROKEN;
		}
		need = 2 + len;
		have = chain_bytes(up, need);
	}
	if (have < need) {
		if (!eof || !have)
			return SN_DNSTCP_WAIT;
		e->st.drop_malformed++;		/* cut short by the guest's FIN */
		*n = have;
		return SN_DNSTCP_DROP;
	}
	if (SN_DNSTCP_INJ_MAX - (d->inj_len - d->inj_out) < SN_DNSTCP_REPLY_MAX)
		return SN_DNSTCP_FULL;

	*n = 2 + len;
	pbuf_copy_partial(up, up_buf, (u16_t)len, 2);
	if (up_buf[2] & DNS_FLAG1_RESPONSE) {
		e->st.drop_malformed++;
		return SN_DNSTCP_DROP;
	}
	reply = sn_dns_filter_query(e, up_buf, len, sizeof(up_buf));
	if (!reply) {
		d->pass = 2 + len;
		return SN_DNSTCP_PASS;
	}
	if (reply + 2 > SN_DNSTCP_REPLY_MAX) {
		reply = SIZEOF_DNS_HDR;		/* a FORMERR of many questions: the header */
		up_buf[4] = up_buf[5] = 0;
	}
	if (d->inj_out) {
		memmove(d->inj, d->inj + d->inj_out, d->inj_len - d->inj_out);
		d->inj_len -= d->inj_out;
		d->inj_out = 0;
	}
	d->inj[d->inj_len] = (uint8_t)(reply >> 8);
	d->inj[d->inj_len + 1] = (uint8_t)reply;
	memcpy(d->inj + d->inj_len + 2, up_buf, reply);
	d->inj_len += 2 + reply;
	return SN_DNSTCP_DROP;
}

/**
 * sn_dnstcp_up_sent() - the host took @n bytes of a passing query
 * @d:		filter
 * @n:		bytes, at most sn_dnstcp_passing()
 */
void sn_dnstcp_up_sent(struct sn_dnstcp *d, size_t n)
{
	d->pass -= n;
}

/**
 * sn_dnstcp_passing() - guest bytes cleared for the host and not yet sent
 * @d:		filter
 *
 * Return: the count (0: the host has nothing to take until the next frame
 *	   is decided)
 */
size_t sn_dnstcp_passing(const struct sn_dnstcp *d)
{
	return d->pass;
}

/**
 * sn_dnstcp_room() - bytes the filter takes from the host now
 * @d:		filter
 *
 * Return: the rest of the frame being assembled (its length prefix first);
 *	   0 while a complete one waits for the guest
 */
size_t sn_dnstcp_room(const struct sn_dnstcp *d)
{
	if (d->full)
		return 0;
	if (d->have < 2)
		return 2 - d->have;
	return 2 + (size_t)(d->frame[0] << 8 | d->frame[1]) - d->have;
}

/**
 * sn_dnstcp_down() - bytes from the host, at most sn_dnstcp_room()
 * @e:		engine
 * @d:		filter
 * @buf:	the bytes
 * @n:		how many
 *
 * Return: 0, or -1 (ENOMEM: the flow is to be reset)
 */
int sn_dnstcp_down(struct sn_engine *e, struct sn_dnstcp *d, const uint8_t *buf, size_t n)
{
	size_t len;

	if (d->have + n > d->cap) {
		size_t cap = d->have >= 2 ? 2 + (size_t)(d->frame[0] << 8 | d->frame[1]) :
					    SN_DNSTCP_BUF_MIN;
		uint8_t *f;

		if (cap < d->have + n)
			cap = d->have + n;
		if (cap < SN_DNSTCP_BUF_MIN)
			cap = SN_DNSTCP_BUF_MIN;
		f = realloc(d->frame, cap);
		if (!f)
			return -1;
		d->frame = f;
		d->cap = cap;
	}
	memcpy(d->frame + d->have, buf, n);
	d->have += n;
	if (d->have < 2)
		return 0;
	len = (size_t)(d->frame[0] << 8 | d->frame[1]);
	if (d->have < 2 + len)
		return 0;
	if (len >= SIZEOF_DNS_HDR) {
		len = sn_dns_filter_answer(e, d->frame + 2, len);
		d->frame[0] = (uint8_t)(len >> 8);
		d->frame[1] = (uint8_t)len;
	}
	d->full = 1;
	d->flen = 2 + len;
	d->out = 0;
	return 0;
}

/**
 * frame_next() - does the upstream's frame go to the guest before our replies
 * @d:		filter
 *
 * Return: non-zero if it has started, or there are no replies waiting
 */
static int frame_next(const struct sn_dnstcp *d)
{
	return d->full && (d->out || d->inj_out == d->inj_len);
}

/**
 * sn_dnstcp_pending() - the bytes that go to the guest next
 * @d:		filter
 * @p:		set to them
 *
 * Return: how many (0: nothing to send)
 */
size_t sn_dnstcp_pending(const struct sn_dnstcp *d, const uint8_t **p)
{
	if (frame_next(d)) {
		*p = d->frame + d->out;
		return d->flen - d->out;
	}
	*p = d->inj + d->inj_out;
	return d->inj_len - d->inj_out;
}

/**
 * sn_dnstcp_written() - the guest's stream took @n of the pending bytes
 * @d:		filter
 * @n:		at most what sn_dnstcp_pending() returned
 */
void sn_dnstcp_written(struct sn_dnstcp *d, size_t n)
{
	if (frame_next(d)) {
		d->out += n;
		if (d->out == d->flen) {
			d->full = 0;
			d->have = 0;
			d->out = 0;
		}
		return;
	}
	d->inj_out += n;
	if (d->inj_out == d->inj_len)
		d->inj_len = d->inj_out = 0;
}
