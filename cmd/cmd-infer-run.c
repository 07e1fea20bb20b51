/*
 * swarm infer run: generate text from a prompt and stream it to stdout.
 * With --local every block runs in this process; without it the request
 * goes through the swarm.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "core/chat.h"
#include "core/generate.h"
#include "core/gguf.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/quant.h"
#include "conf/conf.h"
#include "core/tokenizer.h"
#include "net/protocol.h"
#include "conf/conf.h"
#include "net/dht.h"
#include "swarm/client.h"
#include "swarm/directory-dht.h"
#include "swarm/directory-static.h"
#include "swarm/model-id.h"
#include "swarm/record.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

static const struct cmd_opt infer_run_opts[] = {
	{ 'm', "model", "FILE", "the model (GGUF file)" },
	{ 0, "local", NULL, "run every block in this process" },
	{ 0, "peer", "HOST:PORT", "a node of the swarm to route through "
	    "(repeatable)" },
	{ 0, "bootstrap", "HOST:PORT", "find the swarm's nodes through the "
	    "DHT, joining at this node (repeatable; default: swarm.bootstrap)" },
	{ 0, "network", "NAME", "the swarm's name (default: swarm.network)" },
	{ 0, "wire-dtype", "TYPE", "hidden states on the wire: f32 (default, "
	    "exact), f16 or bf16" },
	{ 0, "connect-timeout", "SECONDS", "to connect to a peer (default 5)" },
	{ 0, "step-timeout", "SECONDS", "for one step on one peer (default 60)" },
	{ 0, "timeout", "SECONDS", "for the whole run (default: none)" },
	{ 'n', "max-tokens", "N", "generate at most N tokens (default 256; 0: "
	    "evaluate the prompt only)" },
	{ 0, "temp", "T", "sampling temperature; 0 is greedy (default 0.8)" },
	{ 0, "top-k", "K", "keep the K most likely tokens (default 40; 0: off)" },
	{ 0, "top-p", "P", "nucleus sampling threshold (default 0.95)" },
	{ 0, "min-p", "P", "drop tokens below P times the top probability "
	    "(default 0.05)" },
	{ 0, "repeat-penalty", "R", "penalty for repeated tokens (default 1: off)" },
	{ 0, "seed", "N", "random seed (default: from the clock)" },
	{ 0, "stop", "TEXT", "stop when TEXT is generated (repeatable)" },
	{ 0, "ignore-eos", NULL, "keep generating past end-of-generation tokens" },
	{ 'c', "ctx-size", "N", "context length (default: the model's, at most "
	    "4096)" },
	{ 0, "tokens", "IDS", "prompt as comma-separated token ids" },
	{ 0, "chat", NULL, "wrap the prompt in the model's chat template" },
	{ 0, "system", "TEXT", "system message for --chat (implies --chat)" },
	{ 0, "template", "NAME", "chat template instead of the model's: chatml, "
	    "llama3, llama3.1, llama2, mistral, mistral-v3, mistral-tekken, "
	    "phi3, gemma, zephyr (implies --chat)" },
	{ 0, "dump-logits", "FILE", "write every evaluated row of logits "
	    "(float32 little-endian)" },
	{ 't', "threads", "N", "worker threads (default: the number of cores)" },
	{ 0, "repack", "on|off", "repack quantized matrices at load for faster "
	    "kernels (default on; off: load at once, use the file's pages)" },
	{ 0, "json", NULL, "print one JSON object with text, tokens and timings" },
	{ 'v', "verbose", NULL, "print load and speed figures on stderr" },
	{ 0, NULL, NULL, NULL }
};

/*
 * The config with --bootstrap and --network layered on; NULL after printing
 * why when they are bad.
 */
