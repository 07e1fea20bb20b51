/*
 * Replies from an OpenAI-compatible server (dialog-url.h). The answer is
 * read line by line as server-sent events: every "data:" line is a JSON
 * chunk whose choices[0].delta.content is the next piece of the reply,
 * until "data: [DONE]". An answer that is not a stream is an error whose
 * message is shown.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/generate.h"
#include "engine/conversation.h"
#include "engine/dialog-url.h"
#include "engine/dialog.h"
#include "net/http-client.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define DIALOG_URL_CONNECT_TIMEOUT	10

struct dialog_url {
	struct http_client	*http;
	char			*api_key;
	char			*model;
	double			 timeout;
	volatile sig_atomic_t	*cancel;
};

/* One answer as it is read. */
struct dialog_url_read {
	struct dialog_url		*u;
	const struct generate_params	*p;	/* NULL: keep raw only */
	struct strbuf			 line;	/* an event line, partial */
	struct strbuf			 raw;	/* the answer's start */
	struct strbuf			*reply;
	size_t				 n_chunks;
	json_int_t			 n_prompt;
	json_int_t			 n_tokens;
	double				 t0;
	double				 t_first;
	char				*error;	/* the stream said so */
};

/* One "data:" payload of the stream; non-zero stops it. */
static int
dialog_url_event(struct dialog_url_read *r, const char *data)
{
	json_t *o, *content, *usage, *err;
	int rc = 0;

	if (strcmp(data, "[DONE]") == 0 || (o = json_loads(data, 0,
	    NULL)) == NULL)
		return 0;
	if ((err = json_object_get(o, "error")) != NULL && r->error == NULL)
		r->error = xstrdup(json_is_string(json_object_get(err,
		    "message")) ? json_string_value(json_object_get(err,
		    "message")) : "the server failed");
	content = json_object_get(json_object_get(json_array_get(
	    json_object_get(o, "choices"), 0), "delta"), "content");
	if (json_is_string(content) && json_string_length(content) > 0) {
		if (r->n_chunks++ == 0)
			r->t_first = clock_now();
		strbuf_add(r->reply, json_string_value(content),
		    json_string_length(content));
		if (r->p->on_text != NULL)
			rc = r->p->on_text(r->p->on_text_arg,
			    json_string_value(content),
			    json_string_length(content));
	}
	if ((usage = json_object_get(o, "usage")) != NULL) {
		r->n_prompt = json_integer_value(json_object_get(usage,
		    "prompt_tokens"));
		r->n_tokens = json_integer_value(json_object_get(usage,
		    "completion_tokens"));
	}
	json_decref(o);
	return rc;
}

static int
dialog_url_on_data(void *arg, const char *data, size_t len)
{
	struct dialog_url_read *r = arg;
	const char *s;
	size_t i;

	if (r->u->cancel != NULL && *r->u->cancel)
		return 1;
	if (data == NULL)
		return 0;
	if (r->raw.len < DIALOG_URL_ERROR_MAX)
		strbuf_add(&r->raw, data, len);
	if (r->p == NULL)
		return 0;
	for (i = 0; i < len; i++) {
		if (data[i] != '\n') {
			if (r->line.len < DIALOG_URL_ERROR_MAX * 16)
				strbuf_addc(&r->line, data[i]);
			continue;
		}
		if (r->line.len > 0 && r->line.buf[r->line.len - 1] == '\r')
			r->line.buf[--r->line.len] = '\0';
		if (r->line.len > 5 && strncmp(r->line.buf, "data:", 5) == 0) {
			for (s = r->line.buf + 5; *s == ' '; s++)
				;
			if (dialog_url_event(r, s) != 0)
				return 1;
		}
		strbuf_reset(&r->line);
	}
	return 0;
}

/* The message of an error answer, or its status. */
static int
dialog_url_fail(struct dialog_url *u, const char *path, long status,
    const struct strbuf *raw, char **cause)
{
	json_t *o = json_loadb(raw->buf != NULL ? raw->buf : "", raw->len, 0,
	    NULL);
	json_t *m = json_object_get(json_object_get(o, "error"), "message");

	if (json_is_string(m))
		set_cause(cause, "%s%s: HTTP %ld: %s", http_client_addr(u->http),
		    path, status, json_string_value(m));
	else
		set_cause(cause, "%s%s: HTTP %ld", http_client_addr(u->http),
		    path, status);
	json_decref(o);
	return -1;
}

static void
dialog_url_read_release(struct dialog_url_read *r)
{
	strbuf_release(&r->line);
	strbuf_release(&r->raw);
	free(r->error);
}

