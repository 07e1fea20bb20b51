/*
 * swarm shard info MODEL.gguf [--json]: what a model is and what serving
 * part of it costs. Hyper-parameters come from the `<arch>.*` metadata
 * keys named by general.architecture (never from tensor names); tensors
 * are grouped by role so an operator sees the bytes of each kind of weight
 * and of each block, and hence what serving k blocks takes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "core/gguf.h"
#include "util/parse.h"
#include "util/xmalloc.h"

enum shard_group {
	SHARD_TOKEN_EMBD,
	SHARD_ATTN_Q,
	SHARD_ATTN_K,
	SHARD_ATTN_V,
	SHARD_ATTN_O,
	SHARD_FFN_GATE,
	SHARD_FFN_UP,
	SHARD_FFN_DOWN,
	SHARD_NORM,
	SHARD_OUTPUT,
	SHARD_OTHER,
	SHARD_NGROUPS,
};

static const struct {
	const char	*label;
	const char	*key;	/* JSON name */
} shard_groups[SHARD_NGROUPS] = {
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
	enum shard_group	 group;
} shard_kinds[] = {
	{ "attn_q", SHARD_ATTN_Q },
	{ "attn_k", SHARD_ATTN_K },
	{ "attn_v", SHARD_ATTN_V },
	{ "attn_output", SHARD_ATTN_O },
	{ "ffn_gate", SHARD_FFN_GATE },
	{ "ffn_gate_exps", SHARD_FFN_GATE },
	{ "ffn_up", SHARD_FFN_UP },
	{ "ffn_up_exps", SHARD_FFN_UP },
	{ "ffn_down", SHARD_FFN_DOWN },
	{ "ffn_down_exps", SHARD_FFN_DOWN },
	{ "attn_norm", SHARD_NORM },
	{ "ffn_norm", SHARD_NORM },
	{ "attn_q_norm", SHARD_NORM },
	{ "attn_k_norm", SHARD_NORM },
	{ "post_attention_norm", SHARD_NORM },
	{ "post_ffw_norm", SHARD_NORM },
};

#define SHARD_NTYPES	64	/* above every known ggml type number */

struct shard_group_stat {
	uint64_t	 n_tensors;
	uint64_t	 bytes;
	uint64_t	 type_bytes[SHARD_NTYPES];
};

struct shard_info {
	const struct gguf_file	*f;
	char			*arch;
	uint64_t		 meta_blocks;	/* <arch>.block_count */
	int			 has_blocks;
	uint64_t		 n_blocks;	/* blocks we tally */
	uint64_t		*block_bytes;	/* n_blocks entries */
	uint64_t		 outside_bytes;	/* not in any block */
	uint64_t		 tensor_bytes;
	struct shard_group_stat	 groups[SHARD_NGROUPS];
};

/* "<arch>.<suffix>" */
static char *
shard_key(const struct shard_info *si, const char *suffix)
{
	return xasprintf("%s.%s", si->arch, suffix);
}

static int
shard_u64(const struct shard_info *si, const char *suffix, uint64_t *v)
{
	char *key = shard_key(si, suffix);
	int rc = gguf_get_u64(si->f, key, v);

	free(key);
	return rc;
}

static int
shard_f32(const struct shard_info *si, const char *suffix, float *v)
{
	char *key = shard_key(si, suffix);
	int rc = gguf_get_f32(si->f, key, v);

	free(key);
	return rc;
}

static char *
shard_str(const struct shard_info *si, const char *suffix)
{
	char *key = shard_key(si, suffix), *s = gguf_get_strdup(si->f, key);

	free(key);
	return s;
}

/*
 * Some architectures give a per-block list instead of one number (the
 * FFN width or head count of each block). Returns 0 when the key is
 * absent, 1 for a number (*lo = *hi = it), 2 for a list of integers
 * (*lo and *hi its range).
 */
