/* The snapshot tree of the selected VM: line drawing (UTF-8 or ASCII),
 * newest last on each branch, the current snapshot marked, "now" under it,
 * the state kept aside while a preview is open. A chain of only children
 * stays in one column; branches indent. Only visible rows are drawn. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tui/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

enum row_kind { ROW_SNAP, ROW_NOW, ROW_SAVED };

struct tree_row {
	enum row_kind kind;
	size_t snap;  /* ROW_SNAP: index into state->snapshots */
	char *lead;   /* the line drawing before the node's glyph */
	size_t hidden; /* descendants hidden by a collapse */
	size_t parent; /* row index of the parent, or SIZE_MAX */
	bool has_children;
};

struct tree_view {
	struct tui_view super;
	struct tui_list list;
	struct tree_row *rows;
	size_t nrows, cap;
	char **collapsed; /* snapshot ids */
	size_t ncollapsed;
	char *sel_id; /* selected snapshot id, "now", "saved", or NULL */
	char vm_uuid[37]; /* the VM the rows are of */
	/* the union of disk targets, for aligned columns */
	char **targets;
	size_t ntargets;
};

static struct tree_view *tv_of(struct tui *t)
{
	return (struct tree_view *)t->panes[TUI_PANE_TREE];
}

/* ---- building the rows ---- */

struct node {
	size_t *kids; /* node indices */
	size_t nkids, cap;
};

struct build {
	struct tree_view *tv;
	const struct tui *t;
	const struct model_vm *vm;
	struct node *nodes; /* 0..nsnap-1: snapshots, nsnap: now, nsnap+1: saved */
	size_t nsnap;
};

static bool is_collapsed(const struct tree_view *tv, const char *id)
{
	for (size_t i = 0; i < tv->ncollapsed; i++)
		if (strcmp(tv->collapsed[i], id) == 0)
			return true;
	return false;
}

static size_t count_below(const struct build *b, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < b->nodes[n].nkids; i++)
		c += 1 + count_below(b, b->nodes[n].kids[i]);
	return c;
}

static size_t add_row(struct tree_view *tv, size_t node, size_t nsnap, const char *lead,
		      size_t parent)
{
	struct tree_row *r;

	sd_grow(&tv->rows, &tv->cap, tv->nrows + 1, sizeof(*tv->rows));
	r = &tv->rows[tv->nrows];
	memset(r, 0, sizeof(*r));
	r->kind = node < nsnap ? ROW_SNAP : node == nsnap ? ROW_NOW : ROW_SAVED;
	r->snap = node;
	r->lead = sd_strdup(lead);
	r->parent = parent;
	return tv->nrows++;
}

/* Emits node with the given lead; cont is what its children continue. */
static void emit(struct build *b, size_t node, const char *lead, const char *cont, size_t parent)
{
	const struct tui_glyphs *g = tui_glyphs(b->t);
	struct node *nd = &b->nodes[node];
	size_t row = add_row(b->tv, node, b->nsnap, lead, parent);

	b->tv->rows[row].has_children = nd->nkids > 0;
	if (node < b->nsnap && nd->nkids > 0 && is_collapsed(b->tv, b->vm->snapshots[node].id)) {
		b->tv->rows[row].hidden = count_below(b, node);
		return;
	}
	if (nd->nkids == 1) {
		emit(b, nd->kids[0], cont, cont, row);
		return;
	}
	for (size_t i = 0; i < nd->nkids; i++) {
		bool last = i + 1 == nd->nkids;
		char *l = sd_asprintf("%s%s", cont, last ? g->elbow : g->tee);
		char *c = sd_asprintf("%s%s ", cont, last ? " " : g->vert);

		emit(b, nd->kids[i], l, c, row);
		free(l);
		free(c);
	}
}

static void node_add(struct node *n, size_t kid)
{
	sd_grow(&n->kids, &n->cap, n->nkids + 1, sizeof(*n->kids));
	n->kids[n->nkids++] = kid;
}

