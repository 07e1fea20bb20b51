/*
 * The OpenAI-compatible API. Requests are read whole (up to max_body),
 * checked field by field so a 400 names what is wrong, rendered with the
 * model's chat template and run on a backend of their own. A streamed
 * answer is produced by a thread per request into a buffer that
 * libmicrohttpd drains through a content-reader callback; the callback
 * sends an empty delta while the first token is slow to come (clients time
 * out on silence, and SSE comments do not count for some of them), and
 * when the client hangs up the free callback cancels the generation.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/chat.h"
#include "core/generate.h"
#include "core/tokenizer.h"
#include "serve/gateway.h"
#include "serve/tools.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define GATEWAY_MAX_CONNECTIONS	512
#define GATEWAY_MAX_STOP	16
#define GATEWAY_NSTATUS		600

static const double gateway_ttft_le[] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};
static const double gateway_tps_le[] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000
};
#define GATEWAY_HIST_MAX	16
_Static_assert(sizeof(gateway_ttft_le) / sizeof(double) < GATEWAY_HIST_MAX,
    "ttft buckets");
_Static_assert(sizeof(gateway_tps_le) / sizeof(double) < GATEWAY_HIST_MAX,
    "tps buckets");

/* A Prometheus histogram over fixed bucket bounds. */
struct gateway_hist {
	const double	*le;
	size_t		 n;
	uint64_t	 count[GATEWAY_HIST_MAX];	/* per bucket, +Inf last */
	uint64_t	 total;
	double		 sum;
};

struct gateway {
	struct gateway_config	 cfg;
	struct MHD_Daemon	*mhd;
	uint16_t		 port;
	uint32_t		 salt;
	int			 stopping;	/* atomic: gateway_free began */
	pthread_mutex_t		 mu;	/* everything below */
	uint64_t		 next_id;
	int			 active;
	int			 active_streams;
	uint64_t		 by_status[GATEWAY_NSTATUS];
	uint64_t		 tokens_in;
	uint64_t		 tokens_out;
	struct gateway_hist	 ttft;		/* seconds */
	struct gateway_hist	 tps;		/* generated tokens/s */
};

/* Per-request state between MHD's calls. */
struct gateway_conn {
	struct strbuf	 body;
	int		 too_large;
};

/* A generation request, parsed. */
struct gateway_req {
	int			 chat;		/* else /v1/completions */
	int			 stream;
	int			 include_usage;
	json_t			*tools;		/* NULL: no function calling */
	const char		*must;		/* tool_choice: see tools_check */
	enum tools_family	 family;
	struct generate_backend	 be;		/* when opened */
	void			*state;
	int			 opened;
	int32_t			*ids;
	size_t			 n_ids;
	int			 max_tokens;	/* < 0: to the context */
	struct generate_params	 gp;
	char			*stops[GATEWAY_MAX_STOP];
	int			 n_stop;
	char			 id[64];
	long long		 created;
	double			 t0;
};

struct gateway_stream {
	struct gateway		*gw;
	struct gateway_req	 req;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct strbuf		 out;	/* SSE bytes not yet sent */
	size_t			 off;
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

static int
gateway_stopping(struct gateway *gw)
{
	return __atomic_load_n(&gw->stopping, __ATOMIC_ACQUIRE);
}

static double
gateway_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
gateway_req_release(struct gateway_req *r)
{
	int i;

	free(r->ids);
	json_decref(r->tools);
	for (i = 0; i < r->n_stop; i++)
		free(r->stops[i]);
	memset(r, 0, sizeof(*r));
}

static void
gateway_count_status(struct gateway *gw, int status)
{
	pthread_mutex_lock(&gw->mu);
	if (status >= 0 && status < GATEWAY_NSTATUS)
		gw->by_status[status]++;
	pthread_mutex_unlock(&gw->mu);
}

static void
gateway_hist_add(struct gateway_hist *h, double v)
{
	size_t i;

	for (i = 0; i < h->n && v > h->le[i]; i++)
		;
	h->count[i]++;
	h->total++;
	h->sum += v;
}

static void
gateway_hist_print(const struct gateway_hist *h, const char *name,
    const char *help, struct strbuf *sb)
{
	uint64_t cum = 0;
	size_t i;

	strbuf_addf(sb, "# HELP %s %s\n# TYPE %s histogram\n", name, help,
	    name);
	for (i = 0; i < h->n; i++) {
		cum += h->count[i];
		strbuf_addf(sb, "%s_bucket{le=\"%g\"} %llu\n", name, h->le[i],
		    (unsigned long long)cum);
	}
	strbuf_addf(sb, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
	    "%s_count %llu\n", name, (unsigned long long)h->total, name,
	    h->sum, name, (unsigned long long)h->total);
}

static void
gateway_count_done(struct gateway *gw, size_t in,
    const struct generate_result *res, double ttft)
{
	pthread_mutex_lock(&gw->mu);
	gw->tokens_in += in;
	gw->tokens_out += res->n_tokens;
	if (ttft >= 0)
		gateway_hist_add(&gw->ttft, ttft);
	if (res->n_tokens > 1 && res->gen_seconds > 0)
		gateway_hist_add(&gw->tps, (double)(res->n_tokens - 1) /
		    res->gen_seconds);
	pthread_mutex_unlock(&gw->mu);
}

/* The body sent when an answer cannot be encoded. */
#define GATEWAY_ERROR_FALLBACK \
	"{\"error\":{\"message\":\"cannot encode the answer\"," \
	"\"type\":\"server_error\",\"param\":null,\"code\":null}}"

/* Queues a whole answer and takes body (NULL: the encoder failed, a 500). */
static enum MHD_Result
gateway_send(struct gateway *gw, struct MHD_Connection *c, int status,
    const char *type, char *body, int retry_after)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	char ra[16];

