/*
 * `swarm top`: the live board of the swarm (ncurses, src/ui/top.c), or in
 * batch mode plain-text snapshots or one JSON document per refresh
 * (src/ui/top-batch.c), over the same data (top-model.h) and the same
 * watch (engine/watch.h).
 */
#ifndef SWARM_UI_TOP_H
#define SWARM_UI_TOP_H

#include <stdio.h>

#include "engine/watch.h"

struct top;
struct strbuf;

struct top_options {
	struct watch_config	 watch;
	const char		*network;
	int			 batch;		/* plain-text snapshots */
	int			 json;		/* one JSON document a refresh */
	long			 count;		/* refreshes; 0: until stopped */
	int			 color;		/* allowed (no NO_COLOR etc.) */
	int			 width;		/* batch text width */
	const char		*sort;		/* a column's name, or NULL */
	const char		*filter;	/* or NULL */
	FILE			*out;		/* batch output */
};

/* Runs the board or the batch until done; -1 with *cause on an error. */
int		 top_main(const struct top_options *, char **cause);

/* The board as text, width columns wide; utf8: block glyphs. */
void		 top_text(const struct top *, int width, int utf8,
		    struct strbuf *);
/* The board as one JSON document (every peer, sorted, filtered). */
struct json_t	*top_json(const struct top *);
/* The batch mode's loop. */
int		 top_batch(const struct top_options *, char **cause);

/* Glyphs: a coverage cell of n replicas; a sparkline level 0..7. */
const char	*top_glyph_cover(unsigned n, int utf8);
const char	*top_glyph_spark(int level, int utf8);

#endif
