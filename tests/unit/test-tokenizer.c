/*
 * Tests for the tokenizer: llama.cpp's own test vectors for the Llama 2 and
 * Phi-3 SentencePiece vocabularies, round trips through stories260K's
 * vocabulary, special tokens, awkward and invalid text, long inputs, and
 * the checks on the metadata of small GGUF files built here in memory.
 */
#include <stdint.h>
#include <time.h>

#include "test.h"
#include "core/gguf.h"
#include "core/tokenizer.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"
#include "mini-gguf.h"

#define VOCAB_SEP	"\n__ggml_vocab_test__\n"

static char *
read_file(const char *path, size_t *len)
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

static int
encode(const struct tokenizer *tok, const char *s, size_t len, int flags,
    int32_t **ids, size_t *n)
{
	char *cause = NULL;
	int rc;

	rc = tokenizer_encode(tok, s, len, flags, ids, n, &cause);
	if (rc != 0)
		fprintf(stderr, "  encode: %s\n", cause);
	free(cause);
	return rc;
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
		    (int)len, s, (int)sb.len, sb.buf ? sb.buf : "");
	strbuf_release(&sb);
	free(ids);
	ids = NULL;
	return ok;
}

/*
 * Runs llama.cpp's vectors for one vocabulary: the cases of <file>.inp are
 * separated by lines "__ggml_vocab_test__" (each case ends with the newline
 * before the separator, which is not part of it); line i of <file>.out holds
 * the ids of case i, without BOS.
 */
static int
run_vocab_vectors(const char *stem, int *n_pass, int *n_cases, int *n_round)
{
	struct gguf_file *gf;
	struct tokenizer *tok;
	char *path, *inp, *outs, *p, *end, *line, *next, *sep;
	size_t inp_len, out_len, n, i;
	int32_t *ids, want[4096];
	size_t n_want;
	const char *err;
	int ok;

	*n_pass = *n_cases = *n_round = 0;
	path = xasprintf("vocab/%s", stem);
	tok = load(path, &gf);
	free(path);
	if (tok == NULL)
		return -1;
	path = xasprintf("%s/vocab/%s.inp", test_models_dir(), stem);
	inp = read_file(path, &inp_len);
	free(path);
	path = xasprintf("%s/vocab/%s.out", test_models_dir(), stem);
	outs = read_file(path, &out_len);
	free(path);
	if (inp == NULL || outs == NULL) {
		free(inp);
		free(outs);
		tokenizer_free(tok);
		gguf_close(gf);
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
		for (char *t = strtok(line, " "); t != NULL && n_want < 4096;
		    t = strtok(NULL, " "))
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
		ids = NULL;
		*n_round += round_trip(tok, p, (size_t)(sep - p), 0);
		p = sep + strlen(VOCAB_SEP);
	}
	free(inp);
	free(outs);
	tokenizer_free(tok);
	gguf_close(gf);
	return 0;
}

static void
test_vocab_llama_spm(void)
{
	int pass, cases, round;

	CHECK(run_vocab_vectors("ggml-vocab-llama-spm.gguf", &pass, &cases,
	    &round) == 0);
	printf("  llama-spm: %d/%d cases match, %d/%d round trips\n", pass,
	    cases, round, cases);
	CHECK(cases == 46);
	CHECK(pass == cases);
	CHECK(round == cases);
}

static void
test_vocab_phi3(void)
{
	int pass, cases, round;

	CHECK(run_vocab_vectors("ggml-vocab-phi-3.gguf", &pass, &cases,
	    &round) == 0);
	printf("  phi-3: %d/%d cases match, %d/%d round trips\n", pass,
	    cases, round, cases);
	CHECK(cases == 46);
	CHECK(pass == cases);
	CHECK(round == cases);
}

