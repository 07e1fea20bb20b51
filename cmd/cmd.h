/*
 * The command table's types. Every subcommand is one `struct cmd_entry`
 * (data, after tmux's cmd_entry): the dispatcher in cmd/swarm.c parses the
 * options listed in .opts, checks the argument count, serves -h/--help and
 * prints usage itself, so a command's exec function only does its job.
 */
#ifndef SWARM_CMD_H
#define SWARM_CMD_H

#include <stdio.h>

#define SWARM_VERSION "0.1.0"

/* Exit codes. */
#define EXIT_OK		0
#define EXIT_ERR	1
#define EXIT_USAGE	2

struct cmd_opt {
	int		 ch;	/* short letter, 0 when there is none */
	const char	*name;	/* long name, without the dashes */
	const char	*arg;	/* value placeholder; NULL for a flag */
	const char	*help;
};

struct cmd_args;

struct cmd_entry {
	const char		*noun;
	const char		*verb;	/* NULL for a one-word command */
	const char		*usage;	/* after "swarm noun verb " */
	const char		*summary;
	const struct cmd_opt	*opts;	/* ends with a zeroed row; may be NULL */
	int			 min_args;
	int			 max_args;	/* -1: no limit */
	int			(*exec)(struct cmd_args *);
};

struct cmd_optval {
	int	 count;		/* times given */
	char	**values;	/* every value, in order (options with .arg) */
};

struct cmd_args {
	const struct cmd_entry	*entry;
	int			 argc;	/* positional arguments */
	char			**argv;
	struct cmd_optval	*vals;	/* parallel to entry->opts */
};

/* Option access by long name; asking for a name not in .opts aborts. */
const char	*args_get(const struct cmd_args *, const char *name);
int		 args_flag(const struct cmd_args *, const char *name);
char		**args_get_all(const struct cmd_args *, const char *name, int *n);

/* Prints "usage: swarm noun verb ..." to fp. */
void		 cmd_print_usage(const struct cmd_entry *, FILE *fp);
/* Full help: usage, summary, options. */
void		 cmd_print_help(const struct cmd_entry *, FILE *fp);
/* Reports a usage error for the running command; returns EXIT_USAGE. */
int		 cmd_usage_error(const struct cmd_args *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* "swarm: message" on stderr; returns EXIT_ERR. */
int		 cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "swarm: cause" on stderr, frees cause; returns EXIT_ERR. */
int		 cmd_fail(char *cause);
/* Colour is used only on a terminal and never when NO_COLOR is set. */
int		 cmd_use_color(FILE *fp);

struct json_t;
/*
 * The --json output of every command: one document on stdout, indented,
 * reals with 15 significant digits (0.8, not 0.80000000000000004). Takes
 * the reference; returns EXIT_OK or EXIT_ERR.
 */
int		 cmd_print_json(struct json_t *);

struct conf;
/*
 * The config every command starts from (src/conf/conf.h; flags as for
 * conf_load_path, usually 0): prints its warnings on stderr; on error prints
 * the error and returns NULL, and the command returns EXIT_ERR. A command
 * then layers its own options on top with conf_set_flag().
 */
struct conf	*cmd_conf_load(int flags);

/* An option that overrides a config key: { "threads", "infer.threads" }. */
struct cmd_conf_flag {
	const char	*opt;
	const char	*key;
};
/*
 * Layers every given option of the table (ending with a zero row) onto the
 * config as a flag, so flag > env > file > default holds for the command.
 * A value of the wrong type is a usage error: returns EXIT_USAGE, else 0.
 */
int		 cmd_conf_flags(struct cmd_args *, struct conf *,
		    const struct cmd_conf_flag *);

struct engine_config;
/*
 * The engine's config for `infer run` and `serve` from their shared options
 * (model, --local, --peer, --bootstrap, --network, --ctx-size, --verbose)
 * over c; its strings are borrowed from a and c. Returns 0, or EXIT_USAGE
 * after printing the problem.
 */
int		 cmd_engine_config(struct cmd_args *, struct conf *,
		    struct engine_config *);
/*
 * --bootstrap (repeatable) and --network layered over swarm.bootstrap and
 * swarm.network. Returns 0, or EXIT_USAGE after printing the problem.
 */
int		 cmd_discovery(struct cmd_args *, struct conf *);
/* A log callback: "swarm: msg" on stderr. */
void		 cmd_log(void *arg, const char *msg);

/* The table, for help, completions and tests. */
extern const struct cmd_entry *const cmd_table[];

#endif
