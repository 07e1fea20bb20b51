/*
 * Streamed answers: Server-Sent Events of OpenAI chunks. The generation
 * runs on a thread of its own and appends events to a buffer; the route's
 * handler thread pumps that buffer into the HTTP stream, sends an empty
 * delta while the first token is slow to come (clients time out on
 * silence, and SSE comments do not count for some of them), and when the
 * client hangs up it cancels the generation. Text is sent in whole UTF-8
 * characters; with tools, what may be the start of a call is held back
 * until it is known (serve/tools).
 */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/gateway-private.h"
#include "serve/sse.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

struct sse {
	struct gateway		*gw;
	struct gateway_req	 req;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct strbuf		 out;	/* event bytes not yet pumped */
	struct strbuf		 hold;	/* a UTF-8 sequence cut short */
	/* With tools: the text so far, how much went out, the rest held. */
	struct strbuf		 all;
	size_t			 sent;
	int			 held;
	int			 done;
	int			 cancel;
	int			 got_text;
	pthread_t		 thread;
};

/* Appends one event (takes the reference). Called with s->mu held. */
static void
sse_event(struct sse *s, json_t *o)
{
	char *d = o != NULL ? json_dumps(o, JSON_COMPACT |
	    JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	if (d == NULL)
		return;
	strbuf_adds(&s->out, "data: ");
	strbuf_adds(&s->out, d);
	strbuf_adds(&s->out, "\n\n");
	free(d);
	pthread_cond_broadcast(&s->cv);
}

/* A chunk: delta text (NULL: none), finish reason (NULL: null). */
static json_t *
sse_chunk(struct sse *s, const char *role, const char *text, size_t len,
    const char *finish)
{
	const struct gateway_req *r = &s->req;
	json_t *delta, *choice;

	if (r->o.chat) {
		delta = json_object();
		if (role != NULL)
			json_object_set_new(delta, "role", json_string(role));
		if (role != NULL || text != NULL)
			json_object_set_new(delta, "content",
			    json_stringn(text ? text : "", text ? len : 0));
		choice = json_pack("{s:i,s:o,s:n,s:s?}", "index", 0, "delta",
		    delta, "logprobs", "finish_reason", finish);
	} else
		choice = json_pack("{s:s%,s:i,s:n,s:s?}", "text", text ? text :
		    "", text ? len : 0, "index", 0, "logprobs",
		    "finish_reason", finish);
	if (choice != NULL && finish == NULL)
		json_object_set_new(choice, "finish_reason", json_null());
	return json_pack("{s:s,s:s,s:I,s:s,s:[o]}", "id", r->id, "object",
	    r->o.chat ? "chat.completion.chunk" : "text_completion", "created",
	    (json_int_t)r->created, "model", s->gw->cfg.model_name,
	    "choices", choice);
}

/* Emits the complete UTF-8 prefix of the held text (all of it at the end). */
static void
sse_flush(struct sse *s, int all)
{
	const unsigned char *p = (const unsigned char *)s->hold.buf;
	size_t i = 0, l, n = s->hold.len, clean_len, k;
	char *clean;

	while (i < n && !all) {
		if ((l = utf8_seq_len(p + i, n - i)) == 0) {
			/* A sequence cut short by the end waits. */
			if (n - i < 4 && p[i] >= 0xc2 && p[i] <= 0xf4 &&
			    utf8_seq_len(p + i, 4) == 0) {
				for (k = i + 1; k < n && (p[k] & 0xc0) == 0x80;
				    k++)
					;
				if (k == n)
					break;
			}
			l = 1;
		}
		i += l;
	}
	if (all)
		i = n;
	if (i == 0)
		return;
	clean = utf8_sanitize(s->hold.buf, i, &clean_len);
	sse_event(s, sse_chunk(s, NULL, clean, clean_len, NULL));
	free(clean);
	memmove(s->hold.buf, s->hold.buf + i, n - i);
	s->hold.len = n - i;
	s->hold.buf[s->hold.len] = '\0';
}

static int
sse_text(void *arg, const char *text, size_t len)
{
	struct sse *s = arg;
	size_t safe;
	int cancel;

	pthread_mutex_lock(&s->mu);
	if ((cancel = s->cancel || gateway_stopping(s->gw)))
		goto out;
	if (s->req.o.tools != NULL) {
		strbuf_add(&s->all, text, len);
		safe = tools_stream_safe(s->req.family, s->all.buf,
		    s->all.len, s->sent, &s->held);
		if (safe > s->sent) {
			s->got_text = 1;
			strbuf_add(&s->hold, s->all.buf + s->sent,
			    safe - s->sent);
			s->sent = safe;
			sse_flush(s, 0);
		}
		goto out;
	}
	s->got_text = 1;
	strbuf_add(&s->hold, text, len);
	sse_flush(s, 0);
out:
	pthread_mutex_unlock(&s->mu);
	return cancel;
}

/*
 * The end of a request with tools: its calls as tool-call deltas, or the
 * text held back as content when it holds none. The text before the
 * calls went out already. Called with s->mu held.
 */
static int
sse_calls(struct sse *s, struct generate_result *res)
{
	json_t *calls, *call, *ch, *delta;
	char *content = NULL;
	size_t i;

	calls = tools_parse(s->req.family, res->text ? res->text : "",
	    s->req.id + 9, &content);
	free(content);
	if (calls == NULL) {
		if (s->all.len > s->sent)
			strbuf_add(&s->hold, s->all.buf + s->sent,
			    s->all.len - s->sent);
		s->sent = s->all.len;
		return 0;
	}
	sse_flush(s, 1);
	for (i = 0; i < json_array_size(calls); i++) {
		call = json_array_get(calls, i);
		json_object_set_new(call, "index", json_integer((json_int_t)i));
	}
	ch = sse_chunk(s, NULL, NULL, 0, NULL);
	delta = json_object_get(json_array_get(json_object_get(ch, "choices"),
	    0), "delta");
	json_object_set_new(delta, "tool_calls", calls);
	sse_event(s, ch);
	return 1;
}

static void *
sse_main(void *arg)
{
	struct sse *s = arg;
	struct generate_result res;
	char *cause = NULL;
	const char *finish;
	json_t *u;
	double ttft;
	int rc;

	s->req.gp.on_text = sse_text;
	s->req.gp.on_text_arg = s;
	rc = gateway_generate(s->gw, &s->req, &res, &ttft, &cause);
	pthread_mutex_lock(&s->mu);
	if (rc != 0)
		sse_event(s, openai_error_json(500, NULL, "backend_error",
		    cause != NULL ? cause : "generation failed"));
	else {
		finish = gateway_finish_name(res.finish);
		metrics_count_done(&s->gw->metrics, s->req.n_ids,
		    res.n_tokens, ttft, res.gen_seconds);
		if (s->req.o.tools != NULL && sse_calls(s, &res))
			finish = "tool_calls";
		if (s->hold.len > 0)
			sse_flush(s, 1);
		sse_event(s, sse_chunk(s, NULL, NULL, 0, finish));
		if (s->req.o.include_usage) {
			u = sse_chunk(s, NULL, NULL, 0, NULL);
			json_object_set_new(u, "choices", json_array());
			json_object_set_new(u, "usage", gateway_usage(&s->req,
			    &res));
			sse_event(s, u);
		}
	}
	strbuf_adds(&s->out, "data: [DONE]\n\n");
	s->done = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	free(cause);
	generate_result_release(&res);
	/* The slot is free once generation is, not when the client reads. */
	pthread_mutex_lock(&s->gw->mu);
	s->gw->active--;
	pthread_mutex_unlock(&s->gw->mu);
	return NULL;
}

/*
 * Moves events to the client until the last one; a heartbeat when the
 * first text is slow. Wakes at least each second to see a client gone.
 */
static void
sse_pump(struct sse *s, const struct http_request *req,
    struct http_stream *st)
{
	int hb = s->gw->cfg.heartbeat_seconds, gone = 0;
	double hb_at = clock_now() + hb, wait;
	struct strbuf batch = STRBUF_INIT;
	struct timespec ts;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (s->out.len > 0) {
			strbuf_reset(&batch);
			strbuf_add(&batch, s->out.buf, s->out.len);
			strbuf_reset(&s->out);
			pthread_mutex_unlock(&s->mu);
			gone = http_stream_write(st, batch.buf, batch.len) != 0;
			pthread_mutex_lock(&s->mu);
			if (gone)
				break;
			continue;
		}
		if (s->done)
			break;
		if (http_request_gone(req)) {
			gone = 1;
			break;
		}
		wait = 1;
		if (hb > 0 && !s->got_text && hb_at - clock_now() < wait)
			wait = hb_at - clock_now();
		if (wait < 0.001)
			wait = 0.001;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)wait;
		ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		if (hb > 0 && !s->got_text && clock_now() >= hb_at &&
		    s->out.len == 0 && !s->done) {
			sse_event(s, sse_chunk(s, NULL, NULL, 0, NULL));
			hb_at = clock_now() + hb;
		}
	}
	if (gone)
		s->cancel = 1;
	pthread_mutex_unlock(&s->mu);
	strbuf_release(&batch);
}

