/*
 * Tests for the chat templates: one conversation (system, user, assistant,
 * user) rendered in every family, each expected text written out from the
 * family's reference template (quoted beside its renderer in
 * src/core/chat.c); recognition of the templates stored in the vocab test
 * files and of the other families' templates; the ChatML fallback; and the
 * BOS a template writes not being doubled by the tokenizer.
 */
#include "test.h"
#include "core/chat.h"
#include "core/gguf.h"
#include "core/tokenizer.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/*
 * The conversation. The assistant's reply has a space in front and a
 * newline behind, so the families that trim (Llama 2 and 3, Gemma) and
 * those that do not are told apart.
 */
static const struct chat_message conv[] = {
	{ "system", "You are terse." },
	{ "user", "Hi there" },
	{ "assistant", " Hello! How can I help?\n" },
	{ "user", "Name a colour." },
};
#define N_CONV	(sizeof(conv) / sizeof(*conv))

/* Set around renders that are meant to fail. */
static int expect_failure;

/* Renders conv with the template chosen by source or name. */
static char *
render(const char *source, const char *name, const char *bos,
    const char *eos, const struct chat_message *msgs, size_t n, int gen,
    enum chat_format *format)
{
	struct chat_template t;
	struct strbuf sb = STRBUF_INIT;
	char *warning = NULL, *cause = NULL;

	if (chat_template_init(&t, source, name, bos, eos, &warning,
	    &cause) != 0) {
		fprintf(stderr, "  %s\n", cause);
		free(cause);
		return NULL;
	}
	free(warning);
	if (format != NULL)
		*format = t.format;
	if (chat_render(&t, msgs, n, gen, &sb, &cause) != 0) {
		if (!expect_failure)
			fprintf(stderr, "  %s\n", cause);
		free(cause);
		chat_template_release(&t);
		strbuf_release(&sb);
		return NULL;
	}
	chat_template_release(&t);
	if (sb.buf == NULL)
		strbuf_adds(&sb, "");
	return strbuf_detach(&sb, NULL);
}

/* 1 when source is recognised as the template --template name gives. */
static int
render_name(const char *source, const char *name)
{
	struct chat_template t;
	char *warning = NULL, *cause = NULL;
	int ok;

	if (chat_template_init(&t, source, NULL, NULL, NULL, &warning,
	    &cause) != 0) {
		free(cause);
		return 0;
	}
	ok = warning == NULL && strcmp(chat_template_name(&t), name) == 0;
	free(warning);
	chat_template_release(&t);
	return ok;
}

static char *
model_template(const char *stem, char **bos, char **eos)
{
	struct gguf_file *gf;
	struct tokenizer *tok;
	char *path, *cause = NULL, *t = NULL;

	path = xasprintf("%s/vocab/%s", test_models_dir(), stem);
	gf = gguf_open(path, &cause);
	free(path);
	if (gf == NULL) {
		fprintf(stderr, "  %s\n", cause);
		free(cause);
		return NULL;
	}
	t = gguf_get_strdup(gf, "tokenizer.chat_template");
	if ((tok = tokenizer_load(gf, &cause)) != NULL) {
		*bos = xstrdup(tokenizer_piece(tok, tokenizer_bos(tok)));
		*eos = xstrdup(tokenizer_piece(tok, tokenizer_eos(tok)));
		tokenizer_free(tok);
	}
	free(cause);
	gguf_close(gf);
	return t;
}

