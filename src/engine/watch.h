/*
 * Watching the swarm for `swarm top`: every interval, each peer's status
 * document (GET /status) is asked for at once, with a short timeout, through
 * one libcurl multi handle driven from the caller's loop, so that a dead
 * or slow peer costs nothing but its own answer and the caller can wait
 * for a key at the same time. The peers are a fixed list (--peer), or the
 * DHT's announcements, read again every WATCH_DISCOVER_SECONDS by a thread
 * of the watch's own so that a slow DHT never holds up a round. This
 * machine's node and gateway, when they answer, are asked too.
 */
#ifndef SWARM_ENGINE_WATCH_H
#define SWARM_ENGINE_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "swarm/record.h"

#define WATCH_DISCOVER_SECONDS	5
/* A document is at most this large; a larger answer is a failure. */
#define WATCH_MAX_DOCUMENT	(256u << 10)
/* Peers watched at most (the rest of a directory is left out). */
#define WATCH_MAX_PEERS		4096

struct json_t;

struct watch_config {
	const char	*network;
	char *const	*bootstrap;	/* DHT discovery; n_bootstrap > 0 */
	size_t		 n_bootstrap;
	char *const	*peers;		/* or these addresses, host:port */
	size_t		 n_peers;
	const char	*local;		/* this machine's node, or NULL */
	const char	*gateway;	/* this machine's `swarm serve`, or NULL */
	double		 interval;	/* seconds between rounds */
	double		 timeout;	/* seconds a peer has to answer */
};

/* One peer's answer in the last round. */
struct watch_answer {
	const char		*addr;
	int			 ok;		/* a JSON document came back */
	double			 rtt_ms;	/* the request's round trip */
	const struct json_t	*doc;		/* when ok, until the next round */
	const char		*error;		/* when not ok */
	int			 listed;	/* a peer (else only the local node) */
	int			 local;		/* the address of this machine's node */
	int			 gateway;	/* this machine's gateway: text is
						   its GET /metrics, doc NULL */
	const char		*text;		/* gateway, when ok */
	int			 announced;	/* found in the DHT: rec is set */
	struct peer_record	 rec;		/* its announcement */
	uint32_t		 n_block;	/* the model's blocks, 0: unknown */
};

struct watch	*watch_new(const struct watch_config *, char **cause);
void		 watch_free(struct watch *);

/*
 * Drives the transfers, starting a round when one is due, for up to
 * max_wait seconds; returns early, with 0, when fd (-1: none) can be read,
 * and with 1 when a round has ended (its answers are then in
 * watch_answers). Returns -1 with *cause on a failure of libcurl itself.
 */
int		 watch_run(struct watch *, int fd, double max_wait,
		    char **cause);
/*
 * Peers are asked for GET /status, the status without the session list
 * (a node without it, for GET /info); the peer at addr (NULL: none), shown
 * in detail, for GET /info with its sessions.
 */
void		 watch_set_detail(struct watch *, const char *addr);
/* Starts the next round at once (a key asked for a refresh). */
void		 watch_refresh(struct watch *);
const struct watch_answer *watch_answers(const struct watch *, size_t *n);
/* Why discovery fails, when it does (borrowed until the next call), else NULL. */
const char	*watch_discovery_error(struct watch *);

#endif
