// SPDX-License-Identifier: MIT
/**
 * DOC: test_recovery - lwIP's loss recovery with third_party/patches
 *
 * Each test plays a SACK-capable peer against one lwIP connection that
 * was opened with a real handshake (so every per-pcb field the patches add
 * starts as lwIP sets it up), sends a window of 1000-byte segments, and
 * answers as a receiver that lost some of them. Frames lwIP sends are
 * recorded (sequence number, length) by the netif's output; nothing runs
 * lwIP's timers unless a test says so, so every retransmission seen comes
 * from input processing, not from a timeout.
 *
 *   sn_newreno_partial_ack   0001: two holes in one window; the partial ACK
 *                            after the first retransmission sends the
 *                            second hole at once, recovery ends with the
 *                            full ACK.
 *   sn_newreno_after_rto     0001: after a retransmission timeout, duplicate
 *                            ACKs for data sent before it start no fast
 *                            retransmit.
 *   sn_sack_dupacks          0002: duplicate ACKs whose window grows count
 *                            when they report new SACK blocks; one that
 *                            repeats an old block does not.
 *   sn_rexmit_tail           0003: data the sent callback writes while a
 *                            retransmitted segment is the tail of unsent
 *                            goes into a new segment at snd_lbb, not into
 *                            that one.
 *
 * Without the patches the first and third fail on the retransmission they
 * wait for, the second on the fast recovery it must not enter.
 */
#include <string.h>

#include "lwip_check.h"
#include "tcp/tcp_helper.h"

#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/tcp.h"

#include "test_recovery.h"

#define R_MSS		1000
#define R_SEGS		20
#define R_PEER_ISS	0x10000000UL
#define R_PORT		0x2345
#define R_PEER_PORT	0x4567
#define R_WND		30000
#define R_MAX_SENT	256

/* what lwIP sent, in order */
struct r_sent {
	u32_t seq;
	u16_t len;
	u8_t flags;
};

static struct netif r_netif;
static struct r_sent r_sent[R_MAX_SENT];
static unsigned r_n_sent;
static struct tcp_pcb *r_accepted;
static u8_t r_data[R_SEGS * R_MSS];
static struct netif *r_old_list, *r_old_default;

/**
 * r_output() - netif output: record the TCP segment lwIP sends
 * @netif:	the test netif
 * @p:		IPv4 packet
 * @addr:	next hop (unused)
 *
 * Return: ERR_OK
 */
static err_t r_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *addr)
{
	struct tcp_hdr th;
	u8_t vhl = 0;
	u16_t iphl, got;

	LWIP_UNUSED_ARG(netif);
	LWIP_UNUSED_ARG(addr);
	pbuf_copy_partial(p, &vhl, 1, 0);
	iphl = (u16_t)((vhl & 0x0f) * 4);
	got = pbuf_copy_partial(p, &th, sizeof(th), iphl);
	EXPECT_RETX(got == sizeof(th), ERR_OK);
	EXPECT_RETX(r_n_sent < R_MAX_SENT, ERR_OK);
	r_sent[r_n_sent].seq = lwip_ntohl(th.seqno);
	r_sent[r_n_sent].len = (u16_t)(p->tot_len - iphl - TCPH_HDRLEN_BYTES(&th));
	r_sent[r_n_sent].flags = TCPH_FLAGS(&th);
	r_n_sent++;
	return ERR_OK;
}

/**
 * r_sent_seq() - whether lwIP sent data at @seq since the record was cleared
 * @seq:	sequence number
 *
 * Return: how many times
 */
static unsigned r_sent_seq(u32_t seq)
{
	unsigned i, n = 0;

	for (i = 0; i < r_n_sent; i++)
		if (r_sent[i].len && r_sent[i].seq == seq)
			n++;
	return n;
}

/**
 * r_peer() - one segment from the peer, without payload, into tcp_input()
 * @seq:	its sequence number
 * @ack:	acknowledgement number
 * @flags:	TCP_SYN, TCP_ACK, ...
 * @wnd:	window field
 * @opts:	TCP options (a multiple of 4 bytes), or NULL
 * @optlen:	their length
 */
