/*
 * Tests for src/conf: the schema and its type checks, the precedence of
 * flag over environment over file over default, YAML round trips that keep
 * untouched keys, line:col errors for malformed files, and atomic saves
 * that leave the old file whole when the write fails.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "conf/conf.h"
#include "conf/yamldoc.h"
#include "util/xmalloc.h"

static char test_dir[] = "/tmp/swarm-test-conf.XXXXXX";

static char *
test_path(const char *name)
{
	return xasprintf("%s/%s", test_dir, name);
}

static void
test_write(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
}

static char *
test_read(const char *path)
{
	static char buf[65536];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
test_schema(void)
{
	const struct schema_key *k;
	char *cause = NULL;
	size_t n = 0;

	for (k = schema_table; k->name != NULL; k++) {
		n++;
		CHECKF(strchr(k->name, '.') != NULL, "%s", k->name);
		CHECKF(k->help != NULL && *k->help != '\0', "%s", k->name);
		/* Every default passes its own check. */
		if (k->def != NULL && k->type != SCHEMA_LIST)
			CHECKF(schema_check(k, k->def, NULL) == 0, "%s", k->name);
		CHECKF(schema_find(k->name) == k, "%s", k->name);
	}
	CHECK(n >= 24);
	CHECK(schema_find("node.listen")->type == SCHEMA_HOSTPORT);
	CHECK_STR(schema_find("node.listen")->def, "127.0.0.1:7400");
	CHECK_STR(schema_find("serve.listen")->def, "127.0.0.1:8000");
	CHECK_STR(schema_find("serve.heartbeat_seconds")->def, "5");
	CHECK_STR(schema_find("swarm.network")->def, "public");
	CHECK(schema_find("swarm.bootstrap")->type == SCHEMA_LIST);
	CHECK(schema_lookup("node.lisen", &cause) == NULL);
	CHECKF(strstr(cause, "'node.listen'") != NULL, "%s", cause);
	free(cause);
	CHECK(schema_lookup("listen", &cause) == NULL);
	CHECKF(strstr(cause, "'serve.listen'") != NULL, "%s", cause);
	free(cause);
	CHECK(schema_lookup("serve", &cause) == NULL);
	CHECKF(strstr(cause, "serve.api_keys") != NULL, "%s", cause);
	free(cause);
}

static void
test_types(void)
{
	const struct schema_key *threads = schema_find("node.threads");
	const struct schema_key *listen = schema_find("node.listen");
	const struct schema_key *top_p = schema_find("infer.top_p");
	const struct schema_key *blocks = schema_find("node.blocks");
	const struct schema_key *alias = schema_find("serve.model_aliases");
	/* No key is a bool yet; the type is checked all the same. */
	const struct schema_key flag = { "t.flag", SCHEMA_BOOL, 0, 0, "false",
	    NULL, "a flag" };
	char *cause = NULL, *host;
	unsigned int port;

	CHECK(schema_check(threads, "8", NULL) == 0);
	CHECK(schema_check(threads, "-1", NULL) == -1);
	CHECK(schema_check(threads, "8x", &cause) == -1);
	CHECKF(strstr(cause, "integer from 0 to 1024") != NULL, "%s", cause);
	free(cause);
	CHECK(schema_check(top_p, "0.9", NULL) == 0);
	CHECK(schema_check(top_p, "1.5", NULL) == -1);
	CHECK(schema_check(top_p, "nan", NULL) == -1);
	CHECK(schema_check(listen, "127.0.0.1:7400", NULL) == 0);
	CHECK(schema_check(listen, "[::1]:7400", NULL) == 0);
	CHECK(schema_check(listen, "host.example:0", NULL) == 0);
	CHECK(schema_check(listen, "127.0.0.1", NULL) == -1);
	CHECK(schema_check(listen, "127.0.0.1:65536", NULL) == -1);
	CHECK(schema_check(listen, ":80", NULL) == -1);
	CHECK(schema_check(listen, "a b:80", NULL) == -1);
	CHECK(schema_parse_hostport("[::1]:99", &host, &port, NULL) == 0);
	CHECK_STR(host, "::1");
	CHECK(port == 99);
	free(host);
	CHECK(schema_check(blocks, "auto", NULL) == 0);
	CHECK(schema_check(blocks, "0:12", NULL) == 0);
	CHECK(schema_check(blocks, "12:4", NULL) == -1);
	CHECK(schema_check(blocks, "some", NULL) == -1);
	CHECK(schema_check(&flag, "yes", NULL) == 0);
	CHECK(schema_check(&flag, "off", NULL) == 0);
	CHECK(schema_check(&flag, "maybe", &cause) == -1);
	CHECKF(strstr(cause, "expected true or false") != NULL, "%s", cause);
	free(cause);
	CHECK(schema_check(alias, "gpt=stories260K", NULL) == 0);
	CHECK(schema_check(alias, "=x", NULL) == -1);
	CHECK(schema_check(alias, "x", NULL) == -1);
}

