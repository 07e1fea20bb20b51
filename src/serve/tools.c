/*
 * Tool rendering and call parsing per template family (see tools.h). The
 * wording of the prompts follows the families' reference templates (Qwen
 * 2.5's for Hermes, Llama 3.1's JSON tool calling) so that models trained
 * on them recognise it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/chat.h"
#include "serve/tools.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define TOOLS_MAX_CALLS	64

enum tools_family
tools_family(const struct chat_template *t)
{
	return t->format == CHAT_LLAMA31 ? TOOLS_LLAMA31 : TOOLS_HERMES;
}

int
tools_check(json_t *tools, json_t *choice, const char **must, int *none,
    char **param, char **cause)
{
	json_t *t, *fn, *name;
	const char *s, *want;
	size_t i;

	*must = NULL;
	*none = 0;
	if (tools != NULL && !json_is_null(tools)) {
		if (!json_is_array(tools)) {
			*param = xstrdup("tools");
			return set_cause(cause, "tools must be an array");
		}
		for (i = 0; i < json_array_size(tools); i++) {
			t = json_array_get(tools, i);
			fn = json_object_get(t, "function");
			s = json_string_value(json_object_get(t, "type"));
			if (s == NULL || strcmp(s, "function") != 0 ||
			    !json_is_object(fn) || !json_is_string(
			    json_object_get(fn, "name"))) {
				*param = xasprintf("tools[%zu]", i);
				return set_cause(cause, "tools[%zu] must be "
				    "{\"type\":\"function\",\"function\":"
				    "{\"name\":...}}", i);
			}
		}
	}
	if (choice == NULL || json_is_null(choice))
		return 0;
	if (json_is_string(choice)) {
		s = json_string_value(choice);
		if (strcmp(s, "none") == 0)
			*none = 1;
		else if (strcmp(s, "required") == 0)
			*must = "";
		else if (strcmp(s, "auto") != 0) {
			*param = xstrdup("tool_choice");
			return set_cause(cause, "tool_choice '%s' is not none, "
			    "auto, required or a function", s);
		}
	} else {
		name = json_object_get(json_object_get(choice, "function"),
		    "name");
		if ((want = json_string_value(name)) == NULL) {
			*param = xstrdup("tool_choice");
			return set_cause(cause, "tool_choice must be a string "
			    "or {\"type\":\"function\",\"function\":"
			    "{\"name\":...}}");
		}
		for (i = 0; i < json_array_size(tools); i++) {
			t = json_array_get(tools, i);
			if (strcmp(json_string_value(json_object_get(
			    json_object_get(t, "function"), "name")),
			    want) == 0)
				break;
		}
		if (!json_is_array(tools) || i == json_array_size(tools)) {
			*param = xstrdup("tool_choice");
			return set_cause(cause, "tool_choice names '%s', which "
			    "is not in tools", want);
		}
		*must = want;
	}
	if (*must != NULL && (!json_is_array(tools) ||
	    json_array_size(tools) == 0)) {
		*param = xstrdup("tool_choice");
		return set_cause(cause, "tool_choice needs a call but tools "
		    "is empty");
	}
	return 0;
}

static void
tools_add_json(struct strbuf *out, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);

	if (s != NULL) {
		strbuf_adds(out, s);
		free(s);
	}
}

static void
tools_must(const char *must, struct strbuf *out)
{
	if (must == NULL)
		return;
	if (*must == '\0')
		strbuf_adds(out, "\n\nYou must call at least one of the "
		    "functions.");
	else
		strbuf_addf(out, "\n\nYou must call the function %s.", must);
}

void
tools_prompt(enum tools_family f, json_t *tools, const char *must,
    struct strbuf *out)
{
	json_t *t;
	size_t i;

	if (f == TOOLS_LLAMA31) {
		strbuf_adds(out, "Given the following functions, please respond "
		    "with a JSON for a function call with its proper arguments "
		    "that best answers the given prompt.\n\nRespond in the "
		    "format {\"name\": function name, \"parameters\": "
		    "dictionary of argument name and its value}. Do not use "
		    "variables.");
		tools_must(must, out);
		strbuf_adds(out, "\n\n");
		for (i = 0; i < json_array_size(tools); i++) {
			t = json_array_get(tools, i);
			tools_add_json(out, t);
			strbuf_adds(out, "\n\n");
		}
		return;
	}
	strbuf_adds(out, "# Tools\n\nYou may call one or more functions to "
	    "assist with the user query.\n\nYou are provided with function "
	    "signatures within <tools></tools> XML tags:\n<tools>");
	for (i = 0; i < json_array_size(tools); i++) {
		t = json_array_get(tools, i);
		strbuf_addc(out, '\n');
		tools_add_json(out, t);
	}
	strbuf_adds(out, "\n</tools>\n\nFor each function call, return a json "
	    "object with function name and arguments within "
	    "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
	    "<function-name>, \"arguments\": <args-json-object>}\n"
	    "</tool_call>");
	tools_must(must, out);
}

void
tools_format_calls(enum tools_family f, json_t *calls, struct strbuf *out)
{
	json_t *c, *fn, *args, *parsed, *jname;
	const char *name;
	size_t i;

	for (i = 0; i < json_array_size(calls); i++) {
		c = json_array_get(calls, i);
		fn = json_object_get(c, "function");
		if ((name = json_string_value(json_object_get(fn,
		    "name"))) == NULL)
			continue;
		args = json_object_get(fn, "arguments");
		/* Arguments travel as a JSON string; the model wrote JSON. */
		parsed = json_is_string(args) ? json_loads(json_string_value(
		    args), JSON_DECODE_ANY, NULL) : json_incref(args);
		if (parsed == NULL)
			parsed = json_object();
		if (out->len > 0)
			strbuf_addc(out, f == TOOLS_LLAMA31 ? ';' : '\n');
		strbuf_adds(out, f == TOOLS_LLAMA31 ? "{\"name\": " :
		    "<tool_call>\n{\"name\": ");
		jname = json_string(name);
		tools_add_json(out, jname);
		json_decref(jname);
		strbuf_adds(out, f == TOOLS_LLAMA31 ? ", \"parameters\": " :
		    ", \"arguments\": ");
		tools_add_json(out, parsed);
		strbuf_adds(out, f == TOOLS_LLAMA31 ? "}" : "}\n</tool_call>");
		json_decref(parsed);
	}
}

