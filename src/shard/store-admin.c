/*
 * What the `shard` commands do to the store (store.h): import a local
 * file, list, verify, remove, and resolve a -m MODEL to the file to load.
 */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/gguf.h"
#include "shard/store.h"
#include "swarm/model-id.h"
#include "swarm/record.h"
#include "util/path.h"
#include "util/xmalloc.h"

static int
store_link_whole(struct store_model *sm, const char *path, char **cause)
{
	char real[PATH_MAX];
	size_t i;

	if (realpath(path, real) == NULL)
		return set_cause(cause, "'%s': %s", path, strerror(errno));
	if (unlink(sm->data_path) != 0 || symlink(real, sm->data_path) != 0)
		return set_cause(cause, "cannot link '%s': %s", sm->data_path,
		    strerror(errno));
	sm->linked = 1;
	for (i = 0; i < sm->m.n_pieces; i++) {
		/* The bytes are in place already: record each held. */
		if (pwrite(sm->pieces_fd, sm->m.pieces[i].hash,
		    MANIFEST_HASH_BYTES, (off_t)(i * MANIFEST_HASH_BYTES)) !=
		    MANIFEST_HASH_BYTES)
			return set_cause(cause, "cannot write '%s': %s",
			    sm->pieces_path, strerror(errno));
		sm->held[i] = 1;
	}
	return 0;
}

static int
store_copy_span(struct store_model *sm, const struct gguf_file *f,
    uint32_t a, uint32_t b, int head, char **cause)
{
	uint8_t *want = xcalloc(sm->m.n_pieces, 1);
	const struct manifest_piece *p;
	size_t i;
	int bad, rc = -1;

	manifest_want(&sm->m, a, b, head, want);
	if (store_check_space(sm, want, cause) != 0)
		goto out;
	for (i = 0; i < sm->m.n_pieces; i++) {
		p = &sm->m.pieces[i];
		if (!want[i] || sm->held[i])
			continue;
		if (store_piece_put(sm, i, f->map + p->offset, p->size, &bad,
		    cause) != 0)
			goto out;
	}
	rc = 0;
out:
	free(want);
	return rc;
}

