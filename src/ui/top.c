/*
 * The board of `swarm top` in ncurses (top.h): a header, the selected
 * model's coverage bar, a sparkline of the swarm's tokens per second, the
 * local node's pane, and the peer table, with a peer's detail and the
 * help in place of the table. One thread: the watch's transfers and the
 * keyboard are waited for together (watch_run polls stdin), signals only
 * set a flag that the loop reads, and every way out goes through one
 * endwin().
 */
#include <curses.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ui/top-model.h"
#include "ui/top.h"
#include "util/xmalloc.h"

/* The loop wakes at least this often for a resize or a signal. */
#define TOP_TICK	0.25
#define TOP_MIN_COLS	40
#define TOP_MIN_LINES	10

enum top_pane {
	TOP_PANE_TABLE,
	TOP_PANE_DETAIL,
	TOP_PANE_HELP,
};

enum top_color {
	TOP_COLOR_BAD = 1,	/* gaps, unreachable */
	TOP_COLOR_THIN,		/* one replica, busy, draining */
	TOP_COLOR_GOOD,
	TOP_COLOR_TITLE,
};

struct top_ui {
	struct top		 t;
	struct watch		*w;
	int			 utf8;
	int			 color;
	int			 paused;
	enum top_pane		 pane;
	int			 editing;	/* the filter */
	size_t			 sel;		/* in t.view */
	size_t			 scroll;
	char			 sel_addr[PEER_ADDR_MAX];
	char			 detail[PEER_ADDR_MAX];	/* asked for /info */
	char			 disc_error[256];	/* why no peer is known */
};

static volatile sig_atomic_t top_signalled;

static void
top_on_signal(int sig)
{
	top_signalled = sig;
}

static int
top_attr(const struct top_ui *u, enum top_color c)
{
	return u->color ? COLOR_PAIR(c) : 0;
}

/* A line of text at y, cut at the screen's edge, the rest cleared. */
static void
top_put(int y, const char *s, int attr)
{
	move(y, 0);
	clrtoeol();
	attron(attr);
	mvaddnstr(y, 0, s, COLS);
	attroff(attr);
}

static int
top_cover_attr(const struct top_ui *u, unsigned n)
{
	return top_attr(u, n == 0 ? TOP_COLOR_BAD : n == 1 ? TOP_COLOR_THIN :
	    TOP_COLOR_GOOD);
}

static void
top_draw_bar(struct top_ui *u, int y)
{
	const struct top_cover *c = top_model(&u->t);
	int i, n = COLS - 2, a;
	uint32_t *cells;
	char gaps[512];

	cells = xcalloc((size_t)n, sizeof(*cells));
	top_bar(c, n, cells);
	move(y, 0);
	clrtoeol();
	addch('[');
	for (i = 0; i < n; i++) {
		if (c == NULL || c->n_block == 0) {
			addch(' ');	/* nothing known yet */
			continue;
		}
		a = top_cover_attr(u, cells[i]);
		attron(a);
		addstr(top_glyph_cover(cells[i], u->utf8));
		attroff(a);
	}
	addch(']');
	free(cells);
	top_gaps(c, gaps, sizeof(gaps));
	top_put(y + 1, gaps, c != NULL && !c->complete ?
	    top_attr(u, TOP_COLOR_BAD) | A_BOLD : 0);
}

static void
top_draw_spark(struct top_ui *u, int y)
{
	int levels[TOP_HISTORY], i, n = COLS - 32;
	char label[32];
	double max;

	if (n > TOP_HISTORY)
		n = TOP_HISTORY;
	move(y, 0);
	clrtoeol();
	if (n < 4)
		return;
	top_series_levels(&u->t.swarm_rate, u->t.now, n, levels, &max);
	addstr("tokens/s, 60 s ");
	attron(top_attr(u, TOP_COLOR_GOOD));
	for (i = 0; i < n; i++)
		addstr(top_glyph_spark(levels[i], u->utf8));
	attroff(top_attr(u, TOP_COLOR_GOOD));
	snprintf(label, sizeof(label), " max %.1f", max);
	addnstr(label, COLS - 15 - n);
}

static int
top_state_attr(const struct top_ui *u, enum top_state s)
{
	switch (s) {
	case TOP_STATE_ONLINE:
		return 0;
	case TOP_STATE_UNREACHABLE:
	case TOP_STATE_GONE:
		return top_attr(u, TOP_COLOR_BAD);
	default:
		return top_attr(u, TOP_COLOR_THIN);
	}
}