/* One call object -> OpenAI's form; NULL when it is not a call. */
static json_t *
tools_call(json_t *o, const char *id_tag, size_t n)
{
	json_t *name = json_object_get(o, "name"), *args, *call;
	char *s, id[96];

	if (!json_is_object(o) || !json_is_string(name))
		return NULL;
	if ((args = json_object_get(o, "arguments")) == NULL)
		args = json_object_get(o, "parameters");
	if (args == NULL)
		s = xstrdup("{}");
	else if (json_is_string(args))
		s = xstrdup(json_string_value(args));
	else if ((s = json_dumps(args, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY)) == NULL)
		return NULL;
	snprintf(id, sizeof(id), "call_%s_%zu", id_tag, n);
	call = json_pack("{s:s,s:s,s:{s:O,s:s}}", "id", id, "type",
	    "function", "function", "name", name, "arguments", s);
	free(s);
	return call;
}

static int
tools_space(char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* Allocated copy without the whitespace at its ends; NULL when empty. */
static char *
tools_trimmed(const char *s, size_t len)
{
	while (len > 0 && tools_space(*s)) {
		s++;
		len--;
	}
	while (len > 0 && tools_space(s[len - 1]))
		len--;
	return len > 0 ? xstrndup(s, len) : NULL;
}

static json_t *
tools_parse_hermes(const char *text, const char *id_tag, char **content)
{
	static const char open[] = "<tool_call>", close[] = "</tool_call>";
	struct strbuf rest = STRBUF_INIT;
	const char *p = text, *b, *e, *next;
	json_t *calls = json_array(), *o, *call;

	while ((b = strstr(p, open)) != NULL &&
	    json_array_size(calls) < TOOLS_MAX_CALLS) {
		strbuf_add(&rest, p, (size_t)(b - p));
		b += sizeof(open) - 1;
		/* The last call may end at end-of-generation, unclosed. */
		if ((e = strstr(b, close)) != NULL)
			next = e + sizeof(close) - 1;
		else
			next = e = b + strlen(b);
		o = json_loadb(b, (size_t)(e - b), 0, NULL);
		call = tools_call(o, id_tag, json_array_size(calls));
		json_decref(o);
		if (call == NULL)
			goto text;
		json_array_append_new(calls, call);
		p = next;
	}
	if (json_array_size(calls) == 0)
		goto text;
	strbuf_adds(&rest, p);
	*content = tools_trimmed(rest.buf ? rest.buf : "", rest.len);
	strbuf_release(&rest);
	return calls;
text:
	strbuf_release(&rest);
	json_decref(calls);
	return NULL;
}

static json_t *
tools_parse_llama31(const char *text, const char *id_tag, char **content)
{
	static const char tag[] = "<|python_tag|>";
	json_t *calls = json_array(), *o, *call;
	json_error_t jerr;
	const char *p = text;

	while (tools_space(*p))
		p++;
	if (strncmp(p, tag, sizeof(tag) - 1) == 0)
		p += sizeof(tag) - 1;
	while (*p != '\0' && json_array_size(calls) < TOOLS_MAX_CALLS) {
		while (tools_space(*p) || *p == ';')
			p++;
		if (*p == '\0')
			break;
		if (*p != '{' || (o = json_loads(p, JSON_DISABLE_EOF_CHECK,
		    &jerr)) == NULL)
			goto text;
		call = tools_call(o, id_tag, json_array_size(calls));
		json_decref(o);
		if (call == NULL)
			goto text;
		json_array_append_new(calls, call);
		p += jerr.position;
	}
	if (json_array_size(calls) == 0 || *p != '\0')
		goto text;
	*content = NULL;
	return calls;
text:
	json_decref(calls);
	return NULL;
}

json_t *
tools_parse(enum tools_family f, const char *text, const char *id_tag,
    char **content)
{
	*content = NULL;
	if (f == TOOLS_LLAMA31)
		return tools_parse_llama31(text, id_tag, content);
	return tools_parse_hermes(text, id_tag, content);
}

size_t
tools_stream_safe(enum tools_family f, const char *text, size_t n,
    size_t sent, int *held)
{
	static const char tag[] = "<tool_call>";
	const char *p;
	size_t i, k;

	if (*held)
		return sent;
	if (f == TOOLS_LLAMA31) {
		for (i = 0; i < n && tools_space(text[i]); i++)
			;
		if (i == n)
			return sent;
		if (text[i] == '{' || text[i] == '<') {
			*held = 1;
			return sent;
		}
		return n;
	}
	if ((p = strstr(text + sent, tag)) != NULL) {
		*held = 1;
		return (size_t)(p - text);
	}
	for (k = sizeof(tag) - 2; k > 0; k--)
		if (k <= n - sent && memcmp(text + n - k, tag, k) == 0)
			return n - k;
	return n;
}

void
tools_add_to_chat(enum tools_family family, json_t *tools, const char *must,
    const char *def, struct chat_message **cm, struct strbuf **texts,
    size_t *n)
{
	struct strbuf tp = STRBUF_INIT, *t;
	size_t i;

	tools_prompt(family, tools, must, &tp);
	if (family == TOOLS_LLAMA31) {
		for (i = 0; i < *n && strcmp((*cm)[i].role, "user") != 0; i++)
			;
		if (i < *n) {
			t = &(*texts)[i];
			strbuf_adds(&tp, t->buf != NULL ? t->buf : "");
			strbuf_release(t);
			*t = tp;
			(*cm)[i].content = t->buf;
			return;
		}
		/* No user turn: the tools go in the system turn instead. */
	}
	if (*n == 0 || strcmp((*cm)[0].role, "system") != 0) {
		*cm = xreallocarray(*cm, *n + 1, sizeof(**cm));
		*texts = xreallocarray(*texts, *n + 1, sizeof(**texts));
		memmove(*cm + 1, *cm, *n * sizeof(**cm));
		memmove(*texts + 1, *texts, *n * sizeof(**texts));
		(*n)++;
		strbuf_init(&(*texts)[0]);
		(*cm)[0].role = "system";
		if (def != NULL)
			strbuf_adds(&(*texts)[0], def);
		/* The moved strbufs' buffers did not move. */
	}
	t = &(*texts)[0];
	if (t->len > 0)
		strbuf_adds(t, "\n\n");
	strbuf_add(t, tp.buf != NULL ? tp.buf : "", tp.len);
	(*cm)[0].content = t->buf;
	strbuf_release(&tp);
}
