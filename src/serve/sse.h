/*
 * Streamed answers of the generation routes: Server-Sent Events of OpenAI
 * chunks, heartbeats while the first token is slow, and the generation
 * cancelled when the client hangs up.
 */
#ifndef SWARM_SERVE_SSE_H
#define SWARM_SERVE_SSE_H

struct gateway;
struct gateway_req;
struct http_request;
struct http_response;

/*
 * Answers r as a stream from a threaded handler: takes r over (its
 * backend is open) and frees its concurrency slot when the generation
 * ends.
 */
void	sse_answer(struct gateway *, struct gateway_req *r,
	    const struct http_request *, struct http_response *);

#endif
