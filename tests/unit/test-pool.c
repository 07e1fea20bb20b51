/*
 * Tests for the thread pool: every task runs exactly once per job, across
 * many back-to-back jobs of varying size (the decode pattern), with thread
 * indices in range.
 */
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "test.h"
#include "core/pool.h"

struct count_job {
	atomic_int	*hits;
	int		 n_threads;
	atomic_int	 bad_thread;
};

static void
count_task(void *arg, int task, int thread)
{
	struct count_job *j = arg;

	atomic_fetch_add(&j->hits[task], 1);
	if (thread < 0 || thread >= j->n_threads)
		atomic_store(&j->bad_thread, 1);
}

static void
test_pool_every_task_once(void)
{
	static atomic_int hits[1000];
	struct count_job job;
	struct pool *p = pool_new(4);
	int round, i, n;

	CHECK(pool_size(p) == 4);
	job.hits = hits;
	job.n_threads = 4;
	atomic_init(&job.bad_thread, 0);
	for (round = 0; round < 3000; round++) {
		n = 1 + (round * 7919) % 1000;
		for (i = 0; i < n; i++)
			atomic_store(&hits[i], 0);
		pool_run(p, count_task, &job, n);
		for (i = 0; i < n; i++)
			CHECKF(atomic_load(&hits[i]) == 1, "round %d task %d "
			    "ran %d times", round, i, atomic_load(&hits[i]));
	}
	CHECK(atomic_load(&job.bad_thread) == 0);
	pool_free(p);
}

static void
test_pool_single_thread(void)
{
	static atomic_int hits[10];
	struct count_job job;
	struct pool *p = pool_new(1);
	int i;

	job.hits = hits;
	job.n_threads = 1;
	atomic_init(&job.bad_thread, 0);
	pool_run(p, count_task, &job, 10);
	for (i = 0; i < 10; i++)
		CHECK(atomic_load(&hits[i]) == 1);
	pool_free(p);
}

/* Seconds on a clock: CLOCK_PROCESS_CPUTIME_ID, CLOCK_MONOTONIC... */
static double
test_seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * CPU the process burns while the caller sleeps 100 ms after a job: with
 * the workers told to nap (idle), or napping for a while and then woken
 * ahead of a job that does not come (wake).
 */
static double
test_pool_cpu_after_job(struct pool *p, struct count_job *job, int idle,
    int wake)
{
	struct timespec nap = { 0, 100 * 1000 * 1000 }, settle = { 0,
	    20 * 1000 * 1000 };
	double t0;

	pool_run(p, count_task, job, 100);
	if (idle || wake)
		pool_idle(p);
	if (wake)
		nanosleep(&settle, NULL);	/* the workers asleep */
	t0 = test_seconds(CLOCK_PROCESS_CPUTIME_ID);
	if (wake)
		pool_wake(p);
	nanosleep(&nap, NULL);
	return test_seconds(CLOCK_PROCESS_CPUTIME_ID) - t0;
}

static void
test_pool_idle(void)
{
	static atomic_int hits[100];
	struct count_job job;
	struct pool *p = pool_new(3);
	double spin = 0, idle = 0;
	int round, i;

	job.hits = hits;
	job.n_threads = 3;
	atomic_init(&job.bad_thread, 0);
	/* Jobs still run whole after any number of naps. */
	for (round = 0; round < 2000; round++) {
		for (i = 0; i < 100; i++)
			atomic_store(&hits[i], 0);
		pool_run(p, count_task, &job, 1 + round % 100);
		if (round % 3 == 0)
			pool_idle(p);
		for (i = 0; i < 1 + round % 100; i++)
			CHECK(atomic_load(&hits[i]) == 1);
	}
	for (round = 0; round < 3; round++) {
		spin += test_pool_cpu_after_job(p, &job, 0, 0);
		idle += test_pool_cpu_after_job(p, &job, 1, 0);
	}
	fprintf(stderr, "  cpu after a job: %.2f ms spinning, %.2f ms after "
	    "pool_idle\n", spin / 3 * 1e3, idle / 3 * 1e3);
	CHECK(idle < spin);
	pool_free(p);
}

/*
 * pool_wake: sleeping workers spin for a coming job, then sleep again;
 * jobs run whole whatever the order of wakes, naps and jobs.
 */
