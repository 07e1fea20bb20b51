/*
 * A node's identity: an Ed25519 key pair (libsodium) made on first use and
 * kept in the data directory, readable by its owner only. The peer id is the
 * hex BLAKE2b-256 of the public key, so anyone holding a record and its key
 * can check that the key speaks for the peer; every record a node puts in
 * the DHT is signed with it, and readers drop what does not verify.
 */
#ifndef SWARM_SWARM_IDENTITY_H
#define SWARM_SWARM_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "swarm/record.h"

#define IDENTITY_PK_LEN		32
#define IDENTITY_SK_LEN		64
#define IDENTITY_SIG_LEN	64
#define IDENTITY_FILE		"identity.key"

struct identity {
	uint8_t	pk[IDENTITY_PK_LEN];
	uint8_t	sk[IDENTITY_SK_LEN];
	char	peer_id[PEER_ID_LEN + 1];
};

/*
 * Reads dir/identity.key, or creates it (mode 0600, and dir with mode 0700
 * when missing). Two processes starting at once end with the same key: the
 * file appears whole or not at all.
 */
int	identity_load(const char *dir, struct identity *, char **cause);
/* The same for the key file at path (its directory made when missing). */
int	identity_load_file(const char *path, struct identity *, char **cause);
/* A fresh key pair kept only in memory (clients, tests). */
void	identity_generate(struct identity *);
/* Wipes the secret key. */
void	identity_release(struct identity *);

void	identity_sign(const struct identity *, const void *msg, size_t len,
	    uint8_t sig[IDENTITY_SIG_LEN]);
/* 0 when sig is pk's signature of msg, else -1. */
int	identity_verify(const uint8_t pk[IDENTITY_PK_LEN], const void *msg,
	    size_t len, const uint8_t sig[IDENTITY_SIG_LEN]);
/* The peer id of a public key: PEER_ID_LEN hex characters and a NUL. */
void	identity_peer_id(const uint8_t pk[IDENTITY_PK_LEN],
	    char out[PEER_ID_LEN + 1]);


#endif