static void
test_metadata(void)
{
	struct gguf_file *gf;
	struct tokenizer *tok;
	int ok;

	CHECK((tok = load("vocab/ggml-vocab-phi-3.gguf", &gf)) != NULL);
	ok = tokenizer_n_vocab(tok) == 32064 &&
	    strcmp(tokenizer_model_name(tok), "llama") == 0 &&
	    tokenizer_bos(tok) == 1 && tokenizer_eos(tok) == 32000 &&
	    tokenizer_adds_bos(tok) && tokenizer_is_eog(tok, 32000) &&
	    tokenizer_is_eog(tok, 32007) &&	/* <|end|> */
	    !tokenizer_is_eog(tok, 1) && !tokenizer_is_eog(tok, -1) &&
	    strcmp(tokenizer_piece(tok, 32007), "<|end|>") == 0 &&
	    tokenizer_piece(tok, 32064) == NULL &&
	    tokenizer_piece(tok, -1) == NULL;
	tokenizer_free(tok);
	gguf_close(gf);
	CHECK(ok);
}

static void
test_stories_round_trip(void)
{
	static const char *texts[] = {
		"Once upon a time, there was a little girl named Lily.",
		"She loved to play outside in the sunshine.",
		" Tom said, \"Let's go to the park!\"\nMom smiled.",
		"Zebras x-ray quickly: 42 + 7 = 49?",
		"caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x90\xb1",
	};
	struct strbuf sb = STRBUF_INIT;
	struct gguf_file *gf;
	struct tokenizer *tok;
	int32_t *ids = NULL;
	size_t i, n;
	int ok = 1;

	CHECK((tok = load("stories260K.gguf", &gf)) != NULL);
	if (tokenizer_n_vocab(tok) != 512)
		ok = 0;
	for (i = 0; ok && i < sizeof(texts) / sizeof(*texts); i++)
		ok = round_trip(tok, texts[i], strlen(texts[i]),
		    TOKENIZER_ADD_BOS);
	/* BOS first, and the known pieces come out whole */
	if (ok && encode(tok, "Once upon a time", 16, TOKENIZER_ADD_BOS, &ids,
	    &n) == 0) {
		ok = n >= 2 && n < 16 && ids[0] == 1 && tokenizer_adds_bos(tok);
		for (i = 1; ok && i < n; i++)
			ok = ids[i] > 258;	/* no byte fallback */
		tokenizer_decode(tok, ids, n, 1, &sb);
		ok = ok && strcmp(sb.buf, "<s>Once upon a time") == 0;
		free(ids);
		ids = NULL;
	} else
		ok = 0;
	strbuf_release(&sb);
	tokenizer_free(tok);
	gguf_close(gf);
	CHECK(ok);
}

/*
 * ref/prompts.txt holds llama.cpp's tokenization of the reference prompts
 * for stories260K: a line '# "text"', then the ids, BOS first.
 */
static void
test_stories_prompts(void)
{
	struct gguf_file *gf;
	struct tokenizer *tok;
	char *path, *file, *line, *next, *q, *text = NULL;
	int32_t *ids = NULL;
	size_t len, n, i, checked = 0;
	const char *err;
	int ok = 1;

	path = xasprintf("%s/ref/prompts.txt", test_models_dir());
	file = read_file(path, &len);
	free(path);
	CHECK(file != NULL);
	if ((tok = load("stories260K.gguf", &gf)) == NULL) {
		free(file);
		CHECK(tok != NULL);
	}
	for (line = file; ok && line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line[0] == '#') {
			text = NULL;
			if ((q = strchr(line, '"')) != NULL &&
			    strrchr(line, '"') > q) {
				text = q + 1;
				*strrchr(line, '"') = '\0';
			}
			continue;
		}
		if (text == NULL)
			continue;
		ok = encode(tok, text, strlen(text), TOKENIZER_ADD_BOS, &ids,
		    &n) == 0;
		for (i = 0, q = strtok(line, " "); ok && q != NULL;
		    i++, q = strtok(NULL, " "))
			ok = i < n && ids[i] == parse_int(q, 0, 511, &err);
		ok = ok && i == n;
		if (!ok)
			fprintf(stderr, "  prompt '%s' differs\n", text);
		free(ids);
		ids = NULL;
		text = NULL;
		checked++;
	}
	tokenizer_free(tok);
	gguf_close(gf);
	free(file);
	CHECK(ok);
	CHECK(checked >= 3);
}

