/*
 * Byte-level BPE (tokenizer.ggml.model = "gpt2"), the tokenizer of Llama 3,
 * Qwen2, GPT-2, DeepSeek, Falcon, StarCoder, SmolLM, Mistral's tekken and
 * their kin. The text is first cut into words by the regular expressions of
 * the pre-tokenizer named in tokenizer.ggml.pre, applied one after the other
 * the way the Hugging Face tokenizers apply a Sequence of Split steps: each
 * expression splits every piece the previous ones left, and the text between
 * two matches stays a piece of its own. The expressions are compiled once
 * per tokenizer with PCRE2 (UTF, Unicode properties, JIT when the library
 * has it). Each word's bytes then become symbols, one per byte, whose text
 * is GPT-2's printable stand-in for the byte, and the adjacent pair with the
 * lowest merge rank (its index in tokenizer.ggml.merges; the leftmost on a
 * tie) is merged until no pair has a rank. A heap of candidate pairs keeps
 * that O(n log n) in the length of the word.
 *
 * Invalid UTF-8 never fails: the expressions are compiled with
 * PCRE2_MATCH_INVALID_UTF, so a malformed sequence matches nothing and ends
 * up in a piece between matches; its bytes go through the byte alphabet
 * like any other, and decoding gives them back unchanged. (DeepSeek's
 * vocabularies spell the bytes that cannot occur in UTF-8 with
 * user-defined tokens, which decode as their text, as in llama.cpp.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/gguf.h"
#include "core/tokenizer-impl.h"
#include "util/heap.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define BPE_MAX_RE	6
#define BPE_MAX_MERGES	(1u << 22)	/* Llama 3 has 280147 */
#define BPE_N_CP	324	/* the byte alphabet's code points: < 324 */

/*
 * Unicode White_Space, which \s means in the engines the expressions were
 * written for (PCRE2's own \s adds U+180E and would differ).
 */
#define WS "\\t\\n\\v\\f\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}" \
	"\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"

/* GPT-2's expression, with and without its last alternative. */
#define RE_GPT2_BASE "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS \
	"\\p{L}\\p{N}]+|[" WS "]+(?![^" WS "])"
#define RE_GPT2 RE_GPT2_BASE "|[" WS "]+"

/* cl100k-style, as in Llama 3 (digits in threes) and Qwen2 (one by one). */
#define RE_CL100K(digits) "(?i:'s|'t|'re|'ve|'m|'ll|'d)|" \
	"[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" digits "| ?[^" WS \
	"\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" \
	WS "]+"

#define RE_UPPER "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
#define RE_LOWER "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"
#define RE_CONTR "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"

/* Tekken (Mistral Nemo and later) and GPT-4o (also Llama 4). */
#define RE_O200K(contr, digits) "[^\\r\\n\\p{L}\\p{N}]?" RE_UPPER "*" \
	RE_LOWER "+" contr "|[^\\r\\n\\p{L}\\p{N}]?" RE_UPPER "+" RE_LOWER "*" \
	contr "|\\p{N}" digits "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n/]*|[" WS \
	"]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+"