static struct conf *
infer_conf(struct cmd_args *a)
{
	struct conf *c;
	char **boots, *cause = NULL;
	const char *v;
	int i, n, rc = 0;

	if ((c = cmd_conf_load(0)) == NULL)
		return NULL;
	boots = args_get_all(a, "bootstrap", &n);
	for (i = 0; i < n && rc == 0; i++)
		rc = i == 0 ? conf_set_flag(c, "swarm.bootstrap", boots[i],
		    &cause) : conf_add(c, "swarm.bootstrap", boots[i], &cause);
	if (rc == 0 && (v = args_get(a, "network")) != NULL)
		rc = conf_set_flag(c, "swarm.network", v, &cause);
	if (rc != 0) {
		cmd_usage_error(a, "%s", cause);
		free(cause);
		conf_free(c);
		return NULL;
	}
	return c;
}

/* Is there a bootstrap peer to find the swarm through? -1: bad options. */
static int
infer_has_bootstrap(struct cmd_args *a)
{
	struct conf *c;
	size_t n;

	if ((c = infer_conf(a)) == NULL)
		return -1;
	conf_get_list(c, "swarm.bootstrap", &n);
	conf_free(c);
	return n > 0;
}

/* A client directory over the DHT, joined through the bootstrap peers. */
static struct directory *
infer_dht_directory(struct cmd_args *a, struct dht **dht, int verbose,
    char **cause)
{
	struct conf *c;
	struct directory *dir = NULL;
	char *const *boots;
	const char *network;
	size_t n;

	if ((c = infer_conf(a)) == NULL) {
		*cause = xstrdup("bad discovery options");
		return NULL;
	}
	network = conf_get_str(c, "swarm.network");
	boots = conf_get_list(c, "swarm.bootstrap", &n);
	if ((*dht = dht_new(NULL, 0, network, cause)) != NULL &&
	    directory_dht_bootstrap(*dht, boots, n, 2000, cause) > 0) {
		dir = directory_dht_new(*dht, NULL);
		if (verbose)
			fprintf(stderr, "swarm: finding peers through the DHT "
			    "of network '%s'\n", network);
	}
	conf_free(c);
	return dir;
}

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

static int
infer_parse_tokens(const char *s, int32_t **ids, size_t *n, char **cause)
{
	char *copy = xstrdup(s), *p = copy, *tokstr;
	const char *err;
	int rc = 0;

	*ids = NULL;
	*n = 0;
	while ((tokstr = strsep(&p, ", ")) != NULL) {
		if (*tokstr == '\0')
			continue;
		*ids = xreallocarray(*ids, *n + 1, sizeof(**ids));
		(*ids)[(*n)++] = (int32_t)parse_uint(tokstr, 0, INT32_MAX, &err);
		if (err != NULL) {
			rc = set_cause(cause, "--tokens: '%s' is %s", tokstr, err);
			break;
		}
	}
	free(copy);
	return rc;
}

static char *
infer_read_stdin(void)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;

	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		strbuf_add(&sb, buf, n);
	return strbuf_detach(&sb, NULL);
}

/* Options that stand for config keys (flag > env > file > default). */
static const struct cmd_conf_flag infer_run_conf[] = {
	{ "max-tokens", "infer.max_tokens" },
	{ "temp", "infer.temperature" },
	{ "top-k", "infer.top_k" },
	{ "top-p", "infer.top_p" },
	{ "min-p", "infer.min_p" },
	{ "seed", "infer.seed" },
	{ "threads", "infer.threads" },
	{ "repack", "infer.repack" },
	{ NULL, NULL }
};

/* Reads an option that has no config key; EXIT_USAGE on a bad value. */
static int
infer_opt_int(struct cmd_args *a, const char *name, int64_t min, int64_t max,
    int64_t *out)
{
	const char *v = args_get(a, name), *err;
	int64_t d;

	if (v == NULL)
		return 0;
	d = parse_int(v, min, max, &err);
	if (err != NULL)
		return cmd_usage_error(a, "--%s: '%s' is %s", name, v, err);
	*out = d;
	return 0;
}