static int
shard_dim(const struct shard_info *si, const char *suffix, uint64_t *lo,
    uint64_t *hi)
{
	char *key = shard_key(si, suffix);
	const struct gguf_kv *kv = gguf_find_kv(si->f, key);
	uint64_t i;
	int32_t x;
	int rc = 0;

	if (gguf_get_u64(si->f, key, lo) == 0) {
		*hi = *lo;
		rc = 1;
	} else if (kv != NULL && kv->type == GGUF_VALUE_ARRAY &&
	    kv->arr_n > 0) {
		*lo = UINT64_MAX;
		*hi = 0;
		for (i = 0; i < kv->arr_n; i++) {
			if (gguf_arr_i32(kv, i, &x) != 0 || x < 0)
				break;
			if ((uint64_t)x < *lo)
				*lo = (uint64_t)x;
			if ((uint64_t)x > *hi)
				*hi = (uint64_t)x;
		}
		rc = i == kv->arr_n ? 2 : 0;
	}
	free(key);
	return rc;
}

static void
shard_print_dim(const struct shard_info *si, const char *label,
    const char *suffix)
{
	uint64_t lo, hi;

	switch (shard_dim(si, suffix, &lo, &hi)) {
	case 1:
		printf("%-15s %" PRIu64 "\n", label, lo);
		break;
	case 2:
		if (lo == hi)
			printf("%-15s %" PRIu64 " in every block\n", label, lo);
		else
			printf("%-15s %" PRIu64 " to %" PRIu64 " by block\n",
			    label, lo, hi);
		break;
	default:
		printf("%-15s -\n", label);
		break;
	}
}

static json_t *
shard_json_dim(const struct shard_info *si, const char *suffix)
{
	char *key;
	const struct gguf_kv *kv;
	json_t *arr;
	uint64_t lo, hi, i;
	int32_t x;

	switch (shard_dim(si, suffix, &lo, &hi)) {
	case 1:
		return json_integer((json_int_t)lo);
	case 2:
		key = shard_key(si, suffix);
		kv = gguf_find_kv(si->f, key);
		free(key);
		arr = json_array();
		for (i = 0; i < kv->arr_n; i++)
			if (gguf_arr_i32(kv, i, &x) == 0)
				json_array_append_new(arr, json_integer(x));
		return arr;
	}
	return json_null();
}

/* Classifies a tensor; *block is set for tensors inside a block. */
static enum shard_group
shard_classify(const char *name, uint64_t n_blocks, int64_t *block)
{
	const char *dot, *rest;
	size_t i, len;
	uint64_t b;

	*block = -1;
	if (strcmp(name, "token_embd.weight") == 0)
		return SHARD_TOKEN_EMBD;
	if (strcmp(name, "output.weight") == 0)
		return SHARD_OUTPUT;
	if (strcmp(name, "output_norm.weight") == 0 ||
	    strcmp(name, "output_norm.bias") == 0)
		return SHARD_NORM;
	if (gguf_tensor_block(name, n_blocks, &b, &rest) != 0)
		return SHARD_OTHER;
	*block = (int64_t)b;
	if ((dot = strrchr(rest, '.')) == NULL)
		return SHARD_OTHER;
	len = dot - rest;
	for (i = 0; i < sizeof(shard_kinds) / sizeof(shard_kinds[0]); i++)
		if (strlen(shard_kinds[i].kind) == len &&
		    strncmp(shard_kinds[i].kind, rest, len) == 0)
			return shard_kinds[i].group;
	return SHARD_OTHER;
}

static void
shard_tally(struct shard_info *si)
{
	const struct gguf_tensor *t;
	struct shard_group_stat *g;
	enum shard_group grp;
	int64_t block;
	uint64_t i;

	si->block_bytes = xcalloc(si->n_blocks ? si->n_blocks : 1,
	    sizeof(*si->block_bytes));
	for (i = 0; i < si->f->n_tensors; i++) {
		t = &si->f->tensors[i];
		grp = shard_classify(t->name, si->n_blocks, &block);
		g = &si->groups[grp];
		g->n_tensors++;
		g->bytes += t->n_bytes;
		if (t->type < SHARD_NTYPES)
			g->type_bytes[t->type] += t->n_bytes;
		if (block >= 0)
			si->block_bytes[block] += t->n_bytes;
		else
			si->outside_bytes += t->n_bytes;
		si->tensor_bytes += t->n_bytes;
	}
}