/* DeepSeek's cased letters (Unicode's LC), spelled out in its tokenizer. */
#define RE_DEEPSEEK_LETTERS "A-Za-z\\x{b5}\\x{c0}-\\x{d6}\\x{d8}-\\x{f6}" \
	"\\x{f8}-\\x{1ba}\\x{1bc}-\\x{1bf}\\x{1c4}-\\x{293}\\x{295}-\\x{2af}" \
	"\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37b}-\\x{37d}\\x{37f}\\x{386}" \
	"\\x{388}-\\x{38a}\\x{38c}\\x{38e}-\\x{3a1}\\x{3a3}-\\x{3f5}" \
	"\\x{3f7}-\\x{481}\\x{48a}-\\x{52f}\\x{531}-\\x{556}" \
	"\\x{10a0}-\\x{10c5}\\x{13a0}-\\x{13f5}\\x{13f8}-\\x{13fd}" \
	"\\x{1c90}-\\x{1cba}\\x{1cbd}-\\x{1cbf}\\x{1d00}-\\x{1d2b}" \
	"\\x{1d6b}-\\x{1d77}" \
	"\\x{1d79}-\\x{1d9a}\\x{1e00}-\\x{1f15}\\x{1f18}-\\x{1f1d}" \
	"\\x{1f20}-\\x{1f45}\\x{1f48}-\\x{1f4d}\\x{1f50}-\\x{1f57}\\x{1f59}" \
	"\\x{1f5b}\\x{1f5d}\\x{1f5f}-\\x{1f7d}\\x{1f80}-\\x{1fb4}" \
	"\\x{1fb6}-\\x{1fbc}\\x{1fbe}\\x{1fc2}-\\x{1fc4}\\x{1fc6}-\\x{1fcc}" \
	"\\x{1fd0}-\\x{1fd3}\\x{1fd6}-\\x{1fdb}\\x{1fe0}-\\x{1fec}" \
	"\\x{1ff2}-\\x{1ff4}\\x{1ff6}-\\x{1ffc}\\x{2102}\\x{2107}" \
	"\\x{210a}-\\x{2113}\\x{2115}\\x{2119}-\\x{211d}\\x{2124}\\x{2126}" \
	"\\x{2128}\\x{212a}-\\x{212d}\\x{212f}-\\x{2134}\\x{2139}" \
	"\\x{213c}-\\x{213f}\\x{2145}-\\x{2149}\\x{214e}\\x{2183}\\x{2184}" \
	"\\x{2c00}-\\x{2c7b}\\x{2c7e}-\\x{2ce4}\\x{2ceb}-\\x{2cee}\\x{2cf2}" \
	"\\x{2cf3}\\x{a640}-\\x{a66d}\\x{a680}-\\x{a69b}\\x{a722}-\\x{a76f}" \
	"\\x{a771}-\\x{a787}\\x{a78b}-\\x{a78e}\\x{ab70}-\\x{abbf}" \
	"\\x{fb00}-\\x{fb06}\\x{fb13}-\\x{fb17}\\x{ff21}-\\x{ff3a}" \
	"\\x{ff41}-\\x{ff5a}\\x{10400}-\\x{1044f}\\x{104b0}-\\x{104d3}" \
	"\\x{104d8}-\\x{104fb}\\x{10c80}-\\x{10cb2}\\x{10cc0}-\\x{10cf2}" \
	"\\x{118a0}-\\x{118df}\\x{1e900}-\\x{1e943}"
#define RE_CJK "[\\x{4e00}-\\x{9fa5}\\x{800}-\\x{4e00}\\x{ac00}-\\x{d7ff}]+"

#define RE_BLOOM " ?[^(" WS "|.,!?\\x{2026}\\x{3002}\\x{ff0c}\\x{3001}" \
	"\\x{964}\\x{6d4}\\x{60c})]+"

/*
 * A pre-tokenizer: its expressions, and the defaults llama.cpp gives the
 * models that use it (a whole word that is a token is taken as is, without
 * merges; BOS is added unless the file says otherwise).
 */
struct bpe_pre {
	const char	*re[BPE_MAX_RE];
	int		 ignore_merges;
	int		 add_bos;
};

static const struct bpe_pre bpe_pre_default = { .re = {
	"[\\p{P}$+<=>^~|]+", RE_GPT2_BASE, "\\p{N}+", "[0-9][0-9][0-9]",
} };
static const struct bpe_pre bpe_pre_gpt2 = { .re = { RE_GPT2 } };
static const struct bpe_pre bpe_pre_llama3 = { .re = { RE_CL100K("{1,3}") },
	.ignore_merges = 1, .add_bos = 1 };
static const struct bpe_pre bpe_pre_cl100k = {
	.re = { RE_CL100K("{1,3}") }
};
static const struct bpe_pre bpe_pre_qwen2 = { .re = { RE_CL100K("") } };
static const struct bpe_pre bpe_pre_tekken = { .re = { RE_O200K("", "") },
	.ignore_merges = 1, .add_bos = 1 };
