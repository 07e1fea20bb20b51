/*
 * Tests for src/engine/conversation.c: the system message stays first,
 * dropping the oldest turn keeps it and the last user message, and a
 * conversation saved is loaded the same while bad files are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "engine/conversation.h"
#include "util/xmalloc.h"

static void
test_roles(const struct conversation *c, char *out, size_t size)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < c->n; i++)
		strncat(out, c->msgs[i].role, size - strlen(out) - 1);
}

static void
test_system_and_drop(void)
{
	struct conversation c;
	char roles[256];

	conversation_init(&c);
	conversation_add(&c, "user", "u1");
	conversation_add(&c, "assistant", "a1");
	conversation_set_system(&c, "s");
	test_roles(&c, roles, sizeof(roles));
	CHECK(strcmp(roles, "systemuserassistant") == 0);
	conversation_set_system(&c, "t");
	CHECK_STR(c.msgs[0].content, "t");
	CHECK(c.n == 3);
	conversation_add(&c, "user", "u2");
	conversation_add(&c, "assistant", "a2");
	conversation_add(&c, "user", "u3");
	CHECK(conversation_drop_oldest(&c) == 0);
	CHECK(c.n == 4 && strcmp(c.msgs[1].content, "u2") == 0);
	CHECK(conversation_drop_oldest(&c) == 0);
	CHECK(c.n == 2 && strcmp(c.msgs[1].content, "u3") == 0);
	/* the last user message is never dropped */
	CHECK(conversation_drop_oldest(&c) == -1);
	CHECK(c.n == 2);
	conversation_clear(&c);
	CHECK(c.n == 1 && strcmp(c.msgs[0].role, "system") == 0);
	conversation_set_system(&c, NULL);
	CHECK(c.n == 0 && conversation_last_role(&c) == NULL);
	conversation_release(&c);
}

static char *
test_write(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
test_save_load(void)
{
	struct conversation c, d;
	char dir[] = "/tmp/test-conversation-XXXXXX", *path, *bad;
	char *cause = NULL;
	static const char *const bads[] = {
		"{\"role\":\"user\"}",
		"[{\"role\":\"user\",\"content\":1}]",
		"[{\"role\":\"tool\",\"content\":\"x\"}]",
		"[{\"role\":\"user\",\"content\":\"x\"},"
		    "{\"role\":\"system\",\"content\":\"y\"}]",
		"[{\"role\":\"user\",",
	};
	size_t i;

	CHECK(mkdtemp(dir) != NULL);
	conversation_init(&c);
	conversation_init(&d);
	conversation_set_system(&c, "be \"brief\"");
	conversation_add(&c, "user", "line one\nline two \xc3\xa9");
	conversation_add(&c, "assistant", "ok");
	path = xasprintf("%s/c.json", dir);
	CHECK(conversation_save(&c, path, &cause) == 0);
	CHECK(conversation_load(&d, path, &cause) == 0);
	CHECK(d.n == 3);
	for (i = 0; i < 3; i++) {
		CHECK_STR(d.msgs[i].role, c.msgs[i].role);
		CHECK_STR(d.msgs[i].content, c.msgs[i].content);
	}
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		bad = test_write(dir, "bad.json", bads[i]);
		CHECKF(conversation_load(&d, bad, &cause) == -1, "%s", bads[i]);
		CHECK(cause != NULL && d.n == 3);
		free(cause);
		cause = NULL;
		unlink(bad);
		free(bad);
	}
	unlink(path);
	rmdir(dir);
	free(path);
	conversation_release(&c);
	conversation_release(&d);
}

int
main(void)
{
	TEST_RUN(test_system_and_drop);
	TEST_RUN(test_save_load);
	TEST_EXIT();
}
