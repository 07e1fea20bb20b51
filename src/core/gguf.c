/*
 * GGUF v2/v3 reader. A GGUF file is a header (magic, version, counts), a
 * list of typed key/value pairs, a list of tensor descriptions, and then
 * the tensor data at an aligned offset. The file is mapped read-only and
 * parsed in one pass that checks every count, length, dimension and offset
 * against the bytes that remain and against overflow before anything is
 * allocated or indexed, so that a truncated or hostile file is an error
 * with a reason rather than a crash, a hang or a huge allocation. After
 * gguf_open() succeeds, callers may trust every pointer and size in the
 * structures it returns.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gguf.h"
#include "util/xmalloc.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader assumes a little-endian host"
#endif

#define GGUF_MAGIC		"GGUF"
#define GGUF_DEFAULT_ALIGNMENT	32
#define GGUF_HEADER_SIZE	24	/* magic, version, n_tensors, n_kv */
/*
 * The fewest bytes a key/value pair can take: key length (8), a key of at
 * least one byte, the value type (4) and a value of at least one byte.
 */
#define GGUF_KV_MIN_BYTES	14
/* Tensor info: name length (8), name (>= 1), n_dims (4), one dim (8),
 * type (4), offset (8). */
#define GGUF_TENSOR_MIN_BYTES	33
/* Generous limits that no real model comes near. */
#define GGUF_MAX_KV		(1u << 20)
#define GGUF_MAX_TENSORS	(1u << 20)
#define GGUF_MAX_NAME		4096	/* keys and tensor names */
#define GGUF_MAX_ALIGNMENT	(1u << 24)

/*
 * Block layouts of the tensor types: elements per block and bytes per
 * block. Kept here rather than taken from quant.c so that the reader (and
 * the tools built on it) stand alone; test-gguf checks the sizes.
 */
struct gguf_type_desc {
	uint32_t	 type;
	const char	*name;
	uint32_t	 block_size;
	uint32_t	 type_size;
};

static const struct gguf_type_desc gguf_types[] = {
	{ 0, "F32", 1, 4 },
	{ 1, "F16", 1, 2 },
	{ 2, "Q4_0", 32, 18 },
	{ 3, "Q4_1", 32, 20 },
	{ 6, "Q5_0", 32, 22 },
	{ 7, "Q5_1", 32, 24 },
	{ 8, "Q8_0", 32, 34 },
	{ 9, "Q8_1", 32, 36 },
	{ 10, "Q2_K", 256, 84 },
	{ 11, "Q3_K", 256, 110 },
	{ 12, "Q4_K", 256, 144 },
	{ 13, "Q5_K", 256, 176 },
	{ 14, "Q6_K", 256, 210 },
	{ 15, "Q8_K", 256, 292 },
	{ 30, "BF16", 1, 2 },
};

/* A bounded reader over the mapping. */
struct gguf_cursor {
	const uint8_t	*base;
	size_t		 size;
	size_t		 pos;
};

static const struct gguf_type_desc *
gguf_type_desc(uint32_t type)
{
	size_t i;

	for (i = 0; i < sizeof(gguf_types) / sizeof(gguf_types[0]); i++)
		if (gguf_types[i].type == type)
			return &gguf_types[i];
	return NULL;
}

const char *
gguf_type_name(uint32_t type)
{
	const struct gguf_type_desc *d = gguf_type_desc(type);

	return d != NULL ? d->name : NULL;
}

