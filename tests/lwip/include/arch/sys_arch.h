/* SPDX-License-Identifier: MIT */
/**
 * DOC: the part of lwIP's test/unit/arch/sys_arch.h a NO_SYS build needs
 *
 * test_timers.c includes "arch/sys_arch.h" for the fake clock. lwIP's own
 * test header also defines the OS types (semaphores, mailboxes) that clash
 * with NO_SYS's; this one, found first on the include path, has only the
 * clock.
 */
#ifndef SANDNET_TEST_SYS_ARCH_H
#define SANDNET_TEST_SYS_ARCH_H

#include "lwip/arch.h"

/* Current time in milliseconds, as sys_now() returns it; tests set it. */
extern u32_t lwip_sys_now;

#endif /* SANDNET_TEST_SYS_ARCH_H */
