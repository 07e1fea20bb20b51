/*
 * Manifests (src/shard/manifest.c): the pieces of a real model never span
 * two tensors and cover every tensor byte once; the JSON form reads back
 * the same; hostile manifests (a tensor past the end, a wrong number of
 * hashes, a bad hash, a huge piece size, another piece's hash under the
 * same id) are refused; the span a pull wants; the id of a complete
 * manifest commits to the weights (one byte flipped in a tensor: another
 * id), an incomplete one's is provisional.
 */
#include <jansson.h>

#include "core/gguf.h"
#include "shard/manifest.h"
#include "swarm/model-id.h"
#include "test.h"

static struct gguf_file *
test_open(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/stories260K.gguf", test_models_dir());
	return gguf_open(path, NULL);
}

static void
test_layout(void)
{
	struct gguf_file *f = test_open();
	struct manifest m;
	const struct manifest_piece *p;
	uint64_t covered = 0, tensors = 0;
	size_t i;

	CHECK(f != NULL);
	CHECK(manifest_from_gguf(&m, f, f->map_size, 1, NULL) == 0);
	CHECK(m.n_blocks == 5 && m.header_size == f->data_offset);
	CHECK(manifest_complete(&m));
	for (i = 1; i < m.n_pieces; i++) {
		p = &m.pieces[i];
		const struct manifest_tensor *t = &m.tensors[p->tensor];

		CHECK(p->size > 0 && p->size <= MANIFEST_PIECE_BYTES);
		CHECK(p->offset >= t->offset && p->offset + p->size <=
		    t->offset + t->size);
		CHECK(manifest_piece_check(&m, i, f->map + p->offset,
		    p->size) == 1);
		covered += p->size;
	}
	for (i = 0; i < m.n_tensors; i++)
		tensors += m.tensors[i].size;
	CHECK(covered == tensors);
	manifest_release(&m);
	gguf_close(f);
}

static void
test_json_round_trip(void)
{
	struct gguf_file *f = test_open();
	struct manifest m, back;
	char d1[65], d2[65];
	json_t *o;

	CHECK(f != NULL);
	CHECK(manifest_from_gguf(&m, f, f->map_size, 1, NULL) == 0);
	o = manifest_to_json(&m);
	CHECK(manifest_from_json(&back, o, NULL) == 0);
	CHECK(manifest_same_file(&m, &back));
	manifest_digest(&m, d1, sizeof(d1));
	manifest_digest(&back, d2, sizeof(d2));
	CHECK(strcmp(d1, d2) == 0);
	/* one flipped hash changes the digest and the same-file answer */
	back.pieces[3].hash[0] ^= 1;
	manifest_digest(&back, d2, sizeof(d2));
	CHECK(strcmp(d1, d2) != 0);
	CHECK(!manifest_same_file(&m, &back));
	json_decref(o);
	manifest_release(&back);
	manifest_release(&m);
	gguf_close(f);
}

/* The manifest of stories260K with one change made by edit; parsed. */
static int
test_hostile(void (*edit)(json_t *), char **cause)
{
	struct gguf_file *f = test_open();
	struct manifest m, back;
	json_t *o;
	int rc;

	if (f == NULL || manifest_from_gguf(&m, f, f->map_size, 1, NULL) != 0)
		return 0;
	o = manifest_to_json(&m);
	edit(o);
	rc = manifest_from_json(&back, o, cause);
	if (rc == 0)
		manifest_release(&back);
	json_decref(o);
	manifest_release(&m);
	gguf_close(f);
	return rc;
}

static json_t *
test_tensor0(json_t *o)
{
	return json_array_get(json_object_get(o, "tensors"), 0);
}

static void
edit_past_end(json_t *o)
{
	json_object_set_new(test_tensor0(o), "offset",
	    json_integer(json_integer_value(json_object_get(o, "file_size"))));
}

static void
edit_pieces(json_t *o)
{
	json_array_append_new(json_object_get(test_tensor0(o), "pieces"),
	    json_null());
}

static void
edit_hash(json_t *o)
{
	json_array_set_new(json_object_get(test_tensor0(o), "pieces"), 0,
	    json_string("zz"));
}

static void
edit_piece_size(json_t *o)
{
	json_object_set_new(o, "piece_size", json_integer(1LL << 40));
}

static void
edit_huge(json_t *o)
{
	json_object_set_new(test_tensor0(o), "size", json_integer(1LL << 62));
}

