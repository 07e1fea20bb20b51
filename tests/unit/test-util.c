/*
 * Tests for src/util: number parsing ranges, string distance and strbuf.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "util/heap.h"
#include "util/parse.h"
#include "util/path.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

static void
test_parse_uint_ranges(void)
{
	const char *err;

	CHECK(parse_uint("42", 0, 100, &err) == 42 && err == NULL);
	parse_uint("101", 0, 100, &err);
	CHECK_STR(err, "too large");
	parse_uint("1", 2, 100, &err);
	CHECK_STR(err, "too small");
	parse_uint("-1", 0, 100, &err);
	CHECK_STR(err, "invalid");
	parse_uint("12x", 0, 100, &err);
	CHECK_STR(err, "invalid");
	parse_uint("", 0, 100, &err);
	CHECK_STR(err, "invalid");
	parse_uint("99999999999999999999999", 0, UINT64_MAX, &err);
	CHECK_STR(err, "too large");
}

static void
test_parse_int_and_double(void)
{
	const char *err;

	CHECK(parse_int("-5", -10, 10, &err) == -5 && err == NULL);
	parse_int("-11", -10, 10, &err);
	CHECK_STR(err, "too small");
	CHECK(parse_double("0.5", 0, 1, &err) == 0.5 && err == NULL);
	parse_double("nan", 0, 1, &err);
	CHECK(err != NULL);
	parse_double("1.5", 0, 1, &err);
	CHECK_STR(err, "too large");
	CHECK(parse_bool("yes") == 1 && parse_bool("Off") == 0);
	CHECK(parse_bool("maybe") == -1);
}

static void
test_parse_span_size_address(void)
{
	const char *err;
	uint32_t a = 0, b = 0;

	CHECK(parse_span("2:5", 0, 100, &a, &b, &err) == 0 && a == 2 &&
	    b == 5 && err == NULL);
	CHECK(parse_span("5:5", 0, 100, &a, &b, &err) == -1 && err != NULL);
	CHECK(parse_span("5", 0, 100, &a, &b, &err) == -1);
	CHECK(parse_span("1:101", 0, 100, &a, &b, &err) == -1 &&
	    strcmp(err, "too large") == 0);
	CHECK(parse_span("x:3", 0, 100, &a, &b, &err) == -1);
	CHECK(parse_size("4096", 0, UINT64_MAX, &err) == 4096 && err == NULL);
	CHECK(parse_size("2K", 0, UINT64_MAX, &err) == 2048 && err == NULL);
	CHECK(parse_size("3m", 0, UINT64_MAX, &err) == 3 << 20 && err == NULL);
	CHECK(parse_size("1G", 0, UINT64_MAX, &err) == 1 << 30 && err == NULL);
	parse_size("2K", 0, 2047, &err);
	CHECK(err != NULL && strcmp(err, "too large") == 0);
	parse_size("K", 0, UINT64_MAX, &err);
	CHECK(err != NULL);
	parse_size("99999999999G", 0, UINT64_MAX, &err);
	CHECK(err != NULL);
	CHECK(parse_address("127.0.0.1:7400", &err) == 0 && err == NULL);
	CHECK(parse_address("[::1]:0", &err) == 0);
	CHECK(parse_address("host", &err) == -1 && err != NULL);
	CHECK(parse_address(":7400", &err) == -1);
	CHECK(parse_address("host:70000", &err) == -1);
	CHECK(parse_address("::1:7400", &err) == -1);
}

static void
test_parse_ids(void)
{
	const char *err;
	char *bad = NULL;
	int32_t *ids;
	size_t n;

	CHECK(parse_ids("1, 2 3,,4", 100, &ids, &n, &bad, &err) == 0 &&
	    n == 4 && ids[0] == 1 && ids[3] == 4 && err == NULL);
	free(ids);
	CHECK(parse_ids("", 100, &ids, &n, &bad, &err) == 0 && n == 0 &&
	    ids == NULL);
	CHECK(parse_ids("1,x,3", 100, &ids, &n, &bad, &err) == -1 &&
	    strcmp(bad, "x") == 0 && strcmp(err, "invalid") == 0 &&
	    ids == NULL);
	free(bad);
	CHECK(parse_ids("1,101", 100, &ids, &n, &bad, &err) == -1 &&
	    strcmp(bad, "101") == 0 && strcmp(err, "too large") == 0);
	free(bad);
}

static void
test_str_distance(void)
{
	CHECK(str_distance("node join", "node join") == 0);
	CHECK(str_distance("nod join", "node join") == 1);
	CHECK(str_distance("", "abc") == 3);
	CHECK(str_distance("kitten", "sitting") == 3);
}

static void
test_strbuf(void)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;
	size_t len;
	int i;

	for (i = 0; i < 1000; i++)
		strbuf_addf(&sb, "%d,", i);
	CHECK(sb.len == strlen(sb.buf));
	CHECK(strncmp(sb.buf, "0,1,2,", 6) == 0);
	strbuf_reset(&sb);
	CHECK(sb.len == 0 && sb.buf[0] == '\0');
	strbuf_add(&sb, "a\0b", 3);
	s = strbuf_detach(&sb, &len);
	CHECK(len == 3 && s[2] == 'b' && s[3] == '\0');
	free(s);
	CHECK(sb.buf == NULL);
}

/* Detaching a buffer nothing was added to gives "", not garbage. */
static void
test_strbuf_detach_empty(void)
{
	struct strbuf sb = STRBUF_INIT;
	char *p = strbuf_detach(&sb, NULL);

	CHECK(p != NULL && p[0] == '\0');
	free(p);
}

