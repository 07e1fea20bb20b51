/*
 * A conversation with a model, turn after turn (`infer chat`): the
 * messages, and where the replies come from: the engine (local or through
 * the swarm), or an OpenAI-compatible server (--url).
 *
 * With the engine the backend and its KV cache live as long as the
 * dialog, so a turn evaluates only what its cache lacks: the whole
 * conversation is rendered with the chat template and tokenized, and when
 * the tokens the cache holds are a prefix of it (templates make them one
 * once a reply is closed), only the rest is prefilled. Otherwise the cache
 * is rewound to the first token that differs (locally), or the sessions are
 * opened again (the swarm's nodes only append), and the log says so.
 * The reply is thus the one `infer run` gives for the same messages.
 */
#ifndef SWARM_ENGINE_DIALOG_H
#define SWARM_ENGINE_DIALOG_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct conversation;
struct engine;
struct generate_params;

enum dialog_overflow {
	DIALOG_OVERFLOW_STOP,		/* refuse the turn; /clear */
	DIALOG_OVERFLOW_DROP_OLDEST,	/* forget the oldest turns */
};

struct dialog_config {
	struct engine		*engine;	/* borrowed; NULL with url */
	const char		*template;	/* NULL: the model's */
	const char		*system;	/* may be NULL */
	enum dialog_overflow	 overflow;
	/* An OpenAI-compatible server instead: base URL (".../v1"). */
	const char		*url;
	const char		*api_key;	/* may be NULL */
	const char		*model;		/* asked of the server */
	double			 timeout;	/* seconds per reply; 0: none */
	/* Set (by a signal handler) to stop the reply being generated. */
	volatile sig_atomic_t	*cancel;
	void			(*log)(void *arg, const char *msg);
	void			*log_arg;
};

/* What the last turn did. */
struct dialog_stats {
	unsigned	 turn;		/* 1 for the first reply */
	size_t		 n_prompt;	/* tokens of the rendered conversation */
	size_t		 n_prefilled;	/* of them evaluated this turn */
	size_t		 n_reused;	/* of them found in the cache */
	size_t		 n_tokens;	/* generated */
	size_t		 n_past;	/* context used after the reply */
	uint32_t	 n_ctx;		/* 0 with a server */
	double		 prompt_seconds;
	double		 first_token_seconds;
	double		 gen_seconds;	/* after the first token */
	unsigned	 dropped;	/* turns forgotten to make room */
	int		 context_full;	/* the reply ran into the end */
	int		 cancelled;
};

struct dialog	*dialog_new(const struct dialog_config *, char **warning,
		    char **cause);
void		 dialog_free(struct dialog *);
/* The messages (borrowed); edits are seen by the next turn. */
struct conversation *dialog_conversation(struct dialog *);
/*
 * Adds the user's message and the reply, streamed through p->on_text
 * (max_tokens, sampling and stop strings from p). When the conversation
 * does not fit the context: with DIALOG_OVERFLOW_STOP -1 with *cause
 * saying so (the message is not kept); with DROP_OLDEST the oldest turns
 * are forgotten first. A cancelled reply is kept as far as it got.
 */
int		 dialog_say(struct dialog *, const char *user,
		    const struct generate_params *p, char **cause);
/* Replaces the last reply with a new one. */
int		 dialog_retry(struct dialog *, const struct generate_params *p,
		    char **cause);
const struct dialog_stats *dialog_stats(const struct dialog *);
/* The peers the last reply went through, one line each (allocated);
 * NULL when there were none (local, a server). */
char		*dialog_route(const struct dialog *);

#endif
