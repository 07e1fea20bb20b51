/*
 * Receipts: the canonical bytes, Ed25519 signatures (libsodium), the wire
 * header and the JSON form. Everything decoded here comes from a peer or a
 * file that may have been edited, so every number is range-checked and
 * every key and signature must be exactly its length in hex.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ledger/receipt.h"
#include "util/hex.h"
#include "util/xmalloc.h"

static void
receipt_sodium(void)
{
	if (sodium_init() < 0)
		abort();
}




uint64_t
receipt_amount(uint64_t units, uint64_t price)
{
	if (price != 0 && units > UINT64_MAX / price)
		return UINT64_MAX;
	return units * price / 1000;
}

char *
receipt_terms(const struct receipt *r)
{
	char ck[2 * RECEIPT_KEY_LEN + 1], nk[2 * RECEIPT_KEY_LEN + 1];

	hex_encode(r->client_key, RECEIPT_KEY_LEN, ck);
	hex_encode(r->node_key, RECEIPT_KEY_LEN, nk);
	return xasprintf("swarm-receipt-v1\n%s\n%s\n%s\n%s\n%u\n%u\n%" PRIu64
	    "\n%" PRIu64 "\n%" PRIu64 "\n%" PRIu64 "\n%" PRIu64 "\n%" PRId64
	    "\n", r->session, ck, nk, r->model_id, r->block_begin,
	    r->block_end, r->tokens, r->units, r->price, r->amount, r->seq,
	    r->time);
}

void
receipt_sign(struct receipt *r, const uint8_t sk[RECEIPT_SK_LEN])
{
	char *t = receipt_terms(r);

	receipt_sodium();
	crypto_sign_detached(r->sig, NULL, (const unsigned char *)t, strlen(t),
	    sk);
	free(t);
}

int
receipt_verify(const struct receipt *r)
{
	char *t = receipt_terms(r);
	int rc;

	receipt_sodium();
	rc = crypto_sign_verify_detached(r->sig, (const unsigned char *)t,
	    strlen(t), r->client_key) == 0 ? 0 : -1;
	free(t);
	return rc;
}

void
receipt_peer_id(const uint8_t key[RECEIPT_KEY_LEN],
    char out[RECEIPT_PEER_ID_LEN + 1])
{
	uint8_t h[RECEIPT_PEER_ID_LEN / 2];

	receipt_sodium();
	crypto_generichash(h, sizeof(h), key, RECEIPT_KEY_LEN, NULL, 0);
	hex_encode(h, sizeof(h), out);
}

char *
receipt_wire_encode(const struct receipt *r)
{
	char sig[2 * RECEIPT_SIG_LEN + 1];

	hex_encode(r->sig, RECEIPT_SIG_LEN, sig);
	return xasprintf("%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
	    ",%" PRId64 ",%s", r->seq, r->tokens, r->units, r->amount,
	    r->time, sig);
}

/* A decimal number at *s up to the next comma, within max. */
static int
receipt_wire_num(const char **s, uint64_t max, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return -1;
	}
	if (*p != ',')
		return -1;
	*s = p + 1;
	*out = v;
	return 0;
}

int
receipt_wire_decode(const char *s, struct receipt *r, char **cause)
{
	uint64_t t;

	if (strlen(s) > 256 ||
	    receipt_wire_num(&s, RECEIPT_NUM_MAX, &r->seq) != 0 ||
	    receipt_wire_num(&s, RECEIPT_NUM_MAX, &r->tokens) != 0 ||
	    receipt_wire_num(&s, RECEIPT_NUM_MAX, &r->units) != 0 ||
	    receipt_wire_num(&s, RECEIPT_NUM_MAX, &r->amount) != 0 ||
	    receipt_wire_num(&s, (uint64_t)INT64_MAX, &t) != 0 ||
	    hex_decode(s, r->sig, RECEIPT_SIG_LEN) != 0)
		return set_cause(cause, "malformed receipt: want SEQ,TOKENS,"
		    "UNITS,AMOUNT,TIME,SIGNATURE");
	r->time = (int64_t)t;
	return 0;
}

