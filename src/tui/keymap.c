/* The key table: the keys, the help screen and the function bar come from
 * this one table (htop's way). */
#include "config.h"

#include <string.h>

#include "tui/priv.h"
#include "util/i18n.h"

static int act_help(struct tui *t)
{
	tui_push(t, tui_help_new());
	return TUI_REDRAW;
}

static int act_quit(struct tui *t)
{
	(void)t;
	return TUI_QUIT;
}

static int act_tasks(struct tui *t)
{
	if (t->bottom == TUI_BOTTOM_TASKS && t->focus == TUI_PANE_BOTTOM) {
		t->bottom = TUI_BOTTOM_NONE;
		t->focus = TUI_PANE_VMS;
	} else {
		t->bottom = TUI_BOTTOM_TASKS;
		t->focus = TUI_PANE_BOTTOM;
	}
	return TUI_REDRAW;
}

static int act_events(struct tui *t)
{
	if (t->bottom == TUI_BOTTOM_EVENTS && t->focus == TUI_PANE_BOTTOM) {
		t->bottom = TUI_BOTTOM_TASKS;
		t->focus = TUI_PANE_VMS;
	} else {
		t->bottom = TUI_BOTTOM_EVENTS;
		t->focus = TUI_PANE_BOTTOM;
	}
	return TUI_REDRAW;
}

static int act_filter(struct tui *t)
{
	t->filtering = true;
	t->focus = TUI_PANE_VMS;
	return TUI_REDRAW;
}

static int act_next_pane(struct tui *t)
{
	do
		t->focus = (t->focus + 1) % TUI_NPANES;
	while (t->focus == TUI_PANE_BOTTOM && t->bottom == TUI_BOTTOM_NONE);
	return TUI_REDRAW;
}

static int act_prev_pane(struct tui *t)
{
	do
		t->focus = (t->focus + TUI_NPANES - 1) % TUI_NPANES;
	while (t->focus == TUI_PANE_BOTTOM && t->bottom == TUI_BOTTOM_NONE);
	return TUI_REDRAW;
}

static int act_reload(struct tui *t)
{
	t->vm_fingerprint = 0; /* re-list from libvirt too */
	t->last_poll_ms = 0;
	return TUI_RELOAD;
}

