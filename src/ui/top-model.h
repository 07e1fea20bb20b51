/*
 * The data behind `swarm top`, apart from any terminal: each round of
 * answers (engine/watch.h) is folded into one row per peer, the coverage
 * of every model (how many reachable peers serve each block), the swarm's
 * tokens per second over the last minute, and the view: the selected
 * model's peers, filtered by text and sorted by a column.
 *
 * The columns are a table (top_columns[]): a column is a name, a width, a
 * formatter and a comparison, so a new figure (the ledger's price and
 * balance, when it exists) is one field of struct top_peer and one row.
 */
#ifndef SWARM_UI_TOP_MODEL_H
#define SWARM_UI_TOP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/watch.h"
#include "swarm/record.h"

#define TOP_HISTORY	60	/* seconds of rates kept */
#define TOP_SESSIONS	8	/* sessions of a peer kept for its detail */
#define TOP_FILTER_MAX	64
#define TOP_ERROR_MAX	160

enum top_state {
	TOP_STATE_ONLINE,
	TOP_STATE_BUSY,		/* online, every session taken or steps queued */
	TOP_STATE_JOINING,
	TOP_STATE_DRAINING,
	TOP_STATE_GONE,
	TOP_STATE_UNREACHABLE,
};

/* A value per second over the last TOP_HISTORY seconds. */
struct top_series {
	double		v[TOP_HISTORY];
	int64_t		sec[TOP_HISTORY];	/* -1: empty */
};

struct top_session {
	uint32_t	block_begin;
	uint32_t	block_end;
	int64_t		length;
};

struct top_peer {
	char			 addr[PEER_ADDR_MAX];
	char			 peer_id[PEER_ID_LEN + 1];
	char			 model_id[MODEL_ID_MAX];
	char			 version[32];
	int			 has_span;
	uint32_t		 block_begin;
	uint32_t		 block_end;
	uint32_t		 n_block;	/* its model's, 0: unknown */
	enum top_state		 state;
	int			 reachable;
	int			 listed;	/* a peer of the swarm */
	int			 local;		/* this machine's node */
	int64_t			 sessions;
	int64_t			 max_sessions;
	int64_t			 queue;
	int64_t			 errors;	/* the node's failed steps */
	int64_t			 tokens;	/* processed since its start */
	double			 tps_10s;
	double			 tps_60s;
	double			 throughput;	/* measured at its start */
	double			 rtt_ms;
	double			 uptime;
	char			 last_error[TOP_ERROR_MAX];	/* the node's */
	char			 poll_error[TOP_ERROR_MAX];	/* asking it */
	struct top_session	 sess[TOP_SESSIONS];
	size_t			 n_sess;
	/* How its steps came and went (a node that says: has_steps). */
	int			 has_steps;
	int64_t			 steps_client;	/* sent by a client */
	int64_t			 steps_peers;	/* pushed by a peer */
	int64_t			 forwarded;	/* its outputs pushed on */
	int64_t			 forward_failed;
	int			 has_channels;
	int64_t			 channels_open;
	int64_t			 channel_steps;	/* came on a channel */
	struct top_series	 rate;		/* its tps_10s, for the detail */
};

struct top_cover {
	char		 model_id[MODEL_ID_MAX];
	uint32_t	 n_block;	/* 0: unknown */
	uint32_t	*replicas;	/* n_block entries */
	size_t		 n_peers;
	int		 complete;
};

/* This machine's `swarm serve`, from its GET /metrics. */
struct top_gateway {
	char		 addr[PEER_ADDR_MAX];
	int		 up;		/* it answered the last round */
	int64_t		 active;	/* generations running */
	uint64_t	 tokens;	/* completion tokens since its start */
	uint64_t	 requests;
	uint64_t	 errors;	/* answered 5xx */
	uint64_t	 rejected;	/* answered 429: at its limit */
	double		 tps;		/* completion tokens per second */
	double		 at;		/* when tokens was read */
};

struct top_column {
	const char	*name;
	int		 width;
	int		 right;		/* right-aligned (numbers) */
	int		 descending;	/* sorted largest first */
	void		(*fmt)(const struct top_peer *, char *, size_t);
	int		(*cmp)(const struct top_peer *, const struct top_peer *);
};

extern const struct top_column top_columns[];
extern const size_t top_n_columns;

struct top {
	char			 network[64];
	struct top_peer		*peers;
	size_t			 n_peers;
	struct top_cover	*models;
	size_t			 n_models;
	size_t			 model_sel;
	size_t			 sort;		/* a column of top_columns */
	char			 filter[TOP_FILTER_MAX];
	size_t			*view;		/* indices into peers, shown */
	size_t			 n_view;
	struct top_series	 swarm_rate;
	struct top_gateway	 gateway;
	double			 tps;		/* the swarm's, now */
	int64_t			 sessions;	/* the swarm's, now */
	size_t			 online;	/* listed peers that answer */
	size_t			 listed;
	uint64_t		 rounds;
	double			 now;		/* of the last round, epoch s */
};

void	top_init(struct top *, const char *network);
void	top_release(struct top *);
/*
 * Folds a round of answers in, at now (seconds since the epoch); the
 * peers' addresses are distinct, as the watch gives them.
 */
void	top_update(struct top *, const struct watch_answer *, size_t n,
	    double now);

/* The view's controls. */
void	top_sort_next(struct top *);
int	top_sort_by(struct top *, const char *name);	/* -1: no such column */
void	top_set_filter(struct top *, const char *);
void	top_model_next(struct top *);
/* The selected model's coverage, or NULL when no model is known. */
const struct top_cover *top_model(const struct top *);

const char *top_state_name(enum top_state);

void	top_series_init(struct top_series *);
void	top_series_add(struct top_series *, double now, double v);
/*
 * A sparkline of the last width seconds ending at now, one cell a second,
 * a second without a sample taking the previous one's value: each cell is
 * a level 0..7 of the window's largest value (-1: no sample yet).
 */
void	top_series_levels(const struct top_series *, double now, int width,
	    int *levels, double *max);

/*
 * The coverage bar: width cells over the model's blocks, each the fewest
 * replicas among the blocks it stands for, so a gap is never hidden.
 */
void	top_bar(const struct top_cover *, int width, uint32_t *cells);
/* "gaps: blocks 2:4, 7" or "all 5 blocks served". */
void	top_gaps(const struct top_cover *, char *, size_t);

/*
 * A row of the table (or its header when p is NULL) in width columns:
 * the columns that fit, truncated, never wrapped. The sort column's name
 * is marked with '*'.
 */
void	top_row(const struct top *, const struct top_peer *, int width,
	    char *, size_t);
/* The first line: network, peers online, tokens/s, sessions. */
void	top_summary(const struct top *, char *, size_t);
/* The selected model: its id, blocks, whether complete. */
void	top_model_line(const struct top *, char *, size_t);
/* The local node's pane, or "" when no local node answers. */
void	top_local_line(const struct top *, char *, size_t);
/* The local gateway's pane, or "" when it does not answer. */
void	top_gateway_line(const struct top *, char *, size_t);
/* Reads a gateway's GET /metrics (Prometheus text) at now. */
void	top_gateway_metrics(struct top_gateway *, const char *text,
	    double now);

#endif
