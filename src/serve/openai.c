/*
 * The checks of an OpenAI request, field by field, in the order a client
 * is best told about them: the JSON, the model, the tools, the sampling
 * and limits, then the messages or the prompt. Each failure says which
 * field is wrong (param) so that a 400 is actionable.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/openai.h"
#include "serve/tools.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

static int
openai_fail(struct openai_error *e, int status, const char *param,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
openai_fail(struct openai_error *e, int status, const char *param,
    const char *code, const char *fmt, ...)
{
	va_list ap;

	free(e->param);
	free(e->message);
	e->status = status;
	e->param = param != NULL ? xstrdup(param) : NULL;
	e->code = code;
	va_start(ap, fmt);
	e->message = xvasprintf(fmt, ap);
	va_end(ap);
	return -1;
}

/* A field error: a 400 naming the field, whose name is built by fmt. */
static int
openai_invalid(struct openai_error *e, char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
openai_invalid(struct openai_error *e, char *param, const char *fmt, ...)
{
	va_list ap;

	free(e->param);
	free(e->message);
	e->status = 400;
	e->param = param;
	e->code = "invalid_value";
	va_start(ap, fmt);
	e->message = xvasprintf(fmt, ap);
	va_end(ap);
	return -1;
}

json_t *
openai_error_json(int status, const char *param, const char *code,
    const char *message)
{
	const char *type;
	char *msg;
	json_t *o;

	switch (status) {
	case 401:
		type = "authentication_error";
		break;
	case 404:
		type = "not_found_error";
		break;
	case 429:
		type = "rate_limit_error";
		break;
	default:
		type = status >= 500 ? "server_error" : "invalid_request_error";
		break;
	}
	/* The message may quote a path, a method or a peer: UTF-8 only. */
	msg = utf8_sanitize(message, strlen(message), NULL);
	o = json_pack("{s:{s:s,s:s,s:s?,s:s?}}", "error", "message", msg,
	    "type", type, "param", param, "code", code);
	free(msg);
	return o;
}

void
openai_error_release(struct openai_error *e)
{
	free(e->param);
	free(e->message);
	memset(e, 0, sizeof(*e));
}

void
openai_request_release(struct openai_request *r)
{
	size_t i;

	free(r->model);
	json_decref(r->tools);
	free(r->must);
	for (i = 0; i < r->n_messages; i++) {
		free(r->messages[i].content);
		json_decref(r->messages[i].tool_calls);
	}
	free(r->messages);
	free(r->prompt);
	free(r->prompt_ids);
	for (i = 0; i < (size_t)r->n_stop; i++)
		free(r->stops[i]);
	memset(r, 0, sizeof(*r));
}

/* --- messages and prompts ------------------------------------------------- */

/* A message's content: a string, null, or an array of text parts. */
static int
openai_content(json_t *v, size_t i, struct strbuf *sb, struct openai_error *e)
{
	json_t *part, *t;
	const char *type;
	size_t j;

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		strbuf_add(sb, json_string_value(v), json_string_length(v));
		return 0;
	}
	if (!json_is_array(v))
		return openai_invalid(e, xasprintf("messages[%zu].content", i),
		    "messages[%zu].content must be a string or an array of "
		    "content parts", i);
	for (j = 0; j < json_array_size(v); j++) {
		part = json_array_get(v, j);
		type = json_string_value(json_object_get(part, "type"));
		if (type == NULL)
			return openai_invalid(e, xasprintf("messages[%zu]."
			    "content[%zu].type", i, j), "messages[%zu]."
			    "content[%zu] has no type", i, j);
		if (strcmp(type, "text") != 0)
			return openai_invalid(e, xasprintf("messages[%zu]."
			    "content[%zu].type", i, j), "content part type "
			    "'%s' is not supported (messages[%zu]."
			    "content[%zu]): this model takes text only", type,
			    i, j);
		if (!json_is_string(t = json_object_get(part, "text")))
			return openai_invalid(e, xasprintf("messages[%zu]."
			    "content[%zu].text", i, j), "messages[%zu]."
			    "content[%zu].text must be a string", i, j);
		strbuf_add(sb, json_string_value(t), json_string_length(t));
	}
	return 0;
}

