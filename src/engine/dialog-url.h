/*
 * A dialog's replies from an OpenAI-compatible server (`infer chat
 * --url`): POST /chat/completions with the whole conversation and
 * stream=true, the reply read from the server-sent events as it comes.
 */
#ifndef SWARM_ENGINE_DIALOG_URL_H
#define SWARM_ENGINE_DIALOG_URL_H

#include <signal.h>

struct conversation;
struct dialog_stats;
struct generate_params;
struct strbuf;

/* The most a server's answer may hold outside the reply's text. */
#define DIALOG_URL_ERROR_MAX	65536

/*
 * url is the API's base (http://host:port/v1); model NULL: the first of
 * GET /models. *cancel (may be NULL), once set, stops a reply.
 */
struct dialog_url *dialog_url_new(const char *url, const char *api_key,
		    const char *model, double timeout,
		    volatile sig_atomic_t *cancel, char **cause);
void		 dialog_url_free(struct dialog_url *);
/* The reply to the conversation into reply, streamed to p->on_text. */
int		 dialog_url_reply(struct dialog_url *,
		    const struct conversation *, const struct generate_params *,
		    struct dialog_stats *, struct strbuf *reply, char **cause);

#endif
