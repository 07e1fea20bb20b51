/*
 * The merit queue: who computes next when steps wait for a node's one
 * compute pool. A step of a creditor (a peer that served this node more
 * than it was served, node_ledger_creditor) goes before the others; ties
 * go in arrival order. Nobody starves: a step that has waited
 * NODE_QUEUE_AGE seconds goes before every step that has not, creditors'
 * included, so a debtor waits at most that long plus the steps that aged
 * before it.
 */
#ifndef SWARM_SWARM_NODE_QUEUE_H
#define SWARM_SWARM_NODE_QUEUE_H

#include <pthread.h>
#include <stdint.h>

#define NODE_QUEUE_AGE	2.0	/* seconds */

struct node_queue_waiter;

struct node_queue {
	pthread_mutex_t			 mu;
	pthread_cond_t			 cond;
	int				 busy;
	uint64_t			 next_ticket;
	struct node_queue_waiter	*waiters;
};

void	node_queue_init(struct node_queue *);
void	node_queue_release(struct node_queue *);
/* Waits for the compute; returns holding it. */
void	node_queue_enter(struct node_queue *, int creditor);
void	node_queue_leave(struct node_queue *);

#endif
