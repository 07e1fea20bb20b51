/*
 * main(), the command table and the dispatcher. The dispatcher is the only
 * place that parses options, checks argument counts, prints usage and serves
 * -h/--help, so every command behaves the same way.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "conf/conf.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

extern const struct cmd_entry cmd_config_get_entry;
extern const struct cmd_entry cmd_config_list_entry;
extern const struct cmd_entry cmd_config_path_entry;
extern const struct cmd_entry cmd_config_set_entry;
extern const struct cmd_entry cmd_config_unset_entry;
extern const struct cmd_entry cmd_help_entry;
extern const struct cmd_entry cmd_infer_chat_entry;
extern const struct cmd_entry cmd_infer_run_entry;
extern const struct cmd_entry cmd_infer_tokenize_entry;
extern const struct cmd_entry cmd_ledger_export_entry;
extern const struct cmd_entry cmd_ledger_receipts_entry;
extern const struct cmd_entry cmd_ledger_show_entry;
extern const struct cmd_entry cmd_ledger_verify_entry;
extern const struct cmd_entry cmd_models_status_entry;
extern const struct cmd_entry cmd_node_join_entry;
extern const struct cmd_entry cmd_node_leave_entry;
extern const struct cmd_entry cmd_node_status_entry;
extern const struct cmd_entry cmd_serve_entry;
extern const struct cmd_entry cmd_shard_add_entry;
extern const struct cmd_entry cmd_shard_info_entry;
extern const struct cmd_entry cmd_top_entry;
extern const struct cmd_entry cmd_shard_list_entry;
extern const struct cmd_entry cmd_shard_pull_entry;
extern const struct cmd_entry cmd_shard_rm_entry;
extern const struct cmd_entry cmd_shard_verify_entry;
extern const struct cmd_entry cmd_version_entry;

const struct cmd_entry *const cmd_table[] = {
	&cmd_config_get_entry,
	&cmd_config_list_entry,
	&cmd_config_path_entry,
	&cmd_config_set_entry,
	&cmd_config_unset_entry,
	&cmd_help_entry,
	&cmd_infer_chat_entry,
	&cmd_infer_run_entry,
	&cmd_infer_tokenize_entry,
	&cmd_ledger_export_entry,
	&cmd_ledger_receipts_entry,
	&cmd_ledger_show_entry,
	&cmd_ledger_verify_entry,
	&cmd_models_status_entry,
	&cmd_node_join_entry,
	&cmd_node_leave_entry,
	&cmd_node_status_entry,
	&cmd_serve_entry,
	&cmd_shard_add_entry,
	&cmd_shard_info_entry,
	&cmd_top_entry,
	&cmd_shard_list_entry,
	&cmd_shard_pull_entry,
	&cmd_shard_rm_entry,
	&cmd_shard_verify_entry,
	&cmd_version_entry,
	NULL
};

static const struct cmd_entry *cmd_running;

const char *
args_get(const struct cmd_args *a, const char *name)
{
	return opt_get(&a->opts, name);
}

int
args_flag(const struct cmd_args *a, const char *name)
{
	return opt_value(&a->opts, name)->count;
}

char **
args_get_all(const struct cmd_args *a, const char *name, int *n)
{
	const struct opt_value *v = opt_value(&a->opts, name);

	*n = v->values != NULL ? v->count : 0;
	return v->values;
}

int64_t
args_int(const struct cmd_args *a, const char *name, int64_t def)
{
	return (int64_t)args_num(a, name, (double)def);
}

double
args_num(const struct cmd_args *a, const char *name, double def)
{
	const struct opt_value *v = opt_value(&a->opts, name);

	return v->count > 0 ? v->num : def;
}

int
args_span(const struct cmd_args *a, const char *name, uint32_t *begin,
    uint32_t *end)
{
	const struct opt_value *v = opt_value(&a->opts, name);

	if (v->count == 0)
		return 0;
	*begin = v->span[0];
	*end = v->span[1];
	return 1;
}

static void
cmd_name(const struct cmd_entry *e, struct strbuf *sb)
{
	strbuf_adds(sb, e->noun);
	if (e->verb != NULL) {
		strbuf_addc(sb, ' ');
		strbuf_adds(sb, e->verb);
	}
}

/* The help column and the width help is wrapped at. */
#define CMD_HELP_COLUMN	30
#define CMD_HELP_WIDTH	80

void
cmd_print_usage(const struct cmd_entry *e, FILE *fp)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, "usage: swarm ");
	cmd_name(e, &sb);
	opt_wrap(e->usage, sb.len, CMD_HELP_WIDTH, &sb);
	fprintf(fp, "%s\n", sb.buf);
	strbuf_release(&sb);
}

void
cmd_print_help(const struct cmd_entry *e, FILE *fp)
{
	struct strbuf sb = STRBUF_INIT;

	cmd_print_usage(e, fp);
	opt_help(e->opts, CMD_HELP_COLUMN, CMD_HELP_WIDTH, &sb);
	fprintf(fp, "\n%s\n\noptions:\n%s", e->summary, sb.buf);
	strbuf_release(&sb);
}

