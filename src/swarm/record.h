/*
 * What a node says about itself to the swarm: one record per node and model,
 * announced in the DHT under the model's id (and served by the node's info
 * endpoint). Readers keep the newest record per peer and drop stale ones.
 */
#ifndef SWARM_SWARM_RECORD_H
#define SWARM_SWARM_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define PEER_ID_LEN	64	/* hex characters */
#define PEER_ADDR_MAX	256
#define MODEL_ID_MAX	128
#define PEER_HELD_MAX	128	/* "0:3,4:5" */

enum peer_state {
	PEER_STATE_JOINING,
	PEER_STATE_ONLINE,
	PEER_STATE_DRAINING,
	PEER_STATE_GONE,	/* the last record of a node that left */
	PEER_STATE_UNREACHABLE,	/* an observer's word: it did not answer */
};

struct peer_record {
	char		peer_id[PEER_ID_LEN + 1];	/* from the public key */
	char		addr[PEER_ADDR_MAX];	/* host:port, TCP (HTTP) and UDP (DHT) */
	char		model_id[MODEL_ID_MAX];
	uint32_t	block_begin;		/* served span [begin, end) */
	uint32_t	block_end;
	double		throughput;	/* tokens/s through one block of the span */
	double		load;		/* 0 idle .. 1 saturated */
	uint32_t	free_sessions;
	uint64_t	free_cache_tokens;
	enum peer_state	state;
	char		version[32];
	int64_t		timestamp;	/* unix seconds when announced */
	double		price;		/* credits per 1000 block-tokens; absent
					   in old records: 0 */
	/* The spans of blocks its shard store holds and seeds ("0:3,4:5");
	 * "" when it seeds nothing. Holding is not serving. */
	char		held[PEER_HELD_MAX];
};

const char	*peer_state_name(enum peer_state);
int		 peer_state_parse(const char *, enum peer_state *);

/*
 * The record as JSON (the node's info endpoint and the DHT value). Decoding
 * checks every field's type, range and length and fails naming the field.
 */
struct json_t;
struct json_t	*record_to_json(const struct peer_record *);
int		 record_from_json(const struct json_t *, struct peer_record *,
		    char **cause);
char		*record_encode(const struct peer_record *);	/* allocated */
int		 record_decode(const char *, size_t, struct peer_record *,
		    char **cause);

/*
 * Where a client learns which peers serve a model. Implementations: the DHT
 * (src/swarm/directory-dht.c) and a fixed list of node addresses asked
 * directly over HTTP (src/swarm/directory-static.c), for tests and for
 * swarms without discovery.
 */
struct directory;

struct directory_ops {
	/* All fresh records for a model (allocated array). */
	int	(*lookup)(struct directory *, const char *model_id,
		    struct peer_record **out, size_t *n, char **cause);
	/* Publishes (or refreshes) a record; NULL for read-only directories. */
	int	(*announce)(struct directory *, const struct peer_record *,
		    char **cause);
	void	(*free)(struct directory *);
};

struct directory {
	const struct directory_ops	*ops;
};

#endif
