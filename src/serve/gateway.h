/*
 * The OpenAI-compatible HTTP API of `swarm serve`: /v1/models,
 * /v1/chat/completions and /v1/completions (whole answers and Server-Sent
 * Events), /health and /metrics, on the house's HTTP server (net/
 * http-server): generations run on threads of their own, idle clients
 * cost a socket. Where the numbers come from is the caller's business: every
 * request asks it for a generate_backend of its own (its own KV cache, or
 * its own swarm sessions) and hands it back when it is done, so requests
 * never share generation state.
 */
#ifndef SWARM_SERVE_GATEWAY_H
#define SWARM_SERVE_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

struct chat_template;
struct generate_backend;
struct strbuf;
struct tokenizer;

struct gateway_config {
	const char		*host;
	uint16_t		 port;		/* 0: any free port */
	const char		*model_name;	/* the id clients ask for */
	char *const		*aliases;	/* other ids accepted; may be NULL */
	size_t			 n_aliases;
	const struct tokenizer	*tok;		/* borrowed, shared */
	const struct chat_template *tmpl;	/* borrowed, shared */
	uint32_t		 n_ctx;		/* max_model_len */
	char *const		*api_keys;	/* none: no authentication */
	size_t			 n_api_keys;
	int			 max_concurrent;
	int			 heartbeat_seconds; /* 0: off */
	size_t			 max_body;
	/*
	 * A backend of n_ctx positions for one request; *state is handed
	 * back to close. May be called from many threads at once.
	 */
	int			(*open)(void *arg, uint32_t n_ctx,
				    struct generate_backend *, void **state,
				    char **cause);
	void			(*close)(void *arg, void *state,
				    uint64_t *units, uint64_t *amount);
	/* Each request's use is added here, per API key; may be NULL. */
	struct ledger		*ledger;
	/*
	 * Can the model run now? -1 with *detail (allocated) saying why
	 * not, for /health; may be NULL.
	 */
	int			(*health)(void *arg, char **detail);
	/* Appends the backend's own lines to /metrics; may be NULL. */
	void			(*metrics)(void *arg, struct strbuf *out);
	void			*arg;
};

struct gateway;
struct ledger;

struct gateway	*gateway_new(const struct gateway_config *, char **cause);
uint16_t	 gateway_port(const struct gateway *);
/* Stops listening, ends every stream and waits for their threads. */
void		 gateway_free(struct gateway *);

#endif
