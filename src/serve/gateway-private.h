/*
 * What the gateway's files share: the gateway itself, a generation
 * request in flight, and the helpers that answer. Not for use outside
 * src/serve.
 */
#ifndef SWARM_SERVE_GATEWAY_PRIVATE_H
#define SWARM_SERVE_GATEWAY_PRIVATE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/generate.h"
#include "net/http-server.h"
#include "serve/gateway.h"
#include "serve/metrics.h"
#include "serve/openai.h"
#include "serve/tools.h"

#define GATEWAY_N_ROUTES	6

struct gateway {
	struct gateway_config	 cfg;
	struct http_server	*http;
	struct http_route	 routes[GATEWAY_N_ROUTES];
	const char		**models;	/* model_name, then aliases */
	size_t			 n_models;
	uint16_t		 port;
	uint32_t		 salt;
	int			 stopping;	/* atomic: gateway_free began */
	struct metrics		 metrics;
	pthread_mutex_t		 mu;	/* everything below */
	uint64_t		 next_id;
	int			 active;
	int			 active_streams;
};

/* A generation request, parsed, with its own backend once opened. */
struct gateway_req {
	struct openai_request	 o;
	enum tools_family	 family;
	struct generate_backend	 be;
	void			*state;
	int			 opened;
	int32_t			*ids;
	size_t			 n_ids;
	struct generate_params	 gp;
	char			 id[64];
	char			 key_id[17];	/* of its API key; "-": none */
	uint64_t		 units;		/* used of the swarm */
	uint64_t		 amount;
	long long		 created;
	double			 t0;
};

int	 gateway_stopping(struct gateway *);

/* Fills an answer: OpenAI's error shape (Retry-After when retry_after > 0). */
void	 gateway_error(struct http_response *, int status, int retry_after,
	    const char *param, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
/* Fills an answer with o (taken); a 500 when it cannot be encoded. */
void	 gateway_json(struct http_response *, int status, json_t *o);

/* Runs the request on its backend, then closes it; *ttft in seconds. */
int	 gateway_generate(struct gateway *, struct gateway_req *,
	    struct generate_result *, double *ttft, char **cause);
void	 gateway_close(struct gateway *, struct gateway_req *);
void	 gateway_req_release(struct gateway_req *);
const char *gateway_finish_name(enum generate_finish);
json_t	*gateway_usage(const struct gateway_req *,
	    const struct generate_result *);

#endif
