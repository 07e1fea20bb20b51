/*
 * Fuzzes what an API client sends to `swarm serve` and what the gateway
 * makes of it: the request line's path against the route patterns, and the
 * JSON body of /v1/chat/completions or /v1/completions through the
 * gateway's parsing and validation, then the tool-call parser over text a
 * model could write. The first byte picks the endpoint and how the rest is
 * split: up to the first newline is the path, after it the body.
 * Whatever is refused must come with an error that encodes as JSON (a path
 * or a field that is not UTF-8 once crashed both servers).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http-server.h"
#include "net/protocol.h"
#include "serve/openai.h"
#include "serve/tools.h"
#include "util/xmalloc.h"

#include "fuzz.h"

static const char *const fuzz_patterns[] = {
	"/v1/models", "/v1/models/*", "/v1/chat/completions",
	"/v1/completions", "/sessions/*/step", "/sessions/*", "/static/**",
	"/health",
};

static void
fuzz_path(const char *path)
{
	char *wild[HTTP_MAX_WILD], *err;
	size_t i;
	int k;

	for (i = 0; i < sizeof(fuzz_patterns) / sizeof(*fuzz_patterns); i++) {
		memset(wild, 0, sizeof(wild));
		if (http_route_match(fuzz_patterns[i], path, wild))
			for (k = 0; k < HTTP_MAX_WILD; k++)
				free(wild[k]);
	}
	/* what a 404 answers: it quotes the path */
	err = proto_error_json("not_found", path);
	if (err == NULL || err[0] != '{')
		abort();
	free(err);
}

static void
fuzz_error_encodes(const struct openai_error *e)
{
	json_t *o;
	char *s;

	if (e->status != 400 && e->status != 404)
		abort();
	if (e->code == NULL || e->message == NULL)
		abort();
	if ((o = openai_error_json(e->status, e->param, e->code,
	    e->message)) == NULL)
		abort();
	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		abort();
	free(s);
	json_decref(o);
}

static void
fuzz_tools(const struct openai_request *r)
{
	json_t *calls;
	char *content = NULL;
	size_t i, safe;
	int held = 0, fam;

	for (i = 0; i < r->n_messages; i++) {
		for (fam = TOOLS_HERMES; fam <= TOOLS_LLAMA31; fam++) {
			const char *t = r->messages[i].content;
			size_t n = strlen(t);

			calls = tools_parse(fam, t, "fz", &content);
			json_decref(calls);
			free(content);
			content = NULL;
			held = 0;
			safe = tools_stream_safe(fam, t, n, 0, &held);
			if (safe > n)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const models[] = { "stories260K", "tiny" };
	struct openai_limits lim = { models, 2, 512 };
	struct openai_request r;
	struct openai_error e;
	const char *body;
	char *text, *nl;
	size_t len;
	int chat;

	if (size < 1)
		return 0;
	chat = data[0] & 1;
	text = xmalloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if ((nl = memchr(text, '\n', size - 1)) != NULL) {
		*nl = '\0';
		fuzz_path(text);
		body = nl + 1;
	} else
		body = text;
	len = (size_t)(text + size - 1 - body);
	memset(&r, 0, sizeof(r));
	memset(&e, 0, sizeof(e));
	if (openai_parse(body, len, chat, &lim, &r, &e) == 0) {
		if (r.model == NULL || r.chat != chat)
			abort();
		if (openai_check_context(&r, (size_t)data[0] * 16, 1024,
		    data[0] & 2, &e) != 0)
			fuzz_error_encodes(&e);
		fuzz_tools(&r);
	} else
		fuzz_error_encodes(&e);
	openai_request_release(&r);
	openai_error_release(&e);
	free(text);
	return 0;
}
