/* The help screen, drawn from the key table (the same table draws the
 * function bar), so that no key goes undocumented. */
#include "config.h"

#include <stdlib.h>

#include "tui/priv.h"
#include "util/i18n.h"
#include "util/mem.h"

struct help_view {
	struct tui_view super;
	size_t top;
};

static void help_draw(struct tui_view *v, struct tui *t)
{
	struct help_view *hv = (struct help_view *)v;
	int w = t->cols - 2, h = t->rows - 4, inner;

	if (w > 96)
		w = 96;
	v->h = h;
	v->w = w;
	v->y = 2;
	v->x = (t->cols - w) / 2;
	inner = h - 3;
	if (hv->top + (size_t)inner > tui_nbindings)
		hv->top = tui_nbindings > (size_t)inner ? tui_nbindings - (size_t)inner : 0;
	tui_clear(v->y, v->x, v->h, v->w);
	tui_box(t, v->y, v->x, v->h, v->w, _("Help · keys (Esc closes, arrows scroll)"), true);
	for (int i = 0; i < inner && hv->top + (size_t)i < tui_nbindings; i++) {
		const struct tui_binding *b = &tui_bindings[hv->top + (size_t)i];
		tui_put(v->y + 1 + i, v->x + 2, _(b->keys), 20, tui_attr(TUI_C_KEY), false);
		tui_put(v->y + 1 + i, v->x + 23, _(b->help), w - 24, A_NORMAL, false);
	}
	tui_put(v->y + h - 2, v->x + 2, _("snapdeck(1) lists every key and command."), w - 4,
		tui_attr(TUI_C_DIM), false);
}

static int help_key(struct tui_view *v, struct tui *t, int key)
{
	struct help_view *hv = (struct help_view *)v;

	(void)t;
	switch (key) {
	case KEY_DOWN:
	case 'j':
		hv->top++;
		return TUI_REDRAW;
	case KEY_UP:
	case 'k':
		if (hv->top > 0)
			hv->top--;
		return TUI_REDRAW;
	case KEY_NPAGE:
		hv->top += 10;
		return TUI_REDRAW;
	case KEY_PPAGE:
		hv->top = hv->top > 10 ? hv->top - 10 : 0;
		return TUI_REDRAW;
	default:
		return TUI_CLOSE; /* any other key closes help */
	}
}

static int help_click(struct tui_view *v, struct tui *t, int y, int x)
{
	(void)v;
	(void)t;
	(void)y;
	(void)x;
	return TUI_CLOSE;
}

static void help_free(struct tui_view *v)
{
	free(v);
}

static const struct tui_view_ops help_ops = { "help", help_draw, help_key, help_click, help_free };

struct tui_view *tui_help_new(void)
{
	struct help_view *v = sd_calloc(1, sizeof(*v));

	v->super.ops = &help_ops;
	return &v->super;
}