static void
test_chatml(void)
{
	/* ChatML as such has no default system message */
	static const char want[] =
	    "<|im_start|>system\nYou are terse.<|im_end|>\n"
	    "<|im_start|>user\nHi there<|im_end|>\n"
	    "<|im_start|>assistant\n Hello! How can I help?\n<|im_end|>\n"
	    "<|im_start|>user\nName a colour.<|im_end|>\n"
	    "<|im_start|>assistant\n";
	char *got;

	got = render(NULL, "chatml", NULL, NULL, conv, N_CONV, 1, NULL);
	CHECK_STR(got, want);
	free(got);
	/* without the generation prompt, the text stops after the last turn */
	got = render(NULL, "chatml", NULL, NULL, conv, N_CONV, 0, NULL);
	CHECK(got != NULL);
	CHECK(got != NULL && strlen(got) == strlen(want) -
	    strlen("<|im_start|>assistant\n") && strncmp(got, want,
	    strlen(got)) == 0);
	free(got);
}

static void
test_qwen2_template(void)
{
	/* Qwen2's: ChatML, and its own system message when there is none */
	static const char want[] =
	    "<|im_start|>system\nYou are terse.<|im_end|>\n"
	    "<|im_start|>user\nHi there<|im_end|>\n"
	    "<|im_start|>assistant\n Hello! How can I help?\n<|im_end|>\n"
	    "<|im_start|>user\nName a colour.<|im_end|>\n"
	    "<|im_start|>assistant\n";
	static const char want_default[] =
	    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
	    "<|im_start|>user\nHi there<|im_end|>\n"
	    "<|im_start|>assistant\n";
	enum chat_format f = CHAT_ZEPHYR;
	char *src, *bos = NULL, *eos = NULL, *got;

	src = model_template("ggml-vocab-qwen2.gguf", &bos, &eos);
	CHECK(src != NULL);
	got = render(src, NULL, bos, eos, conv, N_CONV, 1, &f);
	CHECK(f == CHAT_CHATML);
	CHECK_STR(got, want);
	free(got);
	got = render(src, NULL, bos, eos, conv + 1, 1, 1, NULL);
	CHECK_STR(got, want_default);
	free(got);
	free(src);
	free(bos);
	free(eos);
}

static void
test_llama3_template(void)
{
	/* every turn trimmed; BOS (<|begin_of_text|>) before the first */
	static const char want[] =
	    "<|begin_of_text|>"
	    "<|start_header_id|>system<|end_header_id|>\n\n"
	    "You are terse.<|eot_id|>"
	    "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
	    "<|start_header_id|>assistant<|end_header_id|>\n\n"
	    "Hello! How can I help?<|eot_id|>"
	    "<|start_header_id|>user<|end_header_id|>\n\n"
	    "Name a colour.<|eot_id|>"
	    "<|start_header_id|>assistant<|end_header_id|>\n\n";
	enum chat_format f = CHAT_ZEPHYR;
	char *src, *bos = NULL, *eos = NULL, *got;

	src = model_template("ggml-vocab-llama-bpe.gguf", &bos, &eos);
	CHECK(src != NULL && bos != NULL);
	CHECK_STR(bos, "<|begin_of_text|>");
	got = render(src, NULL, bos, eos, conv, N_CONV, 1, &f);
	CHECK(f == CHAT_LLAMA3);
	CHECK_STR(got, want);
	free(got);
	free(src);
	free(bos);
	free(eos);
}

