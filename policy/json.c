// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the policy file
 *
 * A policy file is JSON, parsed with jansson (Debian's libjansson), in the
 * shape a microsandbox user knows:
 *
 *	{
 *	  "default_egress": "allow" | "deny",
 *	  "default_ingress": "allow" | "deny",
 *	  "rules": [
 *	    { "direction": "egress" | "ingress" | "any",	(default egress)
 *	      "destination": "10.0.0.0/8",		(the --allow DEST syntax, or
 *							 {"cidr": ...}, {"group": ...},
 *							 {"domain": ...},
 *							 {"domain_suffix": ...}, "any")
 *	      "protocols": ["tcp", "udp", "icmp"],	(optional: all)
 *	      "ports": [80, "8000-8100", {"start": 1, "end": 9}],	(optional: all)
 *	      "action": "allow" | "deny" }
 *	  ],
 *	  "dns": { "rebind_protection": true, "block": ["*.ads.example"],
 *		   "allow_bypass": false }
 *	}
 *
 * Every key is optional but "destination" and "action" in a rule; an
 * unknown key is an error (a typo must not silently widen the policy).
 * Syntax errors name the line and column (jansson tracks them); value
 * errors name the field, as "rules[2].ports[1]". The file's rules are
 * appended to the policy given, so the CLI's own rules, added first, are
 * evaluated first.
 *
 * This is the only file that needs jansson: it is built into a library of
 * its own (sandnet_policy_json), kept out of libsandnet, whose embedders
 * add rules through sn_policy_add().
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "policy/json.h"
#include "policy/policy.h"

/**
 * jerr() - write an error message
 * @err:	buffer
 * @errlen:	its size
 * @fname:	file name for the message
 * @fmt:	printf format of the rest
 *
 * Return: -1, for the caller to return
 */
static int __attribute__((format(printf, 4, 5)))
jerr(char *err, size_t errlen, const char *fname, const char *fmt, ...)
{
	size_t off;
	va_list ap;

	snprintf(err, errlen, "%s: ", fname);
	off = strlen(err);
	va_start(ap, fmt);
	vsnprintf(err + off, errlen > off ? errlen - off : 0, fmt, ap);
	va_end(ap);
	return -1;
}

/**
 * keys_known() - check an object has only the keys listed
 * @obj:	object
 * @keys:	NULL-terminated list
 * @bad:	set to the first unknown key
 *
 * Return: non-zero if every key is known
 */
static int keys_known(json_t *obj, const char *const *keys, const char **bad)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		const char *const *p;

		(void)v;
		for (p = keys; *p && strcmp(*p, k); p++)
			;
		if (!*p) {
			*bad = k;
			return 0;
		}
	}
	return 1;
}

/**
 * parse_action() - "allow" or "deny"
 * @v:		value
 * @out:	SN_POLICY_ALLOW or SN_POLICY_DENY
 *
 * Return: 0, or -1 if it is neither
 */
static int parse_action(json_t *v, uint8_t *out)
{
	const char *s = json_string_value(v);

	if (!s)
		return -1;
	if (!strcmp(s, "allow"))
		*out = SN_POLICY_ALLOW;
	else if (!strcmp(s, "deny"))
		*out = SN_POLICY_DENY;
	else
		return -1;
	return 0;
}

/**
 * parse_destination() - a rule's destination: a string, or a tagged object
 * @v:		value
 * @r:		destination fields filled
 * @msg:	a message on failure
 * @len:	size of @msg
 *
 * Return: 0, or -1
 */
static int parse_destination(json_t *v, struct sn_rule *r, char *msg, size_t len)
{
	static const char *const tags[] = { "cidr", "group", "domain", "domain_suffix", NULL };
	char buf[SN_NAME_MAX + 16];
	const char *s = json_string_value(v), *tag = NULL, *key, *bad;
	json_t *inner;

	if (!s && json_is_object(v) && json_object_size(v) == 1) {
		if (!keys_known(v, tags, &bad)) {
			snprintf(msg, len, "unknown destination kind '%s' (cidr, group, domain, "
				 "domain_suffix)", bad);
			return -1;
		}
		/* the loop leaves its key NULL: keep the one tag */
		json_object_foreach(v, key, inner) {
			tag = key;
			s = json_string_value(inner);
		}
		if (!s) {
			snprintf(msg, len, "'%s' must be a string", tag);
			return -1;
		}
		if (!strcmp(tag, "group") || !strcmp(tag, "domain_suffix")) {
			snprintf(buf, sizeof(buf), "%s%s", !strcmp(tag, "group") ? "group:" : "*.",
				 s);
			s = buf;
		}
	}
	if (!s) {
		snprintf(msg, len, "must be a string or an object such as {\"cidr\": \"10.0.0.0/8\"}");
		return -1;
	}
	if (sn_rule_parse_dest(s, strlen(s), r, msg, len))
		return -1;
	/* a tag says what the string must be */
	if (tag && ((!strcmp(tag, "cidr") && r->kind != SN_DEST_CIDR) ||
		    (!strcmp(tag, "domain") && r->kind != SN_DEST_DOMAIN))) {
		snprintf(msg, len, "'%s' is not a %s", s, tag);
		return -1;
	}
	return 0;
}

