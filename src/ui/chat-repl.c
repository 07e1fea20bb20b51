/*
 * The chat's prompt loop (chat-repl.h). Readline runs in its callback mode
 * under a poll() loop, so a Ctrl-C at the prompt interrupts the wait and is
 * seen at once, and readline's own signal handling stays off. While a reply
 * is generated the handler is removed: the terminal is in its normal mode,
 * Ctrl-C raises SIGINT, and the flag it sets stops the reply.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "engine/conversation.h"
#include "engine/dialog.h"
#include "ui/chat-repl.h"
#include "util/parse.h"
#include "util/path.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define CHAT_REPL_PROMPT	"> "
#define CHAT_REPL_MORE		"... "
#define CHAT_REPL_BLOCK		"\"\"\""

static volatile sig_atomic_t chat_repl_cancel;

struct chat_repl {
	const struct chat_repl_config	*cfg;
	struct generate_params		 params;
	int				 tty;
	struct strbuf			 pending;	/* multi-line input */
	int				 in_block;	/* inside """ */
	int				 more;		/* after a '\' */
	int				 quit;
	int				 streamed;	/* reply text shown */
	/* readline's callback: the line it handed over */
	char				*line;
	int				 line_ready;
};

/* readline's callbacks take no argument. */
static struct chat_repl *chat_repl_current;

static const struct {
	const char	*name;
	const char	*help;
} chat_repl_cmds[] = {
	{ "/help", "this list" },
	{ "/system", "TEXT: the system message (none: remove it)" },
	{ "/clear", "start a new conversation (the system message stays)" },
	{ "/save", "FILE: write the conversation (OpenAI messages JSON)" },
	{ "/load", "FILE: continue the conversation in FILE" },
	{ "/set", "KEY VALUE: temp, top-k, top-p, min-p, repeat-penalty, "
	    "seed, max-tokens (none: show them)" },
	{ "/stats", "tokens, speed and context of the last reply; the route" },
	{ "/retry", "answer the last message again" },
	{ "/quit", "leave (as Ctrl-D)" },
	{ NULL, NULL }
};

volatile sig_atomic_t *
chat_repl_cancel_flag(void)
{
	return &chat_repl_cancel;
}

static void
chat_repl_on_sigint(int sig)
{
	chat_repl_cancel = 1;
}

static int
chat_repl_on_text(void *arg, const char *text, size_t len)
{
	struct chat_repl *r = arg;

	if (r->tty) {
		fwrite(text, 1, len, r->cfg->out);
		fflush(r->cfg->out);
		r->streamed = 1;
	}
	return chat_repl_cancel != 0;
}

/* What the last turn's figures call for saying. */
static void
chat_repl_notices(struct chat_repl *r)
{
	const struct dialog_stats *st = dialog_stats(r->cfg->dialog);
	FILE *err = r->cfg->err;

	if (st->dropped > 0)
		fprintf(err, "swarm: the context was full: forgot the %u "
		    "oldest turn%s\n", st->dropped, st->dropped > 1 ? "s" : "");
	if (st->cancelled)
		fprintf(err, "swarm: reply stopped\n");
	if (st->context_full)
		fprintf(err, "swarm: the context is full (%zu of %u "
		    "positions): /clear starts a new conversation\n",
		    st->n_past, st->n_ctx);
}

/* A user's message: the reply, streamed on a terminal, else whole. */
static void
chat_repl_say(struct chat_repl *r, const char *text, int retry)
{
	struct dialog *d = r->cfg->dialog;
	struct conversation *conv = dialog_conversation(d);
	char *cause = NULL;
	int rc;

	r->params.on_text = chat_repl_on_text;
	r->params.on_text_arg = r;
	r->streamed = 0;
	rc = retry ? dialog_retry(d, &r->params, &cause) :
	    dialog_say(d, text, &r->params, &cause);
	if (rc != 0) {
		if (r->streamed)
			fputc('\n', r->cfg->out);
		fprintf(r->cfg->err, "swarm: %s\n", cause);
		free(cause);
		return;
	}
	if (!r->tty)
		fputs(conv->msgs[conv->n - 1].content, r->cfg->out);
	fputc('\n', r->cfg->out);
	fflush(r->cfg->out);
	chat_repl_notices(r);
}

