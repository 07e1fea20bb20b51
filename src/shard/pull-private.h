/*
 * What pull.c (the manifest, the sources, the report) and pull-fetch.c
 * (the transfers) share.
 */
#ifndef SWARM_SHARD_PULL_PRIVATE_H
#define SWARM_SHARD_PULL_PRIVATE_H

#include <pthread.h>
#include <stdint.h>

#include "shard/pull.h"
#include "shard/store.h"

enum pull_piece_state {
	PULL_PIECE_SKIP,		/* not wanted, or held */
	PULL_PIECE_TODO,
	PULL_PIECE_FLIGHT,
	PULL_PIECE_CHECK,		/* in, being checked and written */
	PULL_PIECE_DONE,
};

struct pull_src {
	char		*name;		/* URL or host:port */
	char		*url;		/* where Range requests go */
	uint8_t		*has;		/* n_pieces flags; NULL: every piece */
	int		 banned;
	int		 dropped;
	int		 fails;		/* in a row */
	unsigned	 in_flight;
	double		 retry_at;	/* after a failure: back off until */
	uint64_t	 bytes;
	uint64_t	 pieces;
};

struct pull_xfer;

#define PULL_SPARE	64
#define PULL_CHECKERS	2
/* Pieces in, waiting for a checker, before no more are asked for: the
 * memory a pull holds stays bounded (and its buffers reused, hot in the
 * cache) when the disk or the hashing is slower than the network. */
#define PULL_BACKLOG	(2 * PULL_CHECKERS)

struct pull {
	const struct pull_config *cfg;
	struct pull_report	*rep;
	struct store_model	 sm;
	uint8_t			*state;		/* enum pull_piece_state */
	uint8_t			*flights;	/* requests out per piece */
	int16_t			*fetcher;	/* the first source asked */
	size_t			*order;		/* wanted pieces, rarest first */
	size_t			 n_order;
	struct pull_src		 src[PULL_MAX_SOURCES];
	int			 n_src;
	void			*multi;		/* CURLM */
	struct pull_xfer	*xfers;
	/* The checker threads: hash and write what came in, while the
	 * transfers go on (hashing is the pull's main cost in CPU: two
	 * threads keep it off the critical path on a machine of two cores). */
	pthread_t		 checker[PULL_CHECKERS];
	int			 n_checkers;
	pthread_mutex_t		 qmu;
	pthread_mutex_t		 wmu;		/* one writer at a time */
	pthread_cond_t		 qcv;
	struct pull_xfer	*q_in;		/* to check, in order */
	struct pull_xfer	*q_out;		/* checked */
	int			 q_stop;
	uint8_t			*spare[PULL_SPARE];	/* piece buffers */
	size_t			 n_spare;
	void			*handles[PULL_SPARE];	/* CURL, reset */
	size_t			 n_handles;
	unsigned		 in_flight;
	unsigned		 checking;	/* pieces with the checkers */
	uint64_t		 done_bytes;
	uint64_t		 total_bytes;
};

int		 pull_fetch(struct pull *, char **cause);
const char	*pull_piece_name(const struct pull *, size_t i);
void		 pull_log(struct pull *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

#endif