static void
test_llama31(void)
{
	/* the system turn always comes, with the cut-off and the date */
	static const char src[] = "{{- bos_token }}\n{%- if not date_string "
	    "is defined %}\n    {%- set date_string = \"26 Jul 2024\" %}\n"
	    "{%- endif %}\n{{- \"<|start_header_id|>system<|end_header_id|>"
	    "\\n\\n\" }}\n{{- \"Cutting Knowledge Date: December 2023\\n\" }}"
	    "\n{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n";
	static const char want[] =
	    "<|begin_of_text|>"
	    "<|start_header_id|>system<|end_header_id|>\n\n"
	    "Cutting Knowledge Date: December 2023\n"
	    "Today Date: 26 Jul 2024\n\n"
	    "You are terse.<|eot_id|>"
	    "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
	    "<|start_header_id|>assistant<|end_header_id|>\n\n"
	    "Hello! How can I help?<|eot_id|>"
	    "<|start_header_id|>user<|end_header_id|>\n\n"
	    "Name a colour.<|eot_id|>"
	    "<|start_header_id|>assistant<|end_header_id|>\n\n";
	static const char want_nosys[] =
	    "<|begin_of_text|>"
	    "<|start_header_id|>system<|end_header_id|>\n\n"
	    "Cutting Knowledge Date: December 2023\n"
	    "Today Date: 26 Jul 2024\n\n<|eot_id|>"
	    "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
	    "<|start_header_id|>assistant<|end_header_id|>\n\n";
	enum chat_format f = CHAT_ZEPHYR;
	char *got;

	got = render(src, NULL, "<|begin_of_text|>", "<|eot_id|>", conv,
	    N_CONV, 1, &f);
	CHECK(f == CHAT_LLAMA31);
	CHECK_STR(got, want);
	free(got);
	got = render(src, NULL, "<|begin_of_text|>", "<|eot_id|>", conv + 1,
	    1, 1, NULL);
	CHECK_STR(got, want_nosys);
	free(got);
}

static void
test_llama2(void)
{
	/*
	 * System in <<SYS>> inside the first [INST]; BOS before every user
	 * turn; " reply </s>" after each assistant turn (stripped); no
	 * generation prompt.
	 */
	static const char src[] = "{% if messages[0]['role'] == 'system' %}"
	    "{% set loop_messages = messages[1:] %}{% set system_message = "
	    "messages[0]['content'] %}{% else %}{% set loop_messages = "
	    "messages %}{% set system_message = false %}{% endif %}...{% if "
	    "loop.index0 == 0 and system_message != false %}{% set content = "
	    "'<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + "
	    "message['content'] %}...{{ bos_token + '[INST] ' + "
	    "content.strip() + ' [/INST]' }}";
	static const char want[] =
	    "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi there [/INST]"
	    " Hello! How can I help? </s>"
	    "<s>[INST] Name a colour. [/INST]";
	static const struct chat_message bad[] = {
		{ "user", "a" }, { "user", "b" },
	};
	enum chat_format f = CHAT_ZEPHYR;
	char *got;

	got = render(src, NULL, "<s>", "</s>", conv, N_CONV, 1, &f);
	CHECK(f == CHAT_LLAMA2);
	CHECK_STR(got, want);
	free(got);
	/* the template raises an exception when roles do not alternate */
	expect_failure = 1;
	got = render(src, NULL, "<s>", "</s>", bad, 2, 1, NULL);
	expect_failure = 0;
	CHECK(got == NULL);
}

static void
test_mistral(void)
{
	/* system folded into the first [INST] with a blank line; no trim */
	static const char src[] = "{{ bos_token }}{% for message in messages "
	    "%}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
	    "{{ raise_exception('Conversation roles must alternate user/"
	    "assistant/user/assistant/...') }}{% endif %}{% if message['role']"
	    " == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
	    "{% elif message['role'] == 'assistant' %}{{ message['content'] + "
	    "eos_token}}{% else %}{{ raise_exception('Only user and assistant "
	    "roles are supported!') }}{% endif %}{% endfor %}";
	static const char want[] =
	    "<s>[INST] You are terse.\n\nHi there [/INST]"
	    " Hello! How can I help?\n</s>"
	    "[INST] Name a colour. [/INST]";
	static const struct chat_message tool[] = {
		{ "user", "a" }, { "tool", "b" },
	};
	enum chat_format f = CHAT_ZEPHYR;
	char *got;

	got = render(src, NULL, "<s>", "</s>", conv, N_CONV, 1, &f);
	CHECK(f == CHAT_MISTRAL);
	CHECK(render_name(src, "mistral"));
	CHECK_STR(got, want);
	free(got);
	expect_failure = 1;
	got = render(src, NULL, "<s>", "</s>", tool, 2, 1, NULL);
	expect_failure = 0;
	CHECK(got == NULL);
}