static void
chat_repl_stats(struct chat_repl *r)
{
	const struct dialog_stats *st = dialog_stats(r->cfg->dialog);
	FILE *out = r->cfg->out;
	char *route;

	if (st->turn == 0) {
		fprintf(out, "no reply yet\n");
		return;
	}
	if (st->n_ctx == 0)
		fprintf(out, "turn %u: prompt %zu tokens (the server's "
		    "count)\n", st->turn, st->n_prompt);
	else
		fprintf(out, "turn %u: prompt %zu tokens, %zu prefilled in "
		    "%.3f s, %zu reused from the cache\n", st->turn,
		    st->n_prompt, st->n_prefilled, st->prompt_seconds,
		    st->n_reused);
	fprintf(out, "reply: %zu tokens, first token %.3f s, %.1f tokens/s\n",
	    st->n_tokens, st->first_token_seconds, st->n_tokens > 1 &&
	    st->gen_seconds > 0 ? (st->n_tokens - 1) / st->gen_seconds : 0.0);
	if (st->n_ctx > 0)
		fprintf(out, "context: %zu of %u positions\n", st->n_past,
		    st->n_ctx);
	if ((route = dialog_route(r->cfg->dialog)) != NULL)
		fprintf(out, "route:\n%s", route);
	free(route);
	fflush(out);
}

static void
chat_repl_show_params(struct chat_repl *r)
{
	const struct sampler_params *sp = &r->params.sampling;

	fprintf(r->cfg->out, "temp %g, top-k %d, top-p %g, min-p %g, "
	    "repeat-penalty %g, seed %llu, max-tokens %d\n",
	    (double)sp->temperature, sp->top_k, (double)sp->top_p,
	    (double)sp->min_p, (double)sp->repeat_penalty,
	    (unsigned long long)sp->seed, r->params.max_tokens);
}

/* /set KEY VALUE; 0, or -1 with *cause. */
static int
chat_repl_set(struct chat_repl *r, const char *key, const char *val,
    char **cause)
{
	struct sampler_params *sp = &r->params.sampling;
	const char *err = NULL;

	if (strcmp(key, "temp") == 0 || strcmp(key, "temperature") == 0)
		sp->temperature = (float)parse_double(val, 0, 10, &err);
	else if (strcmp(key, "top-k") == 0)
		sp->top_k = (int)parse_int(val, 0, 1000000, &err);
	else if (strcmp(key, "top-p") == 0)
		sp->top_p = (float)parse_double(val, 0, 1, &err);
	else if (strcmp(key, "min-p") == 0)
		sp->min_p = (float)parse_double(val, 0, 1, &err);
	else if (strcmp(key, "repeat-penalty") == 0)
		sp->repeat_penalty = (float)parse_double(val, 0.01, 100, &err);
	else if (strcmp(key, "seed") == 0)
		sp->seed = parse_uint(val, 0, UINT32_MAX, &err);
	else if (strcmp(key, "max-tokens") == 0)
		r->params.max_tokens = (int)parse_int(val, 0, 1 << 20, &err);
	else
		return set_cause(cause, "/set: unknown key '%s' (temp, top-k, "
		    "top-p, min-p, repeat-penalty, seed, max-tokens)", key);
	if (err != NULL)
		return set_cause(cause, "/set %s: '%s' is %s", key, val, err);
	return 0;
}

/* Splits "/cmd rest": the argument after the command's name, or "". */
static const char *
chat_repl_arg(const char *line)
{
	const char *s = line + strcspn(line, " \t");

	return s + strspn(s, " \t");
}

static void
chat_repl_help(struct chat_repl *r)
{
	size_t i;

	for (i = 0; chat_repl_cmds[i].name != NULL; i++)
		fprintf(r->cfg->out, "%-8s %s\n", chat_repl_cmds[i].name,
		    chat_repl_cmds[i].help);
	fprintf(r->cfg->out, "A line ending in '\\' goes on on the next; "
	    "\"\"\" opens and closes a block.\n");
}

