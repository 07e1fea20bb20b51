/*
 * A model file's summary (shard-info.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/gguf.h"
#include "shard/shard-info.h"
#include "util/xmalloc.h"

static const struct {
	const char	*label;
	const char	*key;	/* JSON name */
} shard_info_groups[SHARD_INFO_NGROUPS] = {
	{ "token embedding", "token_embd" },
	{ "attention q", "attn_q" },
	{ "attention k", "attn_k" },
	{ "attention v", "attn_v" },
	{ "attention output", "attn_output" },
	{ "ffn gate", "ffn_gate" },
	{ "ffn up", "ffn_up" },
	{ "ffn down", "ffn_down" },
	{ "norms", "norm" },
	{ "output", "output" },
	{ "other", "other" },
};

/* Tensor roles inside a block, by the part after "blk.N.". */
static const struct {
	const char		*kind;
	enum shard_info_group	 group;
} shard_info_kinds[] = {
	{ "attn_q", SHARD_INFO_ATTN_Q },
	{ "attn_k", SHARD_INFO_ATTN_K },
	{ "attn_v", SHARD_INFO_ATTN_V },
	{ "attn_output", SHARD_INFO_ATTN_O },
	{ "ffn_gate", SHARD_INFO_FFN_GATE },
	{ "ffn_gate_exps", SHARD_INFO_FFN_GATE },
	{ "ffn_up", SHARD_INFO_FFN_UP },
	{ "ffn_up_exps", SHARD_INFO_FFN_UP },
	{ "ffn_down", SHARD_INFO_FFN_DOWN },
	{ "ffn_down_exps", SHARD_INFO_FFN_DOWN },
	{ "attn_norm", SHARD_INFO_NORM },
	{ "ffn_norm", SHARD_INFO_NORM },
	{ "attn_q_norm", SHARD_INFO_NORM },
	{ "attn_k_norm", SHARD_INFO_NORM },
	{ "post_attention_norm", SHARD_INFO_NORM },
	{ "post_ffw_norm", SHARD_INFO_NORM },
};

const char *
shard_info_group_label(enum shard_info_group g)
{
	return shard_info_groups[g].label;
}

const char *
shard_info_group_key(enum shard_info_group g)
{
	return shard_info_groups[g].key;
}

/* "<arch>.<suffix>" as a u64, f32 or string. */
static struct shard_info_u64
shard_info_u64(const struct shard_info *si, const char *suffix)
{
	struct shard_info_u64 r = { 0, 0 };
	char *key = xasprintf("%s.%s", si->arch, suffix);

	r.ok = gguf_get_u64(si->f, key, &r.v) == 0;
	free(key);
	return r;
}

static struct shard_info_f32
shard_info_f32(const struct shard_info *si, const char *suffix)
{
	struct shard_info_f32 r = { 0, 0 };
	char *key = xasprintf("%s.%s", si->arch, suffix);

	r.ok = gguf_get_f32(si->f, key, &r.v) == 0;
	free(key);
	return r;
}

static char *
shard_info_str(const struct shard_info *si, const char *suffix)
{
	char *key = xasprintf("%s.%s", si->arch, suffix);
	char *s = gguf_get_strdup(si->f, key);

	free(key);
	return s;
}

static struct shard_info_u64
shard_info_kv_u64(const struct gguf_file *f, const char *key)
{
	struct shard_info_u64 r = { 0, 0 };

	r.ok = gguf_get_u64(f, key, &r.v) == 0;
	return r;
}

static struct shard_info_dim
shard_info_dim(const struct shard_info *si, const char *suffix)
{
	struct shard_info_dim d;
	char *key = xasprintf("%s.%s", si->arch, suffix);
	const struct gguf_kv *kv = gguf_find_kv(si->f, key);
	uint64_t i;
	int32_t x;

	memset(&d, 0, sizeof(d));
	if (gguf_get_u64(si->f, key, &d.lo) == 0) {
		d.hi = d.lo;
		d.kind = SHARD_INFO_DIM_NUMBER;
	} else if (kv != NULL && kv->type == GGUF_VALUE_ARRAY &&
	    kv->arr_n > 0) {
		d.lo = UINT64_MAX;
		for (i = 0; i < kv->arr_n; i++) {
			if (gguf_arr_i32(kv, i, &x) != 0 || x < 0)
				break;
			if ((uint64_t)x < d.lo)
				d.lo = (uint64_t)x;
			if ((uint64_t)x > d.hi)
				d.hi = (uint64_t)x;
		}
		if (i == kv->arr_n) {
			d.kind = SHARD_INFO_DIM_LIST;
			d.list = kv;
		}
	}
	free(key);
	return d;
}

