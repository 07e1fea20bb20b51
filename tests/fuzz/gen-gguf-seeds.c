/*
 * Writes the GGUF seeds of the gguf fuzz target with the project's own
 * writer: small vocabularies of both tokenizer kinds with chat templates,
 * a file with tensors of several types and arrays of every element type,
 * a whole llama of one block, and an empty one. The build runs it into
 * BUILD/fuzz-seeds/gguf/ (the Makefile), so no model file is kept in the
 * repository.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gguf-write.h"
#include "core/quant.h"

static void
seed_write(struct gguf_writer *w, const char *dir, const char *name)
{
	char path[4096], *cause = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (gguf_writer_write(w, path, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		exit(1);
	}
	gguf_writer_free(w);
}

static void
seed_spm(const char *dir)
{
	static const char *toks[] = {
		"<unk>", "<s>", "</s>", "<0x0A>", "<0x41>", "<0xFF>",
		"\xe2\x96\x81", "\xe2\x96\x81t", "he", "\xe2\x96\x81the", "a",
		"b", "[INST]", "<|end|>",
	};
	static const float scores[] = {
		0, 0, 0, 0, 0, 0, -1, -2, -3, -1.5f, -4, -5, 0, 0,
	};
	static const int32_t types[] = {
		2, 3, 3, 6, 6, 6, 1, 1, 1, 1, 1, 1, 4, 3,
	};
	struct gguf_writer *w = gguf_writer_new();
	size_t n = sizeof(toks) / sizeof(toks[0]);

	gguf_writer_add_str(w, "general.architecture", "llama");
	gguf_writer_add_str(w, "tokenizer.ggml.model", "llama");
	gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, n);
	gguf_writer_add_arr_f32(w, "tokenizer.ggml.scores", scores, n);
	gguf_writer_add_arr_i32(w, "tokenizer.ggml.token_type", types, n);
	gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
	gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
	gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
	gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", 1);
	gguf_writer_add_str(w, "tokenizer.chat_template",
	    "{{ bos_token }}[INST] <<SYS>>{{ m }}<</SYS>> [/INST]");
	seed_write(w, dir, "spm-vocab.gguf");
}

static void
seed_bpe(const char *dir)
{
	static const char *merges[] = {
		"h e", "\xc4\xa0 t", "\xc4\xa0t he", "l l", "he ll",
	};
	const char *toks[300];
	char alpha[256][3];
	struct gguf_writer *w = gguf_writer_new();
	unsigned int c, k = 0, cp;
	size_t n = 0;

	/* the byte alphabet of byte-level BPE, then a few merged tokens */
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
	toks[n++] = "he";
	toks[n++] = "\xc4\xa0t";
	toks[n++] = "\xc4\xa0the";
	toks[n++] = "ll";
	toks[n++] = "hell";
	toks[n++] = "<|im_start|>";
	toks[n++] = "<|im_end|>";
	gguf_writer_add_str(w, "general.architecture", "qwen2");
	gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2");
	gguf_writer_add_str(w, "tokenizer.ggml.pre", "qwen2");
	gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, n);
	gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", merges,
	    sizeof(merges) / sizeof(merges[0]));
	gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)n - 1);
	gguf_writer_add_str(w, "tokenizer.chat_template",
	    "{% for m in messages %}<|im_start|>{{ m.role }}\n"
	    "{{ m.content }}<|im_end|>\n{% endfor %}");
	seed_write(w, dir, "bpe-vocab.gguf");
}

