/*
 * The config loader: the schema's defaults, the YAML file, the environment
 * and command-line flags as four layers of checked values, and the atomic
 * rewrite of the file when `swarm config` edits it. The parsed YAML tree is
 * kept so a save changes only the key that was edited.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "yamldoc.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/path.h"
#include "util/xmalloc.h"

struct conf_value {
	int	  set;
	char	 *str;		/* the value; a list joined with "," */
	char	**list;		/* lists: the elements, NULL-terminated */
	size_t	  n;
	size_t	  line;		/* where the file set it */
	size_t	  col;
};

struct conf {
	char			 *path;
	struct yamldoc_node	 *doc;
	size_t			  nkeys;
	struct conf_value	 *vals;	/* [source * nkeys + key] */
	char			**warnings;
	size_t			  nwarnings;
	int			  lock_fd;	/* CONF_LOCK, else -1 */
};

static char *conf_empty_list[] = { NULL };

static size_t
conf_nkeys(void)
{
	size_t n = 0;

	while (schema_table[n].name != NULL)
		n++;
	return n;
}

static struct conf_value *
conf_val(const struct conf *c, enum conf_source src, const struct schema_key *k)
{
	return &c->vals[(size_t)src * c->nkeys + (size_t)(k - schema_table)];
}

static void
conf_value_clear(struct conf_value *v)
{
	size_t i;

	if (v->list != NULL)
		for (i = 0; i < v->n; i++)
			free(v->list[i]);
	free(v->list);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

static void
conf_value_set_list(struct conf_value *v, char **list, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	conf_value_clear(v);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strbuf_addc(&sb, ',');
		strbuf_adds(&sb, list[i]);
	}
	v->set = 1;
	v->list = list;
	v->n = n;
	v->str = strbuf_detach(&sb, NULL);
}

static void
conf_free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/*
 * Checks value against k and stores it in v: a list from "a,b", anything
 * else as it is.
 */
static int
conf_value_parse(const struct schema_key *k, const char *value,
    struct conf_value *v, char **cause)
{
	char **list;
	size_t i, n;

	if (k->type != SCHEMA_LIST) {
		if (schema_check(k, value, cause) != 0)
			return -1;
		conf_value_clear(v);
		v->set = 1;
		v->str = xstrdup(value);
		return 0;
	}
	list = schema_split_list(value, &n);
	for (i = 0; i < n; i++) {
		if (schema_check(k, list[i], cause) != 0) {
			conf_free_list(list, n);
			return -1;
		}
	}
	conf_value_set_list(v, list, n);
	return 0;
}

static void
conf_warn(struct conf *c, const char *fmt, ...)
{
	va_list ap;

	c->warnings = xreallocarray(c->warnings, c->nwarnings + 1,
	    sizeof(*c->warnings));
	va_start(ap, fmt);
	c->warnings[c->nwarnings++] = xvasprintf(fmt, ap);
	va_end(ap);
}

/* A problem in the file or environment: an error, or a warning if lenient. */
static int
conf_problem(struct conf *c, int flags, char *msg, char **cause)
{
	if (flags & CONF_LENIENT) {
		conf_warn(c, "%s", msg);
		free(msg);
		return 0;
	}
	if (cause != NULL)
		*cause = msg;
	else
		free(msg);
	return -1;
}

/* One known key's node from the file. */
static int
conf_take_file(struct conf *c, const struct schema_key *k,
    const struct yamldoc_node *node, int flags, char **cause)
{
	struct conf_value *v = conf_val(c, CONF_FILE, k), nv;
	const struct yamldoc_node *bad = node;
	char **list, *why = NULL, *msg;
	size_t i;

	memset(&nv, 0, sizeof(nv));
	if (v->set)
		return conf_problem(c, flags, xasprintf("%s:%zu:%zu: '%s' is set "
		    "twice (first at %zu:%zu)", c->path, node->line, node->col,
		    k->name, v->line, v->col), cause);
	if (node->kind == YAMLDOC_SCALAR) {
		if (yamldoc_is_null(node) || node->value[0] == '\0')
			return 0;
		if (conf_value_parse(k, node->value, &nv, &why) != 0)
			goto bad;
	} else if (node->kind == YAMLDOC_SEQ && k->type == SCHEMA_LIST) {
		list = xcalloc(node->n + 1, sizeof(*list));
		for (i = 0; i < node->n; i++) {
			bad = node->items[i];
			if (bad->kind != YAMLDOC_SCALAR || yamldoc_is_null(bad)) {
				conf_free_list(list, i);
				why = xasprintf("a '%s' element must be a string",
				    k->name);
				goto bad;
			}
			if (schema_check(k, bad->value, &why) != 0) {
				conf_free_list(list, i);
				goto bad;
			}
			list[i] = xstrdup(bad->value);
		}
		conf_value_set_list(&nv, list, node->n);
	} else {
		why = xasprintf("'%s' takes %s, not a %s", k->name,
		    k->type == SCHEMA_LIST ? "a list" : "one value",
		    node->kind == YAMLDOC_MAP ? "mapping" :
		    node->kind == YAMLDOC_SEQ ? "list" : "YAML alias");
		goto bad;
	}
	*v = nv;
	v->line = node->line;
	v->col = node->col;
	return 0;
bad:
	conf_value_clear(&nv);
	msg = xasprintf("%s:%zu:%zu: %s", c->path, bad->line, bad->col, why);
	free(why);
	return conf_problem(c, flags, msg, cause);
}

