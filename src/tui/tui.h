/* The console: ncurses over the controller (DESIGN.md "Architecture").
 * Nothing here talks to libvirt, SQLite or qemu-img: every fact and every
 * action comes from src/ctl. */
#ifndef SD_TUI_TUI_H
#define SD_TUI_TUI_H

#include <stdio.h>

#include "ctl/ctl.h"
#include "util/err.h"

struct tui;

/* Opens the console on the terminal (stdin/stdout) and runs it until the
 * user quits; returns the exit status (0, or 1 when it could not start). */
int tui_main(const struct ctl_options *opts);

/* For benchmarks and tests: a console on the terminal in/out (a pty),
 * without the main loop. tui_new draws nothing; when the catalog knows the
 * host it loads what the catalog says (VM states unknown) and connects to
 * libvirt only in tui_connect (or at the first key), else it connects at
 * once. */
struct tui *tui_new(const struct ctl_options *opts, FILE *in, FILE *out, struct sd_err *err);
/* Connects to libvirt and lists its VMs (a no-op once connected); draws. */
int tui_connect(struct tui *t, struct sd_err *err);
/* Draws one complete frame and flushes it to the terminal. */
void tui_draw(struct tui *t);
/* Handles one key (an ncurses key code) as the main loop would, then draws
 * the frame. Returns false once the console wants to quit. */
bool tui_key(struct tui *t, int key);
/* The screen as the terminal shows it: text only, one line per row, rows
 * ended by '\n' (for tests). Caller frees. */
char *tui_screen_text(struct tui *t);
/* Ends curses and closes the controller. */
void tui_free(struct tui *t);

#endif