static void
test_awkward_text(void)
{
#define T(s) { s, sizeof(s) - 1 }
	static const struct {
		const char	*s;
		size_t		 len;
	} texts[] = {
		T(""),
		T(" "),
		T("    "),
		T("\n\n\n"),
		T(" \n \t\t \n  x  \n"),
		T("\xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd \xf0\x9f"
		    "\x87\xab\xf0\x9f\x87\xb7"),	/* emoji, skin tone, flag */
		T("e\xcc\x81 a\xcc\x8a\xcc\x81 n\xcc\x83"),	/* combining */
		T("\xff\xfe\x80 abc \xc3\x28 \xe2\x82 \xf0\x9f\x98 \xed\xa0"
		    "\x80 \xc0\xaf\x00\x01 end\xf0"),	/* invalid UTF-8 */
	};
#undef T
	struct strbuf sb = STRBUF_INIT;
	struct gguf_file *gf;
	struct tokenizer *tok;
	int32_t *ids = NULL;
	size_t i, n;
	int ok = 1;

	CHECK((tok = load("vocab/ggml-vocab-llama-spm.gguf", &gf)) != NULL);
	for (i = 0; ok && i < sizeof(texts) / sizeof(*texts); i++) {
		ok = round_trip(tok, texts[i].s, texts[i].len, 0) &&
		    round_trip(tok, texts[i].s, texts[i].len, TOKENIZER_ADD_BOS);
	}
	CHECK(ok);
	/* empty: nothing, or only BOS */
	ok = encode(tok, "", 0, 0, &ids, &n) == 0 && n == 0;
	free(ids);
	ids = NULL;
	CHECK(ok);
	ok = encode(tok, "", 0, TOKENIZER_ADD_BOS, &ids, &n) == 0 &&
	    n == 1 && ids[0] == 1;
	free(ids);
	ids = NULL;
	CHECK(ok);
	/* a lone invalid byte is its byte token: <0xFF> is id 3 + 0xff */
	ok = encode(tok, "\xff", 1, 0, &ids, &n) == 0 && n == 2 &&
	    ids[0] == 29871 && ids[1] == 3 + 0xff;
	free(ids);
	ids = NULL;
	CHECK(ok);
	/* U+2581 in the text is a space to SentencePiece: lossy, like it */
	ok = encode(tok, "\xe2\x96\x81x\xe2\x96\x81", 7, 0, &ids, &n) == 0;
	if (ok)
		tokenizer_decode(tok, ids, n, 0, &sb);
	free(ids);
	ids = NULL;
	CHECK(ok);
	CHECK_STR(sb.buf, " x ");
	strbuf_release(&sb);
	tokenizer_free(tok);
	gguf_close(gf);
	CHECK(ok);
}

