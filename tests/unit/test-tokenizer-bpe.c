/*
 * Tests for the byte-level BPE tokenizer: llama.cpp's test vectors for
 * every vocabulary in the shared vocab/ directory (the BPE ones, and the
 * SentencePiece ones again so one run reports them all), round trips on
 * awkward and invalid text, a long input in bounded time, special tokens,
 * the byte alphabet, and the pre-tokenizer and merge rules on small
 * vocabularies built here in memory.
 */
#include <stdint.h>
#include <time.h>

#include "test.h"
#include "core/gguf.h"
#include "core/tokenizer.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define VOCAB_SEP	"\n__ggml_vocab_test__\n"

static char *
read_all(const char *path, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	return strbuf_detach(&sb, len);
}

static struct tokenizer *
load(const char *rel, struct gguf_file **gfp)
{
	struct tokenizer *tok = NULL;
	char *path, *cause = NULL;

	path = xasprintf("%s/%s", test_models_dir(), rel);
	if ((*gfp = gguf_open(path, &cause)) != NULL &&
	    (tok = tokenizer_load(*gfp, &cause)) == NULL) {
		gguf_close(*gfp);
		*gfp = NULL;
	}
	if (tok == NULL)
		fprintf(stderr, "  %s\n", cause ? cause : "?");
	free(cause);
	free(path);
	return tok;
}

static void
unload(struct tokenizer *tok, struct gguf_file *gf)
{
	tokenizer_free(tok);
	gguf_close(gf);
}

static int
encode(const struct tokenizer *tok, const char *s, size_t len, int flags,
    int32_t **ids, size_t *n)
{
	char *cause = NULL;
	int rc;

	*ids = NULL;
	*n = 0;
	rc = tokenizer_encode(tok, s, len, flags, ids, n, &cause);
	if (rc != 0)
		fprintf(stderr, "  encode: %s\n", cause);
	free(cause);
	return rc;
}

/* Encodes s and compares with want[] (n_want ids). */
static int
encodes_to(const struct tokenizer *tok, const char *s, int flags,
    const int32_t *want, size_t n_want)
{
	int32_t *ids;
	size_t n, i;
	int ok;

	if (encode(tok, s, strlen(s), flags, &ids, &n) != 0)
		return 0;
	ok = n == n_want;
	for (i = 0; ok && i < n; i++)
		ok = ids[i] == want[i];
	if (!ok) {
		fprintf(stderr, "  '%s': got", s);
		for (i = 0; i < n; i++)
			fprintf(stderr, " %d", ids[i]);
		fprintf(stderr, ", want");
		for (i = 0; i < n_want; i++)
			fprintf(stderr, " %d", want[i]);
		fputc('\n', stderr);
	}
	free(ids);
	return ok;
}

/* Encodes then decodes s; 1 when the text comes back unchanged. */
static int
round_trip(const struct tokenizer *tok, const char *s, size_t len, int flags)
{
	struct strbuf sb = STRBUF_INIT;
	int32_t *ids;
	size_t n;
	int ok;

	if (encode(tok, s, len, flags, &ids, &n) != 0)
		return 0;
	tokenizer_decode(tok, ids, n, 0, &sb);
	ok = sb.len == len && (len == 0 || memcmp(sb.buf, s, len) == 0);
	if (!ok)
		fprintf(stderr, "  round trip: '%.*s' came back as '%.*s'\n",
		    (int)(len > 200 ? 200 : len), s,
		    (int)(sb.len > 200 ? 200 : sb.len), sb.buf ? sb.buf : "");
	strbuf_release(&sb);
	free(ids);
	return ok;
}

/*
 * Runs llama.cpp's vectors for one vocabulary: the cases of <file>.inp are
 * separated by lines "__ggml_vocab_test__" (a case ends with the newline
 * before the separator, which is not part of it); line i of <file>.out
 * holds the ids of case i, without BOS.
 */
