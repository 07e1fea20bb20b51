/*
 * File-system paths: creating a directory and its parents.
 */
#ifndef SWARM_UTIL_PATH_H
#define SWARM_UTIL_PATH_H

#include <sys/types.h>

/* mkdir -p with mode for the directories it creates. */
int	path_mkdirs(const char *dir, mode_t mode, char **cause);

#endif
