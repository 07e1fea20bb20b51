/*
 * `swarm serve` over the engine: the OpenAI-compatible gateway whose every
 * request gets a backend of its own from the engine, with the model's chat
 * template, the aliases that name this model, /health from the engine's
 * health and /metrics from its per-peer figures.
 */
#ifndef SWARM_ENGINE_ENGINE_SERVE_H
#define SWARM_ENGINE_ENGINE_SERVE_H

#include <stddef.h>
#include <stdint.h>

struct engine;
struct gateway_config;

/* "dir/name.gguf" -> "name" (allocated): the model's default API id. */
char		*engine_serve_model_name(const char *path);

/*
 * Starts the gateway. gc holds what the user chose (address, model_name,
 * keys, limits); the rest comes from the engine. aliases are
 * "alias=model" (serve.model_aliases): those naming gc->model_name count.
 * *warning (allocated, may stay NULL) says when the chat template fell
 * back to a default.
 */
struct engine_serve *engine_serve_new(struct engine *,
		    const struct gateway_config *gc, char *const *aliases,
		    size_t n_aliases, char **warning, char **cause);
uint16_t	 engine_serve_port(const struct engine_serve *);
/* Stops the gateway (every stream ends) and frees it. */
void		 engine_serve_free(struct engine_serve *);

#endif