/* Keeps the selection on its peer across refreshes and sorts. */
static void
top_follow(struct top_ui *u)
{
	size_t i;

	for (i = 0; i < u->t.n_view; i++)
		if (strcmp(u->t.peers[u->t.view[i]].addr, u->sel_addr) == 0)
			u->sel = i;
	if (u->sel >= u->t.n_view)
		u->sel = u->t.n_view > 0 ? u->t.n_view - 1 : 0;
	if (u->t.n_view > 0)
		snprintf(u->sel_addr, sizeof(u->sel_addr), "%s",
		    u->t.peers[u->t.view[u->sel]].addr);
}

static void
top_draw_table(struct top_ui *u, int y, int end)
{
	const struct top_peer *p;
	char line[1024];
	int rows = end - y - 1, attr;
	size_t k;

	top_row(&u->t, NULL, COLS, line, sizeof(line));
	top_put(y++, line, A_REVERSE);
	if (rows < 1)
		return;
	if (u->sel < u->scroll)
		u->scroll = u->sel;
	if (u->sel >= u->scroll + (size_t)rows)
		u->scroll = u->sel - (size_t)rows + 1;
	for (k = u->scroll; k < u->t.n_view && y < end; k++, y++) {
		p = &u->t.peers[u->t.view[k]];
		top_row(&u->t, p, COLS, line, sizeof(line));
		attr = top_state_attr(u, p->state);
		if (k == u->sel)
			attr |= A_BOLD | (u->color ? 0 : A_UNDERLINE);
		top_put(y, line, attr);
		if (k == u->sel && u->color)
			mvchgat(y, 0, -1, A_REVERSE, 0, NULL);
	}
	if (u->t.n_view == 0 && y < end)
		top_put(y++, u->t.filter[0] != '\0' ? "no peer matches the "
		    "filter" : u->disc_error[0] != '\0' ? u->disc_error :
		    "no peer yet", 0);
	for (; y < end; y++)
		top_put(y, "", 0);
}

/* A peer's detail, in place of the table. */
static void
top_draw_detail(struct top_ui *u, int y, int end)
{
	const struct top_peer *p;
	char line[1024];
	int levels[TOP_HISTORY], i, n;
	double max;
	size_t k;

	if (u->t.n_view == 0) {
		u->pane = TOP_PANE_TABLE;
		top_draw_table(u, y, end);
		return;
	}
	p = &u->t.peers[u->t.view[u->sel]];
#define TOP_LINE(...) do {						\
	if (y < end) {							\
		snprintf(line, sizeof(line), __VA_ARGS__);		\
		top_put(y++, line, 0);					\
	}								\
} while (0)
	top_put(y++, "peer detail (Enter or Esc: back)", A_REVERSE);
	TOP_LINE("peer      %s", p->peer_id[0] != '\0' ? p->peer_id : "?");
	TOP_LINE("address   %s%s", p->addr, p->local ? " (this machine)" : "");
	TOP_LINE("model     %s", p->model_id[0] != '\0' ? p->model_id : "?");
	TOP_LINE("span      %" PRIu32 ":%" PRIu32 " of %" PRIu32 " blocks",
	    p->block_begin, p->block_end, p->n_block);
	TOP_LINE("state     %s, version %s, up %.0f s",
	    top_state_name(p->state), p->version, p->uptime);
	TOP_LINE("sessions  %" PRId64 " of %" PRId64 ", queue %" PRId64
	    ", %" PRId64 " tokens served", p->sessions, p->max_sessions,
	    p->queue, p->tokens);
	TOP_LINE("rate      %.1f tokens/s over 10 s, %.1f over 60 s, "
	    "throughput %.0f, rtt %.1f ms", p->tps_10s, p->tps_60s,
	    p->throughput, p->rtt_ms);
	n = COLS - 10 < TOP_HISTORY ? COLS - 10 : TOP_HISTORY;
	if (y < end && n > 0) {
		top_series_levels(&p->rate, u->t.now, n, levels, &max);
		top_put(y, "recent    ", 0);
		move(y++, 10);
		for (i = 0; i < n; i++)
			addstr(top_glyph_spark(levels[i], u->utf8));
	}
	for (k = 0; k < p->n_sess; k++)
		TOP_LINE("  session blocks %" PRIu32 ":%" PRIu32 ", %" PRId64
		    " positions", p->sess[k].block_begin, p->sess[k].block_end,
		    p->sess[k].length);
	if (p->has_steps) {
		char chan[64] = "";

		if (p->has_channels)
			snprintf(chan, sizeof(chan), "; %" PRId64 " came on "
			    "channels, %" PRId64 " open", p->channel_steps,
			    p->channels_open);
		TOP_LINE("steps     %" PRId64 " from clients, %" PRId64 " pushed "
		    "by peers, %" PRId64 " forwarded (%" PRId64 " failed)%s",
		    p->steps_client, p->steps_peers, p->forwarded,
		    p->forward_failed, chan);
	}
	TOP_LINE("errors    %" PRId64 "%s%s", p->errors,
	    p->last_error[0] != '\0' ? ", last: " : "", p->last_error);
	if (p->poll_error[0] != '\0')
		TOP_LINE("asking it %s", p->poll_error);
