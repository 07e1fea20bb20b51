/*
 * The table of config keys and the checks on their values. Keep it one line
 * per key where it fits: the table is the documentation that `swarm config
 * list`, the completions and the tests are built from.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define BLOCKS_MAX	100000

static int schema_check_blocks(const char *, char **);
static int schema_check_alias(const char *, char **);
static int schema_check_hostport(const char *, char **);
static int schema_check_overflow(const char *, char **);
static int schema_check_push(const char *, char **);

#define S SCHEMA_STRING
#define I SCHEMA_INT
#define F SCHEMA_FLOAT
#define B SCHEMA_BOOL
#define H SCHEMA_HOSTPORT
#define L SCHEMA_LIST

/* clang-format off */
const struct schema_key schema_table[] = {
	{ "node.listen", H, 0, 0, "127.0.0.1:7400", NULL, "address the node serves peers on" },
	{ "node.public_addr", H, 0, 0, NULL, NULL, "address peers dial to reach this node; unset: node.listen" },
	{ "node.blocks", S, 0, 0, "auto", schema_check_blocks, "blocks to serve: auto, or A:B for blocks A to B-1" },
	{ "node.num_blocks", I, 0, BLOCKS_MAX, "0", NULL, "blocks to serve when node.blocks is auto; 0: as many as fit" },
	{ "node.threads", I, 0, 1024, "0", NULL, "compute threads; 0: one per core" },
	{ "node.repack", B, 0, 0, "true", NULL, "repack quantized matrices at load into the faster interleaved layout (a private copy); false: compute on the file's pages" },
	{ "node.batch", B, 0, 0, "true", NULL, "run the steps of every session that is ready as one batch: one pass over the weights for all" },
	{ "node.max_sessions", I, 1, 65536, "16", NULL, "inference sessions served at once" },
	{ "node.max_sessions_per_client", I, 1, 65536, "8", NULL, "sessions one client key may hold at once; unsigned clients share one" },
	{ "node.max_context", I, 0, 1048576, "0", NULL, "longest context a session may hold, in tokens; 0: the model's" },
	{ "node.seed", B, 0, 0, "true", NULL, "serve the pieces of the shard store to other nodes' pulls (GET /shards/...)" },
	{ "node.model", S, 0, 0, NULL, NULL, "model to serve: a GGUF file or a model name" },
	{ "node.price", F, -1, 1e9, "-1", NULL, "credits per 1000 block-tokens (one token through one block); -1: from the block's parameter count, one credit per 1000 tokens through a billion parameters" },
	{ "node.credit_limit", F, 0, 1e15, "1000000", NULL, "credits a client may owe this node, past node.free_units, before its steps are refused with 'payment required'" },
	{ "node.free_units", I, 0, 1e15, "1000000000", NULL, "block-tokens served to any client before what it owes counts" },
	{ "swarm.bootstrap", L, 0, 0, "", schema_check_hostport, "peers (host:port) to join the swarm through" },
	{ "swarm.push", S, 0, 0, "auto", schema_check_push, "how a step goes along the chain: true, node to node (each node forwards its output to the next; hops + 1 one-way trips a token); false, from the client to every hop (2 x hops); auto, whichever of the two a trial on the chain finds faster" },
	{ "swarm.channels", B, 0, 0, "true", NULL, "send steps over a channel where a node offers one (the HTTP connection upgraded to length-prefixed frames: fewer hand-offs a hop); false: every request over plain HTTP" },
	{ "swarm.network", S, 0, 0, "public", NULL, "name of the swarm; nodes of other networks are ignored" },
	{ "infer.threads", I, 0, 1024, "0", NULL, "compute threads for local inference; 0: one per core" },
	{ "infer.repack", B, 0, 0, "true", NULL, "repack quantized matrices at load into the faster interleaved layout (a private copy); false: load at once, compute on the file's pages" },
	{ "infer.max_tokens", I, 0, 1048576, "256", NULL, "most tokens to generate; 0: evaluate the prompt only" },
	{ "infer.temperature", F, 0, 10, "0.8", NULL, "sampling temperature; 0: greedy" },
	{ "infer.top_k", I, 0, 1000000, "40", NULL, "sample from the k likeliest tokens; 0: off" },
	{ "infer.top_p", F, 0, 1, "0.95", NULL, "nucleus sampling mass; 1: off" },
	{ "infer.min_p", F, 0, 1, "0.05", NULL, "drop tokens below this fraction of the likeliest; 0: off" },
	{ "infer.seed", I, -1, 4294967295.0, "-1", NULL, "random seed; -1: a new one each run" },
	{ "chat.history_size", I, 0, 1000000, "1000", NULL, "lines of `infer chat` input kept in the data directory's chat_history; 0: none" },
	{ "chat.overflow", S, 0, 0, "stop", schema_check_overflow, "when a chat outgrows the context: stop (say so; /clear starts anew) or drop-oldest (forget the oldest turns, keep the system message)" },
	{ "client.max_price", F, 0, 1e9, "0", NULL, "dearest node price (credits per 1000 block-tokens) a client routes through; 0: no cap" },
	{ "client.verify_rate", F, 0, 1, "0", NULL, "fraction of steps re-run on another replica to catch a peer's wrong answers; 0: off" },
	{ "serve.listen", H, 0, 0, "127.0.0.1:8000", NULL, "address of the OpenAI-compatible HTTP API" },
	{ "serve.api_keys", L, 0, 0, "", NULL, "bearer tokens the API accepts; empty: no authentication" },
	{ "serve.max_concurrent", I, 1, 4096, "8", NULL, "requests generating at once; more are refused with 429" },
	{ "serve.heartbeat_seconds", I, 0, 3600, "5", NULL, "seconds between empty chunks while a stream waits for its first token; 0: off" },
	{ "serve.max_body_bytes", I, 1024, 1073741824, "1048576", NULL, "largest request body accepted" },
	{ "serve.batch", B, 0, 0, "true", NULL, "with --local, run the requests in flight as one batch: one pass over the weights for every stream (continuous batching)" },
	{ "serve.batch_chunk", I, 1, 512, "64", NULL, "prompt tokens fed per batch step, between the decode steps of the running streams" },
	{ "serve.model_aliases", L, 0, 0, "", schema_check_alias, "alias=model pairs naming models for the API" },
	{ "ledger.path", S, 0, 0, "ledger.db", NULL, "accounting ledger file; relative to the data directory" },
	{ "ledger.enabled", B, 0, 0, "true", NULL, "sign, check and keep receipts for the work peers do; false: no accounting" },
	{ NULL, 0, 0, 0, NULL, NULL, NULL }
};
/* clang-format on */