/* Classifies a tensor; *block is set for tensors inside a block. */
static enum shard_info_group
shard_info_classify(const char *name, uint64_t n_blocks, int64_t *block)
{
	const char *dot, *rest;
	size_t i, len;
	uint64_t b;

	*block = -1;
	if (strcmp(name, "token_embd.weight") == 0)
		return SHARD_INFO_TOKEN_EMBD;
	if (strcmp(name, "output.weight") == 0)
		return SHARD_INFO_OUTPUT;
	if (strcmp(name, "output_norm.weight") == 0 ||
	    strcmp(name, "output_norm.bias") == 0)
		return SHARD_INFO_NORM;
	if (gguf_tensor_block(name, n_blocks, &b, &rest) != 0)
		return SHARD_INFO_OTHER;
	*block = (int64_t)b;
	if ((dot = strrchr(rest, '.')) == NULL)
		return SHARD_INFO_OTHER;
	len = dot - rest;
	for (i = 0; i < sizeof(shard_info_kinds) / sizeof(shard_info_kinds[0]);
	    i++)
		if (strlen(shard_info_kinds[i].kind) == len &&
		    strncmp(shard_info_kinds[i].kind, rest, len) == 0)
			return shard_info_kinds[i].group;
	return SHARD_INFO_OTHER;
}

static void
shard_info_tally(struct shard_info *si)
{
	const struct gguf_tensor *t;
	struct shard_info_group_stat *g;
	uint64_t i, sum = 0;
	int64_t block;

	si->block_bytes = xcalloc(si->n_blocks ? si->n_blocks : 1,
	    sizeof(*si->block_bytes));
	for (i = 0; i < si->f->n_tensors; i++) {
		t = &si->f->tensors[i];
		g = &si->groups[shard_info_classify(t->name, si->n_blocks,
		    &block)];
		g->n_tensors++;
		g->bytes += t->n_bytes;
		if (t->type < SHARD_INFO_NTYPES)
			g->type_bytes[t->type] += t->n_bytes;
		if (block >= 0)
			si->block_bytes[block] += t->n_bytes;
		else
			si->outside_bytes += t->n_bytes;
		si->tensor_bytes += t->n_bytes;
	}
	for (i = 0; i < si->n_blocks; i++) {
		sum += si->block_bytes[i];
		if (si->block_bytes[i] > si->block_max) {
			si->block_max = si->block_bytes[i];
			si->block_max_at = i;
		}
	}
	if (si->n_blocks > 0)
		si->block_avg = sum / si->n_blocks;
}

/* The tokenizer's summary and the chat template's presence. */
static void
shard_info_vocab(struct shard_info *si)
{
	const struct gguf_kv *kv;

	si->vocab_model = gguf_get_strdup(si->f, "tokenizer.ggml.model");
	si->vocab_pre = gguf_get_strdup(si->f, "tokenizer.ggml.pre");
	kv = gguf_find_kv(si->f, "tokenizer.ggml.tokens");
	if (kv != NULL && kv->type == GGUF_VALUE_ARRAY) {
		si->vocab_size.ok = 1;
		si->vocab_size.v = kv->arr_n;
	}
	si->bos = shard_info_kv_u64(si->f, "tokenizer.ggml.bos_token_id");
	si->eos = shard_info_kv_u64(si->f, "tokenizer.ggml.eos_token_id");
	kv = gguf_find_kv(si->f, "tokenizer.chat_template");
	if (kv != NULL && kv->type == GGUF_VALUE_STRING) {
		si->chat_template.ok = 1;
		si->chat_template.v = kv->str.len;
	}
}

