// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the control socket
 *
 * One epoll set holds every fd the serving loop waits on besides the
 * engine's: the loop's own (signalfd, timers: no watch function, the loop
 * reads them), the control socket's listener and clients, and the stats
 * file's timer. The loop passes the set to sn_frontend_run() as its stop
 * fd, so the engine's own poll() wakes for all of them; when it returns, cli_ctl_dispatch() takes what is ready with a zero-timeout
 * epoll_wait() and calls each fd's watch function. No fd is served from
 * inside the engine and no thread is started.
 *
 * Protocol. A unix stream socket, owner-only. Requests are JSON objects,
 * one per line; each gets one reply line: {"return": ...} or {"error":
 * {"desc": "..."}}, the shapes and error texts of slirp4netns's API
 * (`{"execute": "add_hostfwd", "arguments": {...}}`). A connection may
 * carry any number of requests and is closed when the client shuts down
 * its side. Requests are handled one at a time: while a reply is not
 * fully written the client is not read (a client that never reads its
 * replies holds only its own connection). For slirp4netns's clients,
 * which send one request without a newline and wait for the reply (some
 * without shutting down their side): bytes that form a whole JSON object
 * or array with no newline yet are taken as the request, answered, and
 * the connection closed after the reply, as slirp4netns does.
 *
 * Bad input never stops the engine: bytes that are not JSON, JSON that is
 * not an object, a missing or unknown "execute", bad arguments each get an
 * error reply; a request line over CTL_LINE_MAX bytes gets one, and the
 * connection is closed; input that ends without a newline is taken as a
 * last request. At most CTL_MAX_CLIENTS clients at once: one more is
 * accepted, told so in an error line, and closed (left in the backlog it
 * would keep the listener readable and the loop awake). A peer whose uid
 * is neither ours nor root's is closed at once.
 *
 * Forwarded ports. --publish and the verbs (slirp4netns's add_hostfwd,
 * sandnet's publish) share one table and one id space, counting from 1
 * and never reused while the process lives, as slirp4netns's ids are.
 * Each entry keeps what it forwards, so that serve's next guest, on a
 * fresh engine, gets the same ports under the same ids (cli_ctl_engine()).
 *
 * Verbs: add_hostfwd, list_hostfwd, remove_hostfwd, get_info (slirp4netns
 * has no get_info: its reply is ours, in its conventions), stats, flows,
 * publish, unpublish, list_published, reload_policy. See the README's
 * "Control socket" section for their arguments and replies.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include "control.h"
#include "stats.h"

/* Connections taken from the backlog per wake-up. */
#define CTL_ACCEPT_BURST	32
/* Ready fds taken per cli_ctl_dispatch(). */
#define CTL_EVENTS		32
/* Version of the verbs sandnet adds; get_info says it. */
#define CTL_API_VERSION		1

static const char *const ctl_verbs[] = {
	"add_hostfwd", "list_hostfwd", "remove_hostfwd", "get_info", "stats", "flows",
	"publish", "unpublish", "list_published", "reload_policy",
};

/* ---- replies ---- */

/**
 * reply_ok() - {"return": @ret}
 * @ret:	the verb's result (reference stolen), NULL when it could not be
 *		made (ENOMEM)
 *
 * Return: the reply, or NULL (ENOMEM)
 */
static json_t *reply_ok(json_t *ret)
{
	return ret ? json_pack("{s:o}", "return", ret) : NULL;
}

/**
 * reply_err() - {"error": {"desc": "..."}}
 * @fmt:	the description
 *
 * Return: the reply, or NULL (ENOMEM)
 */
static json_t *reply_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *reply_err(const char *fmt, ...)
{
	char desc[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	return json_pack("{s:{s:s}}", "error", "desc", desc);
}

/* ---- arguments ---- */

/**
 * arg_port() - a port argument: an integer 1..65535 (a number with no
 *		fraction too, as slirp4netns's parser reads them)
 * @args:	the "arguments" object, or NULL
 * @key:	its name
 *
 * Return: the port, or 0 if missing or bad
 */
static unsigned arg_port(const json_t *args, const char *key)
{
	const json_t *v = json_object_get(args, key);
	double d;

	if (json_is_integer(v))
		return json_integer_value(v) >= 1 && json_integer_value(v) <= 65535 ?
			(unsigned)json_integer_value(v) : 0;
	if (!json_is_real(v))
		return 0;
	d = json_real_value(v);
	return d >= 1 && d <= 65535 && d == (double)(unsigned)d ? (unsigned)d : 0;
}

/**
 * arg_str() - a string argument
 * @args:	the "arguments" object, or NULL
 * @key:	its name
 * @dflt:	when missing, null or empty
 *
 * Return: the string, @dflt, or NULL if it is there but not a string
 */
static const char *arg_str(const json_t *args, const char *key, const char *dflt)
{
	const json_t *v = json_object_get(args, key);

	if (!v || json_is_null(v))
		return dflt;
	if (!json_is_string(v))
		return NULL;
	return *json_string_value(v) ? json_string_value(v) : dflt;
}

/**
 * addr_parse() - an IPv4 or IPv6 address with a port as a socket address
 * @s:		the address
 * @port:	port, host order
 * @ss:		filled
 *
 * Return: its length, or 0 if @s is not an address
 */
static socklen_t addr_parse(const char *s, unsigned port, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return sizeof(*sin6);
	}
	return 0;
}

/**
 * ntop() - an address of a family as text
 * @af:		AF_INET or AF_INET6
 * @a:		struct in_addr or struct in6_addr
 * @buf:	filled
 *
 * Return: @buf
 */
static const char *ntop(int af, const void *a, char buf[INET6_ADDRSTRLEN])
{
	if (!inet_ntop(af, a, buf, INET6_ADDRSTRLEN))
		snprintf(buf, INET6_ADDRSTRLEN, "?");
	return buf;
}

/* ---- forwarded ports ---- */

int cli_ctl_publish(struct cli_ctl *c, int proto, const struct sockaddr *host, socklen_t len,
		    uint16_t guest_port, int api, char *err, size_t errlen)
{
	struct ctl_fwd *f = NULL;
	uint16_t bound_gport;
	int eid, bound_proto;
	unsigned i;

	for (i = 0; i < SN_PUBLISH_MAX && !f; i++)
		if (!c->fwd[i].id)
			f = &c->fwd[i];
	if (!f) {
		snprintf(err, errlen, "at most %d forwarded ports", SN_PUBLISH_MAX);
		return -1;
	}
	eid = sn_engine_publish(c->conf.e, proto, host, len, guest_port, err, errlen);
	if (eid < 0)
		return -1;
	f->id = c->next_id++;
	f->eid = eid;
	f->api = api;
	f->proto = proto;
	f->guest_port = guest_port;
	/* the bound address: a port 0 became the port the kernel chose */
	if (sn_engine_published(c->conf.e, eid, &bound_proto, &f->host, &bound_gport)) {
		memset(&f->host, 0, sizeof(f->host));
		memcpy(&f->host, host, len < sizeof(f->host) ? len : sizeof(f->host));
	}
	return f->id;
}

int cli_ctl_engine(struct cli_ctl *c, struct sn_engine *e)
{
	char err[160], addr[INET6_ADDRSTRLEN];
	unsigned i;
	int ret = 0;

	c->conf.e = e;
	for (i = 0; e && i < SN_PUBLISH_MAX; i++) {
		struct ctl_fwd *f = &c->fwd[i];
		int v6 = f->host.ss_family == AF_INET6;
		socklen_t len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

		if (!f->id)
			continue;
		f->eid = sn_engine_publish(e, f->proto, (struct sockaddr *)&f->host, len,
					   f->guest_port, err, sizeof(err));
		if (f->eid >= 0)
			continue;
		cli_err("%s port %d (%s port %u) not forwarded to the new guest: %s",
			f->api ? "forwarded" : "--publish", f->id,
			v6 ? ntop(AF_INET6, &((struct sockaddr_in6 *)&f->host)->sin6_addr, addr) :
			     ntop(AF_INET, &((struct sockaddr_in *)&f->host)->sin_addr, addr),
			ntohs(v6 ? ((struct sockaddr_in6 *)&f->host)->sin6_port :
				   ((struct sockaddr_in *)&f->host)->sin_port), err);
		if (!f->api)
			ret = -1;
		memset(f, 0, sizeof(*f));
	}
	return ret;
}

/**
 * fwd_find() - a forwarded port by its id
 * @c:		control plane
 * @id:		the id
 *
 * Return: the entry, or NULL
 */
static struct ctl_fwd *fwd_find(struct cli_ctl *c, json_int_t id)
{
	unsigned i;

	for (i = 0; id > 0 && i < SN_PUBLISH_MAX; i++)
		if (c->fwd[i].id == id)
			return &c->fwd[i];
	return NULL;
}

/**
 * fwd_json() - a forwarded port as list_hostfwd and list_published show it
 * @c:		control plane
 * @f:		the entry
 * @origin:	add "origin": "--publish" or "api"
 *
 * Return: the object, or NULL (ENOMEM, or the engine lost it)
 */
static json_t *fwd_json(const struct cli_ctl *c, const struct ctl_fwd *f, int origin)
{
	const struct tap_conf *t = c->conf.tap;
	char h[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
	struct sockaddr_storage host;
	uint16_t gport, hport;
	int proto, v6;
	json_t *o;

	if (sn_engine_published(c->conf.e, f->eid, &proto, &host, &gport))
		return NULL;
	v6 = host.ss_family == AF_INET6;
	hport = ntohs(v6 ? ((struct sockaddr_in6 *)&host)->sin6_port :
			   ((struct sockaddr_in *)&host)->sin_port);
	o = json_pack("{s:i, s:s, s:s, s:i, s:s, s:i}", "id", f->id,
		      "proto", proto == IPPROTO_UDP ? "udp" : "tcp",
		      "host_addr", v6 ? ntop(AF_INET6, &((struct sockaddr_in6 *)&host)->sin6_addr, h) :
				   ntop(AF_INET, &((struct sockaddr_in *)&host)->sin_addr, h),
		      "host_port", hport,
		      "guest_addr", v6 ? ntop(AF_INET6, &t->addr6, g) : ntop(AF_INET, &t->addr, g),
		      "guest_port", gport);
	if (o && origin && json_object_set_new(o, "origin", json_string(f->api ? "api" :
									  "--publish"))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/**
 * fwd_list() - every forwarded port
 * @c:		control plane
 * @origin:	with "origin" (list_published)
 *
 * Return: an array, or NULL (ENOMEM)
 */
static json_t *fwd_list(const struct cli_ctl *c, int origin)
{
	json_t *a = json_array(), *o;
	unsigned i;

	for (i = 0; a && i < SN_PUBLISH_MAX; i++) {
		if (!c->fwd[i].id)
			continue;
		o = fwd_json(c, &c->fwd[i], origin);
		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/**
 * verb_add() - add_hostfwd and publish: forward a host port
 * @c:		control plane
 * @verb:	"add_hostfwd" or "publish", for messages
 * @args:	{"proto", "host_addr", "host_port", "guest_addr", "guest_port"}
 * @dflt_host:	host_addr when it is not given (slirp4netns: 0.0.0.0;
 *		publish: 127.0.0.1, as --publish)
 *
 * Return: the reply
 */
static json_t *verb_add(struct cli_ctl *c, const char *verb, const json_t *args,
			const char *dflt_host)
{
	const char *proto = arg_str(args, "proto", verb[0] == 'p' ? "tcp" : NULL);
	const char *host = arg_str(args, "host_addr", dflt_host);
	const char *guest = arg_str(args, "guest_addr", "");
	const struct tap_conf *t = c->conf.tap;
	unsigned hport = arg_port(args, "host_port"), gport = arg_port(args, "guest_port");
	struct sockaddr_storage hs, gs;
	char err[256], want[INET6_ADDRSTRLEN];
	socklen_t hl;
	int id, v6;

	if (!proto || (strcmp(proto, "tcp") && strcmp(proto, "udp")))
		return reply_err("bad request: %s: bad arguments.proto", verb);
	hl = host ? addr_parse(host, hport, &hs) : 0;
	if (!hl)
		return reply_err("bad request: %s: bad arguments.host_addr", verb);
	if (!hport)
		return reply_err("bad request: %s: bad arguments.host_port", verb);
	v6 = hs.ss_family == AF_INET6;
	ntop(v6 ? AF_INET6 : AF_INET, v6 ? (const void *)&t->addr6 : (const void *)&t->addr, want);
	/* one guest: it can only be the guest's address of the client's family */
	if (!guest || (*guest && !addr_parse(guest, 0, &gs)))
		return reply_err("bad request: %s: bad arguments.guest_addr", verb);
	if (*guest && (gs.ss_family != hs.ss_family ||
		       (v6 ? memcmp(&((struct sockaddr_in6 *)&gs)->sin6_addr, &t->addr6, 16) :
			     ((struct sockaddr_in *)&gs)->sin_addr.s_addr != t->addr.s_addr)))
		return reply_err("bad request: %s: bad arguments.guest_addr: the guest is %s",
				 verb, want);
	if (!gport)
		return reply_err("bad request: %s: bad arguments.guest_port", verb);
	id = cli_ctl_publish(c, strcmp(proto, "udp") ? IPPROTO_TCP : IPPROTO_UDP,
			     (struct sockaddr *)&hs, hl, (uint16_t)gport, 1, err, sizeof(err));
	if (id < 0)
		return reply_err("bad request: %s: %s", verb, err);
	return reply_ok(json_pack("{s:i}", "id", id));
}

/**
 * verb_remove() - remove_hostfwd and unpublish: close a forwarded port
 * @c:		control plane
 * @verb:	"remove_hostfwd" or "unpublish", for messages
 * @args:	{"id": N}
 *
 * Return: the reply
 */
static json_t *verb_remove(struct cli_ctl *c, const char *verb, const json_t *args)
{
	const json_t *v = json_object_get(args, "id");
	struct ctl_fwd *f = NULL;

	if (json_is_integer(v))
		f = fwd_find(c, json_integer_value(v));
	else if (json_is_real(v) && json_real_value(v) == (double)(int)json_real_value(v))
		f = fwd_find(c, (int)json_real_value(v));
	if (!f)
		return reply_err("bad request: %s: bad arguments.id", verb);
	sn_engine_unpublish(c->conf.e, f->eid);
	memset(f, 0, sizeof(*f));
	return reply_ok(json_object());
}

/**
 * verb_list_hostfwd() - every forwarded port, slirp4netns-style
 * @c:		control plane
 *
 * slirp4netns's manual shows {"return": {"entries": [...]}}, while
 * slirp4netns (1.2) answers {"entries": [...]}; clients are written
 * against either, so both carry the list.
 *
 * Return: the reply
 */
static json_t *verb_list_hostfwd(struct cli_ctl *c)
{
	json_t *a = fwd_list(c, 0);

	if (!a)
		return NULL;
	return json_pack("{s:{s:O}, s:o}", "return", "entries", a, "entries", a);
}

/**
 * verb_get_info() - the network the guest has, and what this socket serves
 * @c:		control plane
 *
 * Return: the reply
 */
static json_t *verb_get_info(struct cli_ctl *c)
{
	const struct tap_conf *t = c->conf.tap;
	char a[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	char a6[INET6_ADDRSTRLEN], g6[INET6_ADDRSTRLEN], d6[INET6_ADDRSTRLEN];
	char cidr[INET6_ADDRSTRLEN + 4], cidr6[INET6_ADDRSTRLEN + 5], net[INET6_ADDRSTRLEN];
	uint32_t mask = ~0U << (32 - t->prefix_len);
	struct in_addr n4 = { htonl(ntohl(t->addr.s_addr) & mask) };
	struct in6_addr n6 = t->addr6;
	json_t *verbs = json_array();
	unsigned i;

	for (i = 0; i < 16; i++) {
		unsigned bits = t->prefix_len6 > i * 8 ? t->prefix_len6 - i * 8 : 0;

		if (bits < 8)
			n6.s6_addr[i] &= (uint8_t)(0xff00 >> bits);
	}
	snprintf(cidr, sizeof(cidr), "%s/%u", ntop(AF_INET, &n4, net), t->prefix_len);
	snprintf(cidr6, sizeof(cidr6), "%s/%u", ntop(AF_INET6, &n6, net), t->prefix_len6);
	for (i = 0; verbs && i < sizeof(ctl_verbs) / sizeof(ctl_verbs[0]); i++)
		json_array_append_new(verbs, json_string(ctl_verbs[i]));
	return reply_ok(json_pack("{s:s, s:i, s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}",
		"version", "sandnet " SN_VERSION_STRING, "api_version", CTL_API_VERSION,
		"pid", (int)getpid(), "mtu", (int)t->mtu,
		"cidr", cidr, "guest_addr", ntop(AF_INET, &t->addr, a),
		"gateway", ntop(AF_INET, &t->gw, g), "dns", ntop(AF_INET, &c->conf.dns4, d),
		"cidr6", cidr6, "guest_addr6", ntop(AF_INET6, &t->addr6, a6),
		"gateway6", ntop(AF_INET6, &t->gw6, g6), "dns6", ntop(AF_INET6, &c->conf.dns6, d6),
		"verbs", verbs));
}

/**
 * verb_reload() - reload_policy: what SIGHUP does
 * @c:		control plane
 *
 * Return: the reply
 */
static json_t *verb_reload(struct cli_ctl *c)
{
	char err[512];

	if (!c->conf.reload)
		return reply_err("bad request: reload_policy: not available here");
	if (c->conf.reload(c->conf.user, err, sizeof(err)))
		return reply_err("reload_policy: %s", err);
	return reply_ok(json_object());
}

/**
 * ctl_request() - handle one request
 * @c:		control plane
 * @req:	its bytes (not NUL-terminated)
 * @len:	how many
 *
 * Return: the reply, or NULL when out of memory
 */
static json_t *ctl_request(struct cli_ctl *c, const char *req, size_t len)
{
	json_t *j = json_loadb(req, len, JSON_DECODE_ANY, NULL), *r, *args;
	const char *verb;

	if (!j)
		return reply_err("bad request: cannot parse JSON");
	if (!json_is_object(j)) {
		r = reply_err("bad request: json_object() failed");
		goto out;
	}
	verb = json_string_value(json_object_get(j, "execute"));
	args = json_object_get(j, "arguments");
	if (!json_is_object(args))
		args = NULL;
	if (!verb)
		r = reply_err("bad request: no execute found");
	else if (!strcmp(verb, "add_hostfwd"))
		r = verb_add(c, verb, args, "0.0.0.0");
	else if (!strcmp(verb, "publish"))
		r = verb_add(c, verb, args, "127.0.0.1");
	else if (!strcmp(verb, "list_hostfwd"))
		r = verb_list_hostfwd(c);
	else if (!strcmp(verb, "list_published"))
		r = reply_ok(json_pack("{s:o}", "entries", fwd_list(c, 1)));
	else if (!strcmp(verb, "remove_hostfwd") || !strcmp(verb, "unpublish"))
		r = verb_remove(c, verb, args);
	else if (!strcmp(verb, "get_info"))
		r = verb_get_info(c);
	else if (!strcmp(verb, "stats"))
		r = reply_ok(cli_stats_json(c->conf.e, c->conf.pcap));
	else if (!strcmp(verb, "flows"))
		r = reply_ok(cli_flows_json(c->conf.e));
	else if (!strcmp(verb, "reload_policy"))
		r = verb_reload(c);
	else
		r = reply_err("bad request: unknown execute");
out:
	json_decref(j);
	return r;
}

/* ---- clients ---- */

/**
 * client_events() - ask epoll for what the client needs next
 * @c:		control plane
 * @cl:		client
 * @events:	EPOLLIN or EPOLLOUT
 */
static void client_events(struct cli_ctl *c, struct ctl_client *cl, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = &cl->w };

	if (cl->events == events)
		return;
	cl->events = events;
	epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
}

/**
 * client_close() - end a connection
 * @c:		control plane
 * @cl:		client in use
 */
static void client_close(struct cli_ctl *c, struct ctl_client *cl)
{
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	free(cl->buf);
	free(cl->out);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

/**
 * client_reply() - queue a reply line and write what the socket takes
 * @cl:		client
 * @r:		the reply (reference stolen; NULL: out of memory)
 */
static void client_reply(struct ctl_client *cl, json_t *r)
{
	char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;
	static const char nomem[] = "{\"error\":{\"desc\":\"out of memory\"}}";
	size_t n = text ? strlen(text) : 0;

	json_decref(r);
	cl->out = malloc(n ? n + 1 : sizeof(nomem));
	if (!cl->out) {
		free(text);
		cl->close_after = 1;		/* nothing can be said: hang up */
		return;
	}
	if (text)
		memcpy(cl->out, text, n);
	else
		n = strlen(memcpy(cl->out, nomem, sizeof(nomem)));
	free(text);
	cl->out[n] = '\n';
	cl->out_len = n + 1;
	cl->out_off = 0;
}

/**
 * client_flush() - write the pending reply
 * @cl:		client with @out
 *
 * Return: 0 (all written, or the rest waits for POLLOUT), -1 if the
 *	   client went away
 */
static int client_flush(struct ctl_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		cl->out_off += (size_t)n;
	}
	free(cl->out);
	cl->out = NULL;
	cl->out_len = cl->out_off = 0;
	return 0;
}

/**
 * blank() - is a request only white space
 * @s:		bytes
 * @len:	how many
 *
 * Return: non-zero if it is
 */
static int blank(const char *s, size_t len)
{
	while (len && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		len--;
	}
	return !len;
}

/* What client_take() found in a client's buffer. */
enum { TAKE_NONE, TAKE_REQUEST, TAKE_TOO_LONG };

/**
 * whole_json() - do these bytes form one whole JSON object or array
 * @s:		bytes
 * @len:	how many
 *
 * Return: non-zero if they do
 */
static int whole_json(const char *s, size_t len)
{
	json_t *j = json_loadb(s, len, 0, NULL);

	json_decref(j);
	return j != NULL;
}

/**
 * client_take() - the next request in a client's buffer
 * @cl:		client
 * @req:	set to a copy of it (free() it), NULL if out of memory
 * @len:	set to its length
 *
 * A line; else, at the end of input, the rest; else bytes that form one
 * whole JSON object or array (a slirp4netns client's request). The last
 * two close the connection after the reply. Blank lines are skipped.
 *
 * Return: TAKE_NONE (wait for more), TAKE_REQUEST, or TAKE_TOO_LONG (a line
 *	   longer than CTL_LINE_MAX)
 */
static int client_take(struct ctl_client *cl, char **req, size_t *len)
{
	for (;;) {
		char *nl = memchr(cl->buf, '\n', cl->len);
		size_t n = nl ? (size_t)(nl - cl->buf) : cl->len, used = n + !!nl;

		if (!nl) {
			if (blank(cl->buf, cl->len))
				return TAKE_NONE;
			if (!cl->eof && cl->len == CTL_LINE_MAX)
				return TAKE_TOO_LONG;
			if (!cl->eof && !whole_json(cl->buf, cl->len))
				return TAKE_NONE;
			cl->close_after = 1;
		}
		if (blank(cl->buf, n)) {	/* a blank line */
			memmove(cl->buf, cl->buf + used, cl->len - used);
			cl->len -= used;
			continue;
		}
		*req = malloc(n);
		if (*req)
			memcpy(*req, cl->buf, n);
		*len = n;
		memmove(cl->buf, cl->buf + used, cl->len - used);
		cl->len -= used;
		return TAKE_REQUEST;
	}
}

/**
 * client_pump() - write what is pending, then handle buffered requests
 * @c:		control plane
 * @cl:		client in use
 */
static void client_pump(struct cli_ctl *c, struct ctl_client *cl)
{
	for (;;) {
		char *req;
		size_t len;
		int t;

		if (cl->out && client_flush(cl) < 0) {
			client_close(c, cl);
			return;
		}
		if (cl->out) {
			client_events(c, cl, EPOLLOUT);
			return;
		}
		if (cl->close_after) {
			client_close(c, cl);
			return;
		}
		t = client_take(cl, &req, &len);
		if (t == TAKE_TOO_LONG) {
			client_reply(cl, reply_err("bad request: too large message"));
			cl->close_after = 1;
			continue;
		}
		if (t == TAKE_NONE) {
			if (cl->eof) {
				client_close(c, cl);
				return;
			}
			client_events(c, cl, EPOLLIN);
			return;
		}
		client_reply(cl, req ? ctl_request(c, req, len) : NULL);
		free(req);
	}
}

/**
 * client_ready() - a client's connection is readable or writable
 * @c:		control plane
 * @w:		the client's watch
 * @events:	epoll events
 */
static void client_ready(struct cli_ctl *c, struct ctl_watch *w, uint32_t events)
{
	struct ctl_client *cl = (struct ctl_client *)w;
	ssize_t n;

	if (cl->fd < 0)
		return;			/* closed earlier in this round */
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !cl->out && !cl->eof &&
	    cl->len < CTL_LINE_MAX) {
		n = recv(cl->fd, cl->buf + cl->len, CTL_LINE_MAX - cl->len, MSG_DONTWAIT);
		if (n > 0)
			cl->len += (size_t)n;
		else if (!n || (errno != EAGAIN && errno != EINTR))
			cl->eof = 1;	/* end of input, or an error: the same */
	}
	client_pump(c, cl);
}

/**
 * refuse() - answer a connection that cannot be served with an error line
 * @fd:		the connection; closed
 * @desc:	why
 */
static void refuse(int fd, const char *desc)
{
	json_t *r = reply_err("%s", desc);
	char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;

	if (text && send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		send(fd, "\n", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	free(text);
	json_decref(r);
	close(fd);
}

/**
 * peer_ok() - may this peer use the socket: our uid or root's
 * @fd:		the connection
 *
 * Return: non-zero if it may
 */
static int peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	return !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) &&
	       (cr.uid == geteuid() || cr.uid == 0);
}

/**
 * listener_ready() - accept the clients waiting
 * @c:		control plane
 * @w:		the listener's watch
 * @events:	epoll events
 */
static void listener_ready(struct cli_ctl *c, struct ctl_watch *w, uint32_t events)
{
	struct ctl_client *cl;
	unsigned i, k;
	int fd;

	(void)w;
	(void)events;
	for (k = 0; k < CTL_ACCEPT_BURST; k++) {
		struct epoll_event ev = { .events = EPOLLIN };

		fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!peer_ok(fd)) {
			close(fd);
			continue;
		}
		for (i = 0, cl = NULL; i < CTL_MAX_CLIENTS && !cl; i++)
			if (c->cli[i].fd < 0)
				cl = &c->cli[i];
		if (!cl) {
			refuse(fd, "too many clients: at most " CTL_MAX_CLIENTS_S " at once");
			continue;
		}
		cl->buf = malloc(CTL_LINE_MAX);
		ev.data.ptr = &cl->w;
		if (!cl->buf || epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			free(cl->buf);
			cl->buf = NULL;
			refuse(fd, "out of memory");
			continue;
		}
		cl->fd = fd;
		cl->w.fn = client_ready;
		cl->events = EPOLLIN;
	}
}

/* ---- the stats file ---- */

/**
 * timer_ready() - --stats-interval passed: write the stats file
 * @c:		control plane
 * @w:		the timer's watch
 * @events:	epoll events
 */
static void timer_ready(struct cli_ctl *c, struct ctl_watch *w, uint32_t events)
{
	uint64_t ticks;

	(void)w;
	(void)events;
	if (read(c->tfd, &ticks, sizeof(ticks)) > 0)
		cli_stats_write(c->conf.e, c->conf.pcap, c->conf.stats_file);
}

void cli_ctl_stats_now(struct cli_ctl *c)
{
	cli_stats_log(c->conf.e, c->conf.pcap);
	if (c->conf.stats_file)
		cli_stats_write(c->conf.e, c->conf.pcap, c->conf.stats_file);
}

/* ---- the socket ---- */

/**
 * sock_stale() - is there a socket at @path that nobody listens on
 * @path:	the path
 * @sa:		its address
 *
 * Return: 1 if a dead socket is there (safe to replace), 0 if nothing is
 *	   there, -1 if something else is (reported)
 */
static int sock_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		cli_err("--api-socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		cli_err("--api-socket %s: exists and is not a socket", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (!rc) {
		cli_err("--api-socket %s: in use by another process", path);
		return -1;
	}
	return 1;
}

/**
 * sock_open() - bind the control socket owner-only and listen
 * @c:		control plane
 * @path:	--api-socket PATH
 *
 * Return: 0, or -1 (reported)
 */
static int sock_open(struct cli_ctl *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->lw };
	struct stat st;
	mode_t old;
	int rc;

	if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
		cli_err("--api-socket: '%s': a path of 1..%zu bytes", path,
			sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	rc = sock_stale(path, &sa);
	if (rc < 0 || (rc && unlink(path) && errno != ENOENT))
		return -1;
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0) {
		cli_perror("--api-socket: socket");
		return -1;
	}
	/* the mode is set at bind(): nobody else can connect in between */
	old = umask(0077);
	rc = bind(c->lfd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc) {
		cli_err("--api-socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (lstat(path, &st) || st.st_uid != geteuid() || (st.st_mode & 0077)) {
		cli_err("--api-socket %s: not owner-only after bind, not served", path);
		unlink(path);
		return -1;
	}
	c->sock_dev = st.st_dev;
	c->sock_ino = st.st_ino;
	c->lw.fn = listener_ready;
	if (listen(c->lfd, CTL_MAX_CLIENTS) || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->lfd, &ev)) {
		cli_err("--api-socket %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * timer_open() - the periodic timer of the stats file
 * @c:		control plane
 *
 * Return: 0, or -1 (reported)
 */
static int timer_open(struct cli_ctl *c)
{
	unsigned s = c->conf.stats_interval ? c->conf.stats_interval : CTL_STATS_INTERVAL;
	struct itimerspec its = { .it_interval = { .tv_sec = s }, .it_value = { .tv_sec = s } };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->tw };

	c->tw.fn = timer_ready;
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->tfd < 0 || timerfd_settime(c->tfd, 0, &its, NULL) ||
	    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->tfd, &ev)) {
		cli_perror("--stats-interval: timer");
		return -1;
	}
	return 0;
}

int cli_ctl_open(struct cli_ctl *c, const struct cli_ctl_conf *conf)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	c->conf = *conf;
	c->lfd = -1;
	c->tfd = -1;
	c->next_id = 1;
	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		c->cli[i].fd = -1;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		cli_perror("epoll_create1");
		return -1;
	}
	if (conf->api_socket && sock_open(c, conf->api_socket))
		return -1;
	if (conf->stats_file && timer_open(c))
		return -1;
	return 0;
}