static void r_peer(u32_t seq, u32_t ack, u8_t flags, u16_t wnd, const u8_t *opts, u16_t optlen)
{
	u16_t tcplen = (u16_t)(TCP_HLEN + optlen);
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(IP_HLEN + tcplen), PBUF_RAM);
	struct ip_hdr *iph;
	struct tcp_hdr *th;

	EXPECT_RET(p != NULL);
	memset(p->payload, 0, p->len);
	iph = (struct ip_hdr *)p->payload;
	IPH_VHL_SET(iph, 4, IP_HLEN / 4);
	IPH_LEN_SET(iph, lwip_htons(p->tot_len));
	IPH_TTL_SET(iph, 64);
	IPH_PROTO_SET(iph, IP_PROTO_TCP);
	iph->src.addr = ip_2_ip4(&test_remote_ip)->addr;
	iph->dest.addr = ip_2_ip4(&test_local_ip)->addr;
	IPH_CHKSUM_SET(iph, inet_chksum(iph, IP_HLEN));

	th = (struct tcp_hdr *)((u8_t *)p->payload + IP_HLEN);
	th->src = lwip_htons(R_PEER_PORT);
	th->dest = lwip_htons(R_PORT);
	th->seqno = lwip_htonl(seq);
	th->ackno = lwip_htonl(ack);
	TCPH_HDRLEN_FLAGS_SET(th, tcplen / 4, flags);
	th->wnd = lwip_htons(wnd);
	if (optlen)
		memcpy(th + 1, opts, optlen);
	pbuf_remove_header(p, IP_HLEN);
	th->chksum = ip_chksum_pseudo(p, IP_PROTO_TCP, tcplen, &test_remote_ip, &test_local_ip);
	pbuf_add_header(p, IP_HLEN);
	test_tcp_input(p, &r_netif);
}

/**
 * r_ack() - a pure ACK from the peer, with SACK blocks
 * @ack:	acknowledgement number
 * @wnd:	window
 * @sack:	pairs of left and right edges, or NULL
 * @nsack:	number of pairs (at most 4)
 */
static void r_ack(u32_t ack, u16_t wnd, const u32_t *sack, unsigned nsack)
{
	u8_t opts[4 + 4 * 8] = { 1, 1, 5, (u8_t)(2 + 8 * nsack) };
	unsigned i;

	for (i = 0; i < 2 * nsack; i++) {
		u32_t v = lwip_htonl(sack[i]);

		memcpy(opts + 4 + 4 * i, &v, 4);
	}
	r_peer(R_PEER_ISS + 1, ack, TCP_ACK, wnd, nsack ? opts : NULL, nsack ? (u16_t)(4 + 8 * nsack) : 0);
}

static err_t r_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	LWIP_UNUSED_ARG(arg);
	EXPECT_RETX(err == ERR_OK, ERR_VAL);
	r_accepted = pcb;
	return ERR_OK;
}

/**
 * r_connect() - handshake as a peer offering MSS 1000 and SACK
 *
 * Return: the accepted pcb, Nagle off, congestion window opened to
 *	   R_SEGS segments (as lwIP's own tests do: slow start is not
 *	   what is tested), or NULL
 */
static struct tcp_pcb *r_connect(void)
{
	static const u8_t syn_opts[] = { 2, 4, R_MSS >> 8, R_MSS & 0xff, 1, 1, 4, 2 };
	struct tcp_pcb *l = tcp_new();
	err_t err;
	u32_t iss;

	/* lwIP's EXPECT macros evaluate their argument twice: no calls in them */
	EXPECT_RETNULL(l != NULL);
	err = tcp_bind(l, &test_local_ip, R_PORT);
	EXPECT_RETNULL(err == ERR_OK);
	l = tcp_listen(l);
	EXPECT_RETNULL(l != NULL);
	tcp_accept(l, r_accept);