static int
run_vectors(const char *stem, int *n_pass, int *n_cases, int *n_round)
{
	struct gguf_file *gf;
	struct tokenizer *tok;
	char *path, *inp, *outs, *p, *end, *line, *next, *sep, *t, *save;
	size_t inp_len, out_len, n, i, n_want;
	int32_t *ids, want[4096];
	const char *err;
	int ok;

	*n_pass = *n_cases = *n_round = 0;
	path = xasprintf("vocab/%s", stem);
	tok = load(path, &gf);
	free(path);
	if (tok == NULL)
		return -1;
	path = xasprintf("%s/vocab/%s.inp", test_models_dir(), stem);
	inp = read_all(path, &inp_len);
	free(path);
	path = xasprintf("%s/vocab/%s.out", test_models_dir(), stem);
	outs = read_all(path, &out_len);
	free(path);
	if (inp == NULL || outs == NULL) {
		free(inp);
		free(outs);
		unload(tok, gf);
		return -1;
	}
	p = inp;
	end = inp + inp_len;
	line = outs;
	while (p < end && (sep = memmem(p, (size_t)(end - p), VOCAB_SEP,
	    strlen(VOCAB_SEP))) != NULL) {
		if ((next = strchr(line, '\n')) == NULL)
			break;
		*next = '\0';
		n_want = 0;
		for (t = strtok_r(line, " ", &save); t != NULL && n_want < 4096;
		    t = strtok_r(NULL, " ", &save))
			want[n_want++] = (int32_t)parse_int(t, 0, INT32_MAX, &err);
		line = next + 1;
		(*n_cases)++;

		ok = encode(tok, p, (size_t)(sep - p), 0, &ids, &n) == 0 &&
		    n == n_want;
		for (i = 0; ok && i < n; i++)
			ok = ids[i] == want[i];
		if (ok)
			(*n_pass)++;
		else {
			fprintf(stderr, "  %s case %d ('%.*s'):\n    got ", stem,
			    *n_cases, (int)(sep - p), p);
			for (i = 0; i < n; i++)
				fprintf(stderr, " %d", ids[i]);
			fprintf(stderr, "\n    want");
			for (i = 0; i < n_want; i++)
				fprintf(stderr, " %d", want[i]);
			fputc('\n', stderr);
		}
		free(ids);
		*n_round += round_trip(tok, p, (size_t)(sep - p), 0);
		p = sep + strlen(VOCAB_SEP);
	}
	free(inp);
	free(outs);
	unload(tok, gf);
	return 0;
}

static int
check_vectors(const char *stem, const char *label)
{
	int pass, cases, round, rc;

	rc = run_vectors(stem, &pass, &cases, &round);
	printf("  %s: %d/%d cases match, %d/%d round trips\n", label, pass,
	    cases, round, cases);
	return rc == 0 && cases == 46 && pass == cases && round == cases;
}

static void
test_vocab_llama_bpe(void)
{
	CHECK(check_vectors("ggml-vocab-llama-bpe.gguf", "llama-bpe"));
}

static void
test_vocab_qwen2(void)
{
	CHECK(check_vectors("ggml-vocab-qwen2.gguf", "qwen2"));
}

static void
test_vocab_gpt2(void)
{
	CHECK(check_vectors("ggml-vocab-gpt-2.gguf", "gpt-2"));
}

static void
test_vocab_deepseek_llm(void)
{
	CHECK(check_vectors("ggml-vocab-deepseek-llm.gguf", "deepseek-llm"));
}

static void
test_vocab_llama_spm(void)
{
	CHECK(check_vectors("ggml-vocab-llama-spm.gguf", "llama-spm"));
}

static void
test_vocab_phi3(void)
{
	CHECK(check_vectors("ggml-vocab-phi-3.gguf", "phi-3"));
}

int
main(void)
{
	TEST_RUN(test_vocab_llama_bpe);
	TEST_RUN(test_vocab_qwen2);
	TEST_RUN(test_vocab_gpt2);
	TEST_RUN(test_vocab_deepseek_llm);
	TEST_RUN(test_vocab_llama_spm);
	TEST_RUN(test_vocab_phi3);
	TEST_EXIT();
}
