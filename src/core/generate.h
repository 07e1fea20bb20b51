/*
 * The generation loop shared by every front end: evaluate the prompt as one
 * batch, then sample and evaluate one token at a time, streaming text as it
 * is produced, until a stop string, an end-of-generation token, the token
 * budget or the context limit. Where the numbers come from is abstracted as
 * a backend: in-process (all blocks here) or, later, a chain of swarm peers.
 */
#ifndef SWARM_CORE_GENERATE_H
#define SWARM_CORE_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/sampler.h"

struct tokenizer;
struct model;
struct pool;
struct kv_cache;

struct generate_backend {
	void		*ctx;
	uint32_t	 n_vocab;
	uint32_t	 n_ctx;		/* positions available */
	/*
	 * Evaluates tokens[n] at positions pos0.. and writes logits: n rows
	 * when all_logits is set, else only the last row.
	 */
	int		(*eval)(void *ctx, const int32_t *tokens, int n,
			    int32_t pos0, int all_logits, float *logits,
			    char **cause);
};

enum generate_finish {
	GENERATE_FINISH_LENGTH,	/* token budget or context exhausted */
	GENERATE_FINISH_STOP,	/* end-of-generation token or stop string */
};

struct generate_params {
	int			 max_tokens;	/* < 0: until the context is full */
	struct sampler_params	 sampling;
	const char *const	*stop;		/* stop strings */
	int			 n_stop;
	int			 ignore_eog;
	/*
	 * The backend's cache already holds prompt[0, n_cached) at those
	 * positions (a conversation's earlier turns): only the rest is
	 * evaluated. Less than n_prompt.
	 */
	size_t			 n_cached;
	/* Called with every row of logits evaluated (prompt and generated). */
	int			(*on_logits)(void *arg, const float *row,
				    uint32_t n_vocab);
	void			*on_logits_arg;
	/* Called with text as it becomes final; returns non-zero to stop. */
	int			(*on_text)(void *arg, const char *text,
				    size_t len);
	void			*on_text_arg;
};

struct generate_result {
	int32_t			*tokens;	/* generated ids (allocated) */
	size_t			 n_tokens;
	char			*text;		/* generated text (allocated) */
	size_t			 text_len;
	size_t			 n_prompt;
	/* Positions the backend's cache holds after the run: the prompt and
	 * every generated token but one not evaluated (the last sampled). */
	size_t			 n_past;
	enum generate_finish	 finish;
	double			 prompt_seconds;
	double			 gen_seconds;	/* after the first token */
	double			 first_token_seconds;
};

void	generate_params_init(struct generate_params *);
int	generate_run(const struct generate_backend *, const struct tokenizer *,
	    const int32_t *prompt, size_t n_prompt,
	    const struct generate_params *, struct generate_result *,
	    char **cause);
void	generate_result_release(struct generate_result *);

/* The in-process backend: every block of a model, one KV cache. */
struct generate_local {
	const struct model	*model;
	struct pool		*pool;
	struct kv_cache		*kv;
};

int	generate_local_init(struct generate_local *, const struct model *,
	    struct pool *, uint32_t n_ctx, struct generate_backend *,
	    char **cause);
void	generate_local_release(struct generate_local *);

#endif
