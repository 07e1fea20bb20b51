/*
 * The terminal side of `infer chat`: a readline prompt with line editing,
 * history kept in a file, multi-line input (a line ending in '\', or a
 * block between two '"""' lines), slash commands completed with Tab, and
 * the reply streamed as it comes. Ctrl-C stops a reply (what was said is
 * kept) and on an empty prompt quits, as Ctrl-D does.
 *
 * When input is not a terminal, each line is one user message (or slash
 * command) and each reply is printed whole, for scripts and tests.
 */
#ifndef SWARM_UI_CHAT_REPL_H
#define SWARM_UI_CHAT_REPL_H

#include <signal.h>
#include <stdio.h>

#include "core/generate.h"

struct dialog;

struct chat_repl_config {
	struct dialog		*dialog;
	/* Sampling and length of every reply; /set changes them. */
	struct generate_params	 params;
	/* The history is kept in chat_history there; NULL: not kept. */
	const char		*history_dir;
	int			 history_size;
	FILE			*out;		/* replies, /stats */
	FILE			*err;		/* notices */
};

/* The flag Ctrl-C sets (give it to the dialog, whose replies it stops). */
volatile sig_atomic_t	*chat_repl_cancel_flag(void);
/* Runs until end of input, /quit, or Ctrl-C on an empty prompt. */
int			 chat_repl_run(const struct chat_repl_config *,
			    char **cause);

#endif