static const struct bpe_pre bpe_pre_gpt4o = {
	.re = { RE_O200K(RE_CONTR, "{1,3}") }
};
static const struct bpe_pre bpe_pre_starcoder = {
	.re = { "\\p{N}", RE_GPT2 }
};
static const struct bpe_pre bpe_pre_falcon = { .re = {
	"[\\p{P}$+<=>^~|`]+", RE_GPT2_BASE, "[0-9][0-9][0-9]",
} };
static const struct bpe_pre bpe_pre_deepseek_llm = { .re = {
	"[\\r\\n]",
	"[" WS "]?[" RE_DEEPSEEK_LETTERS "]+",
	"[" WS "]?[!-/:-~\\x{ff01}-\\x{ff0f}\\x{ff1a}-\\x{ff5e}"
	    "\\x{2018}-\\x{201f}\\x{3000}-\\x{3002}]+",
	"[" WS "]+$",
	RE_CJK,
	"\\p{N}+",
} };
static const struct bpe_pre bpe_pre_deepseek_coder = { .re = {
	"[\\r\\n]", "[" WS "]?\\p{L}+", "[" WS "]?\\p{P}+", RE_CJK, "\\p{N}",
} };
static const struct bpe_pre bpe_pre_deepseek3 = { .re = {
	"\\p{N}{1,3}",
	"[\\x{4e00}-\\x{9fa5}\\x{3040}-\\x{309f}\\x{30a0}-\\x{30ff}]+",
	"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|"
	    "[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+"
	    "[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+",
} };
static const struct bpe_pre bpe_pre_bloom = { .re = { RE_BLOOM } };
static const struct bpe_pre bpe_pre_viking = {
	.re = { RE_BLOOM, "\\p{N}" }
};
static const struct bpe_pre bpe_pre_chameleon = { .re = {
	"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
	"([\\t\\n]|    |  )", "\\p{N}", "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2_BASE,
}, .add_bos = 1 };

/* tokenizer.ggml.pre names as the converters write them. */
static const struct {
	const char		*name;
	const struct bpe_pre	*pre;
} bpe_pre_names[] = {
	{ "default", &bpe_pre_default },
	{ "llama3", &bpe_pre_llama3 },
	{ "llama-v3", &bpe_pre_llama3 },
	{ "llama-bpe", &bpe_pre_llama3 },
	{ "falcon3", &bpe_pre_llama3 },
	{ "dbrx", &bpe_pre_cl100k },
	{ "smaug-bpe", &bpe_pre_cl100k },
	{ "chatglm-bpe", &bpe_pre_cl100k },
	{ "glm4", &bpe_pre_cl100k },
	{ "qwen2", &bpe_pre_qwen2 },
	{ "stablelm2", &bpe_pre_qwen2 },
	{ "megrez", &bpe_pre_qwen2 },
	{ "deepseek-r1-qwen", &bpe_pre_qwen2 },
	{ "tekken", &bpe_pre_tekken },
	{ "gpt-4o", &bpe_pre_gpt4o },
	{ "llama4", &bpe_pre_gpt4o },
	{ "gpt-2", &bpe_pre_gpt2 },
	{ "phi-2", &bpe_pre_gpt2 },
	{ "mpt", &bpe_pre_gpt2 },
	{ "olmo", &bpe_pre_gpt2 },
	{ "jais", &bpe_pre_gpt2 },
	{ "trillion", &bpe_pre_gpt2 },
	{ "gigachat", &bpe_pre_gpt2 },
	{ "roberta-bpe", &bpe_pre_gpt2 },
	{ "jina-es", &bpe_pre_gpt2 },
	{ "jina-de", &bpe_pre_gpt2 },
	{ "jina-v1-en", &bpe_pre_gpt2 },
	{ "jina-v2-es", &bpe_pre_gpt2 },
	{ "jina-v2-de", &bpe_pre_gpt2 },
	{ "jina-v2-code", &bpe_pre_gpt2 },
	{ "starcoder", &bpe_pre_starcoder },
	{ "refact", &bpe_pre_starcoder },
	{ "smollm", &bpe_pre_starcoder },
	{ "command-r", &bpe_pre_starcoder },
	{ "codeshell", &bpe_pre_starcoder },
	{ "exaone", &bpe_pre_starcoder },
	{ "minerva-7b", &bpe_pre_starcoder },
	{ "falcon", &bpe_pre_falcon },
	{ "deepseek-llm", &bpe_pre_deepseek_llm },
	{ "deepseek-coder", &bpe_pre_deepseek_coder },
	{ "deepseek-v3", &bpe_pre_deepseek3 },
	{ "poro-chat", &bpe_pre_bloom },
	{ "bloom", &bpe_pre_bloom },
	{ "gpt3-finnish", &bpe_pre_bloom },
	{ "viking", &bpe_pre_viking },
	{ "chameleon", &bpe_pre_chameleon },
};

