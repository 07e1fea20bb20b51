/*
 * Tests for src/net/dht: two DHT nodes in one process on loopback, one
 * bootstrapped off the other; a value put in one is found by the other, and
 * networks with different names do not see each other's values.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "net/dht.h"
#include "util/xmalloc.h"

/* Polls get until want values show up or about 5 s pass. */
static size_t
get_until(struct dht *d, const char *key, size_t want, struct dht_values *v)
{
	int i;
	char *cause = NULL;

	for (i = 0; i < 50; i++) {
		if (dht_get(d, key, 1000, v, &cause) != 0) {
			free(cause);
			return 0;
		}
		if (v->n >= want)
			return v->n;
		dht_values_release(v);
		nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
	}
	return 0;
}

static void
test_dht_put_get_loopback(void)
{
	struct dht *a, *b;
	struct dht_values v;
	char *cause = NULL, addr[64];
	size_t i;
	int seen1 = 0, seen2 = 0;

	a = dht_new("127.0.0.1", 0, "test-net", &cause);
	CHECKF(a != NULL, "%s", cause);
	b = dht_new("127.0.0.1", 0, "test-net", &cause);
	CHECKF(b != NULL, "%s", cause);
	CHECK(dht_port(a) != 0 && dht_port(b) != 0 && dht_port(a) != dht_port(b));
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)dht_port(a));
	CHECK(dht_bootstrap(b, addr, 2000, &cause) == 0);
	CHECK(dht_put(a, "k/one", "hello", 5, 2000, &cause) == 0);
	CHECK(dht_put(a, "k/one", "world!", 6, 2000, &cause) == 0);
	CHECK(get_until(b, "k/one", 2, &v) == 2);
	for (i = 0; i < v.n; i++) {
		if (v.len[i] == 5 && memcmp(v.data[i], "hello", 5) == 0)
			seen1 = 1;
		if (v.len[i] == 6 && memcmp(v.data[i], "world!", 6) == 0)
			seen2 = 1;
	}
	dht_values_release(&v);
	CHECK(seen1 && seen2);

	/* And the other way round: b's value reaches a. */
	CHECK(dht_put(b, "k/two", "from b", 6, 2000, &cause) == 0);
	CHECK(get_until(a, "k/two", 1, &v) == 1);
	CHECK(v.len[0] == 6 && memcmp(v.data[0], "from b", 6) == 0);
	dht_values_release(&v);

	/* A key nobody put: nothing, and no error. */
	CHECK(dht_get(b, "k/none", 2000, &v, &cause) == 0 && v.n == 0);
	dht_values_release(&v);
	dht_free(b);
	dht_free(a);
}

static void
test_dht_networks_apart(void)
{
	struct dht *a, *b;
	struct dht_values v;
	char *cause = NULL, addr[64];

	a = dht_new(NULL, 0, "net-a", &cause);
	CHECKF(a != NULL, "%s", cause);
	b = dht_new(NULL, 0, "net-b", &cause);
	CHECKF(b != NULL, "%s", cause);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)dht_port(a));
	/* Another network does not even answer a ping. */
	CHECK(dht_bootstrap(b, addr, 500, &cause) == -1);
	CHECK(strstr(cause, "does not answer") != NULL);
	free(cause);
	cause = NULL;
	CHECK(dht_put(a, "k", "secret", 6, 1000, &cause) == 0);
	CHECK(dht_get(b, "k", 1500, &v, &cause) == 0);
	CHECK(v.n == 0);
	dht_values_release(&v);
	dht_free(b);
	dht_free(a);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A dead bootstrap peer is refused quickly and does not stall a get. */
static void
test_dht_dead_bootstrap(void)
{
	struct dht *a, *b, *dead;
	struct dht_values v;
	char *cause = NULL, addr[64], dead_addr[64];
	double t0;

	a = dht_new(NULL, 0, "t", &cause);
	CHECKF(a != NULL, "%s", cause);
	b = dht_new(NULL, 0, "t", &cause);
	CHECKF(b != NULL, "%s", cause);
	/* A port that was just free: nobody answers there. */
	dead = dht_new(NULL, 0, "t", &cause);
	CHECKF(dead != NULL, "%s", cause);
	snprintf(dead_addr, sizeof(dead_addr), "127.0.0.1:%u",
	    (unsigned)dht_port(dead));
	dht_free(dead);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)dht_port(a));
	t0 = now_s();
	CHECK(dht_bootstrap(b, dead_addr, 300, &cause) == -1);
	CHECK(now_s() - t0 < 2);
	free(cause);
	cause = NULL;
	CHECK(dht_put(a, "k", "v", 1, 0, &cause) == 0);
	CHECK(dht_bootstrap(b, addr, 2000, &cause) == 0);
	t0 = now_s();
	CHECK(dht_get(b, "k", 5000, &v, &cause) == 0);
	CHECKF(now_s() - t0 < 2, "get took %.1f s", now_s() - t0);
	dht_values_release(&v);
	CHECK(get_until(b, "k", 1, &v) == 1);
	dht_values_release(&v);
	dht_free(b);
	dht_free(a);
}

static void
test_dht_bad_input(void)
{
	struct dht *a;
	char *cause = NULL;
	static char big[DHT_VALUE_MAX + 1];

	a = dht_new(NULL, 0, NULL, &cause);
	CHECKF(a != NULL, "%s", cause);
	CHECK(dht_bootstrap(a, "nocolon", 500, &cause) == -1);
	CHECK(strstr(cause, "nocolon") != NULL);
	free(cause);
	cause = NULL;
	CHECK(dht_bootstrap(a, "127.0.0.1:99999", 500, &cause) == -1);
	free(cause);
	cause = NULL;
	CHECK(dht_put(a, "k", big, sizeof(big), 100, &cause) == -1);
	CHECK(strstr(cause, "too large") != NULL);
	free(cause);
	dht_free(a);
}

int
main(void)
{
	TEST_RUN(test_dht_put_get_loopback);
	TEST_RUN(test_dht_networks_apart);
	TEST_RUN(test_dht_dead_bootstrap);
	TEST_RUN(test_dht_bad_input);
	TEST_EXIT();
}
