/*
 * Tests for the GGUF reader and writer: the real test models open with the
 * metadata we know they hold, the writer round-trips every value type and
 * tensor byte, each kind of malformed file fails with a cause that names
 * the problem, and truncated or randomly corrupted copies of real files
 * never crash the reader nor yield a tensor outside the buffer.
 */
#include <dirent.h>
#include <stdint.h>
#include <unistd.h>

#include "test.h"
#include "core/gguf-write.h"
#include "core/gguf.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static char *
model_path(const char *rel)
{
	return xasprintf("%s/%s", test_models_dir(), rel);
}

/* Reads a whole file into memory; NULL when it cannot. */
static uint8_t *
slurp(const char *path, size_t *size)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[65536];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		strbuf_add(&sb, chunk, n);
	fclose(fp);
	return (uint8_t *)strbuf_detach(&sb, size);
}

static int
str_is(const struct gguf_str *s, const char *want)
{
	return s->len == strlen(want) && memcmp(s->ptr, want, s->len) == 0;
}

/* Every tensor and every string of f lies inside [base, base + size). */
static int
all_in_bounds(const struct gguf_file *f, const void *base, size_t size)
{
	const uint8_t *lo = base, *hi = lo + size, *p;
	uint64_t i, j;

	for (i = 0; i < f->n_tensors; i++) {
		p = f->tensors[i].data;
		if (p < lo || p > hi || f->tensors[i].n_bytes > (size_t)(hi - p))
			return 0;
	}
	for (i = 0; i < f->n_kv; i++) {
		const struct gguf_kv *kv = &f->kv[i];

		if (kv->type == GGUF_VALUE_STRING &&
		    ((const uint8_t *)kv->str.ptr < lo ||
		    kv->str.len > (size_t)(hi - (const uint8_t *)kv->str.ptr)))
			return 0;
		if (kv->arr_strs == NULL)
			continue;
		for (j = 0; j < kv->arr_n; j++) {
			p = (const uint8_t *)kv->arr_strs[j].ptr;
			if (p < lo || kv->arr_strs[j].len > (size_t)(hi - p))
				return 0;
		}
	}
	return 1;
}

static void
test_stories_metadata(void)
{
	char *path = model_path("stories260K.gguf"), *cause = NULL, *s;
	const struct gguf_tensor *t;
	const struct gguf_kv *kv;
	struct gguf_file *f;
	struct gguf_str str;
	uint32_t u;
	float x;
	int32_t i32;

	f = gguf_open(path, &cause);
	free(path);
	CHECKF(f != NULL, "%s", cause);
	CHECK(f->version == 3);
	CHECK(f->alignment == 32 && f->data_offset % 32 == 0);
	CHECK(f->n_tensors == 48 && f->n_kv == 19);
	CHECK(gguf_get_str(f, "general.architecture", &str) == 0);
	CHECK(str_is(&str, "llama"));
	s = gguf_get_strdup(f, "tokenizer.ggml.model");
	CHECK_STR(s, "llama");
	free(s);
	CHECK(gguf_get_u32(f, "llama.block_count", &u) == 0 && u == 5);
	CHECK(gguf_get_u32(f, "llama.embedding_length", &u) == 0 && u == 64);
	CHECK(gguf_get_u32(f, "llama.feed_forward_length", &u) == 0 && u == 172);
	CHECK(gguf_get_u32(f, "llama.attention.head_count_kv", &u) == 0 &&
	    u == 4);
	CHECK(gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &x) == 0
	    && x == 1e-5f);
	/* Wrong types and absent keys are refused, not coerced. */
	CHECK(gguf_get_u32(f, "general.architecture", &u) == -1);
	CHECK(gguf_get_f32(f, "llama.block_count", &x) == -1);
	CHECK(gguf_get_u32(f, "no.such.key", &u) == -1);
	CHECK(gguf_find_kv(f, "llama.block_coun") == NULL);

	kv = gguf_find_kv(f, "tokenizer.ggml.tokens");
	CHECK(kv != NULL && kv->type == GGUF_VALUE_ARRAY);
	CHECK(kv->arr_type == GGUF_VALUE_STRING && kv->arr_n == 512);
	CHECK(gguf_arr_str(kv, 1, &str) == 0 && str_is(&str, "<s>"));
	CHECK(gguf_arr_str(kv, 2, &str) == 0 && str_is(&str, "</s>"));
	CHECK(gguf_arr_str(kv, 512, &str) == -1);
	CHECK(gguf_arr_f32(kv, 0, &x) == -1);
	kv = gguf_find_kv(f, "tokenizer.ggml.token_type");
	CHECK(kv != NULL && gguf_arr_i32(kv, 0, &i32) == 0 && i32 == 2);
	CHECK(gguf_arr_i32(kv, 511, &i32) == 0 && gguf_arr_i32(kv, 512, &i32) == -1);
	kv = gguf_find_kv(f, "tokenizer.ggml.scores");
	CHECK(kv != NULL && gguf_arr_f32(kv, 511, &x) == 0);

	t = gguf_find_tensor(f, "blk.3.attn_k.weight");
	CHECK(t != NULL && t->type == 0 && t->n_dims == 2);
	CHECK(t->ne[0] == 64 && t->ne[1] == 32 && t->ne[2] == 1 && t->ne[3] == 1);
	CHECK(t->n_elements == 64 * 32 && t->n_bytes == 64 * 32 * 4);
	CHECK((const uint8_t *)t->data == f->map + f->data_offset + t->offset);
	t = gguf_find_tensor(f, "output_norm.weight");
	CHECK(t != NULL && t->n_dims == 1 && t->ne[0] == 64);
	CHECK(gguf_find_tensor(f, "blk.5.attn_k.weight") == NULL);
	CHECK(all_in_bounds(f, f->map, f->map_size));
	/* Hints are best effort: they must simply not disturb the data. */
	x = ((const float *)t->data)[0];
	gguf_advise_tensor(f, t, 0);
	gguf_advise_tensor(f, t, 1);
	CHECK(((const float *)t->data)[0] == x);
	gguf_close(f);
}

