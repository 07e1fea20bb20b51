/*
 * A one-line progress display for long work (loading and repacking a
 * model): what is happening, how far, how long is left. It draws only on a
 * terminal; on anything else it writes nothing at all, so scripts and logs
 * see no carriage returns.
 */
#ifndef SWARM_UI_PROGRESS_H
#define SWARM_UI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

struct progress;

/* A display of what (e.g. "loading model.gguf") on fp; NULL when fp is not
 * a terminal (every call below accepts NULL and does nothing). */
struct progress	*progress_new(FILE *fp, const char *what);
/* done of total units (bytes); redraws at most ten times a second. */
void		 progress_update(struct progress *, uint64_t done,
		    uint64_t total);
/*
 * A transfer's line: done of total bytes, the rate so far, the sources in
 * use and the time left.
 */
void		 progress_transfer(struct progress *, uint64_t done,
		    uint64_t total, unsigned sources);
/* Clears the line and frees the display. */
void		 progress_free(struct progress *);
/* progress_transfer with the signature of a pull's progress callback. */
void		 progress_transfer_cb(void *arg, uint64_t done, uint64_t total,
		    unsigned sources);
/* progress_update with the signature of a model_progress callback. */
void		 progress_model_cb(void *arg, uint64_t done, uint64_t total);

#endif
