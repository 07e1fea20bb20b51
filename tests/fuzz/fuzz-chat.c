/*
 * Fuzzes the chat templates: a template's text, the BOS and EOS texts and a
 * conversation, all from the input. The first byte holds the options (a
 * format forced by name or read from the text, the generation prompt); the
 * rest is split at NUL bytes into the template source, BOS, EOS, then role
 * and content pairs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/chat.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#include "fuzz.h"

#define FUZZ_CHAT_MAX_FIELDS	35	/* source, bos, eos, 16 messages */

/* The i-th name of chat_format_names() ("chatml, llama3, ..."), or NULL. */
static char *
fuzz_chat_name(unsigned int i)
{
	const char *p = chat_format_names(), *end;

	while (i-- > 0) {
		if ((p = strchr(p, ',')) == NULL)
			return NULL;
		p += strspn(p, ", ");
	}
	end = p + strcspn(p, ", ");
	return end > p ? xstrndup(p, (size_t)(end - p)) : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chat_message msgs[(FUZZ_CHAT_MAX_FIELDS - 3) / 2];
	struct chat_template ct;
	struct strbuf sb = STRBUF_INIT;
	char *copy, *fields[FUZZ_CHAT_MAX_FIELDS], *p, *end, *name = NULL;
	char *warning = NULL, *cause = NULL;
	size_t n_fields = 0, n_msgs = 0, i;
	int opts;

	if (size < 1)
		return 0;
	opts = data[0];
	/* the text, NUL-terminated so that its last field is too */
	copy = xmalloc(size);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	end = copy + size - 1;
	for (p = copy; n_fields < FUZZ_CHAT_MAX_FIELDS && p <= end;
	    p += strlen(p) + 1)
		fields[n_fields++] = p;
	for (i = 3; i + 1 < n_fields; i += 2) {
		msgs[n_msgs].role = fields[i];
		msgs[n_msgs].content = fields[i + 1];
		n_msgs++;
	}
	/* options: bits 0-3 a format name (0: from the text, 15: unknown) */
	if ((opts & 0xf) == 15)
		name = xstrdup("no-such-format");
	else if ((opts & 0xf) != 0)
		name = fuzz_chat_name((unsigned int)(opts & 0xf) - 1);
	if (chat_template_init(&ct, n_fields > 0 ? fields[0] : NULL, name,
	    n_fields > 1 && (opts & 0x20) ? fields[1] : NULL,
	    n_fields > 2 && (opts & 0x20) ? fields[2] : NULL, &warning,
	    &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		goto out;
	}
	chat_template_name(&ct);
	if (chat_render(&ct, msgs, n_msgs, opts & 0x10, &sb, &cause) == 0) {
		fuzz_use(sb.buf, sb.len);
		chat_tokenizer_flags(&ct, sb.buf != NULL ? sb.buf : "");
	} else {
		if (cause == NULL)
			abort();
		free(cause);
	}
	chat_template_release(&ct);
out:
	strbuf_release(&sb);
	free(warning);
	free(name);
	free(copy);
	return 0;
}
