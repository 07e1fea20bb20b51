/*
 * Tests for src/swarm/identity: the key file is made once, private, and read
 * back to the same key; signatures verify and a tampered message or
 * signature does not.
 */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "swarm/identity.h"
#include "util/hex.h"
#include "util/xmalloc.h"

static void
test_identity_sign_verify(void)
{
	struct identity id, other;
	uint8_t sig[IDENTITY_SIG_LEN];
	char msg[] = "blocks 0:2 of llama-f32-0123456789ab";

	identity_generate(&id);
	identity_generate(&other);
	CHECK(strlen(id.peer_id) == PEER_ID_LEN);
	CHECK(strcmp(id.peer_id, other.peer_id) != 0);
	identity_sign(&id, msg, strlen(msg), sig);
	CHECK(identity_verify(id.pk, msg, strlen(msg), sig) == 0);
	CHECK(identity_verify(other.pk, msg, strlen(msg), sig) == -1);
	msg[7] ^= 1;
	CHECK(identity_verify(id.pk, msg, strlen(msg), sig) == -1);
	msg[7] ^= 1;
	sig[10] ^= 0x40;
	CHECK(identity_verify(id.pk, msg, strlen(msg), sig) == -1);
	identity_release(&id);
	identity_release(&other);
}

static void
test_identity_peer_id(void)
{
	struct identity id;
	char pid[PEER_ID_LEN + 1];

	identity_generate(&id);
	identity_peer_id(id.pk, pid);
	CHECK(strcmp(pid, id.peer_id) == 0);
	id.pk[0] ^= 1;
	identity_peer_id(id.pk, pid);
	CHECK(strcmp(pid, id.peer_id) != 0);
}

static void
test_identity_hex(void)
{
	uint8_t b[3] = { 0x00, 0xab, 0xff }, c[3];
	char s[7];

	hex_encode(b, 3, s);
	CHECK(strcmp(s, "00abff") == 0);
	CHECK(hex_decode("00ABff", c, 3) == 0 && memcmp(b, c, 3) == 0);
	CHECK(hex_decode("00abf", c, 3) == -1);
	CHECK(hex_decode("00abfg", c, 3) == -1);
	CHECK(hex_decode("00abff00", c, 3) == -1);
}

static void
test_identity_file(void)
{
	struct identity a, b;
	struct stat st;
	char tmpl[] = "/tmp/swarm-test-id-XXXXXX", *dir, *path, *cause = NULL;
	FILE *fp;

	CHECK(mkdtemp(tmpl) != NULL);
	dir = xasprintf("%s/data/swarm", tmpl);
	path = xasprintf("%s/%s", dir, IDENTITY_FILE);
	CHECKF(identity_load(dir, &a, &cause) == 0, "%s", cause);
	CHECK(stat(path, &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	CHECKF(identity_load(dir, &b, &cause) == 0, "%s", cause);
	CHECK(strcmp(a.peer_id, b.peer_id) == 0);
	CHECK(memcmp(a.sk, b.sk, sizeof(a.sk)) == 0);

	/* A key others can read is refused, as ssh does. */
	CHECK(chmod(path, 0644) == 0);
	CHECK(identity_load(dir, &b, &cause) == -1);
	CHECK(strstr(cause, "readable by others") != NULL);
	free(cause);
	cause = NULL;

	/* A damaged file is an error, not a new key. */
	CHECK(chmod(path, 0600) == 0);
	fp = fopen(path, "w");
	CHECK(fp != NULL);
	fputs("swarm-ed25519-v1 zz\n", fp);
	fclose(fp);
	CHECK(identity_load(dir, &b, &cause) == -1);
	CHECK(strstr(cause, "not a swarm identity file") != NULL);
	free(cause);

	unlink(path);
	rmdir(dir);
	free(dir);
	dir = xasprintf("%s/data", tmpl);
	rmdir(dir);
	rmdir(tmpl);
	free(dir);
	free(path);
}

int
main(void)
{
	TEST_RUN(test_identity_sign_verify);
	TEST_RUN(test_identity_peer_id);
	TEST_RUN(test_identity_hex);
	TEST_RUN(test_identity_file);
	TEST_EXIT();
}
