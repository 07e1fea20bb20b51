/*
 * A pull with the swarm's help (shard-pull.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine/node-run.h"
#include "engine/shard-pull.h"
#include "net/dht.h"
#include "shard/manifest.h"
#include "swarm/balance.h"
#include "swarm/directory-dht.h"
#include "swarm/record.h"
#include "util/logcb.h"
#include "util/parse.h"
#include "util/xmalloc.h"

static void
shard_pull_log(const struct shard_pull_config *sc, const char *fmt, ...)
{
	va_list ap;

	if (sc->log == NULL)
		return;
	va_start(ap, fmt);
	logcb_vprintf(sc->log, sc->log_arg, fmt, ap);
	va_end(ap);
}

/* The records of the model in the swarm the bootstrap peers lead to. */
static int
shard_pull_lookup(struct shard_pull_config *sc, struct peer_record **recs,
    size_t *n, char **cause)
{
	struct dht *dht = NULL;
	struct directory *dir;
	char *c = NULL;
	int rc;

	*recs = NULL;
	*n = 0;
	rc = directory_dht_join(sc->network, NULL, 0, sc->bootstrap,
	    sc->n_bootstrap, NODE_RUN_JOIN_TRIES, NODE_RUN_JOIN_MS, &dht, &c);
	if (rc < 0) {
		*cause = c;
		return -1;
	}
	if (rc == 0) {
		dir = directory_dht_new(dht, NULL);
		if (dir->ops->lookup(dir, sc->pull.source, recs, n, &c) != 0)
			*n = 0;
		dir->ops->free(dir);
	}
	if (c != NULL)
		shard_pull_log(sc, "%s", c);
	free(c);
	dht_free(dht);
	return 0;
}

/* --blocks auto: the least served span of an even share's length. */
static void
shard_pull_auto(struct shard_pull_config *sc, const struct peer_record *recs,
    size_t n)
{
	uint32_t n_block = 0, len;
	size_t i;

	for (i = 0; i < n; i++)
		if (recs[i].block_end > n_block)
			n_block = recs[i].block_end;
	len = sc->num_blocks > 0 ? sc->num_blocks : (uint32_t)((n_block + n) /
	    (n + 1));
	balance_choose_span(recs, n, n_block, len, &sc->pull.block_begin,
	    &sc->pull.block_end);
	shard_pull_log(sc, "blocks auto: %u:%u of %u, the least served by the "
	    "%zu node%s seen", sc->pull.block_begin, sc->pull.block_end,
	    n_block, n, n == 1 ? "" : "s");
}

int
shard_pull_blocks(struct shard_pull_config *sc, const char *v)
{
	const char *err = NULL;

	sc->pull.block_begin = 0;
	sc->pull.block_end = MANIFEST_NO_BLOCK;
	sc->auto_blocks = v != NULL && strcmp(v, "auto") == 0;
	if (v == NULL || strcmp(v, "all") == 0 || sc->auto_blocks)
		return 0;
	return parse_span(v, 0, 1 << 20, &sc->pull.block_begin,
	    &sc->pull.block_end, &err);
}

int
shard_pull(struct shard_pull_config *sc, struct pull_report *rep,
    char **cause)
{
	struct peer_record *recs = NULL;
	char **peers = NULL;
	size_t i, n = 0, np = 0;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (sc->n_bootstrap > 0 && shard_pull_lookup(sc, &recs, &n, cause) != 0)
		return -1;
	if (sc->auto_blocks) {
		if (n == 0) {
			free(recs);
			return set_cause(cause, "--blocks auto: no node of "
			    "'%s' found in the swarm", sc->pull.source);
		}
		shard_pull_auto(sc, recs, n);
	}
	peers = xreallocarray(NULL, sc->pull.n_peers + n + 1, sizeof(*peers));
	for (i = 0; i < sc->pull.n_peers; i++)
		peers[np++] = sc->pull.peers[i];
	for (i = 0; i < n; i++)
		if (recs[i].held[0] != '\0')	/* it seeds */
			peers[np++] = recs[i].addr;
	if (n > 0)
		shard_pull_log(sc, "%zu of the %zu nodes found seed", np -
		    sc->pull.n_peers, n);
	sc->pull.peers = peers;
	sc->pull.n_peers = np;
	rc = pull_run(&sc->pull, rep, cause);
	free(peers);
	free(recs);
	return rc;
}
