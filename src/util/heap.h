/*
 * A binary min-heap of fixed-size elements ordered by a caller's "comes
 * out before" function; the tokenizers queue their candidate merges in it.
 */
#ifndef SWARM_UTIL_HEAP_H
#define SWARM_UTIL_HEAP_H

#include <stddef.h>

#define HEAP_MAX_ELEM	64	/* bytes; elements are small structs */

struct heap {
	char	*v;
	size_t	 n;
	size_t	 alloc;
	size_t	 size;
	int	(*before)(const void *, const void *);
};

void	heap_init(struct heap *, size_t elem_size,
	    int (*before)(const void *, const void *));
void	heap_release(struct heap *);
void	heap_push(struct heap *, const void *elem);
/* Takes out the first element; the heap must not be empty. */
void	heap_pop(struct heap *, void *out);

#endif