const struct tui_binding tui_bindings[] = {
	{ KEY_F(1), '?', 1, "F1 ?", N_("Help"), N_("this help"), act_help },
	{ KEY_F(2), 's', 2, "F2 s", N_("Snap"), N_("snapshot the selected VM (dialog)"),
	  tui_act_snapshot },
	{ KEY_F(3), 'p', 3, "F3 p", N_("Preview"),
	  N_("custom preview grid: each part from any snapshot"),
	  tui_act_preview_grid },
	{ 'P', 0, 0, "P", NULL, N_("preview the selected snapshot whole"), tui_act_preview_whole },
	{ KEY_F(4), 'c', 4, "F4 c", N_("Commit"), N_("commit the open preview (shows what is kept)"),
	  tui_act_commit },
	{ KEY_F(5), 'u', 5, "F5 u", N_("Undo"), N_("undo the open preview"), tui_act_undo },
	{ 'r', 0, 0, "r", NULL, N_("revert to the selected snapshot (preview and commit)"),
	  tui_act_revert },
	{ KEY_F(6), 'C', 6, "F6 C", N_("Clone"), N_("clone a new VM from the selected snapshot"),
	  tui_act_clone },
	{ KEY_F(7), 'D', 7, "F7 D", N_("Deploy"),
	  N_("deploy from the snapshot: full, linked, linked direct"),
	  tui_act_deploy },
	{ KEY_F(8), 'd', 8, "F8 d", N_("Delete"),
	  N_("delete the selected snapshot (shows the data to move)"), tui_act_delete },
	{ 'v', 0, 0, "v", NULL, N_("make a volume from a disk of the selected snapshot"),
	  tui_act_volume },
	{ 'T', 0, 0, "T", NULL, N_("seed a template from the selected snapshot"),
	  tui_act_template },
	{ 'S', 0, 0, "S", NULL, N_("start the VM (a memory preview resumes from it)"),
	  tui_act_start },
	{ 'H', 0, 0, "H", NULL, N_("shut the VM down, or power it off"), tui_act_stop },
	{ KEY_F(9), 't', 9, "F9 t", N_("Tasks"), N_("show the tasks pane (progress of long work)"),
	  act_tasks },
	{ 'x', 0, 0, "x", NULL, N_("in the tasks pane: cancel the selected task"),
	  tui_act_cancel_task },
	{ 'e', 0, 0, "e", NULL, N_("show the events pane"), act_events },
	{ '/', 0, 0, "/", NULL, N_("filter VMs as you type (Enter keeps, Esc clears)"),
	  act_filter },
	{ '\t', 0, 0, "Tab", NULL, N_("next pane"), act_next_pane },
	{ KEY_BTAB, 0, 0, "S-Tab", NULL, N_("previous pane"), act_prev_pane },
	{ KEY_F(10), 'q', 10, "F10 q", N_("Quit"), N_("quit (running work goes on)"), act_quit },
	{ 0x0c, 0, 0, "^L", NULL, N_("read everything again and redraw"), act_reload },
	{ 0, 0, 0, N_("Up Down j k"), NULL, N_("move in the pane"), NULL },
	{ 0, 0, 0, N_("PgUp PgDn Home End"), NULL, N_("move by pages, to the first, the last"),
	  NULL },
	{ 0, 0, 0, N_("Left Right h l"), NULL,
	  N_("in the tree: collapse, expand a branch (Enter toggles)"), NULL },
	{ 0, 0, 0, N_("Grid: arrows"), NULL, N_("move between cells"), NULL },
	{ 0, 0, 0, N_("Grid: Space"), NULL,
	  N_("pick the cell (one per column; memory goes with config)"), NULL },
	{ 0, 0, 0, N_("Grid: x"), NULL, N_("clear the disk column: exclude the disk"), NULL },
	{ 0, 0, 0, N_("Grid: Enter, Esc"), NULL, N_("preview the result, cancel"), NULL },
	{ 0, 0, 0, N_("Dialogs: Tab Up Down"), NULL,
	  N_("next, previous field; Space toggles, Left Right choose"), NULL },
	{ 0, 0, 0, N_("Dialogs: Enter, Esc"), NULL,
	  N_("confirm (the default is the harmless choice), cancel"), NULL },
	{ 0, 0, 0, N_("Mouse"), NULL, N_("a click selects a VM, snapshot, task or grid cell"),
	  NULL },
};
const size_t tui_nbindings = sizeof(tui_bindings) / sizeof(tui_bindings[0]);

const struct tui_binding *tui_binding_for(int key)
{
	for (size_t i = 0; i < tui_nbindings; i++)
		if (tui_bindings[i].fn && key != 0 &&
		    (tui_bindings[i].key == key || tui_bindings[i].alt == key))
			return &tui_bindings[i];
	return NULL;
}

/* htop's bar: "F1Help F2Snap ..."; without the spaces when the terminal is
 * narrow (the labels' reverse video separates them then). */
void tui_draw_fbar(struct tui *t, int y)
{
	int x = 0, total = 0, nkeys = 0;
	bool spaces;

	(void)t;
	for (size_t i = 0; i < tui_nbindings; i++)
		if (tui_bindings[i].fkey) {
			total += (tui_bindings[i].fkey >= 10 ? 3 : 2) +
				 tui_width(_(tui_bindings[i].bar));
			nkeys++;
		}
	spaces = total + nkeys - 1 <= COLS;
	move(y, 0);
	clrtoeol();
	for (int f = 1; f <= 10; f++) {
		for (size_t i = 0; i < tui_nbindings; i++) {
			char num[8];
			const char *label;

			if (tui_bindings[i].fkey != f)
				continue;
			snprintf(num, sizeof(num), "F%d", f);
			label = _(tui_bindings[i].bar);
			if (x + (int)strlen(num) + tui_width(label) > COLS)
				return;
			x += tui_put(y, x, num, 3, tui_attr(TUI_C_KEY), false);
			x += tui_put(y, x, label, COLS - x, tui_attr(TUI_C_HEADER), false);
			if (spaces && x < COLS)
				x += tui_put(y, x, " ", 1, A_NORMAL, false);
		}
	}
}