	if (body == NULL) {		/* a JSON encoder that failed */
		status = 500;
		type = "application/json";
		body = xstrdup(GATEWAY_ERROR_FALLBACK);
	}
	mr = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	if (mr == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", retry_after);
		MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	gateway_count_status(gw, status);
	ret = MHD_queue_response(c, (unsigned)status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static enum MHD_Result
gateway_send_json(struct gateway *gw, struct MHD_Connection *c, int status,
    json_t *o)
{
	char *s;

	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(o);
	return gateway_send(gw, c, status, "application/json", s, 0);
}

static json_t *
gateway_error_json(const char *type, const char *param, const char *code,
    const char *msg)
{
	return json_pack("{s:{s:s,s:s,s:s?,s:s?}}", "error", "message", msg,
	    "type", type, "param", param, "code", code);
}

/* OpenAI's error shape: {"error":{"message","type","param","code"}}. */
static enum MHD_Result
gateway_error(struct gateway *gw, struct MHD_Connection *c, int status,
    int retry_after, const char *param, const char *code, const char *fmt,
    ...) __attribute__((format(printf, 7, 8)));

static enum MHD_Result
gateway_error(struct gateway *gw, struct MHD_Connection *c, int status,
    int retry_after, const char *param, const char *code, const char *fmt,
    ...)
{
	va_list ap;
	char *raw, *msg, *s;
	const char *type;
	json_t *o;

	va_start(ap, fmt);
	raw = xvasprintf(fmt, ap);
	va_end(ap);
	/* The message may quote a path or method: JSON needs UTF-8. */
	msg = utf8_sanitize(raw, strlen(raw), NULL);
	free(raw);
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
	o = gateway_error_json(type, param, code, msg);
	free(msg);
	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(o);
	return gateway_send(gw, c, status, "application/json", s, retry_after);
}

static int
gateway_known_model(const struct gateway *gw, const char *name)
{
	size_t i;

	if (strcmp(name, gw->cfg.model_name) == 0)
		return 1;
	for (i = 0; i < gw->cfg.n_aliases; i++)
		if (strcmp(name, gw->cfg.aliases[i]) == 0)
			return 1;
	return 0;
}

static json_t *
gateway_model_json(const struct gateway *gw, const char *id)
{
	return json_pack("{s:s,s:s,s:I,s:s,s:I}", "id", id, "object", "model",
	    "created", (json_int_t)0, "owned_by", "swarm", "max_model_len",
	    (json_int_t)gw->cfg.n_ctx);
}

static enum MHD_Result
gateway_models(struct gateway *gw, struct MHD_Connection *c, const char *id)
{
	json_t *list;
	size_t i;

	if (id != NULL) {
		if (!gateway_known_model(gw, id))
			return gateway_error(gw, c, 404, 0, "model",
			    "model_not_found", "The model '%s' does not exist",
			    id);
		return gateway_send_json(gw, c, 200, gateway_model_json(gw,
		    id));
	}
	list = json_array();
	json_array_append_new(list, gateway_model_json(gw,
	    gw->cfg.model_name));
	for (i = 0; i < gw->cfg.n_aliases; i++)
		json_array_append_new(list, gateway_model_json(gw,
		    gw->cfg.aliases[i]));
	return gateway_send_json(gw, c, 200, json_pack("{s:s,s:o}", "object",
	    "list", "data", list));
}

static enum MHD_Result
gateway_metrics(struct gateway *gw, struct MHD_Connection *c)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	pthread_mutex_lock(&gw->mu);
	strbuf_adds(&sb, "# HELP swarm_serve_requests_total HTTP requests "
	    "answered, by status\n# TYPE swarm_serve_requests_total counter\n");
	for (i = 0; i < GATEWAY_NSTATUS; i++)
		if (gw->by_status[i] > 0)
			strbuf_addf(&sb, "swarm_serve_requests_total{status="
			    "\"%zu\"} %llu\n", i,
			    (unsigned long long)gw->by_status[i]);
	strbuf_addf(&sb, "# HELP swarm_serve_prompt_tokens_total prompt "
	    "tokens evaluated\n# TYPE swarm_serve_prompt_tokens_total counter\n"
	    "swarm_serve_prompt_tokens_total %llu\n"
	    "# HELP swarm_serve_completion_tokens_total tokens generated\n"
	    "# TYPE swarm_serve_completion_tokens_total counter\n"
	    "swarm_serve_completion_tokens_total %llu\n"
	    "# HELP swarm_serve_active_requests generations running\n"
	    "# TYPE swarm_serve_active_requests gauge\n"
	    "swarm_serve_active_requests %d\n"
	    "# HELP swarm_serve_active_streams streamed answers open\n"
	    "# TYPE swarm_serve_active_streams gauge\n"
	    "swarm_serve_active_streams %d\n",
	    (unsigned long long)gw->tokens_in,
	    (unsigned long long)gw->tokens_out, gw->active,
	    gw->active_streams);
	gateway_hist_print(&gw->ttft, "swarm_serve_time_to_first_token_seconds",
	    "from the request to the first token", &sb);
	gateway_hist_print(&gw->tps, "swarm_serve_generation_tokens_per_second",
	    "a request's generation speed after its first token", &sb);
	pthread_mutex_unlock(&gw->mu);
	if (gw->cfg.metrics != NULL)
		gw->cfg.metrics(gw->cfg.arg, &sb);
	return gateway_send(gw, c, 200, "text/plain; version=0.0.4",
	    strbuf_detach(&sb, NULL), 0);
}

/* --- request parsing ------------------------------------------------------ */

/* A message's content: a string, null, or an array of text parts. */
static int
gateway_content(json_t *v, size_t i, struct strbuf *sb, char **param,
    char **cause)
{
	json_t *part, *t;
	size_t j;
	const char *type;

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		strbuf_add(sb, json_string_value(v), json_string_length(v));
		return 0;
	}
	if (!json_is_array(v)) {
		*param = xasprintf("messages[%zu].content", i);
		return set_cause(cause, "messages[%zu].content must be a string "
		    "or an array of content parts", i);
	}
	for (j = 0; j < json_array_size(v); j++) {
		part = json_array_get(v, j);
		type = json_string_value(json_object_get(part, "type"));
		if (type == NULL) {
			*param = xasprintf("messages[%zu].content[%zu].type", i,
			    j);
			return set_cause(cause, "messages[%zu].content[%zu] has "
			    "no type", i, j);
		}
		if (strcmp(type, "text") != 0) {
			*param = xasprintf("messages[%zu].content[%zu].type", i,
			    j);
			return set_cause(cause, "content part type '%s' is not "
			    "supported (messages[%zu].content[%zu]): this model "
			    "takes text only", type, i, j);
		}
		if (!json_is_string(t = json_object_get(part, "text"))) {
			*param = xasprintf("messages[%zu].content[%zu].text", i,
			    j);
			return set_cause(cause, "messages[%zu].content[%zu].text "
			    "must be a string", i, j);
		}
		strbuf_add(sb, json_string_value(t), json_string_length(t));
	}
	return 0;
}

/* An assistant turn's tool calls, the way the model writes them. */
static int
gateway_tool_calls(const struct gateway_req *r, json_t *calls, size_t i,
    struct strbuf *sb, char **param, char **cause)
{
	struct strbuf fc = STRBUF_INIT;
	json_t *call;
	size_t j;