/* A merge: the pair of token ids (left, right) becomes result at rank. */
struct bpe_merge {
	int32_t		left;		/* -1: empty slot */
	int32_t		right;
	int32_t		result;
	uint32_t	rank;
};

struct bpe {
	const struct bpe_pre	*pre;
	pcre2_code		*re[BPE_MAX_RE];
	size_t			 n_re;
	uint32_t		 max_groups;	/* for the match data */

	struct bpe_merge	*merges;	/* open addressing */
	size_t			 merge_mask;

	/*
	 * Normal tokens whose text a later token of another type repeats:
	 * the piece map finds the later one, but the merges and the byte
	 * alphabet mean the normal one, as the model's own vocabulary and
	 * its added tokens are apart in the Hugging Face tokenizers.
	 */
	int32_t			*shadowed;
	size_t			 n_shadowed;

	uint16_t		 byte_cp[256];	/* byte -> its stand-in */
	int16_t			 cp_byte[BPE_N_CP];	/* back; -1 */
	int32_t			 byte_id[256];	/* its token */
};

/* A piece of the text being pre-tokenized. */
struct bpe_span {
	size_t	off;
	size_t	len;
};

struct bpe_spans {
	struct bpe_span	*v;
	size_t		 n;
	size_t		 alloc;
};

/* A symbol of a word: a token id, or -1 for a byte with no token. */
struct bpe_sym {
	int32_t		id;
	int32_t		prev;
	int32_t		next;
	int32_t		dead;
};

/* A candidate merge of the symbol at left with the one after it. */
struct bpe_pair {
	uint32_t	rank;
	int32_t		left;
	int32_t		left_id;
	int32_t		right_id;
	int32_t		result;
};


/* What one encode call needs; nothing of it outlives the call. */
struct bpe_work {
	pcre2_match_data	*md;
	struct bpe_spans	 a, b;
	struct bpe_sym		*sym;
	size_t			 sym_alloc;
	struct heap		 heap;
	char			*mapped;	/* a word, as stand-ins */
	size_t			 mapped_alloc;
};

/*
 * GPT-2's byte alphabet: the printable bytes of Latin-1 stand for
 * themselves, the others (controls, space, DEL, NBSP, soft hyphen) for
 * U+0100 onwards in byte order, so every token is printable text.
 */
static void
bpe_init_alphabet(struct bpe *b)
{
	unsigned int c, n = 0;

	for (c = 0; c < BPE_N_CP; c++)
		b->cp_byte[c] = -1;
	for (c = 0; c < 256; c++) {
		if ((c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) ||
		    c >= 0xae)
			b->byte_cp[c] = (uint16_t)c;
		else
			b->byte_cp[c] = (uint16_t)(256 + n++);
		b->cp_byte[b->byte_cp[c]] = (int16_t)c;
	}
}

/* UTF-8 of a code point below 0x800; returns its length. */
static size_t
bpe_put_cp(char *p, unsigned int cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	p[0] = (char)(0xc0 | cp >> 6);
	p[1] = (char)(0x80 | (cp & 0x3f));
	return 2;
}

static uint64_t
bpe_pair_hash(int32_t left, int32_t right)
{
	uint64_t h = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;

	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 31);
}

