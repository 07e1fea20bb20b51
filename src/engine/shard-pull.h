/*
 * `swarm shard pull` with the swarm's help: the seeding peers found in the
 * DHT (the records that say which blocks a node's store holds) added to
 * those given, and --blocks auto resolved to the span the swarm serves
 * least, as `node join --blocks auto` picks it; then the pull itself
 * (src/shard/pull.c).
 */
#ifndef SWARM_ENGINE_SHARD_PULL_H
#define SWARM_ENGINE_SHARD_PULL_H

#include <stddef.h>
#include <stdint.h>

#include "shard/pull.h"

struct shard_pull_config {
	struct pull_config	 pull;
	char *const		*bootstrap;	/* host:port; may be none */
	size_t			 n_bootstrap;
	const char		*network;
	int			 auto_blocks;	/* pick the span */
	uint32_t		 num_blocks;	/* for auto; 0: an even share */
	void			(*log)(void *arg, const char *msg);
	void			*log_arg;
};

/* --blocks: A:B, all (NULL too) or auto into sc; -1 when malformed. */
int	shard_pull_blocks(struct shard_pull_config *, const char *blocks);
int	shard_pull(struct shard_pull_config *, struct pull_report *,
	    char **cause);

#endif
