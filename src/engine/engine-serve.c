/*
 * The gateway over the engine (engine-serve.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/chat.h"
#include "core/gguf.h"
#include "core/tokenizer.h"
#include "engine/engine-serve.h"
#include "engine/engine.h"
#include "serve/gateway.h"
#include "util/xmalloc.h"

struct engine_serve {
	struct engine		*e;
	struct chat_template	 tmpl;
	char			**aliases;
	size_t			 n_aliases;
	struct gateway		*gw;
};

char *
engine_serve_model_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base != NULL ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && strcmp(base + len - 5, ".gguf") == 0)
		len -= 5;
	return xstrndup(base, len);
}

static int
engine_serve_open(void *arg, uint32_t n_ctx, struct generate_backend *be,
    void **state, char **cause)
{
	struct engine_serve *es = arg;

	return engine_backend_open(es->e, n_ctx, be,
	    (struct engine_backend **)state, cause);
}

static void
engine_serve_close(void *arg, void *state, uint64_t *units, uint64_t *amount)
{
	engine_backend_close_spent(state, units, amount);
}

static int
engine_serve_health(void *arg, char **detail)
{
	struct engine_serve *es = arg;

	return engine_health(es->e, detail);
}

static void
engine_serve_metrics(void *arg, struct strbuf *out)
{
	struct engine_serve *es = arg;

	engine_metrics(es->e, out);
}

/* The aliases ("alias=model") that name this model. */
static void
engine_serve_aliases(struct engine_serve *es, const char *name,
    char *const *aliases, size_t n)
{
	const char *eq;
	size_t i;

	es->aliases = xcalloc(n + 1, sizeof(*es->aliases));
	for (i = 0; i < n; i++) {
		eq = strchr(aliases[i], '=');
		if (eq != NULL && strcmp(eq + 1, name) == 0)
			es->aliases[es->n_aliases++] = xstrndup(aliases[i],
			    (size_t)(eq - aliases[i]));
	}
}

struct engine_serve *
engine_serve_new(struct engine *e, const struct gateway_config *user,
    char *const *aliases, size_t n_aliases, char **warning, char **cause)
{
	struct engine_serve *es = xcalloc(1, sizeof(*es));
	const struct tokenizer *tok = engine_tokenizer(e);
	struct gateway_config gc = *user;
	char *src;
	int rc;

	es->e = e;
	src = gguf_get_strdup(engine_gguf(e), "tokenizer.chat_template");
	rc = chat_template_init(&es->tmpl, src, NULL,
	    tokenizer_piece(tok, tokenizer_bos(tok)),
	    tokenizer_piece(tok, tokenizer_eos(tok)), warning, cause);
	free(src);
	if (rc != 0) {
		free(es);
		return NULL;
	}
	engine_serve_aliases(es, user->model_name, aliases, n_aliases);
	gc.aliases = es->aliases;
	gc.n_aliases = es->n_aliases;
	gc.tok = tok;
	gc.tmpl = &es->tmpl;
	gc.n_ctx = engine_n_ctx(e);
	gc.open = engine_serve_open;
	gc.close = engine_serve_close;
	gc.ledger = engine_ledger(e);
	gc.health = engine_serve_health;
	gc.metrics = engine_serve_metrics;
	gc.arg = es;
	if ((es->gw = gateway_new(&gc, cause)) == NULL) {
		engine_serve_free(es);
		return NULL;
	}
	return es;
}

uint16_t
engine_serve_port(const struct engine_serve *es)
{
	return gateway_port(es->gw);
}

void
engine_serve_free(struct engine_serve *es)
{
	size_t i;

	if (es == NULL)
		return;
	gateway_free(es->gw);
	for (i = 0; i < es->n_aliases; i++)
		free(es->aliases[i]);
	free(es->aliases);
	chat_template_release(&es->tmpl);
	free(es);
}
