/* The custom-preview grid: rows are "now" and the snapshots (newest
 * first), columns are Configuration, Memory and one per disk. One pick per
 * column; a cell is disabled where that snapshot lacks that disk; memory
 * only where the chosen configuration's snapshot has it; a disk column can
 * be cleared to exclude the disk. The result is spelled out below. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "model/plan.h"
#include "tui/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

#define GRID_MAX_DISKS 16
#define COL_CONFIG 0
#define COL_MEMORY 1
#define COL_DISK0 2

struct grid {
	struct tui_view super;
	struct model_vm *vm; /* a reference to t->state, checked on each use */
	char vm_uuid[37];
	size_t *order; /* row r > 0: index of the snapshot (newest first) */
	size_t nrows;  /* 1 + snapshots */
	char *targets[GRID_MAX_DISKS];
	size_t ntargets;
	long config;			/* row */
	bool memory;
	long disk[GRID_MAX_DISKS]; /* row, or -1: excluded */
	size_t crow, ccol, top;
	int grid_h;
};

static const struct model_snapshot *row_snap(const struct grid *g, size_t row)
{
	return row == 0 ? NULL : &g->vm->snapshots[g->order[row - 1]];
}

static bool vm_has_disk(const struct grid *g, const char *target)
{
	const struct model_disk *d = model_vm_disk(g->vm, target);
	return d && d->active_image_id;
}

static bool enabled(const struct grid *g, size_t row, size_t col)
{
	const struct model_snapshot *s = row_snap(g, row);

	if (col == COL_CONFIG)
		return true;
	if (col == COL_MEMORY)
		return (long)row == g->config && s && s->memory_path;
	if (col - COL_DISK0 >= g->ntargets)
		return false;
	return s ? model_snapshot_disk_by_target(s, g->targets[col - COL_DISK0]) != NULL
		 : vm_has_disk(g, g->targets[col - COL_DISK0]);
}

/* Newest first; the same second: later in tree order first. */
static int cmp_created_desc(const void *a, const void *b, void *vm)
{
	const struct model_vm *v = vm;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const char *x = v->snapshots[i].created, *y = v->snapshots[j].created;
	int c = strcmp(y ? y : "", x ? x : "");

	return c ? c : i < j ? 1 : i > j ? -1 : 0;
}

/* ---- drawing ---- */

static const char *row_name(const struct grid *g, size_t row)
{
	return row == 0 ? _("now") : row_snap(g, row)->name;
}

static void result_line(const struct grid *g, size_t k, char *buf, size_t len)
{
	long r = g->disk[k];

	if (r < 0)
		snprintf(buf, len, "%s", _("excluded (not attached during the preview)"));
	else if (r == 0)
		snprintf(buf, len, "%s", _("now (unchanged)"));
	else
		snprintf(buf, len, "%s", row_snap(g, (size_t)r)->name);
}

static int col_x(const struct grid *g, size_t col, int x0, int *w)
{
	int x = x0 + 2 + 20 + 12;

	(void)g;
	if (col == COL_CONFIG) {
		*w = 8;
		return x;
	}
	if (col == COL_MEMORY) {
		*w = 8;
		return x + 8;
	}
	*w = 9;
	return x + 16 + (int)(col - COL_DISK0) * 9;
}

