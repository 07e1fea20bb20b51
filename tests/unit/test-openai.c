/*
 * Tests for src/serve/openai: every error the CLI test of `swarm serve`
 * checks through HTTP, now as a function (status, param, code, message),
 * and what a good request parses to.
 */
#include <jansson.h>
#include <string.h>

#include "test.h"
#include "serve/openai.h"

static const char *const test_models[] = { "stories260K", "alias" };
static const struct openai_limits test_lim = { test_models, 2, 512 };

#define USER_MSG "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define CHAT(extra) "{\"model\":\"stories260K\"," USER_MSG extra "}"

/* Parses body; 0 when it fails as said (param NULL: none wanted). */
static int
test_fails(const char *body, int chat, int status, const char *param,
    const char *code, const char *msg_part)
{
	struct openai_request r;
	struct openai_error e;
	int ok;

	ok = openai_parse(body, strlen(body), chat, &test_lim, &r, &e) == -1 &&
	    e.status == status && e.message != NULL &&
	    (param == NULL ? e.param == NULL : (e.param != NULL &&
	    strcmp(e.param, param) == 0)) &&
	    (code == NULL || (e.code != NULL && strcmp(e.code, code) == 0)) &&
	    (msg_part == NULL || strstr(e.message, msg_part) != NULL);
	if (!ok)
		fprintf(stderr, "  %s: status %d param %s code %s: %s\n", body,
		    e.status, e.param ? e.param : "(null)",
		    e.code ? e.code : "(null)", e.message ? e.message : "");
	openai_request_release(&r);
	openai_error_release(&e);
	return ok;
}

static void
test_openai_json(void)
{
	CHECK(test_fails("{not json", 1, 400, NULL, "invalid_json", NULL));
	CHECK(test_fails("[1,2]", 1, 400, NULL, "invalid_json", NULL));
	CHECK(test_fails("", 0, 400, NULL, "invalid_json", NULL));
}

static void
test_openai_model(void)
{
	CHECK(test_fails("{\"messages\":[]}", 1, 400, "model",
	    "invalid_value", NULL));
	CHECK(test_fails("{\"model\":3," USER_MSG "}", 1, 400, "model", NULL,
	    NULL));
	CHECK(test_fails("{\"model\":\"gpt-4\"," USER_MSG "}", 1, 404, "model",
	    "model_not_found", "gpt-4"));
}

static void
test_openai_messages(void)
{
	CHECK(test_fails("{\"model\":\"stories260K\"}", 1, 400, "messages",
	    "invalid_value", NULL));
	CHECK(test_fails("{\"model\":\"stories260K\",\"messages\":[]}", 1, 400,
	    "messages", NULL, NULL));
	CHECK(test_fails("{\"model\":\"stories260K\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
	    "{\"url\":\"x\"}}]}]}", 1, 400, "messages[0].content[0].type",
	    "invalid_value", "image_url"));
	CHECK(test_fails("{\"model\":\"stories260K\",\"messages\":[{\"role\":"
	    "\"wizard\",\"content\":\"x\"}]}", 1, 400, "messages[0].role",
	    "invalid_value", "wizard"));
	CHECK(test_fails("{\"model\":\"stories260K\",\"messages\":[\"x\"]}", 1,
	    400, "messages[0].role", NULL, NULL));
	CHECK(test_fails("{\"model\":\"stories260K\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":7}]}", 1, 400, "messages[0].content", NULL,
	    NULL));
	CHECK(test_fails("{\"model\":\"stories260K\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":"
	    "null,\"tool_calls\":[{\"function\":{}}]}]}", 1, 400,
	    "messages[1].tool_calls[0].function.name", NULL, NULL));
}

static void
test_openai_params(void)
{
	CHECK(test_fails(CHAT(",\"n\":2"), 1, 400, "n", "invalid_value", NULL));
	CHECK(test_fails(CHAT(",\"temperature\":\"hot\""), 1, 400,
	    "temperature", "invalid_value", NULL));
	CHECK(test_fails(CHAT(",\"temperature\":2.5"), 1, 400, "temperature",
	    NULL, NULL));
	CHECK(test_fails(CHAT(",\"max_tokens\":-1"), 1, 400, "max_tokens",
	    "invalid_value", NULL));
	CHECK(test_fails(CHAT(",\"max_tokens\":1.5"), 1, 400, "max_tokens",
	    NULL, NULL));
	CHECK(test_fails(CHAT(",\"stop\":[1]"), 1, 400, "stop",
	    "invalid_value", NULL));
	CHECK(test_fails(CHAT(",\"stop\":7"), 1, 400, "stop", NULL, NULL));
	CHECK(test_fails(CHAT(",\"stream\":\"yes\""), 1, 400, "stream", NULL,
	    NULL));
	CHECK(test_fails(CHAT(",\"stream_options\":1"), 1, 400,
	    "stream_options", NULL, NULL));
	CHECK(test_fails(CHAT(",\"top_p\":-0.1"), 1, 400, "top_p", NULL,
	    NULL));
}