static void
seed_tensors(const char *dir)
{
	static float f32[8] = { 1, -2, 3.5f, 0, 1e-3f, -7, 8, 9 };
	static uint8_t q8_0[34], q4_k[144], f16[16];
	static const uint8_t u8s[] = { 1, 2, 255 };
	static const int16_t i16s[] = { -1, 300 };
	static const uint64_t u64s[] = { 1, UINT64_MAX };
	static const double f64s[] = { 0.5, -1e300 };
	static const uint8_t bools[] = { 0, 1 };
	static const char *strs[] = { "", "x", "\xff\xfe" };
	struct gguf_writer *w = gguf_writer_new();
	uint64_t ne_f32[2] = { 4, 2 }, ne_q8[1] = { 32 }, ne_q4k[1] = { 256 };
	uint64_t ne_f16[1] = { 8 };

	gguf_writer_add_str(w, "general.architecture", "llama");
	gguf_writer_add_u32(w, "general.alignment", 64);
	gguf_writer_add_u32(w, "llama.block_count", 1);
	gguf_writer_add_i8(w, "i8", -5);
	gguf_writer_add_u16(w, "u16", 65535);
	gguf_writer_add_i64(w, "i64", INT64_MIN);
	gguf_writer_add_f64(w, "f64", 3.25);
	gguf_writer_add_f32(w, "f32", -0.5f);
	gguf_writer_add_strn(w, "nul", "a\0b", 3);
	gguf_writer_add_arr(w, "u8s", GGUF_VALUE_UINT8, u8s, 3);
	gguf_writer_add_arr(w, "i16s", GGUF_VALUE_INT16, i16s, 2);
	gguf_writer_add_arr(w, "u64s", GGUF_VALUE_UINT64, u64s, 2);
	gguf_writer_add_arr(w, "f64s", GGUF_VALUE_FLOAT64, f64s, 2);
	gguf_writer_add_arr(w, "bools", GGUF_VALUE_BOOL, bools, 2);
	gguf_writer_add_arr_str(w, "strs", strs, 3);
	gguf_writer_add_tensor(w, "token_embd.weight", GGML_TYPE_F32, 2, ne_f32,
	    f32, sizeof(f32));
	gguf_writer_add_tensor(w, "blk.0.attn_q.weight", GGML_TYPE_Q8_0, 1,
	    ne_q8, q8_0, sizeof(q8_0));
	gguf_writer_add_tensor(w, "blk.0.ffn_up.weight", GGML_TYPE_Q4_K, 1,
	    ne_q4k, q4_k, sizeof(q4_k));
	gguf_writer_add_tensor(w, "output_norm.weight", GGML_TYPE_F16, 1,
	    ne_f16, f16, sizeof(f16));
	seed_write(w, dir, "tensors.gguf");
}

/* A llama of one block, width 8, with the SentencePiece vocabulary above:
 * small enough to be a seed, whole enough to run. */
static void
seed_model(const char *dir)
{
	static const char *toks[] = {
		"<unk>", "<s>", "</s>", "\xe2\x96\x81" "a", "b", "c",
	};
	static const float scores[] = { 0, 0, 0, -1, -2, -3 };
	static float embd[8 * 6], norm[8], wq[8 * 8], wk[8 * 4], wv[8 * 4],
	    wo[8 * 8], gate[8 * 16], up[8 * 16], down[16 * 8];
	static const struct {
		const char	*name;
		float		*data;
		uint64_t	 ne0, ne1;
	} t[] = {
		{ "token_embd.weight", embd, 8, 6 },
		{ "output_norm.weight", norm, 8, 1 },
		{ "blk.0.attn_norm.weight", norm, 8, 1 },
		{ "blk.0.attn_q.weight", wq, 8, 8 },
		{ "blk.0.attn_k.weight", wk, 8, 4 },
		{ "blk.0.attn_v.weight", wv, 8, 4 },
		{ "blk.0.attn_output.weight", wo, 8, 8 },
		{ "blk.0.ffn_norm.weight", norm, 8, 1 },
		{ "blk.0.ffn_gate.weight", gate, 8, 16 },
		{ "blk.0.ffn_up.weight", up, 8, 16 },
		{ "blk.0.ffn_down.weight", down, 16, 8 },
	};
	struct gguf_writer *w = gguf_writer_new();
	uint64_t ne[2];
	size_t i, j;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (j = 0; j < t[i].ne0 * t[i].ne1; j++)
			t[i].data[j] = (float)((int)((i * 7 + j * 13) % 17) - 8) /
			    16.0f;
	}
	gguf_writer_add_str(w, "general.architecture", "llama");
	gguf_writer_add_u32(w, "llama.embedding_length", 8);
	gguf_writer_add_u32(w, "llama.block_count", 1);
	gguf_writer_add_u32(w, "llama.feed_forward_length", 16);
	gguf_writer_add_u32(w, "llama.attention.head_count", 2);
	gguf_writer_add_u32(w, "llama.attention.head_count_kv", 1);
	gguf_writer_add_u32(w, "llama.context_length", 16);
	gguf_writer_add_u32(w, "llama.rope.dimension_count", 4);
	gguf_writer_add_f32(w, "llama.rope.freq_base", 10000.0f);
	gguf_writer_add_f32(w, "llama.attention.layer_norm_rms_epsilon",
	    1e-5f);
	gguf_writer_add_str(w, "tokenizer.ggml.model", "llama");
	gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, 6);
	gguf_writer_add_arr_f32(w, "tokenizer.ggml.scores", scores, 6);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ne[0] = t[i].ne0;
		ne[1] = t[i].ne1;
		gguf_writer_add_tensor(w, t[i].name, GGML_TYPE_F32,
		    t[i].ne1 > 1 ? 2 : 1, ne, t[i].data,
		    t[i].ne0 * t[i].ne1 * sizeof(float));
	}
	seed_write(w, dir, "llama-tiny.gguf");
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen-gguf-seeds dir\n");
		return 2;
	}
	seed_spm(argv[1]);
	seed_bpe(argv[1]);
	seed_tensors(argv[1]);
	seed_model(argv[1]);
	seed_write(gguf_writer_new(), argv[1], "empty.gguf");
	return 0;
}