static void grid_draw(struct tui_view *v, struct tui *t)
{
	struct grid *g = (struct grid *)v;
	const struct tui_glyphs *gl = tui_glyphs(t);
	int w = 2 + 20 + 12 + 16 + (int)g->ntargets * 9 + 2, h, ncols = COL_DISK0 + (int)g->ntargets;
	int fixed = (int)g->ntargets + 5; /* borders, header, separator, result */
	char title[200], buf[300];

	if (w < 64)
		w = 64;
	if (w > t->cols - 2)
		w = t->cols - 2;
	h = (int)g->nrows + fixed;
	if (h > t->rows - 2)
		h = t->rows - 2;
	g->grid_h = h - fixed;
	if (g->grid_h < 1)
		g->grid_h = 1;
	v->w = w;
	v->h = h;
	v->y = (t->rows - h) / 2;
	v->x = (t->cols - w) / 2;
	if (g->crow < g->top)
		g->top = g->crow;
	if (g->crow >= g->top + (size_t)g->grid_h)
		g->top = g->crow - (size_t)g->grid_h + 1;

	tui_clear(v->y, v->x, v->h, v->w);
	snprintf(title, sizeof(title), _("Custom preview · %s"), g->vm->name);
	tui_box(t, v->y, v->x, v->h, v->w, title, true);
	/* header */
	{
		int y = v->y + 1, cw;
		tui_put(y, v->x + 2, _("snapshot"), 20, tui_attr(TUI_C_TITLE), false);
		tui_put(y, v->x + 22, _("date"), 11, tui_attr(TUI_C_TITLE), false);
		for (int c = 0; c < ncols; c++) {
			int cx = col_x(g, (size_t)c, v->x, &cw);
			const char *name = c == COL_CONFIG   ? _("config")
					   : c == COL_MEMORY ? _("memory")
							     : g->targets[c - COL_DISK0];
			if (cx + cw <= v->x + w - 1)
				tui_put(y, cx, name, cw - 1, tui_attr(TUI_C_TITLE), false);
		}
	}
	for (int i = 0; i < g->grid_h && g->top + (size_t)i < g->nrows; i++) {
		size_t row = g->top + (size_t)i;
		const struct model_snapshot *s = row_snap(g, row);
		int y = v->y + 2 + i, cw;

		tui_put(y, v->x + 2, row_name(g, row), 17, row == g->crow ? A_BOLD : A_NORMAL, true);
		if (s && s->memory_path)
			tui_put(y, v->x + 20, gl->mem, 1, A_NORMAL, false);
		if (s)
			tui_short_time(s->created, buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "%s", "-");
		tui_put(y, v->x + 22, buf, 11, tui_attr(TUI_C_DIM), false);
		for (int c = 0; c < ncols; c++) {
			int cx = col_x(g, (size_t)c, v->x, &cw);
			bool on = enabled(g, row, (size_t)c);
			bool picked;
			const char *sym;
			attr_t a = A_NORMAL;

			if (cx + cw > v->x + w - 1)
				break;
			if (c == COL_CONFIG)
				picked = g->config == (long)row;
			else if (c == COL_MEMORY)
				picked = g->memory && g->config == (long)row;
			else
				picked = g->disk[c - COL_DISK0] == (long)row;
			if (c == COL_MEMORY)
				sym = on ? (picked ? gl->check_on : gl->check_off) : "";
			else
				sym = !on ? gl->none : picked ? gl->on : gl->off;
			if (!on)
				a = tui_attr(TUI_C_DIM);
			if (picked)
				a = tui_attr(TUI_C_CURRENT);
			if (row == g->crow && (size_t)c == g->ccol)
				a = tui_attr(TUI_C_SELECT);
			tui_put(y, cx + 1, sym[0] ? sym : " ", tui_width(sym[0] ? sym : " "), a, false);
		}
	}
	/* the result */
	{
		int y = v->y + 2 + g->grid_h;
		const struct model_snapshot *cs = row_snap(g, (size_t)g->config);

		tui_hline(t, y, v->x, w, true);
		tui_put(y, v->x + 2, _(" result "), 10, A_BOLD, false);
		tui_put(y + 1, v->x + 2, _("configuration"), 14, tui_attr(TUI_C_TITLE), false);
		if (cs)
			snprintf(buf, sizeof(buf), "%s%s", cs->name,
				 g->memory ? _(", with its memory") : "");
		else
			snprintf(buf, sizeof(buf), "%s", _("now (unchanged)"));
		tui_put(y + 1, v->x + 17, buf, w - 19, A_NORMAL, false);
		for (size_t k = 0; k < g->ntargets && y + 2 + (int)k < v->y + h - 1; k++) {
			tui_put(y + 2 + (int)k, v->x + 2, g->targets[k], 14, tui_attr(TUI_C_TITLE),
				false);
			result_line(g, k, buf, sizeof(buf));
			tui_put(y + 2 + (int)k, v->x + 17, buf, w - 19,
				g->disk[k] < 0 ? tui_attr(TUI_C_WARN) : A_NORMAL, false);
		}
	}
	tui_put(v->y + h - 1, v->x + 2,
		_(" Enter preview · Space pick · x exclude disk · Esc cancel "), w - 4,
		tui_attr(TUI_C_KEY), false);
}

/* ---- keys ---- */

static void pick(struct grid *g, size_t row, size_t col)
{
	if (!enabled(g, row, col))
		return;
	if (col == COL_CONFIG) {
		if (g->config != (long)row)
			g->memory = false; /* memory follows the configuration */
		g->config = (long)row;
	} else if (col == COL_MEMORY) {
		g->memory = !g->memory;
	} else {
		g->disk[col - COL_DISK0] = (long)row;
	}
}

static int apply(struct grid *g, struct tui *t)
{
	struct plan_preview_choice choices[GRID_MAX_DISKS];
	struct plan_preview_req req = { NULL, g->memory, choices, g->ntargets };
	const struct model_snapshot *cs = row_snap(g, (size_t)g->config);
	bool changed = cs != NULL;

	if (!t->state || strcmp(t->state->uuid, g->vm_uuid) != 0) {
		tui_status(t, true, _("the VM changed meanwhile; open the grid again"));
		return TUI_CLOSE;
	}
	req.config = cs ? cs->id : "current";
	for (size_t k = 0; k < g->ntargets; k++) {
		choices[k].target = g->targets[k];
		if (g->disk[k] < 0)
			choices[k].choice = "exclude";
		else if (g->disk[k] == 0)
			choices[k].choice = "current";
		else
			choices[k].choice = row_snap(g, (size_t)g->disk[k])->id;
		changed |= g->disk[k] != 0;
	}
	if (!changed) {
		tui_status(t, true, _("nothing picked: every column is \"now\""));
		return TUI_REDRAW;
	}
	return tui_run_preview(t, &req) | TUI_CLOSE;
}