/* llama.cpp's general.file_type numbers. */
static const char *const gguf_ftypes[] = {
	[0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [7] = "Q8_0",
	[8] = "Q5_0", [9] = "Q5_1", [10] = "Q2_K", [11] = "Q3_K_S",
	[12] = "Q3_K_M", [13] = "Q3_K_L", [14] = "Q4_K_S", [15] = "Q4_K_M",
	[16] = "Q5_K_S", [17] = "Q5_K_M", [18] = "Q6_K", [19] = "IQ2_XXS",
	[20] = "IQ2_XS", [21] = "Q2_K_S", [22] = "IQ3_XS", [23] = "IQ3_XXS",
	[24] = "IQ1_S", [25] = "IQ4_NL", [26] = "IQ3_S", [27] = "IQ3_M",
	[28] = "IQ2_S", [29] = "IQ2_M", [30] = "IQ4_XS", [31] = "IQ1_M",
	[32] = "BF16",
};

const char *
gguf_ftype_name(uint32_t ftype)
{
	if (ftype < sizeof(gguf_ftypes) / sizeof(gguf_ftypes[0]))
		return gguf_ftypes[ftype];
	return NULL;
}

int
gguf_tensor_block(const char *name, uint64_t n_blocks, uint64_t *block,
    const char **rest)
{
	const char *p;
	uint64_t b = 0;

	if (strncmp(name, "blk.", 4) != 0)
		return -1;
	for (p = name + 4; *p >= '0' && *p <= '9'; p++) {
		if (b > (UINT64_MAX - 9) / 10)
			return -1;
		b = b * 10 + (uint64_t)(*p - '0');
	}
	if (p == name + 4 || *p != '.' || b >= n_blocks)
		return -1;
	*block = b;
	if (rest != NULL)
		*rest = p + 1;
	return 0;
}

void
gguf_block_bytes(const struct gguf_file *f, uint64_t n_blocks,
    uint64_t *bytes)
{
	uint64_t i, b;

	for (i = 0; i < f->n_tensors; i++)
		if (gguf_tensor_block(f->tensors[i].name, n_blocks, &b,
		    NULL) == 0)
			bytes[b] += f->tensors[i].n_bytes;
}

uint64_t
gguf_type_nbytes(uint32_t type, uint64_t ne0, uint64_t n_rows)
{
	const struct gguf_type_desc *d = gguf_type_desc(type);
	uint64_t row;

	if (d == NULL || ne0 % d->block_size != 0)
		return 0;
	row = ne0 / d->block_size;
	if (row > UINT64_MAX / d->type_size)
		return 0;
	row *= d->type_size;
	if (n_rows != 0 && row > UINT64_MAX / n_rows)
		return 0;
	return row * n_rows;
}

const char *
gguf_value_type_name(enum gguf_value_type t)
{
	static const char *const names[] = {
		"uint8", "int8", "uint16", "int16", "uint32", "int32",
		"float32", "bool", "string", "array", "uint64", "int64",
		"float64",
	};

	if ((unsigned)t < sizeof(names) / sizeof(names[0]))
		return names[t];
	return "unknown";
}

/* Bytes of a fixed-size value type; 0 for strings, arrays and unknowns. */
static size_t
gguf_value_size(uint32_t t)
{
	switch (t) {
	case GGUF_VALUE_UINT8:
	case GGUF_VALUE_INT8:
	case GGUF_VALUE_BOOL:
		return 1;
	case GGUF_VALUE_UINT16:
	case GGUF_VALUE_INT16:
		return 2;
	case GGUF_VALUE_UINT32:
	case GGUF_VALUE_INT32:
	case GGUF_VALUE_FLOAT32:
		return 4;
	case GGUF_VALUE_UINT64:
	case GGUF_VALUE_INT64:
	case GGUF_VALUE_FLOAT64:
		return 8;
	}
	return 0;
}

static size_t
gguf_left(const struct gguf_cursor *c)
{
	return c->size - c->pos;
}

static int
gguf_read_u32(struct gguf_cursor *c, uint32_t *v)
{
	if (gguf_left(c) < 4)
		return -1;
	memcpy(v, c->base + c->pos, 4);
	c->pos += 4;
	return 0;
}

static int
gguf_read_u64(struct gguf_cursor *c, uint64_t *v)
{
	if (gguf_left(c) < 8)
		return -1;
	memcpy(v, c->base + c->pos, 8);
	c->pos += 8;
	return 0;
}

static int
gguf_skip(struct gguf_cursor *c, uint64_t n)
{
	if (n > gguf_left(c))
		return -1;
	c->pos += n;
	return 0;
}

/* Reads a length-prefixed string; the length is checked against the bytes
 * left, so a huge length is a truncation, never an allocation. */
static int
gguf_read_str(struct gguf_cursor *c, struct gguf_str *s)
{
	uint64_t len;
	size_t save = c->pos;

	if (gguf_read_u64(c, &len) != 0 || len > gguf_left(c)) {
		c->pos = save;
		return -1;
	}
	s->ptr = (const char *)c->base + c->pos;
	s->len = len;
	c->pos += len;
	return 0;
}

/* FNV-1a: names are short and the tables small. */
static uint64_t
gguf_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static size_t
gguf_table_size(uint64_t n)
{
	size_t size = 8;

	while (size < 2 * n)
		size *= 2;
	return size;
}

/*
 * Finds the slot of name in an open-addressing table of index + 1 entries;
 * returns the slot (empty when absent).
 */
static size_t
gguf_table_slot(const uint32_t *slots, size_t mask, const char *name,
    size_t len, char *(*name_of)(const struct gguf_file *, uint32_t),
    const struct gguf_file *f)
{
	size_t i = gguf_hash(name, len) & mask;
	const char *other;

	while (slots[i] != 0) {
		other = name_of(f, slots[i] - 1);
		if (strlen(other) == len && memcmp(other, name, len) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static char *
gguf_kv_name(const struct gguf_file *f, uint32_t i)
{
	return f->kv[i].key;
}

static char *
gguf_tensor_name(const struct gguf_file *f, uint32_t i)
{
	return f->tensors[i].name;
}

/*
 * Walks (and checks) one value of type t at the cursor. depth 0 is a
 * key's value; an array's elements are walked at depth 1, and an array
 * inside an array may hold only scalars or strings. When kv is not NULL
 * (a top-level value), its fields are filled in.
 */
static int
gguf_walk_value(struct gguf_cursor *c, uint32_t t, int depth,
    struct gguf_kv *kv, const char **why)
{
	struct gguf_str s;
	uint32_t et;
	uint64_t n, i;
	size_t es;

	if ((es = gguf_value_size(t)) != 0) {
		if (kv != NULL)
			kv->data = c->base + c->pos;
		if (gguf_skip(c, es) != 0) {
			*why = "truncated";
			return -1;
		}
		return 0;
	}
	if (t == GGUF_VALUE_STRING) {
		if (gguf_read_str(c, &s) != 0) {
			*why = "truncated";
			return -1;
		}
		if (kv != NULL) {
			kv->str = s;
			kv->data = (const uint8_t *)s.ptr;
		}
		return 0;
	}
	if (t != GGUF_VALUE_ARRAY) {
		*why = "unknown value type";
		return -1;
	}
	if (gguf_read_u32(c, &et) != 0 || gguf_read_u64(c, &n) != 0) {
		*why = "truncated";
		return -1;
	}
	if (kv != NULL) {
		kv->arr_type = et;
		kv->arr_n = n;
		kv->data = c->base + c->pos;
	}
	if ((es = gguf_value_size(et)) != 0) {
		/* Division, not multiplication: n * es cannot overflow here. */
		if (n > gguf_left(c) / es) {
			*why = "array longer than the file";
			return -1;
		}
		c->pos += n * es;
		return 0;
	}
	if (et == GGUF_VALUE_STRING) {
		size_t start = c->pos;

		if (n > gguf_left(c) / 8) {
			*why = "array longer than the file";
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (gguf_read_str(c, &s) != 0) {
				*why = "truncated in a string array";
				return -1;
			}
		}
		if (kv == NULL)
			return 0;
		/* Second pass, now that every length is known to be good. */
		kv->arr_strs = xcalloc(n ? n : 1, sizeof(*kv->arr_strs));
		c->pos = start;
		for (i = 0; i < n; i++)
			(void)gguf_read_str(c, &kv->arr_strs[i]);
		return 0;
	}
	if (et == GGUF_VALUE_ARRAY) {
		if (depth > 0) {
			*why = "arrays nested more than one level";
			return -1;
		}
		/* Each inner array takes at least its type and count. */
		if (n > gguf_left(c) / 12) {
			*why = "array longer than the file";
			return -1;
		}
		for (i = 0; i < n; i++)
			if (gguf_walk_value(c, GGUF_VALUE_ARRAY, depth + 1, NULL,
			    why) != 0)
				return -1;
		return 0;
	}
	*why = "unknown array element type";
	return -1;
}

/* Checks a key or tensor name: not empty, bounded, no NUL inside. */
static const char *
gguf_check_name(const struct gguf_str *s)
{
	if (s->len == 0)
		return "empty name";
	if (s->len > GGUF_MAX_NAME)
		return "name too long";
	if (memchr(s->ptr, '\0', s->len) != NULL)
		return "name contains a NUL byte";
	return NULL;
}

static int
gguf_parse_kv(struct gguf_file *f, struct gguf_cursor *c, const char *name,
    char **cause)
{
	struct gguf_kv *kv;
	struct gguf_str key;
	const char *why;
	uint32_t t;
	uint64_t i;
	size_t slot;

	f->kv = xcalloc(f->n_kv ? f->n_kv : 1, sizeof(*f->kv));
	f->kv_mask = gguf_table_size(f->n_kv) - 1;
	f->kv_slots = xcalloc(f->kv_mask + 1, sizeof(*f->kv_slots));
	for (i = 0; i < f->n_kv; i++) {
		kv = &f->kv[i];
		if (gguf_read_str(c, &key) != 0)
			return set_cause(cause, "'%s': truncated in metadata "
			    "key %llu", name, (unsigned long long)i);
		if ((why = gguf_check_name(&key)) != NULL)
			return set_cause(cause, "'%s': metadata key %llu: %s",
			    name, (unsigned long long)i, why);
		slot = gguf_table_slot(f->kv_slots, f->kv_mask, key.ptr,
		    key.len, gguf_kv_name, f);
		if (f->kv_slots[slot] != 0)
			return set_cause(cause, "'%s': duplicate metadata key "
			    "'%.*s'", name, (int)key.len, key.ptr);
		kv->key = xstrndup(key.ptr, key.len);
		f->kv_slots[slot] = (uint32_t)i + 1;
		if (gguf_read_u32(c, &t) != 0)
			return set_cause(cause, "'%s': truncated in metadata "
			    "key %llu ('%s')", name, (unsigned long long)i,
			    kv->key);
		kv->type = t;
		if (gguf_walk_value(c, t, 0, kv, &why) != 0) {
			if (strncmp(why, "truncated", 9) == 0)
				return set_cause(cause, "'%s': %s in metadata "
				    "key %llu ('%s')", name, why,
				    (unsigned long long)i, kv->key);
			return set_cause(cause, "'%s': metadata key '%s': %s",
			    name, kv->key, why);
		}
	}
	return 0;
}

static int
gguf_parse_alignment(struct gguf_file *f, const char *name, char **cause)
{
	const struct gguf_kv *kv;
	uint64_t a;

	f->alignment = GGUF_DEFAULT_ALIGNMENT;
	if ((kv = gguf_find_kv(f, "general.alignment")) == NULL)
		return 0;
	if (gguf_get_u64(f, "general.alignment", &a) != 0)
		return set_cause(cause, "'%s': general.alignment is not an "
		    "unsigned integer (%s)", name,
		    gguf_value_type_name(kv->type));
	if (a == 0 || (a & (a - 1)) != 0 || a > GGUF_MAX_ALIGNMENT)
		return set_cause(cause, "'%s': bad alignment %llu (not a power "
		    "of two up to %u)", name, (unsigned long long)a,
		    GGUF_MAX_ALIGNMENT);
	f->alignment = a;
	return 0;
}

static int
gguf_parse_tensors(struct gguf_file *f, struct gguf_cursor *c,
    const char *name, char **cause)
{
	struct gguf_tensor *t;
	struct gguf_str s;
	const char *why;
	uint64_t i, n, rows, nbytes, end;
	uint32_t d;
	size_t slot;

	f->tensors = xcalloc(f->n_tensors ? f->n_tensors : 1,
	    sizeof(*f->tensors));
	f->tensor_mask = gguf_table_size(f->n_tensors) - 1;
	f->tensor_slots = xcalloc(f->tensor_mask + 1, sizeof(*f->tensor_slots));
	for (i = 0; i < f->n_tensors; i++) {
		t = &f->tensors[i];
		if (gguf_read_str(c, &s) != 0)
			return set_cause(cause, "'%s': truncated in tensor info "
			    "%llu", name, (unsigned long long)i);
		if ((why = gguf_check_name(&s)) != NULL)
			return set_cause(cause, "'%s': tensor %llu: %s", name,
			    (unsigned long long)i, why);
		slot = gguf_table_slot(f->tensor_slots, f->tensor_mask, s.ptr,
		    s.len, gguf_tensor_name, f);
		if (f->tensor_slots[slot] != 0)
			return set_cause(cause, "'%s': duplicate tensor name "
			    "'%.*s'", name, (int)s.len, s.ptr);
		t->name = xstrndup(s.ptr, s.len);
		f->tensor_slots[slot] = (uint32_t)i + 1;
		if (gguf_read_u32(c, &t->n_dims) != 0)
			goto truncated;
		if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
			return set_cause(cause, "'%s': tensor '%s' has %u "
			    "dimensions (1 to %d allowed)", name, t->name,
			    t->n_dims, GGUF_MAX_DIMS);
		n = 1;
		for (d = 0; d < GGUF_MAX_DIMS; d++) {
			t->ne[d] = 1;
			if (d >= t->n_dims)
				continue;
			if (gguf_read_u64(c, &t->ne[d]) != 0)
				goto truncated;
			if (t->ne[d] == 0)
				return set_cause(cause, "'%s': tensor '%s' has "
				    "a zero dimension", name, t->name);
			if (t->ne[d] > (uint64_t)INT64_MAX / n)
				return set_cause(cause, "'%s': tensor '%s': "
				    "element count overflows", name, t->name);
			n *= t->ne[d];
		}
		t->n_elements = n;
		if (gguf_read_u32(c, &t->type) != 0 ||
		    gguf_read_u64(c, &t->offset) != 0)
			goto truncated;
		if (gguf_type_name(t->type) == NULL)
			return set_cause(cause, "'%s': tensor '%s' has unknown "
			    "type %u", name, t->name, t->type);
		if (t->ne[0] % gguf_type_desc(t->type)->block_size != 0)
			return set_cause(cause, "'%s': tensor '%s': row of %llu "
			    "is not a multiple of the %s block", name, t->name,
			    (unsigned long long)t->ne[0],
			    gguf_type_name(t->type));
		rows = n / t->ne[0];
		nbytes = gguf_type_nbytes(t->type, t->ne[0], rows);
		if (nbytes == 0 || nbytes > SIZE_MAX)
			return set_cause(cause, "'%s': tensor '%s' is too big",
			    name, t->name);
		t->n_bytes = nbytes;
	}
	/* The data section starts at the next aligned offset. */
	end = c->pos;
	f->data_offset = (end + f->alignment - 1) / f->alignment * f->alignment;
	if (f->data_offset > c->size) {
		if (f->n_tensors > 0)
			return set_cause(cause, "'%s': data section starts "
			    "past end of file", name);
		/* Writers may leave off the padding of an empty section. */
		f->data_offset = c->size;
	}
	for (i = 0; i < f->n_tensors; i++) {
		t = &f->tensors[i];
		if (t->offset % f->alignment != 0)
			return set_cause(cause, "'%s': tensor '%s' offset %llu "
			    "is not aligned to %llu", name, t->name,
			    (unsigned long long)t->offset,
			    (unsigned long long)f->alignment);
		if (t->offset > c->size - f->data_offset ||
		    t->n_bytes > c->size - f->data_offset - t->offset)
			return set_cause(cause, "'%s': tensor '%s' extends past "
			    "end of file", name, t->name);
		t->data = c->base + f->data_offset + t->offset;
	}
	return 0;

truncated:
	return set_cause(cause, "'%s': truncated in tensor info %llu ('%s')",
	    name, (unsigned long long)i, t->name);
}

static struct gguf_file *
gguf_parse(struct gguf_file *f, const char *name, char **cause)
{
	struct gguf_cursor c = { f->map, f->map_size, 0 };
	uint64_t room;

	if (f->map_size < 4 || memcmp(f->map, GGUF_MAGIC, 4) != 0) {
		set_cause(cause, "'%s': not a GGUF file", name);
		goto fail;
	}
	c.pos = 4;
	if (gguf_read_u32(&c, &f->version) != 0) {
		set_cause(cause, "'%s': truncated in the header", name);
		goto fail;
	}
	if (f->version == 0x02000000 || f->version == 0x03000000) {
		set_cause(cause, "'%s': big-endian GGUF files are not supported",
		    name);
		goto fail;
	}
	if (f->version == 1) {
		set_cause(cause, "'%s': GGUF version 1 is not supported (only "
		    "2 and 3; convert the file again)", name);
		goto fail;
	}
	if (f->version != 2 && f->version != 3) {
		set_cause(cause, "'%s': unknown GGUF version %u", name,
		    f->version);
		goto fail;
	}
	if (gguf_read_u64(&c, &f->n_tensors) != 0 ||
	    gguf_read_u64(&c, &f->n_kv) != 0) {
		set_cause(cause, "'%s': truncated in the header", name);
		goto fail;
	}
	/* Bound both counts by the limits and by the bytes they need, before
	 * any allocation sized by them. */
	room = c.size - c.pos;
	if (f->n_kv > GGUF_MAX_KV || f->n_kv > room / GGUF_KV_MIN_BYTES) {
		set_cause(cause, "'%s': bad metadata count %llu", name,
		    (unsigned long long)f->n_kv);
		goto fail;
	}
	if (f->n_tensors > GGUF_MAX_TENSORS ||
	    f->n_tensors > (room - f->n_kv * GGUF_KV_MIN_BYTES) /
	    GGUF_TENSOR_MIN_BYTES) {
		set_cause(cause, "'%s': bad tensor count %llu", name,
		    (unsigned long long)f->n_tensors);
		goto fail;
	}
	if (gguf_parse_kv(f, &c, name, cause) != 0 ||
	    gguf_parse_alignment(f, name, cause) != 0 ||
	    gguf_parse_tensors(f, &c, name, cause) != 0)
		goto fail;
	return f;

fail:
	gguf_close(f);
	return NULL;
}

struct gguf_file *
gguf_open_buffer(const void *buf, size_t size, const char *name, char **cause)
{
	struct gguf_file *f = xcalloc(1, sizeof(*f));

	f->path = xstrdup(name);
	f->fd = -1;
	f->map = buf;
	f->map_size = size;
	return gguf_parse(f, f->path, cause);
}

struct gguf_file *
gguf_open(const char *path, char **cause)
{
	struct gguf_file *f;
	struct stat st;
	void *map;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		set_cause(cause, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		set_cause(cause, "cannot stat '%s': %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		set_cause(cause, "'%s': not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_size < GGUF_HEADER_SIZE) {
		set_cause(cause, "'%s': not a GGUF file (%lld bytes)", path,
		    (long long)st.st_size);
		close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		set_cause(cause, "'%s': too big to map", path);
		close(fd);
		return NULL;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		set_cause(cause, "cannot map '%s': %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->fd = fd;
	f->map = map;
	f->map_size = (size_t)st.st_size;
	f->mapped = 1;
	return gguf_parse(f, f->path, cause);
}

void
gguf_close(struct gguf_file *f)
{
	uint64_t i;

	if (f == NULL)
		return;
	if (f->kv != NULL) {
		for (i = 0; i < f->n_kv; i++) {
			free(f->kv[i].key);
			free(f->kv[i].arr_strs);
		}
	}
	if (f->tensors != NULL)
		for (i = 0; i < f->n_tensors; i++)
			free(f->tensors[i].name);
	free(f->kv);
	free(f->tensors);
	free(f->kv_slots);
	free(f->tensor_slots);
	if (f->mapped)
		munmap((void *)f->map, f->map_size);
	if (f->fd != -1)
		close(f->fd);
	free(f->path);
	free(f);
}

const struct gguf_kv *
gguf_find_kv(const struct gguf_file *f, const char *key)
{
	size_t slot;

	if (f->kv_slots == NULL)
		return NULL;
	slot = gguf_table_slot(f->kv_slots, f->kv_mask, key, strlen(key),
	    gguf_kv_name, f);
	return f->kv_slots[slot] ? &f->kv[f->kv_slots[slot] - 1] : NULL;
}

const struct gguf_tensor *
gguf_find_tensor(const struct gguf_file *f, const char *name)
{
	size_t slot;

	if (f->tensor_slots == NULL)
		return NULL;
	slot = gguf_table_slot(f->tensor_slots, f->tensor_mask, name,
	    strlen(name), gguf_tensor_name, f);
	return f->tensor_slots[slot] ?
	    &f->tensors[f->tensor_slots[slot] - 1] : NULL;
}

/*
 * Reads an integer of any GGUF integer type at p (-1 for other types).
 * *neg says whether it is negative; *u holds it when it is not (else 0);
 * *s holds it clamped to INT64_MAX.
 */
static int
gguf_read_int(uint32_t t, const uint8_t *p, int *neg, uint64_t *u, int64_t *s)
{
	uint8_t u8; int8_t i8; uint16_t u16; int16_t i16;
	uint32_t u32; int32_t i32; int64_t i64;

	*neg = 0;
	switch (t) {
	case GGUF_VALUE_UINT8:	memcpy(&u8, p, 1); *u = u8; break;
	case GGUF_VALUE_UINT16:	memcpy(&u16, p, 2); *u = u16; break;
	case GGUF_VALUE_UINT32:	memcpy(&u32, p, 4); *u = u32; break;
	case GGUF_VALUE_UINT64:	memcpy(u, p, 8); break;
	case GGUF_VALUE_INT8:	memcpy(&i8, p, 1); *s = i8; goto sign;
	case GGUF_VALUE_INT16:	memcpy(&i16, p, 2); *s = i16; goto sign;
	case GGUF_VALUE_INT32:	memcpy(&i32, p, 4); *s = i32; goto sign;
	case GGUF_VALUE_INT64:	memcpy(&i64, p, 8); *s = i64; goto sign;
	default:
		return -1;
	}
	*s = *u > INT64_MAX ? INT64_MAX : (int64_t)*u;
	return 0;
sign:
	*neg = *s < 0;
	*u = *neg ? 0 : (uint64_t)*s;
	return 0;
}

static int
gguf_kv_int(const struct gguf_file *f, const char *key, int *neg, uint64_t *u,
    int64_t *s)
{
	const struct gguf_kv *kv = gguf_find_kv(f, key);

	if (kv == NULL)
		return -1;
	return gguf_read_int(kv->type, kv->data, neg, u, s);
}

int
gguf_get_u32(const struct gguf_file *f, const char *key, uint32_t *out)
{
	uint64_t u;
	int64_t s;
	int neg;

	if (gguf_kv_int(f, key, &neg, &u, &s) != 0 || neg || u > UINT32_MAX)
		return -1;
	*out = (uint32_t)u;
	return 0;
}

int
gguf_get_u64(const struct gguf_file *f, const char *key, uint64_t *out)
{
	uint64_t u;
	int64_t s;
	int neg;

	if (gguf_kv_int(f, key, &neg, &u, &s) != 0 || neg)
		return -1;
	*out = u;
	return 0;
}

int
gguf_get_i64(const struct gguf_file *f, const char *key, int64_t *out)
{
	uint64_t u;
	int64_t s;
	int neg;

	if (gguf_kv_int(f, key, &neg, &u, &s) != 0 ||
	    (!neg && u > INT64_MAX))
		return -1;
	*out = s;
	return 0;
}

int
gguf_get_f32(const struct gguf_file *f, const char *key, float *out)
{
	const struct gguf_kv *kv = gguf_find_kv(f, key);
	double d;

	if (kv == NULL)
		return -1;
	if (kv->type == GGUF_VALUE_FLOAT32) {
		memcpy(out, kv->data, 4);
		return 0;
	}
	if (kv->type == GGUF_VALUE_FLOAT64) {
		memcpy(&d, kv->data, 8);
		*out = (float)d;
		return 0;
	}
	return -1;
}

int
gguf_get_bool(const struct gguf_file *f, const char *key, int *out)
{
	const struct gguf_kv *kv = gguf_find_kv(f, key);

	if (kv == NULL || kv->type != GGUF_VALUE_BOOL)
		return -1;
	*out = kv->data[0] != 0;
	return 0;
}

int
gguf_get_str(const struct gguf_file *f, const char *key, struct gguf_str *out)
{
	const struct gguf_kv *kv = gguf_find_kv(f, key);

	if (kv == NULL || kv->type != GGUF_VALUE_STRING)
		return -1;
	*out = kv->str;
	return 0;
}

char *
gguf_get_strdup(const struct gguf_file *f, const char *key)
{
	struct gguf_str s;

	if (gguf_get_str(f, key, &s) != 0)
		return NULL;
	return xstrndup(s.ptr, s.len);
}

int
gguf_arr_str(const struct gguf_kv *kv, uint64_t i, struct gguf_str *out)
{
	if (kv->type != GGUF_VALUE_ARRAY || kv->arr_type != GGUF_VALUE_STRING ||
	    i >= kv->arr_n || kv->arr_strs == NULL)
		return -1;
	*out = kv->arr_strs[i];
	return 0;
}

int
gguf_arr_f32(const struct gguf_kv *kv, uint64_t i, float *out)
{
	double d;

	if (kv->type != GGUF_VALUE_ARRAY || i >= kv->arr_n)
		return -1;
	if (kv->arr_type == GGUF_VALUE_FLOAT32) {
		memcpy(out, kv->data + i * 4, 4);
		return 0;
	}
	if (kv->arr_type == GGUF_VALUE_FLOAT64) {
		memcpy(&d, kv->data + i * 8, 8);
		*out = (float)d;
		return 0;
	}
	return -1;
}

int
gguf_arr_i32(const struct gguf_kv *kv, uint64_t i, int32_t *out)
{
	uint64_t u;
	int64_t s;
	size_t es;
	int neg;

	if (kv->type != GGUF_VALUE_ARRAY || i >= kv->arr_n ||
	    kv->arr_type == GGUF_VALUE_BOOL ||
	    (es = gguf_value_size(kv->arr_type)) == 0)
		return -1;
	if (gguf_read_int(kv->arr_type, kv->data + i * es, &neg, &u, &s) != 0 ||
	    s < INT32_MIN || s > INT32_MAX)
		return -1;
	*out = (int32_t)s;
	return 0;
}

void
gguf_advise_tensor(const struct gguf_file *f, const struct gguf_tensor *t,
    int willneed)
{
	uintptr_t page, start, end;
	long ps;

	if (!f->mapped || t->n_bytes == 0 || (ps = sysconf(_SC_PAGESIZE)) <= 0)
		return;
	page = (uintptr_t)ps;
	start = (uintptr_t)t->data & ~(page - 1);
	end = (uintptr_t)t->data + t->n_bytes;
	/* Dropping pages is safe on a private read-only file mapping: they
	 * are read back from the file on the next touch. */
	(void)madvise((void *)start, end - start,
	    willneed ? MADV_WILLNEED : MADV_DONTNEED);
}
