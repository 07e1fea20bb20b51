/*
 * Routing: which peers a client's hidden states go through. A chain is the
 * shortest path over block boundaries a..b where a peer serving [s, e) offers
 * a hop from any boundary i in [s, e) to e (or b, if sooner), costing its
 * round trip plus the blocks it runs over its throughput (Petals' rule),
 * plus its price for them (ROUTE_SECONDS_PER_CREDIT).
 */
#ifndef SWARM_SWARM_ROUTE_H
#define SWARM_SWARM_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "swarm/record.h"

/* What a credit is worth against latency when choosing a chain. */
#define ROUTE_SECONDS_PER_CREDIT	1.0

struct route_hop {
	uint32_t	 begin;
	uint32_t	 end;
	size_t		 peer;	/* index into the records */
};

struct route_peer {
	const struct peer_record	*rec;
	double				 rtt;	/* seconds */
	int				 usable;
};

/*
 * The cheapest chain over [begin, end) (allocated hops, in order). When no
 * chain exists, fails with the blocks nobody serves, as spans are written
 * everywhere (A:B, B excluded): "blocks 12:16 have no peer".
 */
int	route_find(const struct route_peer *, size_t n, uint32_t begin,
	    uint32_t end, struct route_hop **hops, size_t *n_hops,
	    char **cause);
/* Cost of one hop, seconds. */
double	route_hop_cost(const struct route_peer *, uint32_t begin,
	    uint32_t end);

#endif