static const struct bpe_merge *
bpe_find_merge(const struct bpe *b, int32_t left, int32_t right)
{
	size_t i;

	if (b->merges == NULL)
		return NULL;
	i = bpe_pair_hash(left, right) & b->merge_mask;
	while (b->merges[i].left >= 0) {
		if (b->merges[i].left == left && b->merges[i].right == right)
			return &b->merges[i];
		i = (i + 1) & b->merge_mask;
	}
	return NULL;
}

/* The normal token spelled (p, n), or another one when none is; -1: none. */
static int32_t
bpe_find(const struct tokenizer *tok, const struct bpe *b, const char *p,
    size_t n)
{
	int32_t id = tokenizer_find(tok, p, n), s;
	size_t i;

	if (id < 0 || tok->type[id] == TOKEN_NORMAL)
		return id;
	for (i = 0; i < b->n_shadowed; i++) {
		s = b->shadowed[i];
		if (tok->len[s] == n && memcmp(tok->text + tok->off[s], p,
		    n) == 0)
			return s;
	}
	return id;
}

static void
bpe_find_shadowed(struct tokenizer *tok, struct bpe *b)
{
	uint32_t i;
	size_t alloc = 0;

	for (i = 0; i < tok->n_vocab; i++) {
		if (tok->type[i] != TOKEN_NORMAL || tokenizer_find(tok,
		    tok->text + tok->off[i], tok->len[i]) == (int32_t)i)
			continue;
		if (b->n_shadowed == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			b->shadowed = xreallocarray(b->shadowed, alloc,
			    sizeof(*b->shadowed));
		}
		b->shadowed[b->n_shadowed++] = (int32_t)i;
	}
}

/*
 * Reads tokenizer.ggml.merges: "left right", the space after the first
 * character being the separator (a left part may itself start with one).
 * A merge whose parts or result are not tokens can never apply to a word
 * of tokens and is left out; the first of two equal pairs wins.
 */
static int
bpe_load_merges(struct tokenizer *tok, struct bpe *b,
    const struct gguf_file *gf, char **cause)
{
	const struct gguf_kv *kv;
	struct gguf_str s;
	struct bpe_merge *m;
	const char *sp;
	char *cat;
	size_t cap, i, j, llen;
	int32_t left, right, result;

	if ((kv = gguf_find_kv(gf, "tokenizer.ggml.merges")) == NULL)
		return set_cause(cause, "'%s': tokenizer.ggml.merges is "
		    "missing", gf->path);
	if (kv->type != GGUF_VALUE_ARRAY || kv->arr_type != GGUF_VALUE_STRING)
		return set_cause(cause, "'%s': tokenizer.ggml.merges is not an "
		    "array of strings", gf->path);
	if (kv->arr_n > BPE_MAX_MERGES)
		return set_cause(cause, "'%s': %llu merges is too many (limit "
		    "%u)", gf->path, (unsigned long long)kv->arr_n,
		    BPE_MAX_MERGES);
	for (cap = 16; cap < kv->arr_n * 2; cap *= 2)
		;
	b->merges = xreallocarray(NULL, cap, sizeof(*b->merges));
	for (i = 0; i < cap; i++)
		b->merges[i].left = -1;
	b->merge_mask = cap - 1;
	cat = xmalloc((size_t)tok->max_len + 1);
	for (i = 0; i < kv->arr_n; i++) {
		if (gguf_arr_str(kv, i, &s) != 0) {
			free(cat);
			return set_cause(cause, "'%s': cannot read merge %zu",
			    gf->path, i);
		}
		if (s.len < 3 || (sp = memchr(s.ptr + 1, ' ',
		    (size_t)s.len - 1)) == NULL || s.len - 1 > tok->max_len)
			continue;
		llen = (size_t)(sp - s.ptr);
		left = bpe_find(tok, b, s.ptr, llen);
		right = bpe_find(tok, b, sp + 1, (size_t)s.len - llen - 1);
		memcpy(cat, s.ptr, llen);
		memcpy(cat + llen, sp + 1, (size_t)s.len - llen - 1);
		result = bpe_find(tok, b, cat, (size_t)s.len - 1);
		if (left < 0 || right < 0 || result < 0)
			continue;
		j = bpe_pair_hash(left, right) & b->merge_mask;
		while ((m = &b->merges[j])->left >= 0 &&
		    !(m->left == left && m->right == right))
			j = (j + 1) & b->merge_mask;
		if (m->left >= 0)
			continue;
		m->left = left;
		m->right = right;
		m->result = result;
		m->rank = (uint32_t)i;
	}
	free(cat);
	return 0;
}

