/*
 * Function calling without a grammar: the tools of a request are written
 * into the prompt the way the model's template family expects, and calls
 * in the generated text are read back into OpenAI's tool_calls. Two forms:
 * Hermes (Qwen, and the generic form for every other family), which wraps
 * each call in <tool_call>{"name": ..., "arguments": {...}}</tool_call>
 * and lists the tools in the system turn; and Llama 3.1, which lists them
 * in the first user turn and answers with a bare {"name": ...,
 * "parameters": {...}} object. Text that is not a well-formed call stays
 * text.
 */
#ifndef SWARM_SERVE_TOOLS_H
#define SWARM_SERVE_TOOLS_H

#include <jansson.h>
#include <stddef.h>

struct chat_message;
struct chat_template;
struct strbuf;

enum tools_family {
	TOOLS_HERMES,
	TOOLS_LLAMA31,
};

enum tools_family	 tools_family(const struct chat_template *);

/*
 * Checks a request's tools and tool_choice. *must gets NULL (auto), ""
 * (required: some call) or the name of the function required (borrowed
 * from the JSON); *none is set for tool_choice "none". On error *param
 * names the field (allocated).
 */
int	tools_check(json_t *tools, json_t *choice, const char **must, int *none,
	    char **param, char **cause);

/*
 * The text that presents the tools: Hermes appends it to the system turn,
 * Llama 3.1 puts it before the first user message.
 */
void	tools_prompt(enum tools_family, json_t *tools, const char *must,
	    struct strbuf *out);

/*
 * Presents the tools in a conversation (*cm[i].content is texts[i]): Hermes
 * in the system turn (after default_system when the conversation has
 * none), Llama 3.1 before the first user message. May add a message at
 * the front, growing both arrays.
 */
void	tools_add_to_chat(enum tools_family, json_t *tools, const char *must,
	    const char *default_system, struct chat_message **cm,
	    struct strbuf **texts, size_t *n);

/* An assistant's earlier calls (OpenAI tool_calls), as the model wrote them. */
void	tools_format_calls(enum tools_family, json_t *calls, struct strbuf *out);

/*
 * Reads calls from generated text: an array of OpenAI tool_calls (ids
 * "call_<id_tag>_<n>", arguments as a JSON string), or NULL when the text
 * holds none, all of it then being content. *content gets the text outside
 * the calls, NULL when there is only whitespace (allocated).
 */
json_t	*tools_parse(enum tools_family, const char *text, const char *id_tag,
	    char **content);

/*
 * Streaming with tools: how much of text[0, n) (NUL-terminated) can go
 * out as content now, `sent` bytes having gone. Everything before what may
 * be a call: Hermes calls start with a tag, so text before it streams and
 * only a tail that could begin the tag waits; a Llama 3.1 reply that is
 * calls starts with them, so one that starts otherwise streams whole.
 * Once a call may have begun, *held is set and nothing more goes out.
 */
size_t	tools_stream_safe(enum tools_family, const char *text, size_t n,
	    size_t sent, int *held);

#endif
