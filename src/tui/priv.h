/* Internals of the console shared by its files: the app, the view
 * interface, the list widget, the key table, drawing and the theme. */
#ifndef SD_TUI_PRIV_H
#define SD_TUI_PRIV_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl/ctl.h"
#include "ctl/task.h"
#include "model/state.h"
#include "tui/tui.h"

/* ---- reactions: what a key handler asks the main loop to do ---- */
enum {
	TUI_NONE = 0,
	TUI_REDRAW = 1 << 0,    /* draw again */
	TUI_RELOAD = 1 << 1,    /* read the catalog again, then draw */
	TUI_SELECT = 1 << 2,    /* the selected VM changed: load its tree */
	TUI_QUIT = 1 << 3,
	TUI_CLOSE = 1 << 4,     /* close the top overlay */
	TUI_UNHANDLED = 1 << 5, /* not mine: let the global keys have it */
};

/* ---- views: panes and overlays ---- */
struct tui_view;
struct tui_view_ops {
	const char *name;
	/* draws inside v's rectangle (overlays place themselves) */
	void (*draw)(struct tui_view *v, struct tui *t);
	/* returns a reaction */
	int (*key)(struct tui_view *v, struct tui *t, int key);
	/* a click at screen row y, column x inside v; returns a reaction */
	int (*click)(struct tui_view *v, struct tui *t, int y, int x);
	void (*free)(struct tui_view *v);
};
struct tui_view {
	const struct tui_view_ops *ops;
	int y, x, h, w; /* screen rectangle, set by the layout */
};

/* ---- the list widget under every pane: selection and scrolling ---- */
struct tui_list {
	size_t n;   /* rows */
	size_t sel; /* selected row (< n, or 0 when empty) */
	size_t top; /* first visible row */
};
/* Moves with arrows, j/k, PgUp/PgDn, Home/End; true when the key was one. */
bool tui_list_key(struct tui_list *l, int key, int page);
/* Keeps sel inside [0, n) and visible in a window of h rows. */
void tui_list_fit(struct tui_list *l, int h);

/* ---- background operations (ops.c) ---- */
#define TUI_MAX_JOBS 8
struct tui_job {
	pid_t pid;
	int fd;
	char *label; /* "preview demo-web" */
	char buf[1024];
	size_t len;
};

/* ---- the app ---- */
enum tui_pane { TUI_PANE_VMS, TUI_PANE_TREE, TUI_PANE_BOTTOM, TUI_NPANES };
enum tui_bottom { TUI_BOTTOM_TASKS, TUI_BOTTOM_EVENTS, TUI_BOTTOM_NONE };

struct tui {
	struct ctl *ctl;
	struct ctl_options opts;
	char *uri_label;
	SCREEN *screen; /* from newterm, or NULL for initscr */
	bool utf8, color, too_small, quit;
	int rows, cols;

	/* the VMs, all of them and the ones the filter lets through */
	struct ctl_vm_row *vms;
	size_t nvms;
	size_t *shown; /* indices into vms */
	size_t nshown;
	int names_width; /* of the longest shown name */
	char filter[128];
	bool filtering; /* typing into the filter */
	char sel_uuid[37];

	/* the selected VM's snapshot state, or NULL */
	struct model_vm *state;
	char *policies; /* "policies: hourly (hourly, keep 24) ..." or NULL */
	bool state_stale;    /* reload it once the overlays close */
	bool select_pending; /* the selection moved while keys were typed ahead */
	enum hv_state sel_state;

	struct catalog_task *tasks;
	size_t ntasks;
	size_t tasks_running;
	struct catalog_event *events;
	size_t nevents;

	volatile int domains_changed; /* set by libvirt's event thread */
	int64_t data_version;
	uint64_t vm_fingerprint;
	int64_t last_poll_ms;

	char status[512];
	bool status_error;

	struct tui_view *panes[TUI_NPANES]; /* the bottom one: tasks_view or events_view */
	struct tui_view *tasks_view, *events_view;
	enum tui_pane focus;
	enum tui_bottom bottom;
	struct tui_view *overlay[8];
	int noverlay;

	struct tui_job jobs[TUI_MAX_JOBS];
};