struct id_index {
	const char *id;
	size_t i;
};

static int cmp_id(const void *a, const void *b)
{
	return strcmp(((const struct id_index *)a)->id, ((const struct id_index *)b)->id);
}

static size_t find(const struct id_index *ix, size_t n, const char *id)
{
	struct id_index key = { id, 0 }, *hit;

	if (!id)
		return SIZE_MAX;
	hit = bsearch(&key, ix, n, sizeof(*ix), cmp_id);
	return hit ? hit->i : SIZE_MAX;
}

static void clear_rows(struct tree_view *tv)
{
	for (size_t i = 0; i < tv->nrows; i++)
		free(tv->rows[i].lead);
	tv->nrows = 0;
	sd_strv_free(tv->targets);
	tv->targets = NULL;
	tv->ntargets = 0;
}

static void rebuild(struct tui *t)
{
	struct tree_view *tv = tv_of(t);
	const struct model_vm *vm = t->state;
	struct build b = { tv, t, vm, NULL, 0 };
	struct id_index *ix;
	size_t now, saved, cur;

	clear_rows(tv);
	if (!vm)
		return;
	b.nsnap = vm->nsnapshots;
	b.nodes = sd_calloc(b.nsnap + 2, sizeof(*b.nodes));
	ix = sd_calloc(b.nsnap + 1, sizeof(*ix));
	for (size_t i = 0; i < b.nsnap; i++)
		ix[i] = (struct id_index){ vm->snapshots[i].id, i };
	qsort(ix, b.nsnap, sizeof(*ix), cmp_id);
	now = b.nsnap;
	saved = b.nsnap + 1;
	/* a virtual root (index nsnap + 2 would do, but roots are few) */
	struct node roots = { 0 };
	for (size_t i = 0; i < b.nsnap; i++) {
		size_t p = find(ix, b.nsnap, vm->snapshots[i].parent_id);
		node_add(p == SIZE_MAX ? &roots : &b.nodes[p], i);
	}
	/* during a preview, "now" rests on the snapshot its configuration came
	 * from */
	cur = find(ix, b.nsnap, vm->preview && vm->preview->config_snapshot
					? vm->preview->config_snapshot
					: vm->current_snapshot);
	node_add(cur == SIZE_MAX ? &roots : &b.nodes[cur], now);
	if (vm->preview) {
		size_t sc = find(ix, b.nsnap, vm->preview->saved_current);
		node_add(sc == SIZE_MAX ? &roots : &b.nodes[sc], saved);
	}
	for (size_t i = 0; i < roots.nkids; i++)
		emit(&b, roots.kids[i], "", "", SIZE_MAX);
	tv->targets = model_vm_targets(vm);
	tv->ntargets = sd_strv_len(tv->targets);
	for (size_t i = 0; i < b.nsnap + 2; i++)
		free(b.nodes[i].kids);
	free(roots.kids);
	free(b.nodes);
	free(ix);
}

static const char *row_id(const struct tui *t, const struct tree_row *r)
{
	if (r->kind == ROW_NOW)
		return "now";
	if (r->kind == ROW_SAVED)
		return "saved";
	return t->state->snapshots[r->snap].id;
}

static void select_id(struct tui *t, const char *id)
{
	struct tree_view *tv = tv_of(t);

	for (size_t i = 0; id && i < tv->nrows; i++)
		if (strcmp(row_id(t, &tv->rows[i]), id) == 0) {
			tv->list.sel = i;
			return;
		}
	/* else the "now" row */
	for (size_t i = 0; i < tv->nrows; i++)
		if (tv->rows[i].kind == ROW_NOW) {
			tv->list.sel = i;
			return;
		}
	tv->list.sel = 0;
}

