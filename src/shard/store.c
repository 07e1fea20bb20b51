/*
 * The local shard store (store.h): opening and creating a model's
 * directory, putting and reading pieces, and what a node loads from it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sodium.h>

#include "conf/conf.h"
#include "core/gguf.h"
#include "shard/store.h"
#include "util/path.h"
#include "util/xmalloc.h"

#define STORE_RECORD	MANIFEST_HASH_BYTES

char *
store_root(char **cause)
{
	char *dir, *root;

	if ((dir = conf_data_dir(cause)) == NULL)
		return NULL;
	root = xasprintf("%s/shards", dir);
	free(dir);
	return root;
}

static int
store_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;
	size_t done = 0;

	while (done < len) {
		n = pread(fd, (uint8_t *)buf + done, len - done,
		    (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Writes in slices of STORE_WRITE_SLICE: a 4 MiB write() into the page
 * cache gets large folios, and on a virtual machine whose host backs memory
 * lazily those cost a fault each on first touch. Pulling the 636 MB test
 * file from a local origin took a median of 3.0 s in 4 MiB writes against
 * 0.9 s in 64 KiB ones (and 0.94 s for curl -o), ten runs each.
 */
#define STORE_WRITE_SLICE	(64 << 10)

static int
store_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t n;
	size_t done = 0;

	while (done < len) {
		n = pwrite(fd, (const uint8_t *)buf + done, len - done >
		    STORE_WRITE_SLICE ? STORE_WRITE_SLICE : len - done,
		    (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* A piece is held when its record is the hash the manifest trusts. */
static int
store_read_held(struct store_model *sm, char **cause)
{
	uint8_t rec[STORE_RECORD], zero[STORE_RECORD] = { 0 };
	struct manifest_piece *p;
	size_t i;
	int fd;

	sm->held = xcalloc(sm->m.n_pieces, 1);
	if ((fd = open(sm->pieces_path, O_RDONLY | O_CLOEXEC)) < 0)
		return set_cause(cause, "cannot open '%s': %s", sm->pieces_path,
		    strerror(errno));
	for (i = 0; i < sm->m.n_pieces; i++) {
		p = &sm->m.pieces[i];
		if (store_pread_all(fd, rec, sizeof(rec), i * STORE_RECORD) != 0)
			break;
		if (memcmp(rec, zero, sizeof(rec)) == 0)
			continue;
		if (!p->known) {
			memcpy(p->hash, rec, sizeof(rec));
			p->known = 1;
		}
		sm->held[i] = memcmp(p->hash, rec, sizeof(rec)) == 0;
	}
	close(fd);
	return 0;
}

/* This boot's id: pages a process left unsynced survive until reboot. */
static void
store_boot_id(char *out, size_t size)
{
	FILE *fp = fopen("/proc/sys/kernel/random/boot_id", "r");

	out[0] = '\0';
	if (fp != NULL) {
		if (fgets(out, (int)size, fp) == NULL)
			out[0] = '\0';
		fclose(fp);
	}
}

/*
 * Pieces are recorded held without waiting for the disk; the file
 * "unsynced" (this boot's id) says so until the bytes are known to be on
 * the disk. Killed in the same boot, the page cache holds bytes and records
 * alike; after a crash of the machine (another boot id) the records are not
 * trusted: every held piece is hashed again before it counts. 1 when the
 * pieces were hashed again, 0 when the records stand.
 */
static int
store_check_unsynced(struct store_model *sm)
{
	char *path = xasprintf("%s/unsynced", sm->dir), was[64], now[64];
	uint8_t *buf;
	size_t i;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		free(path);
		return 0;
	}
	if (fgets(was, sizeof(was), fp) == NULL)
		was[0] = '\0';
	fclose(fp);
	store_boot_id(now, sizeof(now));
	free(path);
	if (strcmp(was, now) == 0 && now[0] != '\0')
		return 0;
	buf = xmalloc(MANIFEST_PIECE_BYTES > sm->m.header_size ?
	    MANIFEST_PIECE_BYTES : (size_t)sm->m.header_size);
	for (i = 0; i < sm->m.n_pieces; i++)
		if (sm->held[i] && (store_piece_read(sm, i, buf, NULL) != 0 ||
		    manifest_piece_check(&sm->m, i, buf,
		    sm->m.pieces[i].size) != 1))
			sm->held[i] = 0;
	free(buf);
	return 1;
}

/*
 * A writer closes without waiting for the disk (a pull's last seconds
 * would go to the sync: the kernel writes the pages back in its own time).
 * Whoever opens the model next, with no writer at work, settles it: the
 * records of pieces that failed their hashes after a crash are cleared,
 * bytes and records synced (quick once the kernel has written them back),
 * and the "unsynced" mark dropped, so that a reboot does not have every
 * piece hashed again.
 */
static void
store_settle_unsynced(struct store_model *sm, int rehashed)
{
	static const uint8_t zero[STORE_RECORD];
	char *path = xasprintf("%s/unsynced", sm->dir);
	int pfd, dfd = -1, ok = 1;
	size_t i;

	if (access(path, F_OK) != 0 || (pfd = open(sm->pieces_path,
	    (rehashed ? O_RDWR : O_RDONLY) | O_CLOEXEC)) < 0) {
		free(path);
		return;
	}
	/* A writer at work settles when it is done. */
	if (flock(pfd, LOCK_EX | LOCK_NB) == 0) {
		for (i = 0; rehashed && ok && i < sm->m.n_pieces; i++)
			if (!sm->held[i])
				ok = store_pwrite_all(pfd, zero, STORE_RECORD,
				    i * STORE_RECORD) == 0;
		if (ok && !sm->linked)
			ok = (dfd = open(sm->data_path, O_RDONLY |
			    O_CLOEXEC)) >= 0 && fdatasync(dfd) == 0;
		if (ok && fdatasync(pfd) == 0)
			unlink(path);
	}
	if (dfd >= 0)
		close(dfd);
	close(pfd);
	free(path);
}

static int
store_mark_unsynced(struct store_model *sm, char **cause)
{
	char *path = xasprintf("%s/unsynced", sm->dir), id[64];
	int rc;

	store_boot_id(id, sizeof(id));
	rc = path_write_atomic(path, id, cause);
	free(path);
	return rc;
}

static int
store_open_dir(struct store_model *sm, const char *dir, int mode,
    char **cause)
{
	char *path;
	struct stat st;
	int flags = (mode == STORE_WRITE ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	int rehashed;

	memset(sm, 0, sizeof(*sm));
	sm->data_fd = sm->pieces_fd = -1;
	sm->dir = xstrdup(dir);
	sm->data_path = xasprintf("%s/model.gguf", dir);
	sm->pieces_path = xasprintf("%s/pieces", dir);
	path = xasprintf("%s/manifest.json", dir);
	if (manifest_load(&sm->m, path, cause) != 0) {
		free(path);
		goto fail;
	}
	free(path);
	sm->linked = lstat(sm->data_path, &st) == 0 && S_ISLNK(st.st_mode);
	if (store_read_held(sm, cause) != 0)
		goto fail;
	rehashed = store_check_unsynced(sm);
	if (mode != STORE_SEED)
		store_settle_unsynced(sm, rehashed);
	if (mode != STORE_WRITE)
		return 0;
	if ((sm->data_fd = open(sm->data_path, sm->linked ? O_RDONLY | O_CLOEXEC
	    : flags)) < 0 || (sm->pieces_fd = open(sm->pieces_path, flags)) < 0) {
		set_cause(cause, "cannot open '%s' for writing: %s", dir,
		    strerror(errno));
		goto fail;
	}
	/* One writer at a time: a second pull, a verify, an rm wait out. */
	if (flock(sm->pieces_fd, LOCK_EX | LOCK_NB) != 0) {
		set_cause(cause, "'%s' is being written by another process "
		    "(a pull?)", sm->m.id);
		goto fail;
	}
	if (store_mark_unsynced(sm, cause) != 0)
		goto fail;
	return 0;
fail:
	store_close(sm);
	return -1;
}

void
store_close(struct store_model *sm)
{
	/* No sync here: the "unsynced" mark stays, for the next open to
	 * settle (store_settle_unsynced). */
	if (sm->data_fd >= 0)
		close(sm->data_fd);
	if (sm->pieces_fd >= 0)
		close(sm->pieces_fd);
	manifest_release(&sm->m);
	free(sm->held);
	free(sm->dir);
	free(sm->data_path);
	free(sm->pieces_path);
	memset(sm, 0, sizeof(*sm));
	sm->data_fd = sm->pieces_fd = -1;
}

/* The directory of a model given by id, name or id prefix. */
static char *
store_find(const char *root, const char *model, char **cause)
{
	struct manifest m;
	struct dirent *de;
	char *path, *found = NULL;
	DIR *d;
	int n = 0;

	if (strchr(model, '/') == NULL && model[0] != '.') {
		path = xasprintf("%s/%s/manifest.json", root, model);
		if (access(path, F_OK) == 0) {
			path[strlen(path) - strlen("/manifest.json")] = '\0';
			return path;
		}
		free(path);
	}
	if ((d = opendir(root)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			path = xasprintf("%s/%s/manifest.json", root, de->d_name);
			if (manifest_load(&m, path, NULL) == 0 &&
			    (strcmp(m.name, model) == 0 || strncmp(m.id, model,
			    strlen(model)) == 0)) {
				free(found);
				found = xasprintf("%s/%s", root, de->d_name);
				n++;
			}
			if (m.id != NULL)
				manifest_release(&m);
			free(path);
		}
		closedir(d);
	}
	if (n == 1)
		return found;
	free(found);
	set_cause(cause, n == 0 ? "no model '%s' in the store (swarm shard "
	    "list shows what it holds)" : "'%s' names more than one model in "
	    "the store; give its id", model);
	return NULL;
}

/* "PROVISIONAL-ID ORIGIN-URL": what a committed model was pulled as. */
static char *
store_moved_line(const char *id, const char *origin)
{
	return xasprintf("%s %s\n", id, origin);
}

int
store_open_moved(struct store_model *sm, const struct manifest *m,
    const char *origin, char **cause)
{
	struct manifest same;
	struct dirent *de;
	char *root, *want, *path, buf[4096];
	DIR *d;
	FILE *fp;
	int rc = 0, hit;

	if ((root = store_root(cause)) == NULL)
		return -1;
	want = store_moved_line(m->id, origin);
	if ((d = opendir(root)) == NULL)
		goto out;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s/moved-from", root, de->d_name);
		hit = 0;
		if ((fp = fopen(path, "r")) != NULL) {
			hit = fgets(buf, sizeof(buf), fp) != NULL &&
			    strcmp(buf, want) == 0;
			fclose(fp);
		}
		free(path);
		if (!hit)
			continue;
		path = xasprintf("%s/%s", root, de->d_name);
		rc = store_open_dir(sm, path, STORE_WRITE, cause) == 0 ? 1 : -1;
		free(path);
		/* The same layout, the origin's header against the one held. */
		same = *m;
		if (rc == 1 && (same.id = sm->m.id, !manifest_same_file(&sm->m,
		    &same))) {
			store_close(sm);
			rc = 0;
		}
	}
	closedir(d);
out:
	free(want);
	free(root);
	return rc;
}

int
store_open(struct store_model *sm, const char *model, int mode,
    char **cause)
{
	char *root, *dir;
	int rc;

	if ((root = store_root(cause)) == NULL)
		return -1;
	dir = store_find(root, model, cause);
	free(root);
	if (dir == NULL)
		return -1;
	rc = store_open_dir(sm, dir, mode, cause);
	free(dir);
	return rc;
}

static int
store_make_file(const char *path, uint64_t size, char **cause)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0 || ftruncate(fd, (off_t)size) != 0) {
		set_cause(cause, "cannot create '%s': %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* A new model directory, made whole under a temporary name, renamed. */
static int
store_make_dir(const char *root, const struct manifest *m, char **cause)
{
	char *tmp = xasprintf("%s/.new-%s-%ld", root, m->id, (long)getpid());
	char *dir = xasprintf("%s/%s", root, m->id), *p;
	int rc = -1;

	p = NULL;
	if (mkdir(tmp, 0755) != 0) {
		set_cause(cause, "cannot create '%s': %s", tmp, strerror(errno));
		goto out;
	}
	p = xasprintf("%s/manifest.json", tmp);
	if (manifest_save(m, p, cause) != 0)
		goto out;
	free(p);
	p = xasprintf("%s/pieces", tmp);
	if (store_make_file(p, m->n_pieces * STORE_RECORD, cause) != 0)
		goto out;
	free(p);
	p = xasprintf("%s/model.gguf", tmp);
	if (store_make_file(p, m->file_size, cause) != 0)
		goto out;
	if (rename(tmp, dir) != 0 && errno != EEXIST && errno != ENOTEMPTY) {
		set_cause(cause, "cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(p);
	if (access(tmp, F_OK) == 0) {
		const char *names[] = { "manifest.json", "pieces", "model.gguf" };
		size_t i;

		for (i = 0; i < 3; i++) {
			p = xasprintf("%s/%s", tmp, names[i]);
			unlink(p);
			free(p);
		}
		rmdir(tmp);
	}
	free(tmp);
	free(dir);
	return rc;
}

int
store_create(struct store_model *sm, const struct manifest *m, char **cause)
{
	char *root, *dir = NULL;
	size_t i;
	int learned = 0, rc = -1;

	if ((root = store_root(cause)) == NULL)
		return -1;
	if (path_mkdirs(root, 0755, cause) != 0)
		goto out;
	dir = xasprintf("%s/%s", root, m->id);
	if (access(dir, F_OK) != 0 && store_make_dir(root, m, cause) != 0)
		goto out;
	if (store_open_dir(sm, dir, STORE_WRITE, cause) != 0)
		goto out;
	if (!manifest_same_file(&sm->m, m)) {
		set_cause(cause, "the store holds another file under '%s'; "
		    "swarm shard rm it first", m->id);
		store_close(sm);
		goto out;
	}
	for (i = 0; i < m->n_pieces; i++)
		if (m->pieces[i].known && !sm->m.pieces[i].known) {
			sm->m.pieces[i] = m->pieces[i];
			learned = 1;
		}
	rc = learned ? store_save_manifest(sm, cause) : 0;
	if (rc != 0)
		store_close(sm);
out:
	free(dir);
	free(root);
	return rc;
}

int
store_save_manifest(struct store_model *sm, char **cause)
{
	char *path = xasprintf("%s/manifest.json", sm->dir);
	int rc = manifest_save(&sm->m, path, cause);

	free(path);
	return rc;
}

int
store_piece_check(const struct store_model *sm, size_t i, const void *buf,
    size_t len, uint8_t h[MANIFEST_HASH_BYTES], int *bad, char **cause)
{
	const struct manifest_piece *p = &sm->m.pieces[i];

	*bad = 0;
	if (len != p->size) {
		*bad = 1;
		return set_cause(cause, "piece %zu: %zu bytes, want %llu", i,
		    len, (unsigned long long)p->size);
	}
	manifest_hash(buf, len, h);
	if (p->known && sodium_memcmp(h, p->hash, MANIFEST_HASH_BYTES) != 0) {
		*bad = 1;
		return set_cause(cause, "piece %zu does not match its hash", i);
	}
	return 0;
}

int
store_piece_write(struct store_model *sm, size_t i, const void *buf,
    size_t len, const uint8_t h[MANIFEST_HASH_BYTES], char **cause)
{
	struct manifest_piece *p = &sm->m.pieces[i];

	if (sm->linked)
		return set_cause(cause, "'%s' is a link to a whole file",
		    sm->m.id);
	if (store_pwrite_all(sm->data_fd, buf, len, p->offset) != 0)
		return set_cause(cause, "cannot write '%s': %s", sm->data_path,
		    strerror(errno));
	/* Only now, with the bytes written, is the piece recorded held
	 * (synced by the next open; see store_settle_unsynced). */
	if (store_pwrite_all(sm->pieces_fd, h, MANIFEST_HASH_BYTES,
	    i * STORE_RECORD) != 0)
		return set_cause(cause, "cannot write '%s': %s",
		    sm->pieces_path, strerror(errno));
	memcpy(p->hash, h, MANIFEST_HASH_BYTES);
	p->known = 1;
	sm->held[i] = 1;
	return 0;
}

int
store_piece_put(struct store_model *sm, size_t i, const void *buf,
    size_t len, int *bad, char **cause)
{
	uint8_t h[MANIFEST_HASH_BYTES];

	if (store_piece_check(sm, i, buf, len, h, bad, cause) != 0)
		return -1;
	return store_piece_write(sm, i, buf, len, h, cause);
}

int
store_piece_read(struct store_model *sm, size_t i, void *buf, char **cause)
{
	const struct manifest_piece *p = &sm->m.pieces[i];
	int fd = sm->data_fd, rc;

	if (fd < 0 && (fd = open(sm->data_path, O_RDONLY | O_CLOEXEC)) < 0)
		return set_cause(cause, "cannot open '%s': %s", sm->data_path,
		    strerror(errno));
	rc = store_pread_all(fd, buf, p->size, p->offset);
	if (fd != sm->data_fd)
		close(fd);
	if (rc != 0)
		return set_cause(cause, "cannot read '%s': %s", sm->data_path,
		    strerror(errno));
	return 0;
}

uint64_t
store_missing_bytes(const struct store_model *sm, const uint8_t *want)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < sm->m.n_pieces; i++)
		if (want[i] && !sm->held[i])
			n += sm->m.pieces[i].size;
	return n;
}

int
store_check_space(const struct store_model *sm, const uint8_t *want,
    char **cause)
{
	struct statvfs sv;
	uint64_t need = store_missing_bytes(sm, want), avail;

	if (statvfs(sm->dir, &sv) != 0)
		return 0;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (need > avail)
		return set_cause(cause, "not enough space in '%s': the pull "
		    "needs %llu bytes, %llu are free", sm->dir,
		    (unsigned long long)need, (unsigned long long)avail);
	return 0;
}

/* Zeroes piece i's record and frees its bytes (not a linked file's). */
void
store_piece_drop(struct store_model *sm, size_t i)
{
	uint8_t zero[STORE_RECORD] = { 0 };
	const struct manifest_piece *p = &sm->m.pieces[i];

	if (sm->pieces_fd >= 0)
		store_pwrite_all(sm->pieces_fd, zero, sizeof(zero),
		    i * STORE_RECORD);
	if (!sm->linked && sm->data_fd >= 0 && i > 0)
		fallocate(sm->data_fd, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, (off_t)p->offset, (off_t)p->size);
	sm->held[i] = 0;
}

int
store_has_span(const struct store_model *sm, uint32_t a, uint32_t b,
    int head, uint32_t *missing_block)
{
	uint8_t *want = xcalloc(sm->m.n_pieces, 1);
	const struct manifest_tensor *t;
	size_t i;
	int ok = 1;

	manifest_want(&sm->m, a, b, head, want);
	*missing_block = MANIFEST_NO_BLOCK;
	for (i = 0; i < sm->m.n_pieces && ok; i++) {
		if (!want[i] || sm->held[i])
			continue;
		ok = 0;
		if (sm->m.pieces[i].tensor != SIZE_MAX) {
			t = &sm->m.tensors[sm->m.pieces[i].tensor];
			*missing_block = t->block;
		}
	}
	free(want);
	return ok;
}
