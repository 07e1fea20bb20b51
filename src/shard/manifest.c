/*
 * Manifests (manifest.h): made from a GGUF, kept as canonical JSON, read
 * back with every number checked, since a manifest may come from a peer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "core/gguf.h"
#include "shard/manifest.h"
#include "swarm/model-id.h"
#include "swarm/record.h"
#include "util/path.h"
#include "util/xmalloc.h"

#define MANIFEST_FORMAT		"swarm-manifest-2"	/* SHA-256 pieces */

/*
 * SHA-256, not BLAKE2b: hashing is most of a pull's CPU time, and the
 * SHA extensions of x86 and ARMv8 run it at twice the speed of the best
 * BLAKE2b (1.8 against 0.95 GB/s on one Zen 4 core).
 */
void
manifest_hash(const void *buf, size_t len, uint8_t out[MANIFEST_HASH_BYTES])
{
	unsigned int n = 0;

	if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != MANIFEST_HASH_BYTES)
		abort();
}

static enum manifest_role
manifest_role_of(const char *name, uint32_t n_blocks, uint32_t *block)
{
	uint64_t b;

	*block = MANIFEST_NO_BLOCK;
	if (gguf_tensor_block(name, n_blocks, &b, NULL) == 0) {
		*block = (uint32_t)b;
		return MANIFEST_ROLE_BLOCK;
	}
	if (strcmp(name, "token_embd.weight") == 0 ||
	    strcmp(name, "output_norm.weight") == 0 ||
	    strcmp(name, "output.weight") == 0)
		return MANIFEST_ROLE_HEAD;
	return MANIFEST_ROLE_OTHER;
}

/* Cuts the header and the tensors into pieces; checks they fit the file. */
static int
manifest_layout(struct manifest *m, char **cause)
{
	struct manifest_tensor *t;
	size_t i, n = 1, k;
	uint64_t off;

	if (m->header_size == 0 || m->header_size > m->file_size)
		return set_cause(cause, "header of %llu bytes does not fit a "
		    "file of %llu", (unsigned long long)m->header_size,
		    (unsigned long long)m->file_size);
	for (i = 0; i < m->n_tensors; i++) {
		t = &m->tensors[i];
		if (t->offset < m->header_size || t->offset > m->file_size ||
		    t->size > m->file_size - t->offset)
			return set_cause(cause, "tensor '%s' lies outside the "
			    "file", t->name);
		t->role = manifest_role_of(t->name, m->n_blocks, &t->block);
		t->first_piece = n;
		t->n_pieces = (size_t)((t->size + MANIFEST_PIECE_BYTES - 1) /
		    MANIFEST_PIECE_BYTES);
		n += t->n_pieces;
		if (n > MANIFEST_MAX_PIECES)
			return set_cause(cause, "too many pieces");
	}
	m->n_pieces = n;
	m->pieces = xcalloc(n, sizeof(*m->pieces));
	m->pieces[0].size = m->header_size;
	m->pieces[0].tensor = SIZE_MAX;
	for (i = 0; i < m->n_tensors; i++) {
		t = &m->tensors[i];
		for (k = 0, off = 0; k < t->n_pieces; k++) {
			struct manifest_piece *p = &m->pieces[t->first_piece + k];

			p->offset = t->offset + off;
			p->size = t->size - off < MANIFEST_PIECE_BYTES ?
			    t->size - off : MANIFEST_PIECE_BYTES;
			p->tensor = i;
			off += p->size;
		}
	}
	return 0;
}

/* The id: committed to the weights when every piece's hash is known. */
static int
manifest_names(struct manifest *m, const struct gguf_file *f, char **cause)
{
	uint8_t w[MANIFEST_HASH_BYTES];
	char id[MODEL_ID_MAX];
	int whole = manifest_weights(m, w) == 0;

	if (model_id_compute(f, whole ? w : NULL, id, sizeof(id)) != 0 ||
	    model_id_block_count(f, &m->n_blocks) != 0)
		return set_cause(cause, "'%s': cannot tell the model's id and "
		    "blocks", f->path);
	m->id = xstrdup(id);
	if ((m->name = gguf_get_strdup(f, "general.name")) == NULL)
		m->name = xstrdup(id);
	return 0;
}