static void
test_type_table(void)
{
	static const struct { uint32_t type; const char *name; uint32_t bs, ts; }
	    want[] = {
		{ 0, "F32", 1, 4 }, { 1, "F16", 1, 2 }, { 30, "BF16", 1, 2 },
		{ 2, "Q4_0", 32, 18 }, { 3, "Q4_1", 32, 20 },
		{ 6, "Q5_0", 32, 22 }, { 7, "Q5_1", 32, 24 },
		{ 8, "Q8_0", 32, 34 }, { 9, "Q8_1", 32, 36 },
		{ 10, "Q2_K", 256, 84 }, { 11, "Q3_K", 256, 110 },
		{ 12, "Q4_K", 256, 144 }, { 13, "Q5_K", 256, 176 },
		{ 14, "Q6_K", 256, 210 }, { 15, "Q8_K", 256, 292 },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK_STR(gguf_type_name(want[i].type), want[i].name);
		CHECK(gguf_type_nbytes(want[i].type, want[i].bs * 3, 5) ==
		    (uint64_t)want[i].ts * 15);
		if (want[i].bs > 1)
			CHECK(gguf_type_nbytes(want[i].type, want[i].bs + 1,
			    1) == 0);
	}
	CHECK(gguf_type_name(4) == NULL && gguf_type_name(40) == NULL);
	CHECK(gguf_type_nbytes(4, 32, 1) == 0);
	CHECK(gguf_type_nbytes(0, UINT64_MAX / 2, 4) == 0);
	CHECK_STR(gguf_value_type_name(GGUF_VALUE_FLOAT64), "float64");
	CHECK_STR(gguf_value_type_name(99), "unknown");
}

/* Opens every .gguf file in dir; returns how many opened, -1 on a failure. */
static int
open_all(const char *sub, int (*check)(const struct gguf_file *))
{
	char *dir = model_path(sub), *path, *cause = NULL;
	struct gguf_file *f;
	struct dirent *de;
	DIR *d;
	int n = 0;
	size_t len;

	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 5, ".gguf") != 0)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		f = gguf_open(path, &cause);
		if (f == NULL || !check(f) || !all_in_bounds(f, f->map,
		    f->map_size)) {
			fprintf(stderr, "  %s: %s\n", path,
			    cause ? cause : "bad contents");
			free(cause);
			gguf_close(f);
			free(path);
			n = -1;
			break;
		}
		gguf_close(f);
		free(path);
		n++;
	}
	closedir(d);
	free(dir);
	return n;
}

static int
synth_ok(const struct gguf_file *f)
{
	const struct gguf_tensor *t;
	struct gguf_str arch;
	char key[64];
	uint32_t u;

	if (gguf_get_str(f, "general.architecture", &arch) != 0 ||
	    arch.len > 16)
		return 0;
	snprintf(key, sizeof(key), "%.*s.block_count", (int)arch.len,
	    arch.ptr);
	if (gguf_get_u32(f, key, &u) != 0 || u != 4)
		return 0;
	t = gguf_find_tensor(f, "blk.3.ffn_down.weight");
	return t != NULL && t->ne[0] == 768 && t->ne[1] == 256 &&
	    gguf_find_tensor(f, "token_embd.weight") != NULL;
}

static int
vocab_ok(const struct gguf_file *f)
{
	const struct gguf_kv *kv = gguf_find_kv(f, "tokenizer.ggml.tokens");
	struct gguf_str s;

	return f->n_tensors == 0 && f->data_offset <= f->map_size &&
	    kv != NULL && kv->arr_n >= 32000 &&
	    gguf_arr_str(kv, kv->arr_n - 1, &s) == 0 && s.len > 0;
}

static void
test_synth_files_open(void)
{
	int n = open_all("synth", synth_ok);

	CHECKF(n >= 21, "%d files", n);
}

static void
test_vocab_files_open(void)
{
	int n = open_all("vocab", vocab_ok);

	CHECKF(n >= 6, "%d files", n);
}

/* ---- writer ---- */

static float		 rt_f32[64 * 3];
static uint8_t		 rt_q4_0[18 * 2 * 4];
static uint8_t		 rt_q6_k[210 * 2];
static uint16_t		 rt_f16[2 * 3 * 4 * 5];

