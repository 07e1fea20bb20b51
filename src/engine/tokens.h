/*
 * Token ids as commands take and show them: a comma-separated list given
 * on the command line, and the JSON document of `infer tokenize --json`.
 */
#ifndef SWARM_ENGINE_TOKENS_H
#define SWARM_ENGINE_TOKENS_H

#include <stddef.h>
#include <stdint.h>

struct json_t;
struct tokenizer;

/*
 * "1,2,3" into *ids (allocated). opt names the option in messages
 * ("--decode: 'x' is invalid"); ids at or over n_vocab are refused
 * unless n_vocab is 0.
 */
int		 tokens_parse_ids(const char *opt, const char *s,
		    uint32_t n_vocab, int32_t **ids, size_t *n, char **cause);
/*
 * { "text", "n_tokens", "tokens": [{ "id", "piece", "text" }] }; text
 * that is not UTF-8 goes out as "bytes", its byte values.
 */
struct json_t	*tokens_json(const struct tokenizer *, const int32_t *ids,
		    size_t n, int special);

#endif
