/*
 * Tests for the step frame: round trips in every dtype, and frames with
 * hostile sizes, versions, flags and lengths refused before any allocation
 * sized by them.
 */
#include <stdint.h>

#include "test.h"
#include "net/protocol.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static const struct proto_limits test_lim = { 8, 16, 32 };

static void
test_protocol_round_trip(void)
{
	struct proto_step s, got;
	struct strbuf sb = STRBUF_INIT;
	float x[3 * 8], *y;
	char *cause = NULL;
	int i, d;

	for (i = 0; i < 3 * 8; i++)
		x[i] = (float)i * 0.37f - 3.1f;
	for (d = PROTO_DTYPE_F32; d <= PROTO_DTYPE_BF16; d++) {
		memset(&s, 0, sizeof(s));
		s.dtype = (enum proto_dtype)d;
		s.n_tokens = 3;
		s.width = 8;
		s.pos0 = 5;
		s.step = 0x0102030405060708ULL;
		strbuf_reset(&sb);
		proto_step_encode(&s, x, &sb);
		CHECK(sb.len == PROTO_HEADER_SIZE + 24 * proto_dtype_size(s.dtype));
		CHECK(memcmp(sb.buf, "SWHS", 4) == 0);
		CHECKF(proto_step_decode(sb.buf, sb.len, &test_lim, &got, &y,
		    &cause) == 0, "%s", cause);
		CHECK(got.dtype == s.dtype && got.n_tokens == 3 &&
		    got.width == 8 && got.pos0 == 5 && got.step == s.step);
		for (i = 0; i < 24; i++) {
			float tol = d == PROTO_DTYPE_F32 ? 0 :
			    d == PROTO_DTYPE_F16 ? 2e-3f : 2e-2f;

			CHECKF(fabsf(y[i] - x[i]) <= tol * (1 + fabsf(x[i])),
			    "dtype %d row %d: %g vs %g", d, i, y[i], x[i]);
		}
		free(y);
	}
	strbuf_release(&sb);
}

/* Builds a header with the given fields and payload length. */
static size_t
test_frame(uint8_t *buf, uint16_t version, uint16_t dtype, uint32_t n,
    uint32_t width, uint32_t pos0, uint32_t flags, uint64_t session,
    size_t payload)
{
	struct proto_step s;
	struct strbuf sb = STRBUF_INIT;
	float zero = 0;

	memset(&s, 0, sizeof(s));
	proto_step_encode(&s, &zero, &sb);
	memcpy(buf, sb.buf, PROTO_HEADER_SIZE);
	strbuf_release(&sb);
	buf[4] = version & 0xff;
	buf[5] = version >> 8;
	buf[6] = dtype & 0xff;
	buf[7] = dtype >> 8;
	memcpy(buf + 8, &n, 4);
	memcpy(buf + 12, &width, 4);
	memcpy(buf + 16, &pos0, 4);
	memcpy(buf + 20, &flags, 4);
	memcpy(buf + 32, &session, 8);
	memset(buf + PROTO_HEADER_SIZE, 0, payload);
	return PROTO_HEADER_SIZE + payload;
}

static int
test_refused(const uint8_t *buf, size_t len, const char *want)
{
	struct proto_step s;
	float *y = (float *)1;
	char *cause = NULL;
	int ok;

	ok = proto_step_decode(buf, len, &test_lim, &s, &y, &cause) == -1 &&
	    y == NULL && cause != NULL && strstr(cause, want) != NULL;
	if (!ok)
		fprintf(stderr, "  want '%s', cause '%s'\n", want,
		    cause ? cause : "(none)");
	free(cause);
	return ok;
}

