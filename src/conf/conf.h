/*
 * The configuration every command reads. One loader layers four sources,
 * highest first: command-line flags (conf_set_flag), the environment
 * (SWARM_NODE_LISTEN for node.listen), the YAML file, the schema default.
 * The file is $SWARM_HOME/config.yaml, else $XDG_CONFIG_HOME/swarm/ or
 * ~/.config/swarm/config.yaml. Values are checked against the schema
 * (schema.h) when they enter, so the typed getters cannot fail; asking
 * them for a key not in the schema, or of another type, is a bug and
 * aborts.
 */
#ifndef SWARM_CONF_CONF_H
#define SWARM_CONF_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf/schema.h"

enum conf_source {
	CONF_DEFAULT,
	CONF_FILE,
	CONF_ENV,
	CONF_FLAG,
};
#define CONF_NSOURCES	4

/* conf_load_path flags. */
#define CONF_NOENV	0x1	/* ignore SWARM_* variables */
/*
 * A bad value in the file or environment is a warning (and the key falls
 * back to the next source) instead of an error, so `swarm config set` and
 * `unset` can repair a file that other commands refuse.
 */
#define CONF_LENIENT	0x2
/*
 * Hold an exclusive lock (a lock file beside the config, since saving
 * replaces the file itself) from before the read until conf_free, so that
 * concurrent read-modify-write edits (`swarm config set`) lose nothing.
 */
#define CONF_LOCK	0x4

struct conf;

/* Loads the default file (absent is fine) and the environment. */
struct conf	*conf_load(char **cause);
struct conf	*conf_load_path(const char *path, int flags, char **cause);
void		 conf_free(struct conf *);

/* The file this conf reads and saves. */
const char	*conf_file(const struct conf *);
/* Problems that did not stop the load (unknown keys, CONF_LENIENT). */
char *const	*conf_warnings(const struct conf *, size_t *n);

/*
 * The effective value (a list joined with ","), or NULL when the key is
 * unknown or has no value; *src (may be NULL) gets where it came from.
 */
const char	*conf_get(const struct conf *, const char *key,
		    enum conf_source *src);
const char	*conf_get_str(const struct conf *, const char *key);
int64_t		 conf_get_int(const struct conf *, const char *key);
double		 conf_get_float(const struct conf *, const char *key);
int		 conf_get_bool(const struct conf *, const char *key);
/* NULL-terminated, borrowed; never NULL. */
char *const	*conf_get_list(const struct conf *, const char *key, size_t *n);
/* A host:port key split; -1 when it has no value. *host is allocated. */
int		 conf_get_hostport(const struct conf *, const char *key,
		    char **host, unsigned int *port);
/* A path key, relative ones resolved against conf_data_dir(). */
char		*conf_get_path(const struct conf *, const char *key,
		    char **cause);
/* Is the key written in the file (even with an empty value)? */
int		 conf_in_file(const struct conf *, const char *key);

/* A command's flag, above every other source. */
int		 conf_set_flag(struct conf *, const char *key, const char *value,
		    char **cause);
/* File edits; nothing is written until conf_save. */
int		 conf_set(struct conf *, const char *key, const char *value,
		    char **cause);
/* Appends the elements of value ("a,b") to a list key, skipping repeats. */
int		 conf_add(struct conf *, const char *key, const char *value,
		    char **cause);
/* Removes key from the file; unknown keys too. Returns 0 or -1. */
int		 conf_unset(struct conf *, const char *key, char **cause);
/*
 * Writes the file atomically (temporary file, fsync, rename): on any error
 * the old file is left as it was.
 */
int		 conf_save(struct conf *, char **cause);

const char	*conf_source_name(enum conf_source);
/* "SWARM_NODE_LISTEN" for "node.listen"; allocated. */
char		*conf_env_name(const char *key);
/* The default config file path, allocated. */
char		*conf_default_path(char **cause);
/* Where shards, identity and ledger live ($SWARM_HOME or XDG data). */
char		*conf_data_dir(char **cause);

#endif
