/*
 * Range-checked number parsing. Every number that comes from a user, a file
 * or a peer goes through these instead of atoi/strtol, so an out-of-range or
 * malformed value is an error with a reason rather than a silent wrap.
 */
#ifndef SWARM_UTIL_PARSE_H
#define SWARM_UTIL_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * On failure these return 0 and point *errstr at a static reason
 * ("invalid", "too small", "too large"); on success *errstr is NULL.
 */
uint64_t parse_uint(const char *s, uint64_t min, uint64_t max, const char **errstr);
int64_t	 parse_int(const char *s, int64_t min, int64_t max, const char **errstr);
double	 parse_double(const char *s, double min, double max, const char **errstr);
/* "true/false/yes/no/on/off/1/0"; returns 0/1, or -1 when not a boolean. */
int	 parse_bool(const char *s);

/*
 * "A:B" with min <= A < B <= max; *errstr "not A:B with A < B" or as
 * parse_uint's. Returns 0 or -1.
 */
int	 parse_span(const char *s, uint64_t min, uint64_t max, uint32_t *a,
	    uint32_t *b, const char **errstr);
/* Bytes, with an optional K, M or G suffix (powers of 1024). */
uint64_t parse_size(const char *s, uint64_t min, uint64_t max,
	    const char **errstr);
/* "HOST:PORT" or "[V6]:PORT", port 0 to 65535; *errstr "not HOST:PORT". */
int	 parse_address(const char *s, const char **errstr);

/*
 * Integers in [0, max] separated by commas or white space ("1, 2 3") into
 * *ids (allocated; NULL for none). On a bad one returns -1 with *bad (an
 * allocated copy of it) and *errstr why, *ids freed.
 */
int	 parse_ids(const char *s, uint64_t max, int32_t **ids, size_t *n,
	    char **bad, const char **errstr);

/* Edit distance between two strings (for "did you mean" suggestions). */
size_t	 str_distance(const char *a, const char *b);

#endif