static void
test_protocol_hostile(void)
{
	static uint8_t buf[PROTO_HEADER_SIZE + 4096];
	size_t len;

	CHECK(test_refused(buf, 10, "shorter than the header"));
	len = test_frame(buf, 1, 0, 1, 8, 0, 0, 0, 32);
	memcpy(buf, "XXXX", 4);
	CHECK(test_refused(buf, len, "bad magic"));
	len = test_frame(buf, 2, 0, 1, 8, 0, 0, 0, 32);
	CHECK(test_refused(buf, len, "version 2"));
	len = test_frame(buf, 1, 7, 1, 8, 0, 0, 0, 32);
	CHECK(test_refused(buf, len, "unknown dtype"));
	len = test_frame(buf, 1, 0, 1, 8, 0, 4, 0, 32);
	CHECK(test_refused(buf, len, "flags"));
	len = test_frame(buf, 1, 0, 1, 8, 0, 0, 99, 32);
	CHECK(test_refused(buf, len, "forwarding"));
	len = test_frame(buf, 1, 0, 0, 8, 0, 0, 0, 0);
	CHECK(test_refused(buf, len, "no tokens"));
	/* Sizes whose product overflows 32 bits must not reach malloc. */
	len = test_frame(buf, 1, 0, UINT32_MAX, UINT32_MAX, 0, 0, 0, 0);
	CHECK(test_refused(buf, len, "more than 16"));
	len = test_frame(buf, 1, 0, 1, UINT32_MAX, 0, 0, 0, 0);
	CHECK(test_refused(buf, len, "width 4294967295"));
	len = test_frame(buf, 1, 0, 1, 9, 0, 0, 0, 36);
	CHECK(test_refused(buf, len, "want 8"));
	len = test_frame(buf, 1, 0, 2, 8, UINT32_MAX, 0, 0, 64);
	CHECK(test_refused(buf, len, "past the session"));
	len = test_frame(buf, 1, 0, 2, 8, 31, 0, 0, 64);
	CHECK(test_refused(buf, len, "past the session"));
	len = test_frame(buf, 1, 0, 2, 8, 0, 0, 0, 63);
	CHECK(test_refused(buf, len, "payload bytes"));
	len = test_frame(buf, 1, 0, 2, 8, 0, 0, 0, 65);
	CHECK(test_refused(buf, len, "payload bytes"));
	len = test_frame(buf, 1, 1, 2, 8, 0, 0, 0, 64);
	CHECK(test_refused(buf, len, "payload bytes"));	/* f16: 32 */
	len = test_frame(buf, 1, 0, 2, 8, 30, 0, 0, 64);
	{
		struct proto_step s;
		float *y;

		CHECK(proto_step_decode(buf, len, &test_lim, &s, &y, NULL) == 0);
		free(y);
	}
}

static void
test_protocol_errors_and_addrs(void)
{
	char *j, *code, *msg, *host, *cause = NULL;
	uint16_t port;
	enum proto_dtype d;

	j = proto_error_json("draining", "the node is \"draining\"");
	CHECK(proto_error_parse(j, strlen(j), &code, &msg) == 0);
	CHECK_STR(code, "draining");
	CHECK_STR(msg, "the node is \"draining\"");
	free(j);
	free(code);
	free(msg);
	CHECK(proto_error_parse("{}", 2, &code, &msg) == -1);
	CHECK(proto_error_parse("junk", 4, &code, &msg) == -1);

	CHECK(proto_parse_addr("127.0.0.1:7400", &host, &port, NULL) == 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK(port == 7400);
	free(host);
	CHECK(proto_parse_addr("[::1]:0", &host, &port, NULL) == 0);
	CHECK_STR(host, "::1");
	CHECK(port == 0);
	free(host);
	CHECK(proto_parse_addr("localhost", &host, &port, &cause) == -1);
	free(cause);
	cause = NULL;
	CHECK(proto_parse_addr("h:65536", &host, &port, &cause) == -1);
	free(cause);
	cause = NULL;
	CHECK(proto_parse_addr(":80", &host, &port, &cause) == -1);
	free(cause);
	CHECK(proto_dtype_parse("bf16", &d) == 0 && d == PROTO_DTYPE_BF16);
	CHECK(proto_dtype_parse("f8", &d) == -1);
}

/* The push flag is the one known; the route a client signs is fixed text. */
static void
test_protocol_push(void)
{
	static uint8_t buf[PROTO_HEADER_SIZE + 64];
	struct proto_step s;
	float *y = NULL;
	char *t, *cause = NULL;
	size_t len;

	len = test_frame(buf, 1, 0, 1, 8, 0, PROTO_FLAG_PUSH, 0, 32);
	CHECKF(proto_step_decode(buf, len, &test_lim, &s, &y, &cause) == 0,
	    "%s", cause);
	CHECK(s.flags == PROTO_FLAG_PUSH);
	free(y);
	len = test_frame(buf, 1, 0, 1, 8, 0, PROTO_FLAG_PUSH | 2, 0, 32);
	CHECK(test_refused(buf, len, "flags"));
	t = proto_route_terms("m", "00000000000000aa", "127.0.0.1:7400",
	    "00000000000000bb", -3, 7);
	CHECK_STR(t, "swarm-route-v1\nm\n00000000000000aa\n127.0.0.1:7400\n"
	    "00000000000000bb\n-3\n7\n");
	free(t);
}

int
main(void)
{
	TEST_RUN(test_protocol_round_trip);
	TEST_RUN(test_protocol_hostile);
	TEST_RUN(test_protocol_errors_and_addrs);
	TEST_RUN(test_protocol_push);
	TEST_EXIT();
}