	r_n_sent = 0;
	r_peer(R_PEER_ISS, 0, TCP_SYN, R_WND, syn_opts, sizeof(syn_opts));
	EXPECT_RETNULL(r_n_sent == 1 && r_sent[0].flags == (TCP_SYN | TCP_ACK));
	iss = r_sent[0].seq;
	r_peer(R_PEER_ISS + 1, iss + 1, TCP_ACK, R_WND, NULL, 0);
	EXPECT_RETNULL(r_accepted != NULL);
	EXPECT_RETNULL(r_accepted->state == ESTABLISHED && r_accepted->mss == R_MSS);
	EXPECT_RETNULL(r_accepted->flags & TF_SACK);
	tcp_nagle_disable(r_accepted);
	r_accepted->cwnd = R_SEGS * R_MSS;
	return r_accepted;
}

/**
 * r_send() - queue and send @n segments of data
 * @pcb:	connection
 * @n:		segments
 *
 * Return: sequence number of the first
 */
static u32_t r_send(struct tcp_pcb *pcb, unsigned n)
{
	u32_t s0 = pcb->snd_nxt;
	err_t err;

	r_n_sent = 0;
	err = tcp_write(pcb, r_data, (u16_t)(n * R_MSS), TCP_WRITE_FLAG_COPY);
	EXPECT_RETX(err == ERR_OK, s0);
	err = tcp_output(pcb);
	EXPECT_RETX(err == ERR_OK, s0);
	EXPECT_RETX(r_n_sent == n, s0);
	EXPECT_RETX(r_sent[n - 1].seq == s0 + (n - 1) * R_MSS, s0);
	r_n_sent = 0;
	return s0;
}

static void r_setup(void)
{
	r_old_list = netif_list;
	r_old_default = netif_default;
	netif_list = NULL;
	netif_default = NULL;
	test_tcp_init_netif(&r_netif, NULL, &test_local_ip, &test_netmask);
	r_netif.output = r_output;
	r_netif.mtu = 1500;
	r_accepted = NULL;
	r_n_sent = 0;
	tcp_remove_all();
	lwip_check_ensure_no_alloc(SKIP_POOL(MEMP_SYS_TIMEOUT));
}

static void r_teardown(void)
{
	tcp_remove_all();
	netif_list = r_old_list;
	netif_default = r_old_default;
	lwip_check_ensure_no_alloc(SKIP_POOL(MEMP_SYS_TIMEOUT));
}

START_TEST(sn_newreno_partial_ack)
{
	struct tcp_pcb *pcb = r_connect();
	tcpwnd_size_t ssthresh;
	u32_t s0;
	unsigned i;

	LWIP_UNUSED_ARG(_i);
	EXPECT_RET(pcb != NULL);
	s0 = r_send(pcb, R_SEGS);

	/* segments 2 and 6 are lost: 0 and 1 are acknowledged, 3..5 each
	 * bring a duplicate ACK, the third of which retransmits 2 */
	r_ack(s0 + 2 * R_MSS, R_WND, NULL, 0);
	for (i = 3; i <= 5; i++)
		r_ack(s0 + 2 * R_MSS, R_WND, NULL, 0);
	EXPECT(r_sent_seq(s0 + 2 * R_MSS) == 1);
	EXPECT(pcb->flags & TF_INFR);
	ssthresh = pcb->ssthresh;
	EXPECT(ssthresh < R_SEGS * R_MSS);
	for (i = 7; i < R_SEGS; i++)
		r_ack(s0 + 2 * R_MSS, R_WND, NULL, 0);

	/* the retransmitted 2 fills the first hole: a partial ACK up to 6 */
	r_n_sent = 0;
	r_ack(s0 + 6 * R_MSS, R_WND, NULL, 0);
	EXPECT(r_sent_seq(s0 + 6 * R_MSS) == 1);
	EXPECT(pcb->flags & TF_INFR);

	/* the retransmitted 6 fills the second: everything is acknowledged */
	r_ack(s0 + R_SEGS * R_MSS, R_WND, NULL, 0);
	EXPECT(!(pcb->flags & TF_INFR));
	EXPECT(pcb->unacked == NULL && pcb->unsent == NULL);
	/* deflated to the threshold set when the loss was found, plus the
	 * one segment congestion avoidance adds for this ACK */
	EXPECT(pcb->ssthresh == ssthresh);
	EXPECT(pcb->cwnd <= ssthresh + R_MSS);
}
END_TEST

