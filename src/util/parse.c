/*
 * Number parsing with explicit ranges, and the string distance used to
 * suggest the nearest valid name when a user mistypes one.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "xmalloc.h"

uint64_t
parse_uint(const char *s, uint64_t min, uint64_t max, const char **errstr)
{
	unsigned long long v;
	char *end;

	*errstr = "invalid";
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s) || *s == '-' ||
	    *s == '+')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return 0;
	if (errno == ERANGE || v > max) {
		*errstr = "too large";
		return 0;
	}
	if (v < min) {
		*errstr = "too small";
		return 0;
	}
	*errstr = NULL;
	return v;
}

int64_t
parse_int(const char *s, int64_t min, int64_t max, const char **errstr)
{
	long long v;
	char *end;

	*errstr = "invalid";
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return 0;
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		return 0;
	}
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		return 0;
	}
	*errstr = NULL;
	return v;
}

double
parse_double(const char *s, double min, double max, const char **errstr)
{
	double v;
	char *end;

	*errstr = "invalid";
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return 0;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || isnan(v))
		return 0;
	if (v > max || (errno == ERANGE && v > 0)) {
		*errstr = "too large";
		return 0;
	}
	if (v < min) {
		*errstr = "too small";
		return 0;
	}
	*errstr = NULL;
	return v;
}

int
parse_bool(const char *s)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

size_t
str_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, *row, prev, tmp, best;

	row = xcalloc(lb + 1, sizeof(*row));
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	best = row[lb];
	free(row);
	return best;
}

int
parse_span(const char *s, uint64_t min, uint64_t max, uint32_t *a,
    uint32_t *b, const char **errstr)
{
	const char *colon = strchr(s, ':');
	char *first;
	uint64_t x, y;

	if (max > UINT32_MAX)
		max = UINT32_MAX;
	*errstr = "not A:B with A < B";
	if (colon == NULL)
		return -1;
	first = xstrndup(s, (size_t)(colon - s));
	x = parse_uint(first, min, max, errstr);
	free(first);
	if (*errstr != NULL)
		return -1;
	y = parse_uint(colon + 1, min, max, errstr);
	if (*errstr != NULL)
		return -1;
	if (x >= y) {
		*errstr = "not A:B with A < B";
		return -1;
	}
	*a = (uint32_t)x;
	*b = (uint32_t)y;
	return 0;
}

uint64_t
parse_size(const char *s, uint64_t min, uint64_t max, const char **errstr)
{
	size_t len = s != NULL ? strlen(s) : 0;
	uint64_t v, mult = 1;
	char *num;

	if (len > 1 && strchr("kKmMgG", s[len - 1]) != NULL) {
		mult = strchr("kK", s[len - 1]) ? 1024 : strchr("mM",
		    s[len - 1]) ? 1024 * 1024 : 1024 * 1024 * 1024;
		len--;
	}
	num = xstrndup(s != NULL ? s : "", len);
	v = parse_uint(num, 0, UINT64_MAX / mult, errstr);
	free(num);
	if (*errstr != NULL)
		return 0;
	v *= mult;
	if (v > max || v < min) {
		*errstr = v > max ? "too large" : "too small";
		return 0;
	}
	return v;
}

int
parse_address(const char *s, const char **errstr)
{
	const char *colon = strrchr(s, ':');

	*errstr = "not HOST:PORT";
	if (colon == NULL || colon == s)
		return -1;
	/* An IPv6 literal is bracketed: "[::1]:7400". */
	if (strchr(s, ':') != colon && (s[0] != '[' || colon[-1] != ']'))
		return -1;
	parse_uint(colon + 1, 0, 65535, errstr);
	if (*errstr != NULL) {
		*errstr = "not HOST:PORT";
		return -1;
	}
	return 0;
}

int
parse_ids(const char *s, uint64_t max, int32_t **ids, size_t *n, char **bad,
    const char **errstr)
{
	char *copy = xstrdup(s), *p = copy, *t;
	uint64_t v;
	int rc = 0;

	if (max > INT32_MAX)
		max = INT32_MAX;
	*ids = NULL;
	*n = 0;
	*errstr = NULL;
	while ((t = strsep(&p, ", \t\n")) != NULL) {
		if (*t == '\0')
			continue;
		v = parse_uint(t, 0, max, errstr);
		if (*errstr != NULL) {
			*bad = xstrdup(t);
			free(*ids);
			*ids = NULL;
			*n = 0;
			rc = -1;
			break;
		}
		*ids = xreallocarray(*ids, *n + 1, sizeof(**ids));
		(*ids)[(*n)++] = (int32_t)v;
	}
	free(copy);
	return rc;
}