void
sse_answer(struct gateway *gw, struct gateway_req *r,
    const struct http_request *req, struct http_response *resp)
{
	struct http_stream *st;
	struct sse *s = xcalloc(1, sizeof(*s));

	s->gw = gw;
	s->req = *r;
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	strbuf_init(&s->out);
	strbuf_init(&s->hold);
	strbuf_init(&s->all);
	/* The role first, at once: the client knows the request is live. */
	if (s->req.o.chat)
		sse_event(s, sse_chunk(s, "assistant", NULL, 0, NULL));
	pthread_mutex_lock(&gw->mu);
	gw->active_streams++;
	pthread_mutex_unlock(&gw->mu);
	if (pthread_create(&s->thread, NULL, sse_main, s) != 0) {
		gateway_close(gw, &s->req);
		pthread_mutex_lock(&gw->mu);
		gw->active--;
		pthread_mutex_unlock(&gw->mu);
		gateway_error(resp, 503, 1, NULL, "overloaded", "cannot start "
		    "a thread for the stream");
		goto out;
	}
	resp->status = 200;
	resp->content_type = "text/event-stream";
	http_response_header(resp, "Cache-Control", "no-cache");
	if ((st = http_response_stream(req, resp)) != NULL)
		sse_pump(s, req, st);
	else {
		pthread_mutex_lock(&s->mu);
		s->cancel = 1;
		pthread_mutex_unlock(&s->mu);
	}
	pthread_join(s->thread, NULL);
out:
	gateway_req_release(&s->req);
	strbuf_release(&s->out);
	strbuf_release(&s->hold);
	strbuf_release(&s->all);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
	pthread_mutex_lock(&gw->mu);
	gw->active_streams--;
	pthread_mutex_unlock(&gw->mu);
}
