/*
 * Tests for src/swarm/model-id: the id is stable, the same for two copies
 * of a file, and differs between quantizations and shapes; a committed id
 * is made from the weights' digest and matches it alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/gguf.h"
#include "swarm/model-id.h"
#include "swarm/record.h"
#include "util/xmalloc.h"

static int
id_of(const char *rel, char *out)
{
	struct gguf_file *f;
	char *path, *cause = NULL;
	int rc;

	path = xasprintf("%s/%s", test_models_dir(), rel);
	f = gguf_open(path, &cause);
	free(path);
	if (f == NULL) {
		fprintf(stderr, "  %s\n", cause);
		free(cause);
		return -1;
	}
	rc = model_id_compute(f, NULL, out, MODEL_ID_MAX);
	gguf_close(f);
	return rc;
}

static void
test_model_id_stable(void)
{
	char a[MODEL_ID_MAX], b[MODEL_ID_MAX];

	CHECK(id_of("stories260K.gguf", a) == 0);
	CHECK(id_of("stories260K.gguf", b) == 0);
	CHECKF(strcmp(a, b) == 0, "%s != %s", a, b);
	CHECK(strncmp(a, "llama-f32-", 10) == 0);
	CHECK(strlen(a) == 10 + 12);
	CHECK(model_id_valid(a));
}

static void
test_model_id_quant_differs(void)
{
	char q8[MODEL_ID_MAX], q4[MODEL_ID_MAX], u8[MODEL_ID_MAX];

	CHECK(id_of("synth/synth-llama-Q8_0.gguf", q8) == 0);
	CHECK(id_of("synth/synth-llama-Q4_K_M.gguf", q4) == 0);
	CHECK(id_of("synth/synth-llama-untied-Q8_0.gguf", u8) == 0);
	CHECK(strncmp(q8, "synth-llama-q8_0-", 17) == 0);
	CHECK(strncmp(q4, "synth-llama-q4_k_m-", 19) == 0);
	CHECK(strcmp(q8, q4) != 0);
	/* Same name and quantization, another tensor table. */
	CHECK(strcmp(strrchr(q8, '-'), strrchr(u8, '-')) != 0);
}

/* A copy of the file in memory: same bytes, same id. */
static void
test_model_id_copy_same(void)
{
	char a[MODEL_ID_MAX], b[MODEL_ID_MAX], *path, *cause = NULL;
	struct gguf_file *f;
	FILE *fp;
	void *buf;
	long n;

	CHECK(id_of("synth/synth-qwen2-Q8_0.gguf", a) == 0);
	path = xasprintf("%s/synth/synth-qwen2-Q8_0.gguf", test_models_dir());
	fp = fopen(path, "rb");
	free(path);
	CHECK(fp != NULL);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = xmalloc((size_t)n);
	CHECK(fread(buf, 1, (size_t)n, fp) == (size_t)n);
	fclose(fp);
	f = gguf_open_buffer(buf, (size_t)n, "copy", &cause);
	CHECKF(f != NULL, "%s", cause);
	CHECK(model_id_compute(f, NULL, b, sizeof(b)) == 0);
	gguf_close(f);
	free(buf);
	CHECKF(strcmp(a, b) == 0, "%s != %s", a, b);
}

static void
test_model_id_committed(void)
{
	uint8_t w[MODEL_ID_WEIGHTS_BYTES];
	char a[MODEL_ID_MAX], b[MODEL_ID_MAX], p[MODEL_ID_MAX], *path;
	struct gguf_file *f;

	path = xasprintf("%s/stories260K.gguf", test_models_dir());
	f = gguf_open(path, NULL);
	free(path);
	CHECK(f != NULL);
	memset(w, 7, sizeof(w));
	CHECK(model_id_compute(f, w, a, sizeof(a)) == 0);
	CHECK(strncmp(a, "llama-f32-", 10) == 0 && strlen(a) == 10 + 32);
	CHECK(model_id_valid(a) && model_id_committed(a));
	CHECK(model_id_matches(a, w));
	w[31] ^= 1;
	CHECK(!model_id_matches(a, w));
	CHECK(model_id_compute(f, w, b, sizeof(b)) == 0);
	CHECK(strcmp(a, b) != 0);
	CHECK(model_id_compute(f, NULL, p, sizeof(p)) == 0);
	CHECK(!model_id_committed(p) && !model_id_matches(p, w));
	CHECK(!model_id_committed(
	    "llama-f32-0123456789abcdef0123456789abcdeg"));
	gguf_close(f);
}

static void
test_model_id_valid(void)
{
	char small[8];
	struct gguf_file *f;
	char *path, *cause = NULL;

	CHECK(model_id_valid("llama-f32-0123456789ab"));
	CHECK(!model_id_valid(""));
	CHECK(!model_id_valid("x/y.gguf"));
	CHECK(!model_id_valid("Llama"));
	path = xasprintf("%s/stories260K.gguf", test_models_dir());
	f = gguf_open(path, &cause);
	free(path);
	CHECK(f != NULL);
	CHECK(model_id_compute(f, NULL, small, sizeof(small)) == -1);
	gguf_close(f);
}

int
main(void)
{
	TEST_RUN(test_model_id_stable);
	TEST_RUN(test_model_id_quant_differs);
	TEST_RUN(test_model_id_copy_same);
	TEST_RUN(test_model_id_valid);
	TEST_RUN(test_model_id_committed);
	TEST_EXIT();
}