#undef S
#undef I
#undef F
#undef B
#undef H
#undef L

static int
schema_check_overflow(const char *v, char **cause)
{
	if (strcmp(v, "stop") == 0 || strcmp(v, "drop-oldest") == 0)
		return 0;
	return set_cause(cause, "'%s' is not stop or drop-oldest", v);
}

static int
schema_check_push(const char *v, char **cause)
{
	if (strcmp(v, "auto") == 0 || parse_bool(v) >= 0)
		return 0;
	return set_cause(cause, "'%s' is not auto, true or false", v);
}

const struct schema_key *
schema_find(const char *name)
{
	const struct schema_key *k;

	for (k = schema_table; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static const char *
schema_leaf(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL ? dot + 1 : name;
}

const struct schema_key *
schema_lookup(const char *name, char **cause)
{
	const struct schema_key *k;
	struct strbuf sb = STRBUF_INIT;
	size_t best = SIZE_MAX, d, len = strlen(name);
	int n = 0;

	if ((k = schema_find(name)) != NULL)
		return k;
	if (cause == NULL)
		return NULL;
	strbuf_addf(&sb, "unknown config key '%s'", name);
	/* A section name: list its keys. */
	for (k = schema_table; k->name != NULL; k++) {
		if (strncmp(k->name, name, len) != 0 || k->name[len] != '.')
			continue;
		strbuf_adds(&sb, n++ == 0 ? "; its keys are " : ", ");
		strbuf_adds(&sb, k->name);
	}
	if (n > 0)
		goto out;
	for (k = schema_table; k->name != NULL; k++) {
		d = str_distance(name, k->name);
		if (d < best)
			best = d;
	}
	for (k = schema_table; k->name != NULL; k++) {
		/* A close spelling, or the right leaf in the wrong section. */
		if ((best <= len / 3 + 2 && str_distance(name, k->name) == best) ||
		    strcmp(schema_leaf(name), schema_leaf(k->name)) == 0) {
			strbuf_adds(&sb, n++ == 0 ? "; did you mean " : " or ");
			strbuf_addf(&sb, "'%s'", k->name);
		}
	}
	if (n > 0)
		strbuf_addc(&sb, '?');
	else
		strbuf_adds(&sb, "; see 'swarm config list'");
out:
	*cause = strbuf_detach(&sb, NULL);
	return NULL;
}

const char *
schema_type_name(enum schema_type t)
{
	switch (t) {
	case SCHEMA_STRING:
		return "string";
	case SCHEMA_INT:
		return "int";
	case SCHEMA_FLOAT:
		return "float";
	case SCHEMA_BOOL:
		return "bool";
	case SCHEMA_HOSTPORT:
		return "host:port";
	case SCHEMA_LIST:
		return "list";
	}
	return "?";
}

int
schema_parse_hostport(const char *s, char **host, unsigned int *port,
    char **cause)
{
	const char *colon, *h, *p;
	size_t hlen, i;
	const char *errstr;
	uint64_t v;

	*host = NULL;
	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL || p[1] != ':')
			return set_cause(cause, "expected [address]:port");
		h = s + 1;
		hlen = (size_t)(p - h);
		colon = p + 1;
		for (i = 0; i < hlen; i++)
			if (!isxdigit((unsigned char)h[i]) && h[i] != ':' &&
			    h[i] != '.')
				return set_cause(cause, "bad IPv6 address");
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return set_cause(cause, "expected host:port");
		h = s;
		hlen = (size_t)(colon - s);
		for (i = 0; i < hlen; i++)
			if (!isalnum((unsigned char)h[i]) && h[i] != '.' &&
			    h[i] != '-' && h[i] != '_')
				return set_cause(cause, "bad host name");
	}
	if (hlen == 0)
		return set_cause(cause, "missing host");
	v = parse_uint(colon + 1, 0, 65535, &errstr);
	if (errstr != NULL)
		return set_cause(cause, "port is %s", errstr);
	*host = xstrndup(h, hlen);
	*port = (unsigned int)v;
	return 0;
}