static void
shard_block_stats(const struct shard_info *si, uint64_t *avg, uint64_t *max,
    uint64_t *max_block)
{
	uint64_t i, sum = 0;

	*avg = *max = *max_block = 0;
	for (i = 0; i < si->n_blocks; i++) {
		sum += si->block_bytes[i];
		if (si->block_bytes[i] > *max) {
			*max = si->block_bytes[i];
			*max_block = i;
		}
	}
	if (si->n_blocks > 0)
		*avg = sum / si->n_blocks;
}

static void
shard_human(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", n);
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* "Q4_K, Q6_K" */
static void
shard_types(const struct shard_group_stat *g, char *buf, size_t len)
{
	size_t used = 0;
	int t, n;
	const char *name;

	buf[0] = '\0';
	for (t = 0; t < SHARD_NTYPES; t++) {
		if (g->type_bytes[t] == 0)
			continue;
		name = gguf_type_name(t);
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
		    name ? name : "?");
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += n;
	}
}

static void
shard_print_u64(const char *label, int ok, uint64_t v)
{
	if (ok)
		printf("%-15s %" PRIu64 "\n", label, v);
	else
		printf("%-15s -\n", label);
}

static void
shard_print_text(const struct shard_info *si, const char *path)
{
	const struct gguf_file *f = si->f;
	const struct gguf_kv *kv;
	char *s, *s2, hb[32], types[128];
	uint64_t v = 0, heads = 0, embd = 0, avg, max, maxb;
	int has_heads, has_embd, ok, i;
	uint32_t ft;
	float x;

	printf("%-15s %s\n", "file", path);
	shard_human(f->map_size, hb, sizeof(hb));
	printf("%-15s GGUF v%u, %" PRIu64 " tensors, %" PRIu64 " metadata "
	    "keys, %s\n", "format", f->version, f->n_tensors, f->n_kv, hb);
	printf("%-15s %s\n", "architecture", si->arch);
	s = gguf_get_strdup(f, "general.name");
	printf("%-15s %s\n", "name", s ? s : "-");
	free(s);
	if (gguf_get_u32(f, "general.file_type", &ft) == 0)
		printf("%-15s %s (%u)\n", "file type",
		    gguf_ftype_name(ft) ? gguf_ftype_name(ft) : "unknown", ft);
	else
		printf("%-15s -\n", "file type");
	/* Each getter runs before its print: argument order is unspecified. */
	has_embd = shard_u64(si, "embedding_length", &embd) == 0;
	shard_print_u64("embedding", has_embd, embd);
	shard_print_dim(si, "ffn", "feed_forward_length");
	shard_print_dim(si, "heads", "attention.head_count");
	shard_print_dim(si, "kv heads", "attention.head_count_kv");
	has_heads = shard_u64(si, "attention.head_count", &heads) == 0;
	if (shard_u64(si, "attention.key_length", &v) == 0)
		shard_print_u64("head dim", 1, v);
	else
		shard_print_u64("head dim", has_heads && has_embd && heads > 0,
		    heads ? embd / heads : 0);
	shard_print_u64("blocks", si->has_blocks, si->meta_blocks);
	ok = shard_u64(si, "context_length", &v) == 0;
	shard_print_u64("context", ok, v);

	printf("%-15s", "rope");
	if (shard_f32(si, "rope.freq_base", &x) == 0)
		printf(" theta %g,", x);
	else
		printf(" theta -,");
	if (shard_u64(si, "rope.dimension_count", &v) == 0)
		printf(" dims %" PRIu64 ",", v);
	else
		printf(" dims -,");
	s = shard_str(si, "rope.scaling.type");
	if (s != NULL && strcmp(s, "none") != 0) {
		printf(" scaling %s", s);
		if (shard_f32(si, "rope.scaling.factor", &x) == 0)
			printf(" x%g", x);
		if (shard_u64(si, "rope.scaling.original_context_length",
		    &v) == 0)
			printf(" from %" PRIu64, v);
	} else {
		printf(" scaling none");
	}
	free(s);
	if (gguf_find_tensor(f, "rope_freqs.weight") != NULL)
		printf(", frequency factors");
	printf("\n");

	s = gguf_get_strdup(f, "tokenizer.ggml.model");
	s2 = gguf_get_strdup(f, "tokenizer.ggml.pre");
	kv = gguf_find_kv(f, "tokenizer.ggml.tokens");
	printf("%-15s %s", "vocabulary", s ? s : "-");
	if (s2 != NULL)
		printf(" (%s)", s2);
	if (kv != NULL && kv->type == GGUF_VALUE_ARRAY)
		printf(", %" PRIu64 " tokens", kv->arr_n);
	if (gguf_get_u64(f, "tokenizer.ggml.bos_token_id", &v) == 0)
		printf(", BOS %" PRIu64, v);
	if (gguf_get_u64(f, "tokenizer.ggml.eos_token_id", &v) == 0)
		printf(", EOS %" PRIu64, v);
	printf("\n");
	free(s);
	free(s2);
	kv = gguf_find_kv(f, "tokenizer.chat_template");
	if (kv != NULL && kv->type == GGUF_VALUE_STRING)
		printf("%-15s yes (%" PRIu64 " bytes)\n", "chat template",
		    kv->str.len);
	else
		printf("%-15s no\n", "chat template");

	if (f->n_tensors == 0)
		printf("\n%-15s none (a vocabulary-only file)\n", "tensors");
	else
		printf("\n%-18s %7s  %-16s %12s\n", "tensors", "count",
		    "types", "bytes");
	for (i = 0; i < SHARD_NGROUPS; i++) {
		const struct shard_group_stat *g = &si->groups[i];

		if (g->n_tensors == 0)
			continue;
		shard_types(g, types, sizeof(types));
		shard_human(g->bytes, hb, sizeof(hb));
		printf("%-18s %7" PRIu64 "  %-16s %12s\n",
		    shard_groups[i].label, g->n_tensors, types, hb);
	}
	shard_block_stats(si, &avg, &max, &maxb);
	printf("\n");
	if (si->n_blocks > 0) {
		shard_human(avg, hb, sizeof(hb));
		printf("%-15s %s average", "per block", hb);
		shard_human(max, hb, sizeof(hb));
		printf(", %s max (block %" PRIu64 ")\n", hb, maxb);
	}
	shard_human(si->outside_bytes, hb, sizeof(hb));
	printf("%-15s %s\n", "outside blocks", hb);
	shard_human(si->tensor_bytes, hb, sizeof(hb));
	printf("%-15s %s in tensors", "total", hb);
	shard_human(f->map_size, hb, sizeof(hb));
	printf(", %s file\n", hb);
	if (si->n_blocks > 0) {
		shard_human(avg, hb, sizeof(hb));
		printf("%-15s about k x %s of weights\n", "serving k blocks",
		    hb);
	}
}