static int
bpe_compile(struct bpe *b, const char *re, const char *path, char **cause)
{
	pcre2_code *code;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE erroff;
	uint32_t groups;
	int err;

	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF |
	    PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY, &err,
	    &erroff, NULL);
	if (code == NULL) {
		pcre2_get_error_message(err, msg, sizeof(msg));
		return set_cause(cause, "'%s': pre-tokenizer expression %zu: "
		    "%s at offset %zu", path, b->n_re, (char *)msg,
		    (size_t)erroff);
	}
	/* Without JIT the interpreter does the same work, only slower. */
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	if (pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups) == 0 &&
	    groups + 1 > b->max_groups)
		b->max_groups = groups + 1;
	b->re[b->n_re++] = code;
	return 0;
}

static void
bpe_release(struct tokenizer *tok)
{
	struct bpe *b = tok->priv;
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n_re; i++)
		pcre2_code_free(b->re[i]);
	free(b->merges);
	free(b->shadowed);
	free(b);
	tok->priv = NULL;
}

static int
bpe_init(struct tokenizer *tok, const struct gguf_file *gf, char **cause)
{
	struct bpe *b;
	struct gguf_str pre;
	char buf[2];
	size_t i, n;

	b = tok->priv = xcalloc(1, sizeof(*b));
	/* A file without a name gets llama.cpp's default expressions. */
	b->pre = &bpe_pre_default;
	if (gguf_find_kv(gf, "tokenizer.ggml.pre") != NULL) {
		if (gguf_get_str(gf, "tokenizer.ggml.pre", &pre) != 0)
			return set_cause(cause, "'%s': tokenizer.ggml.pre is "
			    "not a string", gf->path);
		if (pre.len > 0)
			b->pre = NULL;
		for (i = 0; i < sizeof(bpe_pre_names) / sizeof(*bpe_pre_names);
		    i++) {
			if (strlen(bpe_pre_names[i].name) == pre.len &&
			    memcmp(bpe_pre_names[i].name, pre.ptr,
			    (size_t)pre.len) == 0)
				b->pre = bpe_pre_names[i].pre;
		}
		if (b->pre == NULL)
			return set_cause(cause, "'%s': pre-tokenizer '%.*s' is "
			    "not supported", gf->path,
			    (int)(pre.len > 64 ? 64 : pre.len), pre.ptr);
	}
	for (i = 0; i < BPE_MAX_RE && b->pre->re[i] != NULL; i++) {
		if (bpe_compile(b, b->pre->re[i], gf->path, cause) != 0)
			return -1;
	}
	if (b->pre->add_bos &&
	    gguf_find_kv(gf, "tokenizer.ggml.add_bos_token") == NULL)
		tok->add_bos = 1;

	bpe_find_shadowed(tok, b);
	bpe_init_alphabet(b);
	for (i = 0; i < 256; i++) {
		n = bpe_put_cp(buf, b->byte_cp[i]);
		b->byte_id[i] = bpe_find(tok, b, buf, n);
	}
	return bpe_load_merges(tok, b, gf, cause);
}

static void
bpe_spans_push(struct bpe_spans *s, size_t off, size_t len)
{
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 64;
		s->v = xreallocarray(s->v, s->alloc, sizeof(*s->v));
	}
	s->v[s->n].off = off;
	s->v[s->n].len = len;
	s->n++;
}

/*
 * Splits every span of in by one expression into out: each match is a
 * span, and so is the text between matches. Each span is matched on its
 * own, so lookarounds and $ see its ends as the ends of the text.
 */
