/*
 * YAML text to a tree and back with libyaml's event API. The tree keeps
 * what libyaml reports of each node (tag, anchor, quoting and flow style)
 * so a document round-trips with only the edited key changed.
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yamldoc.h"
#include "util/xmalloc.h"

struct yamldoc_parser {
	yaml_parser_t	 parser;
	const char	*name;
	const char	*text;
	size_t		 len;
	char		**cause;
};

static int
yamldoc_parser_error(struct yamldoc_parser *p)
{
	yaml_parser_t *y = &p->parser;
	size_t line = y->problem_mark.line + 1, col = y->problem_mark.column + 1;
	size_t i;

	if (y->error == YAML_MEMORY_ERROR)
		return set_cause(p->cause, "%s: out of memory", p->name);
	if (y->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a mark. */
		line = col = 1;
		for (i = 0; i < y->problem_offset && i < p->len; i++) {
			if (p->text[i] == '\n') {
				line++;
				col = 1;
			} else
				col++;
		}
	}
	if (y->context != NULL)
		return set_cause(p->cause, "%s:%zu:%zu: %s (%s at %zu:%zu)",
		    p->name, line, col, y->problem ? y->problem : "syntax error",
		    y->context, y->context_mark.line + 1,
		    y->context_mark.column + 1);
	return set_cause(p->cause, "%s:%zu:%zu: %s", p->name, line, col,
	    y->problem ? y->problem : "syntax error");
}

static int
yamldoc_next(struct yamldoc_parser *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&p->parser, ev))
		return yamldoc_parser_error(p);
	return 0;
}

static char *
yamldoc_strdup(const yaml_char_t *s)
{
	return s != NULL ? xstrdup((const char *)s) : NULL;
}

static void
yamldoc_push(struct yamldoc_node *n, struct yamldoc_node *item)
{
	n->items = xreallocarray(n->items, n->n + 1, sizeof(*n->items));
	n->items[n->n++] = item;
}

/* Builds the node that starts with ev (which the caller deletes). */
static struct yamldoc_node *
yamldoc_node(struct yamldoc_parser *p, yaml_event_t *ev, int depth)
{
	struct yamldoc_node *n = xcalloc(1, sizeof(*n)), *child;
	yaml_event_type_t end;
	yaml_event_t e;

	n->line = ev->start_mark.line + 1;
	n->col = ev->start_mark.column + 1;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->kind = YAMLDOC_SCALAR;
		n->value = xstrndup((const char *)ev->data.scalar.value,
		    ev->data.scalar.length);
		n->tag = yamldoc_strdup(ev->data.scalar.tag);
		n->anchor = yamldoc_strdup(ev->data.scalar.anchor);
		n->style = ev->data.scalar.style;
		n->implicit = ev->data.scalar.plain_implicit;
		n->quoted_implicit = ev->data.scalar.quoted_implicit;
		return n;
	case YAML_ALIAS_EVENT:
		n->kind = YAMLDOC_ALIAS;
		n->value = yamldoc_strdup(ev->data.alias.anchor);
		return n;
	case YAML_SEQUENCE_START_EVENT:
		n->kind = YAMLDOC_SEQ;
		n->tag = yamldoc_strdup(ev->data.sequence_start.tag);
		n->anchor = yamldoc_strdup(ev->data.sequence_start.anchor);
		n->style = ev->data.sequence_start.style;
		n->implicit = ev->data.sequence_start.implicit;
		end = YAML_SEQUENCE_END_EVENT;
		break;
	case YAML_MAPPING_START_EVENT:
		n->kind = YAMLDOC_MAP;
		n->tag = yamldoc_strdup(ev->data.mapping_start.tag);
		n->anchor = yamldoc_strdup(ev->data.mapping_start.anchor);
		n->style = ev->data.mapping_start.style;
		n->implicit = ev->data.mapping_start.implicit;
		end = YAML_MAPPING_END_EVENT;
		break;
	default:
		set_cause(p->cause, "%s:%zu:%zu: unexpected YAML event", p->name,
		    n->line, n->col);
		goto fail;
	}
	if (depth >= YAMLDOC_MAX_DEPTH) {
		set_cause(p->cause, "%s:%zu:%zu: nested too deeply", p->name,
		    n->line, n->col);
		goto fail;
	}
	for (;;) {
		if (yamldoc_next(p, &e) != 0)
			goto fail;
		if (e.type == end) {
			yaml_event_delete(&e);
			break;
		}
		if (n->kind == YAMLDOC_MAP && n->n % 2 == 0 &&
		    e.type != YAML_SCALAR_EVENT) {
			set_cause(p->cause, "%s:%zu:%zu: a mapping key must be "
			    "plain text", p->name, e.start_mark.line + 1,
			    e.start_mark.column + 1);
			yaml_event_delete(&e);
			goto fail;
		}
		child = yamldoc_node(p, &e, depth + 1);
		yaml_event_delete(&e);
		if (child == NULL)
			goto fail;
		yamldoc_push(n, child);
	}
	return n;
