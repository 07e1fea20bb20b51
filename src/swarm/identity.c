/*
 * Node identity: load or create the Ed25519 key file, sign and verify. The
 * file holds one line, "swarm-ed25519-v1 <hex seed>", from which libsodium
 * derives the key pair; it is written to a temporary file and linked into
 * place, so a reader never sees half a key and a second creator loses the
 * race cleanly and reads the winner's key.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "swarm/identity.h"
#include "util/hex.h"
#include "util/path.h"
#include "util/xmalloc.h"

#define IDENTITY_MAGIC	"swarm-ed25519-v1"
#define IDENTITY_SEED_LEN 32

static void
identity_init_sodium(void)
{
	if (sodium_init() < 0)
		abort();
}




void
identity_peer_id(const uint8_t pk[IDENTITY_PK_LEN], char out[PEER_ID_LEN + 1])
{
	uint8_t h[PEER_ID_LEN / 2];

	identity_init_sodium();
	crypto_generichash(h, sizeof(h), pk, IDENTITY_PK_LEN, NULL, 0);
	hex_encode(h, sizeof(h), out);
}

static void
identity_from_seed(struct identity *id, const uint8_t seed[IDENTITY_SEED_LEN])
{
	identity_init_sodium();
	crypto_sign_seed_keypair(id->pk, id->sk, seed);
	identity_peer_id(id->pk, id->peer_id);
}

void
identity_generate(struct identity *id)
{
	uint8_t seed[IDENTITY_SEED_LEN];

	identity_init_sodium();
	randombytes_buf(seed, sizeof(seed));
	identity_from_seed(id, seed);
	sodium_memzero(seed, sizeof(seed));
}

void
identity_release(struct identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

static int
identity_read(const char *path, struct identity *id, char **cause)
{
	char buf[256], *nl;
	uint8_t seed[IDENTITY_SEED_LEN];
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return set_cause(cause, "cannot open '%s': %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1) {
		set_cause(cause, "cannot stat '%s': %s", path, strerror(errno));
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		set_cause(cause, "'%s' is readable by others (mode %03o); "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		set_cause(cause, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	if (strncmp(buf, IDENTITY_MAGIC " ", sizeof(IDENTITY_MAGIC)) != 0 ||
	    hex_decode(buf + sizeof(IDENTITY_MAGIC), seed,
	    sizeof(seed)) != 0) {
		set_cause(cause, "'%s' is not a swarm identity file", path);
		goto out;
	}
	identity_from_seed(id, seed);
	rc = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(seed, sizeof(seed));
	close(fd);
	return rc;
}

static int
identity_create(const char *dir, const char *path, char **cause)
{
	char *tmp, line[sizeof(IDENTITY_MAGIC) + 2 * IDENTITY_SEED_LEN + 2];
	uint8_t seed[IDENTITY_SEED_LEN];
	size_t len;
	int fd, rc = -1;

	tmp = xasprintf("%s/.identity.key.XXXXXX", dir);
	/* mkstemp makes the file 0600. */
	if ((fd = mkstemp(tmp)) == -1) {
		set_cause(cause, "cannot create a file in '%s': %s", dir,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	identity_init_sodium();
	randombytes_buf(seed, sizeof(seed));
	memcpy(line, IDENTITY_MAGIC " ", sizeof(IDENTITY_MAGIC));
	hex_encode(seed, sizeof(seed), line + sizeof(IDENTITY_MAGIC));
	len = strlen(line);
	line[len++] = '\n';
	if (write(fd, line, len) != (ssize_t)len || fsync(fd) == -1) {
		set_cause(cause, "cannot write '%s': %s", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	close(fd);
	/* link() fails if another process made the file first: keep theirs. */
	if (link(tmp, path) == -1 && errno != EEXIST) {
		set_cause(cause, "cannot create '%s': %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	unlink(tmp);
	free(tmp);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(line, sizeof(line));
	return rc;
}

int
identity_load(const char *dir, struct identity *id, char **cause)
{
	char *path = xasprintf("%s/%s", dir, IDENTITY_FILE);
	int rc;

	rc = identity_load_file(path, id, cause);
	free(path);
	return rc;
}

int
identity_load_file(const char *path, struct identity *id, char **cause)
{
	char *dir, *slash;
	int rc = -1;

	memset(id, 0, sizeof(*id));
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (access(path, F_OK) == -1) {
		if (errno != ENOENT) {
			set_cause(cause, "cannot open '%s': %s", path,
			    strerror(errno));
			goto out;
		}
		if (path_mkdirs(dir, 0700, cause) != 0 ||
		    identity_create(dir, path, cause) != 0)
			goto out;
	}
	rc = identity_read(path, id, cause);
out:
	free(dir);
	return rc;
}

void
identity_sign(const struct identity *id, const void *msg, size_t len,
    uint8_t sig[IDENTITY_SIG_LEN])
{
	identity_init_sodium();
	crypto_sign_detached(sig, NULL, msg, len, id->sk);
}

int
identity_verify(const uint8_t pk[IDENTITY_PK_LEN], const void *msg, size_t len,
    const uint8_t sig[IDENTITY_SIG_LEN])
{
	identity_init_sodium();
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
}