/* /set with its two words, or none. */
static int
chat_repl_set_cmd(struct chat_repl *r, const char *arg, char **cause)
{
	char *key = xstrdup(arg), *val;
	int rc = 0;

	if (*key == '\0')
		chat_repl_show_params(r);
	else if ((val = strpbrk(key, " \t")) == NULL)
		rc = set_cause(cause, "/set %s: a value is needed", key);
	else {
		*val++ = '\0';
		val += strspn(val, " \t");
		rc = chat_repl_set(r, key, val, cause);
	}
	free(key);
	return rc;
}

/* A slash command; unknown ones are an error, not a message. */
static void
chat_repl_command(struct chat_repl *r, const char *line)
{
	struct dialog *d = r->cfg->dialog;
	struct conversation *conv = dialog_conversation(d);
	const char *arg = chat_repl_arg(line);
	size_t len = strcspn(line, " \t");
	char *cause = NULL;
	int rc = 0;

#define IS(name) (len == strlen(name) && strncmp(line, name, len) == 0)
	if (IS("/help") || IS("/?"))
		chat_repl_help(r);
	else if (IS("/quit") || IS("/exit"))
		r->quit = 1;
	else if (IS("/system"))
		conversation_set_system(conv, *arg != '\0' ? arg : NULL);
	else if (IS("/clear"))
		conversation_clear(conv);
	else if (IS("/save") || IS("/load")) {
		if (*arg == '\0')
			rc = set_cause(&cause, "%.*s: a file is needed",
			    (int)len, line);
		else if (IS("/save"))
			rc = conversation_save(conv, arg, &cause);
		else
			rc = conversation_load(conv, arg, &cause);
	} else if (IS("/set"))
		rc = chat_repl_set_cmd(r, arg, &cause);
	else if (IS("/stats"))
		chat_repl_stats(r);
	else if (IS("/retry"))
		chat_repl_say(r, NULL, 1);
	else
		rc = set_cause(&cause, "unknown command '%.*s' (/help lists "
		    "them)", (int)len, line);
#undef IS
	if (rc != 0) {
		fprintf(r->cfg->err, "swarm: %s\n", cause);
		free(cause);
	}
	fflush(r->cfg->out);
}