static struct gguf_writer *
rt_build(void)
{
	static const char *strs[] = { "a", "", "héllo", "<s>" };
	static const int32_t ints[] = { -1, 0, 7, INT32_MAX };
	static const float fl[] = { 0.5f, -2.0f };
	static const int64_t i64s[] = { INT64_MIN, 3 };
	static const uint64_t ne_f32[] = { 64, 3 }, ne_q4[] = { 64, 4 },
	    ne_q6[] = { 512 }, ne_f16[] = { 2, 3, 4, 5 };
	struct gguf_writer *w = gguf_writer_new();
	size_t i;

	for (i = 0; i < sizeof(rt_f32) / sizeof(rt_f32[0]); i++)
		rt_f32[i] = (float)i * 0.25f - 3.0f;
	for (i = 0; i < sizeof(rt_q4_0); i++)
		rt_q4_0[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < sizeof(rt_q6_k); i++)
		rt_q6_k[i] = (uint8_t)(i * 13 + 5);
	for (i = 0; i < sizeof(rt_f16) / sizeof(rt_f16[0]); i++)
		rt_f16[i] = (uint16_t)(i * 1001);
	gguf_writer_add_str(w, "general.architecture", "test");
	gguf_writer_add_u8(w, "k.u8", 200);
	gguf_writer_add_i8(w, "k.i8", -100);
	gguf_writer_add_u16(w, "k.u16", 60000);
	gguf_writer_add_i16(w, "k.i16", -30000);
	gguf_writer_add_u32(w, "k.u32", 4000000000u);
	gguf_writer_add_i32(w, "k.i32", -2000000000);
	gguf_writer_add_u64(w, "k.u64", UINT64_MAX);
	gguf_writer_add_i64(w, "k.i64", INT64_MIN);
	gguf_writer_add_f32(w, "k.f32", 1.5f);
	gguf_writer_add_f64(w, "k.f64", 0.1);
	gguf_writer_add_bool(w, "k.bool", 1);
	gguf_writer_add_strn(w, "k.bin", "a\0b", 3);
	gguf_writer_add_u32(w, "k.replaced", 1);
	gguf_writer_add_u32(w, "k.replaced", 2);
	gguf_writer_add_arr_str(w, "k.astr", strs, 4);
	gguf_writer_add_arr_i32(w, "k.ai32", ints, 4);
	gguf_writer_add_arr_f32(w, "k.af32", fl, 2);
	gguf_writer_add_arr(w, "k.ai64", GGUF_VALUE_INT64, i64s, 2);
	gguf_writer_add_arr_str(w, "k.empty", strs, 0);
	gguf_writer_add_tensor(w, "t.f32", 0, 2, ne_f32, rt_f32, sizeof(rt_f32));
	gguf_writer_add_tensor(w, "t.q4_0", 2, 2, ne_q4, rt_q4_0,
	    sizeof(rt_q4_0));
	gguf_writer_add_tensor(w, "t.q6_k", 14, 1, ne_q6, rt_q6_k,
	    sizeof(rt_q6_k));
	gguf_writer_add_tensor(w, "t.f16", 1, 4, ne_f16, rt_f16, sizeof(rt_f16));
	return w;
}

static void
test_writer_round_trip(void)
{
	struct gguf_writer *w = rt_build();
	const struct gguf_tensor *t;
	const struct gguf_kv *kv;
	struct gguf_file *f;
	struct gguf_str s;
	char dir[] = "/tmp/test-gguf-XXXXXX", *path, *cause = NULL;
	void *buf = NULL;
	uint8_t *disk;
	size_t size, dsize;
	uint32_t u32;
	uint64_t u64;
	int64_t i64;
	int32_t i32;
	float x;
	int b;

	CHECK(mkdtemp(dir) != NULL);
	path = xasprintf("%s/rt.gguf", dir);
	CHECKF(gguf_writer_write(w, path, &cause) == 0, "%s", cause);
	CHECKF(gguf_writer_write_buffer(w, &buf, &size, &cause) == 0, "%s",
	    cause);
	gguf_writer_free(w);
	disk = slurp(path, &dsize);
	CHECK(disk != NULL && dsize == size && memcmp(disk, buf, size) == 0);
	free(disk);
	free(buf);
	f = gguf_open(path, &cause);
	unlink(path);
	rmdir(dir);
	free(path);
	CHECKF(f != NULL, "%s", cause);
	CHECK(f->version == 3 && f->n_kv == 19 && f->n_tensors == 4);
	CHECK(f->kv[0].type == GGUF_VALUE_STRING);
	CHECK(strcmp(f->kv[0].key, "general.architecture") == 0);
	CHECK(gguf_get_u32(f, "k.u8", &u32) == 0 && u32 == 200);
	CHECK(gguf_get_i64(f, "k.i8", &i64) == 0 && i64 == -100);
	CHECK(gguf_get_u32(f, "k.i8", &u32) == -1);
	CHECK(gguf_get_u32(f, "k.u16", &u32) == 0 && u32 == 60000);
	CHECK(gguf_get_i64(f, "k.i16", &i64) == 0 && i64 == -30000);
	CHECK(gguf_get_u32(f, "k.u32", &u32) == 0 && u32 == 4000000000u);
	CHECK(gguf_get_i64(f, "k.i32", &i64) == 0 && i64 == -2000000000);
	CHECK(gguf_get_u64(f, "k.u64", &u64) == 0 && u64 == UINT64_MAX);
	CHECK(gguf_get_u32(f, "k.u64", &u32) == -1);
	CHECK(gguf_get_i64(f, "k.u64", &i64) == -1);
	CHECK(gguf_get_i64(f, "k.i64", &i64) == 0 && i64 == INT64_MIN);
	CHECK(gguf_get_f32(f, "k.f32", &x) == 0 && x == 1.5f);
	CHECK(gguf_get_f32(f, "k.f64", &x) == 0 && x == 0.1f);
	CHECK(gguf_get_bool(f, "k.bool", &b) == 0 && b == 1);
	CHECK(gguf_get_bool(f, "k.u8", &b) == -1);
	CHECK(gguf_get_str(f, "k.bin", &s) == 0 && s.len == 3 &&
	    memcmp(s.ptr, "a\0b", 3) == 0);
	CHECK(gguf_get_u32(f, "k.replaced", &u32) == 0 && u32 == 2);
	kv = gguf_find_kv(f, "k.astr");
	CHECK(kv != NULL && kv->arr_n == 4);
	CHECK(gguf_arr_str(kv, 1, &s) == 0 && s.len == 0);
	CHECK(gguf_arr_str(kv, 2, &s) == 0 && str_is(&s, "héllo"));
	CHECK(gguf_arr_str(kv, 3, &s) == 0 && str_is(&s, "<s>"));
	kv = gguf_find_kv(f, "k.ai32");
	CHECK(kv != NULL && gguf_arr_i32(kv, 0, &i32) == 0 && i32 == -1);
	CHECK(gguf_arr_i32(kv, 3, &i32) == 0 && i32 == INT32_MAX);
	kv = gguf_find_kv(f, "k.af32");
	CHECK(kv != NULL && gguf_arr_f32(kv, 1, &x) == 0 && x == -2.0f);
	kv = gguf_find_kv(f, "k.ai64");
	CHECK(kv != NULL && kv->arr_type == GGUF_VALUE_INT64 && kv->arr_n == 2);
	CHECK(gguf_arr_i32(kv, 0, &i32) == -1 && gguf_arr_i32(kv, 1, &i32) == 0
	    && i32 == 3);
	kv = gguf_find_kv(f, "k.empty");
	CHECK(kv != NULL && kv->arr_n == 0 && gguf_arr_str(kv, 0, &s) == -1);

	t = gguf_find_tensor(f, "t.f32");
	CHECK(t != NULL && t->n_bytes == sizeof(rt_f32) &&
	    memcmp(t->data, rt_f32, sizeof(rt_f32)) == 0);
	t = gguf_find_tensor(f, "t.q4_0");
	CHECK(t != NULL && t->type == 2 && t->ne[0] == 64 && t->ne[1] == 4 &&
	    memcmp(t->data, rt_q4_0, sizeof(rt_q4_0)) == 0);
	t = gguf_find_tensor(f, "t.q6_k");
	CHECK(t != NULL && t->n_dims == 1 && t->n_bytes == sizeof(rt_q6_k) &&
	    memcmp(t->data, rt_q6_k, sizeof(rt_q6_k)) == 0);
	CHECK(t->offset % 32 == 0);
	t = gguf_find_tensor(f, "t.f16");
	CHECK(t != NULL && t->n_dims == 4 && t->ne[3] == 5 &&
	    t->n_elements == 120 && memcmp(t->data, rt_f16, sizeof(rt_f16)) == 0);
	gguf_close(f);
}