static void
test_mistral_v3(void)
{
	/*
	 * v3: "[INST] " and "[/INST]" without the space before it; the
	 * assistant's reply trimmed after a space; the system message in
	 * the last user turn.
	 */
	static const char src[] = "{{- bos_token }}\n{%- for message in "
	    "loop_messages %}\n    {%- if message[\"role\"] == \"user\" %}\n"
	    "        {%- if loop.last and system_message is defined %}\n"
	    "            {{- \"[INST] \" + system_message + \"\\n\\n\" + "
	    "message[\"content\"] + \"[/INST]\" }}\n        {%- else %}\n"
	    "            {{- \"[INST] \" + message[\"content\"] + \"[/INST]\" "
	    "}}\n        {%- endif %}\n    {%- elif message[\"role\"] == "
	    "\"assistant\" %}\n        {{- \" \" + message[\"content\"]|trim + "
	    "eos_token}}\n";
	static const char want[] =
	    "<s>[INST] Hi there[/INST] Hello! How can I help?</s>"
	    "[INST] You are terse.\n\nName a colour.[/INST]";
	/* tekken (Nemo): no spaces at all, the reply as it is */
	static const char want_tekken[] =
	    "<s>[INST]Hi there[/INST] Hello! How can I help?\n</s>"
	    "[INST]You are terse.\n\nName a colour.[/INST]";
	struct chat_template t;
	char *got, *warning = NULL, *cause = NULL;

	CHECK(chat_template_init(&t, src, NULL, NULL, NULL, &warning,
	    &cause) == 0);
	CHECK_STR(chat_template_name(&t), "mistral-v3");
	chat_template_release(&t);
	got = render(src, NULL, "<s>", "</s>", conv, N_CONV, 1, NULL);
	CHECK_STR(got, want);
	free(got);
	got = render(NULL, "mistral-tekken", "<s>", "</s>", conv, N_CONV, 1,
	    NULL);
	CHECK_STR(got, want_tekken);
	free(got);
	CHECK(chat_template_init(&t, "{{- \"[INST]\" + message[\"content\"] "
	    "+ \"[/INST]\" }}", NULL, NULL, NULL, &warning, &cause) == 0);
	CHECK_STR(chat_template_name(&t), "mistral-tekken");
	chat_template_release(&t);
}

static void
test_phi3(void)
{
	/* Phi-3.5: a <|system|> turn; the generation prompt at the end */
	static const char src[] = "{% for message in messages %}{% if "
	    "message['role'] == 'system' and message['content'] %}"
	    "{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif "
	    "message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] "
	    "+ '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}"
	    "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}"
	    "{% endif %}{% endfor %}{% if add_generation_prompt %}"
	    "{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}";
	static const char want[] =
	    "<|system|>\nYou are terse.<|end|>\n"
	    "<|user|>\nHi there<|end|>\n"
	    "<|assistant|>\n Hello! How can I help?\n<|end|>\n"
	    "<|user|>\nName a colour.<|end|>\n"
	    "<|assistant|>\n";
	enum chat_format f = CHAT_ZEPHYR;
	char *got;

	got = render(src, NULL, "<s>", "<|endoftext|>", conv, N_CONV, 1, &f);
	CHECK(f == CHAT_PHI3);
	CHECK_STR(got, want);
	free(got);
	/* no generation prompt: EOS instead */
	got = render(src, NULL, "<s>", "<|endoftext|>", conv + 1, 1, 0, NULL);
	CHECK_STR(got, "<|user|>\nHi there<|end|>\n<|endoftext|>");
	free(got);
}

