/*
 * GGUF v3 writer. Metadata and tensor descriptions are collected in memory;
 * tensor data stays with the caller (who keeps it alive until the file is
 * written) and is streamed to disk without another copy. The file is
 * written to a temporary name in the same directory and renamed into place,
 * so a reader never sees half a model. Used by the model generator and by
 * tests that build edge-case files.
 */
#ifndef SWARM_CORE_GGUF_WRITE_H
#define SWARM_CORE_GGUF_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "core/gguf.h"

struct gguf_writer;

struct gguf_writer	*gguf_writer_new(void);
void			 gguf_writer_free(struct gguf_writer *);

/*
 * Metadata. Keys are copied; adding a key that is already there replaces
 * its value in place (the order of keys is the order they were first
 * added). "general.alignment" (uint32, a power of two) sets the alignment
 * of the tensor data; it is 32 otherwise.
 */
void	gguf_writer_add_u8(struct gguf_writer *, const char *key, uint8_t);
void	gguf_writer_add_i8(struct gguf_writer *, const char *key, int8_t);
void	gguf_writer_add_u16(struct gguf_writer *, const char *key, uint16_t);
void	gguf_writer_add_i16(struct gguf_writer *, const char *key, int16_t);
void	gguf_writer_add_u32(struct gguf_writer *, const char *key, uint32_t);
void	gguf_writer_add_i32(struct gguf_writer *, const char *key, int32_t);
void	gguf_writer_add_u64(struct gguf_writer *, const char *key, uint64_t);
void	gguf_writer_add_i64(struct gguf_writer *, const char *key, int64_t);
void	gguf_writer_add_f32(struct gguf_writer *, const char *key, float);
void	gguf_writer_add_f64(struct gguf_writer *, const char *key, double);
void	gguf_writer_add_bool(struct gguf_writer *, const char *key, int);
void	gguf_writer_add_str(struct gguf_writer *, const char *key, const char *);
/* A string of len bytes (may hold any byte, NUL included). */
void	gguf_writer_add_strn(struct gguf_writer *, const char *key,
	    const char *, size_t len);
void	gguf_writer_add_arr_str(struct gguf_writer *, const char *key,
	    const char *const *strs, size_t n);
void	gguf_writer_add_arr_f32(struct gguf_writer *, const char *key,
	    const float *, size_t n);
void	gguf_writer_add_arr_i32(struct gguf_writer *, const char *key,
	    const int32_t *, size_t n);
/* An array of any fixed-size element type (not strings or arrays); the
 * n elements are copied from data in little-endian layout. */
void	gguf_writer_add_arr(struct gguf_writer *, const char *key,
	    enum gguf_value_type elem, const void *data, size_t n);

/*
 * Adds a tensor (type from enum ggml_type, ne[0] the row length). data must
 * hold n_bytes and stay valid until gguf_writer_write returns; the shape,
 * the type and n_bytes are checked when the file is written.
 */
void	gguf_writer_add_tensor(struct gguf_writer *, const char *name,
	    uint32_t type, uint32_t n_dims, const uint64_t *ne, const void *data,
	    size_t n_bytes);

/* Writes the file atomically; 0, or -1 with *cause set. */
int	gguf_writer_write(struct gguf_writer *, const char *path, char **cause);
/* Writes into an allocated buffer (tests); 0, or -1 with *cause set. */
int	gguf_writer_write_buffer(struct gguf_writer *, void **buf, size_t *size,
	    char **cause);

#endif
