/*
 * What a model file is and what serving part of it costs (`swarm shard
 * info`): hyper-parameters from the `<arch>.*` metadata keys named by
 * general.architecture (never from tensor names), the tokenizer's summary,
 * and the tensors' bytes by role, by type and by block, as values or as a
 * JSON document; the command prints them.
 */
#ifndef SWARM_SHARD_SHARD_INFO_H
#define SWARM_SHARD_SHARD_INFO_H

#include <stddef.h>
#include <stdint.h>

#define SHARD_INFO_NTYPES	64	/* above every known ggml type number */

enum shard_info_group {
	SHARD_INFO_TOKEN_EMBD,
	SHARD_INFO_ATTN_Q,
	SHARD_INFO_ATTN_K,
	SHARD_INFO_ATTN_V,
	SHARD_INFO_ATTN_O,
	SHARD_INFO_FFN_GATE,
	SHARD_INFO_FFN_UP,
	SHARD_INFO_FFN_DOWN,
	SHARD_INFO_NORM,
	SHARD_INFO_OUTPUT,
	SHARD_INFO_OTHER,
	SHARD_INFO_NGROUPS,
};

struct gguf_file;
struct gguf_kv;

/* A value that may be absent. */
struct shard_info_u64 {
	int		 ok;
	uint64_t	 v;
};

struct shard_info_f32 {
	int		 ok;
	float		 v;
};

/*
 * Some architectures give a per-block list instead of one number (the FFN
 * width or head count of each block).
 */
enum shard_info_dim_kind {
	SHARD_INFO_DIM_ABSENT,
	SHARD_INFO_DIM_NUMBER,		/* lo == hi, the number */
	SHARD_INFO_DIM_LIST,		/* lo and hi: the list's range */
};

struct shard_info_dim {
	enum shard_info_dim_kind	 kind;
	uint64_t			 lo;
	uint64_t			 hi;
	const struct gguf_kv		*list;	/* LIST: int32 entries */
};

struct shard_info_group_stat {
	uint64_t	 n_tensors;
	uint64_t	 bytes;
	uint64_t	 type_bytes[SHARD_INFO_NTYPES];
};

struct shard_info {
	struct gguf_file		*f;
	char				*arch;
	char				*name;		/* general.name; may be NULL */
	struct shard_info_u64		 ftype;
	struct shard_info_u64		 embd;
	struct shard_info_dim		 ffn;
	struct shard_info_dim		 heads;
	struct shard_info_dim		 heads_kv;
	struct shard_info_u64		 head_dim;	/* key_length, else embd / heads */
	struct shard_info_u64		 blocks;	/* <arch>.block_count */
	struct shard_info_u64		 context;
	struct shard_info_f32		 rms_eps;
	struct shard_info_f32		 rope_base;
	struct shard_info_u64		 rope_dims;
	char				*rope_scaling;	/* NULL: none */
	struct shard_info_f32		 rope_factor;
	struct shard_info_u64		 rope_orig_ctx;
	int				 rope_freq_factors;
	char				*vocab_model;
	char				*vocab_pre;
	struct shard_info_u64		 vocab_size;
	struct shard_info_u64		 bos;
	struct shard_info_u64		 eos;
	struct shard_info_u64		 chat_template;	/* its bytes */
	struct shard_info_group_stat	 groups[SHARD_INFO_NGROUPS];
	uint64_t			 n_blocks;	/* blocks tallied */
	uint64_t			*block_bytes;	/* n_blocks entries */
	uint64_t			 block_avg;
	uint64_t			 block_max;
	uint64_t			 block_max_at;
	uint64_t			 outside_bytes;	/* not in any block */
	uint64_t			 tensor_bytes;
};

/* Reads path; -1 with *cause when it is not a GGUF model. */
int		 shard_info_open(struct shard_info *, const char *path,
		    char **cause);
void		 shard_info_release(struct shard_info *);

struct json_t;
/*
 * The figures as one JSON object (`shard info --json`): keys in a fixed
 * order, absent values null, floats as their shortest decimal.
 */
struct json_t	*shard_info_json(const struct shard_info *, const char *path);

/* The group's label ("attention q") and JSON key ("attn_q"). */
const char	*shard_info_group_label(enum shard_info_group);
const char	*shard_info_group_key(enum shard_info_group);

struct strbuf;
/* The figures as `swarm shard info` prints them, appended to sb. */
void		 shard_info_text(const struct shard_info *, const char *path,
		    struct strbuf *sb);

#endif
