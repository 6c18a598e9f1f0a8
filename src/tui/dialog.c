/* Dialogs: forms (text, checkboxes, choices) and confirmations that show
 * what will happen before it happens. Destructive confirmations default to
 * the harmless button. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tui/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

/* ---- forms ---- */

#define FORM_MAX_FIELDS 40

struct tui_form {
	struct tui_view super;
	char *title;
	struct tui_field fields[FORM_MAX_FIELDS];
	int nfields, focus, top;
	tui_form_submit submit;
	void *ctx;
	void (*ctx_free)(void *);
};

static bool focusable(const struct tui_field *f)
{
	return f->kind != TUI_FIELD_NOTE && !f->disabled;
}

static void form_draw(struct tui_view *v, struct tui *t)
{
	struct tui_form *f = (struct tui_form *)v;
	const struct tui_glyphs *g = tui_glyphs(t);
	int w = t->cols - 6, h = f->nfields + 4, inner, label_w = 0;

	if (w > 76)
		w = 76;
	if (h > t->rows - 4)
		h = t->rows - 4;
	inner = h - 4;
	v->w = w;
	v->h = h;
	v->y = (t->rows - h) / 2;
	v->x = (t->cols - w) / 2;
	if (f->focus < f->top)
		f->top = f->focus;
	if (f->focus >= f->top + inner)
		f->top = f->focus - inner + 1;
	for (int i = 0; i < f->nfields; i++) {
		int lw = tui_width(_(f->fields[i].label));
		if (f->fields[i].kind != TUI_FIELD_NOTE && lw > label_w)
			label_w = lw;
	}
	if (label_w > w / 2)
		label_w = w / 2;
	tui_clear(v->y, v->x, v->h, v->w);
	tui_box(t, v->y, v->x, v->h, v->w, f->title, true);
	for (int r = 0; r < inner && f->top + r < f->nfields; r++) {
		int i = f->top + r, y = v->y + 2 + r, x = v->x + 2;
		struct tui_field *fd = &f->fields[i];
		bool foc = i == f->focus;
		attr_t a = fd->disabled ? tui_attr(TUI_C_DIM) : A_NORMAL;
		attr_t va = foc ? tui_attr(TUI_C_SELECT) : a;
		char buf[300];

		if (fd->kind == TUI_FIELD_NOTE) {
			tui_put(y, x, _(fd->label), w - 4, tui_attr(TUI_C_DIM), false);
			continue;
		}
		tui_put(y, x, _(fd->label), label_w, a, true);
		x += label_w + 2;
		switch (fd->kind) {
		case TUI_FIELD_TEXT: {
			int fw = w - (x - v->x) - 3;
			int tw = tui_width(fd->text);
			/* show the end of a long value: that is where one types */
			const char *s = fd->text;
			while (tw > fw - 1 && *s) {
				s++;
				while ((*s & 0xc0) == 0x80)
					s++;
				tw = tui_width(s);
			}
			tui_put(y, x, s, fw, va | A_UNDERLINE, true);
			if (foc)
				tui_put(y, x + tw, t->utf8 ? "▏" : "_", 1, va | A_UNDERLINE, false);
			break;
		}
		case TUI_FIELD_CHECK:
			tui_put(y, x, fd->checked ? g->check_on : g->check_off, 3, va, false);
			break;
		case TUI_FIELD_CHOICE:
			snprintf(buf, sizeof(buf), "< %s >", _(fd->choices[fd->choice]));
			tui_put(y, x, buf, w - (x - v->x) - 2, va, false);
			break;
		case TUI_FIELD_NOTE:
			break;
		}
	}
	tui_put(v->y + h - 1, v->x + 2,
		_(" Enter OK · Esc cancel · Tab next · Space toggles · Left/Right choose "), w - 4,
		tui_attr(TUI_C_KEY), false);
}

static void move_focus(struct tui_form *f, int dir)
{
	int i = f->focus;

	for (int n = 0; n < f->nfields; n++) {
		i = (i + dir + f->nfields) % f->nfields;
		if (focusable(&f->fields[i])) {
			f->focus = i;
			return;
		}
	}
}

