/*
 * Bytes as hex text: keys, peer ids, digests and signatures in records,
 * receipts and files.
 */
#ifndef SWARM_UTIL_HEX_H
#define SWARM_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void	hex_encode(const uint8_t *, size_t n, char *out);
/* Exactly 2n hex digits (either case) into n bytes; -1 otherwise. */
int	hex_decode(const char *, uint8_t *out, size_t n);

#endif