static void
test_phi3_template(void)
{
	/*
	 * The first Phi-3 template (the one in the vocab file): BOS, no
	 * system role (the message is dropped), <|assistant|> after every
	 * user turn.
	 */
	static const char want[] =
	    "<s><|user|>\nHi there<|end|>\n<|assistant|>\n"
	    " Hello! How can I help?\n<|end|>\n"
	    "<|user|>\nName a colour.<|end|>\n<|assistant|>\n";
	enum chat_format f = CHAT_ZEPHYR;
	char *src, *bos = NULL, *eos = NULL, *got;

	src = model_template("ggml-vocab-phi-3.gguf", &bos, &eos);
	CHECK(src != NULL);
	got = render(src, NULL, bos, eos, conv, N_CONV, 1, &f);
	CHECK(f == CHAT_PHI3);
	CHECK_STR(got, want);
	free(got);
	free(src);
	free(bos);
	free(eos);
}

static void
test_gemma(void)
{
	/*
	 * System text + blank line at the head of the first user turn;
	 * "model" for the assistant; turns trimmed (not the system prefix).
	 */
	static const char src[] = "{{ bos_token }}{%- if messages[0]['role'] "
	    "== 'system' -%}{%- set first_user_prefix = messages[0]['content']"
	    " + '\\n\\n' -%}...{{ '<start_of_turn>' + role + '\\n' + "
	    "(first_user_prefix if loop.first else \"\") }}{{ message['content']"
	    " | trim }}{{ '<end_of_turn>\\n' }}{%- endfor -%}{%- if "
	    "add_generation_prompt -%}{{'<start_of_turn>model\\n'}}{%- endif -%}";
	static const char want[] =
	    "<bos><start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n"
	    "<start_of_turn>model\nHello! How can I help?<end_of_turn>\n"
	    "<start_of_turn>user\nName a colour.<end_of_turn>\n"
	    "<start_of_turn>model\n";
	enum chat_format f = CHAT_ZEPHYR;
	char *got;

	got = render(src, NULL, "<bos>", "<eos>", conv, N_CONV, 1, &f);
	CHECK(f == CHAT_GEMMA);
	CHECK_STR(got, want);
	free(got);
}

static void
test_zephyr(void)
{
	/* <|role|>, newline, content, EOS, newline; every role kept */
	static const char src[] = "{% for message in messages %}\n{% if "
	    "message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content']"
	    " + eos_token }}\n{% elif message['role'] == 'system' %}\n"
	    "{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif "
	    "message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + "
	    "message['content'] + eos_token }}\n{% endif %}\n{% if loop.last "
	    "and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n"
	    "{% endfor %}";
	static const char want[] =
	    "<|system|>\nYou are terse.</s>\n"
	    "<|user|>\nHi there</s>\n"
	    "<|assistant|>\n Hello! How can I help?\n</s>\n"
	    "<|user|>\nName a colour.</s>\n"
	    "<|assistant|>\n";
	enum chat_format f = CHAT_CHATML;
	char *got;

	got = render(src, NULL, "<s>", "</s>", conv, N_CONV, 1, &f);
	CHECK(f == CHAT_ZEPHYR);
	CHECK_STR(got, want);
	free(got);
}

static void
test_smollm(void)
{
	/* SmolLM2's is ChatML with a default system message of its own */
	static const char src[] = "{% for message in messages %}{% if "
	    "loop.first and messages[0]['role'] != 'system' %}"
	    "{{ '<|im_start|>system\nYou are a helpful AI assistant named "
	    "SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
	    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
	    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
	    "{{ '<|im_start|>assistant\\n' }}{% endif %}";
	static const char want[] =
	    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
	    "trained by Hugging Face<|im_end|>\n"
	    "<|im_start|>user\nHi there<|im_end|>\n"
	    "<|im_start|>assistant\n";
	char *got;

	got = render(src, NULL, NULL, NULL, conv + 1, 1, 1, NULL);
	CHECK_STR(got, want);
	free(got);
}