static void
test_pool_wake(void)
{
	static atomic_int hits[100];
	struct count_job job;
	struct pool *p = pool_new(2);
	double woken = 0, asleep = 0;
	int round, i;

	job.hits = hits;
	job.n_threads = 2;
	atomic_init(&job.bad_thread, 0);
	for (round = 0; round < 2000; round++) {
		if (round % 5 == 1)
			pool_wake(p);
		for (i = 0; i < 100; i++)
			atomic_store(&hits[i], 0);
		pool_run(p, count_task, &job, 1 + round % 100);
		if (round % 3 == 0)
			pool_idle(p);
		if (round % 7 == 0)
			pool_wake(p);
		for (i = 0; i < 1 + round % 100; i++)
			CHECK(atomic_load(&hits[i]) == 1);
	}
	for (round = 0; round < 3; round++) {
		woken += test_pool_cpu_after_job(p, &job, 1, 1);
		asleep += test_pool_cpu_after_job(p, &job, 1, 0);
	}
	fprintf(stderr, "  cpu in 100 ms after a nap: %.2f ms woken ahead, "
	    "%.2f ms not\n", woken / 3 * 1e3, asleep / 3 * 1e3);
	/* Woken, a worker spins a while (not for ever); else it sleeps. */
	CHECK(woken > asleep + 0.0005);
	CHECK(woken < 0.05);
	CHECK(atomic_load(&job.bad_thread) == 0);
	pool_free(p);
}

/* A worker's task that the caller must wait for: 50 ms asleep. */
struct slow_job {
	atomic_int	 started;	/* a worker took a task */
	atomic_int	 done;
};

static void
slow_task(void *arg, int task, int thread)
{
	struct slow_job *j = arg;
	struct timespec nap = { 0, 50 * 1000 * 1000 }, tick = { 0, 100000 };
	int i;

	if (thread == 0) {
		/* the caller's task: hold on until a worker has one */
		for (i = 0; i < 20000 && !atomic_load(&j->started); i++)
			nanosleep(&tick, NULL);
		atomic_fetch_add(&j->done, 1);
		return;
	}
	atomic_store(&j->started, 1);
	nanosleep(&nap, NULL);
	atomic_fetch_add(&j->done, 1);
}

/*
 * A worker that keeps its last task long (off its core, in real life): the
 * caller sleeps for it instead of spinning the whole time, and still
 * returns only when every task is done.
 */
static void
test_pool_caller_sleeps(void)
{
	struct slow_job j;
	struct pool *p = pool_new(2);
	double t0, cpu = 0;
	int round;

	for (round = 0; round < 3; round++) {
		atomic_init(&j.started, 0);
		atomic_init(&j.done, 0);
		t0 = test_seconds(CLOCK_THREAD_CPUTIME_ID);
		pool_run(p, slow_task, &j, 2);
		cpu += test_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
		CHECK(atomic_load(&j.done) == 2);
	}
	fprintf(stderr, "  caller's cpu while a worker held a 50 ms task: "
	    "%.2f ms\n", cpu / 3 * 1e3);
	/* spinning would be about 50 ms of it */
	CHECK(cpu / 3 < 0.015);
	pool_free(p);
}

/*
 * One core for the caller and its worker (the other cores busy, in real
 * life: a chain of nodes on two cores): the worker, woken onto the
 * caller's core, must not hold it spinning for the next job while the
 * caller, who has the jobs to give out, waits for the scheduler's slice.
 * Twenty small jobs after each nap take microseconds; held, milliseconds.
 */
static void
test_pool_shared_core(void)
{
	static atomic_int hits[4];
	struct timespec nap = { 0, 2 * 1000 * 1000 };
	struct count_job job;
	cpu_set_t one, all;
	struct pool *p;
	double t0, took = 0;
	int round, k, cpu = sched_getcpu();

	CHECK(cpu >= 0 && sched_getaffinity(0, sizeof(all), &all) == 0);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
	p = pool_new(2);	/* its worker inherits the one core */
	job.hits = hits;
	job.n_threads = 2;
	atomic_init(&job.bad_thread, 0);
	for (round = 0; round < 50; round++) {
		pool_idle(p);
		nanosleep(&nap, NULL);	/* the worker sleeps */
		t0 = test_seconds(CLOCK_MONOTONIC);
		for (k = 0; k < 20; k++)
			pool_run(p, count_task, &job, 4);
		took += test_seconds(CLOCK_MONOTONIC) - t0;
	}
	pool_free(p);
	sched_setaffinity(0, sizeof(all), &all);
	fprintf(stderr, "  twenty jobs after a nap, worker and caller on one "
	    "core: %.3f ms\n", took / 50 * 1e3);
	CHECK(took / 50 < 0.15e-3);
}

int
main(void)
{
	TEST_RUN(test_pool_every_task_once);
	TEST_RUN(test_pool_single_thread);
	TEST_RUN(test_pool_idle);
	TEST_RUN(test_pool_wake);
	TEST_RUN(test_pool_caller_sleeps);
	TEST_RUN(test_pool_shared_core);
	TEST_EXIT();
}
