/*
 * `swarm shard info` as text: the figures of src/shard/shard-info.c laid
 * out for a terminal, one label per line and a table of tensor groups.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/gguf.h"
#include "shard/shard-info.h"
#include "util/strbuf.h"

static void
shard_text_human(uint64_t n, char *buf, size_t len)
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
shard_text_types(const struct shard_info_group_stat *g, char *buf, size_t len)
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
shard_text_u64(struct strbuf *sb, const char *label, struct shard_info_u64 x)
{
	if (x.ok)
		strbuf_addf(sb, "%-15s %" PRIu64 "\n", label, x.v);
	else
		strbuf_addf(sb, "%-15s -\n", label);
}

static void
shard_text_dim(struct strbuf *sb, const char *label, const struct shard_info_dim *d)
{
	if (d->kind == SHARD_INFO_DIM_NUMBER)
		strbuf_addf(sb, "%-15s %" PRIu64 "\n", label, d->lo);
	else if (d->kind == SHARD_INFO_DIM_LIST && d->lo == d->hi)
		strbuf_addf(sb, "%-15s %" PRIu64 " in every block\n", label, d->lo);
	else if (d->kind == SHARD_INFO_DIM_LIST)
		strbuf_addf(sb, "%-15s %" PRIu64 " to %" PRIu64 " by block\n", label,
		    d->lo, d->hi);
	else
		strbuf_addf(sb, "%-15s -\n", label);
}

static void
shard_text_shape(struct strbuf *sb, const struct shard_info *si, const char *path)
{
	const char *ft;
	char hb[32];

	strbuf_addf(sb, "%-15s %s\n", "file", path);
	shard_text_human(si->f->map_size, hb, sizeof(hb));
	strbuf_addf(sb, "%-15s GGUF v%u, %" PRIu64 " tensors, %" PRIu64 " metadata "
	    "keys, %s\n", "format", si->f->version, si->f->n_tensors,
	    si->f->n_kv, hb);
	strbuf_addf(sb, "%-15s %s\n", "architecture", si->arch);
	strbuf_addf(sb, "%-15s %s\n", "name", si->name ? si->name : "-");
	ft = si->ftype.ok ? gguf_ftype_name((uint32_t)si->ftype.v) : NULL;
	if (si->ftype.ok)
		strbuf_addf(sb, "%-15s %s (%" PRIu64 ")\n", "file type", ft ? ft :
		    "unknown", si->ftype.v);
	else
		strbuf_addf(sb, "%-15s -\n", "file type");
	shard_text_u64(sb, "embedding", si->embd);
	shard_text_dim(sb, "ffn", &si->ffn);
	shard_text_dim(sb, "heads", &si->heads);
	shard_text_dim(sb, "kv heads", &si->heads_kv);
	shard_text_u64(sb, "head dim", si->head_dim);
	shard_text_u64(sb, "blocks", si->blocks);
	shard_text_u64(sb, "context", si->context);
}

static void
shard_text_rope_vocab(struct strbuf *sb, const struct shard_info *si)
{
	strbuf_addf(sb, "%-15s", "rope");
	if (si->rope_base.ok)
		strbuf_addf(sb, " theta %g,", si->rope_base.v);
	else
		strbuf_addf(sb, " theta -,");
	if (si->rope_dims.ok)
		strbuf_addf(sb, " dims %" PRIu64 ",", si->rope_dims.v);
	else
		strbuf_addf(sb, " dims -,");
	if (si->rope_scaling != NULL) {
		strbuf_addf(sb, " scaling %s", si->rope_scaling);
		if (si->rope_factor.ok)
			strbuf_addf(sb, " x%g", si->rope_factor.v);
		if (si->rope_orig_ctx.ok)
			strbuf_addf(sb, " from %" PRIu64, si->rope_orig_ctx.v);
	} else
		strbuf_addf(sb, " scaling none");
	strbuf_addf(sb, "%s\n", si->rope_freq_factors ? ", frequency factors" : "");
	strbuf_addf(sb, "%-15s %s", "vocabulary", si->vocab_model ? si->vocab_model :
	    "-");
	if (si->vocab_pre != NULL)
		strbuf_addf(sb, " (%s)", si->vocab_pre);
	if (si->vocab_size.ok)
		strbuf_addf(sb, ", %" PRIu64 " tokens", si->vocab_size.v);
	if (si->bos.ok)
		strbuf_addf(sb, ", BOS %" PRIu64, si->bos.v);
	if (si->eos.ok)
		strbuf_addf(sb, ", EOS %" PRIu64, si->eos.v);
	strbuf_addc(sb, '\n');
	if (si->chat_template.ok)
		strbuf_addf(sb, "%-15s yes (%" PRIu64 " bytes)\n", "chat template",
		    si->chat_template.v);
	else
		strbuf_addf(sb, "%-15s no\n", "chat template");
}

static void
shard_text_tensors(struct strbuf *sb, const struct shard_info *si)
{
	const struct shard_info_group_stat *g;
	char hb[32], types[128];
	int i;

	if (si->f->n_tensors == 0)
		strbuf_addf(sb, "\n%-15s none (a vocabulary-only file)\n", "tensors");
	else
		strbuf_addf(sb, "\n%-18s %7s  %-16s %12s\n", "tensors", "count",
		    "types", "bytes");
	for (i = 0; i < SHARD_INFO_NGROUPS; i++) {
		g = &si->groups[i];
		if (g->n_tensors == 0)
			continue;
		shard_text_types(g, types, sizeof(types));
		shard_text_human(g->bytes, hb, sizeof(hb));
		strbuf_addf(sb, "%-18s %7" PRIu64 "  %-16s %12s\n",
		    shard_info_group_label(i), g->n_tensors, types, hb);
	}
	strbuf_addc(sb, '\n');
	if (si->n_blocks > 0) {
		shard_text_human(si->block_avg, hb, sizeof(hb));
		strbuf_addf(sb, "%-15s %s average", "per block", hb);
		shard_text_human(si->block_max, hb, sizeof(hb));
		strbuf_addf(sb, ", %s max (block %" PRIu64 ")\n", hb, si->block_max_at);
	}
	shard_text_human(si->outside_bytes, hb, sizeof(hb));
	strbuf_addf(sb, "%-15s %s\n", "outside blocks", hb);
	shard_text_human(si->tensor_bytes, hb, sizeof(hb));
	strbuf_addf(sb, "%-15s %s in tensors", "total", hb);
	shard_text_human(si->f->map_size, hb, sizeof(hb));
	strbuf_addf(sb, ", %s file\n", hb);
	if (si->n_blocks > 0) {
		shard_text_human(si->block_avg, hb, sizeof(hb));
		strbuf_addf(sb, "%-15s about k x %s of weights\n", "serving k blocks",
		    hb);
	}
}

void
shard_info_text(const struct shard_info *si, const char *path,
    struct strbuf *sb)
{
	shard_text_shape(sb, si, path);
	shard_text_rope_vocab(sb, si);
	shard_text_tensors(sb, si);
}