/* Random strings over an alphabet rich in spaces, UTF-8 pieces and tags. */
static void
test_random_bytes(void)
{
	static const char alpha[] = " \n\tas</>\xc3\xa9\xe2\x81\xf0\x9f\x98\x80\xff";
	struct strbuf sb = STRBUF_INIT;
	struct gguf_file *gf;
	struct tokenizer *tok;
	char text[64];
	int32_t *ids = NULL;
	uint64_t x = 12345;
	size_t len, i, n;
	int r, ok = 1;

	CHECK((tok = load("vocab/ggml-vocab-llama-spm.gguf", &gf)) != NULL);
	for (r = 0; ok && r < 3000; r++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		len = (x >> 33) % sizeof(text);
		for (i = 0; i < len; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			text[i] = alpha[(x >> 33) % (sizeof(alpha) - 1)];
		}
		ok = round_trip(tok, text, len, TOKENIZER_ADD_BOS);
		/* with special tokens parsed: no failure, ids in range */
		ok = ok && encode(tok, text, len, TOKENIZER_PARSE_SPECIAL, &ids,
		    &n) == 0;
		for (i = 0; ok && i < n; i++)
			ok = ids[i] >= 0 && (uint32_t)ids[i] < 32000;
		if (ok) {
			strbuf_reset(&sb);
			tokenizer_decode(tok, ids, n, 1, &sb);
		}
		free(ids);
		ids = NULL;
	}
	strbuf_release(&sb);
	tokenizer_free(tok);
	gguf_close(gf);
	CHECK(ok);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_long_input(void)
{
	static const char *words[] = {
		"the ", "quick ", "brown ", "fox ", "jumps\n", "\xc3\xbc", "ber ",
		"\xe6\x97\xa5\xe6\x9c\xac ", "42, ", "  ", "\xf0\x9f\x98\x80",
		"supercalifragilistic ",
	};
	struct strbuf text = STRBUF_INIT, one = STRBUF_INIT;
	struct gguf_file *gf;
	struct tokenizer *tok;
	uint64_t x = 1;
	int32_t *ids = NULL;
	size_t n = 0;
	double t0, t_mixed, t_run;
	int ok;

	CHECK((tok = load("vocab/ggml-vocab-llama-spm.gguf", &gf)) != NULL);
	while (text.len < 200000) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		strbuf_adds(&text, words[(x >> 33) % 12]);
	}
	t0 = now();
	ok = encode(tok, text.buf, text.len, TOKENIZER_ADD_BOS, &ids, &n) == 0;
	t_mixed = now() - t0;
	ok = ok && n > 20000 && n < text.len;
	free(ids);
	ids = NULL;
	ok = ok && round_trip(tok, text.buf, text.len, 0);

	/* one 200 KB word: no spaces to break it up */
	strbuf_reset(&one);
	while (one.len < 200000)
		strbuf_adds(&one, "abcdefghij\xd0\xb6");
	t0 = now();
	ok = ok && encode(tok, one.buf, one.len, 0, &ids, &n) == 0;
	t_run = now() - t0;
	free(ids);
	ids = NULL;
	printf("  200 KB: mixed text %.3f s, one word %.3f s\n", t_mixed,
	    t_run);
	strbuf_release(&text);
	strbuf_release(&one);
	tokenizer_free(tok);
	gguf_close(gf);
	CHECK(ok);
	/* generous for a sanitizer build; quadratic time would take minutes */
	CHECK(t_mixed < 5.0 && t_run < 5.0);
}

static void
test_parse_special(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct gguf_file *gf;
	struct tokenizer *tok;
	int32_t *ids = NULL, *plain = NULL, *hello = NULL;
	size_t n, n_plain, n_hello, i;
	int ok;

	CHECK((tok = load("vocab/ggml-vocab-llama-spm.gguf", &gf)) != NULL);
	ok = encode(tok, "hello", 5, 0, &hello, &n_hello) == 0 &&
	    encode(tok, "<s>hello</s>", 12, TOKENIZER_PARSE_SPECIAL, &ids,
	    &n) == 0 &&
	    encode(tok, "<s>hello</s>", 12, 0, &plain, &n_plain) == 0;
	/* the text after a special token gets the space prefix */
	ok = ok && n == n_hello + 2 && ids[0] == 1 && ids[n - 1] == 2;
	for (i = 0; ok && i < n_hello; i++)
		ok = ids[i + 1] == hello[i];
	/* without the flag, "<s>" is text */
	for (i = 0; ok && i < n_plain; i++)
		ok = plain[i] != 1 && plain[i] != 2;
	if (ok) {
		tokenizer_decode(tok, ids, n, 1, &sb);
		ok = strcmp(sb.buf, "<s>hello</s>") == 0;
		strbuf_reset(&sb);
		tokenizer_decode(tok, ids, n, 0, &sb);
		ok = ok && strcmp(sb.buf, "hello") == 0;
		strbuf_reset(&sb);
		tokenizer_decode(tok, plain, n_plain, 0, &sb);
		ok = ok && strcmp(sb.buf, "<s>hello</s>") == 0;
	}
	free(ids);
	ids = NULL;
	free(plain);
	free(hello);
	/* Llama keeps the whitespace after a special token (Phi-3 does not) */
	ok = ok && encode(tok, "<s>\nhi", 6, TOKENIZER_PARSE_SPECIAL, &ids,
	    &n) == 0 && n >= 3 && ids[0] == 1 && ids[1] == 29871 && ids[2] == 13;
	free(ids);
	ids = NULL;
	/* BOS from the flag and from the text: both stay */
	ok = ok && encode(tok, "<s> a", 5, TOKENIZER_PARSE_SPECIAL |
	    TOKENIZER_ADD_BOS, &ids, &n) == 0 && n >= 3 && ids[0] == 1 &&
	    ids[1] == 1;
	free(ids);
	ids = NULL;
	strbuf_release(&sb);
	tokenizer_free(tok);
	gguf_close(gf);
	CHECK(ok);
}