static void
test_utf8_sanitize(void)
{
	size_t n;
	char *s;

	s = utf8_sanitize("h\xc3\xa9llo", 6, &n);
	CHECK(n == 6 && memcmp(s, "h\xc3\xa9llo", 6) == 0);
	free(s);
	/* a lone continuation byte, a cut sequence, an overlong, a surrogate */
	s = utf8_sanitize("a\x80" "b\xe2\x82", 5, &n);
	CHECK_STR(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = utf8_sanitize("\xc0\xaf\xed\xa0\x80", 5, &n);
	CHECK(n == 5 * 3);
	free(s);
	CHECK(utf8_seq_len((const unsigned char *)"\xf0\x9f\x98\x80", 4) == 4);
	CHECK(utf8_seq_len((const unsigned char *)"\xf4\x90\x80\x80", 4) == 0);
}

static int
int_before(const void *a, const void *b)
{
	return *(const int *)a < *(const int *)b;
}

static void
test_heap_orders(void)
{
	struct heap h;
	unsigned seed = 12345;
	int i, v, last = -1;

	heap_init(&h, sizeof(int), int_before);
	for (i = 0; i < 5000; i++) {
		seed = seed * 1103515245 + 12345;
		v = (int)((seed >> 8) % 1000);
		heap_push(&h, &v);
	}
	CHECK(h.n == 5000);
	for (i = 0; i < 5000; i++) {
		heap_pop(&h, &v);
		CHECKF(v >= last, "popped %d after %d", v, last);
		last = v;
	}
	CHECK(h.n == 0);
	heap_release(&h);
}

/* A writer of one text, many times, to one file. */
struct test_writer {
	const char	*path;
	char		*text;
	int		 failed;
};

static void *
test_write_many(void *arg)
{
	struct test_writer *w = arg;
	int i;

	for (i = 0; i < 300; i++)
		if (path_write_atomic(w->path, w->text, NULL) != 0)
			w->failed++;
	return NULL;
}

/*
 * Two writers at once (as two processes saving push verdicts): the file
 * is always one's text or the other's, whole, and no temporary file is
 * left behind.
 */
static void
test_path_write_atomic_concurrent(void)
{
	char dir[] = "/tmp/swarm-test-path-XXXXXX", *path, *got;
	struct test_writer w[2];
	struct strbuf sb = STRBUF_INIT;
	struct dirent *de;
	pthread_t t[2];
	FILE *fp;
	DIR *d;
	int i, k, bad = 0, files = 0;

	CHECK(mkdtemp(dir) != NULL);
	path = xasprintf("%s/verdicts", dir);
	for (k = 0; k < 2; k++) {
		w[k].path = path;
		w[k].failed = 0;
		strbuf_reset(&sb);
		for (i = 0; i < 20000; i++)
			strbuf_addc(&sb, k ? 'b' : 'a');
		w[k].text = strbuf_detach(&sb, NULL);
	}
	CHECK(pthread_create(&t[0], NULL, test_write_many, &w[0]) == 0);
	CHECK(pthread_create(&t[1], NULL, test_write_many, &w[1]) == 0);
	for (i = 0; i < 300; i++) {
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		strbuf_reset(&sb);
		strbuf_fread(&sb, fp);
		fclose(fp);
		if (sb.len != 20000 || (strspn(sb.buf, "a") != 20000 &&
		    strspn(sb.buf, "b") != 20000))
			bad++;
	}
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	CHECK(w[0].failed == 0 && w[1].failed == 0);
	CHECKF(bad == 0, "%d reads saw a mix or a part", bad);
	fp = fopen(path, "r");
	CHECK(fp != NULL);
	strbuf_reset(&sb);
	strbuf_fread(&sb, fp);
	fclose(fp);
	got = sb.buf;
	CHECK(sb.len == 20000 && (strspn(got, "a") == 20000 ||
	    strspn(got, "b") == 20000));
	CHECK((d = opendir(dir)) != NULL);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			files++;
	closedir(d);
	CHECKF(files == 1, "%d files in the directory", files);
	unlink(path);
	rmdir(dir);
	free(path);
	free(w[0].text);
	free(w[1].text);
	strbuf_release(&sb);
}

int
main(void)
{
	TEST_RUN(test_parse_uint_ranges);
	TEST_RUN(test_parse_int_and_double);
	TEST_RUN(test_parse_span_size_address);
	TEST_RUN(test_parse_ids);
	TEST_RUN(test_str_distance);
	TEST_RUN(test_strbuf);
	TEST_RUN(test_utf8_sanitize);
	TEST_RUN(test_heap_orders);
	TEST_RUN(test_strbuf_detach_empty);
	TEST_RUN(test_path_write_atomic_concurrent);
	TEST_EXIT();
}
