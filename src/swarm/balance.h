/*
 * Which blocks a joining node should serve (`node join --blocks auto`): the
 * span of the wanted length where the swarm is weakest, after Petals' rule.
 * Each block's strength is the summed throughput of the peers serving it
 * (draining peers count for nothing); the chosen span has the least total.
 */
#ifndef SWARM_SWARM_BALANCE_H
#define SWARM_SWARM_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "swarm/record.h"

/*
 * Picks [*begin, *begin + len) inside [0, n_layer) (len is clamped to
 * n_layer; 0 means n_layer). Records of other spans past n_layer are
 * ignored. Ties go to the lowest start.
 */
void	balance_choose_span(const struct peer_record *, size_t n,
	    uint32_t n_layer, uint32_t len, uint32_t *begin, uint32_t *end);

struct gguf_file;

/*
 * How many of the model's n_block blocks fit in avail bytes of memory, by
 * the size of its largest block's tensors (at least 1, at most n_block).
 */
uint32_t balance_blocks_that_fit(const struct gguf_file *, uint32_t n_block,
	    uint64_t avail);

#endif