/* Copies every key and tensor of f into a writer, value types kept. */
static int
copy_to_writer(const struct gguf_file *f, struct gguf_writer *w)
{
	const struct gguf_kv *kv;
	const struct gguf_tensor *t;
	const char **strs;
	struct gguf_str s;
	static const size_t es[] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
	uint64_t i, j;
	uint32_t u32;
	float x;

	for (i = 0; i < f->n_kv; i++) {
		kv = &f->kv[i];
		switch (kv->type) {
		case GGUF_VALUE_STRING:
			gguf_writer_add_strn(w, kv->key, kv->str.ptr,
			    kv->str.len);
			break;
		case GGUF_VALUE_ARRAY:
			if (kv->arr_type != GGUF_VALUE_STRING) {
				if (kv->arr_type >= 13 || es[kv->arr_type] == 0)
					return -1;
				gguf_writer_add_arr(w, kv->key, kv->arr_type,
				    kv->data, kv->arr_n);
				break;
			}
			/* The copies need NUL terminators. */
			strs = xcalloc(kv->arr_n, sizeof(*strs));
			for (j = 0; j < kv->arr_n; j++) {
				if (gguf_arr_str(kv, j, &s) != 0)
					return -1;
				strs[j] = xstrndup(s.ptr, s.len);
			}
			gguf_writer_add_arr_str(w, kv->key, strs, kv->arr_n);
			for (j = 0; j < kv->arr_n; j++)
				free((char *)strs[j]);
			free(strs);
			break;
		case GGUF_VALUE_UINT32:
			memcpy(&u32, kv->data, 4);
			gguf_writer_add_u32(w, kv->key, u32);
			break;
		case GGUF_VALUE_FLOAT32:
			memcpy(&x, kv->data, 4);
			gguf_writer_add_f32(w, kv->key, x);
			break;
		default:
			return -1;
		}
	}
	for (i = 0; i < f->n_tensors; i++) {
		t = &f->tensors[i];
		gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne,
		    t->data, t->n_bytes);
	}
	return 0;
}

/*
 * Rewriting the test models (made by other GGUF writers) key by key and
 * tensor by tensor gives the same bytes: the writer lays a file out
 * exactly as they do.
 */
static void
test_writer_reproduces_files(void)
{
	static const char *files[] = { "stories260K.gguf",
	    "synth/synth-llama-F32.gguf", "synth/synth-qwen2-F32.gguf" };
	struct gguf_writer *w;
	struct gguf_file *f;
	char *path, *cause = NULL;
	void *buf;
	size_t i, size;
	int same;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path = model_path(files[i]);
		f = gguf_open(path, &cause);
		free(path);
		CHECKF(f != NULL, "%s", cause);
		w = gguf_writer_new();
		CHECKF(copy_to_writer(f, w) == 0, "%s: a value type the copy "
		    "does not handle", files[i]);
		CHECKF(gguf_writer_write_buffer(w, &buf, &size, &cause) == 0,
		    "%s", cause);
		gguf_writer_free(w);
		same = size == f->map_size && memcmp(buf, f->map, size) == 0;
		free(buf);
		gguf_close(f);
		CHECKF(same, "%s differs", files[i]);
	}
}