static void
test_fallback(void)
{
	struct chat_template t;
	char *warning = NULL, *cause = NULL;

	/* an unknown template: ChatML, with a warning */
	CHECK(chat_template_init(&t, "{{ messages | tojson }}", NULL, NULL,
	    NULL, &warning, &cause) == 0);
	CHECK(t.format == CHAT_CHATML && warning != NULL &&
	    strstr(warning, "chatml") != NULL);
	free(warning);
	chat_template_release(&t);
	/* none at all: the same */
	CHECK(chat_template_init(&t, NULL, NULL, NULL, NULL, &warning,
	    &cause) == 0);
	CHECK(t.format == CHAT_CHATML && warning != NULL);
	free(warning);
	chat_template_release(&t);
	/* a name overrides the template and warns of nothing */
	CHECK(chat_template_init(&t, "<|im_start|>", "gemma", NULL, NULL,
	    &warning, &cause) == 0);
	CHECK(t.format == CHAT_GEMMA && warning == NULL);
	CHECK_STR(chat_template_name(&t), "gemma");
	chat_template_release(&t);
	/* an unknown name is an error */
	CHECK(chat_template_init(&t, NULL, "jinja", NULL, NULL, &warning,
	    &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "'jinja' is unknown") != NULL);
	free(cause);
}

/*
 * The Llama 3 text starts with <|begin_of_text|>, and the model adds BOS:
 * tokenizing without ADD_BOS when the text starts with it gives one BOS,
 * and the markers become their control tokens.
 */
static void
test_llama3_tokens(void)
{
	struct gguf_file *gf;
	struct tokenizer *tok;
	char *path, *cause = NULL, *src, *got;
	const char *bos;
	int32_t *ids = NULL;
	struct chat_template t;
	char *warning = NULL;
	size_t n = 0, i, n_bos = 0, n_eot = 0;
	int flags;

	path = xasprintf("%s/vocab/ggml-vocab-llama-bpe.gguf",
	    test_models_dir());
	gf = gguf_open(path, &cause);
	free(path);
	CHECKF(gf != NULL, "%s", cause);
	tok = tokenizer_load(gf, &cause);
	CHECKF(tok != NULL, "%s", cause);
	src = gguf_get_strdup(gf, "tokenizer.chat_template");
	bos = tokenizer_piece(tok, tokenizer_bos(tok));
	CHECK(chat_template_init(&t, src, NULL, bos, NULL, &warning,
	    &cause) == 0 && warning == NULL);
	got = render(src, NULL, bos, NULL, conv, N_CONV, 1, NULL);
	free(src);
	CHECK(got != NULL && tokenizer_adds_bos(tok));
	flags = chat_tokenizer_flags(&t, got);
	chat_template_release(&t);
	CHECK(flags == TOKENIZER_PARSE_SPECIAL);
	CHECK(tokenizer_encode(tok, got, strlen(got), flags, &ids, &n,
	    &cause) == 0);
	for (i = 0; i < n; i++) {
		n_bos += ids[i] == 128000;
		n_eot += ids[i] == 128009;
	}
	free(got);
	tokenizer_free(tok);
	gguf_close(gf);
	CHECK(n > 0 && ids[0] == 128000 && n_bos == 1 && n_eot == 4 &&
	    ids[1] == 128006 && ids[n - 1] == 271);	/* "\n\n" */
	free(ids);
}

int
main(void)
{
	TEST_RUN(test_chatml);
	TEST_RUN(test_qwen2_template);
	TEST_RUN(test_llama3_template);
	TEST_RUN(test_llama31);
	TEST_RUN(test_llama2);
	TEST_RUN(test_mistral);
	TEST_RUN(test_mistral_v3);
	TEST_RUN(test_phi3);
	TEST_RUN(test_phi3_template);
	TEST_RUN(test_gemma);
	TEST_RUN(test_zephyr);
	TEST_RUN(test_smollm);
	TEST_RUN(test_fallback);
	TEST_RUN(test_llama3_tokens);
	TEST_EXIT();
}