int cli_ctl_fd(const struct cli_ctl *c)
{
	return c->epfd;
}

int cli_ctl_watch(struct cli_ctl *c, int fd)
{
	return cli_ctl_add(c, fd, NULL);
}

int cli_ctl_add(struct cli_ctl *c, int fd, struct ctl_watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		cli_perror("epoll_ctl");
		return -1;
	}
	return 0;
}

void cli_ctl_unwatch(struct cli_ctl *c, int fd)
{
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void cli_ctl_dispatch(struct cli_ctl *c)
{
	struct epoll_event ev[CTL_EVENTS];
	int i, n = epoll_wait(c->epfd, ev, CTL_EVENTS, 0);

	for (i = 0; i < n; i++) {
		struct ctl_watch *w = ev[i].data.ptr;

		if (w && w->fn)
			w->fn(c, w, ev[i].events);
	}
}

void cli_ctl_close(struct cli_ctl *c)
{
	struct stat st;
	unsigned i;

	if (c->tfd >= 0 && c->conf.e)	/* the last word: what the run did in all */
		cli_stats_write(c->conf.e, c->conf.pcap, c->conf.stats_file);
	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->cli[i].fd >= 0)
			client_close(c, &c->cli[i]);
	if (c->lfd >= 0)
		close(c->lfd);
	if (c->sock_dev && !lstat(c->conf.api_socket, &st) && st.st_dev == c->sock_dev &&
	    st.st_ino == c->sock_ino)
		unlink(c->conf.api_socket);
	if (c->tfd >= 0)
		close(c->tfd);
	if (c->epfd >= 0)
		close(c->epfd);
	c->lfd = c->tfd = c->epfd = -1;
	c->sock_dev = 0;
}
