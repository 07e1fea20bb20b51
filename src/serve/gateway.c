/*
 * The OpenAI-compatible API on the house's HTTP server: the route table,
 * OpenAI's error shape for every answer the server gives itself, the
 * model list, /health and /metrics, and the lifecycle. Parsing lives in
 * serve/openai, the generation routes in serve/completion, streams in
 * serve/sse, tool calls in serve/tools and the exposition in
 * serve/metrics.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/tokenizer.h"
#include "ledger/ledger.h"
#include "serve/completion.h"
#include "serve/gateway-private.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* The body sent when an answer cannot be encoded. */
#define GATEWAY_ERROR_FALLBACK \
	"{\"error\":{\"message\":\"cannot encode the answer\"," \
	"\"type\":\"server_error\",\"param\":null,\"code\":null}}"

int
gateway_stopping(struct gateway *gw)
{
	return __atomic_load_n(&gw->stopping, __ATOMIC_ACQUIRE);
}

void
gateway_json(struct http_response *resp, int status, json_t *o)
{
	char *s;

	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(o);
	free(resp->body);
	if (s == NULL) {		/* an encoder that failed */
		status = 500;
		s = xstrdup(GATEWAY_ERROR_FALLBACK);
	}
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = s;
	resp->len = strlen(s);
}

void
gateway_error(struct http_response *resp, int status, int retry_after,
    const char *param, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	gateway_json(resp, status, openai_error_json(status, param, code, msg));
	free(msg);
	if (retry_after > 0)
		http_response_header(resp, "Retry-After", "%d", retry_after);
}

/* The answers the server gives itself, in OpenAI's shape. */
static void
gateway_http_error(void *arg, struct http_response *resp, int status,
    const char *code, const char *message)
{
	if (strcmp(code, "too_large") == 0)
		code = "request_too_large";
	gateway_json(resp, status, openai_error_json(status, NULL, code,
	    message));
}

static void
gateway_answered(void *arg, int status)
{
	struct gateway *gw = arg;

	metrics_count_status(&gw->metrics, status);
}

void
gateway_req_release(struct gateway_req *r)
{
	openai_request_release(&r->o);
	free(r->ids);
	memset(r, 0, sizeof(*r));
}

const char *
gateway_finish_name(enum generate_finish f)
{
	return f == GENERATE_FINISH_STOP ? "stop" : "length";
}

void
gateway_close(struct gateway *gw, struct gateway_req *r)
{
	if (r->opened)
		gw->cfg.close(gw->cfg.arg, r->state, &r->units, &r->amount);
	r->opened = 0;
	r->state = NULL;
}

int
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
		*ttft = clock_now() - r->t0 - res->gen_seconds;
	if (gw->cfg.ledger != NULL) {
		struct ledger_usage u;

		memset(&u, 0, sizeof(u));
		snprintf(u.key_id, sizeof(u.key_id), "%s", r->key_id[0] != '\0' ?
		    r->key_id : "-");
		snprintf(u.model, sizeof(u.model), "%s", gw->cfg.model_name);
		u.tokens_in = r->n_ids;
		u.tokens_out = res->n_tokens;
		u.units = r->units;
		u.amount = r->amount;
		u.time = (int64_t)time(NULL);
		ledger_add_usage(gw->cfg.ledger, &u);
	}
	return rc;
}

json_t *
gateway_usage(const struct gateway_req *r, const struct generate_result *res)
{
	return json_pack("{s:I,s:I,s:I}", "prompt_tokens",
	    (json_int_t)r->n_ids, "completion_tokens",
	    (json_int_t)res->n_tokens, "total_tokens",
	    (json_int_t)(r->n_ids + res->n_tokens));
}

/* --- models, health, metrics ---------------------------------------------- */

static json_t *
gateway_model_json(const struct gateway *gw, const char *id)
{
	return json_pack("{s:s,s:s,s:I,s:s,s:I}", "id", id, "object", "model",
	    "created", (json_int_t)0, "owned_by", "swarm", "max_model_len",
	    (json_int_t)gw->cfg.n_ctx);
}

static void
gateway_route_models(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	struct gateway *gw = arg;
	json_t *list;
	size_t i;

	list = json_array();
	for (i = 0; i < gw->n_models; i++)
		json_array_append_new(list, gateway_model_json(gw,
		    gw->models[i]));
	gateway_json(resp, 200, json_pack("{s:s,s:o}", "object", "list",
	    "data", list));
}

