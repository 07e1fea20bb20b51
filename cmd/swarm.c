/*
 * main(), the command table and the dispatcher. The dispatcher is the only
 * place that parses options, checks argument counts, prints usage and serves
 * -h/--help, so every command behaves the same way.
 */
#include <ctype.h>
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
extern const struct cmd_entry cmd_infer_run_entry;
extern const struct cmd_entry cmd_infer_tokenize_entry;
extern const struct cmd_entry cmd_models_status_entry;
extern const struct cmd_entry cmd_node_join_entry;
extern const struct cmd_entry cmd_node_leave_entry;
extern const struct cmd_entry cmd_node_status_entry;
extern const struct cmd_entry cmd_serve_entry;
extern const struct cmd_entry cmd_shard_add_entry;
extern const struct cmd_entry cmd_shard_info_entry;
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
	&cmd_infer_run_entry,
	&cmd_infer_tokenize_entry,
	&cmd_models_status_entry,
	&cmd_node_join_entry,
	&cmd_node_leave_entry,
	&cmd_node_status_entry,
	&cmd_serve_entry,
	&cmd_shard_add_entry,
	&cmd_shard_info_entry,
	&cmd_shard_list_entry,
	&cmd_shard_pull_entry,
	&cmd_shard_rm_entry,
	&cmd_shard_verify_entry,
	&cmd_version_entry,
	NULL
};

static const struct cmd_entry *cmd_running;

static size_t
cmd_opt_count(const struct cmd_entry *e)
{
	size_t n = 0;

	if (e->opts != NULL)
		while (e->opts[n].name != NULL)
			n++;
	return n;
}

