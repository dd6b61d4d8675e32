/* SPDX-License-Identifier: MIT */
/**
 * DOC: the CLI's policy options, the policy file, and "sandnet policy"
 *
 * --allow RULE, --deny RULE, --allow-host-loopback (= --allow group:host),
 * --default-egress, --default-ingress and --policy FILE are collected in
 * the order given into struct cli_policy; cli_policy_build() turns them
 * into an engine policy: the flags' rules first, then the file's, then the
 * defaults (a flag overrides the file's). It is called before any traffic
 * flows (a bad rule or file exits 2) and again on SIGHUP.
 */
#ifndef SANDNET_CLI_POLICY_H
#define SANDNET_CLI_POLICY_H

#include <stddef.h>

struct sn_policy;

/* Most --allow/--deny flags on one command line. */
#define CLI_MAX_RULES	256

/**
 * struct cli_rule - one --allow or --deny, as given
 * @action:	SN_POLICY_ALLOW or SN_POLICY_DENY
 * @text:	the rule
 * @flag:	"--allow", "--deny" or "--allow-host-loopback"
 */
struct cli_rule {
	int action;
	const char *text;
	const char *flag;
};

/**
 * struct cli_policy - the policy flags of a command line
 * @rules:		--allow/--deny in order
 * @n_rules:		how many
 * @default_egress:	-1 unset, else SN_POLICY_ALLOW or SN_POLICY_DENY
 * @default_ingress:	same
 * @file:		--policy FILE, or NULL
 */
struct cli_policy {
	struct cli_rule rules[CLI_MAX_RULES];
	unsigned n_rules;
	int default_egress;
	int default_ingress;
	const char *file;
};

/**
 * cli_policy_init() - no flags yet
 * @cp:		to fill
 */
void cli_policy_init(struct cli_policy *cp);

/**
 * cli_policy_rule() - take an --allow/--deny flag, checking its syntax now
 * @cp:		flags
 * @action:	SN_POLICY_ALLOW or SN_POLICY_DENY
 * @flag:	the flag's name, for messages
 * @rule:	its value
 *
 * Return: 0, or -1 (reported)
 */
int cli_policy_rule(struct cli_policy *cp, int action, const char *flag, const char *rule);

/**
 * cli_policy_default() - take --default-egress/--default-ingress
 * @cp:		flags
 * @ingress:	non-zero for --default-ingress
 * @value:	"allow" or "deny"
 *
 * Return: 0, or -1 (reported)
 */
int cli_policy_default(struct cli_policy *cp, int ingress, const char *value);

/**
 * cli_policy_build() - the policy the flags and the file describe
 * @cp:		flags
 * @err:	a message on failure (a bad file)
 * @errlen:	size of @err
 *
 * Return: the policy, or NULL
 */
struct sn_policy *cli_policy_build(const struct cli_policy *cp, char *err, size_t errlen);

/**
 * cmd_policy() - sandnet policy check|explain
 * @argc:	argument count, argv[0] being "policy"
 * @argv:	arguments
 *
 * Return: 0 when valid / explained, 2 on usage errors or an invalid policy
 */
int cmd_policy(int argc, char **argv);

#endif /* SANDNET_CLI_POLICY_H */