static void
test_split_list(void)
{
	char **v;
	size_t n, i;

	v = schema_split_list(" a:1, b:2,,c:3 ", &n);
	CHECK(n == 3);
	CHECK_STR(v[0], "a:1");
	CHECK_STR(v[2], "c:3");
	CHECK(v[3] == NULL);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	v = schema_split_list("", &n);
	CHECK(n == 0 && v[0] == NULL);
	free(v);
}

static void
test_defaults_and_getters(void)
{
	char *path = test_path("absent.yaml"), *cause = NULL, *host;
	struct conf *c = conf_load_path(path, CONF_NOENV, &cause);
	enum conf_source src = CONF_FLAG;
	unsigned int port;
	size_t n = 99;

	free(path);
	CHECKF(c != NULL, "%s", cause);
	CHECK_STR(conf_get(c, "node.listen", &src), "127.0.0.1:7400");
	CHECK(src == CONF_DEFAULT);
	CHECK(conf_get_int(c, "serve.heartbeat_seconds") == 5);
	CHECK(conf_get_int(c, "infer.seed") == -1);
	CHECK(conf_get_float(c, "infer.top_p") == 0.95);
	CHECK(conf_get_list(c, "swarm.bootstrap", &n)[0] == NULL && n == 0);
	CHECK(conf_get(c, "node.public_addr", NULL) == NULL);
	CHECK(conf_get(c, "no.such", NULL) == NULL);
	CHECK(conf_get_hostport(c, "serve.listen", &host, &port) == 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK(port == 8000);
	free(host);
	CHECK(conf_get_hostport(c, "node.public_addr", &host, &port) == -1);
	conf_free(c);
}

static void
test_precedence(void)
{
	char *path = test_path("prec.yaml"), *cause = NULL;
	struct conf *c;
	enum conf_source src;

	test_write(path, "node:\n  listen: 127.0.0.1:1\n  threads: 3\n"
	    "infer:\n  top_k: 7\n");
	setenv("SWARM_NODE_LISTEN", "127.0.0.2:2", 1);
	setenv("SWARM_INFER_TOP_K", "", 1);	/* empty: not set */
	setenv("SWARM_SWARM_BOOTSTRAP", "x:1,y:2", 1);
	c = conf_load_path(path, 0, &cause);
	unsetenv("SWARM_NODE_LISTEN");
	unsetenv("SWARM_INFER_TOP_K");
	unsetenv("SWARM_SWARM_BOOTSTRAP");
	free(path);
	CHECKF(c != NULL, "%s", cause);
	CHECK_STR(conf_get(c, "node.listen", &src), "127.0.0.2:2");
	CHECK(src == CONF_ENV);
	CHECK(conf_get_int(c, "node.threads") == 3);
	conf_get(c, "node.threads", &src);
	CHECK(src == CONF_FILE);
	CHECK(conf_get_int(c, "infer.top_k") == 7);
	CHECK_STR(conf_get(c, "swarm.bootstrap", &src), "x:1,y:2");
	CHECK(src == CONF_ENV);
	CHECK(conf_set_flag(c, "node.listen", "127.0.0.3:3", NULL) == 0);
	CHECK_STR(conf_get(c, "node.listen", &src), "127.0.0.3:3");
	CHECK(src == CONF_FLAG);
	CHECK(conf_set_flag(c, "node.listen", "nope", &cause) == -1);
	free(cause);
	CHECK(conf_set_flag(c, "node.nope", "1", &cause) == -1);
	free(cause);
	CHECK_STR(conf_get(c, "node.listen", NULL), "127.0.0.3:3");
	conf_free(c);
}

static void
test_bad_env(void)
{
	char *path = test_path("env.yaml"), *cause = NULL;
	struct conf *c;
	size_t n;

	setenv("SWARM_NODE_THREADS", "many", 1);
	c = conf_load_path(path, 0, &cause);
	CHECK(c == NULL);
	CHECKF(strstr(cause, "SWARM_NODE_THREADS") != NULL, "%s", cause);
	free(cause);
	c = conf_load_path(path, CONF_LENIENT, &cause);
	unsetenv("SWARM_NODE_THREADS");
	free(path);
	CHECK(c != NULL);
	conf_warnings(c, &n);
	CHECK(n == 1);
	CHECK(conf_get_int(c, "node.threads") == 0);
	conf_free(c);
}

static void
test_round_trip(void)
{
	char *path = test_path("trip.yaml"), *cause = NULL, *text;
	struct conf *c;
	size_t n;

	test_write(path, "# comment\nnode:\n  listen: 127.0.0.1:1\n"
	    "  future_key: {a: 1, b: [x, y]}\n"
	    "serve.api_keys: [k1, k2]\n"
	    "other:\n  thing: \"007\"\n");
	c = conf_load_path(path, CONF_NOENV, &cause);
	CHECKF(c != NULL, "%s", cause);
	conf_warnings(c, &n);
	CHECK(n == 3);	/* node.future_key.a and .b, other.thing */
	CHECK_STR(conf_get(c, "serve.api_keys", NULL), "k1,k2");
	CHECK(conf_set(c, "node.threads", "4", NULL) == 0);
	CHECK(conf_set(c, "serve.api_keys", "k3", NULL) == 0);
	CHECK(conf_set(c, "swarm.network", "123", NULL) == 0);
	CHECK(conf_add(c, "swarm.bootstrap", "h:1,h:2", NULL) == 0);
	CHECK(conf_add(c, "swarm.bootstrap", "h:2,h:3", NULL) == 0);
	CHECK(conf_add(c, "node.threads", "5", &cause) == -1);
	free(cause);
	CHECK(conf_set(c, "node.threads", "x", &cause) == -1);
	free(cause);
	CHECK(conf_save(c, &cause) == 0);
	conf_free(c);

	text = test_read(path);
	CHECK(text != NULL);
	/* The untouched and the unknown keys are still there. */
	CHECKF(strstr(text, "listen: 127.0.0.1:1") != NULL, "%s", text);
	CHECKF(strstr(text, "future_key") != NULL, "%s", text);
	CHECKF(strstr(text, "\"007\"") != NULL, "%s", text);
	/* The flat key was edited in place, not added again nested. */
	CHECKF(strstr(text, "serve.api_keys") != NULL, "%s", text);
	CHECKF(strstr(text, "k1") == NULL, "%s", text);
	CHECKF(strstr(text, "\"123\"") != NULL, "%s", text);

	c = conf_load_path(path, CONF_NOENV, &cause);
	free(path);
	CHECKF(c != NULL, "%s", cause);
	CHECK(conf_get_int(c, "node.threads") == 4);
	CHECK_STR(conf_get(c, "node.listen", NULL), "127.0.0.1:1");
	CHECK_STR(conf_get(c, "serve.api_keys", NULL), "k3");
	CHECK_STR(conf_get(c, "swarm.network", NULL), "123");
	CHECK_STR(conf_get(c, "swarm.bootstrap", NULL), "h:1,h:2,h:3");
	CHECK(conf_unset(c, "node.listen", NULL) == 0);
	CHECK(conf_unset(c, "other.thing", NULL) == 0);
	CHECK(conf_unset(c, "no.such", &cause) == -1);
	free(cause);
	CHECK(!conf_in_file(c, "node.listen"));
	CHECK_STR(conf_get(c, "node.listen", NULL), "127.0.0.1:7400");
	conf_free(c);
}

static void
test_yamldoc_edit(void)
{
	struct yamldoc_node *root = NULL;
	struct strbuf sb = STRBUF_INIT;

	CHECK(yamldoc_parse("t", "a.b: 1\na:\n  b: 2\n  c: 3\n", 24, &root,
	    NULL) == 0);
	CHECK_STR(yamldoc_get(root, "a.b")->value, "1");
	CHECK_STR(yamldoc_get(root, "a.c")->value, "3");
	/* set replaces the first and drops the duplicate */
	yamldoc_set(&root, "a.b", yamldoc_scalar_new("9", 0));
	CHECK(yamldoc_emit(root, &sb, NULL) == 0);
	CHECKF(strcmp(sb.buf, "a.b: 9\na:\n  c: 3\n") == 0, "%s", sb.buf);
	CHECK(yamldoc_unset(root, "a.c") == 1);
	strbuf_reset(&sb);
	CHECK(yamldoc_emit(root, &sb, NULL) == 0);
	CHECKF(strcmp(sb.buf, "a.b: 9\n") == 0, "%s", sb.buf);
	yamldoc_set(&root, "x.y.z", yamldoc_scalar_new("1", 0));
	strbuf_reset(&sb);
	CHECK(yamldoc_emit(root, &sb, NULL) == 0);
	CHECKF(strcmp(sb.buf, "a.b: 9\nx:\n  y:\n    z: 1\n") == 0, "%s", sb.buf);
	strbuf_release(&sb);
	yamldoc_free(root);
}

/* Expects loading text to fail with a message starting "NAME:line:col:". */
static int
test_malformed_one(const char *text, const char *where)
{
	char *path = test_path("bad.yaml"), *cause = NULL, *want;
	struct conf *c;
	int ok;

	test_write(path, text);
	c = conf_load_path(path, CONF_NOENV, &cause);
	want = xasprintf("%s:%s: ", path, where);
	ok = c == NULL && cause != NULL && strncmp(cause, want, strlen(want)) == 0;
	if (!ok)
		fprintf(stderr, "  got '%s', want '%s...'\n", cause, want);
	conf_free(c);
	free(cause);
	free(want);
	free(path);
	return ok;
}

static void
test_malformed(void)
{
	CHECK(test_malformed_one("node:\n  listen: [1\n", "3:1"));
	CHECK(test_malformed_one("node:\n  listen: 1\n bad\n", "3:2"));
	CHECK(test_malformed_one("a: 'x\n", "2:1"));
	CHECK(test_malformed_one("- 1\n- 2\n", "1:1"));
	CHECK(test_malformed_one("node:\n  threads: lots\n", "2:12"));
	CHECK(test_malformed_one("node:\n  listen: {a: 1}\n", "2:11"));
	CHECK(test_malformed_one("node:\n  threads: 1\nnode.threads: 2\n",
	    "3:15"));
	CHECK(test_malformed_one("a: 1\n---\nb: 2\n", "2:1"));
	CHECK(test_malformed_one("{[a]: 1}\n", "1:2"));
	CHECK(test_malformed_one("a: \"\\xff\xff\"\n", "1:9"));
}

static void
test_deep_nesting(void)
{
	char *path = test_path("deep.yaml"), *cause = NULL;
	struct conf *c;
	char buf[1024];
	int i;

	for (i = 0; i < 300; i++)
		buf[i] = '[';
	buf[i] = '\0';
	test_write(path, buf);
	c = conf_load_path(path, CONF_NOENV, &cause);
	free(path);
	CHECK(c == NULL);
	CHECK(cause != NULL);
	free(cause);
}

static void
test_empty_and_null(void)
{
	char *path = test_path("empty.yaml"), *cause = NULL;
	struct conf *c;

	test_write(path, "");
	c = conf_load_path(path, CONF_NOENV, &cause);
	CHECKF(c != NULL, "%s", cause);
	CHECK(conf_set(c, "node.listen", "1.2.3.4:5", NULL) == 0);
	CHECK(conf_save(c, NULL) == 0);
	conf_free(c);
	CHECK_STR(test_read(path), "node:\n  listen: 1.2.3.4:5\n");
	test_write(path, "node:\n  public_addr:\nserve:\n");
	c = conf_load_path(path, CONF_NOENV, &cause);
	CHECKF(c != NULL, "%s", cause);
	CHECK(conf_in_file(c, "node.public_addr"));
	CHECK(conf_get(c, "node.public_addr", NULL) == NULL);
	CHECK(conf_set(c, "serve.listen", "[::1]:80", NULL) == 0);
	CHECK(conf_save(c, NULL) == 0);
	conf_free(c);
	c = conf_load_path(path, CONF_NOENV, &cause);
	free(path);
	CHECKF(c != NULL, "%s", cause);
	CHECK(conf_in_file(c, "node.public_addr"));
	CHECK_STR(conf_get(c, "serve.listen", NULL), "[::1]:80");
	conf_free(c);
}

static void
test_atomic_save(void)
{
	char *path = test_path("atomic.yaml"), *cause = NULL, *before;
	char *long_value;
	struct rlimit old, lim;
	struct conf *c;
	struct stat st;
	int rc;

	test_write(path, "node:\n  listen: 127.0.0.1:1\n");
	chmod(path, 0640);
	before = xstrdup(test_read(path));
	c = conf_load_path(path, CONF_NOENV, &cause);
	CHECKF(c != NULL, "%s", cause);
	long_value = xcalloc(1, 4096);
	memset(long_value, 'm', 4000);
	CHECK(conf_set(c, "node.model", long_value, NULL) == 0);
	free(long_value);

	/* A file size limit makes the write fail part way, even as root. */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 100;
	setrlimit(RLIMIT_FSIZE, &lim);
	rc = conf_save(c, &cause);
	setrlimit(RLIMIT_FSIZE, &old);
	CHECK(rc == -1);
	CHECKF(strstr(cause, "cannot write") != NULL, "%s", cause);
	free(cause);
	CHECK_STR(test_read(path), before);

	/* And when it works, the mode is kept and no temporary is left. */
	CHECK(conf_save(c, &cause) == 0);
	conf_free(c);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	CHECK(strstr(test_read(path), "mmmm") != NULL);
	free(before);
	free(path);
}

static void
test_no_temp_left(void)
{
	char *cmd = xasprintf("ls -a %s | grep -q tmp", test_dir);

	CHECK(system(cmd) != 0);
	free(cmd);
}

static void
test_example_config(void)
{
	const struct schema_key *k;
	char *cause = NULL;
	struct conf *c;
	enum conf_source src;
	size_t n;

	c = conf_load_path("examples/config.yaml", CONF_NOENV, &cause);
	CHECKF(c != NULL, "%s", cause);
	conf_warnings(c, &n);
	CHECK(n == 0);
	for (k = schema_table; k->name != NULL; k++) {
		CHECKF(conf_in_file(c, k->name), "'%s' missing from "
		    "examples/config.yaml", k->name);
		/* What it shows is the default, so it cannot mislead. */
		if (conf_get(c, k->name, &src) != NULL && k->def != NULL)
			CHECKF(strcmp(conf_get(c, k->name, NULL), k->def) == 0 ||
			    k->type == SCHEMA_LIST, "'%s' is not the default",
			    k->name);
	}
	conf_free(c);
}

static void
test_paths(void)
{
	char *p;
	const char *saved = getenv("SWARM_HOME"), *home = getenv("HOME");
	char *keep = saved != NULL ? xstrdup(saved) : NULL;
	char *keep_home = home != NULL ? xstrdup(home) : NULL;

	setenv("SWARM_HOME", "/sh", 1);
	p = conf_default_path(NULL);
	CHECK_STR(p, "/sh/config.yaml");
	free(p);
	p = conf_data_dir(NULL);
	CHECK_STR(p, "/sh");
	free(p);
	unsetenv("SWARM_HOME");
	setenv("XDG_CONFIG_HOME", "/xc", 1);
	setenv("XDG_DATA_HOME", "/xd", 1);
	p = conf_default_path(NULL);
	CHECK_STR(p, "/xc/swarm/config.yaml");
	free(p);
	p = conf_data_dir(NULL);
	CHECK_STR(p, "/xd/swarm");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_DATA_HOME");
	setenv("HOME", "/hh", 1);
	p = conf_default_path(NULL);
	CHECK_STR(p, "/hh/.config/swarm/config.yaml");
	free(p);
	p = conf_data_dir(NULL);
	CHECK_STR(p, "/hh/.local/share/swarm");
	free(p);
	p = conf_env_name("serve.max_body_bytes");
	CHECK_STR(p, "SWARM_SERVE_MAX_BODY_BYTES");
	free(p);
	if (keep != NULL)
		setenv("SWARM_HOME", keep, 1);
	if (keep_home != NULL)
		setenv("HOME", keep_home, 1);
	free(keep);
	free(keep_home);
}

int
main(void)
{
	char *cmd;

	if (mkdtemp(test_dir) == NULL)
		return 1;
	TEST_RUN(test_schema);
	TEST_RUN(test_types);
	TEST_RUN(test_split_list);
	TEST_RUN(test_defaults_and_getters);
	TEST_RUN(test_precedence);
	TEST_RUN(test_bad_env);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_yamldoc_edit);
	TEST_RUN(test_malformed);
	TEST_RUN(test_deep_nesting);
	TEST_RUN(test_empty_and_null);
	TEST_RUN(test_atomic_save);
	TEST_RUN(test_no_temp_left);
	TEST_RUN(test_example_config);
	TEST_RUN(test_paths);
	cmd = xasprintf("rm -rf %s", test_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", test_dir);
	free(cmd);
	TEST_EXIT();
}
