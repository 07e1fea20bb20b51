/*
 * Encoding and decoding of the step frame and the JSON error body. A frame
 * arrives from another machine, so every field is checked (magic, version,
 * dtype, flags, counts against the receiver's limits, the exact body length)
 * before a byte of the payload is read or memory is allocated for it.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"
#include "net/protocol.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

static const char *const proto_dtype_names[] = { "f32", "f16", "bf16" };

const char *
proto_dtype_name(enum proto_dtype d)
{
	if ((unsigned)d > PROTO_DTYPE_BF16)
		return "unknown";
	return proto_dtype_names[d];
}

int
proto_dtype_parse(const char *s, enum proto_dtype *out)
{
	unsigned i;

	for (i = 0; i <= PROTO_DTYPE_BF16; i++) {
		if (strcmp(s, proto_dtype_names[i]) == 0) {
			*out = (enum proto_dtype)i;
			return 0;
		}
	}
	return -1;
}

size_t
proto_dtype_size(enum proto_dtype d)
{
	return d == PROTO_DTYPE_F32 ? 4 : 2;
}

static void
proto_put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
proto_put32(uint8_t *p, uint32_t v)
{
	proto_put16(p, v & 0xffff);
	proto_put16(p + 2, v >> 16);
}

static void
proto_put64(uint8_t *p, uint64_t v)
{
	proto_put32(p, v & 0xffffffff);
	proto_put32(p + 4, v >> 32);
}

static uint16_t
proto_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
proto_get32(const uint8_t *p)
{
	return proto_get16(p) | (uint32_t)proto_get16(p + 2) << 16;
}

static uint64_t
proto_get64(const uint8_t *p)
{
	return proto_get32(p) | (uint64_t)proto_get32(p + 4) << 32;
}

void
proto_step_encode(const struct proto_step *s, const float *hidden,
    struct strbuf *out)
{
	size_t n = (size_t)s->n_tokens * s->width, i;
	uint8_t h[PROTO_HEADER_SIZE], *p;

	memset(h, 0, sizeof(h));
	memcpy(h, PROTO_MAGIC, 4);
	proto_put16(h + 4, PROTO_VERSION);
	proto_put16(h + 6, (uint16_t)s->dtype);
	proto_put32(h + 8, s->n_tokens);
	proto_put32(h + 12, s->width);
	proto_put32(h + 16, s->pos0);
	proto_put32(h + 20, s->flags);
	proto_put64(h + 24, s->step);
	proto_put64(h + 32, s->session);
	strbuf_add(out, h, sizeof(h));
	strbuf_grow(out, n * proto_dtype_size(s->dtype));
	p = (uint8_t *)out->buf + out->len;
	for (i = 0; i < n; i++) {
		uint32_t bits;

		switch (s->dtype) {
		case PROTO_DTYPE_F16:
			proto_put16(p + 2 * i, f32_to_fp16(hidden[i]));
			break;
		case PROTO_DTYPE_BF16:
			proto_put16(p + 2 * i, f32_to_bf16(hidden[i]));
			break;
		default:
			memcpy(&bits, &hidden[i], 4);
			proto_put32(p + 4 * i, bits);
			break;
		}
	}
	out->len += n * proto_dtype_size(s->dtype);
	out->buf[out->len] = '\0';
}

int
proto_step_decode(const void *buf, size_t len, const struct proto_limits *lim,
    struct proto_step *s, float **hidden, char **cause)
{
	const uint8_t *h = buf, *p;
	uint32_t max_tokens, version, dtype;
	size_t n, i;
	float *x;

	*hidden = NULL;
	memset(s, 0, sizeof(*s));
	if (len < PROTO_HEADER_SIZE)
		return set_cause(cause, "step frame: %zu bytes, shorter than "
		    "the header", len);
	if (memcmp(h, PROTO_MAGIC, 4) != 0)
		return set_cause(cause, "step frame: bad magic");
	if ((version = proto_get16(h + 4)) != PROTO_VERSION)
		return set_cause(cause, "step frame: version %u not supported",
		    version);
	if ((dtype = proto_get16(h + 6)) > PROTO_DTYPE_BF16)
		return set_cause(cause, "step frame: unknown dtype %u", dtype);
	s->dtype = (enum proto_dtype)dtype;
	s->n_tokens = proto_get32(h + 8);
	s->width = proto_get32(h + 12);
	s->pos0 = proto_get32(h + 16);
	s->flags = proto_get32(h + 20);
	s->step = proto_get64(h + 24);
	s->session = proto_get64(h + 32);
	if ((s->flags & ~(uint32_t)PROTO_FLAGS_KNOWN) != 0)
		return set_cause(cause, "step frame: unknown flags 0x%x",
		    s->flags);
	if (s->session != 0 || proto_get64(h + 40) != 0)
		return set_cause(cause, "step frame: forwarding is not "
		    "supported");
	if (s->n_tokens == 0)
		return set_cause(cause, "step frame: no tokens");
	max_tokens = lim->max_tokens < PROTO_MAX_TOKENS ? lim->max_tokens :
	    PROTO_MAX_TOKENS;
	if (s->n_tokens > max_tokens)
		return set_cause(cause, "step frame: %u tokens, more than %u",
		    s->n_tokens, max_tokens);
	if (s->width == 0 || s->width > PROTO_MAX_WIDTH ||
	    (lim->width != 0 && s->width != lim->width))
		return set_cause(cause, "step frame: width %u, want %u",
		    s->width, lim->width);
	if ((uint64_t)s->pos0 + s->n_tokens > lim->max_pos)
		return set_cause(cause, "step frame: positions %u..%llu past "
		    "the session's length %u", s->pos0,
		    (unsigned long long)s->pos0 + s->n_tokens - 1, lim->max_pos);
	/* Both factors are bounded above, so n cannot overflow. */
	n = (size_t)s->n_tokens * s->width;
	if (len - PROTO_HEADER_SIZE != n * proto_dtype_size(s->dtype))
		return set_cause(cause, "step frame: %zu payload bytes, want "
		    "%zu", len - PROTO_HEADER_SIZE,
		    n * proto_dtype_size(s->dtype));
	x = xmalloc(n * sizeof(float));
	p = h + PROTO_HEADER_SIZE;
	for (i = 0; i < n; i++) {
		uint32_t bits;

		switch (s->dtype) {
		case PROTO_DTYPE_F16:
			x[i] = fp16_to_f32(proto_get16(p + 2 * i));
			break;
		case PROTO_DTYPE_BF16:
			x[i] = bf16_to_f32(proto_get16(p + 2 * i));
			break;
		default:
			bits = proto_get32(p + 4 * i);
			memcpy(&x[i], &bits, 4);
			break;
		}
	}
	*hidden = x;
	return 0;
}

