/*
 * Tokenizers built from a GGUF's tokenizer.ggml.* metadata. The interface is
 * shared by every kind of vocabulary; the SentencePiece-style one
 * (tokenizer.ggml.model = "llama") is implemented in tokenizer-spm.c, the
 * byte-level BPE one ("gpt2") in tokenizer-bpe.c, both behind struct
 * tokenizer_ops.
 */
#ifndef SWARM_CORE_TOKENIZER_H
#define SWARM_CORE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

struct gguf_file;
struct strbuf;

enum token_attr {
	TOKEN_NORMAL = 1,
	TOKEN_UNKNOWN = 2,
	TOKEN_CONTROL = 3,
	TOKEN_USER_DEFINED = 4,
	TOKEN_UNUSED = 5,
	TOKEN_BYTE = 6,
};

#define TOKENIZER_ADD_BOS	0x1	/* prepend BOS when the model wants it */
#define TOKENIZER_PARSE_SPECIAL	0x2	/* "<s>" in text becomes the control token */

struct tokenizer;

struct tokenizer *tokenizer_load(const struct gguf_file *, char **cause);
void		 tokenizer_free(struct tokenizer *);

/* Encodes text (any bytes; invalid UTF-8 never fails) to *ids (allocated). */
int	 tokenizer_encode(const struct tokenizer *, const char *text, size_t len,
	    int flags, int32_t **ids, size_t *n_ids, char **cause);
/*
 * Appends the text of one token. `prev` is the token before it (-1 at the
 * start): SentencePiece drops the leading space of the first piece after BOS
 * or at the start, so detokenizing the ids of a text gives the text back.
 * Control tokens append nothing unless `special` is set.
 */
void	 tokenizer_decode_piece(const struct tokenizer *, int32_t prev,
	    int32_t id, int special, struct strbuf *out);
void	 tokenizer_decode(const struct tokenizer *, const int32_t *ids, size_t n,
	    int special, struct strbuf *out);

uint32_t	 tokenizer_n_vocab(const struct tokenizer *);
const char	*tokenizer_model_name(const struct tokenizer *); /* "llama", ... */
const char	*tokenizer_piece(const struct tokenizer *, int32_t id);
int32_t		 tokenizer_bos(const struct tokenizer *);	/* -1: none */
int32_t		 tokenizer_eos(const struct tokenizer *);	/* -1: none */
int		 tokenizer_adds_bos(const struct tokenizer *);
/* End of generation: EOS, EOT and the like. */
int		 tokenizer_is_eog(const struct tokenizer *, int32_t id);

#endif
