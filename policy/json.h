/* SPDX-License-Identifier: MIT */
/**
 * DOC: the policy file loader (policy/json.c, library sandnet_policy_json)
 *
 * Kept apart from libsandnet: only this needs jansson.
 */
#ifndef SANDNET_POLICY_JSON_H
#define SANDNET_POLICY_JSON_H

#include <stddef.h>
#include <stdint.h>

struct sn_policy;

/**
 * struct sn_policy_json_defaults - the defaults a file set, for the caller
 *				    to apply unless its own flags override them
 * @egress:		SN_POLICY_ALLOW or SN_POLICY_DENY
 * @ingress:		same
 * @egress_set:		"default_egress" was given
 * @ingress_set:	"default_ingress" was given
 */
struct sn_policy_json_defaults {
	uint8_t egress, ingress;
	uint8_t egress_set, ingress_set;
};

/**
 * sn_policy_load_json() - add a policy file's rules and DNS settings to @pol
 * @pol:	policy; the file's rules are appended after those it has
 * @text:	the file's contents
 * @len:	their length
 * @fname:	the file's name, for messages and rule origins
 * @defs:	filled with the file's defaults
 * @err:	a message naming the line/column or field at fault, on failure
 * @errlen:	size of @err
 *
 * Return: 0, or -1 (@pol may hold part of the file's rules: discard it)
 */
int sn_policy_load_json(struct sn_policy *pol, const char *text, size_t len, const char *fname,
			struct sn_policy_json_defaults *defs, char *err, size_t errlen);

#endif /* SANDNET_POLICY_JSON_H */