static void
test_writer_rejects(void)
{
	static const uint64_t ne[] = { 32, 2 }, ne_odd[] = { 33 };
	static uint8_t data[34 * 2];
	struct gguf_writer *w;
	char *cause = NULL;
	void *buf;
	size_t size;

	w = gguf_writer_new();
	gguf_writer_add_tensor(w, "x", 8, 2, ne, data, sizeof(data) - 1);
	CHECK(gguf_writer_write_buffer(w, &buf, &size, &cause) == -1);
	CHECKF(strstr(cause, "'x'") && strstr(cause, "bytes given"), "%s",
	    cause);
	free(cause);
	gguf_writer_free(w);

	w = gguf_writer_new();
	gguf_writer_add_tensor(w, "x", 8, 2, ne, data, sizeof(data));
	gguf_writer_add_tensor(w, "x", 8, 2, ne, data, sizeof(data));
	CHECK(gguf_writer_write_buffer(w, &buf, &size, &cause) == -1);
	CHECKF(strstr(cause, "duplicate tensor name 'x'"), "%s", cause);
	free(cause);
	gguf_writer_free(w);

	w = gguf_writer_new();
	gguf_writer_add_tensor(w, "x", 8, 1, ne_odd, data, 34);
	CHECK(gguf_writer_write_buffer(w, &buf, &size, &cause) == -1);
	CHECKF(strstr(cause, "not a multiple"), "%s", cause);
	free(cause);
	gguf_writer_free(w);

	w = gguf_writer_new();
	gguf_writer_add_u32(w, "general.alignment", 48);
	CHECK(gguf_writer_write_buffer(w, &buf, &size, &cause) == -1);
	CHECKF(strstr(cause, "power of two"), "%s", cause);
	free(cause);
	cause = NULL;
	CHECK(gguf_writer_write(w, "/nonexistent-dir/x.gguf", &cause) == -1);
	free(cause);
	gguf_writer_free(w);

	w = gguf_writer_new();
	gguf_writer_add_u32(w, "", 1);
	CHECK(gguf_writer_write_buffer(w, &buf, &size, &cause) == -1);
	CHECKF(strstr(cause, "empty metadata key"), "%s", cause);
	free(cause);
	gguf_writer_free(w);
}

/* ---- hostile files ---- */

static uint8_t	hb_data[34 * 4 * 2];

/* A small valid file with a string array, an f32 array and three
 * tensors; patched by the cases below. */
static uint8_t *
hostile_base(size_t *size, uint32_t alignment)
{
	static const char *toks[] = { "<unk>", "<s>", "</s>" };
	static const float scores[] = { 0, 1, 2 };
	static const uint64_t ne4[] = { 32, 2, 1, 1 }, ne2[] = { 32, 2 };
	struct gguf_writer *w = gguf_writer_new();
	void *buf = NULL;
	char *cause = NULL;

	gguf_writer_add_str(w, "general.architecture", "llama");
	gguf_writer_add_u32(w, "llama.block_count", 1);
	if (alignment != 0)
		gguf_writer_add_u32(w, "general.alignment", alignment);
	gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, 3);
	gguf_writer_add_arr_f32(w, "tokenizer.ggml.scores", scores, 3);
	gguf_writer_add_tensor(w, "aaaa.weight", 8, 2, ne2, hb_data, 68);
	gguf_writer_add_tensor(w, "bbbb.weight", 0, 4, ne4, hb_data,
	    sizeof(hb_data) - 16);
	gguf_writer_add_tensor(w, "cccc.weight", 8, 2, ne2, hb_data, 68);
	if (gguf_writer_write_buffer(w, &buf, size, &cause) != 0) {
		fprintf(stderr, "  %s\n", cause);
		abort();
	}
	gguf_writer_free(w);
	return buf;
}

/* Offset just past the (first) length-prefixed string s in buf. */
static size_t
after_str(const uint8_t *buf, size_t size, const char *s)
{
	const uint8_t *p = memmem(buf, size, s, strlen(s));

	if (p == NULL)
		abort();
	return (size_t)(p - buf) + strlen(s);
}

static void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Opens buf and checks it fails with a cause holding want. */
static int
fails_with(const uint8_t *buf, size_t size, const char *want)
{
	struct gguf_file *f;
	char *cause = NULL;
	int ok;

	/* An exact-size copy, so a sanitizer sees any read past the end. */
	uint8_t *copy = xmalloc(size);

	memcpy(copy, buf, size);
	f = gguf_open_buffer(copy, size, "x.gguf", &cause);
	ok = f == NULL && cause != NULL && strncmp(cause, "'x.gguf': ", 10) == 0
	    && strstr(cause, want) != NULL;
	if (!ok)
		fprintf(stderr, "  want '%s', got '%s'\n", want,
		    cause ? cause : "success");
	gguf_close(f);
	free(cause);
	free(copy);
	return ok;
}