static int
cmd_opt_index(const struct cmd_entry *e, const char *name)
{
	size_t i, n = cmd_opt_count(e);

	for (i = 0; i < n; i++)
		if (strcmp(e->opts[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
cmd_opt_index_checked(const struct cmd_args *a, const char *name)
{
	int i = cmd_opt_index(a->entry, name);

	if (i < 0) {
		fprintf(stderr, "swarm: internal error: option '%s' not in '%s'\n",
		    name, a->entry->noun);
		abort();
	}
	return i;
}

const char *
args_get(const struct cmd_args *a, const char *name)
{
	struct cmd_optval *v = &a->vals[cmd_opt_index_checked(a, name)];

	return v->count > 0 && v->values != NULL ? v->values[v->count - 1] : NULL;
}

int
args_flag(const struct cmd_args *a, const char *name)
{
	return a->vals[cmd_opt_index_checked(a, name)].count;
}

char **
args_get_all(const struct cmd_args *a, const char *name, int *n)
{
	struct cmd_optval *v = &a->vals[cmd_opt_index_checked(a, name)];

	*n = v->values != NULL ? v->count : 0;
	return v->values;
}

int64_t
args_int(const struct cmd_args *a, const char *name, int64_t def)
{
	struct cmd_optval *v = &a->vals[cmd_opt_index_checked(a, name)];

	return v->count > 0 ? (int64_t)v->num : def;
}

double
args_num(const struct cmd_args *a, const char *name, double def)
{
	struct cmd_optval *v = &a->vals[cmd_opt_index_checked(a, name)];

	return v->count > 0 ? v->num : def;
}

int
args_span(const struct cmd_args *a, const char *name, uint32_t *begin,
    uint32_t *end)
{
	struct cmd_optval *v = &a->vals[cmd_opt_index_checked(a, name)];

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

/* The help column: an option longer than this has its help on the next line. */
#define CMD_HELP_COLUMN	30
#define CMD_HELP_WIDTH	80

void
cmd_print_usage(const struct cmd_entry *e, FILE *fp)
{
	struct strbuf sb = STRBUF_INIT;

	const char *p = e->usage;
	size_t indent, col, word;

	cmd_name(e, &sb);
	fprintf(fp, "usage: swarm %s", sb.buf);
	/* Words wrap at CMD_HELP_WIDTH, under the first of them. */
	indent = col = strlen("usage: swarm ") + sb.len;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if ((word = strcspn(p, " ")) == 0)
			break;
		if (col + 1 + word > CMD_HELP_WIDTH && col > indent) {
			fprintf(fp, "\n%*s", (int)indent, "");
			col = indent;
		}
		fprintf(fp, " %.*s", (int)word, p);
		col += 1 + word;
		p += word;
	}
	fputc('\n', fp);
	strbuf_release(&sb);
}

/*
 * "  --name ARG   help", the help wrapped at CMD_HELP_WIDTH columns and
 * aligned under itself.
 */
static void
cmd_print_option(FILE *fp, const char *left, const char *help)
{
	size_t room = CMD_HELP_WIDTH - CMD_HELP_COLUMN - 1, len, cut;
	const char *p = help;

	if (strlen(left) + 2 >= CMD_HELP_COLUMN)
		fprintf(fp, "  %s\n%*s", left, CMD_HELP_COLUMN + 1, "");
	else
		fprintf(fp, "  %-*s ", CMD_HELP_COLUMN - 2, left);
	for (;;) {
		len = strlen(p);
		if (len <= room) {
			fprintf(fp, "%s\n", p);
			return;
		}
		/* the last space that fits; a word longer than the room goes
		 * out whole */
		for (cut = room; cut > 0 && p[cut] != ' '; cut--)
			;
		if (cut == 0)
			cut = strcspn(p, " ");
		fprintf(fp, "%.*s\n%*s", (int)cut, p, CMD_HELP_COLUMN + 1, "");
		p += cut;
		while (*p == ' ')
			p++;
		if (*p == '\0') {
			fputc('\n', fp);
			return;
		}
	}
}

void
cmd_print_help(const struct cmd_entry *e, FILE *fp)
{
	size_t i, n = cmd_opt_count(e);
	struct strbuf sb = STRBUF_INIT;

	cmd_print_usage(e, fp);
	fprintf(fp, "\n%s\n\noptions:\n", e->summary);
	for (i = 0; i <= n; i++) {
		const struct cmd_opt *o;
		static const struct cmd_opt help_opt = OPT_FLAG('h', "help",
		    "show this help and exit");

		o = i < n ? &e->opts[i] : &help_opt;
		strbuf_reset(&sb);
		if (o->ch)
			strbuf_addf(&sb, "-%c, ", o->ch);
		else
			strbuf_adds(&sb, "    ");
		strbuf_addf(&sb, "--%s", o->name);
		if (o->arg != NULL)
			strbuf_addf(&sb, " %s", o->arg);
		cmd_print_option(fp, sb.buf, o->help);
	}
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
	const struct cmd_opt *o;
	const char *v;
	char *cause = NULL, *num = NULL;
	int rc;

	for (; map->opt != NULL; map++) {
		if ((v = args_get(a, map->opt)) == NULL)
			continue;
		/* A typed value goes in parsed: --max-body 2M is 2097152. */
		o = &a->entry->opts[cmd_opt_index_checked(a, map->opt)];
		if (o->type == CMD_OPT_INT || o->type == CMD_OPT_SIZE)
			v = num = xasprintf("%.0f", args_num(a, map->opt, 0));
		else if (o->type == CMD_OPT_FLOAT || o->type == CMD_OPT_DURATION)
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

/* Parses a typed value into v; the reason it is bad, or NULL. */
static const char *
cmd_opt_value(const struct cmd_opt *o, const char *value,
    struct cmd_optval *v)
{
	const char *err = NULL;

	switch (o->type) {
	case CMD_OPT_PLAIN:
		break;
	case CMD_OPT_INT:
		v->num = (double)parse_int(value, (int64_t)o->min,
		    (int64_t)o->max, &err);
		break;
	case CMD_OPT_FLOAT:
	case CMD_OPT_DURATION:
		v->num = parse_double(value, o->min, o->max, &err);
		break;
	case CMD_OPT_SIZE:
		v->num = (double)parse_size(value, (uint64_t)o->min,
		    (uint64_t)o->max, &err);
		break;
	case CMD_OPT_SPAN:
		parse_span(value, (uint64_t)o->min, (uint64_t)o->max,
		    &v->span[0], &v->span[1], &err);
		break;
	case CMD_OPT_ADDRESS:
		parse_address(value, &err);
		break;
	}
	return err;
}

/* Records one use of option k; EXIT_USAGE when its value is bad. */
static int
cmd_args_add(struct cmd_args *a, int k, const char *value)
{
	const struct cmd_opt *o = &a->entry->opts[k];
	struct cmd_optval *v = &a->vals[k];
	const char *err;

	if (value != NULL) {
		if ((err = cmd_opt_value(o, value, v)) != NULL)
			return cmd_usage_error(a, "--%s: '%s' is %s", o->name,
			    value, err);
		v->values = xreallocarray(v->values, v->count + 1,
		    sizeof(*v->values));
		v->values[v->count] = (char *)value;
	}
	v->count++;
	return 0;
}

/*
 * "-1" or "-0.5" is a negative number, not an option, unless the command
 * has a digit option: `swarm config set infer.seed -1` needs no "--".
 */
static int
cmd_is_negative(const struct cmd_entry *e, const char *arg)
{
	size_t i, n = cmd_opt_count(e);

	if (!isdigit((unsigned char)arg[1]) && !(arg[1] == '.' &&
	    isdigit((unsigned char)arg[2])))
		return 0;
	for (i = 0; i < n; i++)
		if (e->opts[i].ch == arg[1])
			return 0;
	return 1;
}

/* "--name", "--name=value" or "--name value" at argv[*i]. */
static int
cmd_parse_long(struct cmd_args *a, int argc, char **argv, int *i)
{
	const struct cmd_entry *e = a->entry;
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	int k, n = (int)cmd_opt_count(e);

	if (len == 4 && strncmp(name, "help", 4) == 0)
		return 1;
	for (k = 0; k < n; k++)
		if (strlen(e->opts[k].name) == len &&
		    strncmp(e->opts[k].name, name, len) == 0)
			break;
	if (k == n)
		return cmd_usage_error(a, "unknown option '--%.*s'", (int)len,
		    name);
	if (e->opts[k].arg == NULL) {
		if (eq != NULL)
			return cmd_usage_error(a, "option '--%s' takes no "
			    "value", e->opts[k].name);
		return cmd_args_add(a, k, NULL);
	}
	if (eq != NULL)
		return cmd_args_add(a, k, eq + 1);
	if (*i + 1 < argc)
		return cmd_args_add(a, k, argv[++*i]);
	return cmd_usage_error(a, "option '--%s' needs a value",
	    e->opts[k].name);
}

/* "-abc", "-nVALUE" or "-n VALUE" at argv[*i]. */
static int
cmd_parse_short(struct cmd_args *a, int argc, char **argv, int *i)
{
	const struct cmd_entry *e = a->entry;
	const char *arg = argv[*i];
	int j, k, n = (int)cmd_opt_count(e), rc;

	for (j = 1; arg[j] != '\0'; j++) {
		if (arg[j] == 'h')
			return 1;
		for (k = 0; k < n; k++)
			if (e->opts[k].ch == arg[j])
				break;
		if (k == n)
			return cmd_usage_error(a, "unknown option '-%c'",
			    arg[j]);
		if (e->opts[k].arg == NULL) {
			if ((rc = cmd_args_add(a, k, NULL)) != 0)
				return rc;
			continue;
		}
		if (arg[j + 1] != '\0')
			return cmd_args_add(a, k, arg + j + 1);
		if (*i + 1 < argc)
			return cmd_args_add(a, k, argv[++*i]);
		return cmd_usage_error(a, "option '-%c' needs a value", arg[j]);
	}
	return 0;
}

/*
 * Parses argv (the words after the command name) against e->opts, typed
 * values checked. Options and positional arguments may be interleaved;
 * "--" ends the options and a lone "-" is positional (stdin). Returns 0,
 * 1 when help was asked, or EXIT_USAGE after printing the problem.
 */
static int
cmd_parse(const struct cmd_entry *e, int argc, char **argv, struct cmd_args *a)
{
	size_t n = cmd_opt_count(e);
	int i, rc, only_args = 0;

	a->entry = e;
	a->argc = 0;
	a->argv = xcalloc(argc + 1, sizeof(*a->argv));
	a->vals = xcalloc(n + 1, sizeof(*a->vals));
	for (i = 0; i < argc; i++) {
		char *arg = argv[i];

		if (only_args || arg[0] != '-' || arg[1] == '\0' ||
		    cmd_is_negative(e, arg))
			a->argv[a->argc++] = arg;
		else if (strcmp(arg, "--") == 0)
			only_args = 1;
		else if ((rc = arg[1] == '-' ? cmd_parse_long(a, argc, argv,
		    &i) : cmd_parse_short(a, argc, argv, &i)) != 0)
			return rc;
	}
	if (a->argc < e->min_args)
		return cmd_usage_error(a, "too few arguments");
	if (e->max_args >= 0 && a->argc > e->max_args)
		return cmd_usage_error(a, "too many arguments");
	return 0;
}

static void
cmd_args_free(struct cmd_args *a)
{
	size_t i, n = a->entry != NULL ? cmd_opt_count(a->entry) : 0;

	if (a->vals != NULL)
		for (i = 0; i < n; i++)
			free(a->vals[i].values);
	free(a->vals);
	free(a->argv);
}

/* A mistyped noun alone ("nod"): the nearest noun, once each. */
static void
cmd_unknown_noun(const char *word)
{
	size_t best = (size_t)-1, d, i, j;

	for (i = 0; cmd_table[i] != NULL; i++)
		if ((d = str_distance(word, cmd_table[i]->noun)) < best)
			best = d;
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
	if (best > typed.len / 3 + 2) {
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
		for (j = 0; j < cmd_opt_count(e); j++)
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
	cmd_args_free(&a);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = cmd_error("cannot write to standard output");
	return rc;
}