json_t *
receipt_to_json(const struct receipt *r)
{
	char ck[2 * RECEIPT_KEY_LEN + 1], nk[2 * RECEIPT_KEY_LEN + 1];
	char cid[RECEIPT_PEER_ID_LEN + 1], nid[RECEIPT_PEER_ID_LEN + 1];
	char sig[2 * RECEIPT_SIG_LEN + 1];

	hex_encode(r->client_key, RECEIPT_KEY_LEN, ck);
	hex_encode(r->node_key, RECEIPT_KEY_LEN, nk);
	hex_encode(r->sig, RECEIPT_SIG_LEN, sig);
	receipt_peer_id(r->client_key, cid);
	receipt_peer_id(r->node_key, nid);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:I,s:I,s:s}", "session", r->session, "client_key", ck,
	    "node_key", nk, "client", cid, "node", nid, "model_id",
	    r->model_id, "block_begin", (json_int_t)r->block_begin,
	    "block_end", (json_int_t)r->block_end,
	    "tokens", (json_int_t)r->tokens, "units", (json_int_t)r->units,
	    "price", (json_int_t)r->price, "amount", (json_int_t)r->amount,
	    "seq", (json_int_t)r->seq, "time", (json_int_t)r->time,
	    "signature", sig);
}

static int
receipt_json_num(const json_t *o, const char *key, uint64_t max,
    uint64_t *out, char **cause)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return set_cause(cause, "receipt: '%s' is not a number in "
		    "range", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
receipt_json_str(const json_t *o, const char *key, char *out, size_t size,
    char **cause)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) >= size ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return set_cause(cause, "receipt: '%s' is not a string of at "
		    "most %zu bytes", key, size - 1);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int
receipt_from_json(const json_t *o, struct receipt *r, char **cause)
{
	char ck[2 * RECEIPT_KEY_LEN + 1], nk[2 * RECEIPT_KEY_LEN + 1];
	char sig[2 * RECEIPT_SIG_LEN + 1];
	uint64_t a, b, t;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o))
		return set_cause(cause, "receipt: not an object");
	if (receipt_json_str(o, "session", r->session, sizeof(r->session),
	    cause) != 0 || receipt_json_str(o, "client_key", ck, sizeof(ck),
	    cause) != 0 || receipt_json_str(o, "node_key", nk, sizeof(nk),
	    cause) != 0 || receipt_json_str(o, "model_id", r->model_id,
	    sizeof(r->model_id), cause) != 0 || receipt_json_str(o,
	    "signature", sig, sizeof(sig), cause) != 0)
		return -1;
	if (hex_decode(ck, r->client_key, RECEIPT_KEY_LEN) != 0 ||
	    hex_decode(nk, r->node_key, RECEIPT_KEY_LEN) != 0 ||
	    hex_decode(sig, r->sig, RECEIPT_SIG_LEN) != 0)
		return set_cause(cause, "receipt: a key or the signature is "
		    "not hex of its length");
	if (receipt_json_num(o, "block_begin", UINT32_MAX, &a, cause) != 0 ||
	    receipt_json_num(o, "block_end", UINT32_MAX, &b, cause) != 0 ||
	    receipt_json_num(o, "tokens", RECEIPT_NUM_MAX, &r->tokens,
	    cause) != 0 || receipt_json_num(o, "units", RECEIPT_NUM_MAX,
	    &r->units, cause) != 0 || receipt_json_num(o, "price",
	    RECEIPT_NUM_MAX, &r->price, cause) != 0 || receipt_json_num(o,
	    "amount", RECEIPT_NUM_MAX, &r->amount, cause) != 0 ||
	    receipt_json_num(o, "seq", RECEIPT_NUM_MAX, &r->seq, cause) != 0 ||
	    receipt_json_num(o, "time", (uint64_t)INT64_MAX, &t, cause) != 0)
		return -1;
	r->block_begin = (uint32_t)a;
	r->block_end = (uint32_t)b;
	r->time = (int64_t)t;
	return 0;
}