static void
test_openai_tools(void)
{
	const char *fn = ",\"tools\":[{\"type\":\"function\",\"function\":"
	    "{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}}]";
	char body[512];

	snprintf(body, sizeof(body), CHAT("%s,\"tool_choice\":\"sometimes\""),
	    fn);
	CHECK(test_fails(body, 1, 400, "tool_choice", "invalid_value", NULL));
	CHECK(test_fails(CHAT(",\"tools\":[{\"type\":\"retrieval\"}]"), 1, 400,
	    "tools[0]", NULL, NULL));
	snprintf(body, sizeof(body), CHAT("%s,\"tool_choice\":{\"type\":"
	    "\"function\",\"function\":{\"name\":\"nope\"}}"), fn);
	CHECK(test_fails(body, 1, 400, "tool_choice", NULL, "nope"));
}

static void
test_openai_prompt(void)
{
	CHECK(test_fails("{\"model\":\"stories260K\",\"prompt\":[1,99999]}", 0,
	    400, "prompt", "invalid_value", NULL));
	CHECK(test_fails("{\"model\":\"stories260K\",\"prompt\":[1,-1]}", 0,
	    400, "prompt", NULL, NULL));
	CHECK(test_fails("{\"model\":\"stories260K\",\"prompt\":{}}", 0, 400,
	    "prompt", NULL, NULL));
	CHECK(test_fails("{\"model\":\"stories260K\"}", 0, 400, "prompt", NULL,
	    NULL));
}

static void
test_openai_context(void)
{
	struct openai_request r;
	struct openai_error e;

	memset(&r, 0, sizeof(r));
	memset(&e, 0, sizeof(e));
	r.chat = 1;
	CHECK(openai_check_context(&r, 256, 256, 1, &e) == 0);
	CHECK(openai_check_context(&r, 257, 256, 1, &e) == -1);
	CHECK(e.status == 400 && strcmp(e.code, "context_length_exceeded") ==
	    0 && strcmp(e.param, "messages") == 0);
	CHECK_STR(e.message, "This model's maximum context length is 256 "
	    "tokens. However, your messages resulted in 257 tokens.");
	openai_error_release(&e);
	r.chat = 0;
	CHECK(openai_check_context(&r, 0, 256, 1, &e) == 0);
	CHECK(openai_check_context(&r, 0, 256, 0, &e) == -1);
	CHECK(e.status == 400 && strcmp(e.param, "prompt") == 0);
	openai_error_release(&e);
}

static void
test_openai_good(void)
{
	const char *chat = "{\"model\":\"alias\",\"messages\":[{\"role\":"
	    "\"developer\",\"content\":\"Be brief.\"},{\"role\":\"user\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"Once upon \"},{\"type\":"
	    "\"text\",\"text\":\"a time\"}]},{\"role\":\"tool\",\"content\":"
	    "\"42\"}],\"temperature\":0,\"max_completion_tokens\":3.0,"
	    "\"stop\":[\"x\",\"\"],\"stream\":true,\"stream_options\":"
	    "{\"include_usage\":true},\"seed\":7,\"some_unknown_field\":1}";
	const char *text = "{\"model\":\"stories260K\",\"prompt\":[1,403,407]}";
	struct openai_request r;
	struct openai_error e;

	CHECK(openai_parse(chat, strlen(chat), 1, &test_lim, &r, &e) == 0);
	CHECK_STR(r.model, "alias");
	CHECK(r.n_messages == 3);
	CHECK(r.messages[0].role == OPENAI_ROLE_SYSTEM);
	CHECK_STR(r.messages[1].content, "Once upon a time");
	CHECK(r.messages[2].role == OPENAI_ROLE_TOOL);
	CHECK(r.sampling.temperature == 0 && r.max_tokens == 3);
	CHECK(r.n_stop == 1 && strcmp(r.stops[0], "x") == 0);
	CHECK(r.stream && r.include_usage && r.has_seed &&
	    r.sampling.seed == 7);
	CHECK(r.tools == NULL);
	openai_request_release(&r);
	openai_error_release(&e);

	CHECK(openai_parse(text, strlen(text), 0, &test_lim, &r, &e) == 0);
	CHECK(r.n_prompt_ids == 3 && r.prompt_ids[2] == 407);
	CHECK(r.max_tokens == -1 && !r.stream && !r.has_seed);
	CHECK(r.sampling.temperature == 1 && r.sampling.top_p == 1);
	openai_request_release(&r);
	openai_error_release(&e);
}

static void
test_openai_error_json(void)
{
	json_t *o = openai_error_json(401, NULL, "invalid_api_key",
	    "bad \xff key");
	json_t *err = json_object_get(o, "error");

	CHECK(o != NULL);
	CHECK_STR(json_string_value(json_object_get(err, "type")),
	    "authentication_error");
	CHECK(json_is_null(json_object_get(err, "param")));
	CHECK(json_object_size(err) == 4);
	json_decref(o);
}

int
main(void)
{
	TEST_RUN(test_openai_json);
	TEST_RUN(test_openai_model);
	TEST_RUN(test_openai_messages);
	TEST_RUN(test_openai_params);
	TEST_RUN(test_openai_tools);
	TEST_RUN(test_openai_prompt);
	TEST_RUN(test_openai_context);
	TEST_RUN(test_openai_good);
	TEST_RUN(test_openai_error_json);
	TEST_EXIT();
}
