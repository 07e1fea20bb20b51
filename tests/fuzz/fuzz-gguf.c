/*
 * Fuzzes the GGUF reader: any bytes opened as a model file. What opens must
 * keep the reader's promises (every tensor inside the buffer, every string
 * bounded, every lookup finds what it lists), and the readers of its
 * metadata, the tokenizer and the chat template, must take what opened, as
 * must the model loader, whose forward pass then runs two tokens through
 * every block (a shard pulled from a peer is such a file).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/chat.h"
#include "core/gguf.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/tokenizer.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#include "fuzz.h"

/* Elements of each array read through the accessors. */
#define FUZZ_GGUF_ARR_READ	64

static void
fuzz_gguf_kv(const struct gguf_file *gf, const struct gguf_kv *kv)
{
	struct gguf_str s;
	uint64_t i, n, u64;
	int64_t i64;
	uint32_t u32;
	int32_t i32;
	float f;
	char *dup;
	int b;

	if (gguf_find_kv(gf, kv->key) == NULL)
		abort();
	gguf_get_u32(gf, kv->key, &u32);
	gguf_get_u64(gf, kv->key, &u64);
	gguf_get_i64(gf, kv->key, &i64);
	gguf_get_f32(gf, kv->key, &f);
	gguf_get_bool(gf, kv->key, &b);
	if (gguf_get_str(gf, kv->key, &s) == 0)
		fuzz_use(s.ptr, s.len);
	if ((dup = gguf_get_strdup(gf, kv->key)) != NULL) {
		fuzz_use(dup, strlen(dup));
		free(dup);
	}
	gguf_value_type_name(kv->type);
	if (kv->type != GGUF_VALUE_ARRAY)
		return;
	gguf_value_type_name(kv->arr_type);
	n = kv->arr_n < FUZZ_GGUF_ARR_READ ? kv->arr_n : FUZZ_GGUF_ARR_READ;
	for (i = 0; i < n; i++) {
		if (gguf_arr_str(kv, i, &s) == 0)
			fuzz_use(s.ptr, s.len);
		gguf_arr_f32(kv, i, &f);
		gguf_arr_i32(kv, i, &i32);
	}
	/* the last element, and one past it */
	if (kv->arr_n > 0 && gguf_arr_str(kv, kv->arr_n - 1, &s) == 0)
		fuzz_use(s.ptr, s.len);
	if (gguf_arr_str(kv, kv->arr_n, &s) == 0 ||
	    gguf_arr_f32(kv, kv->arr_n, &f) == 0 ||
	    gguf_arr_i32(kv, kv->arr_n, &i32) == 0)
		abort();
}

static void
fuzz_gguf_tensor(const struct gguf_file *gf, const struct gguf_tensor *t)
{
	if (gguf_find_tensor(gf, t->name) == NULL)
		abort();
	gguf_type_name(t->type);
	if (t->ne[0] != 0)
		gguf_type_nbytes(t->type, t->ne[0], t->n_elements / t->ne[0]);
	/* the first and last byte of the data must be inside the buffer */
	fuzz_use(t->data, t->n_bytes);
}

/* What a model's metadata feeds: the tokenizer, then the chat template. */
static void
fuzz_gguf_vocab(const struct gguf_file *gf)
{
	static const char text[] = "Hello  world <s>\n\xe2\x96\x81\xff<|im_end|>";
	struct chat_message msgs[2] = {
		{ "user", "hi" }, { "assistant", "hello" },
	};
	struct chat_template ct;
	struct strbuf sb = STRBUF_INIT;
	struct tokenizer *tok;
	char *cause = NULL, *warning = NULL, *source;
	int32_t *ids = NULL, id;
	size_t n_ids = 0;
	uint32_t n_vocab;

	if ((tok = tokenizer_load(gf, &cause)) == NULL) {
		free(cause);
		return;
	}
	if (tokenizer_encode(tok, text, sizeof(text) - 1,
	    TOKENIZER_ADD_BOS | TOKENIZER_PARSE_SPECIAL, &ids, &n_ids,
	    &cause) == 0) {
		tokenizer_decode(tok, ids, n_ids, 1, &sb);
		free(ids);
	} else
		free(cause);
	n_vocab = tokenizer_n_vocab(tok);
	for (id = 0; id < 64 && (uint32_t)id < n_vocab; id++)
		tokenizer_decode_piece(tok, id - 1, id, 1, &sb);
	fuzz_use(sb.buf, sb.len);
	strbuf_reset(&sb);

	source = gguf_get_strdup(gf, "tokenizer.chat_template");
	cause = NULL;
	if (chat_template_init(&ct, source, NULL,
	    tokenizer_bos(tok) >= 0 ? tokenizer_piece(tok, tokenizer_bos(tok)) :
	    NULL, tokenizer_eos(tok) >= 0 ?
	    tokenizer_piece(tok, tokenizer_eos(tok)) : NULL, &warning,
	    &cause) == 0) {
		if (chat_render(&ct, msgs, 2, 1, &sb, &cause) == 0)
			chat_tokenizer_flags(&ct, sb.buf != NULL ? sb.buf : "");
		else
			free(cause);
		chat_template_release(&ct);
	} else
		free(cause);
	free(warning);
	free(source);
	strbuf_release(&sb);
	tokenizer_free(tok);
}

static void
fuzz_gguf_model(const struct gguf_file *gf)
{
	static struct pool *pool;	/* one thread: the caller's */
	struct model_hparams hp;
	struct kv_cache *kv = NULL;
	struct model *m;
	char *cause = NULL;
	const int32_t tokens[2] = { 1, 0 }, pos[2] = { 0, 1 };
	float *hidden = NULL, *logits = NULL;

	if (model_read_hparams(gf, &hp, &cause) != 0) {
		free(cause);
		return;
	}
	if ((m = model_load(gf, 0, hp.n_layer, MODEL_LOAD_EMBED |
	    MODEL_LOAD_HEAD, NULL, &cause)) == NULL) {
		free(cause);
		return;
	}
	if (pool == NULL)
		pool = pool_new(1);
	hidden = xcalloc(2 * (size_t)m->hp.n_embd, sizeof(*hidden));
	logits = xcalloc(2 * (size_t)m->hp.n_vocab, sizeof(*logits));
	if (model_embed(m, tokens, 2, hidden, &cause) != 0 ||
	    (kv = kv_cache_new(m, 0, m->hp.n_layer, 2, &cause)) == NULL ||
	    model_forward_blocks(m, pool, 0, m->hp.n_layer, hidden, pos, 2, kv,
	    &cause) != 0 || model_head(m, pool, hidden, 2, logits, &cause) != 0)
		free(cause);
	kv_cache_free(kv);
	free(logits);
	free(hidden);
	model_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gguf_file *gf;
	char *cause = NULL;
	uint64_t i;

	if ((gf = gguf_open_buffer(data, size, "fuzz.gguf", &cause)) == NULL) {
		if (cause == NULL)
			abort();	/* every failure says why */
		free(cause);
		return 0;
	}
	if (gf->data_offset > size)
		abort();
	for (i = 0; i < gf->n_kv; i++)
		fuzz_gguf_kv(gf, &gf->kv[i]);
	for (i = 0; i < gf->n_tensors; i++)
		fuzz_gguf_tensor(gf, &gf->tensors[i]);
	gguf_find_kv(gf, "general.architecture");
	gguf_find_tensor(gf, "token_embd.weight");
	fuzz_gguf_vocab(gf);
	fuzz_gguf_model(gf);
	gguf_close(gf);
	return 0;
}
