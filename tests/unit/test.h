/*
 * A minimal unit-test harness. Each tests/unit/test-<module>.c defines test
 * functions and lists them in main() with TEST_RUN; every case prints
 * "PASS name" or "FAIL name", which tests/run-tests counts. A failed CHECK
 * reports file:line and the expression, and ends only its own case.
 */
#ifndef SWARM_TEST_H
#define SWARM_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_cases;
static int test_case_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "  %s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		test_case_failed = 1;					\
		return;							\
	}								\
} while (0)

#define CHECKF(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "  %s:%d: check failed: %s: ",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		test_case_failed = 1;					\
		return;							\
	}								\
} while (0)

#define CHECK_STR(a, b) CHECKF((a) != NULL && strcmp((a), (b)) == 0,	\
	"got '%s', want '%s'", (a) ? (a) : "(null)", (b))

#define TEST_RUN(fn) do {						\
	test_case_failed = 0;						\
	fn();								\
	printf("%s %s\n", test_case_failed ? "FAIL" : "PASS", #fn);	\
	fflush(stdout);							\
	test_failed_cases += test_case_failed;				\
} while (0)

#define TEST_EXIT() return test_failed_cases ? 1 : 0

/* The shared test data directory (../shared/models from the repo root). */
static inline const char *
test_models_dir(void)
{
	const char *d = getenv("SWARM_TEST_MODELS");

	return d != NULL ? d : "../shared/models";
}

#endif