START_TEST(sn_newreno_after_rto)
{
	struct tcp_pcb *pcb = r_connect();
	u32_t s0;
	unsigned i;

	LWIP_UNUSED_ARG(_i);
	EXPECT_RET(pcb != NULL);
	s0 = r_send(pcb, 10);

	/* nothing comes back: the timer retransmits from segment 0 */
	for (i = 0; i < 10000 && !r_sent_seq(s0); i++)
		tcp_tmr();
	EXPECT_RET(r_sent_seq(s0) == 1);
	EXPECT(pcb->nrtx == 1);

	/* the peer had 2..9 but not 0 and 1: the retransmitted 0 is
	 * acknowledged, then duplicates for what was sent before the timeout
	 * (the peer holds it, or gets it again) must not start fast recovery;
	 * the timeout's own retransmission goes on */
	r_ack(s0 + R_MSS, R_WND, NULL, 0);
	for (i = 0; i < 5; i++)
		r_ack(s0 + R_MSS, R_WND, NULL, 0);
	EXPECT(!(pcb->flags & TF_INFR));
	EXPECT(pcb->nrtx == 0);
}
END_TEST

START_TEST(sn_sack_dupacks)
{
	struct tcp_pcb *pcb = r_connect();
	u32_t s0, sack[4];

	LWIP_UNUSED_ARG(_i);
	EXPECT_RET(pcb != NULL);
	s0 = r_send(pcb, 10);

	/* segment 0 is lost; each later one brings a duplicate ACK with one
	 * more segment in its SACK block and a window grown by a segment, as
	 * a Linux receiver that is still growing its buffer sends them */
	sack[0] = s0 + R_MSS;
	sack[1] = s0 + 2 * R_MSS;
	r_ack(s0, R_WND + 1 * R_MSS, sack, 1);
	sack[1] = s0 + 3 * R_MSS;
	r_ack(s0, R_WND + 2 * R_MSS, sack, 1);
	EXPECT(pcb->dupacks == 2);
	EXPECT(pcb->snd_wnd == R_WND + 2 * R_MSS);

	/* a window update that repeats the last SACK block reports nothing
	 * new; neither does a D-SACK block below the ACK */
	r_ack(s0, R_WND + 3 * R_MSS, sack, 1);
	sack[2] = s0 - 2 * R_MSS;
	sack[3] = s0 - R_MSS;
	r_ack(s0, R_WND + 4 * R_MSS, sack + 2, 1);
	EXPECT(pcb->dupacks == 2);
	EXPECT(r_n_sent == 0);

	/* the third with news: fast retransmit of segment 0 */
	sack[1] = s0 + 4 * R_MSS;
	r_ack(s0, R_WND + 5 * R_MSS, sack, 1);
	EXPECT(pcb->dupacks == 3);
	EXPECT(r_sent_seq(s0) == 1);
	EXPECT(pcb->flags & TF_INFR);
}
END_TEST

/* sn_rexmit_tail: what the sent callback writes, and the segments it went to */
#define R_HALF		(R_MSS / 2)
#define R_MORE		300
static int r_wrote_in_sent;

/**
 * r_sent_write() - sent callback: queue more data, as sandnet's relay does
 * @arg:	unused
 * @pcb:	connection
 * @len:	bytes acknowledged
 *
 * Return: ERR_OK
 */
