/*
 * Chat templates by recognition rather than by interpretation: real
 * models ship a handful of template families whose output differs only in
 * marker tokens, where the system message goes and which parts are
 * trimmed, so each family is one small function that produces what its
 * reference template (quoted where the function is) produces. Jinja's
 * trim is Python's str.strip(); ASCII whitespace is what it meets here.
 */
#include <stdlib.h>
#include <string.h>

#include "core/chat.h"
#include "core/tokenizer.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static const struct {
	const char		*name;
	enum chat_format	 format;
	int			 flags;
} chat_names[] = {
	{ "chatml", CHAT_CHATML, 0 },
	{ "llama3", CHAT_LLAMA3, 0 },
	{ "llama3.1", CHAT_LLAMA31, 0 },
	{ "llama2", CHAT_LLAMA2, 0 },
	{ "mistral", CHAT_MISTRAL, 0 },
	{ "mistral-v3", CHAT_MISTRAL, CHAT_MISTRAL_V3 },
	{ "mistral-tekken", CHAT_MISTRAL, CHAT_MISTRAL_TEKKEN },
	{ "phi3", CHAT_PHI3, 0 },
	{ "gemma", CHAT_GEMMA, 0 },
	{ "zephyr", CHAT_ZEPHYR, 0 },
};
#define CHAT_N_NAMES	(sizeof(chat_names) / sizeof(*chat_names))

const char *
chat_template_name(const struct chat_template *t)
{
	size_t i;

	for (i = 0; i < CHAT_N_NAMES; i++) {
		if (chat_names[i].format == t->format &&
		    chat_names[i].flags == (t->flags & ~CHAT_PHI3_NO_SYSTEM))
			return chat_names[i].name;
	}
	return "?";
}

const char *
chat_format_names(void)
{
	return "chatml, llama3, llama3.1, llama2, mistral, mistral-v3, "
	    "mistral-tekken, phi3, gemma, zephyr";
}

/*
 * The system message a ChatML template puts in when the conversation has
 * none (Qwen: "You are a helpful assistant."): the text of a string
 * literal between "<|im_start|>system\n" and "<|im_end|>". A stretch with
 * template code in it is not a literal.
 */
static char *
chat_default_system(const char *src)
{
	static const char open[] = "<|im_start|>system";
	struct strbuf sb = STRBUF_INIT;
	const char *p = src, *q, *end;

	while ((p = strstr(p, open)) != NULL) {
		p += sizeof(open) - 1;
		if (*p == '\n')
			q = p + 1;
		else if (p[0] == '\\' && p[1] == 'n')
			q = p + 2;
		else
			continue;
		if ((end = strstr(q, "<|im_end|>")) == NULL)
			break;
		if (end == q || memchr(q, '\'', (size_t)(end - q)) != NULL ||
		    memchr(q, '"', (size_t)(end - q)) != NULL ||
		    memchr(q, '{', (size_t)(end - q)) != NULL ||
		    memchr(q, '}', (size_t)(end - q)) != NULL)
			continue;
		for (; q < end; q++) {
			if (q[0] == '\\' && q + 1 < end && q[1] == 'n') {
				strbuf_addc(&sb, '\n');
				q++;
			} else
				strbuf_addc(&sb, *q);
		}
		return strbuf_detach(&sb, NULL);
	}
	return NULL;
}

/* The format a template's text belongs to, or -1. */
static int
chat_detect(const char *src, int *flags)
{
	*flags = 0;
	if (strstr(src, "<|im_start|>") != NULL)
		return CHAT_CHATML;
	if (strstr(src, "<|start_header_id|>") != NULL)
		return strstr(src, "Cutting Knowledge Date") != NULL ?
		    CHAT_LLAMA31 : CHAT_LLAMA3;
	if (strstr(src, "<start_of_turn>") != NULL)
		return CHAT_GEMMA;
	if (strstr(src, "<|assistant|>") != NULL &&
	    strstr(src, "<|end|>") != NULL) {
		if (strstr(src, "<|system|>") == NULL)
			*flags |= CHAT_PHI3_NO_SYSTEM;
		return CHAT_PHI3;
	}
	if (strstr(src, "<|user|>") != NULL)
		return CHAT_ZEPHYR;
	if (strstr(src, "[INST]") != NULL) {
		if (strstr(src, "<<SYS>>") != NULL)
			return CHAT_LLAMA2;
		/* v1 writes " [/INST]", v3 "[INST] ", tekken neither */
		if (strstr(src, " [/INST]") == NULL)
			*flags |= strstr(src, "[INST] ") != NULL ?
			    CHAT_MISTRAL_V3 : CHAT_MISTRAL_TEKKEN;
		return CHAT_MISTRAL;
	}
	return -1;
}

