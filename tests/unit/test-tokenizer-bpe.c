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
#include "mini-gguf.h"

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

/*
 * Encodes then decodes s (with the special tokens when they were parsed);
 * 1 when the text comes back unchanged.
 */
static int
round_trip(const struct tokenizer *tok, const char *s, size_t len, int flags)
{
	struct strbuf sb = STRBUF_INIT;
	int32_t *ids;
	size_t n;
	int ok;

	if (encode(tok, s, len, flags, &ids, &n) != 0)
		return 0;
	tokenizer_decode(tok, ids, n, (flags & TOKENIZER_PARSE_SPECIAL) != 0,
	    &sb);
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

static void
test_metadata(void)
{
	struct gguf_file *gf;
	struct tokenizer *tok;
	int ok;

	CHECK((tok = load("vocab/ggml-vocab-llama-bpe.gguf", &gf)) != NULL);
	ok = tokenizer_n_vocab(tok) == 128256 &&
	    strcmp(tokenizer_model_name(tok), "gpt2") == 0 &&
	    tokenizer_bos(tok) == 128000 && tokenizer_eos(tok) == 128001 &&
	    tokenizer_adds_bos(tok) && tokenizer_is_eog(tok, 128001) &&
	    tokenizer_is_eog(tok, 128009) && !tokenizer_is_eog(tok, 128000) &&
	    strcmp(tokenizer_piece(tok, 128009), "<|eot_id|>") == 0;
	unload(tok, gf);
	CHECK(ok);

	CHECK((tok = load("vocab/ggml-vocab-qwen2.gguf", &gf)) != NULL);
	ok = tokenizer_n_vocab(tok) == 151936 && !tokenizer_adds_bos(tok) &&
	    tokenizer_eos(tok) == 151645 && tokenizer_is_eog(tok, 151645) &&
	    tokenizer_is_eog(tok, 151643);
	unload(tok, gf);
	CHECK(ok);
}

/* Text that has tripped tokenizers up; byte-level BPE gives all of it back. */
#define T(s) { s, sizeof(s) - 1, 0 }
#define BAD(s) { s, sizeof(s) - 1, 1 }
static const struct {
	const char	*s;
	size_t		 len;
	int		 invalid;	/* not UTF-8 */
} awkward[] = {
	T(""),
	T(" "),
	T("    "),
	T("\n"),
	T("\n\n\n"),
	T("\r\n\r\n \t"),
	T(" \n \t\t \n  x  \n"),
	T("a  b   c    d\n\n\ne"),
	T("\xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd \xf0\x9f\x87\xab"
	    "\xf0\x9f\x87\xb7"),			/* emoji, skin tone, flag */
	T("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f"
	    "\x91\xa7"),				/* family (ZWJ) */
	T("e\xcc\x81 a\xcc\x8a\xcc\x81 n\xcc\x83"),	/* combining marks */
	T("\xe1\x84\x80\xe1\x85\xa1 \xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8"
	    "\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87"),	/* jamo, Devanagari */
	T("\xc2\x85\xc2\xa0\xe1\xa0\x8e\xe3\x80\x80x"),	/* odd spaces */
	T("I'M HE'S we'LL 'S"),
	T("12345678901234567890 3.14159 1,000,000"),
	BAD("\xff\xfe\x80 abc \xc3\x28 \xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 "
	    "\xc0\xaf\x00\x01 end\xf0"),
	BAD("\x80"),
	T("<|begin_of_text|> <|im_start|> <s>"),
};
#undef T
#undef BAD

/*
 * Every case round trips; with bytes_shared set, the text that is not
 * UTF-8 need only encode: DeepSeek spells the bytes that never occur in
 * UTF-8 (0xc0, 0xc1, 0xf5 to 0xff) with user-defined tokens, which decode
 * as their text, as in llama.cpp.
 */
static void
check_awkward(const char *rel, int bytes_shared, int *ok)
{
	struct gguf_file *gf;
	struct tokenizer *tok;
	int32_t *ids;
	size_t i, n;

	if ((tok = load(rel, &gf)) == NULL) {
		*ok = 0;
		return;
	}
	for (i = 0; *ok && i < sizeof(awkward) / sizeof(*awkward); i++) {
		if (bytes_shared && awkward[i].invalid) {
			*ok = encode(tok, awkward[i].s, awkward[i].len, 0, &ids,
			    &n) == 0 && n > 0;
			free(ids);
			continue;
		}
		*ok = round_trip(tok, awkward[i].s, awkward[i].len, 0) &&
		    round_trip(tok, awkward[i].s, awkward[i].len,
		    TOKENIZER_PARSE_SPECIAL) &&
		    round_trip(tok, awkward[i].s, awkward[i].len,
		    TOKENIZER_ADD_BOS);
		if (!*ok)
			fprintf(stderr, "  %s: case %zu\n", rel, i);
	}
	unload(tok, gf);
}

static void
test_awkward_text(void)
{
	struct gguf_file *gf;
	struct tokenizer *tok;
	int32_t *ids;
	size_t n;
	int ok = 1;

	check_awkward("vocab/ggml-vocab-llama-bpe.gguf", 0, &ok);
	check_awkward("vocab/ggml-vocab-qwen2.gguf", 0, &ok);
	check_awkward("vocab/ggml-vocab-gpt-2.gguf", 0, &ok);
	check_awkward("vocab/ggml-vocab-deepseek-llm.gguf", 1, &ok);
	CHECK(ok);

	/* empty text: nothing, or BOS alone where the model adds one */
	CHECK((tok = load("vocab/ggml-vocab-llama-bpe.gguf", &gf)) != NULL);
	ok = encode(tok, "", 0, 0, &ids, &n) == 0 && n == 0;
	free(ids);
	ok = ok && encode(tok, "", 0, TOKENIZER_ADD_BOS, &ids, &n) == 0 &&
	    n == 1 && ids[0] == 128000;
	free(ids);
	/* a stray continuation byte is its byte's token: 0x80 is U+0122 */
	ok = ok && encode(tok, "\x80", 1, 0, &ids, &n) == 0 && n == 1 &&
	    strcmp(tokenizer_piece(tok, ids[0]), "\xc4\xa2") == 0;
	free(ids);
	unload(tok, gf);
	CHECK(ok);

	CHECK((tok = load("vocab/ggml-vocab-qwen2.gguf", &gf)) != NULL);
	ok = encode(tok, "", 0, TOKENIZER_ADD_BOS, &ids, &n) == 0 && n == 0;
	free(ids);
	unload(tok, gf);
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
		"supercalifragilistic ", "don't ", "\t\n\n", "x=1;",
	};
	static const char *runs[] = {
		"abcdefghij", " ", "\n", "7", "!", "\xff", " \t", "\xe6\x97\xa5",
		"\xcc\x81", "a\xff",
	};
	struct strbuf text = STRBUF_INIT, one = STRBUF_INIT;
	struct gguf_file *gf;
	struct tokenizer *tok;
	uint64_t x = 1;
	int32_t *ids = NULL;
	size_t n = 0, i;
	double t0, t_mixed, t_run, t_max = 0;
	int ok;

	CHECK((tok = load("vocab/ggml-vocab-llama-bpe.gguf", &gf)) != NULL);
	while (text.len < 1000000) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		strbuf_adds(&text, words[(x >> 33) % 15]);
	}
	t0 = now();
	ok = encode(tok, text.buf, text.len, TOKENIZER_ADD_BOS, &ids, &n) == 0;
	t_mixed = now() - t0;
	ok = ok && n > 100000 && n < text.len;
	free(ids);
	ok = ok && round_trip(tok, text.buf, text.len, 0);

	/* 200 KB runs of one kind: one word, one space run, digits, ... */
	for (i = 0; ok && i < sizeof(runs) / sizeof(*runs); i++) {
		strbuf_reset(&one);
		while (one.len < 200000)
			strbuf_adds(&one, runs[i]);
		t0 = now();
		ok = encode(tok, one.buf, one.len, 0, &ids, &n) == 0;
		t_run = now() - t0;
		if (t_run > t_max)
			t_max = t_run;
		free(ids);
		ok = ok && round_trip(tok, one.buf, one.len, 0);
	}
	printf("  1 MB mixed text %.3f s; slowest 200 KB run %.3f s\n", t_mixed,
	    t_max);
	strbuf_release(&text);
	strbuf_release(&one);
	unload(tok, gf);
	CHECK(ok);
	/* generous for a sanitizer build; quadratic time would take minutes */
	CHECK(t_mixed < 10.0 && t_max < 5.0);
}

