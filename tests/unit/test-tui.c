/* The console in-process on a pty against libvirt's test:///default driver
 * (listing only): what the screen shows, keys that open and close
 * overlays, the filter, a terminal too small, colours off with NO_COLOR,
 * refusals on the status line. The sanitizer build runs these too; the
 * operations themselves are driven through tmux on a real libvirtd
 * (tests/tui). */
#include "config.h"

#include <curses.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tests/lib/sdtest.h"
#include "tui/tui.h"

static char *tmp, *catalog;

struct pty {
	int master;
	FILE *in, *out;
	pthread_t drain;
	size_t bytes;
	char tail[8192]; /* the last bytes written, for escape-sequence checks */
	size_t tail_len;
	pthread_mutex_t mu;
};

static void *drain(void *opaque)
{
	struct pty *p = opaque;
	char buf[4096];
	ssize_t n;

	while ((n = read(p->master, buf, sizeof(buf))) > 0) {
		pthread_mutex_lock(&p->mu);
		p->bytes += (size_t)n;
		/* the tail is twice the read size: dropping from its front makes room */
		if (p->tail_len + (size_t)n > sizeof(p->tail)) {
			size_t drop = p->tail_len + (size_t)n - sizeof(p->tail);
			memmove(p->tail, p->tail + drop, p->tail_len - drop);
			p->tail_len -= drop;
		}
		memcpy(p->tail + p->tail_len, buf, (size_t)n);
		p->tail_len += (size_t)n;
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

static void pty_open(struct pty *p, int cols, int rows)
{
	struct winsize ws = { (unsigned short)rows, (unsigned short)cols, 0, 0 };
	int slave;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	p->master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(p->master >= 0);
	assert_int_equal(grantpt(p->master), 0);
	assert_int_equal(unlockpt(p->master), 0);
	slave = open(ptsname(p->master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	assert_int_equal(ioctl(slave, TIOCSWINSZ, &ws), 0);
	p->in = fdopen(slave, "r");
	p->out = fdopen(dup(slave), "w");
	assert_non_null(p->in);
	assert_non_null(p->out);
	assert_int_equal(pthread_create(&p->drain, NULL, drain, p), 0);
}

static void pty_close(struct pty *p)
{
	fclose(p->in);
	fclose(p->out);
	close(p->master); /* ends the drain thread's read */
	pthread_join(p->drain, NULL);
	pthread_mutex_destroy(&p->mu);
}

static struct tui *console(struct pty *p, int cols, int rows)
{
	struct ctl_options opts = { "test:///default", catalog, false };
	struct sd_err err = SD_ERR_INIT;
	struct tui *t;

	pty_open(p, cols, rows);
	t = tui_new(&opts, p->in, p->out, &err);
	if (!t)
		fail_msg("tui_new: %s", err.msg);
	tui_draw(t);
	assert_int_equal(tui_connect(t, &err), 0);
	return t;
}

static bool screen_has(struct tui *t, const char *text)
{
	char *s = tui_screen_text(t);
	bool has = strstr(s, text) != NULL;

	free(s);
	return has;
}

/* Fails, showing the screen, when text is not on it. */
#define assert_screen(t, text) assert_screen_at(t, text, __FILE__, __LINE__)
static void assert_screen_at(struct tui *t, const char *text, const char *file, int line)
{
	char *s = tui_screen_text(t);

	if (!strstr(s, text)) {
		print_message("%s:%d: the screen does not show \"%s\":\n%s", file, line, text, s);
		free(s);
		fail();
	}
	free(s);
}

/* Waits until the drain thread has read everything written so far (no
 * new bytes for 50 ms). */
static void settle(struct pty *p)
{
	size_t before;

	do {
		pthread_mutex_lock(&p->mu);
		before = p->bytes;
		pthread_mutex_unlock(&p->mu);
		usleep(50 * 1000);
		pthread_mutex_lock(&p->mu);
		before = p->bytes - before;
		pthread_mutex_unlock(&p->mu);
	} while (before > 0);
}

static void finish(struct tui *t, struct pty *p)
{
	tui_free(t);
	pty_close(p);
}

static void test_first_screen(void **state)
{
	struct pty p;
	struct tui *t;
	char *s;

	(void)state;
	t = console(&p, 100, 30);
	s = tui_screen_text(t);
	/* header, the test driver's one VM (running), its tree pane, the tasks
	 * pane, the function bar */
	assert_non_null(strstr(s, "snapdeck"));
	assert_non_null(strstr(s, "test:///default"));
	assert_non_null(strstr(s, "1 VM "));
	assert_non_null(strstr(s, "▶test"));
	assert_non_null(strstr(s, "test · running · 1 disk"));
	assert_non_null(strstr(s, "no snapshots yet"));
	assert_non_null(strstr(s, "Tasks"));
	assert_non_null(strstr(s, "F1Help F2Snap F3Preview F4Commit F5Undo F6Clone F7Deploy "
				   "F8Delete F9Tasks F10Quit"));
	/* exactly 30 rows */
	size_t rows = 0;
	for (char *c = s; *c; c++)
		rows += *c == '\n';
	assert_int_equal(rows, 30);
	free(s);
	finish(t, &p);
}

static void test_help_opens_and_closes(void **state)
{
	struct pty p;
	struct tui *t;

	(void)state;
	t = console(&p, 100, 30);
	assert_true(tui_key(t, KEY_F(1)));
	assert_screen(t, "Help");
	assert_screen(t, "F3 p");
	assert_screen(t, "custom preview grid");
	assert_true(tui_key(t, 27));
	assert_false(screen_has(t, "custom preview grid"));
	assert_true(tui_key(t, '?'));
	assert_screen(t, "this help");
	assert_true(tui_key(t, 'q')); /* any key closes help; q does not quit there */
	assert_screen(t, "no snapshots yet");
	assert_false(tui_key(t, 'q'));
	finish(t, &p);
}

static void test_filter(void **state)
{
	struct pty p;
	struct tui *t;

	(void)state;
	t = console(&p, 100, 30);
	assert_true(tui_key(t, '/'));
	assert_true(tui_key(t, 'z'));
	assert_screen(t, "filter: z");
	assert_screen(t, "no VM matches");
	assert_screen(t, "0 of 1");
	assert_true(tui_key(t, KEY_BACKSPACE));
	assert_true(tui_key(t, 't'));
	assert_true(tui_key(t, 'E')); /* case does not matter */
	assert_true(tui_key(t, '\r'));
	assert_screen(t, "VMs /tE 1 of 1");
	assert_screen(t, "▶test");
	assert_true(tui_key(t, 27)); /* Esc clears a kept filter */
	assert_false(screen_has(t, "/tE"));
	finish(t, &p);
}

static void test_refusals_keep_the_screen(void **state)
{
	struct pty p;
	struct tui *t;

	(void)state;
	t = console(&p, 100, 30);
	/* the test driver's VM runs: what needs it off offers to stop it */
	assert_true(tui_key(t, 'c'));
	assert_screen(t, "Stop test?");
	assert_screen(t, "VM test is running: commit needs it shut off.");
	assert_screen(t, "[ Cancel ]");
	assert_true(tui_key(t, 27));
	assert_screen(t, "cancelled");
	assert_true(tui_key(t, 'u'));
	assert_screen(t, "undo needs it shut off");
	assert_true(tui_key(t, 'n'));
	assert_false(screen_has(t, "Stop test?"));
	assert_true(tui_key(t, 'p'));
	assert_screen(t, "a preview needs it shut off");
	assert_true(tui_key(t, 27));
	assert_true(tui_key(t, 'S'));
	assert_screen(t, "VM test is running already");
	assert_true(tui_key(t, 'd'));
	assert_screen(t, "select a snapshot in the tree first");
	assert_true(tui_key(t, 'x'));
	assert_screen(t, "x cancels a task in the tasks pane");
	assert_true(tui_key(t, 'Z'));
	assert_screen(t, "unknown key");
	/* the panes are all still there */
	assert_screen(t, "▶test");
	assert_screen(t, "F10Quit");
	finish(t, &p);
}

static void test_snapshot_dialog_cancels(void **state)
{
	struct pty p;
	struct tui *t;

	(void)state;
	t = console(&p, 100, 30);
	assert_true(tui_key(t, 's'));
	assert_screen(t, "Snapshot test");
	assert_screen(t, "Name (empty: the time)");
	assert_screen(t, "Memory (needs every disk)"); /* the test driver's VM runs */
	assert_true(tui_key(t, 'a'));
	assert_true(tui_key(t, 'b'));
	assert_screen(t, "ab");
	assert_true(tui_key(t, 27));
	assert_false(screen_has(t, "Name (empty: the time)"));
	assert_screen(t, "cancelled");
	finish(t, &p);
}

static void test_panes_and_focus(void **state)
{
	struct pty p;
	struct tui *t;

	(void)state;
	t = console(&p, 100, 30);
	assert_true(tui_key(t, 'e'));
	assert_screen(t, "Events");
	assert_true(tui_key(t, 't'));
	assert_screen(t, "Tasks");
	assert_true(tui_key(t, '\t'));
	assert_true(tui_key(t, '\t'));
	assert_true(tui_key(t, KEY_BTAB));
	assert_true(tui_key(t, KEY_DOWN));
	assert_true(tui_key(t, KEY_NPAGE));
	assert_true(tui_key(t, KEY_END));
	assert_true(tui_key(t, KEY_HOME));
	assert_screen(t, "test");
	finish(t, &p);
}

static void test_too_small(void **state)
{
	struct pty p;
	struct tui *t;

	(void)state;
	t = console(&p, 60, 20);
	assert_screen(t, "terminal too small: 60x20, need 80x24");
	/* keys other than q do nothing there */
	assert_true(tui_key(t, 's'));
	assert_screen(t, "terminal too small");
	assert_false(tui_key(t, 'q'));
	finish(t, &p);

	t = console(&p, 80, 24);
	assert_false(screen_has(t, "too small"));
	assert_screen(t, "▶test");
	assert_screen(t, "F10Quit");
	finish(t, &p);
}

/* Foreground/background colour SGR parameters in what was written. */
static bool has_colour(const char *s, size_t n)
{
	for (size_t i = 0; i + 3 < n; i++) {
		if (s[i] != '\033' || s[i + 1] != '[')
			continue;
		for (size_t j = i + 2; j < n && j < i + 40; j++) {
			if ((s[j] >= '0' && s[j] <= '9') || s[j] == ';')
				continue;
			if (s[j] == 'm') {
				/* parameters 30-49 or 90-107 */
				for (size_t k = i + 2; k < j; k++) {
					size_t start = k;
					int v = 0;
					while (k < j && s[k] != ';')
						v = v * 10 + (s[k++] - '0');
					if (k > start && ((v >= 30 && v <= 49) || (v >= 90 && v <= 107)))
						return true;
				}
			}
			break;
		}
	}
	return false;
}

static void test_no_color(void **state)
{
	struct pty p;
	struct tui *t;
	bool coloured;

	(void)state;
	unsetenv("NO_COLOR");
	t = console(&p, 100, 30);
	assert_true(tui_key(t, 'Z')); /* an error on the status line: red when colours are on */
	settle(&p);
	pthread_mutex_lock(&p.mu);
	coloured = has_colour(p.tail, p.tail_len);
	pthread_mutex_unlock(&p.mu);
	finish(t, &p);
	assert_true(coloured);

	setenv("NO_COLOR", "1", 1);
	t = console(&p, 100, 30);
	assert_true(tui_key(t, 'Z'));
	settle(&p);
	pthread_mutex_lock(&p.mu);
	coloured = has_colour(p.tail, p.tail_len);
	pthread_mutex_unlock(&p.mu);
	assert_screen(t, "unknown key");
	finish(t, &p);
	unsetenv("NO_COLOR");
	assert_false(coloured);
}

static void test_ascii_locale(void **state)
{
	struct pty p;
	struct tui *t;
	char *s;

	(void)state;
	setlocale(LC_ALL, "C");
	t = console(&p, 100, 30);
	s = tui_screen_text(t);
	/* boxes and marks in plain ASCII */
	assert_non_null(strstr(s, "+ VMs -"));
	assert_non_null(strstr(s, ">test"));
	assert_null(strstr(s, "│"));
	free(s);
	finish(t, &p);
	setlocale(LC_ALL, "C.UTF-8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_screen),
		cmocka_unit_test(test_help_opens_and_closes),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_refusals_keep_the_screen),
		cmocka_unit_test(test_snapshot_dialog_cancels),
		cmocka_unit_test(test_panes_and_focus),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_no_color),
		cmocka_unit_test(test_ascii_locale),
	};
	int rc;

	setlocale(LC_ALL, "C.UTF-8");
	setenv("TERM", "xterm-256color", 1);
	unsetenv("LINES");
	unsetenv("COLUMNS");
	tmp = sdtest_mkdtemp("tui");
	catalog = malloc(strlen(tmp) + 16);
	sprintf(catalog, "%s/catalog.db", tmp);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	sdtest_rm_rf(tmp);
	free(catalog);
	free(tmp);
	return rc;
}