int
chat_template_init(struct chat_template *t, const char *source,
    const char *name, const char *bos, const char *eos, char **warning,
    char **cause)
{
	size_t i;
	int f, flags = 0;

	memset(t, 0, sizeof(*t));
	*warning = NULL;
	if (name != NULL) {
		for (i = 0; i < CHAT_N_NAMES; i++) {
			if (strcmp(chat_names[i].name, name) == 0)
				break;
		}
		if (i == CHAT_N_NAMES)
			return set_cause(cause, "chat template '%s' is unknown "
			    "(known: %s)", name, chat_format_names());
		t->format = chat_names[i].format;
		t->flags = chat_names[i].flags;
	} else if (source == NULL || *source == '\0') {
		t->format = CHAT_CHATML;
		*warning = xstrdup("the model has no chat template; using "
		    "chatml");
	} else if ((f = chat_detect(source, &flags)) < 0) {
		t->format = CHAT_CHATML;
		*warning = xstrdup("the model's chat template is not one of "
		    "the known families; using chatml");
	} else {
		t->format = (enum chat_format)f;
		t->flags = flags;
		if (t->format == CHAT_CHATML)
			t->default_system = chat_default_system(source);
	}
	t->bos = xstrdup(bos != NULL ? bos : "<s>");
	t->eos = xstrdup(eos != NULL ? eos : "</s>");
	return 0;
}

void
chat_template_release(struct chat_template *t)
{
	free(t->default_system);
	free(t->bos);
	free(t->eos);
	memset(t, 0, sizeof(*t));
}

int
chat_tokenizer_flags(const struct chat_template *t, const char *text)
{
	int flags = TOKENIZER_PARSE_SPECIAL;

	if (t->bos == NULL || strncmp(text, t->bos, strlen(t->bos)) != 0)
		flags |= TOKENIZER_ADD_BOS;
	return flags;
}

static int
chat_is(const struct chat_message *m, const char *role)
{
	return strcmp(m->role, role) == 0;
}

static int
chat_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/* Appends s without the whitespace at its ends (Jinja's trim). */
static void
chat_add_trimmed(struct strbuf *out, const char *s)
{
	size_t len = strlen(s);

	while (len > 0 && chat_space(s[len - 1]))
		len--;
	while (len > 0 && chat_space(*s)) {
		s++;
		len--;
	}
	strbuf_add(out, s, len);
}

/* Roles after the system message go user, assistant, user, ... */
static int
chat_check_alternate(const struct chat_message *msgs, size_t n,
    char **cause)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (chat_is(&msgs[i], "user") != (i % 2 == 0))
			return set_cause(cause, "conversation roles must "
			    "alternate user/assistant/user/assistant/...");
	}
	return 0;
}

/*
 * ChatML, Qwen2's template (in vocab/ggml-vocab-qwen2.gguf):
 *   {% for message in messages %}{% if loop.first and messages[0]['role']
 *   != 'system' %}{{ '<|im_start|>system\nYou are a helpful
 *   assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' +
 *   message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}
 *   {% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n'
 *   }}{% endif %}
 * Plain ChatML is the same without the default system message.
 */
static void
chat_chatml(const struct chat_template *t, const struct chat_message *msgs,
    size_t n, int gen, struct strbuf *out)
{
	size_t i;

	if (n > 0 && !chat_is(&msgs[0], "system") && t->default_system != NULL)
		strbuf_addf(out, "<|im_start|>system\n%s<|im_end|>\n",
		    t->default_system);
	for (i = 0; i < n; i++)
		strbuf_addf(out, "<|im_start|>%s\n%s<|im_end|>\n", msgs[i].role,
		    msgs[i].content);
	if (gen)
		strbuf_adds(out, "<|im_start|>assistant\n");
}

