/*
 * Command-line options as data (after git's parse-options): a table of
 * rows, each a short letter, a long name, a value placeholder and a type.
 * opt_parse() reads argv against the table, range-checks typed values
 * (integers, numbers, durations, sizes, spans, addresses) and keeps every
 * value, so a caller asks for an option by name and never parses it.
 */
#ifndef SWARM_UTIL_OPT_H
#define SWARM_UTIL_OPT_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* What an option's value is. */
enum opt_type {
	OPT_TYPE_PLAIN,		/* a flag without .arg, else a string */
	OPT_TYPE_INT,		/* integer in [min, max] */
	OPT_TYPE_FLOAT,		/* number in [min, max] */
	OPT_TYPE_DURATION,	/* seconds (fractions too) in [min, max] */
	OPT_TYPE_SIZE,		/* bytes, K/M/G suffixes, in [min, max] */
	OPT_TYPE_SPAN,		/* A:B, min <= A < B <= max */
	OPT_TYPE_ADDRESS,	/* HOST:PORT */
};

/* One row of a table; a table ends with a row whose name is NULL. */
struct opt {
	int		 ch;	/* short letter, 0 when there is none */
	const char	*name;	/* long name, without the dashes */
	const char	*arg;	/* value placeholder; NULL for a flag */
	const char	*help;
	enum opt_type	 type;
	double		 min;
	double		 max;
};

/* What was given for one row. */
struct opt_value {
	int		 count;		/* times given */
	char		**values;	/* every value, in order (with .arg) */
	double		 num;		/* the last typed number */
	uint32_t	 span[2];	/* the last span */
};

/* The result of a parse; its strings point into argv. */
struct opt_parsed {
	const struct opt	*opts;
	int			 argc;	/* positional arguments */
	char			**argv;
	struct opt_value	*vals;	/* parallel to opts */
};

size_t		 opt_count(const struct opt *);
/* The row's index, or -1. */
int		 opt_index(const struct opt *, const char *name);

/*
 * Parses argv (the words after the command's name). Options and
 * positional arguments may be interleaved; "--" ends the options, a lone
 * "-" is positional (stdin), and "-1" is a negative number unless a row
 * has the letter 1. Returns 0, 1 when -h or --help was given, or -1 with
 * *cause set. p is filled in every case; release it with opt_release.
 */
int		 opt_parse(const struct opt *, int argc, char **argv,
		    struct opt_parsed *p, char **cause);
void		 opt_release(struct opt_parsed *);

/*
 * Access by long name. Asking for a name that is not in the table is a
 * programming error: it aborts, so a typo cannot pass silently.
 */
const struct opt_value	*opt_value(const struct opt_parsed *, const char *name);
const struct opt	*opt_row(const struct opt_parsed *, const char *name);
/* The last value given, or NULL. */
const char	*opt_get(const struct opt_parsed *, const char *name);

/*
 * The help for a table, one option a line, "  -x, --name ARG   help",
 * the help wrapped at width columns and aligned at column; rows whose
 * left side is too long put their help on the next line.
 */
void		 opt_help(const struct opt *, size_t column, size_t width,
		    struct strbuf *);
/*
 * Words wrapped at width, each line after the first indented to the
 * column where they start (for usage lines).
 */
void		 opt_wrap(const char *words, size_t start, size_t width,
		    struct strbuf *);

#endif
