/*
 * Command-line options as data: parsing argv against a table of rows, and
 * the help text of a table. See opt.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/opt.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

size_t
opt_count(const struct opt *opts)
{
	size_t n = 0;

	if (opts != NULL)
		while (opts[n].name != NULL)
			n++;
	return n;
}

int
opt_index(const struct opt *opts, const char *name)
{
	size_t i, n = opt_count(opts);

	for (i = 0; i < n; i++)
		if (strcmp(opts[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
opt_index_checked(const struct opt_parsed *p, const char *name)
{
	int i = opt_index(p->opts, name);

	if (i < 0) {
		fprintf(stderr, "internal error: option '%s' is not in the "
		    "table\n", name);
		abort();
	}
	return i;
}

const struct opt_value *
opt_value(const struct opt_parsed *p, const char *name)
{
	return &p->vals[opt_index_checked(p, name)];
}

const struct opt *
opt_row(const struct opt_parsed *p, const char *name)
{
	return &p->opts[opt_index_checked(p, name)];
}

const char *
opt_get(const struct opt_parsed *p, const char *name)
{
	const struct opt_value *v = opt_value(p, name);

	return v->count > 0 && v->values != NULL ? v->values[v->count - 1] :
	    NULL;
}

/* Parses a typed value into v; the reason it is bad, or NULL. */
static const char *
opt_parse_value(const struct opt *o, const char *value, struct opt_value *v)
{
	const char *err = NULL;

	switch (o->type) {
	case OPT_TYPE_PLAIN:
		break;
	case OPT_TYPE_INT:
		v->num = (double)parse_int(value, (int64_t)o->min,
		    (int64_t)o->max, &err);
		break;
	case OPT_TYPE_FLOAT:
	case OPT_TYPE_DURATION:
		v->num = parse_double(value, o->min, o->max, &err);
		break;
	case OPT_TYPE_SIZE:
		v->num = (double)parse_size(value, (uint64_t)o->min,
		    (uint64_t)o->max, &err);
		break;
	case OPT_TYPE_SPAN:
		parse_span(value, (uint64_t)o->min, (uint64_t)o->max,
		    &v->span[0], &v->span[1], &err);
		break;
	case OPT_TYPE_ADDRESS:
		parse_address(value, &err);
		break;
	}
	return err;
}

/* Records one use of row k; -1 with *cause when its value is bad. */
static int
opt_add(struct opt_parsed *p, int k, const char *value, char **cause)
{
	const struct opt *o = &p->opts[k];
	struct opt_value *v = &p->vals[k];
	const char *err;

	if (value != NULL) {
		if ((err = opt_parse_value(o, value, v)) != NULL) {
			*cause = xasprintf("--%s: '%s' is %s", o->name, value,
			    err);
			return -1;
		}
		v->values = xreallocarray(v->values, v->count + 1,
		    sizeof(*v->values));
		v->values[v->count] = (char *)value;
	}
	v->count++;
	return 0;
}

/* "-1" or "-0.5" is a negative number unless a row has that digit. */
static int
opt_is_negative(const struct opt *opts, const char *arg)
{
	size_t i, n = opt_count(opts);

	if (!isdigit((unsigned char)arg[1]) && !(arg[1] == '.' &&
	    isdigit((unsigned char)arg[2])))
		return 0;
	for (i = 0; i < n; i++)
		if (opts[i].ch == arg[1])
			return 0;
	return 1;
}

/* "--name", "--name=value" or "--name value" at argv[*i]. */
static int
opt_parse_long(struct opt_parsed *p, int argc, char **argv, int *i,
    char **cause)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	int k, n = (int)opt_count(p->opts);

	if (len == 4 && strncmp(name, "help", 4) == 0)
		return 1;
	for (k = 0; k < n; k++)
		if (strlen(p->opts[k].name) == len &&
		    strncmp(p->opts[k].name, name, len) == 0)
			break;
	if (k == n) {
		*cause = xasprintf("unknown option '--%.*s'", (int)len, name);
		return -1;
	}
	if (p->opts[k].arg == NULL) {
		if (eq == NULL)
			return opt_add(p, k, NULL, cause);
		*cause = xasprintf("option '--%s' takes no value",
		    p->opts[k].name);
		return -1;
	}
	if (eq != NULL)
		return opt_add(p, k, eq + 1, cause);
	if (*i + 1 < argc)
		return opt_add(p, k, argv[++*i], cause);
	*cause = xasprintf("option '--%s' needs a value", p->opts[k].name);
	return -1;
}