static int
schema_check_hostport(const char *value, char **cause)
{
	char *host;
	unsigned int port;

	if (schema_parse_hostport(value, &host, &port, cause) != 0)
		return -1;
	free(host);
	return 0;
}

static int
schema_check_blocks(const char *value, char **cause)
{
	const char *colon = strchr(value, ':'), *errstr;
	char *a;
	uint64_t lo, hi;

	if (strcmp(value, "auto") == 0)
		return 0;
	if (colon == NULL)
		return set_cause(cause, "expected auto or A:B");
	a = xstrndup(value, (size_t)(colon - value));
	lo = parse_uint(a, 0, BLOCKS_MAX, &errstr);
	free(a);
	if (errstr != NULL)
		return set_cause(cause, "first block is %s", errstr);
	hi = parse_uint(colon + 1, 0, BLOCKS_MAX, &errstr);
	if (errstr != NULL)
		return set_cause(cause, "end block is %s", errstr);
	if (hi <= lo)
		return set_cause(cause, "end block must be above the first");
	return 0;
}

static int
schema_check_alias(const char *value, char **cause)
{
	const char *eq = strchr(value, '=');
	const char *p;

	if (eq == NULL || eq == value || eq[1] == '\0')
		return set_cause(cause, "expected alias=model");
	for (p = value; p < eq; p++)
		if (isspace((unsigned char)*p))
			return set_cause(cause, "alias has a space");
	return 0;
}

int
schema_check(const struct schema_key *k, const char *value, char **cause)
{
	const char *errstr = NULL;
	char *why = NULL;
	double d;

	switch (k->type) {
	case SCHEMA_INT:
		parse_int(value, (int64_t)k->min, (int64_t)k->max, &errstr);
		if (errstr != NULL)
			why = xasprintf("expected an integer from %.0f to %.0f",
			    k->min, k->max);
		break;
	case SCHEMA_FLOAT:
		d = parse_double(value, k->min, k->max, &errstr);
		if (errstr != NULL || !isfinite(d))
			why = xasprintf("expected a number from %g to %g",
			    k->min, k->max);
		break;
	case SCHEMA_BOOL:
		if (parse_bool(value) < 0)
			why = xstrdup("expected true or false");
		break;
	case SCHEMA_HOSTPORT:
		schema_check_hostport(value, &why);
		break;
	case SCHEMA_STRING:
	case SCHEMA_LIST:
		break;
	}
	if (why == NULL && k->check != NULL)
		k->check(value, &why);
	if (why == NULL)
		return 0;
	set_cause(cause, "invalid value '%s' for '%s': %s", value, k->name, why);
	free(why);
	return -1;
}

char **
schema_split_list(const char *s, size_t *n)
{
	char **v = xcalloc(1, sizeof(*v));
	const char *p = s, *end, *a, *b;

	*n = 0;
	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		for (a = p; a < end && isspace((unsigned char)*a); a++)
			;
		for (b = end; b > a && isspace((unsigned char)b[-1]); b--)
			;
		if (b > a) {
			v = xreallocarray(v, *n + 2, sizeof(*v));
			v[(*n)++] = xstrndup(a, (size_t)(b - a));
			v[*n] = NULL;
		}
		p = *end == ',' ? end + 1 : end;
	}
	return v;
}