static void
test_special(void)
{
	static const int32_t llama_chat[] = {
		128000, 128006, 882, 128007, 271, 13347, 128009,
	};
	static const int32_t qwen_chat[] = {
		151644, 872, 198, 9707, 151645, 198,
	};
	struct strbuf sb = STRBUF_INIT;
	struct gguf_file *gf;
	struct tokenizer *tok;
	const char *chat = "<|begin_of_text|><|start_header_id|>user"
	    "<|end_header_id|>\n\nHi<|eot_id|>";
	int32_t *ids;
	size_t n, i;
	int ok;

	CHECK((tok = load("vocab/ggml-vocab-llama-bpe.gguf", &gf)) != NULL);
	ok = encodes_to(tok, chat, TOKENIZER_PARSE_SPECIAL, llama_chat, 7);
	/* without the flag the markers are text */
	ok = ok && encode(tok, chat, strlen(chat), 0, &ids, &n) == 0 && n > 7;
	for (i = 0; ok && i < n; i++)
		ok = ids[i] < 128000;
	free(ids);
	/* decoding drops control tokens unless asked for them */
	ok = ok && encode(tok, chat, strlen(chat), TOKENIZER_PARSE_SPECIAL,
	    &ids, &n) == 0;
	if (ok) {
		tokenizer_decode(tok, ids, n, 0, &sb);
		ok = strcmp(sb.buf, "user\n\nHi") == 0;
		strbuf_reset(&sb);
		tokenizer_decode(tok, ids, n, 1, &sb);
		ok = ok && strcmp(sb.buf, chat) == 0;
		strbuf_reset(&sb);
	}
	free(ids);
	unload(tok, gf);
	CHECK(ok);

	CHECK((tok = load("vocab/ggml-vocab-qwen2.gguf", &gf)) != NULL);
	ok = encodes_to(tok, "<|im_start|>user\nHello<|im_end|>\n",
	    TOKENIZER_PARSE_SPECIAL | TOKENIZER_ADD_BOS, qwen_chat, 6);
	unload(tok, gf);
	CHECK(ok);

	/* DeepSeek's user-defined tokens are split out even without the flag */
	CHECK((tok = load("vocab/ggml-vocab-deepseek-llm.gguf", &gf)) != NULL);
	ok = encode(tok, "x\xc3\xb8y", 4, 0, &ids, &n) == 0 && n == 3 &&
	    ids[1] == 100002;
	free(ids);
	if (ok) {
		tokenizer_decode_piece(tok, -1, 100002, 0, &sb);
		ok = strcmp(sb.buf, "\xc3\xb8") == 0;
	}
	strbuf_release(&sb);
	unload(tok, gf);
	CHECK(ok);
}