/* An assistant turn's earlier tool calls: each names its function. */
static int
openai_tool_calls(json_t *calls, size_t i, struct openai_error *e)
{
	size_t j;

	if (!json_is_array(calls))
		return openai_invalid(e, xasprintf("messages[%zu].tool_calls",
		    i), "messages[%zu].tool_calls must be an array", i);
	for (j = 0; j < json_array_size(calls); j++)
		if (!json_is_string(json_object_get(json_object_get(
		    json_array_get(calls, j), "function"), "name")))
			return openai_invalid(e, xasprintf("messages[%zu]."
			    "tool_calls[%zu].function.name", i, j),
			    "messages[%zu].tool_calls[%zu] has no function "
			    "name", i, j);
	return 0;
}

static int
openai_messages(json_t *msgs, struct openai_request *r,
    struct openai_error *e)
{
	struct openai_message *m;
	struct strbuf sb;
	const char *role;
	json_t *o, *calls;
	size_t i, n;

	if (!json_is_array(msgs) || (n = json_array_size(msgs)) == 0)
		return openai_invalid(e, xstrdup("messages"), "messages must "
		    "be a non-empty array");
	r->messages = xcalloc(n, sizeof(*r->messages));
	for (i = 0; i < n; i++) {
		o = json_array_get(msgs, i);
		m = &r->messages[r->n_messages];
		if (!json_is_object(o) || (role = json_string_value(
		    json_object_get(o, "role"))) == NULL)
			return openai_invalid(e, xasprintf("messages[%zu].role",
			    i), "messages[%zu] must be an object with a role",
			    i);
		if (strcmp(role, "system") == 0 ||
		    strcmp(role, "developer") == 0)
			m->role = OPENAI_ROLE_SYSTEM;
		else if (strcmp(role, "user") == 0)
			m->role = OPENAI_ROLE_USER;
		else if (strcmp(role, "assistant") == 0)
			m->role = OPENAI_ROLE_ASSISTANT;
		else if (strcmp(role, "tool") == 0)
			m->role = OPENAI_ROLE_TOOL;
		else
			return openai_invalid(e, xasprintf("messages[%zu].role",
			    i), "messages[%zu].role '%s' is not one of system, "
			    "developer, user, assistant, tool", i, role);
		strbuf_init(&sb);
		if (openai_content(json_object_get(o, "content"), i, &sb,
		    e) != 0) {
			strbuf_release(&sb);
			return -1;
		}
		m->content = sb.buf != NULL ? strbuf_detach(&sb, NULL) :
		    xstrdup("");
		r->n_messages++;
		calls = json_object_get(o, "tool_calls");
		if (m->role != OPENAI_ROLE_ASSISTANT || calls == NULL ||
		    json_is_null(calls))
			continue;
		if (openai_tool_calls(calls, i, e) != 0)
			return -1;
		m->tool_calls = json_incref(calls);
	}
	return 0;
}

static int
openai_prompt(json_t *p, const struct openai_limits *lim,
    struct openai_request *r, struct openai_error *e)
{
	json_int_t id;
	json_t *v;
	size_t i, n;

	if (json_is_array(p) && json_array_size(p) == 1 &&
	    json_is_string(json_array_get(p, 0)))
		p = json_array_get(p, 0);
	if (json_is_string(p)) {
		r->prompt_len = json_string_length(p);
		r->prompt = xmalloc(r->prompt_len + 1);
		memcpy(r->prompt, json_string_value(p), r->prompt_len + 1);
		return 0;
	}
	if (!json_is_array(p))
		return openai_invalid(e, xstrdup("prompt"), "prompt must be a "
		    "string or an array of token ids");
	n = json_array_size(p);
	r->prompt_ids = xcalloc(n > 0 ? n : 1, sizeof(*r->prompt_ids));
	for (i = 0; i < n; i++) {
		v = json_array_get(p, i);
		if (!json_is_integer(v) || (id = json_integer_value(v)) < 0 ||
		    id >= (json_int_t)lim->n_vocab)
			return openai_invalid(e, xstrdup("prompt"),
			    "prompt[%zu] is not a token id below %u", i,
			    lim->n_vocab);
		r->prompt_ids[i] = (int32_t)id;
	}
	r->n_prompt_ids = n;
	return 0;
}

