/*
 * The command table's types. Every subcommand is one `struct cmd_entry`
 * (data, after tmux's cmd_entry): the dispatcher in cmd/swarm.c parses the
 * options listed in .opts, checks the argument count, serves -h/--help and
 * prints usage itself, so a command's exec function only does its job.
 */
#ifndef SWARM_CMD_H
#define SWARM_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "util/opt.h"

#define SWARM_VERSION "0.1.0"

/* Exit codes. */
#define EXIT_OK		0
#define EXIT_ERR	1
#define EXIT_USAGE	2

/*
 * Options are rows of a table (src/util/opt.h): the dispatcher parses and
 * range-checks typed values, so a command reads them with args_int,
 * args_num or args_span and never parses them itself. Options that stand
 * for config keys stay plain strings: the config's schema types them.
 */
#define CMD_OPT_ROW(ch, name, arg, help, type, min, max) \
	{ ch, name, arg, help, type, min, max }
#define OPT_FLAG(ch, name, help) \
	CMD_OPT_ROW(ch, name, NULL, help, OPT_TYPE_PLAIN, 0, 0)
#define OPT_STRING(ch, name, arg, help) \
	CMD_OPT_ROW(ch, name, arg, help, OPT_TYPE_PLAIN, 0, 0)
#define OPT_END	CMD_OPT_ROW(0, NULL, NULL, NULL, OPT_TYPE_PLAIN, 0, 0)
#define OPT_INT(ch, name, arg, min, max, help) \
	CMD_OPT_ROW(ch, name, arg, help, OPT_TYPE_INT, min, max)
#define OPT_FLOAT(ch, name, arg, min, max, help) \
	CMD_OPT_ROW(ch, name, arg, help, OPT_TYPE_FLOAT, min, max)
#define OPT_DURATION(ch, name, min, max, help) \
	CMD_OPT_ROW(ch, name, "SECONDS", help, OPT_TYPE_DURATION, min, max)
#define OPT_SIZE(ch, name, min, max, help) \
	CMD_OPT_ROW(ch, name, "BYTES", help, OPT_TYPE_SIZE, min, max)
#define OPT_SPAN(ch, name, min, max, help) \
	CMD_OPT_ROW(ch, name, "A:B", help, OPT_TYPE_SPAN, min, max)
#define OPT_ADDRESS(ch, name, help) \
	CMD_OPT_ROW(ch, name, "HOST:PORT", help, OPT_TYPE_ADDRESS, 0, 0)

/* Rows the commands that load a model or find the swarm share. */
#define OPT_MODEL \
	OPT_STRING('m', "model", "FILE", "the model (GGUF file)")
#define OPT_LOCAL \
	OPT_FLAG(0, "local", "run every block in this process")
#define OPT_PEER \
	OPT_ADDRESS(0, "peer", "a node of the swarm to route through " \
	    "(repeatable)")
#define OPT_BOOTSTRAP \
	OPT_STRING(0, "bootstrap", "HOST:PORT", "find the swarm's nodes " \
	    "through the DHT, joining at this node (repeatable; default: " \
	    "swarm.bootstrap)")
#define OPT_NETWORK \
	OPT_STRING(0, "network", "NAME", "the swarm's name (default: " \
	    "swarm.network)")
#define OPT_CTX_SIZE \
	OPT_INT('c', "ctx-size", "N", 1, 1 << 20, "context length " \
	    "(default: the model's, at most 4096)")
#define OPT_THREADS \
	OPT_STRING('t', "threads", "N", "worker threads (default: the " \
	    "number of cores)")
#define OPT_REPACK \
	OPT_STRING(0, "repack", "on|off", "repack quantized matrices at " \
	    "load for faster kernels (default on; off: load at once, use " \
	    "the file's pages)")
#define OPT_PORT_FILE \
	OPT_STRING(0, "port-file", "FILE", "write the port listened on to " \
	    "FILE")

