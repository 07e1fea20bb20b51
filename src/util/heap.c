/*
 * Binary heap over an array of fixed-size elements.
 */
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "xmalloc.h"

void
heap_init(struct heap *h, size_t elem_size,
    int (*before)(const void *, const void *))
{
	if (elem_size == 0 || elem_size > HEAP_MAX_ELEM)
		abort();
	memset(h, 0, sizeof(*h));
	h->size = elem_size;
	h->before = before;
}

void
heap_release(struct heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->alloc = 0;
}

static void
heap_swap(struct heap *h, size_t i, size_t j)
{
	char tmp[HEAP_MAX_ELEM];

	memcpy(tmp, h->v + i * h->size, h->size);
	memcpy(h->v + i * h->size, h->v + j * h->size, h->size);
	memcpy(h->v + j * h->size, tmp, h->size);
}

void
heap_push(struct heap *h, const void *elem)
{
	size_t i, up;

	if (h->n == h->alloc) {
		h->alloc = h->alloc ? h->alloc * 2 : 64;
		h->v = xreallocarray(h->v, h->alloc, h->size);
	}
	i = h->n++;
	memcpy(h->v + i * h->size, elem, h->size);
	while (i > 0) {
		up = (i - 1) / 2;
		if (!h->before(h->v + i * h->size, h->v + up * h->size))
			break;
		heap_swap(h, i, up);
		i = up;
	}
}

void
heap_pop(struct heap *h, void *out)
{
	size_t i = 0, l, r, best;

	memcpy(out, h->v, h->size);
	if (--h->n > 0)
		memcpy(h->v, h->v + h->n * h->size, h->size);
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		best = i;
		if (l < h->n && h->before(h->v + l * h->size,
		    h->v + best * h->size))
			best = l;
		if (r < h->n && h->before(h->v + r * h->size,
		    h->v + best * h->size))
			best = r;
		if (best == i)
			break;
		heap_swap(h, i, best);
		i = best;
	}
}