/* --- sampling and limits -------------------------------------------------- */

/* A number field in [min, max]; absent and null leave *out alone. */
static int
openai_number(json_t *o, const char *key, double min, double max,
    double *out, struct openai_error *e)
{
	json_t *v = json_object_get(o, key);
	double d;

	if (v == NULL || json_is_null(v))
		return 0;
	d = json_number_value(v);
	if (!json_is_number(v) || !isfinite(d) || d < min || d > max)
		return openai_invalid(e, xstrdup(key), "%s must be a number "
		    "from %g to %g", key, min, max);
	*out = d;
	return 0;
}

static int
openai_integer(json_t *o, const char *key, json_int_t min, json_int_t max,
    json_int_t *out, struct openai_error *e)
{
	json_t *v = json_object_get(o, key);
	json_int_t d = 0;
	int is_int = 1;

	if (v == NULL || json_is_null(v))
		return 0;
	/* 3.0 is an integer to a JavaScript client. */
	if (json_is_real(v) && json_real_value(v) ==
	    floor(json_real_value(v)) && fabs(json_real_value(v)) < 9e15)
		d = (json_int_t)json_real_value(v);
	else if (json_is_integer(v))
		d = json_integer_value(v);
	else
		is_int = 0;
	if (!is_int || d < min || d > max)
		return openai_invalid(e, xstrdup(key), "%s must be an integer "
		    "from %lld to %lld", key, (long long)min, (long long)max);
	*out = d;
	return 0;
}

static int
openai_stop(json_t *v, struct openai_request *r, struct openai_error *e)
{
	json_t *s;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		if (json_string_length(v) > 0)
			r->stops[r->n_stop++] = xstrdup(json_string_value(v));
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) > OPENAI_MAX_STOP)
		return openai_invalid(e, xstrdup("stop"), "stop must be a "
		    "string or an array of at most %d strings",
		    OPENAI_MAX_STOP);
	for (i = 0; i < json_array_size(v); i++) {
		s = json_array_get(v, i);
		if (!json_is_string(s))
			return openai_invalid(e, xstrdup("stop"), "stop[%zu] "
			    "must be a string", i);
		if (json_string_length(s) > 0)
			r->stops[r->n_stop++] = xstrdup(json_string_value(s));
	}
	return 0;
}

/* OpenAI's defaults (temperature 1, top_p 1) rather than the terminal's. */
static int
openai_params(json_t *o, struct openai_request *r, struct openai_error *e)
{
	struct sampler_params *sp = &r->sampling;
	double temp = 1, top_p = 1, min_p = 0, pres = 0, freq = 0;
	json_int_t max = -1, n = 1, top_k = 0, seed = 0;
	json_t *v, *so;

	sampler_params_default(sp);
	if (openai_integer(o, "max_tokens", 1, 1 << 24, &max, e) != 0 ||
	    openai_integer(o, "max_completion_tokens", 1, 1 << 24, &max,
	    e) != 0 ||
	    openai_integer(o, "n", 1, 128, &n, e) != 0 ||
	    openai_integer(o, "top_k", 0, 1 << 24, &top_k, e) != 0 ||
	    openai_integer(o, "seed", INT64_MIN, INT64_MAX, &seed, e) != 0 ||
	    openai_number(o, "temperature", 0, 2, &temp, e) != 0 ||
	    openai_number(o, "top_p", 0, 1, &top_p, e) != 0 ||
	    openai_number(o, "min_p", 0, 1, &min_p, e) != 0 ||
	    openai_number(o, "presence_penalty", -2, 2, &pres, e) != 0 ||
	    openai_number(o, "frequency_penalty", -2, 2, &freq, e) != 0 ||
	    openai_stop(json_object_get(o, "stop"), r, e) != 0)
		return -1;
	if (n != 1)
		return openai_invalid(e, xstrdup("n"), "n must be 1: one "
		    "choice per request");
	if ((v = json_object_get(o, "stream")) != NULL && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return openai_invalid(e, xstrdup("stream"), "stream "
			    "must be a boolean");
		r->stream = json_is_true(v);
	}
	if ((so = json_object_get(o, "stream_options")) != NULL &&
	    !json_is_null(so)) {
		if (!json_is_object(so))
			return openai_invalid(e, xstrdup("stream_options"),
			    "stream_options must be an object");
		r->include_usage = json_is_true(json_object_get(so,
		    "include_usage"));
	}
	r->max_tokens = (int)max;
	sp->temperature = (float)temp;
	sp->top_p = (float)top_p;
	sp->top_k = (int)top_k;
	sp->min_p = (float)min_p;
	sp->presence_penalty = (float)pres;
	sp->frequency_penalty = (float)freq;
	v = json_object_get(o, "seed");
	r->has_seed = v != NULL && !json_is_null(v);
	sp->seed = r->has_seed ? (uint64_t)seed : 0;
	return 0;
}

