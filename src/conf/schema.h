/*
 * The config schema: one table listing every key swarm understands, with its
 * type, range, default and one line of help. Everything else (validation,
 * `swarm config list`, the completions, the man page test, the example file
 * test) reads this table, so adding a key is one line in schema.c.
 */
#ifndef SWARM_CONF_SCHEMA_H
#define SWARM_CONF_SCHEMA_H

#include <stddef.h>

enum schema_type {
	SCHEMA_STRING,
	SCHEMA_INT,		/* integer in [min, max] */
	SCHEMA_FLOAT,		/* finite number in [min, max] */
	SCHEMA_BOOL,		/* true/false, yes/no, on/off, 1/0 */
	SCHEMA_HOSTPORT,	/* host:port, [v6addr]:port */
	SCHEMA_LIST,		/* list of strings; "a,b" on the command line */
};

struct schema_key {
	const char		*name;	/* dotted: "node.listen" */
	enum schema_type	 type;
	double			 min;	/* SCHEMA_INT and SCHEMA_FLOAT */
	double			 max;
	const char		*def;	/* NULL: unset by default */
	/* Extra check on a value (each element of a list); NULL for none. */
	int			(*check)(const char *value, char **cause);
	const char		*help;
};

/* Every key, ending with a zeroed row. */
extern const struct schema_key schema_table[];

/* The key named name, or NULL. */
const struct schema_key	*schema_find(const char *name);
/*
 * As schema_find, but an unknown name sets *cause to a message naming the
 * nearest valid keys (or a section's keys when name is a section).
 */
const struct schema_key	*schema_lookup(const char *name, char **cause);
/* Type name for messages and `config list`: "int", "host:port"... */
const char		*schema_type_name(enum schema_type);
/*
 * Checks one scalar value (one element, for a list) against the key's type
 * and check; on error sets *cause ("invalid value 'x' for 'k': ...").
 */
int			 schema_check(const struct schema_key *, const char *value,
			    char **cause);
/*
 * Splits "a, b,c" into a NULL-terminated array of trimmed, non-empty
 * elements (caller frees each and the array); *n gets the count.
 */
char			**schema_split_list(const char *s, size_t *n);
/* Parses "host:port" or "[v6]:port"; *host is allocated. */
int			 schema_parse_hostport(const char *s, char **host,
			    unsigned int *port, char **cause);

#endif
