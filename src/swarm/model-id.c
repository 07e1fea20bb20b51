/*
 * The model id. The readable part (name, quantization) is for people; the
 * hash is what keeps peers apart. A committed id's hash is BLAKE2b-128 of
 * the weights' digest, which covers the header bytes (the metadata and the
 * tensor table) and every tensor's bytes. A provisional id's hash is
 * BLAKE2b over a canonical listing: the architecture, every scalar
 * "<arch>.*" key sorted by name (the hyper-parameters), the vocabulary
 * size, and the tensors sorted by name with their types and shapes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/gguf.h"
#include "swarm/model-id.h"
#include "swarm/record.h"
#include "util/xmalloc.h"

#define MODEL_ID_HASH_HEX	12	/* provisional */
#define MODEL_ID_COMMIT_BYTES	16	/* 32 hex digits */
#define MODEL_ID_NAME_MAX	64

static int
model_id_cmp_kv(const void *a, const void *b, void *arg)
{
	const struct gguf_file *f = arg;

	return strcmp(f->kv[*(const uint64_t *)a].key,
	    f->kv[*(const uint64_t *)b].key);
}

static int
model_id_cmp_tensor(const void *a, const void *b, void *arg)
{
	const struct gguf_file *f = arg;

	return strcmp(f->tensors[*(const uint64_t *)a].name,
	    f->tensors[*(const uint64_t *)b].name);
}

static void
model_id_feed(crypto_generichash_state *st, const void *p, size_t n)
{
	uint64_t len = n;

	/* Length first, so that fields cannot run into each other. */
	crypto_generichash_update(st, (const uint8_t *)&len, sizeof(len));
	crypto_generichash_update(st, p, n);
}

static size_t
model_id_scalar_size(enum gguf_value_type t)
{
	switch (t) {
	case GGUF_VALUE_UINT8: case GGUF_VALUE_INT8: case GGUF_VALUE_BOOL:
		return 1;
	case GGUF_VALUE_UINT16: case GGUF_VALUE_INT16:
		return 2;
	case GGUF_VALUE_UINT32: case GGUF_VALUE_INT32: case GGUF_VALUE_FLOAT32:
		return 4;
	case GGUF_VALUE_UINT64: case GGUF_VALUE_INT64: case GGUF_VALUE_FLOAT64:
		return 8;
	default:
		return 0;
	}
}

/* Lower case, [a-z0-9._-] kept, runs of anything else as one '-'. */
static void
model_id_sanitize(const char *s, size_t len, char *out, size_t size)
{
	size_t i, o = 0;
	char c;

	for (i = 0; i < len && o + 1 < size; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			c = '-';
		if (c == '-' && (o == 0 || out[o - 1] == '-'))
			continue;
		out[o++] = c;
	}
	while (o > 0 && out[o - 1] == '-')
		o--;
	out[o] = '\0';
}

/* The quantization: general.file_type, else the type with most bytes. */
static void
model_id_quant(const struct gguf_file *f, char *out, size_t size)
{
	uint64_t bytes[64] = { 0 }, i, best = 0;
	uint32_t ft;
	const char *name;

	if (gguf_get_u32(f, "general.file_type", &ft) == 0 &&
	    (name = gguf_ftype_name(ft)) != NULL) {
		model_id_sanitize(name, strlen(name), out, size);
		return;
	}
	for (i = 0; i < f->n_tensors; i++) {
		if (f->tensors[i].type < 64)
			bytes[f->tensors[i].type] += f->tensors[i].n_bytes;
	}
	for (i = 1; i < 64; i++) {
		if (bytes[i] > bytes[best])
			best = i;
	}
	name = gguf_type_name((uint32_t)best);
	model_id_sanitize(name != NULL ? name : "unknown",
	    strlen(name != NULL ? name : "unknown"), out, size);
}

