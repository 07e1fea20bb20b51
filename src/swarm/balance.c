/*
 * The span chooser. Block strengths are summed from the records, then a
 * sliding window finds the span of least total strength; a block nobody
 * serves has strength 0, so gaps are filled first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gguf.h"
#include "swarm/balance.h"
#include "util/xmalloc.h"

void
balance_choose_span(const struct peer_record *recs, size_t n,
    uint32_t n_layer, uint32_t len, uint32_t *begin, uint32_t *end)
{
	double *strength, sum, best = 0;
	uint32_t b, s, best_s = 0;
	size_t i;

	if (len == 0 || len > n_layer)
		len = n_layer;
	*begin = 0;
	*end = len;
	if (n_layer == 0)
		return;
	strength = xcalloc(n_layer, sizeof(*strength));
	for (i = 0; i < n; i++) {
		if (recs[i].state == PEER_STATE_DRAINING)
			continue;
		for (b = recs[i].block_begin; b < recs[i].block_end &&
		    b < n_layer; b++)
			strength[b] += recs[i].throughput;
	}
	for (sum = 0, b = 0; b < len; b++)
		sum += strength[b];
	best = sum;
	for (s = 1; s + len <= n_layer; s++) {
		sum += strength[s + len - 1] - strength[s - 1];
		/* Sliding sums drift: compare with a little slack. */
		if (sum < best - 1e-9 * (best > 1 ? best : 1)) {
			best = sum;
			best_s = s;
		}
	}
	free(strength);
	*begin = best_s;
	*end = best_s + len;
}

uint32_t
balance_blocks_that_fit(const struct gguf_file *f, uint32_t n_block,
    uint64_t avail)
{
	uint64_t *bytes, largest = 0, i;
	uint32_t k;

	if (n_block == 0)
		return 0;
	bytes = xcalloc(n_block, sizeof(*bytes));
	gguf_block_bytes(f, n_block, bytes);
	for (i = 0; i < n_block; i++) {
		if (bytes[i] > largest)
			largest = bytes[i];
	}
	free(bytes);
	if (largest == 0 || avail / largest >= n_block)
		return n_block;
	k = (uint32_t)(avail / largest);
	return k > 0 ? k : 1;
}
