/*
 * Tests for src/swarm/push-trial: the trial alternates the two ways over
 * single-row steps, takes the lower median, holds it for its time and its
 * chain, and a memo hands a verdict, or the steps of a trial going on, to
 * another client of the process, and through its file to another process.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "swarm/push-trial.h"
#include "util/clock.h"

static uint64_t
chain_of(const char *a, const char *b)
{
	return push_trial_chain(push_trial_chain(0, a, 0, 11), b, 11, 22);
}

/* The steps a trial takes when none fails. */
#define TRIAL_LEN	(2 * PUSH_TRIAL_STEPS * PUSH_TRIAL_RUN / \
			    (PUSH_TRIAL_RUN - 1))

/*
 * Runs a trial to its verdict, the k-th timed step of each way taking the
 * k-th time given (a run's first step, not timed, the same). Returns the
 * steps it took.
 */
static int
run_trial(struct push_trial *t, struct push_memo *m, uint64_t chain,
    const double *pushed, const double *sent, double now)
{
	int steps;
	enum push_way w;

	for (steps = 0; steps < 4 * TRIAL_LEN; steps++) {
		w = push_trial_way(t, m, chain, 1, now);
		if (push_trial_note(t, m, w, 1, w == PUSH_WAY_PUSHED ?
		    pushed[t->n[w]] : sent[t->n[w]], 1, now))
			return steps + 1;
	}
	return -1;
}

static void
test_push_trial_alternates_and_picks_lower_median(void)
{
	/* one slow outlier each way: the medians ignore it */
	double pushed[] = { 0.025, 0.024, 0.090, 0.026, 0.025, 0.024 };
	double sent[] = { 0.021, 0.020, 0.022, 0.200, 0.021, 0.020 };
	double near[PUSH_TRIAL_STEPS];
	uint64_t c = chain_of("127.0.0.1:1", "127.0.0.1:2");
	struct push_trial t;

	static const enum push_way runs[] = { PUSH_WAY_PUSHED,
	    PUSH_WAY_PUSHED, PUSH_WAY_PUSHED, PUSH_WAY_SENT, PUSH_WAY_SENT,
	    PUSH_WAY_SENT, PUSH_WAY_PUSHED };
	size_t i;

	push_trial_init(&t);
	/* runs of three, the first of each not timed */
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		CHECK(push_trial_way(&t, NULL, c, 1, 0) == runs[i]);
		CHECK(push_trial_note(&t, NULL, runs[i], 1, 0.02, 1, 0) == 0);
		/* a prompt's step pushes and is not counted */
		CHECK(push_trial_way(&t, NULL, c, 7, 0) == PUSH_WAY_PUSHED);
		CHECK(push_trial_note(&t, NULL, PUSH_WAY_PUSHED, 7, 0.5, 1,
		    0) == 0);
	}
	CHECK(t.n[PUSH_WAY_PUSHED] == 2 && t.n[PUSH_WAY_SENT] == 2);
	/* a step that stalled or failed over is not timed */
	CHECK(push_trial_note(&t, NULL, PUSH_WAY_PUSHED, 1, 0.5, 0, 0) == 0);
	CHECK(t.n[PUSH_WAY_PUSHED] == 2);
	push_trial_init(&t);
	CHECK(run_trial(&t, NULL, c, pushed, sent, 10) == TRIAL_LEN);
	CHECK(t.verdict == PUSH_WAY_SENT);
	CHECK(fabs(t.median[PUSH_WAY_PUSHED] - 0.0250) < 1e-9);
	CHECK(fabs(t.median[PUSH_WAY_SENT] - 0.0210) < 1e-9);
	/* the verdict holds: every step, whatever its rows, goes that way */
	CHECK(push_trial_way(&t, NULL, c, 1, 10 + PUSH_TRIAL_HOLD - 1) ==
	    PUSH_WAY_SENT);
	CHECK(push_trial_way(&t, NULL, c, 9, 11) == PUSH_WAY_SENT);
	/* and lapses: a new trial, pushed first */
	CHECK(push_trial_way(&t, NULL, c, 1, 10 + PUSH_TRIAL_HOLD) ==
	    PUSH_WAY_PUSHED);
	CHECK(t.verdict == -1 && t.n[0] == 0 && t.n[1] == 0);
	/* the other way round */
	push_trial_init(&t);
	CHECK(run_trial(&t, NULL, c, sent, pushed, 0) > 0);
	CHECK(t.verdict == PUSH_WAY_PUSHED);
	/* within the margin, sent: 2 % is a trial's noise */
	for (i = 0; i < PUSH_TRIAL_STEPS; i++)
		near[i] = 1.02 * sent[i];
	push_trial_init(&t);
	CHECK(run_trial(&t, NULL, c, sent, near, 0) > 0);
	CHECK(t.verdict == PUSH_WAY_SENT);
}