/* A piece's hash replaced by another's: the id no longer matches. */
static void
edit_swap_hash(json_t *o)
{
	json_t *ps = json_object_get(test_tensor0(o), "pieces");

	json_array_set(ps, 0, json_object_get(o, "header"));
}

static void
test_hostile_refused(void)
{
	char *cause = NULL;

	CHECK(test_hostile(edit_past_end, &cause) == -1);
	CHECKF(strstr(cause, "outside the file") != NULL, "%s", cause);
	free(cause);
	CHECK(test_hostile(edit_pieces, NULL) == -1);
	CHECK(test_hostile(edit_hash, NULL) == -1);
	CHECK(test_hostile(edit_piece_size, NULL) == -1);
	CHECK(test_hostile(edit_huge, NULL) == -1);
	CHECK(test_hostile(edit_swap_hash, &cause) == -1);
	CHECKF(cause != NULL && strstr(cause, "not those of") != NULL, "%s",
	    cause);
	free(cause);
}

/* A copy of stories260K in memory, one byte of a block's tensor flipped. */
static void
test_id_commits(void)
{
	struct gguf_file *f = test_open(), *g;
	struct manifest m, alt, part;
	uint8_t w[MANIFEST_HASH_BYTES], *copy;
	const struct gguf_tensor *t = NULL;
	size_t i;

	CHECK(f != NULL);
	CHECK(manifest_from_gguf(&m, f, f->map_size, 1, NULL) == 0);
	CHECK(model_id_committed(m.id));
	CHECK(manifest_weights(&m, w) == 0 && model_id_matches(m.id, w));
	copy = malloc(f->map_size);
	memcpy(copy, f->map, f->map_size);
	for (i = 0; i < f->n_tensors && t == NULL; i++)
		if (strcmp(f->tensors[i].name, "blk.2.ffn_up.weight") == 0)
			t = &f->tensors[i];
	CHECK(t != NULL);
	copy[f->data_offset + t->offset + t->n_bytes / 2] ^= 1;
	g = gguf_open_buffer(copy, f->map_size, "copy", NULL);
	CHECK(g != NULL);
	CHECK(manifest_from_gguf(&alt, g, g->map_size, 1, NULL) == 0);
	CHECKF(strcmp(m.id, alt.id) != 0, "%s", m.id);
	CHECK(!model_id_matches(m.id, (uint8_t[MANIFEST_HASH_BYTES]){ 0 }));
	/* Without the tensors' bytes the id is provisional, the same. */
	manifest_release(&alt);
	CHECK(manifest_from_gguf(&alt, g, g->map_size, 0, NULL) == 0);
	CHECK(manifest_from_gguf(&part, f, f->map_size, 0, NULL) == 0);
	CHECK(!model_id_committed(alt.id) && strcmp(alt.id, part.id) == 0);
	CHECK(manifest_weights(&part, w) == -1);
	manifest_release(&part);
	manifest_release(&alt);
	gguf_close(g);
	free(copy);
	manifest_release(&m);
	gguf_close(f);
}

static void
test_want(void)
{
	struct gguf_file *f = test_open();
	struct manifest m;
	uint8_t *want;
	uint64_t bytes, sum = 0;
	size_t i;

	CHECK(f != NULL);
	CHECK(manifest_from_gguf(&m, f, f->map_size, 0, NULL) == 0);
	CHECK(!manifest_complete(&m) && m.pieces[0].known);
	want = calloc(m.n_pieces, 1);
	bytes = manifest_want(&m, 2, 4, 0, want);
	for (i = 0; i < m.n_tensors; i++) {
		const struct manifest_tensor *t = &m.tensors[i];
		int wanted = want[t->first_piece];

		if (t->role == MANIFEST_ROLE_BLOCK)
			CHECK(wanted == (t->block >= 2 && t->block < 4));
		else if (t->role == MANIFEST_ROLE_HEAD)
			CHECK(!wanted);
		if (wanted)
			sum += t->size;
	}
	CHECK(want[0] && bytes == sum + m.header_size);
	memset(want, 0, m.n_pieces);
	manifest_want(&m, 0, 0, 1, want);
	for (i = 0; i < m.n_tensors; i++)
		if (m.tensors[i].role == MANIFEST_ROLE_HEAD)
			CHECK(want[m.tensors[i].first_piece]);
	free(want);
	manifest_release(&m);
	gguf_close(f);
}

int
main(void)
{
	TEST_RUN(test_layout);
	TEST_RUN(test_json_round_trip);
	TEST_RUN(test_hostile_refused);
	TEST_RUN(test_want);
	TEST_RUN(test_id_commits);
	TEST_EXIT();
}