static err_t r_sent_write(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	err_t err;

	LWIP_UNUSED_ARG(arg);
	LWIP_UNUSED_ARG(len);
	if (r_wrote_in_sent)
		return ERR_OK;
	r_wrote_in_sent = 1;
	err = tcp_write(pcb, r_data, R_MORE, TCP_WRITE_FLAG_COPY);
	EXPECT_RETX(err == ERR_OK, ERR_OK);
	return ERR_OK;
}

/**
 * r_contiguous() - the unacked and unsent segments cover lastack..snd_lbb
 *		    once, without a hole
 * @pcb:	connection
 *
 * Return: 1 if so
 */
static int r_contiguous(const struct tcp_pcb *pcb)
{
	u32_t next = pcb->lastack;
	int moved = 1;

	/* walk both sorted lists, taking whichever continues the sequence */
	const struct tcp_seg *a = pcb->unacked, *u = pcb->unsent;

	while (moved) {
		moved = 0;
		if (a && lwip_ntohl(a->tcphdr->seqno) == next) {
			next += TCP_TCPLEN(a);
			a = a->next;
			moved = 1;
		} else if (u && lwip_ntohl(u->tcphdr->seqno) == next) {
			next += TCP_TCPLEN(u);
			u = u->next;
			moved = 1;
		}
	}
	return !a && !u && next == pcb->snd_lbb;
}

START_TEST(sn_rexmit_tail)
{
	struct tcp_pcb *pcb = r_connect();
	u32_t s0, lbb;
	unsigned i;
	err_t err;

	LWIP_UNUSED_ARG(_i);
	EXPECT_RET(pcb != NULL);
	/* ten half-full segments, each sent on its own */
	s0 = pcb->snd_nxt;
	for (i = 0; i < 10; i++) {
		err = tcp_write(pcb, r_data, R_HALF, TCP_WRITE_FLAG_COPY);
		EXPECT_RET(err == ERR_OK);
		err = tcp_output(pcb);
		EXPECT_RET(err == ERR_OK);
	}
	EXPECT_RET(pcb->unsent == NULL && pcb->snd_lbb == s0 + 10 * R_HALF);

	/* 2 and 6 are lost: three duplicates retransmit 2 */
	r_ack(s0 + 2 * R_HALF, R_WND, NULL, 0);
	for (i = 3; i <= 5; i++)
		r_ack(s0 + 2 * R_HALF, R_WND, NULL, 0);
	EXPECT_RET(pcb->flags & TF_INFR);

	/* the partial ACK up to 6 retransmits 6 (0001), whose segment waits at
	 * the tail of the empty unsent queue while the sent callback writes */
	tcp_sent(pcb, r_sent_write);
	r_wrote_in_sent = 0;
	lbb = pcb->snd_lbb;
	r_n_sent = 0;
	r_ack(s0 + 6 * R_HALF, R_WND, NULL, 0);
	EXPECT(r_wrote_in_sent);
	EXPECT(pcb->snd_lbb == lbb + R_MORE);
	EXPECT(r_contiguous(pcb));
	/* 6 went again as it was, the new bytes at the old end */
	for (i = 0; i < r_n_sent; i++) {
		if (r_sent[i].seq == s0 + 6 * R_HALF)
			EXPECT(r_sent[i].len == R_HALF);
	}
	EXPECT(r_sent_seq(s0 + 6 * R_HALF) == 1);
	EXPECT(r_sent_seq(lbb) == 1);
	tcp_sent(pcb, NULL);
}
END_TEST

/**
 * sn_recovery_suite() - the loss recovery suite
 *
 * Return: the suite
 */
Suite *sn_recovery_suite(void)
{
	testfunc tests[] = {
		TESTFUNC(sn_newreno_partial_ack),
		TESTFUNC(sn_newreno_after_rto),
		TESTFUNC(sn_sack_dupacks),
		TESTFUNC(sn_rexmit_tail),
	};

	return create_suite("sn_recovery", tests, sizeof(tests) / sizeof(tests[0]), r_setup,
			    r_teardown);
}
