/*
 * Dijkstra over block boundaries. The graph is small (a boundary per block,
 * a few edges per peer), so the plain O(V^2) form is enough and keeps the
 * choice deterministic: on equal cost the lower peer index wins.
 *
 * With push a hop's cost depends on the peer before it (the link between
 * them), so the nodes are the peers instead: "the chain so far ends with
 * peer k", which stands at boundary min(k's end, end) whatever came before.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/route.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* A hop's compute, and its price for one token weighed as
 * ROUTE_SECONDS_PER_CREDIT of latency each credit. */
static double
route_work_cost(const struct route_peer *p, uint32_t begin, uint32_t end)
{
	double tp = p->rec->throughput > 1e-6 ? p->rec->throughput : 1e-6;

	return (double)(end - begin) / tp + p->rec->price *
	    (double)(end - begin) / 1000 * ROUTE_SECONDS_PER_CREDIT;
}

double
route_hop_cost(const struct route_peer *p, uint32_t begin, uint32_t end)
{
	return p->rtt + route_work_cost(p, begin, end);
}

double
route_link_rtt(const struct route_peer *peers, const struct route_push *push,
    size_t from, size_t to)
{
	double r;

	if (from == ROUTE_CLIENT)
		return to == ROUTE_CLIENT ? 0 : peers[to].rtt;
	if (to == ROUTE_CLIENT || from == to)
		return peers[from].rtt;
	if (push != NULL && push->link != NULL &&
	    (r = push->link(push->arg, from, to)) >= 0)
		return r;
	/*
	 * Not measured yet: the larger of the two round trips from the
	 * client. Never under the least the link can be (the difference of
	 * the two), and a far peer costs as much on either side of it as it
	 * would from the client.
	 */
	return peers[from].rtt > peers[to].rtt ? peers[from].rtt :
	    peers[to].rtt;
}

double
route_chain_cost(const struct route_peer *peers,
    const struct route_push *push, const struct route_hop *hops,
    size_t n_hops)
{
	size_t i, prev;
	double c = 0;

	if (push == NULL) {
		for (i = 0; i < n_hops; i++)
			c += route_hop_cost(&peers[hops[i].peer], hops[i].begin,
			    hops[i].end);
		return c;
	}
	prev = push->from;
	for (i = 0; i < n_hops; i++) {
		c += route_link_rtt(peers, push, prev, hops[i].peer) / 2 +
		    route_work_cost(&peers[hops[i].peer], hops[i].begin,
		    hops[i].end);
		prev = hops[i].peer;
	}
	return c + route_link_rtt(peers, push, prev, push->to) / 2;
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

int
route_find_push(const struct route_peer *peers, size_t n,
    const struct route_push *push, uint32_t begin, uint32_t end,
    struct route_hop **hops, size_t *n_hops, char **cause)
{
	size_t ns = n + 2, start = n, fin = n + 1, u, v, k, prev, count;
	uint32_t i, *at;
	double *dist, c;
	size_t *from;
	unsigned char *done;
	int rc = -1;
	static const struct route_push none = { NULL, NULL, ROUTE_CLIENT,
	    ROUTE_CLIENT };

	*hops = NULL;
	*n_hops = 0;
	if (push == NULL)
		push = &none;
	if (begin >= end)
		return set_cause(cause, "empty span %u:%u", begin, end);
	dist = xreallocarray(NULL, ns, sizeof(*dist));
	from = xreallocarray(NULL, ns, sizeof(*from));
	at = xreallocarray(NULL, ns, sizeof(*at));
	done = xcalloc(ns, 1);
	for (v = 0; v < ns; v++)
		dist[v] = DBL_MAX;
	for (k = 0; k < n; k++)
		at[k] = peers[k].rec->block_end < end ?
		    peers[k].rec->block_end : end;
	at[start] = begin;
	at[fin] = end;
	dist[start] = 0;
	for (;;) {
		u = ns;
		for (v = 0; v < ns; v++)
			if (!done[v] && dist[v] < DBL_MAX &&
			    (u == ns || dist[v] < dist[u]))
				u = v;
		if (u == ns || u == fin)
			break;
		done[u] = 1;
		prev = u == start ? push->from : u;
		if ((i = at[u]) == end) {
			/* The last hop: its output goes back one way. */
			c = dist[u] + route_link_rtt(peers, push, u, push->to) /
			    2;
			if (c < dist[fin]) {
				dist[fin] = c;
				from[fin] = u;
			}
			continue;
		}
		for (k = 0; k < n; k++) {
			const struct peer_record *r = peers[k].rec;

			if (!peers[k].usable || done[k] || i < r->block_begin ||
			    i >= r->block_end)
				continue;
			c = dist[u] + route_link_rtt(peers, push, prev, k) / 2 +
			    route_work_cost(&peers[k], i, at[k]);
			if (c < dist[k]) {
				dist[k] = c;
				from[k] = u;
			}
		}
	}
	if (dist[fin] == DBL_MAX) {
		route_gaps(peers, n, begin, end, cause);
		goto out;
	}
	count = 0;
	for (v = from[fin]; v != start; v = from[v])
		count++;
	*hops = xreallocarray(NULL, count, sizeof(**hops));
	*n_hops = count;
	for (v = from[fin]; v != start; v = from[v]) {
		count--;
		(*hops)[count].begin = at[from[v]];
		(*hops)[count].end = at[v];
		(*hops)[count].peer = v;
	}
	rc = 0;
out:
	free(dist);
	free(from);
	free(at);
	free(done);
	return rc;
}
