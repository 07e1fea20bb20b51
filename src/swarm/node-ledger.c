/*
 * The node's accounting (node-ledger.h). Balances are kept in memory per
 * client peer id, started from the ledger file: what this node served a
 * client counts from its computation (a client that sends no receipts owes
 * all the same), what the client served this node from the receipts this
 * machine signed as a client of it.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "swarm/node-ledger.h"
#include "util/logcb.h"
#include "util/xmalloc.h"

struct node_ledger_peer {
	char		 id[RECEIPT_PEER_ID_LEN + 1];
	uint64_t	 served_units;	/* by this node, to the peer */
	uint64_t	 used_amount;	/* of the peer, by this machine */
};

struct node_ledger {
	struct node_ledger_config	 cfg;
	struct ledger			*ledger;
	pthread_mutex_t			 mu;
	struct node_ledger_peer		*peers;
	size_t				 n_peers;
	uint64_t			 accepted;
	uint64_t			 rejected[NODE_RECEIPT_REPLAYED + 1];
	uint64_t			 refusals;	/* payment required */
};

static const char *const node_ledger_verdicts[] = {
	"ok", "repeated", "malformed", "forged", "inflated", "replayed",
};

static void
node_ledger_log(struct node_ledger *nl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
node_ledger_log(struct node_ledger *nl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logcb_vprintf(nl->cfg.log, nl->cfg.log_arg, fmt, ap);
	va_end(ap);
}

uint64_t
node_ledger_default_price(uint64_t block_params)
{
	/* 1e6 micro-credits per 1e9 parameters, per 1000 units */
	return block_params / 1000 > 0 ? block_params / 1000 : 1;
}

/* Called with mu held. */
static struct node_ledger_peer *
node_ledger_peer(struct node_ledger *nl, const char *id)
{
	size_t i;

	for (i = 0; i < nl->n_peers; i++)
		if (strcmp(nl->peers[i].id, id) == 0)
			return &nl->peers[i];
	nl->peers = xreallocarray(nl->peers, nl->n_peers + 1,
	    sizeof(*nl->peers));
	memset(&nl->peers[nl->n_peers], 0, sizeof(*nl->peers));
	snprintf(nl->peers[nl->n_peers].id, sizeof(nl->peers->id), "%s", id);
	return &nl->peers[nl->n_peers++];
}

struct node_ledger *
node_ledger_new(const struct node_ledger_config *cfg, char **cause)
{
	struct node_ledger *nl = xcalloc(1, sizeof(*nl));
	struct ledger_balance *b = NULL;
	struct node_ledger_peer *p;
	size_t n = 0, i;

	nl->cfg = *cfg;
	nl->cfg.path = NULL;
	pthread_mutex_init(&nl->mu, NULL);
	if (cfg->path == NULL)
		return nl;
	if ((nl->ledger = ledger_open(cfg->path, cause)) == NULL ||
	    ledger_balances(nl->ledger, &b, &n, cause) != 0) {
		node_ledger_free(nl);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		p = node_ledger_peer(nl, b[i].peer);
		p->served_units = b[i].served_units;
		p->used_amount = b[i].used_amount;
	}
	free(b);
	return nl;
}

void
node_ledger_free(struct node_ledger *nl)
{
	if (nl == NULL)
		return;
	ledger_close(nl->ledger);
	pthread_mutex_destroy(&nl->mu);
	free(nl->peers);
	free(nl);
}

uint64_t
node_ledger_price(const struct node_ledger *nl)
{
	return nl->cfg.price;
}

void
node_ledger_account_init(struct node_ledger_account *a, const char *session,
    const uint8_t *client_key, const uint8_t node_key[RECEIPT_KEY_LEN],
    const char *model_id, uint32_t block_begin, uint32_t block_end,
    uint64_t price)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->last.session, sizeof(a->last.session), "%s", session);
	if (client_key != NULL) {
		memcpy(a->last.client_key, client_key, RECEIPT_KEY_LEN);
		receipt_peer_id(client_key, a->client);
		a->has_key = 1;
	}
	memcpy(a->last.node_key, node_key, RECEIPT_KEY_LEN);
	snprintf(a->last.model_id, sizeof(a->last.model_id), "%s", model_id);
	a->last.block_begin = block_begin;
	a->last.block_end = block_end;
	a->last.price = price;
}

enum node_receipt_verdict
node_ledger_check(const struct node_ledger_account *a, const struct receipt *r)
{
	uint64_t blocks = a->last.block_end - a->last.block_begin;

	if (r->seq == a->last.seq && a->last.seq > 0 &&
	    r->units == a->last.units && memcmp(r->sig, a->last.sig,
	    sizeof(r->sig)) == 0)
		return NODE_RECEIPT_REPEATED;
	if (receipt_verify(r) != 0)
		return NODE_RECEIPT_FORGED;
	if (r->seq <= a->last.seq)
		return NODE_RECEIPT_REPLAYED;
	if (r->units > a->tokens * blocks || r->tokens > a->tokens)
		return NODE_RECEIPT_INFLATED;
	if (r->units != r->tokens * blocks || r->units < a->last.units ||
	    r->amount != receipt_amount(r->units, r->price))
		return NODE_RECEIPT_MALFORMED;
	return NODE_RECEIPT_OK;
}