	if (calls == NULL || json_is_null(calls))
		return 0;
	if (!json_is_array(calls)) {
		*param = xasprintf("messages[%zu].tool_calls", i);
		return set_cause(cause, "messages[%zu].tool_calls must be an "
		    "array", i);
	}
	for (j = 0; j < json_array_size(calls); j++) {
		call = json_array_get(calls, j);
		if (!json_is_string(json_object_get(json_object_get(call,
		    "function"), "name"))) {
			*param = xasprintf("messages[%zu].tool_calls[%zu]."
			    "function.name", i, j);
			return set_cause(cause, "messages[%zu].tool_calls[%zu] "
			    "has no function name", i, j);
		}
	}
	tools_format_calls(r->family, calls, &fc);
	if (sb->len > 0 && fc.len > 0)
		strbuf_addc(sb, '\n');
	if (fc.len > 0)
		strbuf_add(sb, fc.buf, fc.len);
	strbuf_release(&fc);
	return 0;
}

/*
 * Presents the tools: Hermes in the system turn (after the template's
 * default system message when the request has none), Llama 3.1 before the
 * first user message. May add a message at the front.
 */
static void
gateway_add_tools(struct gateway *gw, const struct gateway_req *r,
    struct chat_message **cm, struct strbuf **texts, size_t *n)
{
	struct strbuf tp = STRBUF_INIT, *t;
	const char *def = gw->cfg.tmpl->default_system;
	size_t i;