/*
 * A byte-level vocabulary (after whatever keys m already holds): the 256 stand-ins of the byte alphabet (in byte
 * order), then extra[], with the given merges and pre-tokenizer (NULL:
 * none).
 */
static struct tokenizer *
mini_bpe(struct mini *m, const char *pre, const char *const *extra,
    size_t n_extra, const char *const *merges, size_t n_merges,
    struct gguf_file **gfp, char **cause)
{
	const char *toks[300];
	char alpha[256][3];
	struct tokenizer *tok = NULL;
	unsigned int c, k = 0, cp;
	size_t i, n = 0;

	for (c = 0; c < 256; c++) {
		if ((c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) ||
		    c >= 0xae)
			cp = c;
		else
			cp = 256 + k++;
		if (cp < 0x80) {
			alpha[c][0] = (char)cp;
			alpha[c][1] = '\0';
		} else {
			alpha[c][0] = (char)(0xc0 | cp >> 6);
			alpha[c][1] = (char)(0x80 | (cp & 0x3f));
			alpha[c][2] = '\0';
		}
		toks[n++] = alpha[c];
	}
	for (i = 0; i < n_extra && n < 300; i++)
		toks[n++] = extra[i];
	mini_kv_str(m, "tokenizer.ggml.model", "gpt2");
	if (pre != NULL)
		mini_kv_str(m, "tokenizer.ggml.pre", pre);
	mini_kv_strs(m, "tokenizer.ggml.tokens", toks, n);
	if (merges != NULL)
		mini_kv_strs(m, "tokenizer.ggml.merges", merges, n_merges);

