/*
 * The two generation routes, /v1/chat/completions and /v1/completions: a
 * checked request (serve/openai) is rendered with the model's chat
 * template into prompt ids, given a concurrency slot and a backend of its
 * own, and answered whole here or as a stream (serve/sse). Both run on a
 * thread of their own (HTTP_ROUTE_THREAD): a generation takes seconds.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/chat.h"
#include "core/tokenizer.h"
#include "ledger/ledger.h"
#include "serve/completion.h"
#include "serve/gateway-private.h"
#include "serve/sse.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* Renders the conversation with the template into the request's ids. */
static int
completion_render(struct gateway *gw, struct gateway_req *r,
    struct openai_error *e)
{
	const struct openai_request *o = &r->o;
	struct chat_message *cm;
	struct strbuf *texts, prompt = STRBUF_INIT, fc;
	const struct openai_message *m;
	char *cause = NULL;
	size_t i, n = o->n_messages;
	int rc = -1, wrap;

	cm = xcalloc(n, sizeof(*cm));
	texts = xcalloc(n, sizeof(*texts));
	for (i = 0; i < n; i++) {
		m = &o->messages[i];
		strbuf_init(&texts[i]);
		switch (m->role) {
		case OPENAI_ROLE_SYSTEM:
			cm[i].role = "system";
			break;
		case OPENAI_ROLE_USER:
			cm[i].role = "user";
			break;
		case OPENAI_ROLE_ASSISTANT:
			cm[i].role = "assistant";
			break;
		case OPENAI_ROLE_TOOL:
			cm[i].role = r->family == TOOLS_LLAMA31 ? "ipython" :
			    "user";
			break;
		}
		wrap = m->role == OPENAI_ROLE_TOOL && r->family == TOOLS_HERMES;
		if (wrap)
			strbuf_adds(&texts[i], "<tool_response>\n");
		strbuf_adds(&texts[i], m->content);
		if (wrap)
			strbuf_adds(&texts[i], "\n</tool_response>");
		if (m->tool_calls != NULL) {
			/* Earlier calls, the way the model writes them. */
			strbuf_init(&fc);
			tools_format_calls(r->family, m->tool_calls, &fc);
			if (texts[i].len > 0 && fc.len > 0)
				strbuf_addc(&texts[i], '\n');
			if (fc.len > 0)
				strbuf_add(&texts[i], fc.buf, fc.len);
			strbuf_release(&fc);
		}
		cm[i].content = texts[i].buf != NULL ? texts[i].buf : "";
	}
	if (o->tools != NULL)
		tools_add_to_chat(r->family, o->tools, o->must,
		    gw->cfg.tmpl->default_system, &cm, &texts, &n);
	if (chat_render(gw->cfg.tmpl, cm, n, 1, &prompt, &cause) != 0) {
		e->status = 400;
		e->param = xstrdup("messages");
		e->code = "invalid_value";
		e->message = cause;
		cause = NULL;
		goto out;
	}
	if (tokenizer_encode(gw->cfg.tok, prompt.buf ? prompt.buf : "",
	    prompt.len, chat_tokenizer_flags(gw->cfg.tmpl, prompt.buf ?
	    prompt.buf : ""), &r->ids, &r->n_ids, &cause) != 0) {
		e->status = 400;
		e->param = xstrdup("messages");
		e->code = "invalid_value";
		e->message = cause;
		cause = NULL;
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		strbuf_release(&texts[i]);
	free(texts);
	free(cm);
	strbuf_release(&prompt);
	free(cause);
	return rc;
}

static int
completion_prompt(struct gateway *gw, struct gateway_req *r,
    struct openai_error *e)
{
	char *cause = NULL;

	if (r->o.prompt_ids != NULL || r->o.prompt == NULL) {
		r->ids = r->o.prompt_ids;
		r->n_ids = r->o.n_prompt_ids;
		r->o.prompt_ids = NULL;
		return 0;
	}
	if (tokenizer_encode(gw->cfg.tok, r->o.prompt, r->o.prompt_len,
	    TOKENIZER_ADD_BOS, &r->ids, &r->n_ids, &cause) != 0) {
		e->status = 400;
		e->param = xstrdup("prompt");
		e->code = "invalid_value";
		e->message = cause;
		return -1;
	}
	return 0;
}

/*
 * The request's own backend, opened before any answer goes out so that a
 * swarm that cannot serve the model is a 503, not a broken stream.
 */
static int
completion_open(struct gateway *gw, struct gateway_req *r, char **cause)
{
	uint32_t n_ctx = gw->cfg.n_ctx;

	/* Only the positions this request can use: KV memory is per request. */
	if (r->o.max_tokens > 0 && r->n_ids + (size_t)r->o.max_tokens < n_ctx)
		n_ctx = (uint32_t)(r->n_ids + (size_t)r->o.max_tokens);
	if (gw->cfg.open(gw->cfg.arg, n_ctx, &r->be, &r->state, cause) != 0)
		return -1;
	r->opened = 1;
	return 0;
}

/* Whose use it is: the key's id (a hash, not the key) when one is sent. */
static void
completion_key(const struct http_request *req, char key_id[17])
{
	const char *h = http_request_header(req, "Authorization");

	*key_id = '\0';
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0 && h[7] != '\0')
		ledger_key_id(h + 7, key_id);
}

/* A whole answer stops when its client hangs up (a client timeout). */
static int
completion_answer_text(void *arg, const char *text, size_t len)
{
	return http_request_gone(arg);
}

