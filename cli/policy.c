// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - policy flags, the policy file, sandnet policy
 *
 * run and attach collect their policy flags into struct cli_policy while
 * parsing (each rule's syntax is checked at once, so a typo exits 2 naming
 * the flag) and build the engine's policy with cli_policy_build() before
 * the guest runs, and again on SIGHUP: the file is read anew, so a new
 * file governs new flows while established ones go on; a bad new file
 * leaves the old policy in force (the caller logs the error).
 *
 * "sandnet policy check FILE" validates a file; "sandnet policy explain
 * [flags] DEST" prints the verdict a flow or a DNS name would get and the
 * rule that decides it, classifying addresses as the engine would: the
 * default gateway and guest addresses, and this host's interface addresses
 * (read once).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <sandnet/sandnet.h>

#include "core/hostaddr.h"
#include "netns.h"
#include "policy.h"
#include "policy/json.h"
#include "policy/policy.h"

/* Largest policy file read. */
#define CLI_POLICY_FILE_MAX	(4 << 20)
/* Host interface addresses explain classifies with. */
#define SN_HOST_ADDRS_CLI	256
#define EXIT_USAGE		2

void cli_policy_init(struct cli_policy *cp)
{
	memset(cp, 0, sizeof(*cp));
	cp->default_egress = -1;
	cp->default_ingress = -1;
}

int cli_policy_rule(struct cli_policy *cp, int action, const char *flag, const char *rule)
{
	char err[256];
	struct sn_rule r;

	if (sn_rule_parse(rule, &r, err, sizeof(err))) {
		cli_err("%s: %s", flag, err);
		return -1;
	}
	if (cp->n_rules >= CLI_MAX_RULES) {
		cli_err("%s: at most %d --allow/--deny flags", flag, CLI_MAX_RULES);
		return -1;
	}
	cp->rules[cp->n_rules].action = action;
	cp->rules[cp->n_rules].text = rule;
	cp->rules[cp->n_rules].flag = flag;
	cp->n_rules++;
	return 0;
}

int cli_policy_default(struct cli_policy *cp, int ingress, const char *value)
{
	int a;

	if (!strcmp(value, "allow")) {
		a = SN_POLICY_ALLOW;
	} else if (!strcmp(value, "deny")) {
		a = SN_POLICY_DENY;
	} else {
		cli_err("--default-%s: '%s' is not allow or deny", ingress ? "ingress" : "egress",
			value);
		return -1;
	}
	if (ingress)
		cp->default_ingress = a;
	else
		cp->default_egress = a;
	return 0;
}

/**
 * file_read() - a whole file, NUL-terminated
 * @path:	file
 * @len:	set to its length
 * @err:	a message on failure
 * @errlen:	size of @err
 *
 * Return: the contents (free() them), or NULL
 */
static char *file_read(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CLI_POLICY_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	n = fread(buf, 1, CLI_POLICY_FILE_MAX + 1, f);
	if (ferror(f) || n > CLI_POLICY_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, ferror(f) ? strerror(errno) :
			 "larger than 4 MiB");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/**
 * policy_file_add() - append a policy file's rules and settings
 * @pol:	policy
 * @path:	the file
 * @defs:	filled with the file's defaults
 * @err:	a message on failure
 * @errlen:	size of @err
 *
 * Return: 0, or -1
 */
static int policy_file_add(struct sn_policy *pol, const char *path,
			   struct sn_policy_json_defaults *defs, char *err, size_t errlen)
{
	size_t len;
	char *text = file_read(path, &len, err, errlen);
	int rc;

	if (!text)
		return -1;
	rc = sn_policy_load_json(pol, text, len, path, defs, err, errlen);
	free(text);
	return rc;
}

struct sn_policy *cli_policy_build(const struct cli_policy *cp, char *err, size_t errlen)
{
	struct sn_policy_json_defaults defs = { 0 };
	struct sn_policy *pol = sn_policy_new();
	char origin[SN_RULE_ORIGIN_MAX];
	unsigned i;

	if (!pol) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < cp->n_rules; i++) {
		const struct cli_rule *r = &cp->rules[i];

		snprintf(origin, sizeof(origin), "%s %s", r->flag, r->text);
		if (sn_policy_add(pol, SN_POLICY_EGRESS, r->action, r->text, origin, err, errlen))
			goto fail;
	}
	if (cp->file && policy_file_add(pol, cp->file, &defs, err, errlen))
		goto fail;
	if (defs.egress_set)
		sn_policy_set_default(pol, SN_POLICY_EGRESS, defs.egress);
	if (defs.ingress_set)
		sn_policy_set_default(pol, SN_POLICY_INGRESS, defs.ingress);
	if (cp->default_egress >= 0)
		sn_policy_set_default(pol, SN_POLICY_EGRESS, cp->default_egress);
	if (cp->default_ingress >= 0)
		sn_policy_set_default(pol, SN_POLICY_INGRESS, cp->default_ingress);
	return pol;
fail:
	sn_policy_free(pol);
	return NULL;
}