static void remember(struct tui *t)
{
	struct tree_view *tv = tv_of(t);

	free(tv->sel_id);
	tv->sel_id = tv->nrows ? sd_strdup(row_id(t, &tv->rows[tv->list.sel])) : NULL;
}

void tui_tree_reset(struct tui *t)
{
	struct tree_view *tv = tv_of(t);
	bool same_vm;

	if (!tv)
		return;
	/* a new VM starts at its current snapshot; the same VM keeps its row */
	same_vm = t->state && t->state->uuid && strcmp(tv->vm_uuid, t->state->uuid) == 0;
	snprintf(tv->vm_uuid, sizeof(tv->vm_uuid), "%s",
		 t->state && t->state->uuid ? t->state->uuid : "");
	rebuild(t);
	tv->list.n = tv->nrows;
	select_id(t, same_vm ? tv->sel_id : t->state ? t->state->current_snapshot : NULL);
	remember(t);
}

const struct model_snapshot *tui_tree_selected(struct tui *t)
{
	struct tree_view *tv = tv_of(t);

	if (!t->state || tv->nrows == 0 || tv->list.sel >= tv->nrows)
		return NULL;
	if (tv->rows[tv->list.sel].kind != ROW_SNAP)
		return NULL;
	return &t->state->snapshots[tv->rows[tv->list.sel].snap];
}

/* ---- drawing ---- */

static uint64_t snapshot_space(const struct model_vm *vm, const struct model_snapshot *s)
{
	uint64_t sum = 0;

	for (size_t d = 0; d < s->ndisks; d++) {
		const struct model_image *img = model_vm_image(vm, s->disks[d].image_id);
		bool dup = false;

		for (size_t e = 0; e < d; e++)
			dup |= sd_str_eq(s->disks[e].image_id, s->disks[d].image_id);
		if (img && !dup)
			sum += img->allocated;
	}
	return sum;
}

static uint64_t now_space(const struct model_vm *vm)
{
	uint64_t sum = 0;

	for (size_t d = 0; d < vm->ndisks; d++) {
		const struct model_image *img = model_vm_image(vm, vm->disks[d].active_image_id);
		if (img)
			sum += img->allocated;
	}
	return sum;
}

/* The disks column: each target of the VM, or dots where the node lacks it. */
static void disks_cell(const struct tree_view *tv, const struct tui *t, const struct model_vm *vm,
		       const struct tree_row *r, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < tv->ntargets && off + 1 < len; i++) {
		const char *tg = tv->targets[i];
		bool has = false;

		if (r->kind == ROW_SNAP) {
			has = model_snapshot_disk_by_target(&vm->snapshots[r->snap], tg) != NULL;
		} else if (r->kind == ROW_SAVED) {
			/* the disks before the preview, not the preview's own */
			const struct model_disk *d = model_vm_disk(vm, tg);
			has = d && model_preview_kept(vm->preview, d->id);
		} else {
			const struct model_disk *d = model_vm_disk(vm, tg);
			has = d && d->active_image_id;
		}
		if (has) {
			off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "", tg);
		} else {
			off += (size_t)snprintf(buf + off, len - off, "%s", i ? " " : "");
			for (size_t k = 0; k < strlen(tg) && off + 4 < len; k++)
				off += (size_t)snprintf(buf + off, len - off, "%s",
							k == 0 ? tui_glyphs(t)->none : " ");
		}
		if (off >= len)
			off = len - 1;
	}
}

