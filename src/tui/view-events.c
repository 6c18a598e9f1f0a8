/* The events pane: what every operation did, warnings and errors, newest
 * last (the catalog's event log, as 'snapdeck events' prints it). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tui/priv.h"
#include "util/i18n.h"
#include "util/mem.h"

struct events_view {
	struct tui_view super;
	struct tui_list list;
	size_t seen; /* events when last drawn: new ones scroll to the end */
};

static void events_draw(struct tui_view *v, struct tui *t)
{
	struct events_view *ev = (struct events_view *)v;
	bool focus = t->focus == TUI_PANE_BOTTOM && t->noverlay == 0;
	int h = v->h - 2, w = v->w - 2;

	tui_box(t, v->y, v->x, v->h, v->w, _("Events"), focus);
	ev->list.n = t->nevents;
	if (t->nevents != ev->seen) {
		ev->seen = t->nevents;
		ev->list.sel = t->nevents ? t->nevents - 1 : 0;
	}
	tui_list_fit(&ev->list, h);
	if (t->nevents == 0) {
		tui_put(v->y + 1, v->x + 2, _("no events yet"), w - 2, tui_attr(TUI_C_DIM), false);
		return;
	}
	for (int i = 0; i < h && ev->list.top + (size_t)i < t->nevents; i++) {
		size_t k = ev->list.top + (size_t)i;
		const struct catalog_event *e = &t->events[k];
		bool sel = k == ev->list.sel && focus;
		attr_t attr = sel ? tui_attr(TUI_C_SELECT) : A_NORMAL;
		enum tui_color c = e->level == CATALOG_ERROR	 ? TUI_C_ERROR
				   : e->level == CATALOG_WARNING ? TUI_C_WARN
								 : TUI_C_NORMAL;
		int y = v->y + 1 + i, x = v->x + 1;
		char when[32];

		tui_short_time(e->time, when, sizeof(when));
		tui_put(y, x, "", w, attr, true);
		tui_put(y, x + 1, when, 11, attr, false);
		tui_put(y, x + 13, e->vm ? e->vm : "-", 16, attr, true);
		tui_put(y, x + 30, catalog_level_name(e->level), 7, attr | tui_attr(c), true);
		tui_put(y, x + 38, e->message, w - 39, attr, false);
	}
}

static int events_key(struct tui_view *v, struct tui *t, int key)
{
	struct events_view *ev = (struct events_view *)v;

	ev->list.n = t->nevents;
	if (tui_list_key(&ev->list, key, v->h - 3))
		return TUI_REDRAW;
	return TUI_UNHANDLED;
}

static void events_free(struct tui_view *v)
{
	free(v);
}

static const struct tui_view_ops events_ops = { "events", events_draw, events_key, NULL,
						events_free };

struct tui_view *tui_events_new(void)
{
	struct events_view *v = sd_calloc(1, sizeof(*v));

	v->super.ops = &events_ops;
	return &v->super;
}