/* --- the request ---------------------------------------------------------- */

static int
openai_known_model(const struct openai_limits *lim, const char *name)
{
	size_t i;

	for (i = 0; i < lim->n_models; i++)
		if (strcmp(name, lim->models[i]) == 0)
			return 1;
	return 0;
}

int
openai_parse(const char *body, size_t len, int chat,
    const struct openai_limits *lim, struct openai_request *r,
    struct openai_error *e)
{
	json_error_t jerr;
	json_t *o, *mv, *tools;
	const char *must;
	char *param = NULL, *cause = NULL;
	int rc = -1, none;

	memset(r, 0, sizeof(*r));
	memset(e, 0, sizeof(*e));
	r->chat = chat;
	r->max_tokens = -1;
	if ((o = json_loadb(body, len, 0, &jerr)) == NULL)
		return openai_fail(e, 400, NULL, "invalid_json", "the body is "
		    "not valid JSON: %s (line %d, column %d)", jerr.text,
		    jerr.line, jerr.column);
	if (!json_is_object(o)) {
		openai_fail(e, 400, NULL, "invalid_json", "the body must be a "
		    "JSON object");
		goto out;
	}
	mv = json_object_get(o, "model");
	if (!json_is_string(mv)) {
		openai_fail(e, 400, "model", "invalid_value", "model must be a "
		    "string naming a model of GET /v1/models");
		goto out;
	}
	if (!openai_known_model(lim, json_string_value(mv))) {
		openai_fail(e, 404, "model", "model_not_found", "The model "
		    "'%s' does not exist", json_string_value(mv));
		goto out;
	}
	r->model = xstrdup(json_string_value(mv));
	if (chat) {
		tools = json_object_get(o, "tools");
		if (tools_check(tools, json_object_get(o, "tool_choice"), &must,
		    &none, &param, &cause) != 0) {
			openai_invalid(e, param, "%s", cause);
			param = NULL;
			goto out;
		}
		if (!none && json_array_size(tools) > 0) {
			r->tools = json_incref(tools);
			r->must = must != NULL ? xstrdup(must) : NULL;
		}
	}
	if (openai_params(o, r, e) != 0)
		goto out;
	if (chat ? openai_messages(json_object_get(o, "messages"), r, e) :
	    openai_prompt(json_object_get(o, "prompt"), lim, r, e))
		goto out;
	rc = 0;
out:
	free(param);
	free(cause);
	json_decref(o);
	return rc;
}

int
openai_check_context(const struct openai_request *r, size_t n_ids,
    uint32_t n_ctx, int has_bos, struct openai_error *e)
{
	const char *field = r->chat ? "messages" : "prompt";

	if (n_ids == 0 && !has_bos)
		return openai_fail(e, 400, field, "invalid_value", "the prompt "
		    "is empty");
	if (n_ids > n_ctx)
		return openai_fail(e, 400, field, "context_length_exceeded",
		    "This model's maximum context length is %u tokens. "
		    "However, your messages resulted in %zu tokens.", n_ctx,
		    n_ids);
	return 0;
}