fail:
	yamldoc_free(n);
	return NULL;
}

int
yamldoc_parse(const char *name, const char *text, size_t len,
    struct yamldoc_node **root, char **cause)
{
	struct yamldoc_parser p;
	yaml_event_t ev;
	int rc = -1, have_ev = 0;

	*root = NULL;
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.text = text;
	p.len = len;
	p.cause = cause;
	if (len > YAMLDOC_MAX_SIZE)
		return set_cause(cause, "%s: larger than %d bytes", name,
		    YAMLDOC_MAX_SIZE);
	if (!yaml_parser_initialize(&p.parser))
		return set_cause(cause, "%s: out of memory", name);
	yaml_parser_set_input_string(&p.parser, (const unsigned char *)text, len);

	/* STREAM-START, then DOCUMENT-START or STREAM-END. */
	if (yamldoc_next(&p, &ev) != 0)
		goto out;
	yaml_event_delete(&ev);
	if (yamldoc_next(&p, &ev) != 0)
		goto out;
	have_ev = 1;
	if (ev.type == YAML_STREAM_END_EVENT) {
		rc = 0;
		goto out;
	}
	yaml_event_delete(&ev);
	have_ev = 0;
	if (yamldoc_next(&p, &ev) != 0)
		goto out;
	have_ev = 1;
	if ((*root = yamldoc_node(&p, &ev, 0)) == NULL)
		goto out;
	yaml_event_delete(&ev);
	have_ev = 0;
	/* DOCUMENT-END, then STREAM-END: one document only. */
	if (yamldoc_next(&p, &ev) != 0)
		goto out;
	yaml_event_delete(&ev);
	if (yamldoc_next(&p, &ev) != 0)
		goto out;
	have_ev = 1;
	if (ev.type != YAML_STREAM_END_EVENT) {
		set_cause(cause, "%s:%zu:%zu: more than one YAML document", name,
		    ev.start_mark.line + 1, ev.start_mark.column + 1);
		goto out;
	}
	rc = 0;
out:
	if (have_ev)
		yaml_event_delete(&ev);
	if (rc != 0) {
		yamldoc_free(*root);
		*root = NULL;
	}
	yaml_parser_delete(&p.parser);
	return rc;
}

static int
yamldoc_write(void *data, unsigned char *buf, size_t size)
{
	strbuf_add(data, buf, size);
	return 1;
}

