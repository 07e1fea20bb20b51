/*
 * hop-floor: the least a hop can cost on this machine when a chain of
 * processes shares its cores the way bench-swarm's three nodes and client
 * do. No HTTP, no model: three node processes and a client joined by plain
 * TCP on 127.0.0.1 (ports chosen by the kernel), one frame of a 2048-float
 * row per step, and for each node's step a pass over its own memory (the
 * weights of its span) with a thread pool, for the client's a pass over the
 * output matrix's bytes. Between two steps of a node the other processes
 * stream their memory through the caches and the node's threads sleep, as
 * in the swarm; what a real transport adds to these wake-ups, copies and
 * socket calls is its own cost.
 *
 * Each step reports its pass's time in the frame, so the floor is the wall
 * time less every pass, per token, over the three hops: the figure to hold
 * bench-swarm's "added latency per hop" against. It runs the chain without
 * push (the client sends each step to each node and gets it back: six
 * one-way trips a token) and with push (client, node 1, 2, 3, client: four),
 * in turn, and prints the median of each.
 *
 *	hop-floor [-t threads] [-n tokens] [-r rounds] [-s MiB] [-H MiB]
 *
 * -s is each node's memory (default 200 MiB, a third of the 1.1B Q4_0's
 * blocks), -H the client's (default 52 MiB, its Q6_K output matrix).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/pool.h"
#include "util/clock.h"
#include "util/parse.h"
#include "util/xmalloc.h"

#include "read-pass.h"

#define FLOOR_NODES	3
#define FLOOR_FRAME	(2048 * sizeof(float))
#define FLOOR_CHUNK	((size_t)1 << 20)	/* bytes a pool task reads */
#define FLOOR_ROUNDS_MAX	64

/* A pass over a buffer, a chunk a task, like decode's weight stream. */
struct floor_pass {
	const uint8_t	*p;
	size_t		 n;
	uint64_t	 sink[256];
};

static void
floor_read_task(void *arg, int task, int thread)
{
	struct floor_pass *f = arg;
	size_t off = (size_t)task * FLOOR_CHUNK, n = f->n - off;

	f->sink[thread] += read_pass(f->p + off, n < FLOOR_CHUNK ? n :
	    FLOOR_CHUNK);
}

/* seconds the pass took */
static double
floor_pass(struct pool *pool, struct floor_pass *f)
{
	double t0 = clock_now();

	pool_run(pool, floor_read_task, f, (int)((f->n + FLOOR_CHUNK - 1) /
	    FLOOR_CHUNK));
	/* the next step is a round trip away: free the cores */
	pool_idle(pool);
	return clock_now() - t0;
}

static void
floor_fill(struct floor_pass *f, size_t n)
{
	uint8_t *p = xmalloc(n);
	size_t i;

	madvise(p, n, MADV_HUGEPAGE);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131);
	f->p = p;
	f->n = n;
}

