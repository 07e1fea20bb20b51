/*
 * The inside of struct tokenizer, shared by tokenizer.c (loading, the piece
 * map, special-token splitting, decoding) and the files that implement one
 * kind of vocabulary each (tokenizer-spm.c, tokenizer-bpe.c). Nothing
 * outside src/core/tokenizer*.c includes this.
 */
#ifndef SWARM_CORE_TOKENIZER_IMPL_H
#define SWARM_CORE_TOKENIZER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/tokenizer.h"

struct gguf_file;
struct strbuf;

/* Limits on what a file may ask for. */
#define TOKENIZER_MAX_VOCAB	(1u << 22)
#define TOKENIZER_MAX_PIECE	65536
#define TOKENIZER_MAX_EOG	16

/* Per-token flags beside the type (llama.cpp's lstrip / rstrip). */
#define TOKEN_FLAG_LSTRIP	0x1	/* eat whitespace before the token */
#define TOKEN_FLAG_RSTRIP	0x2	/* eat whitespace after the token */

/* A growing list of ids, handed to the caller at the end of an encode. */
struct tokenizer_ids {
	int32_t	*v;
	size_t	 n;
	size_t	 alloc;
};

void	tokenizer_ids_push(struct tokenizer_ids *, int32_t id);

struct tokenizer_ops {
	const char	*name;		/* tokenizer.ggml.model */
	/* Kind-specific loading (merges, ...); may be NULL. */
	int		(*init)(struct tokenizer *, const struct gguf_file *,
			    char **cause);
	void		(*release)(struct tokenizer *);
	/*
	 * Encodes one run of plain text (special tokens already split off).
	 * `first` is set when the run is at the start of the text or directly
	 * follows a special token.
	 */
	int		(*encode)(const struct tokenizer *, const char *text,
			    size_t len, int first, struct tokenizer_ids *out,
			    char **cause);
	void		(*decode_piece)(const struct tokenizer *, int32_t prev,
			    int32_t id, int special, struct strbuf *out);
};

struct tokenizer {
	char			*model;		/* tokenizer.ggml.model */
	const struct tokenizer_ops *ops;
	uint32_t		 n_vocab;

	/* Piece i is text + off[i], len[i] bytes, NUL-terminated. */
	char			*text;
	uint64_t		*off;
	uint32_t		*len;
	float			*scores;
	uint8_t			*type;		/* enum token_attr */
	uint8_t			*flags;		/* TOKEN_FLAG_* */
	uint32_t		 max_len;	/* longest piece */

	/* piece -> id, open addressing; a slot holds id + 1, 0 is empty */
	uint32_t		*slots;
	size_t			 slot_mask;

	/* Tokens split out of the text before encoding, longest first. */
	int32_t			*special;
	size_t			 n_special;

	int32_t			 byte_tok[256];	/* byte -> <0xXX> token, -1 */

	int32_t			 bos, eos, unk, eot, eom;	/* -1: none */
	int32_t			 eog[TOKENIZER_MAX_EOG];
	size_t			 n_eog;
	int			 add_bos;
	int			 add_space_prefix;

	void			*priv;		/* for the ops */
};

/* The id of the piece (ptr, len), or -1. */
int32_t	tokenizer_find(const struct tokenizer *, const char *ptr, size_t len);
/* The value of a byte token (<0xXX>), or -1 when id is not one. */
int	tokenizer_byte_value(const struct tokenizer *, int32_t id);

extern const struct tokenizer_ops tokenizer_spm_ops;
extern const struct tokenizer_ops tokenizer_bpe_ops;

#endif