/* ---- sandnet policy check | explain ---- */

static const char usage_policy[] =
"Usage: sandnet policy check FILE\n"
"       sandnet policy explain [--policy FILE] [--allow RULE] [--deny RULE]\n"
"                              [--allow-host-loopback] [--default-egress allow|deny]\n"
"                              [--default-ingress allow|deny] [--ingress]\n"
"                              DEST[:PORT][/PROTO]\n"
"\n"
"check: validate a policy file (exit 0), or name the line or field at fault\n"
"(exit 2).\n"
"\n"
"explain: print the verdict the guest would get and the rule that decides it.\n"
"DEST is an address (IPv6 in brackets when a port follows), a domain name\n"
"(the verdict for a DNS query for it), or NAME=ADDR (a flow to ADDR after\n"
"the guest resolved NAME to it, for domain rules). PROTO is tcp, udp or\n"
"icmp; without it a port means both tcp and udp, no port means icmp.\n"
"--ingress explains a connection from DEST to the guest's PORT (a published\n"
"port). Addresses are classified as sandnet would: gateway 10.0.2.2,\n"
"fd00:2::2, fe80::73:6eff:fe00:1; guest 10.0.2.15, fd00:2::15; this host's\n"
"interface addresses.\n";

enum {
	OPT_POLICY = 256,
	OPT_ALLOW,
	OPT_DENY,
	OPT_ALLOW_HOST_LOOPBACK,
	OPT_DEFAULT_EGRESS,
	OPT_DEFAULT_INGRESS,
	OPT_INGRESS,
};

/**
 * explain_env() - the classification facts of a default sandnet
 * @env:	filled
 * @host:	storage for the host's addresses
 * @max:	its size
 */
static void explain_env(struct sn_policy_env *env, struct sn_ip *host, unsigned max)
{
	struct sn_config cfg;
	struct sn_ip ll;
	uint32_t mask;

	sn_config_init(&cfg);
	memset(env, 0, sizeof(*env));
	sn_ip_from4(&env->gw[0], cfg.gw_ip4.s_addr);
	memcpy(env->gw[1].b, &cfg.gw_ip6, 16);
	/* the gateway's link-local address: EUI-64 of its MAC (RFC 4291) */
	memset(&ll, 0, sizeof(ll));
	ll.b[0] = 0xfe;
	ll.b[1] = 0x80;
	ll.b[8] = cfg.gw_mac[0] ^ 0x02;
	ll.b[9] = cfg.gw_mac[1];
	ll.b[10] = cfg.gw_mac[2];
	ll.b[11] = 0xff;
	ll.b[12] = 0xfe;
	memcpy(ll.b + 13, cfg.gw_mac + 3, 3);
	env->gw[2] = ll;
	env->n_gw = 3;
	sn_ip_from4(&env->guest[0], cfg.guest_ip4.s_addr);
	memcpy(env->guest[1].b, &cfg.guest_ip6, 16);
	env->n_guest = 2;
	mask = ~0U << (32 - cfg.prefix_len4);
	sn_ip_from4(&env->bcast4, htonl((ntohl(cfg.guest_ip4.s_addr) & mask) | ~mask));
	env->host = host;
	env->n_host = sn_host_addrs_read(host, max);
}

/**
 * explain_flow() - print one flow's verdict
 * @pol:	policy
 * @env:	classification facts
 * @pins:	pins (NAME=ADDR), or NULL
 * @f:		the flow
 */
