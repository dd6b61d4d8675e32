// SPDX-License-Identifier: MIT
/**
 * DOC: stock behaviour for the hooks sandnet's lwipopts.h names
 *
 * The test's lwIP copy is built from sandnet's options, which route every
 * input packet and every ISN through sandnet's code. Here the hooks pass
 * everything through and the ISN is lwIP's own default, so lwIP behaves as
 * shipped. The clock is port/sys_arch.c's sys_now() driven by lwip_sys_now,
 * the variable lwIP's tests advance.
 */
#include "lwip/opt.h"
#include "lwip/arch.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"

#include "arch/sys_arch.h"

void sn_port_set_clock(uint32_t (*clock)(void));

u32_t lwip_sys_now;

static uint32_t test_clock(void)
{
	return lwip_sys_now;
}

__attribute__((constructor)) static void test_clock_init(void)
{
	sn_port_set_clock(test_clock);
}

/**
 * sn_hook_ip4_input() - LWIP_HOOK_IP4_INPUT: never consume
 * @p:		packet
 * @inp:	input netif
 *
 * Return: 0, lwIP processes the packet
 */
int sn_hook_ip4_input(struct pbuf *p, struct netif *inp)
{
	(void)p;
	(void)inp;
	return 0;
}

/**
 * sn_hook_ip6_input() - LWIP_HOOK_IP6_INPUT: never consume
 * @p:		packet
 * @inp:	input netif
 *
 * Return: 0, lwIP processes the packet
 */
int sn_hook_ip6_input(struct pbuf *p, struct netif *inp)
{
	(void)p;
	(void)inp;
	return 0;
}

/**
 * sn_tcp_isn() - LWIP_HOOK_TCP_ISN: lwIP's default tcp_next_iss()
 * @local_ip:	unused
 * @local_port:	unused
 * @remote_ip:	unused
 * @remote_port: unused
 *
 * Return: 6510 advanced by tcp_ticks on each call, as stock lwIP
 */
u32_t sn_tcp_isn(const struct ip_addr *local_ip, u16_t local_port,
		 const struct ip_addr *remote_ip, u16_t remote_port)
{
	static u32_t iss = 6510;

	(void)local_ip;
	(void)local_port;
	(void)remote_ip;
	(void)remote_port;
	iss += tcp_ticks;
	return iss;
}
