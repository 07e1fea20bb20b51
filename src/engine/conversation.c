/*
 * The conversation's messages (conversation.h), and the JSON form they are
 * saved, loaded and sent to an OpenAI-compatible server in.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/conversation.h"
#include "util/xmalloc.h"

void
conversation_init(struct conversation *c)
{
	memset(c, 0, sizeof(*c));
}

static void
conversation_free_msg(struct chat_message *m)
{
	free((char *)m->role);
	free((char *)m->content);
}

void
conversation_release(struct conversation *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		conversation_free_msg(&c->msgs[i]);
	free(c->msgs);
	memset(c, 0, sizeof(*c));
}

void
conversation_add(struct conversation *c, const char *role,
    const char *content)
{
	c->msgs = xreallocarray(c->msgs, c->n + 1, sizeof(*c->msgs));
	c->msgs[c->n].role = xstrdup(role);
	c->msgs[c->n].content = xstrdup(content);
	c->n++;
}

void
conversation_pop(struct conversation *c)
{
	if (c->n > 0)
		conversation_free_msg(&c->msgs[--c->n]);
}

const char *
conversation_last_role(const struct conversation *c)
{
	return c->n > 0 ? c->msgs[c->n - 1].role : NULL;
}

static int
conversation_has_system(const struct conversation *c)
{
	return c->n > 0 && strcmp(c->msgs[0].role, "system") == 0;
}

/* Removes messages [from, to). */
static void
conversation_cut(struct conversation *c, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		conversation_free_msg(&c->msgs[i]);
	memmove(c->msgs + from, c->msgs + to, (c->n - to) * sizeof(*c->msgs));
	c->n -= to - from;
}

void
conversation_clear(struct conversation *c)
{
	conversation_cut(c, conversation_has_system(c), c->n);
}

void
conversation_set_system(struct conversation *c, const char *text)
{
	if (conversation_has_system(c)) {
		if (text == NULL) {
			conversation_cut(c, 0, 1);
			return;
		}
		free((char *)c->msgs[0].content);
		c->msgs[0].content = xstrdup(text);
		return;
	}
	if (text == NULL)
		return;
	c->msgs = xreallocarray(c->msgs, c->n + 1, sizeof(*c->msgs));
	memmove(c->msgs + 1, c->msgs, c->n * sizeof(*c->msgs));
	c->msgs[0].role = xstrdup("system");
	c->msgs[0].content = xstrdup(text);
	c->n++;
}

int
conversation_drop_oldest(struct conversation *c)
{
	size_t first = conversation_has_system(c), end, last_user = c->n;

	for (end = c->n; end > first; end--)
		if (strcmp(c->msgs[end - 1].role, "user") == 0) {
			last_user = end - 1;
			break;
		}
	/* the oldest turn: from first to the next user message */
	for (end = first + 1; end < c->n; end++)
		if (strcmp(c->msgs[end].role, "user") == 0)
			break;
	if (first >= c->n || end > last_user)
		return -1;
	conversation_cut(c, first, end);
	return 0;
}

json_t *
conversation_json(const struct conversation *c)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < c->n; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "role",
		    c->msgs[i].role, "content", c->msgs[i].content));
	return a;
}

int
conversation_save(const struct conversation *c, const char *path,
    char **cause)
{
	json_t *a = conversation_json(c);
	int rc;

	rc = json_dump_file(a, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(a);
	if (rc != 0)
		return set_cause(cause, "cannot write '%s': %s", path,
		    strerror(errno));
	return 0;
}

/* Checks one message of a loaded file; 0, or -1 with *cause. */
static int
conversation_check(json_t *m, size_t i, const char *path, char **cause)
{
	json_t *role = json_object_get(m, "role");
	json_t *content = json_object_get(m, "content");
	const char *r;

	if (!json_is_string(role) || !json_is_string(content))
		return set_cause(cause, "'%s': message %zu needs a string role "
		    "and content", path, i);
	r = json_string_value(role);
	if (strcmp(r, "system") != 0 && strcmp(r, "user") != 0 &&
	    strcmp(r, "assistant") != 0)
		return set_cause(cause, "'%s': message %zu: role '%s' is not "
		    "system, user or assistant", path, i, r);
	if (strcmp(r, "system") == 0 && i > 0)
		return set_cause(cause, "'%s': message %zu: a system message "
		    "comes first", path, i);
	return 0;
}

int
conversation_load(struct conversation *c, const char *path, char **cause)
{
	struct conversation next;
	struct stat st;
	json_error_t jerr;
	json_t *a, *m;
	size_t i;

	if (stat(path, &st) != 0)
		return set_cause(cause, "cannot open '%s': %s", path,
		    strerror(errno));
	if (st.st_size > CONVERSATION_FILE_MAX)
		return set_cause(cause, "'%s': larger than %u bytes", path,
		    CONVERSATION_FILE_MAX);
	if ((a = json_load_file(path, 0, &jerr)) == NULL)
		return set_cause(cause, "'%s': line %d: %s", path, jerr.line,
		    jerr.text);
	if (!json_is_array(a)) {
		json_decref(a);
		return set_cause(cause, "'%s': not an array of messages", path);
	}
	conversation_init(&next);
	json_array_foreach(a, i, m) {
		if (conversation_check(m, i, path, cause) != 0) {
			conversation_release(&next);
			json_decref(a);
			return -1;
		}
		conversation_add(&next, json_string_value(json_object_get(m,
		    "role")), json_string_value(json_object_get(m,
		    "content")));
	}
	json_decref(a);
	conversation_release(c);
	*c = next;
	return 0;
}