int
node_ledger_receipt(struct node_ledger *nl, struct node_ledger_account *a,
    const char *header, char **cause)
{
	enum node_receipt_verdict v;
	struct receipt r = a->last;
	char *err = NULL;

	if (!a->has_key)
		v = NODE_RECEIPT_MALFORMED;
	else if (receipt_wire_decode(header, &r, &err) != 0)
		v = NODE_RECEIPT_MALFORMED;
	else
		v = node_ledger_check(a, &r);
	pthread_mutex_lock(&nl->mu);
	if (v == NODE_RECEIPT_OK)
		nl->accepted++;
	else if (v != NODE_RECEIPT_REPEATED)
		nl->rejected[v]++;
	pthread_mutex_unlock(&nl->mu);
	if (v == NODE_RECEIPT_REPEATED)
		return 0;
	if (v != NODE_RECEIPT_OK) {
		node_ledger_log(nl, "receipt rejected (%s) from %.16s, session "
		    "%s: seq %llu, %llu units; computed %llu units%s%s",
		    node_ledger_verdicts[v], a->has_key ? a->client :
		    "an unsigned client", a->last.session,
		    (unsigned long long)r.seq, (unsigned long long)r.units,
		    (unsigned long long)(a->tokens * (a->last.block_end -
		    a->last.block_begin)), err != NULL ? ": " : "",
		    err != NULL ? err : "");
		set_cause(cause, "receipt rejected: %s",
		    node_ledger_verdicts[v]);
		free(err);
		return -1;
	}
	a->last = r;
	if (nl->ledger != NULL)
		ledger_add_receipt(nl->ledger, LEDGER_EARNED, &r);
	return 0;
}

void
node_ledger_computed(struct node_ledger *nl, struct node_ledger_account *a,
    uint32_t n_tokens)
{
	a->tokens += n_tokens;
	pthread_mutex_lock(&nl->mu);
	node_ledger_peer(nl, a->client)->served_units += (uint64_t)n_tokens *
	    (a->last.block_end - a->last.block_begin);
	pthread_mutex_unlock(&nl->mu);
}

int
node_ledger_admit(struct node_ledger *nl, const char *client, char **cause)
{
	struct node_ledger_peer *p;
	double owed;
	int rc = 0;

	pthread_mutex_lock(&nl->mu);
	p = node_ledger_peer(nl, client);
	if (p->served_units > nl->cfg.free_units) {
		/* credits: units past the free ones at this node's price,
		 * less what the peer served this machine */
		owed = ((double)(p->served_units - nl->cfg.free_units) *
		    (double)nl->cfg.price / 1000 - (double)p->used_amount) / 1e6;
		if (owed > nl->cfg.credit_limit) {
			nl->refusals++;
			rc = set_cause(cause, "payment required: %s owes %.6f "
			    "credits here (%llu units served, %llu free), past "
			    "the credit limit of %g", *client != '\0' ?
			    "this client" : "the unsigned clients", owed,
			    (unsigned long long)p->served_units,
			    (unsigned long long)nl->cfg.free_units,
			    nl->cfg.credit_limit);
		}
	}
	pthread_mutex_unlock(&nl->mu);
	return rc;
}

int
node_ledger_creditor(struct node_ledger *nl, const char *client)
{
	struct node_ledger_peer *p;
	int yes;

	if (*client == '\0')
		return 0;
	pthread_mutex_lock(&nl->mu);
	p = node_ledger_peer(nl, client);
	yes = (double)p->used_amount > (double)p->served_units *
	    (double)nl->cfg.price / 1000;
	pthread_mutex_unlock(&nl->mu);
	return yes;
}

json_t *
node_ledger_json(struct node_ledger *nl)
{
	json_t *o;

	pthread_mutex_lock(&nl->mu);
	o = json_pack("{s:f,s:b,s:I,s:{s:I,s:I,s:I,s:I},s:I}",
	    "price", (double)nl->cfg.price / 1e6, "kept", nl->ledger != NULL,
	    "receipts_accepted", (json_int_t)nl->accepted,
	    "receipts_rejected",
	    "forged", (json_int_t)nl->rejected[NODE_RECEIPT_FORGED],
	    "inflated", (json_int_t)nl->rejected[NODE_RECEIPT_INFLATED],
	    "replayed", (json_int_t)nl->rejected[NODE_RECEIPT_REPLAYED],
	    "malformed", (json_int_t)nl->rejected[NODE_RECEIPT_MALFORMED],
	    "payment_refusals", (json_int_t)nl->refusals);
	pthread_mutex_unlock(&nl->mu);
	return o;
}