static void
test_push_trial_new_chain_tried_anew(void)
{
	double pushed[] = { 1, 1, 1, 1, 1, 1 }, sent[] = { 2, 2, 2, 2, 2, 2 };
	uint64_t a = chain_of("127.0.0.1:1", "127.0.0.1:2");
	uint64_t b = chain_of("127.0.0.1:1", "127.0.0.1:3");
	struct push_trial t;
	int i;

	CHECK(a != b);
	CHECK(a != chain_of("127.0.0.1:2", "127.0.0.1:1"));
	push_trial_init(&t);
	CHECK(run_trial(&t, NULL, a, pushed, sent, 0) > 0);
	CHECK(t.verdict == PUSH_WAY_PUSHED);
	CHECK(push_trial_way(&t, NULL, b, 1, 1) == PUSH_WAY_PUSHED);
	CHECK(t.verdict == -1 && t.steps == 0);
	for (i = 0; i < PUSH_TRIAL_RUN; i++)
		CHECK(push_trial_note(&t, NULL, PUSH_WAY_PUSHED, 1, 1, 1, 1) ==
		    0);
	CHECK(push_trial_way(&t, NULL, b, 1, 1) == PUSH_WAY_SENT);
}

static void
test_push_trial_memo_shared(void)
{
	double pushed[] = { 3, 3, 3, 3, 3, 3 }, sent[] = { 2, 2, 2, 2, 2, 2 };
	uint64_t a = chain_of("10.0.0.1:1", "10.0.0.2:1");
	struct push_memo *m = push_memo_new();
	struct push_trial t1, t2, t3;
	int i;

	push_trial_init(&t1);
	CHECK(run_trial(&t1, m, a, pushed, sent, 100) > 0);
	CHECK(t1.verdict == PUSH_WAY_SENT);
	/* another client of the process: no trial, the verdict at once */
	push_trial_init(&t2);
	CHECK(push_trial_way(&t2, m, a, 1, 150) == PUSH_WAY_SENT);
	CHECK(t2.verdict == PUSH_WAY_SENT && t2.median[PUSH_WAY_SENT] == 2);
	/* once it lapsed, a client tries again */
	push_trial_init(&t3);
	CHECK(push_trial_way(&t3, m, a, 1, 100 + PUSH_TRIAL_HOLD) ==
	    PUSH_WAY_PUSHED);
	CHECK(t3.verdict == -1);
	/* more chains than the memo keeps: the newest are kept */
	for (i = 0; i < 40; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "10.0.1.%d:1", i);
		push_trial_init(&t1);
		CHECK(run_trial(&t1, m, chain_of(addr, "x"), pushed, sent,
		    200 + i) > 0);
	}
	push_trial_init(&t2);
	CHECK(push_trial_way(&t2, m, chain_of("10.0.1.39:1", "x"), 1, 250) ==
	    PUSH_WAY_SENT);
	push_memo_free(m);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

