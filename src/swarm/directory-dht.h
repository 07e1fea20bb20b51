/*
 * The directory over the DHT. A node announces one signed value per model it
 * serves, under "model/<model_id>" (what clients look up) and under
 * "models" (what `swarm models status` lists); both carry the record, the
 * model's block count and the node's refresh interval. Values cannot be
 * updated in place, so a node puts a new one every refresh and readers keep
 * the newest per node, dropping what fails to verify and what is older than
 * DIRECTORY_DHT_STALE_MULT refresh intervals.
 */
#ifndef SWARM_SWARM_DIRECTORY_DHT_H
#define SWARM_SWARM_DIRECTORY_DHT_H

#include <stddef.h>
#include <stdint.h>

#include "swarm/record.h"

#define DIRECTORY_DHT_REFRESH	30	/* seconds between announcements */
#define DIRECTORY_DHT_STALE_MULT 3
#define DIRECTORY_DHT_REFRESH_MAX 3600

struct dht;
struct identity;

/* One verified announcement. */
struct directory_dht_entry {
	struct peer_record	rec;
	uint32_t		n_block;	/* the model's blocks; 0: unknown */
	uint32_t		refresh;	/* the announcer's interval, s */
};

/*
 * A directory over dht (borrowed; it must outlive the directory). id signs
 * announcements and may be NULL for a read-only client directory.
 */
struct directory *directory_dht_new(struct dht *, const struct identity *);
/* What announce adds to each record: the model's block count, the interval. */
void	directory_dht_set_model(struct directory *, uint32_t n_block,
	    uint32_t refresh);
/*
 * Bootstrap peers that did not answer when the node started: announce
 * tries them again until one answers, so a node may start before its
 * bootstrap peer does.
 */
void	directory_dht_set_retry(struct directory *, char *const *peers,
	    size_t n);
/* How long a lookup waits for the DHT (default 5000 ms). */
void	directory_dht_set_timeout(struct directory *, int timeout_ms);
/*
 * Every fresh, verified entry for model_id, or for every model when
 * model_id is NULL; the newest per peer, address and model, sorted by
 * model then span.
 */
int	directory_dht_entries(struct directory *, const char *model_id,
	    struct directory_dht_entry **out, size_t *n, char **cause);

/*
 * Bootstraps dht off each of peers (host:port) that answers within
 * timeout_ms. Returns how many answered; when none did (or n is 0), also
 * sets *cause naming the first failure.
 */
size_t	directory_dht_bootstrap(struct dht *, char *const *peers, size_t n,
	    int timeout_ms, char **cause);

/*
 * The DHT join every command makes: a DHT node on UDP port (0: any) of
 * bind_host (NULL: every interface; a node gives its listen host) in
 * network, bootstrapped off peers in up to tries rounds of timeout_ms
 * each, since a bootstrap node started at the same moment may be a little
 * behind. Returns 0 when a peer answered, 1 when none did (*dht is set
 * all the same, *cause says why), -1 when the DHT node cannot start.
 */
int	directory_dht_join(const char *network, const char *bind_host,
	    uint16_t port, char *const *peers, size_t n, int tries, int timeout_ms,
	    struct dht **dht, char **cause);

/* The signed DHT value for a record (allocated JSON text). */
char	*directory_dht_encode(const struct peer_record *, uint32_t n_block,
	    uint32_t refresh, const struct identity *);
/* Decodes and verifies a value; -1 with *cause when it does not verify. */
int	directory_dht_decode(const void *, size_t, struct directory_dht_entry *,
	    char **cause);

#endif