	tools_prompt(r->family, r->tools, r->must, &tp);
	if (r->family == TOOLS_LLAMA31) {
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

/* Renders messages with the template into the request's prompt ids. */
static int
gateway_parse_messages(struct gateway *gw, json_t *msgs,
    struct gateway_req *r, char **param, char **cause)
{
	struct chat_message *cm = NULL;
	struct strbuf *texts = NULL, prompt = STRBUF_INIT;
	const char *role;
	json_t *m;
	size_t i, n;
	int rc = -1, tool;

	if (!json_is_array(msgs) || (n = json_array_size(msgs)) == 0) {
		*param = xstrdup("messages");
		return set_cause(cause, "messages must be a non-empty array");
	}
	cm = xcalloc(n, sizeof(*cm));
	texts = xcalloc(n, sizeof(*texts));
	for (i = 0; i < json_array_size(msgs); i++) {
		m = json_array_get(msgs, i);
		strbuf_init(&texts[i]);
		if (!json_is_object(m) || (role = json_string_value(
		    json_object_get(m, "role"))) == NULL) {
			*param = xasprintf("messages[%zu].role", i);
			set_cause(cause, "messages[%zu] must be an object with "
			    "a role", i);
			goto out;
		}
		if (strcmp(role, "system") == 0 ||
		    strcmp(role, "developer") == 0)
			cm[i].role = "system";
		else if (strcmp(role, "user") == 0)
			cm[i].role = "user";
		else if (strcmp(role, "assistant") == 0)
			cm[i].role = "assistant";
		else if (strcmp(role, "tool") == 0)
			cm[i].role = r->family == TOOLS_LLAMA31 ? "ipython" :
			    "user";
		else {
			*param = xasprintf("messages[%zu].role", i);
			set_cause(cause, "messages[%zu].role '%s' is not one of "
			    "system, developer, user, assistant, tool", i, role);
			goto out;
		}
		tool = strcmp(role, "tool") == 0 && r->family == TOOLS_HERMES;
		if (tool)
			strbuf_adds(&texts[i], "<tool_response>\n");
		if (gateway_content(json_object_get(m, "content"), i, &texts[i],
		    param, cause) != 0)
			goto out;
		if (tool)
			strbuf_adds(&texts[i], "\n</tool_response>");
		if (strcmp(role, "assistant") == 0 && gateway_tool_calls(r,
		    json_object_get(m, "tool_calls"), i, &texts[i], param,
		    cause) != 0)
			goto out;
		cm[i].content = texts[i].buf != NULL ? texts[i].buf : "";
	}
	if (r->tools != NULL)
		gateway_add_tools(gw, r, &cm, &texts, &n);
	if (chat_render(gw->cfg.tmpl, cm, n, 1, &prompt, cause) != 0) {
		*param = xstrdup("messages");
		goto out;
	}
	if (tokenizer_encode(gw->cfg.tok, prompt.buf ? prompt.buf : "",
	    prompt.len, chat_tokenizer_flags(gw->cfg.tmpl, prompt.buf ?
	    prompt.buf : ""), &r->ids, &r->n_ids, cause) != 0)
		goto out;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		strbuf_release(&texts[i]);
	free(texts);
	free(cm);
	strbuf_release(&prompt);
	return rc;
}

static int
gateway_parse_prompt(struct gateway *gw, json_t *p, struct gateway_req *r,
    char **param, char **cause)
{
	json_t *v;
	size_t i, n;
	json_int_t id;
	uint32_t n_vocab = tokenizer_n_vocab(gw->cfg.tok);

	*param = xstrdup("prompt");
	if (json_is_array(p) && json_array_size(p) == 1 &&
	    json_is_string(json_array_get(p, 0)))
		p = json_array_get(p, 0);
	if (json_is_string(p))
		return tokenizer_encode(gw->cfg.tok, json_string_value(p),
		    json_string_length(p), TOKENIZER_ADD_BOS, &r->ids,
		    &r->n_ids, cause);
	if (!json_is_array(p))
		return set_cause(cause, "prompt must be a string or an array "
		    "of token ids");
	n = json_array_size(p);
	r->ids = xcalloc(n > 0 ? n : 1, sizeof(*r->ids));
	for (i = 0; i < json_array_size(p); i++) {
		v = json_array_get(p, i);
		if (!json_is_integer(v) || (id = json_integer_value(v)) < 0 ||
		    id >= (json_int_t)n_vocab)
			return set_cause(cause, "prompt[%zu] is not a token id "
			    "below %u", i, n_vocab);
		r->ids[i] = (int32_t)id;
	}
	r->n_ids = n;
	return 0;
}

/* A number field in [min, max]; absent and null leave *out alone. */
static int
gateway_number(json_t *o, const char *key, double min, double max,
    double *out, char **param, char **cause)
{
	json_t *v = json_object_get(o, key);
	double d;

	if (v == NULL || json_is_null(v))
		return 0;
	d = json_number_value(v);
	if (!json_is_number(v) || !isfinite(d) || d < min || d > max) {
		*param = xstrdup(key);
		return set_cause(cause, "%s must be a number from %g to %g",
		    key, min, max);
	}
	*out = d;
	return 0;
}

static int
gateway_integer(json_t *o, const char *key, json_int_t min, json_int_t max,
    json_int_t *out, char **param, char **cause)
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
	if (!is_int || d < min || d > max) {
		*param = xstrdup(key);
		return set_cause(cause, "%s must be an integer from %lld to "
		    "%lld", key, (long long)min, (long long)max);
	}
	*out = d;
	return 0;
}

static int
gateway_parse_stop(json_t *v, struct gateway_req *r, char **param,
    char **cause)
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
	if (!json_is_array(v) || json_array_size(v) > GATEWAY_MAX_STOP) {
		*param = xstrdup("stop");
		return set_cause(cause, "stop must be a string or an array of "
		    "at most %d strings", GATEWAY_MAX_STOP);
	}
	for (i = 0; i < json_array_size(v); i++) {
		s = json_array_get(v, i);
		if (!json_is_string(s)) {
			*param = xstrdup("stop");
			return set_cause(cause, "stop[%zu] must be a string", i);
		}
		if (json_string_length(s) > 0)
			r->stops[r->n_stop++] = xstrdup(json_string_value(s));
	}
	return 0;
}

/*
 * Everything but the prompt: sampling, limits, streaming. OpenAI's
 * defaults (temperature 1, top_p 1) rather than the terminal's.
 */
static int
gateway_parse_params(json_t *o, struct gateway_req *r, char **param,
    char **cause)
{
	struct sampler_params *sp = &r->gp.sampling;
	double temp = 1, top_p = 1, min_p = 0, pres = 0, freq = 0;
	json_int_t max = -1, n = 1, top_k = 0, seed = -1;
	json_t *v, *so;

	generate_params_init(&r->gp);
	sampler_params_default(sp);
	if (gateway_integer(o, "max_tokens", 1, 1 << 24, &max, param,
	    cause) != 0 || gateway_integer(o, "max_completion_tokens", 1,
	    1 << 24, &max, param, cause) != 0 ||
	    gateway_integer(o, "n", 1, 128, &n, param, cause) != 0 ||
	    gateway_integer(o, "top_k", 0, 1 << 24, &top_k, param,
	    cause) != 0 ||
	    gateway_integer(o, "seed", INT64_MIN, INT64_MAX, &seed, param,
	    cause) != 0 ||
	    gateway_number(o, "temperature", 0, 2, &temp, param, cause) != 0 ||
	    gateway_number(o, "top_p", 0, 1, &top_p, param, cause) != 0 ||
	    gateway_number(o, "min_p", 0, 1, &min_p, param, cause) != 0 ||
	    gateway_number(o, "presence_penalty", -2, 2, &pres, param,
	    cause) != 0 ||
	    gateway_number(o, "frequency_penalty", -2, 2, &freq, param,
	    cause) != 0 ||
	    gateway_parse_stop(json_object_get(o, "stop"), r, param,
	    cause) != 0)
		return -1;
	if (n != 1) {
		*param = xstrdup("n");
		return set_cause(cause, "n must be 1: one choice per request");
	}
	if ((v = json_object_get(o, "stream")) != NULL && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			*param = xstrdup("stream");
			return set_cause(cause, "stream must be a boolean");
		}
		r->stream = json_is_true(v);
	}
	if ((so = json_object_get(o, "stream_options")) != NULL &&
	    !json_is_null(so)) {
		if (!json_is_object(so)) {
			*param = xstrdup("stream_options");
			return set_cause(cause, "stream_options must be an "
			    "object");
		}
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
	sp->seed = v != NULL && !json_is_null(v) ? (uint64_t)seed :
	    (uint64_t)time(NULL) ^
	    ((uint64_t)getpid() << 16) ^ (uint64_t)(gateway_now() * 1e9);
	r->gp.max_tokens = r->max_tokens;
	r->gp.stop = (const char *const *)r->stops;
	r->gp.n_stop = r->n_stop;
	return 0;
}

/* --- generation ----------------------------------------------------------- */

static const char *
gateway_finish_name(enum generate_finish f)
{
	return f == GENERATE_FINISH_STOP ? "stop" : "length";
}

/*
 * The request's own backend, opened before any answer goes out so that a
 * swarm that cannot serve the model is a 503, not a broken stream.
 */
static int
gateway_open(struct gateway *gw, struct gateway_req *r, char **cause)
{
	uint32_t n_ctx = gw->cfg.n_ctx;

	/* Only the positions this request can use: KV memory is per request. */
	if (r->max_tokens > 0 && r->n_ids + (size_t)r->max_tokens < n_ctx)
		n_ctx = (uint32_t)(r->n_ids + (size_t)r->max_tokens);
	if (gw->cfg.open(gw->cfg.arg, n_ctx, &r->be, &r->state, cause) != 0)
		return -1;
	r->opened = 1;
	return 0;
}

static void
gateway_close(struct gateway *gw, struct gateway_req *r)
{
	if (r->opened)
		gw->cfg.close(gw->cfg.arg, r->state);
	r->opened = 0;
	r->state = NULL;
}

/* Runs the request on its backend, then closes it; *ttft in seconds. */
static int
gateway_generate(struct gateway *gw, struct gateway_req *r,
    struct generate_result *res, double *ttft, char **cause)
{
	int rc;