char *
proto_session_terms(const char *model_id, uint32_t block_begin,
    uint32_t block_end, uint32_t max_length, int64_t timestamp)
{
	return xasprintf("swarm-session-v1\n%s\n%u\n%u\n%u\n%lld\n",
	    model_id, block_begin, block_end, max_length,
	    (long long)timestamp);
}

char *
proto_route_terms(const char *model_id, const char *session,
    const char *next_addr, const char *next_session, int64_t step_delta,
    uint64_t seq)
{
	return xasprintf("swarm-route-v1\n%s\n%s\n%s\n%s\n%lld\n%llu\n",
	    model_id, session, next_addr, next_session, (long long)step_delta,
	    (unsigned long long)seq);
}

/* The fixed body when an error cannot be encoded (out of memory). */
#define PROTO_ERROR_FALLBACK \
	"{\"error\":{\"code\":\"internal\",\"message\":\"cannot encode " \
	"the error\"}}"

/* code and message may quote what a peer sent (a path, a method): bytes that
 * are not UTF-8 become U+FFFD, since JSON cannot carry them. */
char *
proto_error_json(const char *code, const char *message)
{
	json_t *o;
	char *s, *copy, *c8, *m8;

	c8 = utf8_sanitize(code, strlen(code), NULL);
	m8 = utf8_sanitize(message, strlen(message), NULL);
	o = json_pack("{s:{s:s,s:s}}", "error", "code", c8, "message", m8);
	free(c8);
	free(m8);
	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(o);
	if (s == NULL)
		return xstrdup(PROTO_ERROR_FALLBACK);
	copy = xstrdup(s);
	free(s);
	return copy;
}

int
proto_error_parse(const char *body, size_t len, char **code, char **message)
{
	json_t *o, *e, *c, *m;
	int rc = -1;

	*code = *message = NULL;
	if ((o = json_loadb(body, len, 0, NULL)) == NULL)
		return -1;
	e = json_object_get(o, "error");
	c = json_object_get(e, "code");
	m = json_object_get(e, "message");
	if (json_is_string(c) && json_is_string(m) &&
	    json_string_length(c) < 64 && json_string_length(m) < 1024) {
		*code = xstrdup(json_string_value(c));
		*message = xstrdup(json_string_value(m));
		rc = 0;
	}
	json_decref(o);
	return rc;
}

int
proto_parse_addr(const char *addr, char **host, uint16_t *port, char **cause)
{
	const char *colon, *h, *err;
	size_t hlen;

	*host = NULL;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (close == NULL || close[1] != ':')
			return set_cause(cause, "address '%s' is not "
			    "[host]:port", addr);
		h = addr + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			return set_cause(cause, "address '%s' has no port",
			    addr);
		h = addr;
		hlen = (size_t)(colon - addr);
	}
	if (hlen == 0)
		return set_cause(cause, "address '%s' has no host", addr);
	*port = (uint16_t)parse_uint(colon + 1, 0, 65535, &err);
	if (err != NULL)
		return set_cause(cause, "address '%s': port is %s", addr, err);
	*host = xstrndup(h, hlen);
	return 0;
}
