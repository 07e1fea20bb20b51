/*
 * The engine every command that generates stands on (`infer run`, `serve`,
 * later `chat` and `top`). It is opened once from one config: it loads the
 * GGUF, tokenizer and compute pool (every block when local, only the
 * embedding and head otherwise), or, for a swarm, finds the peers once
 * (a fixed list, or the DHT joined through bootstrap peers). It then hands
 * out generation backends, any number at once from any thread: each has
 * its own KV cache (local) or its own sessions on the peers (swarm).
 *
 * The pool is not reentrant, so work on it takes turns: a local backend
 * holds the lock for its whole evaluation (it is all pool work), a swarm
 * backend only around its head, never across a round trip, so requests
 * waiting on the network do not hold up the others.
 *
 * It also counts what happened (requests, tokens, per-peer step latency)
 * and answers health, for `serve`'s /health and /metrics.
 */
#ifndef SWARM_ENGINE_ENGINE_H
#define SWARM_ENGINE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "net/protocol.h"

/* The default context: the model's, at most this (KV memory grows with it). */
#define ENGINE_CTX_DEFAULT_MAX	4096
#define ENGINE_CTX_MAX		(1 << 20)
/* How long a client waits for each bootstrap peer of the DHT. */
#define ENGINE_BOOTSTRAP_MS	2000

struct generate_backend;
struct gguf_file;
struct model;
struct strbuf;
struct tokenizer;
struct client_hop_stats;
struct client_push_stats;

/* Its strings are read while engine_open runs; none is kept. */
struct engine_config {
	const char	*model_path;
	int		 threads;	/* <= 0: every core */
	int		 repack;	/* repack matrices at load */
	uint32_t	 n_ctx;		/* 0: engine_default_ctx() */
	/* Where the blocks run: local, peers, else the DHT via bootstrap. */
	int		 local;
	char *const	*peers;
	size_t		 n_peers;
	char *const	*bootstrap;
	size_t		 n_bootstrap;
	const char	*network;
	enum proto_dtype wire;		/* default f32 */
	int		 wire_fixed;	/* wire on every link, slow ones too */
	int		 push;		/* swarm.push: a client_push */
	int		 plain_http;	/* swarm.channels false */
	/* Where push auto's verdicts are kept between runs (NULL: not). */
	const char	*push_memo_path;
	double		 connect_timeout;	/* seconds; 0: the client's */
	double		 step_timeout;
	double		 run_timeout;	/* 0: none */
	double		 verify_rate;	/* client.verify_rate */
	/*
	 * Local: run the steps of every backend in flight as one batch
	 * (batch.h), prompts fed batch_chunk rows a step (0: the default).
	 */
	int		 batch;
	int		 batch_chunk;
	/* The client's key file (made on first use; NULL: a key for this
	 * process) and ledger file (NULL: receipts not kept). */
	const char	*identity_path;
	const char	*ledger_path;
	int		 receipts;	/* ledger.enabled: sign receipts */
	double		 max_price;	/* client.max_price; 0: no cap */
	/* The load's progress (a display); fn NULL: none. */
	struct model_progress progress;
	/* Tests hold requests open: a sleep before each evaluation. */
	unsigned	 test_eval_delay_ms;
	unsigned	 test_prompt_delay_ms;
	/* Progress lines (verbose); may be NULL. Called from any thread. */
	void		(*log)(void *arg, const char *msg);
	void		*log_arg;
};

void		 engine_config_init(struct engine_config *);
/* The context length used when none is given: one rule for every command. */
uint32_t	 engine_default_ctx(uint32_t n_ctx_train);

struct engine	*engine_open(const struct engine_config *, char **cause);
/* The client's ledger (a gateway adds its API keys' use); may be NULL. */
struct ledger	*engine_ledger(const struct engine *);
void		 engine_free(struct engine *);

