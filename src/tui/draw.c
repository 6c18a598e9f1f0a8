/* Drawing helpers and the theme: text that never tears the screen, boxes,
 * glyphs for UTF-8 and ASCII terminals, colours for dark and light ones. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "tui/priv.h"
#include "util/str.h"
#include "util/time.h"

static attr_t attrs[TUI_NCOLORS];

/* Colours on the terminal's own background (use_default_colors), so that
 * they read on dark and light terminals alike; only attributes with
 * NO_COLOR or on a terminal without colours. */
void tui_theme_init(struct tui *t)
{
	const char *no_color = getenv("NO_COLOR");

	t->color = has_colors() && !(no_color && no_color[0]);
	attrs[TUI_C_NORMAL] = A_NORMAL;
	attrs[TUI_C_TITLE] = A_BOLD;
	attrs[TUI_C_SELECT] = A_REVERSE;
	attrs[TUI_C_SELECT_DIM] = A_UNDERLINE;
	attrs[TUI_C_ERROR] = A_BOLD;
	attrs[TUI_C_WARN] = A_BOLD;
	attrs[TUI_C_OK] = A_NORMAL;
	attrs[TUI_C_DIM] = A_DIM;
	attrs[TUI_C_CURRENT] = A_BOLD;
	attrs[TUI_C_BAR] = A_NORMAL;
	attrs[TUI_C_KEY] = A_BOLD;
	attrs[TUI_C_HEADER] = A_REVERSE;
	if (!t->color)
		return;
	start_color();
	use_default_colors();
	init_pair(1, COLOR_RED, -1);
	init_pair(2, COLOR_YELLOW, -1);
	init_pair(3, COLOR_GREEN, -1);
	init_pair(4, COLOR_CYAN, -1);
	init_pair(5, COLOR_BLACK, COLOR_CYAN);
	init_pair(6, COLOR_BLUE, -1);
	attrs[TUI_C_ERROR] = COLOR_PAIR(1) | A_BOLD;
	attrs[TUI_C_WARN] = COLOR_PAIR(2) | A_BOLD;
	attrs[TUI_C_OK] = COLOR_PAIR(3);
	attrs[TUI_C_CURRENT] = COLOR_PAIR(3) | A_BOLD;
	attrs[TUI_C_BAR] = COLOR_PAIR(4);
	attrs[TUI_C_KEY] = COLOR_PAIR(6) | A_BOLD;
	attrs[TUI_C_HEADER] = COLOR_PAIR(5);
	attrs[TUI_C_SELECT_DIM] = A_REVERSE | A_DIM;
}

attr_t tui_attr(enum tui_color c)
{
	return attrs[c];
}

static const struct tui_glyphs utf8_glyphs = {
	"│", "├─", "└─", "●", "◉", "▸", "◌", "█", "░", "◉", "○", "·", "[x]", "[ ]", "M", "▶", "…",
};
static const struct tui_glyphs ascii_glyphs = {
	"|", "|-", "`-", "o", "@", ">", "~", "#", "-", "(*)", "( )", ".", "[x]", "[ ]", "M", ">", "~",
};

const struct tui_glyphs *tui_glyphs(const struct tui *t)
{
	return t->utf8 ? &utf8_glyphs : &ascii_glyphs;
}

/* Walks s as the terminal would show it (sd_str_next_cell); calls emit for
 * each shown character (NULL emit: measure). Returns the columns used. */
static int walk(const char *s, int width, void (*emit)(const wchar_t *wc, void *), void *opaque)
{
	mbstate_t st;
	int used = 0;
	size_t len = strlen(s);

	memset(&st, 0, sizeof(st));
	while (len > 0 && used < width) {
		wchar_t wc[2] = { 0, 0 };
		const char *next = s;
		size_t left = len;
		int w = sd_str_next_cell(&next, &left, &st, &wc[0]);

		if (used + w > width)
			break;
		if (emit && w > 0)
			emit(wc, opaque);
		used += w;
		s = next;
		len = left;
	}
	return used;
}

static void emit_wc(const wchar_t *wc, void *opaque)
{
	(void)opaque;
	addwstr(wc);
}

int tui_put(int y, int x, const char *s, int width, attr_t attr, bool pad)
{
	int used;

	if (width <= 0)
		return 0;
	attrset(attr);
	move(y, x);
	used = walk(s ? s : "", width, emit_wc, NULL);
	if (pad)
		for (int i = used; i < width; i++)
			addch(' ');
	attrset(A_NORMAL);
	return pad ? width : used;
}

int tui_width(const char *s)
{
	return walk(s ? s : "", 1 << 20, NULL, NULL);
}

void tui_clear(int y, int x, int h, int w)
{
	for (int r = 0; r < h; r++)
		mvhline(y + r, x, ' ', w);
}

/* Lines are drawn with characters, not the terminal's alternate character
 * set: Unicode in a UTF-8 locale, plain ASCII otherwise, so that every
 * terminal (and tmux's capture) shows the same. */
struct lines {
	const char *h, *v, *tl, *tr, *bl, *br, *lt, *rt;
};
static const struct lines utf8_lines = { "─", "│", "┌", "┐", "└", "┘", "├", "┤" };
static const struct lines ascii_lines = { "-", "|", "+", "+", "+", "+", "+", "+" };

static const struct lines *lines_of(const struct tui *t)
{
	return t->utf8 ? &utf8_lines : &ascii_lines;
}

void tui_hline(const struct tui *t, int y, int x, int w, bool tees)
{
	const struct lines *l = lines_of(t);

	for (int i = 0; i < w; i++)
		tui_put(y, x + i, tees && i == 0 ? l->lt : tees && i == w - 1 ? l->rt : l->h, 1,
			A_NORMAL, false);
}

void tui_box(const struct tui *t, int y, int x, int h, int w, const char *title, bool focus)
{
	const struct lines *l = lines_of(t);

	attr_t a = focus ? A_BOLD : A_NORMAL;

	if (h < 2 || w < 4)
		return;
	for (int i = 1; i < w - 1; i++) {
		tui_put(y, x + i, l->h, 1, a, false);
		tui_put(y + h - 1, x + i, l->h, 1, a, false);
	}
	for (int r = 1; r < h - 1; r++) {
		tui_put(y + r, x, l->v, 1, a, false);
		tui_put(y + r, x + w - 1, l->v, 1, a, false);
	}
	tui_put(y, x, l->tl, 1, a, false);
	tui_put(y, x + w - 1, l->tr, 1, a, false);
	tui_put(y + h - 1, x, l->bl, 1, a, false);
	tui_put(y + h - 1, x + w - 1, l->br, 1, a, false);
	if (title && title[0]) {
		int n;

		tui_put(y, x + 1, " ", 1, a, false);
		if (tui_width(title) <= w - 5) {
			n = tui_put(y, x + 2, title, w - 5, a, false);
		} else {
			/* cut, and say so */
			n = tui_put(y, x + 2, title, w - 6, a, false);
			n += tui_put(y, x + 2 + n, tui_glyphs(t)->ellipsis, 1, a, false);
		}
		tui_put(y, x + 2 + n, " ", 1, a, false);
	}
}

void tui_bytes(uint64_t n, char *buf, size_t len)
{
	sd_str_bytes(n, buf, len);
}

void tui_short_time(const char *iso, char *buf, size_t len)
{
	time_t tt;
	struct tm tm;

	if (!iso || !sd_time_parse_iso(iso, &tt) || !localtime_r(&tt, &tm)) {
		snprintf(buf, len, "%s", "-");
		return;
	}
	strftime(buf, len, "%m-%d %H:%M", &tm);
}
