/*
 * swarm infer run: generate text from a prompt and stream it to stdout.
 * With --local every block runs in this process; without it the request
 * goes through the swarm. The engine (src/engine/) loads the model or
 * finds the swarm; this file reads the options, makes the prompt, prints.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "conf/conf.h"
#include "core/chat.h"
#include "core/generate.h"
#include "core/gguf.h"
#include "core/model.h"
#include "core/quant.h"
#include "core/tokenizer.h"
#include "engine/engine.h"
#include "engine/tokens.h"
#include "net/protocol.h"
#include "swarm/client.h"
#include "util/clock.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static const struct opt infer_run_opts[] = {
	OPT_MODEL,
	OPT_LOCAL,
	OPT_PEER,
	OPT_BOOTSTRAP,
	OPT_NETWORK,
	OPT_STRING(0, "wire-dtype", "TYPE", "hidden states on the wire: auto "
	    "(default: f32, exact, and f16 to peers on a slow link), f32, "
	    "f16 or bf16"),
	OPT_FLAG(0, "push", "each node forwards a step's output to the next "
	    "(default: swarm.push, on)"),
	OPT_FLAG(0, "no-push", "the client sends every step to every hop"),
	OPT_DURATION(0, "connect-timeout", 0.001, 1e6, "to connect to a peer "
	    "(default 5)"),
	OPT_DURATION(0, "step-timeout", 0.001, 1e6, "for one step on one "
	    "peer (default 60)"),
	OPT_DURATION(0, "timeout", 0.001, 1e6, "for the whole run (default: "
	    "none)"),
	OPT_SAMPLING,
	OPT_CTX_SIZE,
	OPT_STRING(0, "tokens", "IDS", "prompt as comma-separated token ids"),
	OPT_FLAG(0, "chat", "wrap the prompt in the model's chat template"),
	OPT_STRING(0, "system", "TEXT", "system message for --chat (implies "
	    "--chat)"),
	OPT_STRING(0, "messages", "FILE", "the conversation to answer, as "
	    "OpenAI messages JSON (implies --chat)"),
	OPT_STRING(0, "template", "NAME", "chat template instead of the "
	    "model's: chatml, llama3, llama3.1, llama2, mistral, mistral-v3, "
	    "mistral-tekken, phi3, gemma, zephyr (implies --chat)"),
	OPT_STRING(0, "dump-logits", "FILE", "write every evaluated row of "
	    "logits (float32 little-endian)"),
	OPT_THREADS,
	OPT_REPACK,
	OPT_FLAG(0, "json", "print one JSON object with text, tokens and "
	    "timings"),
	OPT_FLAG('v', "verbose", "print load and speed figures on stderr"),
	OPT_END
};

struct infer_out {
	FILE	*dump;
	int	 stream;
	int	 dump_failed;
};

static int
infer_on_text(void *arg, const char *text, size_t len)
{
	struct infer_out *o = arg;

	if (o->stream) {
		fwrite(text, 1, len, stdout);
		fflush(stdout);
	}
	return 0;
}

static int
infer_on_logits(void *arg, const float *row, uint32_t n)
{
	struct infer_out *o = arg;

	if (fwrite(row, sizeof(float), n, o->dump) != n) {
		o->dump_failed = 1;
		return -1;
	}
	return 0;
}

static char *
infer_read_stdin(void)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_fread(&sb, stdin);
	return strbuf_detach(&sb, NULL);
}

static int
infer_wants_chat(const struct cmd_args *a)
{
	return args_flag(a, "chat") || args_get(a, "system") != NULL ||
	    args_get(a, "template") != NULL || args_get(a, "messages") != NULL;
}

/*
 * --chat: the prompt becomes the user turn (after the --system one) of a
 * conversation in the model's template, or --template's.
 */
static int
infer_chat_prompt(const struct cmd_args *a, struct engine *e, char **prompt,
    int *flags, char **cause)
{
	char *warning = NULL, *out = NULL;
	int rc;

	if (!infer_wants_chat(a))
		return 0;
	if (args_get(a, "messages") != NULL)
		rc = engine_messages_prompt(e, args_get(a, "template"),
		    args_get(a, "system"), args_get(a, "messages"), &out, flags,
		    &warning, cause);
	else
		rc = engine_chat_prompt(e, args_get(a, "template"), args_get(a,
		    "system"), *prompt, &out, flags, &warning, cause);
	if (warning != NULL)
		fprintf(stderr, "swarm: warning: %s\n", warning);
	free(warning);
	if (rc != 0)
		return -1;
	free(*prompt);
	*prompt = out;
	return 0;
}

/* ", link 1.9 MB/s" when measured (static). */
static const char *
infer_link(double rate)
{
	static char buf[64];

	if (rate <= 0)
		return "";
	snprintf(buf, sizeof(buf), ", link %.1f MB/s", rate / 1e6);
	return buf;
}

