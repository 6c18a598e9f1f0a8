/* The progress pane: every task of this host (also those of other consoles
 * and of the CLI), running and queued first, then the newest ended ones:
 * operation, VM, bar, percent, rate, time left. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tui/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

struct tasks_view {
	struct tui_view super;
	struct tui_list list;
	size_t *order; /* indices into t->tasks, in display order */
	int64_t sel_id;
};

static bool unfinished(const struct catalog_task *k)
{
	return sd_str_eq(k->state, "running") || sd_str_eq(k->state, "queued");
}

static void order(struct tasks_view *tv, const struct tui *t)
{
	size_t n = 0;

	free(tv->order);
	tv->order = sd_calloc(t->ntasks + 1, sizeof(size_t));
	for (size_t i = 0; i < t->ntasks; i++)
		if (unfinished(&t->tasks[i]))
			tv->order[n++] = i;
	for (size_t i = t->ntasks; i-- > 0;)
		if (!unfinished(&t->tasks[i]))
			tv->order[n++] = i;
	tv->list.n = n;
	/* keep the selected task selected */
	for (size_t i = 0; i < n; i++)
		if (t->tasks[tv->order[i]].id == tv->sel_id) {
			tv->list.sel = i;
			return;
		}
	if (tv->list.sel >= n)
		tv->list.sel = n ? n - 1 : 0;
}

static void draw_bar(const struct tui *t, int y, int x, int w, double frac, attr_t attr)
{
	const struct tui_glyphs *g = tui_glyphs(t);
	int full = (int)(frac * w + 0.5);

	if (full > w)
		full = w;
	for (int i = 0; i < w; i++)
		tui_put(y, x + i, i < full ? g->full : g->empty, 1,
			attr | (i < full ? tui_attr(TUI_C_BAR) : tui_attr(TUI_C_DIM)), false);
}

static void tasks_draw(struct tui_view *v, struct tui *t)
{
	struct tasks_view *tv = (struct tasks_view *)v;
	bool focus = t->focus == TUI_PANE_BOTTOM && t->noverlay == 0;
	int h = v->h - 2, w = v->w - 2;
	char title[128];

	order(tv, t);
	snprintf(title, sizeof(title), _("Tasks · %zu running or queued · x cancels"),
		 t->tasks_running);
	if (!t->utf8)
		for (char *p; (p = strstr(title, "·"));) {
			p[0] = '-';
			memmove(p + 1, p + 2, strlen(p + 2) + 1);
		}
	tui_box(t, v->y, v->x, v->h, v->w, title, focus);
	tui_list_fit(&tv->list, h);
	if (tv->list.n == 0) {
		tui_put(v->y + 1, v->x + 2, _("no tasks: clones, deploys and volumes show here"),
			w - 2, tui_attr(TUI_C_DIM), false);
		return;
	}
	for (int i = 0; i < h && tv->list.top + (size_t)i < tv->list.n; i++) {
		size_t k = tv->list.top + (size_t)i;
		const struct catalog_task *task = &t->tasks[tv->order[k]];
		bool sel = k == tv->list.sel;
		attr_t attr = sel ? tui_attr(focus ? TUI_C_SELECT : TUI_C_SELECT_DIM) : A_NORMAL;
		int y = v->y + 1 + i, x = v->x + 1, right = 48, bar_w = 16, col;
		double frac = task->bytes_total ? (double)task->bytes_done / (double)task->bytes_total
						: 0;
		char what[256], cell[64], rate[32];

		if (sd_str_eq(task->state, "done"))
			frac = 1;
		snprintf(what, sizeof(what), "%s", task->label ? task->label : task->op);
		if (!task->label && task->vm_name)
			snprintf(what, sizeof(what), "%s %s", task->op, task->vm_name);
		tui_put(y, x, "", w, attr, true);
		tui_put(y, x + 1, what, w - right - 2, attr, true);
		col = x + w - right;
		draw_bar(t, y, col, bar_w, frac, attr);
		col += bar_w + 1;
		snprintf(cell, sizeof(cell), "%3d%%", (int)(frac * 100));
		tui_put(y, col, cell, 4, attr, false);
		col += 5;
		if (unfinished(task)) {
			if (task->rate > 0) {
				tui_bytes((uint64_t)task->rate, rate, sizeof(rate));
				snprintf(cell, sizeof(cell), _("%s/s"), rate);
			} else {
				snprintf(cell, sizeof(cell), "%s", "");
			}
			tui_put(y, col, cell, 11, attr, true);
			col += 12;
			if (task->rate > 0 && task->bytes_total > task->bytes_done) {
				long s = (long)((double)(task->bytes_total - task->bytes_done) /
						task->rate);
				snprintf(cell, sizeof(cell), "%ld:%02ld", s / 60, s % 60);
			} else {
				snprintf(cell, sizeof(cell), "%s",
					 sd_str_eq(task->state, "queued") ? _("queued") : "");
			}
			tui_put(y, col, cell, x + w - col, attr, true);
		} else {
			enum tui_color c = sd_str_eq(task->state, "done")	? TUI_C_OK
					   : sd_str_eq(task->state, "cancelled") ? TUI_C_WARN
										 : TUI_C_ERROR;
			const char *st = sd_str_eq(task->state, "done")	     ? _("done")
					 : sd_str_eq(task->state, "cancelled") ? _("cancelled")
									       : _("failed");
			if (task->error && !sd_str_eq(task->state, "done"))
				snprintf(cell, sizeof(cell), "%s: %s", st, task->error);
			else
				snprintf(cell, sizeof(cell), "%s", st);
			tui_put(y, col, cell, x + w - col, attr | tui_attr(c), true);
		}
	}
}

const struct catalog_task *tui_tasks_selected(struct tui *t)
{
	struct tasks_view *tv = (struct tasks_view *)t->tasks_view;

	order(tv, t);
	if (tv->list.n == 0)
		return NULL;
	return &t->tasks[tv->order[tv->list.sel]];
}

static int tasks_key(struct tui_view *v, struct tui *t, int key)
{
	struct tasks_view *tv = (struct tasks_view *)v;

	order(tv, t);
	if (tui_list_key(&tv->list, key, v->h - 3)) {
		if (tv->list.n)
			tv->sel_id = t->tasks[tv->order[tv->list.sel]].id;
		return TUI_REDRAW;
	}
	return TUI_UNHANDLED;
}

static int tasks_click(struct tui_view *v, struct tui *t, int y, int x)
{
	struct tasks_view *tv = (struct tasks_view *)v;
	size_t k;

	(void)x;
	order(tv, t);
	if (y <= v->y || y >= v->y + v->h - 1)
		return TUI_REDRAW;
	k = tv->list.top + (size_t)(y - v->y - 1);
	if (k < tv->list.n) {
		tv->list.sel = k;
		tv->sel_id = t->tasks[tv->order[k]].id;
	}
	return TUI_REDRAW;
}

static void tasks_free(struct tui_view *v)
{
	free(((struct tasks_view *)v)->order);
	free(v);
}

static const struct tui_view_ops tasks_ops = { "tasks", tasks_draw, tasks_key, tasks_click,
					       tasks_free };

struct tui_view *tui_tasks_new(void)
{
	struct tasks_view *v = sd_calloc(1, sizeof(*v));

	v->super.ops = &tasks_ops;
	return &v->super;
}