int
cmd_error(const char *fmt, ...)
{
	va_list ap;

	fputs("swarm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_ERR;
}

int
cmd_fail(char *cause)
{
	cmd_error("%s", cause != NULL ? cause : "unknown error");
	free(cause);
	return EXIT_ERR;
}

int
cmd_usage_error(const struct cmd_args *a, const char *fmt, ...)
{
	va_list ap;

	fputs("swarm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cmd_print_usage(a != NULL ? a->entry : cmd_running, stderr);
	return EXIT_USAGE;
}

int
cmd_use_color(FILE *fp)
{
	const char *nc = getenv("NO_COLOR");

	if (nc != NULL && *nc != '\0')
		return 0;
	return isatty(fileno(fp));
}

int
cmd_print_json(json_t *j)
{
	int rc;

	rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	putchar('\n');
	json_decref(j);
	return rc == 0 ? EXIT_OK : cmd_error("cannot write JSON");
}

struct conf *
cmd_conf_load(int flags)
{
	struct conf *c;
	char *cause = NULL, *path, *const *w;
	size_t i, n;

	if ((path = conf_default_path(&cause)) == NULL) {
		cmd_fail(cause);
		return NULL;
	}
	c = conf_load_path(path, flags, &cause);
	free(path);
	if (c == NULL) {
		cmd_fail(cause);
		return NULL;
	}
	w = conf_warnings(c, &n);
	for (i = 0; i < n; i++)
		fprintf(stderr, "swarm: warning: %s\n", w[i]);
	return c;
}

int
cmd_conf_flags(struct cmd_args *a, struct conf *c,
    const struct cmd_conf_flag *map)
{
	const struct opt *o;
	const char *v;
	char *cause = NULL, *num = NULL;
	int rc;

	for (; map->opt != NULL; map++) {
		if ((v = args_get(a, map->opt)) == NULL)
			continue;
		/* A typed value goes in parsed: --max-body 2M is 2097152. */
		o = opt_row(&a->opts, map->opt);
		if (o->type == OPT_TYPE_INT || o->type == OPT_TYPE_SIZE)
			v = num = xasprintf("%.0f", args_num(a, map->opt, 0));
		else if (o->type == OPT_TYPE_FLOAT || o->type == OPT_TYPE_DURATION)
			v = num = xasprintf("%.17g", args_num(a, map->opt, 0));
		rc = conf_set_flag(c, map->key, v, &cause);
		free(num);
		num = NULL;
		if (rc != 0) {
			rc = cmd_usage_error(a, "--%s: %s", map->opt, cause);
			free(cause);
			return rc;
		}
	}
	return 0;
}

/* Parses the words after the command's name: 0, 1 for help, or EXIT_USAGE. */
static int
cmd_parse(const struct cmd_entry *e, int argc, char **argv, struct cmd_args *a)
{
	char *cause = NULL;
	int rc;

	a->entry = e;
	rc = opt_parse(e->opts, argc, argv, &a->opts, &cause);
	a->argc = a->opts.argc;
	a->argv = a->opts.argv;
	if (rc < 0) {
		rc = cmd_usage_error(a, "%s", cause);
		free(cause);
		return rc;
	}
	if (rc == 0 && a->argc < e->min_args)
		return cmd_usage_error(a, "too few arguments");
	if (rc == 0 && e->max_args >= 0 && a->argc > e->max_args)
		return cmd_usage_error(a, "too many arguments");
	return rc;
}

/* How far word is from the nearest noun. */
static size_t
cmd_noun_distance(const char *word)
{
	size_t best = (size_t)-1, d, i;

	for (i = 0; cmd_table[i] != NULL; i++)
		if ((d = str_distance(word, cmd_table[i]->noun)) < best)
			best = d;
	return best;
}

/* A mistyped noun alone ("nod"): the nearest noun, once each. */
static void
cmd_unknown_noun(const char *word)
{
	size_t best = cmd_noun_distance(word), i, j;

	if (best == 0 || best > strlen(word) / 3 + 1)
		return;
	for (i = 0; cmd_table[i] != NULL; i++) {
		if (str_distance(word, cmd_table[i]->noun) != best)
			continue;
		for (j = 0; j < i; j++)
			if (strcmp(cmd_table[j]->noun, cmd_table[i]->noun) == 0)
				break;
		if (j == i)
			fprintf(stderr, "did you mean '%s'? ('swarm help %s' "
			    "lists its commands)\n", cmd_table[i]->noun,
			    cmd_table[i]->noun);
	}
}

static int
cmd_unknown(int argc, char **argv)
{
	struct strbuf typed = STRBUF_INIT, sb = STRBUF_INIT;
	size_t best = (size_t)-1, d, i;
	int nmatch = 0;

	strbuf_adds(&typed, argv[0]);
	if (argc > 1 && argv[1][0] != '-') {
		strbuf_addc(&typed, ' ');
		strbuf_adds(&typed, argv[1]);
	}
	/* A known noun with a bad verb: list its verbs. */
	for (i = 0; cmd_table[i] != NULL; i++) {
		if (strcmp(cmd_table[i]->noun, argv[0]) != 0)
			continue;
		if (nmatch++ > 0)
			;
		else if (strcmp(typed.buf, argv[0]) == 0)
			fprintf(stderr, "swarm: '%s' needs a verb\n"
			    "usage: swarm %s <", argv[0], argv[0]);
		else
			fprintf(stderr, "swarm: '%s' is not a swarm command\n"
			    "usage: swarm %s <", typed.buf, argv[0]);
		fprintf(stderr, "%s%s", nmatch > 1 ? "|" : "",
		    cmd_table[i]->verb);
	}
	if (nmatch > 0)
		fputs("> ...\n", stderr);
	else
		fprintf(stderr, "swarm: '%s' is not a swarm command; see "
		    "'swarm help'\n", typed.buf);
	if (nmatch > 0 && strcmp(typed.buf, argv[0]) == 0)
		goto out;	/* the verbs are listed; nothing to guess */
	for (i = 0; cmd_table[i] != NULL; i++) {
		strbuf_reset(&sb);
		cmd_name(cmd_table[i], &sb);
		d = str_distance(typed.buf, sb.buf);
		if (d < best)
			best = d;
	}
	/*
	 * A word alone nearer a noun than any whole command ("nod": node,
	 * not the short "top") is a mistyped noun.
	 */
	if (best > typed.len / 3 + 2 || (strcmp(typed.buf, argv[0]) == 0 &&
	    cmd_noun_distance(argv[0]) < best)) {
		cmd_unknown_noun(argv[0]);
		goto out;
	}
	for (i = 0; cmd_table[i] != NULL; i++) {
		strbuf_reset(&sb);
		cmd_name(cmd_table[i], &sb);
		if (str_distance(typed.buf, sb.buf) == best)
			fprintf(stderr, "did you mean '%s'?\n", sb.buf);
	}
out:
	strbuf_release(&typed);
	strbuf_release(&sb);
	return EXIT_USAGE;
}

static void
cmd_list(FILE *fp)
{
	size_t i;

	for (i = 0; cmd_table[i] != NULL; i++) {
		if (cmd_table[i]->verb != NULL)
			fprintf(fp, "%s %s\n", cmd_table[i]->noun,
			    cmd_table[i]->verb);
		else
			fprintf(fp, "%s\n", cmd_table[i]->noun);
	}
}

/* Prints "-x --name ARG" rows for one command (for completions and tests). */
static int
cmd_list_opts(int argc, char **argv)
{
	size_t i, j;

	for (i = 0; cmd_table[i] != NULL; i++) {
		const struct cmd_entry *e = cmd_table[i];

		if (strcmp(e->noun, argv[0]) != 0)
			continue;
		if (e->verb != NULL && (argc < 2 || strcmp(e->verb, argv[1]) != 0))
			continue;
		for (j = 0; j < opt_count(e->opts); j++)
			printf("%s%c\t--%s\t%s\n", e->opts[j].ch ? "-" : "",
			    e->opts[j].ch ? e->opts[j].ch : '-', e->opts[j].name,
			    e->opts[j].arg ? e->opts[j].arg : "");
		printf("-h\t--help\t\n");
		return EXIT_OK;
	}
	fprintf(stderr, "swarm: no such command\n");
	return EXIT_USAGE;
}

static const struct cmd_entry *
cmd_find(int argc, char **argv, int *used)
{
	size_t i;

	for (i = 0; cmd_table[i] != NULL; i++) {
		const struct cmd_entry *e = cmd_table[i];

		if (strcmp(e->noun, argv[0]) != 0)
			continue;
		if (e->verb == NULL) {
			*used = 1;
			return e;
		}
		if (argc > 1 && strcmp(e->verb, argv[1]) == 0) {
			*used = 2;
			return e;
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct cmd_entry *e;
	struct cmd_args a;
	int used, rc;

	if (argc < 2) {
		fputs("usage: swarm <noun> <verb> [options] [args]\n"
		    "see 'swarm help' for the commands\n", stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		argv[1] = "version";
	else if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		argv[1] = "help";
	else if (strcmp(argv[1], "--list-cmds") == 0) {
		cmd_list(stdout);
		return EXIT_OK;
	} else if (strcmp(argv[1], "--list-opts") == 0) {
		if (argc < 3)
			return EXIT_USAGE;
		return cmd_list_opts(argc - 2, argv + 2);
	}
	if ((e = cmd_find(argc - 1, argv + 1, &used)) == NULL)
		return cmd_unknown(argc - 1, argv + 1);
	cmd_running = e;
	memset(&a, 0, sizeof(a));
	rc = cmd_parse(e, argc - 1 - used, argv + 1 + used, &a);
	if (rc == 1) {
		cmd_print_help(e, stdout);
		rc = EXIT_OK;
	} else if (rc == 0) {
		rc = e->exec(&a);
	}
	opt_release(&a.opts);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = cmd_error("cannot write to standard output");
	return rc;
}