/**
 * parse_protocols() - ["tcp", ...] or "tcp"
 * @v:		value
 * @r:		protos set
 * @msg:	a message on failure
 * @len:	size of @msg
 *
 * Return: 0, or -1
 */
static int parse_protocols(json_t *v, struct sn_rule *r, char *msg, size_t len)
{
	json_t *item;
	size_t i;

	if (json_is_string(v)) {
		r->protos = (uint8_t)sn_rule_parse_proto(json_string_value(v),
							 json_string_length(v));
		if (!r->protos) {
			snprintf(msg, len, "'%s' is not tcp, udp or icmp", json_string_value(v));
			return -1;
		}
		return 0;
	}
	if (!json_is_array(v) || !json_array_size(v)) {
		snprintf(msg, len, "must be a non-empty list of \"tcp\", \"udp\", \"icmp\"");
		return -1;
	}
	r->protos = 0;
	json_array_foreach(v, i, item) {
		unsigned p = json_is_string(item) ?
			sn_rule_parse_proto(json_string_value(item), json_string_length(item)) : 0;

		if (!p) {
			snprintf(msg, len, "[%zu]: not \"tcp\", \"udp\" or \"icmp\"", i);
			return -1;
		}
		r->protos |= (uint8_t)p;
	}
	return 0;
}

/**
 * parse_port_item() - one port item: N, "N", "N-M", {"start": N, "end": M}
 * @v:		value
 * @r:		a range appended
 * @msg:	a message on failure
 * @len:	size of @msg
 *
 * Return: 0, or -1
 */
static int parse_port_item(json_t *v, struct sn_rule *r, char *msg, size_t len)
{
	static const char *const keys[] = { "start", "end", NULL };
	char buf[32];
	const char *bad;

	if (json_is_string(v))
		return sn_rule_parse_ports(json_string_value(v), json_string_length(v), r, msg,
					   len);
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return sn_rule_parse_ports(buf, strlen(buf), r, msg, len);
	}
	if (json_is_object(v) && keys_known(v, keys, &bad) &&
	    json_is_integer(json_object_get(v, "start")) &&
	    json_is_integer(json_object_get(v, "end"))) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(v, "start")),
			 json_integer_value(json_object_get(v, "end")));
		return sn_rule_parse_ports(buf, strlen(buf), r, msg, len);
	}
	snprintf(msg, len, "a port is N, \"N\", \"N-M\" or {\"start\": N, \"end\": M}");
	return -1;
}

/**
 * parse_rule() - one element of "rules"
 * @v:		the object
 * @r:		filled
 * @field:	set to the field at fault, on failure
 * @fieldlen:	size of @field
 * @msg:	a message on failure
 * @len:	size of @msg
 *
 * Return: 0, or -1
 */
static int parse_rule(json_t *v, struct sn_rule *r, char *field, size_t fieldlen, char *msg,
		      size_t len)
{
	static const char *const keys[] = { "direction", "destination", "protocols", "ports",
					    "action", NULL };
	json_t *d = json_object_get(v, "direction"), *p = json_object_get(v, "ports"), *item;
	const char *bad, *dir;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->dirs = SN_POLICY_EGRESS;
	r->protos = SN_PROTO_ALL;
	field[0] = '\0';
	if (!json_is_object(v)) {
		snprintf(msg, len, "a rule is an object");
		return -1;
	}
	if (!keys_known(v, keys, &bad)) {
		snprintf(msg, len, "unknown key '%s' (direction, destination, protocols, ports, "
			 "action)", bad);
		return -1;
	}
	if (d) {
		dir = json_string_value(d);
		snprintf(field, fieldlen, ".direction");
		if (dir && !strcmp(dir, "ingress"))
			r->dirs = SN_POLICY_INGRESS;
		else if (dir && (!strcmp(dir, "any") || !strcmp(dir, "both")))
			r->dirs = SN_POLICY_EGRESS | SN_POLICY_INGRESS;
		else if (!dir || strcmp(dir, "egress")) {
			snprintf(msg, len, "must be \"egress\", \"ingress\" or \"any\"");
			return -1;
		}
	}
	snprintf(field, fieldlen, ".destination");
	if (!json_object_get(v, "destination")) {
		snprintf(msg, len, "missing");
		return -1;
	}
	if (parse_destination(json_object_get(v, "destination"), r, msg, len))
		return -1;
	snprintf(field, fieldlen, ".protocols");
	if (json_object_get(v, "protocols") &&
	    parse_protocols(json_object_get(v, "protocols"), r, msg, len))
		return -1;
	snprintf(field, fieldlen, ".ports");
	if (p && json_is_array(p)) {
		json_array_foreach(p, i, item) {
			snprintf(field, fieldlen, ".ports[%zu]", i);
			if (parse_port_item(item, r, msg, len))
				return -1;
		}
	} else if (p && parse_port_item(p, r, msg, len)) {
		return -1;
	}
	if (r->n_ports && r->protos == SN_PROTO_ICMP) {
		snprintf(msg, len, "icmp has no ports");
		return -1;
	}
	snprintf(field, fieldlen, ".action");
	if (parse_action(json_object_get(v, "action"), &r->action)) {
		snprintf(msg, len, "must be \"allow\" or \"deny\"");
		return -1;
	}
	return 0;
}