/* "-abc", "-nVALUE" or "-n VALUE" at argv[*i]. */
static int
opt_parse_short(struct opt_parsed *p, int argc, char **argv, int *i,
    char **cause)
{
	const char *arg = argv[*i];
	int j, k, n = (int)opt_count(p->opts);

	for (j = 1; arg[j] != '\0'; j++) {
		if (arg[j] == 'h')
			return 1;
		for (k = 0; k < n; k++)
			if (p->opts[k].ch == arg[j])
				break;
		if (k == n) {
			*cause = xasprintf("unknown option '-%c'", arg[j]);
			return -1;
		}
		if (p->opts[k].arg == NULL) {
			if (opt_add(p, k, NULL, cause) != 0)
				return -1;
			continue;
		}
		if (arg[j + 1] != '\0')
			return opt_add(p, k, arg + j + 1, cause);
		if (*i + 1 < argc)
			return opt_add(p, k, argv[++*i], cause);
		*cause = xasprintf("option '-%c' needs a value", arg[j]);
		return -1;
	}
	return 0;
}

int
opt_parse(const struct opt *opts, int argc, char **argv,
    struct opt_parsed *p, char **cause)
{
	int i, rc, only_args = 0;

	p->opts = opts;
	p->argc = 0;
	p->argv = xcalloc((size_t)argc + 1, sizeof(*p->argv));
	p->vals = xcalloc(opt_count(opts) + 1, sizeof(*p->vals));
	for (i = 0; i < argc; i++) {
		char *arg = argv[i];

		if (only_args || arg[0] != '-' || arg[1] == '\0' ||
		    opt_is_negative(opts, arg))
			p->argv[p->argc++] = arg;
		else if (strcmp(arg, "--") == 0)
			only_args = 1;
		else if ((rc = arg[1] == '-' ? opt_parse_long(p, argc, argv,
		    &i, cause) : opt_parse_short(p, argc, argv, &i,
		    cause)) != 0)
			return rc;
	}
	return 0;
}

void
opt_release(struct opt_parsed *p)
{
	size_t i, n = opt_count(p->opts);

	if (p->vals != NULL)
		for (i = 0; i < n; i++)
			free(p->vals[i].values);
	free(p->vals);
	free(p->argv);
	p->vals = NULL;
	p->argv = NULL;
}

void
opt_wrap(const char *p, size_t start, size_t width, struct strbuf *sb)
{
	size_t col = start, word;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if ((word = strcspn(p, " ")) == 0)
			break;
		if (col + 1 + word > width && col > start) {
			strbuf_addf(sb, "\n%*s", (int)start, "");
			col = start;
		}
		strbuf_addf(sb, " %.*s", (int)word, p);
		col += 1 + word;
		p += word;
	}
}

/* "  --name ARG   help", the help wrapped and aligned under itself. */
static void
opt_help_row(const char *left, const char *help, size_t column, size_t width,
    struct strbuf *sb)
{
	size_t room = width - column - 1, len, cut;
	const char *p = help;

	if (strlen(left) + 2 >= column)
		strbuf_addf(sb, "  %s\n%*s", left, (int)column + 1, "");
	else
		strbuf_addf(sb, "  %-*s ", (int)column - 2, left);
	while ((len = strlen(p)) > room) {
		/* the last space that fits; a longer word goes out whole */
		for (cut = room; cut > 0 && p[cut] != ' '; cut--)
			;
		if (cut == 0)
			cut = strcspn(p, " ");
		strbuf_addf(sb, "%.*s\n%*s", (int)cut, p, (int)column + 1, "");
		p += cut;
		while (*p == ' ')
			p++;
		if (*p == '\0') {
			strbuf_addc(sb, '\n');
			return;
		}
	}
	strbuf_addf(sb, "%s\n", p);
}

void
opt_help(const struct opt *opts, size_t column, size_t width,
    struct strbuf *sb)
{
	static const struct opt help_row = { 'h', "help", NULL,
	    "show this help and exit", OPT_TYPE_PLAIN, 0, 0 };
	struct strbuf left = STRBUF_INIT;
	size_t i, n = opt_count(opts);

	for (i = 0; i <= n; i++) {
		const struct opt *o = i < n ? &opts[i] : &help_row;

		strbuf_reset(&left);
		if (o->ch)
			strbuf_addf(&left, "-%c, ", o->ch);
		else
			strbuf_adds(&left, "    ");
		strbuf_addf(&left, "--%s", o->name);
		if (o->arg != NULL)
			strbuf_addf(&left, " %s", o->arg);
		opt_help_row(left.buf, o->help, column, width, sb);
	}
	strbuf_release(&left);
}
