/*
 * The one-line progress display (progress.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui/progress.h"
#include "util/clock.h"
#include "util/xmalloc.h"

#define PROGRESS_REDRAW	0.1	/* seconds between redraws */

struct progress {
	FILE	*fp;
	char	*what;
	double	 start;
	double	 drawn;		/* when last drawn; 0: never */
};

struct progress *
progress_new(FILE *fp, const char *what)
{
	struct progress *p;

	if (fp == NULL || !isatty(fileno(fp)))
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->fp = fp;
	p->what = xstrdup(what);
	p->start = clock_now();
	return p;
}

void
progress_update(struct progress *p, uint64_t done, uint64_t total)
{
	double now, pct, left;

	if (p == NULL || total == 0)
		return;
	now = clock_now();
	if (p->drawn != 0 && now - p->drawn < PROGRESS_REDRAW && done < total)
		return;
	p->drawn = now;
	pct = 100.0 * (double)done / (double)total;
	fprintf(p->fp, "\r\033[K%s: %3.0f%% (%.0f of %.0f MiB)", p->what, pct,
	    done / 1048576.0, total / 1048576.0);
	/* time left from the rate so far, once there is a rate */
	if (done > 0 && done < total && now > p->start) {
		left = (now - p->start) * (double)(total - done) / (double)done;
		fprintf(p->fp, ", %.0f s left", left + 0.5);
	}
	fflush(p->fp);
}

void
progress_transfer(struct progress *p, uint64_t done, uint64_t total,
    unsigned sources)
{
	double now, rate;

	if (p == NULL || total == 0)
		return;
	now = clock_now();
	if (p->drawn != 0 && now - p->drawn < PROGRESS_REDRAW && done < total)
		return;
	p->drawn = now;
	rate = now > p->start ? (double)done / (now - p->start) : 0;
	fprintf(p->fp, "\r\033[K%s: %3.0f%% (%.1f of %.1f MiB), %.1f MiB/s from "
	    "%u source%s", p->what, 100.0 * (double)done / (double)total,
	    done / 1048576.0, total / 1048576.0, rate / 1048576.0, sources,
	    sources == 1 ? "" : "s");
	if (done < total && rate > 0)
		fprintf(p->fp, ", %.0f s left", (double)(total - done) / rate +
		    0.5);
	fflush(p->fp);
}

void
progress_free(struct progress *p)
{
	if (p == NULL)
		return;
	if (p->drawn != 0) {
		fputs("\r\033[K", p->fp);
		fflush(p->fp);
	}
	free(p->what);
	free(p);
}

void
progress_model_cb(void *arg, uint64_t done, uint64_t total)
{
	progress_update(arg, done, total);
}

void
progress_transfer_cb(void *arg, uint64_t done, uint64_t total,
    unsigned sources)
{
	progress_transfer(arg, done, total, sources);
}