int
manifest_from_gguf(struct manifest *m, const struct gguf_file *f,
    uint64_t file_size, int hash_data, char **cause)
{
	struct manifest_piece *p;
	uint64_t i;

	memset(m, 0, sizeof(*m));
	if (f->n_tensors > MANIFEST_MAX_TENSORS) {
		set_cause(cause, "'%s': too many tensors", f->path);
		goto fail;
	}
	if (model_id_block_count(f, &m->n_blocks) != 0) {
		set_cause(cause, "'%s': cannot tell the model's blocks",
		    f->path);
		goto fail;
	}
	m->file_size = file_size;
	m->header_size = f->data_offset;
	m->n_tensors = f->n_tensors;
	m->tensors = xcalloc(m->n_tensors ? m->n_tensors : 1,
	    sizeof(*m->tensors));
	for (i = 0; i < f->n_tensors; i++) {
		const struct gguf_tensor *g = &f->tensors[i];
		struct manifest_tensor *t = &m->tensors[i];

		t->name = xstrdup(g->name);
		t->type = g->type;
		t->n_dims = g->n_dims;
		memcpy(t->ne, g->ne, sizeof(t->ne));
		t->offset = f->data_offset + g->offset;
		t->size = g->n_bytes;
	}
	if (manifest_layout(m, cause) != 0)
		goto fail;
	for (i = 0; i < m->n_pieces; i++) {
		p = &m->pieces[i];
		if (i > 0 && !hash_data)
			break;
		if (p->offset + p->size > f->map_size) {
			set_cause(cause, "'%s': shorter than its tensors", f->path);
			goto fail;
		}
		manifest_hash(f->map + p->offset, p->size, p->hash);
		p->known = 1;
	}
	if (manifest_names(m, f, cause) != 0)
		goto fail;
	return 0;
fail:
	manifest_release(m);
	return -1;
}

void
manifest_release(struct manifest *m)
{
	size_t i;

	for (i = 0; i < m->n_tensors; i++)
		free(m->tensors[i].name);
	free(m->tensors);
	free(m->pieces);
	free(m->id);
	free(m->name);
	memset(m, 0, sizeof(*m));
}

static json_t *
manifest_hash_json(const struct manifest_piece *p)
{
	char hex[2 * MANIFEST_HASH_BYTES + 1];

	if (!p->known)
		return json_null();
	sodium_bin2hex(hex, sizeof(hex), p->hash, MANIFEST_HASH_BYTES);
	return json_string(hex);
}

json_t *
manifest_to_json(const struct manifest *m)
{
	json_t *o = json_object(), *ts = json_array(), *t, *shape, *ps;
	const struct manifest_tensor *mt;
	size_t i, k;

	json_object_set_new(o, "format", json_string(MANIFEST_FORMAT));
	json_object_set_new(o, "id", json_string(m->id));
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "file_size", json_integer((json_int_t)m->file_size));
	json_object_set_new(o, "header_size",
	    json_integer((json_int_t)m->header_size));
	json_object_set_new(o, "piece_size", json_integer(MANIFEST_PIECE_BYTES));
	json_object_set_new(o, "blocks", json_integer(m->n_blocks));
	json_object_set_new(o, "header", manifest_hash_json(&m->pieces[0]));
	for (i = 0; i < m->n_tensors; i++) {
		mt = &m->tensors[i];
		t = json_object();
		shape = json_array();
		for (k = 0; k < mt->n_dims; k++)
			json_array_append_new(shape, json_integer(
			    (json_int_t)mt->ne[k]));
		ps = json_array();
		for (k = 0; k < mt->n_pieces; k++)
			json_array_append_new(ps, manifest_hash_json(
			    &m->pieces[mt->first_piece + k]));
		json_object_set_new(t, "name", json_string(mt->name));
		json_object_set_new(t, "type", json_integer(mt->type));
		json_object_set_new(t, "shape", shape);
		json_object_set_new(t, "offset", json_integer(
		    (json_int_t)mt->offset));
		json_object_set_new(t, "size", json_integer((json_int_t)mt->size));
		json_object_set_new(t, "pieces", ps);
		json_array_append_new(ts, t);
	}
	json_object_set_new(o, "tensors", ts);
	return o;
}

static int
manifest_u64(const json_t *o, const char *key, uint64_t max, uint64_t *v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) > max)
		return -1;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

static int
manifest_hash_from_json(const json_t *j, struct manifest_piece *p)
{
	const char *s;
	size_t n;

	if (json_is_null(j))
		return 0;
	if ((s = json_string_value(j)) == NULL || strlen(s) !=
	    2 * MANIFEST_HASH_BYTES || sodium_hex2bin(p->hash,
	    MANIFEST_HASH_BYTES, s, strlen(s), NULL, &n, NULL) != 0 ||
	    n != MANIFEST_HASH_BYTES)
		return -1;
	p->known = 1;
	return 0;
}