static int
bpe_split(pcre2_code *re, struct bpe_work *w,
    const char *text, const struct bpe_spans *in, struct bpe_spans *out,
    char **cause)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE *ov;
	const char *s;
	size_t i, len, pos, last, ms, me;
	int rc;

	out->n = 0;
	for (i = 0; i < in->n; i++) {
		s = text + in->v[i].off;
		len = in->v[i].len;
		pos = last = 0;
		while (pos < len) {
			rc = pcre2_match(re, (PCRE2_SPTR)s, len, pos, 0, w->md,
			    NULL);
			/* the interpreter keeps its backtracking on the heap */
			if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
				rc = pcre2_match(re, (PCRE2_SPTR)s, len, pos,
				    PCRE2_NO_JIT, w->md, NULL);
			if (rc == PCRE2_ERROR_NOMATCH)
				break;
			if (rc < 0) {
				pcre2_get_error_message(rc, msg, sizeof(msg));
				return set_cause(cause, "pre-tokenizer: %s",
				    (char *)msg);
			}
			ov = pcre2_get_ovector_pointer(w->md);
			ms = ov[0];
			me = ov[1];
			if (me <= ms) {
				/* empty: try again one character on */
				pos = ms + 1;
				while (pos < len &&
				    ((unsigned char)s[pos] & 0xc0) == 0x80)
					pos++;
				continue;
			}
			if (ms > last)
				bpe_spans_push(out, in->v[i].off + last,
				    ms - last);
			bpe_spans_push(out, in->v[i].off + ms, me - ms);
			pos = last = me;
		}
		if (last < len)
			bpe_spans_push(out, in->v[i].off + last, len - last);
	}
	return 0;
}

/* a leaves the heap before b: lower rank, then further left */
static int
bpe_before(const void *va, const void *vb)
{
	const struct bpe_pair *a = va, *b = vb;

	if (a->rank != b->rank)
		return a->rank < b->rank;
	return a->left < b->left;
}

static void
bpe_try_pair(const struct bpe *b, struct bpe_work *w, int32_t left)
{
	const struct bpe_merge *m;
	struct bpe_pair p;
	int32_t right;

	if (left < 0 || (right = w->sym[left].next) < 0)
		return;
	if (w->sym[left].id < 0 || w->sym[right].id < 0)
		return;
	if ((m = bpe_find_merge(b, w->sym[left].id, w->sym[right].id)) == NULL)
		return;
	p.rank = m->rank;
	p.left = left;
	p.left_id = w->sym[left].id;
	p.right_id = w->sym[right].id;
	p.result = m->result;
	heap_push(&w->heap, &p);
}

/* Encodes one word (a span the pre-tokenizer left). */
static void
bpe_word(const struct tokenizer *tok, const struct bpe *b,
    struct bpe_work *w, const unsigned char *s, size_t len,
    struct tokenizer_ids *out)
{
	struct bpe_pair p;
	struct bpe_sym *l, *r;
	size_t i, n;
	int32_t id, k;

	if (b->pre->ignore_merges && len <= tok->max_len) {
		if (w->mapped_alloc < len * 2) {
			w->mapped_alloc = len * 2;
			w->mapped = xrealloc(w->mapped, w->mapped_alloc);
		}
		for (i = n = 0; i < len; i++)
			n += bpe_put_cp(w->mapped + n, b->byte_cp[s[i]]);
		if ((id = bpe_find(tok, b, w->mapped, n)) >= 0) {
			tokenizer_ids_push(out, id);
			return;
		}
	}

	if (w->sym_alloc < len) {
		w->sym_alloc = len;
		w->sym = xreallocarray(w->sym, len, sizeof(*w->sym));
	}
	for (i = 0; i < len; i++) {
		w->sym[i].id = b->byte_id[s[i]];
		w->sym[i].prev = (int32_t)i - 1;
		w->sym[i].next = i + 1 < len ? (int32_t)i + 1 : -1;
		w->sym[i].dead = 0;
	}
	w->heap.n = 0;
	for (i = 0; i + 1 < len; i++)
		bpe_try_pair(b, w, (int32_t)i);
	while (w->heap.n > 0) {
		heap_pop(&w->heap, &p);
		l = &w->sym[p.left];
		/* stale: either side has changed since the pair was queued */
		if (l->dead || l->id != p.left_id || l->next < 0 ||
		    w->sym[l->next].id != p.right_id)
			continue;
		r = &w->sym[l->next];
		l->id = p.result;
		l->next = r->next;
		r->dead = 1;
		if (r->next >= 0)
			w->sym[r->next].prev = p.left;
		bpe_try_pair(b, w, l->prev);
		bpe_try_pair(b, w, p.left);
	}
	for (k = len > 0 ? 0 : -1; k >= 0; k = w->sym[k].next) {
		if (w->sym[k].id >= 0)
			tokenizer_ids_push(out, w->sym[k].id);
		else if (tok->unk >= 0)
			tokenizer_ids_push(out, tok->unk);
	}
}