/* app.c */
void tui_status(struct tui *t, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tui_push(struct tui *t, struct tui_view *v);
/* The selected VM's row, or NULL. */
const struct ctl_vm_row *tui_selected_vm(const struct tui *t);
/* Reads the catalog again (VM facts, tasks, events, the selected tree). */
void tui_reload(struct tui *t);
/* Loads the selected VM's snapshot state. */
void tui_load_selected(struct tui *t);
/* Recomputes the filtered VM list, keeping the selection. */
void tui_refilter(struct tui *t);
int64_t tui_now_ms(void);

/* ---- drawing and theme (draw.c) ---- */
enum tui_color {
	TUI_C_NORMAL,
	TUI_C_TITLE,
	TUI_C_SELECT,
	TUI_C_SELECT_DIM, /* selection in a pane without focus */
	TUI_C_ERROR,
	TUI_C_WARN,
	TUI_C_OK,
	TUI_C_DIM,
	TUI_C_CURRENT,
	TUI_C_BAR,
	TUI_C_KEY,
	TUI_C_HEADER,
	TUI_NCOLORS,
};
void tui_theme_init(struct tui *t);
attr_t tui_attr(enum tui_color c);

struct tui_glyphs {
	const char *vert, *tee, *elbow, *node, *current, *now, *saved, *full, *empty, *on, *off,
		*none, *check_on, *check_off, *mem, *arrow, *ellipsis;
};
const struct tui_glyphs *tui_glyphs(const struct tui *t);

/* Writes s at (y, x) in at most width columns (padded with spaces when pad),
 * as the terminal shows it: control characters and, in a non-UTF-8 locale,
 * non-ASCII bytes become '?'. Returns the columns written. */
int tui_put(int y, int x, const char *s, int width, attr_t attr, bool pad);
/* Display width of s (as tui_put would draw it). */
int tui_width(const char *s);
/* A box with a title in the border. */
void tui_box(const struct tui *t, int y, int x, int h, int w, const char *title, bool focus);
/* A horizontal line, with tees at its ends when it splits a box. */
void tui_hline(const struct tui *t, int y, int x, int w, bool tees);
/* Clears the rectangle. */
void tui_clear(int y, int x, int h, int w);
/* "12 MiB" */
void tui_bytes(uint64_t n, char *buf, size_t len);
/* "11-20 02:00" from ISO-8601 UTC, in local time. */
void tui_short_time(const char *iso, char *buf, size_t len);

/* ---- the key table (keymap.c): one table for keys, help and the F-bar ---- */
typedef int (*tui_action_fn)(struct tui *t);
struct tui_binding {
	int key;         /* ncurses key code, or 0 (help line only) */
	int alt;         /* a second key for the same action, or 0 */
	int fkey;        /* 1..10 when on the function bar, else 0 */
	const char *keys;  /* as help shows them: "F2 s" */
	const char *bar;   /* function bar label, N_() */
	const char *help;  /* N_() */
	tui_action_fn fn;  /* NULL: a key a pane or a dialog handles */
};
extern const struct tui_binding tui_bindings[];
extern const size_t tui_nbindings;
/* The global action for key, or NULL. */
const struct tui_binding *tui_binding_for(int key);
void tui_draw_fbar(struct tui *t, int y);

/* ---- views ---- */
struct tui_view *tui_vms_new(void);
struct tui_view *tui_tree_new(void);
struct tui_view *tui_tasks_new(void);
struct tui_view *tui_events_new(void);
struct tui_view *tui_help_new(void);
struct tui_view *tui_grid_new(struct tui *t);
/* The selected tree row's snapshot (id), or NULL (the "now" row, none). */
const struct model_snapshot *tui_tree_selected(struct tui *t);
/* Keeps the tree's selection on snapshot id after a reload (or the current). */
void tui_tree_reset(struct tui *t);
/* The selected task, or NULL. */
const struct catalog_task *tui_tasks_selected(struct tui *t);

/* ---- dialogs (dialog.c) ---- */
enum tui_field_kind { TUI_FIELD_TEXT, TUI_FIELD_CHECK, TUI_FIELD_CHOICE, TUI_FIELD_NOTE };
struct tui_field {
	enum tui_field_kind kind;
	char *label;
	char text[256];      /* TEXT: the value */
	bool checked;        /* CHECK */
	const char **choices; /* CHOICE: NULL-terminated, N_() marked */
	int choice;
	bool disabled;
	const char *key;     /* what the submit function looks the field up by */
};
struct tui_form;
/* Called on Enter: 0 closes the form, -1 keeps it open (status says why). */
typedef int (*tui_form_submit)(struct tui *t, struct tui_form *f);
struct tui_form *tui_form_new(const char *title, tui_form_submit submit, void *ctx,
			      void (*ctx_free)(void *));
struct tui_field *tui_form_add(struct tui_form *f, enum tui_field_kind kind, const char *key,
			       const char *label);
struct tui_field *tui_form_field(struct tui_form *f, const char *key);
void *tui_form_ctx(struct tui_form *f);
struct tui_view *tui_form_view(struct tui_form *f);

/* A confirmation: text lines, then buttons (label, hotkey, action).
 * The last button is the default and must be the harmless one. */
struct tui_button {
	const char *label; /* N_() */
	int hotkey;
	int (*fn)(struct tui *t, void *ctx); /* NULL: just close */
};
struct tui_view *tui_confirm_new(const char *title, const char *text,
				 const struct tui_button *buttons, size_t nbuttons, void *ctx,
				 void (*ctx_free)(void *));

/* ---- actions (ops.c) ---- */
int tui_act_snapshot(struct tui *t);
int tui_act_preview_grid(struct tui *t);
int tui_act_preview_whole(struct tui *t);
int tui_act_commit(struct tui *t);
int tui_act_undo(struct tui *t);
int tui_act_revert(struct tui *t);
int tui_act_delete(struct tui *t);
int tui_act_clone(struct tui *t);
int tui_act_deploy(struct tui *t);
int tui_act_volume(struct tui *t);
int tui_act_template(struct tui *t);
int tui_act_cancel_task(struct tui *t);
int tui_act_start(struct tui *t);
int tui_act_stop(struct tui *t);
/* Runs a preview composed in the grid. */
struct plan_preview_req;
int tui_run_preview(struct tui *t, const struct plan_preview_req *req);
/* Reads what finished background operations said; true when one ended. */
bool tui_jobs_poll(struct tui *t);
size_t tui_jobs_running(const struct tui *t);

#endif