static int
manifest_tensor_from_json(struct manifest_tensor *t, const json_t *o)
{
	const json_t *shape = json_object_get(o, "shape");
	const char *name = json_string_value(json_object_get(o, "name"));
	uint64_t v, k;

	if (name == NULL || strlen(name) > 256 || !json_is_array(shape) ||
	    json_array_size(shape) < 1 || json_array_size(shape) > 4)
		return -1;
	t->name = xstrdup(name);
	if (manifest_u64(o, "type", 1024, &v) != 0)
		return -1;
	t->type = (uint32_t)v;
	t->n_dims = (uint32_t)json_array_size(shape);
	for (k = 0; k < 4; k++) {
		t->ne[k] = 1;
		if (k < t->n_dims) {
			json_t *d = json_array_get(shape, k);

			if (!json_is_integer(d) || json_integer_value(d) < 1)
				return -1;
			t->ne[k] = (uint64_t)json_integer_value(d);
		}
	}
	if (manifest_u64(o, "offset", INT64_MAX, &t->offset) != 0 ||
	    manifest_u64(o, "size", INT64_MAX, &t->size) != 0)
		return -1;
	return 0;
}

static int
manifest_hashes_from_json(struct manifest *m, const json_t *ts,
    const json_t *o, char **cause)
{
	const struct manifest_tensor *t;
	const json_t *ps;
	size_t i, k;

	if (manifest_hash_from_json(json_object_get(o, "header"),
	    &m->pieces[0]) != 0)
		return set_cause(cause, "manifest: bad header hash");
	for (i = 0; i < m->n_tensors; i++) {
		t = &m->tensors[i];
		ps = json_object_get(json_array_get(ts, i), "pieces");
		if (!json_is_array(ps) || json_array_size(ps) != t->n_pieces)
			return set_cause(cause, "manifest: tensor '%s' has the "
			    "wrong number of pieces", t->name);
		for (k = 0; k < t->n_pieces; k++)
			if (manifest_hash_from_json(json_array_get(ps, k),
			    &m->pieces[t->first_piece + k]) != 0)
				return set_cause(cause, "manifest: bad hash in "
				    "tensor '%s'", t->name);
	}
	return 0;
}

int
manifest_from_json(struct manifest *m, const json_t *o, char **cause)
{
	const json_t *ts = json_object_get(o, "tensors");
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *name = json_string_value(json_object_get(o, "name"));
	uint8_t w[MANIFEST_HASH_BYTES];
	uint64_t v;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!json_is_string(json_object_get(o, "format")) || strcmp(
	    json_string_value(json_object_get(o, "format")), MANIFEST_FORMAT)
	    != 0 || id == NULL || !model_id_valid(id) || name == NULL ||
	    strlen(name) > 256 ||
	    !json_is_array(ts) || json_array_size(ts) > MANIFEST_MAX_TENSORS ||
	    manifest_u64(o, "file_size", INT64_MAX, &m->file_size) != 0 ||
	    manifest_u64(o, "header_size", INT64_MAX, &m->header_size) != 0 ||
	    manifest_u64(o, "piece_size", UINT64_MAX, &v) != 0 ||
	    v != MANIFEST_PIECE_BYTES ||
	    manifest_u64(o, "blocks", 4096, &v) != 0) {
		set_cause(cause, "not a manifest of this version");
		goto fail;
	}
	m->n_blocks = (uint32_t)v;
	m->id = xstrdup(id);
	m->name = xstrdup(name);
	m->n_tensors = json_array_size(ts);
	m->tensors = xcalloc(m->n_tensors ? m->n_tensors : 1,
	    sizeof(*m->tensors));
	for (i = 0; i < m->n_tensors; i++)
		if (manifest_tensor_from_json(&m->tensors[i],
		    json_array_get(ts, i)) != 0) {
			set_cause(cause, "manifest: bad tensor %zu", i);
			goto fail;
		}
	if (manifest_layout(m, cause) != 0 ||
	    manifest_hashes_from_json(m, ts, o, cause) != 0)
		goto fail;
	if (model_id_committed(m->id) && (manifest_weights(m, w) != 0 ||
	    !model_id_matches(m->id, w))) {
		set_cause(cause, "manifest: its hashes are not those of '%s'",
		    m->id);
		goto fail;
	}
	return 0;