	memset(res, 0, sizeof(*res));
	*ttft = -1;
	rc = generate_run(&r->be, gw->cfg.tok, r->ids, r->n_ids, &r->gp, res,
	    cause);
	gateway_close(gw, r);
	if (rc == 0)
		*ttft = gateway_now() - r->t0 - res->gen_seconds;
	return rc;
}

static json_t *
gateway_usage(const struct gateway_req *r, const struct generate_result *res)
{
	return json_pack("{s:I,s:I,s:I}", "prompt_tokens",
	    (json_int_t)r->n_ids, "completion_tokens",
	    (json_int_t)res->n_tokens, "total_tokens",
	    (json_int_t)(r->n_ids + res->n_tokens));
}

/*
 * A whole answer's client is waiting in recv: when it hangs up (a client
 * timeout), the socket reads as closed and the generation stops.
 */
struct gateway_answer_conn {
	struct gateway	*gw;
	int		 fd;
};

static int
gateway_answer_text(void *arg, const char *text, size_t len)
{
	const struct gateway_answer_conn *ac = arg;
	struct pollfd pfd;
	char b;

	if (gateway_stopping(ac->gw))
		return 1;
	pfd.fd = ac->fd;
	pfd.events = POLLIN | POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return 1;
	/* Bytes of a pipelined request are no hang-up; end of file is. */
	return (pfd.revents & POLLIN) && recv(ac->fd, &b, 1, MSG_PEEK |
	    MSG_DONTWAIT) == 0;
}

static enum MHD_Result
gateway_answer(struct gateway *gw, struct MHD_Connection *c,
    struct gateway_req *r)
{
	const union MHD_ConnectionInfo *ci;
	struct gateway_answer_conn ac;
	struct generate_result res;
	json_t *o, *choice, *calls;
	char *cause = NULL, *text, *content = NULL;
	size_t len;
	double ttft;
	enum MHD_Result ret;

	ac.gw = gw;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci != NULL && (ac.fd = ci->connect_fd) >= 0) {
		r->gp.on_text = gateway_answer_text;
		r->gp.on_text_arg = &ac;
	}
	if (gateway_generate(gw, r, &res, &ttft, &cause) != 0) {
		ret = gateway_error(gw, c, 503, 1, NULL, "backend_error",
		    "generation failed: %s", cause);
		free(cause);
		generate_result_release(&res);
		return ret;
	}
	gateway_count_done(gw, r->n_ids, &res, ttft);
	text = utf8_sanitize(res.text ? res.text : "", res.text_len, &len);
	if (r->chat && r->tools != NULL &&
	    (calls = tools_parse(r->family, text, r->id + 9, &content)) != NULL)
		choice = json_pack("{s:i,s:{s:s,s:s?,s:o},s:n,s:s}", "index", 0,
		    "message", "role", "assistant", "content", content,
		    "tool_calls", calls, "logprobs", "finish_reason",
		    "tool_calls");
	else if (r->chat)
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
	    r->chat ? "chat.completion" : "text_completion", "created",
	    (json_int_t)r->created, "model", gw->cfg.model_name, "choices",
	    choice, "usage", gateway_usage(r, &res));
	generate_result_release(&res);
	return gateway_send_json(gw, c, 200, o);
}

/* --- streaming ------------------------------------------------------------ */