static void row_texts(struct tui *t, const struct tree_row *r, const char **glyph, char *name,
		      size_t nlen, attr_t *attr)
{
	const struct model_vm *vm = t->state;
	const struct tui_glyphs *g = tui_glyphs(t);

	*attr = A_NORMAL;
	if (r->kind == ROW_NOW) {
		*glyph = g->now;
		snprintf(name, nlen, "%s", vm->preview ? _("now (preview)") : _("now"));
		*attr = tui_attr(TUI_C_TITLE);
		return;
	}
	if (r->kind == ROW_SAVED) {
		*glyph = g->saved;
		snprintf(name, nlen, "%s", _("before the preview"));
		*attr = tui_attr(TUI_C_DIM);
		return;
	}
	const struct model_snapshot *s = &vm->snapshots[r->snap];
	bool current = sd_str_eq(s->id, vm->current_snapshot);
	*glyph = current ? g->current : g->node;
	if (r->hidden)
		snprintf(name, nlen, "%s [+%zu]", s->name, r->hidden);
	else
		snprintf(name, nlen, "%s", s->name);
	if (current)
		*attr = tui_attr(TUI_C_CURRENT);
}

static void tree_draw(struct tui_view *v, struct tui *t)
{
	struct tree_view *tv = (struct tree_view *)v;
	const struct ctl_vm_row *vmr = tui_selected_vm(t);
	bool focus = t->focus == TUI_PANE_TREE && t->noverlay == 0;
	int h = v->h - 2, w = v->w - 2, name_w = 10, right_w, disks_w = 0;
	bool show_disks, show_size, show_marks;
	char title[256];

	if (!vmr) {
		tui_box(t, v->y, v->x, v->h, v->w, _("Snapshots"), focus);
		tui_put(v->y + 1, v->x + 2, _("no VM selected"), w - 2, tui_attr(TUI_C_DIM), false);
		return;
	}
	{
		const char *cur = NULL;
		if (t->state && t->state->current_snapshot) {
			const struct model_snapshot *s =
				model_vm_snapshot(t->state, t->state->current_snapshot);
			cur = s ? s->name : NULL;
		}
		char extra[96] = "";
		if (vmr->busy)
			snprintf(extra, sizeof(extra), _(" · busy: %s"), vmr->busy);
		else if (vmr->in_preview)
			snprintf(extra, sizeof(extra), "%s", _(" · PREVIEW"));
		else if (vmr->drifted)
			snprintf(extra, sizeof(extra), "%s", _(" · DRIFTED: sync --adopt"));
		/* the most that fits: drop the disk count, then the state */
		for (int detail = 2; detail >= 0; detail--) {
			if (detail == 2)
				snprintf(title, sizeof(title),
					 ngettext("%s%s · %s · %zu disk · current: %s",
						  "%s%s · %s · %zu disks · current: %s", vmr->disks),
					 vmr->name, extra, hv_state_name(vmr->state), vmr->disks,
					 cur ? cur : _("none"));
			else if (detail == 1)
				snprintf(title, sizeof(title), _("%s%s · %s · current: %s"), vmr->name,
					 extra, hv_state_name(vmr->state), cur ? cur : _("none"));
			else
				snprintf(title, sizeof(title), _("%s%s · current: %s"), vmr->name, extra,
					 cur ? cur : _("none"));
			if (!t->utf8)
				for (char *p; (p = strstr(title, "·"));) {
					p[0] = '-';
					memmove(p + 1, p + 2, strlen(p + 2) + 1);
				}
			if (tui_width(title) <= v->w - 5)
				break;
		}
	}
	tui_box(t, v->y, v->x, v->h, v->w, title, focus);
	if (t->policies) {
		/* on the bottom border, like a title */
		int n = tui_put(v->y + v->h - 1, v->x + 2, " ", 1, A_NORMAL, false);
		n += tui_put(v->y + v->h - 1, v->x + 2 + n, t->policies, v->w - 6, tui_attr(TUI_C_DIM),
			     false);
		tui_put(v->y + v->h - 1, v->x + 2 + n, " ", 1, A_NORMAL, false);
	}
	if (!t->state || tv->nrows == 0) {
		tui_put(v->y + 1, v->x + 2, _("no snapshots yet: F2 or s takes one"), w - 2,
			tui_attr(TUI_C_DIM), false);
		return;
	}
	tv->list.n = tv->nrows;
	tui_list_fit(&tv->list, h);

	/* columns: name, memory, time, disks, space, marks; drop from the right
	 * when narrow */
	for (size_t i = 0; i < tv->ntargets; i++)
		disks_w += tui_width(tv->targets[i]) + (i ? 1 : 0);
	for (size_t i = tv->list.top; i < tv->nrows && i < tv->list.top + (size_t)h; i++) {
		char name[256];
		const char *glyph;
		attr_t a;
		row_texts(t, &tv->rows[i], &glyph, name, sizeof(name), &a);
		int need = tui_width(tv->rows[i].lead) + 2 + tui_width(name) + 1;
		if (need > name_w)
			name_w = need;
	}
	show_marks = w - name_w >= 2 + 11 + 2 + disks_w + 9 + 10;
	show_size = w - name_w >= 2 + 11 + 2 + disks_w + 9;
	show_disks = w - 14 - 20 >= disks_w;
	right_w = 2 + 11 + (show_disks ? 2 + disks_w : 0) + (show_size ? 9 : 0) +
		  (show_marks ? 10 : 0);
	if (name_w > w - right_w)
		name_w = w - right_w;
	if (name_w < 12) {
		name_w = 12;
	}

	if (t->state->nsnapshots == 0 && (int)tv->nrows < h)
		tui_put(v->y + 1 + (int)tv->nrows, v->x + 2, _("no snapshots yet: F2 or s takes one"),
			w - 2, tui_attr(TUI_C_DIM), false);
	for (int i = 0; i < h && tv->list.top + (size_t)i < tv->nrows; i++) {
		const struct tree_row *r = &tv->rows[tv->list.top + (size_t)i];
		bool sel = tv->list.top + (size_t)i == tv->list.sel;
		attr_t sel_attr = sel ? tui_attr(focus ? TUI_C_SELECT : TUI_C_SELECT_DIM) : 0;
		int y = v->y + 1 + i, x = v->x + 1, col;
		char name[256], cell[256];
		const char *glyph;
		attr_t a;

		row_texts(t, r, &glyph, name, sizeof(name), &a);
		tui_put(y, x, "", w, sel_attr, true);
		col = x + 1;
		col += tui_put(y, col, r->lead, name_w - 1, sel_attr | tui_attr(TUI_C_DIM), false);
		col += tui_put(y, col, glyph, 1, sel_attr | a, false);
		col += tui_put(y, col, " ", 1, sel_attr, false);
		tui_put(y, col, name, x + name_w - col, sel_attr | a, true);
		col = x + name_w;
		if (col >= x + w)
			continue;
		if (r->kind == ROW_SNAP) {
			const struct model_snapshot *s = &t->state->snapshots[r->snap];
			tui_put(y, col, s->memory_path ? tui_glyphs(t)->mem : " ", 1, sel_attr, false);
			tui_short_time(s->created, cell, sizeof(cell));
			tui_put(y, col + 2, cell, 11, sel_attr, false);
		} else if (r->kind == ROW_SAVED && t->state->preview) {
			tui_short_time(t->state->preview->created, cell, sizeof(cell));
			tui_put(y, col + 2, cell, 11, sel_attr | tui_attr(TUI_C_DIM), false);
		}
		col += 2 + 11;
		if (show_disks) {
			disks_cell(tv, t, t->state, r, cell, sizeof(cell));
			tui_put(y, col + 2, cell, disks_w, sel_attr, false);
			col += 2 + disks_w;
		}
		if (show_size && r->kind != ROW_SAVED) {
			uint64_t sp = r->kind == ROW_SNAP
					      ? snapshot_space(t->state,
							       &t->state->snapshots[r->snap])
					      : now_space(t->state);
			tui_bytes(sp, cell, sizeof(cell));
			int cw = tui_width(cell);
			tui_put(y, col + 9 - cw, cell, cw, sel_attr, false);
		}
		col += show_size ? 9 : 0;
		if (show_marks && r->kind == ROW_SNAP) {
			const struct model_snapshot *s = &t->state->snapshots[r->snap];
			const char *mark = s->policy_name ? s->policy_name
					   : s->is_auto   ? _("auto")
					   : s->imported  ? _("imported")
							  : "";
			tui_put(y, col + 2, mark, x + w - col - 2, sel_attr | tui_attr(TUI_C_DIM),
				false);
		}
	}
}