static void
shard_info_hparams(struct shard_info *si)
{
	struct shard_info_u64 heads;
	uint32_t ft;

	si->name = gguf_get_strdup(si->f, "general.name");
	if (gguf_get_u32(si->f, "general.file_type", &ft) == 0) {
		si->ftype.ok = 1;
		si->ftype.v = ft;
	}
	si->embd = shard_info_u64(si, "embedding_length");
	si->ffn = shard_info_dim(si, "feed_forward_length");
	si->heads = shard_info_dim(si, "attention.head_count");
	si->heads_kv = shard_info_dim(si, "attention.head_count_kv");
	heads = shard_info_u64(si, "attention.head_count");
	si->head_dim = shard_info_u64(si, "attention.key_length");
	if (!si->head_dim.ok && heads.ok && heads.v > 0 && si->embd.ok) {
		si->head_dim.ok = 1;
		si->head_dim.v = si->embd.v / heads.v;
	}
	si->context = shard_info_u64(si, "context_length");
	si->rms_eps = shard_info_f32(si, "attention.layer_norm_rms_epsilon");
	si->rope_base = shard_info_f32(si, "rope.freq_base");
	si->rope_dims = shard_info_u64(si, "rope.dimension_count");
	si->rope_scaling = shard_info_str(si, "rope.scaling.type");
	if (si->rope_scaling != NULL && strcmp(si->rope_scaling, "none") ==
	    0) {
		free(si->rope_scaling);
		si->rope_scaling = NULL;
	}
	si->rope_factor = shard_info_f32(si, "rope.scaling.factor");
	si->rope_orig_ctx = shard_info_u64(si,
	    "rope.scaling.original_context_length");
	si->rope_freq_factors = gguf_find_tensor(si->f, "rope_freqs.weight") !=
	    NULL;
}

int
shard_info_open(struct shard_info *si, const char *path, char **cause)
{
	memset(si, 0, sizeof(*si));
	if ((si->f = gguf_open(path, cause)) == NULL)
		return -1;
	if ((si->arch = gguf_get_strdup(si->f, "general.architecture")) ==
	    NULL) {
		gguf_close(si->f);
		si->f = NULL;
		return set_cause(cause, "'%s': no general.architecture: not a "
		    "model", path);
	}
	shard_info_hparams(si);
	shard_info_vocab(si);
	si->blocks = shard_info_u64(si, "block_count");
	/* Every block has tensors: a larger count is not one to size by. */
	if (si->blocks.ok)
		si->n_blocks = si->blocks.v <= si->f->n_tensors ?
		    si->blocks.v : si->f->n_tensors;
	shard_info_tally(si);
	return 0;
}

void
shard_info_release(struct shard_info *si)
{
	free(si->block_bytes);
	free(si->arch);
	free(si->name);
	free(si->rope_scaling);
	free(si->vocab_model);
	free(si->vocab_pre);
	gguf_close(si->f);
	memset(si, 0, sizeof(*si));
}

/* The shortest decimal that reads back as the same float, so 1e-6 stays
 * 1e-6 rather than 9.99999997e-07. */
static json_t *
shard_info_json_f32(struct shard_info_f32 x)
{
	char buf[32];
	int prec;

	if (!x.ok)
		return json_null();
	for (prec = 6; prec < 9; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, x.v);
		if (strtof(buf, NULL) == x.v)
			break;
	}
	snprintf(buf, sizeof(buf), "%.*g", prec, x.v);
	return json_real(strtod(buf, NULL));
}

static json_t *
shard_info_json_u64(struct shard_info_u64 x)
{
	return x.ok ? json_integer((json_int_t)x.v) : json_null();
}

static json_t *
shard_info_json_str(const char *s)
{
	json_t *j = s != NULL ? json_string(s) : json_null();

	/* json_string refuses invalid UTF-8: metadata need not be valid. */
	return j != NULL ? j : json_null();
}

static json_t *
shard_info_json_dim(const struct shard_info_dim *d)
{
	json_t *arr;
	uint64_t i;
	int32_t x;

	if (d->kind == SHARD_INFO_DIM_NUMBER)
		return json_integer((json_int_t)d->lo);
	if (d->kind != SHARD_INFO_DIM_LIST)
		return json_null();
	arr = json_array();
	for (i = 0; i < d->list->arr_n; i++)
		if (gguf_arr_i32(d->list, i, &x) == 0)
			json_array_append_new(arr, json_integer(x));
	return arr;
}

