/*
 * Tests for src/serve/tools: rendering tools and earlier calls per template
 * family, reading calls back from fixed texts, and text that is not a call
 * staying text.
 */
#include <jansson.h>
#include <string.h>

#include "test.h"
#include "core/chat.h"
#include "serve/tools.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static json_t *
tools_fixture(void)
{
	return json_loads("[{\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\",\"description\":\"the weather\",\"parameters\":"
	    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
	    "\"string\"}}}}}]", 0, NULL);
}

static void
test_tools_family(void)
{
	struct chat_template t;

	memset(&t, 0, sizeof(t));
	t.format = CHAT_CHATML;
	CHECK(tools_family(&t) == TOOLS_HERMES);
	t.format = CHAT_LLAMA31;
	CHECK(tools_family(&t) == TOOLS_LLAMA31);
	t.format = CHAT_MISTRAL;
	CHECK(tools_family(&t) == TOOLS_HERMES);
}

static void
test_tools_check(void)
{
	json_t *tools = tools_fixture(), *choice;
	const char *must;
	char *param = NULL, *cause = NULL;
	int none, rc;

	CHECK(tools_check(tools, NULL, &must, &none, &param, &cause) == 0 &&
	    must == NULL && !none);
	choice = json_string("required");
	rc = tools_check(tools, choice, &must, &none, &param, &cause);
	json_decref(choice);
	CHECK(rc == 0 && must != NULL && *must == '\0');
	choice = json_string("none");
	rc = tools_check(tools, choice, &must, &none, &param, &cause);
	json_decref(choice);
	CHECK(rc == 0 && none);
	choice = json_loads("{\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\"}}", 0, NULL);
	rc = tools_check(tools, choice, &must, &none, &param, &cause);
	CHECK(rc == 0);
	CHECK_STR(must, "get_weather");
	json_decref(choice);
	choice = json_loads("{\"type\":\"function\",\"function\":{\"name\":"
	    "\"nope\"}}", 0, NULL);
	rc = tools_check(tools, choice, &must, &none, &param, &cause);
	json_decref(choice);
	CHECK(rc == -1);
	CHECK_STR(param, "tool_choice");
	free(param);
	free(cause);
	param = cause = NULL;
	choice = json_string("sometimes");
	rc = tools_check(tools, choice, &must, &none, &param, &cause);
	json_decref(choice);
	CHECK(rc == -1 && strstr(cause, "sometimes") != NULL);
	free(param);
	free(cause);
	param = cause = NULL;
	json_decref(tools);
	tools = json_loads("[{\"type\":\"retrieval\"}]", 0, NULL);
	rc = tools_check(tools, NULL, &must, &none, &param, &cause);
	json_decref(tools);
	CHECK(rc == -1);
	CHECK_STR(param, "tools[0]");
	free(param);
	free(cause);
}

static void
test_tools_prompt(void)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *tools = tools_fixture();

	tools_prompt(TOOLS_HERMES, tools, NULL, &sb);
	CHECK(strstr(sb.buf, "<tools>\n{\"type\":\"function\",\"function\":"
	    "{\"name\":\"get_weather\"") != NULL);
	CHECK(strstr(sb.buf, "</tools>") != NULL);
	CHECK(strstr(sb.buf, "<tool_call>\n{\"name\": <function-name>") !=
	    NULL);
	CHECK(strstr(sb.buf, "You must") == NULL);
	strbuf_reset(&sb);
	tools_prompt(TOOLS_LLAMA31, tools, "get_weather", &sb);
	CHECK(strncmp(sb.buf, "Given the following functions", 29) == 0);
	CHECK(strstr(sb.buf, "\"parameters\": dictionary") != NULL);
	CHECK(strstr(sb.buf, "You must call the function get_weather.") !=
	    NULL);
	CHECK(sb.len > 2 && strcmp(sb.buf + sb.len - 2, "\n\n") == 0);
	strbuf_release(&sb);
	json_decref(tools);
}

static void
test_tools_format_calls(void)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *calls = json_loads("[{\"id\":\"call_1\",\"type\":\"function\","
	    "\"function\":{\"name\":\"get_weather\",\"arguments\":"
	    "\"{\\\"city\\\": \\\"Oslo\\\"}\"}}]", 0, NULL);

	CHECK(calls != NULL);
	tools_format_calls(TOOLS_HERMES, calls, &sb);
	CHECK_STR(sb.buf, "<tool_call>\n{\"name\": \"get_weather\", "
	    "\"arguments\": {\"city\":\"Oslo\"}}\n</tool_call>");
	strbuf_reset(&sb);
	tools_format_calls(TOOLS_LLAMA31, calls, &sb);
	CHECK_STR(sb.buf, "{\"name\": \"get_weather\", \"parameters\": "
	    "{\"city\":\"Oslo\"}}");
	strbuf_release(&sb);
	json_decref(calls);
}

/* The one call's name and arguments string. */
static int
tools_one(json_t *calls, size_t i, const char *name, const char *args,
    const char *id)
{
	json_t *c = json_array_get(calls, i), *fn = json_object_get(c,
	    "function");
	const char *n = json_string_value(json_object_get(fn, "name"));
	const char *a = json_string_value(json_object_get(fn, "arguments"));
	const char *cid = json_string_value(json_object_get(c, "id"));
	const char *type = json_string_value(json_object_get(c, "type"));

	return n != NULL && a != NULL && cid != NULL && type != NULL &&
	    strcmp(n, name) == 0 && strcmp(a, args) == 0 &&
	    strcmp(cid, id) == 0 && strcmp(type, "function") == 0;
}