static void
test_push_memo_file(void)
{
	double pushed[] = { 3, 3, 3, 3, 3, 3 }, sent[] = { 2, 2, 2, 2, 2, 2 };
	uint64_t a = chain_of("10.0.0.1:1", "10.0.0.2:1");
	uint64_t b = chain_of("10.0.0.3:1", "10.0.0.4:1");
	char dir[] = "/tmp/test-push-memo-XXXXXX", path[64], text[512];
	struct push_memo *m = push_memo_new(), *m2, *m3;
	struct push_trial t;
	char *cause = NULL;
	double wall = clock_wall();

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/push-verdicts", dir);
	/* no file yet: no verdict, no error */
	CHECK(push_memo_load(m, path, 1000, NULL, &cause) == 0);
	push_trial_init(&t);
	CHECK(run_trial(&t, m, a, pushed, sent, 1000) > 0);
	CHECK(push_memo_save(m, path, 1010, &cause) == 0);
	/* another process, its clock elsewhere: the verdict, 110 s left */
	m2 = push_memo_new();
	CHECK(push_memo_load(m2, path, 5000, NULL, &cause) == 1);
	push_trial_init(&t);
	CHECK(push_trial_way(&t, m2, a, 1, 5000) == PUSH_WAY_SENT);
	CHECK(t.verdict == PUSH_WAY_SENT && t.median[PUSH_WAY_SENT] == 2 &&
	    t.median[PUSH_WAY_PUSHED] == 3);
	CHECK(t.until > 5000 + PUSH_TRIAL_HOLD - 10 - 1 &&
	    t.until < 5000 + PUSH_TRIAL_HOLD - 10 + 1);
	/* its own verdict of another chain is saved beside the first */
	push_trial_init(&t);
	CHECK(run_trial(&t, m2, b, sent, pushed, 5000) > 0);
	CHECK(t.verdict == PUSH_WAY_PUSHED);
	CHECK(push_memo_save(m2, path, 5001, &cause) == 0);
	m3 = push_memo_new();
	CHECK(push_memo_load(m3, path, 9000, NULL, &cause) == 2);
	push_memo_free(m3);
	/* the file is anyone's: only well-formed, fresh lines count */
	snprintf(text, sizeof(text),
	    "%016llx 0 0.002 0.003 %.3f\n"		/* good */
	    "%016llx 1 0.002 0.003 %.3f\n"		/* lapsed */
	    "%016llx 1 0.002 0.003 %.3f\n"		/* held too long */
	    "%016llx 7 0.002 0.003 %.3f\n"		/* no such way */
	    "%016llx 1 nan 0.003 %.3f\n"		/* no median */
	    "%016llx 1 0.002 0.003 %.3f trailing\n"
	    "garbage\n\n",
	    (unsigned long long)a, wall + 60,
	    (unsigned long long)b, wall - 1,
	    (unsigned long long)b, wall + 10 * PUSH_TRIAL_HOLD,
	    (unsigned long long)b, wall + 60,
	    (unsigned long long)b, wall + 60,
	    (unsigned long long)b, wall + 60);
	write_file(path, text);
	m3 = push_memo_new();
	CHECK(push_memo_load(m3, path, 0, NULL, &cause) == 1);
	push_trial_init(&t);
	CHECK(push_trial_way(&t, m3, b, 1, 0) == PUSH_WAY_PUSHED &&
	    t.verdict == -1);	/* b: a trial */
	push_memo_free(m3);
	/* a line longer than any of ours ends the reading */
	memset(text, 'f', sizeof(text) - 2);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = '\0';
	write_file(path, text);
	m3 = push_memo_new();
	CHECK(push_memo_load(m3, path, 0, NULL, &cause) == 0);
	push_memo_free(m3);
	/* a directory it cannot write: the cause; a memo with no verdict of
	 * its own writes nothing */
	snprintf(path, sizeof(path), "%s/none/push-verdicts", dir);
	CHECK(push_memo_save(m2, path, 5001, &cause) == -1 && cause != NULL);
	free(cause);
	cause = NULL;
	m3 = push_memo_new();
	CHECK(push_memo_load(m3, path, 5001, NULL, &cause) == 0);
	CHECK(push_memo_save(m3, path, 5001, &cause) == 0 && cause == NULL);
	push_memo_free(m3);
	snprintf(path, sizeof(path), "%s/push-verdicts", dir);
	unlink(path);
	rmdir(dir);
	push_memo_free(m2);
	push_memo_free(m);
}

/*
 * Steps of one client: a prompt's, then rows single-row steps, each way
 * timed at the given seconds. Returns 1 if one of them completed the
 * trial, 0 if none did, -1 if the prompt's step was not pushed while
 * trying.
 */
