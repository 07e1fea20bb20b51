/*
 * swarm infer chat: a conversation with a model at the terminal, local,
 * through the swarm, or with an OpenAI-compatible server (--url). This
 * file reads the options; the dialog (src/engine/dialog.c) and the prompt
 * loop (src/ui/chat-repl.c) do the rest.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf/conf.h"
#include "engine/dialog.h"
#include "engine/engine.h"
#include "ui/chat-repl.h"

static const struct opt infer_chat_opts[] = {
	OPT_MODEL,
	OPT_LOCAL,
	OPT_PEER,
	OPT_BOOTSTRAP,
	OPT_NETWORK,
	OPT_STRING(0, "url", "URL", "chat with an OpenAI-compatible server "
	    "instead (http://HOST:PORT/v1)"),
	OPT_STRING(0, "api-key", "KEY", "bearer token for --url"),
	OPT_SAMPLING,
	OPT_CTX_SIZE,
	OPT_STRING(0, "system", "TEXT", "the system message"),
	OPT_STRING(0, "template", "NAME", "chat template instead of the "
	    "model's (as for infer run)"),
	OPT_STRING(0, "overflow", "stop|drop-oldest", "when the context is "
	    "full (default: chat.overflow)"),
	OPT_THREADS,
	OPT_REPACK,
	OPT_FLAG('v', "verbose", "print load figures and each turn's tokens "
	    "on stderr"),
	OPT_END
};

static const struct cmd_conf_flag infer_chat_conf[] = {
	{ "overflow", "chat.overflow" },
	{ NULL, NULL }
};

/* The dialog's config; opens the engine unless --url. */
static int
infer_chat_dialog(struct cmd_args *a, struct conf *c, struct engine **e,
    struct dialog_config *dc, char **cause)
{
	struct engine_config ec;
	int rc;

	memset(dc, 0, sizeof(*dc));
	dc->system = args_get(a, "system");
	dc->template = args_get(a, "template");
	dc->overflow = strcmp(conf_get_str(c, "chat.overflow"),
	    "drop-oldest") == 0 ? DIALOG_OVERFLOW_DROP_OLDEST :
	    DIALOG_OVERFLOW_STOP;
	dc->cancel = chat_repl_cancel_flag();
	if (args_flag(a, "verbose"))
		dc->log = cmd_log;
	if ((dc->url = args_get(a, "url")) != NULL) {
		if (args_flag(a, "local") || args_get(a, "peer") != NULL ||
		    args_get(a, "bootstrap") != NULL)
			return cmd_usage_error(a, "give --url or --local, "
			    "--peer, --bootstrap, not both");
		dc->api_key = args_get(a, "api-key");
		dc->model = args_get(a, "model");
		return 0;
	}
	if ((rc = cmd_engine_config(a, c, &ec)) != 0)
		return rc;
	if ((*e = cmd_engine_open(&ec, cause)) == NULL)
		return -1;
	dc->engine = *e;
	return 0;
}

static int
cmd_infer_chat_exec(struct cmd_args *a)
{
	struct chat_repl_config rcfg;
	struct dialog_config dc;
	struct engine *e = NULL;
	struct dialog *d = NULL;
	struct conf *conf;
	char *cause = NULL, *warning = NULL, *dir = NULL;
	int64_t seed;
	int rc;

	if ((conf = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	memset(&rcfg, 0, sizeof(rcfg));
	if ((rc = cmd_conf_flags(a, conf, cmd_infer_conf)) != 0 ||
	    (rc = cmd_conf_flags(a, conf, infer_chat_conf)) != 0)
		goto out;
	cmd_sampling_params(a, conf, &rcfg.params, &seed);
	if ((rc = infer_chat_dialog(a, conf, &e, &dc, &cause)) > 0)
		goto out;
	if (rc != 0 || (d = dialog_new(&dc, &warning, &cause)) == NULL) {
		rc = cmd_fail(cause);
		goto out;
	}
	if (warning != NULL)
		fprintf(stderr, "swarm: warning: %s\n", warning);
	rcfg.dialog = d;
	/* No data directory: no history, and nothing else is lost. */
	if ((rcfg.history_size = (int)conf_get_int(conf,
	    "chat.history_size")) > 0)
		rcfg.history_dir = dir = conf_data_dir(NULL);
	rcfg.out = stdout;
	rcfg.err = stderr;
	rc = chat_repl_run(&rcfg, &cause) == 0 ? EXIT_OK : cmd_fail(cause);
out:
	dialog_free(d);
	engine_free(e);
	conf_free(conf);
	free(warning);
	free(dir);
	return rc;
}

const struct cmd_entry cmd_infer_chat_entry = {
	.noun = "infer", .verb = "chat",
	.usage = "-m MODEL.gguf [--local | --peer HOST:PORT ... | --bootstrap "
	    "HOST:PORT ... | --url URL] [--system TEXT] [options]",
	.summary = "talk with a model, turn after turn, at a prompt",
	.opts = infer_chat_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_infer_chat_exec,
};