static int
yamldoc_emit_node(yaml_emitter_t *em, const struct yamldoc_node *n)
{
	yaml_event_t ev;
	size_t i;

	switch (n->kind) {
	case YAMLDOC_SCALAR:
		if (!yaml_scalar_event_initialize(&ev, (yaml_char_t *)n->anchor,
		    (yaml_char_t *)n->tag, (yaml_char_t *)n->value,
		    (int)strlen(n->value), n->implicit, n->quoted_implicit,
		    n->style))
			return -1;
		return yaml_emitter_emit(em, &ev) ? 0 : -1;
	case YAMLDOC_ALIAS:
		if (!yaml_alias_event_initialize(&ev, (yaml_char_t *)n->value))
			return -1;
		return yaml_emitter_emit(em, &ev) ? 0 : -1;
	case YAMLDOC_SEQ:
		if (!yaml_sequence_start_event_initialize(&ev,
		    (yaml_char_t *)n->anchor, (yaml_char_t *)n->tag, n->implicit,
		    n->style))
			return -1;
		break;
	case YAMLDOC_MAP:
		if (!yaml_mapping_start_event_initialize(&ev,
		    (yaml_char_t *)n->anchor, (yaml_char_t *)n->tag, n->implicit,
		    n->style))
			return -1;
		break;
	}
	if (!yaml_emitter_emit(em, &ev))
		return -1;
	for (i = 0; i < n->n; i++)
		if (yamldoc_emit_node(em, n->items[i]) != 0)
			return -1;
	if (n->kind == YAMLDOC_SEQ)
		yaml_sequence_end_event_initialize(&ev);
	else
		yaml_mapping_end_event_initialize(&ev);
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

int
yamldoc_emit(const struct yamldoc_node *root, struct strbuf *out, char **cause)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	int rc = -1;

	/* Nothing set: an empty file, not "{}". */
	if (root == NULL || (root->kind == YAMLDOC_MAP && root->n == 0))
		return 0;
	if (!yaml_emitter_initialize(&em))
		return set_cause(cause, "out of memory");
	yaml_emitter_set_output(&em, yamldoc_write, out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_indent(&em, 2);
	yaml_emitter_set_width(&em, -1);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(&em, &ev))
		goto out;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(&em, &ev))
		goto out;
	if (yamldoc_emit_node(&em, root) != 0)
		goto out;
	if (!yaml_document_end_event_initialize(&ev, 1) ||
	    !yaml_emitter_emit(&em, &ev))
		goto out;
	if (!yaml_stream_end_event_initialize(&ev) ||
	    !yaml_emitter_emit(&em, &ev))
		goto out;
	rc = 0;
out:
	if (rc != 0)
		set_cause(cause, "cannot write YAML: %s",
		    em.problem != NULL ? em.problem : "bad document");
	yaml_emitter_delete(&em);
	return rc;
}

void
yamldoc_free(struct yamldoc_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++)
		yamldoc_free(n->items[i]);
	free(n->items);
	free(n->value);
	free(n->tag);
	free(n->anchor);
	free(n);
}

struct yamldoc_node *
yamldoc_scalar_new(const char *value, int quoted)
{
	struct yamldoc_node *n = xcalloc(1, sizeof(*n));

	n->kind = YAMLDOC_SCALAR;
	n->value = xstrdup(value);
	n->style = quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE :
	    YAML_ANY_SCALAR_STYLE;
	n->implicit = n->quoted_implicit = 1;
	return n;
}

struct yamldoc_node *
yamldoc_seq_new(void)
{
	struct yamldoc_node *n = xcalloc(1, sizeof(*n));

	n->kind = YAMLDOC_SEQ;
	n->style = YAML_BLOCK_SEQUENCE_STYLE;
	n->implicit = 1;
	return n;
}

struct yamldoc_node *
yamldoc_map_new(void)
{
	struct yamldoc_node *n = xcalloc(1, sizeof(*n));

	n->kind = YAMLDOC_MAP;
	n->style = YAML_BLOCK_MAPPING_STYLE;
	n->implicit = 1;
	return n;
}

void
yamldoc_append(struct yamldoc_node *seq, struct yamldoc_node *item)
{
	yamldoc_push(seq, item);
}