static void
test_phi3_special(void)
{
	struct gguf_file *gf;
	struct tokenizer *tok;
	int32_t *ids = NULL, *hi = NULL;
	size_t n, n_hi, i;
	int ok;

	CHECK((tok = load("vocab/ggml-vocab-phi-3.gguf", &gf)) != NULL);
	/* Phi-3's chat tokens eat the newline after them */
	ok = encode(tok, "Hi", 2, 0, &hi, &n_hi) == 0 &&
	    encode(tok, "<|user|>\nHi<|end|>\n<|assistant|>\n", 33,
	    TOKENIZER_PARSE_SPECIAL | TOKENIZER_ADD_BOS, &ids, &n) == 0;
	ok = ok && n == n_hi + 4 && ids[0] == 1 && ids[1] == 32010 &&
	    ids[n - 2] == 32007 && ids[n - 1] == 32001;
	for (i = 0; ok && i < n_hi; i++)
		ok = ids[i + 2] == hi[i];
	free(ids);
	ids = NULL;
	free(hi);
	/* llama.cpp's ids for a chat turn */
	{
		static const int32_t want[] = { 1, 32010, 317, 21554, 13,
		    17628, 32007, 32001 };
		const char *turn = "<|user|>\nSYS\nHI<|end|>\n<|assistant|>\n";

		ok = ok && encode(tok, turn, strlen(turn),
		    TOKENIZER_PARSE_SPECIAL | TOKENIZER_ADD_BOS, &ids, &n) == 0 &&
		    n == 8 && memcmp(ids, want, sizeof(want)) == 0;
		free(ids);
		ids = NULL;
	}
	/* "</s>" is user-defined there: split out even without the flag */
	ok = ok && encode(tok, "a</s>", 5, 0, &ids, &n) == 0 && n >= 2 &&
	    ids[n - 1] == 2;
	free(ids);
	ids = NULL;
	tokenizer_free(tok);
	gguf_close(gf);
	CHECK(ok);
}

static const char *mini_toks[] = {
	"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "c", "ab", "bc",
	"\xe2\x96\x81" "a",
};
#define MINI_N	(sizeof(mini_toks) / sizeof(*mini_toks))

static int
mini_expect_error(struct mini *m, const char *want)
{
	struct gguf_file *gf;
	struct tokenizer *tok;
	char *cause = NULL;
	int ok;

	tok = mini_load(m, &gf, &cause);
	ok = tok == NULL && cause != NULL && strstr(cause, want) != NULL;
	if (!ok)
		fprintf(stderr, "  want error '%s', got '%s'\n", want,
		    cause ? cause : "success");
	if (tok != NULL) {
		tokenizer_free(tok);
		gguf_close(gf);
	}
	free(cause);
	return ok;
}

static void
test_bad_metadata(void)
{
	struct mini m = MINI_INIT;
	float scores[MINI_N] = { 0 };
	int32_t types[MINI_N] = { 2, 3, 3, 1, 1, 1, 1, 1, 1, 1 };

	mini_kv_str(&m, "tokenizer.ggml.model", "foo");
	mini_kv_tokens(&m, mini_toks, MINI_N);
	CHECK(mini_expect_error(&m,
	    "'mini.gguf': tokenizer 'foo' is not supported"));

	mini_kv_tokens(&m, mini_toks, MINI_N);
	CHECK(mini_expect_error(&m, "tokenizer.ggml.model is missing"));

	mini_kv_str(&m, "tokenizer.ggml.model", "llama");
	CHECK(mini_expect_error(&m, "tokenizer.ggml.tokens is missing"));

	mini_kv_str(&m, "tokenizer.ggml.model", "llama");
	mini_kv_tokens(&m, mini_toks, MINI_N);
	mini_kv_scores(&m, scores, MINI_N - 1);
	CHECK(mini_expect_error(&m, "tokenizer.ggml.scores has 9 entries"));

	mini_kv_str(&m, "tokenizer.ggml.model", "llama");
	mini_kv_tokens(&m, mini_toks, MINI_N);
	mini_kv_types(&m, types, MINI_N + 0);
	mini_kv_u32(&m, "tokenizer.ggml.bos_token_id", MINI_N);
	CHECK(mini_expect_error(&m, "bos_token_id 10 is out of range"));

	types[5] = 9;
	mini_kv_str(&m, "tokenizer.ggml.model", "llama");
	mini_kv_tokens(&m, mini_toks, MINI_N);
	mini_kv_types(&m, types, MINI_N);
	CHECK(mini_expect_error(&m, "token 5 has an unknown type 9"));

	mini_kv_str(&m, "tokenizer.ggml.model", "llama");
	mini_kv_tokens(&m, mini_toks, MINI_N);
	mini_kv_str(&m, "tokenizer.ggml.add_bos_token", "yes");
	CHECK(mini_expect_error(&m, "add_bos_token is not a boolean"));
	mini_release(&m);
}

