/*
 * A conversation as a list of chat messages (system, user, assistant), as
 * `infer chat` keeps it and as OpenAI's API and `/save` write it: a JSON
 * array of {"role", "content"} objects.
 */
#ifndef SWARM_ENGINE_CONVERSATION_H
#define SWARM_ENGINE_CONVERSATION_H

#include <stddef.h>

#include "core/chat.h"

/* A saved conversation larger than this is refused. */
#define CONVERSATION_FILE_MAX	(64u << 20)

struct conversation {
	struct chat_message	*msgs;	/* role and content allocated */
	size_t			 n;
};

struct json_t;

void	conversation_init(struct conversation *);
void	conversation_release(struct conversation *);
/* Appends a copy of the message. */
void	conversation_add(struct conversation *, const char *role,
	    const char *content);
/* Forgets the last message, if any. */
void	conversation_pop(struct conversation *);
/* The last message's role, or NULL when empty. */
const char *conversation_last_role(const struct conversation *);
/* Forgets every message but the system one. */
void	conversation_clear(struct conversation *);
/* Sets (or with NULL removes) the system message, kept first. */
void	conversation_set_system(struct conversation *, const char *text);
/*
 * Forgets the oldest turn after the system message: its user message and
 * the replies up to the next user message. The last user message is
 * never dropped: -1 when nothing else is left to drop.
 */
int	conversation_drop_oldest(struct conversation *);
/* The messages as an OpenAI messages array (a new reference). */
struct json_t *conversation_json(const struct conversation *);
int	conversation_save(const struct conversation *, const char *path,
	    char **cause);
/* Replaces the conversation with the file's; unchanged on error. */
int	conversation_load(struct conversation *, const char *path,
	    char **cause);

#endif