/* The first model of GET /models. */
static int
dialog_url_first_model(struct dialog_url *u, char **cause)
{
	struct dialog_url_read r;
	json_t *o = NULL, *id;
	long status;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.u = u;
	if (http_client_stream(u->http, "/models", u->api_key, NULL, 0,
	    u->timeout, dialog_url_on_data, &r, &status, cause) != 0)
		goto out;
	if (status != 200) {
		dialog_url_fail(u, "/models", status, &r.raw, cause);
		goto out;
	}
	o = json_loadb(r.raw.buf != NULL ? r.raw.buf : "", r.raw.len, 0, NULL);
	id = json_object_get(json_array_get(json_object_get(o, "data"), 0),
	    "id");
	if (!json_is_string(id)) {
		set_cause(cause, "%s/models: no model listed",
		    http_client_addr(u->http));
		goto out;
	}
	u->model = xstrdup(json_string_value(id));
	rc = 0;
out:
	json_decref(o);
	dialog_url_read_release(&r);
	return rc;
}

struct dialog_url *
dialog_url_new(const char *url, const char *api_key, const char *model,
    double timeout, volatile sig_atomic_t *cancel, char **cause)
{
	struct dialog_url *u = xcalloc(1, sizeof(*u));
	char *base = xstrdup(url);
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	if (strncmp(base, "http://", 7) != 0 &&
	    strncmp(base, "https://", 8) != 0) {
		set_cause(cause, "--url: '%s' is not an http:// or https:// "
		    "URL", url);
		free(base);
		free(u);
		return NULL;
	}
	u->http = http_client_new(base, DIALOG_URL_CONNECT_TIMEOUT);
	free(base);
	u->api_key = api_key != NULL ? xstrdup(api_key) : NULL;
	u->timeout = timeout;
	u->cancel = cancel;
	if (u->http == NULL) {
		set_cause(cause, "cannot start libcurl");
		dialog_url_free(u);
		return NULL;
	}
	if (model != NULL)
		u->model = xstrdup(model);
	else if (dialog_url_first_model(u, cause) != 0) {
		dialog_url_free(u);
		return NULL;
	}
	return u;
}

void
dialog_url_free(struct dialog_url *u)
{
	if (u == NULL)
		return;
	http_client_free(u->http);
	free(u->api_key);
	free(u->model);
	free(u);
}

/* The request: the conversation and the sampling the API has names for. */
static char *
dialog_url_body(struct dialog_url *u, const struct conversation *conv,
    const struct generate_params *p)
{
	const struct sampler_params *sp = &p->sampling;
	json_t *o, *stop = json_array();
	char *s;
	int i;

	o = json_pack("{s:s,s:o,s:b,s:{s:b},s:f,s:f,s:i,s:f,s:I}", "model",
	    u->model, "messages", conversation_json(conv), "stream", 1,
	    "stream_options", "include_usage", 1, "temperature",
	    (double)sp->temperature, "top_p", (double)sp->top_p, "top_k",
	    sp->top_k, "min_p", (double)sp->min_p, "seed",
	    (json_int_t)(sp->seed & INT64_MAX));
	if (p->max_tokens > 0)
		json_object_set_new(o, "max_tokens",
		    json_integer(p->max_tokens));
	for (i = 0; i < p->n_stop; i++)
		json_array_append_new(stop, json_string(p->stop[i]));
	if (p->n_stop > 0)
		json_object_set(o, "stop", stop);
	json_decref(stop);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

int
dialog_url_reply(struct dialog_url *u, const struct conversation *conv,
    const struct generate_params *p, struct dialog_stats *st,
    struct strbuf *reply, char **cause)
{
	struct dialog_url_read r;
	char *body = dialog_url_body(u, conv, p);
	long status;
	int rc;

	memset(&r, 0, sizeof(r));
	r.u = u;
	r.p = p;
	r.reply = reply;
	r.t0 = clock_now();
	rc = http_client_stream(u->http, "/chat/completions", u->api_key, body,
	    strlen(body), u->timeout, dialog_url_on_data, &r, &status, cause);
	free(body);
	if (rc == 0 && status != 200)
		rc = dialog_url_fail(u, "/chat/completions", status, &r.raw,
		    cause);
	else if (rc == 0 && r.error != NULL)
		rc = set_cause(cause, "%s/chat/completions: %s",
		    http_client_addr(u->http), r.error);
	if (rc >= 0) {
		unsigned turn = st->turn;

		memset(st, 0, sizeof(*st));
		st->turn = turn;
		st->n_prompt = (size_t)r.n_prompt;
		st->n_tokens = r.n_tokens > 0 ? (size_t)r.n_tokens :
		    r.n_chunks;
		st->first_token_seconds = r.n_chunks > 0 ? r.t_first - r.t0 :
		    0;
		st->gen_seconds = r.n_chunks > 0 ? clock_now() - r.t_first : 0;
		rc = 0;
	}
	dialog_url_read_release(&r);
	return rc;
}