static int
infer_opt_double(struct cmd_args *a, const char *name, double min, double max,
    float *out)
{
	const char *v = args_get(a, name), *err;
	double d;

	if (v == NULL)
		return 0;
	d = parse_double(v, min, max, &err);
	if (err != NULL)
		return cmd_usage_error(a, "--%s: '%s' is %s", name, v, err);
	*out = (float)d;
	return 0;
}

static void
infer_log(void *arg, const char *msg)
{
	fprintf(stderr, "swarm: %s\n", msg);
}

static int
infer_opt_seconds(struct cmd_args *a, const char *name, double *out)
{
	const char *v = args_get(a, name), *err;

	if (v == NULL)
		return 0;
	*out = parse_double(v, 0.001, 1e6, &err);
	if (err != NULL)
		return cmd_usage_error(a, "--%s: '%s' is %s", name, v, err);
	return 0;
}

static double
infer_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
infer_wants_chat(const struct cmd_args *a)
{
	return args_flag(a, "chat") || args_get(a, "system") != NULL ||
	    args_get(a, "template") != NULL;
}

/*
 * --chat: the prompt becomes the user turn (after the --system one) of a
 * conversation rendered with the model's template, or --template's, and
 * opening the assistant's turn. The markers in the text are parsed as
 * special tokens, and BOS is added only when the text does not already
 * start with it (Llama 3's template writes it).
 */
static int
infer_chat_prompt(const struct cmd_args *a, const struct gguf_file *gf,
    const struct tokenizer *tok, char **prompt, int *flags, char **cause)
{
	struct chat_template t;
	struct chat_message msgs[2];
	struct strbuf sb = STRBUF_INIT;
	char *src, *warning = NULL;
	size_t n = 0;
	int rc;

	if (!infer_wants_chat(a))
		return 0;
	src = gguf_get_strdup(gf, "tokenizer.chat_template");
	rc = chat_template_init(&t, src, args_get(a, "template"),
	    tokenizer_piece(tok, tokenizer_bos(tok)),
	    tokenizer_piece(tok, tokenizer_eos(tok)), &warning, cause);
	free(src);
	if (rc != 0)
		return -1;
	if (warning != NULL)
		fprintf(stderr, "swarm: warning: %s\n", warning);
	free(warning);
	if (args_get(a, "system") != NULL) {
		msgs[n].role = "system";
		msgs[n++].content = args_get(a, "system");
	}
	msgs[n].role = "user";
	msgs[n++].content = *prompt;
	if (chat_render(&t, msgs, n, 1, &sb, cause) != 0) {
		chat_template_release(&t);
		strbuf_release(&sb);
		return -1;
	}
	free(*prompt);
	if ((*prompt = strbuf_detach(&sb, NULL)) == NULL)
		*prompt = xstrdup("");
	*flags = chat_tokenizer_flags(&t, *prompt);
	chat_template_release(&t);
	return 0;
}

