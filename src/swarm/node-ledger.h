/*
 * A node's accounting: it checks the receipts clients send with their
 * steps against what it computed for them, counts and logs the ones it
 * rejects (forged, inflated, replayed, malformed), stores the good ones in
 * its ledger (src/ledger/), and keeps every client's balance for the
 * policy: a client past node.free_units and node.credit_limit is refused
 * ("payment required"), and one that served this node more than it was
 * served is a creditor, whose steps go first when the node is busy
 * (src/swarm/node-queue.c).
 */
#ifndef SWARM_SWARM_NODE_LEDGER_H
#define SWARM_SWARM_NODE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/receipt.h"

struct json_t;

struct node_ledger_config {
	const char	*path;		/* the ledger file; NULL: none kept */
	uint8_t		 node_key[RECEIPT_KEY_LEN];
	uint64_t	 price;		/* micro-credits per 1000 units */
	double		 credit_limit;	/* credits a client may owe */
	uint64_t	 free_units;	/* served to anyone before it counts */
	void		(*log)(void *arg, const char *msg);
	void		*log_arg;
};

/* One session's side of the account. */
struct node_ledger_account {
	struct receipt	 last;		/* the terms; the last accepted numbers */
	int		 has_key;	/* an unsigned session cannot pay */
	char		 client[RECEIPT_PEER_ID_LEN + 1];	/* "": unsigned */
	uint64_t	 tokens;	/* computed for it so far */
};

enum node_receipt_verdict {
	NODE_RECEIPT_OK,
	NODE_RECEIPT_REPEATED,	/* the last one again (a retried request) */
	NODE_RECEIPT_MALFORMED,
	NODE_RECEIPT_FORGED,	/* the session's key did not sign it */
	NODE_RECEIPT_INFLATED,	/* more than was computed */
	NODE_RECEIPT_REPLAYED,	/* an old sequence number */
};

struct node_ledger	*node_ledger_new(const struct node_ledger_config *,
			    char **cause);
void			 node_ledger_free(struct node_ledger *);
uint64_t		 node_ledger_price(const struct node_ledger *);

/* The default price: one credit per 1000 tokens through a block of a
 * billion parameters, so a 70B model's block costs more than a 1B's. */
uint64_t		 node_ledger_default_price(uint64_t block_params);

void	node_ledger_account_init(struct node_ledger_account *,
	    const char *session, const uint8_t *client_key,
	    const uint8_t node_key[RECEIPT_KEY_LEN], const char *model_id,
	    uint32_t block_begin, uint32_t block_end, uint64_t price);
/* The check alone: r has the account's terms and the sent numbers. */
enum node_receipt_verdict node_ledger_check(const struct node_ledger_account *,
	    const struct receipt *r);
/*
 * A receipt header for a session: checked, counted, and when good kept
 * as the account's last and queued for the ledger. -1 with *cause (the
 * step is to be refused with 402) when rejected; a repeat is 0.
 */
int	node_ledger_receipt(struct node_ledger *, struct node_ledger_account *,
	    const char *header, char **cause);
/* n tokens were computed for the session (its client's balance grows). */
void	node_ledger_computed(struct node_ledger *, struct node_ledger_account *,
	    uint32_t n_tokens);
/* 0 when the client may be served; -1 with "payment required: ...". */
int	node_ledger_admit(struct node_ledger *, const char *client,
	    char **cause);
/* Has the client served this node more than it was served? */
int	node_ledger_creditor(struct node_ledger *, const char *client);
/* The counters for the node's /info. */
struct json_t	*node_ledger_json(struct node_ledger *);

#endif
