/* The console's app: terminal set-up and restore, layout, the main loop
 * that turns keys into reactions, and the refresh of what it shows. */
#include "config.h"

#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include <limits.h>

#include "ctl/policy.h"
#include "ctl/view.h"
#include "tui/priv.h"
#include "util/buf.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

#define TUI_MIN_COLS 80
#define TUI_MIN_ROWS 24
#define TUI_TICK_MS 200
#define TUI_LIBVIRT_POLL_MS 2000

static volatile sig_atomic_t quit_signal;
static bool curses_on;

int64_t tui_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- terminal restore: on exit, on a signal, on a crash, out of memory ---- */

static void restore_terminal(void)
{
	if (curses_on) {
		curses_on = false;
		endwin();
	}
}

static void on_quit_signal(int sig)
{
	quit_signal = sig;
}

static void on_crash_signal(int sig)
{
	/* not async-signal-safe, but the process is going down anyway and a
	 * terminal left raw is worse */
	restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signals(void)
{
	struct sigaction sa;
	static const int crash[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_quit_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (size_t i = 0; i < sizeof(crash) / sizeof(crash[0]); i++)
		signal(crash[i], on_crash_signal);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- status ---- */

void tui_status(struct tui *t, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->status, sizeof(t->status), fmt, ap);
	va_end(ap);
	/* one line, always */
	for (char *p = t->status; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	t->status_error = error;
}

void tui_push(struct tui *t, struct tui_view *v)
{
	if (!v)
		return;
	if (t->noverlay >= (int)(sizeof(t->overlay) / sizeof(t->overlay[0]))) {
		v->ops->free(v);
		return;
	}
	t->overlay[t->noverlay++] = v;
}

/* Closes overlay v (wherever it is in the stack: a dialog may have opened
 * another before closing). */
static void close_view(struct tui *t, struct tui_view *v)
{
	for (int i = 0; i < t->noverlay; i++) {
		if (t->overlay[i] != v)
			continue;
		memmove(&t->overlay[i], &t->overlay[i + 1],
			(size_t)(t->noverlay - i - 1) * sizeof(t->overlay[0]));
		t->noverlay--;
		v->ops->free(v);
		break;
	}
	if (t->noverlay == 0 && t->state_stale && !t->quit)
		tui_load_selected(t);
}

static void pop(struct tui *t)
{
	if (t->noverlay > 0)
		close_view(t, t->overlay[t->noverlay - 1]);
}

/* ---- data ---- */

const struct ctl_vm_row *tui_selected_vm(const struct tui *t)
{
	for (size_t i = 0; i < t->nvms; i++)
		if (t->sel_uuid[0] && strcmp(t->vms[i].uuid, t->sel_uuid) == 0)
			return &t->vms[i];
	return NULL;
}

static bool matches(const char *name, const char *filter)
{
	return !filter[0] || (name && strcasestr(name, filter));
}

void tui_refilter(struct tui *t)
{
	t->nshown = 0;
	free(t->shown);
	t->shown = sd_calloc(t->nvms ? t->nvms : 1, sizeof(*t->shown));
	t->names_width = 0;
	for (size_t i = 0; i < t->nvms; i++)
		if (matches(t->vms[i].name, t->filter)) {
			int w = tui_width(t->vms[i].name);
			t->shown[t->nshown++] = i;
			if (w > t->names_width)
				t->names_width = w;
		}
}

void tui_load_selected(struct tui *t)
{
	const struct ctl_vm_row *row = tui_selected_vm(t);
	struct sd_err err = SD_ERR_INIT;

	/* an open dialog or grid reads the state: keep it until it closes */
	if (t->noverlay > 0) {
		t->state_stale = true;
		return;
	}
	t->state_stale = false;
	model_vm_free(t->state);
	t->state = NULL;
	free(t->policies);
	t->policies = NULL;
	if (!row)
		return;
	{
		/* the VM's snapshot policies, for the tree's bottom line */
		struct ctl_policy *pol = NULL;
		size_t np = 0;
		struct sd_err perr = SD_ERR_INIT;
		struct sd_buf b = SD_BUF_INIT;

		if (ctl_policy_list(t->ctl, row->uuid, &pol, &np, &perr) == 0 && np > 0) {
			sd_buf_addf(&b, "%s", _("policies:"));
			for (size_t i = 0; i < np; i++)
				sd_buf_addf(&b, _(" %s (%s, keep %lld)"), pol[i].p.name, pol[i].p.every,
					    (long long)pol[i].p.keep);
			t->policies = sd_buf_steal(&b);
		}
		ctl_policies_free(pol, np);
	}
	t->sel_state = row->state;
	t->state = ctl_vm_state_peek(t->ctl, row->uuid, &err);
	if (!t->state && err.code != SD_ERR_NOT_FOUND)
		tui_status(t, true, "%s", err.msg);
	tui_tree_reset(t);
}

/* Lists the VMs from libvirt (registering new ones), keeping the selection. */
static void relist(struct tui *t)
{
	struct sd_err err = SD_ERR_INIT;
	struct ctl_vm_row *rows = NULL;
	size_t n = 0;

	if (ctl_vm_list(t->ctl, &rows, &n, &err) < 0) {
		tui_status(t, true, "%s", err.msg);
		return;
	}
	ctl_vm_rows_free(t->vms, t->nvms);
	t->vms = rows;
	t->nvms = n;
	if (!tui_selected_vm(t))
		t->sel_uuid[0] = '\0';
	tui_refilter(t);
	if (!t->sel_uuid[0] && t->nshown > 0)
		memcpy(t->sel_uuid, t->vms[t->shown[0]].uuid, sizeof(t->sel_uuid));
}

static void load_tasks_events(struct tui *t)
{
	struct sd_err err = SD_ERR_INIT;
	struct catalog_task *tasks = NULL;
	struct catalog_event *ev = NULL;
	size_t n = 0, ne = 0;

	if (ctl_task_list(t->ctl, &tasks, &n, &err) == 0) {
		catalog_tasks_free(t->tasks, t->ntasks);
		t->tasks = tasks;
		t->ntasks = n;
		t->tasks_running = 0;
		for (size_t i = 0; i < n; i++)
			t->tasks_running += sd_str_eq(tasks[i].state, "running") ||
					    sd_str_eq(tasks[i].state, "queued");
	}
	if (ctl_event_list(t->ctl, NULL, 500, &ev, &ne, &err) == 0) {
		catalog_events_free(t->events, t->nevents);
		t->events = ev;
		t->nevents = ne;
	}
}

void tui_reload(struct tui *t)
{
	struct sd_err err = SD_ERR_INIT;

	if (ctl_vm_rows_refresh(t->ctl, t->vms, t->nvms, &err) < 0)
		tui_status(t, true, "%s", err.msg);
	load_tasks_events(t);
	tui_load_selected(t);
}

/* The idle tick: finished background work, other processes' changes (the
 * catalog's data_version), and libvirt's VMs every two seconds. True when
 * something changed. */
static bool tick(struct tui *t)
{
	bool changed = tui_jobs_poll(t);
	int64_t now = tui_now_ms();

	if (!t->ctl->hv)
		return changed;
	if (ctl_hv_lost(t->ctl)) {
		struct sd_err err = SD_ERR_INIT;

		if (now - t->last_poll_ms < TUI_LIBVIRT_POLL_MS)
			return changed;
		t->last_poll_ms = now;
		if (ctl_reconnect(t->ctl, &err) < 0) {
			tui_status(t, true, _("libvirt went away (%s); trying again..."), err.msg);
			return true;
		}
		tui_status(t, false, _("connected to libvirt again"));
		t->vm_fingerprint = 0;
	}
	if (t->domains_changed) {
		/* a libvirt event: a VM started, stopped, came or went */
		t->domains_changed = 0;
		t->last_poll_ms = 0;
	}
	/* an operation that ended may have redefined a domain (preview and undo
	 * change its disks), which the fingerprint does not see */
	if (changed)
		relist(t);
	if (changed || ctl_catalog_changed(t->ctl, &t->data_version)) {
		tui_reload(t);
		changed = true;
	}
	if (now - t->last_poll_ms >= TUI_LIBVIRT_POLL_MS) {
		uint64_t fp = 0;
		struct sd_err err = SD_ERR_INIT;

		t->last_poll_ms = now;
		if (ctl_vm_fingerprint(t->ctl, &fp, &err) == 0 && fp != t->vm_fingerprint) {
			t->vm_fingerprint = fp;
			relist(t);
			tui_load_selected(t);
			changed = true;
		}
	}
	return changed;
}

/* ---- layout and drawing ---- */

static void layout(struct tui *t)
{
	int body_y = 1, body_h = t->rows - 3, bottom_h = 0, left_w, top_h;

	if (t->bottom != TUI_BOTTOM_NONE)
		bottom_h = t->rows >= 30 ? 8 : 6;
	top_h = body_h - bottom_h;
	left_w = t->cols * 2 / 5;
	if (left_w < 32)
		left_w = 32;
	if (left_w > 44)
		left_w = 44;
	*t->panes[TUI_PANE_VMS] = (struct tui_view){ t->panes[TUI_PANE_VMS]->ops, body_y, 0, top_h,
						     left_w };
	*t->panes[TUI_PANE_TREE] = (struct tui_view){ t->panes[TUI_PANE_TREE]->ops, body_y, left_w,
						      top_h, t->cols - left_w };
}

static struct tui_view *bottom_view(struct tui *t);

static void draw_header(struct tui *t)
{
	char right[96], clock[16], mid[128];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	attrset(tui_attr(TUI_C_HEADER));
	mvhline(0, 0, ' ', t->cols);
	tui_put(0, 1, "snapdeck", 8, tui_attr(TUI_C_HEADER) | A_BOLD, false);
	tui_put(0, 11, t->uri_label, t->cols / 3, tui_attr(TUI_C_HEADER), false);
	snprintf(mid, sizeof(mid), ngettext("%zu VM", "%zu VMs", t->nvms), t->nvms);
	snprintf(right, sizeof(right), ngettext("%s · %zu task running", "%s · %zu tasks running",
						t->tasks_running),
		 mid, t->tasks_running);
	if (!t->utf8) {
		char *dot = strstr(right, "·");
		if (dot) {
			dot[0] = '-';
			memmove(dot + 1, dot + 2, strlen(dot + 2) + 1);
		}
	}
	tui_put(0, t->cols / 2 - tui_width(right) / 2, right, t->cols / 2 - 10,
		tui_attr(TUI_C_HEADER), false);
	tui_put(0, t->cols - 9, clock, 8, tui_attr(TUI_C_HEADER), false);
	attrset(A_NORMAL);
}

static void draw_status(struct tui *t)
{
	int y = t->rows - 2;
	size_t running = tui_jobs_running(t);

	move(y, 0);
	clrtoeol();
	if (t->filtering) {
		char line[160];
		snprintf(line, sizeof(line), _("filter: %s"), t->filter);
		int n = tui_put(y, 1, line, t->cols - 2, tui_attr(TUI_C_KEY), false);
		if (t->utf8)
			tui_put(y, 1 + n, "▏", 1, A_BLINK, false);
		else
			tui_put(y, 1 + n, "_", 1, A_BLINK, false);
		return;
	}
	if (running > 0) {
		char busy[64];
		int w;

		snprintf(busy, sizeof(busy), ngettext("working (%zu)", "working (%zu)", running),
			 running);
		w = tui_width(busy);
		tui_put(y, t->cols - w - 1, busy, w, tui_attr(TUI_C_WARN), false);
		tui_put(y, 1, t->status, t->cols - w - 3,
			tui_attr(t->status_error ? TUI_C_ERROR : TUI_C_NORMAL), false);
		return;
	}
	if (t->status_error && !t->color) {
		char line[560];
		snprintf(line, sizeof(line), _("error: %s"), t->status);
		tui_put(y, 1, line, t->cols - 2, tui_attr(TUI_C_ERROR), false);
		return;
	}
	tui_put(y, 1, t->status, t->cols - 2, tui_attr(t->status_error ? TUI_C_ERROR : TUI_C_OK),
		false);
}

static void draw_too_small(struct tui *t)
{
	char line[128];
	int y = t->rows / 2;

	erase();
	snprintf(line, sizeof(line), _("terminal too small: %dx%d, need %dx%d"), t->cols, t->rows,
		 TUI_MIN_COLS, TUI_MIN_ROWS);
	tui_put(y > 0 ? y - 1 : 0, 0, line, t->cols, A_BOLD, false);
	tui_put(y, 0, _("enlarge it, or press q to quit"), t->cols, A_NORMAL, false);
}

void tui_draw(struct tui *t)
{
	struct tui_view *b;

	t->rows = LINES;
	t->cols = COLS;
	t->too_small = t->cols < TUI_MIN_COLS || t->rows < TUI_MIN_ROWS;
	if (t->too_small) {
		draw_too_small(t);
		refresh();
		return;
	}
	erase();
	layout(t);
	draw_header(t);
	t->panes[TUI_PANE_VMS]->ops->draw(t->panes[TUI_PANE_VMS], t);
	t->panes[TUI_PANE_TREE]->ops->draw(t->panes[TUI_PANE_TREE], t);
	b = bottom_view(t);
	if (b)
		b->ops->draw(b, t);
	draw_status(t);
	tui_draw_fbar(t, t->rows - 1);
	for (int i = 0; i < t->noverlay; i++)
		t->overlay[i]->ops->draw(t->overlay[i], t);
	refresh();
}

static struct tui_view *bottom_view(struct tui *t)
{
	struct tui_view *v;
	int h = t->rows >= 30 ? 8 : 6;

	if (t->bottom == TUI_BOTTOM_NONE)
		return NULL;
	v = t->bottom == TUI_BOTTOM_EVENTS ? t->events_view : t->tasks_view;
	v->y = t->rows - 2 - h;
	v->x = 0;
	v->h = h;
	v->w = t->cols;
	t->panes[TUI_PANE_BOTTOM] = v;
	return v;
}

/* ---- keys ---- */

/* Set while more keys wait (a held arrow key): selecting a VM then defers
 * loading its tree until the keys are read. */
static bool keys_waiting;

static bool moves_only(int key)
{
	return key == KEY_UP || key == KEY_DOWN || key == 'j' || key == 'k' || key == KEY_PPAGE ||
	       key == KEY_NPAGE || key == KEY_HOME || key == KEY_END;
}

static void apply(struct tui *t, int r)
{
	if (r & TUI_QUIT)
		t->quit = true;
	if (r & TUI_RELOAD) {
		if (t->vm_fingerprint == 0) {
			relist(t);
			t->last_poll_ms = tui_now_ms();
		}
		tui_reload(t);
	} else if (r & TUI_SELECT) {
		if (keys_waiting)
			t->select_pending = true;
		else
			tui_load_selected(t);
	}
}

static int filter_key(struct tui *t, int key)
{
	size_t len = strlen(t->filter);

	switch (key) {
	case 27: /* Esc: clear */
		t->filter[0] = '\0';
		t->filtering = false;
		break;
	case '\n':
	case '\r': /* Enter under nonl() */
	case KEY_ENTER:
		t->filtering = false;
		return TUI_REDRAW;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		while (len > 0 && ((unsigned char)t->filter[len - 1] & 0xc0) == 0x80)
			len--; /* a whole UTF-8 character */
		if (len > 0)
			t->filter[len - 1] = '\0';
		break;
	case KEY_UP:
	case KEY_DOWN:
		return t->panes[TUI_PANE_VMS]->ops->key(t->panes[TUI_PANE_VMS], t, key);
	default:
		if (key >= 0x20 && key < 0x100 && key != 0x7f && len + 1 < sizeof(t->filter)) {
			t->filter[len] = (char)key;
			t->filter[len + 1] = '\0';
		} else {
			return TUI_NONE;
		}
	}
	tui_refilter(t);
	/* keep the selection when it still shows, else the first match */
	for (size_t i = 0; i < t->nshown; i++)
		if (strcmp(t->vms[t->shown[i]].uuid, t->sel_uuid) == 0)
			return TUI_REDRAW;
	if (t->nshown > 0) {
		memcpy(t->sel_uuid, t->vms[t->shown[0]].uuid, sizeof(t->sel_uuid));
		return TUI_SELECT;
	}
	return TUI_REDRAW;
}

static bool inside(const struct tui_view *v, int y, int x)
{
	return y >= v->y && y < v->y + v->h && x >= v->x && x < v->x + v->w;
}

static int mouse(struct tui *t)
{
	MEVENT ev;
	struct tui_view *b;

	if (getmouse(&ev) != OK || t->too_small)
		return TUI_NONE;
	if (!(ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED)))
		return TUI_NONE;
	if (t->noverlay > 0) {
		struct tui_view *top = t->overlay[t->noverlay - 1];
		int r = top->ops->click ? top->ops->click(top, t, ev.y, ev.x) : TUI_NONE;
		if (r & TUI_CLOSE)
			close_view(t, top);
		return (r & ~TUI_CLOSE) | TUI_REDRAW;
	}
	b = bottom_view(t);
	for (int p = 0; p < TUI_NPANES; p++) {
		struct tui_view *v = p == TUI_PANE_BOTTOM ? b : t->panes[p];
		if (v && inside(v, ev.y, ev.x)) {
			t->focus = (enum tui_pane)p;
			return v->ops->click ? v->ops->click(v, t, ev.y, ev.x) | TUI_REDRAW
					     : TUI_REDRAW;
		}
	}
	return TUI_NONE;
}

static int handle(struct tui *t, int key)
{
	const struct tui_binding *b;
	struct tui_view *v;
	int r;

	if (key == KEY_RESIZE)
		return TUI_REDRAW;
	if (key == KEY_MOUSE)
		return mouse(t);
	if (t->too_small)
		return key == 'q' || key == KEY_F(10) ? TUI_QUIT : TUI_NONE;
	if (t->noverlay > 0) {
		v = t->overlay[t->noverlay - 1];
		r = v->ops->key(v, t, key);
		if (r & TUI_CLOSE)
			close_view(t, v);
		return r & TUI_UNHANDLED ? TUI_NONE : (r & ~TUI_CLOSE) | TUI_REDRAW;
	}
	if (t->filtering)
		return filter_key(t, key);
	v = t->focus == TUI_PANE_BOTTOM ? bottom_view(t) : t->panes[t->focus];
	r = v ? v->ops->key(v, t, key) : TUI_UNHANDLED;
	if (!(r & TUI_UNHANDLED))
		return r;
	if (key == 27 && t->filter[0]) {
		t->filter[0] = '\0';
		tui_refilter(t);
		return TUI_REDRAW;
	}
	b = tui_binding_for(key);
	if (!b) {
		if (key != ERR)
			tui_status(t, false, _("unknown key; F1 or ? shows the keys"));
		return TUI_REDRAW;
	}
	return b->fn(t);
}

bool tui_key(struct tui *t, int key)
{
	int r;

	if (!t->ctl->hv) {
		struct sd_err err = SD_ERR_INIT;
		if (tui_connect(t, &err) < 0)
			tui_status(t, true, "%s", err.msg);
	}
	r = handle(t, key);

	apply(t, r);
	if (!t->quit)
		tui_draw(t);
	return !t->quit;
}

char *tui_screen_text(struct tui *t)
{
	struct sd_buf b = SD_BUF_INIT;
	wchar_t *row = sd_calloc((size_t)COLS + 1, sizeof(wchar_t));

	(void)t;
	for (int y = 0; y < LINES; y++) {
		mbstate_t st;
		int n = mvinnwstr(y, 0, row, COLS);

		memset(&st, 0, sizeof(st));
		for (int i = 0; i < n && row[i]; i++) {
			char mb[MB_LEN_MAX];
			size_t k = wcrtomb(mb, row[i], &st);
			if (k != (size_t)-1)
				sd_buf_addn(&b, mb, k);
		}
		sd_buf_addc(&b, '\n');
	}
	free(row);
	return sd_buf_steal(&b);
}

/* ---- life cycle ---- */

static void oom_hook(void)
{
	restore_terminal();
}

/* The first frame may come from the catalog alone (VM states unknown);
 * tui_connect then asks libvirt. */
static void load_cached(struct tui *t)
{
	struct sd_err err = SD_ERR_INIT;

	if (ctl_vm_list_cached(t->ctl, &t->vms, &t->nvms, &err) < 0)
		tui_status(t, true, "%s", err.msg);
	tui_refilter(t);
	if (t->nshown > 0)
		memcpy(t->sel_uuid, t->vms[t->shown[0]].uuid, sizeof(t->sel_uuid));
}

int tui_connect(struct tui *t, struct sd_err *err)
{
	if (t->ctl->hv)
		return 0;
	if (ctl_connect(t->ctl, &t->opts, err) < 0)
		return -1;
	free(t->uri_label);
	t->uri_label = sd_strdup(hv_uri(t->ctl->hv));
	{
		/* without events (no loop in this process) the poll still sees
		 * changes, within two seconds */
		struct sd_err werr = SD_ERR_INIT;
		ctl_watch_domains(t->ctl, &t->domains_changed, &werr);
	}
	relist(t);
	t->last_poll_ms = tui_now_ms();
	{
		struct sd_err ferr = SD_ERR_INIT;
		ctl_vm_fingerprint(t->ctl, &t->vm_fingerprint, &ferr);
	}
	ctl_catalog_changed(t->ctl, &t->data_version);
	load_tasks_events(t);
	tui_load_selected(t);
	if (t->nvms == 0)
		tui_status(t, false, _("no VMs on this host; 'snapdeck demo setup' makes three"));
	if (t->screen)
		tui_draw(t);
	return 0;
}

struct tui *tui_new(const struct ctl_options *opts, FILE *in, FILE *out, struct sd_err *err)
{
	struct tui *t;
	const char *term = getenv("TERM");

	t = sd_calloc(1, sizeof(*t));
	t->opts = *opts;
	t->ctl = ctl_open_catalog(opts, err);
	if (!t->ctl) {
		free(t);
		return NULL;
	}
	t->utf8 = strcasecmp(nl_langinfo(CODESET), "UTF-8") == 0;
	t->data_version = -1;
	t->bottom = TUI_BOTTOM_TASKS;
	t->panes[TUI_PANE_VMS] = tui_vms_new();
	t->panes[TUI_PANE_TREE] = tui_tree_new();
	t->tasks_view = tui_tasks_new();
	t->events_view = tui_events_new();
	t->panes[TUI_PANE_BOTTOM] = t->tasks_view;
	if (t->ctl->host_id >= 0) {
		/* the catalog knows this host: show what it knows at once */
		t->uri_label = sd_strdup(opts->uri ? opts->uri : getenv("LIBVIRT_DEFAULT_URI"));
		load_cached(t);
		ctl_catalog_changed(t->ctl, &t->data_version);
		load_tasks_events(t);
		tui_load_selected(t);
		tui_status(t, false, _("connecting to libvirt..."));
	} else if (tui_connect(t, err) < 0) {
		tui_free(t);
		return NULL;
	}

	sd_mem_set_oom_hook(oom_hook);
	t->screen = newterm(term && term[0] ? term : "xterm", out ? out : stdout, in ? in : stdin);
	if (!t->screen) {
		sd_err_set(err, SD_ERR_USAGE, _("cannot use the terminal '%s'"), term ? term : "");
		tui_free(t);
		return NULL;
	}
	set_term(t->screen);
	curses_on = true;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED, NULL);
	mouseinterval(0);
	tui_theme_init(t);
	if (!t->status[0])
		tui_status(t, false, _("F1 or ? for help"));
	return t;
}

void tui_free(struct tui *t)
{
	if (!t)
		return;
	t->state_stale = false;
	while (t->noverlay > 0)
		pop(t);
	restore_terminal();
	if (t->screen)
		delscreen(t->screen);
	if (t->panes[TUI_PANE_VMS])
		t->panes[TUI_PANE_VMS]->ops->free(t->panes[TUI_PANE_VMS]);
	if (t->panes[TUI_PANE_TREE])
		t->panes[TUI_PANE_TREE]->ops->free(t->panes[TUI_PANE_TREE]);
	if (t->tasks_view)
		t->tasks_view->ops->free(t->tasks_view);
	if (t->events_view)
		t->events_view->ops->free(t->events_view);
	for (size_t i = 0; i < TUI_MAX_JOBS; i++) {
		if (t->jobs[i].pid > 0)
			close(t->jobs[i].fd);
		free(t->jobs[i].label);
	}
	ctl_vm_rows_free(t->vms, t->nvms);
	free(t->shown);
	model_vm_free(t->state);
	free(t->policies);
	catalog_tasks_free(t->tasks, t->ntasks);
	catalog_events_free(t->events, t->nevents);
	free(t->uri_label);
	ctl_close(t->ctl);
	free(t);
}

int tui_main(const struct ctl_options *opts)
{
	struct sd_err err = SD_ERR_INIT;
	struct tui *t;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "snapdeck: %s\n",
			_("the console needs a terminal; run 'snapdeck --help' for the commands"));
		return 2;
	}
	/* libvirt's events (VMs starting, stopping) come in on a thread */
	if (ctl_events_start(&err) < 0) {
		fprintf(stderr, "snapdeck: %s\n", err.msg);
		return 1;
	}
	t = tui_new(opts, NULL, NULL, &err);
	if (!t) {
		fprintf(stderr, "snapdeck: %s\n", err.msg);
		return 1;
	}
	atexit(restore_terminal);
	install_signals();
	tui_draw(t);
	if (tui_connect(t, &err) < 0) {
		tui_free(t);
		fprintf(stderr, "snapdeck: %s\n", err.msg);
		return 1;
	}
	if (sd_str_eq(t->status, _("connecting to libvirt...")))
		tui_status(t, false, _("F1 or ? for help"));
	tui_draw(t);
	timeout(TUI_TICK_MS);
	while (!t->quit && !quit_signal) {
		int key = getch();
		time_t before = time(NULL);

		if (key == ERR) {
			static time_t drawn;
			if (tick(t) || before != drawn) {
				drawn = before;
				tui_draw(t);
			}
			continue;
		}
		/* more keys typed ahead (a held arrow key): handle them before
		 * drawing, and load the selected VM's tree only when a key needs
		 * it or the keys are read */
		timeout(0);
		int next = getch();
		timeout(TUI_TICK_MS);
		if (next != ERR)
			ungetch(next);
		keys_waiting = next != ERR;
		if (t->select_pending && (!keys_waiting || !moves_only(key))) {
			t->select_pending = false;
			tui_load_selected(t);
		}
		if (keys_waiting) {
			apply(t, handle(t, key));
			continue;
		}
		tui_key(t, key);
	}
	tui_free(t);
	return 0;
}
