/*
 * The ledger: an SQLite file (WAL mode) of the receipts a node earned, the
 * receipts a client signed, and what each API key of a gateway used.
 *
 * Writes never wait on the disk: ledger_add_* queue the row and a writer
 * thread commits the queue in one transaction every LEDGER_FLUSH_MS (or
 * sooner when LEDGER_BATCH_MAX rows wait). A process killed at any moment
 * keeps every committed batch; at most the last one is lost.
 *
 * The commands read a ledger file by path: ledger_show (balances per peer
 * and per API key), ledger_list (the receipts), ledger_verify (every
 * signature and sequence again, naming the rows that fail) and
 * ledger_export (JSON lines anyone with the keys can check).
 */
#ifndef SWARM_LEDGER_LEDGER_H
#define SWARM_LEDGER_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/receipt.h"

#define LEDGER_FLUSH_MS		100
#define LEDGER_BATCH_MAX	256
#define LEDGER_FILE		"ledger.db"

struct json_t;
struct strbuf;
struct ledger;

enum ledger_role {
	LEDGER_EARNED,	/* this side is the node */
	LEDGER_SIGNED,	/* this side is the client */
};

/* What a gateway's API key used in one request. */
struct ledger_usage {
	char		 key_id[17];	/* hex of the key's hash, not the key */
	char		 model[RECEIPT_MODEL_MAX];
	uint64_t	 tokens_in;
	uint64_t	 tokens_out;
	uint64_t	 units;
	uint64_t	 amount;	/* micro-credits */
	int64_t		 time;
};

/* All time, per peer: what this side served it and used of it. */
struct ledger_balance {
	char		 peer[RECEIPT_PEER_ID_LEN + 1];
	uint64_t	 served_units;
	uint64_t	 served_amount;
	uint64_t	 used_units;
	uint64_t	 used_amount;
};

struct ledger	*ledger_open(const char *path, char **cause);
/* Commits what is queued, stops the writer, closes. */
void		 ledger_close(struct ledger *);
void		 ledger_add_receipt(struct ledger *, enum ledger_role,
		    const struct receipt *);
void		 ledger_add_usage(struct ledger *, const struct ledger_usage *);
/* Commits the queue now (tests, shutdown). */
int		 ledger_flush(struct ledger *, char **cause);
int		 ledger_balances(struct ledger *, struct ledger_balance **,
		    size_t *n, char **cause);
/* The key id of an API key: hex of the first 8 bytes of its hash. */
void		 ledger_key_id(const char *key, char out[17]);

struct ledger_filter {
	const char	*peer;		/* a peer id or its prefix; NULL: all */
	const char	*model;		/* NULL: all */
	int64_t		 since;		/* unix seconds; 0: all */
};

int	ledger_show(const char *path, const struct ledger_filter *,
	    struct json_t **out, char **cause);
int	ledger_list(const char *path, const struct ledger_filter *,
	    struct json_t **out, char **cause);
/* *out: {"rows":N,"receipts":N,"bad":[{"row":ID,"problem":"..."}]}. */
int	ledger_verify(const char *path, struct json_t **out, char **cause);
/* One receipt a line, as receipt_to_json writes it, plus "role". */
int	ledger_export(const char *path, const struct ledger_filter *,
	    struct strbuf *out, char **cause);

/* Text for the terminal (src/ledger/ledger-format.c). */
void	ledger_show_text(const struct json_t *, struct strbuf *);
void	ledger_list_text(const struct json_t *, struct strbuf *);
void	ledger_verify_text(const struct json_t *, struct strbuf *);
/* "1700000000", "2026-12-03", or a duration ago ("2h", "30m", "7d"). */
int	ledger_parse_when(const char *, int64_t now, int64_t *out,
	    char **cause);

#endif