static json_t *
shard_info_json_shape(const struct shard_info *si, const char *path)
{
	const char *ft = si->ftype.ok ? gguf_ftype_name((uint32_t)si->ftype.v) :
	    NULL;

	return json_pack("{s:o,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
	    "s:o,s:o,s:o,s:o}",
	    "file", shard_info_json_str(path),
	    "file_bytes", (json_int_t)si->f->map_size,
	    "gguf_version", (json_int_t)si->f->version,
	    "tensor_count", (json_int_t)si->f->n_tensors,
	    "metadata_count", (json_int_t)si->f->n_kv,
	    "architecture", shard_info_json_str(si->arch),
	    "name", shard_info_json_str(si->name),
	    "file_type", shard_info_json_u64(si->ftype),
	    "file_type_name", shard_info_json_str(ft),
	    "embedding_length", shard_info_json_u64(si->embd),
	    "feed_forward_length", shard_info_json_dim(&si->ffn),
	    "head_count", shard_info_json_dim(&si->heads),
	    "head_count_kv", shard_info_json_dim(&si->heads_kv),
	    "head_dim", shard_info_json_u64(si->head_dim),
	    "block_count", shard_info_json_u64(si->blocks),
	    "context_length", shard_info_json_u64(si->context));
}

static json_t *
shard_info_json_rope_vocab(const struct shard_info *si, json_t *root)
{
	json_t *scaling = json_null();

	if (si->rms_eps.ok)
		json_object_set_new(root, "rms_norm_eps",
		    shard_info_json_f32(si->rms_eps));
	if (si->rope_scaling != NULL) {
		json_decref(scaling);
		scaling = json_pack("{s:o,s:o,s:o}", "type",
		    shard_info_json_str(si->rope_scaling), "factor",
		    shard_info_json_f32(si->rope_factor), "original_context_length",
		    shard_info_json_u64(si->rope_orig_ctx));
	}
	json_object_set_new(root, "rope", json_pack("{s:o,s:o,s:o,s:b}",
	    "freq_base", shard_info_json_f32(si->rope_base), "dimension_count",
	    shard_info_json_u64(si->rope_dims), "scaling", scaling, "freq_factors",
	    si->rope_freq_factors));
	json_object_set_new(root, "vocab", json_pack("{s:o,s:o,s:o,s:o,s:o}",
	    "model", shard_info_json_str(si->vocab_model), "pre",
	    shard_info_json_str(si->vocab_pre), "size",
	    shard_info_json_u64(si->vocab_size), "bos_token_id",
	    shard_info_json_u64(si->bos), "eos_token_id", shard_info_json_u64(si->eos)));
	json_object_set_new(root, "chat_template",
	    json_boolean(si->chat_template.ok));
	return root;
}

static void
shard_info_json_tensors(const struct shard_info *si, json_t *root)
{
	const struct shard_info_group_stat *gs;
	json_t *groups = json_object(), *types, *per_block = json_array();
	uint64_t i;
	int t;

	for (i = 0; i < SHARD_INFO_NGROUPS; i++) {
		gs = &si->groups[i];
		if (gs->n_tensors == 0)
			continue;
		types = json_object();
		for (t = 0; t < SHARD_INFO_NTYPES; t++)
			if (gs->type_bytes[t] != 0)
				json_object_set_new(types, gguf_type_name(t) ?
				    gguf_type_name(t) : "?",
				    json_integer(gs->type_bytes[t]));
		json_object_set_new(groups, shard_info_group_key(i),
		    json_pack("{s:I,s:I,s:o}", "tensors",
		    (json_int_t)gs->n_tensors, "bytes", (json_int_t)gs->bytes,
		    "types", types));
	}
	json_object_set_new(root, "groups", groups);
	for (i = 0; i < si->n_blocks; i++)
		json_array_append_new(per_block,
		    json_integer(si->block_bytes[i]));
	json_object_set_new(root, "block_bytes", json_pack("{s:I,s:I,s:o,"
	    "s:o}", "average", (json_int_t)si->block_avg, "max",
	    (json_int_t)si->block_max, "max_block", si->n_blocks ?
	    json_integer(si->block_max_at) : json_null(), "per_block",
	    per_block));
	json_object_set_new(root, "outside_block_bytes",
	    json_integer(si->outside_bytes));
	json_object_set_new(root, "tensor_bytes", json_integer(si->tensor_bytes));
}

json_t *
shard_info_json(const struct shard_info *si, const char *path)
{
	json_t *root = shard_info_json_shape(si, path);

	shard_info_json_rope_vocab(si, root);
	shard_info_json_tensors(si, root);
	return root;
}
