/*
 * The part of the tokenizer every kind of vocabulary shares: reading and
 * checking the tokenizer.ggml.* metadata of a GGUF file, the piece -> id
 * map, the special ids, splitting control and user-defined tokens out of the
 * text before the kind-specific encoder sees it, and dispatch through struct
 * tokenizer_ops on tokenizer.ggml.model. The rules for special tokens and
 * for where SentencePiece puts its space prefix follow llama.cpp, so that a
 * prompt tokenizes to the ids the model was tested with.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/gguf.h"
#include "core/tokenizer-impl.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static const struct tokenizer_ops *tokenizer_kinds[] = {
	&tokenizer_spm_ops,
	&tokenizer_bpe_ops,
};

/* Texts that end a turn in the chat formats llama.cpp knows. */
static const char *tokenizer_eot_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
	"<|endoftext|>", "<EOT>", "_<EOT>",
	"<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
};
static const char *tokenizer_eog_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
	"<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>",
};

/* A run of the text to encode (id < 0) or a special token (id >= 0). */
struct tokenizer_frag {
	size_t	off;
	size_t	len;
	int32_t	id;
};

static uint64_t
tokenizer_hash(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

int32_t
tokenizer_find(const struct tokenizer *tok, const char *ptr, size_t len)
{
	size_t i;
	uint32_t s;

	if (len > tok->max_len)
		return -1;
	i = tokenizer_hash(ptr, len) & tok->slot_mask;
	while ((s = tok->slots[i]) != 0) {
		s--;
		if (tok->len[s] == len && memcmp(tok->text + tok->off[s], ptr,
		    len) == 0)
			return (int32_t)s;
		i = (i + 1) & tok->slot_mask;
	}
	return -1;
}

static int
tokenizer_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
tokenizer_byte_value(const struct tokenizer *tok, int32_t id)
{
	const char *p;
	int hi, lo;

	if (id < 0 || (uint32_t)id >= tok->n_vocab ||
	    tok->type[id] != TOKEN_BYTE || tok->len[id] != 6)
		return -1;
	p = tok->text + tok->off[id];
	if (memcmp(p, "<0x", 3) != 0 || p[5] != '>')
		return -1;
	hi = tokenizer_hexval((unsigned char)p[3]);
	lo = tokenizer_hexval((unsigned char)p[4]);
	if (hi < 0 || lo < 0)
		return -1;
	return hi << 4 | lo;
}

void
tokenizer_ids_push(struct tokenizer_ids *ids, int32_t id)
{
	if (ids->n == ids->alloc) {
		ids->alloc = ids->alloc ? ids->alloc * 2 : 64;
		ids->v = xreallocarray(ids->v, ids->alloc, sizeof(*ids->v));
	}
	ids->v[ids->n++] = id;
}

/*
 * A special id: absent keeps the default, UINT32_MAX (or -1) means none,
 * anything else must name a token.
 */
static int
tokenizer_load_id(struct tokenizer *tok, const struct gguf_file *gf,
    const char *key, int32_t *id, char **cause)
{
	int64_t v;

	if (gguf_find_kv(gf, key) == NULL)
		return 0;
	if (gguf_get_i64(gf, key, &v) != 0)
		return set_cause(cause, "'%s': %s is not an integer", gf->path,
		    key);
	if (v == -1 || v == (int64_t)UINT32_MAX) {
		*id = -1;
		return 0;
	}
	if (v < 0 || (uint64_t)v >= tok->n_vocab)
		return set_cause(cause, "'%s': %s %lld is out of range "
		    "(vocabulary of %u)", gf->path, key, (long long)v,
		    tok->n_vocab);
	*id = (int32_t)v;
	return 0;
}

static int
tokenizer_load_bool(const struct gguf_file *gf, const char *key, int *out,
    char **cause)
{
	if (gguf_find_kv(gf, key) == NULL)
		return 0;
	if (gguf_get_bool(gf, key, out) != 0)
		return set_cause(cause, "'%s': %s is not a boolean", gf->path,
		    key);
	return 0;
}

static int
tokenizer_is_int_type(enum gguf_value_type t)
{
	return t == GGUF_VALUE_UINT8 || t == GGUF_VALUE_INT8 ||
	    t == GGUF_VALUE_UINT16 || t == GGUF_VALUE_INT16 ||
	    t == GGUF_VALUE_UINT32 || t == GGUF_VALUE_INT32 ||
	    t == GGUF_VALUE_UINT64 || t == GGUF_VALUE_INT64;
}

/*
 * Finds an array of the given element type (INT32: any integer type,
 * FLOAT32: FLOAT64 too) and length (0: any). Returns 0 with *kvp NULL when it is absent and not
 * required.
 */
static int
tokenizer_load_array(const struct gguf_file *gf, const char *key,
    enum gguf_value_type type, uint32_t n, int required,
    const struct gguf_kv **kvp, char **cause)
{
	const struct gguf_kv *kv;

	*kvp = NULL;
	if ((kv = gguf_find_kv(gf, key)) == NULL) {
		if (required)
			return set_cause(cause, "'%s': %s is missing", gf->path,
			    key);
		return 0;
	}
	if (kv->type != GGUF_VALUE_ARRAY || (kv->arr_type != type &&
	    !(type == GGUF_VALUE_INT32 && tokenizer_is_int_type(kv->arr_type)) &&
	    !(type == GGUF_VALUE_FLOAT32 && kv->arr_type == GGUF_VALUE_FLOAT64)))
		return set_cause(cause, "'%s': %s is not an array of %s",
		    gf->path, key, gguf_value_type_name(type));
	if (n != 0 && kv->arr_n != n)
		return set_cause(cause, "'%s': %s has %llu entries, the "
		    "vocabulary %u", gf->path, key,
		    (unsigned long long)kv->arr_n, n);
	*kvp = kv;
	return 0;
}

static int
tokenizer_load_pieces(struct tokenizer *tok, const struct gguf_file *gf,
    char **cause)
{
	const struct gguf_kv *kv;
	struct gguf_str s;
	uint64_t total = 0, pos = 0;
	uint32_t i, n;
	size_t cap;

	if (tokenizer_load_array(gf, "tokenizer.ggml.tokens",
	    GGUF_VALUE_STRING, 0, 1, &kv, cause) != 0)
		return -1;
	if (kv->arr_n == 0 || kv->arr_n > TOKENIZER_MAX_VOCAB)
		return set_cause(cause, "'%s': vocabulary of %llu tokens is "
		    "out of range (1 to %u)", gf->path,
		    (unsigned long long)kv->arr_n, TOKENIZER_MAX_VOCAB);
	n = tok->n_vocab = (uint32_t)kv->arr_n;
	tok->off = xcalloc(n, sizeof(*tok->off));
	tok->len = xcalloc(n, sizeof(*tok->len));
	tok->scores = xcalloc(n, sizeof(*tok->scores));
	tok->type = xcalloc(n, sizeof(*tok->type));
	tok->flags = xcalloc(n, sizeof(*tok->flags));

	for (i = 0; i < n; i++) {
		if (gguf_arr_str(kv, i, &s) != 0)
			return set_cause(cause, "'%s': cannot read token %u",
			    gf->path, i);
		if (s.len > TOKENIZER_MAX_PIECE)
			return set_cause(cause, "'%s': token %u is %llu bytes "
			    "long (limit %u)", gf->path, i,
			    (unsigned long long)s.len, TOKENIZER_MAX_PIECE);
		total += s.len + 1;
	}
	if (total > SIZE_MAX)
		return set_cause(cause, "'%s': vocabulary too large", gf->path);
	tok->text = xmalloc((size_t)total);
	for (i = 0; i < n; i++) {
		gguf_arr_str(kv, i, &s);
		memcpy(tok->text + pos, s.ptr, (size_t)s.len);
		tok->text[pos + s.len] = '\0';
		tok->off[i] = pos;
		tok->len[i] = (uint32_t)s.len;
		if (tok->len[i] > tok->max_len)
			tok->max_len = tok->len[i];
		pos += s.len + 1;
	}

	/* Later duplicates win, as in llama.cpp's map. */
	for (cap = 16; cap < (size_t)n * 2; cap *= 2)
		;
	tok->slots = xcalloc(cap, sizeof(*tok->slots));
	tok->slot_mask = cap - 1;
	for (i = 0; i < n; i++) {
		const char *p = tok->text + tok->off[i];
		size_t j = tokenizer_hash(p, tok->len[i]) & tok->slot_mask;
		uint32_t sl;

		while ((sl = tok->slots[j]) != 0) {
			sl--;
			if (tok->len[sl] == tok->len[i] &&
			    memcmp(tok->text + tok->off[sl], p, tok->len[i]) == 0)
				break;
			j = (j + 1) & tok->slot_mask;
		}
		tok->slots[j] = i + 1;
	}
	return 0;
}

static int
tokenizer_load_scores_types(struct tokenizer *tok, const struct gguf_file *gf,
    char **cause)
{
	const struct gguf_kv *kv;
	uint32_t i;
	int32_t t;

	if (tokenizer_load_array(gf, "tokenizer.ggml.scores",
	    GGUF_VALUE_FLOAT32, tok->n_vocab, 0, &kv, cause) != 0)
		return -1;
	for (i = 0; kv != NULL && i < tok->n_vocab; i++) {
		if (gguf_arr_f32(kv, i, &tok->scores[i]) != 0)
			return set_cause(cause, "'%s': cannot read the score "
			    "of token %u", gf->path, i);
	}

	if (tokenizer_load_array(gf, "tokenizer.ggml.token_type",
	    GGUF_VALUE_INT32, tok->n_vocab, 0, &kv, cause) != 0)
		return -1;
	for (i = 0; i < tok->n_vocab; i++) {
		if (kv == NULL) {
			tok->type[i] = TOKEN_NORMAL;
			continue;
		}
		if (gguf_arr_i32(kv, i, &t) != 0)
			return set_cause(cause, "'%s': cannot read the type "
			    "of token %u", gf->path, i);
		/* 0 is "undefined" in the converters: a normal piece. */
		if (t == 0)
			t = TOKEN_NORMAL;
		if (t < TOKEN_NORMAL || t > TOKEN_BYTE)
			return set_cause(cause, "'%s': token %u has an unknown "
			    "type %d", gf->path, i, (int)t);
		tok->type[i] = (uint8_t)t;
	}
	/* A byte token that does not spell <0xXX> is used as plain text. */
	for (i = 0; i < 256; i++)
		tok->byte_tok[i] = -1;
	for (i = 0; i < tok->n_vocab; i++) {
		int b;

		if (tok->type[i] != TOKEN_BYTE)
			continue;
		if ((b = tokenizer_byte_value(tok, (int32_t)i)) < 0)
			tok->type[i] = TOKEN_NORMAL;
		else if (tok->byte_tok[b] < 0)
			tok->byte_tok[b] = (int32_t)i;
	}
	return 0;
}

static int
tokenizer_special_cmp(const void *a, const void *b, void *arg)
{
	const struct tokenizer *tok = arg;
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	if (tok->len[x] != tok->len[y])
		return tok->len[x] > tok->len[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int
tokenizer_is_special_type(int type)
{
	return type == TOKEN_CONTROL || type == TOKEN_USER_DEFINED ||
	    type == TOKEN_UNKNOWN;
}

static void
tokenizer_set_flag(struct tokenizer *tok, const char *text, uint8_t flag,
    int on)
{
	int32_t id = tokenizer_find(tok, text, strlen(text));

	if (id < 0)
		return;
	if (on)
		tok->flags[id] |= flag;
	else
		tok->flags[id] &= ~flag;
}

static void
tokenizer_load_special(struct tokenizer *tok, const struct gguf_file *gf)
{
	char *name;
	size_t i, k;
	uint32_t id;
	int32_t t;

	tok->special = xcalloc(tok->n_vocab, sizeof(*tok->special));
	for (id = 0; id < tok->n_vocab; id++) {
		if (tokenizer_is_special_type(tok->type[id]) && tok->len[id] > 0)
			tok->special[tok->n_special++] = (int32_t)id;
	}
	qsort_r(tok->special, tok->n_special, sizeof(*tok->special),
	    tokenizer_special_cmp, tok);

	/*
	 * Phi-3's chat tokens swallow the whitespace after them (llama.cpp
	 * keys this on the model name, as the GGUF has no attribute for it).
	 */
	if ((name = gguf_get_strdup(gf, "general.name")) != NULL) {
		for (i = 0; name[i] != '\0'; i++)
			name[i] = (char)tolower((unsigned char)name[i]);
		if (strstr(name, "phi-3") != NULL || strstr(name, "phi3") != NULL) {
			for (i = 0; i < tok->n_special; i++)
				tok->flags[tok->special[i]] |= TOKEN_FLAG_RSTRIP;
			tokenizer_set_flag(tok, "</s>", TOKEN_FLAG_RSTRIP, 1);
			tokenizer_set_flag(tok, "<unk>", TOKEN_FLAG_RSTRIP, 0);
			tokenizer_set_flag(tok, "<s>", TOKEN_FLAG_RSTRIP, 0);
			tokenizer_set_flag(tok, "<|endoftext|>",
			    TOKEN_FLAG_RSTRIP, 0);
		}
		free(name);
	}

	if (tok->eot < 0) {
		for (i = 0; i < sizeof(tokenizer_eot_texts) /
		    sizeof(*tokenizer_eot_texts) && tok->eot < 0; i++) {
			tok->eot = tokenizer_find(tok, tokenizer_eot_texts[i],
			    strlen(tokenizer_eot_texts[i]));
		}
	}
	k = 0;
	if (tok->eos >= 0)
		tok->eog[k++] = tok->eos;
	if (tok->eot >= 0)
		tok->eog[k++] = tok->eot;
	if (tok->eom >= 0)
		tok->eog[k++] = tok->eom;
	for (i = 0; i < sizeof(tokenizer_eog_texts) /
	    sizeof(*tokenizer_eog_texts) && k < TOKENIZER_MAX_EOG; i++) {
		t = tokenizer_find(tok, tokenizer_eog_texts[i],
		    strlen(tokenizer_eog_texts[i]));
		if (t >= 0)
			tok->eog[k++] = t;
	}
	tok->n_eog = k;
}

struct tokenizer *
tokenizer_load(const struct gguf_file *gf, char **cause)
{
	struct tokenizer *tok;
	struct gguf_str model;
	size_t i;
	int is_spm;

	if (gguf_get_str(gf, "tokenizer.ggml.model", &model) != 0) {
		set_cause(cause, "'%s': no tokenizer (tokenizer.ggml.model is "
		    "missing)", gf->path);
		return NULL;
	}
	tok = xcalloc(1, sizeof(*tok));
	tok->model = xstrndup(model.ptr, (size_t)model.len);
	tok->bos = tok->eos = tok->unk = tok->eot = tok->eom = -1;
	for (i = 0; i < sizeof(tokenizer_kinds) / sizeof(*tokenizer_kinds); i++) {
		if (strlen(tok->model) == model.len &&
		    strcmp(tok->model, tokenizer_kinds[i]->name) == 0)
			tok->ops = tokenizer_kinds[i];
	}
	if (tok->ops == NULL) {
		set_cause(cause, "'%s': tokenizer '%s' is not supported",
		    gf->path, tok->model);
		goto fail;
	}
	if (tokenizer_load_pieces(tok, gf, cause) != 0 ||
	    tokenizer_load_scores_types(tok, gf, cause) != 0)
		goto fail;

	is_spm = tok->ops == &tokenizer_spm_ops;
	if (is_spm) {
		/* llama.cpp's defaults for SentencePiece vocabularies */
		if (tok->n_vocab > 0)
			tok->unk = 0;
		if (tok->n_vocab > 2) {
			tok->bos = 1;
			tok->eos = 2;
		}
	}
	tok->add_bos = is_spm;
	tok->add_space_prefix = is_spm;
	if (tokenizer_load_id(tok, gf, "tokenizer.ggml.bos_token_id",
	    &tok->bos, cause) != 0 ||
	    tokenizer_load_id(tok, gf, "tokenizer.ggml.eos_token_id",
	    &tok->eos, cause) != 0 ||
	    tokenizer_load_id(tok, gf, "tokenizer.ggml.unknown_token_id",
	    &tok->unk, cause) != 0 ||
	    tokenizer_load_id(tok, gf, "tokenizer.ggml.eot_token_id",
	    &tok->eot, cause) != 0 ||
	    tokenizer_load_id(tok, gf, "tokenizer.ggml.eom_token_id",
	    &tok->eom, cause) != 0 ||
	    tokenizer_load_bool(gf, "tokenizer.ggml.add_bos_token",
	    &tok->add_bos, cause) != 0 ||
	    tokenizer_load_bool(gf, "tokenizer.ggml.add_space_prefix",
	    &tok->add_space_prefix, cause) != 0)
		goto fail;
	tokenizer_load_special(tok, gf);
	if (tok->ops->init != NULL && tok->ops->init(tok, gf, cause) != 0)
		goto fail;
	return tok;

fail:
	tokenizer_free(tok);
	return NULL;
}

void
tokenizer_free(struct tokenizer *tok)
{
	if (tok == NULL)
		return;
	if (tok->ops != NULL && tok->ops->release != NULL)
		tok->ops->release(tok);
	free(tok->model);
	free(tok->text);
	free(tok->off);
	free(tok->len);
	free(tok->scores);
	free(tok->type);
	free(tok->flags);
	free(tok->slots);
	free(tok->special);
	free(tok);
}

static void
tokenizer_frag_push(struct tokenizer_frag **v, size_t *n, size_t *alloc,
    size_t off, size_t len, int32_t id)
{
	if (*n == *alloc) {
		*alloc *= 2;
		*v = xreallocarray(*v, *alloc, sizeof(**v));
	}
	(*v)[*n].off = off;
	(*v)[*n].len = len;
	(*v)[*n].id = id;
	(*n)++;
}

/*
 * Splits the text runs of in[] at every occurrence of special token id,
 * into *out. A token marked lstrip / rstrip takes the whitespace beside it.
 */
static size_t
tokenizer_split(const struct tokenizer *tok, const char *text,
    const struct tokenizer_frag *in, size_t n_in, int32_t id,
    struct tokenizer_frag **out, size_t *out_alloc)
{
	const char *piece = tok->text + tok->off[id], *m;
	size_t plen = tok->len[id], n = 0, i, off, end, at, l;

	for (i = 0; i < n_in; i++) {
		if (in[i].id >= 0) {
			tokenizer_frag_push(out, &n, out_alloc, in[i].off,
			    in[i].len, in[i].id);
			continue;
		}
		off = in[i].off;
		end = in[i].off + in[i].len;
		while (off < end && (m = memmem(text + off, end - off, piece,
		    plen)) != NULL) {
			at = (size_t)(m - text);
			l = at - off;
			if (tok->flags[id] & TOKEN_FLAG_LSTRIP) {
				while (l > 0 &&
				    isspace((unsigned char)text[off + l - 1]))
					l--;
			}
			if (l > 0)
				tokenizer_frag_push(out, &n, out_alloc, off, l,
				    -1);
			tokenizer_frag_push(out, &n, out_alloc, at, plen, id);
			off = at + plen;
			if (tok->flags[id] & TOKEN_FLAG_RSTRIP) {
				while (off < end &&
				    isspace((unsigned char)text[off]))
					off++;
			}
		}
		if (off < end)
			tokenizer_frag_push(out, &n, out_alloc, off, end - off,
			    -1);
	}
	return n;
}

int
tokenizer_encode(const struct tokenizer *tok, const char *text, size_t len,
    int flags, int32_t **ids, size_t *n_ids, char **cause)
{
	struct tokenizer_ids out = { NULL, 0, 0 };
	struct tokenizer_frag *a, *b, *t;
	size_t na = 0, alloc_a = 16, alloc_b = 16, swap, i;
	int32_t id;
	int first, rc = -1;

	a = xreallocarray(NULL, alloc_a, sizeof(*a));
	b = xreallocarray(NULL, alloc_b, sizeof(*b));
	if (len > 0) {
		a[0].off = 0;
		a[0].len = len;
		a[0].id = -1;
		na = 1;
	}
	/*
	 * Like llama.cpp, each special token in turn (longest first) is cut
	 * out of what is left; user-defined tokens always are, control and
	 * unknown ones only when asked to.
	 */
	for (i = 0; i < tok->n_special && na > 0; i++) {
		id = tok->special[i];
		if (!(flags & TOKENIZER_PARSE_SPECIAL) &&
		    tok->type[id] != TOKEN_USER_DEFINED)
			continue;
		if (memmem(text, len, tok->text + tok->off[id],
		    tok->len[id]) == NULL)
			continue;
		na = tokenizer_split(tok, text, a, na, id, &b, &alloc_b);
		t = a;
		a = b;
		b = t;
		swap = alloc_a;
		alloc_a = alloc_b;
		alloc_b = swap;
	}

	if ((flags & TOKENIZER_ADD_BOS) && tok->add_bos && tok->bos >= 0)
		tokenizer_ids_push(&out, tok->bos);
	first = 1;
	for (i = 0; i < na; i++) {
		if (a[i].id >= 0) {
			tokenizer_ids_push(&out, a[i].id);
			first = 1;
			continue;
		}
		if (tok->ops->encode(tok, text + a[i].off, a[i].len, first,
		    &out, cause) != 0)
			goto out;
		first = 0;
	}
	*ids = out.v;
	*n_ids = out.n;
	out.v = NULL;
	if (*ids == NULL)
		*ids = xmalloc(sizeof(**ids));
	rc = 0;
out:
	free(out.v);
	free(a);
	free(b);
	return rc;
}

void
tokenizer_decode_piece(const struct tokenizer *tok, int32_t prev, int32_t id,
    int special, struct strbuf *out)
{
	if (id < 0 || (uint32_t)id >= tok->n_vocab)
		return;
	tok->ops->decode_piece(tok, prev, id, special, out);
}

void
tokenizer_decode(const struct tokenizer *tok, const int32_t *ids, size_t n,
    int special, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		tokenizer_decode_piece(tok, i > 0 ? ids[i - 1] : -1, ids[i],
		    special, out);
}

uint32_t
tokenizer_n_vocab(const struct tokenizer *tok)
{
	return tok->n_vocab;
}

const char *
tokenizer_model_name(const struct tokenizer *tok)
{
	return tok->model;
}

const char *
tokenizer_piece(const struct tokenizer *tok, int32_t id)
{
	if (id < 0 || (uint32_t)id >= tok->n_vocab)
		return NULL;
	return tok->text + tok->off[id];
}

int32_t
tokenizer_bos(const struct tokenizer *tok)
{
	return tok->bos;
}

int32_t
tokenizer_eos(const struct tokenizer *tok)
{
	return tok->eos;
}

int
tokenizer_adds_bos(const struct tokenizer *tok)
{
	return tok->add_bos && tok->bos >= 0;
}

int
tokenizer_is_eog(const struct tokenizer *tok, int32_t id)
{
	size_t i;

	if (id < 0)
		return 0;
	for (i = 0; i < tok->n_eog; i++) {
		if (tok->eog[i] == id)
			return 1;
	}
	return 0;
}