static void
test_tools_parse_hermes(void)
{
	json_t *calls;
	char *content;

	calls = tools_parse(TOOLS_HERMES, "<tool_call>\n{\"name\": "
	    "\"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n"
	    "</tool_call>", "x", &content);
	CHECK(calls != NULL && json_array_size(calls) == 1);
	CHECK(tools_one(calls, 0, "get_weather", "{\"city\":\"Oslo\"}",
	    "call_x_0"));
	CHECK(content == NULL);
	json_decref(calls);

	/* Text before, two calls, the last unclosed at end-of-generation. */
	calls = tools_parse(TOOLS_HERMES, "Let me look.\n<tool_call>\n"
	    "{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n"
	    "{\"name\": \"b\", \"arguments\": \"{\\\"k\\\":1}\"}", "y",
	    &content);
	CHECK(calls != NULL && json_array_size(calls) == 2);
	CHECK(tools_one(calls, 0, "a", "{}", "call_y_0"));
	CHECK(tools_one(calls, 1, "b", "{\"k\":1}", "call_y_1"));
	CHECK_STR(content, "Let me look.");
	free(content);
	json_decref(calls);

	/* Not calls: plain text, broken JSON, JSON without a name. */
	CHECK(tools_parse(TOOLS_HERMES, "It is sunny.", "z", &content) ==
	    NULL && content == NULL);
	CHECK(tools_parse(TOOLS_HERMES, "<tool_call>\n{\"name\": \"a\", "
	    "\"arguments\": {\n</tool_call>", "z", &content) == NULL);
	CHECK(tools_parse(TOOLS_HERMES, "<tool_call>[1,2]</tool_call>", "z",
	    &content) == NULL);
}

static void
test_tools_parse_llama31(void)
{
	json_t *calls;
	char *content;

	calls = tools_parse(TOOLS_LLAMA31, " {\"name\": \"get_weather\", "
	    "\"parameters\": {\"city\": \"Oslo\"}}", "q", &content);
	CHECK(calls != NULL && json_array_size(calls) == 1);
	CHECK(tools_one(calls, 0, "get_weather", "{\"city\":\"Oslo\"}",
	    "call_q_0"));
	CHECK(content == NULL);
	json_decref(calls);

	calls = tools_parse(TOOLS_LLAMA31, "<|python_tag|>{\"name\": \"a\", "
	    "\"parameters\": {}}; {\"name\": \"b\", \"arguments\": {\"x\": "
	    "[1]}}", "r", &content);
	CHECK(calls != NULL && json_array_size(calls) == 2);
	CHECK(tools_one(calls, 1, "b", "{\"x\":[1]}", "call_r_1"));
	json_decref(calls);

	CHECK(tools_parse(TOOLS_LLAMA31, "The weather is {\"name\": 1}", "s",
	    &content) == NULL);
	CHECK(tools_parse(TOOLS_LLAMA31, "{\"name\": \"a\"} and more", "s",
	    &content) == NULL);
	CHECK(tools_parse(TOOLS_LLAMA31, "{\"city\": \"Oslo\"}", "s",
	    &content) == NULL);
	CHECK(tools_parse(TOOLS_LLAMA31, "", "s", &content) == NULL);
}

static void
test_tools_stream_safe(void)
{
	const char *t;
	int held = 0;

	t = "Hello";
	CHECK(tools_stream_safe(TOOLS_HERMES, t, strlen(t), 0, &held) == 5);
	/* a tail that may begin the tag waits */
	t = "Hello <tool";
	CHECK(tools_stream_safe(TOOLS_HERMES, t, strlen(t), 5, &held) == 6 &&
	    !held);
	t = "Hello <b>";
	CHECK(tools_stream_safe(TOOLS_HERMES, t, strlen(t), 6, &held) == 9);
	t = "Hi <tool_call>\n{\"name\"";
	CHECK(tools_stream_safe(TOOLS_HERMES, t, strlen(t), 3, &held) == 3 &&
	    held);
	CHECK(tools_stream_safe(TOOLS_HERMES, t, strlen(t), 3, &held) == 3);
	held = 0;
	t = "  ";
	CHECK(tools_stream_safe(TOOLS_LLAMA31, t, strlen(t), 0, &held) == 0 &&
	    !held);
	t = " The answer";
	CHECK(tools_stream_safe(TOOLS_LLAMA31, t, strlen(t), 0, &held) == 11);
	t = " {\"name\"";
	CHECK(tools_stream_safe(TOOLS_LLAMA31, t, strlen(t), 0, &held) == 0 &&
	    held);
}

int
main(void)
{
	TEST_RUN(test_tools_family);
	TEST_RUN(test_tools_check);
	TEST_RUN(test_tools_prompt);
	TEST_RUN(test_tools_format_calls);
	TEST_RUN(test_tools_parse_hermes);
	TEST_RUN(test_tools_parse_llama31);
	TEST_RUN(test_tools_stream_safe);
	TEST_EXIT();
}
