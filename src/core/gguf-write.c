/*
 * GGUF v3 writer. Each metadata value is kept already serialized (its type
 * word and payload, little-endian as on disk), so writing the header is a
 * copy; tensor data is streamed from the caller's buffers. The layout is
 * the one gguf.c reads: header, key/value pairs, tensor infos, padding to
 * the alignment, then each tensor's data padded to the alignment.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gguf-write.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF writer assumes a little-endian host"
#endif

#define GGUF_WRITER_ALIGNMENT	32

struct gguf_writer_kv {
	char		*key;
	struct strbuf	 val;	/* type word, then the payload */
};

struct gguf_writer_tensor {
	char		*name;
	uint32_t	 type;
	uint32_t	 n_dims;
	uint64_t	 ne[GGUF_MAX_DIMS];
	const void	*data;
	size_t		 n_bytes;
	uint64_t	 offset;
};

struct gguf_writer {
	struct gguf_writer_kv		*kv;
	size_t				 n_kv;
	struct gguf_writer_tensor	*tensors;
	size_t				 n_tensors;
};

struct gguf_writer *
gguf_writer_new(void)
{
	return xcalloc(1, sizeof(struct gguf_writer));
}

void
gguf_writer_free(struct gguf_writer *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n_kv; i++) {
		free(w->kv[i].key);
		strbuf_release(&w->kv[i].val);
	}
	for (i = 0; i < w->n_tensors; i++)
		free(w->tensors[i].name);
	free(w->kv);
	free(w->tensors);
	free(w);
}

/* Returns the value buffer of key, emptied (a new key goes last). */
static struct strbuf *
gguf_writer_slot(struct gguf_writer *w, const char *key, uint32_t type)
{
	struct gguf_writer_kv *kv = NULL;
	size_t i;

	for (i = 0; i < w->n_kv; i++) {
		if (strcmp(w->kv[i].key, key) == 0) {
			kv = &w->kv[i];
			strbuf_reset(&kv->val);
			break;
		}
	}
	if (kv == NULL) {
		w->kv = xreallocarray(w->kv, w->n_kv + 1, sizeof(*w->kv));
		kv = &w->kv[w->n_kv++];
		kv->key = xstrdup(key);
		strbuf_init(&kv->val);
	}
	strbuf_add(&kv->val, &type, 4);
	return &kv->val;
}

static void
gguf_writer_add_scalar(struct gguf_writer *w, const char *key, uint32_t type,
    const void *v, size_t size)
{
	strbuf_add(gguf_writer_slot(w, key, type), v, size);
}

void
gguf_writer_add_u8(struct gguf_writer *w, const char *key, uint8_t v)
{
	gguf_writer_add_scalar(w, key, GGUF_VALUE_UINT8, &v, 1);
}

void
gguf_writer_add_i8(struct gguf_writer *w, const char *key, int8_t v)
{
	gguf_writer_add_scalar(w, key, GGUF_VALUE_INT8, &v, 1);
}

void
gguf_writer_add_u16(struct gguf_writer *w, const char *key, uint16_t v)
{
	gguf_writer_add_scalar(w, key, GGUF_VALUE_UINT16, &v, 2);
}

void
gguf_writer_add_i16(struct gguf_writer *w, const char *key, int16_t v)
{
	gguf_writer_add_scalar(w, key, GGUF_VALUE_INT16, &v, 2);
}

void
gguf_writer_add_u32(struct gguf_writer *w, const char *key, uint32_t v)
{
	gguf_writer_add_scalar(w, key, GGUF_VALUE_UINT32, &v, 4);
}

void
gguf_writer_add_i32(struct gguf_writer *w, const char *key, int32_t v)
{
	gguf_writer_add_scalar(w, key, GGUF_VALUE_INT32, &v, 4);
}

void
gguf_writer_add_u64(struct gguf_writer *w, const char *key, uint64_t v)
{
	gguf_writer_add_scalar(w, key, GGUF_VALUE_UINT64, &v, 8);
}

void
gguf_writer_add_i64(struct gguf_writer *w, const char *key, int64_t v)
{
	gguf_writer_add_scalar(w, key, GGUF_VALUE_INT64, &v, 8);
}

void
gguf_writer_add_f32(struct gguf_writer *w, const char *key, float v)
{
	gguf_writer_add_scalar(w, key, GGUF_VALUE_FLOAT32, &v, 4);
}

void
gguf_writer_add_f64(struct gguf_writer *w, const char *key, double v)
{
	gguf_writer_add_scalar(w, key, GGUF_VALUE_FLOAT64, &v, 8);
}

void
gguf_writer_add_bool(struct gguf_writer *w, const char *key, int v)
{
	uint8_t b = v != 0;

	gguf_writer_add_scalar(w, key, GGUF_VALUE_BOOL, &b, 1);
}

static void
gguf_writer_put_str(struct strbuf *sb, const char *s, size_t len)
{
	uint64_t n = len;

	strbuf_add(sb, &n, 8);
	strbuf_add(sb, s, len);
}