/**
 * parse_dns() - the "dns" object
 * @pol:	policy
 * @v:		the object
 * @fname:	file name, for origins and messages
 * @err:	a message on failure
 * @errlen:	size of @err
 *
 * Return: 0, or -1
 */
static int parse_dns(struct sn_policy *pol, json_t *v, const char *fname, char *err,
		     size_t errlen)
{
	static const char *const keys[] = { "rebind_protection", "block", "allow_bypass", NULL };
	json_t *rp = json_object_get(v, "rebind_protection");
	json_t *bl = json_object_get(v, "block"), *ab = json_object_get(v, "allow_bypass");
	char origin[SN_RULE_ORIGIN_MAX], msg[256];
	const char *bad;
	json_t *item;
	size_t i;

	if (!json_is_object(v))
		return jerr(err, errlen, fname, "dns: must be an object");
	if (!keys_known(v, keys, &bad))
		return jerr(err, errlen, fname, "dns: unknown key '%s' (rebind_protection, block, "
			    "allow_bypass)", bad);
	if (rp && !json_is_boolean(rp))
		return jerr(err, errlen, fname, "dns.rebind_protection: must be true or false");
	if (rp)
		sn_policy_set_rebind_protection(pol, json_is_true(rp));
	if (ab && !json_is_boolean(ab))
		return jerr(err, errlen, fname, "dns.allow_bypass: must be true or false");
	if (ab)
		sn_policy_set_dns_bypass(pol, json_is_true(ab));
	if (bl && !json_is_array(bl))
		return jerr(err, errlen, fname, "dns.block: must be a list of names");
	json_array_foreach(bl, i, item) {
		if (!json_is_string(item))
			return jerr(err, errlen, fname, "dns.block[%zu]: must be a string", i);
		snprintf(origin, sizeof(origin), "%s dns.block[%zu]", fname, i);
		if (sn_policy_block_name(pol, json_string_value(item), origin, msg, sizeof(msg)))
			return jerr(err, errlen, fname, "dns.block[%zu]: %s", i, msg);
	}
	return 0;
}

int sn_policy_load_json(struct sn_policy *pol, const char *text, size_t len, const char *fname,
			struct sn_policy_json_defaults *defs, char *err, size_t errlen)
{
	static const char *const keys[] = { "default_egress", "default_ingress", "rules", "dns",
					    NULL };
	json_t *root, *rules, *item;
	json_error_t je;
	char field[48], msg[256];
	const char *bad;
	int rc = -1;
	size_t i;

	memset(defs, 0, sizeof(*defs));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return jerr(err, errlen, fname, "line %d, column %d: %s", je.line, je.column,
			    je.text);
	if (!json_is_object(root)) {
		jerr(err, errlen, fname, "the policy must be a JSON object");
		goto out;
	}
	if (!keys_known(root, keys, &bad)) {
		jerr(err, errlen, fname, "unknown key '%s' (default_egress, default_ingress, rules, "
		     "dns)", bad);
		goto out;
	}
	if (json_object_get(root, "default_egress")) {
		if (parse_action(json_object_get(root, "default_egress"), &defs->egress)) {
			jerr(err, errlen, fname, "default_egress: must be \"allow\" or \"deny\"");
			goto out;
		}
		defs->egress_set = 1;
	}
	if (json_object_get(root, "default_ingress")) {
		if (parse_action(json_object_get(root, "default_ingress"), &defs->ingress)) {
			jerr(err, errlen, fname, "default_ingress: must be \"allow\" or \"deny\"");
			goto out;
		}
		defs->ingress_set = 1;
	}
	rules = json_object_get(root, "rules");
	if (rules && !json_is_array(rules)) {
		jerr(err, errlen, fname, "rules: must be a list");
		goto out;
	}
	json_array_foreach(rules, i, item) {
		struct sn_rule r;

		if (parse_rule(item, &r, field, sizeof(field), msg, sizeof(msg))) {
			jerr(err, errlen, fname, "rules[%zu]%s: %s", i, field, msg);
			goto out;
		}
		snprintf(r.origin, sizeof(r.origin), "%s rules[%zu]", fname, i);
		if (sn_policy_append(pol, &r)) {
			jerr(err, errlen, fname, "rules[%zu]: too many rules (at most %d)", i,
			     SN_POLICY_MAX_RULES);
			goto out;
		}
	}
	if (json_object_get(root, "dns") &&
	    parse_dns(pol, json_object_get(root, "dns"), fname, err, errlen))
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}
