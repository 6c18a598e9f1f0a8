/* The VM list pane: name, state, disks, snapshots, marks for an open
 * preview, drift and work in progress; filtered live by '/'. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tui/priv.h"
#include "util/i18n.h"
#include "util/mem.h"

struct vms_view {
	struct tui_view super;
	struct tui_list list;
};

/* The filtered index of the selected VM. */
static size_t selected_index(const struct tui *t)
{
	for (size_t i = 0; i < t->nshown; i++)
		if (strcmp(t->vms[t->shown[i]].uuid, t->sel_uuid) == 0)
			return i;
	return 0;
}

/* The name column: as wide as the longest shown name (names come first),
 * leaving at least two columns for the marks. */
static int name_width(const struct tui *t, int w)
{
	int need = t->names_width + 1, most = w - 1 - 12 - 2;

	return need < 8 ? 8 : need > most ? most : need;
}

/* selection column, name, state (4), disks (3), snapshots (5), marks: P an
 * open preview, ! drift, the operation holding it (or * when narrow) */
static void draw_row(struct tui *t, const struct ctl_vm_row *r, int y, int x, int w, int name_w,
		     attr_t attr)
{
	char cell[64];
	int col = x + 1;

	tui_put(y, x, "", w, attr, true);
	/* one blank column before the state, even when a long name is cut */
	tui_put(y, col, r->name, name_w - 1, attr, true);
	col += name_w;
	tui_put(y, col, hv_state_label(r->state), 4, attr, true);
	col += 5;
	snprintf(cell, sizeof(cell), _("%zud"), r->disks);
	tui_put(y, col, cell, 3, attr, true);
	col += 3;
	snprintf(cell, sizeof(cell), _("%llds"), (long long)r->snapshots);
	tui_put(y, col, cell, 5, attr, true);
	col += 5;
	snprintf(cell, sizeof(cell), "%s%s", r->in_preview ? "P" : "", r->drifted ? "!" : "");
	col += tui_put(y, col, cell, x + w - col,
		       attr | (r->drifted ? tui_attr(TUI_C_ERROR) : tui_attr(TUI_C_WARN)), false);
	if (r->busy) {
		int room = x + w - col - 1;
		tui_put(y, col + (cell[0] ? 1 : 0), room >= 4 ? r->busy : "*", room,
			attr | tui_attr(TUI_C_WARN), false);
	}
	(void)t;
}

static void vms_draw(struct tui_view *v, struct tui *t)
{
	struct vms_view *vv = (struct vms_view *)v;
	bool focus = t->focus == TUI_PANE_VMS && t->noverlay == 0;
	int h = v->h - 2, w = v->w - 2, name_w;
	char title[200];

	if (t->filter[0])
		snprintf(title, sizeof(title), _("VMs /%s %zu of %zu"), t->filter, t->nshown,
			 t->nvms);
	else
		snprintf(title, sizeof(title), "%s", _("VMs"));
	tui_box(t, v->y, v->x, v->h, v->w, title, focus);
	vv->list.n = t->nshown;
	vv->list.sel = selected_index(t);
	tui_list_fit(&vv->list, h);
	if (t->nshown == 0) {
		tui_put(v->y + 1, v->x + 2, t->filter[0] ? _("no VM matches") : _("no VMs"), w - 2,
			tui_attr(TUI_C_DIM), false);
		return;
	}
	name_w = name_width(t, w);
	for (int i = 0; i < h && vv->list.top + (size_t)i < t->nshown; i++) {
		size_t k = vv->list.top + (size_t)i;
		bool sel = k == vv->list.sel;
		attr_t attr = sel ? tui_attr(focus ? TUI_C_SELECT : TUI_C_SELECT_DIM) : A_NORMAL;

		draw_row(t, &t->vms[t->shown[k]], v->y + 1 + i, v->x + 1, w, name_w, attr);
		if (sel)
			tui_put(v->y + 1 + i, v->x + 1, tui_glyphs(t)->arrow, 1, attr, false);
	}
}

static int select_row(struct tui *t, size_t k)
{
	if (k >= t->nshown)
		return TUI_REDRAW;
	if (strcmp(t->vms[t->shown[k]].uuid, t->sel_uuid) == 0)
		return TUI_REDRAW;
	memcpy(t->sel_uuid, t->vms[t->shown[k]].uuid, sizeof(t->sel_uuid));
	return TUI_SELECT | TUI_REDRAW;
}

static int vms_key(struct tui_view *v, struct tui *t, int key)
{
	struct vms_view *vv = (struct vms_view *)v;

	vv->list.n = t->nshown;
	vv->list.sel = selected_index(t);
	if (tui_list_key(&vv->list, key, v->h - 3))
		return select_row(t, vv->list.sel);
	if (key == '\n' || key == '\r' || key == KEY_ENTER || key == 'l' || key == KEY_RIGHT) {
		t->focus = TUI_PANE_TREE;
		return TUI_REDRAW;
	}
	return TUI_UNHANDLED;
}

static int vms_click(struct tui_view *v, struct tui *t, int y, int x)
{
	struct vms_view *vv = (struct vms_view *)v;
	(void)x;
	if (y <= v->y || y >= v->y + v->h - 1)
		return TUI_REDRAW;
	return select_row(t, vv->list.top + (size_t)(y - v->y - 1));
}

static void vms_free(struct tui_view *v)
{
	free(v);
}

static const struct tui_view_ops vms_ops = { "vms", vms_draw, vms_key, vms_click, vms_free };

struct tui_view *tui_vms_new(void)
{
	struct vms_view *v = sd_calloc(1, sizeof(*v));

	v->super.ops = &vms_ops;
	return &v->super;
}