/* Appends one SSE event (takes the reference). Called with s->mu held. */
static void
gateway_stream_event(struct gateway_stream *s, json_t *o)
{
	char *d = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

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
gateway_chunk(struct gateway_stream *s, const char *role, const char *text,
    size_t len, const char *finish)
{
	const struct gateway_req *r = &s->req;
	json_t *delta, *choice;

	if (r->chat) {
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
	if (finish == NULL)
		json_object_set_new(choice, "finish_reason", json_null());
	return json_pack("{s:s,s:s,s:I,s:s,s:[o]}", "id", r->id, "object",
	    r->chat ? "chat.completion.chunk" : "text_completion", "created",
	    (json_int_t)r->created, "model", s->gw->cfg.model_name,
	    "choices", choice);
}

/* Emits the complete UTF-8 prefix of the held text (all of it at the end). */
static void
gateway_stream_flush(struct gateway_stream *s, int all)
{
	const unsigned char *p = (const unsigned char *)s->hold.buf;
	size_t i = 0, l, n = s->hold.len, clean_len;
	char *clean;

	while (i < n && !all) {
		if ((l = utf8_seq_len(p + i, n - i)) == 0) {
			/* A lead byte whose sequence runs past the end waits. */
			if (n - i < 4 && p[i] >= 0xc2 && p[i] <= 0xf4 &&
			    utf8_seq_len(p + i, 4) == 0) {
				size_t k;

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
	gateway_stream_event(s, gateway_chunk(s, NULL, clean, clean_len,
	    NULL));
	free(clean);
	memmove(s->hold.buf, s->hold.buf + i, n - i);
	s->hold.len = n - i;
	s->hold.buf[s->hold.len] = '\0';
}

static int
gateway_stream_text(void *arg, const char *text, size_t len)
{
	struct gateway_stream *s = arg;
	size_t safe;
	int cancel;

	pthread_mutex_lock(&s->mu);
	if ((cancel = s->cancel || gateway_stopping(s->gw)))
		goto out;
	if (s->req.tools != NULL) {
		strbuf_add(&s->all, text, len);
		safe = tools_stream_safe(s->req.family, s->all.buf,
		    s->all.len, s->sent, &s->held);
		if (safe > s->sent) {
			s->got_text = 1;
			strbuf_add(&s->hold, s->all.buf + s->sent,
			    safe - s->sent);
			s->sent = safe;
			gateway_stream_flush(s, 0);
		}
		goto out;
	}
	s->got_text = 1;
	strbuf_add(&s->hold, text, len);
	gateway_stream_flush(s, 0);
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
gateway_stream_calls(struct gateway_stream *s, struct generate_result *res)
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
	gateway_stream_flush(s, 1);
	for (i = 0; i < json_array_size(calls); i++) {
		call = json_array_get(calls, i);
		json_object_set_new(call, "index", json_integer((json_int_t)i));
	}
	ch = gateway_chunk(s, NULL, NULL, 0, NULL);
	delta = json_object_get(json_array_get(json_object_get(ch, "choices"),
	    0), "delta");
	json_object_set_new(delta, "tool_calls", calls);
	gateway_stream_event(s, ch);
	return 1;
}

static void *
gateway_stream_main(void *arg)
{
	struct gateway_stream *s = arg;
	struct generate_result res;
	char *cause = NULL;
	double ttft;
	int rc;

	s->req.gp.on_text = gateway_stream_text;
	s->req.gp.on_text_arg = s;
	rc = gateway_generate(s->gw, &s->req, &res, &ttft, &cause);
	pthread_mutex_lock(&s->mu);
	if (rc != 0) {
		json_t *e = gateway_error_json("server_error", NULL,
		    "backend_error", cause);

		gateway_stream_event(s, e);
	} else {
		const char *finish = gateway_finish_name(res.finish);

		gateway_count_done(s->gw, s->req.n_ids, &res, ttft);
		if (s->req.tools != NULL && gateway_stream_calls(s, &res))
			finish = "tool_calls";
		if (s->hold.len > 0)
			gateway_stream_flush(s, 1);
		gateway_stream_event(s, gateway_chunk(s, NULL, NULL, 0,
		    finish));
		if (s->req.include_usage) {
			json_t *u = gateway_chunk(s, NULL, NULL, 0, NULL);

			json_object_set_new(u, "choices", json_array());
			json_object_set_new(u, "usage", gateway_usage(&s->req,
			    &res));
			gateway_stream_event(s, u);
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
 * MHD asks for more of the body. Blocking here is allowed: each connection
 * has its own thread.
 */
static ssize_t
gateway_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct gateway_stream *s = cls;
	int hb = s->gw->cfg.heartbeat_seconds;
	struct timespec ts;
	double hb_at, wait;
	size_t n;

	/* Wake at least each second: a stopping server must not wait. */
	hb_at = gateway_now() + hb;
	pthread_mutex_lock(&s->mu);
	while (s->off == s->out.len && !s->done) {
		if (gateway_stopping(s->gw)) {
			pthread_mutex_unlock(&s->mu);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		wait = 1;
		if (hb > 0 && !s->got_text && hb_at - gateway_now() < wait)
			wait = hb_at - gateway_now();
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
		if (hb > 0 && !s->got_text && gateway_now() >= hb_at &&
		    s->off == s->out.len && !s->done) {
			gateway_stream_event(s, gateway_chunk(s, NULL, NULL, 0,
			    NULL));
			hb_at = gateway_now() + hb;
		}
	}
	if (s->off < s->out.len) {
		n = s->out.len - s->off;
		if (n > max)
			n = max;
		memcpy(buf, s->out.buf + s->off, n);
		s->off += n;
		if (s->off == s->out.len) {
			strbuf_reset(&s->out);
			s->off = 0;
		}
		pthread_mutex_unlock(&s->mu);
		return (ssize_t)n;
	}
	pthread_mutex_unlock(&s->mu);
	return MHD_CONTENT_READER_END_OF_STREAM;
}

/* The answer is over, or the client went away: stop and clean up. */
static void
gateway_stream_free(void *cls)
{
	struct gateway_stream *s = cls;
	struct gateway *gw = s->gw;

	pthread_mutex_lock(&s->mu);
	s->cancel = 1;
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
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

/* Takes r over; returns with the slot handed to the stream. */
static enum MHD_Result
gateway_stream_start(struct gateway *gw, struct MHD_Connection *c,
    struct gateway_req *r)
{
	struct gateway_stream *s = xcalloc(1, sizeof(*s));
	struct MHD_Response *mr;
	enum MHD_Result ret;

	s->gw = gw;
	s->req = *r;
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	strbuf_init(&s->out);
	strbuf_init(&s->hold);
	strbuf_init(&s->all);
	/* The role first, at once: the client knows the request is live. */
	if (s->req.chat)
		gateway_stream_event(s, gateway_chunk(s, "assistant", NULL, 0,
		    NULL));
	pthread_mutex_lock(&gw->mu);
	gw->active_streams++;
	pthread_mutex_unlock(&gw->mu);
	if (pthread_create(&s->thread, NULL, gateway_stream_main, s) != 0) {
		/* No thread to join: undo by hand. */
		gateway_close(gw, &s->req);
		gateway_req_release(&s->req);
		strbuf_release(&s->out);
		strbuf_release(&s->hold);
		strbuf_release(&s->all);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		pthread_mutex_lock(&gw->mu);
		gw->active--;
		gw->active_streams--;
		pthread_mutex_unlock(&gw->mu);
		return gateway_error(gw, c, 503, 1, NULL, "overloaded",
		    "cannot start a thread for the stream");
	}
	mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    gateway_stream_read, s, gateway_stream_free);
	if (mr == NULL) {
		gateway_stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/event-stream");
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	gateway_count_status(gw, 200);
	ret = MHD_queue_response(c, 200, mr);
	MHD_destroy_response(mr);
	return ret;
}

/* --- dispatch ------------------------------------------------------------- */

static int
gateway_authorized(const struct gateway *gw, struct MHD_Connection *c)
{
	const char *h;
	size_t i;

	if (gw->cfg.n_api_keys == 0)
		return 1;
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	for (i = 0; i < gw->cfg.n_api_keys; i++)
		if (strcmp(h, gw->cfg.api_keys[i]) == 0)
			return 1;
	return 0;
}

static enum MHD_Result
gateway_completion(struct gateway *gw, struct MHD_Connection *c, int chat,
    const char *body, size_t len)
{
	struct gateway_req r;
	json_error_t jerr;
	json_t *o, *mv;
	char *param = NULL, *cause = NULL;
	enum MHD_Result ret;
	int busy;

	memset(&r, 0, sizeof(r));
	if ((o = json_loadb(body, len, 0, &jerr)) == NULL)
		return gateway_error(gw, c, 400, 0, NULL, "invalid_json",
		    "the body is not valid JSON: %s (line %d, column %d)",
		    jerr.text, jerr.line, jerr.column);
	if (!json_is_object(o)) {
		json_decref(o);
		return gateway_error(gw, c, 400, 0, NULL, "invalid_json",
		    "the body must be a JSON object");
	}
	mv = json_object_get(o, "model");
	if (!json_is_string(mv)) {
		json_decref(o);
		return gateway_error(gw, c, 400, 0, "model", "invalid_value",
		    "model must be a string naming a model of GET /v1/models");
	}
	if (!gateway_known_model(gw, json_string_value(mv))) {
		ret = gateway_error(gw, c, 404, 0, "model", "model_not_found",
		    "The model '%s' does not exist", json_string_value(mv));
		json_decref(o);
		return ret;
	}
	r.chat = chat;
	r.family = tools_family(gw->cfg.tmpl);
	if (chat) {
		json_t *tools = json_object_get(o, "tools");
		int none;

		if (tools_check(tools, json_object_get(o, "tool_choice"),
		    &r.must, &none, &param, &cause) != 0) {
			ret = gateway_error(gw, c, 400, 0, param,
			    "invalid_value", "%s", cause);
			goto out;
		}
		if (!none && json_array_size(tools) > 0)
			r.tools = json_incref(tools);
	}
	if (gateway_parse_params(o, &r, &param, &cause) != 0 ||
	    (chat ? gateway_parse_messages(gw, json_object_get(o, "messages"),
	    &r, &param, &cause) : gateway_parse_prompt(gw, json_object_get(o,
	    "prompt"), &r, &param, &cause)) != 0) {
		ret = gateway_error(gw, c, 400, 0, param, "invalid_value",
		    "%s", cause);
		goto out;
	}
	free(param);
	param = NULL;
	if (r.n_ids == 0) {
		int32_t bos = tokenizer_bos(gw->cfg.tok);

		if (bos < 0) {
			ret = gateway_error(gw, c, 400, 0, chat ? "messages" :
			    "prompt", "invalid_value", "the prompt is empty");
			goto out;
		}
		free(r.ids);
		r.ids = xmalloc(sizeof(*r.ids));
		r.ids[0] = bos;
		r.n_ids = 1;
	}
	if (r.n_ids > gw->cfg.n_ctx) {
		ret = gateway_error(gw, c, 400, 0, chat ? "messages" : "prompt",
		    "context_length_exceeded", "This model's maximum context "
		    "length is %u tokens. However, your messages resulted in "
		    "%zu tokens.", gw->cfg.n_ctx, r.n_ids);
		goto out;
	}
	pthread_mutex_lock(&gw->mu);
	if (!(busy = gw->active >= gw->cfg.max_concurrent))
		gw->active++;
	r.created = (long long)time(NULL);
	snprintf(r.id, sizeof(r.id), "%s-%08x%016llx", chat ? "chatcmpl" :
	    "cmpl", gw->salt, (unsigned long long)++gw->next_id);
	pthread_mutex_unlock(&gw->mu);
	if (busy) {
		ret = gateway_error(gw, c, 429, 1, NULL, "rate_limit_exceeded",
		    "%d requests are running, the most this server takes at "
		    "once; retry later", gw->cfg.max_concurrent);
		goto out;
	}
	r.t0 = gateway_now();
	if (gateway_open(gw, &r, &cause) != 0) {
		pthread_mutex_lock(&gw->mu);
		gw->active--;
		pthread_mutex_unlock(&gw->mu);
		ret = gateway_error(gw, c, 503, 1, NULL, "model_unavailable",
		    "cannot run the model now: %s", cause);
		goto out;
	}
	if (r.stream) {
		ret = gateway_stream_start(gw, c, &r);
	} else {
		ret = gateway_answer(gw, c, &r);
		pthread_mutex_lock(&gw->mu);
		gw->active--;
		pthread_mutex_unlock(&gw->mu);
	}
out:
	free(param);
	free(cause);
	gateway_req_release(&r);
	json_decref(o);
	return ret;
}

/* 200 when the model can run now, 503 naming what is missing when not. */
static enum MHD_Result
gateway_health(struct gateway *gw, struct MHD_Connection *c)
{
	char *detail = NULL, *d8, *s;
	json_t *o;

	if (gw->cfg.health == NULL || gw->cfg.health(gw->cfg.arg,
	    &detail) == 0)
		return gateway_send_json(gw, c, 200, json_pack("{s:s,s:s,s:s}",
		    "status", "ok", "model", gw->cfg.model_name, "coverage",
		    "complete"));
	/* The cause may quote what a peer answered. */
	d8 = detail != NULL ? utf8_sanitize(detail, strlen(detail), NULL) :
	    xstrdup("unknown");
	o = json_pack("{s:s,s:s,s:s}", "status", "unavailable", "model",
	    gw->cfg.model_name, "error", d8);
	free(detail);
	free(d8);
	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(o);
	return gateway_send(gw, c, 503, "application/json", s, 5);
}

static enum MHD_Result
gateway_route(struct gateway *gw, struct MHD_Connection *c, const char *url,
    const char *method, struct gateway_conn *hc)
{
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int post = strcmp(method, "POST") == 0;
	const char *body = hc->body.buf != NULL ? hc->body.buf : "";

	if (strcmp(url, "/health") == 0 && get)
		return gateway_health(gw, c);
	if (strcmp(url, "/metrics") == 0 && get)
		return gateway_metrics(gw, c);
	if (strncmp(url, "/v1/", 4) != 0)
		return gateway_error(gw, c, 404, 0, NULL, "not_found",
		    "no endpoint %s %s", method, url);
	if (!gateway_authorized(gw, c))
		return gateway_error(gw, c, 401, 0, NULL, "invalid_api_key",
		    "a valid API key is needed: send Authorization: Bearer "
		    "KEY");
	if (hc->too_large)
		return gateway_error(gw, c, 413, 0, NULL, "request_too_large",
		    "the request body is over %zu bytes", gw->cfg.max_body);
	if (strcmp(url, "/v1/models") == 0 && get)
		return gateway_models(gw, c, NULL);
	if (strncmp(url, "/v1/models/", 11) == 0 && get)
		return gateway_models(gw, c, url + 11);
	if (strcmp(url, "/v1/chat/completions") == 0 && post)
		return gateway_completion(gw, c, 1, body, hc->body.len);
	if (strcmp(url, "/v1/completions") == 0 && post)
		return gateway_completion(gw, c, 0, body, hc->body.len);
	if (strcmp(url, "/v1/models") == 0 ||
	    strncmp(url, "/v1/models/", 11) == 0 ||
	    strcmp(url, "/v1/chat/completions") == 0 ||
	    strcmp(url, "/v1/completions") == 0)
		return gateway_error(gw, c, 405, 0, NULL, "method_not_allowed",
		    "%s is not allowed on %s", method, url);
	return gateway_error(gw, c, 404, 0, NULL, "not_found",
	    "no endpoint %s %s", method, url);
}

static enum MHD_Result
gateway_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct gateway *gw = cls;
	struct gateway_conn *hc = *con_cls;

	if (hc == NULL) {
		hc = xcalloc(1, sizeof(*hc));
		strbuf_init(&hc->body);
		*con_cls = hc;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (hc->too_large || hc->body.len + *upload_data_size >
		    gw->cfg.max_body) {
			hc->too_large = 1;
			strbuf_release(&hc->body);
		} else
			strbuf_add(&hc->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return gateway_route(gw, c, url, method, hc);
}

static void
gateway_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct gateway_conn *hc = *con_cls;

	if (hc != NULL) {
		strbuf_release(&hc->body);
		free(hc);
		*con_cls = NULL;
	}
}

struct gateway *
gateway_new(const struct gateway_config *cfg, char **cause)
{
	struct gateway *gw;
	struct addrinfo hints, *ai = NULL;
	const union MHD_DaemonInfo *di;
	char portstr[8];
	unsigned flags;
	int err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", cfg->port);
	if ((err = getaddrinfo(cfg->host, portstr, &hints, &ai)) != 0) {
		set_cause(cause, "cannot resolve '%s': %s", cfg->host,
		    gai_strerror(err));
		return NULL;
	}
	gw = xcalloc(1, sizeof(*gw));
	gw->cfg = *cfg;
	if (gw->cfg.max_concurrent < 1)
		gw->cfg.max_concurrent = 1;
	gw->salt = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 12);
	pthread_mutex_init(&gw->mu, NULL);
	gw->ttft.le = gateway_ttft_le;
	gw->ttft.n = sizeof(gateway_ttft_le) / sizeof(gateway_ttft_le[0]);
	gw->tps.le = gateway_tps_le;
	gw->tps.n = sizeof(gateway_tps_le) / sizeof(gateway_tps_le[0]);
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL | MHD_USE_ITC;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	gw->mhd = MHD_start_daemon(flags, cfg->port, NULL, NULL, gateway_access,
	    gw, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_NOTIFY_COMPLETED, gateway_completed, gw,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)GATEWAY_MAX_CONNECTIONS,
	    MHD_OPTION_END);
	err = errno;
	freeaddrinfo(ai);
	if (gw->mhd == NULL) {
		set_cause(cause, "cannot listen on %s:%u: %s", cfg->host,
		    cfg->port, strerror(err != 0 ? err : EADDRINUSE));
		pthread_mutex_destroy(&gw->mu);
		free(gw);
		return NULL;
	}
	di = MHD_get_daemon_info(gw->mhd, MHD_DAEMON_INFO_BIND_PORT);
	gw->port = di != NULL && di->port != 0 ? di->port : cfg->port;
	return gw;
}

uint16_t
gateway_port(const struct gateway *gw)
{
	return gw->port;
}

void
gateway_free(struct gateway *gw)
{
	if (gw == NULL)
		return;
	/* Generations and streams see it and end; then the threads join. */
	__atomic_store_n(&gw->stopping, 1, __ATOMIC_RELEASE);
	MHD_stop_daemon(gw->mhd);
	pthread_mutex_destroy(&gw->mu);
	free(gw);
}
