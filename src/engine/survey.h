/*
 * What the swarm serves, read from the DHT as a short-lived client (`swarm
 * models status`, later `top`): per model its announcements, each peer
 * asked whether it answers, how many online or joining peers serve each
 * block (draining and unreachable ones do not count), and whether every
 * block is served.
 */
#ifndef SWARM_ENGINE_SURVEY_H
#define SWARM_ENGINE_SURVEY_H

#include <stddef.h>
#include <stdint.h>

#include "swarm/directory-dht.h"

/* How long a survey waits for each bootstrap peer. */
#define SURVEY_BOOTSTRAP_MS	2000
/* How long each announced peer is given to answer the probe, seconds. */
#define SURVEY_PROBE_SECONDS	1.5

struct survey_model {
	const char			*model_id;
	const struct directory_dht_entry *ents;	/* slice of the survey's */
	size_t				 n;
	uint32_t			 n_block;	/* 0: unknown */
	uint32_t			 span;		/* blocks shown */
	uint32_t			*replicas;	/* span entries */
	int				 complete;
};

struct survey {
	struct directory_dht_entry	*ents;
	size_t				 n_ents;
	struct survey_model		*models;
	size_t				 n_models;
};

/*
 * Joins network through bootstrap and reads every model's entries (only
 * want's, when not NULL: then it is listed even when nobody serves it).
 * file_n_block (0: unknown) is want's block count from its file.
 */
int	survey_swarm(const char *network, char *const *bootstrap, size_t n,
	    int timeout_ms, const char *want, uint32_t file_n_block,
	    struct survey *, char **cause);
void	survey_release(struct survey *);

/* Calls fn for each run of blocks with the same replica count. */
void	survey_runs(const struct survey_model *,
	    void (*fn)(void *arg, uint32_t begin, uint32_t end, uint32_t n),
	    void *arg);

struct json_t;
/*
 * The survey as `models status --json` prints it: per model its replicas
 * per block, runs of equal coverage, gaps and every peer's record with its
 * age at now (seconds since the epoch).
 */
struct json_t	*survey_json(const struct survey *, const char *network,
		    int64_t now);

/* The model id (MODEL_ID_MAX bytes) and block count of a GGUF file. */
int	survey_model_file(const char *path, char *id, uint32_t *n_block,
	    char **cause);

#endif