static void
test_hostile_header(void)
{
	struct gguf_file *f;
	char *cause = NULL;
	size_t size, off;
	uint8_t *base = hostile_base(&size, 0), *b = xmalloc(size);

	/* The base itself is valid. */
	f = gguf_open_buffer(base, size, "x.gguf", &cause);
	CHECKF(f != NULL, "%s", cause);
	gguf_close(f);
#define RESET() memcpy(b, base, size)
	RESET(); b[0] = 'g';
	CHECK(fails_with(b, size, "not a GGUF file"));
	CHECK(fails_with(b, 0, "not a GGUF file"));
	CHECK(fails_with(base, 3, "not a GGUF file"));
	CHECK(fails_with(base, 6, "truncated in the header"));
	CHECK(fails_with(base, 20, "truncated in the header"));
	/* Version 2 has the same layout as 3. */
	RESET(); put32(b + 4, 2);
	f = gguf_open_buffer(b, size, "x.gguf", &cause);
	CHECKF(f != NULL && f->version == 2, "%s", cause);
	gguf_close(f);
	RESET(); put32(b + 4, 1);
	CHECK(fails_with(b, size, "version 1 is not supported"));
	RESET(); put32(b + 4, 4);
	CHECK(fails_with(b, size, "unknown GGUF version 4"));
	RESET(); put32(b + 4, 0x03000000);
	CHECK(fails_with(b, size, "big-endian"));
	RESET(); put64(b + 16, UINT64_MAX);
	CHECK(fails_with(b, size, "bad metadata count"));
	RESET(); put64(b + 16, size / 14 + 1);
	CHECK(fails_with(b, size, "bad metadata count"));
	RESET(); put64(b + 8, 1ULL << 40);
	CHECK(fails_with(b, size, "bad tensor count"));
	RESET(); put64(b + 8, 1000);
	CHECK(fails_with(b, size, "bad tensor count"));
	/* More keys than written: the tensor infos are read as keys. */
	RESET(); put64(b + 16, 10);
	CHECK(fails_with(b, size, "metadata key"));
	/* Huge string length in the first key. */
	RESET(); put64(b + 24, UINT64_MAX);
	CHECK(fails_with(b, size, "truncated in metadata key 0"));
	RESET(); put64(b + 24, 0);
	CHECK(fails_with(b, size, "metadata key 0: empty name"));
	/* Huge string value length. */
	RESET(); off = after_str(b, size, "general.architecture") + 4;
	put64(b + off, 1ULL << 62);
	CHECK(fails_with(b, size, "truncated in metadata key 0 "
	    "('general.architecture')"));
	RESET(); put32(b + off - 4, 13);
	CHECK(fails_with(b, size, "'general.architecture': unknown value type"));
	/* Huge array counts, both element kinds. */
	RESET(); off = after_str(b, size, "tokenizer.ggml.tokens") + 8;
	put64(b + off, UINT64_MAX / 4);
	CHECK(fails_with(b, size, "array longer than the file"));
	RESET(); put64(b + off, 1000);
	CHECK(fails_with(b, size, "array longer than the file"));
	RESET(); put64(b + off, 30);
	CHECK(fails_with(b, size, "truncated in a string array"));
	RESET(); put64(b + off + 8, UINT64_MAX);
	CHECK(fails_with(b, size, "truncated in a string array"));
	RESET(); put32(b + off - 4, 77);
	CHECK(fails_with(b, size, "unknown array element type"));
	RESET(); off = after_str(b, size, "tokenizer.ggml.scores") + 8;
	put64(b + off, UINT64_MAX / 2);
	CHECK(fails_with(b, size, "array longer than the file"));
	RESET(); put64(b + off, 1ULL << 62);	/* 4 * n wraps to 0 */
	CHECK(fails_with(b, size, "array longer than the file"));
	/* Duplicate keys. */
	RESET(); off = after_str(b, size, "tokenizer.ggml.scores");
	memcpy(b + off - 6, "tokens", 6);
	CHECK(fails_with(b, size, "duplicate metadata key "
	    "'tokenizer.ggml.tokens'"));
	RESET(); b[off - 3] = '\0';
	CHECK(fails_with(b, size, "NUL byte"));
#undef RESET
	free(b);
	free(base);
}