/* The swarm's wire and timeouts, and the prompt options' conflicts. */
static int
infer_check(struct cmd_args *a, struct engine_config *ec)
{
	const char *v;

	if ((v = args_get(a, "wire-dtype")) != NULL && strcmp(v, "auto") != 0) {
		if (proto_dtype_parse(v, &ec->wire) != 0)
			return cmd_usage_error(a, "--wire-dtype: '%s' is not "
			    "auto, f32, f16 or bf16", v);
		ec->wire_fixed = 1;
	}
	if (args_flag(a, "push") && args_flag(a, "no-push"))
		return cmd_usage_error(a, "give --push or --no-push, not both");
	if (args_flag(a, "push"))
		ec->push = CLIENT_PUSH_ON;
	else if (args_flag(a, "no-push"))
		ec->push = CLIENT_PUSH_OFF;
	ec->connect_timeout = args_num(a, "connect-timeout", 0);
	ec->step_timeout = args_num(a, "step-timeout", 0);
	ec->run_timeout = args_num(a, "timeout", 0);
	if (a->argc > 0 && args_get(a, "tokens") != NULL)
		return cmd_usage_error(a, "give a prompt or --tokens, not both");
	if (args_get(a, "messages") != NULL && a->argc > 0)
		return cmd_usage_error(a, "give a prompt or --messages, not "
		    "both");
	if (infer_wants_chat(a) && args_get(a, "tokens") != NULL)
		return cmd_usage_error(a, "--chat needs a text prompt, not "
		    "--tokens");
	return 0;
}

/* The prompt's token ids: --tokens, or the text (or stdin) encoded. */
static int
infer_prompt(struct cmd_args *a, struct engine *e, int32_t **ids,
    size_t *n_ids, char **cause)
{
	const struct tokenizer *tok = engine_tokenizer(e);
	const char *v;
	char *prompt;
	int flags = TOKENIZER_ADD_BOS, rc;
	int32_t bos;

	if ((v = args_get(a, "tokens")) != NULL)
		return tokens_parse_ids("--tokens", v, 0, ids, n_ids, cause);
	if (a->argc > 0 && strcmp(a->argv[0], "-") == 0)
		prompt = infer_read_stdin();
	else
		prompt = xstrdup(a->argc > 0 ? a->argv[0] : "");
	rc = infer_chat_prompt(a, e, &prompt, &flags, cause) != 0 ||
	    tokenizer_encode(tok, prompt, strlen(prompt), flags, ids, n_ids,
	    cause) != 0 ? -1 : 0;
	free(prompt);
	if (rc != 0 || *n_ids > 0)
		return rc;
	/* An empty prompt starts from BOS alone. */
	if ((bos = tokenizer_bos(tok)) < 0)
		return set_cause(cause, "the prompt is empty and the model has "
		    "no BOS token");
	*ids = xmalloc(sizeof(**ids));
	(*ids)[0] = bos;
	*n_ids = 1;
	return 0;
}


static void
infer_print_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
}

static void
infer_print_verbose(struct engine *e, struct engine_backend *b,
    const char *path, size_t n_ids, const struct generate_result *res,
    double t_load)
{
	struct client_hop_stats *hs;
	struct client_push_stats ps;
	unsigned checked, bad;
	size_t i, nh;

	fprintf(stderr, "load: %.3f s (%s, %d threads, %s kernels, %.1f MiB "
	    "repacked)\n", t_load, path, engine_threads(e),
	    quant_isa_name(quant_isa()),
	    model_repacked_bytes(engine_model(e)) / 1048576.0);
	fprintf(stderr, "context: %u positions\n", engine_n_ctx(e));
	fprintf(stderr, "prompt: %zu tokens in %.3f s, %.1f tokens/s\n", n_ids,
	    res->prompt_seconds, res->prompt_seconds > 0 ?
	    n_ids / res->prompt_seconds : 0.0);
	fprintf(stderr, "first token: %.3f s\n", res->first_token_seconds);
	fprintf(stderr, "generation: %zu tokens in %.3f s, %.1f tokens/s\n",
	    res->n_tokens, res->gen_seconds, res->n_tokens > 1 &&
	    res->gen_seconds > 0 ? (res->n_tokens - 1) / res->gen_seconds : 0.0);
	if (engine_local(e))
		return;
	nh = engine_backend_hops(b, &hs);
	for (i = 0; i < nh; i++)
		fprintf(stderr, "hop %zu: %s blocks %u:%u, %llu steps, %.3f "
		    "ms per step, %s%s\n", i, hs[i].addr, hs[i].begin,
		    hs[i].end, (unsigned long long)hs[i].steps, hs[i].steps > 0 ?
		    hs[i].seconds * 1e3 / hs[i].steps : 0.0,
		    proto_dtype_name(hs[i].dtype), infer_link(hs[i].link_rate));
	fprintf(stderr, "failovers: %u\n", engine_backend_failovers(b));
	engine_backend_push(b, &ps);
	if (ps.mode == CLIENT_PUSH_OFF)
		fprintf(stderr, "push: off (the client sends each step to "
		    "every hop)\n");
	else {
		fprintf(stderr, "push: %s", ps.mode == CLIENT_PUSH_ON ? "on" :
		    ps.trial_pushed <= 0 ? "auto, still trying" : ps.on ?
		    "auto, on" : "auto, off");
		if (ps.mode == CLIENT_PUSH_AUTO && ps.trial_pushed > 0)
			fprintf(stderr, " (a token %.2f ms pushed, %.2f ms "
			    "sent to every hop)", ps.trial_pushed * 1e3,
			    ps.trial_sent * 1e3);
		fprintf(stderr, ", %llu steps pushed, %llu stalled (%.3f s), "
		    "%llu routes refused", (unsigned long long)ps.pushed,
		    (unsigned long long)ps.stalls, ps.stall_seconds,
		    (unsigned long long)ps.refused);
		if (ps.mode == CLIENT_PUSH_AUTO)
			fprintf(stderr, ", %llu sent to every hop",
			    (unsigned long long)ps.sent);
		fputc('\n', stderr);
	}
	if ((checked = engine_backend_verified(b, &bad)) > 0)
		fprintf(stderr, "verified: %u steps, %u mismatches\n", checked,
		    bad);
	free(hs);
}