fail:
	manifest_release(m);
	return -1;
}

int
manifest_load(struct manifest *m, const char *path, char **cause)
{
	json_error_t err;
	json_t *o;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((o = json_load_file(path, 0, &err)) == NULL)
		return set_cause(cause, "cannot read '%s': %s", path, err.text);
	rc = manifest_from_json(m, o, cause);
	json_decref(o);
	return rc;
}

int
manifest_save(const struct manifest *m, const char *path, char **cause)
{
	json_t *o = manifest_to_json(m);
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc;

	json_decref(o);
	rc = path_write_atomic(path, text, cause);
	free(text);
	return rc;
}

int
manifest_complete(const struct manifest *m)
{
	size_t i;

	for (i = 0; i < m->n_pieces; i++)
		if (!m->pieces[i].known)
			return 0;
	return 1;
}

int
manifest_weights(const struct manifest *m, uint8_t out[MANIFEST_HASH_BYTES])
{
	crypto_generichash_state st;
	uint64_t v[3];
	size_t i;

	if (m->n_pieces == 0 || !manifest_complete(m))
		return -1;
	if (sodium_init() < 0)
		abort();
	crypto_generichash_init(&st, NULL, 0, MANIFEST_HASH_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)"swarm-weights-1", 15);
	v[0] = m->file_size;
	v[1] = m->header_size;
	v[2] = m->n_pieces;
	crypto_generichash_update(&st, (const uint8_t *)v, sizeof(v));
	for (i = 0; i < m->n_pieces; i++) {
		v[0] = m->pieces[i].offset;
		v[1] = m->pieces[i].size;
		crypto_generichash_update(&st, (const uint8_t *)v,
		    2 * sizeof(v[0]));
		crypto_generichash_update(&st, m->pieces[i].hash,
		    MANIFEST_HASH_BYTES);
	}
	crypto_generichash_final(&st, out, MANIFEST_HASH_BYTES);
	return 0;
}

void
manifest_digest(const struct manifest *m, char *out, size_t size)
{
	json_t *o = manifest_to_json(m);
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	uint8_t h[MANIFEST_HASH_BYTES];

	manifest_hash(text, strlen(text), h);
	sodium_bin2hex(out, size, h, sizeof(h));
	free(text);
	json_decref(o);
}

int
manifest_same_file(const struct manifest *a, const struct manifest *b)
{
	size_t i;

	if (strcmp(a->id, b->id) != 0 || a->file_size != b->file_size ||
	    a->header_size != b->header_size || a->n_pieces != b->n_pieces ||
	    a->n_tensors != b->n_tensors)
		return 0;
	for (i = 0; i < a->n_tensors; i++)
		if (strcmp(a->tensors[i].name, b->tensors[i].name) != 0 ||
		    a->tensors[i].offset != b->tensors[i].offset ||
		    a->tensors[i].size != b->tensors[i].size)
			return 0;
	for (i = 0; i < a->n_pieces; i++)
		if (a->pieces[i].known && b->pieces[i].known &&
		    memcmp(a->pieces[i].hash, b->pieces[i].hash,
		    MANIFEST_HASH_BYTES) != 0)
			return 0;
	return 1;
}

int
manifest_piece_check(const struct manifest *m, size_t i, const void *buf,
    size_t len)
{
	uint8_t h[MANIFEST_HASH_BYTES];

	if (i >= m->n_pieces || !m->pieces[i].known)
		return -1;
	if (len != m->pieces[i].size)
		return 0;
	manifest_hash(buf, len, h);
	return sodium_memcmp(h, m->pieces[i].hash, MANIFEST_HASH_BYTES) == 0;
}

uint64_t
manifest_want(const struct manifest *m, uint32_t a, uint32_t b, int head,
    uint8_t *want)
{
	const struct manifest_tensor *t;
	uint64_t bytes = m->header_size;
	size_t i, k;
	int take;

	want[0] = 1;
	for (i = 0; i < m->n_tensors; i++) {
		t = &m->tensors[i];
		if (t->role == MANIFEST_ROLE_BLOCK)
			take = t->block >= a && t->block < b;
		else if (t->role == MANIFEST_ROLE_HEAD)
			take = head;
		else
			take = 1;
		if (!take)
			continue;
		for (k = 0; k < t->n_pieces; k++)
			want[t->first_piece + k] = 1;
		bytes += t->size;
	}
	return bytes;
}
