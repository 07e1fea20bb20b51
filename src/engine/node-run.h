/*
 * A node of the swarm as `swarm node join` runs it: the node itself
 * (src/swarm/node.c) plus what puts it in the swarm. With --blocks auto it
 * first asks the swarm which span is served least; once listening it joins
 * the DHT (retrying while a bootstrap node started at the same moment
 * comes up) and announces its signed record there.
 */
#ifndef SWARM_ENGINE_NODE_RUN_H
#define SWARM_ENGINE_NODE_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "swarm/node.h"

/* Rounds of bootstrap tries a joining node makes, one second each. */
#define NODE_RUN_JOIN_TRIES	10
#define NODE_RUN_JOIN_MS	1000

struct node_run_config {
	struct node_config	 node;	/* the span is chosen when auto_blocks */
	int			 auto_blocks;
	uint32_t		 num_blocks;	/* auto: 0 is as many as fit */
	int			 new_swarm;	/* first node of a new swarm */
	char *const		*bootstrap;
	size_t			 n_bootstrap;
	const char		*network;
	/* The key file; NULL: one per listen address in the data directory
	 * (node_run_identity). */
	const char		*identity_path;
	char			*ledger_path;	/* the caller's; NULL: none */
	/* Pull the span into the shard store first (from the model's URL,
	 * or by id from the seeders of the swarm), then serve it. */
	int			 pull;
};

/* Is the node to be in a DHT at all (new swarm or bootstrap peers)? */
int		 node_run_in_dht(const struct node_run_config *);

/*
 * Loads the identity (in a DHT), picks the span (auto), pulls it (pull),
 * starts the node listening and logs what it serves. cfg must outlive the
 * run.
 */
struct node_run	*node_run_start(struct node_run_config *, char **cause);
struct node	*node_run_node(struct node_run *);
/* Joins the DHT and starts announcing; logs how it went. */
int		 node_run_join(struct node_run *, char **cause);
void		 node_run_free(struct node_run *);

#endif
