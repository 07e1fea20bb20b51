/*
 * Tests for src/engine/dialog.c on the real stories260K: a second turn
 * prefills only what the cache lacks and answers as a new dialog given the
 * whole conversation does; a changed system message rewinds the cache to
 * where the conversation differs, with the same answer as from scratch;
 * a full context is refused (stop) or makes room (drop-oldest).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/generate.h"
#include "engine/conversation.h"
#include "engine/dialog.h"
#include "engine/engine.h"
#include "util/xmalloc.h"

static struct engine *
test_engine(uint32_t n_ctx)
{
	struct engine_config ec;
	struct engine *e;
	char *path = xasprintf("%s/stories260K.gguf", test_models_dir());
	char *cause = NULL;

	engine_config_init(&ec);
	ec.model_path = path;
	ec.local = 1;
	ec.threads = 1;
	ec.n_ctx = n_ctx;
	if ((e = engine_open(&ec, &cause)) == NULL) {
		fprintf(stderr, "  %s\n", cause);
		free(cause);
	}
	free(path);
	return e;
}

static struct dialog *
test_dialog(struct engine *e, enum dialog_overflow overflow)
{
	struct dialog_config dc;
	char *warning = NULL, *cause = NULL;
	struct dialog *d;

	memset(&dc, 0, sizeof(dc));
	dc.engine = e;
	dc.overflow = overflow;
	if ((d = dialog_new(&dc, &warning, &cause)) == NULL) {
		fprintf(stderr, "  %s\n", cause);
		free(cause);
	}
	free(warning);
	return d;
}

static void
test_params(struct generate_params *gp)
{
	generate_params_init(gp);
	gp->sampling.temperature = 0;
	gp->max_tokens = 24;
}

/* The last reply (borrowed). */
static const char *
test_reply(struct dialog *d)
{
	struct conversation *c = dialog_conversation(d);

	return c->msgs[c->n - 1].content;
}

/* A new dialog given d's conversation less its last turn answers alike. */
static int
test_same_from_scratch(struct engine *e, struct dialog *d)
{
	struct conversation *c = dialog_conversation(d), *c2;
	struct generate_params gp;
	struct dialog *d2 = test_dialog(e, DIALOG_OVERFLOW_STOP);
	char *cause = NULL;
	size_t i;
	int same;

	test_params(&gp);
	c2 = dialog_conversation(d2);
	for (i = 0; i + 2 < c->n; i++)
		conversation_add(c2, c->msgs[i].role, c->msgs[i].content);
	same = dialog_say(d2, c->msgs[c->n - 2].content, &gp, &cause) == 0 &&
	    dialog_stats(d2)->n_reused == 0 &&
	    strcmp(test_reply(d2), test_reply(d)) == 0;
	free(cause);
	dialog_free(d2);
	return same;
}

static void
test_turns(void)
{
	struct engine *e = test_engine(0);
	struct dialog *d;
	struct generate_params gp;
	const struct dialog_stats *st;
	char *cause = NULL;
	size_t past;

	CHECK(e != NULL);
	d = test_dialog(e, DIALOG_OVERFLOW_STOP);
	CHECK(d != NULL);
	test_params(&gp);
	st = dialog_stats(d);
	CHECK(dialog_say(d, "Hello there", &gp, &cause) == 0);
	CHECK(st->turn == 1 && st->n_reused == 0 &&
	    st->n_prefilled == st->n_prompt && st->n_tokens > 0);
	past = st->n_past;
	CHECK(dialog_say(d, "What next?", &gp, &cause) == 0);
	CHECKF(st->n_reused == past && st->n_prefilled == st->n_prompt - past,
	    "reused %zu of %zu", st->n_reused, past);
	CHECK(test_same_from_scratch(e, d));
	/* a new system message: rewound to its start, the same answer */
	conversation_set_system(dialog_conversation(d), "Be kind.");
	past = st->n_past;
	CHECK(dialog_say(d, "And then?", &gp, &cause) == 0);
	CHECKF(st->n_reused < 20 && st->n_prefilled > past, "reused %zu, "
	    "prefilled %zu of %zu", st->n_reused, st->n_prefilled, st->n_prompt);
	CHECK(test_same_from_scratch(e, d));
	CHECK(dialog_retry(d, &gp, &cause) == 0);
	CHECK(test_same_from_scratch(e, d));
	dialog_free(d);
	engine_free(e);
}

static void
test_overflow(void)
{
	struct engine *e = test_engine(200);
	struct dialog *d, *d2;
	struct generate_params gp;
	char *cause = NULL;
	size_t n;

	CHECK(e != NULL);
	test_params(&gp);
	gp.max_tokens = 40;
	d = test_dialog(e, DIALOG_OVERFLOW_STOP);
	CHECK(dialog_say(d, "Hello there", &gp, &cause) == 0);
	CHECK(dialog_say(d, "What next?", &gp, &cause) == 0);
	n = dialog_conversation(d)->n;
	CHECK(dialog_say(d, "And then?", &gp, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "context is full") != NULL);
	free(cause);
	cause = NULL;
	CHECK(dialog_conversation(d)->n == n);
	dialog_free(d);

	d2 = test_dialog(e, DIALOG_OVERFLOW_DROP_OLDEST);
	CHECK(dialog_say(d2, "Hello there", &gp, &cause) == 0);
	CHECK(dialog_say(d2, "What next?", &gp, &cause) == 0);
	CHECK(dialog_say(d2, "And then?", &gp, &cause) == 0);
	CHECK(dialog_stats(d2)->dropped > 0);
	CHECK(strcmp(dialog_conversation(d2)->msgs[0].content, "Hello there")
	    != 0);
	dialog_free(d2);
	engine_free(e);
}

int
main(void)
{
	TEST_RUN(test_turns);
	TEST_RUN(test_overflow);
	TEST_EXIT();
}
