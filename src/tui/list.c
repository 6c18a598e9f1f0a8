/* The list widget: one selection and scroll logic for every pane. */
#include "config.h"

#include "tui/priv.h"

bool tui_list_key(struct tui_list *l, int key, int page)
{
	if (page < 1)
		page = 1;
	switch (key) {
	case KEY_UP:
	case 'k':
		if (l->sel > 0)
			l->sel--;
		return true;
	case KEY_DOWN:
	case 'j':
		if (l->sel + 1 < l->n)
			l->sel++;
		return true;
	case KEY_PPAGE:
		l->sel = l->sel > (size_t)page ? l->sel - (size_t)page : 0;
		return true;
	case KEY_NPAGE:
		l->sel += (size_t)page;
		if (l->n == 0 || l->sel >= l->n)
			l->sel = l->n ? l->n - 1 : 0;
		return true;
	case KEY_HOME:
		l->sel = 0;
		return true;
	case KEY_END:
		l->sel = l->n ? l->n - 1 : 0;
		return true;
	default:
		return false;
	}
}

void tui_list_fit(struct tui_list *l, int h)
{
	size_t vis = h > 0 ? (size_t)h : 1;

	if (l->n == 0) {
		l->sel = l->top = 0;
		return;
	}
	if (l->sel >= l->n)
		l->sel = l->n - 1;
	if (l->sel < l->top)
		l->top = l->sel;
	if (l->sel >= l->top + vis)
		l->top = l->sel - vis + 1;
	if (l->top + vis > l->n)
		l->top = l->n > vis ? l->n - vis : 0;
}