static void
test_merge_order(void)
{
	struct mini m = MINI_INIT;
	struct gguf_file *gf;
	struct tokenizer *tok;
	float scores[MINI_N] = { 0, 0, 0, -5, -5, -5, -5, 1, 2, 0.5f };
	int32_t types[MINI_N] = { 2, 3, 3, 1, 1, 1, 1, 1, 1, 1 };
	char *cause = NULL;
	int32_t *ids = NULL;
	size_t n;
	int ok;

	mini_kv_str(&m, "tokenizer.ggml.model", "llama");
	mini_kv_tokens(&m, mini_toks, MINI_N);
	mini_kv_scores(&m, scores, MINI_N);
	mini_kv_types(&m, types, MINI_N);
	mini_kv_bool(&m, "tokenizer.ggml.add_space_prefix", 0);
	mini_kv_u32(&m, "tokenizer.ggml.eos_token_id", UINT32_MAX);
	tok = mini_load(&m, &gf, &cause);
	CHECKF(tok != NULL, "%s", cause);
	/* "bc" outscores "ab" */
	ok = encode(tok, "abc", 3, 0, &ids, &n) == 0 && n == 2 &&
	    ids[0] == 4 && ids[1] == 8;
	free(ids);
	ids = NULL;
	/* no byte tokens: an unknown character is <unk> */
	ok = ok && encode(tok, "x\xffz", 3, 0, &ids, &n) == 0 && n == 3 &&
	    ids[0] == 0 && ids[1] == 0 && ids[2] == 0;
	free(ids);
	ids = NULL;
	ok = ok && tokenizer_eos(tok) == -1 && tokenizer_bos(tok) == 1;
	tokenizer_free(tok);
	gguf_close(gf);
	CHECK(ok);

	/* equal scores: the leftmost pair first; prefix from the default */
	scores[8] = 1;
	mini_kv_str(&m, "tokenizer.ggml.model", "llama");
	mini_kv_tokens(&m, mini_toks, MINI_N);
	mini_kv_scores(&m, scores, MINI_N);
	tok = mini_load(&m, &gf, &cause);
	CHECKF(tok != NULL, "%s", cause);
	ok = encode(tok, "abc", 3, 0, &ids, &n) == 0 && n == 3 &&
	    ids[0] == 3 && ids[1] == 7 && ids[2] == 6;
	free(ids);
	ids = NULL;
	ok = ok && encode(tok, "a", 1, 0, &ids, &n) == 0 && n == 1 &&
	    ids[0] == 9;
	free(ids);
	ids = NULL;
	tokenizer_free(tok);
	gguf_close(gf);
	mini_release(&m);
	CHECK(ok);
}

int
main(void)
{
	TEST_RUN(test_vocab_llama_spm);
	TEST_RUN(test_vocab_phi3);
	TEST_RUN(test_metadata);
	TEST_RUN(test_stories_round_trip);
	TEST_RUN(test_stories_prompts);
	TEST_RUN(test_awkward_text);
	TEST_RUN(test_random_bytes);
	TEST_RUN(test_long_input);
	TEST_RUN(test_parse_special);
	TEST_RUN(test_phi3_special);
	TEST_RUN(test_bad_metadata);
	TEST_RUN(test_merge_order);
	TEST_EXIT();
}