/* Walks the file's mappings, dotting their keys together. */
static int
conf_walk(struct conf *c, const struct yamldoc_node *map, const char *prefix,
    int flags, char **cause)
{
	const struct schema_key *k;
	const struct yamldoc_node *key, *val;
	char *name, *why;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i + 1 < map->n; i += 2) {
		key = map->items[i];
		val = map->items[i + 1];
		name = *prefix ? xasprintf("%s.%s", prefix, key->value) :
		    xstrdup(key->value);
		if ((k = schema_find(name)) != NULL)
			rc = conf_take_file(c, k, val, flags, cause);
		else if (val->kind == YAMLDOC_MAP)
			rc = conf_walk(c, val, name, flags, cause);
		else if (!(val->kind == YAMLDOC_SCALAR && yamldoc_is_null(val) &&
		    *prefix == '\0')) {
			/* Unknown keys are kept, but a typo should be seen. */
			why = NULL;
			schema_lookup(name, &why);
			conf_warn(c, "%s:%zu:%zu: %s", c->path, key->line,
			    key->col, why);
			free(why);
		}
		free(name);
	}
	return rc;
}

static int
conf_read_file(struct conf *c, int flags, char **cause)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	size_t n;
	FILE *fp;
	int rc = -1;

	if ((fp = fopen(c->path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		return set_cause(cause, "cannot open '%s': %s", c->path,
		    strerror(errno));
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		strbuf_add(&sb, buf, n);
		if (sb.len > YAMLDOC_MAX_SIZE) {
			set_cause(cause, "'%s' is larger than %d bytes",
			    c->path, YAMLDOC_MAX_SIZE);
			goto out;
		}
	}
	if (ferror(fp)) {
		set_cause(cause, "cannot read '%s': %s", c->path, strerror(errno));
		goto out;
	}
	if (memchr(sb.buf != NULL ? sb.buf : "", '\0', sb.len) != NULL) {
		set_cause(cause, "'%s' is not a text file", c->path);
		goto out;
	}
	if (yamldoc_parse(c->path, sb.buf != NULL ? sb.buf : "", sb.len, &c->doc,
	    cause) != 0)
		goto out;
	if (c->doc != NULL && yamldoc_is_null(c->doc)) {
		yamldoc_free(c->doc);
		c->doc = NULL;
	}
	if (c->doc != NULL && c->doc->kind != YAMLDOC_MAP) {
		set_cause(cause, "%s:%zu:%zu: expected a mapping of keys to "
		    "values", c->path, c->doc->line, c->doc->col);
		goto out;
	}
	rc = c->doc != NULL ? conf_walk(c, c->doc, "", flags, cause) : 0;
out:
	fclose(fp);
	strbuf_release(&sb);
	return rc;
}

char *
conf_env_name(const char *key)
{
	char *name = xasprintf("SWARM_%s", key), *p;

	for (p = name; *p != '\0'; p++)
		*p = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
	return name;
}

static int
conf_read_env(struct conf *c, int flags, char **cause)
{
	const struct schema_key *k;
	const char *value;
	char *name, *why;
	int rc = 0;

	for (k = schema_table; rc == 0 && k->name != NULL; k++) {
		name = conf_env_name(k->name);
		value = getenv(name);
		why = NULL;
		if (value != NULL && *value != '\0' &&
		    conf_value_parse(k, value, conf_val(c, CONF_ENV, k),
		    &why) != 0) {
			rc = conf_problem(c, flags, xasprintf("%s: %s", name, why),
			    cause);
			free(why);
		}
		free(name);
	}
	return rc;
}

/* Waits for the lock file "<path>.lock", creating its directory. */
static int
conf_lock(struct conf *c, char **cause)
{
	char *lock = xasprintf("%s.lock", c->path), *dir, *slash;
	int rc = -1;

	dir = xstrdup(c->path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (path_mkdirs(dir, 0700, cause) != 0)
			goto out;
	}
	if ((c->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		set_cause(cause, "cannot open '%s': %s", lock, strerror(errno));
		goto out;
	}
	while (flock(c->lock_fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			set_cause(cause, "cannot lock '%s': %s", lock,
			    strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	free(lock);
	free(dir);
	return rc;
}

struct conf *
conf_load_path(const char *path, int flags, char **cause)
{
	const struct schema_key *k;
	struct conf *c = xcalloc(1, sizeof(*c));

	c->path = xstrdup(path);
	c->lock_fd = -1;
	if ((flags & CONF_LOCK) && conf_lock(c, cause) != 0)
		goto fail;
	c->nkeys = conf_nkeys();
	c->vals = xcalloc(CONF_NSOURCES * c->nkeys, sizeof(*c->vals));
	for (k = schema_table; k->name != NULL; k++) {
		if (k->def != NULL &&
		    conf_value_parse(k, k->def, conf_val(c, CONF_DEFAULT, k),
		    cause) != 0)
			goto fail;	/* a bad default in the table */
	}
	if (conf_read_file(c, flags, cause) != 0)
		goto fail;
	if (!(flags & CONF_NOENV) && conf_read_env(c, flags, cause) != 0)
		goto fail;
	return c;
fail:
	conf_free(c);
	return NULL;
}

struct conf *
conf_load(char **cause)
{
	struct conf *c;
	char *path;

	if ((path = conf_default_path(cause)) == NULL)
		return NULL;
	c = conf_load_path(path, 0, cause);
	free(path);
	return c;
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CONF_NSOURCES * c->nkeys; i++)
		conf_value_clear(&c->vals[i]);
	for (i = 0; i < c->nwarnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	free(c->vals);
	yamldoc_free(c->doc);
	free(c->path);
	if (c->lock_fd >= 0)
		close(c->lock_fd);	/* releases the lock */
	free(c);
}

const char *
conf_file(const struct conf *c)
{
	return c->path;
}

char *const *
conf_warnings(const struct conf *c, size_t *n)
{
	*n = c->nwarnings;
	return c->warnings;
}

const char *
conf_source_name(enum conf_source src)
{
	switch (src) {
	case CONF_DEFAULT:
		return "default";
	case CONF_FILE:
		return "file";
	case CONF_ENV:
		return "env";
	case CONF_FLAG:
		return "flag";
	}
	return "?";
}

static const struct conf_value *
conf_effective(const struct conf *c, const struct schema_key *k,
    enum conf_source *src)
{
	int s;

	for (s = CONF_NSOURCES - 1; s >= 0; s--) {
		if (conf_val(c, (enum conf_source)s, k)->set) {
			if (src != NULL)
				*src = (enum conf_source)s;
			return conf_val(c, (enum conf_source)s, k);
		}
	}
	if (src != NULL)
		*src = CONF_DEFAULT;
	return NULL;
}

const char *
conf_get(const struct conf *c, const char *key, enum conf_source *src)
{
	const struct schema_key *k = schema_find(key);
	const struct conf_value *v;

	if (src != NULL)
		*src = CONF_DEFAULT;
	if (k == NULL || (v = conf_effective(c, k, src)) == NULL)
		return NULL;
	return v->str;
}

#define CONF_ANY_TYPE	(-1)

/* The key a typed getter asks for; anything else is a programming error. */
static const struct schema_key *
conf_typed(const char *key, int type)
{
	const struct schema_key *k = schema_find(key);

	if (k == NULL || (type != CONF_ANY_TYPE && (int)k->type != type)) {
		fprintf(stderr, "swarm: internal error: config key '%s' is not "
		    "a known %s\n", key, type != CONF_ANY_TYPE ?
		    schema_type_name((enum schema_type)type) : "key");
		abort();
	}
	return k;
}

const char *
conf_get_str(const struct conf *c, const char *key)
{
	const struct conf_value *v;

	v = conf_effective(c, conf_typed(key, CONF_ANY_TYPE), NULL);
	return v != NULL ? v->str : NULL;
}

int64_t
conf_get_int(const struct conf *c, const char *key)
{
	const struct conf_value *v;
	const char *errstr;

	v = conf_effective(c, conf_typed(key, SCHEMA_INT), NULL);
	return v != NULL ? parse_int(v->str, INT64_MIN, INT64_MAX, &errstr) : 0;
}

double
conf_get_float(const struct conf *c, const char *key)
{
	const struct conf_value *v;
	const char *errstr;

	v = conf_effective(c, conf_typed(key, SCHEMA_FLOAT), NULL);
	return v != NULL ? parse_double(v->str, -1e308, 1e308, &errstr) : 0;
}

int
conf_get_bool(const struct conf *c, const char *key)
{
	const struct conf_value *v;

	v = conf_effective(c, conf_typed(key, SCHEMA_BOOL), NULL);
	return v != NULL && parse_bool(v->str) == 1;
}

char *const *
conf_get_list(const struct conf *c, const char *key, size_t *n)
{
	const struct conf_value *v;

	v = conf_effective(c, conf_typed(key, SCHEMA_LIST), NULL);
	if (v == NULL || v->list == NULL) {
		if (n != NULL)
			*n = 0;
		return conf_empty_list;
	}
	if (n != NULL)
		*n = v->n;
	return v->list;
}

int
conf_get_hostport(const struct conf *c, const char *key, char **host,
    unsigned int *port)
{
	const struct conf_value *v;

	*host = NULL;
	v = conf_effective(c, conf_typed(key, SCHEMA_HOSTPORT), NULL);
	if (v == NULL)
		return -1;
	return schema_parse_hostport(v->str, host, port, NULL);
}

char *
conf_get_path(const struct conf *c, const char *key, char **cause)
{
	const char *value = conf_get_str(c, key), *home;
	char *dir, *path;

	if (value == NULL || *value == '\0') {
		set_cause(cause, "'%s' is not set", key);
		return NULL;
	}
	if (value[0] == '/')
		return xstrdup(value);
	if (value[0] == '~' && value[1] == '/' &&
	    (home = getenv("HOME")) != NULL && *home != '\0')
		return xasprintf("%s%s", home, value + 1);
	if ((dir = conf_data_dir(cause)) == NULL)
		return NULL;
	path = xasprintf("%s/%s", dir, value);
	free(dir);
	return path;
}

int
conf_in_file(const struct conf *c, const char *key)
{
	return yamldoc_get(c->doc, key) != NULL;
}

int
conf_set_flag(struct conf *c, const char *key, const char *value, char **cause)
{
	const struct schema_key *k;

	if ((k = schema_lookup(key, cause)) == NULL)
		return -1;
	return conf_value_parse(k, value, conf_val(c, CONF_FLAG, k), cause);
}

/* Should a string be quoted so a YAML reader does not take it for another type? */
static int
conf_needs_quotes(const char *s)
{
	const char *errstr;

	if (*s == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0 ||
	    parse_bool(s) >= 0)
		return 1;
	parse_double(s, -1e308, 1e308, &errstr);
	return errstr == NULL;
}

/* Puts the file layer's value of k into the YAML tree. */
static void
conf_store(struct conf *c, const struct schema_key *k)
{
	const struct conf_value *v = conf_val(c, CONF_FILE, k);
	struct yamldoc_node *node;
	size_t i;

	if (k->type == SCHEMA_LIST) {
		node = yamldoc_seq_new();
		for (i = 0; i < v->n; i++)
			yamldoc_append(node, yamldoc_scalar_new(v->list[i],
			    conf_needs_quotes(v->list[i])));
	} else
		node = yamldoc_scalar_new(v->str, k->type == SCHEMA_STRING &&
		    conf_needs_quotes(v->str));
	yamldoc_set(&c->doc, k->name, node);
}

int
conf_set(struct conf *c, const char *key, const char *value, char **cause)
{
	const struct schema_key *k;
	struct conf_value nv;

	if ((k = schema_lookup(key, cause)) == NULL)
		return -1;
	memset(&nv, 0, sizeof(nv));
	if (conf_value_parse(k, value, &nv, cause) != 0)
		return -1;
	conf_value_clear(conf_val(c, CONF_FILE, k));
	*conf_val(c, CONF_FILE, k) = nv;
	conf_store(c, k);
	return 0;
}

int
conf_add(struct conf *c, const char *key, const char *value, char **cause)
{
	const struct schema_key *k;
	struct conf_value *v, nv;
	char **list;
	size_t i, j, n, old;

	if ((k = schema_lookup(key, cause)) == NULL)
		return -1;
	if (k->type != SCHEMA_LIST)
		return set_cause(cause, "'%s' is not a list; use 'swarm config "
		    "set %s VALUE'", key, key);
	memset(&nv, 0, sizeof(nv));
	if (conf_value_parse(k, value, &nv, cause) != 0)
		return -1;
	v = conf_val(c, CONF_FILE, k);
	old = v->set ? v->n : 0;
	list = xcalloc(old + nv.n + 1, sizeof(*list));
	for (n = 0; n < old; n++)
		list[n] = xstrdup(v->list[n]);
	for (i = 0; i < nv.n; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(list[j], nv.list[i]) == 0)
				break;
		if (j == n)
			list[n++] = xstrdup(nv.list[i]);
	}
	conf_value_clear(&nv);
	conf_value_set_list(v, list, n);
	conf_store(c, k);
	return 0;
}

int
conf_unset(struct conf *c, const char *key, char **cause)
{
	const struct schema_key *k;

	/* A key the schema does not know may still be removed from the file. */
	if ((k = schema_find(key)) == NULL && yamldoc_get(c->doc, key) == NULL) {
		schema_lookup(key, cause);
		return -1;
	}
	if (k != NULL)
		conf_value_clear(conf_val(c, CONF_FILE, k));
	yamldoc_unset(c->doc, key);
	return 0;
}

static int
conf_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replaces path with data so that a reader (or a crash) sees the old file
 * or the new one, never a part: write a temporary file beside it, flush it
 * to disk, then rename it over.
 */
static int
conf_write_atomic(const char *path, const char *data, size_t len,
    char **cause)
{
	struct stat st;
	char *target = NULL, *dir, *slash, *tmp = NULL;
	int fd = -1, dfd, rc = -1, saved;

	/* Write through a symlink rather than replacing it. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		if ((target = realpath(path, NULL)) == NULL)
			return set_cause(cause, "cannot resolve '%s': %s", path,
			    strerror(errno));
	} else
		target = xstrdup(path);
	dir = xstrdup(target);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else {
		free(dir);
		dir = xstrdup(".");
	}
	if (path_mkdirs(dir, 0700, cause) != 0)
		goto out;
	tmp = xasprintf("%s.tmpXXXXXX", target);
	if ((fd = mkstemp(tmp)) < 0) {
		set_cause(cause, "cannot create '%s': %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	/* Keep the old file's mode; a new one is private (it may hold keys). */
	if (stat(target, &st) == 0)
		fchmod(fd, st.st_mode & 07777);
	if (conf_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		set_cause(cause, "cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	saved = close(fd);
	fd = -1;
	if (saved != 0) {
		set_cause(cause, "cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, target) != 0) {
		set_cause(cause, "cannot rename '%s' to '%s': %s", tmp, target,
		    strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* The rename itself is durable only once the directory is synced. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	free(target);
	return rc;
}

int
conf_save(struct conf *c, char **cause)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = -1;

	if (yamldoc_emit(c->doc, &sb, cause) != 0)
		goto out;
	rc = conf_write_atomic(c->path, sb.buf, sb.len, cause);
out:
	strbuf_release(&sb);
	return rc;
}

static const char *
conf_home(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home != NULL && *home != '\0')
		return home;
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL)
		return pw->pw_dir;
	return NULL;
}

/* $SWARM_HOME, else $XDG_<var> or ~/<fallback>, plus "/swarm". */
static char *
conf_dir(const char *xdg_var, const char *fallback, char **cause)
{
	const char *v, *home;

	if ((v = getenv("SWARM_HOME")) != NULL && *v != '\0')
		return xstrdup(v);
	/* XDG: a relative value is invalid and must be ignored. */
	if ((v = getenv(xdg_var)) != NULL && v[0] == '/')
		return xasprintf("%s/swarm", v);
	if ((home = conf_home()) == NULL) {
		set_cause(cause, "cannot find the home directory; set SWARM_HOME");
		return NULL;
	}
	return xasprintf("%s/%s/swarm", home, fallback);
}

char *
conf_default_path(char **cause)
{
	char *dir, *path;

	if ((dir = conf_dir("XDG_CONFIG_HOME", ".config", cause)) == NULL)
		return NULL;
	path = xasprintf("%s/config.yaml", dir);
	free(dir);
	return path;
}

char *
conf_data_dir(char **cause)
{
	return conf_dir("XDG_DATA_HOME", ".local/share", cause);
}
