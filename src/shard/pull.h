/*
 * Pulling a span of a model into the store (`swarm shard pull`): from an
 * HTTP origin with Range requests, or from peers that seed their store
 * (seed.h), several pieces in flight on kept-alive connections (libcurl's
 * multi interface), each piece checked before it is written. A peer that
 * sends a piece whose hash is not the manifest's is banned for the rest of
 * the pull and the piece is asked of another source.
 */
#ifndef SWARM_SHARD_PULL_H
#define SWARM_SHARD_PULL_H

#include <stddef.h>
#include <stdint.h>

#define PULL_MAX_SOURCES	32

struct pull_config {
	const char	*source;	/* http(s) URL, or a model id / name */
	const char	*origin;	/* URL to fall back on; may be NULL */
	char		**peers;	/* host:port of seeding peers */
	size_t		 n_peers;
	const char	*digest;	/* trust only this manifest; may be NULL */
	uint32_t	 block_begin;
	uint32_t	 block_end;	/* MANIFEST_NO_BLOCK: to the last */
	int		 head;
	unsigned	 in_flight;	/* per source; 0: 4 */
	/* Bytes done of total, and the sources in use. */
	void		(*progress)(void *arg, uint64_t done, uint64_t total,
			    unsigned sources);
	void		*progress_arg;
};

struct pull_source_report {
	char		*name;		/* the URL or host:port */
	uint64_t	 bytes;
	uint64_t	 pieces;
	int		 banned;	/* sent a bad piece */
	int		 dropped;	/* failed too often */
};

struct pull_report {
	char			*id;
	uint64_t		 bytes_wanted;
	uint64_t		 bytes_fetched;
	uint64_t		 pieces_fetched;
	uint64_t		 pieces_retried;
	uint64_t		 bad_pieces;
	double			 seconds;
	char			*notes;		/* lines: bans, drops */
	size_t			 n_sources;
	struct pull_source_report sources[PULL_MAX_SOURCES];
};

int	pull_run(const struct pull_config *, struct pull_report *,
	    char **cause);
void	pull_report_release(struct pull_report *);

struct json_t;
struct json_t	*pull_report_json(const struct pull_report *);
/* "'id': N bytes wanted, M fetched in 0.4 s from 3 sources, ..." */
char		*pull_report_line(const struct pull_report *);

#endif