static void
completion_answer(struct gateway *gw, struct gateway_req *r,
    const struct http_request *req, struct http_response *resp)
{
	struct generate_result res;
	json_t *o, *choice, *calls;
	char *cause = NULL, *text, *content = NULL;
	size_t len;
	double ttft;

	r->gp.on_text = completion_answer_text;
	r->gp.on_text_arg = (void *)req;
	if (gateway_generate(gw, r, &res, &ttft, &cause) != 0) {
		gateway_error(resp, 503, 1, NULL, "backend_error", "generation "
		    "failed: %s", cause);
		free(cause);
		generate_result_release(&res);
		return;
	}
	metrics_count_done(&gw->metrics, r->n_ids, res.n_tokens, ttft,
	    res.gen_seconds);
	text = utf8_sanitize(res.text ? res.text : "", res.text_len, &len);
	if (r->o.chat && r->o.tools != NULL && (calls = tools_parse(r->family,
	    text, r->id + 9, &content)) != NULL)
		choice = json_pack("{s:i,s:{s:s,s:s?,s:o},s:n,s:s}", "index", 0,
		    "message", "role", "assistant", "content", content,
		    "tool_calls", calls, "logprobs", "finish_reason",
		    "tool_calls");
	else if (r->o.chat)
		choice = json_pack("{s:i,s:{s:s,s:s%},s:n,s:s}", "index", 0,
		    "message", "role", "assistant", "content", text, len,
		    "logprobs", "finish_reason",
		    gateway_finish_name(res.finish));
	else
		choice = json_pack("{s:s%,s:i,s:n,s:s}", "text", text, len,
		    "index", 0, "logprobs", "finish_reason",
		    gateway_finish_name(res.finish));
	free(text);
	free(content);
	o = json_pack("{s:s,s:s,s:I,s:s,s:[o],s:o}", "id", r->id, "object",
	    r->o.chat ? "chat.completion" : "text_completion", "created",
	    (json_int_t)r->created, "model", gw->cfg.model_name, "choices",
	    choice, "usage", gateway_usage(r, &res));
	generate_result_release(&res);
	gateway_json(resp, 200, o);
}

static void
completion_fail(struct http_response *resp, struct openai_error *e)
{
	gateway_error(resp, e->status, 0, e->param, e->code, "%s",
	    e->message != NULL ? e->message : "invalid request");
}

static void
completion_handle(struct gateway *gw, int chat, const struct http_request *req,
    struct http_response *resp)
{
	struct openai_limits lim;
	struct openai_error e;
	struct gateway_req r;
	char *cause = NULL;
	int busy;

	memset(&r, 0, sizeof(r));
	lim.models = gw->models;
	lim.n_models = gw->n_models;
	lim.n_vocab = tokenizer_n_vocab(gw->cfg.tok);
	if (openai_parse(req->body, req->body_len, chat, &lim, &r.o,
	    &e) != 0) {
		completion_fail(resp, &e);
		goto out;
	}
	r.family = tools_family(gw->cfg.tmpl);
	completion_key(req, r.key_id);
	if ((chat ? completion_render(gw, &r, &e) : completion_prompt(gw, &r,
	    &e)) != 0 || openai_check_context(&r.o, r.n_ids, gw->cfg.n_ctx,
	    tokenizer_bos(gw->cfg.tok) >= 0, &e) != 0) {
		completion_fail(resp, &e);
		goto out;
	}
	if (r.n_ids == 0) {
		free(r.ids);
		r.ids = xmalloc(sizeof(*r.ids));
		r.ids[0] = tokenizer_bos(gw->cfg.tok);
		r.n_ids = 1;
	}
	generate_params_init(&r.gp);
	r.gp.sampling = r.o.sampling;
	if (!r.o.has_seed)
		r.gp.sampling.seed = (uint64_t)time(NULL) ^
		    ((uint64_t)getpid() << 16) ^
		    (uint64_t)(clock_now() * 1e9);
	r.gp.max_tokens = r.o.max_tokens;
	r.gp.stop = (const char *const *)r.o.stops;
	r.gp.n_stop = r.o.n_stop;

	pthread_mutex_lock(&gw->mu);
	if (!(busy = gw->active >= gw->cfg.max_concurrent))
		gw->active++;
	r.created = (long long)time(NULL);
	snprintf(r.id, sizeof(r.id), "%s-%08x%016llx", chat ? "chatcmpl" :
	    "cmpl", gw->salt, (unsigned long long)++gw->next_id);
	pthread_mutex_unlock(&gw->mu);
	if (busy) {
		gateway_error(resp, 429, 1, NULL, "rate_limit_exceeded", "%d "
		    "requests are running, the most this server takes at once; "
		    "retry later", gw->cfg.max_concurrent);
		goto out;
	}
	r.t0 = clock_now();
	if (completion_open(gw, &r, &cause) != 0) {
		gateway_error(resp, 503, 1, NULL, "model_unavailable", "cannot "
		    "run the model now: %s", cause);
		pthread_mutex_lock(&gw->mu);
		gw->active--;
		pthread_mutex_unlock(&gw->mu);
		goto out;
	}
	if (r.o.stream) {
		sse_answer(gw, &r, req, resp);	/* frees the slot */
		goto out;
	}
	completion_answer(gw, &r, req, resp);
	pthread_mutex_lock(&gw->mu);
	gw->active--;
	pthread_mutex_unlock(&gw->mu);
out:
	free(cause);
	openai_error_release(&e);
	gateway_req_release(&r);
}

void
completion_chat(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	completion_handle(arg, 1, req, resp);
}

void
completion_text(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	completion_handle(arg, 0, req, resp);
}
