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

/* Edit distance between two strings (for "did you mean" suggestions). */
size_t	 str_distance(const char *a, const char *b);

#endif