static int form_key(struct tui_view *v, struct tui *t, int key)
{
	struct tui_form *f = (struct tui_form *)v;
	struct tui_field *fd = f->nfields ? &f->fields[f->focus] : NULL;
	size_t len;

	switch (key) {
	case 27:
		tui_status(t, false, _("cancelled"));
		return TUI_CLOSE;
	case '\n':
	case '\r':
	case KEY_ENTER:
		return f->submit(t, f) == 0 ? TUI_CLOSE | TUI_RELOAD : TUI_REDRAW;
	case '\t':
	case KEY_DOWN:
		move_focus(f, 1);
		return TUI_REDRAW;
	case KEY_BTAB:
	case KEY_UP:
		move_focus(f, -1);
		return TUI_REDRAW;
	}
	if (!fd || !focusable(fd))
		return TUI_REDRAW;
	switch (fd->kind) {
	case TUI_FIELD_CHECK:
		if (key == ' ' || key == 'x')
			fd->checked = !fd->checked;
		return TUI_REDRAW;
	case TUI_FIELD_CHOICE: {
		int n = 0;
		while (fd->choices[n])
			n++;
		if (key == ' ' || key == KEY_RIGHT || key == 'l')
			fd->choice = (fd->choice + 1) % n;
		else if (key == KEY_LEFT || key == 'h')
			fd->choice = (fd->choice + n - 1) % n;
		return TUI_REDRAW;
	}
	case TUI_FIELD_TEXT:
		len = strlen(fd->text);
		if (key == KEY_BACKSPACE || key == 127 || key == 8) {
			while (len > 0 && ((unsigned char)fd->text[len - 1] & 0xc0) == 0x80)
				len--;
			if (len > 0)
				fd->text[len - 1] = '\0';
		} else if (key == 0x15) { /* ^U */
			fd->text[0] = '\0';
		} else if (key >= 0x20 && key < 0x100 && key != 0x7f &&
			   len + 1 < sizeof(fd->text)) {
			fd->text[len] = (char)key;
			fd->text[len + 1] = '\0';
		}
		return TUI_REDRAW;
	case TUI_FIELD_NOTE:
		break;
	}
	return TUI_REDRAW;
}

static int form_click(struct tui_view *v, struct tui *t, int y, int x)
{
	struct tui_form *f = (struct tui_form *)v;
	int i = f->top + (y - v->y - 2);

	(void)t;
	(void)x;
	if (i >= 0 && i < f->nfields && focusable(&f->fields[i])) {
		f->focus = i;
		if (f->fields[i].kind == TUI_FIELD_CHECK)
			f->fields[i].checked = !f->fields[i].checked;
	}
	return TUI_REDRAW;
}

static void form_free(struct tui_view *v)
{
	struct tui_form *f = (struct tui_form *)v;

	for (int i = 0; i < f->nfields; i++)
		free(f->fields[i].label);
	if (f->ctx_free)
		f->ctx_free(f->ctx);
	free(f->title);
	free(f);
}

static const struct tui_view_ops form_ops = { "form", form_draw, form_key, form_click, form_free };

struct tui_form *tui_form_new(const char *title, tui_form_submit submit, void *ctx,
			      void (*ctx_free)(void *))
{
	struct tui_form *f = sd_calloc(1, sizeof(*f));

	f->super.ops = &form_ops;
	f->title = sd_strdup(title);
	f->submit = submit;
	f->ctx = ctx;
	f->ctx_free = ctx_free;
	f->focus = -1;
	return f;
}

struct tui_field *tui_form_add(struct tui_form *f, enum tui_field_kind kind, const char *key,
			       const char *label)
{
	struct tui_field *fd;

	if (f->nfields >= FORM_MAX_FIELDS)
		return &f->fields[FORM_MAX_FIELDS - 1]; /* never in practice: forms are small */
	fd = &f->fields[f->nfields++];
	memset(fd, 0, sizeof(*fd));
	fd->kind = kind;
	fd->key = key;
	fd->label = sd_strdup(label);
	if (f->focus < 0 && kind != TUI_FIELD_NOTE)
		f->focus = f->nfields - 1;
	return fd;
}

struct tui_field *tui_form_field(struct tui_form *f, const char *key)
{
	for (int i = 0; i < f->nfields; i++)
		if (f->fields[i].key && sd_str_eq(f->fields[i].key, key))
			return &f->fields[i];
	return NULL;
}

void *tui_form_ctx(struct tui_form *f)
{
	return f->ctx;
}

struct tui_view *tui_form_view(struct tui_form *f)
{
	if (f->focus < 0)
		f->focus = 0;
	else if (!focusable(&f->fields[f->focus]))
		move_focus(f, 1);
	return &f->super;
}

/* ---- confirmations ---- */

struct confirm {
	struct tui_view super;
	char *title;
	char **lines; /* wrapped */
	size_t nlines, top;
	struct tui_button buttons[4];
	size_t nbuttons, focus;
	void *ctx;
	void (*ctx_free)(void *);
	int width; /* the width lines were wrapped to */
	char *text;
};

static void add_line(struct confirm *c, const char *s, size_t n)
{
	c->lines = sd_realloc(c->lines, (c->nlines + 1) * sizeof(char *));
	c->lines[c->nlines++] = sd_strndup(s, n);
}

/* Greedy word wrap of every paragraph to width columns. */
static void wrap(struct confirm *c, int width)
{
	const char *p = c->text;

	for (size_t i = 0; i < c->nlines; i++)
		free(c->lines[i]);
	c->nlines = 0;
	c->width = width;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t plen = nl ? (size_t)(nl - p) : strlen(p);
		char *para = sd_strndup(p, plen);
		const char *q = para;

		if (!*q)
			add_line(c, "", 0);
		while (*q) {
			size_t best = 0, i = 0;
			while (q[i]) {
				size_t j = i;
				while (q[j] == ' ')
					j++;
				while (q[j] && q[j] != ' ')
					j++;
				char *cand = sd_strndup(q, j);
				int cw = tui_width(cand);
				free(cand);
				if (cw > width && best > 0)
					break;
				best = j;
				i = j;
				if (cw > width)
					break;
			}
			if (best == 0)
				best = strlen(q);
			add_line(c, q, best);
			q += best;
			while (*q == ' ')
				q++;
		}
		free(para);
		p += plen;
		if (*p == '\n')
			p++;
	}
}

