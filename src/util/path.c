/*
 * File-system paths (path.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/path.h"
#include "util/xmalloc.h"

int
path_mkdirs(const char *dir, mode_t mode, char **cause)
{
	struct stat st;
	char *p = xstrdup(dir), *s, c;
	int rc = -1;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			set_cause(cause, "cannot create '%s': %s", p,
			    strerror(errno));
			goto out;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		set_cause(cause, "'%s' is not a directory", dir);
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

int
path_write_atomic(const char *path, const char *text, char **cause)
{
	static atomic_uint serial;
	char *tmp;
	FILE *fp;
	int rc = 0, bad;

	/* A temporary name of this write's own: two writers at once (two
	 * processes, two threads) each rename a whole file. */
	tmp = xasprintf("%s.%ld.%u.tmp", path, (long)getpid(),
	    atomic_fetch_add(&serial, 1));
	if ((fp = fopen(tmp, "w")) == NULL)
		rc = set_cause(cause, "cannot write '%s': %s", path,
		    strerror(errno));
	else {
		bad = fputs(text, fp) == EOF;
		if (fclose(fp) != 0 || bad || rename(tmp, path) != 0) {
			rc = set_cause(cause, "cannot write '%s': %s", path,
			    strerror(errno));
			unlink(tmp);
		}
	}
	free(tmp);
	return rc;
}
