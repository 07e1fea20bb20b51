/*
 * swarm node status: ask a node what it serves and how busy it is.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf/conf.h"
#include "net/http-client.h"
#include "net/protocol.h"
#include "swarm/node.h"
#include "swarm/record.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static const struct cmd_opt node_status_opts[] = {
	{ 0, "json", NULL, "print the node's answer as JSON" },
	{ 0, NULL, NULL, NULL }
};

static json_int_t
node_status_int(json_t *st, const char *key)
{
	return json_integer_value(json_object_get(st, key));
}

static int
cmd_node_status_exec(struct cmd_args *a)
{
	struct http_client *hc;
	struct strbuf body = STRBUF_INIT;
	struct peer_record r;
	const char *addr;
	char *addr_buf = NULL;
	char *cause = NULL;
	json_t *o = NULL, *st;
	long status;
	int rc = EXIT_ERR;

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
	if ((hc = http_client_new(addr, 5)) == NULL) {
		free(addr_buf);
		return cmd_error("cannot start an HTTP client");
	}
	if (http_client_request(hc, "GET", "/info", NULL, NULL, 0, NULL, 10,
	    1 << 20, &status, &body, &cause) != 0)
		goto fail;
	if (status != 200) {
		cause = xasprintf("%s: HTTP status %ld", addr, status);
		goto fail;
	}
	if ((o = json_loadb(body.buf, body.len, 0, NULL)) == NULL ||
	    !json_is_object(st = json_object_get(o, "status")) ||
	    record_from_json(json_object_get(o, "record"), &r, &cause) != 0) {
		if (cause == NULL)
			cause = xasprintf("%s: not a swarm node", addr);
		goto fail;
	}
	if (args_flag(a, "json")) {
		rc = cmd_print_json(json_incref(o));
		goto out;
	} else {
		printf("node        %s (%s, version %s)\n", r.addr,
		    peer_state_name(r.state), r.version);
		printf("model       %s\n", r.model_id);
		printf("blocks      %u:%u of %lld\n", r.block_begin, r.block_end,
		    (long long)node_status_int(st, "n_layer"));
		printf("throughput  %.0f tokens/s per block\n", r.throughput);
		printf("sessions    %lld of %lld (%lld positions each at most)\n",
		    (long long)node_status_int(st, "sessions"),
		    (long long)node_status_int(st, "max_sessions"),
		    (long long)node_status_int(st, "max_context"));
		printf("load        %.0f%%\n", r.load * 100);
		printf("tokens      %lld processed in %lld steps\n",
		    (long long)node_status_int(st, "tokens_processed"),
		    (long long)node_status_int(st, "steps"));
		printf("uptime      %.0f s\n", json_number_value(
		    json_object_get(st, "uptime_seconds")));
	}
	rc = EXIT_OK;
	goto out;
fail:
	rc = cmd_fail(cause);
out:
	json_decref(o);
	strbuf_release(&body);
	http_client_free(hc);
	free(addr_buf);
	return rc;
}

const struct cmd_entry cmd_node_status_entry = {
	.noun = "node", .verb = "status",
	.usage = "[--json] [ADDR]",
	.summary = "show what a node serves, its sessions and load",
	.opts = node_status_opts,
	.min_args = 0, .max_args = 1,
	.exec = cmd_node_status_exec,
};
