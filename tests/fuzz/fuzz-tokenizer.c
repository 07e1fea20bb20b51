/*
 * Fuzzes both tokenizers on arbitrary bytes. The vocabularies of the test
 * data are loaded once: SentencePiece-style ones (Llama 2, Phi-3, the
 * 512-token stories260K) and byte-level BPE ones with different
 * pre-tokenizers (Llama 3, Qwen2, GPT-2, DeepSeek). The first byte of an
 * input picks the vocabulary and the flags, the rest is the text to encode,
 * and, read as little-endian int32, the ids to decode (any value, vocabulary
 * or not). Byte-level BPE loses nothing, so its ids must decode to the text
 * (but for DeepSeek's, which spell the bytes that never occur in UTF-8 with
 * tokens of their own, as llama.cpp does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gguf.h"
#include "core/tokenizer.h"
#include "util/strbuf.h"

#include "fuzz.h"

static const char *const fuzz_tok_files[] = {
	"vocab/ggml-vocab-llama-spm.gguf",
	"vocab/ggml-vocab-llama-bpe.gguf",
	"stories260K.gguf",
	"vocab/ggml-vocab-qwen2.gguf",
	"vocab/ggml-vocab-phi-3.gguf",
	"vocab/ggml-vocab-gpt-2.gguf",
	"vocab/ggml-vocab-deepseek-llm.gguf",
};
#define FUZZ_TOK_N	(sizeof(fuzz_tok_files) / sizeof(fuzz_tok_files[0]))

#define FUZZ_TOK_DEEPSEEK	6

/* Loaded once; the files stay open while the process runs. */
static struct gguf_file *fuzz_tok_files_open[FUZZ_TOK_N];
static struct tokenizer *fuzz_toks[FUZZ_TOK_N];

/* Does the text hold a byte that UTF-8 never uses? */
static int
fuzz_tok_has_non_utf8_byte(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] == 0xc0 ||
		    (unsigned char)text[i] == 0xc1 ||
		    (unsigned char)text[i] >= 0xf5)
			return 1;
	return 0;
}

static void
fuzz_tok_load(void)
{
	char path[4096], *cause = NULL;
	size_t i;

	for (i = 0; i < FUZZ_TOK_N; i++) {
		snprintf(path, sizeof(path), "%s/%s", fuzz_models_dir(),
		    fuzz_tok_files[i]);
		if ((fuzz_tok_files_open[i] = gguf_open(path, &cause)) == NULL ||
		    (fuzz_toks[i] = tokenizer_load(fuzz_tok_files_open[i],
		    &cause)) == NULL) {
			fprintf(stderr, "fuzz-tokenizer: %s\n", cause);
			abort();
		}
	}
}

static int32_t
fuzz_get32(const uint8_t *p)
{
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tokenizer *tok;
	struct strbuf sb = STRBUF_INIT;
	const char *text;
	char *cause = NULL;
	int32_t *ids = NULL, *in_ids, prev;
	size_t len, n_ids = 0, n_in, i;
	unsigned int which;
	int flags, special, lossless;

	if (fuzz_toks[0] == NULL)
		fuzz_tok_load();
	if (size < 1)
		return 0;
	which = (data[0] & 0x7) % FUZZ_TOK_N;
	tok = fuzz_toks[which];
	flags = (data[0] & 0x8 ? TOKENIZER_ADD_BOS : 0) |
	    (data[0] & 0x10 ? TOKENIZER_PARSE_SPECIAL : 0);
	special = (data[0] & 0x20) != 0;
	text = (const char *)data + 1;
	len = size - 1;

	/* encode, then back */
	if (tokenizer_encode(tok, text, len, flags, &ids, &n_ids, &cause) != 0)
		abort();	/* any bytes encode */
	for (i = 0; i < n_ids; i++)
		if (ids[i] < 0 || (uint32_t)ids[i] >= tokenizer_n_vocab(tok))
			abort();
	tokenizer_decode(tok, ids, n_ids, special, &sb);
	lossless = strcmp(tokenizer_model_name(tok), "gpt2") == 0 &&
	    flags == 0 && !(which == FUZZ_TOK_DEEPSEEK &&
	    fuzz_tok_has_non_utf8_byte(text, len));
	if (lossless && (sb.len != len ||
	    (len > 0 && memcmp(sb.buf, text, len) != 0)))
		abort();
	free(ids);
	strbuf_reset(&sb);

	/* any ids decode */
	n_in = len / 4;
	if ((in_ids = malloc((n_in ? n_in : 1) * sizeof(*in_ids))) == NULL)
		abort();
	for (i = 0; i < n_in; i++)
		in_ids[i] = fuzz_get32(data + 1 + 4 * i);
	tokenizer_decode(tok, in_ids, n_in, special, &sb);
	prev = -1;
	for (i = 0; i < n_in; i++) {
		tokenizer_decode_piece(tok, prev, in_ids[i], special, &sb);
		tokenizer_piece(tok, in_ids[i]);
		tokenizer_is_eog(tok, in_ids[i]);
		prev = in_ids[i];
	}
	fuzz_use(sb.buf, sb.len);
	free(in_ids);
	strbuf_release(&sb);
	return 0;
}