static void
gateway_route_model(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	struct gateway *gw = arg;
	const char *id = req->wild[0];
	size_t i;

	for (i = 0; i < gw->n_models; i++)
		if (strcmp(id, gw->models[i]) == 0) {
			gateway_json(resp, 200, gateway_model_json(gw, id));
			return;
		}
	gateway_error(resp, 404, 0, "model", "model_not_found", "The model "
	    "'%s' does not exist", id);
}

/* 200 when the model can run now, 503 naming what is missing when not. */
static void
gateway_route_health(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	struct gateway *gw = arg;
	char *detail = NULL, *d8;

	if (gw->cfg.health == NULL || gw->cfg.health(gw->cfg.arg,
	    &detail) == 0) {
		gateway_json(resp, 200, json_pack("{s:s,s:s,s:s}", "status",
		    "ok", "model", gw->cfg.model_name, "coverage", "complete"));
		return;
	}
	/* The cause may quote what a peer answered. */
	d8 = detail != NULL ? utf8_sanitize(detail, strlen(detail), NULL) :
	    xstrdup("unknown");
	gateway_json(resp, 503, json_pack("{s:s,s:s,s:s}", "status",
	    "unavailable", "model", gw->cfg.model_name, "error", d8));
	http_response_header(resp, "Retry-After", "5");
	free(detail);
	free(d8);
}

static void
gateway_route_metrics(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	struct gateway *gw = arg;
	struct strbuf sb = STRBUF_INIT;
	int active, streams;

	pthread_mutex_lock(&gw->mu);
	active = gw->active;
	streams = gw->active_streams;
	pthread_mutex_unlock(&gw->mu);
	metrics_render(&gw->metrics, active, streams, &sb);
	if (gw->cfg.metrics != NULL)
		gw->cfg.metrics(gw->cfg.arg, &sb);
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4";
	resp->body = strbuf_detach(&sb, &resp->len);
}

/* --- lifecycle ------------------------------------------------------------ */

/*
 * /health and /metrics ask the backend, which may go over the network:
 * they run on threads of their own like the generations.
 */
static void
gateway_routes(struct gateway *gw)
{
	const struct http_route routes[GATEWAY_N_ROUTES] = {
		{ "GET", "/health", gateway_route_health, 0,
		    HTTP_ROUTE_THREAD, NULL },
		{ "GET", "/metrics", gateway_route_metrics, 0,
		    HTTP_ROUTE_THREAD, NULL },
		{ "GET", "/v1/models", gateway_route_models, 0,
		    HTTP_ROUTE_AUTH, NULL },
		{ "GET", "/v1/models/*", gateway_route_model, 0,
		    HTTP_ROUTE_AUTH, NULL },
		{ "POST", "/v1/chat/completions", completion_chat,
		    gw->cfg.max_body, HTTP_ROUTE_AUTH | HTTP_ROUTE_THREAD,
		    NULL },
		{ "POST", "/v1/completions", completion_text,
		    gw->cfg.max_body, HTTP_ROUTE_AUTH | HTTP_ROUTE_THREAD,
		    NULL },
	};

	memcpy(gw->routes, routes, sizeof(routes));
}

struct gateway *
gateway_new(const struct gateway_config *cfg, char **cause)
{
	struct http_server_config hc;
	struct gateway *gw;
	size_t i;

	gw = xcalloc(1, sizeof(*gw));
	gw->cfg = *cfg;
	if (gw->cfg.max_concurrent < 1)
		gw->cfg.max_concurrent = 1;
	gw->salt = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 12);
	pthread_mutex_init(&gw->mu, NULL);
	metrics_init(&gw->metrics);
	gw->n_models = 1 + cfg->n_aliases;
	gw->models = xcalloc(gw->n_models, sizeof(*gw->models));
	gw->models[0] = cfg->model_name;
	for (i = 0; i < cfg->n_aliases; i++)
		gw->models[1 + i] = cfg->aliases[i];
	gateway_routes(gw);
	memset(&hc, 0, sizeof(hc));
	hc.host = cfg->host;
	hc.port = cfg->port;
	hc.routes = gw->routes;
	hc.n_routes = GATEWAY_N_ROUTES;
	hc.arg = gw;
	hc.api_keys = cfg->api_keys;
	hc.n_api_keys = cfg->n_api_keys;
	hc.error = gateway_http_error;
	hc.answered = gateway_answered;
	if ((gw->http = http_server_new(&hc, cause)) == NULL) {
		metrics_release(&gw->metrics);
		pthread_mutex_destroy(&gw->mu);
		free(gw->models);
		free(gw);
		return NULL;
	}
	gw->port = http_server_port(gw->http);
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
	http_server_free(gw->http);
	metrics_release(&gw->metrics);
	pthread_mutex_destroy(&gw->mu);
	free(gw->models);
	free(gw);
}