const struct gguf_file	*engine_gguf(const struct engine *);
const struct tokenizer	*engine_tokenizer(const struct engine *);
const struct model	*engine_model(const struct engine *);
uint32_t	 engine_n_ctx(const struct engine *);
int		 engine_local(const struct engine *);
/* The model's id in the swarm; "" when local. */
const char	*engine_model_id(const struct engine *);
int		 engine_threads(const struct engine *);
double		 engine_load_seconds(const struct engine *);

/*
 * A chat's prompt: the system turn (may be NULL) and the user's rendered
 * with the model's chat template, or the one named (NULL: the model's),
 * opening the assistant's turn, into *out (allocated). *flags gets the
 * tokenizer flags for it: special tokens parsed, BOS unless the text
 * starts with it. *warning (allocated) says when the template fell back.
 */
int		 engine_chat_prompt(const struct engine *, const char *template,
		    const char *system, const char *user, char **out,
		    int *flags, char **warning, char **cause);

struct chat_message;
struct chat_template;
/* The model's chat template, or the one named (NULL: the model's). */
int		 engine_chat_template(const struct engine *, const char *name,
		    struct chat_template *, char **warning, char **cause);
/* engine_chat_prompt for a whole conversation (msgs[n]). */
int		 engine_chat_render(const struct engine *, const char *template,
		    const struct chat_message *msgs, size_t n, char **out,
		    int *flags, char **warning, char **cause);

/*
 * engine_chat_render of the conversation saved in path (OpenAI messages
 * JSON, conversation.h), with system (may be NULL) as its system message.
 */
int		 engine_messages_prompt(const struct engine *,
		    const char *template, const char *system, const char *path,
		    char **out, int *flags, char **warning, char **cause);

struct generate_result;
struct json_t;
/*
 * One generation as `infer run --json` prints it: model (its path), text
 * (invalid UTF-8 replaced), prompt and generated token ids, finish
 * reason, seed, context length and timings.
 */
struct json_t	*engine_run_json(const struct engine *, const char *model,
		    const int32_t *prompt, size_t n_prompt,
		    const struct generate_result *, int64_t seed,
		    double load_seconds);

struct engine_backend;

/*
 * A backend of n_ctx positions (0: the engine's). Safe from many threads
 * at once; each backend is used by one thread at a time.
 */
int		 engine_backend_open(struct engine *, uint32_t n_ctx,
		    struct generate_backend *, struct engine_backend **,
		    char **cause);
/* Adds the backend's figures to the engine's and frees it. */
void		 engine_backend_close(struct engine_backend *);
/* The same, giving what it used of the swarm: block-tokens and
 * micro-credits receipted (0 when local). */
void		 engine_backend_close_spent(struct engine_backend *,
		    uint64_t *units, uint64_t *amount);
/* The backend's chain with its latency figures; 0 when local. */
size_t		 engine_backend_hops(const struct engine_backend *,
		    struct client_hop_stats **);
unsigned	 engine_backend_failovers(const struct engine_backend *);
/* Push's figures (zero when local). */
void		 engine_backend_push(const struct engine_backend *,
		    struct client_push_stats *);
/* Steps checked on another replica; *mismatches of them (may be NULL). */
unsigned	 engine_backend_verified(const struct engine_backend *,
		    unsigned *mismatches);

/* Round trips to one peer for one span, summed over closed backends. */
struct engine_peer_stats {
	char		 addr[256];
	uint32_t	 begin;
	uint32_t	 end;
	uint64_t	 steps;
	double		 seconds;
};

struct engine_stats {
	uint64_t			 backends;	/* opened */
	uint64_t			 tokens;	/* evaluated */
	struct engine_peer_stats	*peers;		/* allocated */
	size_t				 n_peers;
};

void		 engine_stats(struct engine *, struct engine_stats *);
void		 engine_stats_release(struct engine_stats *);
/*
 * Can the model run now? Local: always. Swarm: is every block served by
 * an online peer (the records alone are asked, no peer is dialled)? -1
 * with *detail (allocated) saying why not.
 */
int		 engine_health(struct engine *, char **detail);
/* The per-peer figures as Prometheus text (nothing when local). */
void		 engine_metrics(struct engine *, struct strbuf *);

#endif