/* "PATH SIZE MTIME": what a linked model was made from. */
static char *
store_source_line(const char *path)
{
	char real[PATH_MAX];
	struct stat st;

	if (realpath(path, real) == NULL || stat(real, &st) != 0)
		return NULL;
	return xasprintf("%s %lld %lld.%09ld\n", real, (long long)st.st_size,
	    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

/*
 * Is the whole file already in the store, linked, unchanged since it was
 * added (same path, size and modification time)?
 */
static int
store_added_before(const struct manifest *m, const char *path)
{
	char *root, *spath, *line, buf[PATH_MAX + 64];
	FILE *fp;
	int same = 0;

	if ((root = store_root(NULL)) == NULL)
		return 0;
	spath = xasprintf("%s/%s/source", root, m->id);
	line = store_source_line(path);
	if (line != NULL && (fp = fopen(spath, "r")) != NULL) {
		same = fgets(buf, sizeof(buf), fp) != NULL &&
		    strcmp(buf, line) == 0;
		fclose(fp);
	}
	free(line);
	free(spath);
	free(root);
	return same;
}

static void
store_note_source(const struct store_model *sm, const char *path)
{
	char *line = store_source_line(path), *spath;

	if (line == NULL)
		return;
	spath = xasprintf("%s/source", sm->dir);
	path_write_atomic(spath, line, NULL);
	free(spath);
	free(line);
}

int
store_add_file(const char *path, int span, uint32_t a, uint32_t b, int head,
    char **id, char **cause)
{
	struct store_model sm;
	struct manifest m;
	struct gguf_file *f = NULL;
	int rc = -1;

	/* Hashed once per file: the cache knows an unchanged one. */
	if (store_file_manifest(path, 1, &m, cause) != 0)
		return -1;
	if (!span && store_added_before(&m, path)) {
		*id = xstrdup(m.id);
		rc = 0;
		goto out_m;
	}
	if (span && (f = gguf_open(path, cause)) == NULL)
		goto out_m;
	if (store_create(&sm, &m, cause) != 0)
		goto out_m;
	if (span)
		rc = store_copy_span(&sm, f, a, b, head, cause);
	else if (sm.linked)
		rc = 0;
	else
		rc = store_link_whole(&sm, path, cause);
	if (rc == 0 && !span)
		store_note_source(&sm, path);
	if (rc == 0)
		*id = xstrdup(m.id);
	store_close(&sm);
out_m:
	manifest_release(&m);
	gguf_close(f);
	return rc;
}

/* ["0:2", "4:5"]: the runs of blocks held whole. */
static json_t *
store_spans_json(const struct store_model *sm)
{
	json_t *a = json_array();
	uint32_t b, start = 0, miss;
	int in = 0, has;

	for (b = 0; b <= sm->m.n_blocks; b++) {
		has = b < sm->m.n_blocks && store_has_span(sm, b, b + 1, 0,
		    &miss);
		if (has && !in)
			start = b;
		if (!has && in)
			json_array_append_new(a, json_sprintf("%u:%u", start, b));
		in = has;
	}
	return a;
}

/* "serving": nodes hold it shared; rm and verify need it alone. */
static int
store_serving_lock(const char *dir, int op)
{
	char *path = xasprintf("%s/serving", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	free(path);
	if (fd >= 0 && flock(fd, op | LOCK_NB) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int
store_hold(const char *model)
{
	struct store_model sm;
	int fd;

	if (store_open(&sm, model, STORE_READ, NULL) != 0)
		return -1;
	fd = store_serving_lock(sm.dir, LOCK_SH);
	store_close(&sm);
	return fd;
}

int
store_commit_id(struct store_model *sm, const char *origin, const char **why,
    char **cause)
{
	uint8_t w[MANIFEST_HASH_BYTES];
	char id[MODEL_ID_MAX], *root = NULL, *dir = NULL, *slash, *line, *path;
	struct gguf_file *f;
	const char *stay = NULL;
	size_t i;
	int lock = -1, rc = -1;

	if (model_id_committed(sm->m.id))
		stay = "its id is committed already";
	for (i = 0; stay == NULL && i < sm->m.n_pieces; i++)
		if (!sm->held[i])
			stay = "it does not hold every piece";
	if (stay == NULL && manifest_weights(&sm->m, w) != 0)
		stay = "a piece's hash is unknown";
	if (stay == NULL && (lock = store_serving_lock(sm->dir, LOCK_EX)) < 0)
		stay = "a running node serves it";
	if (stay != NULL) {
		rc = 0;
		goto out;
	}
	if ((f = gguf_open(sm->data_path, cause)) == NULL)
		goto out;
	rc = model_id_compute(f, w, id, sizeof(id));
	gguf_close(f);
	if (rc != 0) {
		rc = set_cause(cause, "'%s': cannot compute its committed id",
		    sm->m.id);
		goto out;
	}
	root = xstrdup(sm->dir);
	if ((slash = strrchr(root, '/')) != NULL)
		*slash = '\0';
	dir = xasprintf("%s/%s", root, id);
	if (access(dir, F_OK) == 0) {
		stay = "the store holds its committed id already";
		rc = 0;
		goto out;
	}
	if (origin != NULL) {
		line = xasprintf("%s %s\n", sm->m.id, origin);
		path = xasprintf("%s/moved-from", sm->dir);
		rc = path_write_atomic(path, line, cause);
		free(path);
		free(line);
		if (rc != 0)
			goto out;
	}
	/* The directory first, then the manifest that names it. */
	if (rename(sm->dir, dir) != 0) {
		rc = set_cause(cause, "cannot rename '%s': %s", sm->dir,
		    strerror(errno));
		goto out;
	}
	free(sm->dir);
	free(sm->data_path);
	free(sm->pieces_path);
	sm->dir = dir;
	sm->data_path = xasprintf("%s/model.gguf", dir);
	sm->pieces_path = xasprintf("%s/pieces", dir);
	dir = NULL;
	free(sm->m.id);
	sm->m.id = xstrdup(id);
	rc = store_save_manifest(sm, cause) == 0 ? 1 : -1;
out:
	if (why != NULL)
		*why = stay;
	if (lock >= 0)
		close(lock);
	free(root);
	free(dir);
	return rc;
}

/* -1 with *cause while a node serves the model. */
static int
store_not_served(const struct store_model *sm, int *fd, char **cause)
{
	if ((*fd = store_serving_lock(sm->dir, LOCK_EX)) < 0)
		return set_cause(cause, "'%s' is served by a running node: stop "
		    "it first", sm->m.id);
	return 0;
}

char *
store_held_text(const char *model)
{
	struct store_model sm;
	json_t *a, *v;
	char *out = NULL, *t;
	size_t i;

	if (store_open(&sm, model, STORE_READ, NULL) != 0)
		return NULL;
	a = store_spans_json(&sm);
	json_array_foreach(a, i, v) {
		t = xasprintf("%s%s%s", out ? out : "", out ? "," : "",
		    json_string_value(v));
		free(out);
		out = t;
	}
	json_decref(a);
	store_close(&sm);
	return out;
}

static json_t *
store_model_json(const struct store_model *sm)
{
	json_t *o = json_object();
	char digest[2 * MANIFEST_HASH_BYTES + 1];
	uint64_t bytes = 0;
	uint32_t miss;
	size_t i;

	for (i = 0; i < sm->m.n_pieces; i++)
		if (sm->held[i])
			bytes += sm->m.pieces[i].size;
	json_object_set_new(o, "model", json_string(sm->m.name));
	json_object_set_new(o, "id", json_string(sm->m.id));
	json_object_set_new(o, "blocks", json_integer(sm->m.n_blocks));
	json_object_set_new(o, "held", store_spans_json(sm));
	json_object_set_new(o, "head", json_boolean(store_has_span(sm, 0, 0,
	    1, &miss)));
	json_object_set_new(o, "bytes", json_integer((json_int_t)bytes));
	json_object_set_new(o, "file_size",
	    json_integer((json_int_t)sm->m.file_size));
	json_object_set_new(o, "linked", json_boolean(sm->linked));
	if (manifest_complete(&sm->m)) {
		manifest_digest(&sm->m, digest, sizeof(digest));
		json_object_set_new(o, "digest", json_string(digest));
	} else
		json_object_set_new(o, "digest", json_null());
	return o;
}

/* Calls fn on every model of the store (model NULL) or on one. */
static int
store_each(const char *model, int writable,
    void (*fn)(struct store_model *, json_t *), json_t *out, char **cause)
{
	struct store_model sm;
	struct dirent *de;
	char *root;
	DIR *d;

	if (model != NULL) {
		if (store_open(&sm, model, writable, cause) != 0)
			return -1;
		fn(&sm, out);
		store_close(&sm);
		return 0;
	}
	if ((root = store_root(cause)) == NULL)
		return -1;
	if ((d = opendir(root)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (store_open(&sm, de->d_name, writable, NULL) == 0) {
				fn(&sm, out);
				store_close(&sm);
			}
		}
		closedir(d);
	}
	free(root);
	return 0;
}

static void
store_list_one(struct store_model *sm, json_t *out)
{
	json_array_append_new(out, store_model_json(sm));
}

json_t *
store_list_json(char **cause)
{
	json_t *a = json_array();

	if (store_each(NULL, 0, store_list_one, a, cause) != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static void
store_verify_one(struct store_model *sm, json_t *out)
{
	json_t *o = json_object(), *bad = json_array();
	uint8_t *buf = xmalloc(MANIFEST_PIECE_BYTES);
	uint64_t bytes = 0, n = 0;
	const struct manifest_piece *p;
	size_t i;
	int lock, served;

	/* A served model is checked, but its bad pieces are not dropped. */
	served = store_not_served(sm, &lock, NULL) != 0;

	for (i = 0; i < sm->m.n_pieces; i++) {
		p = &sm->m.pieces[i];
		if (!sm->held[i])
			continue;
		if (p->size > MANIFEST_PIECE_BYTES) {
			free(buf);
			buf = xmalloc(p->size);
		}
		if (store_piece_read(sm, i, buf, NULL) != 0 ||
		    manifest_piece_check(&sm->m, i, buf, p->size) != 1) {
			json_array_append_new(bad, json_pack("{s:I,s:s}",
			    "piece", (json_int_t)i, "tensor", p->tensor ==
			    SIZE_MAX ? "(header)" : sm->m.tensors[p->tensor].name));
			if (!served)
				store_piece_drop(sm, i);
		}
		n++;
		bytes += p->size;
	}
	free(buf);
	if (lock >= 0)
		close(lock);
	json_object_set_new(o, "id", json_string(sm->m.id));
	json_object_set_new(o, "served", json_boolean(served));
	json_object_set_new(o, "pieces", json_integer((json_int_t)n));
	json_object_set_new(o, "bytes", json_integer((json_int_t)bytes));
	json_object_set_new(o, "ok", json_boolean(json_array_size(bad) == 0));
	json_object_set_new(o, "bad", bad);
	json_array_append_new(out, o);
}

json_t *
store_verify_json(const char *model, char **cause)
{
	json_t *a = json_array();

	if (store_each(model, 1, store_verify_one, a, cause) != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static int
store_rm_whole(struct store_model *sm, char **cause)
{
	const char *names[] = { "model.gguf", "pieces", "manifest.json",
	    "unsynced", "source", "serving", "moved-from" };
	char *p;
	size_t i;

	if (sm->data_fd >= 0)
		close(sm->data_fd);
	if (sm->pieces_fd >= 0)
		close(sm->pieces_fd);
	sm->data_fd = sm->pieces_fd = -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		p = xasprintf("%s/%s", sm->dir, names[i]);
		unlink(p);
		free(p);
	}
	if (rmdir(sm->dir) != 0)
		return set_cause(cause, "cannot remove '%s': %s", sm->dir,
		    strerror(errno));
	return 0;
}

int
store_rm(const char *model, int span, uint32_t a, uint32_t b, char **cause)
{
	struct store_model sm;
	const struct manifest_tensor *t;
	size_t i, k;
	int rc = 0, lock = -1;

	if (store_open(&sm, model, STORE_WRITE, cause) != 0)
		return -1;
	if (store_not_served(&sm, &lock, cause) != 0)
		rc = -1;
	else if (!span)
		rc = store_rm_whole(&sm, cause);
	else if (sm.linked)
		rc = set_cause(cause, "'%s' is a link to a whole file: remove "
		    "it whole", sm.m.id);
	else {
		for (i = 0; i < sm.m.n_tensors; i++) {
			t = &sm.m.tensors[i];
			if (t->role != MANIFEST_ROLE_BLOCK || t->block < a ||
			    t->block >= b)
				continue;
			for (k = 0; k < t->n_pieces; k++)
				store_piece_drop(&sm, t->first_piece + k);
		}
	}
	if (lock >= 0)
		close(lock);
	store_close(&sm);
	return rc;
}

char *
store_resolve(const char *model, uint32_t a, uint32_t b, int head,
    char **cause)
{
	struct store_model sm;
	struct stat st;
	uint32_t miss;
	char *path = NULL;

	if (stat(model, &st) == 0 && S_ISREG(st.st_mode))
		return xstrdup(model);
	if (strchr(model, '/') != NULL || strstr(model, ".gguf") != NULL) {
		set_cause(cause, "cannot open '%s': %s", model, strerror(ENOENT));
		return NULL;
	}
	if (store_open(&sm, model, STORE_READ, cause) != 0)
		return NULL;
	if (b == MANIFEST_NO_BLOCK)
		b = sm.m.n_blocks;
	if (!store_has_span(&sm, a, b, head, &miss)) {
		if (miss != MANIFEST_NO_BLOCK)
			set_cause(cause, "block %u of '%s' is not in the store; "
			    "fetch it with 'swarm shard pull %s --blocks "
			    "%u:%u%s'", miss, sm.m.id, sm.m.id, a, b, head ?
			    " --head" : "");
		else
			set_cause(cause, "%s of '%s' is not in the store; fetch "
			    "it with 'swarm shard pull %s --blocks %u:%u%s'",
			    head ? "the head" : "a tensor outside blocks",
			    sm.m.id, sm.m.id, a, b, head ? " --head" : "");
	} else
		path = xstrdup(sm.data_path);
	store_close(&sm);
	return path;
}
