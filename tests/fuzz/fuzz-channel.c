/*
 * Fuzzes the channel frame reader (net/channel.h), what a node reads from
 * any client that upgraded a connection: the first 4 bytes of an input are
 * the receiver's body cap, the rest a stream of frames read one after the
 * other as a channel's thread reads them. A frame that reads must encode
 * back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/channel.h"
#include "util/strbuf.h"

#include "fuzz.h"

static uint32_t
fuzz_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* One frame at p; its length with the body, or 0 when it does not read. */
static size_t
fuzz_frame(const uint8_t *p, size_t len, uint64_t max_body)
{
	struct strbuf sb = STRBUF_INIT;
	struct channel_head h;
	struct channel_msg m;
	char *cause = NULL;
	int rc;

	if (len < CHANNEL_HEAD_SIZE)
		return 0;
	if (channel_head_parse(p, max_body, &h, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		return 0;
	}
	if (h.body_len > max_body || h.head_len > CHANNEL_MAX_FIELDS)
		abort();
	if (len - CHANNEL_HEAD_SIZE < h.head_len)
		return 0;
	if (channel_fields_parse(&h, p + CHANNEL_HEAD_SIZE, h.head_len, &m,
	    &cause) != 0) {
		if (cause == NULL || m.method != NULL || m.n_headers != 0)
			abort();
		free(cause);
		return 0;
	}
	if (m.kind == CHANNEL_REQUEST)
		rc = channel_encode_request(&sb, m.method, m.path, m.names,
		    m.values, m.n_headers, m.body_len);
	else
		rc = channel_encode_answer(&sb, m.status, m.content_type,
		    m.names, m.values, m.n_headers, m.body_len);
	if (rc != 0 || sb.len != CHANNEL_HEAD_SIZE + h.head_len ||
	    memcmp(sb.buf, p, sb.len) != 0)
		abort();
	channel_msg_release(&m);
	strbuf_release(&sb);
	if (len - CHANNEL_HEAD_SIZE - h.head_len < h.body_len)
		return 0;
	fuzz_use(p + CHANNEL_HEAD_SIZE + h.head_len, h.body_len);
	return CHANNEL_HEAD_SIZE + h.head_len + h.body_len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t max_body;
	size_t n;

	if (size < 4)
		return 0;
	max_body = fuzz_get32(data);
	data += 4;
	size -= 4;
	while ((n = fuzz_frame(data, size, max_body)) > 0) {
		data += n;
		size -= n;
	}
	return 0;
}
