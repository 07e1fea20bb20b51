/*
 * Token ids as commands take and show them. See tokens.h.
 */
#include <stdlib.h>

#include <jansson.h>

#include "core/tokenizer.h"
#include "engine/tokens.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

int
tokens_parse_ids(const char *opt, const char *s, uint32_t n_vocab,
    int32_t **ids, size_t *n, char **cause)
{
	const char *err;
	char *bad = NULL;
	size_t i;

	if (parse_ids(s, INT32_MAX, ids, n, &bad, &err) != 0) {
		set_cause(cause, "%s: '%s' is %s", opt, bad, err);
		free(bad);
		return -1;
	}
	for (i = 0; n_vocab > 0 && i < *n; i++)
		if ((uint32_t)(*ids)[i] >= n_vocab) {
			set_cause(cause, "%s: token %d is out of range "
			    "(vocabulary of %u)", opt, (*ids)[i], n_vocab);
			free(*ids);
			*ids = NULL;
			return -1;
		}
	return 0;
}

/* Text that is not UTF-8 goes out as its byte values. */
static void
tokens_json_text(json_t *o, const char *key, const struct strbuf *sb)
{
	json_t *s, *bytes;
	size_t i;

	if ((s = json_stringn(sb->len ? sb->buf : "", sb->len)) != NULL) {
		json_object_set_new(o, key, s);
		return;
	}
	bytes = json_array();
	for (i = 0; i < sb->len; i++)
		json_array_append_new(bytes,
		    json_integer((unsigned char)sb->buf[i]));
	json_object_set_new(o, "bytes", bytes);
}

json_t *
tokens_json(const struct tokenizer *tok, const int32_t *ids, size_t n,
    int special)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *o = json_object(), *arr = json_array(), *t, *js;
	size_t i;

	for (i = 0; i < n; i++) {
		t = json_object();
		json_object_set_new(t, "id", json_integer(ids[i]));
		if ((js = json_string(tokenizer_piece(tok, ids[i]))) == NULL)
			js = json_null();
		json_object_set_new(t, "piece", js);
		strbuf_reset(&sb);
		tokenizer_decode_piece(tok, i > 0 ? ids[i - 1] : -1, ids[i], 1,
		    &sb);
		tokens_json_text(t, "text", &sb);
		json_array_append_new(arr, t);
	}
	strbuf_reset(&sb);
	tokenizer_decode(tok, ids, n, special, &sb);
	tokens_json_text(o, "text", &sb);
	strbuf_release(&sb);
	json_object_set_new(o, "n_tokens", json_integer((json_int_t)n));
	json_object_set_new(o, "tokens", arr);
	return o;
}