static int
cmd_infer_run_exec(struct cmd_args *a)
{
	struct generate_params gp;
	struct generate_result res;
	struct generate_backend be;
	struct generate_local local;
	struct client_backend cb;
	struct client_config cc;
	struct client *client = NULL;
	struct directory *dir = NULL;
	struct dht *dht = NULL;
	char **peers;
	int n_peers, n_boots, use_local = args_flag(a, "local");
	struct model_hparams hp;
	struct infer_out out = { NULL, 0, 0 };
	struct gguf_file *gf = NULL;
	struct model *m = NULL;
	struct tokenizer *tok = NULL;
	struct pool *pool = NULL;
	const char *path = args_get(a, "model"), *v;
	char *cause = NULL, *prompt = NULL, **stops;
	int32_t *ids = NULL;
	size_t n_ids = 0;
	int64_t max_tokens, threads, n_ctx = 0, seed;
	struct conf *conf;
	double t_load, verify_rate;
	int rc = EXIT_ERR, n_stop, json = args_flag(a, "json");
	int verbose = args_flag(a, "verbose"), load_plain;

	memset(&res, 0, sizeof(res));
	memset(&local, 0, sizeof(local));
	generate_params_init(&gp);
	if ((conf = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if ((rc = cmd_conf_flags(a, conf, infer_run_conf)) != 0 ||
	    (rc = infer_opt_int(a, "ctx-size", 1, 1 << 20, &n_ctx)) != 0 ||
	    (rc = infer_opt_double(a, "repeat-penalty", 0.01, 100,
	    &gp.sampling.repeat_penalty)) != 0) {
		conf_free(conf);
		return rc;
	}
	max_tokens = conf_get_int(conf, "infer.max_tokens");
	threads = conf_get_int(conf, "infer.threads");
	load_plain = conf_get_bool(conf, "infer.repack") ? 0 : MODEL_LOAD_PLAIN;
	gp.sampling.temperature = (float)conf_get_float(conf,
	    "infer.temperature");
	gp.sampling.top_k = (int)conf_get_int(conf, "infer.top_k");
	gp.sampling.top_p = (float)conf_get_float(conf, "infer.top_p");
	gp.sampling.min_p = (float)conf_get_float(conf, "infer.min_p");
	seed = conf_get_int(conf, "infer.seed");
	verify_rate = conf_get_float(conf, "client.verify_rate");
	if (seed < 0)
		seed = (int64_t)((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16));
	conf_free(conf);
	conf = NULL;
	gp.sampling.seed = (uint64_t)seed;
	gp.max_tokens = (int)max_tokens;
	gp.ignore_eog = args_flag(a, "ignore-eos");
	stops = args_get_all(a, "stop", &n_stop);
	gp.stop = (const char *const *)stops;
	gp.n_stop = n_stop;
	if (path == NULL)
		return cmd_usage_error(a, "a model is needed (-m MODEL.gguf)");
	client_config_init(&cc);
	cc.verify_rate = verify_rate;
	peers = args_get_all(a, "peer", &n_peers);
	args_get_all(a, "bootstrap", &n_boots);
	if (use_local && n_peers + n_boots > 0)
		return cmd_usage_error(a, "give --local or --peer/--bootstrap, "
		    "not both");
	if (n_peers > 0 && n_boots > 0)
		return cmd_usage_error(a, "give --peer or --bootstrap, not both");
	if (!use_local && n_peers == 0) {
		int have = infer_has_bootstrap(a);

		if (have < 0)
			return EXIT_USAGE;
		if (have == 0)
			return cmd_usage_error(a, "no swarm to route through: "
			    "give --bootstrap HOST:PORT (or set "
			    "swarm.bootstrap) or --peer HOST:PORT, or run "
			    "every block here with --local");
	}
	if ((v = args_get(a, "wire-dtype")) != NULL &&
	    proto_dtype_parse(v, &cc.wire) != 0)
		return cmd_usage_error(a, "--wire-dtype: '%s' is not f32, f16 "
		    "or bf16", v);
	if (infer_opt_seconds(a, "connect-timeout", &cc.connect_timeout) ||
	    infer_opt_seconds(a, "step-timeout", &cc.step_timeout) ||
	    infer_opt_seconds(a, "timeout", &cc.run_timeout))
		return EXIT_USAGE;
	if (a->argc > 0 && args_get(a, "tokens") != NULL)
		return cmd_usage_error(a, "give a prompt or --tokens, not both");
	if (infer_wants_chat(a) && args_get(a, "tokens") != NULL)
		return cmd_usage_error(a, "--chat needs a text prompt, not --tokens");

	t_load = infer_now();
	pool = pool_new((int)threads);
	if ((gf = gguf_open(path, &cause)) == NULL ||
	    (tok = tokenizer_load(gf, &cause)) == NULL ||
	    model_read_hparams(gf, &hp, &cause) != 0 ||
	    (m = model_load(gf, 0, use_local ? hp.n_layer : 0,
	    MODEL_LOAD_EMBED | MODEL_LOAD_HEAD | load_plain, pool, &cause)) ==
	    NULL)
		goto fail;
	if ((v = args_get(a, "tokens")) != NULL) {
		if (infer_parse_tokens(v, &ids, &n_ids, &cause) != 0)
			goto fail;
	} else {
		int flags = TOKENIZER_ADD_BOS;

		if (a->argc > 0 && strcmp(a->argv[0], "-") == 0)
			prompt = infer_read_stdin();
		else
			prompt = xstrdup(a->argc > 0 ? a->argv[0] : "");
		if (infer_chat_prompt(a, gf, tok, &prompt, &flags, &cause) != 0 ||
		    tokenizer_encode(tok, prompt, strlen(prompt), flags, &ids,
		    &n_ids, &cause) != 0)
			goto fail;
		if (n_ids == 0) {
			/* An empty prompt starts from BOS alone. */
			int32_t bos = tokenizer_bos(tok);

			if (bos < 0) {
				cause = xstrdup("the prompt is empty and the "
				    "model has no BOS token");
				goto fail;
			}
			ids = xmalloc(sizeof(*ids));
			ids[0] = bos;
			n_ids = 1;
		}
	}
	if (n_ctx == 0)
		n_ctx = m->hp.n_ctx_train < 4096 ? m->hp.n_ctx_train : 4096;
	if ((size_t)n_ctx < n_ids) {
		cause = xasprintf("the prompt has %zu tokens, more than the "
		    "context length %lld", n_ids, (long long)n_ctx);
		goto fail;
	}
	if (use_local) {
		if (generate_local_init(&local, m, pool, (uint32_t)n_ctx, &be,
		    &cause) != 0)
			goto fail;
	} else {
		char model_id[MODEL_ID_MAX];

		if (model_id_compute(gf, model_id, sizeof(model_id)) != 0) {
			cause = xasprintf("cannot compute the model id of "
			    "'%s'", path);
			goto fail;
		}
		if (n_peers > 0)
			dir = directory_static_new((const char *const *)peers,
			    (size_t)n_peers);
		else if ((dir = infer_dht_directory(a, &dht, verbose,
		    &cause)) == NULL)
			goto fail;
		cc.dir = dir;
		cc.model_id = model_id;
		cc.n_layer = hp.n_layer;
		cc.n_embd = hp.n_embd;
		if (verbose) {
			cc.log = infer_log;
			fprintf(stderr, "swarm: model %s, %u blocks\n",
			    model_id, hp.n_layer);
		}
		client = client_new(&cc);
		if (client_backend_init(&cb, m, pool, client, (uint32_t)n_ctx,
		    &be, &cause) != 0)
			goto fail;
	}
	t_load = infer_now() - t_load;

	if ((v = args_get(a, "dump-logits")) != NULL) {
		if ((out.dump = fopen(v, "wb")) == NULL) {
			cause = xasprintf("cannot open '%s': %s", v,
			    strerror(errno));
			goto fail;
		}
		gp.on_logits = infer_on_logits;
		gp.on_logits_arg = &out;
	}
	out.stream = !json;
	gp.on_text = infer_on_text;
	gp.on_text_arg = &out;
	if (generate_run(&be, tok, ids, n_ids, &gp, &res, &cause) != 0)
		goto fail;
	if (out.dump != NULL) {
		if (fclose(out.dump) != 0 || out.dump_failed) {
			out.dump = NULL;
			cause = xasprintf("cannot write '%s'", v);
			goto fail;
		}
		out.dump = NULL;
	}
	if (json) {
		json_t *o = json_object(), *toks = json_array(), *ptoks =
		    json_array();
		size_t i, clean_len;
		/* Byte tokens can leave invalid UTF-8; JSON needs text. */
		char *clean = utf8_sanitize(res.text, res.text_len, &clean_len);

		for (i = 0; i < n_ids; i++)
			json_array_append_new(ptoks, json_integer(ids[i]));
		for (i = 0; i < res.n_tokens; i++)
			json_array_append_new(toks, json_integer(res.tokens[i]));
		json_object_set_new(o, "model", json_string(path));
		json_object_set_new(o, "text", json_stringn(clean, clean_len));
		free(clean);
		json_object_set_new(o, "prompt_tokens", ptoks);
		json_object_set_new(o, "tokens", toks);
		json_object_set_new(o, "finish_reason", json_string(res.finish ==
		    GENERATE_FINISH_STOP ? "stop" : "length"));
		json_object_set_new(o, "seed", json_integer(seed));
		json_object_set_new(o, "timings", json_pack("{s:f,s:f,s:f,s:f,"
		    "s:f}", "load_seconds", t_load, "prompt_seconds",
		    res.prompt_seconds, "first_token_seconds",
		    res.first_token_seconds, "generation_seconds",
		    res.gen_seconds, "prompt_tokens_per_second",
		    res.prompt_seconds > 0 ? n_ids / res.prompt_seconds : 0.0));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	} else if (isatty(STDOUT_FILENO) && res.text_len > 0) {
		fputc('\n', stdout);
	}
	if (verbose) {
		fprintf(stderr, "load: %.3f s (%s, %d threads, %s kernels, "
		    "%.1f MiB repacked)\n", t_load, path, pool_size(pool),
		    quant_isa_name(quant_isa()), model_repacked_bytes(m) /
		    1048576.0);
		fprintf(stderr, "prompt: %zu tokens in %.3f s, %.1f tokens/s\n",
		    n_ids, res.prompt_seconds, res.prompt_seconds > 0 ?
		    n_ids / res.prompt_seconds : 0.0);
		fprintf(stderr, "first token: %.3f s\n", res.first_token_seconds);
		fprintf(stderr, "generation: %zu tokens in %.3f s, %.1f "
		    "tokens/s\n", res.n_tokens, res.gen_seconds,
		    res.n_tokens > 1 && res.gen_seconds > 0 ?
		    (res.n_tokens - 1) / res.gen_seconds : 0.0);
		if (client != NULL) {
			struct client_hop_stats *hs;
			size_t i, nh = client_stats(client, &hs);

			for (i = 0; i < nh; i++)
				fprintf(stderr, "hop %zu: %s blocks [%u,%u), "
				    "%llu steps, %.3f ms per step\n", i,
				    hs[i].addr, hs[i].begin, hs[i].end,
				    (unsigned long long)hs[i].steps,
				    hs[i].steps > 0 ? hs[i].seconds * 1e3 /
				    hs[i].steps : 0.0);
			fprintf(stderr, "failovers: %u\n",
			    client_failovers(client));
			if (cc.verify_rate > 0) {
				unsigned bad, checked = client_verified(client,
				    &bad);

				fprintf(stderr, "verified: %u steps, %u "
				    "mismatches\n", checked, bad);
			}
			free(hs);
		}
	}
	rc = EXIT_OK;
	goto out;
fail:
	rc = cmd_fail(cause);
out:
	if (out.dump != NULL)
		fclose(out.dump);
	generate_result_release(&res);
	generate_local_release(&local);
	client_free(client);
	if (dir != NULL)
		dir->ops->free(dir);
	dht_free(dht);
	pool_free(pool);
	model_free(m);
	tokenizer_free(tok);
	gguf_close(gf);
	free(prompt);
	free(ids);
	return rc;
}

const struct cmd_entry cmd_infer_run_entry = {
	.noun = "infer", .verb = "run",
	.usage = "[--local | --peer HOST:PORT ...] -m MODEL.gguf [options] "
	    "[PROMPT | -]",
	.summary = "generate text from a prompt, streaming it to stdout",
	.opts = infer_run_opts,
	.min_args = 0, .max_args = 1,
	.exec = cmd_infer_run_exec,
};
