/*
 * swarm config get|set|unset|list|path: read and edit the YAML config
 * file, and show every key's effective value and where it came from. The
 * work is in src/conf; this file parses arguments and prints.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "conf/conf-json.h"
#include "conf/conf.h"
#include "util/parse.h"
#include "util/xmalloc.h"

static const struct opt config_get_opts[] = {
	OPT_FLAG(0, "json", "print a JSON object with the value and its source"),
	OPT_END
};

static const struct opt config_set_opts[] = {
	OPT_FLAG('a', "add", "append to a list instead of replacing it"),
	OPT_END
};

static const struct opt config_list_opts[] = {
	OPT_FLAG(0, "json", "print one JSON object keyed by key"),
	OPT_FLAG('l', "long", "also show each key's type and help"),
	OPT_FLAG(0, "keys", "print only the key names"),
	OPT_END
};

static const struct opt config_path_opts[] = {
	OPT_FLAG('d', "data", "print the data directory instead"),
	OPT_END
};

static int
config_get_exec(struct cmd_args *a)
{
	const struct schema_key *k;
	struct conf *c;
	char *cause = NULL, *const *list;
	const char *v;
	size_t i, n;
	int rc = EXIT_OK;

	if ((k = schema_lookup(a->argv[0], &cause)) == NULL)
		return cmd_fail(cause);
	if ((c = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if (args_flag(a, "json"))
		rc = cmd_print_json(conf_json_key(c, k, 0));
	else if (k->type == SCHEMA_LIST) {
		list = conf_get_list(c, k->name, &n);
		for (i = 0; i < n; i++)
			printf("%s\n", list[i]);
	} else if ((v = conf_get(c, k->name, NULL)) != NULL)
		printf("%s\n", v);
	conf_free(c);
	return rc;
}

static int
config_set_exec(struct cmd_args *a)
{
	const char *key = a->argv[0], *value = a->argv[1];
	enum conf_source src;
	struct conf *c;
	char *cause = NULL, *env;
	int rc;

	/* Lenient, so that set and unset can repair a bad file. */
	if ((c = cmd_conf_load(CONF_LENIENT | CONF_LOCK)) == NULL)
		return EXIT_ERR;
	if (args_flag(a, "add"))
		rc = conf_add(c, key, value, &cause);
	else
		rc = conf_set(c, key, value, &cause);
	if (rc != 0 || conf_save(c, &cause) != 0) {
		conf_free(c);
		return cmd_fail(cause);
	}
	conf_get(c, key, &src);
	if (src == CONF_ENV) {
		env = conf_env_name(key);
		fprintf(stderr, "swarm: note: %s is set and overrides the file\n",
		    env);
		free(env);
	}
	conf_free(c);
	return EXIT_OK;
}

static int
config_unset_exec(struct cmd_args *a)
{
	struct conf *c;
	char *cause = NULL;

	/* Lenient, so that set and unset can repair a bad file. */
	if ((c = cmd_conf_load(CONF_LENIENT | CONF_LOCK)) == NULL)
		return EXIT_ERR;
	if (conf_unset(c, a->argv[0], &cause) != 0 || conf_save(c, &cause) != 0) {
		conf_free(c);
		return cmd_fail(cause);
	}
	conf_free(c);
	return EXIT_OK;
}

static const char *
config_source_color(enum conf_source src)
{
	switch (src) {
	case CONF_DEFAULT:
		return "\033[2m";
	case CONF_FILE:
		return "\033[32m";
	case CONF_ENV:
		return "\033[33m";
	case CONF_FLAG:
		return "\033[36m";
	}
	return "";
}

static int
config_list_exec(struct cmd_args *a)
{
	const struct schema_key *k;
	enum conf_source src;
	struct conf *c;
	json_t *j, *e;
	const char *v;
	int width = 0, vwidth = 0, color, w;

	if (args_flag(a, "keys")) {
		/* For the completions: no file, no environment. */
		for (k = schema_table; k->name != NULL; k++)
			printf("%s\n", k->name);
		return EXIT_OK;
	}
	if ((c = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if (args_flag(a, "json")) {
		j = json_object();
		for (k = schema_table; k->name != NULL; k++) {
			e = conf_json_key(c, k, args_flag(a, "long"));
			json_object_del(e, "key");
			json_object_set_new(j, k->name, e);
		}
		conf_free(c);
		return cmd_print_json(j);
	}
	color = cmd_use_color(stdout);
	for (k = schema_table; k->name != NULL; k++) {
		if ((w = (int)strlen(k->name)) > width)
			width = w;
		v = conf_get(c, k->name, NULL);
		if (v != NULL && (w = (int)strlen(v)) > vwidth)
			vwidth = w;
	}
	for (k = schema_table; k->name != NULL; k++) {
		v = conf_get(c, k->name, &src);
		if (v != NULL && *v == '\0')
			v = NULL;	/* an empty list */
		printf("%-*s  %-*s  %s%s%s\n", width, k->name, vwidth,
		    v != NULL ? v : "-", color ? config_source_color(src) : "",
		    conf_source_name(src), color ? "\033[0m" : "");
		if (args_flag(a, "long"))
			printf("%*s  %s; %s\n\n", width, "",
			    schema_type_name(k->type), k->help);
	}
	conf_free(c);
	return EXIT_OK;
}

static int
config_path_exec(struct cmd_args *a)
{
	char *cause = NULL, *path;

	if (args_flag(a, "data"))
		path = conf_data_dir(&cause);
	else
		path = conf_default_path(&cause);
	if (path == NULL)
		return cmd_fail(cause);
	printf("%s\n", path);
	free(path);
	return EXIT_OK;
}

const struct cmd_entry cmd_config_get_entry = {
	.noun = "config", .verb = "get",
	.usage = "[--json] KEY",
	.summary = "print the effective value of a config key",
	.opts = config_get_opts,
	.min_args = 1, .max_args = 1,
	.exec = config_get_exec,
};

const struct cmd_entry cmd_config_set_entry = {
	.noun = "config", .verb = "set",
	.usage = "[-a] KEY VALUE",
	.summary = "write a config key to the config file",
	.opts = config_set_opts,
	.min_args = 2, .max_args = 2,
	.exec = config_set_exec,
};

const struct cmd_entry cmd_config_unset_entry = {
	.noun = "config", .verb = "unset",
	.usage = "KEY",
	.summary = "remove a config key from the config file",
	.min_args = 1, .max_args = 1,
	.exec = config_unset_exec,
};

const struct cmd_entry cmd_config_list_entry = {
	.noun = "config", .verb = "list",
	.usage = "[-l] [--json] [--keys]",
	.summary = "show every config key, its value and where it came from",
	.opts = config_list_opts,
	.min_args = 0, .max_args = 0,
	.exec = config_list_exec,
};

const struct cmd_entry cmd_config_path_entry = {
	.noun = "config", .verb = "path",
	.usage = "[-d]",
	.summary = "print the config file's path",
	.opts = config_path_opts,
	.min_args = 0, .max_args = 0,
	.exec = config_path_exec,
};