/* What the user typed, once whole: a command or a message. */
static void
chat_repl_submit(struct chat_repl *r)
{
	char *text = strbuf_detach(&r->pending, NULL);
	size_t n = text != NULL ? strlen(text) : 0;

	while (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	if (n > 0 && text[0] == '/' && strchr(text, '\n') == NULL)
		chat_repl_command(r, text);
	else if (n > 0)
		chat_repl_say(r, text, 0);
	free(text);
}

/* One line of input: added to a block, continued, or submitted. */
static void
chat_repl_line(struct chat_repl *r, const char *line)
{
	size_t n = strlen(line);

	if (r->in_block) {
		if (strcmp(line, CHAT_REPL_BLOCK) == 0) {
			r->in_block = 0;
			chat_repl_submit(r);
			return;
		}
		strbuf_addf(&r->pending, "%s\n", line);
		return;
	}
	if (!r->more && strncmp(line, CHAT_REPL_BLOCK, 3) == 0) {
		r->in_block = 1;
		if (n > 3)
			strbuf_addf(&r->pending, "%s\n", line + 3);
		return;
	}
	if (n > 0 && line[n - 1] == '\\') {
		r->more = 1;
		strbuf_add(&r->pending, line, n - 1);
		strbuf_addc(&r->pending, '\n');
		return;
	}
	r->more = 0;
	strbuf_adds(&r->pending, line);
	chat_repl_submit(r);
}

/* Piped input: a line at a time, each reply printed whole. */
static int
chat_repl_piped(struct chat_repl *r)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while (!r->quit && (n = getline(&line, &cap, stdin)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		chat_repl_line(r, line);
	}
	free(line);
	if (r->in_block || r->more)
		chat_repl_submit(r);
	return 0;
}

static void
chat_repl_on_line(char *line)
{
	struct chat_repl *r = chat_repl_current;

	r->line = line;
	r->line_ready = 1;
	/* No new prompt until the line is dealt with. */
	rl_callback_handler_remove();
}

static void
chat_repl_prompt(struct chat_repl *r)
{
	rl_callback_handler_install(r->in_block || r->more ? CHAT_REPL_MORE :
	    CHAT_REPL_PROMPT, chat_repl_on_line);
}

static char *
chat_repl_complete_cmd(const char *text, int state)
{
	static size_t i;
	size_t len = strlen(text);
	const char *name;

	if (state == 0)
		i = 0;
	while ((name = chat_repl_cmds[i].name) != NULL) {
		i++;
		if (strncmp(name, text, len) == 0)
			return xstrdup(name);
	}
	return NULL;
}

/* Commands at the start of the line; after /save and /load, files. */
static char **
chat_repl_complete(const char *text, int start, int end)
{
	if (start == 0 && text[0] == '/') {
		rl_attempted_completion_over = 1;
		return rl_completion_matches(text, chat_repl_complete_cmd);
	}
	if (strncmp(rl_line_buffer, "/save ", 6) != 0 &&
	    strncmp(rl_line_buffer, "/load ", 6) != 0)
		rl_attempted_completion_over = 1;
	return NULL;
}

/* Ctrl-C at the prompt: quits on an empty one, else drops the input. */
static void
chat_repl_interrupt(struct chat_repl *r)
{
	chat_repl_cancel = 0;
	if (rl_end == 0 && r->pending.len == 0 && !r->in_block && !r->more) {
		r->quit = 1;
		return;
	}
	rl_callback_handler_remove();
	fputc('\n', r->cfg->out);
	strbuf_reset(&r->pending);
	r->in_block = r->more = 0;
	rl_replace_line("", 0);
	chat_repl_prompt(r);
}

static int
chat_repl_tty(struct chat_repl *r)
{
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
	int n, eof = 1;

	chat_repl_prompt(r);
	while (!r->quit) {
		if ((n = poll(&pfd, 1, -1)) < 0) {
			if (errno != EINTR)
				break;
			if (chat_repl_cancel)
				chat_repl_interrupt(r);
			continue;
		}
		rl_callback_read_char();
		if (!r->line_ready)
			continue;
		r->line_ready = 0;
		if (r->line == NULL)
			break;
		if (*r->line != '\0')
			add_history(r->line);
		chat_repl_line(r, r->line);
		free(r->line);
		r->line = NULL;
		chat_repl_cancel = 0;
		if (r->quit)
			eof = 0;
		else
			chat_repl_prompt(r);
	}
	rl_callback_handler_remove();
	if (eof)
		fputc('\n', r->cfg->out);
	return 0;
}

#define CHAT_REPL_HISTORY	"chat_history"

/* The history file's path (allocated; NULL: none kept), its directory made. */
static char *
chat_repl_history_open(const struct chat_repl_config *cfg)
{
	char *cause = NULL;

	using_history();
	if (cfg->history_dir == NULL)
		return NULL;
	if (cfg->history_size > 0)
		stifle_history(cfg->history_size);
	if (path_mkdirs(cfg->history_dir, 0700, &cause) != 0) {
		fprintf(cfg->err, "swarm: warning: %s\n", cause);
		free(cause);
		return NULL;
	}
	return xasprintf("%s/%s", cfg->history_dir, CHAT_REPL_HISTORY);
}

int
chat_repl_run(const struct chat_repl_config *cfg, char **cause)
{
	struct chat_repl r;
	struct sigaction sa, old;
	char *history;
	int rc;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.params = cfg->params;
	r.tty = isatty(STDIN_FILENO);
	chat_repl_current = &r;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = chat_repl_on_sigint;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() returns at once */
	sigaction(SIGINT, &sa, &old);
	if (r.tty) {
		rl_catch_signals = 0;
		rl_readline_name = "swarm";
		rl_outstream = cfg->out;
		rl_attempted_completion_function = chat_repl_complete;
		if ((history = chat_repl_history_open(cfg)) != NULL)
			read_history(history);
		rc = chat_repl_tty(&r);
		if (history != NULL && write_history(history) != 0)
			fprintf(cfg->err, "swarm: warning: cannot write '%s'\n",
			    history);
		free(history);
	} else
		rc = chat_repl_piped(&r);
	sigaction(SIGINT, &old, NULL);
	strbuf_release(&r.pending);
	chat_repl_current = NULL;
	return rc;
}
