// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the policy parsers and evaluation.
 *
 * The input's first byte picks what it is: even, a policy file (JSON,
 * policy/json.c); odd, a list of --allow/--deny rules, one per line
 * (policy/rule.c). Whatever parses is then asked about a few flows and
 * names, with addresses taken from the input's last bytes, so evaluation,
 * normalisation and the pin cache run on what the parsers accepted.
 * Nothing here may crash, leak, or read out of bounds (ASan, UBSan, LSan).
 */
#define _GNU_SOURCE	/* strtok_r */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/json.h"
#include "policy/policy.h"

/* Longest input taken: a policy file this big is far past any real one. */
#define FUZZ_MAX	(64 * 1024)

/**
 * add_rules() - one rule per line, "+RULE" allow, anything else deny
 * @pol:	policy
 * @text:	NUL-terminated lines, modified
 */
static void add_rules(struct sn_policy *pol, char *text)
{
	char err[256], *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		sn_policy_add(pol, line[0] == '+' ? SN_POLICY_EGRESS | SN_POLICY_INGRESS :
			      SN_POLICY_EGRESS, line[0] == '+' ? SN_POLICY_ALLOW : SN_POLICY_DENY,
			      line + (line[0] == '+'), NULL, err, sizeof(err));
}

/**
 * ask() - decide flows, a name and an answer with what the input gives
 * @pol:	policy
 * @tail:	up to 16 bytes for an address
 * @n:		bytes at @tail
 */
static void ask(struct sn_policy *pol, const uint8_t *tail, size_t n)
{
	static struct sn_pins pins;
	struct sn_policy_env env;
	struct sn_flow_desc f = { .dir = SN_POLICY_EGRESS, .port = 443 };
	struct sn_verdict v;
	char name[SN_NAME_MAX + 1], why[512];
	unsigned p;

	memset(&env, 0, sizeof(env));
	sn_ip_from4(&env.gw[0], 0x0202000a);
	env.n_gw = 1;
	memset(&f.ip, 0, sizeof(f.ip));
	memcpy(f.ip.b, tail, n > 16 ? 16 : n);
	sn_pins_init(&pins);
	sn_pins_add(&pins, &f.ip, "www.example.test", 60, 0);
	for (p = SN_PROTO_TCP; p <= SN_PROTO_ICMP; p <<= 1) {
		f.proto = p;
		sn_policy_decide(pol, &env, &pins, &f, 1000, &v);
		sn_verdict_explain(&v, why, sizeof(why));
		f.dir = SN_POLICY_INGRESS;
		sn_policy_decide(pol, &env, &pins, &f, 1000, &v);
		f.dir = SN_POLICY_EGRESS;
	}
	if (!sn_name_canon("x.ads.example", 13, name))
		sn_policy_decide_name(pol, name, &v);
	sn_policy_rebind_ok(pol, &env, "www.example.test", &f.ip);
}

/**
 * LLVMFuzzerInitialize() - nothing to set up: the policy is pure
 * @argc:	unused
 * @argv:	unused
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/**
 * LLVMFuzzerTestOneInput() - one input: parse, then ask
 * @data:	the input (first byte: JSON if even, rule lines if odd)
 * @size:	its length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_policy_json_defaults defs;
	struct sn_policy *pol;
	char err[512], *text;

	if (size < 1 || size > FUZZ_MAX)
		return 0;
	text = malloc(size);
	pol = sn_policy_new();
	if (!text || !pol) {
		free(text);
		sn_policy_free(pol);
		return 0;
	}
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1)
		add_rules(pol, text);
	else
		sn_policy_load_json(pol, text, size - 1, "fuzz.json", &defs, err, sizeof(err));
	ask(pol, data + (size > 16 ? size - 16 : 0), size > 16 ? 16 : size);
	sn_policy_free(pol);
	free(text);
	return 0;
}
