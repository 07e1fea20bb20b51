/*
 * GGUF v2/v3 reader. The file is mapped read-only with mmap; tensor data is
 * never copied, so a process that serves blocks [a, b) touches only the
 * pages of those blocks' tensors. Every count, length, offset, dimension and
 * alignment read from the file is validated against the file size and
 * against overflow in gguf_open(): after it succeeds, every tensor's data
 * lies inside the mapping and every string is bounded.
 */
#ifndef SWARM_CORE_GGUF_H
#define SWARM_CORE_GGUF_H

#include <stddef.h>
#include <stdint.h>

#define GGUF_MAX_DIMS	4

enum gguf_value_type {
	GGUF_VALUE_UINT8 = 0,
	GGUF_VALUE_INT8 = 1,
	GGUF_VALUE_UINT16 = 2,
	GGUF_VALUE_INT16 = 3,
	GGUF_VALUE_UINT32 = 4,
	GGUF_VALUE_INT32 = 5,
	GGUF_VALUE_FLOAT32 = 6,
	GGUF_VALUE_BOOL = 7,
	GGUF_VALUE_STRING = 8,
	GGUF_VALUE_ARRAY = 9,
	GGUF_VALUE_UINT64 = 10,
	GGUF_VALUE_INT64 = 11,
	GGUF_VALUE_FLOAT64 = 12,
};

/* A string inside the mapping: not NUL-terminated. */
struct gguf_str {
	const char	*ptr;
	uint64_t	 len;
};

struct gguf_kv {
	char			*key;		/* NUL-terminated copy */
	enum gguf_value_type	 type;
	/* For ARRAY: element type and count; data points at the first
	 * element in the mapping (strings: use gguf_arr_str()). An array
	 * of arrays (one level only) has arr_type ARRAY and no accessor. */
	enum gguf_value_type	 arr_type;
	uint64_t		 arr_n;
	const uint8_t		*data;		/* scalar value or array start */
	struct gguf_str		*arr_strs;	/* string arrays: arr_n entries */
	struct gguf_str		 str;		/* STRING: the value (data = str.ptr) */
};

struct gguf_tensor {
	char		*name;		/* NUL-terminated copy */
	uint32_t	 n_dims;
	uint64_t	 ne[GGUF_MAX_DIMS];	/* ne[0] is the row length; unused = 1 */
	uint32_t	 type;		/* enum ggml_type (core/quant.h) */
	uint64_t	 offset;	/* from the start of the data section */
	uint64_t	 n_elements;
	size_t		 n_bytes;
	const void	*data;		/* inside the mapping */
};

struct gguf_file {
	char			*path;
	int			 fd;
	const uint8_t		*map;
	size_t			 map_size;
	uint32_t		 version;
	uint64_t		 n_kv;
	struct gguf_kv		*kv;
	uint64_t		 n_tensors;
	struct gguf_tensor	*tensors;
	uint64_t		 alignment;
	uint64_t		 data_offset;	/* <= map_size */

	/* Private to gguf.c: name lookups (open addressing, index + 1). */
	int			 mapped;	/* map is ours to munmap */
	uint32_t		*kv_slots;
	uint32_t		*tensor_slots;
	size_t			 kv_mask;
	size_t			 tensor_mask;
};

/*
 * Opens and validates a GGUF file. On error returns NULL and sets *cause,
 * e.g. "'x.gguf': tensor 'blk.3.attn_q.weight' extends past end of file".
 */
struct gguf_file	*gguf_open(const char *path, char **cause);
/* Same, over a caller-owned buffer (tests, fuzzing); path is for messages. */
struct gguf_file	*gguf_open_buffer(const void *buf, size_t size,
			    const char *name, char **cause);
void			 gguf_close(struct gguf_file *);

const struct gguf_kv	*gguf_find_kv(const struct gguf_file *, const char *key);
const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *,
			    const char *name);

/*
 * Typed getters: return 0 and store the value, or -1 when the key is absent
 * or of an incompatible type. Integer getters accept any integer type whose
 * value fits; gguf_get_f32 accepts FLOAT32 and FLOAT64.
 */
int	gguf_get_u32(const struct gguf_file *, const char *key, uint32_t *out);
int	gguf_get_u64(const struct gguf_file *, const char *key, uint64_t *out);
int	gguf_get_i64(const struct gguf_file *, const char *key, int64_t *out);
int	gguf_get_f32(const struct gguf_file *, const char *key, float *out);
int	gguf_get_bool(const struct gguf_file *, const char *key, int *out);
/* Borrowed string (not NUL-terminated; see gguf_str). */
int	gguf_get_str(const struct gguf_file *, const char *key, struct gguf_str *out);
/* Allocated NUL-terminated copy of a string value, or NULL. */
char	*gguf_get_strdup(const struct gguf_file *, const char *key);
/* Array element access (bounds-checked; -1 when out of range or wrong type).
 * gguf_arr_f32 reads FLOAT32 and FLOAT64 arrays; gguf_arr_i32 reads any
 * integer array whose element fits an int32. */
int	gguf_arr_str(const struct gguf_kv *, uint64_t i, struct gguf_str *out);
int	gguf_arr_f32(const struct gguf_kv *, uint64_t i, float *out);
int	gguf_arr_i32(const struct gguf_kv *, uint64_t i, int32_t *out);

const char *gguf_value_type_name(enum gguf_value_type);

/*
 * The tensor types the reader knows (those of enum ggml_type in
 * core/quant.h): name ("Q4_K", NULL when unknown), and the bytes of a
 * tensor of n elements per row and n_rows rows (0 when ne0 is not a
 * multiple of the block, the type is unknown, or the size overflows).
 */
const char *gguf_type_name(uint32_t type);
uint64_t    gguf_type_nbytes(uint32_t type, uint64_t ne0, uint64_t n_rows);

/*
 * The name of a general.file_type number (llama.cpp's: "Q4_K_M"), NULL
 * when unknown.
 */
const char *gguf_ftype_name(uint32_t ftype);

/*
 * The block of a tensor named "blk.N.<rest>" with N < n_blocks: 0 with
 * *block set (and *rest, when not NULL, pointing after "blk.N."), else -1.
 */
int	gguf_tensor_block(const char *name, uint64_t n_blocks, uint64_t *block,
	    const char **rest);
/* Adds each tensor's bytes to bytes[its block] (n_blocks entries). */
void	gguf_block_bytes(const struct gguf_file *, uint64_t n_blocks,
	    uint64_t *bytes);

/*
 * Hints the kernel to read ahead / release the pages of tensors; used by a
 * node that serves only some blocks. Best effort.
 */
void	gguf_advise_tensor(const struct gguf_file *, const struct gguf_tensor *,
	    int willneed);

#endif
