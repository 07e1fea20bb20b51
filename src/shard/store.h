/*
 * The local shard store: under the data directory, shards/<id>/ holds a
 * model's manifest.json, model.gguf (a sparse file of the whole file's size
 * with each piece held at its original offset, so the GGUF loader maps it
 * unchanged and touches only the span it loads) and pieces (a 32-byte
 * record per piece: zero while the piece is not held, else the hash of the
 * bytes in place). A piece's record is written only after its bytes were
 * checked and are on disk, so a pull killed at any point never presents a
 * half-written piece as held. A whole file added with `shard add` is kept
 * as a link to it (model.gguf is a symbolic link), not copied.
 */
#ifndef SWARM_SHARD_STORE_H
#define SWARM_SHARD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "shard/manifest.h"

struct store_model {
	char		*dir;		/* shards/<id> */
	char		*data_path;	/* dir/model.gguf */
	char		*pieces_path;	/* dir/pieces */
	struct manifest	 m;
	uint8_t		*held;		/* n_pieces flags */
	int		 data_fd;	/* -1 until opened for writing */
	int		 pieces_fd;
	int		 linked;	/* model.gguf links to a whole file */
};

/* shards/ under the data directory, allocated. */
char	*store_root(char **cause);

/* How a model is opened. */
enum {
	STORE_READ,	/* to read, settling what a writer left unsynced */
	STORE_WRITE,	/* its files opened for pieces to be put */
	STORE_SEED,	/* to read, never waiting on the disk (a seeder) */
};

/*
 * Opens a held model by id or name (general.name, or an unambiguous
 * prefix of the id), in a mode above.
 */
int	store_open(struct store_model *, const char *model, int mode,
	    char **cause);
/*
 * Opens the model of m's id for writing, creating it when absent; an
 * existing one must describe the same file (hashes it lacks are learned).
 */
int	store_create(struct store_model *, const struct manifest *,
	    char **cause);
void	store_close(struct store_model *);

/*
 * Checks buf against piece i's hash (when the manifest knows it), writes
 * it in place, syncs, then records it held. -1 with *cause when the bytes
 * are wrong (*bad set) or the disk refuses them.
 */
int	store_piece_put(struct store_model *, size_t i, const void *buf,
	    size_t len, int *bad, char **cause);
/* store_piece_put in two: the check (h: the bytes' hash), the write. */
int	store_piece_check(const struct store_model *, size_t i,
	    const void *buf, size_t len, uint8_t h[MANIFEST_HASH_BYTES],
	    int *bad, char **cause);
int	store_piece_write(struct store_model *, size_t i, const void *buf,
	    size_t len, const uint8_t h[MANIFEST_HASH_BYTES], char **cause);
/* Reads held piece i into buf (m.pieces[i].size bytes). */
int	store_piece_read(struct store_model *, size_t i, void *buf,
	    char **cause);
/* Bytes of the wanted pieces not held. */
uint64_t store_missing_bytes(const struct store_model *, const uint8_t *want);
/* Is there room for the wanted pieces not held? -1 with *cause if not. */
int	store_check_space(const struct store_model *, const uint8_t *want,
	    char **cause);
/* Drops piece i: its record zeroed, its bytes punched out. */
void	store_piece_drop(struct store_model *, size_t i);
/* Saves the manifest (hashes learned from an origin included). */
int	store_save_manifest(struct store_model *, char **cause);

/*
 * Imports a local GGUF: its manifest (hashing every piece), then a link to
 * it, or with a span (span set; b MANIFEST_NO_BLOCK: to the last) a copy
 * of the span's pieces. *id is set (allocated).
 */
int	store_add_file(const char *path, int span, uint32_t a, uint32_t b,
	    int head, char **id, char **cause);

/*
 * The complete manifest of a whole local file, from the cache kept under
 * the store when the file is unchanged since it was hashed, else hashed
 * now (hash set; 1 when not) and cached.
 */
int	store_file_manifest(const char *path, int hash, struct manifest *,
	    char **cause);
/*
 * The model id of the file a node or client loads: a store model's own
 * (committed, or provisional when pulled in part from an origin URL), or a
 * whole file's committed id (store_file_manifest: 1 when not hashed yet and
 * hash is not set).
 */
int	store_model_id(const char *path, int hash, char *out, size_t size,
	    char **cause);

struct json_t;
/* Every held model: id, name, blocks held as spans, head, bytes, digest. */
struct json_t	*store_list_json(char **cause);
/*
 * Re-hashes every held piece of model (NULL: every model); a bad piece is
 * dropped (no longer held, its bytes punched out). The report as JSON.
 */
struct json_t	*store_verify_json(const char *model, char **cause);
/* Drops the model, or with span only blocks [a, b). */
int	store_rm(const char *model, int span, uint32_t a, uint32_t b,
	    char **cause);

/*
 * A model held under a provisional id (its header came from an origin URL)
 * that now holds every piece knows every piece's hash: it moves to the id
 * committed to those bytes, the one `shard add` of the same file gives, so
 * its nodes meet the peers of the whole file; origin (the URL it came from,
 * or NULL) is noted so that the same pull finds it again
 * (store_open_moved). 1 when it moved (sm's id and paths follow), 0 when it
 * stays (not every piece, committed already, served by a running node, or
 * that id held already: *why says which when not NULL), -1 with *cause.
 */
int	store_commit_id(struct store_model *, const char *origin,
	    const char **why, char **cause);
/*
 * Opens for writing the model that a pull of m (provisional) from origin
 * became (store_commit_id): 1 when there is one, 0 when not (sm
 * untouched), -1 with *cause.
 */
int	store_open_moved(struct store_model *, const struct manifest *m,
	    const char *origin, char **cause);

/* Does the model hold every piece of blocks [a, b) and (head) the head? */
int	store_has_span(const struct store_model *, uint32_t a, uint32_t b,
	    int head, uint32_t *missing_block);
/*
 * A node serving from the store holds it shared (the fd, kept until the
 * node stops; -1 on failure): removing or dropping pieces waits for no
 * node to hold it, so none of them reads a hole where its weights were.
 */
int	store_hold(const char *model);

/* The spans of blocks held whole, "0:3,4:5"; NULL when none. */
char	*store_held_text(const char *model);

/*
 * The path to load for -m model: model itself when it is a file, else the
 * store's model.gguf after checking it holds [a, b) (and the head); a
 * missing block is an error naming it and the `shard pull` that fetches
 * it. Allocated; NULL with *cause.
 */
char	*store_resolve(const char *model, uint32_t a, uint32_t b, int head,
	    char **cause);

#endif
