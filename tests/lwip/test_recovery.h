/* SPDX-License-Identifier: MIT */
/**
 * DOC: test_recovery - suite of lwIP-level tests for third_party/patches
 */
#ifndef SANDNET_TEST_RECOVERY_H
#define SANDNET_TEST_RECOVERY_H

#include <check.h>

Suite *sn_recovery_suite(void);

#endif /* SANDNET_TEST_RECOVERY_H */
