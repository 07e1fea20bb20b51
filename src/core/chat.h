/*
 * Chat templates without a Jinja engine. The template a model carries in
 * tokenizer.chat_template is recognised by text only its family's
 * templates contain, and a list of messages is rendered the way that
 * family's reference template renders it: ChatML (Qwen, SmolLM), Llama 3
 * and 3.1, Llama 2, Mistral (v1, v3 and tekken), Phi-3, Gemma and
 * Zephyr. A template that is
 * none of these is rendered as ChatML, with a warning for the caller to
 * show; so is a model without one.
 */
#ifndef SWARM_CORE_CHAT_H
#define SWARM_CORE_CHAT_H

#include <stddef.h>

struct strbuf;

enum chat_format {
	CHAT_CHATML,
	CHAT_LLAMA3,
	CHAT_LLAMA31,
	CHAT_LLAMA2,
	CHAT_MISTRAL,
	CHAT_PHI3,
	CHAT_GEMMA,
	CHAT_ZEPHYR,
};

/* Variants read from a template's text. */
#define CHAT_PHI3_NO_SYSTEM	0x1	/* the first Phi-3: no system role */
#define CHAT_MISTRAL_V3		0x2	/* "[INST] x[/INST] y</s>" */
#define CHAT_MISTRAL_TEKKEN	0x4	/* "[INST]x[/INST]y</s>" */

struct chat_template {
	enum chat_format	 format;
	int			 flags;
	char			*default_system; /* ChatML's, or NULL */
	/* The texts of the model's BOS and EOS, for the templates. */
	char			*bos;
	char			*eos;
};

struct chat_message {
	const char	*role;	/* "system", "user", "assistant" */
	const char	*content;
};

/*
 * Picks the format: `name` when given (see chat_format_names), else the
 * one `source` (the model's template, may be NULL) belongs to. bos and eos
 * are the texts of the model's BOS and EOS tokens (NULL: "<s>", "</s>").
 * An unknown or missing template gives ChatML and sets *warning (allocated)
 * to say so; an unknown name is an error.
 */
int	 chat_template_init(struct chat_template *, const char *source,
	    const char *name, const char *bos, const char *eos, char **warning,
	    char **cause);
void	 chat_template_release(struct chat_template *);

/*
 * Appends the conversation as the template renders it, ending with the
 * opening of an assistant turn when add_generation_prompt is set. The text
 * includes the BOS text where the template puts one: tokenize it with
 * special tokens parsed, and without adding another BOS when it starts
 * with one. Fails when the template would: roles that do not alternate in
 * the formats that need them to.
 */
int	 chat_render(const struct chat_template *,
	    const struct chat_message *, size_t n, int add_generation_prompt,
	    struct strbuf *out, char **cause);

/*
 * The tokenizer flags (core/tokenizer.h) for rendered text: special tokens
 * parsed, and BOS added unless the text starts with the template's BOS.
 */
int		 chat_tokenizer_flags(const struct chat_template *,
		    const char *text);

/* The --template name of the format chosen. */
const char	*chat_template_name(const struct chat_template *);
/* "chatml, llama3, ...": the names --template takes. */
const char	*chat_format_names(void);

#endif
