/*
 * Tests for src/util/opt.c: options as a table, parsed and range-checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/opt.h"
#include "util/strbuf.h"

static const struct opt test_opts[] = {
	{ 'n', "count", "N", "how many", OPT_TYPE_INT, 1, 100 },
	{ 'v', "verbose", NULL, "say more", OPT_TYPE_PLAIN, 0, 0 },
	{ 0, "blocks", "A:B", "a span", OPT_TYPE_SPAN, 0, 32 },
	{ 0, "peer", "HOST:PORT", "a peer (repeatable)", OPT_TYPE_ADDRESS, 0,
	    0 },
	{ 0, "timeout", "SECONDS", "how long", OPT_TYPE_DURATION, 0, 60 },
	{ 0, "max-body", "BYTES", "a size", OPT_TYPE_SIZE, 1, 1 << 30 },
	{ 0, NULL, NULL, NULL, OPT_TYPE_PLAIN, 0, 0 }
};

/* Parses a space-separated command line; returns opt_parse's value. */
static int
test_parse(const char *line, struct opt_parsed *p, char **cause, char **buf)
{
	char *argv[32], *w;
	int argc = 0;

	*buf = strdup(line);
	for (w = strtok(*buf, " "); w != NULL && argc < 31; w = strtok(NULL,
	    " "))
		argv[argc++] = w;
	argv[argc] = NULL;
	*cause = NULL;
	return opt_parse(test_opts, argc, argv, p, cause);
}

static void
test_opt_typed_values(void)
{
	struct opt_parsed p;
	char *cause, *buf;
	int rc, n;

	rc = test_parse("-vn7 file --blocks=2:4 --peer 127.0.0.1:9 "
	    "--peer=127.0.0.1:10 --timeout 1.5 --max-body 2M -- -x", &p,
	    &cause, &buf);
	CHECK(rc == 0 && cause == NULL);
	CHECK(opt_value(&p, "verbose")->count == 1);
	CHECK(opt_value(&p, "count")->num == 7);
	CHECK(opt_value(&p, "blocks")->span[0] == 2 &&
	    opt_value(&p, "blocks")->span[1] == 4);
	n = opt_value(&p, "peer")->count;
	CHECK(n == 2);
	CHECK_STR(opt_value(&p, "peer")->values[0], "127.0.0.1:9");
	CHECK_STR(opt_get(&p, "peer"), "127.0.0.1:10");
	CHECK(opt_value(&p, "timeout")->num == 1.5);
	CHECK(opt_value(&p, "max-body")->num == 2 * 1024 * 1024);
	CHECK(p.argc == 2);
	CHECK_STR(p.argv[0], "file");
	CHECK_STR(p.argv[1], "-x");
	CHECK(opt_row(&p, "blocks")->type == OPT_TYPE_SPAN);
	opt_release(&p);
	free(buf);
}

static void
test_opt_errors(void)
{
	static const struct {
		const char *line, *cause;
	} cases[] = {
		{ "--count 0", "--count: '0' is too small" },
		{ "-n 101", "--count: '101' is too large" },
		{ "--count x", "--count: 'x' is invalid" },
		{ "--bogus", "unknown option '--bogus'" },
		{ "-q", "unknown option '-q'" },
		{ "--verbose=1", "option '--verbose' takes no value" },
		{ "--count", "option '--count' needs a value" },
		{ "-vn", "option '-n' needs a value" },
	};
	struct opt_parsed p;
	char *cause, *buf;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECKF(test_parse(cases[i].line, &p, &cause, &buf) == -1,
		    "'%s' was accepted", cases[i].line);
		CHECK_STR(cause, cases[i].cause);
		free(cause);
		opt_release(&p);
		free(buf);
	}
	/* a span out of range and a bad address are refused too */
	CHECK(test_parse("--blocks 4:2", &p, &cause, &buf) == -1);
	free(cause);
	opt_release(&p);
	free(buf);
	CHECK(test_parse("--peer nowhere", &p, &cause, &buf) == -1);
	free(cause);
	opt_release(&p);
	free(buf);
}

static void
test_opt_help_and_negatives(void)
{
	struct opt_parsed p;
	char *cause, *buf;

	/* -h anywhere asks for help; a negative number is an argument */
	CHECK(test_parse("-v --help --bogus", &p, &cause, &buf) == 1);
	opt_release(&p);
	free(buf);
	CHECK(test_parse("-1 -0.5 -", &p, &cause, &buf) == 0);
	CHECK(p.argc == 3);
	CHECK_STR(p.argv[0], "-1");
	CHECK_STR(p.argv[1], "-0.5");
	CHECK_STR(p.argv[2], "-");
	opt_release(&p);
	free(buf);
}

static void
test_opt_help_text(void)
{
	struct strbuf sb = STRBUF_INIT;
	const char *line;

	opt_help(test_opts, 30, 80, &sb);
	CHECK(strstr(sb.buf, "  -n, --count N                how many\n") !=
	    NULL);
	CHECK(strstr(sb.buf, "      --blocks A:B             a span\n") !=
	    NULL);
	CHECK(strstr(sb.buf, "  -h, --help                   show this help "
	    "and exit\n") != NULL);
	/* no line is wider than 80 columns */
	for (line = sb.buf; *line != '\0'; line += strcspn(line, "\n") + 1)
		CHECK(strcspn(line, "\n") <= 80);
	strbuf_reset(&sb);
	strbuf_adds(&sb, "usage: x");
	opt_wrap("[--aaaa] [--bbbb] [--cccc]", sb.len, 20, &sb);
	CHECK_STR(sb.buf, "usage: x [--aaaa]\n         [--bbbb]\n"
	    "         [--cccc]");
	strbuf_release(&sb);
}

int
main(void)
{
	TEST_RUN(test_opt_typed_values);
	TEST_RUN(test_opt_errors);
	TEST_RUN(test_opt_help_and_negatives);
	TEST_RUN(test_opt_help_text);
	TEST_EXIT();
}
