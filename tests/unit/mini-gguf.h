/*
 * Vocabulary-only GGUF files built in memory with the project's own writer
 * (core/gguf-write.h), for the tokenizer tests: add keys, then mini_load()
 * opens the bytes and loads their tokenizer. Buffers stay alive until
 * mini_release(), so a file opened from them may outlive the next load.
 */
#ifndef SWARM_TEST_MINI_GGUF_H
#define SWARM_TEST_MINI_GGUF_H

#include <stdint.h>
#include <stdlib.h>

#include "core/gguf-write.h"
#include "core/gguf.h"
#include "core/tokenizer.h"
#include "util/xmalloc.h"

struct mini {
	struct gguf_writer	*w;
	void			**bufs;
	size_t			 n_bufs;
};

#define MINI_INIT	{ NULL, NULL, 0 }

static inline struct gguf_writer *
mini_writer(struct mini *m)
{
	if (m->w == NULL)
		m->w = gguf_writer_new();
	return m->w;
}

static inline void
mini_kv_str(struct mini *m, const char *key, const char *val)
{
	gguf_writer_add_str(mini_writer(m), key, val);
}

static inline void
mini_kv_u32(struct mini *m, const char *key, uint32_t val)
{
	gguf_writer_add_u32(mini_writer(m), key, val);
}

static inline void
mini_kv_bool(struct mini *m, const char *key, int val)
{
	gguf_writer_add_bool(mini_writer(m), key, val);
}

static inline void
mini_kv_strs(struct mini *m, const char *key, const char *const *v, size_t n)
{
	gguf_writer_add_arr_str(mini_writer(m), key, v, n);
}

static inline void
mini_kv_tokens(struct mini *m, const char **toks, size_t n)
{
	mini_kv_strs(m, "tokenizer.ggml.tokens", (const char *const *)toks, n);
}

static inline void
mini_kv_scores(struct mini *m, const float *v, size_t n)
{
	gguf_writer_add_arr_f32(mini_writer(m), "tokenizer.ggml.scores", v, n);
}

static inline void
mini_kv_types(struct mini *m, const int32_t *v, size_t n)
{
	gguf_writer_add_arr_i32(mini_writer(m), "tokenizer.ggml.token_type", v,
	    n);
}

/*
 * Writes what m holds, opens it and loads its tokenizer; m then starts over
 * empty. NULL with *cause on failure (and *gfp NULL).
 */
static inline struct tokenizer *
mini_load(struct mini *m, struct gguf_file **gfp, char **cause)
{
	struct tokenizer *tok = NULL;
	void *buf = NULL;
	size_t size;
	int rc;

	*gfp = NULL;
	rc = gguf_writer_write_buffer(mini_writer(m), &buf, &size, cause);
	gguf_writer_free(m->w);
	m->w = NULL;
	if (rc != 0)
		return NULL;
	m->bufs = xreallocarray(m->bufs, m->n_bufs + 1, sizeof(*m->bufs));
	m->bufs[m->n_bufs++] = buf;
	*gfp = gguf_open_buffer(buf, size, "mini.gguf", cause);
	if (*gfp != NULL && (tok = tokenizer_load(*gfp, cause)) == NULL) {
		gguf_close(*gfp);
		*gfp = NULL;
	}
	return tok;
}

static inline void
mini_release(struct mini *m)
{
	size_t i;

	gguf_writer_free(m->w);
	m->w = NULL;
	for (i = 0; i < m->n_bufs; i++)
		free(m->bufs[i]);
	free(m->bufs);
	m->bufs = NULL;
	m->n_bufs = 0;
}

#endif