	tok = mini_load(m, gfp, cause);
	return tok;
}

/* Every pre-tokenizer name the tokenizer knows compiles and is lossless. */
static void
test_pre_names(void)
{
	static const char *names[] = {
		"default", "llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx",
		"smaug-bpe", "chatglm-bpe", "glm4", "qwen2", "stablelm2",
		"megrez", "deepseek-r1-qwen", "tekken", "gpt-4o", "llama4",
		"gpt-2", "phi-2", "mpt", "olmo", "jais", "trillion", "gigachat",
		"roberta-bpe", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es",
		"jina-v2-de", "jina-v2-code", "starcoder", "refact", "smollm",
		"command-r", "codeshell", "exaone", "minerva-7b", "falcon",
		"deepseek-llm", "deepseek-coder", "deepseek-v3", "poro-chat",
		"bloom", "gpt3-finnish", "viking", "chameleon", "",
	};
	struct mini m = MINI_INIT;
	struct gguf_file *gf;
	struct tokenizer *tok;
	char *cause = NULL;
	size_t i, j;
	int ok = 1;

	for (i = 0; ok && i < sizeof(names) / sizeof(*names); i++) {
		tok = mini_bpe(&m, names[i], NULL, 0, names, 0, &gf, &cause);
		if (tok == NULL) {
			fprintf(stderr, "  '%s': %s\n", names[i], cause);
			free(cause);
			cause = NULL;
			ok = 0;
			break;
		}
		for (j = 0; ok && j < sizeof(awkward) / sizeof(*awkward); j++)
			ok = round_trip(tok, awkward[j].s, awkward[j].len, 0);
		if (!ok)
			fprintf(stderr, "  pre-tokenizer '%s'\n", names[i]);
		unload(tok, gf);
	}
	CHECK(ok);

	tok = mini_bpe(&m, "no-such-pre", NULL, 0, names, 0, &gf, &cause);
	CHECK(tok == NULL && cause != NULL);
	CHECK_STR(cause, "'mini.gguf': pre-tokenizer 'no-such-pre' is not "
	    "supported");
	free(cause);
	mini_release(&m);
}