/* The sampling and stopping rows of the commands that generate. */
#define OPT_SAMPLING \
	OPT_STRING('n', "max-tokens", "N", "generate at most N tokens " \
	    "(default 256; 0: evaluate the prompt only)"), \
	OPT_STRING(0, "temp", "T", "sampling temperature; 0 is greedy " \
	    "(default 0.8)"), \
	OPT_STRING(0, "top-k", "K", "keep the K most likely tokens (default " \
	    "40; 0: off)"), \
	OPT_STRING(0, "top-p", "P", "nucleus sampling threshold (default 0.95)"), \
	OPT_STRING(0, "min-p", "P", "drop tokens below P times the top " \
	    "probability (default 0.05)"), \
	OPT_FLOAT(0, "repeat-penalty", "R", 0.01, 100, "penalty for repeated " \
	    "tokens (default 1: off)"), \
	OPT_STRING(0, "seed", "N", "random seed (default: from the clock)"), \
	OPT_STRING(0, "stop", "TEXT", "stop when TEXT is generated " \
	    "(repeatable)"), \
	OPT_FLAG(0, "ignore-eos", "keep generating past end-of-generation " \
	    "tokens")

struct cmd_args;

struct cmd_entry {
	const char		*noun;
	const char		*verb;	/* NULL for a one-word command */
	const char		*usage;	/* after "swarm noun verb " */
	const char		*summary;
	const struct opt	*opts;	/* ends with a zeroed row; may be NULL */
	int			 min_args;
	int			 max_args;	/* -1: no limit */
	int			(*exec)(struct cmd_args *);
};

struct cmd_args {
	const struct cmd_entry	*entry;
	int			 argc;	/* positional arguments */
	char			**argv;
	struct opt_parsed	 opts;
};

/* Option access by long name; asking for a name not in .opts aborts. */
const char	*args_get(const struct cmd_args *, const char *name);
int		 args_flag(const struct cmd_args *, const char *name);
char		**args_get_all(const struct cmd_args *, const char *name, int *n);

/* A typed option's value (checked by the dispatcher), or def when absent. */
int64_t		 args_int(const struct cmd_args *, const char *name, int64_t def);
double		 args_num(const struct cmd_args *, const char *name, double def);
/* A span option: 1 with *begin and *end set when given, else 0. */
int		 args_span(const struct cmd_args *, const char *name,
		    uint32_t *begin, uint32_t *end);

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
struct engine;
struct node_run;
struct node_run_config;
/*
 * engine_open and node_run_start with the load's progress drawn on
 * stderr when it is a terminal (src/ui/progress.c), and nothing otherwise.
 */
struct engine	*cmd_engine_open(struct engine_config *, char **cause);
struct node_run	*cmd_node_run_start(struct node_run_config *, char **cause);
/*
 * --bootstrap (repeatable) and --network layered over swarm.bootstrap and
 * swarm.network. Returns 0, or EXIT_USAGE after printing the problem.
 */
int		 cmd_discovery(struct cmd_args *, struct conf *);
/* The options of OPT_SAMPLING, --threads and --repack as config keys. */
extern const struct cmd_conf_flag cmd_infer_conf[];
struct generate_params;
/*
 * Sampling and stopping (OPT_SAMPLING) from the config, with
 * cmd_infer_conf layered on; *seed is the one used (a new one when the
 * config says -1). The stop strings are borrowed from a.
 */
void		 cmd_sampling_params(struct cmd_args *, struct conf *,
		    struct generate_params *, int64_t *seed);
struct ledger_filter;
/*
 * The ledger commands' file (--db, else ledger.path) in *path (allocated)
 * and, with_filter, their --peer, --model and --since. Returns 0, or the
 * exit status after printing the problem.
 */
int		 cmd_ledger_args(struct cmd_args *, int with_filter, char **path,
		    struct ledger_filter *);
/* The options every ledger command has, and the filter's. */
#define OPT_LEDGER_DB \
	OPT_STRING(0, "db", "FILE", "the ledger file (default: ledger.path " \
	    "in the data directory)")
#define OPT_LEDGER_FILTER \
	OPT_STRING(0, "peer", "ID", "only this peer (a peer id or its " \
	    "prefix)"), \
	OPT_STRING(0, "model", "ID", "only this model id"), \
	OPT_STRING(0, "since", "WHEN", "only receipts since WHEN: unix " \
	    "seconds, YYYY-MM-DD or a duration ago (2h, 7d)")
/* A log callback: "swarm: msg" on stderr. */
void		 cmd_log(void *arg, const char *msg);

/* The table, for help, completions and tests. */
extern const struct cmd_entry *const cmd_table[];

#endif