void
gguf_writer_add_strn(struct gguf_writer *w, const char *key, const char *s,
    size_t len)
{
	gguf_writer_put_str(gguf_writer_slot(w, key, GGUF_VALUE_STRING), s, len);
}

void
gguf_writer_add_str(struct gguf_writer *w, const char *key, const char *s)
{
	gguf_writer_add_strn(w, key, s, strlen(s));
}

static struct strbuf *
gguf_writer_arr_head(struct gguf_writer *w, const char *key, uint32_t elem,
    size_t n)
{
	struct strbuf *sb = gguf_writer_slot(w, key, GGUF_VALUE_ARRAY);
	uint64_t count = n;

	strbuf_add(sb, &elem, 4);
	strbuf_add(sb, &count, 8);
	return sb;
}

void
gguf_writer_add_arr_str(struct gguf_writer *w, const char *key,
    const char *const *strs, size_t n)
{
	struct strbuf *sb = gguf_writer_arr_head(w, key, GGUF_VALUE_STRING, n);
	size_t i;

	for (i = 0; i < n; i++)
		gguf_writer_put_str(sb, strs[i], strlen(strs[i]));
}

void
gguf_writer_add_arr(struct gguf_writer *w, const char *key,
    enum gguf_value_type elem, const void *data, size_t n)
{
	static const size_t sizes[] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
	struct strbuf *sb;
	size_t es;

	if ((unsigned)elem >= sizeof(sizes) / sizeof(sizes[0]) ||
	    (es = sizes[elem]) == 0) {
		fprintf(stderr, "gguf_writer_add_arr: bad element type %d\n",
		    (int)elem);
		abort();
	}
	if (n > SIZE_MAX / es)
		abort();
	sb = gguf_writer_arr_head(w, key, elem, n);
	strbuf_add(sb, data, n * es);
}

void
gguf_writer_add_arr_f32(struct gguf_writer *w, const char *key,
    const float *v, size_t n)
{
	gguf_writer_add_arr(w, key, GGUF_VALUE_FLOAT32, v, n);
}

void
gguf_writer_add_arr_i32(struct gguf_writer *w, const char *key,
    const int32_t *v, size_t n)
{
	gguf_writer_add_arr(w, key, GGUF_VALUE_INT32, v, n);
}

void
gguf_writer_add_tensor(struct gguf_writer *w, const char *name, uint32_t type,
    uint32_t n_dims, const uint64_t *ne, const void *data, size_t n_bytes)
{
	struct gguf_writer_tensor *t;
	uint32_t d;

	w->tensors = xreallocarray(w->tensors, w->n_tensors + 1,
	    sizeof(*w->tensors));
	t = &w->tensors[w->n_tensors++];
	memset(t, 0, sizeof(*t));
	t->name = xstrdup(name);
	t->type = type;
	t->n_dims = n_dims;
	for (d = 0; d < GGUF_MAX_DIMS; d++)
		t->ne[d] = d < n_dims ? ne[d] : 1;
	t->data = data;
	t->n_bytes = n_bytes;
}

/* The alignment the file will declare, and whether it is usable. */
static int
gguf_writer_alignment(const struct gguf_writer *w, uint64_t *align,
    char **cause)
{
	uint32_t type, a;
	size_t i;

	*align = GGUF_WRITER_ALIGNMENT;
	for (i = 0; i < w->n_kv; i++) {
		if (*w->kv[i].key == '\0')
			return set_cause(cause, "empty metadata key");
		if (strcmp(w->kv[i].key, "general.alignment") != 0)
			continue;
		memcpy(&type, w->kv[i].val.buf, 4);
		if (type != GGUF_VALUE_UINT32)
			return set_cause(cause, "general.alignment must be a "
			    "uint32");
		memcpy(&a, w->kv[i].val.buf + 4, 4);
		if (a == 0 || (a & (a - 1)) != 0)
			return set_cause(cause, "alignment %u is not a power "
			    "of two", a);
		*align = a;
	}
	return 0;
}

/* Checks the tensors and lays out their offsets. */
static int
gguf_writer_layout(struct gguf_writer *w, uint64_t align, char **cause)
{
	struct gguf_writer_tensor *t;
	uint64_t off = 0, n, want;
	size_t i, j;
	uint32_t d;

	for (i = 0; i < w->n_tensors; i++) {
		t = &w->tensors[i];
		for (j = 0; j < i; j++)
			if (strcmp(w->tensors[j].name, t->name) == 0)
				return set_cause(cause, "duplicate tensor name "
				    "'%s'", t->name);
		if (*t->name == '\0')
			return set_cause(cause, "empty tensor name");
		if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
			return set_cause(cause, "tensor '%s' has %u dimensions",
			    t->name, t->n_dims);
		if (gguf_type_name(t->type) == NULL)
			return set_cause(cause, "tensor '%s' has unknown type "
			    "%u", t->name, t->type);
		n = 1;
		for (d = 0; d < t->n_dims; d++) {
			if (t->ne[d] == 0 || t->ne[d] > (uint64_t)INT64_MAX / n)
				return set_cause(cause, "tensor '%s' has a bad "
				    "shape", t->name);
			n *= t->ne[d];
		}
		want = gguf_type_nbytes(t->type, t->ne[0], n / t->ne[0]);
		if (want == 0)
			return set_cause(cause, "tensor '%s': row of %llu is "
			    "not a multiple of the %s block", t->name,
			    (unsigned long long)t->ne[0],
			    gguf_type_name(t->type));
		if (want != t->n_bytes)
			return set_cause(cause, "tensor '%s': %zu bytes given, "
			    "%s of this shape takes %llu", t->name, t->n_bytes,
			    gguf_type_name(t->type), (unsigned long long)want);
		t->offset = off;
		off += (t->n_bytes + align - 1) / align * align;
	}
	return 0;
}

