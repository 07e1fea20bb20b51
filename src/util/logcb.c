/*
 * Log callbacks (logcb.h).
 */
#include <stdlib.h>

#include "util/logcb.h"
#include "util/xmalloc.h"

void
logcb_vprintf(logcb_fn fn, void *arg, const char *fmt, va_list ap)
{
	char *msg;

	if (fn == NULL)
		return;
	msg = xvasprintf(fmt, ap);
	fn(arg, msg);
	free(msg);
}
