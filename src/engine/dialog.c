/*
 * A conversation with a model (dialog.h): the turn's prompt from the whole
 * conversation, the KV cache's bookkeeping between turns, and the context's
 * limit.
 */
#include <stdlib.h>
#include <string.h>

#include "core/chat.h"
#include "core/generate.h"
#include "core/tokenizer.h"
#include "engine/conversation.h"
#include "engine/dialog-url.h"
#include "engine/dialog.h"
#include "engine/engine.h"
#include "swarm/client.h"
#include "util/logcb.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

struct dialog {
	struct dialog_config	 cfg;
	struct conversation	 conv;
	struct dialog_stats	 stats;
	/* The engine's backend, and the tokens its cache holds. */
	struct generate_backend	 be;
	struct engine_backend	*b;
	int32_t			*cache;
	size_t			 n_cache;
	/* Or the server's. */
	struct dialog_url	*url;
};

static void
dialog_log(struct dialog *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
dialog_log(struct dialog *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logcb_vprintf(d->cfg.log, d->cfg.log_arg, fmt, ap);
	va_end(ap);
}

struct dialog *
dialog_new(const struct dialog_config *cfg, char **warning, char **cause)
{
	struct dialog *d = xcalloc(1, sizeof(*d));
	struct chat_template t;

	d->cfg = *cfg;
	conversation_init(&d->conv);
	if (cfg->system != NULL)
		conversation_set_system(&d->conv, cfg->system);
	if (cfg->url != NULL) {
		if ((d->url = dialog_url_new(cfg->url, cfg->api_key,
		    cfg->model, cfg->timeout, cfg->cancel, cause)) == NULL)
			goto fail;
		return d;
	}
	/* An unknown template name fails here, before the first turn. */
	if (engine_chat_template(cfg->engine, cfg->template, &t, warning,
	    cause) != 0)
		goto fail;
	chat_template_release(&t);
	if (engine_backend_open(cfg->engine, 0, &d->be, &d->b, cause) != 0)
		goto fail;
	d->stats.n_ctx = d->be.n_ctx;
	return d;
fail:
	dialog_free(d);
	return NULL;
}

void
dialog_free(struct dialog *d)
{
	if (d == NULL)
		return;
	engine_backend_close(d->b);
	dialog_url_free(d->url);
	conversation_release(&d->conv);
	free(d->cache);
	free(d);
}

struct conversation *
dialog_conversation(struct dialog *d)
{
	return &d->conv;
}

const struct dialog_stats *
dialog_stats(const struct dialog *d)
{
	return &d->stats;
}

/* The whole conversation, rendered and tokenized, opening the reply. */
static int
dialog_tokens(struct dialog *d, int32_t **ids, size_t *n, char **cause)
{
	char *text = NULL, *warning = NULL;
	int flags, rc;

	rc = engine_chat_render(d->cfg.engine, d->cfg.template, d->conv.msgs,
	    d->conv.n, &text, &flags, &warning, cause);
	free(warning);	/* dialog_new passed it on once */
	if (rc == 0)
		rc = tokenizer_encode(engine_tokenizer(d->cfg.engine), text,
		    strlen(text), flags, ids, n, cause);
	free(text);
	return rc;
}

/*
 * Makes the conversation fit the context, forgetting the oldest turns
 * when allowed (down to half the context, so it is not again at once).
 */
static int
dialog_fit(struct dialog *d, int32_t **ids, size_t *n, char **cause)
{
	uint32_t n_ctx = d->be.n_ctx;

	d->stats.dropped = 0;
	for (;;) {
		if (dialog_tokens(d, ids, n, cause) != 0)
			return -1;
		if (*n < n_ctx && (d->stats.dropped == 0 || *n <= n_ctx / 2))
			return 0;
		if (d->cfg.overflow != DIALOG_OVERFLOW_DROP_OLDEST ||
		    conversation_drop_oldest(&d->conv) != 0)
			break;
		d->stats.dropped++;
		free(*ids);
		*ids = NULL;
	}
	if (*n < n_ctx)
		return 0;
	set_cause(cause, "the context is full: the conversation needs %zu "
	    "tokens and the context holds %u; /clear starts a new one", *n,
	    n_ctx);
	free(*ids);
	*ids = NULL;
	return -1;
}

/*
 * How much of ids the cache can keep: the common prefix, less one so the
 * last token is evaluated for its logits. The swarm's sessions cannot be
 * rewound: they are opened anew.
 */
static int
dialog_reuse(struct dialog *d, const int32_t *ids, size_t n, size_t *keep,
    char **cause)
{
	size_t k = 0;

	while (k < d->n_cache && k < n && d->cache[k] == ids[k])
		k++;
	if (k == n)
		k--;
	if (k < d->n_cache) {
		dialog_log(d, "the conversation differs from the cache at "
		    "token %zu of %zu: prefilling from there", k, d->n_cache);
		if (!engine_local(d->cfg.engine)) {
			engine_backend_close(d->b);
			d->b = NULL;
			d->n_cache = 0;
			k = 0;
			if (engine_backend_open(d->cfg.engine, 0, &d->be,
			    &d->b, cause) != 0)
				return -1;
		}
	}
	*keep = k;
	return 0;
}

/* After a reply: the tokens the cache now holds. */
static void
dialog_remember(struct dialog *d, const int32_t *ids, size_t n,
    const struct generate_result *res)
{
	size_t i;

	d->cache = xreallocarray(d->cache, res->n_past ? res->n_past : 1,
	    sizeof(*d->cache));
	for (i = 0; i < res->n_past; i++)
		d->cache[i] = i < n ? ids[i] : res->tokens[i - n];
	d->n_cache = res->n_past;
}

/* The reply to the conversation as it stands, from the engine. */
static int
dialog_engine_reply(struct dialog *d, const struct generate_params *p,
    struct strbuf *reply, char **cause)
{
	struct generate_params gp = *p;
	struct generate_result res;
	struct dialog_stats *st = &d->stats;
	int32_t *ids = NULL;
	size_t n = 0, keep;
	int rc = -1;

	memset(&res, 0, sizeof(res));
	if (d->b == NULL && engine_backend_open(d->cfg.engine, 0, &d->be,
	    &d->b, cause) != 0)
		return -1;
	if (dialog_fit(d, &ids, &n, cause) != 0 ||
	    dialog_reuse(d, ids, n, &keep, cause) != 0)
		goto out;
	gp.n_cached = keep;
	if (generate_run(&d->be, engine_tokenizer(d->cfg.engine), ids, n, &gp,
	    &res, cause) != 0) {
		/* what the cache holds is unknown now */
		d->n_cache = 0;
		engine_backend_close(d->b);
		d->b = NULL;
		goto out;
	}
	dialog_remember(d, ids, n, &res);
	st->n_prompt = n;
	st->n_prefilled = n - keep;
	st->n_reused = keep;
	st->n_tokens = res.n_tokens;
	st->n_past = res.n_past;
	st->prompt_seconds = res.prompt_seconds;
	st->first_token_seconds = res.first_token_seconds;
	st->gen_seconds = res.gen_seconds;
	st->context_full = res.finish == GENERATE_FINISH_LENGTH &&
	    n + res.n_tokens >= d->be.n_ctx;
	strbuf_add(reply, res.text != NULL ? res.text : "", res.text_len);
	rc = 0;
out:
	generate_result_release(&res);
	free(ids);
	return rc;
}

/* Generates the reply to the conversation, which ends with the user. */
static int
dialog_reply(struct dialog *d, const struct generate_params *p,
    char **cause)
{
	struct strbuf reply = STRBUF_INIT;
	int rc;

	if (d->cfg.cancel != NULL)
		*d->cfg.cancel = 0;
	if (d->url != NULL)
		rc = dialog_url_reply(d->url, &d->conv, p, &d->stats, &reply,
		    cause);
	else
		rc = dialog_engine_reply(d, p, &reply, cause);
	if (rc == 0) {
		d->stats.turn++;
		d->stats.cancelled = d->cfg.cancel != NULL && *d->cfg.cancel;
		conversation_add(&d->conv, "assistant", reply.buf != NULL ?
		    reply.buf : "");
		dialog_log(d, "turn %u: %zu tokens, %zu prefilled, %zu reused "
		    "from the cache; %zu generated; context %zu of %u",
		    d->stats.turn, d->stats.n_prompt, d->stats.n_prefilled,
		    d->stats.n_reused, d->stats.n_tokens, d->stats.n_past,
		    d->stats.n_ctx);
	}
	strbuf_release(&reply);
	return rc;
}

int
dialog_say(struct dialog *d, const char *user,
    const struct generate_params *p, char **cause)
{
	conversation_add(&d->conv, "user", user);
	if (dialog_reply(d, p, cause) == 0)
		return 0;
	/* the message was not answered: it is not kept */
	if (strcmp(conversation_last_role(&d->conv), "user") == 0)
		conversation_pop(&d->conv);
	return -1;
}

int
dialog_retry(struct dialog *d, const struct generate_params *p,
    char **cause)
{
	const char *last = conversation_last_role(&d->conv);

	if (last == NULL || strcmp(last, "assistant") != 0)
		return set_cause(cause, "there is no reply to retry");
	conversation_pop(&d->conv);
	return dialog_reply(d, p, cause);
}

char *
dialog_route(const struct dialog *d)
{
	struct client_hop_stats *hs = NULL;
	struct strbuf sb = STRBUF_INIT;
	size_t i, n;

	if (d->b == NULL || (n = engine_backend_hops(d->b, &hs)) == 0) {
		free(hs);
		return NULL;
	}
	for (i = 0; i < n; i++)
		strbuf_addf(&sb, "%s blocks %u:%u, %llu steps, %.3f ms per "
		    "step\n", hs[i].addr, hs[i].begin, hs[i].end,
		    (unsigned long long)hs[i].steps, hs[i].steps > 0 ?
		    hs[i].seconds * 1e3 / hs[i].steps : 0.0);
	free(hs);
	return strbuf_detach(&sb, NULL);
}
