/*
 * File-system paths: creating a directory and its parents, writing a
 * small file atomically.
 */
#ifndef SWARM_UTIL_PATH_H
#define SWARM_UTIL_PATH_H

#include <sys/types.h>

/*
 * Writes text to path whole, through a temporary file of its own renamed
 * over it, so a reader never sees half of it (port files that tests poll)
 * and two writers at once leave one's text or the other's, whole.
 */
int	path_write_atomic(const char *path, const char *text, char **cause);
/* mkdir -p with mode for the directories it creates. */
int	path_mkdirs(const char *dir, mode_t mode, char **cause);

#endif