static void
test_hostile_tensors(void)
{
	size_t size, a, bb, c;
	uint8_t *base = hostile_base(&size, 0), *b = xmalloc(size);

#define RESET() memcpy(b, base, size)
	a = after_str(base, size, "aaaa.weight");	/* n_dims 2: Q8_0 */
	bb = after_str(base, size, "bbbb.weight");	/* n_dims 4: F32 */
	c = after_str(base, size, "cccc.weight");
	RESET(); put32(b + bb, 5);
	CHECK(fails_with(b, size, "tensor 'bbbb.weight' has 5 dimensions"));
	RESET(); put32(b + bb, 0);
	CHECK(fails_with(b, size, "has 0 dimensions"));
	RESET(); put64(b + bb + 4 + 8, 0);
	CHECK(fails_with(b, size, "'bbbb.weight' has a zero dimension"));
	RESET();
	put64(b + bb + 4, 1ULL << 32); put64(b + bb + 12, 1ULL << 31);
	CHECK(fails_with(b, size, "'bbbb.weight': element count overflows"));
	RESET(); put64(b + bb + 4, 1ULL << 40); put64(b + bb + 12, 1ULL << 22);
	CHECK(fails_with(b, size, "'bbbb.weight' is too big"));
	RESET(); put64(b + bb + 4, 1ULL << 20); put64(b + bb + 12, 1ULL << 20);
	CHECK(fails_with(b, size, "'bbbb.weight' extends past end of file"));
	RESET(); put32(b + a + 4 + 16, 4);
	CHECK(fails_with(b, size, "'aaaa.weight' has unknown type 4"));
	RESET(); put32(b + a + 4 + 16, 1000);
	CHECK(fails_with(b, size, "unknown type 1000"));
	RESET(); put64(b + a + 4, 48);
	CHECK(fails_with(b, size, "row of 48 is not a multiple of the Q8_0"));
	RESET(); put64(b + c + 4 + 16 + 4, 8);
	CHECK(fails_with(b, size, "'cccc.weight' offset 8 is not aligned "
	    "to 32"));
	RESET(); put64(b + c + 4 + 16 + 4, 1ULL << 20);
	CHECK(fails_with(b, size, "'cccc.weight' extends past end of file"));
	RESET(); put64(b + c + 4 + 16 + 4, UINT64_MAX - 31);
	CHECK(fails_with(b, size, "'cccc.weight' extends past end of file"));
	CHECK(fails_with(base, size - 1, "'cccc.weight' extends past end"));
	RESET(); memcpy(b + c - 11, "aaaa", 4);
	CHECK(fails_with(b, size, "duplicate tensor name 'aaaa.weight'"));
	RESET(); put64(b + a - 11 - 8, 1ULL << 40);
	CHECK(fails_with(b, size, "truncated in tensor info 0"));
	RESET(); put64(b + a - 11 - 8, 0);
	CHECK(fails_with(b, size, "tensor 0: empty name"));
	CHECK(fails_with(base, c + 6, "truncated in tensor info 2 "
	    "('cccc.weight')"));
#undef RESET
	free(b);
	free(base);
}

static void
test_hostile_alignment(void)
{
	struct gguf_file *f;
	char *cause = NULL;
	size_t size, off, i;
	uint8_t *base = hostile_base(&size, 64), *b = xmalloc(size);

	f = gguf_open_buffer(base, size, "x.gguf", &cause);
	CHECKF(f != NULL, "%s", cause);
	CHECK(f->alignment == 64 && f->data_offset % 64 == 0);
	for (i = 0; i < f->n_tensors; i++)
		CHECK(f->tensors[i].offset % 64 == 0);
	gguf_close(f);
	off = after_str(base, size, "general.alignment") + 4;
	memcpy(b, base, size); put32(b + off, 48);
	CHECK(fails_with(b, size, "bad alignment 48"));
	memcpy(b, base, size); put32(b + off, 0);
	CHECK(fails_with(b, size, "bad alignment 0"));
	memcpy(b, base, size); put32(b + off, 1u << 31);
	CHECK(fails_with(b, size, "bad alignment"));
	memcpy(b, base, size); put32(b + off - 4, GGUF_VALUE_INT32);
	put32(b + off, (uint32_t)-64);
	CHECK(fails_with(b, size, "general.alignment is not an unsigned"));
	/* 32 is a valid alignment but the offsets written for 64 are then
	 * no longer where the data starts: still in bounds, still opens. */
	memcpy(b, base, size); put32(b + off, 32);
	f = gguf_open_buffer(b, size, "x.gguf", &cause);
	CHECKF(f != NULL && all_in_bounds(f, b, size), "%s", cause);
	gguf_close(f);
	free(b);
	free(base);
}

/* Hand-built files for what the writer cannot express: nested arrays. */
static void
test_nested_arrays(void)
{
	struct strbuf sb = STRBUF_INIT;
	const struct gguf_kv *kv;
	struct gguf_file *f;
	char *cause = NULL;
	uint32_t u32;
	uint64_t u64;
	int depth, i;

	for (depth = 1; depth <= 2; depth++) {
		strbuf_reset(&sb);
		strbuf_add(&sb, "GGUF", 4);
		u32 = 3; strbuf_add(&sb, &u32, 4);
		u64 = 0; strbuf_add(&sb, &u64, 8);
		u64 = 1; strbuf_add(&sb, &u64, 8);
		u64 = 6; strbuf_add(&sb, &u64, 8);
		strbuf_add(&sb, "nested", 6);
		u32 = GGUF_VALUE_ARRAY; strbuf_add(&sb, &u32, 4);
		/* outer: 2 arrays */
		strbuf_add(&sb, &u32, 4);
		u64 = 2; strbuf_add(&sb, &u64, 8);
		for (i = 0; i < 2; i++) {
			if (depth == 2) {
				u32 = GGUF_VALUE_ARRAY; strbuf_add(&sb, &u32, 4);
				u64 = 1; strbuf_add(&sb, &u64, 8);
			}
			u32 = GGUF_VALUE_UINT8; strbuf_add(&sb, &u32, 4);
			u64 = 3; strbuf_add(&sb, &u64, 8);
			strbuf_add(&sb, "xyz", 3);
		}
		f = gguf_open_buffer(sb.buf, sb.len, "x.gguf", &cause);
		if (depth == 1) {
			CHECKF(f != NULL, "%s", cause);
			kv = gguf_find_kv(f, "nested");
			CHECK(kv != NULL && kv->arr_type == GGUF_VALUE_ARRAY &&
			    kv->arr_n == 2);
			CHECK(gguf_arr_i32(kv, 0, (int32_t *)&u32) == -1);
			gguf_close(f);
		} else {
			CHECK(f == NULL && strstr(cause, "nested more than one"));
			free(cause);
		}
	}
	strbuf_release(&sb);
}