static void
chat_llama3_turn(const struct chat_message *m, struct strbuf *out)
{
	strbuf_addf(out, "<|start_header_id|>%s<|end_header_id|>\n\n", m->role);
	chat_add_trimmed(out, m->content);
	strbuf_adds(out, "<|eot_id|>");
}

/*
 * Llama 3 (in vocab/ggml-vocab-llama-bpe.gguf):
 *   {% set loop_messages = messages %}{% for message in loop_messages %}
 *   {% set content = '<|start_header_id|>' + message['role'] +
 *   '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}
 *   {% if loop.index0 == 0 %}{% set content = bos_token + content %}
 *   {% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}
 *   {{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}
 * Llama 3.1 and later open with a system turn that always holds the
 * knowledge cut-off and a date ("26 Jul 2024" unless the caller passes
 * date_string), then the system message, trimmed.
 */
static void
chat_llama3(const struct chat_template *t, const struct chat_message *msgs,
    size_t n, int gen, struct strbuf *out)
{
	size_t i = 0;

	if (t->format == CHAT_LLAMA31) {
		strbuf_adds(out, t->bos);
		strbuf_adds(out, "<|start_header_id|>system"
		    "<|end_header_id|>\n\n"
		    "Cutting Knowledge Date: December 2023\n"
		    "Today Date: 26 Jul 2024\n\n");
		if (n > 0 && chat_is(&msgs[0], "system")) {
			chat_add_trimmed(out, msgs[0].content);
			i = 1;
		}
		strbuf_adds(out, "<|eot_id|>");
	}
	for (; i < n; i++) {
		if (i == 0 && t->format == CHAT_LLAMA3)
			strbuf_adds(out, t->bos);
		chat_llama3_turn(&msgs[i], out);
	}
	if (gen)
		strbuf_adds(out, "<|start_header_id|>assistant<|end_header_id|>"
		    "\n\n");
}

/*
 * Llama 2 chat (meta-llama/Llama-2-7b-chat-hf): the system message goes
 * into the first user turn, every user turn opens with BOS, and there is
 * no generation prompt:
 *   {% if messages[0]['role'] == 'system' %}{% set loop_messages =
 *   messages[1:] %}{% set system_message = messages[0]['content'] %}...
 *   {% if loop.index0 == 0 and system_message != false %}{% set content =
 *   '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}
 *   {% else %}{% set content = message['content'] %}{% endif %}
 *   {% if message['role'] == 'user' %}{{ bos_token + '[INST] ' +
 *   content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant'
 *   %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}
 */
static int
chat_llama2(const struct chat_template *t, const struct chat_message *msgs,
    size_t n, struct strbuf *out, char **cause)
{
	struct strbuf content = STRBUF_INIT;
	const char *sys = NULL;
	size_t i;

	if (n > 0 && chat_is(&msgs[0], "system")) {
		sys = msgs[0].content;
		msgs++;
		n--;
	}
	if (chat_check_alternate(msgs, n, cause) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		strbuf_reset(&content);
		if (i == 0 && sys != NULL)
			strbuf_addf(&content, "<<SYS>>\n%s\n<</SYS>>\n\n", sys);
		strbuf_adds(&content, msgs[i].content);
		if (chat_is(&msgs[i], "user")) {
			strbuf_addf(out, "%s[INST] ", t->bos);
			chat_add_trimmed(out, content.buf);
			strbuf_adds(out, " [/INST]");
		} else {
			strbuf_addc(out, ' ');
			chat_add_trimmed(out, content.buf);
			strbuf_addf(out, " %s", t->eos);
		}
	}
	strbuf_release(&content);
	return 0;
}