/* Merge order, pre-token boundaries and whole-word lookups. */
static void
test_merge_rules(void)
{
	static const char *extra[] = {
		"ab", "bc", "abc", "aa", "\xc4\xa0" "a", "xyz", "12",
	};
	static const char *merges[] = {
		"b c", "a b", "a a", "\xc4\xa0 a", "ab c", "1 2", "a 1",
	};
	struct mini m = MINI_INIT;
	struct gguf_file *gf;
	struct tokenizer *tok;
	char *cause = NULL;
	int32_t want[4];
	int ok;

	tok = mini_bpe(&m, "gpt-2", extra, 7, merges, 7, &gf, &cause);
	CHECKF(tok != NULL, "%s", cause);
	/* "b c" outranks "a b": a + bc, and "ab c" never gets its chance */
	want[0] = 'a';
	want[1] = 257;
	ok = encodes_to(tok, "abc", 0, want, 2);
	/* equal ranks: leftmost first */
	want[0] = 259;
	want[1] = 'a';
	ok = ok && encodes_to(tok, "aaa", 0, want, 2);
	/* the space goes with the word after it */
	want[0] = 260;
	ok = ok && encodes_to(tok, " a", 0, want, 1);
	/* "a1" is two pre-tokens: the merge "a 1" cannot join them */
	want[0] = 'a';
	want[1] = 262;
	ok = ok && encodes_to(tok, "a12", 0, want, 2);
	/* no merges lead to "xyz": three tokens */
	want[0] = 'x';
	want[1] = 'y';
	want[2] = 'z';
	ok = ok && encodes_to(tok, "xyz", 0, want, 3);
	unload(tok, gf);
	CHECK(ok);

	/* llama3 takes a word that is a token whole, merges or not */
	tok = mini_bpe(&m, "llama-bpe", extra, 7, merges, 7, &gf, &cause);
	CHECKF(tok != NULL, "%s", cause);
	want[0] = 261;
	ok = encodes_to(tok, "xyz", 0, want, 1);
	/* and digits in threes: "12" is one pre-token there */
	want[0] = 262;
	ok = ok && encodes_to(tok, "12", 0, want, 1);
	/* llama3 adds BOS by default, but this vocabulary has none */
	ok = ok && !tokenizer_adds_bos(tok);
	unload(tok, gf);
	CHECK(ok);

	/* with a BOS: llama3 adds it unless the file says not to, gpt-2 not */
	mini_kv_u32(&m, "tokenizer.ggml.bos_token_id", 256);
	tok = mini_bpe(&m, "llama-bpe", extra, 7, merges, 7, &gf, &cause);
	CHECKF(tok != NULL, "%s", cause);
	ok = tokenizer_adds_bos(tok) && tokenizer_bos(tok) == 256;
	unload(tok, gf);
	mini_kv_u32(&m, "tokenizer.ggml.bos_token_id", 256);
	mini_kv_bool(&m, "tokenizer.ggml.add_bos_token", 0);
	tok = mini_bpe(&m, "llama-bpe", extra, 7, merges, 7, &gf, &cause);
	CHECKF(tok != NULL, "%s", cause);
	ok = ok && !tokenizer_adds_bos(tok);
	unload(tok, gf);
	mini_kv_u32(&m, "tokenizer.ggml.bos_token_id", 256);
	tok = mini_bpe(&m, "gpt-2", extra, 7, merges, 7, &gf, &cause);
	CHECKF(tok != NULL, "%s", cause);
	ok = ok && !tokenizer_adds_bos(tok);
	unload(tok, gf);
	CHECK(ok);

	/*
	 * A control token spelled like a normal one: the text maps to the
	 * normal token, so the control one never stands for text.
	 */
	{
		static const char *dup[] = { "ab", "a" };
		int32_t types[258];
		size_t i;

		for (i = 0; i < 258; i++)
			types[i] = 1;
		types[257] = 3;
		mini_kv_types(&m, types, 258);
		tok = mini_bpe(&m, "gpt-2", dup, 2, merges, 7, &gf, &cause);
		CHECKF(tok != NULL, "%s", cause);
		want[0] = 'a';
		ok = encodes_to(tok, "a", 0, want, 1);
		want[0] = 256;
		ok = ok && encodes_to(tok, "ab", 0, want, 1);
		want[0] = 257;
		ok = ok && encodes_to(tok, "a", TOKENIZER_PARSE_SPECIAL, want, 1);
		unload(tok, gf);
		CHECK(ok);
	}

	/* merges are required */
	tok = mini_bpe(&m, "gpt-2", extra, 7, NULL, 0, &gf, &cause);
	CHECK(tok == NULL && cause != NULL &&
	    strstr(cause, "tokenizer.ggml.merges is missing") != NULL);
	free(cause);
	mini_release(&m);
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
	TEST_RUN(test_metadata);
	TEST_RUN(test_awkward_text);
	TEST_RUN(test_long_input);
	TEST_RUN(test_special);
	TEST_RUN(test_pre_names);
	TEST_RUN(test_merge_rules);
	TEST_EXIT();
}