static int
short_client(struct push_memo *m, uint64_t chain, int rows, double pushed,
    double sent, double now, struct push_trial *t)
{
	enum push_way w;
	int i, done = 0;

	push_trial_init(t);
	/* the prompt's step first: pushed, not timed */
	if (push_trial_way(t, m, chain, 5, now) != PUSH_WAY_PUSHED &&
	    t->verdict < 0)
		return -1;
	for (i = 0; i < rows; i++) {
		w = push_trial_way(t, m, chain, 1, now);
		done |= push_trial_note(t, m, w, 1, w == PUSH_WAY_PUSHED ?
		    pushed : sent, 1, now);
	}
	return done;
}

static void
test_push_trial_short_clients_share_a_trial(void)
{
	uint64_t a = chain_of("10.0.0.1:1", "10.0.0.2:1");
	uint64_t b = chain_of("10.0.0.3:1", "10.0.0.4:1");
	struct push_memo *m = push_memo_new();
	struct push_trial t, u;
	int k, done = 0;

	/* 8-token requests: alone, none would reach a verdict */
	push_trial_init(&t);
	for (k = 0; k < 8; k++) {
		enum push_way w = push_trial_way(&t, NULL, a, 1, 0);

		CHECK(push_trial_note(&t, NULL, w, 1, 1, 1, 0) == 0);
	}
	CHECK(t.verdict == -1);
	/* in one process, their timed steps add up to one trial */
	for (k = 0; k < 5 && done == 0; k++)
		done = short_client(m, a, 8, 0.010, 0.020, 100 + k, &t);
	CHECK(done == 1 && k <= 4);
	CHECK(t.verdict == PUSH_WAY_PUSHED);
	CHECK(fabs(t.median[PUSH_WAY_PUSHED] - 0.010) < 1e-9 &&
	    fabs(t.median[PUSH_WAY_SENT] - 0.020) < 1e-9);
	/* the next request goes the verdict's way from its first step */
	push_trial_init(&u);
	CHECK(push_trial_way(&u, m, a, 1, 110) == PUSH_WAY_PUSHED &&
	    u.verdict == PUSH_WAY_PUSHED);
	/* a client whose trial began before another made the verdict
	 * takes it at its next step */
	push_trial_init(&t);
	push_trial_init(&u);
	CHECK(push_trial_way(&t, m, b, 1, 200) == PUSH_WAY_PUSHED);
	CHECK(push_trial_note(&t, m, PUSH_WAY_PUSHED, 1, 0.01, 1, 200) == 0);
	CHECK(run_trial(&u, m, b, (double[]){ 3, 3, 3, 3, 3, 3 },
	    (double[]){ 2, 2, 2, 2, 2, 2 }, 201) > 0);
	CHECK(u.verdict == PUSH_WAY_SENT);
	CHECK(push_trial_way(&t, m, b, 1, 202) == PUSH_WAY_SENT &&
	    t.verdict == PUSH_WAY_SENT);
	CHECK(push_trial_note(&t, m, PUSH_WAY_SENT, 1, 9, 1, 202) == 0);
	/* a trial's steps lapse PUSH_TRIAL_HOLD after its last one */
	push_trial_init(&t);
	CHECK(short_client(m, chain_of("x", "y"), 4, 1, 2, 300, &t) == 0);
	push_trial_init(&u);
	CHECK(push_trial_way(&u, m, chain_of("x", "y"), 1, 300 +
	    PUSH_TRIAL_HOLD - 1) == PUSH_WAY_PUSHED);
	CHECK(u.n[PUSH_WAY_PUSHED] + u.n[PUSH_WAY_SENT] > 0);
	push_trial_init(&u);
	CHECK(push_trial_way(&u, m, chain_of("x", "y"), 1, 300 +
	    PUSH_TRIAL_HOLD) == PUSH_WAY_PUSHED);
	CHECK(u.n[PUSH_WAY_PUSHED] == 0 && u.n[PUSH_WAY_SENT] == 0);
	push_memo_free(m);
}

