/*
 * Fuzzes the config loader: any bytes as config.yaml, loaded strictly and
 * leniently, then every key of the schema read back through its typed
 * getter (which aborts on a value the loader should have refused). The
 * YAML layer alone must round-trip what it parsed after an edit, as
 * `swarm config set` relies on: the text it writes parses again, into the
 * same keys and values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/schema.h"
#include "conf/yamldoc.h"
#include "util/strbuf.h"

#include "fuzz.h"

/* Every value in effect passed the schema's check when it entered. */
static void
fuzz_conf_check(const struct schema_key *k, const char *value)
{
	char *why = NULL;

	if (schema_check(k, value, &why) != 0)
		abort();
	fuzz_use(value, strlen(value));
}

static void
fuzz_conf_read(struct conf *c)
{
	const struct schema_key *k;
	char *const *list;
	const char *value;
	char *host;
	size_t n, i;
	unsigned int port;

	for (k = schema_table; k->name != NULL; k++) {
		conf_in_file(c, k->name);
		if (k->type == SCHEMA_LIST) {
			list = conf_get_list(c, k->name, &n);
			for (i = 0; i < n; i++)
				fuzz_conf_check(k, list[i]);
			continue;
		}
		if ((value = conf_get(c, k->name, NULL)) == NULL)
			continue;
		fuzz_conf_check(k, value);
		switch (k->type) {
		case SCHEMA_INT:
			conf_get_int(c, k->name);
			break;
		case SCHEMA_FLOAT:
			conf_get_float(c, k->name);
			break;
		case SCHEMA_BOOL:
			conf_get_bool(c, k->name);
			break;
		case SCHEMA_HOSTPORT:
			if (conf_get_hostport(c, k->name, &host, &port) != 0)
				abort();
			free(host);
			break;
		default:
			conf_get_str(c, k->name);
			break;
		}
	}
	conf_warnings(c, &n);
}

static int
fuzz_conf_load(const char *path, int flags)
{
	struct conf *c;
	char *cause = NULL;

	if ((c = conf_load_path(path, flags, &cause)) == NULL) {
		if (cause == NULL)
			abort();
		free(cause);
		return -1;
	}
	fuzz_conf_read(c);
	/* an edit of the loaded document, as `config set` makes */
	if (conf_set(c, "node.listen", "127.0.0.1:7000", &cause) != 0)
		free(cause);
	conf_free(c);
	return 0;
}

/*
 * The same keys and values, in the same shapes. Tags, anchors and styles
 * may be written differently (libyaml spells a non-specific tag "!<%21>"
 * where it read "!") without changing what a config means.
 */
static int
fuzz_yamldoc_same(const struct yamldoc_node *a, const struct yamldoc_node *b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->kind != b->kind || a->n != b->n ||
	    (a->value == NULL) != (b->value == NULL) ||
	    (a->value != NULL && strcmp(a->value, b->value) != 0))
		return 0;
	for (i = 0; i < a->n; i++)
		if (!fuzz_yamldoc_same(a->items[i], b->items[i]))
			return 0;
	return 1;
}

static void
fuzz_yamldoc(const char *text, size_t len)
{
	struct yamldoc_node *root = NULL, *again = NULL;
	struct strbuf sb = STRBUF_INIT;
	char *cause = NULL;

	if (yamldoc_parse("fuzz.yaml", text, len, &root, &cause) != 0) {
		free(cause);
		return;
	}
	if (root != NULL && root->kind != YAMLDOC_MAP) {
		yamldoc_free(root);
		return;
	}
	yamldoc_get(root, "node.listen");
	yamldoc_set(&root, "node.listen", yamldoc_scalar_new("[::1]:7000", 0));
	yamldoc_unset(root, "client.bootstrap");
	if (yamldoc_emit(root, &sb, &cause) == 0) {
		if (yamldoc_parse("emitted.yaml", sb.buf != NULL ? sb.buf : "",
		    sb.len, &again, &cause) != 0)
			abort();	/* we wrote what we cannot read */
		if (!fuzz_yamldoc_same(root, again))
			abort();	/* nor read back what we meant */
		yamldoc_free(again);
	} else
		free(cause);
	strbuf_release(&sb);
	yamldoc_free(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];

	if (size > YAMLDOC_MAX_SIZE + 1)
		return 0;
	/* the loader reads a path: a file in memory, rewritten each time */
	if (fd == -1) {
		if ((fd = memfd_create("fuzz-config.yaml", 0)) == -1)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	/* leniently too, when strictly fails: the path `config set` takes */
	if (fuzz_conf_load(path, CONF_NOENV) != 0)
		fuzz_conf_load(path, CONF_NOENV | CONF_LENIENT);
	fuzz_yamldoc((const char *)data, size);
	return 0;
}
