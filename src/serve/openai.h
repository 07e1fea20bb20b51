/*
 * OpenAI request parsing and validation, as pure functions: the JSON text
 * of a /v1/chat/completions or /v1/completions request in, a checked
 * request out, or an error that names the status, the field (param), the
 * code and what is wrong, in the words the API answers with. Nothing here
 * knows HTTP, the model or the clock; the template and the tokenizer are
 * applied later, by the handler.
 */
#ifndef SWARM_SERVE_OPENAI_H
#define SWARM_SERVE_OPENAI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sampler.h"

#define OPENAI_MAX_STOP		16

enum openai_role {
	OPENAI_ROLE_SYSTEM,		/* "system" and "developer" */
	OPENAI_ROLE_USER,
	OPENAI_ROLE_ASSISTANT,
	OPENAI_ROLE_TOOL,
};

struct openai_message {
	enum openai_role role;
	char		*content;	/* the text parts joined; "" for none */
	json_t		*tool_calls;	/* an assistant's earlier calls, or NULL */
};

struct openai_request {
	int			 chat;		/* else /v1/completions */
	char			*model;
	int			 stream;
	int			 include_usage;
	json_t			*tools;		/* NULL: no function calling */
	char			*must;		/* tool_choice: see tools_check */
	struct openai_message	*messages;	/* chat */
	size_t			 n_messages;
	char			*prompt;	/* completions: text, or NULL */
	size_t			 prompt_len;
	int32_t			*prompt_ids;	/* completions: ids, with n */
	size_t			 n_prompt_ids;
	int			 max_tokens;	/* < 0: to the context */
	struct sampler_params	 sampling;	/* OpenAI's defaults */
	int			 has_seed;	/* else sampling.seed is 0 */
	char			*stops[OPENAI_MAX_STOP];
	int			 n_stop;
};

struct openai_error {
	int		 status;	/* 400, or 404 for an unknown model */
	char		*param;		/* the field, or NULL */
	const char	*code;		/* static */
	char		*message;
};

/* What a request is checked against. */
struct openai_limits {
	const char *const *models;	/* ids of GET /v1/models */
	size_t		 n_models;
	uint32_t	 n_vocab;	/* for prompts of token ids */
};

/* 0 with *r filled, or -1 with *e filled; release both either way. */
int	openai_parse(const char *body, size_t len, int chat,
	    const struct openai_limits *, struct openai_request *r,
	    struct openai_error *e);
/*
 * The prompt's length against the context: 0, or -1 with *e filled
 * (context_length_exceeded, or an empty prompt when there is no BOS).
 */
int	openai_check_context(const struct openai_request *, size_t n_ids,
	    uint32_t n_ctx, int has_bos, struct openai_error *e);
void	openai_request_release(struct openai_request *);
void	openai_error_release(struct openai_error *);

/* OpenAI's error object {"error":{"message","type","param","code"}}. */
json_t	*openai_error_json(int status, const char *param, const char *code,
	    const char *message);

#endif
