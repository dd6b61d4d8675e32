// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - sandnetif, the example firmware's NIC
 *
 * Two TCP/IP stacks meet here. This netif belongs to the firmware's own
 * lwIP (the guest); the frames it sends go to sandnet, whose engine is the
 * guest's router, DHCP and DNS server, and way out through host sockets.
 *
 * Neither stack may be entered while it is running: lwIP is not
 * re-entrant, and the engine's frames come out of its cfg.output callback
 * in the middle of its own lwIP's work (libsandnet's rule: callbacks never
 * call back into the engine). So the two directions differ:
 *
 * - guest to engine: linkoutput calls sn_engine_input() directly. The
 *   guest's lwIP runs only from the main loop, never from inside an engine
 *   call, so the engine is idle whenever linkoutput runs.
 * - engine to guest: sandnetif_engine_output() copies the frame into a
 *   bounded queue and returns; sandnetif_poll(), called by the main loop
 *   outside any engine call, feeds the queue to the guest's lwIP. Frames the
 *   guest's answers produce meanwhile join the queue behind them and wait
 *   for the next poll, so one poll does bounded work.
 *
 * With an engine in another process (no @engine) the same netif reads and
 * writes one frame per message on a socket instead.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <sandnet/sandnet.h>

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#include "sandnetif.h"

/* Frames read from a link socket per poll: bounded work per loop turn. */
#define SANDNETIF_RX_BATCH	32

/**
 * sandnetif_linkoutput() - netif linkoutput: one frame to the engine
 * @netif:	the netif
 * @p:		frame, maybe a chain
 *
 * Return: ERR_OK, or ERR_IF if the frame was dropped
 */
static err_t sandnetif_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct sandnetif *s = netif->state;
	uint8_t flat[SANDNETIF_FRAME_MAX];
	const void *frame = p->payload;

	if (p->tot_len > sizeof(flat)) {
		s->drops++;
		return ERR_IF;
	}
	if (p->next) {
		pbuf_copy_partial(p, flat, p->tot_len, 0);
		frame = flat;
	}
	if (s->engine) {
		/* dropped frames are the engine's to count (struct sn_stats) */
		sn_engine_input(s->engine, frame, p->tot_len);
	} else if (send(s->fd, frame, p->tot_len, MSG_DONTWAIT | MSG_NOSIGNAL) !=
		   (ssize_t)p->tot_len) {
		s->drops++;	/* a full socket: lost as on a wire, TCP resends */
		return ERR_IF;
	}
	s->frames_out++;
	return ERR_OK;
}

/**
 * sandnetif_init() - netif_add() init callback: an Ethernet NIC on sandnet
 * @netif:	the netif, with a struct sandnetif as state
 *
 * Return: ERR_OK
 */
err_t sandnetif_init(struct netif *netif)
{
	/* a locally administered address, as tapif makes one up */
	static const uint8_t mac[ETH_HWADDR_LEN] = { 0x02, 0x12, 0x34, 0x56, 0x78, 0xab };

	netif->name[0] = 's';
	netif->name[1] = 'n';
	netif->output = etharp_output;
	netif->linkoutput = sandnetif_linkoutput;
	netif->mtu = SANDNETIF_FRAME_MAX - SIZEOF_ETH_HDR;
	netif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(netif->hwaddr, mac, ETH_HWADDR_LEN);
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
		       NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

/**
 * sandnetif_engine_output() - cfg.output of the engine: queue a frame
 * @user:	the struct sandnetif (cfg.user)
 * @frame:	Ethernet frame for this stack
 * @len:	its length
 *
 * Return: 0, or -1 if the queue is full or the frame too long (dropped)
 */
int sandnetif_engine_output(void *user, const void *frame, size_t len)
{
	struct sandnetif *s = user;
	unsigned slot;

	if (s->count == SANDNETIF_QUEUE || len > SANDNETIF_FRAME_MAX) {
		s->drops++;
		return -1;
	}
	slot = (s->head + s->count) % SANDNETIF_QUEUE;
	memcpy(s->frame[slot], frame, len);
	s->len[slot] = (uint16_t)len;
	s->count++;
	return 0;
}

/**
 * sandnetif_feed() - one frame into the stack
 * @netif:	the netif
 * @frame:	Ethernet frame
 * @len:	its length
 */
static void sandnetif_feed(struct netif *netif, const uint8_t *frame, uint16_t len)
{
	struct sandnetif *s = netif->state;
	struct pbuf *p = pbuf_alloc(PBUF_RAW, len, PBUF_POOL);

	if (!p) {
		s->drops++;
		return;
	}
	pbuf_take(p, frame, len);
	s->frames_in++;
	if (netif->input(p, netif) != ERR_OK)
		pbuf_free(p);
}

/**
 * sandnetif_read() - frames waiting on a link socket into the stack
 * @netif:	the netif
 *
 * Return: frames given, or -1 if the socket failed or the peer closed it
 */
static int sandnetif_read(struct netif *netif)
{
	struct sandnetif *s = netif->state;
	uint8_t buf[SANDNETIF_FRAME_MAX];
	int n;

	for (n = 0; n < SANDNETIF_RX_BATCH; n++) {
		ssize_t len = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

		if (len < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? n : -1;
		if (len == 0)
			return -1;	/* SOCK_SEQPACKET: the engine's end closed */
		if (len > (ssize_t)sizeof(buf)) {
			s->drops++;
			continue;
		}
		sandnetif_feed(netif, buf, (uint16_t)len);
	}
	return n;
}

/**
 * sandnetif_poll() - give the stack the frames that arrived
 * @netif:	the netif
 *
 * Return: frames given, or -1 if the link socket failed or was closed
 */
int sandnetif_poll(struct netif *netif)
{
	struct sandnetif *s = netif->state;
	unsigned n, todo = s->count;

	if (!s->engine)
		return sandnetif_read(netif);
	/* only what was queued before: frames the answers queue wait a turn */
	for (n = 0; n < todo; n++) {
		/* the slot is free once dequeued: sandnetif_feed() copies it into
		 * a pbuf before the stack runs and may queue into it again */
		unsigned slot = s->head;

		s->head = (s->head + 1) % SANDNETIF_QUEUE;
		s->count--;
		sandnetif_feed(netif, s->frame[slot], s->len[slot]);
	}
	return (int)n;
}

/**
 * sandnetif_pending() - frames from the engine still waiting
 * @netif:	the netif
 *
 * Return: how many (0 on a socket link)
 */
unsigned sandnetif_pending(const struct netif *netif)
{
	const struct sandnetif *s = netif->state;

	return s->count;
}
