/* A small tmux driver for the console's tests: snapdeck runs in a detached
 * session of a private tmux server (tmux -L <socket>, never the user's), the
 * test sends keys and reads the screen back with capture-pane. Screens are
 * compared with expected files after masking what varies from run to run
 * (clock, dates, sizes, the demo prefix, the host's VM count, layer file
 * names, UUIDs); SNAPDECK_REGEN_SCREENS=1 writes the files instead. Every
 * helper fails the running cmocka test (fail_msg) when something is off,
 * saying what and showing the last screen. No shell runs here: tmux and its
 * client are started with sdtest_run. */
#ifndef SD_TESTS_TUILIB_H
#define SD_TESTS_TUILIB_H

#include <stdbool.h>

#include "tests/lib/sdtest.h"

/* How long a wait lasts by default (ms): generous, for a loaded machine. */
#define TT_TIMEOUT_MS 20000

/* What runs in the pane. */
struct tt_opts {
	int w, h;
	const char *uri;	     /* -c URI (NULL: qemu:///system) */
	const char *catalog;	     /* SNAPDECK_CATALOG */
	bool no_color;		     /* NO_COLOR=1 */
	const char *copy_rate_limit; /* SNAPDECK_COPY_RATE_LIMIT, or NULL */
	bool report_exit;	     /* under sh -c '...; echo "EXITED $?"' */
};

/* One private tmux server with one session running snapdeck. */
struct tt {
	char socket[64];
	int w, h;
	char *last;	    /* the last screen captured (plain text) */
	const char *prefix; /* masked in screens (a fixed-width demo prefix) */
	bool running;
};

/* Exits 77 (skipped; failed under CI=true) when tmux cannot run. */
void tt_require_tmux(void);

/* Starts the server and snapdeck ($SNAPDECK_BIN) in a w x h session with
 * LANG/LC_ALL=C.UTF-8, TERM=tmux-256color and the options' environment
 * (nothing else of ours leaks in but PATH, HOME and TMPDIR). The server is
 * killed by tt_stop, tt_stop_all, at exit and on SIGINT/SIGTERM/SIGHUP. */
void tt_start(struct tt *t, const struct tt_opts *o, const char *prefix);
/* Kills the server (no-op when it is not running). */
void tt_stop(struct tt *t);
/* Kills every server this process started and has not stopped yet. */
void tt_stop_all(void);

/* send-keys: each argument one key as tmux names it (Enter, Escape, Up,
 * F3, Tab, Space, "q"), NULL-terminated. */
void tt_keys(struct tt *t, ...) __attribute__((sentinel));
/* send-keys -l: text typed as is. */
void tt_type(struct tt *t, const char *text);
/* resize-window -x w -y h */
void tt_resize(struct tt *t, int w, int h);

/* capture-pane -p (escapes: -e, the SGR sequences kept). Caller frees. */
char *tt_capture(struct tt *t, bool escapes);
/* A tmux format of the pane (display-message -p), e.g. "#{alternate_on}".
 * Caller frees; the trailing newline is removed. */
char *tt_format(struct tt *t, const char *format);

/* Polls the screen every 50 ms until it shows text; returns that screen
 * (owned by t, valid until the next capture). Fails the test after
 * timeout_ms, printing the last screen. */
const char *tt_wait_for(struct tt *t, const char *text, int timeout_ms);
/* The same until the screen no longer shows text. */
const char *tt_wait_gone(struct tt *t, const char *text, int timeout_ms);
/* Row y (0-based) of screen, without its newline; caller frees. */
char *tt_row(const char *screen, int y);

/* The screen with what varies masked (pure; caller frees); prefix may be
 * NULL. */
char *tt_mask(const char *screen, const char *prefix);
/* Compares the masked screen with tests/tui/expected/NAME.txt (or
 * $SNAPDECK_SCREENS/NAME.txt), polling
 * until they match (the screen may still be drawing) or timeout_ms pass;
 * then fails showing both and the differing rows. With
 * SNAPDECK_REGEN_SCREENS=1 it waits for the screen to settle and writes the
 * file instead (and says so). */
void tt_expect_screen(struct tt *t, const char *name, int timeout_ms);

#endif
