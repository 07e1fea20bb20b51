/*
 * What a node says about itself (GET /info): its signed record and its
 * status counters, for `swarm node status` and later `top`; and the
 * control request that makes a node of this machine leave.
 */
#ifndef SWARM_ENGINE_NODE_INFO_H
#define SWARM_ENGINE_NODE_INFO_H

#include <stdint.h>

#include "swarm/record.h"

struct json_t;

struct node_info {
	struct peer_record	 rec;
	int64_t			 n_layer;
	int64_t			 sessions;
	int64_t			 max_sessions;
	int64_t			 max_context;
	int64_t			 tokens_processed;
	int64_t			 steps;
	double			 uptime_seconds;
	double			 tokens_per_second_10s;
	double			 tokens_per_second_60s;
	int64_t			 queue;		/* steps waiting to compute */
	int64_t			 errors;	/* steps answered with an error */
	struct json_t		*json;	/* the whole answer */
};

/* Asks the node at addr (host:port); -1 with *cause when it cannot. */
int	node_info_fetch(const char *addr, struct node_info *, char **cause);
/*
 * node_info_fetch, tried every 100 ms for up to seconds until the node
 * answers (a node that is starting); when none does, the cause says that
 * no node answers at addr and how to start one.
 */
int	node_info_fetch_wait(const char *addr, double seconds,
	    struct node_info *, char **cause);
void	node_info_release(struct node_info *);
/*
 * The figures of a node's /info or /status document (borrowed; ni->json
 * is left alone), its record checked as the DHT's would be.
 */
int	node_info_parse(const struct json_t *doc, struct node_info *,
	    char **cause);

/*
 * Asks the node of this machine at addr to drain and stop, showing the
 * control token it wrote to data_dir.
 */
int	node_info_leave(const char *addr, const char *data_dir, char **cause);
/* Waits until addr stops answering, at most seconds; -1 if it does not. */
int	node_info_wait_gone(const char *addr, double seconds, char **cause);

#endif