static int
gguf_writer_pad(FILE *fp, uint64_t pos, uint64_t align)
{
	static const char zeros[64];
	uint64_t pad = (align - pos % align) % align, k;

	while (pad > 0) {
		k = pad < sizeof(zeros) ? pad : sizeof(zeros);
		if (fwrite(zeros, 1, k, fp) != k)
			return -1;
		pad -= k;
	}
	return 0;
}

static int
gguf_writer_emit(struct gguf_writer *w, FILE *fp, uint64_t align)
{
	struct strbuf sb = STRBUF_INIT;
	struct gguf_writer_tensor *t;
	uint32_t version = 3;
	uint64_t n;
	size_t i;
	int rc = -1;

	strbuf_add(&sb, "GGUF", 4);
	strbuf_add(&sb, &version, 4);
	n = w->n_tensors;
	strbuf_add(&sb, &n, 8);
	n = w->n_kv;
	strbuf_add(&sb, &n, 8);
	for (i = 0; i < w->n_kv; i++) {
		gguf_writer_put_str(&sb, w->kv[i].key, strlen(w->kv[i].key));
		strbuf_add(&sb, w->kv[i].val.buf, w->kv[i].val.len);
	}
	for (i = 0; i < w->n_tensors; i++) {
		t = &w->tensors[i];
		gguf_writer_put_str(&sb, t->name, strlen(t->name));
		strbuf_add(&sb, &t->n_dims, 4);
		strbuf_add(&sb, t->ne, 8 * (size_t)t->n_dims);
		strbuf_add(&sb, &t->type, 4);
		strbuf_add(&sb, &t->offset, 8);
	}
	if (fwrite(sb.buf, 1, sb.len, fp) != sb.len)
		goto out;
	/* A file without tensors ends with its metadata. */
	if (w->n_tensors > 0 && gguf_writer_pad(fp, sb.len, align) != 0)
		goto out;
	for (i = 0; i < w->n_tensors; i++) {
		t = &w->tensors[i];
		if (t->n_bytes > 0 &&
		    fwrite(t->data, 1, t->n_bytes, fp) != t->n_bytes)
			goto out;
		if (i + 1 < w->n_tensors &&
		    gguf_writer_pad(fp, t->n_bytes, align) != 0)
			goto out;
	}
	rc = 0;
out:
	strbuf_release(&sb);
	return rc;
}

int
gguf_writer_write(struct gguf_writer *w, const char *path, char **cause)
{
	uint64_t align;
	char *tmp;
	FILE *fp;
	int fd, rc = -1;

	if (gguf_writer_alignment(w, &align, cause) != 0 ||
	    gguf_writer_layout(w, align, cause) != 0)
		return -1;
	tmp = xasprintf("%s.tmpXXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		set_cause(cause, "cannot create '%s': %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if ((fp = fdopen(fd, "wb")) == NULL) {
		set_cause(cause, "cannot write '%s': %s", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	if (gguf_writer_emit(w, fp, align) != 0 || fflush(fp) != 0 ||
	    fsync(fileno(fp)) != 0) {
		set_cause(cause, "cannot write '%s': %s", path, strerror(errno));
		fclose(fp);
		goto out;
	}
	if (fclose(fp) != 0) {
		set_cause(cause, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		set_cause(cause, "cannot rename '%s' to '%s': %s", tmp, path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
gguf_writer_write_buffer(struct gguf_writer *w, void **buf, size_t *size,
    char **cause)
{
	uint64_t align;
	char *p = NULL;
	size_t n = 0;
	FILE *fp;

	if (gguf_writer_alignment(w, &align, cause) != 0 ||
	    gguf_writer_layout(w, align, cause) != 0)
		return -1;
	if ((fp = open_memstream(&p, &n)) == NULL)
		return set_cause(cause, "cannot open a memory stream: %s",
		    strerror(errno));
	if (gguf_writer_emit(w, fp, align) != 0) {
		fclose(fp);
		free(p);
		return set_cause(cause, "cannot write to memory");
	}
	if (fclose(fp) != 0) {
		free(p);
		return set_cause(cause, "cannot write to memory");
	}
	*buf = p;
	*size = n;
	return 0;
}
