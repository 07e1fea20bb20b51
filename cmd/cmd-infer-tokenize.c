/*
 * swarm infer tokenize: the token ids a model sees for a text, or the text
 * of a list of ids. Only the GGUF metadata and the tokenizer are read, so
 * any GGUF with a vocabulary works, vocabulary-only files included.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/gguf.h"
#include "core/tokenizer.h"
#include "engine/tokens.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static const struct opt infer_tokenize_opts[] = {
	OPT_STRING('m', "model", "FILE", "the model or vocabulary (GGUF file)"),
	OPT_FLAG(0, "special", "parse special tokens such as <|im_start|> in "
	    "the text; print them when decoding"),
	OPT_FLAG(0, "no-bos", "do not add the BOS token the model adds"),
	OPT_STRING(0, "decode", "IDS", "print the text of comma-separated "
	    "token ids (-: read them from standard input)"),
	OPT_FLAG(0, "json", "print each token's id, piece and text as JSON"),
	OPT_END
};

static char *
tokenize_read_stdin(size_t *len)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_fread(&sb, stdin);
	return strbuf_detach(&sb, len);
}

static int
tokenize_print(const struct tokenizer *tok, const int32_t *ids, size_t n,
    int special, int json, int decoding)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (!json) {
		if (decoding) {
			tokenizer_decode(tok, ids, n, special, &sb);
			fwrite(sb.buf ? sb.buf : "", 1, sb.len, stdout);
			if (isatty(STDOUT_FILENO) && sb.len > 0)
				putchar('\n');
			strbuf_release(&sb);
		} else {
			for (i = 0; i < n; i++)
				printf("%s%d", i > 0 ? "," : "", ids[i]);
			putchar('\n');
		}
		return fflush(stdout) == 0 ? EXIT_OK :
		    cmd_error("cannot write the output");
	}
	return cmd_print_json(tokens_json(tok, ids, n, special));
}

static int
cmd_infer_tokenize_exec(struct cmd_args *a)
{
	struct gguf_file *gf = NULL;
	struct tokenizer *tok = NULL;
	const char *path = args_get(a, "model");
	const char *decode = args_get(a, "decode");
	char *cause = NULL, *text = NULL;
	int32_t *ids = NULL;
	size_t n = 0, len;
	int special = args_flag(a, "special"), flags = 0, rc;

	if (path == NULL)
		return cmd_usage_error(a, "a model is needed (-m MODEL.gguf)");
	if (decode != NULL && a->argc > 0)
		return cmd_usage_error(a, "give a text or --decode, not both");
	if (decode == NULL && a->argc == 0)
		return cmd_usage_error(a, "give a text, or - to read standard "
		    "input");
	if ((gf = gguf_open(path, &cause)) == NULL ||
	    (tok = tokenizer_load(gf, &cause)) == NULL)
		goto fail;
	if (decode != NULL) {
		if (strcmp(decode, "-") == 0)
			decode = text = tokenize_read_stdin(&len);
		if (tokens_parse_ids("--decode", decode,
		    tokenizer_n_vocab(tok), &ids, &n, &cause) != 0)
			goto fail;
	} else {
		if (strcmp(a->argv[0], "-") == 0)
			text = tokenize_read_stdin(&len);
		else {
			text = xstrdup(a->argv[0]);
			len = strlen(text);
		}
		if (!args_flag(a, "no-bos"))
			flags |= TOKENIZER_ADD_BOS;
		if (special)
			flags |= TOKENIZER_PARSE_SPECIAL;
		if (tokenizer_encode(tok, text, len, flags, &ids, &n,
		    &cause) != 0)
			goto fail;
	}
	rc = tokenize_print(tok, ids, n, special, args_flag(a, "json"),
	    decode != NULL);
	goto out;
fail:
	rc = cmd_fail(cause);
out:
	free(ids);
	free(text);
	tokenizer_free(tok);
	gguf_close(gf);
	return rc;
}

const struct cmd_entry cmd_infer_tokenize_entry = {
	.noun = "infer", .verb = "tokenize",
	.usage = "-m MODEL.gguf [--special] [--no-bos] [--json] TEXT | - | "
	    "--decode IDS",
	.summary = "show the token ids a model sees for a text, or the text of "
	    "ids",
	.opts = infer_tokenize_opts,
	.min_args = 0, .max_args = 1,
	.exec = cmd_infer_tokenize_exec,
};
