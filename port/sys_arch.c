// SPDX-License-Identifier: MIT
/**
 * DOC: lwIP's NO_SYS platform: clock, randomness, diagnostics
 *
 * sys_now() is CLOCK_MONOTONIC in milliseconds. Tests replace it with a
 * fake clock through sn_port_set_clock(), so expiry can be tested without
 * sleeping; the fuzz target, so that its inputs set the time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "lwip/arch.h"
#include "lwip/sys.h"

static uint32_t (*fake_clock)(void);

/**
 * sn_port_set_clock() - replace the clock (tests and fuzzing only)
 * @clock:	function returning milliseconds, or NULL for the real clock
 */
void sn_port_set_clock(uint32_t (*clock)(void))
{
	fake_clock = clock;
}

/**
 * sys_now() - lwIP's time source
 *
 * Return: monotonic milliseconds, wrapping at 2^32
 */
u32_t sys_now(void)
{
	struct timespec ts;

	if (fake_clock)
		return fake_clock();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u32_t)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/**
 * sn_port_rand() - LWIP_RAND(): random bits for ports and IDs
 *
 * Return: 32 random bits from the kernel
 */
unsigned int sn_port_rand(void)
{
	unsigned int r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned int)random();
	return r;
}

/**
 * sn_port_assert() - LWIP_PLATFORM_ASSERT(): a broken invariant, never input
 * @msg:	assertion text
 * @line:	source line
 * @file:	source file
 */
void sn_port_assert(const char *msg, int line, const char *file)
{
	fprintf(stderr, "sandnet: lwIP assertion \"%s\" failed at %s:%d\n", msg, file, line);
	abort();
}

/**
 * sn_port_diag() - LWIP_PLATFORM_DIAG(): lwIP debug output to stderr
 * @fmt:	printf format
 */
void sn_port_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}
