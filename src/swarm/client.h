/*
 * The swarm client: drives hidden states through a chain of peers that
 * covers blocks [0, n_layer) of a model. It finds peers in a directory,
 * picks the chain (src/swarm/route.c), opens a session on each hop, and for
 * every evaluation sends the rows hop by hop. It keeps every input it sent
 * to each hop; when a peer fails it bans the peer (doubling back-off),
 * routes around it over the failed hop's blocks, replays the kept inputs to
 * rebuild the new peers' caches, and carries on: the output is the same as
 * if nothing had failed.
 *
 * With push (client_config.push) a step goes to the first hop only, with
 * the push flag; each node forwards its output to the next along the route
 * the client signed, and the client waits at every later hop for its
 * answer (GET /sessions/ID/steps/K), all at once: the last hop's answer,
 * the one generation waits for, comes hops + 1 one-way trips after the
 * step left, and the others, which come earlier, are the kept inputs for a
 * replay. A step whose push breaks is finished hop by hop from the first
 * hop whose answer did not come (a stall, counted in client_push_stats).
 *
 * As a generate_backend the embedding and output head run here, from the
 * client's own copy of the model (loaded with MODEL_LOAD_EMBED and
 * MODEL_LOAD_HEAD only).
 */
#ifndef SWARM_SWARM_CLIENT_H
#define SWARM_SWARM_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "net/protocol.h"

struct directory;
struct generate_backend;
struct identity;
struct ledger;
struct model;
struct pool;
struct push_memo;

enum client_push { CLIENT_PUSH_OFF, CLIENT_PUSH_ON, CLIENT_PUSH_AUTO };

struct client_config {
	struct directory	*dir;		/* borrowed */
	const char		*model_id;
	uint32_t		 n_layer;
	uint32_t		 n_embd;
	enum proto_dtype	 wire;		/* default f32: bit-identical */
	/*
	 * Automatic wire: f32 (wire) on fast links, f16 to a peer whose
	 * measured link is slow (client.c, CLIENT_SLOW_LINK). Default on.
	 */
	int			 wire_auto;
	/* Bytes of one step frame at most; a longer evaluation goes in
	 * several steps. 0: PROTO_MAX_BODY. */
	size_t			 max_frame;
	/* How often a cheaper chain is looked for (a near peer back after
	 * a failure); seconds, 0: the default, < 0: never. */
	double			 reroute_interval;
	/* Nodes forward to each other (a client_push; off when
	 * verify_rate > 0). CLIENT_PUSH_AUTO times both ways on the chain
	 * and takes the faster (push-trial.h); push_memo (borrowed, may be
	 * NULL) shares what it found between the clients of a process. */
	int			 push;
	struct push_memo	*push_memo;
	/* Steps over plain HTTP, never a channel (net/channel.h). */
	int			 plain_http;
	double			 connect_timeout;	/* seconds */
	double			 step_timeout;
	double			 run_timeout;	/* 0: none */
	int			 max_failovers;
	/* Fraction of steps checked on another replica (client_verify). */
	double			 verify_rate;
	/* Who signs the sessions and receipts; NULL: a key made for this
	 * process. */
	const struct identity	*identity;
	int			 receipts;	/* sign receipts for the work */
	struct ledger		*ledger;	/* keeps them; may be NULL */
	double			 max_price;	/* credits per 1000; 0: no cap */
	/* Progress lines (chain chosen, failures); may be NULL. */
	void			(*log)(void *arg, const char *msg);
	void			*log_arg;
};

void		 client_config_init(struct client_config *);

struct client	*client_new(const struct client_config *);
void		 client_free(struct client *);
/* Finds a chain and opens sessions of max_length positions. */
int		 client_open(struct client *, uint32_t max_length, char **cause);
/* Runs hidden[n][n_embd] (positions pos0..) through every block, in place. */
int		 client_forward(struct client *, float *hidden, int n,
		    int32_t pos0, char **cause);
/* Closes the sessions (best effort). */
void		 client_close(struct client *);

struct client_hop_stats {
	char		 addr[256];
	uint32_t	 begin;
	uint32_t	 end;
	uint64_t	 steps;
	double		 seconds;	/* round trips, summed */
	enum proto_dtype dtype;		/* hidden states on the wire now */
	double		 link_rate;	/* bytes/s measured; 0: unknown */
};

/* The current chain with its latency figures (allocated array). */
size_t		 client_stats(const struct client *, struct client_hop_stats **);
unsigned	 client_failovers(const struct client *);
/* Block-tokens and micro-credits receipted so far, every hop. */
void		 client_spent(struct client *, uint64_t *units,
		    uint64_t *amount);
/* Push: steps pushed through the chain, and those that stalled (finished
 * hop by hop after a failure) with the seconds they took. */
struct client_push_stats {
	int		 on;		/* steps pushed now (client_config.push,
					   no verify_rate, auto's verdict) */
	int		 mode;		/* a client_push; off with verify_rate */
	/* Auto: the verdict's medians, a token's seconds pushed and sent by
	 * the client (0: still trying). */
	double		 trial_pushed;
	double		 trial_sent;
	uint64_t	 sent;		/* steps sent to every hop by the client
					   while push was on or auto */
	uint64_t	 pushed;
	uint64_t	 stalls;
	double		 stall_seconds;
	uint64_t	 refused;	/* routes a node refused */
};

void		 client_push_stats(const struct client *,
		    struct client_push_stats *);
/* Steps checked on another replica; *mismatches (may be NULL) of them. */
unsigned	 client_verified(const struct client *, unsigned *mismatches);

/*
 * A generate_backend: embedding and head here, blocks through the swarm.
 * The pool is not reentrant: when backends share one, pool_mu (may be
 * NULL) is held around the work on it and never across a round trip, so
 * other requests compute while this one waits on the network.
 */
struct batch;
struct client_backend {
	const struct model	*model;
	struct pool		*pool;
	pthread_mutex_t		*pool_mu;
	struct client		*client;
	/* The heads of every backend waiting, in one pass (core/batch.h);
	 * NULL: each backend computes its own under pool_mu. */
	struct batch		*head_batch;
};

int	client_backend_init(struct client_backend *, const struct model *,
	    struct pool *, pthread_mutex_t *pool_mu, struct client *,
	    uint32_t n_ctx, struct generate_backend *, char **cause);

#endif