static void
test_push_memo_file_trials(void)
{
	uint64_t a = chain_of("10.0.0.1:1", "10.0.0.2:1");
	char dir[] = "/tmp/test-push-memo-XXXXXX", path[64], text[1024];
	struct push_memo *m;
	struct push_trial t;
	char *cause = NULL;
	double wall = clock_wall();
	int k, trials = -1, done = 0;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/push-verdicts", dir);
	/* one-shot runs of 8 tokens, a process each: the trial goes on
	 * through the file, and ends */
	for (k = 0; k < 5 && done == 0; k++) {
		m = push_memo_new();
		CHECK(push_memo_load(m, path, 10 * k, &trials, &cause) ==
		    0);
		CHECKF(trials == (k > 0), "k %d trials %d", k, trials);
		done = short_client(m, a, 8, 0.030, 0.020, 10 * k, &t);
		CHECK(push_memo_save(m, path, 10 * k, &cause) == 0);
		push_memo_free(m);
	}
	CHECK(done == 1 && t.verdict == PUSH_WAY_SENT);
	m = push_memo_new();
	CHECK(push_memo_load(m, path, 1000, &trials, &cause) == 1 &&
	    trials == 0);
	push_memo_free(m);
	/* a trial of the file goes on; lying trial lines are nothing */
	snprintf(text, sizeof(text),
	    "%016llx -1 %.3f 2 1 0.5 0.5 0.25\n"		/* good */
	    "%016llx -1 %.3f 7 1 1 1 1 1 1 1 1 1\n"		/* 7 > 6 */
	    "%016llx -1 %.3f 2 1 0.5 0.5\n"			/* short */
	    "%016llx -1 %.3f 1 0 -1\n"				/* negative */
	    "%016llx -1 %.3f 1 0 nan\n"
	    "%016llx -1 %.3f 0 0\n"				/* empty */
	    "%016llx -1 %.3f 1 0 0.5 0.5\n"			/* long */
	    "%016llx -1 %.3f 1 0 0.5\n",			/* lapsed */
	    (unsigned long long)a, wall + 60,
	    (unsigned long long)a + 1, wall + 60,
	    (unsigned long long)a + 2, wall + 60,
	    (unsigned long long)a + 3, wall + 60,
	    (unsigned long long)a + 4, wall + 60,
	    (unsigned long long)a + 5, wall + 60,
	    (unsigned long long)a + 6, wall + 60,
	    (unsigned long long)a + 7, wall - 1);
	write_file(path, text);
	m = push_memo_new();
	CHECK(push_memo_load(m, path, 0, &trials, &cause) == 0 &&
	    trials == 1);
	push_trial_init(&t);
	CHECK(push_trial_way(&t, m, a, 1, 0) == PUSH_WAY_PUSHED);
	CHECK(t.n[PUSH_WAY_SENT] == 2 && t.n[PUSH_WAY_PUSHED] == 1 &&
	    t.took[PUSH_WAY_PUSHED][0] == 0.25);
	/* a trial of ours does not replace a verdict another process saved
	 * meanwhile */
	CHECK(push_trial_note(&t, m, PUSH_WAY_PUSHED, 1, 0.25, 1, 0) == 0);
	CHECK(push_trial_way(&t, m, a, 1, 0) == PUSH_WAY_PUSHED);
	CHECK(push_trial_note(&t, m, PUSH_WAY_PUSHED, 1, 0.25, 1, 0) == 0);
	snprintf(text, sizeof(text), "%016llx 0 0.002 0.003 %.3f\n",
	    (unsigned long long)a, wall + 60);
	write_file(path, text);
	CHECK(push_memo_save(m, path, 0, &cause) == 0);
	push_memo_free(m);
	m = push_memo_new();
	CHECK(push_memo_load(m, path, 0, &trials, &cause) == 1 &&
	    trials == 0);
	push_memo_free(m);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	TEST_RUN(test_push_trial_alternates_and_picks_lower_median);
	TEST_RUN(test_push_trial_new_chain_tried_anew);
	TEST_RUN(test_push_trial_memo_shared);
	TEST_RUN(test_push_memo_file);
	TEST_RUN(test_push_trial_short_clients_share_a_trial);
	TEST_RUN(test_push_memo_file_trials);
	TEST_EXIT();
}
