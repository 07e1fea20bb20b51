/*
 * The handlers of the two generation routes, /v1/chat/completions and
 * /v1/completions (http_handler; arg is the gateway). They run on a thread
 * of their own: a generation takes seconds.
 */
#ifndef SWARM_SERVE_COMPLETION_H
#define SWARM_SERVE_COMPLETION_H

struct http_request;
struct http_response;

void	completion_chat(void *arg, const struct http_request *,
	    struct http_response *);
void	completion_text(void *arg, const struct http_request *,
	    struct http_response *);

#endif
