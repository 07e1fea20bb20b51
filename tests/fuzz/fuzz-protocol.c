/*
 * Fuzzes what a peer sends: the binary step frame, a JSON error body, a peer
 * record from the DHT or an info endpoint, and the address strings they
 * carry. The first 12 bytes of an input are the receiver's limits (width,
 * rows, positions), the rest the message; every decoder sees the message.
 * What decodes must encode back to the same bytes.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/protocol.h"
#include "swarm/record.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#include "fuzz.h"

static uint32_t
fuzz_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
fuzz_step(const struct proto_limits *lim, const uint8_t *msg, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	struct proto_step s;
	float *hidden = NULL;
	char *cause = NULL;
	size_t i, n;
	int exact = 1;

	if (proto_step_decode(msg, len, lim, &s, &hidden, &cause) != 0) {
		if (cause == NULL || hidden != NULL)
			abort();
		free(cause);
		return;
	}
	n = (size_t)s.n_tokens * s.width;
	if (len != PROTO_HEADER_SIZE + n * proto_dtype_size(s.dtype))
		abort();
	/* a NaN's payload need not survive the trip through float32 */
	for (i = 0; i < n && s.dtype != PROTO_DTYPE_F32; i++)
		if (isnan(hidden[i]))
			exact = 0;
	proto_step_encode(&s, hidden, &sb);
	if (exact && (sb.len != len || memcmp(sb.buf, msg, len) != 0))
		abort();
	strbuf_release(&sb);
	free(hidden);
}

static void
fuzz_record(const uint8_t *msg, size_t len)
{
	struct peer_record r, again;
	char *cause = NULL, *enc, *enc2;

	if (record_decode((const char *)msg, len, &r, &cause) != 0) {
		free(cause);
		return;
	}
	enc = record_encode(&r);
	if (record_decode(enc, strlen(enc), &again, &cause) != 0)
		abort();	/* what we accepted, we must be able to send */
	enc2 = record_encode(&again);
	if (strcmp(enc, enc2) != 0)
		abort();
	free(enc);
	free(enc2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_limits lim;
	enum proto_dtype dtype;
	char *str, *code, *message, *host, *cause = NULL, *json;
	const uint8_t *msg;
	size_t len;
	uint16_t port;

	if (size < 12)
		return 0;
	lim.width = fuzz_get32(data) % (PROTO_MAX_WIDTH + 2);
	lim.max_tokens = fuzz_get32(data + 4);
	lim.max_pos = fuzz_get32(data + 8);
	msg = data + 12;
	len = size - 12;

	fuzz_step(&lim, msg, len);

	if (proto_error_parse((const char *)msg, len, &code, &message) == 0) {
		/* an error we read can be sent on */
		json = proto_error_json(code, message);
		fuzz_use(json, strlen(json));
		free(json);
		free(code);
		free(message);
	}
	fuzz_record(msg, len);

	/* the string fields: NUL-terminated, as they arrive from JSON */
	str = xstrndup((const char *)msg, len);
	if (proto_parse_addr(str, &host, &port, &cause) == 0)
		free(host);
	else
		free(cause);
	proto_dtype_parse(str, &dtype);
	json = proto_error_json(str, str);	/* never fails, any bytes */
	if (json == NULL)
		abort();
	free(json);
	free(str);
	return 0;
}