/* The shortest decimal that reads back as the same float, so 1e-6 stays
 * 1e-6 rather than 9.99999997e-07. */
static json_t *
shard_json_f32(float x)
{
	char buf[32];
	int prec;

	for (prec = 6; prec < 9; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, x);
		if (strtof(buf, NULL) == x)
			break;
	}
	snprintf(buf, sizeof(buf), "%.*g", prec, x);
	return json_real(strtod(buf, NULL));
}

static json_t *
shard_json_u64(const struct shard_info *si, const char *suffix)
{
	uint64_t v;

	return shard_u64(si, suffix, &v) == 0 ? json_integer((json_int_t)v) :
	    json_null();
}

static json_t *
shard_json_str(char *s)
{
	json_t *j = s != NULL ? json_string(s) : json_null();

	free(s);
	/* json_string refuses invalid UTF-8: metadata need not be valid. */
	return j != NULL ? j : json_null();
}

static json_t *
shard_json_kv_u64(const struct gguf_file *f, const char *key)
{
	uint64_t v;

	return gguf_get_u64(f, key, &v) == 0 ? json_integer((json_int_t)v) :
	    json_null();
}

static int
shard_print_json(const struct shard_info *si, const char *path)
{
	const struct gguf_file *f = si->f;
	const struct gguf_kv *kv;
	json_t *root, *rope, *scaling, *vocab, *groups, *g, *types, *blocks;
	json_t *per_block;
	uint64_t v, heads, embd, avg, max, maxb, i;
	uint32_t ft;
	float x;
	char *s;
	int t, rc;

	root = json_object();
	json_object_set_new(root, "file", shard_json_str(xstrdup(path)));
	json_object_set_new(root, "file_bytes", json_integer(f->map_size));
	json_object_set_new(root, "gguf_version", json_integer(f->version));
	json_object_set_new(root, "tensor_count", json_integer(f->n_tensors));
	json_object_set_new(root, "metadata_count", json_integer(f->n_kv));
	json_object_set_new(root, "architecture", shard_json_str(
	    xstrdup(si->arch)));
	json_object_set_new(root, "name", shard_json_str(
	    gguf_get_strdup(f, "general.name")));
	if (gguf_get_u32(f, "general.file_type", &ft) == 0) {
		json_object_set_new(root, "file_type", json_integer(ft));
		json_object_set_new(root, "file_type_name",
		    gguf_ftype_name(ft) ? json_string(gguf_ftype_name(ft)) :
		    json_null());
	} else {
		json_object_set_new(root, "file_type", json_null());
		json_object_set_new(root, "file_type_name", json_null());
	}
	json_object_set_new(root, "embedding_length",
	    shard_json_u64(si, "embedding_length"));
	json_object_set_new(root, "feed_forward_length",
	    shard_json_dim(si, "feed_forward_length"));
	json_object_set_new(root, "head_count",
	    shard_json_dim(si, "attention.head_count"));
	json_object_set_new(root, "head_count_kv",
	    shard_json_dim(si, "attention.head_count_kv"));
	if (shard_u64(si, "attention.key_length", &v) == 0)
		json_object_set_new(root, "head_dim", json_integer(v));
	else if (shard_u64(si, "attention.head_count", &heads) == 0 &&
	    heads > 0 && shard_u64(si, "embedding_length", &embd) == 0)
		json_object_set_new(root, "head_dim", json_integer(embd / heads));
	else
		json_object_set_new(root, "head_dim", json_null());
	json_object_set_new(root, "block_count", si->has_blocks ?
	    json_integer(si->meta_blocks) : json_null());
	json_object_set_new(root, "context_length",
	    shard_json_u64(si, "context_length"));
	if (shard_f32(si, "attention.layer_norm_rms_epsilon", &x) == 0)
		json_object_set_new(root, "rms_norm_eps", shard_json_f32(x));

	rope = json_object();
	json_object_set_new(rope, "freq_base",
	    shard_f32(si, "rope.freq_base", &x) == 0 ? shard_json_f32(x) :
	    json_null());
	json_object_set_new(rope, "dimension_count",
	    shard_json_u64(si, "rope.dimension_count"));
	s = shard_str(si, "rope.scaling.type");
	if (s != NULL && strcmp(s, "none") != 0) {
		scaling = json_object();
		json_object_set_new(scaling, "type", shard_json_str(s));
		json_object_set_new(scaling, "factor",
		    shard_f32(si, "rope.scaling.factor", &x) == 0 ?
		    shard_json_f32(x) : json_null());
		json_object_set_new(scaling, "original_context_length",
		    shard_json_u64(si, "rope.scaling.original_context_length"));
	} else {
		free(s);
		scaling = json_null();
	}
	json_object_set_new(rope, "scaling", scaling);
	json_object_set_new(rope, "freq_factors", json_boolean(
	    gguf_find_tensor(f, "rope_freqs.weight") != NULL));
	json_object_set_new(root, "rope", rope);

	vocab = json_object();
	json_object_set_new(vocab, "model", shard_json_str(
	    gguf_get_strdup(f, "tokenizer.ggml.model")));
	json_object_set_new(vocab, "pre", shard_json_str(
	    gguf_get_strdup(f, "tokenizer.ggml.pre")));
	kv = gguf_find_kv(f, "tokenizer.ggml.tokens");
	json_object_set_new(vocab, "size", kv != NULL &&
	    kv->type == GGUF_VALUE_ARRAY ? json_integer(kv->arr_n) :
	    json_null());
	json_object_set_new(vocab, "bos_token_id",
	    shard_json_kv_u64(f, "tokenizer.ggml.bos_token_id"));
	json_object_set_new(vocab, "eos_token_id",
	    shard_json_kv_u64(f, "tokenizer.ggml.eos_token_id"));
	json_object_set_new(root, "vocab", vocab);
	kv = gguf_find_kv(f, "tokenizer.chat_template");
	json_object_set_new(root, "chat_template", json_boolean(kv != NULL &&
	    kv->type == GGUF_VALUE_STRING));

	groups = json_object();
	for (i = 0; i < SHARD_NGROUPS; i++) {
		const struct shard_group_stat *gs = &si->groups[i];

		if (gs->n_tensors == 0)
			continue;
		g = json_object();
		types = json_object();
		for (t = 0; t < SHARD_NTYPES; t++)
			if (gs->type_bytes[t] != 0)
				json_object_set_new(types, gguf_type_name(t) ?
				    gguf_type_name(t) : "?",
				    json_integer(gs->type_bytes[t]));
		json_object_set_new(g, "tensors", json_integer(gs->n_tensors));
		json_object_set_new(g, "bytes", json_integer(gs->bytes));
		json_object_set_new(g, "types", types);
		json_object_set_new(groups, shard_groups[i].key, g);
	}
	json_object_set_new(root, "groups", groups);

	shard_block_stats(si, &avg, &max, &maxb);
	blocks = json_object();
	per_block = json_array();
	for (i = 0; i < si->n_blocks; i++)
		json_array_append_new(per_block,
		    json_integer(si->block_bytes[i]));
	json_object_set_new(blocks, "average", json_integer(avg));
	json_object_set_new(blocks, "max", json_integer(max));
	json_object_set_new(blocks, "max_block", si->n_blocks ?
	    json_integer(maxb) : json_null());
	json_object_set_new(blocks, "per_block", per_block);
	json_object_set_new(root, "block_bytes", blocks);
	json_object_set_new(root, "outside_block_bytes",
	    json_integer(si->outside_bytes));
	json_object_set_new(root, "tensor_bytes", json_integer(si->tensor_bytes));

	rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(9));
	putchar('\n');
	json_decref(root);
	return rc == 0 ? EXIT_OK : cmd_error("cannot write JSON");
}