static int
bpe_encode(const struct tokenizer *tok, const char *text, size_t len,
    int first, struct tokenizer_ids *out, char **cause)
{
	const struct bpe *b = tok->priv;
	struct bpe_work w;
	struct bpe_spans tmp;
	size_t i;
	int rc = -1;

	if (len == 0)
		return 0;
	if (len > INT32_MAX)
		return set_cause(cause, "text of %zu bytes is too long to "
		    "tokenize", len);
	memset(&w, 0, sizeof(w));
	heap_init(&w.heap, sizeof(struct bpe_pair), bpe_before);
	w.md = pcre2_match_data_create(b->max_groups ? b->max_groups : 1, NULL);
	if (w.md == NULL)
		return set_cause(cause, "out of memory");
	bpe_spans_push(&w.a, 0, len);
	for (i = 0; i < b->n_re; i++) {
		if (bpe_split(b->re[i], &w, text, &w.a, &w.b, cause) != 0)
			goto out;
		tmp = w.a;
		w.a = w.b;
		w.b = tmp;
	}
	for (i = 0; i < w.a.n; i++)
		bpe_word(tok, b, &w, (const unsigned char *)text + w.a.v[i].off,
		    w.a.v[i].len, out);
	rc = 0;
out:
	pcre2_match_data_free(w.md);
	free(w.a.v);
	free(w.b.v);
	free(w.sym);
	heap_release(&w.heap);
	free(w.mapped);
	(void)first;
	return rc;
}

/* The code point at p (n bytes left) and its length; 0 when malformed. */
static size_t
bpe_get_cp(const unsigned char *p, size_t n, unsigned int *cp)
{
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf && n >= 2 && (p[1] & 0xc0) == 0x80) {
		*cp = (unsigned int)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
		return 2;
	}
	return 0;
}

static void
bpe_decode_piece(const struct tokenizer *tok, int32_t prev, int32_t id,
    int special, struct strbuf *out)
{
	const struct bpe *b = tok->priv;
	const unsigned char *p;
	size_t n = tok->len[id], k;
	unsigned int cp;
	int v;

	p = (const unsigned char *)tok->text + tok->off[id];
	switch (tok->type[id]) {
	case TOKEN_CONTROL:
	case TOKEN_UNKNOWN:
		if (special)
			strbuf_add(out, p, n);
		return;
	case TOKEN_USER_DEFINED:
		strbuf_add(out, p, n);
		return;
	case TOKEN_UNUSED:
		return;
	case TOKEN_BYTE:
		if ((v = tokenizer_byte_value(tok, id)) >= 0)
			strbuf_addc(out, (char)v);
		return;
	default:
		break;
	}
	/* Every stand-in is below U+0800; other text is copied as it is. */
	while (n > 0) {
		k = bpe_get_cp(p, n, &cp);
		if (k > 0 && cp < BPE_N_CP && b->cp_byte[cp] >= 0) {
			strbuf_addc(out, (char)b->cp_byte[cp]);
		} else {
			if (k == 0)
				k = 1;
			strbuf_add(out, p, k);
		}
		p += k;
		n -= k;
	}
	(void)prev;
}

const struct tokenizer_ops tokenizer_bpe_ops = {
	.name = "gpt2",
	.init = bpe_init,
	.release = bpe_release,
	.encode = bpe_encode,
	.decode_piece = bpe_decode_piece,
};
