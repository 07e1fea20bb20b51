/*
 * A fixed thread pool for the forward pass. Threads are created once (never
 * per token); a job is a function run over task indices [0, n_tasks), handed
 * out dynamically, with the calling thread taking part. Workers spin briefly
 * between jobs, since a decode step issues hundreds of small jobs, then sleep.
 */
#ifndef SWARM_CORE_POOL_H
#define SWARM_CORE_POOL_H

struct pool;

/* fn(arg, task, thread): thread is in [0, pool_size()) and may index
 * per-thread scratch space. */
typedef void (*pool_fn)(void *arg, int task, int thread);

/* n_threads <= 0: the number of online CPUs. */
struct pool	*pool_new(int n_threads);
void		 pool_free(struct pool *);
int		 pool_size(const struct pool *);
/* Runs fn over every task and returns when all are done. Not reentrant. */
void		 pool_run(struct pool *, pool_fn fn, void *arg, int n_tasks);
/*
 * Says no job is coming soon (a swarm node between steps, a client waiting
 * on the network): spinning workers go to sleep at once instead of holding
 * a core that another process on the machine needs.
 */
void		 pool_idle(struct pool *);
/*
 * Says a job comes in a moment (a node's step has arrived and is being
 * read): sleeping workers wake now and spin for it, so that their wake-up
 * overlaps the caller's preparations instead of the job's first tasks.
 * Workers that see no job spin for a while, then sleep again.
 */
void		 pool_wake(struct pool *);

#endif
