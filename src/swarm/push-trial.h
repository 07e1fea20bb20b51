/*
 * Push auto: whether a chain's steps go node to node (push) or from the
 * client to every hop is settled by timing both on the chain itself. Push
 * saves round trips from the client (hops + 1 one-way trips a token instead
 * of 2 x hops), which is what counts between homes; it costs each node a
 * forward and the client a wait at every hop, which is what counts where
 * the round trips are short (on loopback, three nodes of a tiny model
 * sharing two cores: 0.19 ms a hop pushed against 0.16 sent; 2 ms each
 * way: 9.3 ms a token pushed, 13.8 sent). Which wins depends on the
 * links and on the machines, so the client measures it.
 *
 * A trial alternates the two ways over single-row steps (a prompt's steps
 * are longer and not compared), PUSH_TRIAL_RUN steps in a row each time,
 * the first of a run not timed: a pushed step leaves work behind it (the
 * forwards' answers, the waits) that the next step meets, and a step after
 * one of the other way would not show it (pushed steps between sent ones
 * timed as fast as sent ones, where a pushed run was 10 % slower). When it
 * holds PUSH_TRIAL_STEPS clean steps of each, it pushes if the pushed
 * median is under PUSH_TRIAL_MARGIN of the sent one: on loopback, where
 * whole runs of each way differ by 5 %, a trial's medians came out within
 * 2 % either way, and push is the way that leaves more behind it; where
 * push matters (round trips of milliseconds) it wins by far more. The
 * verdict holds for PUSH_TRIAL_HOLD seconds and while the chain stays the
 * same; a new chain is tried anew. A memo (may be NULL) shares verdicts
 * between the clients of one process (each request of `swarm serve` has
 * its own client), so a chain already tried is not tried again for every
 * request, and through a file between processes (a script's one-shot
 * `infer run`s: each paid a trial, ten of a 64-token run's steps pushed,
 * 3-10 % slower each on loopback). It shares a trial's timed steps too,
 * each kept PUSH_TRIAL_HOLD seconds after the trial's last: a trial takes
 * about 18 single-row steps, and requests or runs shorter than that (an
 * agent's short turns) would each begin one and none finish it.
 */
#ifndef SWARM_SWARM_PUSH_TRIAL_H
#define SWARM_SWARM_PUSH_TRIAL_H

#include <stdint.h>

#define PUSH_TRIAL_STEPS	6	/* clean steps of each way */
#define PUSH_TRIAL_RUN		3	/* steps of one way in a row */
#define PUSH_TRIAL_MARGIN	0.97	/* push: its median under this x sent */
#define PUSH_TRIAL_HOLD		120.0	/* seconds a verdict holds */

enum push_way { PUSH_WAY_SENT = 0, PUSH_WAY_PUSHED = 1 };

struct push_trial {
	uint64_t	 chain;		/* push_trial_chain of the chain tried */
	int		 verdict;	/* a push_way; -1: trying */
	int		 n[2];		/* clean steps timed, by way */
	int		 steps;		/* single-row steps of the trial */
	double		 took[2][PUSH_TRIAL_STEPS];	/* seconds */
	double		 median[2];	/* of the last verdict; 0: none yet */
	double		 until;		/* clock_now() when it lapses */
};

struct push_memo;

struct push_memo *push_memo_new(void);
void		 push_memo_free(struct push_memo *);

/*
 * The memo kept in a file between processes, so that a script's one-shot
 * runs over a chain do not try it again each time: push_memo_load adds
 * the file's fresh verdicts and trials (no file: none; returns how many
 * verdicts, *trials, if not NULL, how many trials), and push_memo_save,
 * when this process made a verdict or timed a step, writes the memo's
 * fresh ones beside the file's others (path_write_atomic; a verdict there
 * is not replaced by a trial). now is clock_now(); the file holds the wall
 * clock. -1 with *cause on an error.
 */
int		 push_memo_load(struct push_memo *, const char *path,
		    double now, int *trials, char **cause);
int		 push_memo_save(struct push_memo *, const char *path,
		    double now, char **cause);

void		 push_trial_init(struct push_trial *);
/* A chain's identity for the trial: its hops' addresses and spans, fed
 * in order (start with chain 0). */
uint64_t	 push_trial_chain(uint64_t chain, const char *addr,
		    uint32_t begin, uint32_t end);
/*
 * The way a step of rows rows over chain goes now (now: clock_now()). A
 * verdict of another chain, or one that lapsed, starts a trial, unless
 * the memo holds a fresh verdict for this chain; while trying, the memo's
 * steps of the chain count as the trial's own.
 */
enum push_way	 push_trial_way(struct push_trial *, struct push_memo *,
		    uint64_t chain, int rows, double now);
/*
 * Records a step that went way and took seconds, clean (no stall, no
 * failure on the way). Returns 1 when it completed the trial (the verdict
 * and medians are in the trial, and in the memo), else 0.
 */
int		 push_trial_note(struct push_trial *, struct push_memo *,
		    enum push_way way, int rows, double seconds, int clean,
		    double now);

#endif