static void explain_flow(struct sn_policy *pol, const struct sn_policy_env *env,
			 const struct sn_pins *pins, const struct sn_flow_desc *f)
{
	static const char *const pname[] = { "?", "tcp", "udp", "?", "icmp" };
	char a[48], port[16] = "", why[SN_RULE_ORIGIN_MAX + 96];
	struct sn_verdict v;
	int v6 = !sn_ip_is4(&f->ip);

	sn_policy_decide(pol, env, pins, f, 0, &v);
	if (f->proto != SN_PROTO_ICMP)
		snprintf(port, sizeof(port), ":%u", f->port);
	sn_ip_format(&f->ip, a, sizeof(a));
	printf("%s %s %s%s%s%s (%s): %s\n", f->dir == SN_POLICY_INGRESS ? "ingress from" : "egress",
	       pname[f->proto], v6 && *port ? "[" : "", a, v6 && *port ? "]" : "", port,
	       sn_class_name(v.cls), sn_verdict_explain(&v, why, sizeof(why)));
}

/**
 * explain() - parse DEST[:PORT][/PROTO] and print its verdicts
 * @pol:	policy
 * @dest:	the argument
 * @ingress:	explain a connection from DEST to the guest
 *
 * Return: 0, or EXIT_USAGE (reported)
 */
static int explain(struct sn_policy *pol, const char *dest, int ingress)
{
	static struct sn_pins pins;
	static struct sn_ip host[SN_HOST_ADDRS_CLI];
	char spec[512], name[SN_NAME_MAX + 1], why[SN_RULE_ORIGIN_MAX + 96];
	const char *addr, *eq, *end, *slash, *colon = NULL;
	struct sn_policy_env env;
	struct sn_flow_desc f = { .dir = ingress ? SN_POLICY_INGRESS : SN_POLICY_EGRESS };
	struct sn_verdict v;
	unsigned protos = 0;
	size_t alen;

	snprintf(spec, sizeof(spec), "%s", dest);
	slash = strrchr(spec, '/');
	if (slash && !(protos = sn_rule_parse_proto(slash + 1, strlen(slash + 1))))
		slash = NULL;	/* a CIDR-looking argument: reported below */
	end = slash ? slash : spec + strlen(spec);
	eq = memchr(spec, '=', (size_t)(end - spec));
	addr = eq ? eq + 1 : spec;
	if (addr[0] == '[') {
		const char *rb = memchr(addr, ']', (size_t)(end - addr));

		colon = rb && rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	} else if (memchr(addr, ':', (size_t)(end - addr)) == memrchr(addr, ':', (size_t)(end - addr))) {
		colon = memchr(addr, ':', (size_t)(end - addr));	/* one colon: a port */
	}
	alen = (size_t)((colon ? colon : end) - addr);
	if (colon) {
		char *e2;
		unsigned long p = strtoul(colon + 1, &e2, 10);

		if (e2 != end || !p || p > 65535) {
			cli_err("explain: '%s': the port must be 1..65535", dest);
			return EXIT_USAGE;
		}
		f.port = (uint16_t)p;
	}
	explain_env(&env, host, SN_HOST_ADDRS_CLI);
	sn_pins_init(&pins);

	if (!eq && sn_ip_parse(addr, alen, &f.ip) &&
	    !sn_name_canon(addr, alen, name) && !colon && !protos && !ingress) {
		sn_policy_decide_name(pol, name, &v);
		printf("dns %s: %s\n", name, v.action == SN_POLICY_ALLOW ?
		       "resolved (flows to its addresses are decided as such)" :
		       sn_verdict_explain(&v, why, sizeof(why)));
		if (v.action != SN_POLICY_ALLOW)
			printf("dns %s: answered NXDOMAIN\n", name);
		return 0;
	}
	if (sn_ip_parse(addr, alen, &f.ip)) {
		cli_err("explain: '%s' is not ADDR[:PORT][/PROTO], NAME or NAME=ADDR[:PORT][/PROTO]",
			dest);
		return EXIT_USAGE;
	}
	if (eq) {
		if (sn_name_canon(spec, (size_t)(eq - spec), name)) {
			cli_err("explain: '%.*s' is not a domain name", (int)(eq - spec), spec);
			return EXIT_USAGE;
		}
		sn_policy_decide_name(pol, name, &v);
		if (v.action != SN_POLICY_ALLOW) {
			printf("dns %s: %s: answered NXDOMAIN, no flow follows\n", name,
			       sn_verdict_explain(&v, why, sizeof(why)));
			return 0;
		}
		if (!sn_policy_rebind_ok(pol, &env, name, &f.ip)) {
			printf("dns %s: an answer with %.*s is refused (rebind protection): "
			       "NXDOMAIN\n", name, (int)alen, addr);
			return 0;
		}
		sn_ip_normalise(&f.ip, &f.ip);
		sn_pins_add(&pins, &f.ip, name, 300, 0);
	}
	if (!protos)
		protos = colon ? SN_PROTO_TCP | SN_PROTO_UDP : SN_PROTO_ICMP;
	if (protos != SN_PROTO_ICMP && !colon) {
		cli_err("explain: '%s': tcp and udp need :PORT", dest);
		return EXIT_USAGE;
	}
	if (protos == SN_PROTO_ICMP && colon) {
		cli_err("explain: '%s': icmp has no port", dest);
		return EXIT_USAGE;
	}
	for (f.proto = SN_PROTO_TCP; f.proto <= SN_PROTO_ICMP; f.proto <<= 1)
		if (protos & f.proto)
			explain_flow(pol, &env, &pins, &f);
	return 0;
}