static void confirm_draw(struct tui_view *v, struct tui *t)
{
	struct confirm *c = (struct confirm *)v;
	int w = t->cols - 6, h, inner, x;

	if (w > 96)
		w = 96;
	if (c->width != w - 4)
		wrap(c, w - 4);
	h = (int)c->nlines + 5;
	if (h > t->rows - 3)
		h = t->rows - 3;
	inner = h - 5;
	v->w = w;
	v->h = h;
	v->y = (t->rows - h) / 2;
	v->x = (t->cols - w) / 2;
	if (c->top + (size_t)inner > c->nlines)
		c->top = c->nlines > (size_t)inner ? c->nlines - (size_t)inner : 0;
	tui_clear(v->y, v->x, v->h, v->w);
	tui_box(t, v->y, v->x, v->h, v->w, c->title, true);
	for (int i = 0; i < inner && c->top + (size_t)i < c->nlines; i++)
		tui_put(v->y + 2 + i, v->x + 2, c->lines[c->top + (size_t)i], w - 4, A_NORMAL, false);
	if (c->nlines > (size_t)inner)
		tui_put(v->y + 1, v->x + w - 16, _("(Up/Down scroll)"), 15, tui_attr(TUI_C_DIM),
			false);
	x = v->x + 2;
	for (size_t b = 0; b < c->nbuttons; b++) {
		char label[96];
		snprintf(label, sizeof(label), "[ %s ]", _(c->buttons[b].label));
		x += tui_put(v->y + h - 2, x, label, v->x + w - 2 - x,
			     b == c->focus ? tui_attr(TUI_C_SELECT) : A_NORMAL, false);
		x += 2;
	}
}

static int press(struct confirm *c, struct tui *t, size_t b)
{
	if (c->buttons[b].fn)
		return c->buttons[b].fn(t, c->ctx) | TUI_CLOSE;
	tui_status(t, false, _("cancelled"));
	return TUI_CLOSE;
}

static int confirm_key(struct tui_view *v, struct tui *t, int key)
{
	struct confirm *c = (struct confirm *)v;

	switch (key) {
	case 27:
		tui_status(t, false, _("cancelled"));
		return TUI_CLOSE;
	case '\n':
	case '\r':
	case KEY_ENTER:
		return press(c, t, c->focus);
	case KEY_LEFT:
	case KEY_BTAB:
		c->focus = (c->focus + c->nbuttons - 1) % c->nbuttons;
		return TUI_REDRAW;
	case KEY_RIGHT:
	case '\t':
		c->focus = (c->focus + 1) % c->nbuttons;
		return TUI_REDRAW;
	case KEY_UP:
		if (c->top > 0)
			c->top--;
		return TUI_REDRAW;
	case KEY_DOWN:
		c->top++;
		return TUI_REDRAW;
	}
	for (size_t b = 0; b < c->nbuttons; b++)
		if (c->buttons[b].hotkey == key)
			return press(c, t, b);
	return TUI_REDRAW;
}

static int confirm_click(struct tui_view *v, struct tui *t, int y, int x)
{
	struct confirm *c = (struct confirm *)v;
	int bx = v->x + 2;

	if (y != v->y + v->h - 2)
		return TUI_REDRAW;
	for (size_t b = 0; b < c->nbuttons; b++) {
		char label[96];
		snprintf(label, sizeof(label), "[ %s ]", _(c->buttons[b].label));
		int bw = tui_width(label);
		if (x >= bx && x < bx + bw)
			return press(c, t, b);
		bx += bw + 2;
	}
	return TUI_REDRAW;
}

static void confirm_free(struct tui_view *v)
{
	struct confirm *c = (struct confirm *)v;

	for (size_t i = 0; i < c->nlines; i++)
		free(c->lines[i]);
	free(c->lines);
	if (c->ctx_free)
		c->ctx_free(c->ctx);
	free(c->title);
	free(c->text);
	free(c);
}

static const struct tui_view_ops confirm_ops = { "confirm", confirm_draw, confirm_key,
						 confirm_click, confirm_free };

struct tui_view *tui_confirm_new(const char *title, const char *text,
				 const struct tui_button *buttons, size_t nbuttons, void *ctx,
				 void (*ctx_free)(void *))
{
	struct confirm *c = sd_calloc(1, sizeof(*c));

	c->super.ops = &confirm_ops;
	c->title = sd_strdup(title);
	c->text = sd_strdup(text);
	if (nbuttons > SD_N_ELEMENTS(c->buttons))
		nbuttons = SD_N_ELEMENTS(c->buttons);
	memcpy(c->buttons, buttons, nbuttons * sizeof(*buttons));
	c->nbuttons = nbuttons;
	c->focus = nbuttons - 1;
	c->ctx = ctx;
	c->ctx_free = ctx_free;
	return &c->super;
}