static int
cmd_shard_info_exec(struct cmd_args *a)
{
	struct shard_info si;
	struct gguf_file *f;
	char *cause = NULL;
	int rc;

	if ((f = gguf_open(a->argv[0], &cause)) == NULL)
		return cmd_fail(cause);
	memset(&si, 0, sizeof(si));
	si.f = f;
	if ((si.arch = gguf_get_strdup(f, "general.architecture")) == NULL) {
		gguf_close(f);
		return cmd_error("'%s': no general.architecture: not a model",
		    a->argv[0]);
	}
	si.has_blocks = shard_u64(&si, "block_count", &si.meta_blocks) == 0;
	/* Every block has tensors: a larger count is not one to size
	 * arrays by. */
	si.n_blocks = si.meta_blocks <= f->n_tensors ? si.meta_blocks :
	    f->n_tensors;
	shard_tally(&si);
	if (args_flag(a, "json"))
		rc = shard_print_json(&si, a->argv[0]);
	else {
		shard_print_text(&si, a->argv[0]);
		rc = EXIT_OK;
	}
	free(si.block_bytes);
	free(si.arch);
	gguf_close(f);
	return rc;
}

static const struct cmd_opt cmd_shard_info_opts[] = {
	{ 'j', "json", NULL, "print one JSON document" },
	{ 0, NULL, NULL, NULL },
};

const struct cmd_entry cmd_shard_info_entry = {
	.noun = "shard", .verb = "info",
	.usage = "[--json] model.gguf",
	.summary = "show a model's shape and what serving its blocks costs",
	.opts = cmd_shard_info_opts,
	.min_args = 1, .max_args = 1,
	.exec = cmd_shard_info_exec,
};
