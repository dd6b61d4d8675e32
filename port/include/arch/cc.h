/* SPDX-License-Identifier: MIT */
/**
 * DOC: lwIP architecture glue for sandnet (Linux, glibc, NO_SYS)
 *
 * lwIP's invariant asserts report through sandnet's log and abort: they fire
 * only on a broken internal state, never on guest input.
 */
#ifndef SANDNET_ARCH_CC_H
#define SANDNET_ARCH_CC_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/time.h>

#define LWIP_TIMEVAL_PRIVATE	0
#define LWIP_ERRNO_INCLUDE	<errno.h>
#define LWIP_ERRNO_STDINCLUDE	1
/* The libc provides htons() and friends (netinet/in.h); lwIP uses lwip_htons(). */
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS	1

unsigned int sn_port_rand(void);
unsigned short sn_port_chksum(const void *data, int len);
void *sn_port_malloc(size_t size);
void *sn_port_calloc(size_t count, size_t size);
void sn_port_free(void *p);
unsigned sn_port_mem_drain(void);
void sn_port_assert(const char *msg, int line, const char *file);
void sn_port_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define LWIP_RAND()			(sn_port_rand())
#define LWIP_PLATFORM_ASSERT(x)		sn_port_assert((x), __LINE__, __FILE__)
#define LWIP_PLATFORM_DIAG(x)		do { sn_port_diag x; } while (0)

#endif /* SANDNET_ARCH_CC_H */
