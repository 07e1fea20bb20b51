/*
 * A receipt: what a client owes a node for one session, signed by the
 * client's Ed25519 key. Receipts are cumulative (each restates the session's
 * whole use so far, with a growing sequence number), so losing one loses
 * nothing the next does not restate. The unit of work is one token through
 * one block; a node prices it in micro-credits per 1000 units.
 *
 * The signature covers the canonical bytes receipt_terms() writes: a fixed
 * first line, then one field a line in a fixed order, numbers in decimal,
 * keys in lower-case hex. On the wire (with each step request) only what the
 * node cannot know travels: receipt_wire_encode().
 */
#ifndef SWARM_LEDGER_RECEIPT_H
#define SWARM_LEDGER_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#define RECEIPT_KEY_LEN		32
#define RECEIPT_SK_LEN		64
#define RECEIPT_SIG_LEN		64
#define RECEIPT_SESSION_MAX	32	/* hex characters */
#define RECEIPT_MODEL_MAX	128
#define RECEIPT_PEER_ID_LEN	64	/* hex BLAKE2b-256 of a key */
#define RECEIPT_HEADER		"X-Swarm-Receipt"
/* Largest numbers a receipt carries: far past any real use, and the sum
 * of many still fits an int64 column. */
#define RECEIPT_NUM_MAX		((uint64_t)1 << 53)

struct json_t;

struct receipt {
	char		session[RECEIPT_SESSION_MAX + 1];	/* the node's id */
	uint8_t		client_key[RECEIPT_KEY_LEN];
	uint8_t		node_key[RECEIPT_KEY_LEN];
	char		model_id[RECEIPT_MODEL_MAX];
	uint32_t	block_begin;
	uint32_t	block_end;
	uint64_t	tokens;		/* positions computed so far */
	uint64_t	units;		/* tokens x blocks */
	uint64_t	price;		/* micro-credits per 1000 units */
	uint64_t	amount;		/* micro-credits: units x price / 1000 */
	uint64_t	seq;		/* from 1, growing */
	int64_t		time;		/* unix seconds when signed */
	uint8_t		sig[RECEIPT_SIG_LEN];
};

/* units x price / 1000, rounded down (saturating). */
uint64_t	 receipt_amount(uint64_t units, uint64_t price);
/* The bytes the signature covers (allocated, NUL-terminated). */
char		*receipt_terms(const struct receipt *);
void		 receipt_sign(struct receipt *, const uint8_t sk[RECEIPT_SK_LEN]);
/* 0 when the client key signed these terms, else -1. */
int		 receipt_verify(const struct receipt *);
/* Hex BLAKE2b-256 of a key: the peer id (65 bytes with the NUL). */
void		 receipt_peer_id(const uint8_t key[RECEIPT_KEY_LEN],
		    char out[RECEIPT_PEER_ID_LEN + 1]);

/* "SEQ,TOKENS,UNITS,AMOUNT,TIME,SIGNATURE" (allocated). */
char		*receipt_wire_encode(const struct receipt *);
/* Fills those fields of r from a header value; the rest is the caller's. */
int		 receipt_wire_decode(const char *, struct receipt *,
		    char **cause);

/* Every field, keys and signature in hex, and both peer ids. */
struct json_t	*receipt_to_json(const struct receipt *);
int		 receipt_from_json(const struct json_t *, struct receipt *,
		    char **cause);


#endif