/*
 * Mistral 7B Instruct (v0.1, v0.2):
 *   {{ bos_token }}{% for message in messages %}...{% if message['role'] ==
 *   'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif
 *   message['role'] == 'assistant' %}{{ message['content'] + eos_token}}
 *   {% else %}{{ raise_exception('Only user and assistant roles are
 *   supported!') }}{% endif %}{% endfor %}
 * A system message goes before the first user message, separated by a
 * blank line, as the later revisions of that template put it.
 * The v3 template (Mistral 7B v0.3) and the tekken one (Nemo) put the
 * system message in the last user turn instead:
 *   {%- if loop.last and system_message is defined %}{{- "[INST] " +
 *   system_message + "\n\n" + message["content"] + "[/INST]" }}{%- else %}
 *   {{- "[INST] " + message["content"] + "[/INST]" }}...{%- elif
 *   message["role"] == "assistant" %}{{- " " + message["content"]|trim +
 *   eos_token}}
 * which tekken writes as "[INST]" + ... + "[/INST]" and, for the
 * assistant, message["content"] + eos_token.
 */
static int
chat_mistral(const struct chat_template *t, const struct chat_message *msgs,
    size_t n, struct strbuf *out, char **cause)
{
	const char *sys = NULL;
	size_t i;

	if (n > 0 && chat_is(&msgs[0], "system")) {
		sys = msgs[0].content;
		msgs++;
		n--;
	}
	if (chat_check_alternate(msgs, n, cause) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!chat_is(&msgs[i], "user") &&
		    !chat_is(&msgs[i], "assistant"))
			return set_cause(cause, "only user and assistant roles "
			    "are supported, after an optional system message");
	}
	strbuf_adds(out, t->bos);
	for (i = 0; i < n; i++) {
		if (!chat_is(&msgs[i], "user")) {
			if (t->flags & CHAT_MISTRAL_V3) {
				strbuf_addc(out, ' ');
				chat_add_trimmed(out, msgs[i].content);
			} else
				strbuf_adds(out, msgs[i].content);
			strbuf_adds(out, t->eos);
			continue;
		}
		strbuf_adds(out, t->flags & CHAT_MISTRAL_TEKKEN ? "[INST]" :
		    "[INST] ");
		if (sys != NULL && (t->flags & (CHAT_MISTRAL_V3 |
		    CHAT_MISTRAL_TEKKEN) ? i + 1 == n : i == 0))
			strbuf_addf(out, "%s\n\n", sys);
		strbuf_addf(out, "%s%s", msgs[i].content, t->flags &
		    (CHAT_MISTRAL_V3 | CHAT_MISTRAL_TEKKEN) ? "[/INST]" :
		    " [/INST]");
	}
	return 0;
}

/*
 * Phi-3.5 (and Phi-3 since mid-2024):
 *   {% for message in messages %}{% if message['role'] == 'system' and
 *   message['content'] %}{{'<|system|>\n' + message['content'] +
 *   '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' +
 *   message['content'] + '<|end|>\n'}}{% elif message['role'] ==
 *   'assistant' %}{{'<|assistant|>\n' + message['content'] +
 *   '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}
 *   {{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}
 * The first Phi-3 template (in vocab/ggml-vocab-phi-3.gguf) has no system
 * role and opens the assistant turn after every user turn:
 *   {{ bos_token }}{% for message in messages %}{% if (message['role'] ==
 *   'user') %}{{'<|user|>' + '\n' + message['content'] + '<|end|>' + '\n' +
 *   '<|assistant|>' + '\n'}}{% elif (message['role'] == 'assistant') %}
 *   {{message['content'] + '<|end|>' + '\n'}}{% endif %}{% endfor %}
 */
