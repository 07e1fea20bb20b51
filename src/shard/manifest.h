/*
 * A model's manifest: the GGUF's header size and every tensor (name, type,
 * shape, offset in the file, bytes, block), the file cut into pieces (the
 * header is piece 0; each tensor's bytes are cut into pieces of at most
 * MANIFEST_PIECE_BYTES that never span two tensors) and the SHA-256
 * hash of each piece. The store keeps one per model; a puller checks every
 * piece against it before the piece is written. A manifest made from a
 * partial download knows the hashes of the pieces fetched only; one made
 * from a whole file is complete: its weights digest (manifest_weights,
 * over the layout and every piece's hash) commits to every byte of the
 * file, and the model id is made from it (swarm/model-id.h), so that a
 * manifest is checked against the id it was asked for. An incomplete
 * manifest carries a provisional id.
 */
#ifndef SWARM_SHARD_MANIFEST_H
#define SWARM_SHARD_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define MANIFEST_PIECE_BYTES	(4u << 20)
#define MANIFEST_HASH_BYTES	32
#define MANIFEST_MAX_TENSORS	65536
#define MANIFEST_MAX_PIECES	(1u << 22)
#define MANIFEST_NO_BLOCK	UINT32_MAX

enum manifest_role {
	MANIFEST_ROLE_HEADER,		/* header, metadata, tokenizer */
	MANIFEST_ROLE_BLOCK,		/* blk.N.* */
	MANIFEST_ROLE_HEAD,		/* embedding, output norm and matrix */
	MANIFEST_ROLE_OTHER,		/* outside blocks, always fetched */
};

struct manifest_tensor {
	char		*name;
	uint32_t	 type;
	uint32_t	 n_dims;
	uint64_t	 ne[4];
	uint64_t	 offset;	/* from the start of the file */
	uint64_t	 size;
	uint32_t	 block;		/* MANIFEST_NO_BLOCK: none */
	enum manifest_role role;
	size_t		 first_piece;
	size_t		 n_pieces;
};

struct manifest_piece {
	uint64_t	 offset;	/* from the start of the file */
	uint64_t	 size;
	size_t		 tensor;	/* SIZE_MAX: the header */
	int		 known;		/* hash is set */
	uint8_t		 hash[MANIFEST_HASH_BYTES];
};

struct manifest {
	char			*id;		/* committed when complete */
	char			*name;		/* general.name or the id */
	uint64_t		 file_size;
	uint64_t		 header_size;	/* the data section's offset */
	uint32_t		 n_blocks;
	size_t			 n_tensors;
	struct manifest_tensor	*tensors;
	size_t			 n_pieces;
	struct manifest_piece	*pieces;
};

struct gguf_file;
struct json_t;

/*
 * The manifest of an opened GGUF of file_size bytes (its header must be
 * whole in the mapping). hash_data: hash every piece (the tensors' bytes
 * must be in the mapping); else only the header's hash is known.
 */
int	manifest_from_gguf(struct manifest *, const struct gguf_file *,
	    uint64_t file_size, int hash_data, char **cause);
void	manifest_release(struct manifest *);

/* Canonical JSON (keys in a fixed order, hashes as hex or null). */
struct json_t	*manifest_to_json(const struct manifest *);
/*
 * Parses and checks an untrusted manifest: every size and offset, and
 * that a committed id is the one of its hashes.
 */
int	manifest_from_json(struct manifest *, const struct json_t *,
	    char **cause);
int	manifest_load(struct manifest *, const char *path, char **cause);
int	manifest_save(const struct manifest *, const char *path, char **cause);

/* Are all pieces' hashes known? */
int	manifest_complete(const struct manifest *);
/*
 * The weights digest: BLAKE2b-256 over the file's layout and every
 * piece's offset, size and hash; -1 when a hash is unknown.
 */
int	manifest_weights(const struct manifest *,
	    uint8_t out[MANIFEST_HASH_BYTES]);
/* Hex of the SHA-256 of the canonical JSON; size >= 65. */
void	manifest_digest(const struct manifest *, char *out, size_t size);
/* Do two manifests describe the same file and agree on every hash? */
int	manifest_same_file(const struct manifest *, const struct manifest *);

/* SHA-256 of buf (a piece's hash). */
void	manifest_hash(const void *buf, size_t len,
	    uint8_t out[MANIFEST_HASH_BYTES]);
/* Does buf hash to piece i's known hash? -1 when the hash is unknown. */
int	manifest_piece_check(const struct manifest *, size_t i,
	    const void *buf, size_t len);

/*
 * Marks in want[n_pieces] the pieces for blocks [a, b) (b may be
 * MANIFEST_NO_BLOCK: to the last), the header and the small tensors
 * outside blocks, and with head the embedding and the output. Returns the
 * bytes marked.
 */
uint64_t manifest_want(const struct manifest *, uint32_t a, uint32_t b,
	    int head, uint8_t *want);

#endif
