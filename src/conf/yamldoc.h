/*
 * A YAML document as a plain tree, read and written with libyaml. The config
 * code edits one key of it and writes it back, so everything a command did
 * not touch (other keys, unknown keys, quoting, flow style) survives a
 * `swarm config set`. Comments do not: libyaml does not report them.
 */
#ifndef SWARM_CONF_YAMLDOC_H
#define SWARM_CONF_YAMLDOC_H

#include <stddef.h>

#include "util/strbuf.h"

enum yamldoc_kind {
	YAMLDOC_SCALAR,
	YAMLDOC_SEQ,
	YAMLDOC_MAP,
	YAMLDOC_ALIAS,
};

struct yamldoc_node {
	enum yamldoc_kind	  kind;
	char			 *value;	/* scalar text; alias: its anchor */
	char			 *tag;		/* NULL when implicit */
	char			 *anchor;
	int			  style;	/* libyaml scalar/collection style */
	int			  implicit;	/* plain_implicit (scalars), implicit */
	int			  quoted_implicit;
	size_t			  line;		/* 1-based position in the file */
	size_t			  col;
	/* SEQ: the items; MAP: key, value, key, value... */
	struct yamldoc_node	**items;
	size_t			  n;
};

/* Nesting deeper than this is refused rather than recursed into. */
#define YAMLDOC_MAX_DEPTH	64
/* A config file larger than this is refused. */
#define YAMLDOC_MAX_SIZE	(1024 * 1024)

/*
 * Parses text (the first document of it; a second is an error). An empty
 * text gives *root = NULL. Errors read "name:LINE:COL: problem".
 */
int	yamldoc_parse(const char *name, const char *text, size_t len,
	    struct yamldoc_node **root, char **cause);
/* Block-style YAML text for root (NULL: an empty mapping). */
int	yamldoc_emit(const struct yamldoc_node *root, struct strbuf *out,
	    char **cause);
void	yamldoc_free(struct yamldoc_node *);

struct yamldoc_node *yamldoc_scalar_new(const char *value, int quoted);
struct yamldoc_node *yamldoc_seq_new(void);
struct yamldoc_node *yamldoc_map_new(void);
void	yamldoc_append(struct yamldoc_node *seq, struct yamldoc_node *item);
/* A plain scalar that is null: "", "~", "null". */
int	yamldoc_is_null(const struct yamldoc_node *);

/*
 * Dotted-key editing. A key "a.b" is found either nested (a: {b: ...}) or
 * flat ("a.b": ...) or any mix. yamldoc_get returns the value node of the
 * first match. yamldoc_set replaces the first match's value (taking
 * ownership of value) and removes any later duplicates; when there is none
 * it adds the key nested under existing or new mappings. yamldoc_unset
 * removes every match, and mappings it leaves empty; returns how many.
 */
struct yamldoc_node *yamldoc_get(struct yamldoc_node *root, const char *key);
void	yamldoc_set(struct yamldoc_node **root, const char *key,
	    struct yamldoc_node *value);
int	yamldoc_unset(struct yamldoc_node *root, const char *key);

#endif