static void
chat_phi3(const struct chat_template *t, const struct chat_message *msgs,
    size_t n, int gen, struct strbuf *out)
{
	size_t i;

	if (t->flags & CHAT_PHI3_NO_SYSTEM) {
		strbuf_adds(out, t->bos);
		for (i = 0; i < n; i++) {
			if (chat_is(&msgs[i], "user"))
				strbuf_addf(out, "<|user|>\n%s<|end|>\n"
				    "<|assistant|>\n", msgs[i].content);
			else if (chat_is(&msgs[i], "assistant"))
				strbuf_addf(out, "%s<|end|>\n",
				    msgs[i].content);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		if ((chat_is(&msgs[i], "system") && *msgs[i].content != '\0') ||
		    chat_is(&msgs[i], "user") || chat_is(&msgs[i], "assistant"))
			strbuf_addf(out, "<|%s|>\n%s<|end|>\n", msgs[i].role,
			    msgs[i].content);
	}
	strbuf_adds(out, gen ? "<|assistant|>\n" : t->eos);
}

/*
 * Gemma 3 (Gemma 2 is the same but refuses a system message):
 *   {{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{%- set
 *   first_user_prefix = messages[0]['content'] + '\n\n' -%}{%- set
 *   loop_messages = messages[1:] -%}...{%- for message in loop_messages -%}
 *   ...{%- if (message['role'] == 'assistant') -%}{%- set role = "model"
 *   -%}...{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if
 *   loop.first else "") }}{{ message['content'] | trim }}
 *   {{ '<end_of_turn>\n' }}{%- endfor -%}{%- if add_generation_prompt -%}
 *   {{'<start_of_turn>model\n'}}{%- endif -%}
 */
static int
chat_gemma(const struct chat_template *t, const struct chat_message *msgs,
    size_t n, int gen, struct strbuf *out, char **cause)
{
	const char *sys = NULL;
	size_t i;

	if (n > 0 && chat_is(&msgs[0], "system")) {
		sys = msgs[0].content;
		msgs++;
		n--;
	}
	if (chat_check_alternate(msgs, n, cause) != 0)
		return -1;
	strbuf_adds(out, t->bos);
	for (i = 0; i < n; i++) {
		strbuf_addf(out, "<start_of_turn>%s\n",
		    chat_is(&msgs[i], "assistant") ? "model" : msgs[i].role);
		if (i == 0 && sys != NULL)
			strbuf_addf(out, "%s\n\n", sys);
		chat_add_trimmed(out, msgs[i].content);
		strbuf_adds(out, "<end_of_turn>\n");
	}
	if (gen)
		strbuf_adds(out, "<start_of_turn>model\n");
	return 0;
}

/*
 * Zephyr (HuggingFaceH4/zephyr-7b-beta), one block per line, rendered
 * with trim_blocks so only the newlines after {{ }} stay:
 *   {% for message in messages %}
 *   {% if message['role'] == 'user' %}
 *   {{ '<|user|>\n' + message['content'] + eos_token }}
 *   {% elif message['role'] == 'system' %} ... the same with <|system|>
 *   {% elif message['role'] == 'assistant' %} ... with <|assistant|>
 *   {% endif %}
 *   {% if loop.last and add_generation_prompt %}
 *   {{ '<|assistant|>' }}
 *   {% endif %}
 *   {% endfor %}
 */
static void
chat_zephyr(const struct chat_template *t, const struct chat_message *msgs,
    size_t n, int gen, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (chat_is(&msgs[i], "user") || chat_is(&msgs[i], "system") ||
		    chat_is(&msgs[i], "assistant"))
			strbuf_addf(out, "<|%s|>\n%s%s\n", msgs[i].role,
			    msgs[i].content, t->eos);
		if (i + 1 == n && gen)
			strbuf_adds(out, "<|assistant|>\n");
	}
}

int
chat_render(const struct chat_template *t, const struct chat_message *msgs,
    size_t n, int add_generation_prompt, struct strbuf *out, char **cause)
{
	switch (t->format) {
	case CHAT_CHATML:
		chat_chatml(t, msgs, n, add_generation_prompt, out);
		return 0;
	case CHAT_LLAMA3:
	case CHAT_LLAMA31:
		chat_llama3(t, msgs, n, add_generation_prompt, out);
		return 0;
	case CHAT_LLAMA2:
		return chat_llama2(t, msgs, n, out, cause);
	case CHAT_MISTRAL:
		return chat_mistral(t, msgs, n, out, cause);
	case CHAT_PHI3:
		chat_phi3(t, msgs, n, add_generation_prompt, out);
		return 0;
	case CHAT_GEMMA:
		return chat_gemma(t, msgs, n, add_generation_prompt, out,
		    cause);
	case CHAT_ZEPHYR:
		chat_zephyr(t, msgs, n, add_generation_prompt, out);
		return 0;
	}
	return set_cause(cause, "chat format %d is unknown", (int)t->format);
}
