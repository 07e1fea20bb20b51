/* Shared between the ledger's store (ledger.c) and its queries. */
#ifndef SWARM_LEDGER_PRIVATE_H
#define SWARM_LEDGER_PRIVATE_H

#include <sqlite3.h>

#include "ledger/ledger.h"

int		 ledger_db_open(const char *path, int readonly, sqlite3 **,
		    char **cause);
const char	*ledger_role_name(enum ledger_role);
int		 ledger_db_balances(sqlite3 *, const struct ledger_filter *,
		    struct ledger_balance **, size_t *n, char **cause);

#endif