/* ---- keys ---- */

static void set_collapsed(struct tree_view *tv, const char *id, bool on)
{
	for (size_t i = 0; i < tv->ncollapsed; i++)
		if (strcmp(tv->collapsed[i], id) == 0) {
			if (!on) {
				free(tv->collapsed[i]);
				tv->collapsed[i] = tv->collapsed[--tv->ncollapsed];
			}
			return;
		}
	if (on) {
		tv->collapsed = sd_realloc(tv->collapsed, (tv->ncollapsed + 1) * sizeof(char *));
		tv->collapsed[tv->ncollapsed++] = sd_strdup(id);
	}
}

static int tree_key(struct tui_view *v, struct tui *t, int key)
{
	struct tree_view *tv = (struct tree_view *)v;
	struct tree_row *r;
	const char *id;

	tv->list.n = tv->nrows;
	if (tui_list_key(&tv->list, key, v->h - 3)) {
		remember(t);
		return TUI_REDRAW;
	}
	if (tv->nrows == 0)
		return TUI_UNHANDLED;
	r = &tv->rows[tv->list.sel];
	id = row_id(t, r);
	switch (key) {
	case 'h':
	case KEY_LEFT:
		if (r->kind == ROW_SNAP && r->has_children && !r->hidden) {
			set_collapsed(tv, id, true);
			break;
		}
		if (r->parent != SIZE_MAX)
			tv->list.sel = r->parent;
		remember(t);
		return TUI_REDRAW;
	case 'l':
	case KEY_RIGHT:
		if (r->kind == ROW_SNAP && r->hidden) {
			set_collapsed(tv, id, false);
			break;
		}
		if (tv->list.sel + 1 < tv->nrows && tv->rows[tv->list.sel + 1].parent == tv->list.sel)
			tv->list.sel++;
		remember(t);
		return TUI_REDRAW;
	case '\n':
	case '\r':
	case KEY_ENTER:
	case ' ':
		if (r->kind != ROW_SNAP || !r->has_children)
			return TUI_REDRAW;
		set_collapsed(tv, id, !r->hidden);
		break;
	default:
		return TUI_UNHANDLED;
	}
	{
		char *keep = sd_strdup(id);
		rebuild(t);
		tv->list.n = tv->nrows;
		select_id(t, keep);
		free(keep);
		remember(t);
	}
	return TUI_REDRAW;
}

static int tree_click(struct tui_view *v, struct tui *t, int y, int x)
{
	struct tree_view *tv = (struct tree_view *)v;
	size_t k;

	(void)x;
	if (y <= v->y || y >= v->y + v->h - 1)
		return TUI_REDRAW;
	k = tv->list.top + (size_t)(y - v->y - 1);
	if (k < tv->nrows) {
		tv->list.sel = k;
		remember(t);
	}
	return TUI_REDRAW;
}

static void tree_free(struct tui_view *v)
{
	struct tree_view *tv = (struct tree_view *)v;

	clear_rows(tv);
	free(tv->rows);
	for (size_t i = 0; i < tv->ncollapsed; i++)
		free(tv->collapsed[i]);
	free(tv->collapsed);
	free(tv->sel_id);
	free(tv);
}

static const struct tui_view_ops tree_ops = { "tree", tree_draw, tree_key, tree_click, tree_free };

struct tui_view *tui_tree_new(void)
{
	struct tree_view *v = sd_calloc(1, sizeof(*v));

	v->super.ops = &tree_ops;
	return &v->super;
}
