/*
 * Thread pool. Each job gets a new generation number; tasks are claimed with
 * a compare-and-swap on one 64-bit word holding (generation, next index), so
 * a worker that wakes late with a stale view of an old job can never run a
 * task of the next one. Between jobs a worker spins for a short while (jobs
 * arrive microseconds apart during decode) before it sleeps, unless told
 * that no job is coming soon (pool_idle), and woken ahead of one when told
 * that it comes in a moment (pool_wake). The caller, its share done, spins
 * for the others' last tasks only as long as a task takes; past that a
 * worker is off its core (another process took it) and the caller sleeps
 * until the worker is done, so that its core can run the worker instead of
 * a spin.
 *
 * A worker woken from its sleep may land on the caller's core (the other
 * one busy with another process a moment): there, spinning for the next
 * job or running ahead, it takes the core from the caller that has the
 * work to give out, until the scheduler's slice ends. On a two-core
 * machine shared by a chain of nodes this cost a node's step 0.3-0.6 ms
 * (the caller's unlock after the wake-up took that long, measured), four
 * times the step of a tiny model. So a worker that finds itself on the
 * caller's core gives it up (sched_yield) when it wakes and while it spins,
 * and the scheduler moves it to a free core.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool.h"
#include "util/xmalloc.h"

#define POOL_SPIN	100000	/* pauses between jobs, about 2.5 ms */
#define POOL_SPIN_DONE	8000	/* pauses at a job's end, about 0.2 ms */

struct pool_worker {
	struct pool	*pool;
	int		 index;
	pthread_t	 thread;
};

struct pool {
	int			 n_threads;
	struct pool_worker	*workers;	/* n_threads - 1 */
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	pthread_cond_t		 finished;	/* a job's last task is done */
	atomic_int		 caller_asleep;	/* on finished */
	atomic_uint		 generation;
	atomic_int		 sleeping;
	atomic_int		 caller_cpu;	/* where the last job's caller ran */
	_Atomic uint64_t	 claim;		/* generation << 32 | next task */
	atomic_int		 done_tasks;
	_Atomic(pool_fn)	 fn;
	_Atomic(void *)		 arg;
	atomic_int		 n_tasks;
	atomic_bool		 stop;
	atomic_uint		 nap;		/* bumped by pool_idle */
	atomic_uint		 wakes;		/* bumped by pool_wake */
};

static void
pool_work(struct pool *p, unsigned gen, int thread)
{
	uint64_t c;
	pool_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
	void *arg = atomic_load_explicit(&p->arg, memory_order_relaxed);
	int n = atomic_load_explicit(&p->n_tasks, memory_order_relaxed);
	int done = 0;

	c = atomic_load_explicit(&p->claim, memory_order_acquire);
	for (;;) {
		if ((uint32_t)(c >> 32) != gen || (int)(uint32_t)c >= n)
			break;
		if (!atomic_compare_exchange_weak_explicit(&p->claim, &c, c + 1,
		    memory_order_acq_rel, memory_order_acquire))
			continue;
		fn(arg, (int)(uint32_t)c, thread);
		done++;
		c = atomic_load_explicit(&p->claim, memory_order_acquire);
	}
	/* seq_cst, against pool_run's store of caller_asleep: either it sees
	 * the count or this sees it asleep. */
	if (done > 0 && atomic_fetch_add(&p->done_tasks, done) + done == n &&
	    atomic_load(&p->caller_asleep)) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_signal(&p->finished);
		pthread_mutex_unlock(&p->lock);
	}
}