/**
 * policy_check() - sandnet policy check FILE
 * @path:	the file
 *
 * Return: 0 if valid, EXIT_USAGE if not (reported)
 */
static int policy_check(const char *path)
{
	struct sn_policy_json_defaults defs;
	struct sn_policy *pol = sn_policy_new();
	char err[512];

	if (!pol) {
		cli_err("out of memory");
		return EXIT_FAILURE;
	}
	if (policy_file_add(pol, path, &defs, err, sizeof(err))) {
		cli_err("%s", err);
		sn_policy_free(pol);
		return EXIT_USAGE;
	}
	printf("%s: valid: %u rule%s, %u blocked name%s, default egress %s, default ingress %s\n",
	       path, pol->n_rules, pol->n_rules == 1 ? "" : "s", pol->n_block,
	       pol->n_block == 1 ? "" : "s",
	       !defs.egress_set || defs.egress == SN_POLICY_ALLOW ? "allow (public only)" : "deny",
	       !defs.ingress_set || defs.ingress == SN_POLICY_ALLOW ? "allow" : "deny");
	sn_policy_free(pol);
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "allow", required_argument, NULL, OPT_ALLOW },
		{ "deny", required_argument, NULL, OPT_DENY },
		{ "allow-host-loopback", no_argument, NULL, OPT_ALLOW_HOST_LOOPBACK },
		{ "default-egress", required_argument, NULL, OPT_DEFAULT_EGRESS },
		{ "default-ingress", required_argument, NULL, OPT_DEFAULT_INGRESS },
		{ "ingress", no_argument, NULL, OPT_INGRESS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct cli_policy cp;
	struct sn_policy *pol;
	char err[512];
	int c, ingress = 0, rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_policy, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "check")) {
		if (argc != 3) {
			cli_err("policy check: needs exactly one FILE");
			return EXIT_USAGE;
		}
		return policy_check(argv[2]);
	}
	if (strcmp(argv[1], "explain")) {
		cli_err("policy: '%s' is not check or explain (see sandnet policy --help)", argv[1]);
		return EXIT_USAGE;
	}

	cli_policy_init(&cp);
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_POLICY:
			cp.file = optarg;
			break;
		case OPT_ALLOW:
		case OPT_DENY:
			if (cli_policy_rule(&cp, c == OPT_ALLOW ? SN_POLICY_ALLOW : SN_POLICY_DENY,
					    c == OPT_ALLOW ? "--allow" : "--deny", optarg))
				return EXIT_USAGE;
			break;
		case OPT_ALLOW_HOST_LOOPBACK:
			if (cli_policy_rule(&cp, SN_POLICY_ALLOW, "--allow-host-loopback",
					    "group:host"))
				return EXIT_USAGE;
			break;
		case OPT_DEFAULT_EGRESS:
		case OPT_DEFAULT_INGRESS:
			if (cli_policy_default(&cp, c == OPT_DEFAULT_INGRESS, optarg))
				return EXIT_USAGE;
			break;
		case OPT_INGRESS:
			ingress = 1;
			break;
		case 'h':
			fputs(usage_policy, stdout);
			return 0;
		default:
			cli_err("policy explain: unknown option or missing value '%s' (see "
				"sandnet policy --help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_err("policy explain: needs exactly one DEST (see sandnet policy --help)");
		return EXIT_USAGE;
	}
	pol = cli_policy_build(&cp, err, sizeof(err));
	if (!pol) {
		cli_err("%s", err);
		return EXIT_USAGE;
	}
	rc = explain(pol, argv[optind], ingress);
	sn_policy_free(pol);
	if (!rc && fflush(stdout)) {
		cli_perror("stdout");
		return EXIT_FAILURE;
	}
	return rc;
}
