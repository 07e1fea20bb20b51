/*
 * swarm node leave: ask a node on this machine to drain and stop, as SIGTERM
 * would. The node's control endpoint answers loopback clients that show the
 * token it wrote to the data directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "conf/conf.h"
#include "net/http-client.h"
#include "net/protocol.h"
#include "swarm/node.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static const struct cmd_opt node_leave_opts[] = {
	OPT_FLAG(0, "wait", "wait until the node has stopped"),
	OPT_END
};

static int
cmd_node_leave_exec(struct cmd_args *a)
{
	struct http_client *hc = NULL;
	struct strbuf body = STRBUF_INIT;
	const char *addr;
	char *addr_buf = NULL;
	char *cause = NULL, *host = NULL, *dir = NULL, *path = NULL;
	char *code = NULL, *msg = NULL, token[128];
	uint16_t port;
	long status;
	size_t n;
	int rc = EXIT_ERR, i;
	FILE *fp;

	/* Without an address, the node this machine's config describes. */
	if (a->argc > 0)
		addr = a->argv[0];
	else {
		struct conf *conf;

		if ((conf = cmd_conf_load(0)) == NULL)
			return EXIT_ERR;
		addr = addr_buf = xstrdup(conf_get_str(conf, "node.listen"));
		conf_free(conf);
	}
	if (proto_parse_addr(addr, &host, &port, &cause) != 0)
		goto fail;
	if ((dir = conf_data_dir(&cause)) == NULL)
		goto fail;
	path = node_token_path(dir, port);
	if ((fp = fopen(path, "r")) == NULL) {
		cause = xasprintf("cannot read '%s': %s (is a node on port %u "
		    "of this machine?)", path, strerror(errno), port);
		goto fail;
	}
	n = fread(token, 1, sizeof(token) - 1, fp);
	fclose(fp);
	token[n] = '\0';
	token[strcspn(token, "\r\n")] = '\0';
	if ((hc = http_client_new(addr, 5)) == NULL) {
		cause = xstrdup("cannot start an HTTP client");
		goto fail;
	}
	if (http_client_request(hc, "POST", "/control/leave", token, "", 0,
	    "application/json", 10, 1 << 16, &status, &body, &cause) != 0)
		goto fail;
	if (status != 202) {
		if (proto_error_parse(body.buf, body.len, &code, &msg) == 0)
			cause = xasprintf("%s: %s", addr, msg);
		else
			cause = xasprintf("%s: HTTP status %ld", addr, status);
		goto fail;
	}
	printf("node %s is draining\n", addr);
	if (args_flag(a, "wait")) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		/* Until the connection is refused, for at most a minute. */
		for (i = 0; i < 600; i++) {
			free(cause);
			cause = NULL;
			if (http_client_request(hc, "GET", "/info", NULL, NULL,
			    0, NULL, 2, 1 << 20, &status, &body, &cause) != 0)
				break;
			nanosleep(&ts, NULL);
		}
		free(cause);
		cause = NULL;
		if (i == 600) {
			cause = xasprintf("%s: still up after a minute", addr);
			goto fail;
		}
		printf("node %s has stopped\n", addr);
	}
	rc = EXIT_OK;
	goto out;
fail:
	rc = cmd_fail(cause);
out:
	free(code);
	free(msg);
	free(host);
	free(dir);
	free(path);
	strbuf_release(&body);
	http_client_free(hc);
	free(addr_buf);
	return rc;
}

const struct cmd_entry cmd_node_leave_entry = {
	.noun = "node", .verb = "leave",
	.usage = "[--wait] [ADDR]",
	.summary = "drain a node on this machine and stop it",
	.opts = node_leave_opts,
	.min_args = 0, .max_args = 1,
	.exec = cmd_node_leave_exec,
};