/* Runs the generation, with --dump-logits when asked; 0 or -1. */
static int
infer_generate(struct cmd_args *a, struct generate_backend *be,
    const struct tokenizer *tok, const int32_t *ids, size_t n_ids,
    const struct generate_params *params, struct generate_result *res,
    char **cause)
{
	struct infer_out out = { NULL, !args_flag(a, "json"), 0 };
	struct generate_params p = *params;
	const char *v;
	int rc;

	if ((v = args_get(a, "dump-logits")) != NULL) {
		if ((out.dump = fopen(v, "wb")) == NULL)
			return set_cause(cause, "cannot open '%s': %s", v,
			    strerror(errno));
		p.on_logits = infer_on_logits;
		p.on_logits_arg = &out;
	}
	p.on_text = infer_on_text;
	p.on_text_arg = &out;
	rc = generate_run(be, tok, ids, n_ids, &p, res, cause);
	if (out.dump != NULL && (fclose(out.dump) != 0 || out.dump_failed) &&
	    rc == 0)
		rc = set_cause(cause, "cannot write '%s'", v);
	return rc;
}

static int
cmd_infer_run_exec(struct cmd_args *a)
{
	struct engine_config ec;
	struct generate_params gp;
	struct generate_result res;
	struct generate_backend be;
	struct engine *e = NULL;
	struct engine_backend *b = NULL;
	struct conf *conf;
	char *cause = NULL;
	int32_t *ids = NULL;
	size_t n_ids = 0;
	int64_t seed = 0;
	double t_load;
	int rc;

	memset(&res, 0, sizeof(res));
	if ((conf = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if ((rc = cmd_conf_flags(a, conf, cmd_infer_conf)) != 0)
		goto out;
	cmd_sampling_params(a, conf, &gp, &seed);
	if ((rc = cmd_engine_config(a, conf, &ec)) != 0 ||
	    (rc = infer_check(a, &ec)) != 0)
		goto out;
	rc = EXIT_ERR;
	t_load = clock_now();
	if ((e = cmd_engine_open(&ec, &cause)) == NULL ||
	    infer_prompt(a, e, &ids, &n_ids, &cause) != 0)
		goto fail;
	if (engine_n_ctx(e) < n_ids) {
		cause = xasprintf("the prompt has %zu tokens, more than the "
		    "context length %u", n_ids, engine_n_ctx(e));
		goto fail;
	}
	if (engine_backend_open(e, 0, &be, &b, &cause) != 0)
		goto fail;
	t_load = clock_now() - t_load;
	if (infer_generate(a, &be, engine_tokenizer(e), ids, n_ids, &gp, &res,
	    &cause) != 0)
		goto fail;
	if (args_flag(a, "json"))
		infer_print_json(engine_run_json(e, ec.model_path, ids, n_ids,
		    &res, seed, t_load));
	else if (isatty(STDOUT_FILENO) && res.text_len > 0)
		fputc('\n', stdout);
	if (args_flag(a, "verbose"))
		infer_print_verbose(e, b, ec.model_path, n_ids, &res, t_load);
	rc = EXIT_OK;
	goto out;
fail:
	rc = cmd_fail(cause);
out:
	generate_result_release(&res);
	engine_backend_close(b);
	engine_free(e);
	conf_free(conf);
	free(ids);
	return rc;
}

const struct cmd_entry cmd_infer_run_entry = {
	.noun = "infer", .verb = "run",
	.usage = "-m MODEL.gguf [--local | --peer HOST:PORT ... | --bootstrap "
	    "HOST:PORT ...] [options] [PROMPT | -]",
	.summary = "generate text from a prompt, streaming it to stdout",
	.opts = infer_run_opts,
	.min_args = 0, .max_args = 1,
	.exec = cmd_infer_run_exec,
};