static void
floor_die(const char *what)
{
	fprintf(stderr, "hop-floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
floor_listen(uint16_t *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(s, 4) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0)
		floor_die("listen on 127.0.0.1");
	*port = ntohs(a.sin_port);
	return s;
}

static void
floor_nodelay(int s)
{
	int one = 1;

	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		floor_die("TCP_NODELAY");
}

static int
floor_accept(int l)
{
	int s = accept(l, NULL, NULL);

	if (s < 0)
		floor_die("accept");
	floor_nodelay(s);
	return s;
}

static int
floor_dial(uint16_t port)
{
	struct sockaddr_in a;
	int s;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
		floor_die("connect to 127.0.0.1");
	floor_nodelay(s);
	return s;
}

/* 0: the whole frame; -1: the peer is gone */
static int
floor_read(int s, uint8_t *buf, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = read(s, buf, n)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

static void
floor_write(int s, const uint8_t *buf, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = write(s, buf, n)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			floor_die("write");
		buf += r;
		n -= (size_t)r;
	}
}

/* The frame's first 8 bytes: the passes' seconds so far. */
static void
floor_add_seconds(uint8_t *frame, double s)
{
	double t;

	memcpy(&t, frame, sizeof(t));
	t += s;
	memcpy(frame, &t, sizeof(t));
}

/*
 * A node: takes steps on `in`, makes its pass, sends the frame on `out`
 * (back on `in` without push), until its peer goes.
 */
static void
floor_node(int threads, size_t bytes, int in, int out)
{
	struct pool *pool = pool_new(threads);
	struct floor_pass f;
	uint8_t frame[FLOOR_FRAME];

	floor_fill(&f, bytes);
	while (floor_read(in, frame, sizeof(frame)) == 0) {
		floor_add_seconds(frame, floor_pass(pool, &f));
		floor_write(out, frame, sizeof(frame));
	}
	_exit(0);
}

struct floor_opts {
	int	threads;
	int	tokens;
	int	rounds;
	size_t	node_bytes;
	size_t	head_bytes;
};

/* ms a token of the wall time not spent in the passes, over the hops */
static double
floor_chain(const struct floor_opts *o, int push, struct pool *pool,
    struct floor_pass *head)
{
	uint16_t port[FLOOR_NODES], back_port;
	pid_t pid[FLOOR_NODES];
	int lis[FLOOR_NODES], to[FLOOR_NODES], back = -1, back_lis, i, t;
	uint8_t frame[FLOOR_FRAME];
	double t0 = 0, wall, passes = 0;

	back_lis = floor_listen(&back_port);
	for (i = 0; i < FLOOR_NODES; i++)
		lis[i] = floor_listen(&port[i]);
	for (i = 0; i < FLOOR_NODES; i++) {
		if ((pid[i] = fork()) < 0)
			floor_die("fork");
		if (pid[i] == 0) {
			int in = floor_accept(lis[i]);
			int out = in;

			if (push)
				out = i + 1 < FLOOR_NODES ?
				    floor_dial(port[i + 1]) :
				    floor_dial(back_port);
			floor_node(o->threads, o->node_bytes, in, out);
		}
	}
	for (i = 0; i < FLOOR_NODES; i++)
		to[i] = push && i > 0 ? -1 : floor_dial(port[i]);
	if (push)
		back = floor_accept(back_lis);
	memset(frame, 0, sizeof(frame));
	/* a first token, not counted: pages in, threads up */
	for (t = -1; t < o->tokens; t++) {
		if (t == 0) {
			passes = 0;
			t0 = clock_now();
		}
		memset(frame, 0, sizeof(double));
		for (i = 0; i < FLOOR_NODES; i++) {
			if (push && i > 0)
				break;
			floor_write(to[i], frame, sizeof(frame));
			if (!push && floor_read(to[i], frame,
			    sizeof(frame)) != 0) {
				fprintf(stderr, "hop-floor: node %d went\n", i);
				exit(1);
			}
		}
		if (push && floor_read(back, frame, sizeof(frame)) != 0) {
			fprintf(stderr, "hop-floor: the chain broke\n");
			exit(1);
		}
		floor_add_seconds(frame, floor_pass(pool, head));
		if (t >= 0) {
			double s;

			memcpy(&s, frame, sizeof(s));
			passes += s;
		}
	}
	wall = clock_now() - t0;
	for (i = 0; i < FLOOR_NODES; i++)
		if (to[i] >= 0)
			close(to[i]);
	if (back >= 0)
		close(back);
	for (i = 0; i < FLOOR_NODES; i++) {
		close(lis[i]);
		kill(pid[i], SIGTERM);
		waitpid(pid[i], NULL, 0);
	}
	close(back_lis);
	printf("  %s: %.3f ms a token, %.3f of it in the passes\n",
	    push ? "push   " : "no-push", 1e3 * wall / o->tokens,
	    1e3 * passes / o->tokens);
	fflush(stdout);
	return 1e3 * (wall - passes) / o->tokens / FLOOR_NODES;
}

static int
floor_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
floor_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), floor_cmp);
	return v[(n - 1) / 2];
}

static int
floor_num(const char *opt, const char *s, int min, int max)
{
	const char *errstr;
	int v = (int)parse_uint(s, (uint64_t)min, (uint64_t)max, &errstr);

	if (errstr != NULL) {
		fprintf(stderr, "hop-floor: %s '%s': %s\n", opt, s, errstr);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct floor_opts o = { 2, 64, 3, (size_t)200 << 20,
	    (size_t)52 << 20 };
	double nopush[FLOOR_ROUNDS_MAX], push[FLOOR_ROUNDS_MAX];
	struct floor_pass head;
	struct pool *pool;
	int ch, r;

	while ((ch = getopt(argc, argv, "t:n:r:s:H:")) != -1) {
		switch (ch) {
		case 't': o.threads = floor_num("-t", optarg, 1, 256); break;
		case 'n': o.tokens = floor_num("-n", optarg, 1, 100000); break;
		case 'r': o.rounds = floor_num("-r", optarg, 1,
		    FLOOR_ROUNDS_MAX); break;
		case 's': o.node_bytes = (size_t)floor_num("-s", optarg, 1,
		    65536) << 20; break;
		case 'H': o.head_bytes = (size_t)floor_num("-H", optarg, 1,
		    65536) << 20; break;
		default:
			fprintf(stderr, "usage: hop-floor [-t threads] "
			    "[-n tokens] [-r rounds] [-s MiB] [-H MiB]\n");
			return 2;
		}
	}
	printf("hop-floor: %d nodes of %zu MiB and a client of %zu MiB, "
	    "%d threads each, %d tokens, %d rounds\n", FLOOR_NODES,
	    o.node_bytes >> 20, o.head_bytes >> 20, o.threads, o.tokens,
	    o.rounds);
	fflush(stdout);
	floor_fill(&head, o.head_bytes);
	pool = pool_new(o.threads);
	for (r = 0; r < o.rounds; r++) {
		/* the order turns round, as in bench-swarm */
		if (r % 2 == 0) {
			nopush[r] = floor_chain(&o, 0, pool, &head);
			push[r] = floor_chain(&o, 1, pool, &head);
		} else {
			push[r] = floor_chain(&o, 1, pool, &head);
			nopush[r] = floor_chain(&o, 0, pool, &head);
		}
	}
	printf("floor per hop (median): no-push %.3f ms, push %.3f ms\n",
	    floor_median(nopush, o.rounds), floor_median(push, o.rounds));
	pool_free(pool);
	return 0;
}
