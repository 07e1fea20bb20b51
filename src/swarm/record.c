/*
 * The peer record as JSON, the one form it takes outside a process: a node's
 * GET /info answer and the value announced in the DHT. The record comes from
 * other machines, so decoding trusts nothing: every field is checked for
 * type, range and length, and a failure names the field.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/record.h"
#include "util/xmalloc.h"

static const char *const peer_state_names[] = {
	[PEER_STATE_JOINING] = "joining",
	[PEER_STATE_ONLINE] = "online",
	[PEER_STATE_DRAINING] = "draining",
	[PEER_STATE_GONE] = "gone",
	[PEER_STATE_UNREACHABLE] = "unreachable",
};

const char *
peer_state_name(enum peer_state s)
{
	if ((unsigned)s >= sizeof(peer_state_names) / sizeof(*peer_state_names))
		return "unknown";
	return peer_state_names[s];
}

int
peer_state_parse(const char *s, enum peer_state *out)
{
	size_t i;

	for (i = 0; i < sizeof(peer_state_names) / sizeof(*peer_state_names);
	    i++) {
		/* Only what a node announces; unreachable is an observer's. */
		if (i == PEER_STATE_UNREACHABLE)
			continue;
		if (strcmp(s, peer_state_names[i]) == 0) {
			*out = (enum peer_state)i;
			return 0;
		}
	}
	return -1;
}

json_t *
record_to_json(const struct peer_record *r)
{
	json_t *o;

	o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:f,s:f,s:I,s:I,s:s,s:s,s:I,s:f}",
	    "peer_id", r->peer_id,
	    "addr", r->addr,
	    "model_id", r->model_id,
	    "block_begin", (json_int_t)r->block_begin,
	    "block_end", (json_int_t)r->block_end,
	    "throughput", isfinite(r->throughput) ? r->throughput : 0.0,
	    "load", isfinite(r->load) ? r->load : 0.0,
	    "free_sessions", (json_int_t)r->free_sessions,
	    "free_cache_tokens", (json_int_t)r->free_cache_tokens,
	    "state", peer_state_name(r->state),
	    "version", r->version,
	    "timestamp", (json_int_t)r->timestamp,
	    "price", isfinite(r->price) ? r->price : 0.0);
	if (o != NULL && r->held[0] != '\0')
		json_object_set_new(o, "held", json_string(r->held));
	return o;
}

char *
record_encode(const struct peer_record *r)
{
	json_t *o = record_to_json(r);
	char *s, *copy;

	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		abort();
	copy = xstrdup(s);
	free(s);
	return copy;
}

static int
record_get_string(const json_t *o, const char *key, char *out, size_t size,
    int (*valid)(const char *), char **cause)
{
	const json_t *v = json_object_get(o, key);
	const char *s;
	size_t len;

	if (!json_is_string(v))
		return set_cause(cause, "record: '%s' is not a string", key);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len >= size)
		return set_cause(cause, "record: '%s' is too long", key);
	if (strlen(s) != len)
		return set_cause(cause, "record: '%s' holds a NUL byte", key);
	if (valid != NULL && !valid(s))
		return set_cause(cause, "record: '%s' is malformed", key);
	memcpy(out, s, len + 1);
	return 0;
}

static int
record_get_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out,
    char **cause)
{
	const json_t *v = json_object_get(o, key);
	json_int_t i;

	if (!json_is_integer(v))
		return set_cause(cause, "record: '%s' is not an integer", key);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return set_cause(cause, "record: '%s' is out of range", key);
	*out = (uint64_t)i;
	return 0;
}

static int
record_get_real(const json_t *o, const char *key, double max, double *out,
    char **cause)
{
	const json_t *v = json_object_get(o, key);
	double d;

	if (!json_is_number(v))
		return set_cause(cause, "record: '%s' is not a number", key);
	d = json_number_value(v);
	if (!isfinite(d) || d < 0 || d > max)
		return set_cause(cause, "record: '%s' is out of range", key);
	*out = d;
	return 0;
}

static int
record_valid_hex(const char *s)
{
	for (; *s != '\0'; s++)
		if (strchr("0123456789abcdef", *s) == NULL)
			return 0;
	return 1;
}

/* Printable ASCII without spaces: addresses, ids and versions. */
static int
record_valid_token(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

/* "0:3,4:5" */
static int
record_valid_spans(const char *s)
{
	for (; *s != '\0'; s++)
		if (strchr("0123456789:,", *s) == NULL)
			return 0;
	return 1;
}

int
record_from_json(const json_t *o, struct peer_record *r, char **cause)
{
	const json_t *v;
	uint64_t u;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o))
		return set_cause(cause, "record: not a JSON object");
	if (record_get_string(o, "peer_id", r->peer_id, sizeof(r->peer_id),
	    record_valid_hex, cause) != 0 ||
	    record_get_string(o, "addr", r->addr, sizeof(r->addr),
	    record_valid_token, cause) != 0 ||
	    record_get_string(o, "model_id", r->model_id, sizeof(r->model_id),
	    record_valid_token, cause) != 0 ||
	    record_get_string(o, "version", r->version, sizeof(r->version),
	    record_valid_token, cause) != 0)
		return -1;
	if (r->addr[0] == '\0')
		return set_cause(cause, "record: 'addr' is empty");
	if (record_get_uint(o, "block_begin", UINT32_MAX, &u, cause) != 0)
		return -1;
	r->block_begin = (uint32_t)u;
	if (record_get_uint(o, "block_end", UINT32_MAX, &u, cause) != 0)
		return -1;
	r->block_end = (uint32_t)u;
	if (r->block_begin >= r->block_end)
		return set_cause(cause, "record: empty span %u:%u",
		    r->block_begin, r->block_end);
	if (record_get_real(o, "throughput", 1e12, &r->throughput, cause) != 0 ||
	    record_get_real(o, "load", 1, &r->load, cause) != 0)
		return -1;
	if (record_get_uint(o, "free_sessions", UINT32_MAX, &u, cause) != 0)
		return -1;
	r->free_sessions = (uint32_t)u;
	if (record_get_uint(o, "free_cache_tokens", INT64_MAX,
	    &r->free_cache_tokens, cause) != 0)
		return -1;
	v = json_object_get(o, "state");
	if (!json_is_string(v) || peer_state_parse(json_string_value(v),
	    &r->state) != 0)
		return set_cause(cause, "record: 'state' is not a known state");
	if (record_get_uint(o, "timestamp", INT64_MAX, &u, cause) != 0)
		return -1;
	r->timestamp = (int64_t)u;
	/* Records of nodes from before prices carry none: free. */
	if (json_object_get(o, "price") != NULL && record_get_real(o, "price",
	    1e12, &r->price, cause) != 0)
		return -1;
	/* Optional: records of nodes that seed nothing, or older ones. */
	if (json_object_get(o, "held") != NULL && record_get_string(o, "held",
	    r->held, sizeof(r->held), record_valid_spans, cause) != 0)
		return -1;
	return 0;
}

int
record_decode(const char *s, size_t len, struct peer_record *r, char **cause)
{
	json_error_t jerr;
	json_t *o;
	int rc;

	if ((o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return set_cause(cause, "record: %s", jerr.text);
	rc = record_from_json(o, r, cause);
	json_decref(o);
	return rc;
}
