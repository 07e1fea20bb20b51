/*
 * A node: serves blocks [a, b) of one model over HTTP (man/swarm-protocol.7).
 * It maps only its span's tensors, measures its throughput at start, keeps
 * one KV cache per client session, frees sessions left idle, and drains on
 * request: refuses new sessions, lets running steps finish (bounded), stops.
 *
 * Discovery plugs in through an announcer: a directory whose announce() the
 * node calls with its current record every NODE_ANNOUNCE_INTERVAL seconds
 * and once more when it starts draining.
 */
#ifndef SWARM_SWARM_NODE_H
#define SWARM_SWARM_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "swarm/record.h"

#define NODE_ANNOUNCE_INTERVAL	30	/* seconds */
#define NODE_DEFAULT_PORT	7400

struct directory;
struct http_route;

struct node_config {
	const char	*model_path;
	/* The id to serve (swarm/model-id.h); "": not known yet, neither
	 * announced nor open to sessions until node_set_model_id; NULL: the
	 * file's provisional id. */
	const char	*model_id;
	uint32_t	 block_begin;	/* served span [begin, end) */
	uint32_t	 block_end;
	const char	*listen;	/* host:port; port 0: any */
	const char	*public_addr;	/* announced; NULL: the bound address */
	const char	*peer_id;	/* NULL: none (no identity) */
	/* The node's public key: receipts are made out to it; NULL: none,
	 * and no receipt is accepted. */
	const uint8_t	*node_key;
	const char	*ledger_path;	/* NULL: receipts not kept */
	double		 price;		/* credits per 1000 block-tokens; < 0:
					   node_ledger_default_price */
	double		 credit_limit;	/* credits a client may owe */
	uint64_t	 free_units;	/* served to any client for free */
	int		 threads;	/* <= 0: every core */
	int		 repack;	/* matrices repacked at load */
	int		 seed;		/* serve the shard store's pieces */
	/* More routes on the node's server, before its own (the store's
	 * pieces, from engine/node-run.c); their handlers get the node as
	 * arg. The table must outlive the node. */
	const struct http_route *extra_routes;
	size_t		 n_extra_routes;
	const char	*held;		/* spans the store holds; NULL: none */
	uint32_t	 max_sessions;
	/* Sessions one client key holds at once; the clients that sign
	 * nothing share one key's worth. */
	uint32_t	 max_sessions_per_client;
	uint32_t	 max_context;	/* positions per session; 0: the model's */
	double		 session_timeout;	/* idle seconds before freeing */
	double		 drain_timeout;	/* seconds running steps may take */
	const char	*data_dir;	/* existing directory for the control token
					   file; NULL: no control endpoint */
	double		 step_delay;	/* seconds added to each step (tests;
					   the steps then run one at a time) */
	int		 batch;		/* sessions' steps batched (default) */
	double		 announce_interval;	/* seconds; tests shorten it */
	/* The load's progress (a display); fn NULL: none. */
	struct model_progress progress;
	/* Log lines (no newline); called from any thread. */
	void		(*log)(void *arg, const char *msg);
	void		*log_arg;
};

void		 node_config_init(struct node_config *);

struct node	*node_new(const struct node_config *, char **cause);
void		 node_free(struct node *);
/* node.seed: whether the node answers other nodes' pulls. */
int		 node_seeding(const struct node *);

uint16_t	 node_port(const struct node *);
/* The address announced: host:port. */
const char	*node_addr(const struct node *);
const char	*node_model_id(const struct node *);
/* Tokens per second through one block, measured at start. */
double		 node_throughput(const struct node *);
/* Sets the id of a node started without one: it is announced at once. */
void		 node_set_model_id(struct node *, const char *id);
/* Waits for the id (0), or for the node to be drained (-1). */
int		 node_wait_model_id(struct node *);
/*
 * The spans of blocks the node's shard store holds (announced in its
 * record while it seeds); NULL: none. From any thread.
 */
void		 node_set_held(struct node *, const char *held);
/* The announcer, or NULL for none; call before node_wait. */
void		 node_set_announcer(struct node *, struct directory *);
/* The node's record as of now. */
void		 node_get_record(struct node *, struct peer_record *);
/* Asks the node to drain; safe from any thread, not from a signal handler. */
void		 node_drain(struct node *);
/* Serves until a drain is asked for, then drains and stops listening. */
int		 node_wait(struct node *, char **cause);

/* The control token file for the node on port (allocated path). */
char		*node_token_path(const char *data_dir, uint16_t port);

#endif