static int grid_key(struct tui_view *v, struct tui *t, int key)
{
	struct grid *g = (struct grid *)v;
	size_t ncols = COL_DISK0 + g->ntargets;

	if (!t->state || strcmp(t->state->uuid, g->vm_uuid) != 0 || t->state != g->vm) {
		tui_status(t, true, _("the VM changed meanwhile; open the grid again"));
		return TUI_CLOSE;
	}
	switch (key) {
	case 27:
		tui_status(t, false, _("cancelled"));
		return TUI_CLOSE;
	case KEY_UP:
	case 'k':
		if (g->crow > 0)
			g->crow--;
		break;
	case KEY_DOWN:
	case 'j':
		if (g->crow + 1 < g->nrows)
			g->crow++;
		break;
	case KEY_LEFT:
	case 'h':
		if (g->ccol > 0)
			g->ccol--;
		break;
	case KEY_RIGHT:
	case 'l':
	case '\t':
		if (g->ccol + 1 < ncols)
			g->ccol++;
		break;
	case KEY_PPAGE:
		g->crow = g->crow > (size_t)g->grid_h ? g->crow - (size_t)g->grid_h : 0;
		break;
	case KEY_NPAGE:
		g->crow = g->crow + (size_t)g->grid_h < g->nrows ? g->crow + (size_t)g->grid_h
								   : g->nrows - 1;
		break;
	case KEY_HOME:
		g->crow = 0;
		break;
	case KEY_END:
		g->crow = g->nrows - 1;
		break;
	case ' ':
		pick(g, g->crow, g->ccol);
		break;
	case 'x':
		if (g->ccol >= COL_DISK0)
			g->disk[g->ccol - COL_DISK0] = -1;
		else
			tui_status(t, true, _("x excludes a disk: move to a disk column first"));
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		return apply(g, t);
	}
	return TUI_REDRAW;
}

static int grid_click(struct tui_view *v, struct tui *t, int y, int x)
{
	struct grid *g = (struct grid *)v;
	int i = y - v->y - 2, cw;

	(void)t;
	if (i < 0 || i >= g->grid_h || g->top + (size_t)i >= g->nrows)
		return TUI_REDRAW;
	g->crow = g->top + (size_t)i;
	for (size_t c = 0; c < COL_DISK0 + g->ntargets; c++) {
		int cx = col_x(g, c, v->x, &cw);
		if (x >= cx && x < cx + cw) {
			g->ccol = c;
			pick(g, g->crow, c);
		}
	}
	return TUI_REDRAW;
}

static void grid_free(struct tui_view *v)
{
	struct grid *g = (struct grid *)v;

	for (size_t i = 0; i < g->ntargets; i++)
		free(g->targets[i]);
	free(g->order);
	free(g);
}

static const struct tui_view_ops grid_ops = { "grid", grid_draw, grid_key, grid_click, grid_free };

struct tui_view *tui_grid_new(struct tui *t)
{
	struct grid *g = sd_calloc(1, sizeof(*g));
	const struct model_vm *vm = t->state;

	g->super.ops = &grid_ops;
	g->vm = t->state;
	snprintf(g->vm_uuid, sizeof(g->vm_uuid), "%s", vm->uuid);
	g->nrows = 1 + vm->nsnapshots;
	g->order = sd_calloc(vm->nsnapshots + 1, sizeof(size_t));
	for (size_t i = 0; i < vm->nsnapshots; i++)
		g->order[i] = i;
	qsort_r(g->order, vm->nsnapshots, sizeof(size_t), cmp_created_desc, (void *)vm);
	{
		char **targets = model_vm_targets(vm);
		for (size_t i = 0; targets[i]; i++)
			if (g->ntargets < GRID_MAX_DISKS)
				g->targets[g->ntargets++] = sd_strdup(targets[i]);
		sd_strv_free(targets);
	}
	g->config = 0;
	for (size_t k = 0; k < g->ntargets; k++)
		g->disk[k] = vm_has_disk(g, g->targets[k]) ? 0 : -1;
	/* start on the snapshot selected in the tree */
	{
		const struct model_snapshot *sel = tui_tree_selected(t);
		for (size_t r = 1; sel && r < g->nrows; r++)
			if (row_snap(g, r) == sel)
				g->crow = r;
	}
	return &g->super;
}