static void
model_id_hash(const struct gguf_file *f, const char *arch,
    uint8_t h[crypto_generichash_BYTES])
{
	crypto_generichash_state st;
	const struct gguf_kv *kv;
	const struct gguf_tensor *t;
	uint64_t *idx, i, n, vocab = 0;
	size_t prefix_len, sz;
	char *prefix;
	uint32_t u;

	if (sodium_init() < 0)
		abort();
	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
	model_id_feed(&st, "swarm-model-id-v1", 17);
	model_id_feed(&st, arch, strlen(arch));

	prefix = xasprintf("%s.", arch);
	prefix_len = strlen(prefix);
	n = f->n_kv > f->n_tensors ? f->n_kv : f->n_tensors;
	idx = xreallocarray(NULL, n > 0 ? n : 1, sizeof(*idx));

	/* The hyper-parameters: scalar "<arch>.*" keys. */
	for (i = n = 0; i < f->n_kv; i++) {
		if (strncmp(f->kv[i].key, prefix, prefix_len) == 0)
			idx[n++] = i;
	}
	qsort_r(idx, n, sizeof(*idx), model_id_cmp_kv, (void *)f);
	for (i = 0; i < n; i++) {
		kv = &f->kv[idx[i]];
		u = kv->type;
		if (kv->type == GGUF_VALUE_STRING) {
			model_id_feed(&st, kv->key, strlen(kv->key));
			model_id_feed(&st, &u, sizeof(u));
			model_id_feed(&st, kv->str.ptr, kv->str.len);
		} else if ((sz = model_id_scalar_size(kv->type)) != 0) {
			model_id_feed(&st, kv->key, strlen(kv->key));
			model_id_feed(&st, &u, sizeof(u));
			model_id_feed(&st, kv->data, sz);
		}
	}
	if ((kv = gguf_find_kv(f, "tokenizer.ggml.tokens")) != NULL &&
	    kv->type == GGUF_VALUE_ARRAY)
		vocab = kv->arr_n;
	model_id_feed(&st, &vocab, sizeof(vocab));

	/* The tensor table, without the data. */
	for (i = 0; i < f->n_tensors; i++)
		idx[i] = i;
	qsort_r(idx, f->n_tensors, sizeof(*idx), model_id_cmp_tensor,
	    (void *)f);
	for (i = 0; i < f->n_tensors; i++) {
		t = &f->tensors[idx[i]];
		model_id_feed(&st, t->name, strlen(t->name));
		model_id_feed(&st, &t->type, sizeof(t->type));
		model_id_feed(&st, &t->n_dims, sizeof(t->n_dims));
		model_id_feed(&st, t->ne, sizeof(t->ne));
	}
	crypto_generichash_final(&st, h, crypto_generichash_BYTES);
	free(idx);
	free(prefix);
}

static void
model_id_commit(const uint8_t weights[MODEL_ID_WEIGHTS_BYTES],
    uint8_t h[MODEL_ID_COMMIT_BYTES])
{
	crypto_generichash_state st;

	if (sodium_init() < 0)
		abort();
	crypto_generichash_init(&st, NULL, 0, MODEL_ID_COMMIT_BYTES);
	model_id_feed(&st, "swarm-model-id-v2", 17);
	model_id_feed(&st, weights, MODEL_ID_WEIGHTS_BYTES);
	crypto_generichash_final(&st, h, MODEL_ID_COMMIT_BYTES);
}

int
model_id_compute(const struct gguf_file *f, const uint8_t *weights,
    char *out, size_t size)
{
	char arch[MODEL_ID_NAME_MAX], name[MODEL_ID_NAME_MAX], quant[16];
	char hex[2 * crypto_generichash_BYTES + 1];
	uint8_t h[crypto_generichash_BYTES];
	int n_hex = MODEL_ID_HASH_HEX;
	struct gguf_str s;
	int n;

	if (gguf_get_str(f, "general.architecture", &s) == 0)
		model_id_sanitize(s.ptr, s.len, arch, sizeof(arch));
	else
		arch[0] = '\0';
	if (arch[0] == '\0')
		snprintf(arch, sizeof(arch), "unknown");
	if (gguf_get_str(f, "general.name", &s) == 0)
		model_id_sanitize(s.ptr, s.len, name, sizeof(name));
	else
		name[0] = '\0';
	if (name[0] == '\0')
		snprintf(name, sizeof(name), "%s", arch);
	model_id_quant(f, quant, sizeof(quant));
	if (weights != NULL) {
		model_id_commit(weights, h);
		n_hex = 2 * MODEL_ID_COMMIT_BYTES;
	} else
		model_id_hash(f, arch, h);
	for (n = 0; n < n_hex / 2; n++)
		snprintf(hex + 2 * n, 3, "%02x", h[n]);
	n = snprintf(out, size, "%s-%s-%s", name, quant, hex);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The hash after the last '-'; NULL when there is none. */
static const char *
model_id_tail(const char *id)
{
	const char *t = strrchr(id, '-');

	return t != NULL ? t + 1 : NULL;
}

int
model_id_committed(const char *id)
{
	const char *t = model_id_tail(id);
	size_t i;

	if (t == NULL || strlen(t) != 2 * MODEL_ID_COMMIT_BYTES)
		return 0;
	for (i = 0; t[i] != '\0'; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' &&
		    t[i] <= 'f')))
			return 0;
	return 1;
}

int
model_id_matches(const char *id, const uint8_t weights[MODEL_ID_WEIGHTS_BYTES])
{
	char hex[2 * MODEL_ID_COMMIT_BYTES + 1];
	uint8_t h[MODEL_ID_COMMIT_BYTES];
	size_t n;

	if (!model_id_committed(id))
		return 0;
	model_id_commit(weights, h);
	for (n = 0; n < MODEL_ID_COMMIT_BYTES; n++)
		snprintf(hex + 2 * n, 3, "%02x", h[n]);
	return strcmp(model_id_tail(id), hex) == 0;
}

int
model_id_valid(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' &&
		    s[n] <= '9') || s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return 0;
	}
	return n > 0 && n < MODEL_ID_MAX;
}

int
model_id_block_count(const struct gguf_file *f, uint32_t *n)
{
	char *arch, *key;
	int rc = -1;

	if ((arch = gguf_get_strdup(f, "general.architecture")) == NULL)
		return -1;
	key = xasprintf("%s.block_count", arch);
	if (gguf_get_u32(f, key, n) == 0 && *n > 0)
		rc = 0;
	free(key);
	free(arch);
	return rc;
}
