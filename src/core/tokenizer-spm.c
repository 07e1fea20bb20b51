/*
 * SentencePiece-style tokenization (tokenizer.ggml.model = "llama"), the
 * way llama.cpp does it for Llama 2 and its kin: spaces become U+2581, a
 * U+2581 is put in front of a run that starts the text or follows a special
 * token, the run is split into UTF-8 characters, and the adjacent pair whose
 * concatenation is the best-scoring piece of the vocabulary is merged until
 * no pair is a piece. Whatever is left that is not a piece goes out as
 * <0xXX> byte tokens. A heap of candidate pairs keeps this O(n log n).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tokenizer-impl.h"
#include "util/heap.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define SPM_SPACE	"\xe2\x96\x81"	/* U+2581 LOWER ONE EIGHTH BLOCK */
#define SPM_SPACE_LEN	3

/* A symbol: bytes [start, start + n) of the escaped text; n 0 = merged away. */
struct spm_sym {
	uint32_t	start;
	uint32_t	n;
	int32_t		prev;
	int32_t		next;
};

struct spm_pair {
	float		score;
	int32_t		left;
	int32_t		right;
	uint32_t	size;
};


/* a comes out of the heap before b: higher score, then leftmost */
static int
spm_before(const void *va, const void *vb)
{
	const struct spm_pair *a = va, *b = vb;

	if (a->score != b->score)
		return a->score > b->score;
	return a->left < b->left;
}

/*
 * The length of the UTF-8 character at p. A byte that does not start a
 * well-formed sequence is a character of its own; it ends up as a byte token.
 */
static size_t
spm_char_len(const unsigned char *p, size_t avail)
{
	size_t n = utf8_seq_len(p, avail);

	return n > 0 ? n : 1;
}

static void
spm_try_pair(const struct tokenizer *tok, const char *buf,
    const struct spm_sym *sym, int32_t left, int32_t right,
    struct heap *heap)
{
	struct spm_pair p;
	size_t size;
	int32_t id;

	if (left < 0 || right < 0)
		return;
	size = (size_t)sym[left].n + sym[right].n;
	if (size > tok->max_len)
		return;
	if ((id = tokenizer_find(tok, buf + sym[left].start, size)) < 0)
		return;
	p.score = tok->scores[id];
	p.left = left;
	p.right = right;
	p.size = (uint32_t)size;
	heap_push(heap, &p);
}

/* A symbol that is not a piece: its bytes, or UNK when they have no tokens. */
static void
spm_emit_bytes(const struct tokenizer *tok, const char *p, size_t n,
    struct tokenizer_ids *out)
{
	size_t i;
	int32_t id;

	for (i = 0; i < n; i++) {
		if (tok->byte_tok[(unsigned char)p[i]] < 0 &&
		    tokenizer_find(tok, p + i, 1) < 0)
			break;
	}
	if (i < n) {
		if (tok->unk >= 0)
			tokenizer_ids_push(out, tok->unk);
		return;
	}
	for (i = 0; i < n; i++) {
		id = tok->byte_tok[(unsigned char)p[i]];
		if (id < 0)
			id = tokenizer_find(tok, p + i, 1);
		tokenizer_ids_push(out, id);
	}
}

static int
spm_encode(const struct tokenizer *tok, const char *text, size_t len,
    int first, struct tokenizer_ids *out, char **cause)
{
	struct heap heap;
	struct spm_sym *sym = NULL;
	struct spm_pair p;
	char *buf;
	size_t blen = 0, i, n, nsym = 0;
	int32_t id, s;

	heap_init(&heap, sizeof(struct spm_pair), spm_before);
	if (len > (SIZE_MAX - SPM_SPACE_LEN) / SPM_SPACE_LEN ||
	    len > INT32_MAX / SPM_SPACE_LEN)
		return set_cause(cause, "text of %zu bytes is too long to "
		    "tokenize", len);
	buf = xmalloc(len * SPM_SPACE_LEN + SPM_SPACE_LEN);
	if (first && tok->add_space_prefix) {
		memcpy(buf, SPM_SPACE, SPM_SPACE_LEN);
		blen = SPM_SPACE_LEN;
	}
	for (i = 0; i < len; i++) {
		if (text[i] == ' ') {
			memcpy(buf + blen, SPM_SPACE, SPM_SPACE_LEN);
			blen += SPM_SPACE_LEN;
		} else
			buf[blen++] = text[i];
	}

	for (i = 0; i < blen; i += n) {
		n = spm_char_len((const unsigned char *)buf + i, blen - i);
		nsym++;
	}
	sym = xreallocarray(NULL, nsym ? nsym : 1, sizeof(*sym));
	nsym = 0;
	for (i = 0; i < blen; i += n) {
		n = spm_char_len((const unsigned char *)buf + i, blen - i);
		sym[nsym].start = (uint32_t)i;
		sym[nsym].n = (uint32_t)n;
		sym[nsym].prev = (int32_t)nsym - 1;
		sym[nsym].next = i + n < blen ? (int32_t)nsym + 1 : -1;
		nsym++;
	}
	for (i = 1; i < nsym; i++)
		spm_try_pair(tok, buf, sym, (int32_t)i - 1, (int32_t)i, &heap);

	while (heap.n > 0) {
		struct spm_sym *l, *r;

		heap_pop(&heap, &p);
		l = &sym[p.left];
		r = &sym[p.right];
		/* stale: one side has been merged since the pair was queued */
		if (l->n == 0 || r->n == 0 || l->n + r->n != p.size)
			continue;
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			sym[r->next].prev = p.left;
		spm_try_pair(tok, buf, sym, l->prev, p.left, &heap);
		spm_try_pair(tok, buf, sym, p.left, l->next, &heap);
	}

	for (s = nsym > 0 ? 0 : -1; s >= 0; s = sym[s].next) {
		id = tokenizer_find(tok, buf + sym[s].start, sym[s].n);
		if (id >= 0)
			tokenizer_ids_push(out, id);
		else
			spm_emit_bytes(tok, buf + sym[s].start, sym[s].n, out);
	}
	heap_release(&heap);
	free(sym);
	free(buf);
	return 0;
}

static void
spm_decode_piece(const struct tokenizer *tok, int32_t prev, int32_t id,
    int special, struct strbuf *out)
{
	const char *p = tok->text + tok->off[id], *end = p + tok->len[id];
	int b, strip;

	switch (tok->type[id]) {
	case TOKEN_CONTROL:
	case TOKEN_UNKNOWN:
		if (special)
			strbuf_add(out, p, tok->len[id]);
		return;
	case TOKEN_USER_DEFINED:
		strbuf_add(out, p, tok->len[id]);
		return;
	case TOKEN_UNUSED:
		return;
	case TOKEN_BYTE:
		if ((b = tokenizer_byte_value(tok, id)) >= 0)
			strbuf_addc(out, (char)b);
		return;
	default:
		break;
	}
	/* The space prefix the encoder added is not part of the text. */
	strip = tok->add_space_prefix && (prev < 0 || prev == tok->bos);
	while (p < end) {
		if (end - p >= SPM_SPACE_LEN &&
		    memcmp(p, SPM_SPACE, SPM_SPACE_LEN) == 0) {
			if (!strip)
				strbuf_addc(out, ' ');
			p += SPM_SPACE_LEN;
		} else {
			if (strip && *p == ' ') {
				p++;
				strip = 0;
				continue;
			}
			strbuf_addc(out, *p);
			p++;
		}
		strip = 0;
	}
}

const struct tokenizer_ops tokenizer_spm_ops = {
	.name = "llama",
	.encode = spm_encode,
	.decode_piece = spm_decode_piece,
};
