/*
 * The manifest of a whole local file, hashed once. Hashing every byte of a
 * 40 GB file takes a while, and the model id needs it (swarm/model-id.h),
 * so the result is kept under the store: shards/.files/DEV-INO.json holds
 * the file's size and modification time beside its manifest. The same
 * file unchanged (same device, inode, size and modification time) is not
 * hashed again; a file changed while it was hashed is not cached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/gguf.h"
#include "shard/store.h"
#include "swarm/model-id.h"
#include "swarm/record.h"
#include "util/path.h"
#include "util/xmalloc.h"

_Static_assert(MANIFEST_HASH_BYTES == MODEL_ID_WEIGHTS_BYTES,
    "the id commits to the manifest's weights digest");

static char *
store_file_cache_path(const struct stat *st, char **cause)
{
	char *root, *path;

	if ((root = store_root(cause)) == NULL)
		return NULL;
	path = xasprintf("%s/.files/%llx-%llx.json", root,
	    (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
	free(root);
	return path;
}

static char *
store_file_stamp(const struct stat *st)
{
	return xasprintf("%lld %lld.%09ld", (long long)st->st_size,
	    (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

/* The cached manifest, if the file is the one it was made from. */
static int
store_file_cached(const char *cache, const struct stat *st,
    struct manifest *m)
{
	json_error_t err;
	const char *s;
	char *stamp = store_file_stamp(st);
	json_t *o;
	int rc = -1;

	if ((o = json_load_file(cache, 0, &err)) != NULL &&
	    (s = json_string_value(json_object_get(o, "stamp"))) != NULL &&
	    strcmp(s, stamp) == 0 && manifest_from_json(m,
	    json_object_get(o, "manifest"), NULL) == 0) {
		if (manifest_complete(m) && model_id_committed(m->id) &&
		    m->file_size == (uint64_t)st->st_size)
			rc = 0;
		else
			manifest_release(m);
	}
	json_decref(o);
	free(stamp);
	return rc;
}

static void
store_file_save(const char *cache, const struct stat *st,
    const struct manifest *m)
{
	json_t *o = json_object();
	char *text, *dir = xstrdup(cache), *stamp = store_file_stamp(st);

	*strrchr(dir, '/') = '\0';
	json_object_set_new(o, "stamp", json_string(stamp));
	free(stamp);
	json_object_set_new(o, "manifest", manifest_to_json(m));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text != NULL && path_mkdirs(dir, 0700, NULL) == 0)
		path_write_atomic(cache, text, NULL);
	free(text);
	json_decref(o);
	free(dir);
}

int
store_file_manifest(const char *path, int hash, struct manifest *m,
    char **cause)
{
	struct gguf_file *f = NULL;
	struct stat st, after;
	char *cache;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (stat(path, &st) != 0)
		return set_cause(cause, "cannot open '%s': %s", path,
		    strerror(errno));
	if ((cache = store_file_cache_path(&st, cause)) == NULL)
		return -1;
	if (store_file_cached(cache, &st, m) == 0) {
		rc = 0;
		goto out;
	}
	if (!hash) {
		rc = 1;
		goto out;
	}
	if ((f = gguf_open(path, cause)) == NULL)
		goto out;
	if (manifest_from_gguf(m, f, f->map_size, 1, cause) != 0)
		goto out;
	if (stat(path, &after) == 0 && after.st_ino == st.st_ino &&
	    after.st_size == st.st_size && after.st_mtim.tv_sec ==
	    st.st_mtim.tv_sec && after.st_mtim.tv_nsec == st.st_mtim.tv_nsec)
		store_file_save(cache, &st, m);
	rc = 0;
out:
	gguf_close(f);
	free(cache);
	return rc;
}

/* Is path a store model's model.gguf? Its directory, allocated. */
static char *
store_file_in_store(const char *path)
{
	char *root, *dir = NULL;
	size_t n;

	if ((root = store_root(NULL)) == NULL)
		return NULL;
	n = strlen(root);
	if (strncmp(path, root, n) == 0 && path[n] == '/' &&
	    strchr(path + n + 1, '/') != NULL &&
	    strcmp(strchr(path + n + 1, '/'), "/model.gguf") == 0) {
		dir = xstrdup(path);
		*strrchr(dir, '/') = '\0';
	}
	free(root);
	return dir;
}

int
store_model_id(const char *path, int hash, char *out, size_t size,
    char **cause)
{
	struct manifest m;
	char *dir, *mpath;
	int rc;

	if ((dir = store_file_in_store(path)) != NULL) {
		mpath = xasprintf("%s/manifest.json", dir);
		free(dir);
		rc = manifest_load(&m, mpath, cause);
		free(mpath);
	} else if ((rc = store_file_manifest(path, hash, &m, cause)) != 0)
		return rc;
	if (rc != 0)
		return -1;
	if (strlen(m.id) >= size)
		rc = set_cause(cause, "model id too long");
	else
		memcpy(out, m.id, strlen(m.id) + 1);
	manifest_release(&m);
	return rc;
}