static void
test_open_errors(void)
{
	char *cause = NULL;

	CHECK(gguf_open("/nonexistent/m.gguf", &cause) == NULL);
	CHECK_STR(cause, "cannot open '/nonexistent/m.gguf': No such file or "
	    "directory");
	free(cause);
	CHECK(gguf_open("/tmp", &cause) == NULL);
	CHECK_STR(cause, "'/tmp': not a regular file");
	free(cause);
	CHECK(gguf_open("/dev/null", &cause) == NULL);
	free(cause);
}

/* ---- fuzzing ---- */

static uint64_t fuzz_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
fuzz_rand(void)
{
	uint64_t x = fuzz_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return fuzz_state = x;
}

/* Opens buf[0, len): either a cause, or success with everything in bounds. */
static int
fuzz_one(const uint8_t *buf, size_t len, int *opened)
{
	struct gguf_file *f;
	char *cause = NULL;
	int ok;

	f = gguf_open_buffer(buf, len, "fuzz.gguf", &cause);
	if (f == NULL) {
		ok = cause != NULL && strncmp(cause, "'fuzz.gguf': ", 13) == 0;
		free(cause);
		return ok;
	}
	ok = all_in_bounds(f, buf, len) && cause == NULL;
	gguf_close(f);
	*opened += 1;
	return ok;
}

static void
test_fuzz_truncation(void)
{
	char *path = model_path("stories260K.gguf");
	size_t size, len, lim;
	uint8_t *file = slurp(path, &size), *buf;
	int opened = 0;

	free(path);
	CHECK(file != NULL && size > 65536);
	lim = 65536;
	buf = xmalloc(lim);
	/* The truncated prefix sits at the end of the allocation, so a read
	 * past it is a read past the heap block. */
	for (len = 0; len <= lim; len += len < 16384 ? 1 : 7) {
		memcpy(buf + lim - len, file, len);
		CHECKF(fuzz_one(buf + lim - len, len, &opened), "len %zu", len);
	}
	free(buf);
	for (len = lim; len < size; len += 4099)
		CHECKF(fuzz_one(file, len, &opened), "len %zu", len);
	CHECK(opened == 0);
	CHECK(fuzz_one(file, size, &opened) && opened == 1);
	free(file);
}

static int
fuzz_mutate_file(const char *rel, int rounds)
{
	static const uint64_t magic[] = { 0, 1, 0x7f, 0xff, 0x7fffffff,
	    0xffffffff, 0x100000000ULL, INT64_MAX, UINT64_MAX, 31, 32, 33 };
	char *path = model_path(rel), *cause = NULL;
	struct gguf_file *f;
	size_t size, region, pos[8], k, n;
	uint8_t *file = slurp(path, &size), *orig, save[8][8];
	int r, opened = 0, ok = 1;

	free(path);
	if (file == NULL)
		return -1;
	if ((f = gguf_open_buffer(file, size, rel, &cause)) == NULL) {
		fprintf(stderr, "  %s\n", cause);
		free(cause);
		free(file);
		return -1;
	}
	region = f->data_offset;
	gguf_close(f);
	orig = xmalloc(size);
	memcpy(orig, file, size);
	for (r = 0; r < rounds && ok; r++) {
		n = 1 + fuzz_rand() % 4;
		for (k = 0; k < n; k++) {
			pos[k] = fuzz_rand() % (region - 8);
			memcpy(save[k], file + pos[k], 8);
			switch (fuzz_rand() % 4) {
			case 0:
				file[pos[k]] ^= (uint8_t)(1u << (fuzz_rand() % 8));
				break;
			case 1:
				file[pos[k]] = (uint8_t)fuzz_rand();
				break;
			case 2:
				put64(file + pos[k],
				    magic[fuzz_rand() % (sizeof(magic) / 8)]);
				break;
			default:
				put32(file + pos[k], (uint32_t)
				    magic[fuzz_rand() % (sizeof(magic) / 8)]);
				break;
			}
		}
		if (!fuzz_one(file, size, &opened)) {
			fprintf(stderr, "  %s: round %d\n", rel, r);
			ok = 0;
		}
		/* Undo in reverse, so overlapping writes restore cleanly. */
		while (n-- > 0)
			memcpy(file + pos[n], save[n], 8);
	}
	if (memcmp(orig, file, size) != 0)
		ok = 0;
	free(orig);
	free(file);
	return ok ? opened : -1;
}

static void
test_fuzz_mutation(void)
{
	int a, b;

	a = fuzz_mutate_file("stories260K.gguf", 20000);
	b = fuzz_mutate_file("synth/synth-llama-Q4_K_M.gguf", 20000);
	CHECK(a >= 0 && b >= 0);
	/* Some mutations land in harmless places (string bytes, floats). */
	CHECKF(a > 0 && b > 0, "%d and %d opened", a, b);
}

int
main(void)
{
	TEST_RUN(test_stories_metadata);
	TEST_RUN(test_type_table);
	TEST_RUN(test_synth_files_open);
	TEST_RUN(test_vocab_files_open);
	TEST_RUN(test_writer_round_trip);
	TEST_RUN(test_writer_reproduces_files);
	TEST_RUN(test_writer_rejects);
	TEST_RUN(test_hostile_header);
	TEST_RUN(test_hostile_tensors);
	TEST_RUN(test_hostile_alignment);
	TEST_RUN(test_nested_arrays);
	TEST_RUN(test_open_errors);
	TEST_RUN(test_fuzz_truncation);
	TEST_RUN(test_fuzz_mutation);
	TEST_EXIT();
}