static void *
pool_main(void *varg)
{
	struct pool_worker *w = varg;
	struct pool *p = w->pool;
	unsigned seen = 0, gen = 0, nap_seen = 0, nap, wakes;
	long spins;

	for (;;) {
		for (spins = 0; spins < POOL_SPIN; spins++) {
			gen = atomic_load_explicit(&p->generation,
			    memory_order_acquire);
			if (gen != seen || atomic_load_explicit(&p->stop,
			    memory_order_relaxed))
				break;
			nap = atomic_load_explicit(&p->nap,
			    memory_order_relaxed);
			if (nap != nap_seen) {
				/* No job soon: sleep now. */
				nap_seen = nap;
				spins = POOL_SPIN;
				break;
			}
			__builtin_ia32_pause();
			if ((spins & 127) == 127 && sched_getcpu() ==
			    atomic_load_explicit(&p->caller_cpu,
			    memory_order_relaxed))
				sched_yield();
		}
		if (spins == POOL_SPIN) {
			pthread_mutex_lock(&p->lock);
			atomic_fetch_add(&p->sleeping, 1);
			/*
			 * The naps asked for so far are this sleep: one asked
			 * while asleep stays pending (it may follow the job
			 * that wakes this worker), one asked before does not
			 * put a pool_wake's spin back to sleep.
			 */
			nap_seen = atomic_load(&p->nap);
			wakes = atomic_load(&p->wakes);
			while ((gen = atomic_load(&p->generation)) == seen &&
			    !atomic_load(&p->stop) &&
			    atomic_load(&p->wakes) == wakes)
				pthread_cond_wait(&p->wake, &p->lock);
			atomic_fetch_sub(&p->sleeping, 1);
			pthread_mutex_unlock(&p->lock);
			if (sched_getcpu() == atomic_load_explicit(
			    &p->caller_cpu, memory_order_relaxed))
				sched_yield();
		}
		if (atomic_load(&p->stop))
			return NULL;
		if (gen == seen)
			continue;	/* woken ahead of a job: spin for it */
		seen = gen;
		pool_work(p, gen, w->index);
	}
}

struct pool *
pool_new(int n_threads)
{
	struct pool *p;
	int i;

	if (n_threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		n_threads = n > 0 ? (int)n : 1;
	}
	if (n_threads > 256)
		n_threads = 256;
	p = xcalloc(1, sizeof(*p));
	p->n_threads = n_threads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->finished, NULL);
	p->workers = xcalloc(n_threads, sizeof(*p->workers));
	for (i = 0; i < n_threads - 1; i++) {
		p->workers[i].pool = p;
		p->workers[i].index = i + 1;
		if (pthread_create(&p->workers[i].thread, NULL, pool_main,
		    &p->workers[i]) != 0) {
			/* Run with the threads that could be started. */
			p->n_threads = i + 1;
			break;
		}
	}
	return p;
}

void
pool_free(struct pool *p)
{
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->stop, 1);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->n_threads - 1; i++)
		pthread_join(p->workers[i].thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->finished);
	free(p->workers);
	free(p);
}

void
pool_idle(struct pool *p)
{
	atomic_fetch_add_explicit(&p->nap, 1, memory_order_relaxed);
}

void
pool_wake(struct pool *p)
{
	if (atomic_load(&p->sleeping) == 0)
		return;
	pthread_mutex_lock(&p->lock);
	atomic_fetch_add(&p->wakes, 1);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

int
pool_size(const struct pool *p)
{
	return p->n_threads;
}

void
pool_run(struct pool *p, pool_fn fn, void *arg, int n_tasks)
{
	unsigned gen;
	int i, spins;

	if (n_tasks <= 0)
		return;
	if (p->n_threads == 1 || n_tasks == 1) {
		for (i = 0; i < n_tasks; i++)
			fn(arg, i, 0);
		return;
	}
	gen = atomic_load_explicit(&p->generation, memory_order_relaxed) + 1;
	/* The claim word moves to the new generation first, so a worker
	 * still holding the old one cannot claim any task from here on. */
	atomic_store_explicit(&p->claim, (uint64_t)gen << 32,
	    memory_order_release);
	atomic_store_explicit(&p->caller_cpu, sched_getcpu(),
	    memory_order_relaxed);
	atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
	atomic_store_explicit(&p->arg, arg, memory_order_relaxed);
	atomic_store_explicit(&p->n_tasks, n_tasks, memory_order_relaxed);
	atomic_store_explicit(&p->done_tasks, 0, memory_order_relaxed);
	/* seq_cst: the store must be visible before `sleeping` is read, or a
	 * worker going to sleep right now could miss this job's wake-up. */
	atomic_store(&p->generation, gen);
	if (atomic_load(&p->sleeping) > 0) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->lock);
	}
	pool_work(p, gen, 0);
	for (spins = 0; atomic_load_explicit(&p->done_tasks,
	    memory_order_acquire) < n_tasks; spins++) {
		if (spins < POOL_SPIN_DONE) {
			__builtin_ia32_pause();
			continue;
		}
		pthread_mutex_lock(&p->lock);
		atomic_store(&p->caller_asleep, 1);
		while (atomic_load(&p->done_tasks) < n_tasks)
			pthread_cond_wait(&p->finished, &p->lock);
		atomic_store(&p->caller_asleep, 0);
		pthread_mutex_unlock(&p->lock);
	}
}