int
yamldoc_is_null(const struct yamldoc_node *n)
{
	if (n->kind != YAMLDOC_SCALAR || n->tag != NULL ||
	    n->style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return n->value[0] == '\0' || strcmp(n->value, "~") == 0 ||
	    strcmp(n->value, "null") == 0 || strcmp(n->value, "Null") == 0 ||
	    strcmp(n->value, "NULL") == 0;
}

/* Does map key k name key itself (1) or a mapping on its path (2)? */
static int
yamldoc_match(const struct yamldoc_node *k, const char *key)
{
	size_t len;

	if (k->kind != YAMLDOC_SCALAR || k->value[0] == '\0')
		return 0;
	if (strcmp(k->value, key) == 0)
		return 1;
	len = strlen(k->value);
	if (strncmp(k->value, key, len) == 0 && key[len] == '.')
		return 2;
	return 0;
}

/* The mapping holding the first match of key, and the key's index in it. */
static struct yamldoc_node *
yamldoc_locate(struct yamldoc_node *map, const char *key, size_t *idx)
{
	struct yamldoc_node *found;
	size_t i;
	int m;

	if (map == NULL || map->kind != YAMLDOC_MAP)
		return NULL;
	for (i = 0; i + 1 < map->n; i += 2) {
		m = yamldoc_match(map->items[i], key);
		if (m == 1) {
			*idx = i;
			return map;
		}
		if (m == 2 && (found = yamldoc_locate(map->items[i + 1],
		    key + strlen(map->items[i]->value) + 1, idx)) != NULL)
			return found;
	}
	return NULL;
}

struct yamldoc_node *
yamldoc_get(struct yamldoc_node *root, const char *key)
{
	struct yamldoc_node *m;
	size_t i;

	if ((m = yamldoc_locate(root, key, &i)) == NULL)
		return NULL;
	return m->items[i + 1];
}

static void
yamldoc_remove_pair(struct yamldoc_node *map, size_t i)
{
	yamldoc_free(map->items[i]);
	yamldoc_free(map->items[i + 1]);
	memmove(&map->items[i], &map->items[i + 2],
	    (map->n - i - 2) * sizeof(*map->items));
	map->n -= 2;
}

/* Removes the matches of key after the first *keep of them. */
static int
yamldoc_remove(struct yamldoc_node *map, const char *key, int *keep)
{
	struct yamldoc_node *v;
	size_t i = 0;
	int m, removed = 0, sub;

	if (map == NULL || map->kind != YAMLDOC_MAP)
		return 0;
	while (i + 1 < map->n) {
		m = yamldoc_match(map->items[i], key);
		if (m == 1 && *keep > 0) {
			(*keep)--;
		} else if (m == 1) {
			yamldoc_remove_pair(map, i);
			removed++;
			continue;
		} else if (m == 2) {
			v = map->items[i + 1];
			sub = yamldoc_remove(v, key + strlen(map->items[i]->value) +
			    1, keep);
			removed += sub;
			if (sub > 0 && v->kind == YAMLDOC_MAP && v->n == 0) {
				yamldoc_remove_pair(map, i);
				continue;
			}
		}
		i += 2;
	}
	return removed;
}

int
yamldoc_unset(struct yamldoc_node *root, const char *key)
{
	int keep = 0;

	return yamldoc_remove(root, key, &keep);
}

void
yamldoc_set(struct yamldoc_node **root, const char *key,
    struct yamldoc_node *value)
{
	struct yamldoc_node *m, *v, *k;
	const char *rest = key, *dot;
	size_t i, len;
	int keep = 1;

	if ((m = yamldoc_locate(*root, key, &i)) != NULL) {
		/* Replace the first match; drop the rest. */
		yamldoc_free(m->items[i + 1]);
		m->items[i + 1] = value;
		yamldoc_remove(*root, key, &keep);
		return;
	}
	if (*root == NULL || yamldoc_is_null(*root)) {
		yamldoc_free(*root);
		*root = yamldoc_map_new();
	}
	m = *root;
	while ((dot = strchr(rest, '.')) != NULL) {
		len = (size_t)(dot - rest);
		for (i = 0; i + 1 < m->n; i += 2) {
			k = m->items[i];
			if (k->kind == YAMLDOC_SCALAR && strlen(k->value) == len &&
			    strncmp(k->value, rest, len) == 0)
				break;
		}
		if (i + 1 < m->n) {
			v = m->items[i + 1];
			if (yamldoc_is_null(v)) {
				yamldoc_free(v);
				v = m->items[i + 1] = yamldoc_map_new();
			} else if (v->kind != YAMLDOC_MAP)
				break;	/* keep it; add the key flat */
		} else {
			k = xcalloc(1, sizeof(*k));
			k->kind = YAMLDOC_SCALAR;
			k->value = xstrndup(rest, len);
			k->implicit = k->quoted_implicit = 1;
			v = yamldoc_map_new();
			yamldoc_push(m, k);
			yamldoc_push(m, v);
		}
		m = v;
		rest = dot + 1;
	}
	yamldoc_push(m, yamldoc_scalar_new(rest, 0));
	yamldoc_push(m, value);
}
