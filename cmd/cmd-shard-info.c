/*
 * swarm shard info MODEL.gguf [--json]: what a model is and what serving
 * part of it costs. src/shard/shard-info.c reads the file; this file
 * prints its figures as text or JSON.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "core/gguf.h"
#include "shard/shard-info.h"
#include "util/xmalloc.h"

static void
shard_human(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", n);
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* "Q4_K, Q6_K" */
static void
shard_types(const struct shard_info_group_stat *g, char *buf, size_t len)
{
	size_t used = 0;
	int t, n;
	const char *name;

	buf[0] = '\0';
	for (t = 0; t < SHARD_INFO_NTYPES; t++) {
		if (g->type_bytes[t] == 0)
			continue;
		name = gguf_type_name(t);
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
		    name ? name : "?");
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += n;
	}
}

static void
shard_print_u64(const char *label, struct shard_info_u64 x)
{
	if (x.ok)
		printf("%-15s %" PRIu64 "\n", label, x.v);
	else
		printf("%-15s -\n", label);
}

static void
shard_print_dim(const char *label, const struct shard_info_dim *d)
{
	if (d->kind == SHARD_INFO_DIM_NUMBER)
		printf("%-15s %" PRIu64 "\n", label, d->lo);
	else if (d->kind == SHARD_INFO_DIM_LIST && d->lo == d->hi)
		printf("%-15s %" PRIu64 " in every block\n", label, d->lo);
	else if (d->kind == SHARD_INFO_DIM_LIST)
		printf("%-15s %" PRIu64 " to %" PRIu64 " by block\n", label,
		    d->lo, d->hi);
	else
		printf("%-15s -\n", label);
}

static void
shard_print_shape(const struct shard_info *si, const char *path)
{
	const char *ft;
	char hb[32];

	printf("%-15s %s\n", "file", path);
	shard_human(si->f->map_size, hb, sizeof(hb));
	printf("%-15s GGUF v%u, %" PRIu64 " tensors, %" PRIu64 " metadata "
	    "keys, %s\n", "format", si->f->version, si->f->n_tensors,
	    si->f->n_kv, hb);
	printf("%-15s %s\n", "architecture", si->arch);
	printf("%-15s %s\n", "name", si->name ? si->name : "-");
	ft = si->ftype.ok ? gguf_ftype_name((uint32_t)si->ftype.v) : NULL;
	if (si->ftype.ok)
		printf("%-15s %s (%" PRIu64 ")\n", "file type", ft ? ft :
		    "unknown", si->ftype.v);
	else
		printf("%-15s -\n", "file type");
	shard_print_u64("embedding", si->embd);
	shard_print_dim("ffn", &si->ffn);
	shard_print_dim("heads", &si->heads);
	shard_print_dim("kv heads", &si->heads_kv);
	shard_print_u64("head dim", si->head_dim);
	shard_print_u64("blocks", si->blocks);
	shard_print_u64("context", si->context);
}

static void
shard_print_rope_vocab(const struct shard_info *si)
{
	printf("%-15s", "rope");
	if (si->rope_base.ok)
		printf(" theta %g,", si->rope_base.v);
	else
		printf(" theta -,");
	if (si->rope_dims.ok)
		printf(" dims %" PRIu64 ",", si->rope_dims.v);
	else
		printf(" dims -,");
	if (si->rope_scaling != NULL) {
		printf(" scaling %s", si->rope_scaling);
		if (si->rope_factor.ok)
			printf(" x%g", si->rope_factor.v);
		if (si->rope_orig_ctx.ok)
			printf(" from %" PRIu64, si->rope_orig_ctx.v);
	} else
		printf(" scaling none");
	printf("%s\n", si->rope_freq_factors ? ", frequency factors" : "");
	printf("%-15s %s", "vocabulary", si->vocab_model ? si->vocab_model :
	    "-");
	if (si->vocab_pre != NULL)
		printf(" (%s)", si->vocab_pre);
	if (si->vocab_size.ok)
		printf(", %" PRIu64 " tokens", si->vocab_size.v);
	if (si->bos.ok)
		printf(", BOS %" PRIu64, si->bos.v);
	if (si->eos.ok)
		printf(", EOS %" PRIu64, si->eos.v);
	printf("\n");
	if (si->chat_template.ok)
		printf("%-15s yes (%" PRIu64 " bytes)\n", "chat template",
		    si->chat_template.v);
	else
		printf("%-15s no\n", "chat template");
}

static void
shard_print_tensors(const struct shard_info *si)
{
	const struct shard_info_group_stat *g;
	char hb[32], types[128];
	int i;

	if (si->f->n_tensors == 0)
		printf("\n%-15s none (a vocabulary-only file)\n", "tensors");
	else
		printf("\n%-18s %7s  %-16s %12s\n", "tensors", "count",
		    "types", "bytes");
	for (i = 0; i < SHARD_INFO_NGROUPS; i++) {
		g = &si->groups[i];
		if (g->n_tensors == 0)
			continue;
		shard_types(g, types, sizeof(types));
		shard_human(g->bytes, hb, sizeof(hb));
		printf("%-18s %7" PRIu64 "  %-16s %12s\n",
		    shard_info_group_label(i), g->n_tensors, types, hb);
	}
	printf("\n");
	if (si->n_blocks > 0) {
		shard_human(si->block_avg, hb, sizeof(hb));
		printf("%-15s %s average", "per block", hb);
		shard_human(si->block_max, hb, sizeof(hb));
		printf(", %s max (block %" PRIu64 ")\n", hb, si->block_max_at);
	}
	shard_human(si->outside_bytes, hb, sizeof(hb));
	printf("%-15s %s\n", "outside blocks", hb);
	shard_human(si->tensor_bytes, hb, sizeof(hb));
	printf("%-15s %s in tensors", "total", hb);
	shard_human(si->f->map_size, hb, sizeof(hb));
	printf(", %s file\n", hb);
	if (si->n_blocks > 0) {
		shard_human(si->block_avg, hb, sizeof(hb));
		printf("%-15s about k x %s of weights\n", "serving k blocks",
		    hb);
	}
}

static int
shard_print_json(const struct shard_info *si, const char *path)
{
	json_t *root = shard_info_json(si, path);
	int rc;

	rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(9));
	putchar('\n');
	json_decref(root);
	return rc == 0 ? EXIT_OK : cmd_error("cannot write JSON");
}

static int
cmd_shard_info_exec(struct cmd_args *a)
{
	struct shard_info si;
	char *cause = NULL;
	int rc = EXIT_OK;

	if (shard_info_open(&si, a->argv[0], &cause) != 0)
		return cmd_fail(cause);
	if (args_flag(a, "json"))
		rc = shard_print_json(&si, a->argv[0]);
	else {
		shard_print_shape(&si, a->argv[0]);
		shard_print_rope_vocab(&si);
		shard_print_tensors(&si);
	}
	shard_info_release(&si);
	return rc;
}

static const struct opt cmd_shard_info_opts[] = {
	OPT_FLAG('j', "json", "print one JSON document"),
	OPT_END
};

const struct cmd_entry cmd_shard_info_entry = {
	.noun = "shard", .verb = "info",
	.usage = "[--json] MODEL.gguf",
	.summary = "show a model's shape and what serving its blocks costs",
	.opts = cmd_shard_info_opts,
	.min_args = 1, .max_args = 1,
	.exec = cmd_shard_info_exec,
};
