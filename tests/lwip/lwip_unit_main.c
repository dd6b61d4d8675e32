// SPDX-License-Identifier: MIT
/**
 * DOC: runner for lwIP's own unit suites under sandnet's options
 *
 * Follows lwIP's test/unit/lwip_unittests.c (which lists every suite, some
 * of them for features sandnet turns off), with the suites that build under
 * our options and a list of single tests to skip: LWIP_UNIT_EXCLUDE, a
 * space-separated list of test function names set by CMakeLists.txt, where
 * each exclusion has its reason. sn_recovery (test_recovery.c) is
 * sandnet's own: lwIP-level tests of third_party/patches.
 */
#include <stdlib.h>
#include <string.h>

#include "lwip_check.h"

#include "core/test_def.h"
#include "core/test_pbuf.h"
#include "core/test_timers.h"
#include "etharp/test_etharp.h"
#include "ip4/test_ip4.h"
#include "ip6/test_ip6.h"
#include "tcp/test_tcp_oos.h"
#include "tcp/test_tcp_state.h"
#include "tcp/test_tcp.h"
#include "udp/test_udp.h"

#include "test_recovery.h"

#include "lwip/init.h"
#include "lwip/memp.h"
#include "lwip/priv/memp_priv.h"
#include "lwip/stats.h"

#ifndef LWIP_UNIT_EXCLUDE
#define LWIP_UNIT_EXCLUDE ""
#endif

static int excluded(const char *name)
{
	const char *list = LWIP_UNIT_EXCLUDE;
	size_t len = strlen(name);

	while (*list) {
		size_t n;

		while (*list == ' ')
			list++;
		n = strcspn(list, " ");
		if (n == len && strncmp(list, name, n) == 0)
			return 1;
		list += n;
	}
	return 0;
}

/* lwip_check.h's create_suite(), skipping excluded tests. */
Suite *create_suite(const char *name, testfunc *tests, size_t num_tests, SFun setup,
		    SFun teardown)
{
	Suite *s = suite_create(name);
	size_t i;

	for (i = 0; i < num_tests; i++) {
		TCase *tc;

		if (excluded(tests[i]->name))
			continue;
		tc = tcase_create(tests[i]->name);
		if (setup || teardown)
			tcase_add_checked_fixture(tc, setup, teardown);
		tcase_add_named_test(tc, tests[i]);
		suite_add_tcase(s, tc);
	}
	return s;
}

/*
 * lwip_check.h's leak check, as in lwip_unittests.c, except for the heap:
 * with MEMP_MEM_MALLOC every pool element is a heap allocation too, so
 * elements of the pools a test may keep (SKIP_POOL) are not heap leaks.
 */
void lwip_check_ensure_no_alloc(unsigned int skip)
{
	mem_size_t pooled = 0;
	unsigned int mask;
	int i;

	for (i = 0, mask = 1; i < MEMP_MAX; i++, mask <<= 1) {
#if MEMP_MEM_MALLOC
		pooled += (mem_size_t)(lwip_stats.memp[i]->used *
				       (MEMP_SIZE + MEMP_ALIGN_SIZE(memp_pools[i]->size)));
#endif
		if (skip & mask)
			continue;
		ck_assert_msg(lwip_stats.memp[i]->used == 0,
			      "memp pool %d still has %d entries allocated", i,
			      (int)lwip_stats.memp[i]->used);
	}
	if (!(skip & SKIP_HEAP))
		ck_assert_msg(lwip_stats.mem.used == pooled,
			      "mem heap still has %d bytes allocated outside pools",
			      (int)(lwip_stats.mem.used - pooled));
}

int main(void)
{
	suite_getter_fn *suites[] = {
		ip4_suite,
		ip6_suite,
		udp_suite,
		tcp_suite,
		tcp_oos_suite,
		tcp_state_suite,
		def_suite,
		pbuf_suite,
		timers_suite,
		etharp_suite,
		sn_recovery_suite,
	};
	size_t i, num = sizeof(suites) / sizeof(suites[0]);
	SRunner *sr;
	int failed;

	lwip_init();
	sr = srunner_create(suites[0]());
	for (i = 1; i < num; i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
