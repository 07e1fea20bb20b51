/*
 * The merit queue (node-queue.h): a list of waiting steps under one mutex;
 * whoever leaves wakes everyone, and the best waiter takes the compute.
 * Waiters are few (at most the node's sessions), so a scan is enough.
 */
#include <stdlib.h>
#include <string.h>

#include "swarm/node-queue.h"
#include "util/clock.h"
#include "util/xmalloc.h"

struct node_queue_waiter {
	uint64_t			 ticket;	/* arrival order */
	double				 since;
	int				 creditor;
	struct node_queue_waiter	*next;
};

void
node_queue_init(struct node_queue *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cond, NULL);
}

void
node_queue_release(struct node_queue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cond);
}

/* Does a go before b? Aged first, then creditors, then arrival. */
static int
node_queue_before(const struct node_queue_waiter *a,
    const struct node_queue_waiter *b, double now)
{
	int aged_a = now - a->since >= NODE_QUEUE_AGE;
	int aged_b = now - b->since >= NODE_QUEUE_AGE;

	if (aged_a != aged_b)
		return aged_a;
	if (!aged_a && a->creditor != b->creditor)
		return a->creditor;
	return a->ticket < b->ticket;
}

/* Called with mu held. */
static const struct node_queue_waiter *
node_queue_best(const struct node_queue *q)
{
	const struct node_queue_waiter *w, *best = q->waiters;
	double now = clock_now();

	for (w = q->waiters; w != NULL; w = w->next)
		if (node_queue_before(w, best, now))
			best = w;
	return best;
}

void
node_queue_enter(struct node_queue *q, int creditor)
{
	struct node_queue_waiter *self = xmalloc(sizeof(*self)), **pp;
	struct timespec ts;

	pthread_mutex_lock(&q->mu);
	self->ticket = q->next_ticket++;
	self->since = clock_now();
	self->creditor = creditor;
	self->next = q->waiters;
	q->waiters = self;
	while (q->busy || node_queue_best(q) != self) {
		/* Ageing changes the order with no one leaving: look again. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000 * 1000 * 1000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&q->cond, &q->mu, &ts);
	}
	for (pp = &q->waiters; *pp != self; pp = &(*pp)->next)
		;
	*pp = self->next;
	q->busy = 1;
	pthread_mutex_unlock(&q->mu);
	free(self);
}

void
node_queue_leave(struct node_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->busy = 0;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mu);
}
