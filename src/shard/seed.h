/*
 * Seeding: a node's HTTP server answers other pullers from the store.
 * GET /shards/MODEL/manifest gives the manifest and which pieces are held
 * ("held": a '0'/'1' per piece); GET /shards/MODEL/data with a Range header
 * gives bytes that lie wholly in held pieces (206), at most a few pieces
 * at a time. Bytes are served as stored; the puller checks them.
 */
#ifndef SWARM_SHARD_SEED_H
#define SWARM_SHARD_SEED_H

struct http_request;
struct http_response;

void	seed_answer_manifest(const char *model, struct http_response *);
void	seed_answer_data(const char *model, const struct http_request *,
	    struct http_response *);

#endif