#undef TOP_LINE
	for (; y < end; y++)
		top_put(y, "", 0);
}

static void
top_draw_help(struct top_ui *u, int y, int end)
{
	static const char *const lines[] = {
		"keys (any key: back)",
		"  q          quit",
		"  j k, up down  select a peer",
		"  Enter      the peer's detail: spans, rates, errors",
		"  s          sort by the next column (marked *)",
		"  /          filter by text (Enter keeps it, Esc clears it)",
		"  m          the next model",
		"  p          pause or resume",
		"  r          refresh now",
		"  ?          this help",
		"coverage: x gap, - one peer, = two, # three or more",
	};
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(*lines) && y < end; i++)
		top_put(y++, lines[i], i == 0 ? A_REVERSE : 0);
	for (; y < end; y++)
		top_put(y, "", 0);
}

static void
top_draw_footer(struct top_ui *u, int y)
{
	char line[256];

	if (u->editing)
		snprintf(line, sizeof(line), "filter: %s_", u->t.filter);
	else
		snprintf(line, sizeof(line), "q quit  s sort: %s  / filter%s%s"
		    "  m model  p %s  Enter detail  ? help",
		    top_columns[u->t.sort].name, u->t.filter[0] != '\0' ?
		    ": " : "", u->t.filter, u->paused ? "resume" : "pause");
	top_put(y, line, A_REVERSE);
}

static void
top_draw(struct top_ui *u)
{
	char line[1024];
	int y = 0, end = LINES - 1;

	erase();
	if (COLS < TOP_MIN_COLS || LINES < TOP_MIN_LINES) {
		top_put(0, "swarm top: the window is too small", 0);
		refresh();
		return;
	}
	top_summary(&u->t, line, sizeof(line));
	if (u->paused)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
		    "  [paused]");
	top_put(y++, line, A_BOLD | top_attr(u, TOP_COLOR_TITLE));
	top_model_line(&u->t, line, sizeof(line));
	top_put(y++, line, 0);
	top_draw_bar(u, y);
	y += 2;
	top_draw_spark(u, y++);
	top_local_line(&u->t, line, sizeof(line));
	if (line[0] != '\0')
		top_put(y++, line, 0);
	top_gateway_line(&u->t, line, sizeof(line));
	if (line[0] != '\0')
		top_put(y++, line, 0);
	top_follow(u);
	if (u->pane == TOP_PANE_DETAIL)
		top_draw_detail(u, y, end);
	else if (u->pane == TOP_PANE_HELP)
		top_draw_help(u, y, end);
	else
		top_draw_table(u, y, end);
	top_draw_footer(u, end);
	refresh();
}

/* A key while the filter is typed: it applies as it is typed. */
static void
top_key_filter(struct top_ui *u, int ch)
{
	char text[TOP_FILTER_MAX];
	size_t len;

	snprintf(text, sizeof(text), "%s", u->t.filter);
	len = strlen(text);
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER)
		u->editing = 0;
	else if (ch == 27) {
		u->editing = 0;
		text[0] = '\0';
	} else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && len > 0)
		text[len - 1] = '\0';
	else if (ch >= 0x20 && ch < 0x7f && len + 1 < sizeof(text)) {
		text[len] = (char)ch;
		text[len + 1] = '\0';
	}
	top_set_filter(&u->t, text);
}

