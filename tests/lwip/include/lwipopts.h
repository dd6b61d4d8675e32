/* SPDX-License-Identifier: MIT */
/**
 * DOC: sandnet's lwIP options, plus what lwIP's unit tests need to observe
 *
 * lwIP's own unit tests (third_party/lwip/test/unit) run against sandnet's
 * options, not lwIP's test lwipopts.h. The only additions are read-only
 * observation: the tests count allocations and drops through lwip_stats,
 * and LWIP_TESTMODE only makes a few internals (timer list, loop netif)
 * non-static so the tests can reach them. Neither changes behaviour.
 *
 * One option differs: LWIP_SINGLE_NETIF. Every fixture of lwIP's tests
 * keeps its netifs on netif_list (saving, clearing and restoring it, and
 * udp's adding two), which single-netif mode removes. It changes only how
 * lwIP picks the netif (a list walk instead of netif_default); the tests
 * have one up netif, the one sandnet's copy would use.
 */
#ifndef SANDNET_TEST_LWIPOPTS_H
#define SANDNET_TEST_LWIPOPTS_H

#include "../../../lwipopts/lwipopts.h"

#undef LWIP_STATS
#define LWIP_STATS			1
#define MEM_STATS			1
#define MEMP_STATS			1
#define MIB2_STATS			1
#define LWIP_TESTMODE			1
#undef LWIP_SINGLE_NETIF
#define LWIP_SINGLE_NETIF		0

#endif /* SANDNET_TEST_LWIPOPTS_H */
