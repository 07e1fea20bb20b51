/*
 * A directory over a fixed list of node addresses, for swarms without
 * discovery and for tests: a lookup asks each node's GET /info.
 */
#ifndef SWARM_SWARM_DIRECTORY_STATIC_H
#define SWARM_SWARM_DIRECTORY_STATIC_H

#include <stddef.h>

struct directory;

struct directory	*directory_static_new(const char *const *addrs,
			    size_t n);

#endif
