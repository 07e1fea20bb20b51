/*
 * Dijkstra over block boundaries. The graph is small (a boundary per block,
 * a few edges per peer), so the plain O(V^2) form is enough and keeps the
 * choice deterministic: on equal cost the lower peer index wins.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/route.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

double
route_hop_cost(const struct route_peer *p, uint32_t begin, uint32_t end)
{
	double tp = p->rec->throughput > 1e-6 ? p->rec->throughput : 1e-6;

	/* A hop's price for one token, weighed as ROUTE_SECONDS_PER_CREDIT
	 * of latency each credit. */
	return p->rtt + (double)(end - begin) / tp + p->rec->price *
	    (double)(end - begin) / 1000 * ROUTE_SECONDS_PER_CREDIT;
}

static int
route_gaps(const struct route_peer *peers, size_t n, uint32_t begin,
    uint32_t end, char **cause)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned char *covered;
	uint32_t i, j;
	size_t k;

	covered = xcalloc(end - begin, 1);
	for (k = 0; k < n; k++) {
		if (!peers[k].usable)
			continue;
		for (i = peers[k].rec->block_begin; i < peers[k].rec->block_end;
		    i++)
			if (i >= begin && i < end)
				covered[i - begin] = 1;
	}
	for (i = begin; i < end; i = j) {
		if (covered[i - begin]) {
			j = i + 1;
			continue;
		}
		for (j = i; j < end && !covered[j - begin]; j++)
			;
		if (sb.len > 0)
			strbuf_adds(&sb, ", ");
		if (j - i == 1)
			strbuf_addf(&sb, "block %u has no peer", i);
		else
			strbuf_addf(&sb, "blocks %u:%u have no peer", i, j);
	}
	free(covered);
	if (sb.len == 0)
		strbuf_adds(&sb, "no chain of peers covers the blocks");
	set_cause(cause, "%s", sb.buf);
	strbuf_release(&sb);
	return -1;
}

int
route_find(const struct route_peer *peers, size_t n, uint32_t begin,
    uint32_t end, struct route_hop **hops, size_t *n_hops, char **cause)
{
	uint32_t nv = end - begin + 1, v, u, i, t, count;
	double *dist, c;
	uint32_t *from_v;
	size_t *from_p, k;
	unsigned char *done;
	int rc = -1;

	*hops = NULL;
	*n_hops = 0;
	if (begin >= end)
		return set_cause(cause, "empty span %u:%u", begin, end);
	dist = xreallocarray(NULL, nv, sizeof(*dist));
	from_v = xreallocarray(NULL, nv, sizeof(*from_v));
	from_p = xreallocarray(NULL, nv, sizeof(*from_p));
	done = xcalloc(nv, 1);
	for (v = 0; v < nv; v++)
		dist[v] = DBL_MAX;
	dist[0] = 0;
	for (;;) {
		u = nv;
		for (v = 0; v < nv; v++)
			if (!done[v] && dist[v] < DBL_MAX &&
			    (u == nv || dist[v] < dist[u]))
				u = v;
		if (u == nv || u == nv - 1)
			break;
		done[u] = 1;
		i = begin + u;
		for (k = 0; k < n; k++) {
			const struct peer_record *r = peers[k].rec;

			if (!peers[k].usable || i < r->block_begin ||
			    i >= r->block_end)
				continue;
			t = r->block_end < end ? r->block_end : end;
			c = dist[u] + route_hop_cost(&peers[k], i, t);
			if (c < dist[t - begin]) {
				dist[t - begin] = c;
				from_v[t - begin] = u;
				from_p[t - begin] = k;
			}
		}
	}
	if (dist[nv - 1] == DBL_MAX) {
		route_gaps(peers, n, begin, end, cause);
		goto out;
	}
	count = 0;
	for (v = nv - 1; v != 0; v = from_v[v])
		count++;
	*hops = xreallocarray(NULL, count, sizeof(**hops));
	*n_hops = count;
	for (v = nv - 1; v != 0; v = from_v[v]) {
		count--;
		(*hops)[count].begin = begin + from_v[v];
		(*hops)[count].end = begin + v;
		(*hops)[count].peer = from_p[v];
	}
	rc = 0;
out:
	free(dist);
	free(from_v);
	free(from_p);
	free(done);
	return rc;
}