/* Returns 1 when the key asks to quit. */
static int
top_key(struct top_ui *u, int ch)
{
	if (u->editing) {
		top_key_filter(u, ch);
		return 0;
	}
	if (u->pane == TOP_PANE_HELP && ch != 'q' && ch != KEY_RESIZE) {
		u->pane = TOP_PANE_TABLE;
		return 0;
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return 1;
	case 'j':
	case KEY_DOWN:
		if (u->sel + 1 < u->t.n_view)
			u->sel++;
		break;
	case 'k':
	case KEY_UP:
		if (u->sel > 0)
			u->sel--;
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		u->pane = u->pane == TOP_PANE_DETAIL ? TOP_PANE_TABLE :
		    TOP_PANE_DETAIL;
		break;
	case 27:
		u->pane = TOP_PANE_TABLE;
		break;
	case 's':
		top_sort_next(&u->t);
		return 0;	/* the selection follows its peer */
	case '/':
		u->editing = 1;
		u->pane = TOP_PANE_TABLE;
		break;
	case 'm':
		top_model_next(&u->t);
		break;
	case 'p':
		u->paused = !u->paused;
		break;
	case 'r':
		watch_refresh(u->w);
		break;
	case '?':
	case 'h':
		u->pane = TOP_PANE_HELP;
		break;
	case KEY_RESIZE:
	case 12:	/* ^L */
		clearok(curscr, TRUE);
		break;
	}
	if (u->sel < u->t.n_view)
		snprintf(u->sel_addr, sizeof(u->sel_addr), "%s",
		    u->t.peers[u->t.view[u->sel]].addr);
	return 0;
}

static void
top_screen_start(struct top_ui *u, const struct top_options *o)
{
	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	u->color = o->color && has_colors();
	if (u->color) {
		start_color();
		use_default_colors();
		init_pair(TOP_COLOR_BAD, COLOR_RED, -1);
		init_pair(TOP_COLOR_THIN, COLOR_YELLOW, -1);
		init_pair(TOP_COLOR_GOOD, COLOR_GREEN, -1);
		init_pair(TOP_COLOR_TITLE, COLOR_CYAN, -1);
	}
}

/* SIGINT, SIGTERM and SIGHUP end the loop; the old actions come back. */
static void
top_signals(int install, struct sigaction *old)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = top_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(*sigs); i++) {
		if (install)
			sigaction(sigs[i], &sa, &old[i]);
		else
			sigaction(sigs[i], &old[i], NULL);
	}
}

/* The peer in detail is asked for everything, its sessions too. */
static void
top_detail_sync(struct top_ui *u)
{
	const char *want = u->pane == TOP_PANE_DETAIL ? u->sel_addr : "";

	if (strcmp(want, u->detail) == 0)
		return;
	snprintf(u->detail, sizeof(u->detail), "%s", want);
	watch_set_detail(u->w, *want != '\0' ? want : NULL);
	if (*want != '\0')
		watch_refresh(u->w);
}

/* The loop: a round, keys, a redraw; -1 with *cause on an error. */
static int
top_loop(struct top_ui *u, char **cause)
{
	const struct watch_answer *a;
	const char *err;
	size_t n;
	int rc, ch, dirty = 1;

	while (!top_signalled) {
		if (dirty)
			top_draw(u);
		dirty = 0;
		if ((rc = watch_run(u->w, STDIN_FILENO, TOP_TICK, cause)) < 0)
			return -1;
		if (rc == 1 && !u->paused) {
			a = watch_answers(u->w, &n);
			top_update(&u->t, a, n, (double)time(NULL));
			err = watch_discovery_error(u->w);
			snprintf(u->disc_error, sizeof(u->disc_error), "%s",
			    err != NULL ? err : "");
			dirty = 1;
		}
		while ((ch = getch()) != ERR) {
			if (top_key(u, ch))
				return 0;
			dirty = 1;
		}
		top_detail_sync(u);
	}
	return 0;
}

int
top_main(const struct top_options *o, char **cause)
{
	struct sigaction old[3];
	struct top_ui u;
	const char *cs;
	int rc;

	if (o->batch || o->json)
		return top_batch(o, cause);
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return set_cause(cause, "not a terminal: give -b for text "
		    "snapshots or --json");
	memset(&u, 0, sizeof(u));
	if ((u.w = watch_new(&o->watch, cause)) == NULL)
		return -1;
	top_init(&u.t, o->network);
	if (o->sort != NULL)
		top_sort_by(&u.t, o->sort);
	if (o->filter != NULL)
		top_set_filter(&u.t, o->filter);
	setlocale(LC_ALL, "");
	cs = nl_langinfo(CODESET);
	u.utf8 = cs != NULL && (strcasecmp(cs, "UTF-8") == 0 ||
	    strcasecmp(cs, "utf8") == 0);
	top_signalled = 0;
	top_signals(1, old);
	top_screen_start(&u, o);
	rc = top_loop(&u, cause);
	endwin();
	top_signals(0, old);
	top_release(&u.t);
	watch_free(u.w);
	return rc;
}
